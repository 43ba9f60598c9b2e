/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The topology bench's oracle: per phase, a greedy placement on the model's charge, then a
 * local search of moves and swaps while the work grows (a reference, not a bound). */
#include "topo-private.h"

#include <math.h>

/* The total work of placement @q (every vCPU on a pCPU) for @r under @m. */
static double
total_work(const TTrace *t, const Rec *r, const gint *q, const Model *m, double *work, double *u)
{
    topo_charge(t, r, q, m, work, u);
    double total = 0;
    for (guint j = 0; j < t->n; j++)
        total += work[j];
    return total;
}

/* Is pCPU @c emptier than @best under the thread loads @tl: its core less loaded, then the
 * thread itself. */
static gboolean
emptier(const VmbTopology *tp, const double *tl, guint c, guint best)
{
    double lc = 0, lb = 0;
    guint nc, nb;
    const guint *cc = vmb_topology_core_cpus(tp, c, &nc),
                *cb = vmb_topology_core_cpus(tp, best, &nb);
    for (guint k = 0; k < nc; k++)
        lc += tl[cc[k]];
    for (guint k = 0; k < nb; k++)
        lb += tl[cb[k]];
    return lc < lb - 1e-9 || (lc < lb + 1e-9 && tl[c] < tl[best] - 1e-9);
}

/* Local search on placement @p for @r: moves of one vCPU, then swaps of two on different pCPUs,
 * each taken when it raises the model's total work, until none does (or 100 passes). */
static void
oracle_improve(const TTrace *t, const Rec *r, const Model *m, gint *p, double *work, double *u)
{
    double cur = total_work(t, r, p, m, work, u);
    for (guint pass = 0; pass < 100; pass++) {
        gboolean better = FALSE;
        for (guint i = 0; i < t->n; i++) {
            if (r->dem[i] <= 0)
                continue;
            for (guint c = 0; c < t->topo->npcpus; c++) {
                gint was = p[i];
                p[i] = (gint) c;
                double tw = total_work(t, r, p, m, work, u);
                if (tw > cur + 1e-6) {
                    cur = tw;
                    better = TRUE;
                } else {
                    p[i] = was;
                }
            }
        }
        for (guint i = 0; i < t->n; i++) {
            for (guint j = i + 1; j < t->n && r->dem[i] > 0; j++) {
                if (p[i] == p[j] || r->dem[j] <= 0)
                    continue;
                gint pi = p[i];
                p[i] = p[j];
                p[j] = pi;
                double tw = total_work(t, r, p, m, work, u);
                if (tw > cur + 1e-6) {
                    cur = tw;
                    better = TRUE;
                } else {
                    p[j] = p[i];
                    p[i] = pi;
                }
            }
        }
        if (!better)
            break;
    }
}

/* The per-phase oracle: the phase's nominal loads (its first steady record), vCPUs largest
 * first each on the pCPU where the model's total work grows most (of equals the one on the
 * least loaded core, then thread: it spreads where the charge does not care), then a local
 * search of moves and swaps on the same charge. */
void
topo_oracle_place(const TTrace *t, const Rec *r, const Model *m, gint *p)
{
    const VmbTopology *tp = t->topo;
    g_autofree guint *order = g_new(guint, t->n);
    for (guint i = 0; i < t->n; i++) {
        order[i] = i;
        p[i] = -1;
    }
    for (guint a = 1; a < t->n; a++) {
        guint x = order[a], b = a;
        for (; b > 0 && r->dem[order[b - 1]] < r->dem[x]; b--)
            order[b] = order[b - 1];
        order[b] = x;
    }
    g_autofree double *work = g_new(double, t->n);
    g_autofree double *u = g_new(double, tp->npcpus);
    g_autofree double *tl = g_new0(double, tp->npcpus);
    /* Zero-demand vCPUs are left out of the charge by giving them a demand of 0 anyway. */
    Rec tmp = *r;
    g_autofree double *dem = g_new0(double, t->n);
    tmp.dem = dem;
    g_autofree gint *q = g_new0(gint, t->n);
    for (guint k = 0; k < t->n; k++) {
        guint i = order[k];
        dem[i] = r->dem[i];
        double best = -INFINITY;
        for (guint c = 0; c < tp->npcpus; c++) {
            for (guint j = 0; j < t->n; j++)
                q[j] = p[j] >= 0 ? p[j] : 0;
            q[i] = (gint) c;
            double total = total_work(t, &tmp, q, m, work, u);
            if (total > best + 1e-9 || (total > best - 1e-9 && emptier(tp, tl, c, (guint) p[i]))) {
                best = MAX(best, total);
                p[i] = (gint) c;
            }
        }
        tl[p[i]] += r->dem[i];
    }
    oracle_improve(t, r, m, p, work, u);
}
