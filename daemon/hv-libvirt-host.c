/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's side of a snapshot: its CPU count, busy time per pCPU and memory, from /proc on
 * a local host, else from libvirt. */
#include "hv-libvirt-priv.h"

#include "host-proc.h"

#include <string.h>

/* Host CPUs: virNodeGetCPUMap() gives the CPUs present, virNodeGetInfo() the active ones; both
 * agree on a real host. The test driver returns a hard-coded map of 8 CPUs whatever the node
 * XML says, so take the smaller count that either source knows about. */
gboolean
lv_query_npcpus(LvPriv *p, virNodeInfo *info, guint *npcpus, GError **error)
{
    if (LV_CALL(p, NODE, virNodeGetInfo(p->conn, info)) < 0) {
        lv_set_error_last(p, error, FALSE, "cannot get node info");
        return FALSE;
    }
    guint n = info->cpus;
    int present = LV_CALL(p, NODE, virNodeGetCPUMap(p->conn, NULL, NULL, 0));
    if (present > 0)
        n = n ? MIN(n, (guint) present) : (guint) present;
    else if (present < 0 && !lv_soft_failure(p, error, "cannot get the host CPU map"))
        return FALSE;
    if (n == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_FAILED, "libvirt reports no host CPUs");
        return FALSE;
    }
    *npcpus = n;
    return TRUE;
}

/* Busy time per CPU from /proc/stat: one read instead of one RPC per CPU. FALSE when it cannot
 * be used (logged for debugging): libvirt is asked instead. */
static gboolean
read_local_pcpu_busy(VmbSnapshot *s)
{
    g_autoptr(GError) local = NULL;
    g_autofree guint64 *busy = NULL;
    g_autofree guint64 *bound = g_new0(guint64, s->npcpus);
    guint64 tick_ns = 0;
    if (vmb_host_proc_tick_ns(&tick_ns, &local))
        busy = vmb_host_proc_read_stat(VMB_HOST_PROC_STAT_PATH, s->npcpus, tick_ns, bound, &local);
    if (!busy) {
        g_debug("%s; asking libvirt for host CPU statistics", local->message);
        return FALSE;
    }
    s->pcpu_busy_ns = g_steal_pointer(&busy);
    s->pcpu_bound_ns = g_steal_pointer(&bound); /* bound host load */
    return TRUE;
}

/* Busy time per pCPU: every counter but idle and iowait (utilization is a percentage, not a
 * time). Left NULL when the driver has no per-CPU statistics. */
gboolean
lv_query_pcpu_busy(LvPriv *p, VmbSnapshot *s, GError **error)
{
    if (p->local && read_local_pcpu_busy(s))
        return TRUE;
    int nparams = 0;
    if (LV_CALL(p, NODE, virNodeGetCPUStats(p->conn, 0, NULL, &nparams, 0)) < 0)
        return lv_soft_failure(p, error, "cannot get host CPU statistics");
    if (nparams <= 0)
        return TRUE;
    g_autofree guint64 *busy = g_new0(guint64, s->npcpus);
    g_autofree virNodeCPUStats *stats = g_new0(virNodeCPUStats, nparams);
    for (guint cpu = 0; cpu < s->npcpus; cpu++) {
        int n = nparams;
        if (LV_CALL(p, NODE, virNodeGetCPUStats(p->conn, (int) cpu, stats, &n, 0)) < 0)
            return lv_soft_failure(p, error, "cannot get statistics of host CPU %u", cpu);
        for (int i = 0; i < n; i++) {
            const char *f = stats[i].field;
            if (strcmp(f, VIR_NODE_CPU_STATS_IDLE) == 0 ||
                strcmp(f, VIR_NODE_CPU_STATS_IOWAIT) == 0 ||
                strcmp(f, VIR_NODE_CPU_STATS_UTILIZATION) == 0)
                continue;
            busy[cpu] += stats[i].value;
        }
    }
    s->pcpu_busy_ns = g_steal_pointer(&busy);
    return TRUE;
}

/* Host memory from /proc/meminfo. FALSE when it cannot be used (logged for debugging; kernels
 * before 3.14 have no MemAvailable): libvirt is asked instead. */
static gboolean
read_local_memory(VmbSnapshot *s)
{
    g_autoptr(GError) local = NULL;
    VmbHostMemInfo mem;
    if (!vmb_host_proc_read_meminfo(VMB_HOST_PROC_MEMINFO_PATH, &mem, &local)) {
        g_debug("%s; asking libvirt for host memory statistics", local->message);
        return FALSE;
    }
    s->host_mem_total_kib = mem.total_kib;
    s->host_mem_available_kib = mem.available_kib;
    return TRUE;
}

/* Host memory with MemAvailable semantics. virNodeGetInfo() counts only the memory of NUMA node 0
 * on some hosts, so a local daemon reads /proc/meminfo itself; a remote one asks libvirt for
 * free + buffers + cached. The test driver has neither: total from the node XML, available 0
 * (unknown). */
gboolean
lv_query_host_memory(LvPriv *p, const virNodeInfo *info, VmbSnapshot *s, GError **error)
{
    if (p->local && read_local_memory(s))
        return TRUE;

    s->host_mem_total_kib = info->memory;
    s->host_mem_available_kib = 0;
    int n = 0;
    if (LV_CALL(p, NODE,
                virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0)) < 0)
        return lv_soft_failure(p, error, "cannot get host memory statistics");
    if (n <= 0)
        return TRUE;
    g_autofree virNodeMemoryStats *stats = g_new0(virNodeMemoryStats, n);
    if (LV_CALL(p, NODE,
                virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &n, 0)) < 0)
        return lv_soft_failure(p, error, "cannot get host memory statistics");
    guint64 avail = 0;
    for (int i = 0; i < n; i++) {
        const char *f = stats[i].field;
        if (strcmp(f, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
            s->host_mem_total_kib = stats[i].value;
        else if (strcmp(f, VIR_NODE_MEMORY_STATS_FREE) == 0 ||
                 strcmp(f, VIR_NODE_MEMORY_STATS_BUFFERS) == 0 ||
                 strcmp(f, VIR_NODE_MEMORY_STATS_CACHED) == 0)
            avail += stats[i].value;
    }
    s->host_mem_available_kib = avail;
    return TRUE;
}
