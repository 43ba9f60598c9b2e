/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-libvirt: snapshots on the test driver (topology, domains, memory, the balloon statistics
 * period) and a balloon target set on the side. */
#include <string.h>

#include "config.h"
#include "foreign-targets.h"
#include "test-libvirt.h"

/* The topology through the backend on test:///default, read once at connect and shared by
 * every snapshot of the connection. That driver is inconsistent: its capabilities list 2 cells
 * of 8 CPUs (16, test-topology.c parses them) while its CPU map, which bounds the host's
 * CPUs, says 8: a topology naming CPUs the host does not have is refused, and the host is
 * treated as flat (logged once) rather than placed on a made-up shape. */
void
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

void
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

void
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
void
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

void
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
void
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
