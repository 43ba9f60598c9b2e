/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a domain's memory lives, for the NUMA step of the placement: its numatune when it
 * binds the memory to one node (read with the live XML on first sight, hv-libvirt-mem.c), else
 * on a local QEMU host the node holding most of its QEMU process's pages
 * (/proc/PID/numa_maps, pid from libvirt's /run/libvirt/qemu/NAME.pid). The kernel may move
 * pages (automatic NUMA balancing), so that is read again every LV_NUMA_REREAD_S seconds:
 * a read walks every mapping of the process, too costly for each cycle. */
#include "host-numa.h"
#include "hv-libvirt-priv.h"
#include "log.h"
#include "numa-maps.h"

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
