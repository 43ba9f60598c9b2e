/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl's human views: status (load bars, domain table) and action lines. */
#pragma once

#include <glib.h>

#include "status-model.h"

/* Prints the status on stdout; @unicode draws the load bars with block characters. */
void vmb_status_print_human(const VmbCtlStatus *status, gboolean unicode);
/* One line on stdout, as history and monitor show an action. */
void vmb_action_print(const VmbCtlAction *action);

/* The parts of the status view, for a view that lays them out itself (top): the daemon,
 * tasks, counters, host memory and pCPU load bars; then the domain table. */
void vmb_status_append_summary(GString *out, const VmbCtlStatus *status, gboolean unicode);
void vmb_status_append_domains(GString *out, const VmbCtlStatus *status);
/* An action as vmb_action_print() shows it, without the newline. */
char *vmb_action_format(const VmbCtlAction *action);

/* "2024-05-01 12:03:04" in local time, or "never" for 0. */
char *vmb_format_time(guint64 wall_us);
/* "1024 MiB" from KiB, "-" when unknown (< 0). */
char *vmb_format_kib(gint64 kib);
/* Pads @s with spaces to @width display columns (UTF-8 aware). */
void vmb_append_padded(GString *out, const char *s, guint width, gboolean right);
