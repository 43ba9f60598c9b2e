/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What vmb-bench's own files share (vmb-bench.c, -runs, -targets, -report, -plots, -smoke): the
 * run's state and results, the targets, and each part's entry point. */
#pragma once

#include "bench.h"

/* Target thresholds (issue 7; the vCPU ones are in phases.c); printed as pass or miss, never
 * asserted. */
#define TARGET_DECISION_MS      10.0 /* 256 pCPUs × 4,000 vCPUs */
#define TARGET_DECISION_HUGE_MS 50.0 /* 1,024 pCPUs × 8,000 vCPUs */
#define TARGET_CYCLE_RATIO      1.3
#define TARGET_RSS_MIB          16.0
#define TARGET_METRICS_MS       10.0 /* render + write, CPU: 0.2 % of a CPU at a 5 s interval */
#define TARGET_METRICS_MIB      2.0  /* what node_exporter reads at every scrape */

static const guint mem_intervals[] = {1, 5};
#define N_MEM_INTERVALS G_N_ELEMENTS(mem_intervals)

typedef struct {
    gboolean smoke, verbose;
    char *results, *data, *daemon, *lab, *notes, *only;
    gint lab_wait; /* seconds to keep retrying the lab */
    GStrv set;
    GPtrArray *cpu_traces, *mem_traces;
    CpuResult *cpu; /* [trace][algo] */
    MemResult *mem; /* [trace][interval][algo] */
    CostResult cost;
    char *host; /* described when the costs are measured */
    gboolean did_cpu, did_mem, did_cost;
    guint warnings;
    GString *topo_md; /* the topology section (topo.c), NULL when not run */
} Bench;

static inline CpuResult *
cpu_res(Bench *b, guint trace, guint algo)
{
    return &b->cpu[trace * N_CPU_ALGOS + algo];
}

static inline MemResult *
mem_res(Bench *b, guint trace, guint iv, guint algo)
{
    return &b->mem[(trace * N_MEM_INTERVALS + iv) * N_MEM_ALGOS + algo];
}

/* vmb-bench-runs.c: each part, its results into @b */
void vmb_bench_run_cpu(Bench *b);
void vmb_bench_run_mem(Bench *b);
/* First of all, while a shared lab is up (retried for --lab-wait seconds). */
void vmb_bench_run_lab(Bench *b);
void vmb_bench_run_cost(Bench *b);

/* vmb-bench-targets.c: the Targets section */
void vmb_bench_write_targets(Bench *b, GString *md);
/* vmb-bench-report.c: the results file */
gboolean vmb_bench_write_results(Bench *b, GError **error);
/* vmb-bench-plots.c: the plot data and plots.gp into b->data */
gboolean vmb_bench_write_data(Bench *b, GError **error);
/* vmb-bench-smoke.c: FALSE (after saying why on stderr) when a result makes no sense */
gboolean vmb_bench_sane(Bench *b);
