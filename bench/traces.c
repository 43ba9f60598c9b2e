/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeded scenario generators. Each trace is scenario text for the simulated host (see
 * daemon/hv-fake-scenario.h), so the benchmark drives exactly what the daemon would see. */
#include "bench.h"

#include <math.h>
#include <string.h>

/* ---- random numbers */

guint64
bench_mix(guint64 x)
{
    x += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

void
bench_rng_init(BenchRng *r, guint64 seed)
{
    r->state = seed;
}

guint64
bench_rng_next(BenchRng *r)
{
    r->state += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    guint64 x = r->state;
    x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

double
bench_rng_uniform(BenchRng *r, double lo, double hi)
{
    double u = (double) (bench_rng_next(r) >> 11) / (double) (G_GUINT64_CONSTANT(1) << 53);
    return lo + u * (hi - lo);
}

guint
bench_rng_below(BenchRng *r, guint n)
{
    return n ? (guint) (bench_rng_next(r) % n) : 0;
}

/* ---- a generated domain, rendered twice (pinned and floating) */

typedef struct {
    char *name;
    guint nvcpus;
    char **load; /* series text per vCPU */
    gint *pin;   /* -1 = floating */
    double noise;
    double start, stop; /* stop < 0: runs to the end */
    /* memory traces only (memory_mib 0 = the scenario default) */
    guint64 memory_mib, current_mib;
    char *used;
    char *extra; /* more scenario lines, verbatim */
} GenDom;

typedef struct {
    guint npcpus;
    guint64 memory_mib;
    char *host_used;    /* series text, NULL = default */
    double *background; /* [npcpus] constant per pCPU */
    guint64 seed;
    GPtrArray *doms; /* GenDom* */
} Gen;

static void
gen_dom_free(GenDom *d)
{
    g_strfreev(d->load);
    g_free(d->pin);
    g_free(d->name);
    g_free(d->used);
    g_free(d->extra);
    g_free(d);
}

static Gen *
gen_new(guint npcpus, guint64 seed)
{
    Gen *g = g_new0(Gen, 1);
    g->npcpus = npcpus;
    g->seed = seed;
    g->background = g_new0(double, npcpus);
    g->doms = g_ptr_array_new_with_free_func((GDestroyNotify) gen_dom_free);
    return g;
}

static void
gen_free(Gen *g)
{
    g_ptr_array_unref(g->doms);
    g_free(g->background);
    g_free(g->host_used);
    g_free(g);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Gen, gen_free)

static GenDom *
gen_add(Gen *g, const char *name, guint nvcpus)
{
    GenDom *d = g_new0(GenDom, 1);
    d->name = g_strdup(name);
    d->nvcpus = nvcpus;
    d->load = g_new0(char *, nvcpus + 1);
    d->pin = g_new0(gint, nvcpus);
    for (guint v = 0; v < nvcpus; v++)
        d->pin[v] = -1;
    d->stop = -1;
    g_ptr_array_add(g->doms, d);
    return d;
}

static void
set_load(GenDom *d, guint v, char *series)
{
    g_free(d->load[v]);
    d->load[v] = series;
}

/* A number as scenario text: at most one decimal, C locale. */
static void
append_num(GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(s, g_ascii_formatd(buf, sizeof(buf), "%.1f", round(v * 10) / 10));
}

/* Piecewise constant: levels[k] from changes[k] to changes[k+1]. */
static char *
steps_series(const double *changes, const double *levels, guint n)
{
    gboolean constant = TRUE;
    for (guint k = 1; k < n; k++)
        constant = constant && fabs(levels[k] - levels[0]) < 0.05;
    GString *s = g_string_new(NULL);
    if (constant) {
        append_num(s, levels[0]);
        return g_string_free(s, FALSE);
    }
    for (guint k = 0; k < n; k++) {
        if (k > 0) {
            append_num(s, changes[k]);
            g_string_append_c(s, ':');
            append_num(s, levels[k - 1]);
            g_string_append_c(s, ' ');
        }
        append_num(s, changes[k]);
        g_string_append_c(s, ':');
        append_num(s, levels[k]);
        if (k + 1 < n)
            g_string_append_c(s, ' ');
    }
    return g_string_free(s, FALSE);
}

/* A series from (time, value) points, as given. */
static char *
points_series(const double *pts, guint npoints)
{
    GString *s = g_string_new(NULL);
    for (guint k = 0; k < npoints; k++) {
        if (k)
            g_string_append_c(s, ' ');
        append_num(s, pts[2 * k]);
        g_string_append_c(s, ':');
        append_num(s, pts[2 * k + 1]);
    }
    return g_string_free(s, FALSE);
}

static char *
render(const Gen *g, gboolean floating)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "[host]\ncpus = %u\nmemory_mib = %" G_GUINT64_FORMAT "\n", g->npcpus,
                           g->memory_mib);
    if (g->host_used)
        g_string_append_printf(s, "host_used_mib = %s\n", g->host_used);
    g_string_append_printf(s, "seed = %" G_GUINT64_FORMAT "\n", g->seed);
    gboolean any_bg = FALSE;
    for (guint p = 0; p < g->npcpus; p++)
        any_bg = any_bg || g->background[p] > 0;
    for (guint p = 0; any_bg && p < g->npcpus; p++) {
        if (g->background[p] > 0) {
            g_string_append_printf(s, "background%u = ", p);
            append_num(s, g->background[p]);
            g_string_append_c(s, '\n');
        }
    }
    for (guint i = 0; i < g->doms->len; i++) {
        const GenDom *d = g_ptr_array_index(g->doms, i);
        g_string_append_printf(s, "[domain %s]\nvcpus = %u\n", d->name, d->nvcpus);
        gboolean same = TRUE;
        for (guint v = 1; v < d->nvcpus; v++)
            same = same && g_strcmp0(d->load[v], d->load[0]) == 0;
        if (same) {
            g_string_append_printf(s, "load = %s\n", d->load[0] ? d->load[0] : "0");
        } else {
            for (guint v = 0; v < d->nvcpus; v++)
                g_string_append_printf(s, "load%u = %s\n", v, d->load[v] ? d->load[v] : "0");
        }
        gboolean pinned = FALSE;
        for (guint v = 0; v < d->nvcpus; v++)
            pinned = pinned || d->pin[v] >= 0;
        if (pinned && !floating) {
            g_string_append(s, "pin = ");
            for (guint v = 0; v < d->nvcpus; v++)
                g_string_append_printf(s, "%s%d", v ? "," : "", d->pin[v]);
            g_string_append_c(s, '\n');
        }
        if (d->noise > 0) {
            g_string_append(s, "noise = ");
            append_num(s, d->noise);
            g_string_append_c(s, '\n');
        }
        if (d->start > 0) {
            g_string_append(s, "start = ");
            append_num(s, d->start);
            g_string_append_c(s, '\n');
        }
        if (d->stop >= 0) {
            g_string_append(s, "stop = ");
            append_num(s, d->stop);
            g_string_append_c(s, '\n');
        }
        if (d->memory_mib)
            g_string_append_printf(s, "memory_mib = %" G_GUINT64_FORMAT "\n", d->memory_mib);
        if (d->current_mib)
            g_string_append_printf(s, "current_mib = %" G_GUINT64_FORMAT "\n", d->current_mib);
        if (d->used)
            g_string_append_printf(s, "used_mib = %s\n", d->used);
        if (d->extra)
            g_string_append(s, d->extra);
    }
    return g_string_free(s, FALSE);
}

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
    t->ini = render(g, FALSE);
    t->ini_floating = render(g, TRUE);
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
    g_autoptr(Gen) g = gen_new(sp->npcpus, sp->seed);
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
        GenDom *d = gen_add(g, name, nv[i]);
        d->noise = sp->noise;
        for (guint v = 0; v < nv[i]; v++) {
            double lv[8];
            for (guint k = 0; k < nphases; k++)
                lv[k] = MIN(100, levels[i][v * 8 + k]);
            set_load(d, v, steps_series(changes, lv, nphases));
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
    g_autoptr(Gen) g = gen_new(2, 1);
    CpuTrace *t = trace_new("seed-2",
                            "the seeds' test: 2 pCPUs, guests at 100/100/30/30 %, "
                            "all pinned to pCPU 0 (overcommitted: 260 % on 200 %)",
                            2, smoke ? 60 : 300);
    static const double loads[] = {100, 100, 30, 30};
    static const char *const names[] = {"big1", "big2", "small1", "small2"};
    for (guint i = 0; i < 4; i++) {
        GenDom *d = gen_add(g, names[i], 1);
        set_load(d, 0, g_strdup_printf("%.0f", loads[i]));
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
    g_autoptr(Gen) g = gen_new(P, 41);
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
        GenDom *d = gen_add(g, name, 1);
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
        set_load(d, 0, points_series((double *) pts->data, pts->len / 2));
    }
    return finish(g, t);
}

/* Few huge multi-vCPU guests, each packed two vCPUs per pCPU, two of them going quiet. */
static CpuTrace *
huge_trace(gboolean smoke)
{
    guint P = smoke ? 16 : 64, width = smoke ? 4 : 16;
    g_autoptr(Gen) g = gen_new(P, 77);
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
        GenDom *d = gen_add(g, name, width);
        d->noise = 3;
        for (guint v = 0; v < width; v++) {
            double lv[2];
            lv[0] = bench_rng_uniform(&rng, 60, 95);
            lv[1] = i < 2 ? bench_rng_uniform(&rng, 15, 30) : lv[0];
            set_load(d, v, steps_series(changes, lv, 2));
            d->pin[v] = (gint) ((i * width / 2 + v / 2) % P);
        }
    }
    for (guint i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("small%u", i);
        GenDom *d = gen_add(g, name, 2);
        d->noise = 3;
        for (guint v = 0; v < 2; v++) {
            set_load(d, v, g_strdup_printf("%.1f", bench_rng_uniform(&rng, 20, 50)));
            d->pin[v] = (gint) bench_rng_below(&rng, P);
        }
    }
    return finish(g, t);
}

GPtrArray *
bench_cpu_traces(gboolean smoke)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) bench_cpu_trace_free);
    g_ptr_array_add(a, seed2_trace(smoke));

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
    g_ptr_array_add(a, random_trace(&steady));

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
    g_ptr_array_add(a, random_trace(&phases));

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
    g_ptr_array_add(a, random_trace(&noisy));
    g_ptr_array_add(a, bursty_trace(smoke));

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
    g_ptr_array_add(a, random_trace(&small));
    g_ptr_array_add(a, huge_trace(smoke));

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
    g_ptr_array_add(a, random_trace(&over));

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
    g_ptr_array_add(a, random_trace(&scale));
    for (guint i = 0; smoke && i < a->len; i++)
        ((CpuTrace *) g_ptr_array_index(a, i))->settle = 15;
    return a;
}

/* ---- memory traces */

void
bench_mem_trace_free(MemTrace *t)
{
    if (!t)
        return;
    g_free(t->name);
    g_free(t->title);
    g_free(t->ini);
    g_ptr_array_unref(t->idle);
    g_free(t->watch);
    g_free(t);
}

static MemTrace *
mem_trace_new(const char *name, const char *title, double duration)
{
    MemTrace *t = g_new0(MemTrace, 1);
    t->name = g_strdup(name);
    t->title = g_strdup(title);
    t->duration = duration;
    t->idle = g_ptr_array_new_with_free_func(g_free);
    return t;
}

static GenDom *
mem_guest(Gen *g, const char *name, guint64 max, guint64 current, char *used)
{
    GenDom *d = gen_add(g, name, 1);
    set_load(d, 0, g_strdup("2"));
    d->memory_mib = max;
    d->current_mib = current;
    d->used = used;
    return d;
}

static MemTrace *
mem_finish(Gen *g, MemTrace *t)
{
    t->nguests = g->doms->len;
    t->host_mib = g->memory_mib;
    t->ini = render(g, FALSE);
    return t;
}

/* Guests whose use grows linearly (5-20 MiB/s) from 200 MiB to 1.6 GiB at random times,
 * beside guests that hold more than they use. */
static MemTrace *
mem_growth(gboolean smoke)
{
    g_autoptr(Gen) g = gen_new(4, 5);
    g->memory_mib = 16384;
    g->host_used = g_strdup("2048");
    double duration = smoke ? 60 : 300;
    MemTrace *t = mem_trace_new("mem-growth",
                                "4 guests grow from 200 MiB to 1.6 GiB at 5-20 MiB/s from "
                                "random times; 4 hold 1 GiB and use 300-500 MiB; 16 GiB host",
                                duration);
    BenchRng rng;
    bench_rng_init(&rng, 505);
    for (guint i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("grow%u", i);
        double start = smoke ? bench_rng_uniform(&rng, 5, 15) : bench_rng_uniform(&rng, 20, 100);
        double rate = bench_rng_uniform(&rng, 5, 20);
        double top = smoke ? 600 : 1600;
        double pts[6] = {0, 200, start, 200, start + (top - 200) / rate, top};
        mem_guest(g, name, 2048, 1024, points_series(pts, 3));
        if (i == 0)
            t->watch = g_strdup(name);
    }
    for (guint i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("hold%u", i);
        mem_guest(g, name, 2048, 1024, g_strdup_printf("%.0f", bench_rng_uniform(&rng, 300, 500)));
        g_ptr_array_add(t->idle, g_strdup(name));
    }
    return mem_finish(g, t);
}

/* Jumps of @lo..@hi MiB that rise within @rise_lo..@rise_hi s, held 20-40 s, then released,
 * twice per guest. */
static MemTrace *
mem_jumps(gboolean smoke, const char *name, const char *title, double lo, double hi, double rise_lo,
          double rise_hi, guint64 seed)
{
    g_autoptr(Gen) g = gen_new(4, seed);
    g->memory_mib = 16384;
    g->host_used = g_strdup("2048");
    double duration = smoke ? 60 : 300;
    MemTrace *t = mem_trace_new(name, title, duration);
    BenchRng rng;
    bench_rng_init(&rng, seed * 101);
    for (guint i = 0; i < 8; i++) {
        g_autofree char *gname = g_strdup_printf("burst%u", i);
        double base = bench_rng_uniform(&rng, 200, 400);
        g_autoptr(GArray) pts = g_array_new(FALSE, FALSE, sizeof(double));
        double p0[2] = {0, base};
        g_array_append_vals(pts, p0, 2);
        double at = smoke ? bench_rng_uniform(&rng, 5, 15) : bench_rng_uniform(&rng, 20, 80);
        for (guint b = 0; b < 2 && at < duration - 10; b++) {
            double rise = bench_rng_uniform(&rng, rise_lo, rise_hi);
            double hold = bench_rng_uniform(&rng, 20, 40);
            double peak = base + bench_rng_uniform(&rng, lo, hi);
            double q[8] = {at,  base, at + rise, peak, at + rise + hold, peak, at + rise + hold + 2,
                           base};
            g_array_append_vals(pts, q, 8);
            at += rise + hold + 2 + (smoke ? 5 : bench_rng_uniform(&rng, 40, 100));
        }
        mem_guest(g, gname, 2048, 768, points_series((double *) pts->data, pts->len / 2));
        if (i == 0)
            t->watch = g_strdup(gname);
    }
    return mem_finish(g, t);
}

/* Many idle guests holding far more than they use. */
static MemTrace *
mem_idle(gboolean smoke)
{
    guint n = smoke ? 12 : 48;
    g_autoptr(Gen) g = gen_new(4, 7);
    g->memory_mib = smoke ? 24576 : 98304;
    g->host_used = g_strdup("2048");
    MemTrace *t =
        mem_trace_new("mem-idle", "48 idle guests hold 1.5 GiB and use 80-200 MiB; 96 GiB host",
                      smoke ? 60 : 300);
    BenchRng rng;
    bench_rng_init(&rng, 707);
    for (guint i = 0; i < n; i++) {
        g_autofree char *name = g_strdup_printf("idle%02u", i);
        mem_guest(g, name, 2048, 1536, g_strdup_printf("%.0f", bench_rng_uniform(&rng, 80, 200)));
        g_ptr_array_add(t->idle, g_strdup(name));
        if (i == 0)
            t->watch = g_strdup(name);
    }
    return mem_finish(g, t);
}

/* An 8 GiB host: growers need memory the idle guests hold, and the host itself takes @host_mib
 * more at 150-200 s. Enough for everyone only once the idle guests give back. */
static MemTrace *
mem_pressure(gboolean smoke, const char *name, const char *title, guint host_mib)
{
    g_autoptr(Gen) g = gen_new(4, 8);
    g->memory_mib = 8192;
    g->host_used = smoke ? g_strdup_printf("0:1024 30:1024 40:%u", 1024 + host_mib)
                         : g_strdup_printf("0:1024 150:1024 200:%u", 1024 + host_mib);
    MemTrace *t = mem_trace_new(name, title, smoke ? 60 : 300);
    BenchRng rng;
    bench_rng_init(&rng, 808);
    for (guint i = 0; i < 3; i++) {
        g_autofree char *gname = g_strdup_printf("idle%u", i);
        mem_guest(g, gname, 2048, 1536, g_strdup("150"));
        g_ptr_array_add(t->idle, g_strdup(gname));
    }
    for (guint i = 0; i < 3; i++) {
        g_autofree char *gname = g_strdup_printf("grow%u", i);
        double rate = bench_rng_uniform(&rng, 8, 12);
        double start = smoke ? 5 : 20, top = smoke ? 600 : 1400;
        double pts[6] = {0, 150, start, 150, start + (top - 150) / rate, top};
        mem_guest(g, gname, 2048, 512, points_series(pts, 3));
        if (i == 0)
            t->watch = g_strdup(gname);
    }
    return mem_finish(g, t);
}

/* Guests that keep 200 MiB free by swapping while their use climbs: their free memory stays
 * inside the band, only swap-in and major faults tell that they are short. (A stand-in for a
 * guest whose MemAvailable overstates what it can use: a hot page cache, a memory cgroup.) */
static MemTrace *
mem_swap(gboolean smoke)
{
    g_autoptr(Gen) g = gen_new(4, 11);
    g->memory_mib = 16384;
    g->host_used = g_strdup("2048");
    double duration = smoke ? 60 : 300;
    MemTrace *t = mem_trace_new("mem-swap",
                                "8 guests with 1 GiB of swap keep 200 MiB free by swapping while "
                                "their use climbs from 300 MiB to 1.1 GiB at 5-20 MiB/s: usable "
                                "memory stays in the band; 16 GiB host",
                                duration);
    BenchRng rng;
    bench_rng_init(&rng, 1111);
    for (guint i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("swap%u", i);
        double start = smoke ? bench_rng_uniform(&rng, 5, 15) : bench_rng_uniform(&rng, 20, 100);
        double rate = bench_rng_uniform(&rng, 5, 20);
        double top = smoke ? 700 : 1100;
        double pts[6] = {0, 300, start, 300, start + (top - 300) / rate, top};
        GenDom *d = mem_guest(g, name, 2048, 1024, points_series(pts, 3));
        d->extra = g_strdup("swap_mib = 1024\nswap_free_mib = 200\npage_cache = 0\n");
        if (i == 0)
            t->watch = g_strdup(name);
    }
    return mem_finish(g, t);
}

GPtrArray *
bench_mem_traces(gboolean smoke)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify) bench_mem_trace_free);
    g_ptr_array_add(a, mem_growth(smoke));
    g_ptr_array_add(a, mem_jumps(smoke, "mem-burst",
                                 "8 guests at 200-400 MiB jump by 150-300 MiB over 4-8 s (20-75 "
                                 "MiB/s), twice, hold 20-40 s and release; 768 MiB actual",
                                 150, 300, 4, 8, 6));
    g_ptr_array_add(a, mem_jumps(smoke, "mem-spike",
                                 "as mem-burst, but jumps of 300-700 MiB within 2-5 s (60-350 "
                                 "MiB/s)",
                                 300, 700, 2, 5, 9));
    g_ptr_array_add(a, mem_idle(smoke));
    g_ptr_array_add(a, mem_pressure(smoke, "mem-pressure",
                                    "8 GiB host: 3 idle guests hold 1.5 GiB (use 150 MiB), 3 "
                                    "guests grow from 150 MiB to 1.4 GiB at 8-12 MiB/s from 20 s, "
                                    "the host's own use grows by 512 MiB at 150-200 s",
                                    512));
    g_ptr_array_add(a, mem_pressure(smoke, "mem-host",
                                    "as mem-pressure, but the host's own use grows by 876 MiB: "
                                    "the reserve holds only if the growers give back down to "
                                    "their low watermark",
                                    876));
    g_ptr_array_add(a, mem_swap(smoke));
    return a;
}

char *
bench_scale_ini(guint npcpus, guint ndomains, guint vcpus, guint64 seed)
{
    g_autoptr(Gen) g = gen_new(npcpus, seed);
    g->memory_mib = 16384 + 1024 * (guint64) ndomains;
    g->host_used = g_strdup("4096");
    BenchRng rng;
    bench_rng_init(&rng, seed);
    for (guint i = 0; i < ndomains; i++) {
        g_autofree char *name = g_strdup_printf("vm%04u", i);
        GenDom *d = gen_add(g, name, vcpus);
        d->noise = 2;
        for (guint v = 0; v < vcpus; v++) {
            set_load(d, v, g_strdup_printf("%.1f", bench_rng_uniform(&rng, 2, 12)));
            d->pin[v] = (gint) bench_rng_below(&rng, npcpus);
        }
        d->memory_mib = 2048;
        d->current_mib = 1024;
        d->used = g_strdup_printf("%.0f", bench_rng_uniform(&rng, 300, 700));
    }
    return render(g, FALSE);
}
