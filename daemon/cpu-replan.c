/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The global re-plan of the vCPU policy: a fresh largest-first placement that replaces the
 * greedy moves when it is clearly better (see plan_global_replan). */
#include "cpu-plan.h"

#include <math.h>

static double
max_load(const Plan *pl)
{
    double m = 0;
    for (guint k = 0; k < pl->n_allowed; k++)
        m = MAX(m, pl->load[pl->allowed[k]]);
    return m;
}

typedef struct {
    guint n;    /* vCPUs of the bin that sit on the pCPU now */
    guint bin;  /* pCPU the largest-first placement put them on */
    guint pcpu; /* pCPU they are on */
} Overlap;

static int
cmp_overlap(gconstpointer a, gconstpointer b)
{
    const Overlap *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    if (x->bin != y->bin)
        return x->bin < y->bin ? -1 : 1;
    return x->pcpu < y->pcpu ? -1 : x->pcpu > y->pcpu;
}

/* Min-heap of pCPUs by load (then number), for the largest-first placement. */
static gboolean
heap_less(const double *load, guint a, guint b)
{
    return load[a] < load[b] || (load[a] == load[b] && a < b);
}

static void
heap_down(guint *heap, guint n, guint k, const double *load)
{
    for (;;) {
        guint l = 2 * k + 1, r = l + 1, m = k;
        if (l < n && heap_less(load, heap[l], heap[m]))
            m = l;
        if (r < n && heap_less(load, heap[r], heap[m]))
            m = r;
        if (m == k)
            return;
        guint t = heap[k];
        heap[k] = heap[m];
        heap[m] = t;
        k = m;
    }
}

/* The global re-plan's working state. */
typedef struct {
    double greedy_max; /* most loaded pCPU after the greedy moves */
    double need;       /* what the re-plan must lower it by: hysteresis plus noise */
    gint *start;       /* [n_items] placement before the greedy moves */
    double *fixed;     /* [npcpus] load that stays: background, immovable, cooling */
    GArray *todo;      /* the movable items placed in @start, largest first */
    gint *bin;         /* [n_items] pCPU the re-plan gives each item of @todo */
} Replan;

static void
replan_clear(Replan *r)
{
    g_clear_pointer(&r->start, g_free);
    g_clear_pointer(&r->fixed, g_free);
    g_clear_pointer(&r->todo, g_array_unref);
    g_clear_pointer(&r->bin, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Replan, replan_clear)

/* Start state: the placement after the mandatory placements, before the greedy moves. The
 * re-plan competes with the greedy result from there, and the bar it must clear is the
 * hysteresis plus the noise of two pCPUs as noisy as the noisiest. */
static void
replan_start(const Plan *pl, guint first_move, Replan *r)
{
    r->greedy_max = max_load(pl);
    r->start = g_memdup2(pl->place, sizeof(gint) * pl->p->n_items);
    for (guint k = pl->moves->len; k-- > first_move;) {
        const VmbCpuMove *m = &g_array_index(pl->moves, VmbCpuMove, k);
        r->start[m->item] = m->from;
    }
    double max_var = 0; /* with a floor (cpu-target.c's detection), no less than that */
    for (guint a = 0; a < pl->n_allowed; a++) {
        max_var = MAX(max_var, pl->var[pl->allowed[a]]);
        if (pl->var_min)
            max_var = MAX(max_var, pl->var_min[pl->allowed[a]]);
    }
    r->need = pl->h + pl->z * sqrt(2 * max_var);
}

/* Fixed loads: background, immovable and cooling items stay where they are; what is left
 * (movable items that have a pCPU) is the re-plan's to place, largest first. */
static void
replan_fixed_loads(const Plan *pl, Replan *r)
{
    const VmbCpuProblem *p = pl->p;
    r->fixed = g_new0(double, p->npcpus);
    r->todo = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint c = 0; c < p->npcpus; c++)
        r->fixed[c] = p->background ? p->background[c] : 0;
    for (guint i = 0; i < p->n_items; i++) {
        if (r->start[i] < 0)
            continue;
        if (p->items[i].movable && !p->items[i].cooling)
            g_array_append_val(r->todo, i);
        else
            r->fixed[r->start[i]] += p->items[i].load;
    }
    g_array_sort_with_data(r->todo, plan_cmp_load_desc, (gpointer) p->items);
}

/* LPT placement: largest first, each item on the least loaded allowed pCPU (a min-heap).
 * Fills r->bin and returns the most loaded pCPU's load. */
static double
replan_lpt(const Plan *pl, Replan *r)
{
    const VmbCpuProblem *p = pl->p;
    g_autofree double *load = g_memdup2(r->fixed, sizeof(double) * p->npcpus);
    g_autofree guint *heap = g_memdup2(pl->allowed, sizeof(guint) * pl->n_allowed);
    guint n = pl->n_allowed;
    r->bin = g_new0(gint, p->n_items);
    for (guint k = n / 2; k-- > 0;)
        heap_down(heap, n, k, load);
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        guint best = heap[0]; /* least loaded pCPU */
        r->bin[i] = (gint) best;
        load[best] += p->items[i].load;
        heap_down(heap, n, 0, load);
    }
    double lpt_max = 0;
    for (guint a = 0; a < pl->n_allowed; a++)
        lpt_max = MAX(lpt_max, load[pl->allowed[a]]);
    return lpt_max;
}

/* Does a placement whose most loaded pCPU carries @max fail to beat the greedy result? */
static gboolean
replan_falls_short(const Replan *r, double max)
{
    return max >= r->greedy_max - r->need;
}

/* How many vCPUs of each bin sit on each pCPU now, as (bin, pCPU) pairs with the same fixed
 * load, the largest overlap first (ties: lower bin, then lower pCPU). */
static GArray *
bin_overlaps(const Plan *pl, const Replan *r)
{
    guint P = pl->p->npcpus;
    g_autoptr(GHashTable) overlap = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        gsize key = (gsize) r->bin[i] * P + (gsize) r->start[i] + 1;
        gpointer old = g_hash_table_lookup(overlap, GSIZE_TO_POINTER(key));
        g_hash_table_insert(overlap, GSIZE_TO_POINTER(key),
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));
    }
    GArray *pairs = g_array_new(FALSE, FALSE, sizeof(Overlap));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, overlap);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        gsize kv = GPOINTER_TO_SIZE(key) - 1;
        Overlap o = {GPOINTER_TO_UINT(value), (guint) (kv / P), (guint) (kv % P)};
        if (fabs(r->fixed[o.bin] - r->fixed[o.pcpu]) <= TIE_EPSILON)
            g_array_append_val(pairs, o);
    }
    g_array_sort(pairs, cmp_overlap);
    return pairs;
}

/* Relabel: the LPT bins are interchangeable among pCPUs of equal fixed load, so each bin
 * goes to the pCPU most of its vCPUs already use (greedy matching, largest overlap first);
 * that keeps pin changes few. Unmatched bins keep their own pCPU, or take any free one.
 * Rewrites r->bin from bins to pCPUs. */
static void
replan_relabel(const Plan *pl, Replan *r)
{
    guint P = pl->p->npcpus;
    g_autoptr(GArray) pairs = bin_overlaps(pl, r);
    g_autofree gint *label = g_new0(gint, P); /* bin -> pCPU */
    g_autofree gboolean *taken = g_new0(gboolean, P);
    for (guint c = 0; c < P; c++)
        label[c] = -1;
    for (guint k = 0; k < pairs->len; k++) {
        const Overlap *o = &g_array_index(pairs, Overlap, k);
        if (label[o->bin] >= 0 || taken[o->pcpu])
            continue;
        label[o->bin] = (gint) o->pcpu;
        taken[o->pcpu] = TRUE;
    }
    for (guint a = 0; a < pl->n_allowed; a++) { /* unmatched bins keep their own pCPU ... */
        guint b = pl->allowed[a];
        if (label[b] < 0 && !taken[b]) {
            label[b] = (gint) b;
            taken[b] = TRUE;
        }
    }
    for (guint a = 0, c = 0; a < pl->n_allowed; a++) { /* ... or take any free one */
        guint b = pl->allowed[a];
        while (label[b] < 0 && c < pl->n_allowed) {
            if (!taken[pl->allowed[c]]) {
                label[b] = (gint) pl->allowed[c];
                taken[label[b]] = TRUE;
            }
            c++;
        }
    }
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        r->bin[i] = label[r->bin[i]];
    }
}

/* The relabelled placement's most loaded pCPU, and in *@moves the pin changes it takes;
 * *@blocked when one of them goes where the problem blocks it. */
static double
replan_cost(const Plan *pl, const Replan *r, guint *moves, gboolean *blocked)
{
    g_autofree double *load = g_memdup2(r->fixed, sizeof(double) * pl->p->npcpus);
    *moves = 0;
    *blocked = FALSE;
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        load[r->bin[i]] += pl->p->items[i].load;
        *moves += r->bin[i] != r->start[i];
        *blocked |= r->bin[i] != r->start[i] && !plan_may_go(pl, i, (guint) r->bin[i]);
    }
    double new_max = 0;
    for (guint a = 0; a < pl->n_allowed; a++)
        new_max = MAX(new_max, load[pl->allowed[a]]);
    return new_max;
}

/* Commit: undo the greedy moves, then record the re-plan as one set of moves, each with
 * the @gain of the whole re-plan. */
static void
replan_commit(Plan *pl, guint first_move, const Replan *r, double gain)
{
    plan_undo_to(pl, first_move);
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        if (r->bin[i] != r->start[i])
            plan_record(pl, i, r->start[i], (guint) r->bin[i], VMB_CPU_BALANCE, gain);
    }
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        if (r->bin[i] != r->start[i]) {
            plan_take(pl, i);
            plan_put(pl, i, (guint) r->bin[i]);
            pl->moved[i] = TRUE;
        }
    }
}

/* Greedy moves can stop in a local optimum. A fresh longest-processing-time placement of
 * the movable vCPUs is computed too; bins are matched to the pCPUs their vCPUs already
 * use (among pCPUs with the same fixed load) so that few pins change. It replaces the
 * greedy result only when it lowers the most loaded pCPU by more than the hysteresis
 * within the move budget and puts no vCPU on a pCPU blocked for it. Returns the number of
 * moves it recorded, 0 if not taken. */
guint
plan_global_replan(Plan *pl, guint first_move, guint budget)
{
    g_auto(Replan) r = {0};
    replan_start(pl, first_move, &r);
    replan_fixed_loads(pl, &r);
    if (replan_falls_short(&r, replan_lpt(pl, &r)))
        return 0;
    replan_relabel(pl, &r);
    guint moves;
    gboolean blocked;
    double new_max = replan_cost(pl, &r, &moves, &blocked);
    if (moves > budget || blocked || replan_falls_short(&r, new_max))
        return 0;
    if (pl->topo && !topo_replan_ok(pl, r.start, r.bin, r.todo, r.greedy_max - new_max, r.need))
        return 0;
    replan_commit(pl, first_move, &r, r.greedy_max - new_max);
    return moves;
}
