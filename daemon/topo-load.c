/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "topo-load.h"

void
vmb_topo_load(const VmbTopology *t, const double *busy, guint npcpus, double *node_load,
              double *core_load)
{
    for (guint i = 0; i < t->nnodes; i++)
        node_load[i] = -1;
    for (guint i = 0; i < t->ncores; i++)
        core_load[i] = -1;
    for (guint p = 0; p < t->npcpus && p < npcpus; p++) {
        const VmbPcpuTopo *c = &t->cpu[p];
        if (!c->online || busy[p] < 0)
            continue;
        /* -1 means "none measured": the first measured pCPU starts the sum at 0 */
        node_load[c->node] = MAX(node_load[c->node], 0) + busy[p];
        core_load[c->core] = MAX(core_load[c->core], 0) + busy[p];
    }
}
