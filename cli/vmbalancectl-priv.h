/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What vmbalancectl's files share: the command table's row, the options' values, the
 * output and dispatch helpers, and each subcommand's check and run. */
#pragma once

#include <glib.h>
#include <stdio.h>

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

/* The options' values (vmbalancectl.c); one command runs per process. */
typedef struct {
    gboolean json;
    gint lines;
    gboolean help;
    gint interval;   /* top */
    gint iterations; /* top */
} CtlOptions;
extern CtlOptions opt;

/* ctl-output.c */
void flush_stdout(void);
void print_stdout(const char *text);
int usage_error(const Command *cmd, const char *format, ...) G_GNUC_PRINTF(2, 3);
int call_failed(GError *error);
int finish_output(int rc);

/* vmbalancectl.c */
int dispatch(const Command *cmd, int argc, char **argv);

/* ctl-commands.c */
const Command *find_command(const char *name);
void print_usage(FILE *to);
int cmd_help(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);

/* ctl-status.c */
int cmd_status(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
int check_lines(const Command *cmd, int argc, char **argv);
int cmd_history(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
int check_top(const Command *cmd, int argc, char **argv);
int cmd_top(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);

/* ctl-tunables.c */
int cmd_get(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
int cmd_set(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
int cmd_reset(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);

/* ctl-domain.c */
int check_domain(const Command *cmd, int argc, char **argv);
int cmd_domain(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);

/* ctl-tasks.c */
const char *task_arg(int argc, char **argv);
int check_task(const Command *cmd, int argc, char **argv);
int cmd_pause_resume(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
int cmd_reload(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
int cmd_run(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);

/* ctl-monitor.c */
int cmd_monitor(const Command *cmd, VmbManager1 *proxy, int argc, char **argv);
