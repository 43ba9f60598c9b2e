/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-load.h"

#include "cpu-usage.h"

/* pCPUs whose own vCPUs leave room for other work: where floating work can go. */
static guint
count_roomy(const VmbPcpuSample *samples, guint npcpus)
{
    guint n = 0;
    for (guint c = 0; c < npcpus; c++)
        n += samples[c].busy >= 0 && samples[c].vm_demand < VMB_HOST_LOAD_ROOMY;
    return n;
}

/* The bound part of @unexplained percent of process load on a pCPU (see host-load.h).
 * @escape: floating work could have left it for a pCPU with room. */
static double
next_learned(VmbPcpuHostLoad *st, const VmbPcpuSample *s, double unexplained, gboolean escape,
             double alpha)
{
    gboolean saturated = s->vm_demand >= VMB_HOST_LOAD_SATURATED;
    gboolean contended = s->vm_demand - s->vm_run >= VMB_HOST_LOAD_CONTENDED;
    if ((saturated || contended) && escape) {
        st->evidence++;
        return vmb_ewma(st->learned, unexplained, alpha);
    }
    return vmb_ewma(st->learned, MIN(unexplained, st->learned), alpha);
}

double
vmb_host_load_update(VmbPcpuHostLoad *state, const VmbPcpuSample *samples, guint npcpus,
                     double floating_vm, double alpha)
{
    double unexplained = 0;
    for (guint c = 0; c < npcpus; c++) {
        if (samples[c].busy >= 0)
            unexplained += MAX(0, samples[c].busy - samples[c].vm_run);
    }
    double keep = unexplained > floating_vm ? 1 - floating_vm / unexplained : 0;
    double floating = 0;
    guint roomy = count_roomy(samples, npcpus);
    for (guint c = 0; c < npcpus; c++) {
        const VmbPcpuSample *s = &samples[c];
        if (s->busy < 0)
            continue;
        double u = MAX(0, s->busy - s->vm_run) * keep;
        double irq = MIN(u, s->irq);
        double niced = MIN(u - irq, s->niced);
        double rest = u - irq - niced;
        gboolean escape = roomy > (s->vm_demand < VMB_HOST_LOAD_ROOMY);
        state[c].learned = next_learned(&state[c], s, rest, escape, alpha);
        state[c].irq = vmb_ewma(state[c].irq, irq, alpha);
        state[c].bound = state[c].irq + state[c].learned;
        floating += niced + MAX(0, rest - state[c].learned);
    }
    return floating;
}
