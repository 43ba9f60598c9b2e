/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The topology bench's model (described at the top of topo.c): the fluid-core and
 * random-overlap charges of a record's placement, the kernel's placement of floating and
 * set-pinned vCPUs, and the charge's self-check. */
#include "topo-private.h"

#include <math.h>
#include <stdio.h>

const char *const topo_charge_names[N_CHARGES] = {"fluid core", "random overlap"};

void
bench_topo_fluid_core(double w1, double w2, double smt_gain, double *p1, double *p2)
{
    double g1 = (1 + smt_gain) / 2, k = (1 - smt_gain) / (1 + smt_gain);
    double m = MIN(w1, w2), M = MAX(w1, w2);
    double light = MIN(m, g1), heavy = MIN(M, 1 - k * light);
    *p1 = w1 <= w2 ? light : heavy;
    *p2 = w1 <= w2 ? heavy : light;
}

/* The progress of each thread of the core that holds pCPU @cpus[0..@n) from their use @u, into
 * @prog (fractions of one thread). */
static void
core_progress(const Model *m, const guint *cpus, guint n, const double *u, double *prog)
{
    if (n == 1) {
        prog[cpus[0]] = u[cpus[0]];
    } else if (m->charge == CHARGE_FLUID) {
        g_assert(n == 2); /* the bench's hosts have two threads a core */
        bench_topo_fluid_core(u[cpus[0]], u[cpus[1]], m->smt_gain, &prog[cpus[0]], &prog[cpus[1]]);
    } else {
        double U = 0, prod = 1;
        for (guint k = 0; k < n; k++) {
            U += u[cpus[k]];
            prod *= u[cpus[k]];
        }
        double f = U > 0 ? (U - prod * (1 - m->smt_gain)) / U : 1;
        for (guint k = 0; k < n; k++)
            prog[cpus[k]] = u[cpus[k]] * f;
    }
}

/* Work delivered per vCPU for placement @p (every vCPU on a pCPU); fills @work, and @u with
 * each pCPU's use (its demand, up to 1). */
void
topo_charge(const TTrace *t, const Rec *r, const gint *p, const Model *m, double *work, double *u)
{
    const VmbTopology *tp = t->topo;
    g_autofree double *sum = g_new0(double, tp->npcpus);
    g_autofree double *prog = g_new0(double, tp->npcpus);
    for (guint i = 0; i < t->n; i++)
        sum[p[i]] += r->dem[i];
    for (guint c = 0; c < tp->npcpus; c++)
        u[c] = MIN(1.0, sum[c] / 100.0);
    for (guint core = 0; core < tp->ncores; core++)
        core_progress(m, tp->core_cpus + tp->core_first[core],
                      tp->core_first[core + 1] - tp->core_first[core], u, prog);
    for (guint i = 0; i < t->n; i++) {
        guint c = (guint) p[i];
        /* the thread's progress in proportion to demand: max-min fair would differ only on a
         * thread served less than its demand whose vCPUs' demands differ; the bench's vCPUs on
         * one pCPU rarely differ much */
        double got = sum[c] > 0 ? r->dem[i] * prog[c] * 100 / sum[c] : 0;
        double remote = tp->cpu[c].node != (guint) r->node[i] ? 1 - m->remote_penalty : 1;
        work[i] = got * remote;
    }
}

static guint64
hash2(guint64 a, guint64 b)
{
    return bench_mix(a * 0x9e3779b97f4a7c15ULL ^ b);
}

/* Is @c a candidate for vCPU @i: in its set pin, if any. */
static gboolean
in_set(const TTrace *t, const Rec *r, guint i, guint c)
{
    return !r->set || r->set[i] < 0 || vmb_cpuset_has(g_ptr_array_index(t->sets, r->set[i]), c);
}

/* The kernel's choice for floating vCPUs (see the top of topo.c), into @p. */
void
topo_kernel_place(const TTrace *t, const Rec *r, gboolean numa, gint *p)
{
    const VmbTopology *tp = t->topo;
    g_autofree double *tl = g_new0(double, tp->npcpus);
    g_autofree guint *order = g_new(guint, t->n);
    guint nf = 0;
    for (guint i = 0; i < t->n; i++) {
        p[i] = r->pcpu[i];
        if (p[i] >= 0)
            tl[p[i]] += r->dem[i];
        else
            order[nf++] = i;
    }
    for (guint a = 1; a < nf; a++) { /* demand, largest first (insertion sort, stable) */
        guint x = order[a], b = a;
        for (; b > 0 && r->dem[order[b - 1]] < r->dem[x]; b--)
            order[b] = order[b - 1];
        order[b] = x;
    }
    g_autofree guint *cand = g_new(guint, tp->npcpus);
    for (guint k = 0; k < nf; k++) {
        guint i = order[k];
        gint chosen = -1;
        for (guint level = 0; level < 3 && chosen < 0; level++) {
            for (guint local = numa ? 1 : 0; local < 2 && chosen < 0; local--) {
                guint nc = 0;
                double least = INFINITY;
                for (guint c = 0; c < tp->npcpus; c++) {
                    if ((local && tp->cpu[c].node != (guint) r->node[i]) || !in_set(t, r, i, c))
                        continue;
                    gboolean ok;
                    if (level == 0) { /* an idle core */
                        guint n;
                        const guint *cs = vmb_topology_core_cpus(tp, c, &n);
                        ok = TRUE;
                        for (guint j = 0; j < n; j++)
                            ok = ok && tl[cs[j]] == 0;
                    } else if (level == 1) {
                        ok = tl[c] == 0;
                    } else {
                        ok = tl[c] <= least;
                        if (tl[c] < least) {
                            least = tl[c];
                            nc = 0;
                        }
                    }
                    if (ok)
                        cand[nc++] = c;
                }
                if (nc)
                    chosen = (gint) cand[hash2(i, r->phase) % nc];
                if (local == 0)
                    break;
            }
        }
        p[i] = chosen;
        tl[chosen] += r->dem[i];
    }
}

gboolean
bench_topo_charge_ok(void)
{
    /* One core, two threads, one node: thread 0 carries vCPUs of 60 % and 20 %, thread 1 one
     * of 50 %; the fluid core serves thread 1 whole and thread 0 0.7 (1 - 0.6 x 0.5), split
     * 3:1; the random-overlap charge delivers (1.3 - 0.4 x 0.75) in proportion to demand. */
    static const struct {
        double w1, w2, g, p1, p2;
    } cases[] = {
        {0.3, 0.3, 0.25, 0.3, 0.3},
        {0.5, 0.5, 0.25, 0.5, 0.5},
        {1, 1, 0.25, 0.625, 0.625},
        {1, 0.5, 0.25, 0.7, 0.5},
        {0.5, 1, 0.25, 0.5, 0.7},
        {0.7, 0.7, 0.25, 0.625, 0.625},
        {0.7, 0.4, 0.25, 0.7, 0.4},
        {1, 0, 0.25, 1, 0},
        {0, 0, 0.25, 0, 0},
        {1, 1, 0, 0.5, 0.5},
        {1, 0.2, 0, 0.8, 0.2},
        {0.8, 0.3, 0.4, 0.8, 0.3},
        {1, 0.6, 0.4, 1 - 0.6 * 3 / 7, 0.6},
    };
    gboolean ok = TRUE;
    for (guint k = 0; k < G_N_ELEMENTS(cases); k++) {
        double p1, p2;
        bench_topo_fluid_core(cases[k].w1, cases[k].w2, cases[k].g, &p1, &p2);
        if (fabs(p1 - cases[k].p1) > 1e-9 || fabs(p2 - cases[k].p2) > 1e-9) {
            fprintf(stderr, "vmb-bench: fluid core (%g, %g) gain %g: %g, %g, not %g, %g\n",
                    cases[k].w1, cases[k].w2, cases[k].g, p1, p2, cases[k].p1, cases[k].p2);
            ok = FALSE;
        }
    }
    g_autoptr(GError) error = NULL;
    TTrace t = {.n = 3, .topo = vmb_topology_new_grid(1, 1, 2, 1, &error)};
    g_assert_no_error(error);
    double dem[] = {60, 20, 50}, work[3], u[2];
    gint node[] = {0, 0, 0}, p[] = {0, 0, 1};
    Rec r = {.dem = dem, .node = node};
    const double want[N_CHARGES][3] = {{52.5, 17.5, 50}, {60 / 1.3, 20 / 1.3, 50 / 1.3}};
    for (Charge c = 0; c < N_CHARGES; c++) {
        Model m = {0.25, 0.2, c};
        topo_charge(&t, &r, p, &m, work, u);
        for (guint i = 0; i < 3; i++) {
            if (fabs(work[i] - want[c][i]) > 1e-9) {
                fprintf(stderr, "vmb-bench: %s charge, vCPU %u: %g, not %g\n", topo_charge_names[c],
                        i, work[i], want[c][i]);
                ok = FALSE;
            }
        }
    }
    vmb_topology_unref(t.topo);
    return ok;
}
