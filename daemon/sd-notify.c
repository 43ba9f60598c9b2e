/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sd-notify.h"

#include <inttypes.h>
#include <systemd/sd-daemon.h>

static struct {
    gboolean enabled; /* NOTIFY_SOCKET was set when attached */
    gboolean ready;   /* READY=1 was sent */
    guint watchdog_id;
    char *status; /* last STATUS= sent */
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

/* "pin web vCPU 1 -> pCPU 3 at 12:00:00", or "would ..." in dry-run. */
static char *
describe_action(const VmbAction *a)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(a->wall_us / G_USEC_PER_SEC);
    g_autofree char *when = g_date_time_format(t, "%H:%M:%S");
    const char *would = a->dry_run ? "would " : "";
    if (a->kind == VMB_ACTION_PIN)
        return g_strdup_printf("%spin %s vCPU %u -> pCPU %u at %s", would, a->domain, a->vcpu,
                               a->to_pcpu, when);
    return g_strdup_printf("%sset %s memory %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
                           " MiB at %s",
                           would, a->domain, a->old_kib / 1024, a->new_kib / 1024, when);
}

void
vmb_sd_notify_attach(void)
{
    st.enabled = g_getenv("NOTIFY_SOCKET") != NULL;
    if (!st.enabled)
        return;

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
vmb_sd_notify_detach(void)
{
    if (!st.enabled)
        return;
    g_clear_handle_id(&st.watchdog_id, g_source_remove);
    g_clear_pointer(&st.status, g_free);
    st.enabled = st.ready = FALSE;
}

void
vmb_sd_notify_ready(const VmbStatus *status)
{
    if (!st.enabled || st.ready)
        return;
    st.ready = TRUE;
    notify_send("READY=1");
    vmb_sd_notify_status(status);
}

static char *
build_status(const VmbStatus *status)
{
    GString *s = g_string_new(NULL);
    const char *degraded = vmb_status_degraded_reason(status);
    if (degraded)
        g_string_append_printf(s, "Degraded: %s; ", degraded);
    if (vmb_status_has_snapshot(status)) {
        guint n = vmb_status_n_domains(status);
        g_string_append_printf(s, "%u domain%s", n, n == 1 ? "" : "s");
    } else {
        g_string_append(s, "no statistics yet");
    }
    for (guint i = 0; i < VMB_N_TASKS; i++) {
        if (vmb_status_task(status, i)->paused)
            g_string_append_printf(s, ", %s paused", vmb_task_name(i));
    }
    if (vmb_status_host_memory(status)->pressure)
        g_string_append(s, ", host memory short");
    const VmbStatusCounters *n = vmb_status_counters(status);
    g_string_append_printf(
        s, "; %" G_GUINT64_FORMAT " pin%s, %" G_GUINT64_FORMAT " memory change%s", n->pin_changes,
        n->pin_changes == 1 ? "" : "s", n->memory_changes, n->memory_changes == 1 ? "" : "s");
    const VmbAction *last = vmb_status_last_action(status);
    if (last) {
        g_autofree char *what = describe_action(last);
        g_string_append_printf(s, "; last: %s", what);
    }
    if (vmb_status_dry_run(status))
        g_string_append(s, " (dry run)");
    return g_string_free(s, FALSE);
}

void
vmb_sd_notify_status(const VmbStatus *status)
{
    /* Until READY the manager shows "activating"; the first status comes with it. */
    if (!st.enabled || !st.ready)
        return;
    g_autofree char *text = build_status(status);
    if (g_strcmp0(text, st.status) == 0)
        return;
    g_autofree char *msg = g_strconcat("STATUS=", text, NULL);
    notify_send(msg);
    g_free(st.status);
    st.status = g_steal_pointer(&text);
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
vmb_sd_notify_reloaded(const VmbStatus *status)
{
    if (!st.enabled || !st.ready)
        return;
    notify_send("READY=1");
    vmb_sd_notify_status(status);
}

void
vmb_sd_notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=Stopping");
}
