/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU policy's target placement: detect a change, search a target, walk to it (the
 * stopping rule is in cpu-policy.h). */
#include "cpu-plan.h"

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

/* Detection: would one balancing, SMT or NUMA action clear its full margin from here:
 * CHANGE_LOAD; or a spread action separate a domain's vCPUs at no
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
    Change found = plan_balance_step(pl, 2) || topo_smt_step(pl, 2) || topo_numa_step(pl)
                       ? CHANGE_LOAD
                   : plan_spread_step(pl, 2) ? CHANGE_SPREAD
                                             : CHANGE_NONE;
    plan_undo_to(pl, mark);
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
 * one net move per vCPU; then the global re-plan may take its place. */
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
    plan_global_replan(pl, mark, max_moves);
}

/* The target to keep: where each moved vCPU ends, in the order of its move. */
static void
export_targets(const Plan *pl, guint mark, VmbCpuTarget *targets)
{
    memset(targets, 0, sizeof(VmbCpuTarget) * pl->p->n_items);
    for (guint k = mark; k < pl->moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(pl->moves, VmbCpuMove, k);
        targets[m->item] = (VmbCpuTarget){TRUE, m->to, k - mark, m->reason};
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

/* A new target when loads change beyond the full margin (settling starts), when a domain can
 * be spread, or at the end of settling (the loads have converged: the target is searched
 * once more on them); else the walk goes on, unless a fresh placement is clearly better (the
 * steps cannot leave a local optimum, the global re-plan can). Returns the cycles of settling
 * left. */
static guint
choose_target(Plan *pl, guint mark, guint max_moves)
{
    guint settling = pl->p->settling;
    Change c = change_detected(pl);
    if (c == CHANGE_LOAD)
        settling = VMB_CPU_SETTLE_CYCLES + 1;
    else if (c == CHANGE_NONE && settling != 1) {
        plan_global_replan(pl, mark, max_moves);
        return settling > 0 ? settling - 1 : 0;
    }
    plan_undo_to(pl, mark);
    search_target(pl, mark, max_moves);
    return settling > 0 ? settling - 1 : 0;
}

void
plan_toward_target(Plan *pl, guint max_moves, VmbCpuNext *next)
{
    guint mark = pl->moves->len; /* the placements before it are made in any case */
    follow_targets(pl);
    guint settling = choose_target(pl, mark, max_moves);
    if (next && next->targets)
        export_targets(pl, mark, next->targets);
    if (next)
        next->settling = settling;
    trim_walk(pl, mark, max_moves);
}
