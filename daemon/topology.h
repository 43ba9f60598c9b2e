/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's CPU topology as the placement policy sees it: per pCPU its socket, die, core,
 * NUMA node and last-level cache group, whether it is online and whether the host isolated
 * it; per node its memory and distances. Plain data, built once per connection by a shell
 * (topology-caps.c from libvirt's capabilities, host-sysfs.c for caches and isolated CPUs,
 * hv-fake from a scenario) and shared by reference between snapshots.
 *
 * Core, cache and node numbers are dense (0..ncores-1, ...): a core is one (socket, die,
 * core_id) triple, so the policy can index arrays by them. A flat topology (unknown host)
 * has one core per pCPU, one node and one cache group, and known == FALSE. */
#pragma once

#include <glib.h>

#include "cpuset.h"

typedef struct {
    gint socket, die, core_id; /* as the host reports them (-1 unknown) */
    guint core;                /* dense core index */
    guint node;                /* dense NUMA node index */
    guint cache;               /* dense last-level cache group index */
    gboolean online;
    gboolean isolated; /* /sys/devices/system/cpu/isolated or nohz_full */
} VmbPcpuTopo;

typedef struct {
    gint ref;
    gboolean known; /* FALSE: the flat fallback */
    guint npcpus;
    VmbPcpuTopo *cpu; /* [npcpus] */
    guint ncores, nnodes, ncaches, nsockets;
    guint max_threads; /* most threads of one core */
    guint *core_first; /* [ncores + 1] CSR into core_cpus */
    guint *core_cpus;  /* pCPUs grouped by core, ascending */
    gint *node_id;     /* [nnodes] the host's node number */
    guint64 *node_kib; /* [nnodes] memory, 0 unknown */
    guint *distance;   /* [nnodes * nnodes] SLIT distance, 0 unknown */
} VmbTopology;

/* Adds CPUs one by one, then builds: used by every reader. */
typedef struct _VmbTopologyBuilder VmbTopologyBuilder;
VmbTopologyBuilder *vmb_topology_builder_new(void);
void vmb_topology_builder_free(VmbTopologyBuilder *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbTopologyBuilder, vmb_topology_builder_free)
/* One online CPU; @node is the host's node number. FALSE when @cpu was added before or is
 * out of range (VMB_MAX_CPUS). */
gboolean vmb_topology_builder_cpu(VmbTopologyBuilder *b, guint cpu, gint socket, gint die,
                                  gint core_id, gint node);
/* A CPU the host lists without topology (offline). */
gboolean vmb_topology_builder_offline(VmbTopologyBuilder *b, guint cpu, gint node);
void vmb_topology_builder_node(VmbTopologyBuilder *b, gint node, guint64 kib);
void vmb_topology_builder_distance(VmbTopologyBuilder *b, gint from, gint to, guint value);
/* A cache group (CPUs sharing the last-level cache); later groups win for a CPU. */
void vmb_topology_builder_cache(VmbTopologyBuilder *b, const VmbCpuSet *cpus);
/* The topology of @npcpus pCPUs (at least every CPU added; CPUs never added are offline),
 * or NULL with @error when nothing was added or @npcpus is too small. */
VmbTopology *vmb_topology_builder_end(VmbTopologyBuilder *b, guint npcpus, GError **error);

/* One core per pCPU, one node, one cache group: what is assumed of an unknown host. */
VmbTopology *vmb_topology_new_flat(guint npcpus);
/* @sockets x @cores x @threads numbered as Linux does on x86: the first thread of every core
 * first (pCPU = thread * sockets * cores + socket * cores + core); @nodes nodes splitting the
 * cores evenly (whole sockets per node, or whole nodes per socket: sub-NUMA clustering); one
 * cache group per node. NULL with @error when the shape is invalid. */
VmbTopology *vmb_topology_new_grid(guint sockets, guint cores, guint threads, guint nodes,
                                   GError **error);
/* Splits the last-level cache groups of a grid into groups of @cores consecutive cores of one
 * node (AMD's core complexes share an L3 of 4 or 8 cores). FALSE with @error when @cores does
 * not divide every node's cores. */
gboolean vmb_topology_split_caches(VmbTopology *t, guint cores, GError **error);
VmbTopology *vmb_topology_ref(VmbTopology *t);
void vmb_topology_unref(VmbTopology *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbTopology, vmb_topology_unref)

/* Marks the CPUs of @set isolated (those beyond npcpus are ignored). */
void vmb_topology_isolate(VmbTopology *t, const VmbCpuSet *set);
/* The pCPUs of @pcpu's core (itself included), @n set to their count. */
const guint *vmb_topology_core_cpus(const VmbTopology *t, guint pcpu, guint *n);
/* Which pCPUs vCPUs may use: online, and either named by [cpu] cpus (@all FALSE, @set) or,
 * with cpus = all, not isolated. Returns how many. */
guint vmb_topology_allowed(const VmbTopology *t, gboolean all, const VmbCpuSet *set,
                           gboolean *allowed);
/* "2 sockets x 8 cores x 2 threads, 4 nodes" or "32 CPUs (topology unknown)". */
char *vmb_topology_describe(const VmbTopology *t);
