/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalanced: balances vCPUs and guest memory of a libvirt host. Runs in the foreground. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"
#include "vmb-build-config.h"

#define EX_USAGE_CODE 64

int
main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    g_autofree char *uri = NULL;
    gboolean dry_run = FALSE, verbose = FALSE, version = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
         "Configuration file (default " VMB_DEFAULT_CONFIG ")", "PATH"},
        {"connect", 0, 0, G_OPTION_ARG_STRING, &uri,
         "Hypervisor URI, overrides [daemon] uri (fake:///PATH for a simulated host)", "URI"},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
         "Measure and log the actions it would take, change nothing", NULL},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
        {NULL},
    };

    setlocale(LC_ALL, "");
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_option_context_set_summary(ctx, "Balances vCPU placement and guest memory on a libvirt "
                                      "host.\nRuns in the foreground; SIGHUP reloads the "
                                      "configuration, SIGTERM stops.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "vmbalanced: %s (see --help)\n", error->message);
        return EX_USAGE_CODE;
    }
    if (argc > 1) {
        fprintf(stderr, "vmbalanced: unexpected argument '%s' (see --help)\n", argv[1]);
        return EX_USAGE_CODE;
    }
    if (version) {
        printf("vmbalanced %s\n", PACKAGE_VERSION);
        return 0;
    }

    vmb_log_init(verbose);
    gboolean missing_ok = config_path == NULL;
    g_autoptr(VmbDaemon) d = vmb_daemon_new(config_path ? config_path : VMB_DEFAULT_CONFIG,
                                            missing_ok, uri, dry_run, &error);
    if (!d) {
        if (error->domain == VMB_CONFIG_ERROR) {
            g_warning("invalid configuration: %s", error->message);
            return VMB_EX_CONFIG;
        }
        g_warning("%s", error->message);
        return EXIT_FAILURE;
    }
    return vmb_daemon_run(d);
}
