/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalanced: balances vCPUs and guest memory of a libvirt host. Runs in the foreground. */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib-unix.h>

#include "daemon.h"
#include "dbus-service.h"
#include "log.h"
#include "overrides.h"
#include "vmb-build-config.h"

#define EX_USAGE_CODE 64

static VmbConfig *
apply_overrides(VmbConfig *loaded, gpointer overrides)
{
    return vmb_overrides_rebase(overrides, loaded);
}

typedef struct {
    char *config_path;
    char *uri;
    char *state_dir;
    gboolean dry_run, verbose, version, no_bus;
} Options;

static void
options_clear(Options *o)
{
    g_free(o->config_path);
    g_free(o->uri);
    g_free(o->state_dir);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* Fills @o from the command line; FALSE (with the message printed) on a usage error. */
static gboolean
parse_options(int argc, char **argv, Options *o)
{
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config_path,
         "Configuration file (default " VMB_DEFAULT_CONFIG ")", "PATH"},
        {"connect", 0, 0, G_OPTION_ARG_STRING, &o->uri,
         "Hypervisor URI, overrides [daemon] uri (fake:///PATH for a simulated host)", "URI"},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &o->dry_run,
         "Measure and log the actions it would take, change nothing", NULL},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir,
         "Directory of the runtime overrides (default $VMBALANCED_STATE_DIR "
         "or " VMB_DEFAULT_STATE_DIR ")",
         "DIR"},
        {"no-bus", 0, 0, G_OPTION_ARG_NONE, &o->no_bus,
         "Do not serve the D-Bus interface on the system bus", NULL},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "Log debug messages", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &o->version, "Print the version and exit", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_option_context_set_summary(ctx, "Balances vCPU placement and guest memory on a libvirt "
                                      "host.\nRuns in the foreground; SIGHUP reloads the "
                                      "configuration, SIGTERM stops.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "vmbalanced: %s (see --help)\n", error->message);
        return FALSE;
    }
    if (argc > 1) {
        fprintf(stderr, "vmbalanced: unexpected argument '%s' (see --help)\n", argv[1]);
        return FALSE;
    }
    return TRUE;
}

/* SIGTERM and SIGINT are caught from the first line of main(): one that comes while the
 * daemon starts (configuration, the simulated host's scenario, the hypervisor, the bus)
 * stops it cleanly with exit 0 instead of killing it (143). They are watched on a context
 * of their own, so that looking at them between the start-up steps dispatches nothing
 * else before the main loop runs; the daemon's own handlers take over before the first
 * cycle. */
typedef struct {
    GMainContext *ctx;
    GSource *sources[2];
    gboolean stop;
} EarlyStop;

static gboolean
on_early_stop(gpointer data)
{
    EarlyStop *e = data;
    e->stop = TRUE;
    return G_SOURCE_CONTINUE;
}

static void
early_stop_init(EarlyStop *e)
{
    const int signals[G_N_ELEMENTS(e->sources)] = {SIGTERM, SIGINT};
    e->ctx = g_main_context_new();
    for (guint i = 0; i < G_N_ELEMENTS(e->sources); i++) {
        e->sources[i] = g_unix_signal_source_new(signals[i]);
        g_source_set_callback(e->sources[i], on_early_stop, e, NULL);
        g_source_attach(e->sources[i], e->ctx);
    }
}

static void
early_stop_clear(EarlyStop *e)
{
    for (guint i = 0; i < G_N_ELEMENTS(e->sources); i++) {
        if (e->sources[i])
            g_source_destroy(e->sources[i]);
        g_clear_pointer(&e->sources[i], g_source_unref);
    }
    g_clear_pointer(&e->ctx, g_main_context_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(EarlyStop, early_stop_clear)

/* Did SIGTERM or SIGINT come during the start-up so far? */
static gboolean
early_stop_requested(EarlyStop *e)
{
    while (g_main_context_iteration(e->ctx, FALSE))
        ;
    if (e->stop)
        g_message("stopping on signal during start-up");
    return e->stop;
}

/* Runs the daemon configured by @o until it stops; returns the exit status. */
static int
run(const Options *o, EarlyStop *early)
{
    g_autoptr(GError) error = NULL;
    gboolean missing_ok = o->config_path == NULL;
    g_autoptr(VmbDaemon) d = vmb_daemon_new(o->config_path ? o->config_path : VMB_DEFAULT_CONFIG,
                                            missing_ok, o->uri, o->dry_run, &error);
    if (!d) {
        if (error->domain == VMB_CONFIG_ERROR) {
            g_warning("invalid configuration: %s", error->message);
            return VMB_EX_CONFIG;
        }
        g_warning("%s", error->message);
        return EXIT_FAILURE;
    }
    if (early_stop_requested(early))
        return EXIT_SUCCESS;

    /* Runtime overrides (vmbalancectl set) go on top of the file, now and on reloads. */
    const char *env_state_dir = g_getenv("VMBALANCED_STATE_DIR");
    const char *state_dir = o->state_dir                      ? o->state_dir
                            : env_state_dir && *env_state_dir ? env_state_dir
                                                              : VMB_DEFAULT_STATE_DIR;
    g_autoptr(VmbOverrides) overrides = vmb_overrides_new(state_dir);
    vmb_overrides_load(overrides);
    vmb_daemon_apply_config(d,
                            vmb_overrides_rebase(overrides, vmb_config_copy(vmb_daemon_config(d))));
    vmb_daemon_set_config_filter(d, apply_overrides, overrides);

    g_autoptr(VmbDbusService) service = NULL;
    if (!o->no_bus && !(service = vmb_dbus_service_new(d, overrides, &error))) {
        g_warning("%s", error->message);
        return EXIT_FAILURE;
    }
    /* The daemon's handlers first, then the last look: no signal falls between the two. */
    vmb_daemon_watch_signals(d);
    if (early_stop_requested(early))
        return EXIT_SUCCESS;
    int rc = vmb_daemon_run(d);
    return service && vmb_dbus_service_failed(service) ? EXIT_FAILURE : rc;
}

int
main(int argc, char **argv)
{
    g_auto(EarlyStop) early = {0};
    early_stop_init(&early); /* before anything that can take time */
    g_auto(Options) o = {0};
    /* A closed stderr pipe or client socket is an error to handle, not a reason to die. */
    signal(SIGPIPE, SIG_IGN);
    setlocale(LC_ALL, "");
    if (!parse_options(argc, argv, &o))
        return EX_USAGE_CODE;
    if (o.version) {
        printf("vmbalanced %s\n", PACKAGE_VERSION);
        return 0;
    }
    vmb_log_init(o.verbose);
    return run(&o, &early);
}
