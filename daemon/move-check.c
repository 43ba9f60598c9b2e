/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "move-check.h"

typedef struct {
    guint vcpu, from, to;
    VmbCpuReason reason;
    guint64 made;
    double from_before, to_before, from_expected, to_expected, gain, wait;
    gboolean judged;    /* it predicted more than the minimum gain */
    gboolean disturbed; /* a later move touched one of its pCPUs */
} Check;

/* A (vCPU, destination) pair that failed: blocked while cycle < until. */
typedef struct {
    guint vcpu, pcpu;
    guint failures;
    guint64 until;
} Pair;

typedef struct {
    GArray *checks; /* Check, oldest first */
    GArray *pairs;  /* Pair */
} DomChecks;

struct _VmbMoveCheck {
    GHashTable *domains;   /* uuid -> DomChecks */
    guint64 blocked_until; /* no pair is blocked from this cycle on (an upper bound) */
};

const char *
vmb_move_outcome_to_string(VmbMoveOutcome o)
{
    static const char *const names[] = {"helped", "failed", "dropped"};
    return o < G_N_ELEMENTS(names) ? names[o] : "?";
}

const char *
vmb_move_drop_to_string(VmbMoveDrop d)
{
    static const char *const names[] = {"", "vanished", "moved again", "disturbed", "no gain"};
    return d < G_N_ELEMENTS(names) ? names[d] : "?";
}

static void
dom_free(DomChecks *d)
{
    g_array_unref(d->checks);
    g_array_unref(d->pairs);
    g_free(d);
}

static DomChecks *
dom_get(VmbMoveCheck *mc, const char *uuid)
{
    DomChecks *d = g_hash_table_lookup(mc->domains, uuid);
    if (!d) {
        d = g_new0(DomChecks, 1);
        d->checks = g_array_new(FALSE, FALSE, sizeof(Check));
        d->pairs = g_array_new(FALSE, FALSE, sizeof(Pair));
        g_hash_table_insert(mc->domains, g_strdup(uuid), d);
    }
    return d;
}

VmbMoveCheck *
vmb_move_check_new(void)
{
    VmbMoveCheck *mc = g_new0(VmbMoveCheck, 1);
    mc->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) dom_free);
    return mc;
}

void
vmb_move_check_free(VmbMoveCheck *mc)
{
    if (!mc)
        return;
    g_hash_table_unref(mc->domains);
    g_free(mc);
}

/* Checks of cycles before @cycle on a pCPU that @moves touch no longer measure their move. */
static void
disturb(VmbMoveCheck *mc, guint64 cycle, const VmbMoveRecord *moves, guint n)
{
    g_autoptr(GHashTable) touched = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint k = 0; k < n; k++) {
        if (moves[k].from >= 0)
            g_hash_table_add(touched, GUINT_TO_POINTER(moves[k].from + 1));
        g_hash_table_add(touched, GUINT_TO_POINTER(moves[k].to + 1));
    }
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, mc->domains);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        GArray *checks = ((DomChecks *) value)->checks;
        for (guint k = 0; k < checks->len; k++) {
            Check *c = &g_array_index(checks, Check, k);
            if (c->made < cycle && (g_hash_table_contains(touched, GUINT_TO_POINTER(c->from + 1)) ||
                                    g_hash_table_contains(touched, GUINT_TO_POINTER(c->to + 1))))
                c->disturbed = TRUE;
        }
    }
}

void
vmb_move_check_record(VmbMoveCheck *mc, guint64 cycle, const VmbMoveRecord *moves, guint n,
                      double min_gain)
{
    disturb(mc, cycle, moves, n);
    for (guint k = 0; k < n; k++) {
        const VmbMoveRecord *m = &moves[k];
        if (m->from < 0 || (m->reason != VMB_CPU_BALANCE && m->reason != VMB_CPU_SPREAD))
            continue;
        Check c = {
            .vcpu = m->vcpu,
            .from = (guint) m->from,
            .to = m->to,
            .reason = m->reason,
            .made = cycle,
            .from_before = m->from_before,
            .to_before = m->to_before,
            .from_expected = m->from_expected,
            .to_expected = m->to_expected,
            .gain = m->gain,
            .wait = m->wait,
            .judged = m->gain > min_gain,
        };
        g_array_append_val(dom_get(mc, m->uuid)->checks, c);
    }
}

static Pair *
find_pair(const DomChecks *d, guint vcpu, guint pcpu, guint *index)
{
    for (guint k = 0; k < d->pairs->len; k++) {
        Pair *p = &g_array_index(d->pairs, Pair, k);
        if (p->vcpu == vcpu && p->pcpu == pcpu) {
            if (index)
                *index = k;
            return p;
        }
    }
    return NULL;
}

/* BASE * 2^(failures - 1) cycles, at most CAP. */
static guint
backoff_cycles(guint failures)
{
    guint len = VMB_MOVE_CHECK_BACKOFF_BASE;
    for (guint k = 1; k < failures && len < VMB_MOVE_CHECK_BACKOFF_CAP; k++)
        len *= 2;
    return MIN(len, VMB_MOVE_CHECK_BACKOFF_CAP);
}

/* Another failure of (@vcpu, @pcpu) at @cycle: blocks the pair; returns for how long. */
static guint
pair_failed(VmbMoveCheck *mc, DomChecks *d, guint vcpu, guint pcpu, guint64 cycle)
{
    Pair *p = find_pair(d, vcpu, pcpu, NULL);
    if (!p) {
        Pair fresh = {.vcpu = vcpu, .pcpu = pcpu};
        g_array_append_val(d->pairs, fresh);
        p = &g_array_index(d->pairs, Pair, d->pairs->len - 1);
    }
    p->failures++;
    guint len = backoff_cycles(p->failures);
    p->until = cycle + len;
    mc->blocked_until = MAX(mc->blocked_until, p->until);
    return len;
}

static void
pair_helped(DomChecks *d, guint vcpu, guint pcpu)
{
    guint k;
    if (find_pair(d, vcpu, pcpu, &k))
        g_array_remove_index_fast(d->pairs, k);
}

/* Why @c gets no verdict, VMB_MOVE_DROP_NONE when it gets one. */
static VmbMoveDrop
drop_reason(const Check *c, gboolean found, gint pcpu, guint npcpus)
{
    if (!found || c->from >= npcpus || c->to >= npcpus)
        return VMB_MOVE_DROP_VANISHED;
    if (pcpu != (gint) c->to)
        return VMB_MOVE_DROP_MOVED;
    if (c->disturbed)
        return VMB_MOVE_DROP_DISTURBED;
    return c->judged ? VMB_MOVE_DROP_NONE : VMB_MOVE_DROP_NO_GAIN;
}

typedef struct {
    guint64 cycle;
    const double *loads;
    guint npcpus;
    VmbMoveLookup lookup;
    gpointer data;
} Now;

/* The verdict on @c, a check of domain @uuid; a failure blocks its pair, a success resets it. */
static VmbMoveVerdict
judge(VmbMoveCheck *mc, DomChecks *d, const char *uuid, const Check *c, const Now *now)
{
    VmbMoveVerdict v = {
        .uuid = g_strdup(uuid),
        .vcpu = c->vcpu,
        .from = c->from,
        .to = c->to,
        .reason = c->reason,
        .made = c->made,
        .outcome = VMB_MOVE_DROPPED,
        .predicted = c->gain,
        .from_before = c->from_before,
        .to_before = c->to_before,
        .wait_before = c->wait,
    };
    gint pcpu = -1;
    gboolean found = now->lookup(uuid, c->vcpu, &pcpu, &v.wait_after, now->data);
    v.dropped = drop_reason(c, found, pcpu, now->npcpus);
    if (v.dropped != VMB_MOVE_DROP_NONE)
        return v;
    v.from_now = now->loads[c->from];
    v.to_now = now->loads[c->to];
    /* What the busier of the two pCPUs missed of the plan's expectation. */
    double shortfall = MAX(v.from_now, v.to_now) - MAX(c->from_expected, c->to_expected);
    v.measured = c->gain - shortfall;
    if (v.measured >= c->gain / 2) {
        v.outcome = VMB_MOVE_HELPED;
        pair_helped(d, c->vcpu, c->to);
    } else {
        v.outcome = VMB_MOVE_FAILED;
        v.blocked_for = pair_failed(mc, d, c->vcpu, c->to, now->cycle);
    }
    return v;
}

/* A pair whose block ended VMB_MOVE_CHECK_BACKOFF_CAP cycles ago is forgotten. */
static void
expire_pairs(DomChecks *d, guint64 cycle)
{
    for (guint k = d->pairs->len; k-- > 0;) {
        if (cycle >= g_array_index(d->pairs, Pair, k).until + VMB_MOVE_CHECK_BACKOFF_CAP)
            g_array_remove_index_fast(d->pairs, k);
    }
}

static void
verdict_clear(gpointer p)
{
    g_free(((VmbMoveVerdict *) p)->uuid);
}

GArray *
vmb_move_check_evaluate(VmbMoveCheck *mc, guint64 cycle, const double *loads, guint npcpus,
                        VmbMoveLookup lookup, gpointer data)
{
    GArray *verdicts = g_array_new(FALSE, FALSE, sizeof(VmbMoveVerdict));
    g_array_set_clear_func(verdicts, verdict_clear);
    Now now = {cycle, loads, npcpus, lookup, data};
    GHashTableIter it;
    gpointer uuid, value;
    g_hash_table_iter_init(&it, mc->domains);
    while (g_hash_table_iter_next(&it, &uuid, &value)) {
        DomChecks *d = value;
        expire_pairs(d, cycle);
        for (guint k = 0; k < d->checks->len;) {
            const Check *c = &g_array_index(d->checks, Check, k);
            if (cycle < c->made + VMB_MOVE_CHECK_EVAL_CYCLES) {
                k++;
                continue;
            }
            VmbMoveVerdict v = judge(mc, d, uuid, c, &now);
            g_array_append_val(verdicts, v);
            g_array_remove_index(d->checks, k);
        }
        if (d->checks->len == 0 && d->pairs->len == 0)
            g_hash_table_iter_remove(&it);
    }
    return verdicts;
}

gboolean
vmb_move_check_blocked(const VmbMoveCheck *mc, const char *uuid, guint vcpu, guint pcpu,
                       guint64 cycle)
{
    if (cycle >= mc->blocked_until)
        return FALSE;
    const DomChecks *d = g_hash_table_lookup(mc->domains, uuid);
    const Pair *p = d ? find_pair(d, vcpu, pcpu, NULL) : NULL;
    return p && cycle < p->until;
}

gboolean
vmb_move_check_any_blocked(const VmbMoveCheck *mc, guint64 cycle)
{
    return cycle < mc->blocked_until;
}

guint
vmb_move_check_pending(const VmbMoveCheck *mc)
{
    guint n = 0;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, mc->domains);
    while (g_hash_table_iter_next(&it, NULL, &value))
        n += ((DomChecks *) value)->checks->len;
    return n;
}

void
vmb_move_check_forget(VmbMoveCheck *mc, const char *uuid)
{
    g_hash_table_remove(mc->domains, uuid);
}

void
vmb_move_check_forget_unknown(VmbMoveCheck *mc, gboolean (*known)(const char *uuid, gpointer data),
                              gpointer data)
{
    GHashTableIter it;
    gpointer uuid;
    g_hash_table_iter_init(&it, mc->domains);
    while (g_hash_table_iter_next(&it, &uuid, NULL)) {
        if (!known(uuid, data))
            g_hash_table_iter_remove(&it);
    }
}
