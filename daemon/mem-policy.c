/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mem-policy.h"

#include <math.h>
#include <stdlib.h>

#define MIB 1024.0
/* Grows smaller than this are noise, not worth a balloon request. */
#define MIN_GROW_KIB 1024
/* Where in the band a target puts usable memory: the middle for grows and shrinks (the
 * furthest from both edges, so one step does not trigger the opposite one), a quarter for
 * squeezing a guest that is inside the band while the host is short. */
#define FRAC_TARGET  0.5
#define FRAC_SQUEEZE 0.25
/* Growth for comfort (beyond what brings a guest back to its low watermark) stops this
 * fraction of the reserve above it: a surge of the host's own use then has room until the
 * next cycle sees it. Urgent growth may use the headroom down to the reserve itself. */
#define CUSHION_DIV 8

typedef struct {
    double used;      /* current - usable: what the guest cannot give */
    double allowance; /* expected growth over the horizon */
    double keep;      /* free memory it keeps outside pressure: allowance or its recent burst */
    guint64 low, high;
    guint64 floor;
    gboolean starving, idle, inband, squeezable;
    gboolean no_shrink;    /* unreachable, autodeflated, swapping or pending */
    gboolean autodeflated; /* actual rose above our target by itself */
    guint64 want;          /* grow: target; shrink: normal step target */
    guint64 desired;       /* shrink: band middle (pressure reclaim target) */
    guint64 squeeze;       /* squeeze level */
    guint64 urgent;        /* part of the grow that only brings usable back to low */
    guint64 grant;         /* memory given this cycle */
    guint64 excess;        /* what it can give under pressure */
    double urgency;        /* usable / (low + allowance): lower is worse */
    guint64 shrink_to;     /* shrink target this cycle (idle step, reclaim, squeeze, guard) */
    gboolean forced;       /* shrinks under pressure: counted in the supply */
    gboolean guarded;      /* growing guest held back for the reserve */
} GuestPlan;

/* Names in the order of the enums. */
static const char *const reason_names[] = {"grow",    "shrink", "reclaim",
                                           "squeeze", "accept", "guard"};
static const char *const verdict_names[] = {
    "skipped",      "balanced",    "starving", "idle",         "at-maximum",
    "host-limited", "unreachable", "pending",  "autodeflated", "in-flight"};
G_STATIC_ASSERT(G_N_ELEMENTS(reason_names) == VMB_MEM_GUARD + 1);
G_STATIC_ASSERT(G_N_ELEMENTS(verdict_names) == VMB_MEM_V_IN_FLIGHT + 1);

const char *
vmb_mem_reason_to_string(VmbMemReason r)
{
    return (guint) r < G_N_ELEMENTS(reason_names) ? reason_names[r] : "?";
}

const char *
vmb_mem_verdict_to_string(VmbMemVerdict v)
{
    return (guint) v < G_N_ELEMENTS(verdict_names) ? verdict_names[v] : "?";
}

static double
band_low(const VmbMemTunables *t, double actual)
{
    return MAX(t->low_percent / 100.0 * actual, (double) t->min_free_kib);
}

/* The band is at least min_free wide, so a small guest is not grown and shrunk by turns. */
static double
band_high(const VmbMemTunables *t, double actual)
{
    return MAX(t->high_percent / 100.0 * actual, band_low(t, actual) + (double) t->min_free_kib);
}

static double
band_level(const VmbMemTunables *t, double actual, double frac)
{
    double low = band_low(t, actual);
    return low + frac * (band_high(t, actual) - low);
}

void
vmb_mem_band(const VmbMemTunables *t, guint64 actual_kib, guint64 *low, guint64 *high)
{
    *low = (guint64) ceil(band_low(t, (double) actual_kib));
    *high = (guint64) ceil(band_high(t, (double) actual_kib));
}

guint64
vmb_mem_reserve(const VmbMemTunables *t, guint64 host_total_kib)
{
    guint64 pct = (guint64) ceil(t->reserve_percent / 100.0 * (double) host_total_kib);
    return MAX(t->reserve_kib, pct);
}

/* 4 MiB and 0.5 %: balloons stop a few pages off, and libvirt rounds. */
guint64
vmb_mem_tolerance(guint64 target_kib)
{
    return 4096 + target_kib / 200;
}

/* Host memory a shrink of @in to @to frees: all of it for a plain balloon; for a guest that
 * reports free pages only what the balloon takes beyond its free memory (page cache, resident),
 * as its free pages went back to the host already. */
static guint64
frees(const VmbMemGuest *in, guint64 to)
{
    guint64 taken = in->current_kib > to ? in->current_kib - to : 0;
    if (!in->reports_free)
        return taken;
    return taken > in->unused_kib ? taken - in->unused_kib : 0;
}

/* The free pages of a reporting guest its balloon at @to has not taken yet: a shrink passes
 * them (freeing nothing) before it frees host memory. */
static guint64
free_pages_left(const VmbMemGuest *in, guint64 to)
{
    guint64 taken = in->current_kib > to ? in->current_kib - to : 0;
    return in->reports_free && in->unused_kib > taken ? in->unused_kib - taken : 0;
}

/* A shrink of a guest at @current_kib to @to is worth asking: more than the balloon misses by. */
static gboolean
worth_shrinking(guint64 to, guint64 current_kib)
{
    return to + vmb_mem_tolerance(current_kib) <= current_kib;
}

/* @kib rounded up to whole MiB, and not below @level. */
static guint64
mib_up(double kib, guint64 level)
{
    return MAX(level, (guint64) (ceil(kib / MIB) * MIB));
}

/* The smallest actual A at which usable (A - used) reaches band_level(A, frac) + extra. The
 * band scales with A, so this is a fixed point; A - level(A) grows with A (the watermarks are
 * below 100 %), so bisection finds it. Rounded up to whole MiB. */
static guint64
solve_actual(const VmbMemTunables *t, double used, double extra, double frac)
{
    double base = used + extra;
    double lo = base, hi = base + band_level(t, base, frac);
    while (hi - band_level(t, hi, frac) < base)
        hi = hi * 2 + MIB;
    for (int i = 0; i < 64 && hi - lo > 1; i++) {
        double mid = (lo + hi) / 2;
        if (mid - band_level(t, mid, frac) < base)
            lo = mid;
        else
            hi = mid;
    }
    return (guint64) (ceil(hi / MIB) * MIB);
}

static int
cmp_urgency(gconstpointer a, gconstpointer b, gpointer data)
{
    const GuestPlan *g = data;
    guint ia = *(const guint *) a, ib = *(const guint *) b;
    if (g[ia].urgency != g[ib].urgency)
        return g[ia].urgency < g[ib].urgency ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

/* Larger excess over the squeeze level first. */
static int
cmp_excess(gconstpointer a, gconstpointer b, gpointer data)
{
    const GuestPlan *g = data;
    guint ia = *(const guint *) a, ib = *(const guint *) b;
    if (g[ia].excess != g[ib].excess)
        return g[ia].excess > g[ib].excess ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

static double
weight_of(const VmbMemGuest *in)
{
    return in->weight > 0 ? in->weight : 1.0;
}

/* Gives out @budget among the guests in @idx, each up to need[k], in proportion to
 * weight x need; what a capped guest leaves goes round again. Adds to got[k]. */
static guint64
share(const VmbMemGuest *in, GArray *idx, const guint64 *need, guint64 *got, guint64 budget)
{
    guint64 given = 0;
    while (budget > 0) {
        double total = 0;
        for (guint k = 0; k < idx->len; k++) {
            if (got[k] < need[k])
                total += weight_of(&in[g_array_index(idx, guint, k)]) * (double) need[k];
        }
        if (total <= 0)
            break;
        guint64 spent = 0;
        gboolean capped = FALSE;
        for (guint k = 0; k < idx->len; k++) {
            if (got[k] >= need[k])
                continue;
            double w = weight_of(&in[g_array_index(idx, guint, k)]) * (double) need[k];
            guint64 s = (guint64) floor((double) budget * w / total);
            if (s >= need[k] - got[k]) {
                s = need[k] - got[k];
                capped = TRUE;
            }
            got[k] += s;
            spent += s;
        }
        budget -= MIN(spent, budget);
        given += spent;
        if (!capped || spent == 0)
            break;
    }
    return given;
}

static void
add_change(GArray *out, const VmbMemGuest *in, const GuestPlan *g, guint i, guint64 new_kib,
           VmbMemReason reason)
{
    VmbMemChange c = {
        .guest = i,
        .old_kib = in[i].current_kib,
        .new_kib = new_kib,
        .reason = reason,
        .usable_kib = in[i].usable_kib,
        .low_kib = g[i].low,
        .high_kib = g[i].high,
        .rate_kib_s = in[i].rate_kib_s,
    };
    g_array_append_val(out, c);
}

/* The balloon's own target (libvirt's, set at boot or by anyone): actual is not the guest's
 * state while the balloon still moves toward it. A guest inflating toward a lower target, in
 * flight or stalled where it could give no more, is not shrunk: a "shrink" to anything above
 * that target would raise it. BALANCED when the target says nothing. */
static VmbMemVerdict
judge_balloon_target(const VmbMemGuest *in, GuestPlan *g)
{
    guint64 target = in->balloon_target_kib;
    if (!target)
        return VMB_MEM_V_BALANCED;
    guint64 tol = vmb_mem_tolerance(target);
    if (in->in_flight && (in->current_kib + tol < target || in->current_kib > target + tol)) {
        g->no_shrink = TRUE;
        return VMB_MEM_V_IN_FLIGHT;
    }
    if (in->current_kib > target + tol) {
        g->no_shrink = TRUE;
        return VMB_MEM_V_UNREACHABLE;
    }
    return VMB_MEM_V_BALANCED;
}

/* Our own last request. A grow the balloon did not make: asking again would not help, and the
 * memory stays promised (counted against the host headroom). Actual above a shrink target:
 * the guest could not give that much, or took memory back by itself (autodeflate: it needed
 * it). BALANCED when it says nothing. */
static VmbMemVerdict
judge_own_target(const VmbMemGuest *in, GuestPlan *g)
{
    if (!in->target_kib)
        return VMB_MEM_V_BALANCED;
    guint64 tol = vmb_mem_tolerance(in->target_kib);
    if (in->current_kib + tol < in->target_kib && in->target_kib > in->target_from_kib) {
        g->no_shrink = TRUE;
        return VMB_MEM_V_PENDING;
    }
    if (in->current_kib <= in->target_kib + tol)
        return VMB_MEM_V_BALANCED;
    g->no_shrink = TRUE;
    if (in->target_kib < in->target_from_kib && in->current_kib <= in->target_from_kib + tol)
        return VMB_MEM_V_UNREACHABLE;
    g->autodeflated = TRUE;
    return VMB_MEM_V_AUTODEFLATED;
}

/* Memory a paging guest (swap-in or major faults above their thresholds) lacks: its working
 * set does not fit, whatever its free memory says. What it pages in over the horizon, at least
 * the band minimum; 0 when it does not page. */
static double
paging_need(const VmbMemGuest *in, const VmbMemTunables *t)
{
    if (!in->swapping)
        return 0;
    return MAX((double) t->min_free_kib, MAX(0, in->paging_kib_s) * t->horizon_s);
}

static int
cmp_kib_desc(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The jump a guest keeps room for even if it made none itself: the one most of its peers made
 * recently (the lower median of the managed guests' bursts, a guest without one counting 0). A
 * first jump lands before a cycle sees it (the statistics lag an interval and a period); on a
 * host where most guests jump, the next one's first jump is no surprise. 0 until a majority
 * jumped, so one odd guest does not make all the others hold memory. */
static guint64
peer_burst(const VmbMemProblem *p)
{
    g_autoptr(GArray) b = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < p->n_guests; i++) {
        if (p->guests[i].state == VMB_MEM_MANAGED)
            g_array_append_val(b, p->guests[i].burst_kib);
    }
    if (b->len == 0)
        return 0;
    g_array_sort(b, cmp_kib_desc);
    return g_array_index(b, guint64, b->len / 2);
}

/* Where one guest stands: its band, whether it starves or idles, and the targets for each.
 * @peer: the jump its peers make (peer_burst()). */
static VmbMemVerdict
assess(const VmbMemGuest *in, const VmbMemTunables *t, guint64 peer, GuestPlan *g)
{
    double cur = (double) in->current_kib;
    double usable = (double) in->usable_kib;
    g->used = cur > usable ? cur - usable : 0;
    vmb_mem_band(t, in->current_kib, &g->low, &g->high);
    /* Expect the recent rate to go on for the horizon, but not more than half of what the guest
     * uses now (or the band minimum): a step (one large sample) is covered by the deficit
     * itself and must not be extrapolated into a huge reservation. */
    double rate = MAX(0, in->rate_kib_s);
    g->allowance = MIN(rate * t->horizon_s, MAX(g->used / 2, (double) t->min_free_kib));
    /* A guest that jumped recently, or whose peers mostly did, keeps room for such a jump: one
     * cycle cannot react to it before it lands. Measured, not extrapolated, so not capped like
     * the rate; comfort, so given up under pressure (squeeze and low watermark levels count the
     * allowance only). */
    g->keep = MAX(g->allowance, (double) MAX(in->burst_kib, peer));
    g->floor = MIN(MAX(t->floor_kib, in->min_guarantee_kib), in->maximum_kib);

    VmbMemVerdict flight = judge_balloon_target(in, g);
    if (flight == VMB_MEM_V_IN_FLIGHT && in->balloon_target_kib > in->current_kib)
        return flight; /* memory is on its way to the guest (ours or not): wait for it */
    VmbMemVerdict v = judge_own_target(in, g);
    if (v == VMB_MEM_V_PENDING)
        return v;
    if (in->swapping)
        g->no_shrink = TRUE;
    if (v == VMB_MEM_V_BALANCED)
        v = flight;

    double paging = paging_need(in, t);
    double need = (double) g->low + g->keep;
    g->urgency = paging > 0 ? 0 : need > 0 ? usable / need : G_MAXDOUBLE;
    if (usable < need || paging > 0) {
        /* At its maximum nothing can be done; it is only short once below its low watermark
         * (missing just the growth allowance of a guest that may have stopped is not). */
        if (in->current_kib >= in->maximum_kib)
            return usable < (double) g->low || paging > 0 ? VMB_MEM_V_AT_MAXIMUM : v;
        guint64 want = solve_actual(t, g->used + paging, g->keep, FRAC_TARGET);
        if (paging > 0)
            want = MAX(want, mib_up((double) in->current_kib + paging, 0));
        want = MIN(MAX(want, g->floor), in->maximum_kib);
        if (want < in->current_kib + MIN_GROW_KIB && want < in->maximum_kib)
            return v;
        g->starving = TRUE;
        g->want = want;
        guint64 back_to_low = solve_actual(t, g->used, 0, 0);
        g->urgent = back_to_low > in->current_kib ? MIN(back_to_low, want) - in->current_kib : 0;
        if (paging > 0)
            g->urgent = want - in->current_kib; /* paging now: all of it is urgent */
        return VMB_MEM_V_STARVING;
    }
    if (g->no_shrink)
        return v;
    if (usable > (double) g->high + g->keep) {
        g->desired = MAX(solve_actual(t, g->used, g->keep, FRAC_TARGET), g->floor);
        guint64 step =
            in->current_kib > t->max_shrink_kib ? in->current_kib - t->max_shrink_kib : 0;
        g->want = MAX(g->desired, step);
        g->idle = worth_shrinking(g->desired, in->current_kib);
        return VMB_MEM_V_IDLE;
    }
    g->inband = TRUE;
    g->squeeze = MAX(solve_actual(t, g->used, g->allowance, FRAC_SQUEEZE), g->floor);
    g->squeezable = worth_shrinking(g->squeeze, in->current_kib);
    if (g->squeezable)
        g->excess = in->current_kib - g->squeeze;
    return v;
}

/* The working state of one vmb_mem_plan() run, shared by its phases. */
typedef struct {
    const VmbMemProblem *p;
    const VmbMemTunables *t;
    const VmbMemGuest *in;            /* p->guests */
    guint n;                          /* p->n_guests */
    VmbMemPlan *plan;                 /* the result being built */
    GuestPlan *g;                     /* [n] */
    gboolean host_known;              /* the host reported its available memory */
    GArray *starving, *idle, *inband; /* guest indices by class */
    guint64 want_total;               /* what the starving guests want in all */
    guint64 urgent_total;             /* of that, what only brings them back to low */
    gint64 cushion;                   /* comfort growth stops this far above the reserve */
    gint64 supply;                    /* headroom plus what this cycle's shrinks free */
    gint64 idle_goal;                 /* what reclaiming idle guests aims to supply */
    guint64 peer_burst;               /* the jump most guests made: room kept by all */
} MemPlanner;

static void
planner_init(MemPlanner *s, const VmbMemProblem *p, const VmbMemTunables *t)
{
    *s = (MemPlanner){.p = p, .t = t, .in = p->guests, .n = p->n_guests};
    s->plan = g_new0(VmbMemPlan, 1);
    s->plan->changes = g_array_new(FALSE, FALSE, sizeof(VmbMemChange));
    s->plan->verdict = g_new0(VmbMemVerdict, MAX(s->n, 1));
    s->g = g_new0(GuestPlan, MAX(s->n, 1));
    s->starving = g_array_new(FALSE, FALSE, sizeof(guint));
    s->idle = g_array_new(FALSE, FALSE, sizeof(guint));
    s->inband = g_array_new(FALSE, FALSE, sizeof(guint));
}

/* Frees the working state and hands over the plan. */
static VmbMemPlan *
planner_finish(MemPlanner *s)
{
    g_free(s->g);
    g_array_unref(s->starving);
    g_array_unref(s->idle);
    g_array_unref(s->inband);
    return s->plan;
}

/* Headroom: what the host can still give above its reserve. Grows already asked for but not
 * yet made will still take host memory, and so will the host's own growth and the growing
 * guests until the next cycle can react. */
static void
measure_headroom(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    VmbMemPlan *plan = s->plan;
    plan->reserve_kib = vmb_mem_reserve(s->t, s->p->host_total_kib);
    s->host_known = s->p->host_available_kib > 0;
    gint64 promised = 0, guests_take = 0;
    for (guint i = 0; i < s->n; i++) {
        gint64 ours = 0, flying = 0;
        if (in[i].target_kib > in[i].current_kib && in[i].target_kib > in[i].target_from_kib)
            ours = (gint64) (in[i].target_kib - in[i].current_kib);
        if (in[i].in_flight && in[i].balloon_target_kib > in[i].current_kib)
            flying = (gint64) (in[i].balloon_target_kib - in[i].current_kib);
        promised += MAX(ours, flying); /* ours is usually the one in flight */
        guests_take += (gint64) in[i].take_kib;
    }
    plan->headroom_kib = (gint64) s->p->host_available_kib - (gint64) plan->reserve_kib - promised -
                         (gint64) s->p->host_growth_kib - guests_take;
}

/* Classify: each managed guest is assessed and filed as starving, idle or in-band; the later
 * phases only look at these lists. */
static void
classify_guests(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    memset(g, 0, sizeof(*g) * s->n);
    g_array_set_size(s->starving, 0);
    g_array_set_size(s->idle, 0);
    g_array_set_size(s->inband, 0);
    s->want_total = s->urgent_total = 0;
    for (guint i = 0; i < s->n; i++) {
        s->plan->verdict[i] = VMB_MEM_V_SKIPPED;
        if (in[i].state != VMB_MEM_MANAGED)
            continue;
        s->plan->verdict[i] = assess(&in[i], s->t, s->peer_burst, &g[i]);
        if (g[i].starving) {
            g_array_append_val(s->starving, i);
            s->want_total += g[i].want - in[i].current_kib;
            s->urgent_total += g[i].urgent;
        } else if (g[i].idle) {
            g_array_append_val(s->idle, i);
        } else if (g[i].inband) {
            g_array_append_val(s->inband, i);
        }
    }
}

/* Pressure: the host is below its reserve, or cannot give the starving guests all they want
 * and keep the cushion. Only then are guests shrunk beyond their normal step. */
static void
decide_pressure(MemPlanner *s)
{
    s->cushion = (gint64) (s->plan->reserve_kib / CUSHION_DIV);
    s->supply = s->plan->headroom_kib;
    s->idle_goal = s->want_total ? (gint64) s->want_total + s->cushion : 0;
    s->plan->pressure = s->host_known && (s->supply < 0 || s->supply < s->idle_goal);
}

/* Idle guests take their normal step (at most the per-step cap). Under pressure that step
 * is counted as supply and must be made. */
static void
take_idle_steps(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    for (guint k = 0; k < s->idle->len; k++) {
        guint i = g_array_index(s->idle, guint, k);
        g[i].shrink_to = g[i].want;
        /* A guest that reports its free pages gave them back already: outside pressure its
         * step would free no host memory, only cap it. */
        if (!s->plan->pressure && frees(&in[i], g[i].want) == 0)
            g[i].shrink_to = in[i].current_kib;
        if (s->plan->pressure && worth_shrinking(g[i].shrink_to, in[i].current_kib)) {
            s->supply += (gint64) frees(&in[i], g[i].shrink_to);
            g[i].forced = TRUE;
        }
    }
}

/* Reclaim idle (under pressure): idle guests give more than their step, down to the middle
 * of their band, the largest excess first and only what the idle goal still lacks. */
static void
reclaim_idle(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    for (guint k = 0; k < s->idle->len; k++) {
        guint i = g_array_index(s->idle, guint, k);
        g[i].excess = g[i].shrink_to - g[i].desired;
    }
    g_array_sort_with_data(s->idle, cmp_excess, g);
    for (guint k = 0; k < s->idle->len && s->supply < s->idle_goal; k++) {
        guint i = g_array_index(s->idle, guint, k);
        guint64 take = MIN(g[i].excess, (guint64) (s->idle_goal - s->supply) +
                                            free_pages_left(&in[i], g[i].shrink_to));
        guint64 to = mib_up((double) (g[i].shrink_to - take), g[i].desired);
        if (!worth_shrinking(to, in[i].current_kib))
            continue;
        guint64 counted = g[i].forced ? frees(&in[i], g[i].shrink_to) : 0;
        s->supply += (gint64) frees(&in[i], to) - (gint64) counted;
        g[i].shrink_to = to;
        g[i].forced = TRUE;
    }
}

/* Squeeze (under pressure): when idle guests cannot cover what the starving guests urgently
 * need (or the host lacks), in-band guests give down to a quarter of their band, the largest
 * excess first. Comfort growth never squeezes anyone. */
static void
squeeze_inband(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    g_array_sort_with_data(s->inband, cmp_excess, g);
    for (guint k = 0; k < s->inband->len && s->supply < (gint64) s->urgent_total; k++) {
        guint i = g_array_index(s->inband, guint, k);
        if (!g[i].squeezable)
            continue;
        guint64 take = MIN(g[i].excess, (guint64) ((gint64) s->urgent_total - s->supply));
        guint64 to = mib_up((double) (in[i].current_kib - take), g[i].squeeze);
        if (!worth_shrinking(to, in[i].current_kib))
            continue;
        s->supply += (gint64) frees(&in[i], to);
        g[i].shrink_to = to;
        g[i].forced = TRUE;
    }
}

/* Down to low (under pressure): still short of the host's own needs (not only of what
 * starving guests want), idle and then in-band guests give down to their low watermark,
 * still inside their band. */
static void
lower_to_low_watermark(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    for (guint pass = 0; pass < 2 && s->supply < 0; pass++) {
        GArray *list = pass == 0 ? s->idle : s->inband;
        for (guint k = 0; k < list->len && s->supply < 0; k++) {
            guint i = g_array_index(list, guint, k);
            guint64 low = MAX(solve_actual(s->t, g[i].used, g[i].allowance, 0), g[i].floor);
            guint64 from = g[i].forced ? g[i].shrink_to : in[i].current_kib;
            if (low >= from)
                continue;
            guint64 take = MIN(from - low, (guint64) -s->supply);
            guint64 to = mib_up((double) (from - take), low);
            if (!worth_shrinking(to, in[i].current_kib) || to >= from)
                continue;
            s->supply += (gint64) frees(&in[i], to) - (gint64) frees(&in[i], from);
            g[i].shrink_to = to;
            g[i].forced = TRUE;
        }
    }
}

/* Last resort (under pressure), the host still short: guests below their low watermark that
 * are not growing (a growing one is guarded below) give down to the band minimum: the
 * reserve holds over a watermark. */
static void
shrink_starving_to_band_minimum(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    for (guint k = 0; k < s->starving->len && s->supply < 0; k++) {
        guint i = g_array_index(s->starving, guint, k);
        if (in[i].take_kib || g[i].no_shrink)
            continue;
        guint64 last = mib_up(g[i].used + (double) s->t->min_free_kib, g[i].floor);
        if (!worth_shrinking(last, in[i].current_kib))
            continue;
        guint64 take = MIN(in[i].current_kib - last, (guint64) -s->supply);
        guint64 to = mib_up((double) (in[i].current_kib - take), last);
        if (!worth_shrinking(to, in[i].current_kib))
            continue;
        s->supply += (gint64) frees(&in[i], to);
        g[i].shrink_to = to;
        g[i].forced = TRUE;
        s->plan->verdict[i] = VMB_MEM_V_HOST_LIMITED;
    }
}

/* May @i be guarded: a managed guest that takes host memory and is not shrunk otherwise. */
static gboolean
guardable(const MemPlanner *s, guint i)
{
    const VmbMemGuest *in = s->in;
    const GuestPlan *g = s->g;
    return in[i].state == VMB_MEM_MANAGED && in[i].take_kib && !g[i].forced && !g[i].idle &&
           !g[i].no_shrink;
}

/* Guard: the reserve comes first. When the guests would take the host below it before the
 * next cycle (negative headroom), growing guests give back (in proportion) the free memory
 * they would touch. Reclaims from other guests are not counted here: pages a guest never
 * touched free no host memory, and the next cycle sees what they freed. */
static void
guard_reserve(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    if (!s->host_known || s->plan->headroom_kib >= 0)
        return;
    guint64 deficit = (guint64) -s->plan->headroom_kib, takers = 0;
    for (guint i = 0; i < s->n; i++) {
        if (guardable(s, i))
            takers += in[i].take_kib;
    }
    for (guint i = 0; takers && i < s->n; i++) {
        if (!guardable(s, i))
            continue;
        double cut = MIN((double) in[i].take_kib,
                         ceil((double) deficit * (double) in[i].take_kib / (double) takers));
        guint64 to = mib_up((double) in[i].current_kib - cut, g[i].floor);
        if (!worth_shrinking(to, in[i].current_kib))
            continue;
        g[i].shrink_to = to;
        g[i].guarded = TRUE;
        s->plan->pressure = TRUE;
        if (g[i].starving)
            s->plan->verdict[i] = VMB_MEM_V_HOST_LIMITED;
    }
}

/* Grant: grows come out of the headroom there is now. Memory reclaimed in this cycle is
 * still in the guests while the balloons move (all at once, inflating often the slower), so
 * it pays for the next cycle's grows. Everything when it fits with the cushion; else the
 * urgent parts first (down to the reserve), then the rest (down to the cushion), each shared
 * by need and weight. Without a host figure nothing grows. */
static void
grant_grows(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    gint64 budget = s->host_known ? s->plan->headroom_kib : 0;
    guint ns = s->starving->len;
    g_autofree guint64 *need = g_new0(guint64, MAX(ns, 1));
    g_autofree guint64 *got = g_new0(guint64, MAX(ns, 1));
    if ((gint64) s->want_total + s->cushion <= budget) {
        for (guint k = 0; k < ns; k++) {
            guint i = g_array_index(s->starving, guint, k);
            got[k] = g[i].want - in[i].current_kib;
        }
    } else {
        for (guint k = 0; k < ns; k++)
            need[k] = g[g_array_index(s->starving, guint, k)].urgent;
        guint64 urgent = share(in, s->starving, need, got, budget > 0 ? (guint64) budget : 0);
        for (guint k = 0; k < ns; k++) {
            guint i = g_array_index(s->starving, guint, k);
            need[k] = g[i].want - in[i].current_kib;
        }
        gint64 comfort = budget - s->cushion - (gint64) urgent;
        share(in, s->starving, need, got, comfort > 0 ? (guint64) comfort : 0);
    }
    for (guint k = 0; k < ns; k++) {
        guint i = g_array_index(s->starving, guint, k);
        g[i].grant = got[k] >= MIN_GROW_KIB ? got[k] : 0;
        if (g[i].grant + vmb_mem_tolerance(g[i].want) < g[i].want - in[i].current_kib)
            s->plan->verdict[i] = VMB_MEM_V_HOST_LIMITED;
    }
}

/* Emit, in the order to apply them: the most starving guest's grow first, then the shrinks
 * (under pressure those that pay for the next grows), then the accepted autodeflations. */
static void
emit_changes(MemPlanner *s)
{
    const VmbMemGuest *in = s->in;
    GuestPlan *g = s->g;
    GArray *out = s->plan->changes;
    g_array_sort_with_data(s->starving, cmp_urgency, g);
    for (guint k = 0; k < s->starving->len; k++) {
        guint i = g_array_index(s->starving, guint, k);
        if (g[i].grant)
            add_change(out, in, g, i, in[i].current_kib + g[i].grant, VMB_MEM_GROW);
    }
    for (guint i = 0; i < s->n; i++) {
        if (g[i].guarded) {
            add_change(out, in, g, i, g[i].shrink_to, VMB_MEM_GUARD);
        } else if (g[i].forced) {
            VmbMemReason r = !g[i].idle                   ? VMB_MEM_SQUEEZE
                             : g[i].shrink_to < g[i].want ? VMB_MEM_RECLAIM
                                                          : VMB_MEM_SHRINK;
            add_change(out, in, g, i, g[i].shrink_to, r);
        } else if (g[i].idle && worth_shrinking(g[i].shrink_to, in[i].current_kib)) {
            add_change(out, in, g, i, g[i].shrink_to, VMB_MEM_SHRINK);
        }
    }
    /* A guest that deflated by itself keeps it: move the target to it, so the balloon does
     * not take the pages back the moment the guest frees them. */
    for (guint i = 0; i < s->n; i++) {
        if (g[i].autodeflated && !g[i].grant)
            add_change(out, in, g, i, in[i].current_kib, VMB_MEM_ACCEPT);
    }
}

/* The phases in the order they decide: each one sees what the earlier ones left (supply,
 * shrink targets); the reclaiming phases only run under pressure. */
VmbMemPlan *
vmb_mem_plan(const VmbMemProblem *p, const VmbMemTunables *t)
{
    MemPlanner s;
    planner_init(&s, p, t);
    measure_headroom(&s);
    s.peer_burst = peer_burst(p);
    classify_guests(&s);
    decide_pressure(&s);
    if (s.plan->pressure && s.peer_burst) {
        /* Room for a jump a guest never made is the weakest claim: not under pressure. */
        s.peer_burst = 0;
        classify_guests(&s);
        decide_pressure(&s);
    }
    take_idle_steps(&s);
    if (s.plan->pressure) {
        reclaim_idle(&s);
        squeeze_inband(&s);
        lower_to_low_watermark(&s);
        shrink_starving_to_band_minimum(&s);
    }
    guard_reserve(&s);
    grant_grows(&s);
    emit_changes(&s);
    return planner_finish(&s);
}

void
vmb_mem_plan_free(VmbMemPlan *plan)
{
    if (!plan)
        return;
    if (plan->changes)
        g_array_unref(plan->changes);
    g_free(plan->verdict);
    g_free(plan);
}
