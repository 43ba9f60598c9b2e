/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by config.c and the files it was split into (config-keys.c, config-value.c), and
 * private to them. */
#pragma once

#include <glib.h>

/* @v as the key table and vmb_config_get() write it: "5", "0.5". */
char *vmb_config_format_number(double v);
/* A finite number in @min..@max, the whole of @s. */
gboolean vmb_config_parse_double(const char *s, double min, double max, double *out);
