/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host's constructors, its ops table and the test hooks. */
/* A deterministic simulated host. CPU: every pCPU shares its capacity max-min fairly among
 * the vCPUs pinned to it and its background load (like CFS with equal weights); floating
 * vCPUs share what is left on all pCPUs, and vCPUs pinned to a set of pCPUs (cpu.pin_to) what is
 * left on the set, as if the kernel balanced them perfectly inside it. A vCPU that gets less than
 * its demand accrues wait time, as libvirt's vcpu.N.wait reports. Memory: the balloon moves actual
 * toward the target but never below what the guest uses (it reclaims page cache first); a guest
 * whose use exceeds its actual is OOM-killed, or with autodeflate takes pages back from the
 * balloon. The guest's free memory slowly fills with page cache, so unused < usable as on a real
 * guest. The host holds all of a guest's actual, or with `lazy` only the pages the guest
 * touched (as QEMU does): never-used memory costs nothing until used, and an inflating balloon
 * frees resident pages only in proportion to the resident share of the guest's free memory.
 * Statistics are a copy of the guest's figures taken every stats period, and stop
 * (go stale) while the scenario says so; no balloon driver means no statistics and a balloon
 * that never moves. */
#include "hv-fake-priv.h"

#include "domain-meta.h"

#include <string.h>

static void
fake_free(VmbHypervisor *hv)
{
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        g_free(d->pins);
        g_free(d->set);
        g_free(d->time_ns);
        g_free(d->wait_ns);
        g_free(d->demand);
        g_free(d->metadata);
        g_free(d->numa_mark);
        g_free(d->emulator_cpus);
    }
    g_free(f->doms);
    g_ptr_array_unref(f->sets);
    g_free(f->busy_ns);
    g_free(f->bound_ns);
    g_free(f->last_load);
    vmb_scenario_free(f->sc);
    g_free(f);
}

/* The running domain called @name, or NULL: the test hooks address domains by name. */
static FakeDomain *
running_named(Fake *f, const char *name)
{
    for (guint i = 0; i < f->sc->domains->len; i++) {
        if (f->doms[i].running && g_strcmp0(f->doms[i].def->name, name) == 0)
            return &f->doms[i];
    }
    return NULL;
}

gboolean
vmb_hv_fake_set_emulator_pin(VmbHypervisor *hv, const char *name, const char *cpus)
{
    FakeDomain *d = running_named(fake_of(hv), name);
    if (!d)
        return FALSE;
    VmbCpuSet set;
    gboolean all = FALSE;
    if (!cpus || !vmb_cpuset_parse(cpus, &set, &all, NULL) || all)
        vmb_cpuset_clear(&set);
    fake_set_emulator_pin(d, &set);
    return TRUE;
}

static const VmbHypervisorOps fake_ops = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .snapshot = fake_snapshot,
    .pin_vcpu = fake_pin_vcpu,
    .set_memory = fake_set_memory,
    .set_stats_period = fake_set_stats_period,
    .forget_target = fake_forget_target,
    .set_vmem_requested = fake_set_vmem_requested,
    .free = fake_free,
    .set_policy = fake_set_policy,
    .get_policy = fake_get_policy,
    .pin_housekeeping = fake_pin_housekeeping,
    .set_memory_node = fake_set_memory_node,
};

VmbHypervisor *
vmb_hv_fake_new_from_scenario(VmbScenario *sc, gboolean manual_clock)
{
    Fake *f = g_new0(Fake, 1);
    f->sc = sc;
    f->manual = manual_clock;
    f->origin_us = manual_clock ? 0 : g_get_monotonic_time();
    f->wall_origin_s = manual_clock ? WALL_ORIGIN_S : g_get_real_time() / G_USEC_PER_SEC;
    f->busy_ns = g_new0(guint64, sc->ncpus);
    f->bound_ns = g_new0(guint64, sc->ncpus);
    f->last_load = g_new0(double, sc->ncpus);
    f->counters.min_host_available_kib = G_MAXUINT64;
    f->doms = g_new0(FakeDomain, sc->domains->len);
    f->sets = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        d->def = g_ptr_array_index(sc->domains, i);
        d->pins = g_new0(gint, d->def->nvcpus);
        d->set = g_new(gint, d->def->nvcpus);
        for (guint v = 0; v < d->def->nvcpus; v++)
            d->set[v] = -1;
        d->time_ns = g_new0(guint64, d->def->nvcpus);
        d->wait_ns = g_new0(guint64, d->def->nvcpus);
        d->demand = g_new0(double, d->def->nvcpus);
        f->any_emulator |= d->def->emulator > 0;
        if (d->def->start <= 0 && (d->def->stop < 0 || d->def->stop > 0))
            fake_domain_boot(f, d);
    }

    VmbHypervisor *hv = g_new0(VmbHypervisor, 1);
    hv->ops = &fake_ops;
    hv->uri = g_strdup("fake://");
    hv->priv = f;
    return hv;
}

VmbHypervisor *
vmb_hv_fake_new(const char *uri, GError **error)
{
    const char *path = uri + strlen("fake:");
    if (g_str_has_prefix(path, "//"))
        path += 2;
    if (!*path) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "fake URI needs a scenario path: fake:///path/to/scenario.ini");
        return NULL;
    }
    VmbScenario *sc = vmb_scenario_load(path, error);
    if (!sc)
        return NULL;
    VmbHypervisor *hv = vmb_hv_fake_new_from_scenario(sc, FALSE);
    g_free(hv->uri);
    hv->uri = g_strdup(uri);
    return hv;
}

gboolean
vmb_hv_fake_domain_info(VmbHypervisor *hv, const char *name, VmbFakeDomainInfo *out)
{
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (g_strcmp0(d->def->name, name) != 0)
            continue;
        out->running = d->running;
        out->nvcpus = d->def->nvcpus;
        out->pins = d->pins;
        out->actual_kib = (guint64) (d->actual_mib * 1024);
        out->vmem_plugged_kib = (guint64) (d->vmem_plugged_mib * 1024);
        out->target_kib = (guint64) (d->target_mib * 1024);
        double used = fake_guest_used(d, f->now);
        out->used_kib = (guint64) (used * 1024);
        out->oom_kills = d->oom_kills;
        out->autodeflates = d->autodeflates;
        out->emulator_cpus = d->emulator_cpus;
        out->hk_pins = d->hk_pins;
        out->mem_node = d->mem_node;
        out->mem_moves = d->mem_moves;
        out->numa_mark = d->numa_mark;
        return TRUE;
    }
    return FALSE;
}

void
vmb_hv_fake_counters(VmbHypervisor *hv, VmbFakeCounters *out)
{
    Fake *f = fake_of(hv);
    *out = f->counters;
    for (guint i = 0; i < f->sc->domains->len; i++)
        out->swap_in_mib += f->doms[i].swap_in_kib / 1024;
}

void
vmb_hv_fake_set_reserve(VmbHypervisor *hv, guint64 reserve_kib)
{
    fake_of(hv)->reserve_kib = reserve_kib;
}

double
vmb_hv_fake_pcpu_load(VmbHypervisor *hv, guint pcpu)
{
    Fake *f = fake_of(hv);
    return pcpu < f->sc->ncpus ? f->last_load[pcpu] : 0;
}

gboolean
vmb_hv_fake_set_numatune(VmbHypervisor *hv, const char *name, guint node)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = running_named(f, name);
    if (!d || !f->sc->topology || node >= f->sc->topology->nnodes)
        return FALSE;
    d->mem_node = (gint) node;
    d->numatune_node = (gint) node;
    return TRUE;
}

gboolean
vmb_hv_fake_set_numa_mark(VmbHypervisor *hv, const char *name, const char *xml)
{
    FakeDomain *d = running_named(fake_of(hv), name);
    if (!d)
        return FALSE;
    g_free(d->numa_mark);
    d->numa_mark = g_strdup(xml);
    return TRUE;
}

gboolean
vmb_hv_fake_set_metadata(VmbHypervisor *hv, const char *name, const char *xml)
{
    FakeDomain *d = running_named(fake_of(hv), name);
    if (!d)
        return FALSE;
    g_free(d->metadata);
    d->metadata = g_strdup(xml);
    d->policy_refused = !vmb_domain_meta_load(name, d->def->uuid, xml, &d->policy);
    return TRUE;
}

gboolean
vmb_hv_fake_set_target(VmbHypervisor *hv, const char *name, guint64 kib, gboolean unreported)
{
    FakeDomain *d = running_named(fake_of(hv), name);
    if (!d || !d->def->balloon || kib == 0 || kib > d->def->memory_mib * 1024)
        return FALSE;
    d->target_mib = kib / 1024.0;
    if (!unreported)
        d->requested_mib = d->target_mib;
    return TRUE;
}

gboolean
vmb_hv_fake_lag_actual(VmbHypervisor *hv, const char *name, double seconds)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = running_named(f, name);
    if (!d || !d->def->balloon)
        return FALSE;
    d->shown_actual_mib = d->actual_mib;
    d->shown_until = f->now + seconds;
    return TRUE;
}
