/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A generated host for the traces (trace-gen.c): its domains, each rendered twice as scenario
 * text (pinned and floating), and the series their loads and use follow. */
#pragma once

#include <glib.h>

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

Gen *bench_gen_new(guint npcpus, guint64 seed);
void bench_gen_free(Gen *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Gen, bench_gen_free)

/* A new domain of @g with @nvcpus vCPUs, floating and without load. */
GenDom *bench_gen_add(Gen *g, const char *name, guint nvcpus);
/* vCPU @v of @d follows the series text @series (taken). */
void bench_gen_set_load(GenDom *d, guint v, char *series);
/* Piecewise constant: levels[k] from changes[k] to changes[k+1]. */
char *bench_steps_series(const double *changes, const double *levels, guint n);
/* A series from (time, value) points, as given. */
char *bench_points_series(const double *pts, guint npoints);
/* @g as scenario text; @floating: every domain as if nothing were pinned. */
char *bench_gen_render(const Gen *g, gboolean floating);
