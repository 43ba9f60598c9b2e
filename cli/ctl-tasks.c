/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pause, resume, run and reload: the daemon's tasks steered. */
#include <stdlib.h>

#include "vmbalancectl-priv.h"

/* The task named by the optional argument; "" means every task. */
const char *
task_arg(int argc, char **argv)
{
    return argc ? argv[0] : "";
}

int
check_task(const Command *cmd, int argc, char **argv)
{
    const char *task = task_arg(argc, argv);
    if (*task && !g_str_equal(task, "cpu") && !g_str_equal(task, "memory"))
        return usage_error(cmd, "unknown task '%s' (expected cpu or memory)", task);
    return EXIT_SUCCESS;
}

int
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

int
cmd_reload(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    if (!vmb_manager1_call_reload_sync(proxy, CALL_DEFAULTS, NULL, &error))
        return call_failed(error);
    g_print("configuration reloaded\n");
    return EXIT_SUCCESS;
}

int
cmd_run(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    const char *task = task_arg(argc, argv);
    if (!vmb_manager1_call_run_now_sync(proxy, task, CALL_LONG, NULL, &error))
        return call_failed(error);
    g_print("%s: cycle done\n", *task ? task : "enabled tasks");
    return EXIT_SUCCESS;
}
