/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Readers of /sys/devices/system/cpu for a local host: the CPUs the kernel isolated
 * (`isolated` from isolcpus=, `nohz_full`) and the last-level cache groups
 * (cpuN/cache/indexK/level and shared_cpu_list, the highest level per CPU).
 *
 * @root is prepended to every path ("" or "/" for the real host; a fixture directory in the
 * tests). Absent files are not errors (older kernels, containers without /sys): nothing is
 * marked. A file that is there but does not parse fails with its path and content. */
#pragma once

#include <glib.h>

#include "topology.h"

/* Marks @t's isolated CPUs and replaces its cache groups with those /sys reports (when it
 * reports any). */
gboolean vmb_host_sysfs_apply(const char *root, VmbTopology *t, GError **error);
/* The CPU lists of @root's isolated and nohz_full files, merged into @set. */
gboolean vmb_host_sysfs_isolated(const char *root, VmbCpuSet *set, GError **error);
