/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the topology bench's files share. topo.c: the model's description, the traces, the
 * algorithms' runs and the section of RESULTS.md; topo-model.c: the charge and the kernel's
 * placement of floating vCPUs; topo-oracle.c: the oracle and its local search; topo-eval.c:
 * the metrics over a run's records. */
#pragma once

#include "bench.h"

/* The algorithms: topo.c runs them and names their rows, topo-eval.c places each one's
 * records. */
typedef enum {
    T_VMBALANCE,
    T_VMB_CORE, /* vmbalance with cpu.pin_to = core, cache, node */
    T_VMB_CACHE,
    T_VMB_NODE,
    T_NOPIN,      /* kernel, NUMA by chance */
    T_NOPIN_NUMA, /* kernel with automatic NUMA balancing */
    T_SEED001,
    T_SEED004,
    T_LXD,    /* count-based round robin, pinned at start */
    T_ORACLE, /* per phase, greedy on the model with the phase's nominal loads */
    N_TALGOS,
} TAlgo;

/* One cycle of a run: recorded by topo.c, placed and charged by the other files. */
typedef struct {
    double t;
    gboolean steady;
    gint *pcpu;  /* [n] -1 floating or on a set */
    gint *set;   /* [n] index in TTrace.sets of its set pin, -1 none */
    double *dem; /* [n] nominal demand, percent */
    gint *node;  /* [n] memory node of its domain */
    guint *dom;  /* [n] */
    guint phase;
} Rec;

/* A host and its runs: built and run by topo.c, read by the model, the oracle and the
 * evaluation. */
typedef struct {
    CpuTrace tr;
    VmbTopology *topo;
    guint n; /* vCPUs, all domains, in scenario order */
    GPtrArray *recs[N_TALGOS];
    GPtrArray *sets; /* VmbCpuSet*: the set pins seen, each once */
    guint64 pins[N_TALGOS], steady_pins[N_TALGOS];
} TTrace;

/* What topo_evaluate() (topo-eval.c) returns for the report (topo.c). */
typedef struct {
    double work;     /* delivered / demanded */
    double core_max; /* time-averaged most loaded core, percent of one core (steady) */
    double remote;   /* share of delivered work run remote */
    guint doubleups; /* steady cycles with busy siblings while a core idles */
    guint splits;    /* steady domain-cycles split while their memory node had room */
    guint steady;    /* steady cycles */
} TMetrics;

/* The charges: topo.c's report and sensitivity table pick one per column. */
typedef enum {
    CHARGE_FLUID,   /* work-conserving core (the default) */
    CHARGE_OVERLAP, /* the old charge: threads overlap at random, independently */
    N_CHARGES,
} Charge;

/* The charge's names, for the report (topo.c) and the charge's self-check (topo-model.c). */
extern const char *const topo_charge_names[N_CHARGES];

/* The model's figures: chosen by the report (topo.c), applied by every charge. */
typedef struct {
    double smt_gain, remote_penalty;
    Charge charge;
} Model;

/* ---- the model (topo-model.c) */

/* Work delivered per vCPU for placement @p (every vCPU on a pCPU); fills @work, and @u with
 * each pCPU's use (its demand, up to 1). Shared: the oracle searches on it, the evaluation
 * charges every record with it. */
void topo_charge(const TTrace *t, const Rec *r, const gint *p, const Model *m, double *work,
                 double *u);
/* The kernel's choice for floating vCPUs (see the top of topo.c), into @p. Shared: the
 * evaluation places the unpinned runs' records, and a pinner's floating vCPUs, with it. */
void topo_kernel_place(const TTrace *t, const Rec *r, gboolean numa, gint *p);

/* ---- the oracle (topo-oracle.c) */

/* The oracle's placement of @r's vCPUs under @m, into @p. Shared: the evaluation places the
 * oracle's row with it, once per phase. */
void topo_oracle_place(const TTrace *t, const Rec *r, const Model *m, gint *p);

/* ---- the evaluation (topo-eval.c) */

/* The metrics of algorithm @a's records of @t under @m; *@oracle_pins (if not NULL): the
 * oracle's pin changes. Shared: the report's tables (topo.c) are made of it. */
TMetrics topo_evaluate(TTrace *t, TAlgo a, const Model *m, guint64 *oracle_pins);
