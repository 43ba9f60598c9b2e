/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a process's memory lives, from /proc/PID/numa_maps: every mapping line lists its
 * pages per node ("N0=123 N1=45") in units of its kernelpagesize_kB. Pure: text in, KiB per
 * node out; the libvirt shell reads the file of a domain's QEMU process. */
#pragma once

#include <glib.h>

#include "topology.h"

/* Largest numa_maps text parsed (a big guest has some thousand mappings, ~100 bytes each). */
#define VMB_NUMA_MAPS_MAX (16u << 20)

#define VMB_NUMA_MAPS_ERROR (vmb_numa_maps_error_quark())
GQuark vmb_numa_maps_error_quark(void);
typedef enum {
    VMB_NUMA_MAPS_ERROR_INVALID,
} VmbNumaMapsError;

/* Adds the KiB per host node of @text (@len bytes) into @kib[@n]; nodes >= @n are counted
 * in the return value's *@ignored_kib (may be NULL). FALSE with @error naming the line when a
 * node field or the page size is not a number, or @text is larger than VMB_NUMA_MAPS_MAX. */
gboolean vmb_numa_maps_parse(const char *text, gsize len, guint64 *kib, guint n,
                             guint64 *ignored_kib, GError **error);

/* The host node holding the most of @kib[@n] (the lowest on a tie), -1 when all are 0. */
gint vmb_numa_maps_home(const guint64 *kib, guint n);

/* The dense index of host node number @node in @t (topology.h), -1 when @t has no such
 * node or @node < 0. */
gint vmb_numa_dense_node(const VmbTopology *t, gint node);
