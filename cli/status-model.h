/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What vmbalancectl shows, decoded once from the daemon's replies and properties so that
 * the text and the JSON renderers read the same plain C values. Unknown numbers keep the
 * interface's convention: negative (or 0 for times) means not known yet. */
#pragma once

#include <glib.h>

#include "vmb-dbus.h"

typedef struct {
    const char *name; /* "cpu" or "memory" */
    gboolean enabled, paused;
    guint interval_s;
    guint64 cycles;
    guint64 last_cycle_us; /* 0: never */
} VmbCtlTask;

enum { VMB_CTL_TASK_CPU, VMB_CTL_TASK_MEMORY, VMB_CTL_N_TASKS };

/* The host as the last memory cycle saw it. */
typedef struct {
    gboolean known; /* FALSE before a memory cycle, or when the available memory is unknown */
    guint64 available_kib, reserve_kib;
    gint64 headroom_kib; /* may be negative */
    gboolean pressure;
} VmbCtlHostMemory;

typedef struct {
    guint32 cpu;
    double busy_percent, background_percent; /* < 0: not measured yet */
    gboolean allowed;                        /* cpu.cpus lets vCPUs be pinned there */
} VmbCtlPcpu;

/* TopologyLoad: per NUMA node and per core, percent of one CPU summed over their CPUs. */
typedef struct {
    gint32 node;
    guint32 ncpus;
    double load_percent; /* < 0: not measured yet */
} VmbCtlNodeLoad;

typedef struct {
    gint32 socket, node;
    char *cpus; /* "0,16" */
    double load_percent;
} VmbCtlCoreLoad;

typedef struct {
    guint32 vcpu;
    gint32 pcpu;         /* < 0: floating or on a set */
    double load_percent; /* < 0: not measured yet */
    char *cpus;          /* its pin as a CPU list ("3", "0,16"); "" floating */
} VmbCtlVcpu;

typedef struct {
    char *name, *uuid;
    gboolean excluded;
    GArray *vcpus;                                          /* VmbCtlVcpu */
    gint64 actual_kib, usable_kib, target_kib, maximum_kib; /* < 0: unknown */
} VmbCtlDomain;

typedef struct {
    char *version, *state, *uri;
    char *topology;     /* Topology property, "" before the first snapshot */
    char *state_reason; /* NULL unless the daemon gave one */
    gboolean dry_run;
    guint64 timestamp_us; /* when the statistics were taken; 0 before the first cycle */
    VmbCtlTask tasks[VMB_CTL_N_TASKS];
    guint64 pin_changes, memory_changes, errors;
    guint64 moves_helped, moves_failed; /* verdicts on balance and spread moves */
    VmbCtlHostMemory host_memory;
    GArray *pcpus;      /* VmbCtlPcpu */
    GArray *nodes;      /* VmbCtlNodeLoad, empty when the topology is unknown */
    GArray *cores;      /* VmbCtlCoreLoad, in core order */
    GPtrArray *domains; /* VmbCtlDomain */
    GStrv other_tools;  /* OtherTools: tools on the host that turn the same knobs */
    GStrv hands_off;    /* HandsOff: "domain: reason" */
} VmbCtlStatus;

/* Calls GetStatus and reads @proxy's cached properties; NULL with @error on failure. */
VmbCtlStatus *vmb_ctl_status_fetch(VmbManager1 *proxy, GError **error);
void vmb_ctl_status_free(VmbCtlStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbCtlStatus, vmb_ctl_status_free)

/* One vCPU pin change (kind "pin") or memory change (kind "memory"). */
typedef struct {
    guint64 time_us;
    const char *kind, *domain;
    guint32 vcpu;
    gint32 from_pcpu; /* < 0: the vCPU floated or was on a set */
    guint32 to_pcpu;
    const char *from_cpus, *to_cpus; /* the pins as CPU lists, "" floating (NULL: unknown) */
    guint64 old_kib, new_kib;
    const char *reason, *detail;
    gboolean dry_run;
} VmbCtlAction;

typedef struct {
    GVariant *reply; /* owns the actions' strings */
    GArray *actions; /* VmbCtlAction, oldest first */
} VmbCtlHistory;

/* Calls GetHistory for the last @count actions (0: all); NULL with @error on failure. */
VmbCtlHistory *vmb_ctl_history_fetch(VmbManager1 *proxy, guint count, GError **error);
void vmb_ctl_history_free(VmbCtlHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbCtlHistory, vmb_ctl_history_free)
