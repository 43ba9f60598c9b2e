/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-load.h"

#include "cpu-usage.h"

double
vmb_host_load_update(double *bound, const VmbPcpuSample *samples, guint npcpus, double floating_vm,
                     double alpha)
{
    double unexplained = 0;
    for (guint c = 0; c < npcpus; c++) {
        if (samples[c].busy >= 0)
            unexplained += MAX(0, samples[c].busy - samples[c].vm_run);
    }
    double keep = unexplained > floating_vm ? 1 - floating_vm / unexplained : 0;
    double floating = 0;
    for (guint c = 0; c < npcpus; c++) {
        const VmbPcpuSample *s = &samples[c];
        if (s->busy < 0)
            continue;
        double u = MAX(0, s->busy - s->vm_run) * keep;
        double irq = MIN(u, s->irq);
        bound[c] = vmb_ewma(bound[c], irq, alpha);
        floating += u - irq;
    }
    return floating;
}
