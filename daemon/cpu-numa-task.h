/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shell around the memory-home rule (cpu-policy.h, cpu-numa-home.c): which domains it may
 * move (not bound by the operator's numatune, not failing lately), when ([cpu]
 * numa_move_interval on the snapshot clock), the hypervisor request and its journal record.
 * The vCPU pins that follow are the CPU task's to make. */
#pragma once

#include "action.h"
#include "config.h"
#include "cpu-policy.h"
#include "hypervisor.h"

typedef struct {
    gint64 last_us;     /* snapshot clock of the last move (or dry-run report), 0 none */
    GHashTable *ours;   /* uuid -> node + 1 its memory was moved to by us */
    GHashTable *failed; /* uuid -> snapshot clock of its last failed move */
    guint64 moves;      /* memory moves made since start */
    guint64 errors;
} VmbNumaTask;

void vmb_numa_task_init(VmbNumaTask *t);
void vmb_numa_task_clear(VmbNumaTask *t);
void vmb_numa_task_forget(VmbNumaTask *t, const char *uuid);
/* Asks the rule on problem @p (its items' domains index @s->domains) whether one domain's
 * memory should move now and, unless @dry_run, moves it; TRUE when it did (or would), with the
 * vCPU pins that follow appended to @moves (one pCPU each; with cpu.pin_to sets the caller
 * maps them to the sets). @stable: the vCPU plan made and keeps no move (with sets:
 * vmb_pin_stable()). */
gboolean vmb_numa_task_run(VmbNumaTask *t, VmbHypervisor *hv, const VmbSnapshot *s,
                           const VmbConfig *c, const VmbCpuProblem *p, gboolean stable,
                           gboolean dry_run, GArray *moves);
