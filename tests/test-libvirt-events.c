/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-libvirt: lifecycle events, the calls a cycle makes with and without tunable events, and
 * the connection lost, reopened or never opened. */
#include <string.h>

#include "test-libvirt.h"

#define EVENT_TIMEOUT_US (5 * G_USEC_PER_SEC)

typedef struct {
    VmbDomainEvent event;
    char *name, *uuid;
} SeenEvent;

static void
seen_event_free(SeenEvent *e)
{
    g_free(e->name);
    g_free(e->uuid);
    g_free(e);
}

static void
on_event(VmbHypervisor *hv, VmbDomainEvent event, const char *name, const char *uuid,
         gpointer user_data)
{
    GPtrArray *seen = user_data;
    SeenEvent *e = g_new0(SeenEvent, 1);
    e->event = event;
    e->name = g_strdup(name);
    e->uuid = g_strdup(uuid);
    g_ptr_array_add(seen, e);
}

/* Runs the default main context (where libvirt-glib dispatches libvirt's events) until @seen
 * holds @count events or the time is up, then a little longer to catch duplicates. */
static void
run_until(GPtrArray *seen, guint count)
{
    gint64 deadline = g_get_monotonic_time() + EVENT_TIMEOUT_US;
    while (seen->len < count && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
    gint64 settle = g_get_monotonic_time() + 50000;
    while (g_get_monotonic_time() < settle) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

static void
assert_event(GPtrArray *seen, guint index, VmbDomainEvent event, const char *name, const char *uuid)
{
    g_assert_cmpuint(seen->len, >, index);
    const SeenEvent *e = g_ptr_array_index(seen, index);
    g_assert_cmpint(e->event, ==, event);
    g_assert_cmpstr(e->name, ==, name);
    g_assert_cmpstr(e->uuid, ==, uuid);
}

void
test_events(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func((GDestroyNotify) seen_event_free);
    vmb_hypervisor_set_event_func(hv, on_event, seen);
    g_autoptr(virDomain) b = lookup(hv, UUID_B);
    g_autoptr(virDomain) a = lookup(hv, UUID_A);

    run_until(seen, 0);
    g_assert_cmpuint(seen->len, ==, 0);

    /* Destroyed: VANISHED, with the lower-case UUID; the snapshot agrees. */
    g_assert_cmpint(virDomainDestroy(b), ==, 0);
    run_until(seen, 1);
    g_assert_cmpuint(seen->len, ==, 1);
    assert_event(seen, 0, VMB_DOMAIN_VANISHED, "vmbtest-b", UUID_B);
    {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        g_assert_cmpuint(s->domains->len, ==, 2);
        g_assert_null(vmb_snapshot_find(s, UUID_B));
    }

    /* Started again: APPEARED. */
    g_assert_cmpint(virDomainCreate(b), ==, 0);
    run_until(seen, 2);
    g_assert_cmpuint(seen->len, ==, 2);
    assert_event(seen, 1, VMB_DOMAIN_APPEARED, "vmbtest-b", UUID_B);
    {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        g_assert_cmpuint(s->domains->len, ==, 3);
        g_assert_nonnull(vmb_snapshot_find(s, UUID_B));
    }

    /* A domain we have not reported yet (running since we connected): suspending reports
     * nothing, resuming reports APPEARED, once. */
    g_assert_cmpint(virDomainSuspend(a), ==, 0);
    g_assert_cmpint(virDomainResume(a), ==, 0);
    run_until(seen, 3);
    g_assert_cmpuint(seen->len, ==, 3);
    assert_event(seen, 2, VMB_DOMAIN_APPEARED, "vmbtest-a", UUID_A);
    g_assert_cmpint(virDomainSuspend(a), ==, 0);
    g_assert_cmpint(virDomainResume(a), ==, 0);
    run_until(seen, 0);
    g_assert_cmpuint(seen->len, ==, 3);

    /* QEMU starts a domain with STARTED then RESUMED: one APPEARED. (The test driver cannot
     * start paused: STARTED, SUSPENDED, RESUMED here.) */
    g_assert_cmpint(virDomainDestroy(b), ==, 0);
    run_until(seen, 4);
    g_assert_cmpuint(seen->len, ==, 4);
    assert_event(seen, 3, VMB_DOMAIN_VANISHED, "vmbtest-b", UUID_B);
    g_assert_cmpint(virDomainCreate(b), ==, 0);
    g_assert_cmpint(virDomainSuspend(b), ==, 0);
    g_assert_cmpint(virDomainResume(b), ==, 0);
    run_until(seen, 5);
    g_assert_cmpuint(seen->len, ==, 5);
    assert_event(seen, 4, VMB_DOMAIN_APPEARED, "vmbtest-b", UUID_B);

    /* A guest shutdown: one VANISHED. */
    g_assert_cmpint(virDomainShutdown(a), ==, 0);
    run_until(seen, 6);
    g_assert_cmpuint(seen->len, ==, 6);
    assert_event(seen, 5, VMB_DOMAIN_VANISHED, "vmbtest-a", UUID_A);
    {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        g_assert_cmpuint(s->domains->len, ==, 2);
        g_assert_null(vmb_snapshot_find(s, UUID_A));
    }

    /* Closing with the callbacks registered (leaks are for ASan and valgrind to find). */
    vmb_hypervisor_lost(hv, "test");
    g_assert_null(vmb_hv_libvirt_get_conn(hv));
}

/* The calls of one snapshot. */
static VmbHvCalls
snapshot_calls(VmbHypervisor *hv)
{
    VmbHvCalls before = vmb_hypervisor_calls(hv);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    return vmb_hypervisor_calls_since(hv, &before);
}

/* A cycle that reads no pins: the bulk statistics and the host, plus what the test driver's
 * bulk statistics lack (virDomainGetInfo per domain; QEMU has it all in the one call). The test
 * URI is not local, so the host comes from libvirt: node info and CPU map (2), CPU statistics
 * (1 + 4 CPUs), memory statistics (1, refused by the test driver). */
static void
assert_cycle_without_pins(const VmbHvCalls *c)
{
    g_assert_cmpuint(c->kind[VMB_HV_CALL_STATS], ==, 1);
    g_assert_cmpuint(c->kind[VMB_HV_CALL_NODE], ==, 8);
    g_assert_cmpuint(c->kind[VMB_HV_CALL_DOMAIN], ==, 3);
    g_assert_cmpuint(c->kind[VMB_HV_CALL_PINS], ==, 0);
    g_assert_cmpuint(c->total, ==, 12);
}

/* Without tunable events (the test driver sends none), pins are read on first sight and then
 * every 10 snapshots, one call per domain. */
void
test_calls_without_events(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_assert_false(vmb_hv_libvirt_pins_follow_events(hv));

    /* First sight: pins, memory parameters (asked for the size, then read), the live XML and
     * whether the domain is persistent, the vmbalance:policy metadata and the persistent
     * definition (read once, for the hands-off rules and the memory's boot target) of each
     * domain. */
    VmbHvCalls first = snapshot_calls(hv);
    g_assert_cmpuint(first.kind[VMB_HV_CALL_PINS], ==, 3);
    g_assert_cmpuint(first.kind[VMB_HV_CALL_DOMAIN], ==, 3 + 3 * 2 + 3 * 2 + 3 * 2);
    for (guint cycle = 2; cycle <= 21; cycle++) {
        VmbHvCalls c = snapshot_calls(hv);
        if (cycle % 10 == 1) { /* the periodic re-read */
            g_assert_cmpuint(c.kind[VMB_HV_CALL_PINS], ==, 3);
            c.kind[VMB_HV_CALL_PINS] = 0;
            c.total -= 3;
        }
        assert_cycle_without_pins(&c);
    }
}

static void
send_pin_event(VmbHypervisor *hv, const char *uuid, guint vcpu, const char *cpulist)
{
    g_autoptr(virDomain) dom = lookup(hv, uuid);
    g_autofree char *field = g_strdup_printf(VIR_DOMAIN_TUNABLE_CPU_VCPUPIN, vcpu);
    virTypedParameter param = {.type = VIR_TYPED_PARAM_STRING, .value.s = (char *) cpulist};
    g_strlcpy(param.field, field, sizeof param.field);
    vmb_hv_libvirt_tunable_event(hv, dom, &param, 1);
}

/* With tunable events (as QEMU sends them), pins are read only on first sight, on a restart and
 * after a reconnect; pin changes come from the events. */
void
test_calls_with_events(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;
    vmb_hv_libvirt_assume_pin_events(hv, TRUE);
    g_assert_true(vmb_hv_libvirt_pins_follow_events(hv));

    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 3);
    for (guint cycle = 2; cycle <= 25; cycle++) {
        VmbHvCalls c = snapshot_calls(hv);
        assert_cycle_without_pins(&c);
    }

    /* Someone else pins vCPU 0 of C, and libvirt says so: seen at once, without a read. */
    send_pin_event(hv, UUID_C, 0, "2");
    send_pin_event(hv, UUID_C, 1, "0-3"); /* all CPUs: floating */
    send_pin_event(hv, UUID_C, 7, "1");   /* no such vCPU: ignored */
    VmbHvCalls before = vmb_hypervisor_calls(hv);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    VmbHvCalls c = vmb_hypervisor_calls_since(hv, &before);
    assert_cycle_without_pins(&c);
    g_assert_cmpint(find_domain(s, UUID_C)->vcpus[0].pcpu, ==, 2);
    g_assert_cmpint(find_domain(s, UUID_C)->vcpus[1].pcpu, ==, -1);

    /* Our own pin: in the cache at once, no read either. */
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, UUID_C, 1, 3, &error));
    g_assert_no_error(error);
    before = vmb_hypervisor_calls(hv);
    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    c = vmb_hypervisor_calls_since(hv, &before);
    assert_cycle_without_pins(&c);
    g_assert_cmpint(find_domain(s2, UUID_C)->vcpus[1].pcpu, ==, 3);

    /* An event we cannot follow: that domain is read again, once. */
    send_pin_event(hv, UUID_A, 0, "not a cpulist");
    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 1);
    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 0);

    /* A restarted domain is read again when its STARTED event has arrived. */
    g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func((GDestroyNotify) seen_event_free);
    vmb_hypervisor_set_event_func(hv, on_event, seen);
    g_autoptr(virDomain) b = lookup(hv, UUID_B);
    g_assert_cmpint(virDomainDestroy(b), ==, 0);
    g_assert_cmpint(virDomainCreate(b), ==, 0);
    run_until(seen, 2);
    g_assert_cmpuint(seen->len, ==, 2);
    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 1);
    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 0);

    /* A reconnect reads every domain again (the cache goes with the connection). */
    vmb_hypervisor_lost(hv, "test");
    hv->next_retry_us = 0;
    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 3);
    g_assert_true(vmb_hv_libvirt_pins_follow_events(hv));
    g_assert_cmpuint(snapshot_calls(hv).kind[VMB_HV_CALL_PINS], ==, 0);
}

static void
on_connection(VmbHypervisor *hv, gboolean connected, const char *reason, gpointer user_data)
{
    int *changes = user_data;
    (*changes)++;
}

/* Losing the connection and opening it again: a fresh test driver state, and no stale cache. */
void
test_reconnect(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;
    int changes = 0;
    vmb_hypervisor_set_connection_func(hv, on_connection, &changes);

    g_autoptr(VmbSnapshot) s0 = take_snapshot(hv);
    g_assert_cmpint(find_domain(s0, UUID_C)->vcpus[1].pcpu, ==, -1);
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, UUID_C, 1, 2, &error));
    g_assert_no_error(error);
    g_autoptr(VmbSnapshot) s_pinned = take_snapshot(hv);
    g_assert_cmpint(find_domain(s_pinned, UUID_C)->vcpus[1].pcpu, ==, 2);

    vmb_hypervisor_lost(hv, "test");
    g_assert_false(hv->connected);
    g_assert_cmpint(changes, ==, 1);
    g_assert_null(vmb_hv_libvirt_get_conn(hv));
    g_assert_null(vmb_hypervisor_snapshot(hv, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
    g_clear_error(&error);

    hv->next_retry_us = 0; /* skip the backoff */
    g_autoptr(VmbSnapshot) s1 = take_snapshot(hv);
    g_assert_true(hv->connected);
    g_assert_cmpint(changes, ==, 2);
    g_assert_cmpuint(hv->reconnects, ==, 1);
    g_assert_cmpuint(s1->domains->len, ==, 3);
    /* The reopened test driver starts from the XML again: the pin is gone. */
    g_assert_cmpint(find_domain(s1, UUID_C)->vcpus[1].pcpu, ==, -1);
}

/* An unreachable URI: a DISCONNECTED error with libvirt's reason, nothing printed. */
void
test_open_fails(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbHypervisor) hv =
        vmb_hypervisor_new("qemu+unix:///system?socket=/nonexistent/vmb-no-such.sock", &error);
    g_assert_no_error(error);
    g_assert_false(vmb_hypervisor_ensure_connected(hv, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
    g_assert_nonnull(strstr(error->message, "vmb-no-such.sock"));
    g_assert_null(vmb_hv_libvirt_get_conn(hv));
}
