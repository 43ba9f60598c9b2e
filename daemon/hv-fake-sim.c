/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated guests over time: boot, memory, balloon, OOM, statistics, ticks, clock. */
#include "hv-fake-priv.h"

#include "domain-meta.h"

#include <math.h>

gboolean
fake_is_down(Fake *f)
{
    for (guint i = 0; i + 1 < f->sc->down->len; i += 2) {
        if (f->now >= g_array_index(f->sc->down, double, i) &&
            f->now < g_array_index(f->sc->down, double, i + 1))
            return TRUE;
    }
    return FALSE;
}

/* What a guest holds in use: its workload, its page cache and what it cannot give back. */
static double
in_use_mib(const FakeDomain *d, double used)
{
    return used + d->cache_mib + GUEST_RESERVED_MIB;
}

/* Where a booting domain's memory lands: its numatune node, else first touch on the node of
 * vCPU 0's pCPU; a floating vCPU 0 runs wherever the scheduler put it, which the simulation
 * draws from the domain's UUID and the time (the same on every run). */
static gint
first_touch_node(Fake *f, const FakeDomain *d)
{
    const VmbTopology *t = f->sc->topology;
    if (!t)
        return -1;
    if (d->def->node >= 0)
        return d->def->node;
    if (d->def->pin[0] >= 0)
        return (gint) t->cpu[d->def->pin[0]].node;
    guint64 h = mix(g_str_hash(d->def->uuid) ^ (guint64) llround(f->now * 1000));
    return (gint) (h % t->nnodes);
}

void
fake_domain_boot(Fake *f, FakeDomain *d)
{
    VmbScenarioDomain *def = d->def;
    d->running = TRUE;
    for (guint v = 0; v < def->nvcpus; v++) {
        d->pins[v] = def->pin[v];
        d->set[v] = -1;
        d->time_ns[v] = d->wait_ns[v] = 0;
    }
    d->actual_mib = (double) def->boot_mib;
    d->target_mib = (double) def->current_mib;
    d->stats_period = 0;
    d->have_stats = FALSE;
    d->cache_mib = 0;
    d->oom_until = -1;
    d->mem_node = first_touch_node(f, d);
    d->numatune_node = d->def->node; /* the live definition starts as the persistent one */
    g_clear_pointer(&d->numa_mark, g_free);
    d->mem_moves = 0;
    g_clear_pointer(&d->emulator_cpus, g_free); /* QEMU starts with the default affinity */
    d->hk_pins = 0;
    d->emu_n = 0;
    d->other_ns = 0;
    d->swapped_mib = d->swap_in_kib = d->major_faults = 0;
    d->vmem_requested_mib = d->vmem_plugged_mib = 0;
    d->balloon_pages_mib = 0;
    d->requested_mib = d->target_mib;
    /* A lazy guest's boot touched its kernel's memory and what its workload uses. */
    d->resident_mib = def->lazy || def->free_page_reporting
                          ? MIN(d->actual_mib, in_use_mib(d, vmb_series_at(&def->used_mib, f->now)))
                          : d->actual_mib;
    /* Read once per appearance, as the libvirt backend does. */
    g_free(d->metadata);
    d->metadata = g_strdup(def->metadata);
    d->policy_refused = !vmb_domain_meta_load(def->name, def->uuid, d->metadata, &d->policy);
    d->hands_off = def->definition ? vmb_domain_def_load(def->name, def->uuid, def->definition) : 0;
}

double
fake_host_used_mib(Fake *f)
{
    double used = vmb_series_at(&f->sc->host_used_mib, f->now);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        if (f->doms[i].running)
            used += f->doms[i].resident_mib;
    }
    return used;
}

/* Are the guest's balloon statistics updating at @t (outside the scenario's stale window)? */
static gboolean
stats_fresh(const VmbScenarioDomain *def, double t)
{
    if (def->stale_after < 0 || t < def->stale_after)
        return TRUE;
    return def->stale_until >= 0 && t >= def->stale_until;
}

/* What the guest uses at @t: the scenario's demand, except after an OOM kill, when the
 * restarted workload builds its memory up again from nothing. */
double
fake_guest_used(FakeDomain *d, double t)
{
    double demand = vmb_series_at(&d->def->used_mib, t);
    if (d->oom_until < 0)
        return demand;
    if (t < d->oom_until)
        return 0;
    double ramp = (t - d->oom_until) * OOM_RAMP_MIB_S;
    if (ramp < demand)
        return ramp;
    d->oom_until = -1; /* caught up: back to the scenario's demand */
    return demand;
}

/* A guest with swap keeps swap_free_mib free by swapping out what its use needs beyond that
 * (up to its swap); what comes back when it has room again, and the swapped pages it touches
 * meanwhile, are swap-ins and major faults. Returns what is swapped out: not resident. */
static double
step_swap(FakeDomain *d, double used, double dt)
{
    const VmbScenarioDomain *def = d->def;
    if (!def->swap_mib)
        return 0;
    double room = d->actual_mib - GUEST_RESERVED_MIB - (double) def->swap_free_mib;
    double want = CLAMP(used - room, 0, (double) def->swap_mib);
    double in_mib = MAX(0, d->swapped_mib - want) + d->swapped_mib * SWAP_TOUCH_PER_S * dt;
    d->swapped_mib = want;
    d->swap_in_kib += in_mib * 1024;
    d->major_faults += in_mib * 1024 / PAGE_KIB;
    return want;
}

/* The virtio-mem device moves toward its requested size: plugging is quick, unplugging slow and
 * limited to memory the guest does not use. Returns the guest's memory now (boot memory plus
 * what is plugged): the balloon's ceiling. Unplugged memory leaves actual. */
static double
step_vmem(FakeDomain *d, double used, double dt)
{
    const VmbScenarioDomain *def = d->def;
    if (!def->vmem_mib)
        return (double) def->memory_mib;
    double base = (double) (def->memory_mib - def->vmem_mib);
    double p = d->vmem_plugged_mib, r = d->vmem_requested_mib;
    if (r > p) {
        p = MIN(r, p + PLUG_MIB_S * dt);
    } else if (r < p) {
        double keep = MAX(0, used + GUEST_RESERVED_MIB - base); /* in use: stays plugged */
        double block = (double) def->vmem_block_mib;
        keep = ceil(keep / block) * block;
        p = MAX(MAX(r, keep), p - UNPLUG_MIB_S * dt);
    }
    if (p != d->vmem_plugged_mib) /* QEMU: the balloon keeps its size, the target moves */
        d->target_mib = MAX(0, base + p - d->balloon_pages_mib);
    d->vmem_plugged_mib = p;
    d->actual_mib = MIN(d->actual_mib, base + p);
    return base + p;
}

static void
step_memory(Fake *f, double t, double dt)
{
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (!d->running)
            continue;
        const VmbScenarioDomain *def = d->def;
        gboolean driver = def->balloon && def->balloon_driver;
        double used = fake_guest_used(d, t);
        double max = step_vmem(d, used, dt);
        double floor_mib = used + GUEST_RESERVED_MIB;
        double move = def->balloon_mib_s * dt;

        /* Without the guest driver the device takes targets but the balloon never moves. */
        double before = d->actual_mib;
        if (driver && d->target_mib < d->actual_mib) { /* inflate: the guest gives what it can */
            d->actual_mib =
                MAX(MAX(d->target_mib, d->actual_mib - move), MIN(d->actual_mib, floor_mib));
            /* The balloon takes free pages, resident or not alike. */
            double in_use = MIN(d->resident_mib, in_use_mib(d, used));
            double free_mib = before - in_use;
            if (def->lazy && free_mib > 0)
                d->resident_mib -=
                    (before - d->actual_mib) * MAX(0, d->resident_mib - in_use) / free_mib;
        } else if (driver && d->target_mib > d->actual_mib)
            d->actual_mib = MIN(MIN(d->target_mib, d->actual_mib + move), max);

        if (driver && def->autodeflate && floor_mib > d->actual_mib && d->actual_mib < max) {
            d->actual_mib = MIN(max, floor_mib);
            d->autodeflates++;
        }
        used -= step_swap(d, used, dt);
        f->counters.swapping_s += d->swapped_mib > 0 ? dt : 0;
        if (used > d->actual_mib) {
            d->oom_kills++;
            f->counters.oom_kills++;
            d->oom_until = t + OOM_RECOVERY_S;
            used = 0;
        }

        /* Page cache takes a share of the spare memory over time and is dropped at once when
         * the workload or the balloon needs the pages. */
        double spare = MAX(0, d->actual_mib - used - GUEST_RESERVED_MIB);
        double cache_target = def->page_cache / 100.0 * spare;
        if (d->cache_mib > cache_target)
            d->cache_mib = cache_target;
        else
            d->cache_mib = MIN(cache_target, d->cache_mib + CACHE_FILL_MIB_S * dt);

        if (def->free_page_reporting) /* freed pages go back: resident is what is in use */
            d->resident_mib = MIN(d->actual_mib, in_use_mib(d, used));
        else if (def->lazy)
            d->resident_mib = MIN(d->actual_mib, MAX(d->resident_mib, in_use_mib(d, used)));
        else
            d->resident_mib = d->actual_mib;

        if (driver && d->stats_period && stats_fresh(def, t) &&
            (!d->have_stats || t - d->last_stats_t >= d->stats_period)) {
            d->have_stats = TRUE;
            d->last_stats_t = t;
            /* MemTotal follows the balloon; MemAvailable counts free memory and cache. */
            d->stats_available_mib = MAX(0, d->actual_mib - GUEST_KERNEL_MIB);
            d->stats_usable_mib = MAX(0, d->stats_available_mib - used);
            d->stats_unused_mib = MAX(0, d->stats_usable_mib - d->cache_mib);
            d->stats_swap_in_kib = d->swap_in_kib;
            d->stats_major_faults = d->major_faults;
        }
    }
    double avail = (double) f->sc->memory_mib - fake_host_used_mib(f);
    guint64 avail_kib = avail > 0 ? (guint64) (avail * 1024) : 0;
    f->counters.min_host_available_kib = MIN(f->counters.min_host_available_kib, avail_kib);
    if (f->reserve_kib && avail_kib < f->reserve_kib)
        f->counters.reserve_violations++;
}

static void
lifecycle(VmbHypervisor *hv, double t)
{
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        gboolean should = t >= d->def->start && (d->def->stop < 0 || t < d->def->stop);
        if (should && !d->running) {
            fake_domain_boot(f, d);
            vmb_hypervisor_emit_domain(hv, VMB_DOMAIN_APPEARED, d->def->name, d->def->uuid);
        } else if (!should && d->running) {
            d->running = FALSE;
            vmb_hypervisor_emit_domain(hv, VMB_DOMAIN_VANISHED, d->def->name, d->def->uuid);
        }
    }
}

static void
advance_to(VmbHypervisor *hv, double target)
{
    Fake *f = fake_of(hv);
    while (f->now < target - 1e-9) {
        double dt = MIN(TICK_S, target - f->now);
        double mid = f->now + dt / 2;
        fake_step_cpu(f, mid, dt);
        step_memory(f, mid, dt);
        f->now += dt;
        if (target - f->now < 1e-9)
            f->now = target; /* no drift from summing ticks */
        lifecycle(hv, f->now);
    }
}

/* On the real clock a request catches the simulation up at most every SYNC_MIN_S: a step
 * costs a pass over every pCPU and vCPU, and a cycle's burst of pin calls (1,024 on 4,096
 * pCPUs) would otherwise pay one each, for slices of a millisecond. A snapshot always catches
 * up: it is the measurement, and two cycles a millisecond apart (RunNow) must see that
 * millisecond, not nothing. */
#define SYNC_MIN_S 0.01

void
fake_sync_clock(VmbHypervisor *hv, gboolean measuring)
{
    Fake *f = fake_of(hv);
    double t = (g_get_monotonic_time() - f->origin_us) / 1e6;
    if (!f->manual && (t - f->now >= SYNC_MIN_S || (measuring && t > f->now)))
        advance_to(hv, t);
}

void
vmb_hv_fake_advance(VmbHypervisor *hv, double seconds)
{
    Fake *f = fake_of(hv);
    advance_to(hv, f->now + seconds);
}

double
vmb_hv_fake_now(VmbHypervisor *hv)
{
    return fake_of(hv)->now;
}
