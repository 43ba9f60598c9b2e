/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state and its main-loop wiring: configuration, the hypervisor connection,
 * one timer per task (re-armed when its interval changes), reload, and the counters the
 * status interface reports. */
#pragma once

#include <glib.h>

#include "action.h"
#include "config.h"
#include "cpu-task.h"
#include "mem-task.h"
#include "hypervisor.h"

typedef enum {
    VMB_TASK_CPU,
    VMB_TASK_MEMORY,
    VMB_N_TASKS,
} VmbTaskId;

typedef struct {
    const char *name; /* "cpu", "memory" */
    gboolean paused;
    guint interval_s; /* interval the timer is armed with */
    guint timer_id;
    gint64 last_run_us; /* wall clock of the last cycle, 0 = never */
    guint64 cycles;
} VmbTaskTimer;

typedef struct _VmbDaemon VmbDaemon;

/* Given each configuration read from the file (owned), returns the one to apply: the bus
 * layer puts the runtime overrides on top. */
typedef VmbConfig *(*VmbConfigFilter)(VmbConfig *loaded, gpointer user_data);
/* Called after anything the status interface shows changed: a cycle, pause, config, state. */
typedef void (*VmbChangedFunc)(VmbDaemon *d, gpointer user_data);

/* Called for each action, after it was logged (the bus layer hooks in here). */
typedef struct {
    VmbActionFunc func;
    gpointer data;
} VmbActionHook;

struct _VmbDaemon {
    char *config_path;
    gboolean config_missing_ok; /* the default path may be absent */
    char *uri_override;         /* --connect */
    gboolean dry_run;

    VmbConfig *config;
    VmbHypervisor *hv;
    GMainLoop *loop;
    VmbTaskTimer tasks[VMB_N_TASKS];
    VmbCpuTask cpu;
    VmbMemTask mem;
    VmbSnapshot *last_snapshot;
    char *degraded_reason; /* NULL while healthy */
    guint64 errors;
    GPtrArray *action_hooks; /* VmbActionHook* */
    guint signal_ids[3];
    guint mem_followup_id; /* one-shot memory cycle soon after a guest starved */
    VmbConfigFilter config_filter;
    gpointer config_filter_data;
    VmbChangedFunc changed_func;
    gpointer changed_data;
};

VmbDaemon *vmb_daemon_new(const char *config_path, gboolean config_missing_ok,
                          const char *uri_override, gboolean dry_run, GError **error);
void vmb_daemon_free(VmbDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbDaemon, vmb_daemon_free)

/* Connects (or schedules the retry), arms the timers and runs the main loop until SIGTERM. */
int vmb_daemon_run(VmbDaemon *d);
void vmb_daemon_quit(VmbDaemon *d);

/* Re-reads the configuration file; on error the running settings stay. */
gboolean vmb_daemon_reload(VmbDaemon *d, GError **error);
/* Makes @config current (takes ownership): re-arms timers, reconnects on a new URI. */
void vmb_daemon_apply_config(VmbDaemon *d, VmbConfig *config);
/* Runs one cycle of @task now, whatever its timer says. */
void vmb_daemon_run_task(VmbDaemon *d, VmbTaskId task);
void vmb_daemon_set_paused(VmbDaemon *d, VmbTaskId task, gboolean paused);
void vmb_daemon_add_action_hook(VmbDaemon *d, VmbActionFunc func, gpointer data);
void vmb_daemon_remove_action_hook(VmbDaemon *d, VmbActionFunc func, gpointer data);
void vmb_daemon_set_config_filter(VmbDaemon *d, VmbConfigFilter func, gpointer data);
void vmb_daemon_set_changed_func(VmbDaemon *d, VmbChangedFunc func, gpointer data);
const char *vmb_daemon_uri(const VmbDaemon *d);
