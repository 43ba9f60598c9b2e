/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The task driver: configuration, the hypervisor connection, one timer per task (re-armed
 * when its interval changes), reload, and the status model (status.h) it publishes after
 * each cycle and state change. The daemon's state is private: the bus service, sd_notify
 * and main.c read the status and the configuration through the functions below and act
 * through the commands. */
#pragma once

#include <glib.h>

#include "action.h"
#include "config.h"
#include "status.h"

typedef struct _VmbDaemon VmbDaemon;

/* Given each configuration read from the file (owned), returns the one to apply: the bus
 * layer puts the runtime overrides on top. */
typedef VmbConfig *(*VmbConfigFilter)(VmbConfig *loaded, gpointer user_data);
/* Called after anything the status shows changed (a cycle, pause, config, state), once the
 * status was published. */
typedef void (*VmbChangedFunc)(VmbDaemon *d, gpointer user_data);

/* Loads the configuration and picks the hypervisor backend (does not connect yet). */
VmbDaemon *vmb_daemon_new(const char *config_path, gboolean config_missing_ok,
                          const char *uri_override, gboolean dry_run, GError **error);
void vmb_daemon_free(VmbDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbDaemon, vmb_daemon_free)

/* Connects (or schedules the retry), arms the timers and runs the main loop until SIGTERM. */
int vmb_daemon_run(VmbDaemon *d);
/* Handles SIGTERM and SIGINT (stop) and SIGHUP (reload) from now on, on the main loop;
 * vmb_daemon_run() does it if this was not called. A SIGTERM that comes before the loop
 * runs (during the first cycles) stops it as soon as it does. */
void vmb_daemon_watch_signals(VmbDaemon *d);
void vmb_daemon_quit(VmbDaemon *d);

/* ---- what the daemon shows ---- */

/* The status model, current as of the last cycle or state change. */
const VmbStatus *vmb_daemon_status(const VmbDaemon *d);
/* The configuration in effect (runtime overrides included); valid until it is replaced. */
const VmbConfig *vmb_daemon_config(const VmbDaemon *d);
/* What a tunable's new @value must fit besides its syntax: the host as the last snapshot
 * showed it (cpu.housekeeping_cpus names only online CPUs of the host). TRUE without a
 * snapshot or for other keys; FALSE with a VMB_CONFIG_ERROR_BAD_VALUE @error naming the key
 * and the host's CPUs. */
gboolean vmb_daemon_check_tunable(const VmbDaemon *d, const char *key, const char *value,
                                  GError **error);
/* The hypervisor URI in use: --connect, else [daemon] uri. */
const char *vmb_daemon_uri(const VmbDaemon *d);
/* Other tools found on the host at start or the last reload, one sentence each (coexist.h). */
const char *const *vmb_daemon_other_tools(const VmbDaemon *d);
/* The hypervisor layer (domain-control.c writes a domain's metadata through it). */
typedef struct _VmbHypervisor VmbHypervisor;
VmbHypervisor *vmb_daemon_hypervisor(VmbDaemon *d);
/* Hands a domain whose foreign pins were respected back to the balancer (cpu.foreign_pins). */
gboolean vmb_daemon_release_foreign_pins(VmbDaemon *d, const char *uuid);
/* The same for a domain whose foreign balloon target was respected (memory.foreign_targets). */
gboolean vmb_daemon_release_foreign_targets(VmbDaemon *d, const char *uuid);

/* ---- commands (main.c, the bus service) ---- */

/* Re-reads the configuration file; on error the running settings stay. */
gboolean vmb_daemon_reload(VmbDaemon *d, GError **error);
/* Makes @config current (takes ownership): re-arms timers, reconnects on a new URI. */
void vmb_daemon_apply_config(VmbDaemon *d, VmbConfig *config);
/* Runs one cycle of @task now, whatever its timer says; FALSE when it could not read the
 * hypervisor (the status tells why). */
gboolean vmb_daemon_run_task(VmbDaemon *d, VmbTaskId task);
void vmb_daemon_set_paused(VmbDaemon *d, VmbTaskId task, gboolean paused);

/* ---- hooks (the bus service) ---- */

/* @func is called for each action, after it was logged and recorded in the status. */
void vmb_daemon_add_action_hook(VmbDaemon *d, VmbActionFunc func, gpointer data);
void vmb_daemon_remove_action_hook(VmbDaemon *d, VmbActionFunc func, gpointer data);
void vmb_daemon_set_config_filter(VmbDaemon *d, VmbConfigFilter func, gpointer data);
void vmb_daemon_set_changed_func(VmbDaemon *d, VmbChangedFunc func, gpointer data);
