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
} Plan;

void plan_put(Plan *pl, guint item, guint pcpu);
void plan_take(Plan *pl, guint item);
/* Records a move with the loads before it. */
void plan_record(Plan *pl, guint item, gint from, guint to, VmbCpuReason reason, double gain);
gboolean plan_may_go(const Plan *pl, guint item, guint pcpu);
/* Items by load, largest first (then by index): a g_array_sort_with_data() comparator. */
int plan_cmp_load_desc(gconstpointer a, gconstpointer b, gpointer items);
/* The global re-plan (cpu-replan.c); returns the moves it recorded, 0 if not taken. */
guint plan_global_replan(Plan *pl, guint first_move, guint budget);
