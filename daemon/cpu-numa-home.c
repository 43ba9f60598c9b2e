/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory home: which split domain's memory moves to a node with room for it whole
 * (cpu-policy.h has the rule). Pure: the loads, pins and memory nodes in, one request and its
 * vCPUs' pins out. */
#include "cpu-policy.h"

#include <math.h>
#include <string.h>

/* A vCPU from this load on wants a core of its own: cpu-topo.c's busy thread (SMT_BUSY).
 * Lighter vCPUs count their share of it, so that the measure does not jump as noise crosses
 * the threshold. */
#define CORE_LOAD 40.0

typedef struct {
    double need;   /* cores its vCPUs need */
    gint home;     /* node of its memory, -1 unknown */
    guint nodes;   /* nodes its placed vCPUs run on */
    guint items;   /* measured vCPUs */
    gboolean free; /* every vCPU movable and placed */
} DomainView;

typedef struct {
    const VmbNumaHomeProblem *hp;
    const VmbTopology *topo;
    DomainView *dom;    /* [n_domains] */
    double *dom_node;   /* [n_domains * nnodes] cores its vCPUs placed on the node need */
    double *placed;     /* [nnodes] cores the vCPUs placed there need */
    double *cores;      /* [nnodes] cores with an allowed pCPU */
    guint64 *mem_homed; /* [nnodes] memory of the domains homed there */
} View;

static double
core_need(double load)
{
    return CLAMP(load, 0, CORE_LOAD) / CORE_LOAD;
}

static guint
node_of(const View *v, guint pcpu)
{
    return v->topo->cpu[pcpu].node;
}

static void
count_cores(View *v)
{
    const VmbTopology *t = v->topo;
    for (guint core = 0; core < t->ncores; core++) {
        gboolean any = FALSE;
        for (guint k = t->core_first[core]; k < t->core_first[core + 1]; k++)
            any = any || v->hp->p->allowed[t->core_cpus[k]];
        if (any)
            v->cores[t->cpu[t->core_cpus[t->core_first[core]]].node] += 1;
    }
}

/* Per domain its need, home and spread; per node what is placed there. */
static void
build_view(View *v)
{
    const VmbCpuProblem *p = v->hp->p;
    guint nn = v->topo->nnodes;
    g_autofree guint *seen = g_new0(guint, (gsize) v->hp->n_domains * nn);
    for (guint d = 0; d < v->hp->n_domains; d++)
        v->dom[d] = (DomainView){.home = -1, .free = TRUE};
    for (guint i = 0; i < p->n_items; i++) {
        const VmbCpuItem *it = &p->items[i];
        if (it->domain >= v->hp->n_domains)
            continue;
        DomainView *d = &v->dom[it->domain];
        gint mem = p->item_node ? p->item_node[i] : -1;
        if (mem >= 0 && (guint) mem < nn)
            d->home = mem;
        d->items++;
        d->need += core_need(it->load);
        d->free = d->free && it->movable && it->current >= 0 && (guint) it->current < p->npcpus;
        if (it->current < 0 || (guint) it->current >= p->npcpus)
            continue;
        guint n = node_of(v, (guint) it->current);
        gsize k = (gsize) it->domain * nn + n;
        v->placed[n] += core_need(it->load);
        v->dom_node[k] += core_need(it->load);
        d->nodes += seen[k]++ == 0;
    }
    for (guint d = 0; d < v->hp->n_domains; d++) {
        if (v->dom[d].home >= 0)
            v->mem_homed[v->dom[d].home] += v->hp->domains[d].mem_kib;
    }
    count_cores(v);
}

/* Cores @node has for domain @d beside the other vCPUs placed there. */
static double
room_for(const View *v, guint d, guint node)
{
    double mine = v->dom_node[(gsize) d * v->topo->nnodes + node];
    return v->cores[node] - (v->placed[node] - mine);
}

/* The topology's memory of @node minus that of the domains homed there has room for @d; TRUE
 * when either is unknown. */
static gboolean
memory_fits(const View *v, guint d, guint node)
{
    guint64 total = v->topo->node_kib ? v->topo->node_kib[node] : 0;
    guint64 mine = v->hp->domains[d].mem_kib;
    if (total == 0 || mine == 0)
        return TRUE;
    return v->mem_homed[node] + mine <= total;
}

/* A split domain we may move whose memory node cannot hold it. */
static gboolean
needs_new_home(const View *v, guint d)
{
    const DomainView *dv = &v->dom[d];
    if (!v->hp->domains[d].may_move || !dv->free || dv->items == 0 || dv->home < 0)
        return FALSE;
    return dv->nodes > 1 && room_for(v, d, (guint) dv->home) < dv->need;
}

/* The other node with the most room that can take @d whole; -1 when none. */
static gint
best_node(const View *v, guint d, double *room)
{
    gint best = -1;
    for (guint n = 0; n < v->topo->nnodes; n++) {
        if ((gint) n == v->dom[d].home || !memory_fits(v, d, n))
            continue;
        double r = room_for(v, d, n);
        if (r >= v->dom[d].need && (best < 0 || r > *room)) {
            best = (gint) n;
            *room = r;
        }
    }
    return best;
}

/* Smaller is cheaper to move: its memory, then its need. */
static gboolean
smaller(const View *v, guint a, guint b)
{
    guint64 ma = v->hp->domains[a].mem_kib, mb = v->hp->domains[b].mem_kib;
    if (ma != mb)
        return ma < mb;
    return v->dom[a].need < v->dom[b].need;
}

/* The pCPU of @node for the next vCPU: on the least loaded core, its least loaded thread (an
 * idle core before an idle sibling thread, as the SMT step would want); -1 when @node has no
 * allowed pCPU. */
static gint
least_loaded_on(const View *v, guint node, const double *loads)
{
    const VmbTopology *t = v->topo;
    gint best = -1;
    double best_core = INFINITY, best_cpu = INFINITY;
    for (guint c = 0; c < v->hp->p->npcpus; c++) {
        if (!v->hp->p->allowed[c] || node_of(v, c) != node)
            continue;
        guint n;
        const guint *cpus = vmb_topology_core_cpus(t, c, &n);
        double core = 0;
        for (guint k = 0; k < n; k++)
            core += loads[cpus[k]];
        if (core < best_core - 1e-9 || (fabs(core - best_core) <= 1e-9 && loads[c] < best_cpu)) {
            best = (gint) c;
            best_core = core;
            best_cpu = loads[c];
        }
    }
    return best;
}

/* Pins of domain @d's vCPUs on @node, busiest first, appended to @moves; those already
 * there stay. */
static void
place_domain(const View *v, guint d, guint node, GArray *moves)
{
    const VmbCpuProblem *p = v->hp->p;
    g_autofree gint *place = g_new(gint, MAX(p->n_items, 1));
    g_autoptr(GArray) mine = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < p->n_items; i++) {
        const VmbCpuItem *it = &p->items[i];
        gboolean away = it->domain == d && node_of(v, (guint) it->current) != node;
        place[i] = away ? -1 : it->current;
        if (away)
            g_array_append_val(mine, i);
    }
    g_autofree double *loads = g_new0(double, p->npcpus);
    vmb_cpu_loads(p, place, loads);
    for (guint a = 1; a < mine->len; a++) { /* busiest first (insertion sort, stable) */
        guint x = g_array_index(mine, guint, a), b = a;
        for (; b > 0 && p->items[g_array_index(mine, guint, b - 1)].load < p->items[x].load; b--)
            g_array_index(mine, guint, b) = g_array_index(mine, guint, b - 1);
        g_array_index(mine, guint, b) = x;
    }
    for (guint k = 0; k < mine->len; k++) {
        guint i = g_array_index(mine, guint, k);
        gint to = least_loaded_on(v, node, loads);
        if (to < 0)
            return;
        const VmbCpuItem *it = &p->items[i];
        VmbCpuMove m = {.item = i,
                        .from = it->current,
                        .to = (guint) to,
                        .reason = VMB_CPU_NUMA,
                        .from_load = loads[it->current] + it->load,
                        .to_load = loads[to]};
        g_array_append_val(moves, m);
        loads[to] += it->load;
    }
}

static gboolean
may_move_now(const VmbNumaHomeProblem *hp)
{
    const VmbTopology *t = hp->p->topology;
    return hp->interval_s > 0 && hp->stable && hp->since_last_s >= hp->interval_s && t &&
           t->known && t->nnodes > 1 && t->npcpus == hp->p->npcpus;
}

gboolean
vmb_cpu_numa_home(const VmbNumaHomeProblem *hp, VmbNumaHome *out, GArray *moves)
{
    if (!may_move_now(hp) || hp->n_domains == 0)
        return FALSE;
    guint nn = hp->p->topology->nnodes;
    g_autofree DomainView *dom = g_new0(DomainView, hp->n_domains);
    gsize cells = (gsize) nn * hp->n_domains;
    g_autofree double *dom_node = g_new0(double, cells);
    g_autofree double *placed = g_new0(double, nn);
    g_autofree double *cores = g_new0(double, nn);
    g_autofree guint64 *mem_homed = g_new0(guint64, nn);
    View v = {hp, hp->p->topology, dom, dom_node, placed, cores, mem_homed};
    build_view(&v);
    gint chosen = -1, to = -1;
    double room_to = 0;
    for (guint d = 0; d < hp->n_domains; d++) {
        double room = 0;
        gint n = needs_new_home(&v, d) ? best_node(&v, d, &room) : -1;
        if (n >= 0 && (chosen < 0 || smaller(&v, d, (guint) chosen))) {
            chosen = (gint) d;
            to = n;
            room_to = room;
        }
    }
    if (chosen < 0)
        return FALSE;
    guint d = (guint) chosen;
    *out = (VmbNumaHome){.domain = d,
                         .from = (guint) dom[d].home,
                         .to = (guint) to,
                         .need = dom[d].need,
                         .room_from = room_for(&v, d, (guint) dom[d].home),
                         .room_to = room_to};
    place_domain(&v, d, (guint) to, moves);
    return TRUE;
}
