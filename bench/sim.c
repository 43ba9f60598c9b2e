/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs one algorithm over one trace on the simulated host and measures it.
 *
 * vCPU quality is judged on what the guests asked for, not on what they got: over each cycle
 * interval a vCPU's demand is its run time plus its wait time (the simulated host accounts
 * both exactly), a pinned vCPU's demand counts on its pCPU, host load on its pCPU, and
 * floating vCPUs' demand spreads over the capacity the pinned ones leave (the host's fluid
 * model). The lower bound of the most loaded pCPU over that interval, for any placement, is
 * max(largest vCPU + smallest host load, total demand / pCPUs, largest host load). The same is
 * computed on the trace's nominal loads (noise-free, averaged over the interval) with the same
 * pins: the quality of the placement itself, apart from noise no static placement follows. */
#include "bench.h"

#include <math.h>
#include <string.h>

#include "config.h"
#include "hv-fake.h"
#include "mem-policy.h"

#define GUEST_KERNEL_MIB 8.0 /* actual - guest MemTotal on the simulated host */

static VmbHypervisor *
open_host(const char *ini, VmbScenario **sc_out)
{
    g_autoptr(GError) error = NULL;
    VmbScenario *sc = vmb_scenario_load_data(ini, &error);
    if (!sc)
        g_error("generated scenario does not load: %s", error->message);
    *sc_out = sc;
    VmbHypervisor *hv = vmb_hv_fake_new_from_scenario(sc, TRUE);
    if (!vmb_hypervisor_ensure_connected(hv, &error))
        g_error("simulated host: %s", error->message);
    return hv;
}

static VmbSnapshot *
snapshot(VmbHypervisor *hv)
{
    g_autoptr(GError) error = NULL;
    VmbSnapshot *s = vmb_hypervisor_snapshot(hv, &error);
    if (!s)
        g_error("simulated host snapshot: %s", error->message);
    return s;
}

static guint64
pin_changes(VmbHypervisor *hv)
{
    VmbFakeCounters c;
    vmb_hv_fake_counters(hv, &c);
    return c.pin_changes;
}

/* ---- what each pCPU carried over an interval */

typedef struct {
    GHashTable *prev; /* uuid -> guint64[nvcpus + 1]: n, then run + wait per vCPU */
    GHashTable *defs; /* uuid -> VmbScenarioDomain* (nominal loads) */
    gint64 mono_us;
} Demand;

typedef struct {
    double max, min, lb;
} Loads;

static void
demand_record(Demand *dm, const VmbSnapshot *s)
{
    g_hash_table_remove_all(dm->prev);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        guint64 *tot = g_new(guint64, d->nvcpus + 1);
        tot[0] = d->nvcpus;
        for (guint v = 0; v < d->nvcpus; v++)
            tot[v + 1] = d->vcpus[v].time_ns + d->vcpus[v].wait_ns;
        g_hash_table_insert(dm->prev, g_strdup(d->uuid), tot);
    }
    dm->mono_us = s->mono_us;
}

/* The pCPU loads of one interval from per-vCPU loads (@x, in snapshot order) and the pins of
 * @s: pinned vCPUs on their pCPU, floating ones over the room the pinned ones leave. */
static Loads
place(const VmbSnapshot *s, const double *bg, const double *x)
{
    guint P = s->npcpus;
    g_autofree double *load = g_memdup2(bg, sizeof(double) * P);
    double total = 0, largest = 0, floating = 0, bg_min = G_MAXDOUBLE, bg_max = 0;
    for (guint c = 0; c < P; c++) {
        total += bg[c];
        bg_min = MIN(bg_min, bg[c]);
        bg_max = MAX(bg_max, bg[c]);
    }
    guint k = 0;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        for (guint v = 0; v < d->nvcpus; v++, k++) {
            total += x[k];
            largest = MAX(largest, x[k]);
            if (d->vcpus[v].pcpu >= 0 && (guint) d->vcpus[v].pcpu < P)
                load[d->vcpus[v].pcpu] += x[k];
            else
                floating += x[k];
        }
    }
    if (floating > 0) {
        double room = 0;
        for (guint c = 0; c < P; c++)
            room += MAX(0, 100 - load[c]);
        for (guint c = 0; c < P; c++) {
            double r = MAX(0, 100 - load[c]);
            if (floating <= room)
                load[c] += floating * r / room;
            else
                load[c] += r + (floating - room) / P;
        }
    }
    Loads l = {0, G_MAXDOUBLE, MAX(MAX(largest + bg_min, total / P), bg_max)};
    for (guint c = 0; c < P; c++) {
        l.max = MAX(l.max, load[c]);
        l.min = MIN(l.min, load[c]);
    }
    return l;
}

#define NOMINAL_SAMPLES 10

/* Over the interval ending at @s: @measured from the demand the host accounted (run + wait),
 * @nominal from the trace's noise-free loads averaged over the interval. */
static void
demand_measure(Demand *dm, const VmbSnapshot *s, const VmbScenario *sc, Loads *measured,
               Loads *nominal)
{
    guint P = s->npcpus;
    double t0 = dm->mono_us / 1e6, t1 = s->mono_us / 1e6;
    double wall_ns = (t1 - t0) * 1e9;
    guint n = 0;
    for (guint i = 0; i < s->domains->len; i++)
        n += ((const VmbDomainStat *) g_ptr_array_index(s->domains, i))->nvcpus;
    g_autofree double *x = g_new0(double, n);
    g_autofree double *y = g_new0(double, n);
    g_autofree double *bg = g_new0(double, P);
    for (guint c = 0; c < P; c++) {
        for (guint j = 0; j < NOMINAL_SAMPLES; j++)
            bg[c] +=
                vmb_series_at(&sc->background[c], t0 + (j + 0.5) * (t1 - t0) / NOMINAL_SAMPLES);
        bg[c] /= NOMINAL_SAMPLES;
    }
    guint k = 0;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const guint64 *prev = g_hash_table_lookup(dm->prev, d->uuid);
        const VmbScenarioDomain *def = g_hash_table_lookup(dm->defs, d->uuid);
        if (prev && prev[0] != d->nvcpus)
            prev = NULL;
        for (guint v = 0; v < d->nvcpus; v++, k++) {
            guint64 now = d->vcpus[v].time_ns + d->vcpus[v].wait_ns;
            guint64 before = prev && prev[v + 1] <= now ? prev[v + 1] : 0;
            x[k] = wall_ns > 0 ? (double) (now - before) / wall_ns * 100 : 0;
            for (guint j = 0; def && j < NOMINAL_SAMPLES; j++)
                y[k] += vmb_series_at(&def->load[v], t0 + (j + 0.5) * (t1 - t0) / NOMINAL_SAMPLES);
            y[k] /= NOMINAL_SAMPLES;
        }
    }
    *measured = place(s, bg, x);
    *nominal = place(s, bg, y);
}

/* Did the running domains change since the last call? @known holds their UUIDs. */
static gboolean
domain_set_changed(GHashTable **known, const VmbSnapshot *s)
{
    gboolean changed = g_hash_table_size(*known) != s->domains->len;
    GHashTable *now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        changed = changed || !g_hash_table_contains(*known, d->uuid);
        g_hash_table_add(now, g_strdup(d->uuid));
    }
    g_hash_table_unref(*known);
    *known = now;
    return changed;
}

/* Phase of an interval [t - interval, t]: the last change at or before its start. */
static guint
phase_of(const CpuTrace *tr, double start)
{
    guint k = 0;
    while (k + 1 < tr->changes->len && g_array_index(tr->changes, double, k + 1) <= start + 1e-9)
        k++;
    return k;
}

static gboolean
is_steady(const CpuTrace *tr, double start)
{
    guint k = phase_of(tr, start);
    return start + 1e-9 >= g_array_index(tr->changes, double, k) + tr->settle;
}

/* ---- per phase: the pins at each change and what they are worth on the phase's loads */

typedef struct {
    const CpuTrace *tr;
    const VmbScenario *sc;
    GHashTable *defs; /* uuid -> VmbScenarioDomain* */
} PhaseCtx;

#define PHASE_SAMPLES 200 /* as the oracle averages a phase's loads */

/* Each vCPU's pin in @s, by domain UUID. */
static GHashTable *
pins_of(const VmbSnapshot *s)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        gint *p = g_new(gint, d->nvcpus + 1);
        p[0] = (gint) d->nvcpus;
        for (guint v = 0; v < d->nvcpus; v++)
            p[v + 1] = d->vcpus[v].pcpu >= 0 && (guint) d->vcpus[v].pcpu < s->npcpus
                           ? d->vcpus[v].pcpu
                           : -1;
        g_hash_table_insert(h, g_strdup(d->uuid), p);
    }
    return h;
}

/* The pins of @s on phase @k's nominal loads averaged over the phase (as the oracle sees
 * them); the host load so averaged into @bg, [npcpus], and each vCPU's load into @load
 * (uuid -> double[n]) unless NULL. */
static Loads
phase_eval(const PhaseCtx *pc, guint k, const VmbSnapshot *s, double *bg, GHashTable *load)
{
    const GArray *ch = pc->tr->changes;
    double from = g_array_index(ch, double, k);
    double to = k + 1 < ch->len ? g_array_index(ch, double, k + 1) : pc->tr->duration;
    double step = (to - from) / PHASE_SAMPLES;
    for (guint c = 0; c < s->npcpus; c++) {
        bg[c] = 0;
        for (guint j = 0; j < PHASE_SAMPLES; j++)
            bg[c] += vmb_series_at(&pc->sc->background[c], from + (j + 0.5) * step);
        bg[c] /= PHASE_SAMPLES;
    }
    g_autoptr(GArray) y = g_array_new(FALSE, TRUE, sizeof(double));
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const VmbScenarioDomain *def = g_hash_table_lookup(pc->defs, d->uuid);
        for (guint v = 0; v < d->nvcpus; v++) {
            double x = 0;
            for (guint j = 0; def && j < PHASE_SAMPLES; j++)
                x += vmb_series_at(&def->load[v], from + (j + 0.5) * step);
            x /= PHASE_SAMPLES;
            g_array_append_val(y, x);
        }
        if (load)
            g_hash_table_insert(load, g_strdup(d->uuid),
                                g_memdup2(&g_array_index(y, double, y->len - d->nvcpus),
                                          sizeof(double) * d->nvcpus));
    }
    return place(s, bg, (const double *) y->data);
}

/* Cycle @cyc (at time @t, snapshot @s taken before it acted) made @moved pin changes. */
static void
phase_note(const PhaseCtx *pc, CpuResult *r, guint cyc, double t, const VmbSnapshot *s,
           guint64 moved, gboolean set_changed)
{
    guint k = phase_of(pc->tr, t);
    CpuPhase *p = &r->phase[k];
    if (!p->start) {
        p->first = cyc;
        p->start = pins_of(s);
        p->bg = g_new0(double, s->npcpus);
        p->load = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        Loads l = phase_eval(pc, k, s, p->bg, p->load);
        p->still_max = l.max;
        p->lb = l.lb;
    } else if (!p->placed && cyc == p->first + 1) {
        g_autofree double *bg = g_new0(double, s->npcpus);
        p->placed = pins_of(s);
        p->placed_max = phase_eval(pc, k, s, bg, NULL).max;
    }
    p->pins += moved;
    /* A cycle sees a change of loads once its interval reaches past it, a change of the
     * running guests at once; the start (phase 0) from the first cycle. */
    double change = g_array_index(pc->tr->changes, double, k);
    if (moved && p->react < 0 && (k == 0 || set_changed || t > change + 1e-9))
        p->react = (gint) (cyc - p->first);
}

static void
phases_clear(CpuResult *r)
{
    for (guint k = 0; r->phase && k < r->phases; k++) {
        g_clear_pointer(&r->phase[k].start, g_hash_table_unref);
        g_clear_pointer(&r->phase[k].placed, g_hash_table_unref);
        g_clear_pointer(&r->phase[k].load, g_hash_table_unref);
        g_free(r->phase[k].bg);
    }
    g_clear_pointer(&r->phase, g_free);
}

/* Unsettled phases, and how many cycles the others took from the change to its last pin
 * change (@last_move: cycle index per phase, -1 none). */
static void
converge(const CpuTrace *tr, const gint *last_move, const gboolean *unsettled, CpuResult *r)
{
    double conv_sum = 0;
    guint conv_n = 0;
    for (guint k = 0; k < r->phases; k++) {
        if (unsettled[k]) {
            r->unsettled++;
            continue;
        }
        /* Cycles after the change until its last pin change; the cycle at the change itself
         * only sees the old loads. */
        double change = g_array_index(tr->changes, double, k);
        guint first = (guint) llround(change / tr->interval);
        guint c = last_move[k] >= 0 ? (guint) last_move[k] - first : 0;
        conv_sum += c;
        conv_n++;
        r->converge_max = MAX(r->converge_max, c);
    }
    r->converge_mean = conv_n ? conv_sum / conv_n : NAN;
}

/* Sets up @r's phases (what phase_note() fills in). */
static void
phases_init(CpuResult *r, const CpuTrace *tr)
{
    r->phases = tr->changes->len;
    r->npcpus = tr->npcpus;
    r->phase = g_new0(CpuPhase, r->phases);
    for (guint k = 0; k < r->phases; k++)
        r->phase[k].react = -1;
}

void
bench_cpu_result_clear(CpuResult *r)
{
    phases_clear(r);
    g_clear_pointer(&r->t, g_array_unref);
    g_clear_pointer(&r->max_load, g_array_unref);
    g_clear_pointer(&r->lb, g_array_unref);
    g_clear_pointer(&r->cum_pins, g_array_unref);
    g_clear_pointer(&r->nom_max, g_array_unref);
    g_clear_pointer(&r->nom_lb, g_array_unref);
    memset(r, 0, sizeof(*r));
}

/* Sums of one kind of load (measured or nominal) over the cycles, whole trace and steady. */
typedef struct {
    double max, lb, max_all, lb_all, spread;
} LoadSums;

/* One vCPU run: the simulated host, the algorithm on it and what the cycles add up. */
typedef struct {
    const CpuTrace *tr;
    VmbHypervisor *hv;
    VmbScenario *sc; /* owned by hv */
    CpuAlgo *a;
    Demand dm;
    PhaseCtx pc;
    GHashTable *known;   /* UUIDs of the running domains, for domain_set_changed() */
    gint *last_move;     /* [phases] cycle index of the last pin change, -1 = none */
    gboolean *unsettled; /* [phases] moved in the steady part */
    LoadSums measured, nominal;
    guint n_steady;
} CpuRun;

static void
cpu_result_init(CpuResult *r)
{
    memset(r, 0, sizeof(*r));
    r->t = g_array_new(FALSE, FALSE, sizeof(double));
    r->max_load = g_array_new(FALSE, FALSE, sizeof(double));
    r->lb = g_array_new(FALSE, FALSE, sizeof(double));
    r->cum_pins = g_array_new(FALSE, FALSE, sizeof(double));
    r->nom_max = g_array_new(FALSE, FALSE, sizeof(double));
    r->nom_lb = g_array_new(FALSE, FALSE, sizeof(double));
}

/* The host on @tr (with floating vCPUs for no pinning), @algo on it, and @r's phases. */
static void
cpu_run_open(CpuRun *run, const CpuTrace *tr, CpuAlgoId algo, CpuResult *r)
{
    memset(run, 0, sizeof(*run));
    run->tr = tr;
    run->hv = open_host(algo == CPU_NOPIN ? tr->ini_floating : tr->ini, &run->sc);
    run->a = bench_cpu_algo_new(algo, tr, run->sc);
    run->dm = (Demand){g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
                       g_hash_table_new(g_str_hash, g_str_equal), 0};
    for (guint i = 0; i < run->sc->domains->len; i++) {
        VmbScenarioDomain *d = g_ptr_array_index(run->sc->domains, i);
        g_hash_table_insert(run->dm.defs, d->uuid, d);
    }
    guint nphases = tr->changes->len;
    run->pc = (PhaseCtx){tr, run->sc, run->dm.defs};
    phases_init(r, tr);
    run->last_move = g_new(gint, nphases);
    run->unsettled = g_new0(gboolean, nphases);
    for (guint k = 0; k < nphases; k++)
        run->last_move[k] = -1;
    run->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void
cpu_run_close(CpuRun *run)
{
    g_hash_table_unref(run->dm.prev);
    g_hash_table_unref(run->dm.defs);
    bench_cpu_algo_free(run->a);
    g_hash_table_unref(run->known);
    g_free(run->unsettled);
    g_free(run->last_move);
    vmb_hypervisor_free(run->hv);
}

/* Cycle 0, at the start: no interval to measure yet, but its pins count (seed 004 pins
 * everything then). */
static void
cpu_run_start(CpuRun *run, CpuResult *r)
{
    g_autoptr(VmbSnapshot) s0 = snapshot(run->hv);
    domain_set_changed(&run->known, s0);
    demand_record(&run->dm, s0);
    bench_cpu_algo_cycle(run->a, run->hv, s0);
    guint64 base_pins = pin_changes(run->hv);
    r->pins = base_pins;
    if (base_pins)
        run->last_move[0] = 0;
    phase_note(&run->pc, r, 0, 0, s0, base_pins, FALSE);
}

static void
load_sums_add(LoadSums *sum, const Loads *l, gboolean steady)
{
    sum->max_all += l->max;
    sum->lb_all += l->lb;
    if (steady) {
        sum->max += l->max;
        sum->lb += l->lb;
        sum->spread += l->max - l->min;
    }
}

/* Cycle @cyc made @moved pin changes that answer phase @k: its last move so far, and moves in
 * a steady part leave the phase unsettled. */
static void
cpu_run_book_moves(CpuRun *run, CpuResult *r, guint k, guint cyc, guint64 moved, gboolean steady)
{
    if (!moved)
        return;
    run->last_move[k] = (gint) cyc;
    if (steady) {
        r->steady_moves += moved;
        run->unsettled[k] = TRUE;
    }
}

/* Cycle @cyc: measures the interval that ends it, lets the algorithm act, books its moves. */
static void
cpu_run_cycle(CpuRun *run, CpuResult *r, guint cyc)
{
    const CpuTrace *tr = run->tr;
    vmb_hv_fake_advance(run->hv, tr->interval);
    double t = vmb_hv_fake_now(run->hv), start = t - tr->interval;
    g_autoptr(VmbSnapshot) s = snapshot(run->hv);
    Loads m, nom;
    demand_measure(&run->dm, s, run->sc, &m, &nom);
    demand_record(&run->dm, s);
    gboolean steady = is_steady(tr, start);
    load_sums_add(&run->measured, &m, steady);
    load_sums_add(&run->nominal, &nom, steady);
    if (steady)
        run->n_steady++;

    guint64 before = pin_changes(run->hv);
    bench_cpu_algo_cycle(run->a, run->hv, s);
    guint64 moved = pin_changes(run->hv) - before;
    r->pins += moved;
    /* A cycle's moves answer the interval it measured, so they belong to that interval's
     * phase; but when guests started or stopped at its end the cycle already sees the new
     * set, and its moves answer that change. */
    gboolean set_changed = domain_set_changed(&run->known, s);
    guint k = phase_of(tr, set_changed ? t : start);
    phase_note(&run->pc, r, cyc, t, s, moved, set_changed);
    cpu_run_book_moves(run, r, k, cyc, moved, steady && !set_changed);
    double cum = (double) r->pins;
    g_array_append_val(r->t, t);
    g_array_append_val(r->max_load, m.max);
    g_array_append_val(r->lb, m.lb);
    g_array_append_val(r->nom_max, nom.max);
    g_array_append_val(r->nom_lb, nom.lb);
    g_array_append_val(r->cum_pins, cum);
}

/* The ratios and spreads from the sums, and the convergence. */
static void
cpu_run_finish(const CpuRun *run, CpuResult *r)
{
    const LoadSums *m = &run->measured, *nom = &run->nominal;
    guint n = run->n_steady;
    r->ratio_steady = m->lb > 0 ? m->max / m->lb : NAN;
    r->ratio_all = m->lb_all > 0 ? m->max_all / m->lb_all : NAN;
    r->spread_steady = n ? m->spread / n : NAN;
    r->lb_steady = n ? m->lb / n : NAN;
    r->nom_steady = nom->lb > 0 ? nom->max / nom->lb : NAN;
    r->nom_all = nom->lb_all > 0 ? nom->max_all / nom->lb_all : NAN;
    r->nom_spread = n ? nom->spread / n : NAN;
    converge(run->tr, run->last_move, run->unsettled, r);
    r->ran = TRUE;
}

void
bench_run_cpu(const CpuTrace *tr, CpuAlgoId algo, CpuResult *r)
{
    cpu_result_init(r);
    CpuRun run;
    cpu_run_open(&run, tr, algo, r);
    cpu_run_start(&run, r);
    guint ncycles = (guint) floor(tr->duration / tr->interval + 1e-9);
    for (guint cyc = 1; cyc <= ncycles; cyc++)
        cpu_run_cycle(&run, r, cyc);
    cpu_run_finish(&run, r);
    cpu_run_close(&run);
}

/* ---- memory */

guint64
bench_mem_reserve_kib(guint64 host_total_kib)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    VmbMemTunables t = {
        .reserve_kib = (guint64) c->mem_host_reserve_mib * 1024,
        .reserve_percent = c->mem_host_reserve_percent,
    };
    return vmb_mem_reserve(&t, host_total_kib);
}

void
bench_mem_result_clear(MemResult *r)
{
    g_clear_pointer(&r->t, g_array_unref);
    g_clear_pointer(&r->used, g_array_unref);
    g_clear_pointer(&r->actual, g_array_unref);
    memset(r, 0, sizeof(*r));
}

/* One memory run: the simulated host, the algorithm on it, its guests and what the seconds
 * add up. */
typedef struct {
    const MemTrace *tr;
    VmbHypervisor *hv;
    MemAlgo *a;
    guint interval;
    VmbMemTunables band; /* the default watermarks, to judge every algorithm alike */
    guint n;
    char **names;         /* [n + 1] owned by the scenario, which the host owns */
    gboolean *idle;       /* [n] one of the trace's idle guests */
    double *initial;      /* [n] MiB at the start */
    GArray *reclaimed_at; /* doubles: MiB the idle guests gave back, per second */
    guint follow_at;      /* the second of the pending follow-up cycle, 0 = none */
    double held_sum;
    guint held_n;
} MemRun;

static void
mem_result_init(MemResult *r)
{
    memset(r, 0, sizeof(*r));
    r->t = g_array_new(FALSE, FALSE, sizeof(double));
    r->used = g_array_new(FALSE, FALSE, sizeof(double));
    r->actual = g_array_new(FALSE, FALSE, sizeof(double));
}

/* The host on @tr with the daemon's reserve, @algo on it cycling every @interval, and its
 * guests' names, idleness and starting sizes. */
static void
mem_run_open(MemRun *run, const MemTrace *tr, MemAlgoId algo, guint interval)
{
    memset(run, 0, sizeof(*run));
    run->tr = tr;
    run->interval = interval;
    VmbScenario *sc = NULL;
    run->hv = open_host(tr->ini, &sc);
    vmb_hv_fake_set_reserve(run->hv, bench_mem_reserve_kib(sc->memory_mib * 1024));
    run->a = bench_mem_algo_new(algo, interval, bench_vmbalance_config());
    g_autoptr(VmbConfig) defaults = vmb_config_new_defaults();
    run->band = (VmbMemTunables){
        .low_percent = defaults->mem_low_watermark,
        .high_percent = defaults->mem_high_watermark,
        .min_free_kib = (guint64) defaults->mem_min_free_mib * 1024,
    };
    run->n = sc->domains->len;
    run->names = g_new0(char *, run->n + 1);
    run->idle = g_new0(gboolean, run->n);
    run->initial = g_new0(double, run->n);
    for (guint i = 0; i < run->n; i++) {
        const VmbScenarioDomain *d = g_ptr_array_index(sc->domains, i);
        run->names[i] = d->name;
        for (guint k = 0; k < tr->idle->len; k++)
            run->idle[i] = run->idle[i] || g_strcmp0(d->name, tr->idle->pdata[k]) == 0;
        run->initial[i] = (double) d->current_mib;
    }
    run->reclaimed_at = g_array_new(FALSE, FALSE, sizeof(double));
}

static void
mem_run_close(MemRun *run)
{
    bench_mem_algo_free(run->a);
    g_array_unref(run->reclaimed_at);
    g_free(run->initial);
    g_free(run->idle);
    g_free(run->names);
    vmb_hypervisor_free(run->hv);
}

/* Second @t: each running guest's headroom and band, what is held and what the idle ones
 * gave back, and the watched guest's curve. */
static void
mem_run_observe(MemRun *run, MemResult *r, double t)
{
    double held = 0, reclaimed = 0;
    for (guint i = 0; i < run->n; i++) {
        VmbFakeDomainInfo info;
        if (!vmb_hv_fake_domain_info(run->hv, run->names[i], &info) || !info.running)
            continue;
        double actual = (double) info.actual_kib / 1024, used = info.used_kib / 1024.0;
        held += actual;
        r->min_headroom = MIN(r->min_headroom, actual - used);
        guint64 low, high;
        vmb_mem_band(&run->band, info.actual_kib, &low, &high);
        double usable = actual - used - GUEST_KERNEL_MIB;
        if (usable < (double) low / 1024)
            r->below_low_s += 1;
        if (run->idle[i])
            reclaimed += run->initial[i] - actual;
        if (g_strcmp0(run->names[i], run->tr->watch) == 0) {
            g_array_append_val(r->t, t);
            g_array_append_val(r->used, used);
            g_array_append_val(r->actual, actual);
        }
    }
    run->held_sum += held;
    run->held_n++;
    g_array_append_val(run->reclaimed_at, reclaimed);
}

/* A cycle at second @sec if the timer or the pending follow-up is due; the follow-up the
 * algorithm asks for is kept unless one is pending. */
static void
mem_run_maybe_cycle(MemRun *run, MemResult *r, guint sec)
{
    gboolean timer = sec % run->interval == 0;
    gboolean follow = run->follow_at && sec >= run->follow_at;
    if (!timer && !follow)
        return;
    if (follow)
        run->follow_at = 0;
    g_autoptr(VmbSnapshot) s = snapshot(run->hv);
    guint soon = bench_mem_algo_cycle(run->a, run->hv, s);
    r->cycles++;
    if (soon && !run->follow_at)
        run->follow_at = sec + soon;
}

/* Seconds until the idle guests had given back 90 % of what they gave by the end, -1 if
 * nothing. */
static double
reclaim_t90(const GArray *reclaimed_at, double reclaimed)
{
    for (guint k = 0; reclaimed > 1 && k < reclaimed_at->len; k++) {
        if (g_array_index(reclaimed_at, double, k) >= 0.9 * reclaimed)
            return k + 1;
    }
    return -1;
}

/* What the host counted over the run, and the means. */
static void
mem_run_finish(const MemRun *run, MemResult *r)
{
    VmbFakeCounters c;
    vmb_hv_fake_counters(run->hv, &c);
    r->oom_kills = c.oom_kills;
    r->reserve_viol_s = c.reserve_violations * 0.1; /* one per 0.1 s simulation step */
    r->changes = c.memory_changes;
    r->swapping_s = c.swapping_s;
    r->swap_in = c.swap_in_mib;
    r->min_host_avail = c.min_host_available_kib / 1024.0;
    r->mean_held = run->held_n ? run->held_sum / run->held_n : 0;
    const GArray *at = run->reclaimed_at;
    r->reclaimed = at->len ? g_array_index(at, double, at->len - 1) : 0;
    r->reclaim_t90 = reclaim_t90(at, r->reclaimed);
    r->ran = TRUE;
}

void
bench_run_mem(const MemTrace *tr, MemAlgoId algo, guint interval, MemResult *r)
{
    mem_result_init(r);
    MemRun run;
    mem_run_open(&run, tr, algo, interval);
    /* Cycles every @interval from the start, as the daemon's timer, plus the follow-ups the
     * algorithm asks for (one pending at a time). */
    {
        g_autoptr(VmbSnapshot) s0 = snapshot(run.hv);
        run.follow_at = bench_mem_algo_cycle(run.a, run.hv, s0);
    }
    r->min_headroom = G_MAXDOUBLE;
    guint seconds = (guint) floor(tr->duration + 1e-9);
    for (guint sec = 1; sec <= seconds; sec++) {
        vmb_hv_fake_advance(run.hv, 1);
        mem_run_observe(&run, r, vmb_hv_fake_now(run.hv));
        mem_run_maybe_cycle(&run, r, sec);
    }
    mem_run_finish(&run, r);
    mem_run_close(&run);
}
