/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The housekeeping rule ([cpu] housekeeping_cpus): QEMU's emulator threads and IOThreads of
 * every managed domain are pinned to these CPUs, so they stop landing next to busy vCPUs.
 * Pure: which CPUs vCPUs may then use, whether the list fits the host, and where the
 * emulator threads' measured load is counted. The shell is housekeeping-task.c. */
#pragma once

#include <glib.h>

#include "cpuset.h"
#include "topology.h"

#define VMB_HK_ERROR (vmb_hk_error_quark())
GQuark vmb_hk_error_quark(void);
typedef enum {
    VMB_HK_ERROR_NOT_ON_HOST,
} VmbHkError;

/* Takes the CPUs of @hk out of @allowed[@npcpus], except those cpu.cpus names explicitly
 * (@cpus_all FALSE and in @cpus): vCPUs then run elsewhere. Returns how many stay allowed. */
guint vmb_hk_restrict(gboolean *allowed, guint npcpus, const VmbCpuSet *hk, gboolean cpus_all,
                      const VmbCpuSet *cpus);

/* FALSE with @error naming cpu.housekeeping_cpus and the host's online CPUs when @hk names a
 * CPU the host does not have or that is offline (@t may be NULL: CPUs 0..@npcpus-1). */
gboolean vmb_hk_check(const VmbCpuSet *hk, guint npcpus, const VmbTopology *t, GError **error);

/* What a domain ran outside its vCPUs (emulator threads, IOThreads) over an interval, in
 * percent of one pCPU: the growth of cpu.time minus that of the vCPU times over @dt_us.
 * 0 when a counter went back (a restart) or the interval is empty. */
double vmb_hk_other_load(guint64 cpu_then, guint64 vcpus_then, guint64 cpu_now, guint64 vcpus_now,
                         gint64 dt_us);

/* Adds @load (percent of one pCPU) to @bound[@npcpus], evenly over the CPUs of @hk below
 * @npcpus: threads pinned to a set can run on any CPU of it, so each carries a share.
 * Nothing when @hk has none of them. */
void vmb_hk_spread(const VmbCpuSet *hk, guint npcpus, double load, double *bound);
