/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor: actions, state changes and daemon restarts printed as they happen. */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "status-render.h"
#include "vmbalancectl-priv.h"

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

int
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
