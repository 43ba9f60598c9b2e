/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status, history and top: the daemon's state and its latest actions. */
#include <stdlib.h>
#include <unistd.h>

#include "json-render.h"
#include "status-render.h"
#include "top.h"
#include "vmbalancectl-priv.h"

int
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

int
check_lines(const Command *cmd, int argc, char **argv)
{
    if (opt.lines < 0)
        return usage_error(cmd, "-n expects a count of 0 or more, not %d", opt.lines);
    return EXIT_SUCCESS;
}

int
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

int
check_top(const Command *cmd, int argc, char **argv)
{
    if (opt.interval < 1 || opt.interval > 3600)
        return usage_error(cmd, "--interval expects seconds in 1..3600, not %d", opt.interval);
    if (opt.iterations < 0)
        return usage_error(cmd, "--iterations expects a count of 0 or more, not %d",
                           opt.iterations);
    return EXIT_SUCCESS;
}

int
cmd_top(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    return vmb_top_run(proxy, (guint) opt.interval, (guint) opt.iterations);
}
