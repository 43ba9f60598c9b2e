/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the service manager learns about the daemon (sd_notify(3)): readiness, a one-line
 * status, reloads, the watchdog keep-alive and stopping. Without NOTIFY_SOCKET (not started
 * by systemd) every call does nothing. */
#pragma once

#include "status.h"

/* Called by the task driver (daemon.c) only; every STATUS= is built from the status model. */

/* Looks for NOTIFY_SOCKET and, when WatchdogSec= is set, sends WATCHDOG=1 from the main loop
 * every half interval: a loop that hangs stops sending it and systemd restarts the daemon. */
void vmb_sd_notify_attach(void);
void vmb_sd_notify_detach(void);

/* READY=1, once: call when the bus name is owned and the first hypervisor connection was
 * tried (vmb_dbus_service_new() owns the name synchronously, before vmb_daemon_run()). */
void vmb_sd_notify_ready(const VmbStatus *status);

/* STATUS= rebuilt from @status (domains, changes, last action, degraded reason); sent only
 * when it changed, and not before READY=1. */
void vmb_sd_notify_status(const VmbStatus *status);

/* RELOADING=1 before the configuration is re-read, READY=1 after, accepted or not. */
void vmb_sd_notify_reloading(void);
void vmb_sd_notify_reloaded(const VmbStatus *status);

/* STOPPING=1 as the main loop ends. */
void vmb_sd_notify_stopping(void);
