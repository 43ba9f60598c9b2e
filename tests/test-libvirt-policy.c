/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-libvirt: a domain's own policy (vmbalance:policy metadata, read and written), its
 * persistent definition's hands-off rules, and a domain being migrated. */
#include <string.h>

#include "config.h"
#include "test-libvirt.h"

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
void
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
void
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
void
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
void
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
