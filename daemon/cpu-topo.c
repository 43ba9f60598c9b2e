/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The topology half of the vCPU policy: where a host is not a flat row of pCPUs.
 *
 * The model (bench/notes.md has the sources): two busy hardware threads of one core deliver
 * 1 + smt_gain of one core between them (published SMT gains are 0.1-0.3), so a busy core
 * costs more than the sum of its threads and two busy vCPUs belong on two cores while a core
 * idles; a vCPU on another node than its domain's memory delivers 1 - remote_penalty (0.1-0.4
 * for remote DRAM latency), so a domain belongs on the node holding its memory when it fits
 * there. These rules only choose between placements the load balancing finds equal or nearly
 * so; they never raise the busier of the pCPUs a move touches by more than the hysteresis, so
 * the balancing steps never undo them (a reversal would gain less than the hysteresis). On a
 * flat host (pl->topo NULL) every function here is a no-op. */
#include "cpu-plan.h"

#include <math.h>
#include <string.h>

/* A thread counts as busy from this load: two busy threads on one core share it. Below the
 * bench's 50 % (its double-up count) so that measurement noise around 50 % does not hide one. */
#define SMT_BUSY 40.0
/* The model's figures (bench/notes.md has their sources): what two busy threads of one core
 * deliver beyond one, and what a vCPU loses running away from its memory. The policy prices
 * destinations with them; the bench charges with them (and varies them). */
#define SMT_GAIN       0.25
#define REMOTE_PENALTY 0.2
/* A core idles when every thread of it is below this load. */
#define SMT_IDLE 10.0
/* A move or swap (balance, SMT, NUMA, or the global re-plan) that takes a vCPU off its
 * domain's home node must gain this many times its margin. A split costs the moved vCPU
 * REMOTE_PENALTY of its work for as long as it stays, while a gain is measured in points of
 * the busier pCPU or of work; doubling the bar keeps splits to gains clearly beyond noise. A
 * stated choice, not fitted; it decides in the SMT step: two 40 % vCPUs of a database sharing
 * a core save 12 - 8 = 4 points on another node, which cleared the hysteresis (3) alone. */
#define NUMA_SPLIT 2.0

static guint
node_of(const Plan *pl, guint pcpu)
{
    return pl->topo->cpu[pcpu].node;
}

/* The allowed pCPUs grouped by node, so that the NUMA step looks at the home node only. */
static void
group_by_node(Plan *pl)
{
    guint nn = pl->topo->nnodes;
    pl->node_first = g_new0(guint, nn + 1);
    pl->node_cpus = g_new(guint, MAX(pl->n_allowed, 1));
    for (guint k = 0; k < pl->n_allowed; k++)
        pl->node_first[node_of(pl, pl->allowed[k]) + 1]++;
    for (guint n = 0; n < nn; n++)
        pl->node_first[n + 1] += pl->node_first[n];
    g_autofree guint *fill = g_memdup2(pl->node_first, sizeof(guint) * (nn + 1));
    for (guint k = 0; k < pl->n_allowed; k++)
        pl->node_cpus[fill[node_of(pl, pl->allowed[k])]++] = pl->allowed[k];
}

void
topo_init_homes(Plan *pl)
{
    if (!pl->topo)
        return;
    group_by_node(pl);
    const VmbCpuProblem *p = pl->p;
    guint nn = pl->topo->nnodes;
    pl->home = g_new(gint, MAX(pl->n_domains, 1));
    pl->numa_tried = g_new0(gboolean, MAX(p->n_items, 1));
    g_autofree guint *count = g_new0(guint, nn);
    for (guint d = 0; d < pl->n_domains; d++) {
        pl->home[d] = -1;
        memset(count, 0, sizeof(guint) * nn);
        for (guint k = pl->dom_first[d]; k < pl->dom_first[d + 1]; k++) {
            guint i = pl->dom_items[k];
            gint mem = p->item_node ? p->item_node[i] : -1;
            if (mem >= 0 && (guint) mem < nn) {
                pl->home[d] = mem; /* its memory decides */
                break;
            }
            if (pl->place[i] >= 0)
                count[node_of(pl, (guint) pl->place[i])]++;
        }
        if (pl->home[d] >= 0)
            continue;
        guint best = 0;
        for (guint n = 1; n < nn; n++)
            best = count[n] > count[best] ? n : best;
        if (count[best] > 0)
            pl->home[d] = (gint) best;
    }
}

/* Most load of another thread of @pcpu's core; and whether one hosts another domain's vCPU
 * of at least SMT_IDLE load (a neighbour). */
static double
other_threads(const Plan *pl, guint pcpu, guint domain, gboolean *neighbour)
{
    guint n;
    const guint *cpus = vmb_topology_core_cpus(pl->topo, pcpu, &n);
    double most = 0;
    *neighbour = FALSE;
    for (guint k = 0; k < n; k++) {
        if (cpus[k] == pcpu)
            continue;
        most = MAX(most, pl->load[cpus[k]]);
        GArray *on = pl->on[cpus[k]];
        for (guint j = 0; j < on->len && !*neighbour; j++) {
            const VmbCpuItem *it = &pl->p->items[g_array_index(on, guint, j)];
            *neighbour = it->domain != domain && it->load >= SMT_IDLE;
        }
    }
    return most;
}

/* Points of work lost if @item (load w) runs on @pcpu: sharing its core with threads of load
 * o costs w * o / 100 * (1 - SMT_GAIN) (both threads run at once that share of the time and
 * then deliver 1 + SMT_GAIN between them), off its home node w * REMOTE_PENALTY. */
static double
loss_at(const Plan *pl, guint item, guint pcpu, gboolean *neighbour)
{
    const VmbCpuItem *it = &pl->p->items[item];
    double w = CLAMP(it->load, 0, 100);
    double other = CLAMP(other_threads(pl, pcpu, it->domain, neighbour), 0, 100);
    double loss = w * other / 100 * (1 - SMT_GAIN);
    gint home = pl->home[it->domain];
    if (home >= 0 && node_of(pl, pcpu) != (guint) home)
        loss += w * REMOTE_PENALTY;
    return loss;
}

guint
topo_cost(const Plan *pl, guint item, guint pcpu)
{
    if (!pl->topo)
        return 0;
    gboolean neighbour;
    double loss = loss_at(pl, item, pcpu, &neighbour);
    /* quarter points; a neighbour or a sibling vCPU of the domain costs one point */
    return (guint) (4 * (loss + (neighbour ? 1 : 0) +
                         (plan_siblings(pl, pl->p->items[item].domain, pcpu) > 0 ? 1 : 0)));
}

void
topo_placed(Plan *pl, guint item, guint pcpu)
{
    if (!pl->topo)
        return;
    guint d = pl->p->items[item].domain;
    if (pl->home[d] < 0)
        pl->home[d] = (gint) node_of(pl, pcpu); /* first touch */
}

double
topo_margin_factor(const Plan *pl, guint item, guint a, guint b)
{
    gint home = pl->home[pl->p->items[item].domain];
    if (home >= 0 && node_of(pl, a) == (guint) home && node_of(pl, b) != (guint) home)
        return NUMA_SPLIT;
    return 1.0;
}

/* Is @pcpu's whole core idle (every thread below SMT_IDLE), with @pcpu allowed? */
static gboolean
core_idle(const Plan *pl, guint pcpu)
{
    if (!pl->p->allowed[pcpu])
        return FALSE;
    guint n;
    const guint *cpus = vmb_topology_core_cpus(pl->topo, pcpu, &n);
    for (guint k = 0; k < n; k++) {
        if (pl->load[cpus[k]] >= SMT_IDLE)
            return FALSE;
    }
    return TRUE;
}

/* The thread of an idle core for @item leaving @a: in its home node first (only there when
 * @home_only), then the least loaded, then the lowest number; G_MAXUINT when none, or when
 * the move would raise the busier of the two pCPUs by more than the hysteresis. */
static guint
idle_core_for(const Plan *pl, const GArray *idle, guint item, guint a, gboolean home_only)
{
    gint home = pl->home[pl->p->items[item].domain];
    double w = pl->p->items[item].load;
    guint best = G_MAXUINT;
    gboolean best_home = FALSE;
    for (guint k = 0; k < idle->len; k++) {
        guint b = g_array_index(idle, guint, k);
        if (node_of(pl, b) == node_of(pl, a) && pl->topo->cpu[b].core == pl->topo->cpu[a].core)
            continue;
        gboolean at_home = home < 0 || node_of(pl, b) == (guint) home;
        if ((home_only && !at_home) || !core_idle(pl, b) || !plan_may_go(pl, item, b) ||
            pl->load[b] + w > pl->load[a] + pl->h)
            continue;
        gboolean nb;
        if (loss_at(pl, item, a, &nb) - loss_at(pl, item, b, &nb) <=
            pl->h * topo_margin_factor(pl, item, a, b))
            continue; /* not worth a move (off its home node: a split, not worth it) */
        if (best == G_MAXUINT || (at_home && !best_home) ||
            (at_home == best_home && pl->load[b] < pl->load[best])) {
            best = b;
            best_home = at_home;
        }
    }
    return best;
}

/* The movable vCPU of @a to take off its core, the largest first; G_MAXUINT when none can
 * go to an idle core. */
static gboolean
move_off_core(Plan *pl, const GArray *idle, guint a, gboolean home_only)
{
    guint best = G_MAXUINT, to = G_MAXUINT;
    for (guint k = 0; k < pl->on[a]->len; k++) {
        guint v = g_array_index(pl->on[a], guint, k);
        if (!plan_can_move(pl, v) ||
            (best != G_MAXUINT && pl->p->items[v].load <= pl->p->items[best].load))
            continue;
        guint b = idle_core_for(pl, idle, v, a, home_only);
        if (b != G_MAXUINT) {
            best = v;
            to = b;
        }
    }
    if (best == G_MAXUINT)
        return FALSE;
    plan_move(pl, best, to, VMB_CPU_SMT, 0);
    return TRUE;
}

/* The work a core loses to SMT sharing with its threads' loads changed at @x to @lx (and at
 * @y to @ly when @y is on the same core): the sum over pairs of threads of l1 * l2 / 100 *
 * (1 - SMT_GAIN). */
static double
core_loss(const Plan *pl, guint core, guint x, double lx, guint y, double ly)
{
    const VmbTopology *t = pl->topo;
    double loss = 0;
    for (guint i = t->core_first[core]; i < t->core_first[core + 1]; i++) {
        for (guint j = i + 1; j < t->core_first[core + 1]; j++) {
            guint c1 = t->core_cpus[i], c2 = t->core_cpus[j];
            double l1 = c1 == x ? lx : c1 == y ? ly : pl->load[c1];
            double l2 = c2 == x ? lx : c2 == y ? ly : pl->load[c2];
            loss += CLAMP(l1, 0, 100) * CLAMP(l2, 0, 100) / 100 * (1 - SMT_GAIN);
        }
    }
    return loss;
}

static double
remote_loss(const Plan *pl, guint item, guint pcpu)
{
    gint home = pl->home[pl->p->items[item].domain];
    if (home < 0 || node_of(pl, pcpu) == (guint) home)
        return 0;
    return CLAMP(pl->p->items[item].load, 0, 100) * REMOTE_PENALTY;
}

/* The one movable item of @pcpu, G_MAXUINT when it has none or several. */
static guint
lone_item(const Plan *pl, guint pcpu)
{
    if (pl->on[pcpu]->len != 1)
        return G_MAXUINT;
    guint v = g_array_index(pl->on[pcpu], guint, 0);
    return plan_can_move(pl, v) ? v : G_MAXUINT;
}

/* The factor a swap of @v (on @a) with @u (on @b) must clear the hysteresis by: NUMA_SPLIT
 * when it takes either off its home node. */
static double
swap_factor(const Plan *pl, guint v, guint a, guint u, guint b)
{
    return MAX(topo_margin_factor(pl, v, a, b), topo_margin_factor(pl, u, b, a));
}

/* Above this many pCPUs the SMT swap is not searched (it scans every pCPU per busy core). */
#define SWAP_MAX_PCPUS 512

/* SMT swap, when no core idles: the lone vCPU of a busy thread whose sibling is busy too
 * trades places with the lone vCPU of a lighter thread on another core, when that lowers the
 * work the two cores lose (core_loss) plus what the two vCPUs lose remote by more than the
 * hysteresis (swap_factor times it), and raises neither pCPU above the busier of the two (so
 * balancing never undoes it). The largest reduction wins. */
static gboolean
smt_swap(Plan *pl)
{
    const VmbTopology *t = pl->topo;
    if (pl->n_allowed > SWAP_MAX_PCPUS)
        return FALSE;
    for (guint core = 0; core < t->ncores; core++) {
        if (t->core_first[core + 1] - t->core_first[core] != 2)
            continue;
        guint a1 = t->core_cpus[t->core_first[core]], a2 = t->core_cpus[t->core_first[core] + 1];
        if (!pl->p->allowed[a1] || !pl->p->allowed[a2] || pl->load[a1] < SMT_BUSY ||
            pl->load[a2] < SMT_BUSY)
            continue;
        guint a = pl->load[a1] <= pl->load[a2] ? a1 : a2;
        guint v = lone_item(pl, a);
        if (v == G_MAXUINT)
            continue;
        double wv = pl->p->items[v].load, best = pl->h;
        guint best_b = G_MAXUINT, best_u = G_MAXUINT;
        for (guint k = 0; k < pl->n_allowed; k++) {
            guint b = pl->allowed[k], other = t->cpu[b].core;
            guint u = other == core ? G_MAXUINT : lone_item(pl, b);
            if (u == G_MAXUINT || pl->p->items[u].load >= wv || !plan_may_go(pl, v, b) ||
                !plan_may_go(pl, u, a))
                continue;
            double wu = pl->p->items[u].load, la = pl->load[a], lb = pl->load[b];
            double na = la - wv + wu, nb = lb - wu + wv;
            if (MAX(na, nb) > MAX(la, lb) + 1e-9)
                continue;
            double before = core_loss(pl, core, a, la, a, la) + core_loss(pl, other, b, lb, b, lb) +
                            remote_loss(pl, v, a) + remote_loss(pl, u, b);
            double after = core_loss(pl, core, a, na, a, na) + core_loss(pl, other, b, nb, b, nb) +
                           remote_loss(pl, v, b) + remote_loss(pl, u, a);
            if (before - after > best && before - after > pl->h * swap_factor(pl, v, a, u, b)) {
                best = before - after;
                best_b = b;
                best_u = u;
            }
        }
        if (best_b != G_MAXUINT) {
            plan_record(pl, v, (gint) a, best_b, VMB_CPU_SMT, 0);
            g_array_index(pl->moves, VmbCpuMove, pl->moves->len - 1).paired = TRUE;
            plan_record(pl, best_u, (gint) best_b, a, VMB_CPU_SMT, 0);
            plan_take(pl, v);
            plan_take(pl, best_u);
            plan_put(pl, v, best_b);
            plan_put(pl, best_u, a);
            pl->moved[v] = pl->moved[best_u] = TRUE;
            return TRUE;
        }
    }
    return FALSE;
}

/* SMT: a core with two busy threads (each >= SMT_BUSY) while a whole core idles gets one of
 * its vCPUs moved to the idle core, its home node's first, any node's otherwise (for
 * NUMA_SPLIT times the hysteresis, as every split): sharing costs
 * the pair u_hi * u_lo * (1 - smt_gain) of a core, running the lighter one remote costs
 * u_lo * remote_penalty, less whenever u_hi > remote_penalty / (1 - smt_gain) = 0.27. Then the
 * noisy neighbour: two threads of a core carrying vCPUs of different domains (each >= SMT_IDLE)
 * while a core of the home node idles. The lighter thread's vCPU moves, so the heavier one keeps
 * its cache. */
gboolean
topo_smt_step(Plan *pl, guint budget)
{
    if (!pl->topo || pl->topo->max_threads < 2)
        return FALSE;
    const VmbTopology *t = pl->topo;
    /* The allowed pCPUs of idle cores, once per step: none (a busy host) ends it at once. */
    g_autoptr(GArray) idle = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < pl->n_allowed; k++) {
        if (core_idle(pl, pl->allowed[k]))
            g_array_append_val(idle, pl->allowed[k]);
    }
    if (idle->len == 0)
        return budget >= 2 && smt_swap(pl);
    for (guint pass = 0; pass < 2; pass++) {
        for (guint core = 0; core < t->ncores; core++) {
            const guint *cpus = &t->core_cpus[t->core_first[core]];
            guint n = t->core_first[core + 1] - t->core_first[core];
            for (guint x = 0; x < n; x++) {
                for (guint y = x + 1; y < n; y++) {
                    guint a = cpus[x], b = cpus[y];
                    if (!pl->p->allowed[a] || !pl->p->allowed[b])
                        continue;
                    gboolean hit;
                    if (pass == 0) {
                        hit = pl->load[a] >= SMT_BUSY && pl->load[b] >= SMT_BUSY;
                    } else {
                        gboolean na, nb;
                        hit = pl->on[a]->len > 0 && pl->on[b]->len > 0 && pl->load[a] >= SMT_IDLE &&
                              pl->load[b] >= SMT_IDLE;
                        if (hit) {
                            guint da = pl->p->items[g_array_index(pl->on[a], guint, 0)].domain;
                            other_threads(pl, a, da, &na);
                            other_threads(pl, b,
                                          pl->p->items[g_array_index(pl->on[b], guint, 0)].domain,
                                          &nb);
                            hit = na || nb;
                        }
                    }
                    if (!hit)
                        continue;
                    guint lo = pl->load[a] <= pl->load[b] ? a : b, hi = lo == a ? b : a;
                    if (move_off_core(pl, idle, lo, pass == 1) ||
                        move_off_core(pl, idle, hi, pass == 1))
                        return TRUE;
                }
            }
        }
    }
    return FALSE;
}

/* The work lost by the cores of @a and @b and by the vCPUs @v (on @a) and @u (on @b) to SMT
 * sharing and remote memory; with @swapped, after the two traded places. */
static double
pair_loss(const Plan *pl, guint v, guint a, guint u, guint b, gboolean swapped)
{
    double wv = pl->p->items[v].load, wu = pl->p->items[u].load;
    double la = pl->load[a], lb = pl->load[b];
    if (swapped) {
        la += wu - wv;
        lb += wv - wu;
    }
    guint ca = pl->topo->cpu[a].core, cb = pl->topo->cpu[b].core;
    return core_loss(pl, ca, a, la, b, lb) + (cb != ca ? core_loss(pl, cb, a, la, b, lb) : 0) +
           (swapped ? remote_loss(pl, v, b) + remote_loss(pl, u, a)
                    : remote_loss(pl, v, a) + remote_loss(pl, u, b));
}

/* vCPUs of @domain placed on @node, and (in @away) those placed elsewhere. */
static guint
on_node(const Plan *pl, guint domain, guint node, guint *away)
{
    guint n = 0;
    *away = 0;
    for (guint k = pl->dom_first[domain]; k < pl->dom_first[domain + 1]; k++) {
        gint c = pl->place[pl->dom_items[k]];
        if (c >= 0 && node_of(pl, (guint) c) == node)
            n++;
        else if (c >= 0)
            (*away)++;
    }
    return n;
}

/* Would @v (away from @home) trading places with @u (on @home) leave fewer domains split?
 * When @u's domain also lives on @home, is split already, and has no more vCPUs there than
 * @v's: the node's cores then go to one domain whole rather than to two halves. Each such
 * swap raises the sum of the squares of the domains' vCPUs at home, so they cannot cycle. */
static gboolean
makes_whole(const Plan *pl, guint v, guint u, guint home)
{
    guint du = pl->p->items[u].domain, dv = pl->p->items[v].domain, away_u, away_v;
    if (pl->home[du] != (gint) home)
        return FALSE;
    guint hu = on_node(pl, du, home, &away_u), hv = on_node(pl, dv, home, &away_v);
    return away_u > 0 && hv >= hu;
}

/* NUMA swap, when no pCPU of its home node has room for @v: @v trades places with a vCPU of
 * another domain, no heavier, on a home-node pCPU when that lowers the work the two lose
 * (pair_loss) by more than the hysteresis (NUMA_SPLIT times it when the other leaves its own
 * home node) and raises neither pCPU above the busier of the two (so balancing never undoes
 * it). Two domains each half on the other's node, or light vCPUs holding the cores a busy
 * domain needs at home, are what single moves cannot repair. The largest reduction wins;
 * failing one, a trade that costs no work (within TIE_EPSILON) and makes_whole(). */
static gboolean
numa_swap(Plan *pl, guint v, guint home)
{
    guint a = (guint) pl->place[v];
    double wv = pl->p->items[v].load, best = 0;
    guint best_u = G_MAXUINT, whole_u = G_MAXUINT;
    for (guint k = pl->node_first[home]; k < pl->node_first[home + 1]; k++) {
        guint b = pl->node_cpus[k];
        if (!plan_may_go(pl, v, b))
            continue;
        for (guint j = 0; j < pl->on[b]->len; j++) {
            guint u = g_array_index(pl->on[b], guint, j);
            double wu = pl->p->items[u].load, la = pl->load[a], lb = pl->load[b];
            if (pl->p->items[u].domain == pl->p->items[v].domain || wu > wv ||
                !plan_can_move(pl, u) || !plan_may_go(pl, u, a) ||
                MAX(la - wv + wu, lb - wu + wv) > MAX(la, lb) + 1e-9)
                continue;
            double gain = pair_loss(pl, v, a, u, b, FALSE) - pair_loss(pl, v, a, u, b, TRUE);
            if (gain > pl->h * topo_margin_factor(pl, u, b, a) && gain > best) {
                best = gain;
                best_u = u;
            } else if (best_u == G_MAXUINT && whole_u == G_MAXUINT && gain > -TIE_EPSILON &&
                       makes_whole(pl, v, u, home)) {
                whole_u = u;
            }
        }
    }
    best_u = best_u != G_MAXUINT ? best_u : whole_u;
    if (best_u == G_MAXUINT)
        return FALSE;
    plan_swap(pl, v, best_u, VMB_CPU_NUMA, 0);
    return TRUE;
}

/* NUMA: a vCPU away from its domain's home node moves back when a pCPU of the home node has
 * room for it without raising the busier of the two pCPUs by more than the hysteresis and the
 * work it would lose there (loss_at: a busy sibling thread) is less than what it loses where
 * it is; the least loaded such pCPU, then the smaller loss. The SMT step needs the opposite by
 * more than the hysteresis, so the two never undo each other. */
gboolean
topo_numa_step(Plan *pl)
{
    if (!pl->topo || pl->topo->nnodes < 2)
        return FALSE;
    for (guint d = 0; d < pl->n_domains; d++) {
        gint home = pl->home[d];
        if (home < 0)
            continue;
        for (guint k = pl->dom_first[d]; k < pl->dom_first[d + 1]; k++) {
            guint v = pl->dom_items[k];
            gint a = pl->place[v];
            if (a < 0 || node_of(pl, (guint) a) == (guint) home || !plan_can_move(pl, v) ||
                pl->numa_tried[v])
                continue;
            pl->numa_tried[v] = TRUE; /* one look per plan: the step's cost stays linear */
            double w = pl->p->items[v].load;
            gboolean nb;
            double stay = loss_at(pl, v, (guint) a, &nb);
            guint best = G_MAXUINT;
            double best_loss = INFINITY;
            for (guint j = pl->node_first[home]; j < pl->node_first[home + 1]; j++) {
                guint b = pl->node_cpus[j];
                if (pl->load[b] + w > pl->load[a] + pl->h || !plan_may_go(pl, v, b))
                    continue;
                double l = loss_at(pl, v, b, &nb) + (nb ? 1 : 0);
                if (stay - l <= 0)
                    continue; /* the way back must lose less work */
                if (best == G_MAXUINT || pl->load[b] < pl->load[best] - TIE_EPSILON ||
                    (pl->load[b] <= pl->load[best] + TIE_EPSILON && l < best_loss)) {
                    best = b;
                    best_loss = l;
                }
            }
            if (best != G_MAXUINT) {
                plan_move(pl, v, best, VMB_CPU_NUMA, 0);
                return TRUE;
            }
            if (numa_swap(pl, v, (guint) home))
                return TRUE;
        }
    }
    return FALSE;
}

gboolean
topo_replan_ok(const Plan *pl, const gint *start, const gint *bin, const GArray *todo, double gain,
               double need)
{
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        if (bin[i] != start[i] && start[i] >= 0 &&
            topo_margin_factor(pl, i, (guint) start[i], (guint) bin[i]) > 1 &&
            gain <= need * NUMA_SPLIT)
            return FALSE;
    }
    return TRUE;
}
