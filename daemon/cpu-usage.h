/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Utilization from cumulative counters: per vCPU (run time and, where the host reports it,
 * run-queue wait) and per pCPU busy time, as percent of one CPU over wall time, smoothed
 * with an EWMA so a single spike does not move anything. The first sample only measures. */
#pragma once

#include <glib.h>

#include "load-level.h"
#include "snapshot.h"

/* Percent of one CPU that @delta_ns of CPU time is over @wall_us; 0 if no time passed. */
double vmb_util_percent(guint64 prev_ns, guint64 cur_ns, gint64 wall_us);
/* Demand of a vCPU: what it ran plus what it waited to run, capped at one CPU. */
double vmb_util_demand(double run_percent, double wait_percent);
double vmb_ewma(double previous, double sample, double alpha);
/* Is @span_us since the last sample enough for a timed cycle of @interval_s to sample again?
 * At least half the interval: a few milliseconds of a vCPU thread's time say nothing of its
 * load. (GLib re-arms a timeout from the time its dispatch began, so a cycle that blocked
 * longer than its interval, at a reconnect, is followed at once by another.) */
gboolean vmb_util_span_enough(gint64 span_us, guint interval_s);
/* Updates an EWMA @mean and the exponentially weighted variance @var of the samples with
 * @sample, @previous being the sample before it. */
void vmb_ewma_var(double *mean, double *var, double previous, double sample, double alpha);

typedef struct {
    gboolean valid;      /* measured over at least one interval */
    double load;         /* smoothed demand, percent */
    double noise;        /* standard deviation of the smoothed load (how far it may be off) */
    double run;          /* percent it ran in the last interval */
    double demand;       /* percent it wanted in the last interval: ran plus waited */
    guint64 moved_cycle; /* cycle of the last pin change by us, 0 = never */
    VmbLoadLevel level;  /* what load and noise come from */
} VmbVcpuLoad;

typedef struct _VmbCpuUsage VmbCpuUsage;

VmbCpuUsage *vmb_cpu_usage_new(void);
void vmb_cpu_usage_free(VmbCpuUsage *u);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbCpuUsage, vmb_cpu_usage_free)

/* Feeds one snapshot; domains absent from it are forgotten. */
void vmb_cpu_usage_update(VmbCpuUsage *u, const VmbSnapshot *s, double alpha);
/* Number of updates so far. */
guint64 vmb_cpu_usage_cycle(const VmbCpuUsage *u);
/* NULL when the domain or vCPU is unknown. */
const VmbVcpuLoad *vmb_cpu_usage_vcpu(const VmbCpuUsage *u, const char *uuid, guint vcpu);
/* Busy percent of @pcpu over the last interval; FALSE when not measured. */
gboolean vmb_cpu_usage_pcpu(const VmbCpuUsage *u, guint pcpu, double *busy);
/* Percent of @pcpu that work bound to it used over the last interval (interrupts, softirqs,
 * steal; 0 when unknown). */
double vmb_cpu_usage_pcpu_bound(const VmbCpuUsage *u, guint pcpu);
void vmb_cpu_usage_mark_moved(VmbCpuUsage *u, const char *uuid, guint vcpu);
void vmb_cpu_usage_forget(VmbCpuUsage *u, const char *uuid);
