/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmbalancectl top`: the shell around top-view.c. On a terminal: the alternate screen, the
 * frame redrawn in place every interval and on a resize, keys read without echo, q quits;
 * the terminal is restored however it ends (q, Ctrl-C, SIGTERM, SIGHUP). Otherwise each
 * frame is printed after the last, and a signal ends it. */
#pragma once

#include <glib.h>

#include "vmb-dbus.h"

/* Runs until q, a signal or @iterations frames (0: no limit); EXIT_SUCCESS, or
 * EXIT_FAILURE when the frames cannot be written. */
int vmb_top_run(VmbManager1 *proxy, guint interval_s, guint iterations);
