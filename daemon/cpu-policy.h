/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU placement policy: a pure function from loads and current pins to pin moves.
 *
 * Objective: the lowest most-loaded pCPU, then the smallest spread, then vCPUs of one domain
 * on different pCPUs; with as few pin changes as possible. Floating vCPUs (and vCPUs pinned
 * outside the allowed set) are placed largest first on the least loaded pCPU. Then moves
 * and swaps are taken greedily from the most loaded pCPU, each only when it lowers the
 * larger of the two pCPUs it touches by more than the hysteresis plus twice the noise of
 * the loads involved; so a lone hot vCPU is never moved for being hot, noisy or spiky loads
 * are not chased, and stable loads give no moves. Every accepted action lowers the sum
 * of squared pCPU loads, so repeated cycles converge and stop. */
#pragma once

#include <glib.h>

#include "topology.h"

typedef struct {
    guint domain;     /* index of the owning domain: its vCPUs are spread */
    double load;      /* smoothed demand, percent of one pCPU (may exceed what it got) */
    double noise;     /* standard deviation of that estimate, percentage points */
    gint current;     /* host pCPU it is pinned to, -1 when floating */
    gboolean movable; /* FALSE for excluded domains: counted where pinned, never moved */
    gboolean cooling; /* moved in a recent cycle: left where it is */
} VmbCpuItem;

typedef struct {
    guint npcpus;             /* host pCPUs */
    const gboolean *allowed;  /* [npcpus]: vCPUs may be pinned there */
    const double *background; /* [npcpus]: non-VM load in percent, or NULL */
    const VmbCpuItem *items;
    guint n_items;
    /* Destinations to avoid, or NULL for none: TRUE when item @item must not be put on
     * @pcpu (a move there did not deliver lately, move-check.h). Balance and spread moves
     * and both halves of a swap respect it, and a global re-plan that needs such a
     * destination is not taken; placing floating vCPUs and evacuations ignore it. */
    gboolean (*blocked)(guint item, guint pcpu, gpointer data);
    gpointer blocked_data;
    /* The host's topology, or NULL (or not known): a flat row of pCPUs, decided as before.
     * With one, the topology steps of cpu-topo.c run (SMT siblings, NUMA home nodes). */
    const VmbTopology *topology;
    const gint *item_node; /* [n_items] node of the item's domain's memory, -1 unknown; or NULL */
} VmbCpuProblem;

typedef struct {
    double hysteresis; /* minimum gain in percent of one pCPU */
    guint max_moves;   /* pin changes per cycle for balance and spread (placement is free) */
} VmbCpuTunables;

typedef enum {
    VMB_CPU_PLACE,    /* floating vCPU gets a pCPU */
    VMB_CPU_EVACUATE, /* pinned outside the allowed pCPUs */
    VMB_CPU_BALANCE,  /* lowers the busier of two pCPUs */
    VMB_CPU_SPREAD,   /* separates vCPUs of one domain at no load cost */
    VMB_CPU_SMT,  /* off a core whose other thread is busy (or another domain's), to an idle core */
    VMB_CPU_NUMA, /* back to the node holding its domain's memory */
} VmbCpuReason;

typedef struct {
    guint item;
    gint from; /* -1 when floating */
    guint to;
    VmbCpuReason reason;
    double from_load, to_load; /* loads of the two pCPUs before the move */
    double gain;               /* how much the busier of the two pCPUs drops */
} VmbCpuMove;

/* Returns the moves to make, in order (GArray of VmbCpuMove). */
GArray *vmb_cpu_plan(const VmbCpuProblem *p, const VmbCpuTunables *t);
/* Loads per host pCPU (background + items) for a placement (-1 = not counted). */
void vmb_cpu_loads(const VmbCpuProblem *p, const gint *placement, double *loads);
const char *vmb_cpu_reason_to_string(VmbCpuReason r);
