/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The topology bench's metrics: each algorithm's records placed (the kernel's model, the oracle
 * per phase), charged by the model, and summed into the report's columns. */
#include "topo-private.h"

#include <math.h>
#include <string.h>

/* What topo_evaluate() sums over the records, and the oracle's placement so far. */
typedef struct {
    double dem_sum, work_sum, remote_sum, core_max;
    gint oracle_phase; /* the phase the oracle last placed for, -1 none yet */
    guint64 opins;     /* the oracle's pin changes between phases */
} EvalSums;

/* The oracle at record @k: placed again when a phase starts, from the phase's steady loads
 * (nominal, so any steady record), its pin changes counted from the second phase on. */
static void
oracle_step(const TTrace *t, GPtrArray *recs, guint k, const Model *m, gint *p, gint *prev,
            EvalSums *s)
{
    const Rec *r = g_ptr_array_index(recs, k);
    if ((gint) r->phase == s->oracle_phase)
        return;
    const Rec *ref = r;
    for (guint j = k; j < recs->len; j++) {
        const Rec *rj = g_ptr_array_index(recs, j);
        if (rj->phase != r->phase)
            break;
        ref = rj;
    }
    memcpy(prev, p, sizeof(gint) * t->n);
    topo_oracle_place(t, ref, m, p);
    for (guint i = 0; s->oracle_phase >= 0 && i < t->n; i++)
        s->opins += p[i] != prev[i];
    s->oracle_phase = (gint) r->phase;
}

/* Where each vCPU of record @k runs under @a, into @p. */
static void
place_record(const TTrace *t, TAlgo a, GPtrArray *recs, guint k, const Model *m, gint *p,
             gint *prev, EvalSums *s)
{
    const Rec *r = g_ptr_array_index(recs, k);
    if (a == T_ORACLE) {
        oracle_step(t, recs, k, m, p, prev, s);
    } else if (a == T_NOPIN || a == T_NOPIN_NUMA) {
        topo_kernel_place(t, r, a == T_NOPIN_NUMA, p);
    } else {
        Rec fl = *r; /* vCPUs a pinner left floating are the kernel's */
        topo_kernel_place(t, &fl, FALSE, p);
    }
}

/* The record's demand, the work delivered and the part of it run remote, into @s. */
static void
sum_work(const TTrace *t, const Rec *r, const gint *p, const double *work, EvalSums *s)
{
    for (guint i = 0; i < t->n; i++) {
        s->dem_sum += r->dem[i];
        s->work_sum += work[i];
        if (t->topo->cpu[p[i]].node != (guint) r->node[i])
            s->remote_sum += work[i];
    }
}

/* The most loaded core's load (percent of one pCPU) from the pCPUs' use @u; *@doubleup: two
 * busy (>= 50 %) threads on one core while another core idles. */
static double
core_max_load(const VmbTopology *tp, const double *u, gboolean *doubleup)
{
    double cmax = 0;
    gboolean busy_shared = FALSE, idle_core = FALSE;
    for (guint core = 0; core < tp->ncores; core++) {
        double l = 0;
        guint busy = 0;
        gboolean idle = TRUE;
        for (guint j = tp->core_first[core]; j < tp->core_first[core + 1]; j++) {
            guint c = tp->core_cpus[j];
            l += u[c] * 100;
            busy += u[c] >= 0.5;
            idle = idle && u[c] < 0.1;
        }
        cmax = MAX(cmax, l);
        busy_shared |= busy >= 2;
        idle_core |= idle;
    }
    *doubleup = busy_shared && idle_core;
    return cmax;
}

/* Domains split across nodes although their memory node had room: as many cores there
 * without another domain's busy (>= 50 %) vCPU as the domain has vCPUs. */
static guint
count_splits(const TTrace *t, const Rec *r, const gint *p)
{
    const VmbTopology *tp = t->topo;
    guint splits = 0;
    g_autofree gint *owner = g_new(gint, tp->ncores); /* busy domain on the core, -2 two */
    for (guint core = 0; core < tp->ncores; core++)
        owner[core] = -1;
    for (guint i = 0; i < t->n; i++) {
        guint core = tp->cpu[p[i]].core;
        if (r->dem[i] >= 50)
            owner[core] =
                owner[core] == -1 || owner[core] == (gint) r->dom[i] ? (gint) r->dom[i] : -2;
    }
    for (guint i = 0; i < t->n;) {
        guint d = r->dom[i], j = i, nv = 0;
        gboolean split = FALSE, running = FALSE;
        for (; j < t->n && r->dom[j] == d; j++, nv++) {
            split |= tp->cpu[p[j]].node != tp->cpu[p[i]].node;
            running |= r->dem[j] > 0;
        }
        guint room = 0;
        for (guint core = 0; split && running && core < tp->ncores; core++) {
            guint c0 = tp->core_cpus[tp->core_first[core]];
            room += tp->cpu[c0].node == (guint) r->node[i] &&
                    (owner[core] == -1 || owner[core] == (gint) d);
        }
        if (split && running && nv <= room)
            splits++;
        i = j;
    }
    return splits;
}

/* The metrics of algorithm @a's records of @t under @m; *@oracle_pins (if not NULL): the
 * oracle's pin changes. */
TMetrics
topo_evaluate(TTrace *t, TAlgo a, const Model *m, guint64 *oracle_pins)
{
    TMetrics out = {0};
    GPtrArray *recs = t->recs[a == T_NOPIN_NUMA || a == T_ORACLE ? T_NOPIN : a];
    g_autofree gint *p = g_new(gint, t->n);
    g_autofree gint *prev = g_new(gint, t->n);
    g_autofree double *work = g_new(double, t->n);
    g_autofree double *u = g_new(double, t->topo->npcpus);
    EvalSums s = {.oracle_phase = -1};
    for (guint k = 0; k < recs->len; k++) {
        const Rec *r = g_ptr_array_index(recs, k);
        place_record(t, a, recs, k, m, p, prev, &s);
        topo_charge(t, r, p, m, work, u);
        sum_work(t, r, p, work, &s);
        if (!r->steady)
            continue;
        out.steady++;
        gboolean doubleup;
        s.core_max += core_max_load(t->topo, u, &doubleup);
        out.doubleups += doubleup;
        out.splits += count_splits(t, r, p);
    }
    out.work = s.dem_sum > 0 ? s.work_sum / s.dem_sum : NAN;
    out.remote = s.work_sum > 0 ? s.remote_sum / s.work_sum : NAN;
    out.core_max = out.steady ? s.core_max / out.steady : NAN;
    if (oracle_pins)
        *oracle_pins = s.opins;
    return out;
}
