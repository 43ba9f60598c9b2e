/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend's requests: pin a vCPU, set a balloon target, set the balloon
 * statistics period. */
#include "hv-libvirt-priv.h"

#include "cpuset.h"

virDomainPtr
lv_request_domain(LvPriv *p, const char *uuid, GError **error)
{
    if (!p->conn) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "not connected");
        return NULL;
    }
    virDomainPtr dom = LV_CALL(p, REQUEST, virDomainLookupByUUIDString(p->conn, uuid));
    if (!dom)
        lv_set_error_last(p, error, TRUE, "no domain %s", uuid);
    return dom;
}

/* After a request failed with "operation invalid": a domain that is not running any more is
 * gone for us, not a refused request. */
static void
set_request_error(LvPriv *p, virDomainPtr dom, const virError *err, GError **error,
                  const char *what)
{
    if (err && err->code == VIR_ERR_OPERATION_INVALID &&
        LV_CALL(p, REQUEST, virDomainIsActive(dom)) == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "%s: domain %s is not running",
                    what, virDomainGetName(dom));
        return;
    }
    lv_set_error_saved(p, error, err, TRUE, "%s", what);
}

gboolean
lv_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus, GError **error)
{
    LvPriv *p = hv->priv;
    /* libvirt's test driver pins to CPUs that do not exist: check it here. */
    guint inside = 0;
    for (guint c = 0; c < p->npcpus && c < VMB_MAX_CPUS; c++)
        inside += vmb_cpuset_has(cpus, c);
    g_autofree char *text = vmb_cpuset_format(cpus);
    if (inside != vmb_cpuset_count(cpus)) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin to CPUs %s: the host has CPUs 0-%u", text, p->npcpus - 1);
        return FALSE;
    }
    g_autoptr(virDomain) dom = lv_request_domain(p, uuid, error);
    if (!dom || !lv_domain_check_not_migrating(p, dom, error))
        return FALSE;

    /* Flags 0 (current) is live for a running domain; AFFECT_LIVE is refused by the test
     * driver. But on a stopped domain "current" is its persistent config, which we must not
     * touch: check that it still runs first. */
    int active = LV_CALL(p, REQUEST, virDomainIsActive(dom));
    if (active != 1) {
        if (active < 0)
            lv_set_error_last(p, error, TRUE, "cannot pin vCPU %u of %s", vcpu, uuid);
        else
            g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN,
                        "cannot pin vCPU %u of %s: the domain is not running", vcpu,
                        virDomainGetName(dom));
        return FALSE;
    }

    int maplen = VIR_CPU_MAPLEN(p->npcpus);
    g_autofree unsigned char *map = g_malloc0(maplen);
    for (guint c = 0; c < p->npcpus; c++) {
        if (vmb_cpuset_has(cpus, c))
            VIR_USE_CPU(map, c);
    }
    if (LV_CALL(p, REQUEST, virDomainPinVcpuFlags(dom, vcpu, map, maplen, 0)) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf("cannot pin vCPU %u of %s to CPUs %s", vcpu,
                                                virDomainGetName(dom), text);
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }

    lv_pins_set(p, uuid, vcpu, cpus); /* at once: not every driver echoes it */
    return TRUE;
}

gboolean
lv_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    LvPriv *p = hv->priv;
    if (kib > G_MAXULONG) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID, "memory size out of range");
        return FALSE;
    }
    g_autoptr(virDomain) dom = lv_request_domain(p, uuid, error);
    if (!dom || !lv_domain_check_not_migrating(p, dom, error))
        return FALSE;
    /* Live only: the test driver accepts AFFECT_LIVE too. Above <memory> libvirt says "invalid
     * argument", which maps to VMB_HV_ERROR_INVALID. */
    if (LV_CALL(p, REQUEST,
                virDomainSetMemoryFlags(dom, (unsigned long) kib, VIR_DOMAIN_AFFECT_LIVE)) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf(
            "cannot set the memory of %s to %" G_GUINT64_FORMAT " KiB", virDomainGetName(dom), kib);
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }
    lv_mem_target_set(p, uuid, kib);
    return TRUE;
}

/* Does the live definition of @dom have a memory balloon? -1 when unknown. */
static int
domain_has_balloon(LvPriv *p, virDomainPtr dom)
{
    g_autofree char *xml = LV_CALL(p, REQUEST, virDomainGetXMLDesc(dom, 0));
    if (!xml) {
        virResetLastError();
        return -1;
    }
    const char *tag = strstr(xml, "<memballoon");
    if (!tag)
        return 0;
    const char *end = strchr(tag, '>');
    g_autofree char *elem = g_strndup(tag, end ? (gsize) (end - tag) : strlen(tag));
    return strstr(elem, "model='none'") || strstr(elem, "model=\"none\"") ? 0 : 1;
}

gboolean
lv_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error)
{
    LvPriv *p = hv->priv;
    if (seconds > G_MAXINT) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID, "statistics period out of range");
        return FALSE;
    }
    g_autoptr(virDomain) dom = lv_request_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    if (LV_CALL(p, REQUEST,
                virDomainSetMemoryStatsPeriod(dom, (int) seconds, VIR_DOMAIN_AFFECT_LIVE)) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf("cannot set the balloon statistics period of %s",
                                                virDomainGetName(dom));
        VmbHvError code = lv_classify_error(p, err, TRUE);
        /* QEMU says "operation invalid", the test driver "internal error": look for the balloon
         * ourselves so "no balloon" is always a refused request. */
        if ((code == VMB_HV_ERROR_INVALID || code == VMB_HV_ERROR_FAILED) &&
            LV_CALL(p, REQUEST, virDomainIsActive(dom)) == 1 && domain_has_balloon(p, dom) == 0) {
            g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                        "%s: the guest has no memory balloon (%s)", what, lv_error_message(err));
            return FALSE;
        }
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }
    return TRUE;
}
