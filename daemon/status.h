/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The status model: everything the daemon reports, in one place. The task timers' public
 * view, the counters, the host memory the last memory cycle saw, the degraded reason,
 * dry-run, the history of actions and, per domain of the last snapshot, where its vCPUs are
 * pinned now, their loads and its balloon figures with the last target we set.
 *
 * One writer: the task driver (daemon.c) records each action as it is reported and
 * publishes the rest after each cycle and state change. Readers (the D-Bus service,
 * sd_notify, a metrics writer) get a const VmbStatus from vmb_daemon_status() and read it
 * through the accessors below, never the tasks or the snapshot: what they show is what the
 * last publication said. */
#pragma once

#include <glib.h>

#include "action.h"
#include "domain-def.h"
#include "domain-policy.h"
#include "topology.h"

typedef enum {
    VMB_TASK_CPU,
    VMB_TASK_MEMORY,
    VMB_N_TASKS,
} VmbTaskId;

/* "cpu" or "memory": the task's name on the bus, in messages and in the configuration. */
const char *vmb_task_name(VmbTaskId task);

typedef struct {
    gboolean enabled;        /* cpu.enabled / memory.enabled */
    gboolean paused;         /* paused over the bus: its timer does not run */
    guint interval_s;        /* interval in effect */
    gint64 last_run_us;      /* wall clock of the last cycle tried, 0 = never */
    guint64 cycles;          /* cycles that could read the hypervisor, since start */
    gint64 last_duration_us; /* how long the last cycle took (monotonic), 0 = never */
} VmbTaskStatus;

typedef struct {
    guint64 available_kib; /* host MemAvailable at the last memory cycle, 0 = not known */
    guint64 reserve_kib;   /* what the coordinator keeps free on the host */
    gint64 headroom_kib;   /* available above the reserve (negative: short) */
    gboolean pressure;     /* the host was short of memory */
} VmbHostMemoryStatus;

typedef struct {
    guint64 pin_changes;    /* vCPU pins changed since start (dry-run changes nothing) */
    guint64 memory_changes; /* balloon targets set since start */
    guint64 errors;         /* failed reads of the hypervisor and refused changes */
    guint64 moves_helped;   /* balance and spread moves judged two cycles later: helped */
    guint64 moves_failed;   /* ... did not deliver half their predicted gain */
} VmbStatusCounters;

typedef struct {
    double busy;       /* percent of the pCPU busy over the last interval, -1 not measured */
    double background; /* smoothed load that is not a guest's, percent, -1 not measured */
    gboolean allowed;  /* in cpu.cpus: vCPUs may be pinned there */
} VmbPcpuStatus;

typedef struct {
    gint pcpu;   /* the pCPU it is pinned to now, -1 when floating or on a set */
    char *cpus;  /* a set pin (cpu.pin_to) as a CPU list, NULL for one pCPU or floating */
    double load; /* smoothed demand in percent of one pCPU, -1 not measured yet */
    double wait; /* run-queue wait over the last interval, percent, -1 not measured */
} VmbVcpuStatus;

typedef struct {
    char *name;
    char *uuid;
    gboolean excluded; /* matches [exclude]: never moved nor ballooned */
    guint nvcpus;
    VmbVcpuStatus *vcpus; /* [nvcpus] */
    gint64 actual_kib;    /* balloon figures, -1 when the guest does not report them */
    gint64 usable_kib;
    gint64 maximum_kib;
    gint64 target_kib; /* the last balloon target we set, -1 none (kept by the status) */

    /* Its own policy (domain-policy.h, domain-def.h) */
    VmbDomainPolicy metadata;  /* its vmbalance:policy element as last read */
    gboolean metadata_refused; /* ... was invalid: the host's settings apply */
    guint hands_off;           /* VmbHandsOff bits: its definition and state */
    VmbEffectivePolicy policy; /* what applies, and where each value came from */
} VmbDomainStatus;

/* The load of a NUMA node and of a core of the last snapshot (topo-load.h): the busy percent
 * of their online pCPUs summed, -1 not measured. Only for a known topology. */
typedef struct {
    gint node;   /* the host's node number */
    guint ncpus; /* its online pCPUs */
    double load;
} VmbNodeLoadStatus;

typedef struct {
    gint socket; /* as the host numbers it, -1 unknown */
    gint node;   /* the host's node number */
    char *cpus;  /* its pCPUs, "0,16" */
    double load;
} VmbCoreLoadStatus;

/* Changes made for one reason ("balance", "grow", ...), since start. */
typedef struct {
    VmbActionKind kind;
    const char *reason;
    guint64 count;
} VmbReasonCount;

typedef struct _VmbStatus VmbStatus;

/* ---- readers ---- */

const VmbTaskStatus *vmb_status_task(const VmbStatus *s, VmbTaskId task);
const VmbStatusCounters *vmb_status_counters(const VmbStatus *s);
const VmbHostMemoryStatus *vmb_status_host_memory(const VmbStatus *s);
/* Why the daemon cannot do its work (the hypervisor is gone, ...); NULL while healthy. */
const char *vmb_status_degraded_reason(const VmbStatus *s);
/* The daemon runs with --dry-run: actions are reported, not made. */
gboolean vmb_status_dry_run(const VmbStatus *s);

/* FALSE until a cycle read the hypervisor; then the last snapshot's view below. */
gboolean vmb_status_has_snapshot(const VmbStatus *s);
/* Wall clock the last snapshot was taken at, in µs; 0 without one. */
gint64 vmb_status_snapshot_wall_us(const VmbStatus *s);
/* The host's topology as the last snapshot showed it (vmb_topology_describe()), "" before. */
const char *vmb_status_topology(const VmbStatus *s);
/* Per node and per core (by dense core index) of the last snapshot; NULL and 0 without a
 * known topology. */
const VmbNodeLoadStatus *vmb_status_node_loads(const VmbStatus *s, guint *n);
const VmbCoreLoadStatus *vmb_status_core_loads(const VmbStatus *s, guint *n);
/* The host's pCPUs, numbered 0..@n-1 (NULL and 0 without a snapshot). */
const VmbPcpuStatus *vmb_status_pcpus(const VmbStatus *s, guint *n);
/* The host's CPU load that floats between pCPUs (host-load.h), percent of one pCPU summed
 * over the host; -1 not measured. */
double vmb_status_host_floating(const VmbStatus *s);
/* The running domains of the last snapshot, in its order. */
guint vmb_status_n_domains(const VmbStatus *s);
const VmbDomainStatus *vmb_status_domain(const VmbStatus *s, guint i);

/* The last actions, oldest first (at most VMB_STATUS_HISTORY_MAX); the strings of an entry
 * are never NULL. Valid until the next action is recorded. */
#define VMB_STATUS_HISTORY_MAX 1000
guint vmb_status_history_length(const VmbStatus *s);
const VmbAction *vmb_status_history_nth(const VmbStatus *s, guint i);
/* The newest action, NULL before the first. */
const VmbAction *vmb_status_last_action(const VmbStatus *s);

/* Changes made (not dry-run) by kind and reason, sorted by kind then reason; the counts
 * only grow and a reason once seen stays. */
guint vmb_status_n_reasons(const VmbStatus *s);
const VmbReasonCount *vmb_status_reason_nth(const VmbStatus *s, guint i);

/* ---- the writer: the task driver (daemon.c) only ---- */

VmbStatus *vmb_status_new(gboolean dry_run);
void vmb_status_free(VmbStatus *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbStatus, vmb_status_free)

/* Keeps @a in the history and counts it; a pin made joins the pins of the cycle under way
 * (shown once its snapshot is published, see below), a balloon target made is the domain's
 * target until it vanishes from a snapshot. */
void vmb_status_record_action(VmbStatus *s, const VmbAction *a);
/* A new snapshot became the last one: the pins of the cycle that took it were made after it
 * was taken, so the view shows them on top of it until the next snapshot. */
void vmb_status_settle_pins(VmbStatus *s);
/* Replaces the view of the last snapshot taken at @wall_us (takes @pcpus, a GArray of
 * VmbPcpuStatus, and @domains, a GPtrArray of VmbDomainStatus* freeing them). The vCPUs
 * show the settled pins on top of the snapshot's, the domains their targets; targets of
 * domains no longer running are forgotten. NULL arrays: no snapshot yet. */
void vmb_status_set_domains(VmbStatus *s, gint64 wall_us, GArray *pcpus, GPtrArray *domains);
void vmb_status_set_task(VmbStatus *s, VmbTaskId task, const VmbTaskStatus *view);
void vmb_status_set_host_memory(VmbStatus *s, const VmbHostMemoryStatus *m);
void vmb_status_set_host_floating(VmbStatus *s, double percent);
void vmb_status_set_topology(VmbStatus *s, const char *text);
/* The node and core loads of @t from @busy[@npcpus] (percent, < 0 unknown); @t NULL, not
 * known or not of @npcpus CPUs: none. */
void vmb_status_set_topology_load(VmbStatus *s, const VmbTopology *t, const double *busy,
                                  guint npcpus);
void vmb_status_add_errors(VmbStatus *s, guint64 n);
/* Adds a CPU cycle's verdicts on earlier moves (move-check.h). */
void vmb_status_add_move_outcomes(VmbStatus *s, guint64 helped, guint64 failed);
/* Sets (NULL clears) the degraded reason; TRUE when it changed. */
gboolean vmb_status_set_degraded(VmbStatus *s, const char *reason);

/* A domain's view with @nvcpus vCPUs, floating and not measured, no balloon figures. */
VmbDomainStatus *vmb_domain_status_new(const char *name, const char *uuid, guint nvcpus);
void vmb_domain_status_free(VmbDomainStatus *d);
