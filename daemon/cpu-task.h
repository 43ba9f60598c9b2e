/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU balancer's cycle: measure (cpu-usage), judge the moves of two cycles ago
 * (move-check), build the problem, plan (cpu-policy) away from the destinations that did not
 * deliver lately, apply the moves through the hypervisor layer and report each one. */
#pragma once

#include "action.h"
#include "config.h"
#include "cpu-numa-task.h"
#include "cpu-usage.h"
#include "foreign-pins.h"
#include "housekeeping-task.h"
#include "host-load.h"
#include "hypervisor.h"
#include "move-check.h"

typedef struct {
    guint npcpus;
    double *busy;       /* [npcpus] measured busy percent, last interval (-1 unknown) */
    double *background; /* [npcpus] smoothed non-VM load bound to each pCPU (host-load.h) */
    double floating;    /* non-VM load that floats, percent summed over the host */
} VmbCpuHostView;

typedef struct {
    VmbCpuUsage *usage;
    VmbCpuHostView host;
    GHashTable *dry_reported; /* "uuid/vcpu" -> pCPU last reported in dry-run */
    VmbMoveCheck *check;      /* the balance and spread moves made, until judged */
    VmbForeignPins *foreign;  /* pins someone else made (cpu.foreign_pins) */
    GHashTable *targets;      /* uuid -> GArray of VmbCpuTarget by vCPU: the walk still to do */
    guint settling;           /* cycles of settling left after a change (cpu-policy.h) */
    guint set_quiet;          /* cpu.pin_to sets: plans in a row with no pin change */
    VmbHousekeeping *hk;      /* emulator and IOThread pins (cpu.housekeeping_cpus) */
    VmbNumaTask numa;         /* memory moves of split domains (cpu.numa_move_interval) */
    /* counters since start */
    guint64 cycles;
    guint64 pin_changes;
    guint64 errors;
    guint64 moves_helped; /* judged moves that delivered half their predicted gain */
    guint64 moves_failed; /* ... that did not */
} VmbCpuTask;

typedef struct {
    guint planned;
    guint applied;
    guint failed;
    gboolean measured_only; /* first sight: nothing planned */
    guint moves_helped;     /* verdicts given this cycle on earlier moves (move-check.h) */
    guint moves_failed;
} VmbCpuCycleResult;

/* cpu.max_moves in effect on a host with @n_allowed pCPUs (0 = max(8, pCPUs / 2)). */
guint vmb_cpu_task_max_moves(const VmbConfig *c, guint n_allowed);
void vmb_cpu_task_init(VmbCpuTask *t);
void vmb_cpu_task_clear(VmbCpuTask *t);
/* Forgets what the task knows of domain @uuid (it stopped): loads, checks, blocked moves. */
void vmb_cpu_task_forget(VmbCpuTask *t, const char *uuid);
/* One cycle on snapshot @s. With @dry_run the moves are reported, not made. */
void vmb_cpu_task_run(VmbCpuTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                      gboolean dry_run, VmbActionFunc report, gpointer report_data,
                      VmbCpuCycleResult *result);
