/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The status model (daemon/status.c): the history ring, the counters, when pins made in a
 * cycle show, and the targets kept per domain. */
#include <glib.h>

#include "status.h"

#define UUID_A "00000000-0000-0000-0000-00000000000a"
#define UUID_B "00000000-0000-0000-0000-00000000000b"

static VmbAction
pin(const char *uuid, guint vcpu, guint to, gboolean dry_run)
{
    return (VmbAction){.kind = VMB_ACTION_PIN,
                       .wall_us = 1,
                       .domain = "dom",
                       .uuid = uuid,
                       .vcpu = vcpu,
                       .from_pcpu = -1,
                       .to_pcpu = to,
                       .reason = "place",
                       .detail = NULL,
                       .dry_run = dry_run};
}

static VmbAction
memory(const char *uuid, guint64 new_kib, gboolean dry_run)
{
    return (VmbAction){.kind = VMB_ACTION_MEMORY,
                       .wall_us = 2,
                       .domain = "dom",
                       .uuid = uuid,
                       .old_kib = 1024,
                       .new_kib = new_kib,
                       .reason = "grow",
                       .dry_run = dry_run};
}

/* A view of one snapshot: domains @uuids with 2 vCPUs pinned to pCPU 0. */
static void
publish(VmbStatus *s, const char *const *uuids)
{
    GPtrArray *domains = g_ptr_array_new_with_free_func((GDestroyNotify) vmb_domain_status_free);
    for (guint i = 0; uuids[i]; i++) {
        VmbDomainStatus *d = vmb_domain_status_new("dom", uuids[i], 2);
        d->vcpus[0].pcpu = d->vcpus[1].pcpu = 0;
        g_ptr_array_add(domains, d);
    }
    GArray *pcpus = g_array_new(FALSE, TRUE, sizeof(VmbPcpuStatus));
    g_array_set_size(pcpus, 4);
    vmb_status_set_domains(s, 42 * G_USEC_PER_SEC, pcpus, domains);
}

static void
test_history_ring(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    g_assert_null(vmb_status_last_action(s));
    guint n = VMB_STATUS_HISTORY_MAX + 5;
    for (guint i = 0; i < n; i++) {
        VmbAction a = pin(UUID_A, i, 1, FALSE);
        vmb_status_record_action(s, &a);
    }
    g_assert_cmpuint(vmb_status_history_length(s), ==, VMB_STATUS_HISTORY_MAX);
    /* The oldest five made room; the order stays oldest first. */
    g_assert_cmpuint(vmb_status_history_nth(s, 0)->vcpu, ==, 5);
    g_assert_cmpuint(vmb_status_history_nth(s, 1)->vcpu, ==, 6);
    g_assert_cmpuint(vmb_status_last_action(s)->vcpu, ==, n - 1);
    /* Strings are copies and never NULL. */
    g_assert_cmpstr(vmb_status_last_action(s)->detail, ==, "");
    g_assert_cmpstr(vmb_status_last_action(s)->uuid, ==, UUID_A);
    g_assert_cmpuint(vmb_status_counters(s)->pin_changes, ==, n);
}

static void
test_counters(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(TRUE);
    VmbAction actions[] = {pin(UUID_A, 0, 1, FALSE), pin(UUID_A, 1, 2, TRUE),
                           memory(UUID_A, 2048, FALSE), memory(UUID_B, 4096, TRUE)};
    for (guint i = 0; i < G_N_ELEMENTS(actions); i++)
        vmb_status_record_action(s, &actions[i]);
    vmb_status_add_errors(s, 2);
    vmb_status_add_move_outcomes(s, 3, 1);
    vmb_status_add_move_outcomes(s, 1, 0);
    const VmbStatusCounters *c = vmb_status_counters(s);
    g_assert_cmpuint(c->pin_changes, ==, 1);
    g_assert_cmpuint(c->memory_changes, ==, 1);
    g_assert_cmpuint(c->errors, ==, 2);
    g_assert_cmpuint(c->moves_helped, ==, 4);
    g_assert_cmpuint(c->moves_failed, ==, 1);
    g_assert_cmpuint(vmb_status_history_length(s), ==, 4);
    g_assert_true(vmb_status_dry_run(s));

    g_assert_null(vmb_status_degraded_reason(s));
    g_assert_true(vmb_status_set_degraded(s, "gone"));
    g_assert_false(vmb_status_set_degraded(s, "gone"));
    g_assert_cmpstr(vmb_status_degraded_reason(s), ==, "gone");
    g_assert_true(vmb_status_set_degraded(s, NULL));
}

/* Pins of a cycle show once its snapshot is published, until the next snapshot (which
 * shows them itself); dry-run pins never. */
static void
test_pins(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    const char *const one[] = {UUID_A, NULL};
    g_assert_false(vmb_status_has_snapshot(s));
    g_assert_cmpint(vmb_status_snapshot_wall_us(s), ==, 0);

    VmbAction a = pin(UUID_A, 1, 3, FALSE), dry = pin(UUID_A, 0, 2, TRUE);
    vmb_status_record_action(s, &a);
    vmb_status_record_action(s, &dry);
    publish(s, one); /* a state change: the cycle under way has not stored its snapshot */
    g_assert_cmpint(vmb_status_domain(s, 0)->vcpus[1].pcpu, ==, 0);

    vmb_status_settle_pins(s);
    publish(s, one);
    g_assert_true(vmb_status_has_snapshot(s));
    g_assert_cmpint(vmb_status_snapshot_wall_us(s), ==, 42 * G_USEC_PER_SEC);
    g_assert_cmpint(vmb_status_domain(s, 0)->vcpus[0].pcpu, ==, 0);
    g_assert_cmpint(vmb_status_domain(s, 0)->vcpus[1].pcpu, ==, 3);
    publish(s, one); /* republished (configuration change): still there */
    g_assert_cmpint(vmb_status_domain(s, 0)->vcpus[1].pcpu, ==, 3);

    vmb_status_settle_pins(s); /* the next snapshot, no pins in its cycle */
    publish(s, one);
    g_assert_cmpint(vmb_status_domain(s, 0)->vcpus[1].pcpu, ==, 0);
    guint n;
    g_assert_nonnull(vmb_status_pcpus(s, &n));
    g_assert_cmpuint(n, ==, 4);
}

/* A target stays until its domain is not in a published snapshot. */
static void
test_targets(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    const char *const both[] = {UUID_A, UUID_B, NULL}, *const only_b[] = {UUID_B, NULL};
    VmbAction a = memory(UUID_A, 2048, FALSE), b = memory(UUID_B, 4096, TRUE);
    vmb_status_record_action(s, &a);
    vmb_status_record_action(s, &b);
    publish(s, both);
    g_assert_cmpint(vmb_status_domain(s, 0)->target_kib, ==, 2048);
    g_assert_cmpint(vmb_status_domain(s, 1)->target_kib, ==, -1);

    publish(s, only_b);
    publish(s, both); /* A came back: a new run, no target of ours */
    g_assert_cmpint(vmb_status_domain(s, 0)->target_kib, ==, -1);
}

static void
test_tasks(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    g_assert_cmpstr(vmb_task_name(VMB_TASK_CPU), ==, "cpu");
    g_assert_cmpstr(vmb_task_name(VMB_TASK_MEMORY), ==, "memory");
    VmbTaskStatus t = {.enabled = TRUE, .paused = TRUE, .interval_s = 9, .cycles = 3};
    vmb_status_set_task(s, VMB_TASK_MEMORY, &t);
    g_assert_true(vmb_status_task(s, VMB_TASK_MEMORY)->paused);
    g_assert_cmpuint(vmb_status_task(s, VMB_TASK_MEMORY)->interval_s, ==, 9);
    g_assert_false(vmb_status_task(s, VMB_TASK_CPU)->paused);
    VmbHostMemoryStatus m = {
        .available_kib = 1, .reserve_kib = 2, .headroom_kib = -1, .pressure = TRUE};
    vmb_status_set_host_memory(s, &m);
    g_assert_true(vmb_status_host_memory(s)->pressure);
    g_assert_cmpint(vmb_status_host_memory(s)->headroom_kib, ==, -1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/status/history-ring", test_history_ring);
    g_test_add_func("/status/counters", test_counters);
    g_test_add_func("/status/pins", test_pins);
    g_test_add_func("/status/targets", test_targets);
    g_test_add_func("/status/tasks", test_tasks);
    return g_test_run();
}
