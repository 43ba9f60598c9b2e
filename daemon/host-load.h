/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's own CPU load: busy time of a pCPU that the vCPUs we know of do not explain,
 * split into a part bound to that pCPU and a part that floats.
 *
 * Only the bound part decides where vCPUs go: floating work fills the room the placement
 * leaves, wherever that is, so counting it on the pCPU it happened to use makes a needed
 * move look useless (it leaves as the vCPU arrives).
 *
 * How the two are told apart, from the kernel's own accounting (/proc/stat):
 * - interrupts, softirqs and steal are bound: interrupt affinity puts them there, and steal
 *   is the hypervisor below taking that CPU. The simulated host reports its per-pCPU
 *   background this way.
 * - everything else floats: niced work (nice > 0) gets a smaller share than the vCPUs
 *   wherever it runs; QEMU's own emulator and I/O threads and ordinary host processes have
 *   the default affinity, and the kernel moves them to where there is room (QEMU's threads
 *   even follow the vCPUs they serve).
 * Tried and dropped: learning a process's binding from samples where a pCPU's vCPUs wanted
 * all of it while another had room. On the lab's TCG host QEMU's own threads stay next to
 * their busy vCPUs (wake-affine), read as bound, and a later cycle moved all four guests to
 * swap two equal halves. A process someone pinned next to vCPUs is the move-outcome check's
 * to find: a move onto its pCPU does not deliver, and that move is not tried again. */
#pragma once

#include <glib.h>

typedef struct {
    double busy;   /* busy percent of the pCPU over the last interval, < 0 unknown */
    double vm_run; /* percent the vCPUs pinned there ran */
    double irq;    /* percent interrupts, softirqs and steal used (part of busy) */
} VmbPcpuSample;

/* Smoothed load per pCPU that stays on it (percent), updated from one interval's @samples:
 * @bound has one entry per pCPU. @floating_vm is what vCPUs without a single pCPU ran,
 * percent: where it ran is not reported, so it is taken from each pCPU's unexplained time in
 * proportion. Returns the floating host load of this interval, percent of one pCPU summed
 * over the host. */
double vmb_host_load_update(double *bound, const VmbPcpuSample *samples, guint npcpus,
                            double floating_vm, double alpha);
