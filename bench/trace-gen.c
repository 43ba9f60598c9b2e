/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeded scenario generators. Each trace is scenario text for the simulated host (see
 * daemon/hv-fake-scenario.h), so the benchmark drives exactly what the daemon would see.
 * This file: the seeded random numbers, and a generated host whose domains are rendered
 * as scenario text twice (pinned and floating); the scale host of the cost runs. */
#include "bench.h"
#include "trace-gen.h"

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

Gen *
bench_gen_new(guint npcpus, guint64 seed)
{
    Gen *g = g_new0(Gen, 1);
    g->npcpus = npcpus;
    g->seed = seed;
    g->background = g_new0(double, npcpus);
    g->doms = g_ptr_array_new_with_free_func((GDestroyNotify) gen_dom_free);
    return g;
}

void
bench_gen_free(Gen *g)
{
    g_ptr_array_unref(g->doms);
    g_free(g->background);
    g_free(g->host_used);
    g_free(g);
}

GenDom *
bench_gen_add(Gen *g, const char *name, guint nvcpus)
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

void
bench_gen_set_load(GenDom *d, guint v, char *series)
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
char *
bench_steps_series(const double *changes, const double *levels, guint n)
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
char *
bench_points_series(const double *pts, guint npoints)
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

char *
bench_gen_render(const Gen *g, gboolean floating)
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

char *
bench_scale_ini(guint npcpus, guint ndomains, guint vcpus, guint64 seed)
{
    g_autoptr(Gen) g = bench_gen_new(npcpus, seed);
    g->memory_mib = 16384 + 1024 * (guint64) ndomains;
    g->host_used = g_strdup("4096");
    BenchRng rng;
    bench_rng_init(&rng, seed);
    for (guint i = 0; i < ndomains; i++) {
        g_autofree char *name = g_strdup_printf("vm%04u", i);
        GenDom *d = bench_gen_add(g, name, vcpus);
        d->noise = 2;
        for (guint v = 0; v < vcpus; v++) {
            bench_gen_set_load(d, v, g_strdup_printf("%.1f", bench_rng_uniform(&rng, 2, 12)));
            d->pin[v] = (gint) bench_rng_below(&rng, npcpus);
        }
        d->memory_mib = 2048;
        d->current_mib = 1024;
        d->used = g_strdup_printf("%.0f", bench_rng_uniform(&rng, 300, 700));
    }
    return bench_gen_render(g, FALSE);
}
