/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A value over time for the simulated host: "42" (constant) or "T:V T:V ..." points joined
 * linearly, constant before the first and after the last point. Two points at the same time
 * make a step: "0:100 30:100 30:20" is 100 until t=30, then 20. */
#pragma once

#include <glib.h>

/* The one way parsing fails; GLib's own domain, so that the policy code needs no GIO. */
#define VMB_SERIES_ERROR (vmb_series_error_quark())
GQuark vmb_series_error_quark(void);
typedef enum {
    VMB_SERIES_ERROR_INVALID,
} VmbSeriesError;

typedef struct {
    guint n;
    double *t;
    double *v;
} VmbSeries;

gboolean vmb_series_parse(const char *text, double min, double max, VmbSeries *out, GError **error);
void vmb_series_clear(VmbSeries *s);
double vmb_series_at(const VmbSeries *s, double t);
