/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The placement policy's working state, shared by its parts: cpu-policy.c (placement and the
 * greedy moves), cpu-target.c (detection, the target and its walk), cpu-replan.c (the global
 * re-plan) and cpu-topo.c (topology steps). Private to the policy. */
#pragma once

#include "cpu-policy.h"

/* Cycles from a detected change to the second search of its target: with the default
 * smoothing (0.5) the smoothed loads are then within 1/16 of the step. */
#define VMB_CPU_SETTLE_CYCLES  4
#define VMB_CPU_SETTLE_REFINES 3

/* Gains within this many points count as equal, so the spread of a domain decides. */
#define TIE_EPSILON 0.5

typedef struct {
    const VmbCpuProblem *p;
    double h;
    double *load;     /* [npcpus] */
    double *var;      /* [npcpus] sum of the variances of the loads there */
    double *var_min;  /* [npcpus] or NULL: the same for the noise the target was searched on
                       * (VmbCpuTarget.noise): margins count no less (cpu-target.c) */
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
    gboolean nonneg;    /* every item's load is >= 0: what bounds the gains of moves */
    gboolean searching; /* cpu-target.c's search: the margin is the larger of its terms */
    GArray *moves;
    /* cpu-topo.c: the topology (NULL when flat or unknown) and each domain's home node */
    const VmbTopology *topo;
    gint *home;           /* [n_domains] node the domain's vCPUs belong on, -1 not yet known */
    gboolean *numa_tried; /* [n_items] the NUMA step looked for a way home this plan */
    guint *node_first;    /* [nnodes + 1] CSR into node_cpus */
    guint *node_cpus;     /* allowed pCPUs grouped by node, ascending */
} Plan;

void plan_put(Plan *pl, guint item, guint pcpu);
void plan_take(Plan *pl, guint item);
/* Records a move with the loads before it. */
void plan_record(Plan *pl, guint item, gint from, guint to, VmbCpuReason reason, double gain);
gboolean plan_may_go(const Plan *pl, guint item, guint pcpu);
/* Items by load, largest first (then by index): a g_array_sort_with_data() comparator. */
int plan_cmp_load_desc(gconstpointer a, gconstpointer b, gpointer items);
gboolean plan_can_move(const Plan *pl, guint item);
/* Exchanges @v (on a) and @u (on b); both records carry the loads before the swap, the first
 * is marked paired. */
void plan_swap(Plan *pl, guint v, guint u, VmbCpuReason reason, double gain);
/* Moves @item to @to and records it; loads in the record are those before the move. */
void plan_move(Plan *pl, guint item, guint to, VmbCpuReason reason, double gain);
/* The gain a balancing action between pCPUs whose load variances sum to @var must exceed: the
 * hysteresis plus z standard deviations; while searching a target, the larger of the two. */
double plan_margin(const Plan *pl, double var);
/* One balancing action (move, or swap when @budget >= 2) from the busiest pCPU that has one
 * clearing its margin; FALSE when none qualifies. */
gboolean plan_balance_step(Plan *pl, guint budget);
/* One move or swap that separates two vCPUs of a domain without raising the busier pCPU. */
gboolean plan_spread_step(Plan *pl, guint budget);
/* Greedy phase: balancing, then topology, then spread actions, one at a time, until none
 * qualifies or @max_moves pin changes are recorded. */
void plan_greedy(Plan *pl, guint max_moves);
/* Takes back the moves recorded from @mark on (latest first) and forgets them. */
void plan_undo_to(Plan *pl, guint mark);
/* Detection, target search and walk (cpu-target.c): records this plan's moves (at most
 * @max_moves beyond the placements) and fills @next (or not, when NULL). */
void plan_toward_target(Plan *pl, guint max_moves, VmbCpuNext *next);
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
