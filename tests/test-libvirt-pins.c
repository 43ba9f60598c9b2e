/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-libvirt: vCPU pins, to one pCPU and to a set, and the refused ones. */
#include <string.h>

#include "hv-libvirt-priv.h"
#include "numa-mark.h"
#include "test-libvirt.h"

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
void
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

void
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

/* The numa-home record round-trips through the test driver's live metadata, and stays out of
 * the persistent definition (a boot from it must not find a record of ours). */
static void
check_numa_mark(VmbHypervisor *hv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(virDomain) dom = lookup(hv, UUID_A);
    g_assert_true(lv_numa_mark_write(lv_priv(hv), dom, 1, &error));
    g_assert_no_error(error);
    VmbDomainMemXml live = {.numatune = VMB_NUMATUNE_STRICT};
    vmb_cpuset_add(&live.numatune_nodes, 1);
    g_assert_true(lv_numa_mark_read(lv_priv(hv), dom, &live));
    vmb_cpuset_clear(&live.numatune_nodes);
    vmb_cpuset_add(&live.numatune_nodes, 0); /* the operator's nodeset since */
    g_assert_false(lv_numa_mark_read(lv_priv(hv), dom, &live));
    g_autofree char *config = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
                                                   VMB_NUMA_MARK_XMLNS, VIR_DOMAIN_AFFECT_CONFIG);
    g_assert_null(config);
    virResetLastError();
}

void
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

    /* A memory move needs the host's NUMA nodes, which the test host does not report (and
     * test:///default's are refused, test_topology_default): only the refusal is testable
     * here. */
    g_autoptr(VmbSnapshot) before = take_snapshot(hv);
    g_assert_false(vmb_hypervisor_set_memory_node(hv, UUID_A, 0, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(find_domain(before, UUID_A)->numatune);
    check_numa_mark(hv);

    /* None of this is a connection problem. */
    g_assert_true(hv->connected);
    g_autoptr(VmbSnapshot) s = take_snapshot(hv);
    g_assert_cmpuint(s->domains->len, ==, 2);
    g_assert_null(vmb_snapshot_find(s, UUID_B));
}
