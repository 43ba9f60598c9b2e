/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The smoke checks: the benchmark ran and its numbers make sense (no timing is judged). */
#include "vmb-bench-priv.h"

#include <math.h>
#include <stdio.h>

gboolean
vmb_bench_sane(Bench *b)
{
    gboolean ok = TRUE;
    for (guint i = 0; b->did_cpu && i < b->cpu_traces->len; i++) {
        for (guint a = 0; a < N_CPU_ALGOS; a++) {
            const CpuResult *r = cpu_res(b, i, a);
            if (!r->ran || isnan(r->ratio_all) || r->ratio_all <= 0 || r->t->len == 0) {
                fprintf(stderr, "vmb-bench: cpu trace %u algorithm %u: no sane result\n", i, a);
                ok = FALSE;
            }
            /* Placements that pin cannot beat the bound by much (only floating vCPUs of
             * guests that just started can, while they float). */
            if (a != CPU_NOPIN && r->ratio_all < 0.95) {
                fprintf(stderr, "vmb-bench: cpu trace %u algorithm %u below the bound: %f\n", i, a,
                        r->ratio_all);
                ok = FALSE;
            }
        }
    }
    for (guint i = 0; b->did_mem && i < b->mem_traces->len; i++) {
        for (guint iv = 0; iv < N_MEM_INTERVALS; iv++) {
            for (guint a = 0; a < N_MEM_ALGOS; a++) {
                const MemResult *r = mem_res(b, i, iv, a);
                if (!r->ran || r->t->len == 0 || r->mean_held <= 0) {
                    fprintf(stderr, "vmb-bench: mem trace %u: no sane result\n", i);
                    ok = FALSE;
                }
            }
        }
    }
    if (!bench_topo_charge_ok())
        ok = FALSE;
    if (b->did_cost && (b->cost.dec[0].plan_steady.runs == 0 ||
                        b->cost.dec[1].plan_steady.runs == 0 || b->cost.cyc_total.runs == 0)) {
        fprintf(stderr, "vmb-bench: cost not measured\n");
        ok = FALSE;
    }
    return ok;
}
