/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The load of a topology's NUMA nodes and cores: the busy percent of their online pCPUs
 * summed (a 2-thread core runs up to 200, a node of 8 CPUs up to 800). Pure: the status
 * shows it (vmbalancectl status, the TopologyLoad property, the metrics file). */
#pragma once

#include <glib.h>

#include "topology.h"

/* Fills @node_load[@t->nnodes] and @core_load[@t->ncores] from @busy[@npcpus] (percent per
 * pCPU, < 0 not measured). A node or core with no measured online pCPU gets -1; offline
 * pCPUs and those beyond @npcpus count nowhere. */
void vmb_topo_load(const VmbTopology *t, const double *busy, guint npcpus, double *node_load,
                   double *core_load);
