/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl: a thin client of vmbalanced's org.vmbalance.Manager1 interface. The command
 * table gives each subcommand its options (so each has --help) and how many arguments it
 * takes; dispatch() checks them, then the command makes one or two calls.
 * Exit status: 0 ok, 1 failure (daemon not running, request refused), 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain-render.h"
#include "json-render.h"
#include "status-render.h"
#include "top.h"
#include "vmb-build-config.h"
#include "vmb-dbus.h"

#define EXIT_USAGE 2
/* Call flags and timeout; a cycle on a busy libvirt host can take a while. */
#define CALL_DEFAULTS    G_DBUS_CALL_FLAGS_NONE, -1
#define CALL_LONG        G_DBUS_CALL_FLAGS_NONE, 120 * 1000
#define NOT_RUNNING_HINT "start it with `systemctl start vmbalanced`"

typedef struct Command Command;
struct Command {
    const char *name;
    const char *args;            /* positional arguments, for the usage line of --help */
    const char *synopsis;        /* options and arguments, for the command list */
    const char *summary;         /* one line for the command list */
    const char *help;            /* shown by COMMAND --help */
    const GOptionEntry *options; /* besides --help; NULL for none */
    /* Options only before the arguments, so that a value such as "-5" stays one. */
    gboolean posix;
    guint min_args, max_args; /* positional arguments accepted */
    const char *excess_hint;  /* appended to the "unexpected argument" error */
    /* Checks the arguments' values (EXIT_SUCCESS or a usage error) before the daemon is
     * reached; NULL when the count is all that matters. */
    int (*check)(const Command *cmd, int argc, char **argv);
    gboolean offline; /* runs without the daemon: proxy is NULL */
    int (*run)(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
};

/* The options' values; one command runs per process. */
static struct {
    gboolean json;
    gint lines;
    gboolean help;
    gint interval;   /* top */
    gint iterations; /* top */
} opt = {.lines = 20, .interval = 2};

/* GOption's own --help would print and exit 0 whatever follows it and however the write
 * went; this one lets dispatch() check both. The help text is GOption's (command_context). */
static const GOptionEntry help_options[] = {
    {"help", 'h', 0, G_OPTION_ARG_NONE, &opt.help, NULL, NULL},
    {NULL},
};

static const GOptionEntry status_options[] = {
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Print a JSON document (see dbus/README.md)",
     NULL},
    {NULL},
};

static const GOptionEntry get_options[] = {
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Print a JSON object", NULL},
    {NULL},
};

static const GOptionEntry history_options[] = {
    {"lines", 'n', 0, G_OPTION_ARG_INT, &opt.lines,
     "Show the last N actions (default 20; 0 for all the daemon keeps)", "N"},
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Print a JSON array", NULL},
    {NULL},
};

static const GOptionEntry domain_options[] = {
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Print a JSON object", NULL},
    {NULL},
};

static const GOptionEntry top_options[] = {
    {"interval", 'd', 0, G_OPTION_ARG_INT, &opt.interval,
     "Seconds between refreshes, 1..3600 (default 2)", "S"},
    {"iterations", 'n', 0, G_OPTION_ARG_INT, &opt.iterations,
     "Stop after N frames (default 0: until q or Ctrl-C)", "N"},
    {NULL},
};

static const Command *find_command(const char *name);

/* ---- reporting ---- */

/* Why the first write to stdout failed; a later flush may find nothing left to write. */
static int stdout_errno;

static void
flush_stdout(void)
{
    if (fflush(stdout) != 0 && !stdout_errno)
        stdout_errno = errno;
}

/* g_print()'s output (all of stdout but the usage), as GLib's own handler writes it, with
 * the error kept. */
static void
print_stdout(const char *text)
{
    if (fputs(text, stdout) == EOF && !stdout_errno)
        stdout_errno = errno;
    flush_stdout();
}

static int usage_error(const Command *cmd, const char *format, ...) G_GNUC_PRINTF(2, 3);

static int
usage_error(const Command *cmd, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    if (cmd)
        g_printerr("vmbalancectl %s: %s (see vmbalancectl %s --help)\n", cmd->name, msg, cmd->name);
    else
        g_printerr("vmbalancectl: %s (see vmbalancectl --help)\n", msg);
    return EXIT_USAGE;
}

static gboolean
is_not_running(const GError *error)
{
    return g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
           /* the daemon went away during the call */
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
}

/* Prints a failed call's error as the daemon wrote it; always returns 1. */
static int
call_failed(GError *error)
{
    if (is_not_running(error)) {
        g_printerr("vmbalancectl: vmbalanced is not running; " NOT_RUNNING_HINT "\n");
        return EXIT_FAILURE;
    }
    if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED)) {
        /* The bus's own message is a dump of its rule match; say what it means. */
        g_printerr("vmbalancectl: permission denied: changing vmbalanced needs root\n");
        return EXIT_FAILURE;
    }
    g_dbus_error_strip_remote_error(error);
    g_printerr("vmbalancectl: %s\n", error->message);
    return EXIT_FAILURE;
}

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
static int
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

/* The task named by the optional argument; "" means every task. */
static const char *
task_arg(int argc, char **argv)
{
    return argc ? argv[0] : "";
}

static int
check_task(const Command *cmd, int argc, char **argv)
{
    const char *task = task_arg(argc, argv);
    if (*task && !g_str_equal(task, "cpu") && !g_str_equal(task, "memory"))
        return usage_error(cmd, "unknown task '%s' (expected cpu or memory)", task);
    return EXIT_SUCCESS;
}

/* A typed tunable value as it would be written in the configuration file. */
static char *
value_to_text(GVariant *v)
{
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
        g_autoptr(GVariant) inner = g_variant_get_variant(v);
        return value_to_text(inner);
    }
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
        return g_strdup(g_variant_get_boolean(v) ? "true" : "false");
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
        return g_strdup_printf("%u", g_variant_get_uint32(v));
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_DOUBLE)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_dtostr(buf, sizeof(buf), g_variant_get_double(v)));
    }
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
        return g_variant_dup_string(v, NULL);
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY)) {
        g_autofree const char **items = g_variant_get_strv(v, NULL);
        return g_strjoinv(",", (char **) items);
    }
    return g_variant_print(v, FALSE);
}

/* ---- commands ---- */

static int
cmd_status(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbCtlStatus) status = vmb_ctl_status_fetch(proxy, &error);
    if (!status)
        return call_failed(error);
    if (opt.json) {
        g_autofree char *doc = vmb_status_to_json(status);
        g_print("%s", doc);
    } else {
        gboolean unicode = isatty(STDOUT_FILENO) && g_get_charset(NULL);
        vmb_status_print_human(status, unicode);
    }
    return EXIT_SUCCESS;
}

/* The table of get without KEY: ListTunables()'s @list ("a(svbss)"). */
static void
print_tunable_table(GVariant *list)
{
    g_autoptr(GString) out = g_string_new(NULL);
    guint width = strlen("KEY");
    GVariantIter it;
    const char *name, *allowed;
    GVariant *value;
    gboolean overridden;
    g_variant_iter_init(&it, list);
    while (g_variant_iter_next(&it, "(&svb&s&s)", &name, NULL, NULL, NULL, NULL))
        width = MAX(width, (guint) strlen(name));

    g_string_append_printf(out, "%-*s  %-20s  %-8s  %s\n", (int) width, "KEY", "VALUE", "SOURCE",
                           "ALLOWED");
    g_variant_iter_init(&it, list);
    while (g_variant_iter_next(&it, "(&svb&s&s)", &name, &value, &overridden, &allowed, NULL)) {
        g_autoptr(GVariant) owned = value;
        g_autofree char *text = value_to_text(value);
        g_string_append_printf(out, "%-*s  ", (int) width, name);
        vmb_append_padded(out, text, 20, FALSE);
        g_string_append_printf(out, "  %-8s  %s\n", overridden ? "override" : "config", allowed);
    }
    g_string_append(out, "\nSOURCE override: set with `vmbalancectl set`, kept across restarts "
                         "until `vmbalancectl reset KEY`.\n");
    g_print("%s", out->str);
}

/* GetTunable resolves aliases ("interval") and rejects unknown keys. */
static int
get_tunable(VmbManager1 *proxy, const char *key, char **name, GVariant **value)
{
    g_autoptr(GError) error = NULL;
    if (!vmb_manager1_call_get_tunable_sync(proxy, key, CALL_DEFAULTS, name, value, NULL, &error))
        return call_failed(error);
    return EXIT_SUCCESS;
}

/* Prints KEY's value in effect: bare, or as "name = value@suffix" with a @suffix. */
static int
print_tunable(VmbManager1 *proxy, const char *key, const char *suffix)
{
    g_autofree char *name = NULL;
    g_autoptr(GVariant) value = NULL;
    int rc = get_tunable(proxy, key, &name, &value);
    if (rc != EXIT_SUCCESS)
        return rc;
    g_autofree char *text = value_to_text(value);
    if (suffix)
        g_print("%s = %s%s\n", name, text, suffix);
    else
        g_print("%s\n", text);
    return EXIT_SUCCESS;
}

/* ListTunables() as the table, or as JSON (only @wanted, a full name, when not NULL). */
static int
list_tunables(VmbManager1 *proxy, const char *wanted)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) list = NULL;
    if (!vmb_manager1_call_list_tunables_sync(proxy, CALL_DEFAULTS, &list, NULL, &error))
        return call_failed(error);
    if (opt.json) {
        g_autofree char *doc = vmb_tunables_to_json(list, wanted);
        g_print("%s", doc);
    } else {
        print_tunable_table(list);
    }
    return EXIT_SUCCESS;
}

static int
cmd_get(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    if (argc == 0)
        return list_tunables(proxy, NULL);
    if (!opt.json)
        return print_tunable(proxy, argv[0], NULL);
    /* The JSON object also tells the source and allowed values, which only the list has. */
    g_autofree char *name = NULL;
    g_autoptr(GVariant) value = NULL;
    int rc = get_tunable(proxy, argv[0], &name, &value);
    return rc != EXIT_SUCCESS ? rc : list_tunables(proxy, name);
}

static int
cmd_set(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    /* Sent as text: the daemon parses it exactly as the configuration file. */
    GVariant *value = g_variant_new_variant(g_variant_new_string(argv[1]));
    if (!vmb_manager1_call_set_tunable_sync(proxy, argv[0], value, CALL_DEFAULTS, NULL, &error))
        return call_failed(error);
    return print_tunable(proxy, argv[0], "");
}

static int
cmd_reset(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    if (!vmb_manager1_call_reset_tunable_sync(proxy, argv[0], CALL_DEFAULTS, NULL, &error))
        return call_failed(error);
    return print_tunable(proxy, argv[0], " (from the configuration file)");
}

/* domain NAME | domain NAME set KEY VALUE | domain NAME reset KEY */
static int
check_domain(const Command *cmd, int argc, char **argv)
{
    if (argc == 1)
        return EXIT_SUCCESS;
    if (g_str_equal(argv[1], "set") && argc == 4)
        return EXIT_SUCCESS;
    if (g_str_equal(argv[1], "reset") && argc == 3)
        return EXIT_SUCCESS;
    return usage_error(cmd, "expected NAME, NAME set KEY VALUE or NAME reset KEY");
}

static int
show_domain(VmbManager1 *proxy, const char *domain)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) policy = NULL;
    if (!vmb_manager1_call_get_domain_sync(proxy, domain, CALL_DEFAULTS, &policy, NULL, &error))
        return call_failed(error);
    g_autofree char *text = opt.json ? vmb_domain_to_json(policy) : vmb_domain_to_text(policy);
    g_print("%s", text);
    return EXIT_SUCCESS;
}

static int
cmd_domain(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    if (argc == 1)
        return show_domain(proxy, argv[0]);
    g_autoptr(GError) error = NULL;
    gboolean set = g_str_equal(argv[1], "set");
    gboolean ok = set ? vmb_manager1_call_set_domain_policy_sync(proxy, argv[0], argv[2], argv[3],
                                                                 CALL_DEFAULTS, NULL, &error)
                      : vmb_manager1_call_reset_domain_policy_sync(proxy, argv[0], argv[2],
                                                                   CALL_DEFAULTS, NULL, &error);
    if (!ok)
        return call_failed(error);
    if (set)
        g_print("%s: %s = %s written to its metadata; in effect from the next cycle\n", argv[0],
                argv[2], argv[3]);
    else
        g_print("%s: %s removed from its metadata; in effect from the next cycle\n", argv[0],
                argv[2]);
    return EXIT_SUCCESS;
}

static int
cmd_pause_resume(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    const char *task = task_arg(argc, argv);
    gboolean pause = g_str_equal(cmd->name, "pause");
    gboolean ok = pause ? vmb_manager1_call_pause_sync(proxy, task, CALL_DEFAULTS, NULL, &error)
                        : vmb_manager1_call_resume_sync(proxy, task, CALL_DEFAULTS, NULL, &error);
    if (!ok)
        return call_failed(error);
    g_print("%s: %s\n", *task ? task : "cpu and memory", pause ? "paused" : "resumed");
    return EXIT_SUCCESS;
}

static int
cmd_reload(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    if (!vmb_manager1_call_reload_sync(proxy, CALL_DEFAULTS, NULL, &error))
        return call_failed(error);
    g_print("configuration reloaded\n");
    return EXIT_SUCCESS;
}

static int
cmd_run(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    const char *task = task_arg(argc, argv);
    if (!vmb_manager1_call_run_now_sync(proxy, task, CALL_LONG, NULL, &error))
        return call_failed(error);
    g_print("%s: cycle done\n", *task ? task : "enabled tasks");
    return EXIT_SUCCESS;
}

static int
check_lines(const Command *cmd, int argc, char **argv)
{
    if (opt.lines < 0)
        return usage_error(cmd, "-n expects a count of 0 or more, not %d", opt.lines);
    return EXIT_SUCCESS;
}

static int
cmd_history(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbCtlHistory) history = vmb_ctl_history_fetch(proxy, (guint) opt.lines, &error);
    if (!history)
        return call_failed(error);
    if (opt.json) {
        g_autofree char *doc = vmb_history_to_json(history);
        g_print("%s", doc);
        return EXIT_SUCCESS;
    }
    for (guint i = 0; i < history->actions->len; i++)
        vmb_action_print(&g_array_index(history->actions, VmbCtlAction, i));
    if (history->actions->len == 0)
        g_print("no actions yet\n");
    return EXIT_SUCCESS;
}

/* The monitor's loop, stopped when a line cannot be written (main() reports it). */
static GMainLoop *monitor_loop;

/* Each line goes out at once; a reader that went away ends the monitoring. */
static void
monitor_flush(void)
{
    flush_stdout();
    if (ferror(stdout) && monitor_loop)
        g_main_loop_quit(monitor_loop);
}

static void
on_pin_changed(VmbManager1 *p, guint64 time, const char *domain, const char *uuid, guint vcpu,
               gint from, guint to, const char *from_cpus, const char *to_cpus, const char *reason,
               const char *detail, gboolean dry_run, gpointer data)
{
    VmbCtlAction a = {.time_us = time,
                      .kind = "pin",
                      .domain = domain,
                      .vcpu = vcpu,
                      .from_pcpu = from,
                      .to_pcpu = to,
                      .from_cpus = from_cpus,
                      .to_cpus = to_cpus,
                      .reason = reason,
                      .detail = detail,
                      .dry_run = dry_run};
    vmb_action_print(&a);
    monitor_flush();
}

static void
on_memory_changed(VmbManager1 *p, guint64 time, const char *domain, const char *uuid,
                  guint64 old_kib, guint64 new_kib, const char *reason, const char *detail,
                  gboolean dry_run, gpointer data)
{
    VmbCtlAction a = {.time_us = time,
                      .kind = "memory",
                      .domain = domain,
                      .from_pcpu = -1,
                      .old_kib = old_kib,
                      .new_kib = new_kib,
                      .reason = reason,
                      .detail = detail,
                      .dry_run = dry_run};
    vmb_action_print(&a);
    monitor_flush();
}

static void
on_owner_changed(GObject *proxy, GParamSpec *pspec, gpointer data)
{
    g_autofree char *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(proxy));
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *when = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_print("%s  vmbalanced %s\n", when, owner ? "started" : "stopped");
    monitor_flush();
}

static void
on_state_changed(GObject *proxy, GParamSpec *pspec, gpointer data)
{
    VmbManager1 *p = VMB_MANAGER1(proxy);
    const char *state = vmb_manager1_get_state(p), *reason = vmb_manager1_get_state_reason(p);
    if (!state)
        return;
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *when = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_print("%s  state %s%s%s\n", when, state, reason && *reason ? ": " : "",
            reason && *reason ? reason : "");
    monitor_flush();
}

static gboolean
on_quit_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static int
cmd_monitor(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_signal_connect(proxy, "pin-changed", G_CALLBACK(on_pin_changed), NULL);
    g_signal_connect(proxy, "memory-changed", G_CALLBACK(on_memory_changed), NULL);
    g_signal_connect(proxy, "notify::g-name-owner", G_CALLBACK(on_owner_changed), NULL);
    g_signal_connect(proxy, "notify::state", G_CALLBACK(on_state_changed), NULL);
    guint sigint = g_unix_signal_add(SIGINT, on_quit_signal, loop);
    guint sigterm = g_unix_signal_add(SIGTERM, on_quit_signal, loop);
    g_printerr("Monitoring vmbalanced actions; Ctrl-C stops.\n");
    monitor_loop = loop;
    g_main_loop_run(loop);
    monitor_loop = NULL;
    g_source_remove(sigint);
    g_source_remove(sigterm);
    return EXIT_SUCCESS;
}

static int
check_top(const Command *cmd, int argc, char **argv)
{
    if (opt.interval < 1 || opt.interval > 3600)
        return usage_error(cmd, "--interval expects seconds in 1..3600, not %d", opt.interval);
    if (opt.iterations < 0)
        return usage_error(cmd, "--iterations expects a count of 0 or more, not %d",
                           opt.iterations);
    return EXIT_SUCCESS;
}

static int
cmd_top(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    return vmb_top_run(proxy, (guint) opt.interval, (guint) opt.iterations);
}

static void print_usage(FILE *to);

static int
cmd_help(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    if (argc == 0) {
        print_usage(stdout);
        return EXIT_SUCCESS;
    }
    const Command *other = find_command(argv[0]);
    if (!other)
        return usage_error(NULL, "unknown command '%s'", argv[0]);
    char *help_argv[] = {(char *) other->name, (char *) "--help", NULL};
    return dispatch(other, 2, help_argv);
}

static const Command commands[] = {
    {.name = "status",
     .args = "",
     .synopsis = "[--json]",
     .summary = "Show host CPU load, host memory, domains, tasks and counters",
     .help = "Shows the daemon's state, its tasks (interval, cycles, last cycle), counters, "
             "the host's memory as the memory coordinator last saw it (available, reserve, "
             "headroom, pressure), the load of every host CPU and, per running domain, where "
             "each vCPU is pinned, its load and the guest's memory (actual, usable, target).",
     .options = status_options,
     .run = cmd_status},
    {.name = "get",
     .args = "[KEY]",
     .synopsis = "[--json] [KEY]",
     .summary = "Show one tunable, or all with their source and allowed values",
     .help = "Prints the value in effect of KEY (such as interval, cpu.interval, "
             "memory.interval, cpu.hysteresis), or a table of all tunables.",
     .options = get_options,
     .max_args = 1,
     .run = cmd_get},
    {.name = "set",
     .args = "KEY VALUE",
     .synopsis = "KEY VALUE",
     .summary = "Change a tunable now; kept across restarts",
     .help = "Changes KEY to VALUE at once (timers are re-armed) and saves it in the state "
             "directory, so it also holds after reloads and restarts. VALUE is written as in "
             "the configuration file. Options must come before KEY.",
     .posix = TRUE,
     .min_args = 2,
     .max_args = 2,
     .excess_hint = " (quote a VALUE with spaces)",
     .run = cmd_set},
    {.name = "reset",
     .args = "KEY",
     .synopsis = "KEY",
     .summary = "Drop a change made with set: back to the configuration file",
     .help = "Drops the runtime override of KEY: the configuration file's value (or the "
             "default) is in effect again.",
     .min_args = 1,
     .max_args = 1,
     .run = cmd_reset},
    {.name = "domain",
     .args = "NAME [set KEY VALUE|reset KEY]",
     .synopsis = "NAME [set|reset]",
     .summary = "Show or change a domain's own policy (its libvirt metadata)",
     .help = "Shows the effective policy of the running domain NAME (name or UUID) and where "
             "each value comes from: metadata, configuration, default, definition (pinned "
             "vCPUs, locked or hugepage memory, host devices), operator, state. set and reset "
             "change its vmbalance:policy metadata element (namespace "
             "https://vmbalance.org/xmlns/policy/1) in the live and persistent definition: "
             "cpu and memory take auto or off, weight 0.1..100, min_mib and max_mib "
             "1..16777216 (vmbalancectl domain NAME set KEY VALUE, vmbalancectl domain NAME "
             "reset KEY). Root only. Options (--json) must come before NAME.",
     .options = domain_options,
     .posix = TRUE,
     .min_args = 1,
     .max_args = 4,
     .check = check_domain,
     .run = cmd_domain},
    {.name = "pause",
     .args = "[cpu|memory]",
     .synopsis = "[cpu|memory]",
     .summary = "Pause a task (both without argument) until resume",
     .help = "Stops the task's cycles until `vmbalancectl resume` or a daemon restart.",
     .max_args = 1,
     .check = check_task,
     .run = cmd_pause_resume},
    {.name = "resume",
     .args = "[cpu|memory]",
     .synopsis = "[cpu|memory]",
     .summary = "Resume a paused task (both without argument)",
     .help = "Resumes a paused task; its next cycle comes one interval later.",
     .max_args = 1,
     .check = check_task,
     .run = cmd_pause_resume},
    {.name = "reload",
     .args = "",
     .synopsis = "",
     .summary = "Re-read the configuration file",
     .help = "Re-reads the configuration file (as SIGHUP does); changes made with set stay "
             "on top. A file with an error is rejected and the running settings stay.",
     .run = cmd_reload},
    {.name = "run",
     .args = "[cpu|memory]",
     .synopsis = "[cpu|memory]",
     .summary = "Run a task's cycle now (every enabled task without argument)",
     .help = "Runs one cycle of the task now and waits for it, also while the task is "
             "paused.",
     .max_args = 1,
     .check = check_task,
     .run = cmd_run},
    {.name = "history",
     .args = "",
     .synopsis = "[-n N] [--json]",
     .summary = "Show the last actions taken",
     .help = "Shows the most recent vCPU pin and memory changes, oldest first.",
     .options = history_options,
     .check = check_lines,
     .run = cmd_history},
    {.name = "monitor",
     .args = "",
     .synopsis = "",
     .summary = "Print actions as they happen until Ctrl-C",
     .help = "Prints each vCPU pin and memory change, state changes and daemon restarts as "
             "they happen, until interrupted.",
     .run = cmd_monitor},
    {.name = "top",
     .args = "",
     .synopsis = "[-d S] [-n N]",
     .summary = "Watch pCPU load, domains and the latest decisions, refreshed",
     .help = "Redraws the status (pCPU load bars, domains with their vCPU pins, demand and "
             "memory) and the latest decisions every S seconds, until q or Ctrl-C. When "
             "standard output is not a terminal, each frame is printed after the last.",
     .options = top_options,
     .check = check_top,
     .run = cmd_top},
    {.name = "help",
     .args = "[COMMAND]",
     .synopsis = "[COMMAND]",
     .summary = "Show this help or a command's",
     .help = "Shows the help of COMMAND.",
     .max_args = 1,
     .offline = TRUE,
     .run = cmd_help},
};

static const Command *
find_command(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(commands[i].name, name))
            return &commands[i];
    }
    return NULL;
}

static void
print_usage(FILE *to)
{
    fprintf(to, "Usage: vmbalancectl [--version] [--help] COMMAND [ARGS...]\n\n"
                "Controls vmbalanced, the vCPU and guest memory balancer, over the system "
                "bus.\n\nCommands:\n");
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        g_autofree char *synopsis =
            g_strdup_printf("%s %s", commands[i].name, commands[i].synopsis);
        fprintf(to, "  %-24s %s\n", synopsis, commands[i].summary);
    }
    fprintf(to, "\nRun 'vmbalancectl COMMAND --help' for a command's options.\n"
                "Exit status: 0 success, 1 failure (daemon not running, request refused), "
                "2 usage error.\n");
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

/* A write that failed (full disk, closed descriptor) is a failure, not a success with
 * nothing shown. */
static int
finish_output(int rc)
{
    flush_stdout();
    if (!ferror(stdout))
        return rc;
    g_printerr("vmbalancectl: cannot write to standard output: %s\n",
               stdout_errno ? g_strerror(stdout_errno) : "write error");
    return rc == EXIT_SUCCESS ? EXIT_FAILURE : rc;
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
