/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmb-bench: vmbalance's policies against the seeds' algorithms, the optimum and scale.
 *
 * Everything runs on the simulated host (hv-fake) with a manual clock, on scenario text
 * generated here from a seed, so runs are deterministic and what is measured is the code that
 * ships: the real cpu and memory tasks, fed real snapshots, acting through the hypervisor
 * layer. The baselines act through the same layer. */
#pragma once

#include <glib.h>

#include "config.h"
#include "hypervisor.h"
#include "mem-algos.h"
#include "hv-fake-scenario.h"
#include "snapshot.h"

/* ---- deterministic random numbers (splitmix64: the same on every platform; trace-gen.c) */

typedef struct {
    guint64 state;
} BenchRng;

void bench_rng_init(BenchRng *r, guint64 seed);
guint64 bench_rng_next(BenchRng *r);
double bench_rng_uniform(BenchRng *r, double lo, double hi); /* [lo, hi) */
guint bench_rng_below(BenchRng *r, guint n);                 /* 0..n-1 */
guint64 bench_mix(guint64 x);

/* ---- traces (cpu-traces.c, mem-traces.c; the scale host: trace-gen.c) */

typedef struct {
    char *name;
    char *title; /* what it exercises, one line */
    guint npcpus, ndomains, nvcpus;
    double duration, interval;
    GArray *changes;    /* doubles, ascending, first 0: nominal loads or the domain set change */
    double settle;      /* a phase is steady from change + settle to the next change */
    char *ini;          /* scenario text with the vCPUs pinned as generated */
    char *ini_floating; /* the same scenario with every vCPU floating (no-pinning baseline) */
    char *seed004_ext;  /* why seed 004 runs extended here, NULL when within its limits */
} CpuTrace;

typedef struct {
    char *name;
    char *title;
    guint nguests;
    double duration;
    guint64 host_mib;
    char *ini;
    GPtrArray *idle; /* names of the idle guests (what can be reclaimed) */
    char *watch;     /* guest whose memory is plotted against its demand */
} MemTrace;

/* @smoke: small hosts and short traces, for the test suite. */
GPtrArray *bench_cpu_traces(gboolean smoke); /* CpuTrace* */
GPtrArray *bench_mem_traces(gboolean smoke); /* MemTrace* */
void bench_cpu_trace_free(CpuTrace *t);
void bench_mem_trace_free(MemTrace *t);
/* @ndomains domains of @vcpus vCPUs on @npcpus pCPUs with balloons: the cost scenario. */
char *bench_scale_ini(guint npcpus, guint ndomains, guint vcpus, guint64 seed);

/* ---- vCPU algorithms (baselines.c) */

typedef enum {
    CPU_VMBALANCE,
    CPU_SEED001,
    CPU_SEED004,
    CPU_LPT,
    CPU_NOPIN,
    CPU_ORACLE,
    N_CPU_ALGOS,
} CpuAlgoId;

typedef struct _CpuAlgo CpuAlgo;

extern const char *const bench_cpu_algo_names[N_CPU_ALGOS];
/* "key=value" items set on vmbalance's configuration (what-if runs); checked here. */
gboolean bench_set_overrides(const char *const *items, GError **error);
/* The daemon's defaults with those items applied. */
VmbConfig *bench_vmbalance_config(void);
/* @sc is the scenario the host runs (borrowed: the oracle reads its nominal loads). */
CpuAlgo *bench_cpu_algo_new(CpuAlgoId id, const CpuTrace *tr, const VmbScenario *sc);
void bench_cpu_algo_cycle(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s);
void bench_cpu_algo_free(CpuAlgo *a);
/* Sets configuration item @key of a vmbalance algorithm (bench variants such as cpu.pin_to). */
void bench_cpu_algo_set(CpuAlgo *a, const char *key, const char *value);

/* ---- simulations (sim.c) */

/* One phase of a trace (from a change, or the start, to the next change) as one algorithm went
 * through it: sim.c records it, phases.c adds what needs the oracle's run of the same trace. */
typedef struct {
    guint first;           /* the cycle at the change: the first at or after it */
    GHashTable *start;     /* uuid -> gint[1 + n]: n, then each vCPU's pCPU (-1 floating), in
                            * that cycle's snapshot: the pins at the change */
    GHashTable *placed;    /* the same one cycle later: after the cycle at the change acted */
    GHashTable *load;      /* uuid -> double[n]: nominal loads averaged over the phase */
    double *bg;            /* [npcpus] host load averaged over the phase */
    double still_max;      /* the pins at the change on the phase's nominal loads (averaged) */
    double placed_max, lb; /* the pins after the change cycle, the same loads; their bound */
    guint64 pins;          /* pin changes from the cycle at the change to the next change's */
    gint react;            /* cycles from the change to the first pin change of a cycle that
                            * saw it, -1: none */
    /* phases.c */
    guint64 minimum;     /* fewest pin changes from the start pins to the oracle's placement */
    guint64 least;       /* fewer cannot bring every pCPU down to the oracle's most loaded */
    gboolean unbalanced; /* the pins at the change are clearly worse than the oracle's */
    gint rebalanced;     /* cycles from the change to the first placement no longer clearly
                          * worse, -1: never in the phase */
} CpuPhase;

typedef struct {
    gboolean ran;
    /* on the demand the host measured (noise included) */
    double ratio_steady;  /* time-averaged max pCPU load / time-averaged lower bound */
    double ratio_all;     /* the same over the whole trace */
    double spread_steady; /* time-averaged max - min pCPU load, steady phases */
    /* on the trace's nominal (noise-free) loads: the placement's own quality */
    double nom_steady, nom_all, nom_spread;
    double lb_steady;     /* time-averaged lower bound, steady phases */
    guint64 pins;         /* pin changes over the trace */
    guint64 steady_moves; /* pin changes during steady phases */
    guint phases;         /* phases (changes) in the trace */
    guint unsettled;      /* phases still moving in their steady part */
    double converge_mean; /* cycles from a change to its last pin change (settled phases) */
    guint converge_max;
    guint npcpus;
    CpuPhase *phase; /* [phases] */
    /* per cycle, for the plots */
    GArray *t, *max_load, *lb, *cum_pins, *nom_max, *nom_lb; /* doubles */
} CpuResult;

typedef struct {
    gboolean ran;
    guint oom_kills;
    double below_low_s;    /* guest-seconds with usable memory below the low watermark */
    double min_headroom;   /* MiB, lowest actual - use of any guest */
    double reserve_viol_s; /* seconds the host was below its reserve */
    double reclaimed;      /* MiB given back by the idle guests by the end */
    double reclaim_t90;    /* seconds until 90 % of that was back, -1 if nothing */
    double mean_held;      /* MiB, time-averaged sum of guest actuals */
    double min_host_avail; /* MiB */
    guint64 changes;       /* balloon targets set */
    guint cycles;          /* cycles run (vmbalance adds follow-ups to its interval) */
    double swapping_s;     /* guest-seconds with memory in swap */
    double swap_in;        /* MiB swapped in, all guests */
    /* per second, the watched guest, for the plots */
    GArray *t, *used, *actual; /* doubles, MiB */
} MemResult;

void bench_run_cpu(const CpuTrace *tr, CpuAlgoId algo, CpuResult *r);
void bench_cpu_result_clear(CpuResult *r);
void bench_run_mem(const MemTrace *tr, MemAlgoId algo, guint interval, MemResult *r);
void bench_mem_result_clear(MemResult *r);
/* The host reserve every memory algorithm is judged against: vmbalance's default. */
guint64 bench_mem_reserve_kib(guint64 host_total_kib);

/* ---- per-phase figures and the vCPU tables that need them (phases.c) */

/* Fills in what needs the oracle: @res is one trace's results, [N_CPU_ALGOS]. */
void bench_cpu_phases(CpuResult *res);
/* @cpu: [trace][algo] for the traces in @traces. */
void bench_write_cpu_targets(GString *md, GPtrArray *traces, const CpuResult *cpu);
void bench_write_cpu_phases(GString *md, GPtrArray *traces, const CpuResult *cpu);
const char *bench_verdict(gboolean ok);

/* ---- cost (cost.c) */

typedef struct {
    double median_ms, min_ms, mean_ms; /* wall clock */
    double cpu_median_ms;              /* thread CPU time, < 0 when not measured */
    guint runs;
} Timing;

/* The policy decision alone at one size, in three states. */
typedef struct {
    guint npcpus, nvcpus;
    double target_ms;       /* median CPU time it must stay under */
    Timing plan_steady;     /* balanced state: the usual cycle */
    Timing plan_unbalanced; /* random pins: a full move budget to choose */
    Timing plan_place;      /* every vCPU floating: first sight after start */
} CostDecision;

/* The usual big host (256 pCPUs × 4,000 vCPUs) and a huge one (1,024 × 8,000). */
#define N_COST_DECISIONS 2

/* [daemon] metrics_file at the cost scale (metrics-cost.c). */
typedef struct {
    gboolean ran;
    char *skip;
    guint domains, vcpus, npcpus;
    gsize bytes;   /* the file's size */
    guint samples; /* its sample lines */
    Timing render, write, total;
} MetricsCost;

typedef struct {
    CostDecision dec[N_COST_DECISIONS];
    guint cyc_domains, cyc_vcpus, cyc_pcpus;
    Timing cyc_snapshot, cyc_cpu, cyc_mem, cyc_total;
    /* daemon RSS */
    gboolean rss_ran;
    char *rss_skip;
    guint64 rss_kib, hwm_kib, anon_kib, file_kib, pss_kib; /* with rss_domains */
    guint64 rss1_kib, anon1_kib;                           /* with one domain */
    double rss_seconds;
    guint rss_domains, rss_vcpus;
    /* lab */
    gboolean lab_ran;
    char *lab_skip;
    char *lab_uri;
    guint lab_domains, lab_vcpus;
    Timing lab_bare, lab_cycle;
    double lab_ratio;  /* median cycle / median bare call */
    double lab_paired; /* 1 + median(cycle - bare of the same pair) / median bare call */
    /* hypervisor calls per snapshot of the libvirt backend on libvirt's test driver; index 0
     * without tunable events (the periodic pin re-read), 1 with them (QEMU) */
    gboolean calls_ran;
    char *calls_skip;
    guint calls_domains, calls_vcpus, calls_cycles;
    VmbHvCalls calls_first;     /* the first snapshot after connecting: every domain is read */
    VmbHvCalls calls_steady[2]; /* the cheapest snapshot after the first: a usual cycle */
    VmbHvCalls calls_peak[2];   /* the most expensive one after the first */
    double calls_mean[2];       /* mean calls per snapshot after the first */
    guint calls_rereads[2];     /* snapshots after the first that read pins */
    MetricsCost metrics;
} CostResult;

void bench_cost_decision(CostDecision *d, guint npcpus, guint ndomains, guint vcpus, guint runs);
/* The decision's rows of the targets table (one per state). */
void bench_write_decision_targets(GString *md, const CostDecision *d);
void bench_cost_cycle(CostResult *c, guint npcpus, guint ndomains, guint vcpus, guint cycles);
void bench_cost_rss(CostResult *c, const char *daemon, guint ndomains, guint vcpus, double seconds);
void bench_cost_lab(CostResult *c, const char *uri, guint runs);
void bench_cost_calls(CostResult *c, guint ndomains, guint vcpus, guint cycles);
void bench_cost_clear(CostResult *c);
/* The daemon on @ndomains × @vcpus of the simulated host, its metrics rendered and written
 * @runs times. */
void bench_metrics_cost(MetricsCost *m, guint npcpus, guint ndomains, guint vcpus, guint runs);
void bench_metrics_cost_clear(MetricsCost *m);

/* Median and minimum of wall times @ms, and the median of thread CPU times @cpu_ms (NULL: not
 * measured); both sorted in place. */
Timing bench_timing(GArray *ms, GArray *cpu_ms);

/* ---- topology (topo.c; the model in topo-model.c): SMT and NUMA hosts, the section "Topology"
 * of RESULTS.md */
void bench_topology(GString *md, gboolean smoke);
/* The fluid-core charge (the header of topo.c): the progress @p1, @p2 (fractions of one thread)
 * of a core's two threads with demands @w1, @w2 <= 1. */
void bench_topo_fluid_core(double w1, double w2, double smt_gain, double *p1, double *p2);
/* The charge checked on a table of small cases; FALSE (and a message) when one is off. */
gboolean bench_topo_charge_ok(void);
