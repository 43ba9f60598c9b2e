/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl status: the human view (load bars, domain table) and the --json document. */
#pragma once

#include <glib.h>

#include "vmb-dbus.h"

/* @status is GetStatus()'s reply (tuple "(ta(uddb)a(ssba(uid)(xxxx)))"); the scalar state
 * comes from @proxy's cached properties. */
void vmb_status_print_human(VmbManager1 *proxy, GVariant *status, gboolean unicode);
char *vmb_status_to_json(VmbManager1 *proxy, GVariant *status);

/* "2024-05-01 12:03:04" in local time, or "never" for 0. */
char *vmb_format_time(guint64 wall_us);
/* "1024 MiB" from KiB, "-" when unknown (< 0). */
char *vmb_format_kib(gint64 kib);
/* Pads @s with spaces to @width display columns (UTF-8 aware). */
void vmb_append_padded(GString *out, const char *s, guint width, gboolean right);
