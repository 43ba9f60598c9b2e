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
    for (guint i = 0; i < d->nvcpus; i++)
        g_free(d->vcpus[i].cpus);
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

void
vmb_vcpu_stat_set_pin(VmbVcpuStat *v, const VmbCpuSet *affinity, guint n)
{
    g_clear_pointer(&v->cpus, g_free);
    v->pcpu = -1;
    guint count = 0;
    gint first = -1;
    for (guint c = 0; c < n && c < VMB_MAX_CPUS; c++) {
        if (vmb_cpuset_has(affinity, c)) {
            count++;
            first = first < 0 ? (gint) c : first;
        }
    }
    if (count == 1)
        v->pcpu = first;
    else if (count > 1 && count < n) {
        v->cpus = g_new0(VmbCpuSet, 1);
        for (guint c = 0; c < n && c < VMB_MAX_CPUS; c++) {
            if (vmb_cpuset_has(affinity, c))
                vmb_cpuset_add(v->cpus, c);
        }
    }
}

gboolean
vmb_vcpu_stat_pinned_to(const VmbVcpuStat *v, const VmbCpuSet *set)
{
    if (v->cpus)
        return vmb_cpuset_equal(v->cpus, set);
    return v->pcpu >= 0 && vmb_cpuset_count(set) == 1 && vmb_cpuset_has(set, (guint) v->pcpu);
}

char *
vmb_vcpu_stat_pin_text(const VmbVcpuStat *v)
{
    if (v->cpus)
        return vmb_cpuset_format(v->cpus);
    return v->pcpu >= 0 ? g_strdup_printf("%d", v->pcpu) : g_strdup("all");
}
