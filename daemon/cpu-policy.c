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
        .from_load = from >= 0 ? pl->load[from] : 0,
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
        if (gain > need && score > best->score)
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
            if (gain > need && score > best->score)
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
        if (b == a || siblings(pl, d, b) > 0)
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
            if (!can_move(pl, u) || du == d || siblings(pl, du, a) > 0)
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

/* Greedy moves can stop in a local optimum. A fresh longest-processing-time placement of
 * the movable vCPUs is computed too; bins are matched to the pCPUs their vCPUs already
 * use (among pCPUs with the same fixed load) so that few pins change. It replaces the
 * greedy result only when it lowers the most loaded pCPU by more than the hysteresis
 * within the move budget. Returns the number of moves it recorded, 0 if not taken. */
static guint
global_replan(Plan *pl, guint first_move, guint budget)
{
    const VmbCpuProblem *p = pl->p;
    guint P = p->npcpus;
    double greedy_max = max_load(pl);

    /* State before the greedy moves: placement after the mandatory placements. */
    g_autofree gint *start = g_memdup2(pl->place, sizeof(gint) * p->n_items);
    for (guint k = pl->moves->len; k-- > first_move;) {
        const VmbCpuMove *m = &g_array_index(pl->moves, VmbCpuMove, k);
        start[m->item] = m->from;
    }

    /* Fixed load: background, immovable and cooling items stay where they are. */
    g_autofree double *fixed = g_new0(double, P);
    g_autofree double *load = g_new0(double, P);
    g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint c = 0; c < P; c++)
        fixed[c] = p->background ? p->background[c] : 0;
    for (guint i = 0; i < p->n_items; i++) {
        if (start[i] < 0)
            continue;
        if (p->items[i].movable && !p->items[i].cooling)
            g_array_append_val(todo, i);
        else
            fixed[start[i]] += p->items[i].load;
    }
    memcpy(load, fixed, sizeof(double) * P);
    g_array_sort_with_data(todo, cmp_load_desc, (gpointer) p->items);
    g_autofree gint *bin = g_new0(gint, p->n_items);
    g_autofree guint *heap = g_memdup2(pl->allowed, sizeof(guint) * pl->n_allowed);
    guint n = pl->n_allowed;
    for (guint k = n / 2; k-- > 0;)
        heap_down(heap, n, k, load);
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        guint best = heap[0]; /* least loaded pCPU */
        bin[i] = (gint) best;
        load[best] += p->items[i].load;
        heap_down(heap, n, 0, load);
    }
    double lpt_max = 0;
    for (guint a = 0; a < pl->n_allowed; a++)
        lpt_max = MAX(lpt_max, load[pl->allowed[a]]);
    double max_var = 0;
    for (guint a = 0; a < pl->n_allowed; a++)
        max_var = MAX(max_var, pl->var[pl->allowed[a]]);
    double need = pl->h + pl->z * sqrt(2 * max_var);
    if (lpt_max >= greedy_max - need)
        return 0;

    /* Relabel bins onto pCPUs of equal fixed load to keep vCPUs where they are. */
    g_autoptr(GHashTable) overlap = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        gsize key = (gsize) bin[i] * P + (gsize) start[i] + 1;
        gpointer old = g_hash_table_lookup(overlap, GSIZE_TO_POINTER(key));
        g_hash_table_insert(overlap, GSIZE_TO_POINTER(key),
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));
    }
    g_autofree gint *label = g_new0(gint, P); /* bin -> pCPU */
    g_autofree gboolean *taken = g_new0(gboolean, P);
    for (guint c = 0; c < P; c++)
        label[c] = -1;
    /* Greedy matching, largest overlap first (ties: lower bin, then lower pCPU). */
    g_autoptr(GArray) pairs = g_array_new(FALSE, FALSE, sizeof(Overlap));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, overlap);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        gsize kv = GPOINTER_TO_SIZE(key) - 1;
        Overlap o = {GPOINTER_TO_UINT(value), (guint) (kv / P), (guint) (kv % P)};
        if (fabs(fixed[o.bin] - fixed[o.pcpu]) <= TIE_EPSILON)
            g_array_append_val(pairs, o);
    }
    g_array_sort(pairs, cmp_overlap);
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

    guint moves = 0;
    double new_max = 0;
    memcpy(load, fixed, sizeof(double) * P);
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        bin[i] = label[bin[i]];
        load[bin[i]] += p->items[i].load;
        moves += bin[i] != start[i];
    }
    for (guint a = 0; a < pl->n_allowed; a++)
        new_max = MAX(new_max, load[pl->allowed[a]]);
    if (moves > budget || new_max >= greedy_max - need)
        return 0;

    /* Undo the greedy moves, then record the re-plan as one set of moves. */
    for (guint k = pl->moves->len; k-- > first_move;) {
        const VmbCpuMove m = g_array_index(pl->moves, VmbCpuMove, k);
        take(pl, m.item);
        put(pl, m.item, (guint) m.from);
        pl->moved[m.item] = FALSE;
    }
    g_array_set_size(pl->moves, first_move);
    double gain = greedy_max - new_max;
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        if (bin[i] != start[i])
            record(pl, i, start[i], (guint) bin[i], VMB_CPU_BALANCE, gain);
    }
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        if (bin[i] != start[i]) {
            take(pl, i);
            put(pl, i, (guint) bin[i]);
            pl->moved[i] = TRUE;
        }
    }
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

GArray *
vmb_cpu_plan(const VmbCpuProblem *p, const VmbCpuTunables *t)
{
    Plan pl = {.p = p, .h = t->hysteresis};
    pl.moves = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    pl.allowed = g_new0(guint, p->npcpus);
    for (guint c = 0; c < p->npcpus; c++) {
        if (p->allowed[c])
            pl.allowed[pl.n_allowed++] = c;
    }
    pl.z = noise_z(pl.n_allowed);
    if (pl.n_allowed == 0) {
        g_free(pl.allowed);
        return pl.moves;
    }
    pl.load = g_new0(double, p->npcpus);
    pl.var = g_new0(double, p->npcpus);
    pl.place = g_new0(gint, p->n_items);
    pl.moved = g_new0(gboolean, p->n_items);
    pl.on = g_new0(GArray *, p->npcpus);
    /* Items grouped by domain (CSR), for sibling counts. */
    for (guint i = 0; i < p->n_items; i++)
        pl.n_domains = MAX(pl.n_domains, p->items[i].domain + 1);
    pl.dom_first = g_new0(guint, pl.n_domains + 1);
    pl.dom_items = g_new0(guint, p->n_items + 1);
    for (guint i = 0; i < p->n_items; i++)
        pl.dom_first[p->items[i].domain + 1]++;
    for (guint d = 0; d < pl.n_domains; d++)
        pl.dom_first[d + 1] += pl.dom_first[d];
    g_autofree guint *fill = g_memdup2(pl.dom_first, sizeof(guint) * (pl.n_domains + 1));
    for (guint i = 0; i < p->n_items; i++)
        pl.dom_items[fill[p->items[i].domain]++] = i;
    for (guint c = 0; c < p->npcpus; c++) {
        pl.on[c] = g_array_new(FALSE, FALSE, sizeof(guint));
        pl.load[c] = p->background ? p->background[c] : 0;
    }

    /* Items pinned to an allowed pCPU stay put for now; the rest are placed. Items of
     * excluded domains outside the allowed set are not ours to count. */
    for (guint i = 0; i < p->n_items; i++) {
        gint c = p->items[i].current;
        pl.place[i] = -1;
        if (c >= 0 && (guint) c < p->npcpus && p->allowed[c])
            put(&pl, i, (guint) c);
    }
    place_floating(&pl);

    guint first_move = pl.moves->len;
    guint budget = t->max_moves;
    while (budget > 0 && pl.n_allowed > 1) {
        guint before = pl.moves->len;
        if (!balance_step(&pl, budget) && !spread_step(&pl, budget))
            break;
        guint used = pl.moves->len - before;
        budget = used >= budget ? 0 : budget - used;
    }
    if (pl.n_allowed > 1)
        global_replan(&pl, first_move, t->max_moves);

    for (guint c = 0; c < p->npcpus; c++)
        g_array_unref(pl.on[c]);
    g_free(pl.on);
    g_free(pl.dom_first);
    g_free(pl.dom_items);
    g_free(pl.load);
    g_free(pl.var);
    g_free(pl.place);
    g_free(pl.moved);
    g_free(pl.allowed);
    return pl.moves;
}
