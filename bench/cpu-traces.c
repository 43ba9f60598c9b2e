/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU traces: random hosts, seed 2's, bursty and huge ones, each a generated host with
 * its load changes (trace-gen.h). */
#include "bench.h"
#include "trace-gen.h"

#include <math.h>
#include <string.h>

/* ---- vCPU traces */

typedef struct {
    Gen *gen;
    CpuTrace *tr;
    BenchRng rng;
} Build;

static CpuTrace *
trace_new(const char *name, const char *title, guint npcpus, double duration)
{
    CpuTrace *t = g_new0(CpuTrace, 1);
    t->name = g_strdup(name);
    t->title = g_strdup(title);
    t->npcpus = npcpus;
    t->duration = duration;
    t->interval = 5;
    t->settle = 60;
    t->changes = g_array_new(FALSE, FALSE, sizeof(double));
    double zero = 0;
    g_array_append_val(t->changes, zero);
    return t;
}

void
bench_cpu_trace_free(CpuTrace *t)
{
    if (!t)
        return;
    g_free(t->name);
    g_free(t->title);
    g_array_unref(t->changes);
    g_free(t->ini);
    g_free(t->ini_floating);
    g_free(t->seed004_ext);
    g_free(t);
}

static void
add_change(CpuTrace *t, double at)
{
    for (guint i = 0; i < t->changes->len; i++) {
        if (fabs(g_array_index(t->changes, double, i) - at) < 1e-9)
            return;
    }
    g_array_append_val(t->changes, at); /* sorted by finish() */
}

static gint
cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Finishes a trace: counts, renders both variants, notes where seed 004 is extended. */
static CpuTrace *
finish(Gen *g, CpuTrace *t)
{
    g_array_sort(t->changes, cmp_double);
    g->memory_mib = 8192 + 1024 * (guint64) g->doms->len;
    t->ndomains = g->doms->len;
    gboolean multi = FALSE, churn = FALSE;
    for (guint i = 0; i < g->doms->len; i++) {
        const GenDom *d = g_ptr_array_index(g->doms, i);
        t->nvcpus += d->nvcpus;
        multi = multi || d->nvcpus > 1;
        churn = churn || d->start > 0 || d->stop >= 0;
    }
    GPtrArray *why = g_ptr_array_new_with_free_func(g_free);
    if (multi)
        g_ptr_array_add(why, g_strdup("multi-vCPU guests"));
    if (t->ndomains > 8)
        g_ptr_array_add(why, g_strdup_printf("%u VMs", t->ndomains));
    if (t->npcpus > 8)
        g_ptr_array_add(why, g_strdup_printf("%u pCPUs", t->npcpus));
    if (churn)
        g_ptr_array_add(why, g_strdup("guests start or stop"));
    if (why->len) {
        g_ptr_array_add(why, NULL);
        t->seed004_ext = g_strjoinv(", ", (char **) why->pdata);
    }
    g_ptr_array_unref(why);
    t->ini = bench_gen_render(g, FALSE);
    t->ini_floating = bench_gen_render(g, TRUE);
    return t;
}

/* Scales the per-vCPU levels of phase @k so the total is @target percent (before noise). */
static void
scale_levels(double **levels, const guint *nv, guint ndom, guint k, double target)
{
    double total = 0;
    for (guint i = 0; i < ndom; i++)
        for (guint v = 0; v < nv[i]; v++)
            total += levels[i][v * 8 + k];
    if (total <= 0)
        return;
    for (guint i = 0; i < ndom; i++)
        for (guint v = 0; v < nv[i]; v++)
            levels[i][v * 8 + k] = MIN(100, levels[i][v * 8 + k] * target / total);
}

/* A general random trace: @ndom domains of 1..@maxv vCPUs, per-vCPU levels uniform in
 * [@lo, @hi] scaled to @util of the host, a fraction @frac of the domains taking new levels at
 * each extra phase, random initial pins. At most 8 phases. */
typedef struct {
    const char *name, *title;
    guint npcpus, ndom, maxv;
    double lo, hi, util, noise, duration;
    guint nphases;
    double phase_len;
    double frac;
    double bg0;        /* background on pCPUs 0 and 1 */
    guint late, early; /* domains starting at the 2nd change / stopping at the 3rd */
    guint64 seed;
} RandomSpec;

static CpuTrace *
random_trace(const RandomSpec *sp)
{
    g_autoptr(Gen) g = bench_gen_new(sp->npcpus, sp->seed);
    CpuTrace *t = trace_new(sp->name, sp->title, sp->npcpus, sp->duration);
    BenchRng rng;
    bench_rng_init(&rng, sp->seed * 7919 + 17);
    guint nphases = CLAMP(sp->nphases, 1, 8);
    double changes[8];
    for (guint k = 0; k < nphases; k++) {
        changes[k] = k * sp->phase_len;
        add_change(t, changes[k]);
    }
    if (sp->bg0 > 0) {
        g->background[0] = sp->bg0;
        if (sp->npcpus > 2)
            g->background[1] = sp->bg0;
    }
    guint ndom = sp->ndom + sp->late;
    g_autofree guint *nv = g_new0(guint, ndom);
    g_autofree double **levels = g_new0(double *, ndom);
    for (guint i = 0; i < ndom; i++) {
        nv[i] = 1 + bench_rng_below(&rng, sp->maxv);
        levels[i] = g_new0(double, 8 * nv[i]);
        gboolean changes_here = FALSE;
        for (guint k = 0; k < nphases; k++) {
            if (k > 0)
                changes_here = bench_rng_uniform(&rng, 0, 1) < sp->frac;
            for (guint v = 0; v < nv[i]; v++) {
                double x = bench_rng_uniform(&rng, sp->lo, sp->hi);
                levels[i][v * 8 + k] = (k == 0 || changes_here) ? x : levels[i][v * 8 + k - 1];
            }
        }
    }
    /* The domains that are there from the start carry the target utilization. */
    for (guint k = 0; k < nphases; k++)
        scale_levels(levels, nv, sp->ndom, k, sp->util * sp->npcpus);
    for (guint i = 0; i < ndom; i++) {
        g_autofree char *name =
            i < sp->ndom ? g_strdup_printf("vm%03u", i) : g_strdup_printf("late%03u", i - sp->ndom);
        GenDom *d = bench_gen_add(g, name, nv[i]);
        d->noise = sp->noise;
        for (guint v = 0; v < nv[i]; v++) {
            double lv[8];
            for (guint k = 0; k < nphases; k++)
                lv[k] = MIN(100, levels[i][v * 8 + k]);
            bench_gen_set_load(d, v, bench_steps_series(changes, lv, nphases));
            if (i < sp->ndom)
                d->pin[v] = (gint) bench_rng_below(&rng, sp->npcpus);
        }
        if (i >= sp->ndom) /* arrives later, floating as libvirt starts it */
            d->start = nphases > 1 ? changes[1] : sp->duration / 2;
        else if (i < sp->early)
            d->stop = nphases > 2 ? changes[2] : sp->duration * 3 / 4;
        if (d->start > 0)
            add_change(t, d->start);
        if (d->stop >= 0)
            add_change(t, d->stop);
        g_free(levels[i]);
    }
    return finish(g, t);
}

/* The seeds' own scenario: 2 pCPUs, two guests at 100 %, two at 30 %, all on pCPU 0. */
static CpuTrace *
seed2_trace(gboolean smoke)
{
    g_autoptr(Gen) g = bench_gen_new(2, 1);
    CpuTrace *t = trace_new("seed-2",
                            "the seeds' test: 2 pCPUs, guests at 100/100/30/30 %, "
                            "all pinned to pCPU 0 (overcommitted: 260 % on 200 %)",
                            2, smoke ? 60 : 300);
    static const double loads[] = {100, 100, 30, 30};
    static const char *const names[] = {"big1", "big2", "small1", "small2"};
    for (guint i = 0; i < 4; i++) {
        GenDom *d = bench_gen_add(g, names[i], 1);
        bench_gen_set_load(d, 0, g_strdup_printf("%.0f", loads[i]));
        d->pin[0] = 0;
    }
    return finish(g, t);
}

/* Bursts: a base level with short spikes (5-10 s) at random times. */
static CpuTrace *
bursty_trace(gboolean smoke)
{
    guint P = smoke ? 4 : 8, ndom = smoke ? 8 : 16;
    double duration = smoke ? 60 : 900;
    g_autoptr(Gen) g = bench_gen_new(P, 41);
    CpuTrace *t = trace_new("bursty-8",
                            "bursty: 16 guests at 10-40 % with 5-10 s spikes of +40-60 points "
                            "every 60-180 s (a balancer should not chase them)",
                            P, duration);
    if (smoke) {
        g_free(t->name);
        t->name = g_strdup("bursty-4");
    }
    BenchRng rng;
    bench_rng_init(&rng, 4141);
    for (guint i = 0; i < ndom; i++) {
        g_autofree char *name = g_strdup_printf("vm%03u", i);
        GenDom *d = bench_gen_add(g, name, 1);
        d->noise = 2;
        d->pin[0] = (gint) bench_rng_below(&rng, P);
        double base = bench_rng_uniform(&rng, 10, 40);
        g_autoptr(GArray) pts = g_array_new(FALSE, FALSE, sizeof(double));
        double p0[2] = {0, base};
        g_array_append_vals(pts, p0, 2);
        for (double at = bench_rng_uniform(&rng, 10, 120); at + 12 < duration;
             at += bench_rng_uniform(&rng, 60, 180)) {
            double len = bench_rng_uniform(&rng, 5, 10);
            double peak = MIN(100, base + bench_rng_uniform(&rng, 40, 60));
            double b[8] = {at, base, at, peak, at + len, peak, at + len, base};
            g_array_append_vals(pts, b, 8);
        }
        bench_gen_set_load(d, 0, bench_points_series((double *) pts->data, pts->len / 2));
    }
    return finish(g, t);
}

/* Few huge multi-vCPU guests, each packed two vCPUs per pCPU, two of them going quiet. */
static CpuTrace *
huge_trace(gboolean smoke)
{
    guint P = smoke ? 16 : 64, width = smoke ? 4 : 16;
    g_autoptr(Gen) g = bench_gen_new(P, 77);
    CpuTrace *t = trace_new(
        "huge-64",
        "few huge guests: 4 x 16 vCPUs at 60-95 % packed two per pCPU, 8 x 2 vCPUs at 20-50 %; "
        "at 300 s two huge guests drop to 15-30 %",
        P, smoke ? 90 : 600);
    if (smoke) {
        g_free(t->name);
        t->name = g_strdup("huge-16");
    }
    double change = smoke ? 45 : 300;
    add_change(t, change);
    double changes[2] = {0, change};
    BenchRng rng;
    bench_rng_init(&rng, 7777);
    for (guint i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("huge%u", i);
        GenDom *d = bench_gen_add(g, name, width);
        d->noise = 3;
        for (guint v = 0; v < width; v++) {
            double lv[2];
            lv[0] = bench_rng_uniform(&rng, 60, 95);
            lv[1] = i < 2 ? bench_rng_uniform(&rng, 15, 30) : lv[0];
            bench_gen_set_load(d, v, bench_steps_series(changes, lv, 2));
            d->pin[v] = (gint) ((i * width / 2 + v / 2) % P);
        }
    }
    for (guint i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("small%u", i);
        GenDom *d = bench_gen_add(g, name, 2);
        d->noise = 3;
        for (guint v = 0; v < 2; v++) {
            bench_gen_set_load(d, v, g_strdup_printf("%.1f", bench_rng_uniform(&rng, 20, 50)));
            d->pin[v] = (gint) bench_rng_below(&rng, P);
        }
    }
    return finish(g, t);
}

/* Steady loads on 8 pCPUs, random initial pins. */
static CpuTrace *
steady_trace(gboolean smoke)
{
    RandomSpec steady = {
        .name = smoke ? "steady-4" : "steady-8",
        .title = "steady: 14 guests of 1-2 vCPUs, 70 % of the host, noise +/-3, host load 10 % "
                 "on pCPUs 0-1, random initial pins",
        .npcpus = smoke ? 4 : 8,
        .ndom = smoke ? 7 : 14,
        .maxv = 2,
        .lo = 10,
        .hi = 60,
        .util = 70,
        .noise = 3,
        .duration = smoke ? 60 : 600,
        .nphases = 1,
        .bg0 = 10,
        .seed = 11,
    };
    return random_trace(&steady);
}

/* A third of the guests taking new loads every phase, guests starting and stopping. */
static CpuTrace *
phases_trace(gboolean smoke)
{
    RandomSpec phases = {
        .name = smoke ? "phases-4" : "phases-8",
        .title = "phase changes: 16 guests of 1-2 vCPUs at 75 %, a third take new loads every "
                 "300 s, one guest starts at 300 s (floating), two stop at 600 s",
        .npcpus = smoke ? 4 : 8,
        .ndom = smoke ? 8 : 16,
        .maxv = 2,
        .lo = 5,
        .hi = 80,
        .util = 75,
        .noise = 3,
        .duration = smoke ? 90 : 1200,
        .nphases = 4,
        .phase_len = smoke ? 22.5 : 300,
        .frac = 1.0 / 3,
        .bg0 = 10,
        .late = 1,
        .early = 2,
        .seed = 23,
    };
    return random_trace(&phases);
}

/* Loads swinging +/-20 points every second. */
static CpuTrace *
noisy_trace(gboolean smoke)
{
    RandomSpec noisy = {
        .name = smoke ? "noisy-4" : "noisy-8",
        .title = "noisy: 16 guests at 20-50 %, 60 % of the host, noise +/-20 points per second",
        .npcpus = smoke ? 4 : 8,
        .ndom = smoke ? 8 : 16,
        .maxv = 1,
        .lo = 20,
        .hi = 50,
        .util = 60,
        .noise = 20,
        .duration = smoke ? 60 : 600,
        .nphases = 1,
        .seed = 31,
    };
    return random_trace(&noisy);
}

/* Many small single-vCPU guests on 64 pCPUs. */
static CpuTrace *
small_trace(gboolean smoke)
{
    RandomSpec small = {
        .name = smoke ? "small-16" : "small-64",
        .title = "many small guests: 320 single-vCPU guests at 5-25 %, 75 % of the host",
        .npcpus = smoke ? 16 : 64,
        .ndom = smoke ? 80 : 320,
        .maxv = 1,
        .lo = 5,
        .hi = 25,
        .util = 75,
        .noise = 2,
        .duration = smoke ? 60 : 600,
        .nphases = 1,
        .seed = 53,
    };
    return random_trace(&small);
}

/* More vCPUs than pCPUs. */
static CpuTrace *
overcommit_trace(gboolean smoke)
{
    RandomSpec over = {
        .name = smoke ? "overcommit-4" : "overcommit-8",
        .title = "more vCPUs than pCPUs: 24 single-vCPU guests at 20-55 %, 112 % of the host "
                 "(overloaded), a third take new loads at 300 s",
        .npcpus = smoke ? 4 : 8,
        .ndom = smoke ? 12 : 24,
        .maxv = 1,
        .lo = 20,
        .hi = 55,
        .util = 112,
        .noise = 3,
        .duration = smoke ? 60 : 600,
        .nphases = 2,
        .phase_len = smoke ? 30 : 300,
        .frac = 1.0 / 3,
        .seed = 67,
    };
    return random_trace(&over);
}

/* The big host: 800 guests on 256 pCPUs, loads changing, guests starting and stopping. */
static CpuTrace *
scale_trace(gboolean smoke)
{
    RandomSpec scale = {
        .name = smoke ? "scale-32" : "scale-256",
        .title = "big host: 800 guests of 1-4 vCPUs at 70 %, a quarter take new loads at 150 s "
                 "and at 300 s, 20 guests start at 150 s (floating), 20 stop at 300 s",
        .npcpus = smoke ? 32 : 256,
        .ndom = smoke ? 100 : 800,
        .maxv = 4,
        .lo = 2,
        .hi = 16,
        .util = 70,
        .noise = 2,
        .duration = smoke ? 60 : 600,
        .nphases = 3,
        .phase_len = smoke ? 20 : 150,
        .frac = 0.25,
        .late = smoke ? 4 : 20,
        .early = smoke ? 4 : 20,
        .seed = 97,
    };
    return random_trace(&scale);
}

GPtrArray *
bench_cpu_traces(gboolean smoke)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) bench_cpu_trace_free);
    g_ptr_array_add(a, seed2_trace(smoke));
    g_ptr_array_add(a, steady_trace(smoke));
    g_ptr_array_add(a, phases_trace(smoke));
    g_ptr_array_add(a, noisy_trace(smoke));
    g_ptr_array_add(a, bursty_trace(smoke));
    g_ptr_array_add(a, small_trace(smoke));
    g_ptr_array_add(a, huge_trace(smoke));
    g_ptr_array_add(a, overcommit_trace(smoke));
    g_ptr_array_add(a, scale_trace(smoke));
    for (guint i = 0; smoke && i < a->len; i++)
        ((CpuTrace *) g_ptr_array_index(a, i))->settle = 15;
    return a;
}
