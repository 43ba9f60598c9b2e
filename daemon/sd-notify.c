/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sd-notify.h"

#include <inttypes.h>
#include <systemd/sd-daemon.h>

static struct {
    gboolean enabled; /* NOTIFY_SOCKET was set when attached */
    gboolean ready;   /* READY=1 was sent */
    guint watchdog_id;
    char *status; /* last STATUS= sent */
    guint64 pins, memory_changes;
    char *last_action;
} st;

static void
notify_send(const char *state)
{
    if (!st.enabled)
        return;
    int r = sd_notify(0, state);
    if (r < 0)
        g_debug("sd_notify(%s): %s", state, g_strerror(-r));
}

static gboolean
on_watchdog(gpointer data)
{
    notify_send("WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

static void
on_action(const VmbAction *a, gpointer data)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(a->wall_us / G_USEC_PER_SEC);
    g_autofree char *when = g_date_time_format(t, "%H:%M:%S");
    const char *would = a->dry_run ? "would " : "";

    g_free(st.last_action);
    if (a->kind == VMB_ACTION_PIN) {
        /* Counts what was changed, as the PinChanges/MemoryChanges properties do. */
        st.pins += !a->dry_run;
        st.last_action = g_strdup_printf("%spin %s vCPU %u -> pCPU %u at %s", would, a->domain,
                                         a->vcpu, a->to_pcpu, when);
    } else {
        st.memory_changes += !a->dry_run;
        st.last_action = g_strdup_printf(
            "%sset %s memory %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " MiB at %s", would,
            a->domain, a->old_kib / 1024, a->new_kib / 1024, when);
    }
}

void
vmb_sd_notify_attach(VmbDaemon *d)
{
    st.enabled = g_getenv("NOTIFY_SOCKET") != NULL;
    if (!st.enabled)
        return;
    vmb_daemon_add_action_hook(d, on_action, NULL);

    /* Unsets WATCHDOG_USEC/PID: they are meant for this process, not for its children. */
    uint64_t usec = 0;
    if (sd_watchdog_enabled(1, &usec) > 0 && usec > 0) {
        guint interval_ms = MAX(usec / 2 / 1000, 1);
        st.watchdog_id = g_timeout_add(interval_ms, on_watchdog, NULL);
        g_debug("watchdog keep-alive every %u ms", interval_ms);
        notify_send("WATCHDOG=1");
    }
}

void
vmb_sd_notify_detach(VmbDaemon *d)
{
    if (!st.enabled)
        return;
    vmb_daemon_remove_action_hook(d, on_action, NULL);
    g_clear_handle_id(&st.watchdog_id, g_source_remove);
    g_clear_pointer(&st.status, g_free);
    g_clear_pointer(&st.last_action, g_free);
    st.enabled = st.ready = FALSE;
    st.pins = st.memory_changes = 0;
}

void
vmb_sd_notify_ready(VmbDaemon *d)
{
    if (!st.enabled || st.ready)
        return;
    st.ready = TRUE;
    notify_send("READY=1");
    vmb_sd_notify_status(d);
}

static char *
build_status(VmbDaemon *d)
{
    GString *s = g_string_new(NULL);
    if (d->degraded_reason)
        g_string_append_printf(s, "Degraded: %s; ", d->degraded_reason);
    if (d->last_snapshot) {
        guint n = d->last_snapshot->domains->len;
        g_string_append_printf(s, "%u domain%s", n, n == 1 ? "" : "s");
    } else {
        g_string_append(s, "no statistics yet");
    }
    for (guint i = 0; i < VMB_N_TASKS; i++) {
        if (d->tasks[i].paused)
            g_string_append_printf(s, ", %s paused", d->tasks[i].name);
    }
    if (d->mem.last_pressure)
        g_string_append(s, ", host memory short");
    g_string_append_printf(
        s, "; %" G_GUINT64_FORMAT " pin%s, %" G_GUINT64_FORMAT " memory change%s", st.pins,
        st.pins == 1 ? "" : "s", st.memory_changes, st.memory_changes == 1 ? "" : "s");
    if (st.last_action)
        g_string_append_printf(s, "; last: %s", st.last_action);
    if (d->dry_run)
        g_string_append(s, " (dry run)");
    return g_string_free(s, FALSE);
}

void
vmb_sd_notify_status(VmbDaemon *d)
{
    /* Until READY the manager shows "activating"; the first status comes with it. */
    if (!st.enabled || !st.ready)
        return;
    g_autofree char *status = build_status(d);
    if (g_strcmp0(status, st.status) == 0)
        return;
    g_autofree char *msg = g_strconcat("STATUS=", status, NULL);
    notify_send(msg);
    g_free(st.status);
    st.status = g_steal_pointer(&status);
}

void
vmb_sd_notify_reloading(void)
{
    if (!st.enabled || !st.ready)
        return;
    /* MONOTONIC_USEC lets a manager with Type=notify-reload tell this reload from older. */
    g_autofree char *msg =
        g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" PRIi64, g_get_monotonic_time());
    notify_send(msg);
}

void
vmb_sd_notify_reloaded(VmbDaemon *d)
{
    if (!st.enabled || !st.ready)
        return;
    notify_send("READY=1");
    vmb_sd_notify_status(d);
}

void
vmb_sd_notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=Stopping");
}
