/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU placement policy: a pure function from loads, current pins and the target the
 * last plan chose to pin moves and the target to keep.
 *
 * Objective: the lowest most-loaded pCPU, then the smallest spread, then vCPUs of one domain
 * on different pCPUs; with as few pin changes as possible, and none once the loads are stable.
 * Floating vCPUs (and vCPUs pinned outside the allowed set) are placed largest first on the
 * least loaded pCPU: always, and at once.
 *
 * Balancing works towards a target placement that is computed only when a change is detected
 * and then kept (cpu-target.c):
 * - Detection: from the target (the current pins with the pending target moves made), is there
 *   one move or swap that lowers the busier of its two pCPUs by more than the hysteresis plus
 *   z standard deviations of the loads involved, or a topology rule that fires (cpu-topo.c)?
 *   Noisy or spiky loads do not clear that margin, and a lone hot vCPU is never moved for
 *   being hot. The variance of the two pCPUs counts no less than the noise their vCPUs had
 *   when the target was last searched (VmbCpuTarget.noise): a noise estimate that decays
 *   afterwards (the first samples' prior, a step's share) cannot by itself bring up what the
 *   search left under its margin.
 * - Search, on a detected change only: moves, swaps, topology and spread steps from the current
 *   pins with the noise term dropped (each must still gain more than the hysteresis), each
 *   vCPU moved at most once, until none qualifies; then the global re-plan may replace it
 *   (cpu-replan.c) if the walk can make its pin changes before the settling search (at most
 *   VMB_CPU_SETTLE_CYCLES x max_moves). The result is the new target, its moves in the order found:
 * the busiest pCPU's first.
 * - Settling: the smoothed loads reach a new level over a few cycles, so the target found at
 *   the change is searched once more VMB_CPU_SETTLE_CYCLES later, on the converged loads and on
 *   the noise they converge to: what is left then of each vCPU's variance at the change (it
 *   halves each cycle) is taken out, at most three quarters of it.
 * - Walk: at most max_moves of the target's moves per cycle, in that order (a swap is never
 *   split), the rest on the next cycles while no change is detected.
 * Stopping rule: once the target is reached, no single move or swap gains more than the
 * larger of the hysteresis and the noise term it was searched on, and detection asks for more
 * than their sum with a noise term no smaller, so a new target needs a load change larger than
 * the noise margin: stable loads give no pin changes, however the noise estimate decays. Every
 * search step lowers the sum of squared pCPU loads, so a search ends. */
#pragma once

#include <glib.h>

#include "topology.h"

typedef enum {
    VMB_CPU_PLACE,    /* floating vCPU gets a pCPU */
    VMB_CPU_EVACUATE, /* pinned outside the allowed pCPUs */
    VMB_CPU_BALANCE,  /* lowers the busier of two pCPUs */
    VMB_CPU_SPREAD,   /* separates vCPUs of one domain at no load cost */
    VMB_CPU_SMT,  /* off a core whose other thread is busy (or another domain's), to an idle core */
    VMB_CPU_NUMA, /* back to the node holding its domain's memory */
    VMB_CPU_PIN_TO, /* same place, pinned to its cpu.pin_to set instead (cpu-pinto.h) */
} VmbCpuReason;

/* A vCPU's place in a target placement. Zero-initialised: no target. */
typedef struct {
    gboolean set;
    guint pcpu;
    guint seq; /* order of its move in the target's walk */
    VmbCpuReason reason;
    double noise; /* the noise the target was searched on for this vCPU (kept whether it moves
                   * or not): a floor on detection's variance of its pCPU, 0 for none */
} VmbCpuTarget;

typedef struct {
    guint domain;        /* index of the owning domain: its vCPUs are spread */
    double load;         /* smoothed demand, percent of one pCPU (may exceed what it got) */
    double noise;        /* standard deviation of that estimate, percentage points */
    gint current;        /* host pCPU it is pinned to, -1 when floating */
    gboolean movable;    /* FALSE for excluded domains: counted where pinned, never moved */
    gboolean cooling;    /* moved in a recent cycle: left where it is */
    VmbCpuTarget target; /* where the last plan's target puts it, if that is still pending */
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
    guint settling;        /* the last plan's VmbCpuNext.settling */
} VmbCpuProblem;

typedef struct {
    double hysteresis; /* minimum gain in percent of one pCPU */
    guint max_moves;   /* pin changes per cycle for balance and spread (placement is free) */
} VmbCpuTunables;

typedef struct {
    guint item;
    gint from; /* -1 when floating */
    guint to;
    VmbCpuReason reason;
    double from_load, to_load; /* loads of the two pCPUs before the move */
    double gain;               /* how much the busier of the two pCPUs drops */
    gboolean paired;           /* the first half of a swap: the next move is the other half */
} VmbCpuMove;

/* What a plan leaves to the next one. */
typedef struct {
    VmbCpuTarget *targets; /* [n_items], or NULL: each vCPU's place in the target, set for
                            * those the target moves (made by this plan or still to make) */
    guint settling;        /* cycles left in which the target is refined on the hysteresis
                            * alone (the loads still converge after a change) */
} VmbCpuNext;

/* Returns the moves to make now, in order (GArray of VmbCpuMove), and fills @next (or not,
 * when NULL) for the next plan. */
GArray *vmb_cpu_plan_toward(const VmbCpuProblem *p, const VmbCpuTunables *t, VmbCpuNext *next);
/* The same without a target kept: one cycle's moves. */
GArray *vmb_cpu_plan(const VmbCpuProblem *p, const VmbCpuTunables *t);
/* Loads per host pCPU (background + items) for a placement (-1 = not counted). */
void vmb_cpu_loads(const VmbCpuProblem *p, const gint *placement, double *loads);
const char *vmb_cpu_reason_to_string(VmbCpuReason r);

/* ---- Memory home (cpu-numa-home.c) ----
 * The vCPU steps above never move memory: a domain whose memory node cannot hold it beside
 * the vCPUs already placed there stays split across nodes, though another node has room for
 * it whole. Then, as numad does, the domain's memory moves to that node and its vCPUs follow,
 * so that it is neither split nor remote. One domain at a time, at most one per interval: a
 * memory move copies the domain's memory between nodes, which costs far more than a pin.
 *
 * A node's room is counted in cores: each vCPU placed there needs min(1, load / 40) of one
 * (a vCPU from the policy's busy-thread load on wants a core of its own, lighter ones share);
 * a node offers the cores holding an allowed pCPU. A domain qualifies when its vCPUs run on
 * more than one node, all are movable, the caller allows it (VmbNumaHomeDomain.may_move), its
 * memory node cannot hold its need beside the others placed there, and another node can (and,
 * where the topology knows node memory, has the memory free). Among those the smallest moves
 * (memory, then need: the cheapest copy), to the node with the most room (lowest number on a
 * tie). */
typedef struct {
    gboolean may_move; /* managed, no operator numatune, not failing lately (the caller's) */
    guint64 mem_kib;   /* its memory, 0 unknown */
} VmbNumaHomeDomain;

typedef struct {
    const VmbCpuProblem *p;           /* topology, items, item_node and allowed pCPUs */
    const VmbNumaHomeDomain *domains; /* [n_domains], indexed by VmbCpuItem.domain */
    guint n_domains;
    gboolean stable;     /* no pin change planned, no target pending, settling over (set
                          * pins keep no target: vmb_pin_stable(), cpu-pinto.h) */
    double since_last_s; /* seconds since the last memory move (G_MAXDOUBLE: none yet) */
    guint interval_s;    /* [cpu] numa_move_interval; 0: never */
} VmbNumaHomeProblem;

typedef struct {
    guint domain;
    guint from, to;   /* dense node indexes */
    double need;      /* cores the domain needs */
    double room_from; /* cores its memory node has beside the others there */
    double room_to;   /* ... and the destination */
} VmbNumaHome;

/* Chooses the one domain whose memory should move now: TRUE and @out filled, with its vCPUs'
 * pins on the destination appended to @moves (VmbCpuMove, reason VMB_CPU_NUMA, busiest vCPU
 * first, each on the least loaded core there); FALSE when none. */
gboolean vmb_cpu_numa_home(const VmbNumaHomeProblem *hp, VmbNumaHome *out, GArray *moves);
