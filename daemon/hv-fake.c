/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
#include "hv-fake.h"

#include "domain-meta.h"

#include <math.h>
#include <string.h>

#define TICK_S             0.1
#define GUEST_RESERVED_MIB 16.0       /* what a guest cannot give back beyond its use */
#define GUEST_KERNEL_MIB   8.0        /* actual minus guest MemTotal (kernel reservations) */
#define CACHE_FILL_MIB_S   8.0        /* how fast free guest memory turns into page cache */
#define OOM_RECOVERY_S     2.0        /* the killed workload restarts after this ... */
#define OOM_RAMP_MIB_S     50.0       /* ... and allocates its memory again at this pace */
#define WALL_ORIGIN_S      1700000000 /* simulated epoch for manual clocks */
#define SWAP_TOUCH_PER_S   0.05       /* share of its swapped pages a guest touches a second */
#define PAGE_KIB           4.0
#define PLUG_MIB_S         512.0 /* virtio-mem plugs quickly ... */
#define UNPLUG_MIB_S       32.0  /* ... and unplugs slowly, only memory the guest has free */

typedef struct {
    VmbScenarioDomain *def;
    gboolean running;
    gint *pins;
    gint *set; /* per vCPU: index in Fake.sets of its set pin, -1 for one pCPU or floating */
    guint64 *time_ns, *wait_ns;
    double *demand; /* per vCPU at the current step */
    double actual_mib, target_mib;
    double shown_actual_mib, shown_until; /* actual the snapshot shows until then (a lag) */
    double resident_mib; /* host memory it holds: actual, or what it touched when lazy */
    guint stats_period;  /* 0 = guest statistics off */
    double last_stats_t;
    double stats_usable_mib, stats_unused_mib, stats_available_mib; /* as of last_stats_t */
    gboolean have_stats;
    double cache_mib; /* guest page cache: reclaimable, part of usable, not of unused */
    double oom_until; /* last OOM kill: nothing in use until then, then a ramp back */
    guint oom_kills, autodeflates;
    char *metadata; /* the live vmbalance:policy element (the scenario's, then as set) */
    VmbDomainPolicy policy;
    gboolean policy_refused;
    guint hands_off;
    gint mem_node;      /* NUMA node of its memory (topology index), -1 without a topology */
    double swapped_mib; /* guest memory in swap */
    double swap_in_kib, major_faults;             /* cumulative */
    double stats_swap_in_kib, stats_major_faults; /* as of last_stats_t */
    double vmem_requested_mib, vmem_plugged_mib;  /* its virtio-mem device */
    double requested_mib;     /* the last target requested (what libvirt reports) */
    double balloon_pages_mib; /* with virtio-mem, QEMU keeps the balloon's size, not its target:
                                 (memory then - target), set by each request */
    char *emulator_cpus;      /* its emulator/IOThread pin ("0-1"), NULL = all CPUs (boot) */
    guint hk_pins;            /* housekeeping pin requests it got */
    VmbCpuSet emu_set;        /* ... as a set; emu_n = 0: floating */
    guint emu_n;
    guint64 other_ns; /* cumulative time its emulator threads ran (in cpu.time) */
} FakeDomain;

typedef struct {
    VmbScenario *sc;
    gboolean manual;
    gint64 origin_us;
    gint64 wall_origin_s;
    double now;
    guint64 *busy_ns;
    guint64 *bound_ns; /* part of busy_ns: the scenario's per-pCPU background */
    double *last_load;
    FakeDomain *doms;
    GPtrArray *sets; /* VmbCpuSet*: every set a vCPU was pinned to, each once */
    VmbFakeCounters counters;
    guint64 reserve_kib;
    gboolean any_emulator; /* a domain has emulator load: the CPU step looks for pins */
} Fake;

static Fake *
fake_of(VmbHypervisor *hv)
{
    return hv->priv;
}

/* splitmix64: noise as a pure function of (seed, domain, vCPU, second), so results do not
 * depend on how often the simulation is sampled. */
static guint64
mix(guint64 x)
{
    x += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static double
noise(Fake *f, guint dom, guint vcpu, double t, double amplitude)
{
    if (amplitude <= 0)
        return 0;
    guint64 h = mix(f->sc->seed ^ mix(dom * 1000003ULL + vcpu) ^ mix((guint64) floor(t)));
    double u = (double) (h >> 11) / (double) (G_GUINT64_CONSTANT(1) << 53); /* [0,1) */
    return (2 * u - 1) * amplitude;
}

/* Max-min fair share of @capacity among @n demands (in place into @alloc). */
static void
water_fill(const double *demand, double *alloc, guint n, double capacity)
{
    double total = 0;
    for (guint i = 0; i < n; i++)
        total += demand[i];
    if (total <= capacity) {
        memcpy(alloc, demand, n * sizeof(double));
        return;
    }
    g_autofree gboolean *done = g_new0(gboolean, n);
    guint left = n;
    double cap = capacity;
    while (left > 0) {
        double share = cap / left;
        gboolean progress = FALSE;
        for (guint i = 0; i < n; i++) {
            if (!done[i] && demand[i] <= share) {
                alloc[i] = demand[i];
                cap -= demand[i];
                done[i] = TRUE;
                left--;
                progress = TRUE;
            }
        }
        if (!progress) {
            for (guint i = 0; i < n; i++) {
                if (!done[i])
                    alloc[i] = share;
            }
            break;
        }
    }
}

static gboolean
is_down(Fake *f)
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

static void
domain_boot(Fake *f, FakeDomain *d)
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

static double
host_used_mib(Fake *f)
{
    double used = vmb_series_at(&f->sc->host_used_mib, f->now);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        if (f->doms[i].running)
            used += f->doms[i].resident_mib;
    }
    return used;
}

/* A vCPU's id in the CPU step: its domain's index and its number in one integer. */
#define VCPU_ID(dom, v) (((guint64) (dom) << 32) | (v))
#define VCPU_DOM(id)    ((guint) ((id) >> 32))
#define VCPU_NUM(id)    ((guint) ((id) &0xffffffff))
#define NO_VCPU         G_MAXUINT64 /* a pCPU's background load */
#define EMU_NUM         G_MAXUINT32 /* VCPU_ID(dom, EMU_NUM): the domain's emulator threads */

/* Demands that share one capacity max-min fairly, and what each gets. */
typedef struct {
    GArray *dem; /* double */
    GArray *who; /* guint64: VCPU_ID or NO_VCPU */
    GArray *got; /* double */
} Share;

static void
share_clear(Share *sh)
{
    g_clear_pointer(&sh->dem, g_array_unref);
    g_clear_pointer(&sh->who, g_array_unref);
    g_clear_pointer(&sh->got, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Share, share_clear)

static void
share_reset(Share *sh)
{
    g_array_set_size(sh->dem, 0);
    g_array_set_size(sh->who, 0);
}

static void
share_add(Share *sh, double demand, guint64 id)
{
    g_array_append_val(sh->dem, demand);
    g_array_append_val(sh->who, id);
}

static void
share_fill(Share *sh, double capacity)
{
    g_array_set_size(sh->got, sh->dem->len);
    water_fill((double *) sh->dem->data, (double *) sh->got->data, sh->dem->len, capacity);
}

/* Accounts @a percent of a pCPU over @dt to vCPU @id as run time, the rest of its @demand
 * as wait time. */
static void
run_vcpu(Fake *f, guint64 id, double demand, double a, double dt)
{
    FakeDomain *d = &f->doms[VCPU_DOM(id)];
    guint v = VCPU_NUM(id);
    d->time_ns[v] += (guint64) (a / 100.0 * dt * 1e9);
    d->wait_ns[v] += (guint64) ((demand - a) / 100.0 * dt * 1e9);
}

/* Accounts what vCPU or emulator threads @id ran (see run_vcpu). */
static void
run_item(Fake *f, guint64 id, double demand, double a, double dt)
{
    if (VCPU_NUM(id) == EMU_NUM)
        f->doms[VCPU_DOM(id)].other_ns += (guint64) (a / 100.0 * dt * 1e9);
    else
        run_vcpu(f, id, demand, a, dt);
}

/* The emulator threads pinned to pCPU @p compete there with its vCPUs, an even share each. */
static void
add_pinned_emulators(Fake *f, Share *sh, guint p)
{
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (d->running && d->def->emulator > 0 && d->emu_n && vmb_cpuset_has(&d->emu_set, p))
            share_add(sh, d->def->emulator / d->emu_n, VCPU_ID(i, EMU_NUM));
    }
}

/* Each running vCPU's demand at @t (its load series plus noise), and the pinned ones bucketed
 * by pCPU (counting sort): those of pCPU p are bucket[first[p] .. first[p + 1]). */
static guint64 *
draw_demands(Fake *f, double t, guint *first)
{
    guint P = f->sc->ncpus;
    guint ndom = f->sc->domains->len;
    for (guint i = 0; i < ndom; i++) {
        FakeDomain *d = &f->doms[i];
        for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
            double x = vmb_series_at(&d->def->load[v], t) + noise(f, i, v, t, d->def->noise);
            d->demand[v] = CLAMP(x, 0, 100);
            if (d->pins[v] >= 0)
                first[d->pins[v] + 1]++;
        }
    }
    for (guint p = 0; p < P; p++)
        first[p + 1] += first[p];
    guint64 *bucket = g_new0(guint64, first[P] + 1);
    g_autofree guint *fill = g_memdup2(first, sizeof(guint) * P);
    for (guint i = 0; i < ndom; i++) {
        FakeDomain *d = &f->doms[i];
        for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
            if (d->pins[v] >= 0)
                bucket[fill[d->pins[v]]++] = VCPU_ID(i, v);
        }
    }
    return bucket;
}

/* Per pCPU: its background load and the vCPUs pinned to it share 100 %. Adds what runs to
 * busy[p], leaves what is left in residual[p] and returns the sum of the residuals. */
static double
run_pinned(Fake *f, double t, double dt, Share *sh, double *busy, double *residual)
{
    guint P = f->sc->ncpus;
    g_autofree guint *first = g_new0(guint, P + 1);
    g_autofree guint64 *bucket = draw_demands(f, t, first);
    double residual_total = 0;
    for (guint p = 0; p < P; p++) {
        share_reset(sh);
        share_add(sh, vmb_series_at(&f->sc->background[p], t), NO_VCPU);
        if (f->any_emulator)
            add_pinned_emulators(f, sh, p);
        for (guint k = first[p]; k < first[p + 1]; k++)
            share_add(sh, f->doms[VCPU_DOM(bucket[k])].demand[VCPU_NUM(bucket[k])], bucket[k]);
        share_fill(sh, 100.0);
        for (guint k = 0; k < sh->dem->len; k++) {
            double a = g_array_index(sh->got, double, k);
            busy[p] += a;
            guint64 id = g_array_index(sh->who, guint64, k);
            if (id != NO_VCPU)
                run_item(f, id, g_array_index(sh->dem, double, k), a, dt);
            else /* reported as bound time, like interrupts on a real host */
                f->bound_ns[p] += (guint64) (a / 100.0 * dt * 1e9);
        }
        residual[p] = MAX(0, 100.0 - busy[p]);
        residual_total += residual[p];
    }
    return residual_total;
}

/* vCPUs pinned to a set share what the set's pCPUs have left (none more than one pCPU), like
 * floating ones over the host; what they use is taken from the set's pCPUs in proportion to
 * what each had left. Returns the new sum of the residuals. */
static double
run_sets(Fake *f, double dt, Share *sh, double *residual, double *busy)
{
    guint P = f->sc->ncpus;
    for (guint g = 0; g < f->sets->len; g++) {
        const VmbCpuSet *set = g_ptr_array_index(f->sets, g);
        share_reset(sh);
        for (guint i = 0; i < f->sc->domains->len; i++) {
            FakeDomain *d = &f->doms[i];
            for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
                if (d->pins[v] < 0 && d->set[v] == (gint) g)
                    share_add(sh, d->demand[v], VCPU_ID(i, v));
            }
        }
        if (!sh->dem->len)
            continue;
        double left = 0, used = 0;
        for (guint p = 0; p < P; p++)
            left += vmb_cpuset_has(set, p) ? residual[p] : 0;
        share_fill(sh, left);
        for (guint k = 0; k < sh->dem->len; k++) {
            double a = MIN(g_array_index(sh->got, double, k), 100.0);
            used += a;
            run_vcpu(f, g_array_index(sh->who, guint64, k), g_array_index(sh->dem, double, k), a,
                     dt);
        }
        for (guint p = 0; p < P && left > 0; p++) {
            if (!vmb_cpuset_has(set, p))
                continue;
            double got = used * residual[p] / left;
            busy[p] += got;
            residual[p] = MAX(0, residual[p] - got);
        }
    }
    double total = 0;
    for (guint p = 0; p < P; p++)
        total += residual[p];
    return total;
}

/* Floating vCPUs share the leftover capacity of all pCPUs (none gets more than one pCPU);
 * what they use is spread over the pCPUs in proportion to what each had left. */
static void
run_floating(Fake *f, double dt, Share *sh, const double *residual, double residual_total,
             double *busy)
{
    share_reset(sh);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
            if (d->pins[v] < 0 && d->set[v] < 0)
                share_add(sh, d->demand[v], VCPU_ID(i, v));
        }
        if (d->running && d->def->emulator > 0 && !d->emu_n)
            share_add(sh, d->def->emulator, VCPU_ID(i, EMU_NUM));
    }
    if (!sh->dem->len)
        return;
    share_fill(sh, residual_total);
    double used = 0;
    for (guint k = 0; k < sh->dem->len; k++) {
        double a = MIN(g_array_index(sh->got, double, k), 100.0);
        used += a;
        run_item(f, g_array_index(sh->who, guint64, k), g_array_index(sh->dem, double, k), a, dt);
    }
    for (guint p = 0; p < f->sc->ncpus && residual_total > 0; p++)
        busy[p] += used * residual[p] / residual_total;
}

/* Niced host work floats and yields: it takes what the vCPUs and the background left, on
 * every pCPU in proportion to what is left there. It is plain busy time, not bound. */
static void
run_niced(Fake *f, double t, double *busy)
{
    double want = vmb_series_at(&f->sc->niced, t), left = 0;
    for (guint p = 0; p < f->sc->ncpus; p++)
        left += MAX(0, 100.0 - busy[p]);
    if (want <= 0 || left <= 0)
        return;
    double share = MIN(want, left) / left;
    for (guint p = 0; p < f->sc->ncpus; p++) {
        double got = MAX(0, 100.0 - busy[p]) * share;
        busy[p] += got;
    }
}

static void
step_cpu(Fake *f, double t, double dt)
{
    guint P = f->sc->ncpus;
    g_autofree double *busy = g_new0(double, P);
    g_autofree double *residual = g_new0(double, P);
    g_auto(Share) sh = {
        .dem = g_array_new(FALSE, FALSE, sizeof(double)),
        .who = g_array_new(FALSE, FALSE, sizeof(guint64)),
        .got = g_array_new(FALSE, FALSE, sizeof(double)),
    };
    double residual_total = run_pinned(f, t, dt, &sh, busy, residual);
    if (f->sets->len)
        residual_total = run_sets(f, dt, &sh, residual, busy);
    run_floating(f, dt, &sh, residual, residual_total, busy);
    run_niced(f, t, busy);
    for (guint p = 0; p < P; p++) {
        f->busy_ns[p] += (guint64) (busy[p] / 100.0 * dt * 1e9);
        f->last_load[p] = busy[p];
    }
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
static double
guest_used(FakeDomain *d, double t)
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
        double used = guest_used(d, t);
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
    double avail = (double) f->sc->memory_mib - host_used_mib(f);
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
            domain_boot(f, d);
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
        step_cpu(f, mid, dt);
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

static void
sync_clock(VmbHypervisor *hv, gboolean measuring)
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

static gboolean
fake_open(VmbHypervisor *hv, GError **error)
{
    sync_clock(hv, FALSE);
    if (is_down(fake_of(hv))) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED,
                    "simulated host is unreachable");
        return FALSE;
    }
    return TRUE;
}

static void
fake_close(VmbHypervisor *hv)
{
}

static FakeDomain *
find_running(Fake *f, const char *uuid, GError **error)
{
    for (guint i = 0; i < f->sc->domains->len; i++) {
        if (f->doms[i].running && g_ascii_strcasecmp(f->doms[i].def->uuid, uuid) == 0)
            return &f->doms[i];
    }
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "no running domain with UUID %s",
                uuid);
    return NULL;
}

static gboolean
check_up(VmbHypervisor *hv, gboolean measuring, GError **error)
{
    sync_clock(hv, measuring);
    if (is_down(fake_of(hv))) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED,
                    "simulated host stopped answering");
        return FALSE;
    }
    return TRUE;
}

/* One call per snapshot, as the libvirt backend's bulk statistics: the simulated host has no
 * host or per-domain reads to count (pins and balloons come with the snapshot). */
static VmbSnapshot *
fake_snapshot(VmbHypervisor *hv, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_STATS);
    if (!check_up(hv, TRUE, error))
        return NULL;
    Fake *f = fake_of(hv);
    VmbSnapshot *s = vmb_snapshot_new(f->sc->ncpus);
    s->topology = vmb_topology_ref(f->sc->topology);
    s->mono_us = f->origin_us + llround(f->now * 1e6);
    s->wall_s = f->wall_origin_s + (gint64) f->now;
    s->pcpu_busy_ns = g_memdup2(f->busy_ns, sizeof(guint64) * f->sc->ncpus);
    s->pcpu_bound_ns = g_memdup2(f->bound_ns, sizeof(guint64) * f->sc->ncpus);
    s->host_mem_total_kib = f->sc->memory_mib * 1024;
    double avail = (double) f->sc->memory_mib - host_used_mib(f);
    s->host_mem_available_kib = avail > 0 ? (guint64) (avail * 1024) : 0;

    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (!d->running)
            continue;
        VmbDomainStat *ds = vmb_domain_stat_new(d->def->name, d->def->uuid, d->def->nvcpus);
        ds->mem_node = d->mem_node;
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

/* The index of @set in f->sets, added when new. */
static gint
intern_set(Fake *f, const VmbCpuSet *set)
{
    for (guint g = 0; g < f->sets->len; g++) {
        if (vmb_cpuset_equal(g_ptr_array_index(f->sets, g), set))
            return (gint) g;
    }
    g_ptr_array_add(f->sets, g_memdup2(set, sizeof(*set)));
    return (gint) f->sets->len - 1;
}

static gboolean
fake_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus,
              GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_REQUEST);
    if (!check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    FakeDomain *d = find_running(f, uuid, error);
    if (!d)
        return FALSE;
    guint n = vmb_cpuset_count(cpus), pcpu = (guint) vmb_cpuset_first(cpus);
    guint inside = 0;
    for (guint c = 0; c < f->sc->ncpus; c++)
        inside += vmb_cpuset_has(cpus, c);
    if (vcpu >= d->def->nvcpus || inside != n) {
        g_autofree char *text = vmb_cpuset_format(cpus);
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin vCPU %u to pCPUs %s: domain has %u vCPUs, host %u pCPUs", vcpu,
                    text, d->def->nvcpus, f->sc->ncpus);
        return FALSE;
    }
    d->pins[vcpu] = n == 1 ? (gint) pcpu : -1;
    d->set[vcpu] = n == 1 || n == f->sc->ncpus ? -1 : intern_set(f, cpus);
    f->counters.pin_changes++;
    return TRUE;
}

static gboolean
fake_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_REQUEST);
    if (!check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    FakeDomain *d = find_running(f, uuid, error);
    if (!d)
        return FALSE;
    if (!d->def->balloon) {
        /* What libvirt says for a domain without a balloon device. */
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "domain %s has no memory balloon device", d->def->name);
        return FALSE;
    }
    if (kib > d->def->memory_mib * 1024 || kib == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "memory %" G_GUINT64_FORMAT " KiB outside 1..%" G_GUINT64_FORMAT " KiB", kib,
                    d->def->memory_mib * 1024);
        return FALSE;
    }
    d->target_mib = d->requested_mib = kib / 1024.0;
    if (d->def->vmem_mib) {
        double memory_now = (double) (d->def->memory_mib - d->def->vmem_mib) + d->vmem_plugged_mib;
        d->balloon_pages_mib = MAX(0, memory_now - d->target_mib);
    }
    f->counters.memory_changes++;
    return TRUE;
}

/* As the libvirt backend: a target reported that is not the balloon's is dropped. */
static void
fake_forget_target(VmbHypervisor *hv, const char *uuid)
{
    FakeDomain *d = find_running(fake_of(hv), uuid, NULL);
    if (d && fabs(d->requested_mib - d->target_mib) >= 1)
        d->requested_mib = 0;
}

static gboolean
fake_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_REQUEST);
    if (!check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    FakeDomain *d = find_running(f, uuid, error);
    if (!d)
        return FALSE;
    guint64 block = d->def->vmem_block_mib * 1024;
    if (!d->def->vmem_mib || kib > d->def->vmem_mib * 1024 || kib % block) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "domain %s: no virtio-mem device, or %" G_GUINT64_FORMAT
                    " KiB is not whole blocks within its size",
                    d->def->name, kib);
        return FALSE;
    }
    d->vmem_requested_mib = kib / 1024.0;
    f->counters.vmem_changes++;
    return TRUE;
}

static gboolean
fake_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_REQUEST);
    if (!check_up(hv, FALSE, error))
        return FALSE;
    FakeDomain *d = find_running(fake_of(hv), uuid, error);
    if (!d)
        return FALSE;
    if (!d->def->balloon) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "domain %s has no memory balloon device", d->def->name);
        return FALSE;
    }
    d->stats_period = seconds;
    return TRUE;
}

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

/* @cpus (empty: the default, all CPUs) for the emulator threads of @d. */
static void
set_emulator_pin(FakeDomain *d, const VmbCpuSet *cpus)
{
    g_free(d->emulator_cpus);
    d->emulator_cpus = vmb_cpuset_is_empty(cpus) ? NULL : vmb_cpuset_format(cpus);
    d->emu_set = *cpus;
    d->emu_n = vmb_cpuset_count(cpus);
}

static gboolean
fake_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_REQUEST);
    if (!check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    FakeDomain *d = find_running(f, uuid, error);
    if (!d)
        return FALSE;
    guint n = 0;
    for (guint c = 0; c < f->sc->ncpus; c++)
        n += vmb_cpuset_has(cpus, c) ? 1 : 0;
    if (n == 0 || n != vmb_cpuset_count(cpus)) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin emulator threads: the host has pCPUs 0-%u", f->sc->ncpus - 1);
        return FALSE;
    }
    set_emulator_pin(d, cpus);
    d->hk_pins++;
    return TRUE;
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
    set_emulator_pin(d, &set);
    return TRUE;
}

static gboolean
fake_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error)
{
    if (!check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (d->running && g_ascii_strcasecmp(d->def->uuid, uuid) == 0)
            return vmb_hv_fake_set_metadata(hv, d->def->name, xml);
    }
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "no running domain %s", uuid);
    return FALSE;
}

static gboolean
fake_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error)
{
    if (!check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (d->running && g_ascii_strcasecmp(d->def->uuid, uuid) == 0) {
            *xml = g_strdup(d->metadata);
            return TRUE;
        }
    }
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "no running domain %s", uuid);
    return FALSE;
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
            domain_boot(f, d);
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
        double used = guest_used(d, f->now);
        out->used_kib = (guint64) (used * 1024);
        out->oom_kills = d->oom_kills;
        out->autodeflates = d->autodeflates;
        out->emulator_cpus = d->emulator_cpus;
        out->hk_pins = d->hk_pins;
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
