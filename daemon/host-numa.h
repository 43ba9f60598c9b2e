/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NUMA node holding most of a local QEMU guest's memory: libvirt's pid file
 * ROOT/run/libvirt/qemu/NAME.pid, the process checked to be that guest's QEMU (its command
 * line has guest=NAME, so a stale pid file naming a reused pid is not believed), then
 * ROOT/proc/PID/numa_maps (numa-maps.h). @root is "/" in the daemon, a fixture tree in tests. */
#pragma once

#include <glib.h>

#include "topology.h"

/* The dense node (of @t) with the most of @name's QEMU memory; -1 with no @error when the
 * guest has no pid file or it names another process (not a QEMU guest of this host), -1 with
 * @error when the process's /proc entries (cmdline, numa_maps) cannot be read or parsed. */
gint vmb_host_numa_node(const char *root, const char *name, const VmbTopology *t, GError **error);
