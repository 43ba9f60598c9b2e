/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Gains within this many points count as equal, so the spread of a domain decides. */
#define TIE_EPSILON 0.5
/* A gain must beat the hysteresis plus z standard deviations of the loads it is computed
 * from, so that noise and short spikes do not move vCPUs. Among P noisy pCPUs the busiest
 * stands out by about sqrt(2 ln P) of its noise by chance alone, so z grows with the host:
 * 2 up to 7 pCPUs, 2.9 at 64, 3.3 at 256. */
static double
noise_z(guint n_allowed)
{
    return MAX(2.0, sqrt(2.0 * log((double) MAX(n_allowed, 1))));
}

typedef struct {
    const VmbCpuProblem *p;
    double h;
    double *load;     /* [npcpus] */
    double *var;      /* [npcpus] sum of the variances of the loads there */
    double z;         /* noise_z() of this host */
    gint *place;      /* [n_items] pCPU or -1 */
    gboolean *moved;  /* [n_items] moved this cycle */
    GArray **on;      /* [npcpus] item indices on each pCPU */
    guint *dom_first; /* [n_domains + 1] CSR index into dom_items */
    guint *dom_items; /* item indices grouped by domain */
    guint n_domains;
    guint *allowed; /* allowed pCPU numbers */
    guint n_allowed;
    GArray *moves;
} Plan;

const char *
vmb_cpu_reason_to_string(VmbCpuReason r)
{
    switch (r) {
    case VMB_CPU_PLACE:
        return "place";
    case VMB_CPU_EVACUATE:
        return "evacuate";
    case VMB_CPU_BALANCE:
        return "balance";
    case VMB_CPU_SPREAD:
        return "spread";
    }
    return "?";
}

/* vCPUs of @domain placed on @pcpu. Domains have few vCPUs, so a scan of the domain's
 * own items beats any shared table. */
static guint
siblings(const Plan *pl, guint domain, guint pcpu)
{
    guint n = 0;
    for (guint k = pl->dom_first[domain]; k < pl->dom_first[domain + 1]; k++)
        n += pl->place[pl->dom_items[k]] == (gint) pcpu;
    return n;
}

static void
put(Plan *pl, guint item, guint pcpu)
{
    const VmbCpuItem *it = &pl->p->items[item];
    pl->place[item] = (gint) pcpu;
    pl->load[pcpu] += it->load;
    pl->var[pcpu] += it->noise * it->noise;
    g_array_append_val(pl->on[pcpu], item);
}

static void
take(Plan *pl, guint item)
{
    const VmbCpuItem *it = &pl->p->items[item];
    guint pcpu = (guint) pl->place[item];
    GArray *list = pl->on[pcpu];
    for (guint k = 0; k < list->len; k++) {
        if (g_array_index(list, guint, k) == item) {
            g_array_remove_index_fast(list, k);
            break;
        }
    }
    pl->load[pcpu] -= it->load;
    pl->var[pcpu] = MAX(0, pl->var[pcpu] - it->noise * it->noise);
    pl->place[item] = -1;
}

static void
record(Plan *pl, guint item, gint from, guint to, VmbCpuReason reason, double gain)
{
    VmbCpuMove m = {
        .item = item,
        .from = from,
        .to = to,
        .reason = reason,
        .from_load = from >= 0 && (guint) from < pl->p->npcpus ? pl->load[from] : 0,
        .to_load = pl->load[to],
        .gain = gain,
    };
    g_array_append_val(pl->moves, m);
}

/* Moves @item to @to and records it; loads in the record are those before the move. */
static void
move(Plan *pl, guint item, guint to, VmbCpuReason reason, double gain)
{
    gint from = pl->place[item];
    record(pl, item, from, to, reason, gain);
    if (from >= 0)
        take(pl, item);
    put(pl, item, to);
    pl->moved[item] = TRUE;
}

/* Exchanges @v (on a) and @u (on b); both records carry the loads before the swap. */
static void
swap(Plan *pl, guint v, guint u, VmbCpuReason reason, double gain)
{
    guint a = (guint) pl->place[v], b = (guint) pl->place[u];
    record(pl, v, (gint) a, b, reason, gain);
    record(pl, u, (gint) b, a, reason, gain);
    take(pl, v);
    take(pl, u);
    put(pl, v, b);
    put(pl, u, a);
    pl->moved[v] = pl->moved[u] = TRUE;
}

static gboolean
can_move(const Plan *pl, guint item)
{
    const VmbCpuItem *it = &pl->p->items[item];
    return it->movable && !it->cooling && !pl->moved[item];
}

/* May a balance or spread action put @item on @pcpu? Not where the problem blocks it (a
 * move there did not deliver lately, cpu-policy.h); placements do not ask. */
static gboolean
may_go(const Plan *pl, guint item, guint pcpu)
{
    return !pl->p->blocked || !pl->p->blocked(item, pcpu, pl->p->blocked_data);
}

/* The gain a move between @a and @b must exceed. */
static double
margin(const Plan *pl, guint a, guint b)
{
    return pl->h + pl->z * sqrt(pl->var[a] + pl->var[b]);
}

/* Least loaded allowed pCPU, preferring one without siblings of @domain among near-ties. */
static guint
least_loaded(const Plan *pl, guint domain, gint exclude)
{
    double min = INFINITY;
    for (guint k = 0; k < pl->n_allowed; k++) {
        guint c = pl->allowed[k];
        if ((gint) c != exclude)
            min = MIN(min, pl->load[c]);
    }
    guint best = G_MAXUINT, best_sibs = G_MAXUINT;
    double best_load = INFINITY;
    for (guint k = 0; k < pl->n_allowed; k++) {
        guint c = pl->allowed[k];
        if ((gint) c == exclude || pl->load[c] > min + TIE_EPSILON)
            continue;
        guint s = siblings(pl, domain, c);
        if (s < best_sibs || (s == best_sibs && pl->load[c] < best_load)) {
            best = c;
            best_sibs = s;
            best_load = pl->load[c];
        }
    }
    return best;
}

static int
cmp_load_desc(gconstpointer a, gconstpointer b, gpointer data)
{
    const VmbCpuItem *items = data;
    double la = items[*(const guint *) a].load, lb = items[*(const guint *) b].load;
    return la < lb ? 1 : la > lb ? -1 : (int) (*(const guint *) a) - (int) (*(const guint *) b);
}

static void
place_floating(Plan *pl)
{
    const VmbCpuProblem *p = pl->p;
    g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < p->n_items; i++) {
        if (pl->place[i] < 0 && p->items[i].movable)
            g_array_append_val(todo, i);
    }
    g_array_sort_with_data(todo, cmp_load_desc, (gpointer) p->items);
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        guint to = least_loaded(pl, p->items[i].domain, -1);
        VmbCpuReason why = p->items[i].current >= 0 ? VMB_CPU_EVACUATE : VMB_CPU_PLACE;
        record(pl, i, p->items[i].current, to, why, 0);
        put(pl, i, to);
        pl->moved[i] = TRUE;
    }
}

typedef struct {
    double gain;
    double score; /* gain plus a small bonus for spreading a domain */
    guint v, u;   /* u == G_MAXUINT for a plain move */
    guint to;
} Action;

/* Change in same-domain pairs if @item leaves @from for @to (negative = better spread). */
static gint
spread_delta(const Plan *pl, guint item, guint from, guint to)
{
    guint d = pl->p->items[item].domain;
    return (gint) siblings(pl, d, to) - (gint) (siblings(pl, d, from) - 1);
}

static void
consider_moves(const Plan *pl, guint a, guint b, Action *best)
{
    GArray *src = pl->on[a];
    double la = pl->load[a], lb = pl->load[b];
    double need = margin(pl, a, b);
    for (guint k = 0; k < src->len; k++) {
        guint v = g_array_index(src, guint, k);
        if (!can_move(pl, v))
            continue;
        double w = pl->p->items[v].load;
        double gain = MAX(la, lb) - MAX(la - w, lb + w);
        double score = gain - TIE_EPSILON * 0.5 * spread_delta(pl, v, a, b);
        if (gain > need && score > best->score && may_go(pl, v, b))
            *best = (Action){gain, score, v, G_MAXUINT, b};
    }
}

static int
cmp_item_load(gconstpointer a, gconstpointer b, gpointer data)
{
    const VmbCpuItem *items = data;
    double la = items[*(const guint *) a].load, lb = items[*(const guint *) b].load;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

/* Swaps v (on a) with u (on b): like moving w_v - w_u. The best u has a load near
 * w_v - (La - Lb) / 2; binary search over b's items sorted by load. */
static void
consider_swaps(const Plan *pl, guint a, guint b, Action *best)
{
    double la = pl->load[a], lb = pl->load[b];
    double need = margin(pl, a, b);
    g_autoptr(GArray) dst = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < pl->on[b]->len; k++) {
        guint u = g_array_index(pl->on[b], guint, k);
        if (can_move(pl, u))
            g_array_append_val(dst, u);
    }
    if (dst->len == 0)
        return;
    g_array_sort_with_data(dst, cmp_item_load, (gpointer) pl->p->items);
    for (guint k = 0; k < pl->on[a]->len; k++) {
        guint v = g_array_index(pl->on[a], guint, k);
        if (!can_move(pl, v))
            continue;
        double wv = pl->p->items[v].load;
        double ideal = wv - (la - lb) / 2;
        guint lo = 0, hi = dst->len;
        while (lo < hi) {
            guint mid = (lo + hi) / 2;
            if (pl->p->items[g_array_index(dst, guint, mid)].load < ideal)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (guint j = lo > 0 ? lo - 1 : 0; j <= lo && j < dst->len; j++) {
            guint u = g_array_index(dst, guint, j);
            double wu = pl->p->items[u].load;
            if (wu >= wv)
                continue;
            double gain = MAX(la, lb) - MAX(la - wv + wu, lb - wu + wv);
            /* A swap costs two pin changes: it must beat a plain move clearly. */
            double score =
                gain - TIE_EPSILON -
                TIE_EPSILON * 0.5 * (spread_delta(pl, v, a, b) + spread_delta(pl, u, b, a));
            if (gain > need && score > best->score && may_go(pl, v, b) && may_go(pl, u, a))
                *best = (Action){gain, score, v, u, b};
        }
    }
}

static int
cmp_pcpu_load_desc(gconstpointer a, gconstpointer b, gpointer data)
{
    const double *load = data;
    double la = load[*(const guint *) a], lb = load[*(const guint *) b];
    return la < lb ? 1 : la > lb ? -1 : (int) (*(const guint *) a) - (int) (*(const guint *) b);
}

/* One balancing action from the busiest pCPU that has one; FALSE when none qualifies. */
static gboolean
balance_step(Plan *pl, guint budget)
{
    g_autofree guint *order = g_memdup2(pl->allowed, sizeof(guint) * pl->n_allowed);
    g_qsort_with_data(order, pl->n_allowed, sizeof(guint), cmp_pcpu_load_desc, pl->load);
    double min = pl->load[order[pl->n_allowed - 1]];

    /* Destinations: the least loaded pCPUs (near-ties let the domain spread decide). */
    g_autoptr(GArray) dests = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = pl->n_allowed; k-- > 0;) {
        if (pl->load[order[k]] > min + TIE_EPSILON)
            break;
        g_array_append_val(dests, order[k]);
    }

    for (guint k = 0; k < pl->n_allowed; k++) {
        guint a = order[k];
        if (pl->load[a] - min <= pl->h)
            break; /* nothing below can gain more than the hysteresis */
        Action best = {.score = -INFINITY};
        for (guint j = 0; j < dests->len; j++) {
            guint b = g_array_index(dests, guint, j);
            if (b == a)
                continue;
            consider_moves(pl, a, b, &best);
            if (budget >= 2)
                consider_swaps(pl, a, b, &best);
        }
        if (best.score == -INFINITY)
            continue;
        if (best.u == G_MAXUINT)
            move(pl, best.v, best.to, VMB_CPU_BALANCE, best.gain);
        else
            swap(pl, best.v, best.u, VMB_CPU_BALANCE, best.gain);
        return TRUE;
    }
    return FALSE;
}

/* Separates item @i from a sibling on its pCPU when that costs no balance: a move or swap
 * that lowers the same-domain pairs and does not raise the busier of the two pCPUs. */
static gboolean
spread_item(Plan *pl, guint i, guint budget)
{
    guint a = (guint) pl->place[i];
    guint d = pl->p->items[i].domain;
    if (siblings(pl, d, a) < 2)
        return FALSE;
    double w = pl->p->items[i].load;
    for (guint k = 0; k < pl->n_allowed; k++) {
        guint b = pl->allowed[k];
        if (b == a || siblings(pl, d, b) > 0 || !may_go(pl, i, b))
            continue;
        double la = pl->load[a], lb = pl->load[b];
        if (MAX(la - w, lb + w) <= MAX(la, lb)) {
            move(pl, i, b, VMB_CPU_SPREAD, MAX(la, lb) - MAX(la - w, lb + w));
            return TRUE;
        }
        if (budget < 2)
            continue;
        for (guint j = 0; j < pl->on[b]->len; j++) {
            guint u = g_array_index(pl->on[b], guint, j);
            double wu = pl->p->items[u].load;
            guint du = pl->p->items[u].domain;
            if (!can_move(pl, u) || du == d || siblings(pl, du, a) > 0 || !may_go(pl, u, a))
                continue;
            if (MAX(la - w + wu, lb - wu + w) <= MAX(la, lb) + 1e-9) {
                double gain = MAX(la, lb) - MAX(la - w + wu, lb - wu + w);
                swap(pl, i, u, VMB_CPU_SPREAD, gain);
                return TRUE;
            }
        }
    }
    return FALSE;
}

static gboolean
spread_step(Plan *pl, guint budget)
{
    for (guint d = 0; d < pl->n_domains; d++) {
        if (pl->dom_first[d + 1] - pl->dom_first[d] < 2)
            continue;
        for (guint k = pl->dom_first[d]; k < pl->dom_first[d + 1]; k++) {
            guint i = pl->dom_items[k];
            if (pl->place[i] >= 0 && can_move(pl, i) && spread_item(pl, i, budget))
                return TRUE;
        }
    }
    return FALSE;
}

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
    double max_var = 0;
    for (guint a = 0; a < pl->n_allowed; a++)
        max_var = MAX(max_var, pl->var[pl->allowed[a]]);
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
    g_array_sort_with_data(r->todo, cmp_load_desc, (gpointer) p->items);
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
        *blocked |= r->bin[i] != r->start[i] && !may_go(pl, i, (guint) r->bin[i]);
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
    for (guint k = pl->moves->len; k-- > first_move;) {
        const VmbCpuMove m = g_array_index(pl->moves, VmbCpuMove, k);
        take(pl, m.item);
        put(pl, m.item, (guint) m.from);
        pl->moved[m.item] = FALSE;
    }
    g_array_set_size(pl->moves, first_move);
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        if (r->bin[i] != r->start[i])
            record(pl, i, r->start[i], (guint) r->bin[i], VMB_CPU_BALANCE, gain);
    }
    for (guint k = 0; k < r->todo->len; k++) {
        guint i = g_array_index(r->todo, guint, k);
        if (r->bin[i] != r->start[i]) {
            take(pl, i);
            put(pl, i, (guint) r->bin[i]);
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
static guint
global_replan(Plan *pl, guint first_move, guint budget)
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
    replan_commit(pl, first_move, &r, r.greedy_max - new_max);
    return moves;
}

void
vmb_cpu_loads(const VmbCpuProblem *p, const gint *placement, double *loads)
{
    for (guint c = 0; c < p->npcpus; c++)
        loads[c] = p->background ? p->background[c] : 0;
    for (guint i = 0; i < p->n_items; i++) {
        if (placement[i] >= 0 && (guint) placement[i] < p->npcpus)
            loads[placement[i]] += p->items[i].load;
    }
}

/* Items grouped by domain (CSR: dom_first, dom_items), for sibling counts. */
static void
group_by_domain(Plan *pl)
{
    const VmbCpuProblem *p = pl->p;
    for (guint i = 0; i < p->n_items; i++)
        pl->n_domains = MAX(pl->n_domains, p->items[i].domain + 1);
    pl->dom_first = g_new0(guint, pl->n_domains + 1);
    pl->dom_items = g_new0(guint, p->n_items + 1);
    for (guint i = 0; i < p->n_items; i++)
        pl->dom_first[p->items[i].domain + 1]++;
    for (guint d = 0; d < pl->n_domains; d++)
        pl->dom_first[d + 1] += pl->dom_first[d];
    g_autofree guint *fill = g_memdup2(pl->dom_first, sizeof(guint) * (pl->n_domains + 1));
    for (guint i = 0; i < p->n_items; i++)
        pl->dom_items[fill[p->items[i].domain]++] = i;
}

/* Sets up the working state with the background loads and no item placed. FALSE when no
 * pCPU is allowed: there is nothing to plan. */
static gboolean
plan_init(Plan *pl, const VmbCpuProblem *p, const VmbCpuTunables *t)
{
    *pl = (Plan){.p = p, .h = t->hysteresis};
    pl->moves = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    pl->allowed = g_new0(guint, p->npcpus);
    for (guint c = 0; c < p->npcpus; c++) {
        if (p->allowed[c])
            pl->allowed[pl->n_allowed++] = c;
    }
    pl->z = noise_z(pl->n_allowed);
    if (pl->n_allowed == 0)
        return FALSE;
    pl->load = g_new0(double, p->npcpus);
    pl->var = g_new0(double, p->npcpus);
    pl->place = g_new0(gint, p->n_items);
    pl->moved = g_new0(gboolean, p->n_items);
    pl->on = g_new0(GArray *, p->npcpus);
    group_by_domain(pl);
    for (guint c = 0; c < p->npcpus; c++) {
        pl->on[c] = g_array_new(FALSE, FALSE, sizeof(guint));
        pl->load[c] = p->background ? p->background[c] : 0;
    }
    return TRUE;
}

static void
plan_clear(Plan *pl)
{
    for (guint c = 0; pl->on && c < pl->p->npcpus; c++)
        g_array_unref(pl->on[c]);
    g_clear_pointer(&pl->on, g_free);
    g_clear_pointer(&pl->dom_first, g_free);
    g_clear_pointer(&pl->dom_items, g_free);
    g_clear_pointer(&pl->load, g_free);
    g_clear_pointer(&pl->var, g_free);
    g_clear_pointer(&pl->place, g_free);
    g_clear_pointer(&pl->moved, g_free);
    g_clear_pointer(&pl->allowed, g_free);
    g_clear_pointer(&pl->moves, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Plan, plan_clear)

/* Mandatory placements: items pinned to an allowed pCPU stay put for now; the rest are
 * placed (largest first on the least loaded pCPU). Items of excluded domains outside the
 * allowed set are not ours to count. */
static void
place_mandatory(Plan *pl)
{
    const VmbCpuProblem *p = pl->p;
    for (guint i = 0; i < p->n_items; i++) {
        gint c = p->items[i].current;
        pl->place[i] = -1;
        if (c >= 0 && (guint) c < p->npcpus && p->allowed[c])
            put(pl, i, (guint) c);
    }
    place_floating(pl);
}

/* Greedy phase: one action at a time, a balancing move or swap when one qualifies, else one
 * that spreads a domain, until none qualifies or the move budget is spent. */
static void
balance_greedily(Plan *pl, guint max_moves)
{
    guint budget = max_moves;
    while (budget > 0 && pl->n_allowed > 1) {
        guint before = pl->moves->len;
        if (!balance_step(pl, budget) && !spread_step(pl, budget))
            break;
        guint used = pl->moves->len - before;
        budget = used >= budget ? 0 : budget - used;
    }
}

GArray *
vmb_cpu_plan(const VmbCpuProblem *p, const VmbCpuTunables *t)
{
    g_auto(Plan) pl = {0};
    if (!plan_init(&pl, p, t))
        return g_steal_pointer(&pl.moves);
    place_mandatory(&pl);
    guint first_move = pl.moves->len;
    balance_greedily(&pl, t->max_moves);
    if (pl.n_allowed > 1)
        global_replan(&pl, first_move, t->max_moves);
    return g_steal_pointer(&pl.moves);
}
