/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A gain must beat the hysteresis plus z standard deviations of the loads it is computed
 * from, so that noise and short spikes do not move vCPUs. Among P noisy pCPUs the busiest
 * stands out by about sqrt(2 ln P) of its noise by chance alone, so z grows with the host:
 * 2 up to 7 pCPUs, 2.9 at 64, 3.3 at 256. */
static double
noise_z(guint n_allowed)
{
    return MAX(2.0, sqrt(2.0 * log((double) MAX(n_allowed, 1))));
}

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
    case VMB_CPU_SMT:
        return "smt";
    case VMB_CPU_NUMA:
        return "numa";
    case VMB_CPU_PIN_TO:
        return "pin_to";
    }
    return "?";
}

/* vCPUs of @domain placed on @pcpu. Domains have few vCPUs, so a scan of the domain's
 * own items beats any shared table. */
guint
plan_siblings(const Plan *pl, guint domain, guint pcpu)
{
    guint n = 0;
    for (guint k = pl->dom_first[domain]; k < pl->dom_first[domain + 1]; k++)
        n += pl->place[pl->dom_items[k]] == (gint) pcpu;
    return n;
}

void
plan_put(Plan *pl, guint item, guint pcpu)
{
    const VmbCpuItem *it = &pl->p->items[item];
    pl->place[item] = (gint) pcpu;
    pl->load[pcpu] += it->load;
    pl->var[pcpu] += it->noise * it->noise;
    if (pl->var_min)
        pl->var_min[pcpu] += it->target.noise * it->target.noise;
    g_array_append_val(pl->on[pcpu], item);
}

void
plan_take(Plan *pl, guint item)
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
    if (pl->var_min)
        pl->var_min[pcpu] = MAX(0, pl->var_min[pcpu] - it->target.noise * it->target.noise);
    pl->place[item] = -1;
}

void
plan_record(Plan *pl, guint item, gint from, guint to, VmbCpuReason reason, double gain)
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

void
plan_move(Plan *pl, guint item, guint to, VmbCpuReason reason, double gain)
{
    gint from = pl->place[item];
    plan_record(pl, item, from, to, reason, gain);
    if (from >= 0)
        plan_take(pl, item);
    plan_put(pl, item, to);
    pl->moved[item] = TRUE;
}

void
plan_swap(Plan *pl, guint v, guint u, VmbCpuReason reason, double gain)
{
    guint a = (guint) pl->place[v], b = (guint) pl->place[u];
    plan_record(pl, v, (gint) a, b, reason, gain);
    g_array_index(pl->moves, VmbCpuMove, pl->moves->len - 1).paired = TRUE;
    plan_record(pl, u, (gint) b, a, reason, gain);
    plan_take(pl, v);
    plan_take(pl, u);
    plan_put(pl, v, b);
    plan_put(pl, u, a);
    pl->moved[v] = pl->moved[u] = TRUE;
}

gboolean
plan_can_move(const Plan *pl, guint item)
{
    const VmbCpuItem *it = &pl->p->items[item];
    return it->movable && !it->cooling && !pl->moved[item];
}

/* May a balance or spread action put @item on @pcpu? Not where the problem blocks it (a
 * move there did not deliver lately, cpu-policy.h); placements do not ask. */
gboolean
plan_may_go(const Plan *pl, guint item, guint pcpu)
{
    return !pl->p->blocked || !pl->p->blocked(item, pcpu, pl->p->blocked_data);
}

double
plan_margin(const Plan *pl, double var)
{
    double noise = pl->z * sqrt(var);
    return pl->searching ? MAX(pl->h, noise) : pl->h + noise;
}

/* The gain a move between @a and @b must exceed; with var_min, on no less variance than the
 * target was searched on (cpu-target.c). */
static double
margin(const Plan *pl, guint a, guint b)
{
    double var = pl->var[a] + pl->var[b];
    if (pl->var_min)
        var = MAX(var, pl->var_min[a] + pl->var_min[b]);
    return plan_margin(pl, var);
}

/* Min-heap of the allowed pCPUs by load, then number, with each one's position in it: the
 * floating vCPUs are placed without scanning every pCPU for each (cost at 4,096 pCPUs). */
typedef struct {
    const double *load;
    guint *heap; /* pCPU numbers */
    guint *pos;  /* [npcpus] index in heap */
    guint n;
} LoadHeap;

static gboolean
heap_less(const LoadHeap *h, guint i, guint j)
{
    guint a = h->heap[i], b = h->heap[j];
    return h->load[a] < h->load[b] || (h->load[a] == h->load[b] && a < b);
}

static void
heap_swap(LoadHeap *h, guint i, guint j)
{
    guint t = h->heap[i];
    h->heap[i] = h->heap[j];
    h->heap[j] = t;
    h->pos[h->heap[i]] = i;
    h->pos[h->heap[j]] = j;
}

static void
heap_down(LoadHeap *h, guint k)
{
    for (;;) {
        guint l = 2 * k + 1, r = l + 1, m = k;
        if (l < h->n && heap_less(h, l, m))
            m = l;
        if (r < h->n && heap_less(h, r, m))
            m = r;
        if (m == k)
            return;
        heap_swap(h, k, m);
        k = m;
    }
}

/* Restores the heap after the load of the pCPU at index @k changed. */
static void
heap_fix(LoadHeap *h, guint k)
{
    while (k > 0 && heap_less(h, k, (k - 1) / 2)) {
        heap_swap(h, k, (k - 1) / 2);
        k = (k - 1) / 2;
    }
    heap_down(h, k);
}

/* Pops from @front, a min-heap of indices into @h, the one of the least loaded pCPU. */
static guint
front_pop(const LoadHeap *h, GArray *front)
{
    guint *f = (guint *) (gpointer) front->data, top = f[0], n = front->len - 1, k = 0;
    f[0] = f[n];
    g_array_set_size(front, n);
    for (;;) {
        guint l = 2 * k + 1, r = l + 1, m = k;
        if (l < n && heap_less(h, f[l], f[m]))
            m = l;
        if (r < n && heap_less(h, f[r], f[m]))
            m = r;
        if (m == k)
            return top;
        guint t = f[k];
        f[k] = f[m];
        f[m] = t;
        k = m;
    }
}

static void
front_push(const LoadHeap *h, GArray *front, guint i)
{
    if (i >= h->n)
        return;
    g_array_append_val(front, i);
    guint *f = (guint *) (gpointer) front->data;
    for (guint k = front->len - 1; k > 0 && heap_less(h, f[k], f[(k - 1) / 2]); k = (k - 1) / 2) {
        guint t = f[k];
        f[k] = f[(k - 1) / 2];
        f[(k - 1) / 2] = t;
    }
}

/* Least loaded allowed pCPU, preferring one without siblings of @domain among near-ties
 * (within TIE_EPSILON of the least loaded); among those, the least loaded, then the lowest
 * number. The near-ties are visited in that order, so the first without siblings is the
 * answer and only pCPUs with siblings (a domain's few) are looked at before it. With a
 * topology the near-ties are ranked by topo_cost() instead (busy sibling thread, off the home
 * node, another domain on the core, a sibling vCPU, then the load of the other threads), at
 * most MAX_NEAR of them looked at. */
#define MAX_NEAR 256
static guint
least_loaded(const Plan *pl, const LoadHeap *h, guint item, GArray *front)
{
    guint domain = pl->p->items[item].domain;
    double limit = h->load[h->heap[0]] + TIE_EPSILON;
    guint best = G_MAXUINT, best_sibs = G_MAXUINT, seen = 0;
    g_array_set_size(front, 0);
    front_push(h, front, 0);
    while (front->len > 0 && (!pl->topo || seen++ < MAX_NEAR)) {
        guint i = front_pop(h, front), c = h->heap[i];
        if (h->load[c] > limit)
            break;
        guint s = pl->topo ? topo_cost(pl, item, c) : plan_siblings(pl, domain, c);
        if (s < best_sibs) {
            best = c;
            best_sibs = s;
            if (s == 0)
                break;
        }
        front_push(h, front, 2 * i + 1);
        front_push(h, front, 2 * i + 2);
    }
    return best;
}

int
plan_cmp_load_desc(gconstpointer a, gconstpointer b, gpointer data)
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
    if (todo->len == 0)
        return;
    g_array_sort_with_data(todo, plan_cmp_load_desc, (gpointer) p->items);
    g_autofree guint *heap = g_memdup2(pl->allowed, sizeof(guint) * pl->n_allowed);
    g_autofree guint *pos = g_new0(guint, p->npcpus);
    LoadHeap h = {pl->load, heap, pos, pl->n_allowed};
    for (guint k = 0; k < h.n; k++)
        pos[heap[k]] = k;
    for (guint k = h.n / 2; k-- > 0;)
        heap_down(&h, k);
    g_autoptr(GArray) front = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        guint to = least_loaded(pl, &h, i, front);
        VmbCpuReason why = p->items[i].current >= 0 ? VMB_CPU_EVACUATE : VMB_CPU_PLACE;
        plan_record(pl, i, p->items[i].current, to, why, 0);
        plan_put(pl, i, to);
        topo_placed(pl, i, to);
        heap_fix(&h, pos[to]);
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
    return (gint) plan_siblings(pl, d, to) - (gint) (plan_siblings(pl, d, from) - 1);
}

static void
consider_moves(const Plan *pl, guint a, guint b, Action *best)
{
    GArray *src = pl->on[a];
    double la = pl->load[a], lb = pl->load[b];
    double need = margin(pl, a, b);
    for (guint k = 0; k < src->len; k++) {
        guint v = g_array_index(src, guint, k);
        if (!plan_can_move(pl, v))
            continue;
        double w = pl->p->items[v].load;
        double gain = MAX(la, lb) - MAX(la - w, lb + w);
        if (gain <= need)
            continue; /* before the sibling counts: most candidates stop here */
        if (pl->topo && gain <= need * topo_margin_factor(pl, v, a, b))
            continue;
        double score = gain - TIE_EPSILON * 0.5 * spread_delta(pl, v, a, b);
        if (pl->topo) /* among equal gains, the destination that loses the least work */
            score -= TIE_EPSILON * MIN(1.0, topo_cost(pl, v, b) / 80.0);
        if (score > best->score && plan_may_go(pl, v, b))
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

/* The movable items of @b sorted by load, for consider_swaps(). */
static GArray *
swap_candidates(const Plan *pl, guint b)
{
    GArray *dst = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < pl->on[b]->len; k++) {
        guint u = g_array_index(pl->on[b], guint, k);
        if (plan_can_move(pl, u))
            g_array_append_val(dst, u);
    }
    g_array_sort_with_data(dst, cmp_item_load, (gpointer) pl->p->items);
    return dst;
}

/* Swaps v (on a) with u (on b, in @dst: swap_candidates()): like moving w_v - w_u. The best
 * u has a load near w_v - (La - Lb) / 2; binary search over b's items sorted by load. */
static void
consider_swaps(const Plan *pl, guint a, guint b, const GArray *dst, Action *best)
{
    double la = pl->load[a], lb = pl->load[b];
    double need = margin(pl, a, b);
    if (dst->len == 0)
        return;
    for (guint k = 0; k < pl->on[a]->len; k++) {
        guint v = g_array_index(pl->on[a], guint, k);
        if (!plan_can_move(pl, v))
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
            if (gain <= need)
                continue;
            if (pl->topo && gain <= need * MAX(topo_margin_factor(pl, v, a, b),
                                               topo_margin_factor(pl, u, b, a)))
                continue;
            /* A swap costs two pin changes: it must beat a plain move clearly. */
            double score =
                gain - TIE_EPSILON -
                TIE_EPSILON * 0.5 * (spread_delta(pl, v, a, b) + spread_delta(pl, u, b, a));
            if (score > best->score && plan_may_go(pl, v, b) && plan_may_go(pl, u, a))
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

/* The allowed pCPUs, busiest first (then by number), in pl->order. The first call sorts;
 * later ones start from the previous order, which an action changed at a few pCPUs, so an
 * insertion sort is about linear. The comparison is a total order: the same order as a
 * full sort. */
static void
order_by_load(Plan *pl)
{
    guint n = pl->n_allowed, *o = pl->order;
    if (!pl->order_valid) {
        memcpy(o, pl->allowed, sizeof(guint) * n);
        g_qsort_with_data(o, n, sizeof(guint), cmp_pcpu_load_desc, pl->load);
        pl->order_valid = TRUE;
        return;
    }
    for (guint k = 1; k < n; k++) {
        guint c = o[k], j = k;
        for (; j > 0 && cmp_pcpu_load_desc(&o[j - 1], &c, pl->load) > 0; j--)
            o[j] = o[j - 1];
        o[j] = c;
    }
}

/* The destinations of one balancing step: the least loaded pCPUs (near-ties let the
 * domain spread decide), and what bounds the gains towards them. */
/* At most this many destinations per step, the least loaded first (then the higher
 * numbers): a bound on the work per step on huge hosts (thousands of idle pCPUs are all
 * near-ties); no host of up to MAX_DESTS pCPUs, and so no benchmark trace, is affected. */
#define MAX_DESTS 256
typedef struct {
    GArray *dests;
    GPtrArray *swaps;   /* [dests->len] swap_candidates(), made when first needed */
    double min;         /* the least load */
    double min_var;     /* the least variance among them */
    gboolean swappable; /* one of them has a movable item */
} Dests;

static void
dests_clear(Dests *D)
{
    g_clear_pointer(&D->dests, g_array_unref);
    g_clear_pointer(&D->swaps, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Dests, dests_clear)

static void
unref_array(gpointer a)
{
    if (a) /* the swap lists not made */
        g_array_unref(a);
}

static void
dests_init(const Plan *pl, Dests *D)
{
    D->min = pl->load[pl->order[pl->n_allowed - 1]];
    D->min_var = INFINITY;
    D->dests = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = pl->n_allowed; k-- > 0;) {
        guint b = pl->order[k];
        if (pl->load[b] > D->min + TIE_EPSILON || D->dests->len == MAX_DESTS)
            break;
        g_array_append_val(D->dests, b);
        D->min_var = MIN(D->min_var, pl->var[b]);
        for (guint j = 0; j < pl->on[b]->len && !D->swappable; j++)
            D->swappable = plan_can_move(pl, g_array_index(pl->on[b], guint, j));
    }
    D->swaps = g_ptr_array_new_full(D->dests->len, unref_array);
    g_ptr_array_set_size(D->swaps, (gint) D->dests->len);
}

/* The @j-th destination's swap candidates, sorted once per step, not once per source. */
static const GArray *
dests_swaps(const Plan *pl, Dests *D, guint j)
{
    if (!g_ptr_array_index(D->swaps, j))
        g_ptr_array_index(D->swaps, j) = swap_candidates(pl, g_array_index(D->dests, guint, j));
    return g_ptr_array_index(D->swaps, j);
}

/* Gains are computed in floating point: a bound is widened by this before it rules out. */
#define BOUND_SLACK 1e-6

/* Can a move or swap from @a to one of @D gain more than its margin? With items of load
 * >= 0, moving w from la to lb >= min gains at most min(w, la - min - w), and a swap (a net
 * w' <= w) at most min(w, (la - min) / 2); nothing when lb >= la; and the margin is at least
 * the one towards the least noisy destination. FALSE only when no destination qualifies, so
 * skipping @a changes no decision; it spares the pCPUs whose items are all too small or too
 * big to move (a lone vCPU on each of thousands of pCPUs) a scan of every destination. */
static gboolean
may_gain(const Plan *pl, guint a, const Dests *D, gboolean swaps)
{
    double need = plan_margin(pl, pl->var[a] + D->min_var);
    if (!pl->nonneg || !(need > BOUND_SLACK))
        return TRUE;
    double room = pl->load[a] - D->min;
    GArray *src = pl->on[a];
    for (guint k = 0; k < src->len; k++) {
        guint v = g_array_index(src, guint, k);
        if (!plan_can_move(pl, v))
            continue;
        double w = pl->p->items[v].load;
        double bound = MIN(w, room - w);
        if (swaps)
            bound = MAX(bound, MIN(w, room / 2));
        if (MAX(bound, 0) + BOUND_SLACK > need)
            return TRUE;
    }
    return FALSE;
}

gboolean
plan_balance_step(Plan *pl, guint budget)
{
    order_by_load(pl);
    g_auto(Dests) D = {0};
    dests_init(pl, &D);
    for (guint k = 0; k < pl->n_allowed; k++) {
        guint a = pl->order[k];
        if (pl->load[a] - D.min <= pl->h)
            break; /* nothing below can gain more than the hysteresis */
        if (!may_gain(pl, a, &D, budget >= 2 && D.swappable))
            continue;
        Action best = {.score = -INFINITY};
        for (guint j = 0; j < D.dests->len; j++) {
            guint b = g_array_index(D.dests, guint, j);
            if (b == a)
                continue;
            consider_moves(pl, a, b, &best);
            if (budget >= 2 && pl->on[b]->len > 0) /* an idle pCPU has nothing to swap */
                consider_swaps(pl, a, b, dests_swaps(pl, &D, j), &best);
        }
        if (best.score == -INFINITY)
            continue;
        if (best.u == G_MAXUINT)
            plan_move(pl, best.v, best.to, VMB_CPU_BALANCE, best.gain);
        else
            plan_swap(pl, best.v, best.u, VMB_CPU_BALANCE, best.gain);
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
    if (plan_siblings(pl, d, a) < 2)
        return FALSE;
    double w = pl->p->items[i].load;
    for (guint k = 0; k < pl->n_allowed; k++) {
        guint b = pl->allowed[k];
        if (b == a || plan_siblings(pl, d, b) > 0 || !plan_may_go(pl, i, b))
            continue;
        if (pl->topo && topo_margin_factor(pl, i, a, b) > 1)
            continue; /* spreading never splits a domain off its home node */
        double la = pl->load[a], lb = pl->load[b];
        if (MAX(la - w, lb + w) <= MAX(la, lb)) {
            plan_move(pl, i, b, VMB_CPU_SPREAD, MAX(la, lb) - MAX(la - w, lb + w));
            return TRUE;
        }
        if (budget < 2)
            continue;
        for (guint j = 0; j < pl->on[b]->len; j++) {
            guint u = g_array_index(pl->on[b], guint, j);
            double wu = pl->p->items[u].load;
            guint du = pl->p->items[u].domain;
            if (!plan_can_move(pl, u) || du == d || plan_siblings(pl, du, a) > 0 ||
                !plan_may_go(pl, u, a))
                continue;
            if (pl->topo && topo_margin_factor(pl, u, b, a) > 1)
                continue;
            if (MAX(la - w + wu, lb - wu + w) <= MAX(la, lb) + 1e-9) {
                double gain = MAX(la, lb) - MAX(la - w + wu, lb - wu + w);
                plan_swap(pl, i, u, VMB_CPU_SPREAD, gain);
                return TRUE;
            }
        }
    }
    return FALSE;
}

gboolean
plan_spread_step(Plan *pl, guint budget)
{
    for (guint d = 0; d < pl->n_domains; d++) {
        if (pl->dom_first[d + 1] - pl->dom_first[d] < 2)
            continue;
        for (guint k = pl->dom_first[d]; k < pl->dom_first[d + 1]; k++) {
            guint i = pl->dom_items[k];
            if (pl->place[i] >= 0 && plan_can_move(pl, i) && spread_item(pl, i, budget))
                return TRUE;
        }
    }
    return FALSE;
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
    if (p->topology && p->topology->known && p->topology->npcpus == p->npcpus)
        pl->topo = p->topology;
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
    pl->order = g_new0(guint, pl->n_allowed);
    pl->nonneg = TRUE;
    for (guint i = 0; i < p->n_items; i++)
        pl->nonneg &= p->items[i].load >= 0;
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
    g_clear_pointer(&pl->order, g_free);
    g_clear_pointer(&pl->home, g_free);
    g_clear_pointer(&pl->numa_tried, g_free);
    g_clear_pointer(&pl->node_first, g_free);
    g_clear_pointer(&pl->node_cpus, g_free);
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
            plan_put(pl, i, (guint) c);
    }
    topo_init_homes(pl);
    place_floating(pl);
}

/* Greedy phase: one action at a time, a balancing move or swap when one qualifies, else (with
 * a topology) one that takes a busy vCPU off a shared core or brings one to its home node
 * (cpu-topo.c), else one that spreads a domain, until none qualifies or the move budget is
 * spent. */
void
plan_greedy(Plan *pl, guint max_moves)
{
    guint budget = max_moves;
    while (budget > 0 && pl->n_allowed > 1) {
        guint before = pl->moves->len;
        if (!plan_balance_step(pl, budget) && !topo_smt_step(pl, budget) && !topo_numa_step(pl) &&
            !plan_spread_step(pl, budget))
            break;
        guint used = pl->moves->len - before;
        budget = used >= budget ? 0 : budget - used;
    }
}

GArray *
vmb_cpu_plan_toward(const VmbCpuProblem *p, const VmbCpuTunables *t, VmbCpuNext *next)
{
    g_auto(Plan) pl = {0};
    if (!plan_init(&pl, p, t))
        return g_steal_pointer(&pl.moves);
    place_mandatory(&pl);
    if (pl.n_allowed > 1)
        plan_toward_target(&pl, t->max_moves, next);
    else if (next && next->targets)
        memset(next->targets, 0, sizeof(VmbCpuTarget) * p->n_items);
    return g_steal_pointer(&pl.moves);
}

GArray *
vmb_cpu_plan(const VmbCpuProblem *p, const VmbCpuTunables *t)
{
    return vmb_cpu_plan_toward(p, t, NULL);
}
