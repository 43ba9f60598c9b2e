/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory coordinator's cycle: turn balloon statistics on, keep a short history per
 * domain (consumption rate, our last target), build the problem, plan (mem-policy), set the
 * balloon targets through the hypervisor layer and report each one. */
#pragma once

#include "action.h"
#include "config.h"
#include "foreign-targets.h"
#include "hypervisor.h"
#include "mem-policy.h"

typedef struct {
    GHashTable *doms;           /* uuid -> per-domain history (private) */
    VmbForeignTargets *foreign; /* targets someone else set (memory.foreign_targets) */
    /* the host's own use (what guest actuals do not explain), to anticipate its growth */
    gboolean have_host;
    gint64 host_mono_us;
    double host_other_kib;
    double host_actual_kib;   /* sum of guest actuals at that sample */
    gboolean host_all_rss;    /* every guest's QEMU RSS was known then */
    double host_rate;         /* KiB/s, smoothed */
    double host_peak_kib;     /* its recent peak (QEMU RSS known for every guest) ... */
    gint64 host_peak_mono_us; /* ... and when, 0 = none */
    guint64 host_held_kib;    /* of the last growth figure: what they gave back, held for them */
    /* the host as the last cycle saw it (0 / FALSE before the first) */
    guint64 last_available_kib, last_reserve_kib;
    gint64 last_headroom_kib;
    gboolean last_pressure;
    /* counters since start */
    guint64 cycles;
    guint64 changes; /* balloon targets set */
    guint64 errors;
} VmbMemTask;

typedef struct {
    guint managed; /* domains the policy could act on */
    guint planned; /* changes the policy asked for */
    guint applied; /* made (or reported in dry-run) */
    guint failed;
    guint starving;      /* guests below their band (grown, or short of host memory) */
    guint stats_enabled; /* guests whose balloon statistics were just turned on */
    guint unmeasured;    /* managed guests whose consumption rate is not known yet */
    gboolean pressure;
    gint64 headroom_kib;
} VmbMemCycleResult;

void vmb_mem_task_init(VmbMemTask *t);
void vmb_mem_task_clear(VmbMemTask *t);
/* A domain appeared or vanished: its history (rate, last target) no longer applies, and its
 * balloon statistics are turned on again at its next cycle. */
void vmb_mem_task_forget(VmbMemTask *t, const char *uuid);
/* After a (re)connection: turn balloon statistics on again for every domain. */
void vmb_mem_task_reconnected(VmbMemTask *t);
/* One cycle on snapshot @s. With @dry_run the changes are reported, not made. */
void vmb_mem_task_run(VmbMemTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                      gboolean dry_run, VmbActionFunc report, gpointer report_data,
                      VmbMemCycleResult *result);
/* Seconds until the next cycle should run after @r instead of a whole interval, 0 for the
 * normal schedule: while a guest starves, or a new guest's statistics or consumption rate
 * are not known yet, as soon as fresh statistics can show the effect of this cycle. */
guint vmb_mem_task_followup(const VmbConfig *c, const VmbMemCycleResult *r);
/* The smoothed consumption rate of a domain in KiB/s; FALSE when not measured yet. */
gboolean vmb_mem_task_rate(const VmbMemTask *t, const char *uuid, double *rate_kib_s);
