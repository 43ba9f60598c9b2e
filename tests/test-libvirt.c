/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend against libvirt's in-process test driver, test:///.../test-host.xml: a
 * node with 4 CPUs and three running domains (see the XML).
 *
 * What the test driver leaves empty, so these tests cannot check it: virConnectGetAllDomainStats()
 * gives only state.* (no cpu.time, no vcpu.*, no balloon.*), so the backend completes vCPU count,
 * CPU time and balloon current/maximum from virDomainGetInfo() and nothing has wait times or
 * guest balloon figures; there are no node memory statistics (available stays 0); vCPU and node
 * CPU times are made up. Each test:/// connection has private state, so changes are made and
 * checked through the connection of the hypervisor object under test
 * (vmb_hv_libvirt_get_conn()). */
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "config.h"
#include "foreign-targets.h"
#include "hv-libvirt.h"
#include "hypervisor.h"

#define UUID_A    "6695eb01-f6a4-8304-79aa-97f2502e193f" /* 1 vCPU, balloon */
#define UUID_B    "b1c2d3e4-0000-4000-8000-00000000000b" /* 1 vCPU, no balloon; upper in XML */
#define UUID_C    "0c7a1d2e-3f40-4b5c-9d6e-7f8091a2b3c4" /* 2 vCPUs, balloon */
#define UUID_NONE "00000000-0000-4000-8000-0000000000ff"

#define EVENT_TIMEOUT_US (5 * G_USEC_PER_SEC)

static char *
test_uri(void)
{
    const char *srcdir = g_getenv("VMB_SRCDIR");
#ifdef VMB_SRCDIR
    if (!srcdir)
        srcdir = VMB_SRCDIR;
#endif
    g_assert_nonnull(srcdir);
    g_autofree char *path = g_build_filename(srcdir, "tests", "data", "test-host.xml", NULL);
    g_autofree char *abs = g_canonicalize_filename(path, NULL);
    g_assert_true(g_file_test(abs, G_FILE_TEST_IS_REGULAR));
    return g_strconcat("test://", abs, NULL);
}

static VmbHypervisor *
open_hv(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *uri = test_uri();
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new(uri, &error);
    g_assert_no_error(error);
    g_assert_nonnull(hv);
    g_assert_cmpstr(hv->ops->name, ==, "libvirt");
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_assert_no_error(error);
    g_assert_nonnull(vmb_hv_libvirt_get_conn(hv));
    return g_steal_pointer(&hv);
}

static VmbSnapshot *
take_snapshot(VmbHypervisor *hv)
{
    g_autoptr(GError) error = NULL;
    VmbSnapshot *s = vmb_hypervisor_snapshot(hv, &error);
    g_assert_no_error(error);
    g_assert_nonnull(s);
    return s;
}

static const VmbDomainStat *
find_domain(const VmbSnapshot *s, const char *uuid)
{
    const VmbDomainStat *d = vmb_snapshot_find(s, uuid);
    g_assert_nonnull(d);
    return d;
}

/* A domain of the hypervisor's own connection (the test driver state is per connection). */
static virDomainPtr
lookup(VmbHypervisor *hv, const char *uuid)
{
    virDomainPtr dom = virDomainLookupByUUIDString(vmb_hv_libvirt_get_conn(hv), uuid);
    g_assert_nonnull(dom);
    return dom;
}

/* The topology through the backend on test:///default, read once at connect and shared by
 * every snapshot of the connection. That driver is inconsistent: its capabilities list 2 cells
 * of 8 CPUs (16, test-topology.c parses them) while its CPU map, which bounds the host's
 * CPUs, says 8: a topology naming CPUs the host does not have is refused, and the host is
 * treated as flat (logged once) rather than placed on a made-up shape. */
static void
test_topology_default(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new("test:///default", &error);
    g_assert_no_error(error);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbSnapshot) s1 = take_snapshot(hv);
    VmbHvCalls before = vmb_hypervisor_calls(hv);
    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    VmbHvCalls d = vmb_hypervisor_calls_since(hv, &before);
    g_assert_cmpuint(d.kind[VMB_HV_CALL_CONNECT], ==, 0);
    g_assert_cmpuint(s1->npcpus, ==, 8);
    g_assert_null(s1->topology);
    g_assert_null(s2->topology);
}

static void
test_snapshot(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_assert_cmpstr(virConnectGetType(vmb_hv_libvirt_get_conn(hv)), ==, "TEST");

    gint64 before_us = g_get_monotonic_time();
    gint64 before_s = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_cmpint(s->mono_us, >=, before_us);
    g_assert_cmpint(s->mono_us, <=, g_get_monotonic_time());
    g_assert_cmpint(s->wall_s, >=, before_s);
    g_assert_cmpint(s->wall_s, <=, before_s + 5);

    /* Host: the node XML says 4 CPUs and 8 GiB (the driver's CPU map claims 8 CPUs). */
    g_assert_cmpuint(s->npcpus, ==, 4);
    g_assert_cmpuint(s->host_mem_total_kib, ==, 8388608);
    g_assert_cmpuint(s->host_mem_available_kib, ==, 0); /* no node memory stats: unknown */
    g_assert_nonnull(s->pcpu_busy_ns);                  /* made-up node CPU stats, but present */
    /* A custom test driver host reports <cells num='0'>: a flat topology. */
    g_assert_nonnull(s->topology);
    g_assert_false(s->topology->known);
    g_assert_cmpuint(s->topology->npcpus, ==, 4);

    g_assert_cmpuint(s->domains->len, ==, 3);
    struct {
        const char *uuid, *name;
        guint nvcpus;
        guint64 cur_kib, max_kib;
    } want[] = {
        {UUID_A, "vmbtest-a", 1, 262144, 524288},
        {UUID_B, "vmbtest-b", 1, 524288, 524288},
        {UUID_C, "vmbtest-c", 2, 393216, 1048576},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
        const VmbDomainStat *d = find_domain(s, want[i].uuid);
        g_assert_cmpstr(d->name, ==, want[i].name);
        g_assert_cmpstr(d->uuid, ==, want[i].uuid); /* lower case, even for B */
        g_assert_cmpuint(d->nvcpus, ==, want[i].nvcpus);
        for (guint v = 0; v < d->nvcpus; v++) {
            g_assert_cmpint(d->vcpus[v].pcpu, ==, -1); /* default affinity: all CPUs */
            g_assert_false(d->vcpus[v].has_wait);      /* no vcpu.* from the test driver */
        }
        g_assert_cmpuint(d->balloon.fields & VMB_BALLOON_CURRENT, !=, 0);
        g_assert_cmpuint(d->balloon.fields & VMB_BALLOON_MAXIMUM, !=, 0);
        g_assert_cmpuint(d->balloon.fields & VMB_BALLOON_USABLE, ==, 0);
        g_assert_cmpuint(d->balloon.current_kib, ==, want[i].cur_kib);
        g_assert_cmpuint(d->balloon.maximum_kib, ==, want[i].max_kib);
        g_assert_cmpuint(d->balloon.min_guarantee_kib, ==, 0);
    }

    /* A second snapshot on the same connection. */
    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    g_assert_cmpint(s2->mono_us, >=, s->mono_us);
    g_assert_cmpuint(s2->domains->len, ==, 3);
}

static void
check_pin_info(VmbHypervisor *hv, const char *uuid, guint vcpu, guint flags, guint8 want_map)
{
    g_autoptr(virDomain) dom = lookup(hv, uuid);
    unsigned char maps[4] = {0};
    int n = virDomainGetVcpuPinInfo(dom, 4, maps, 1, flags);
    g_assert_cmpint(n, >, (int) vcpu);
    g_assert_cmphex(maps[vcpu] & 0x0f, ==, want_map);
}

/* Set pins (cpu.pin_to) through virDomainPinVcpuFlags with a cpumap: the snapshot shows the
 * set at once, libvirt agrees; a set pin made by someone else is read back as a set; a pin to
 * every CPU floats; CPUs beyond the host are refused. */
static void
test_pin_set(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s0 = take_snapshot(hv);
    VmbCpuSet mid, all, beyond;
    gboolean any;
    g_assert_true(vmb_cpuset_parse("1-2", &mid, &any, NULL));
    g_assert_true(vmb_cpuset_parse("0-3", &all, &any, NULL));
    g_assert_true(vmb_cpuset_parse("3-4", &beyond, &any, NULL));
    g_assert_true(vmb_hypervisor_pin_vcpu_set(hv, UUID_C, 1, &mid, &error));
    g_assert_no_error(error);
    g_autoptr(VmbSnapshot) s1 = take_snapshot(hv);
    const VmbDomainStat *c = find_domain(s1, UUID_C);
    g_assert_cmpint(c->vcpus[1].pcpu, ==, -1);
    g_autofree char *text = vmb_vcpu_stat_pin_text(&c->vcpus[1]);
    g_assert_cmpstr(text, ==, "1-2");
    check_pin_info(hv, UUID_C, 1, VIR_DOMAIN_AFFECT_LIVE, 0x06);

    g_assert_false(vmb_hypervisor_pin_vcpu_set(hv, UUID_C, 1, &beyond, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    check_pin_info(hv, UUID_C, 1, VIR_DOMAIN_AFFECT_LIVE, 0x06);

    g_assert_true(vmb_hypervisor_pin_vcpu_set(hv, UUID_C, 1, &all, &error));
    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    g_assert_null(find_domain(s2, UUID_C)->vcpus[1].cpus);
    g_assert_cmpint(find_domain(s2, UUID_C)->vcpus[1].pcpu, ==, -1);

    { /* someone else pins vCPU 0 to CPUs 0 and 3: read back on the periodic refresh */
        g_autoptr(virDomain) dom = lookup(hv, UUID_C);
        unsigned char map = 0x09;
        g_assert_cmpint(virDomainPinVcpuFlags(dom, 0, &map, 1, 0), ==, 0);
    }
    gboolean seen = FALSE;
    for (int i = 0; i < 11 && !seen; i++) {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        const VmbVcpuStat *v = &find_domain(s, UUID_C)->vcpus[0];
        g_autofree char *now = vmb_vcpu_stat_pin_text(v);
        seen = g_str_equal(now, "0,3");
    }
    g_assert_true(seen);
}

static void
test_pin(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;

    /* Warm the pin cache first: our own pin must show in the very next snapshot. */
    g_autoptr(VmbSnapshot) s0 = take_snapshot(hv);
    g_assert_cmpint(find_domain(s0, UUID_C)->vcpus[1].pcpu, ==, -1);

    g_assert_true(vmb_hypervisor_pin_vcpu(hv, UUID_C, 1, 3, &error));
    g_assert_no_error(error);
    g_autoptr(VmbSnapshot) s1 = take_snapshot(hv);
    const VmbDomainStat *c = find_domain(s1, UUID_C);
    g_assert_cmpint(c->vcpus[0].pcpu, ==, -1);
    g_assert_cmpint(c->vcpus[1].pcpu, ==, 3);
    /* libvirt itself agrees (live). */
    check_pin_info(hv, UUID_C, 1, VIR_DOMAIN_AFFECT_LIVE, 0x08);
    check_pin_info(hv, UUID_C, 0, VIR_DOMAIN_AFFECT_LIVE, 0x0f);

    /* An upper-case UUID is the same domain. */
    g_autofree char *upper = g_ascii_strup(UUID_A, -1);
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, upper, 0, 0, &error));
    g_assert_no_error(error);
    check_pin_info(hv, UUID_A, 0, VIR_DOMAIN_AFFECT_LIVE, 0x01);

    /* A pin made by someone else: the test driver sends no tunable event for it, so the backend
     * falls back to re-reading every domain's pins periodically, and it shows within that. */
    g_assert_false(vmb_hv_libvirt_pins_follow_events(hv));
    {
        g_autoptr(virDomain) dom = lookup(hv, UUID_C);
        unsigned char map = 1 << 2;
        g_assert_cmpint(virDomainPinVcpuFlags(dom, 0, &map, 1, 0), ==, 0);
    }
    gboolean seen = FALSE;
    for (int i = 0; i < 11 && !seen; i++) {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        c = find_domain(s, UUID_C);
        g_assert_cmpint(c->vcpus[1].pcpu, ==, 3);
        seen = c->vcpus[0].pcpu == 2;
        if (seen)
            g_assert_cmpint(find_domain(s, UUID_A)->vcpus[0].pcpu, ==, 0);
    }
    g_assert_true(seen);
}

static void
test_pin_errors(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;

    /* CPU 4 does not exist (the test driver itself would accept it). */
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, UUID_A, 0, 4, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, UUID_A, 0, G_MAXUINT, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    check_pin_info(hv, UUID_A, 0, VIR_DOMAIN_AFFECT_LIVE, 0x0f);

    /* vCPU 1 of a 1-vCPU domain. */
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, UUID_A, 1, 0, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);

    g_assert_false(vmb_hypervisor_pin_vcpu(hv, UUID_NONE, 0, 0, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_clear_error(&error);

    /* A stopped domain is gone for us, and its persistent definition is left alone. */
    {
        g_autoptr(virDomain) dom = lookup(hv, UUID_B);
        g_assert_cmpint(virDomainDestroy(dom), ==, 0);
    }
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, UUID_B, 0, 1, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_clear_error(&error);
    check_pin_info(hv, UUID_B, 0, VIR_DOMAIN_AFFECT_CONFIG, 0x0f);

    /* None of this is a connection problem. */
    g_assert_true(hv->connected);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_cmpuint(s->domains->len, ==, 2);
    g_assert_null(vmb_snapshot_find(s, UUID_B));
}

static void
test_memory(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;

    g_assert_true(vmb_hypervisor_set_memory(hv, UUID_A, 200000, &error));
    g_assert_no_error(error);
    g_assert_true(vmb_hypervisor_set_memory(hv, UUID_C, 1048576, &error)); /* = maximum */
    g_assert_no_error(error);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_cmpuint(find_domain(s, UUID_A)->balloon.current_kib, ==, 200000);
    g_assert_cmpuint(find_domain(s, UUID_A)->balloon.maximum_kib, ==, 524288);
    g_assert_cmpuint(find_domain(s, UUID_B)->balloon.current_kib, ==, 524288);
    g_assert_cmpuint(find_domain(s, UUID_C)->balloon.current_kib, ==, 1048576);

    /* Above <memory>: refused, nothing changed. */
    g_assert_false(vmb_hypervisor_set_memory(hv, UUID_A, 524289, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(vmb_hypervisor_set_memory(hv, UUID_A, G_MAXUINT64, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);

    g_assert_false(vmb_hypervisor_set_memory(hv, UUID_NONE, 100000, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_clear_error(&error);

    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    g_assert_cmpuint(find_domain(s2, UUID_A)->balloon.current_kib, ==, 200000);
    g_assert_true(hv->connected);

    /* The balloon's target: unknown at first (the persistent <currentMemory>, 256 MiB, is
     * above actual: no boot inflation in flight), then our request. The features come from
     * the XML on first sight: vmbtest-c reports free pages and deflates on OOM. */
    g_assert_cmpuint(find_domain(s2, UUID_A)->balloon.target_kib, ==, 0);
    g_assert_cmpuint(find_domain(s2, UUID_A)->balloon.features, ==, 0);
    g_assert_cmpuint(find_domain(s2, UUID_C)->balloon.features, ==,
                     VMB_BALLOON_FREE_PAGE_REPORTING | VMB_BALLOON_DEFLATE_ON_OOM);
    g_assert_false(find_domain(s2, UUID_C)->vmem.present);
    /* vmbtest-c was set live to its maximum before its first sight: as after a boot, the
     * persistent <currentMemory> (384 MiB) below actual is a change in flight */
    g_assert_cmpuint(find_domain(s2, UUID_C)->balloon.target_kib, ==, 393216);
    g_assert_true(vmb_hypervisor_set_memory(hv, UUID_A, 150000, &error));
    g_autoptr(VmbSnapshot) s3 = take_snapshot(hv);
    g_assert_cmpuint(find_domain(s3, UUID_A)->balloon.target_kib, ==, 150000);

    /* No virtio-mem device: a resize is refused as invalid, the connection stays. */
    g_assert_false(vmb_hypervisor_set_vmem_requested(hv, UUID_A, 131072, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_true(hv->connected);
}

/* A transient domain (virsh create, as the lab's guests are) has no persistent definition:
 * its memory is read from the live XML alone, and the target stays unknown. */
static void
test_memory_transient(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    static const char xml[] =
        "<domain type='test'><name>vmbtest-t</name>"
        "<uuid>5a7e0000-0000-4000-8000-0000000000aa</uuid>"
        "<memory unit='KiB'>524288</memory><currentMemory unit='KiB'>262144</currentMemory>"
        "<vcpu>1</vcpu><os><type>hvm</type></os>"
        "<devices><memballoon model='virtio' autodeflate='on'/></devices></domain>";
    g_autoptr(virDomain) dom = virDomainCreateXML(vmb_hv_libvirt_get_conn(hv), xml, 0);
    g_assert_nonnull(dom);
    g_assert_cmpint(virDomainIsPersistent(dom), ==, 0);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    const VmbDomainStat *d = find_domain(s, "5a7e0000-0000-4000-8000-0000000000aa");
    g_assert_cmpuint(d->balloon.features, ==, VMB_BALLOON_DEFLATE_ON_OOM);
    g_assert_cmpuint(d->balloon.target_kib, ==, 0);
    g_assert_true(hv->connected);
}

static void
test_stats_period(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;

    g_assert_true(vmb_hypervisor_set_stats_period(hv, UUID_A, 1, &error));
    g_assert_no_error(error);
    g_assert_true(vmb_hypervisor_set_stats_period(hv, UUID_C, 5, &error));
    g_assert_no_error(error);

    g_assert_false(vmb_hypervisor_set_stats_period(hv, UUID_B, 1, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "no memory balloon"));
    g_clear_error(&error);

    g_assert_false(vmb_hypervisor_set_stats_period(hv, UUID_NONE, 1, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_clear_error(&error);
    g_assert_true(hv->connected);
}

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

static void
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
static void
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
static void
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
static void
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
static void
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

static void
drop_log(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
}

/* Warnings the backend logs, kept when a test expects them instead of aborting it. */
static GPtrArray *warnings;

static GLogWriterOutput
capture_warnings(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
    for (gsize i = 0; warnings && (level & G_LOG_LEVEL_WARNING) && i < n; i++) {
        if (g_str_equal(fields[i].key, "MESSAGE") && fields[i].length < 0) {
            g_ptr_array_add(warnings, g_strdup(fields[i].value));
            return G_LOG_WRITER_HANDLED;
        }
    }
    return g_log_writer_default(level, fields, n, data);
}

/* Runs the default main context for @ms milliseconds (libvirt-glib dispatches there). */
static void
run_for(guint ms)
{
    gint64 until = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < until) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

static void
set_policy(virDomainPtr dom, const char *xml)
{
    g_assert_cmpint(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, VMB_POLICY_PREFIX,
                                         VMB_POLICY_XMLNS, VIR_DOMAIN_AFFECT_LIVE),
                    ==, 0);
}

/* The vmbalance:policy metadata: read on first sight, again after libvirt's metadata-change
 * event (which the test driver sends), never per cycle; refused metadata is said once and the
 * host's settings apply. */
static void
test_metadata(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(virDomain) c = lookup(hv, UUID_C);
    set_policy(c, "<policy cpu=\"off\" weight=\"2\"/>"); /* before first sight */
    {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        const VmbDomainStat *d = find_domain(s, UUID_C);
        g_assert_cmpuint(d->policy.set, ==, VMB_POLICY_CPU | VMB_POLICY_WEIGHT);
        g_assert_true(d->policy.cpu_off);
        g_assert_cmpuint(find_domain(s, UUID_A)->policy.set, ==, 0);
        g_assert_cmpuint(find_domain(s, UUID_A)->hands_off, ==, 0);
    }
    /* Changed while running: seen once the event has arrived, with one read. */
    set_policy(c, "<policy memory=\"off\"/>");
    run_for(100);
    VmbHvCalls before = vmb_hypervisor_calls(hv);
    {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        const VmbDomainStat *d = find_domain(s, UUID_C);
        g_assert_cmpuint(d->policy.set, ==, VMB_POLICY_MEMORY);
        g_assert_true(d->policy.memory_off);
    }
    VmbHvCalls calls = vmb_hypervisor_calls_since(hv, &before);
    g_assert_cmpuint(calls.kind[VMB_HV_CALL_DOMAIN], ==, 3 + 1);
    before = vmb_hypervisor_calls(hv);
    g_autoptr(VmbSnapshot) again = take_snapshot(hv);
    calls = vmb_hypervisor_calls_since(hv, &before);
    g_assert_cmpuint(calls.kind[VMB_HV_CALL_DOMAIN], ==, 3); /* no per-cycle read */

    /* Invalid: refused with one warning naming the domain; the host's settings apply. */
    warnings = g_ptr_array_new_with_free_func(g_free);
    set_policy(c, "<policy cpu=\"auto\" max_mib=\"0\"/>");
    run_for(100);
    for (guint i = 0; i < 2; i++) {
        g_autoptr(VmbSnapshot) s = take_snapshot(hv);
        const VmbDomainStat *d = find_domain(s, UUID_C);
        g_assert_true(d->policy_refused);
        g_assert_cmpuint(d->policy.set, ==, 0);
    }
    g_assert_cmpuint(warnings->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(warnings, 0), ==,
                    "domain vmbtest-c: metadata vmbalance:policy (" VMB_POLICY_XMLNS
                    ") refused: attribute 'max_mib' = '0': allowed an integer in 1..16777216 "
                    "(MiB); the host's settings apply to it");
    g_clear_pointer(&warnings, g_ptr_array_unref);

    /* Removed: back to nothing. */
    g_assert_cmpint(virDomainSetMetadata(c, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL,
                                         VMB_POLICY_XMLNS, VIR_DOMAIN_AFFECT_LIVE),
                    ==, 0);
    run_for(100);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_false(find_domain(s, UUID_C)->policy_refused);
    g_assert_cmpuint(find_domain(s, UUID_C)->policy.set, ==, 0);
}

/* What `vmbalancectl domain NAME set` writes goes to the live and the persistent definition. */
static void
test_set_policy(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;
    g_autofree char *none = NULL;
    g_assert_true(vmb_hypervisor_get_policy(hv, UUID_A, &none, &error));
    g_assert_no_error(error);
    g_assert_null(none);
    g_assert_true(vmb_hypervisor_set_policy(hv, UUID_A, "<policy cpu=\"off\"/>", &error));
    g_assert_no_error(error);
    g_autoptr(virDomain) a = lookup(hv, UUID_A);
    g_autofree char *live = virDomainGetMetadata(a, VIR_DOMAIN_METADATA_ELEMENT, VMB_POLICY_XMLNS,
                                                 VIR_DOMAIN_AFFECT_LIVE);
    g_autofree char *config = virDomainGetMetadata(a, VIR_DOMAIN_METADATA_ELEMENT, VMB_POLICY_XMLNS,
                                                   VIR_DOMAIN_AFFECT_CONFIG);
    g_assert_cmpstr(live, ==, "<policy cpu=\"off\"/>");
    g_assert_cmpstr(config, ==, "<policy cpu=\"off\"/>");
    g_autofree char *back = NULL;
    g_assert_true(vmb_hypervisor_get_policy(hv, UUID_A, &back, &error));
    g_assert_cmpstr(back, ==, "<policy cpu=\"off\"/>");
    /* Seen by the next snapshot even before the event is dispatched. */
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_true(find_domain(s, UUID_A)->policy.cpu_off);

    g_assert_true(vmb_hypervisor_set_policy(hv, UUID_A, NULL, &error));
    g_autofree char *gone = NULL;
    g_assert_true(vmb_hypervisor_get_policy(hv, UUID_A, &gone, &error));
    g_assert_null(gone);
    g_assert_false(vmb_hypervisor_set_policy(hv, UUID_NONE, NULL, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
}

/* A domain being migrated is left alone: the snapshot says so, pin and memory requests are
 * refused as for a domain that went away (skipped quietly), until the job completes. (The test
 * driver has no migrations nor job statistics: the events are delivered by hand.) */
static void
test_migrating(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s0 = take_snapshot(hv); /* first sight: cached */
    g_autoptr(virDomain) c = lookup(hv, UUID_C);
    vmb_hv_libvirt_migration_event(hv, c, TRUE);
    g_autoptr(VmbSnapshot) s1 = take_snapshot(hv);
    g_assert_cmphex(find_domain(s1, UUID_C)->hands_off, ==, VMB_HANDS_OFF_MIGRATING);
    g_assert_cmphex(find_domain(s1, UUID_A)->hands_off, ==, 0);
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, UUID_C, 0, 1, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_assert_nonnull(strstr(error->message, "vmbtest-c is being migrated"));
    g_clear_error(&error);
    g_assert_false(vmb_hypervisor_set_memory(hv, UUID_C, 300 * 1024, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_clear_error(&error);
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, UUID_A, 0, 1, &error)); /* others are not */
    g_assert_no_error(error);

    vmb_hv_libvirt_migration_event(hv, c, FALSE);
    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    g_assert_cmphex(find_domain(s2, UUID_C)->hands_off, ==, 0);
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, UUID_C, 0, 1, &error));
    g_assert_no_error(error);

    /* A migration that failed: the domain resumes here (RESUMED), and is balanced again. */
    vmb_hv_libvirt_migration_event(hv, c, TRUE);
    g_assert_cmpint(virDomainSuspend(c), ==, 0);
    g_assert_cmpint(virDomainResume(c), ==, 0);
    run_for(200);
    g_autoptr(VmbSnapshot) s3 = take_snapshot(hv);
    g_assert_cmphex(find_domain(s3, UUID_C)->hands_off, ==, 0);
}

#define UUID_PINNED "5e1d0c0e-0000-4000-8000-0000000000d1"

/* A domain whose persistent definition pins a vCPU and uses hugepages: both rules, read from
 * the inactive XML when it first shows up. */
static void
test_definition(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    virConnectPtr conn = vmb_hv_libvirt_get_conn(hv);
    const char *xml =
        "<domain type='test'><name>vmbtest-pinned</name><uuid>" UUID_PINNED "</uuid>"
        "<memory unit='KiB'>262144</memory><memoryBacking><hugepages/></memoryBacking>"
        "<vcpu placement='static'>2</vcpu><cputune><vcpupin vcpu='1' cpuset='2'/></cputune>"
        "<os><type arch='x86_64'>hvm</type></os></domain>";
    g_autoptr(virDomain) dom = virDomainDefineXML(conn, xml);
    g_assert_nonnull(dom);
    g_assert_cmpint(virDomainCreate(dom), ==, 0);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_cmphex(find_domain(s, UUID_PINNED)->hands_off, ==,
                    VMB_HANDS_OFF_VCPUPIN | VMB_HANDS_OFF_HUGEPAGES);
    g_assert_cmphex(find_domain(s, UUID_A)->hands_off, ==, 0);

    /* Defined again without them: read again after the DEFINED event. */
    const char *plain =
        "<domain type='test'><name>vmbtest-pinned</name><uuid>" UUID_PINNED "</uuid>"
        "<memory unit='KiB'>262144</memory><vcpu placement='static'>2</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>";
    g_autoptr(virDomain) again = virDomainDefineXML(conn, plain);
    g_assert_nonnull(again);
    run_for(100);
    g_autoptr(VmbSnapshot) s2 = take_snapshot(hv);
    g_assert_cmphex(find_domain(s2, UUID_PINNED)->hands_off, ==, 0);
}

/* One snapshot into @f, as the memory task takes it each cycle. */
static VmbSnapshot *
observe(VmbHypervisor *hv, VmbForeignTargets *f, const VmbConfig *c)
{
    VmbSnapshot *s = take_snapshot(hv);
    vmb_foreign_targets_observe(f, s, c);
    return s;
}

/* A balloon target set on the side (virsh setmem; here the test driver's own call on the same
 * connection, which changes currentMemory and actual at once): the backend cannot tell the
 * target (it keeps reporting ours, as on libvirt 9.0 with QEMU), and the balloon leaving ours
 * for good is what gives it away. Ours are not taken for someone else's. */
static void
test_foreign_target(void)
{
    g_autoptr(VmbHypervisor) hv = open_hv();
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_assert_true(vmb_config_set(c, "memory.foreign_targets", "respect", NULL));
    VmbForeignTargets *f = vmb_foreign_targets_new();
    g_autoptr(VmbSnapshot) s0 = observe(hv, f, c);
    g_assert_true(vmb_hypervisor_set_memory(hv, UUID_A, 300000, NULL));
    vmb_foreign_targets_made(f, UUID_A, 300000);
    for (guint i = 0; i < 3; i++) {
        g_autoptr(VmbSnapshot) s = observe(hv, f, c);
        g_assert_cmpuint(find_domain(s, UUID_A)->balloon.current_kib, ==, 300000);
    }
    g_assert_false(vmb_foreign_targets_take_change(f, UUID_A));

    g_autoptr(virDomain) dom = lookup(hv, UUID_A);
    g_assert_cmpint(virDomainSetMemoryFlags(dom, 200000, 0), ==, 0);
    g_autoptr(VmbSnapshot) s1 = observe(hv, f, c);
    g_assert_cmpuint(find_domain(s1, UUID_A)->balloon.current_kib, ==, 200000);
    g_assert_cmpuint(find_domain(s1, UUID_A)->balloon.target_kib, ==, 300000); /* ours, stale */
    g_assert_false(vmb_foreign_targets_respected(f, UUID_A)); /* not at rest there yet */
    g_autoptr(VmbSnapshot) s2 = observe(hv, f, c);
    g_assert_true(vmb_foreign_targets_take_change(f, UUID_A));
    g_assert_false(vmb_foreign_targets_take_change(f, UUID_A));
    g_assert_true(vmb_foreign_targets_respected(f, UUID_A));
    g_assert_false(vmb_foreign_targets_respected(f, UUID_C));
    vmb_hypervisor_forget_target(hv, UUID_A);
    g_autoptr(VmbSnapshot) s3 = observe(hv, f, c);
    g_assert_cmpuint(find_domain(s3, UUID_A)->balloon.target_kib, ==, 0);
    g_assert_false(vmb_foreign_targets_take_change(f, UUID_A)); /* said once */

    /* A reboot (the event): the balloon at full size while the guest boots is no target. */
    vmb_hv_libvirt_reboot_event(hv, dom);
    g_assert_cmpint(virDomainSetMemoryFlags(dom, 524288, 0), ==, 0);
    for (guint i = 0; i < 3; i++) {
        g_autoptr(VmbSnapshot) s = observe(hv, f, c);
        g_assert_cmpuint(find_domain(s, UUID_A)->balloon.resets, ==, 1);
        g_assert_false(vmb_foreign_targets_judging(f, UUID_A));
    }
    g_assert_false(vmb_foreign_targets_take_change(f, UUID_A));
    vmb_foreign_targets_free(f);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* GTest shows debug messages, and libvirt-glib's event loop logs every timer and watch
     * (without a log domain). */
    g_log_set_handler(NULL, G_LOG_LEVEL_DEBUG, drop_log, NULL);
    g_log_set_writer_func(capture_warnings, NULL, NULL);
    g_test_add_func("/libvirt/snapshot", test_snapshot);
    g_test_add_func("/libvirt/topology-default", test_topology_default);
    g_test_add_func("/libvirt/pin", test_pin);
    g_test_add_func("/libvirt/pin-errors", test_pin_errors);
    g_test_add_func("/libvirt/pin-set", test_pin_set);
    g_test_add_func("/libvirt/calls-without-events", test_calls_without_events);
    g_test_add_func("/libvirt/calls-with-events", test_calls_with_events);
    g_test_add_func("/libvirt/memory", test_memory);
    g_test_add_func("/libvirt/memory-transient", test_memory_transient);
    g_test_add_func("/libvirt/foreign-target", test_foreign_target);
    g_test_add_func("/libvirt/stats-period", test_stats_period);
    g_test_add_func("/libvirt/events", test_events);
    g_test_add_func("/libvirt/reconnect", test_reconnect);
    g_test_add_func("/libvirt/open-fails", test_open_fails);
    g_test_add_func("/libvirt/metadata", test_metadata);
    g_test_add_func("/libvirt/definition", test_definition);
    g_test_add_func("/libvirt/set-policy", test_set_policy);
    g_test_add_func("/libvirt/migrating", test_migrating);
    return g_test_run();
}
