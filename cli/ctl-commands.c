/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl's command table: each subcommand's options, argument counts, checks and help;
 * the usage that lists them, and the help command. */
#include <stdio.h>
#include <stdlib.h>

#include "vmbalancectl-priv.h"

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

int
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

const Command *
find_command(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(commands[i].name, name))
            return &commands[i];
    }
    return NULL;
}

void
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
