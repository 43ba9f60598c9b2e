/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The placement policy's working state, shared by its two halves: cpu-policy.c (placement
 * and the greedy moves) and cpu-replan.c (the global re-plan). Private to the policy. */
#pragma once

#include "cpu-policy.h"

/* Gains within this many points count as equal, so the spread of a domain decides. */
#define TIE_EPSILON 0.5

typedef struct {
    const VmbCpuProblem *p;
    double h;
    double *load;     /* [npcpus] */
    double *var;      /* [npcpus] sum of the variances of the loads there */
    double z;         /* noise_z() of this host */
    gint *place;      /* [n_items] pCPU or -1 */
    gboolean *moved;  /* [n_items] moved this cycle */
    GArray **on;      /* [npcpus] item indices on each pCPU */
    guint *dom_first; /* [n_domains + 1] CSR index into dom_items */
    guint *dom_items; /* item indices grouped by domain */
    guint n_domains;
    guint *allowed; /* allowed pCPU numbers */
    guint n_allowed;
    guint *order; /* [n_allowed] busiest first, kept between balancing steps */
    gboolean order_valid;
    gboolean nonneg; /* every item's load is >= 0: what bounds the gains of moves */
    GArray *moves;
    /* cpu-topo.c: the topology (NULL when flat or unknown) and each domain's home node */
    const VmbTopology *topo;
    gint *home;           /* [n_domains] node the domain's vCPUs belong on, -1 not yet known */
    gboolean *numa_tried; /* [n_items] the NUMA step looked for a way home this plan */
} Plan;

void plan_put(Plan *pl, guint item, guint pcpu);
void plan_take(Plan *pl, guint item);
/* Records a move with the loads before it. */
void plan_record(Plan *pl, guint item, gint from, guint to, VmbCpuReason reason, double gain);
gboolean plan_may_go(const Plan *pl, guint item, guint pcpu);
/* Items by load, largest first (then by index): a g_array_sort_with_data() comparator. */
int plan_cmp_load_desc(gconstpointer a, gconstpointer b, gpointer items);
gboolean plan_can_move(const Plan *pl, guint item);
/* Moves @item to @to and records it; loads in the record are those before the move. */
void plan_move(Plan *pl, guint item, guint to, VmbCpuReason reason, double gain);
/* vCPUs of @domain placed on @pcpu. */
guint plan_siblings(const Plan *pl, guint domain, guint pcpu);

/* ---- topology (cpu-topo.c); all are no-ops on a flat host (pl->topo NULL) */

/* Home nodes: the node of the domain's memory, else where most of its placed vCPUs are. */
void topo_init_homes(Plan *pl);
/* How bad a destination is for @item beyond its load, in quarter points of work lost there
 * (SMT sharing, remote memory) plus one point for a neighbour or a sibling vCPU: placement
 * ranks near-ties by it, balancing breaks ties with it. 0 on a flat host. */
guint topo_cost(const Plan *pl, guint item, guint pcpu);
/* Placing @item on @pcpu: the domain's first placed vCPU fixes its home if unknown. */
void topo_placed(Plan *pl, guint item, guint pcpu);
/* The factor a balance move from @a to @b must clear its margin by (1, or NUMA_SPLIT). */
double topo_margin_factor(const Plan *pl, guint item, guint a, guint b);
gboolean topo_smt_step(Plan *pl, guint budget);
/* May the global re-plan (@todo items from @start to @bin, gaining @gain over a bar of @need)
 * replace the greedy result? Not when it takes a vCPU off its home node for less than
 * NUMA_SPLIT times the bar. */
gboolean topo_replan_ok(const Plan *pl, const gint *start, const gint *bin, const GArray *todo,
                        double gain, double need);
gboolean topo_numa_step(Plan *pl);

/* The global re-plan (cpu-replan.c); returns the moves it recorded, 0 if not taken. */
guint plan_global_replan(Plan *pl, guint first_move, guint budget);
