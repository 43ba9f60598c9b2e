/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "snapshot.h"

VmbSnapshot *
vmb_snapshot_new(guint npcpus)
{
    VmbSnapshot *s = g_new0(VmbSnapshot, 1);
    s->npcpus = npcpus;
    s->domains = g_ptr_array_new_with_free_func((GDestroyNotify) vmb_domain_stat_free);
    return s;
}

void
vmb_snapshot_free(VmbSnapshot *s)
{
    if (!s)
        return;
    g_free(s->pcpu_busy_ns);
    g_free(s->pcpu_bound_ns);
    g_ptr_array_unref(s->domains);
    vmb_topology_unref(s->topology);
    g_free(s);
}

VmbDomainStat *
vmb_domain_stat_new(const char *name, const char *uuid, guint nvcpus)
{
    VmbDomainStat *d = g_new0(VmbDomainStat, 1);
    d->name = g_strdup(name);
    d->uuid = g_ascii_strdown(uuid, -1);
    d->nvcpus = nvcpus;
    d->vcpus = g_new0(VmbVcpuStat, nvcpus);
    d->mem_node = -1;
    for (guint i = 0; i < nvcpus; i++)
        d->vcpus[i].pcpu = -1;
    return d;
}

void
vmb_domain_stat_free(VmbDomainStat *d)
{
    if (!d)
        return;
    g_free(d->name);
    g_free(d->uuid);
    g_free(d->vcpus);
    g_free(d->emulator_cpus);
    g_free(d);
}

const VmbDomainStat *
vmb_snapshot_find(const VmbSnapshot *s, const char *uuid)
{
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        if (g_strcmp0(d->uuid, uuid) == 0)
            return d;
    }
    return NULL;
}
