/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's own CPU load: busy time of a pCPU that the vCPUs we know of do not explain,
 * split into a part bound to that pCPU (interrupts, per-CPU kernel threads, a process
 * someone pinned) and a part that floats (a build, a backup: ordinary processes the kernel
 * moves to wherever there is room, or niced ones that yield to vCPUs).
 *
 * Only the bound part decides where vCPUs go: floating work fills the room the placement
 * leaves, wherever that is, so counting it on the pCPU it happened to use makes a needed
 * move look useless (it would leave as the vCPU arrives).
 *
 * How the two are told apart:
 * - Time the kernel counts as niced (nice > 0) floats: the scheduler gives such work a
 *   smaller share than the vCPUs (nice 0) wherever it runs, and next to nothing at the
 *   levels used for background jobs (10-19). An operator who renices QEMU itself makes
 *   this part overestimated; it never exceeds the unexplained time.
 * - For the rest: when the vCPUs pinned to a pCPU alone want all of it (saturated) and
 *   another pCPU has room, a process bound there keeps its fair share, while floating work
 *   has gone to the pCPU with room. Samples taken then measure the bound part. (With no
 *   room anywhere, floating work stays where it is and the sample says nothing.) Between such
 * samples the non-VM load may be floating work in the room the vCPUs leave: the estimate may fall,
 * never rise.
 * - A pCPU without a saturated sample in the last VMB_HOST_LOAD_EVIDENCE_CYCLES cycles
 *   counts all of its non-niced non-VM load as bound (the cautious reading: the balancer
 *   then avoids it, as it always did). */
#pragma once

#include <glib.h>

/* Cycles a saturated sample speaks for a pCPU's bound load. */
#define VMB_HOST_LOAD_EVIDENCE_CYCLES 60
/* The vCPUs on a pCPU want at least this percent of it: saturated. */
#define VMB_HOST_LOAD_SATURATED 95.0
/* ... less than this: room for other work. */
#define VMB_HOST_LOAD_ROOMY 85.0

typedef struct {
    double busy;      /* busy percent of the pCPU over the last interval, < 0 unknown */
    double vm_run;    /* percent the vCPUs pinned there ran */
    double vm_demand; /* percent they wanted: ran plus waited to run */
    double niced;     /* percent niced processes used (part of busy), 0 when unknown */
} VmbPcpuSample;

typedef struct {
    double bound;            /* smoothed non-VM load that stays on this pCPU, percent */
    guint64 saturated_cycle; /* last cycle its vCPUs alone wanted all of it, 0 = never */
} VmbPcpuHostLoad;

/* Updates @state (one per pCPU) with one interval's @samples at @cycle (counted from 1).
 * @floating_vm is what vCPUs without a single pCPU ran, percent: where it ran is not
 * reported, so it is taken from each pCPU's unexplained time in proportion. Returns the
 * floating non-VM load of this interval, percent of one pCPU summed over the host. */
double vmb_host_load_update(VmbPcpuHostLoad *state, const VmbPcpuSample *samples, guint npcpus,
                            double floating_vm, guint64 cycle, double alpha);
