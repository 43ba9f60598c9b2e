/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl: a thin client of vmbalanced's org.vmbalance.Manager1 interface. The command
 * table gives each subcommand its options (so each has --help) and how many arguments it
 * takes; dispatch() checks them, then the command makes one or two calls.
 * Exit status: 0 ok, 1 failure (daemon not running, request refused), 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmb-build-config.h"
#include "vmbalancectl-priv.h"

/* The options' values; one command runs per process. */
CtlOptions opt = {.lines = 20, .interval = 2};

/* GOption's own --help would print and exit 0 whatever follows it and however the write
 * went; this one lets dispatch() check both. The help text is GOption's (command_context). */
static const GOptionEntry help_options[] = {
    {"help", 'h', 0, G_OPTION_ARG_NONE, &opt.help, NULL, NULL},
    {NULL},
};

/* A proxy on the daemon, or NULL after printing why there is none. */
static VmbManager1 *
connect_daemon(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbManager1) proxy =
        vmb_manager1_proxy_new_for_bus_sync(G_BUS_TYPE_SYSTEM, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                            VMB_DBUS_NAME, VMB_DBUS_PATH, NULL, &error);
    if (!proxy) {
        g_printerr("vmbalancectl: cannot reach vmbalanced: no system bus (%s)\n", error->message);
        return NULL;
    }
    g_autofree char *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(proxy));
    if (!owner) {
        g_printerr("vmbalancectl: vmbalanced is not running; " NOT_RUNNING_HINT "\n");
        return NULL;
    }
    return g_steal_pointer(&proxy);
}

/* @cmd's option context, its help text as GOption formats it. */
static GOptionContext *
command_context(const Command *cmd)
{
    GOptionContext *ctx = g_option_context_new(cmd->args);
    g_option_context_set_summary(ctx, cmd->help);
    g_option_context_set_strict_posix(ctx, cmd->posix);
    if (cmd->options)
        g_option_context_add_main_entries(ctx, cmd->options, NULL);
    return ctx;
}

/* Parses @cmd's options and drops the command name, leaving the positional arguments in
 * @argc/@argv. With --help, @help gets the command's help text (no arguments allowed). */
static int
parse_options(const Command *cmd, int *argc, char ***argv, char **help)
{
    g_autofree char *prgname = g_strdup_printf("vmbalancectl %s", cmd->name);
    g_set_prgname(prgname);
    g_autoptr(GOptionContext) ctx = command_context(cmd);
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_add_main_entries(ctx, help_options, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error))
        return usage_error(cmd, "%s", error->message);
    (*argc)--;
    (*argv)++;
    if (*argc > 0 && g_str_equal((*argv)[0], "--")) {
        (*argc)--;
        (*argv)++;
    }
    if (opt.help && *argc > 0)
        return usage_error(cmd, "unexpected argument '%s' after --help", (*argv)[0]);
    if (opt.help) {
        g_autoptr(GOptionContext) shown = command_context(cmd);
        *help = g_option_context_get_help(shown, TRUE, NULL);
    }
    return EXIT_SUCCESS;
}

static int
check_arg_count(const Command *cmd, int argc, char **argv)
{
    if ((guint) argc < cmd->min_args)
        return usage_error(cmd, "expected %s", cmd->args);
    if ((guint) argc > cmd->max_args)
        return usage_error(cmd, "unexpected argument '%s'%s", argv[cmd->max_args],
                           cmd->excess_hint ? cmd->excess_hint : "");
    return EXIT_SUCCESS;
}

/* Runs @cmd: options and arguments are checked first (usage errors exit 2, whether the
 * daemon runs or not), then the daemon is reached unless the command works without it. */
int
dispatch(const Command *cmd, int argc, char **argv)
{
    g_autofree char *help = NULL;
    int rc = parse_options(cmd, &argc, &argv, &help);
    if (rc == EXIT_SUCCESS && help) {
        g_print("%s", help);
        return EXIT_SUCCESS;
    }
    if (rc == EXIT_SUCCESS)
        rc = check_arg_count(cmd, argc, argv);
    if (rc == EXIT_SUCCESS && cmd->check)
        rc = cmd->check(cmd, argc, argv);
    if (rc != EXIT_SUCCESS)
        return rc;
    if (cmd->offline)
        return cmd->run(cmd, NULL, argc, argv);
    g_autoptr(VmbManager1) proxy = connect_daemon();
    if (!proxy)
        return EXIT_FAILURE;
    return cmd->run(cmd, proxy, argc, argv);
}

/* A closed standard descriptor would be taken by the bus connection's socket, and output
 * would go into the D-Bus stream. Hold it with /dev/null opened read-only: nothing lands
 * there, and writes to it still fail (EBADF), so a closed stdout is reported. */
static void
hold_closed_std_fds(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            (void) open("/dev/null", O_RDONLY); /* the lowest free descriptor: @fd */
    }
}

/* Top-level options and the command; "--" ends the options (POSIX). */
static int
run(int argc, char **argv)
{
    int i = 1;
    if (i < argc && g_str_equal(argv[i], "--"))
        i++;
    if (i >= argc) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *first = argv[i];
    gboolean option = i == 1 && first[0] == '-';
    gboolean help = option && (g_str_equal(first, "--help") || g_str_equal(first, "-h"));
    gboolean version = option && (g_str_equal(first, "--version") || g_str_equal(first, "-V"));
    if ((help || version) && argc > 2)
        return usage_error(NULL, "unexpected argument '%s' after %s", argv[2], first);
    if (help) {
        print_usage(stdout);
        return EXIT_SUCCESS;
    }
    if (version) {
        printf("vmbalancectl %s\n", PACKAGE_VERSION);
        return EXIT_SUCCESS;
    }
    if (option)
        return usage_error(NULL, "unknown option '%s'", first);
    const Command *cmd = find_command(first);
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", first);
    return dispatch(cmd, argc - i, argv + i);
}

int
main(int argc, char **argv)
{
    hold_closed_std_fds();
    setlocale(LC_ALL, "");
    g_set_prgname("vmbalancectl");
    g_set_print_handler(print_stdout);
    return finish_output(run(argc, argv));
}
