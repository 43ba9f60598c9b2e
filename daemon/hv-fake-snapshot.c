/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot the simulated host renders of its current state. */
#include "hv-fake-priv.h"

#include <math.h>

#include "domain-meta.h"

/* The simulated numatune is strict on one node: ours while our record names that node. */
static gboolean
numatune_ours(const FakeDomain *d)
{
    VmbCpuSet nodes;
    vmb_cpuset_clear(&nodes);
    vmb_cpuset_add(&nodes, (guint) d->numatune_node);
    return vmb_numa_mark_load(d->def->name, d->def->uuid, d->numa_mark, VMB_NUMATUNE_STRICT,
                              &nodes);
}

/* One call per snapshot, as the libvirt backend's bulk statistics: the simulated host has no
 * host or per-domain reads to count (pins and balloons come with the snapshot). */
VmbSnapshot *
fake_snapshot(VmbHypervisor *hv, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_STATS);
    if (!fake_check_up(hv, TRUE, error))
        return NULL;
    Fake *f = fake_of(hv);
    VmbSnapshot *s = vmb_snapshot_new(f->sc->ncpus);
    s->topology = vmb_topology_ref(f->sc->topology);
    s->mono_us = f->origin_us + llround(f->now * 1e6);
    s->wall_s = f->wall_origin_s + (gint64) f->now;
    s->pcpu_busy_ns = g_memdup2(f->busy_ns, sizeof(guint64) * f->sc->ncpus);
    s->pcpu_bound_ns = g_memdup2(f->bound_ns, sizeof(guint64) * f->sc->ncpus);
    s->host_mem_total_kib = f->sc->memory_mib * 1024;
    double avail = (double) f->sc->memory_mib - fake_host_used_mib(f);
    s->host_mem_available_kib = avail > 0 ? (guint64) (avail * 1024) : 0;

    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (!d->running)
            continue;
        VmbDomainStat *ds = vmb_domain_stat_new(d->def->name, d->def->uuid, d->def->nvcpus);
        ds->mem_node = d->mem_node;
        ds->numatune = d->numatune_node >= 0;
        ds->numatune_ours = ds->numatune && numatune_ours(d);
        ds->emulator_cpus = g_strdup(d->emulator_cpus);
        for (guint v = 0; v < d->def->nvcpus; v++) {
            ds->vcpus[v].time_ns = d->time_ns[v];
            ds->vcpus[v].wait_ns = d->wait_ns[v];
            ds->vcpus[v].has_wait = TRUE;
            ds->vcpus[v].pcpu = d->pins[v];
            if (d->set[v] >= 0)
                ds->vcpus[v].cpus =
                    g_memdup2(g_ptr_array_index(f->sets, d->set[v]), sizeof(VmbCpuSet));
            ds->cpu_time_ns += d->time_ns[v];
        }
        ds->cpu_time_ns += d->other_ns;
        ds->policy = d->policy;
        ds->policy_refused = d->policy_refused;
        ds->hands_off = d->hands_off;
        VmbBalloonStat *b = &ds->balloon;
        b->fields = VMB_BALLOON_CURRENT | VMB_BALLOON_MAXIMUM | VMB_BALLOON_RSS;
        b->current_kib =
            (guint64) ((f->now < d->shown_until ? d->shown_actual_mib : d->actual_mib) * 1024);
        b->rss_kib = (guint64) (d->resident_mib * 1024);
        b->maximum_kib = d->def->memory_mib * 1024;
        b->min_guarantee_kib = d->def->min_guarantee_mib * 1024;
        b->target_kib = (guint64) (d->requested_mib * 1024); /* libvirt's <currentMemory> */
        if (d->def->free_page_reporting)
            b->features |= VMB_BALLOON_FREE_PAGE_REPORTING;
        if (d->def->vmem_mib)
            ds->vmem = (VmbVirtioMemStat){
                .present = TRUE,
                .size_kib = d->def->vmem_mib * 1024,
                .block_kib = d->def->vmem_block_mib * 1024,
                .requested_kib = (guint64) (d->vmem_requested_mib * 1024),
                .plugged_kib = (guint64) (d->vmem_plugged_mib * 1024),
                .base_kib = (d->def->memory_mib - d->def->vmem_mib) * 1024,
            };
        if (d->def->autodeflate)
            b->features |= VMB_BALLOON_DEFLATE_ON_OOM;
        if (d->have_stats) {
            b->fields |= VMB_BALLOON_UNUSED | VMB_BALLOON_AVAILABLE | VMB_BALLOON_USABLE |
                         VMB_BALLOON_LAST_UPDATE;
            b->unused_kib = (guint64) (d->stats_unused_mib * 1024);
            b->available_kib = (guint64) (d->stats_available_mib * 1024);
            b->usable_kib = (guint64) (d->stats_usable_mib * 1024);
            b->last_update = f->wall_origin_s + (gint64) d->last_stats_t;
            if (d->def->swap_mib) {
                b->fields |= VMB_BALLOON_SWAP | VMB_BALLOON_MAJOR_FAULT;
                b->swap_in_kib = (guint64) d->stats_swap_in_kib;
                b->major_faults = (guint64) d->stats_major_faults;
            }
        }
        g_ptr_array_add(s->domains, ds);
    }
    return s;
}
