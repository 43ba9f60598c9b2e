/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend's housekeeping pins ([cpu] housekeeping_cpus): a domain's QEMU emulator
 * threads (virDomainPinEmulator) and each of its IOThreads (virDomainPinIOThread). Flags 0
 * (current) is live for a running domain, as for vCPU pins. */
#include "hv-libvirt-priv.h"

void
lv_hk_emulator_pinned(DomainCache *c, const char *cpulist)
{
    VmbCpuSet set;
    gboolean all = FALSE;
    g_free(c->emulator_cpus);
    /* Normalised ("0,1" and "0-1" are one pin); unreadable: unknown, never a foreign pin. */
    c->emulator_cpus =
        vmb_cpuset_parse(cpulist, &set, &all, NULL) && !all ? vmb_cpuset_format(&set) : NULL;
}

virDomainPtr
lv_running_domain(LvPriv *p, const char *uuid, GError **error)
{
    g_autoptr(virDomain) dom = lv_request_domain(p, uuid, error);
    if (!dom)
        return NULL;
    if (!lv_domain_check_not_migrating(p, dom, error))
        return NULL;
    /* "current" on a stopped domain would change its persistent definition */
    if (LV_CALL(p, REQUEST, virDomainIsActive(dom)) != 1) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "domain %s is not running",
                    virDomainGetName(dom));
        virResetLastError();
        return NULL;
    }
    return g_steal_pointer(&dom);
}

static gboolean
pin_iothreads(LvPriv *p, virDomainPtr dom, unsigned char *map, int maplen, GError **error)
{
    const char *name = virDomainGetName(dom); /* before: it resets the last error */
    virDomainIOThreadInfoPtr *info = NULL;
    int n = LV_CALL(p, REQUEST, virDomainGetIOThreadInfo(dom, &info, 0));
    if (n < 0) /* a driver without IOThreads: the emulator pin is all there is */
        return lv_soft_failure(p, error, "cannot list the IOThreads of %s", name);
    gboolean ok = TRUE;
    for (int i = 0; i < n && ok; i++) {
        if (LV_CALL(p, REQUEST, virDomainPinIOThread(dom, info[i]->iothread_id, map, maplen, 0)) <
            0) {
            lv_set_error_last(p, error, TRUE, "cannot pin IOThread %u of %s", info[i]->iothread_id,
                              virDomainGetName(dom));
            ok = FALSE;
        }
    }
    for (int i = 0; i < n; i++)
        virDomainIOThreadInfoFree(info[i]);
    g_free(info);
    return ok;
}

gboolean
lv_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus, GError **error)
{
    LvPriv *p = hv->priv;
    int maplen = VIR_CPU_MAPLEN(p->npcpus);
    g_autofree unsigned char *map = g_malloc0(maplen);
    guint n = 0;
    for (guint c = 0; c < p->npcpus; c++) {
        if (vmb_cpuset_has(cpus, c)) {
            VIR_USE_CPU(map, c);
            n++;
        }
    }
    /* The test driver takes CPUs the host does not have: refuse them here. */
    if (n == 0 || n != vmb_cpuset_count(cpus)) {
        g_autofree char *list = vmb_cpuset_format(cpus);
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin emulator threads to CPUs %s: the host has CPUs 0-%u", list,
                    p->npcpus - 1);
        return FALSE;
    }
    g_autoptr(virDomain) dom = lv_running_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    if (LV_CALL(p, REQUEST, virDomainPinEmulator(dom, map, maplen, 0)) < 0) {
        lv_set_error_last(p, error, TRUE, "cannot pin the emulator threads of %s",
                          virDomainGetName(dom));
        return FALSE;
    }
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    g_autofree char *list = vmb_cpuset_format(cpus);
    if (c)
        lv_hk_emulator_pinned(c, list);
    return pin_iothreads(p, dom, map, maplen, error);
}
