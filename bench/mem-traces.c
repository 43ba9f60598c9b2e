/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory traces: growth, jumps, idle guests, host pressure and swap, each a generated host
 * (trace-gen.h). */
#include "bench.h"
#include "trace-gen.h"

#include <math.h>
#include <string.h>

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
    GenDom *d = bench_gen_add(g, name, 1);
    bench_gen_set_load(d, 0, g_strdup("2"));
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
    t->ini = bench_gen_render(g, FALSE);
    return t;
}

/* Guests whose use grows linearly (5-20 MiB/s) from 200 MiB to 1.6 GiB at random times,
 * beside guests that hold more than they use. */
static MemTrace *
mem_growth(gboolean smoke)
{
    g_autoptr(Gen) g = bench_gen_new(4, 5);
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
        mem_guest(g, name, 2048, 1024, bench_points_series(pts, 3));
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
    g_autoptr(Gen) g = bench_gen_new(4, seed);
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
        mem_guest(g, gname, 2048, 768, bench_points_series((double *) pts->data, pts->len / 2));
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
    g_autoptr(Gen) g = bench_gen_new(4, 7);
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
    g_autoptr(Gen) g = bench_gen_new(4, 8);
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
        mem_guest(g, gname, 2048, 512, bench_points_series(pts, 3));
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
    g_autoptr(Gen) g = bench_gen_new(4, 11);
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
        GenDom *d = mem_guest(g, name, 2048, 1024, bench_points_series(pts, 3));
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
