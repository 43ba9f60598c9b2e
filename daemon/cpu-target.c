/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU policy's target placement: detect a change, search a target, walk to it (the
 * stopping rule is in cpu-policy.h). */
#include "cpu-plan.h"

#include <math.h>
#include <string.h>

void
plan_undo_to(Plan *pl, guint mark)
{
    for (guint k = pl->moves->len; k-- > mark;) {
        const VmbCpuMove m = g_array_index(pl->moves, VmbCpuMove, k);
        plan_take(pl, m.item);
        if (m.from >= 0)
            plan_put(pl, m.item, (guint) m.from);
        pl->moved[m.item] = FALSE;
    }
    g_array_set_size(pl->moves, mark);
}

/* Is @item's target still to be reached, and may it still go there? A target that the
 * allowed set, the domain's policy or a blocked pair no longer permits is dropped. */
static gboolean
target_pending(const Plan *pl, guint item)
{
    const VmbCpuItem *it = &pl->p->items[item];
    const VmbCpuTarget *tg = &it->target;
    if (!tg->set || pl->place[item] < 0 || (guint) pl->place[item] == tg->pcpu)
        return FALSE;
    return it->movable && !pl->moved[item] && tg->pcpu < pl->p->npcpus &&
           pl->p->allowed[tg->pcpu] && plan_may_go(pl, item, tg->pcpu);
}

static int
cmp_seq(gconstpointer a, gconstpointer b, gpointer items)
{
    const VmbCpuItem *it = items;
    guint sa = it[*(const guint *) a].target.seq, sb = it[*(const guint *) b].target.seq;
    return sa < sb ? -1 : sa > sb ? 1 : (int) (*(const guint *) a) - (int) (*(const guint *) b);
}

/* The pending target moves, in their order. */
static GArray *
pending_moves(const Plan *pl)
{
    GArray *todo = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < pl->p->n_items; i++) {
        if (target_pending(pl, i))
            g_array_append_val(todo, i);
    }
    g_array_sort_with_data(todo, cmp_seq, (gpointer) pl->p->items);
    return todo;
}

/* One move of a walk: @item to @to. */
typedef struct {
    guint item, to;
    VmbCpuReason reason;
} Step;

/* Makes @steps in order, two adjacent steps that exchange two vCPUs as one swap; each records
 * the gain it makes on the loads at that point. */
static void
replay(Plan *pl, const GArray *steps)
{
    for (guint k = 0; k < steps->len; k++) {
        const Step *sv = &g_array_index(steps, Step, k);
        guint v = sv->item, a = (guint) pl->place[v], b = sv->to;
        double la = pl->load[a], lb = pl->load[b], wv = pl->p->items[v].load;
        const Step *su = k + 1 < steps->len ? &g_array_index(steps, Step, k + 1) : NULL;
        if (su && (guint) pl->place[su->item] == b && su->to == a) {
            double wu = pl->p->items[su->item].load;
            double gain = MAX(la, lb) - MAX(la - wv + wu, lb - wu + wv);
            plan_swap(pl, v, su->item, sv->reason, gain);
            k++;
            continue;
        }
        plan_move(pl, v, b, sv->reason, MAX(la, lb) - MAX(la - wv, lb + wv));
    }
}

/* Walk: makes the pending target moves in their order. */
static void
follow_targets(Plan *pl)
{
    g_autoptr(GArray) todo = pending_moves(pl);
    g_autoptr(GArray) steps = g_array_sized_new(FALSE, FALSE, sizeof(Step), todo->len);
    for (guint k = 0; k < todo->len; k++) {
        guint v = g_array_index(todo, guint, k);
        const VmbCpuTarget *tv = &pl->p->items[v].target;
        Step st = {v, tv->pcpu, tv->reason};
        g_array_append_val(steps, st);
    }
    replay(pl, steps);
}

typedef enum { CHANGE_NONE, CHANGE_SPREAD, CHANGE_LOAD } Change;

/* Detection's margins go no lower than the noise term the target was searched on (a floor on
 * the variance of each pCPU, from VmbCpuTarget.noise): a noise estimate that decays
 * after the search (a step's share, the first samples' prior) then cannot by itself bring up
 * the moves the search left under its margin; a load change must. */
static void
floor_on(Plan *pl)
{
    pl->var_min = g_new0(double, pl->p->npcpus);
    for (guint i = 0; i < pl->p->n_items; i++) {
        double s = pl->p->items[i].target.noise;
        if (pl->place[i] >= 0)
            pl->var_min[pl->place[i]] += s * s;
    }
}

static void
floor_off(Plan *pl)
{
    g_clear_pointer(&pl->var_min, g_free);
}

/* Detection: would one balancing, SMT or NUMA action clear its full margin (over the floor
 * of floor_on()) from here: CHANGE_LOAD; or a spread action separate a domain's vCPUs at no
 * cost: CHANGE_SPREAD (spreading only lowers the count of such pairs, so it cannot undo
 * itself). Every vCPU that is not cooling may take part, whether or not the walk moved it. */
static Change
change_detected(Plan *pl)
{
    guint n = pl->p->n_items, mark = pl->moves->len;
    if (n == 0)
        return CHANGE_NONE;
    g_autofree gboolean *moved = g_memdup2(pl->moved, sizeof(gboolean) * n);
    memset(pl->moved, 0, sizeof(gboolean) * n);
    floor_on(pl);
    Change found = plan_balance_step(pl, 2) || topo_smt_step(pl, 2) || topo_numa_step(pl)
                       ? CHANGE_LOAD
                   : plan_spread_step(pl, 2) ? CHANGE_SPREAD
                                             : CHANGE_NONE;
    plan_undo_to(pl, mark);
    floor_off(pl);
    memcpy(pl->moved, moved, sizeof(gboolean) * n);
    if (pl->numa_tried)
        memset(pl->numa_tried, 0, sizeof(gboolean) * n);
    return found;
}

/* The search's moves from @mark on as one move per vCPU, from where it was to where it ends,
 * in the order of its last move (a vCPU may move more than once in a search). */
static GArray *
net_steps(const Plan *pl, guint mark)
{
    g_autoptr(GHashTable) last = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint k = mark; k < pl->moves->len; k++) {
        guint item = g_array_index(pl->moves, VmbCpuMove, k).item;
        g_hash_table_insert(last, GUINT_TO_POINTER(item), GUINT_TO_POINTER(k));
    }
    GArray *steps = g_array_new(FALSE, FALSE, sizeof(Step));
    for (guint k = mark; k < pl->moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(pl->moves, VmbCpuMove, k);
        if (GPOINTER_TO_UINT(g_hash_table_lookup(last, GUINT_TO_POINTER(m->item))) != k)
            continue;
        if ((gint) m->to != pl->p->items[m->item].current) {
            Step st = {m->item, m->to, m->reason};
            g_array_append_val(steps, st);
        }
    }
    return steps;
}

/* At most this many search steps per vCPU: every balancing step lowers the sum of squared
 * pCPU loads, the bound only guards the topology steps' zero-gain moves. */
#define SEARCH_STEPS_PER_ITEM 4

/* The topology steps while they find something (at most @cap): they lower no pCPU's load
 * beyond the hysteresis, so balancing is looked at again only after them, not after each
 * (a failing balancing step scans every pCPU: thousands of vCPUs off their home node on a
 * 4,096-pCPU host made that the search's cost). */
static gboolean
drain_topology(Plan *pl, guint cap)
{
    guint n = 0;
    while (n < cap && topo_smt_step(pl, 2))
        n++;
    while (n < cap && topo_numa_step(pl))
        n++;
    return n > 0;
}

/* Search: the greedy steps on the search margin (the larger of the hysteresis and the noise
 * term, not their sum: plan_margin), a vCPU free to move again, until none qualifies; kept as
 * one net move per vCPU; then the global re-plan may take its place, walked like any target
 * (it may need more pin changes than one cycle allows). */
static void
search_target(Plan *pl, guint mark, guint max_moves)
{
    pl->searching = TRUE;
    guint cap = SEARCH_STEPS_PER_ITEM * pl->p->n_items + 16;
    for (guint n = 0; n < cap; n++) {
        guint before = pl->moves->len;
        if (!plan_balance_step(pl, 2) && !drain_topology(pl, cap - n) && !plan_spread_step(pl, 2))
            break;
        for (guint k = before; k < pl->moves->len; k++)
            pl->moved[g_array_index(pl->moves, VmbCpuMove, k).item] = FALSE;
    }
    pl->searching = FALSE;
    g_autoptr(GArray) steps = net_steps(pl, mark);
    plan_undo_to(pl, mark);
    replay(pl, steps);
    /* as many pin changes as the walk makes before the next settling search */
    plan_global_replan(pl, mark, VMB_CPU_SETTLE_CYCLES * max_moves);
}

/* What is left of a variance estimate's past after one cycle (cpu-usage.c's VAR_ALPHA): a
 * step's share of it, or the first samples' prior, decays by this each cycle. */
#define VAR_DECAY 0.5

/* @it's noise at the end of settling with what remains of the variance it had at the change
 * taken out (VmbCpuTarget.noise, searched VMB_CPU_SETTLE_CYCLES ago): the level its noise
 * converges to. No less than half its noise now, as the two estimates are noisy themselves. */
static double
settled_noise(const VmbCpuItem *it)
{
    double left = pow(VAR_DECAY, VMB_CPU_SETTLE_CYCLES) * it->target.noise * it->target.noise;
    double var = it->noise * it->noise;
    return sqrt(MAX(var - left, var / 4));
}

/* The variance on each pCPU from the items' noise, as plan_put() counts it. */
static void
recount_var(Plan *pl)
{
    memset(pl->var, 0, sizeof(double) * pl->p->npcpus);
    for (guint i = 0; i < pl->p->n_items; i++) {
        if (pl->place[i] >= 0)
            pl->var[pl->place[i]] += pl->p->items[i].noise * pl->p->items[i].noise;
    }
}

/* The search at the end of settling, on settled_noise(): the step's variance that is still
 * decaying would otherwise keep the margin wide and leave moves that show only later. */
static void
search_settled(Plan *pl, guint mark, guint max_moves)
{
    const VmbCpuProblem *own = pl->p;
    VmbCpuProblem p = *own;
    g_autofree VmbCpuItem *items = g_memdup2(own->items, sizeof(VmbCpuItem) * own->n_items);
    for (guint i = 0; i < own->n_items; i++)
        items[i].noise = settled_noise(&own->items[i]);
    p.items = items;
    pl->p = &p;
    recount_var(pl);
    search_target(pl, mark, max_moves);
    pl->p = own;
    recount_var(pl);
}

/* The noise a new target was searched on: the current one after a load change, settled_noise()
 * at the end of settling; otherwise (the walk goes on, or a spread searched over the floor,
 * which must not bring up what detection would not) each vCPU keeps the noise of the last
 * search. */
typedef enum { SEARCH_NONE, SEARCH_CURRENT, SEARCH_SETTLED } Search;

/* The target to keep: where each moved vCPU ends, in the order of its move, and for every vCPU
 * the noise the target was searched on (detection's floor). */
static void
export_targets(const Plan *pl, guint mark, Search search, VmbCpuTarget *targets)
{
    for (guint i = 0; i < pl->p->n_items; i++) {
        const VmbCpuItem *it = &pl->p->items[i];
        double noise = search == SEARCH_CURRENT   ? it->noise
                       : search == SEARCH_SETTLED ? settled_noise(it)
                                                  : it->target.noise;
        targets[i] = (VmbCpuTarget){.noise = noise};
    }
    for (guint k = mark; k < pl->moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(pl->moves, VmbCpuMove, k);
        double noise = targets[m->item].noise;
        targets[m->item] = (VmbCpuTarget){TRUE, m->to, k - mark, m->reason, noise};
    }
}

/* This cycle's share of the walk: the first @max_moves moves, a swap never split. */
static void
trim_walk(Plan *pl, guint mark, guint max_moves)
{
    guint cut = mark + MIN(max_moves, pl->moves->len - mark);
    if (cut > mark && cut < pl->moves->len && g_array_index(pl->moves, VmbCpuMove, cut - 1).paired)
        cut++;
    g_array_set_size(pl->moves, cut);
}

/* A new target when loads change beyond the full margin (settling starts), at the end of
 * settling (the loads have converged: the target is searched once more on them), or when a
 * domain can be spread; else the walk goes on, unless a fresh placement is clearly better (the
 * steps cannot leave a local optimum, the global re-plan can). Detection, the spread and the
 * re-plan keep to the floor (floor_on()). Returns the cycles of settling left, and in *@search the
 * noise a new target was searched on. */
static guint
choose_target(Plan *pl, guint mark, guint max_moves, Search *search)
{
    guint settling = pl->p->settling;
    Change c = change_detected(pl);
    *search = SEARCH_NONE;
    if (c == CHANGE_LOAD) {
        plan_undo_to(pl, mark);
        search_target(pl, mark, max_moves);
        *search = SEARCH_CURRENT;
        return VMB_CPU_SETTLE_CYCLES;
    }
    if (settling == 1) {
        plan_undo_to(pl, mark);
        search_settled(pl, mark, max_moves);
        *search = SEARCH_SETTLED;
        return 0;
    }
    floor_on(pl);
    if (c == CHANGE_SPREAD) {
        plan_undo_to(pl, mark);
        search_target(pl, mark, max_moves);
    } else
        plan_global_replan(pl, mark, max_moves);
    floor_off(pl);
    return settling > 0 ? settling - 1 : 0;
}

void
plan_toward_target(Plan *pl, guint max_moves, VmbCpuNext *next)
{
    guint mark = pl->moves->len; /* the placements before it are made in any case */
    follow_targets(pl);
    Search search;
    guint settling = choose_target(pl, mark, max_moves, &search);
    if (next && next->targets)
        export_targets(pl, mark, search, next->targets);
    if (next)
        next->settling = settling;
    trim_walk(pl, mark, max_moves);
}
