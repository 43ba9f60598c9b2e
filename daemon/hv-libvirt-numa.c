/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a domain's memory lives, for the NUMA step of the placement: its numatune when it
 * binds the memory to one node (read with the live XML on first sight, hv-libvirt-mem.c), else
 * on a local QEMU host the node holding most of its QEMU process's pages
 * (/proc/PID/numa_maps, pid from libvirt's /run/libvirt/qemu/NAME.pid). The kernel may move
 * pages (automatic NUMA balancing), so that is read again every LV_NUMA_REREAD_S seconds:
 * a read walks every mapping of the process, too costly for each cycle.
 *
 * A memory move (the CPU task's memory home) sets the live numatune: nodeset the one node, mode
 * strict. libvirt then sets cpuset.mems of the domain's emulator, vCPU and IOThread cgroups
 * (qemuDomainSetNumaParamsLive), and the kernel migrates the pages there (cgroup v2 always; v1
 * with cpuset.memory_migrate, which libvirt sets). A domain with no <numatune> takes it (its
 * mode is unset, so neither the mode nor the nodeset check refuses); one with a numatune of
 * its own is never asked (the operator's choice).
 *
 * A move is recorded in the domain's live metadata (numa-mark.h), live only: the record lives
 * as long as the running instance whose numatune we changed, and survives restarts of
 * vmbalanced and libvirtd, so the numatune is still known as ours after them. */
#include "domain-meta.h"
#include "host-numa.h"
#include "hv-libvirt-priv.h"
#include "log.h"
#include "numa-maps.h"
#include "numa-mark.h"

#define LV_NUMA_REREAD_S 60

void
lv_numa_sync(LvPriv *p, const char *name, DomainCache *c, gboolean first_sight)
{
    if (!p->topology || !p->topology->known || p->topology->nnodes < 2) {
        c->mem_node = -1; /* one node or unknown: nothing to choose */
        return;
    }
    if (c->numatune_node >= 0) {
        c->mem_node = vmb_numa_dense_node(p->topology, c->numatune_node);
        return;
    }
    gint64 now = g_get_monotonic_time();
    if (!p->local || (!first_sight && now - c->numa_read_us < LV_NUMA_REREAD_S * G_USEC_PER_SEC))
        return;
    c->numa_read_us = now;
    g_autoptr(GError) error = NULL;
    c->mem_node = vmb_host_numa_node("/", name, p->topology, &error);
    /* Once for all domains: the cause (hardening, permissions) is the host's, not theirs. */
    if (error)
        vmb_log_once("numa-maps", G_LOG_LEVEL_MESSAGE,
                     "domain %s: cannot tell the NUMA node of its memory (numatune still counts; "
                     "said once for all domains): %s",
                     name, error->message);
}

gboolean
lv_numa_mark_read(LvPriv *p, virDomainPtr dom, const VmbDomainMemXml *x)
{
    const char *name = virDomainGetName(dom);
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    if (virDomainGetUUIDString(dom, uuid) < 0)
        virResetLastError();
    g_autofree char *xml =
        LV_CALL(p, DOMAIN,
                virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VMB_NUMA_MARK_XMLNS,
                                     VIR_DOMAIN_AFFECT_LIVE));
    if (!xml) {
        virErrorPtr err = virGetLastError();
        if (err && err->code != VIR_ERR_NO_DOMAIN_METADATA)
            g_message("domain %s: cannot read its " VMB_NUMA_MARK_PREFIX ":" VMB_NUMA_MARK_ELEMENT
                      " metadata (%s): its numatune counts as the "
                      "operator's",
                      name, lv_error_message(err));
        virResetLastError();
        return FALSE;
    }
    return vmb_numa_mark_load(name, uuid, xml, x->numatune, &x->numatune_nodes);
}

gboolean
lv_numa_mark_write(LvPriv *p, virDomainPtr dom, gint host_node, GError **error)
{
    g_autofree char *xml = vmb_numa_mark_to_xml((guint) host_node);
    if (LV_CALL(p, REQUEST,
                virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, VMB_NUMA_MARK_PREFIX,
                                     VMB_NUMA_MARK_XMLNS, VIR_DOMAIN_AFFECT_LIVE)) < 0) {
        lv_set_error_last(p, error, TRUE, "cannot record the numatune of %s as ours",
                          virDomainGetName(dom));
        return FALSE;
    }
    return TRUE;
}

/* The move is made: a record that fails only costs its recognition after a restart. */
static gboolean
record_move(LvPriv *p, virDomainPtr dom, const char *uuid, gint host_node)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *key = g_strdup_printf("numa-mark-write:%s", uuid);
    if (lv_numa_mark_write(p, dom, host_node, &error)) {
        vmb_log_once_clear(key);
        return TRUE;
    }
    vmb_log_once(key, G_LOG_LEVEL_WARNING,
                 "%s; after a restart vmbalanced takes it for the operator's (said once)",
                 error->message);
    return FALSE;
}

gboolean
lv_set_memory_node(VmbHypervisor *hv, const char *uuid, guint node, GError **error)
{
    LvPriv *p = hv->priv;
    if (!p->topology || !p->topology->known || node >= p->topology->nnodes) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot move memory to node %u: the host's NUMA nodes are not known", node);
        return FALSE;
    }
    gint host_node = p->topology->node_id[node];
    g_autoptr(virDomain) dom = lv_running_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    g_autofree char *nodeset = g_strdup_printf("%d", host_node);
    virTypedParameter params[2] = {0};
    g_strlcpy(params[0].field, VIR_DOMAIN_NUMA_NODESET, VIR_TYPED_PARAM_FIELD_LENGTH);
    params[0].type = VIR_TYPED_PARAM_STRING;
    params[0].value.s = nodeset;
    g_strlcpy(params[1].field, VIR_DOMAIN_NUMA_MODE, VIR_TYPED_PARAM_FIELD_LENGTH);
    params[1].type = VIR_TYPED_PARAM_INT;
    params[1].value.i = VIR_DOMAIN_NUMATUNE_MEM_STRICT;
    if (LV_CALL(p, REQUEST, virDomainSetNumaParameters(dom, params, 2, VIR_DOMAIN_AFFECT_LIVE)) <
        0) {
        lv_set_error_last(p, error, TRUE, "cannot move the memory of %s to node %d",
                          virDomainGetName(dom), host_node);
        return FALSE;
    }
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    gboolean recorded = record_move(p, dom, key, host_node);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c) { /* the live XML says so now: the next snapshot need not read it */
        c->numatune = TRUE;
        c->numatune_ours = recorded;
        c->numatune_node = host_node;
        c->mem_node = (gint) node;
    }
    return TRUE;
}
