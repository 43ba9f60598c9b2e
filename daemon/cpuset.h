/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A set of host CPU numbers, parsed from and printed as "0-3,8,10-11". */
#pragma once

#include <glib.h>

#define VMB_MAX_CPUS 4096

/* The one way parsing fails; GLib's own domain, so that the policy code needs no GIO. */
#define VMB_CPUSET_ERROR (vmb_cpuset_error_quark())
GQuark vmb_cpuset_error_quark(void);
typedef enum {
    VMB_CPUSET_ERROR_INVALID,
} VmbCpuSetError;

typedef struct {
    guint64 bits[VMB_MAX_CPUS / 64];
} VmbCpuSet;

void vmb_cpuset_clear(VmbCpuSet *set);
void vmb_cpuset_add(VmbCpuSet *set, guint cpu);
gboolean vmb_cpuset_has(const VmbCpuSet *set, guint cpu);
guint vmb_cpuset_count(const VmbCpuSet *set);
gboolean vmb_cpuset_is_empty(const VmbCpuSet *set);
gboolean vmb_cpuset_equal(const VmbCpuSet *a, const VmbCpuSet *b);
/* The lowest CPU of @set, -1 when it is empty. */
gint vmb_cpuset_first(const VmbCpuSet *set);
/* Accepts "all", or a list of N and N-M ranges. Fails with a message on anything else. */
gboolean vmb_cpuset_parse(const char *text, VmbCpuSet *set, gboolean *all, GError **error);
char *vmb_cpuset_format(const VmbCpuSet *set);
