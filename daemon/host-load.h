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
 * - Time the kernel accounts to interrupts, softirqs and steal is bound (interrupt affinity;
 *   the hypervisor below took that CPU): the simulated host reports its background there.
 * - Time the kernel counts as niced (nice > 0) floats: the scheduler gives such work a
 *   smaller share than the vCPUs (nice 0) wherever it runs, and next to nothing at the
 *   levels used for background jobs (10-19). An operator who renices QEMU itself makes
 *   this part overestimated; it never exceeds the unexplained time.
 * - For the rest, evidence: when the vCPUs pinned to a pCPU want all of it (saturated) or
 *   wait to run there (contended), while another pCPU has room, a process bound to that
 *   pCPU keeps its share, while floating work would have gone to the pCPU with room. Samples
 *   taken then measure the bound part. (With no room anywhere floating work cannot leave,
 *   and the sample says nothing.)
 * - Between such samples the estimate may fall, never rise: the non-VM load there may be
 *   floating work in the room the vCPUs leave. Without any evidence, non-VM load floats:
 *   on a KVM host most of it is QEMU's own emulator and I/O threads and ordinary processes,
 *   none of them pinned. A process pinned to a pCPU without vCPUs is found when a vCPU
 *   placed there has to wait; the next cycle moves the vCPU away again. */
#pragma once

#include <glib.h>

/* The vCPUs on a pCPU want at least this percent of it: saturated. */
#define VMB_HOST_LOAD_SATURATED 95.0
/* ... less than this: room for other work. */
#define VMB_HOST_LOAD_ROOMY 85.0
/* The vCPUs on a pCPU waited at least this percent of the interval in all: contended. */
#define VMB_HOST_LOAD_CONTENDED 10.0

typedef struct {
    double busy;      /* busy percent of the pCPU over the last interval, < 0 unknown */
    double vm_run;    /* percent the vCPUs pinned there ran */
    double vm_demand; /* percent they wanted: ran plus waited to run */
    double niced;     /* percent niced processes used (part of busy), 0 when unknown */
    double irq;       /* percent interrupts, softirqs and steal used (part of busy) */
} VmbPcpuSample;

typedef struct {
    double bound;     /* smoothed non-VM load that stays on this pCPU, percent: irq + learned */
    double irq;       /* ... of it, interrupts, softirqs and steal */
    double learned;   /* ... of it, processes found bound by evidence */
    guint64 evidence; /* samples that showed the bound part (saturated or contended) */
} VmbPcpuHostLoad;

/* Updates @state (one per pCPU) with one interval's @samples.
 * @floating_vm is what vCPUs without a single pCPU ran, percent: where it ran is not
 * reported, so it is taken from each pCPU's unexplained time in proportion. Returns the
 * floating non-VM load of this interval, percent of one pCPU summed over the host. */
double vmb_host_load_update(VmbPcpuHostLoad *state, const VmbPcpuSample *samples, guint npcpus,
                            double floating_vm, double alpha);
