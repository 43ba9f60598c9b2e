/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check of the balancer's own moves: verdicts, drops and the backoff, table-driven. */
#include <string.h>

#include "move-check.h"

#define UUID "00000000-0000-0000-0000-000000000001"
#define ANY  (-1)

/* The vCPU as a case sees it now. */
typedef struct {
    gboolean found;
    gint pcpu;
    double wait;
} Now;

static gboolean
lookup(const char *uuid, guint vcpu, gint *pcpu, double *wait, gpointer data)
{
    const Now *now = data;
    g_assert_cmpstr(uuid, ==, UUID);
    g_assert_cmpuint(vcpu, ==, 0);
    *pcpu = now->pcpu;
    *wait = now->wait;
    return now->found;
}

typedef struct {
    const char *name;
    VmbCpuReason reason;
    double before[2], expected[2]; /* pCPUs 0 (from) and 1 (to) */
    double gain, wait;
    Now now;
    double loads[2]; /* measured two cycles later */
    VmbMoveOutcome outcome;
    VmbMoveDrop dropped;
    double measured; /* checked unless ANY */
    guint blocked_for;
} Case;

/* A vCPU moved from pCPU 0 to 1 at cycle 10, judged at cycle 12 (hysteresis 3). */
// clang-format off
static const Case cases[] = {
    {"helped", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {TRUE, 1, 0}, {60, 62},
     VMB_MOVE_HELPED, VMB_MOVE_DROP_NONE, 58, 0},
    {"helped-at-exactly-half", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {TRUE, 1, 0}, {60, 90},
     VMB_MOVE_HELPED, VMB_MOVE_DROP_NONE, 30, 0},
    /* Host load appeared on the destination: 100 instead of 60. */
    {"failed", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {TRUE, 1, 15}, {60, 100},
     VMB_MOVE_FAILED, VMB_MOVE_DROP_NONE, 20, VMB_MOVE_CHECK_BACKOFF_BASE},
    /* The source did not drop: what left was replaced by work that followed. */
    {"failed-source-stayed", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {TRUE, 1, 0},
     {110, 60}, VMB_MOVE_FAILED, VMB_MOVE_DROP_NONE, 10, VMB_MOVE_CHECK_BACKOFF_BASE},
    /* Another move of the same cycle left pCPU 0 at 40: the plan expected that too. */
    {"expected-after-the-whole-cycle", VMB_CPU_BALANCE, {120, 0}, {40, 60}, 60, 0, {TRUE, 1, 0},
     {40, 61}, VMB_MOVE_HELPED, VMB_MOVE_DROP_NONE, 59, 0},
    {"dropped-moved-again", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {TRUE, 0, 0}, {120, 0},
     VMB_MOVE_DROPPED, VMB_MOVE_DROP_MOVED, ANY, 0},
    {"dropped-floating-now", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {TRUE, -1, 0}, {60, 0},
     VMB_MOVE_DROPPED, VMB_MOVE_DROP_MOVED, ANY, 0},
    {"dropped-vanished", VMB_CPU_BALANCE, {120, 0}, {60, 60}, 60, 20, {FALSE, 1, 0}, {60, 0},
     VMB_MOVE_DROPPED, VMB_MOVE_DROP_VANISHED, ANY, 0},
    {"spread-at-no-cost-not-judged", VMB_CPU_SPREAD, {100, 100}, {100, 100}, 0, 0, {TRUE, 1, 0},
     {100, 130}, VMB_MOVE_DROPPED, VMB_MOVE_DROP_NO_GAIN, ANY, 0},
    {"spread-with-gain-judged", VMB_CPU_SPREAD, {100, 40}, {70, 70}, 30, 0, {TRUE, 1, 0},
     {70, 71}, VMB_MOVE_HELPED, VMB_MOVE_DROP_NONE, 29, 0},
};
// clang-format on

static VmbMoveRecord
record_of(const Case *c)
{
    return (VmbMoveRecord){
        .uuid = UUID,
        .vcpu = 0,
        .from = 0,
        .to = 1,
        .reason = c->reason,
        .from_before = c->before[0],
        .to_before = c->before[1],
        .from_expected = c->expected[0],
        .to_expected = c->expected[1],
        .gain = c->gain,
        .wait = c->wait,
    };
}

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    g_autoptr(VmbMoveCheck) mc = vmb_move_check_new();
    VmbMoveRecord r = record_of(c);
    vmb_move_check_record(mc, 10, &r, 1, 3);
    g_autoptr(GArray) early =
        vmb_move_check_evaluate(mc, 11, c->loads, 2, lookup, (gpointer) &c->now);
    g_assert_cmpuint(early->len, ==, 0); /* not due yet */
    g_assert_cmpuint(vmb_move_check_pending(mc), ==, 1);

    g_autoptr(GArray) v = vmb_move_check_evaluate(mc, 12, c->loads, 2, lookup, (gpointer) &c->now);
    g_assert_cmpuint(v->len, ==, 1);
    const VmbMoveVerdict *x = &g_array_index(v, VmbMoveVerdict, 0);
    g_assert_cmpstr(x->uuid, ==, UUID);
    g_assert_cmpuint(x->from, ==, 0);
    g_assert_cmpuint(x->to, ==, 1);
    g_assert_cmpuint(x->made, ==, 10);
    g_assert_cmpint(x->outcome, ==, c->outcome);
    g_assert_cmpint(x->dropped, ==, c->dropped);
    g_assert_cmpfloat(x->predicted, ==, c->gain);
    if (c->measured != ANY)
        g_assert_cmpfloat_with_epsilon(x->measured, c->measured, 1e-9);
    g_assert_cmpuint(x->blocked_for, ==, c->blocked_for);
    if (c->outcome != VMB_MOVE_DROPPED) {
        g_assert_cmpfloat(x->wait_before, ==, c->wait);
        g_assert_cmpfloat(x->wait_after, ==, c->now.wait);
        g_assert_cmpfloat(x->from_before, ==, c->before[0]);
        g_assert_cmpfloat(x->to_before, ==, c->before[1]);
        g_assert_cmpfloat(x->from_now, ==, c->loads[0]);
        g_assert_cmpfloat(x->to_now, ==, c->loads[1]);
    }
    g_assert_cmpuint(vmb_move_check_pending(mc), ==, 0);
    /* Only a failure blocks the pair, from the verdict on. */
    g_assert_cmpint(vmb_move_check_blocked(mc, UUID, 0, 1, 12), ==, c->outcome == VMB_MOVE_FAILED);
    g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 0, 12));
    g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 1, 12 + VMB_MOVE_CHECK_BACKOFF_BASE));
}

static const Case *
find_case(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (g_str_equal(cases[i].name, name))
            return &cases[i];
    }
    g_assert_not_reached();
}

/* Records @c's move at @cycle and judges it; returns the verdict's outcome and blocked_for. */
static VmbMoveOutcome
run_at(VmbMoveCheck *mc, const Case *c, guint64 cycle, guint *blocked_for)
{
    VmbMoveRecord r = record_of(c);
    vmb_move_check_record(mc, cycle, &r, 1, 3);
    guint64 due = cycle + VMB_MOVE_CHECK_EVAL_CYCLES;
    g_autoptr(GArray) v = vmb_move_check_evaluate(mc, due, c->loads, 2, lookup, (gpointer) &c->now);
    g_assert_cmpuint(v->len, ==, 1);
    *blocked_for = g_array_index(v, VmbMoveVerdict, 0).blocked_for;
    return g_array_index(v, VmbMoveVerdict, 0).outcome;
}

/* Each failure doubles the block, up to the cap; the pair is free again once it ends. */
static void
test_backoff_doubles_to_cap(void)
{
    const Case *failed = find_case("failed");
    g_autoptr(VmbMoveCheck) mc = vmb_move_check_new();
    guint expect[] = {4, 8, 16, 32, 64, 128, 256, 256, 256};
    guint64 cycle = 100;
    for (guint k = 0; k < G_N_ELEMENTS(expect); k++) {
        guint len;
        g_assert_cmpint(run_at(mc, failed, cycle, &len), ==, VMB_MOVE_FAILED);
        g_assert_cmpuint(len, ==, expect[k]);
        guint64 verdict = cycle + VMB_MOVE_CHECK_EVAL_CYCLES;
        g_assert_true(vmb_move_check_any_blocked(mc, verdict));
        g_assert_true(vmb_move_check_blocked(mc, UUID, 0, 1, verdict + len - 1));
        g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 1, verdict + len));
        g_assert_false(vmb_move_check_blocked(mc, UUID, 1, 1, verdict)); /* other vCPU */
        g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 2, verdict)); /* other pCPU */
        cycle = verdict + len;                                           /* tried again then */
    }
}

/* A move to the pair's pCPU that helped resets the count of failures. */
static void
test_success_resets(void)
{
    const Case *failed = find_case("failed"), *helped = find_case("helped");
    g_autoptr(VmbMoveCheck) mc = vmb_move_check_new();
    guint len;
    g_assert_cmpint(run_at(mc, failed, 10, &len), ==, VMB_MOVE_FAILED);
    g_assert_cmpint(run_at(mc, failed, 20, &len), ==, VMB_MOVE_FAILED);
    g_assert_cmpuint(len, ==, 8);
    g_assert_cmpint(run_at(mc, helped, 40, &len), ==, VMB_MOVE_HELPED);
    g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 1, 42));
    g_assert_cmpint(run_at(mc, failed, 50, &len), ==, VMB_MOVE_FAILED);
    g_assert_cmpuint(len, ==, 4);
}

/* A pair quiet for the cap after its block ended starts over. */
static void
test_old_failures_expire(void)
{
    const Case *failed = find_case("failed");
    g_autoptr(VmbMoveCheck) mc = vmb_move_check_new();
    guint len;
    run_at(mc, failed, 10, &len);
    run_at(mc, failed, 20, &len); /* blocked 22 .. 29 */
    g_assert_cmpuint(len, ==, 8);
    run_at(mc, failed, 30 + VMB_MOVE_CHECK_BACKOFF_CAP, &len);
    g_assert_cmpuint(len, ==, 4);
}

static gboolean
lookup_any(const char *uuid, guint vcpu, gint *pcpu, double *wait, gpointer data)
{
    *pcpu = 1;
    *wait = 0;
    return TRUE;
}

/* A later move touching one of the pCPUs leaves the earlier move without a verdict, and no
 * block; moves of the same cycle do not disturb each other. */
static void
test_disturbed_by_later_move(void)
{
    const Case *failed = find_case("failed");
    g_autoptr(VmbMoveCheck) mc = vmb_move_check_new();
    VmbMoveRecord r[2] = {record_of(failed), record_of(failed)};
    r[1].uuid = "other";
    vmb_move_check_record(mc, 10, r, 2, 3); /* same cycle: both still measure */
    VmbMoveRecord place = {.uuid = "third", .from = -1, .to = 1, .reason = VMB_CPU_PLACE};
    vmb_move_check_record(mc, 11, &place, 1, 3);
    g_assert_cmpuint(vmb_move_check_pending(mc), ==, 2); /* a placement is not checked */
    g_autoptr(GArray) v = vmb_move_check_evaluate(mc, 12, failed->loads, 2, lookup_any, NULL);
    g_assert_cmpuint(v->len, ==, 2);
    for (guint k = 0; k < v->len; k++) {
        g_assert_cmpint(g_array_index(v, VmbMoveVerdict, k).outcome, ==, VMB_MOVE_DROPPED);
        g_assert_cmpint(g_array_index(v, VmbMoveVerdict, k).dropped, ==, VMB_MOVE_DROP_DISTURBED);
    }
    g_assert_false(vmb_move_check_any_blocked(mc, 12));
}

/* Only the uuid in @data is still running. */
static gboolean
known_only(const char *uuid, gpointer data)
{
    return g_strcmp0(uuid, data) == 0;
}

/* A domain that stopped takes its checks and its blocked pairs with it. */
static void
test_forget(void)
{
    const Case *failed = find_case("failed");
    g_autoptr(VmbMoveCheck) mc = vmb_move_check_new();
    guint len;
    run_at(mc, failed, 10, &len);
    g_assert_true(vmb_move_check_blocked(mc, UUID, 0, 1, 12));
    VmbMoveRecord r = record_of(failed);
    vmb_move_check_record(mc, 13, &r, 1, 3);
    g_assert_cmpuint(vmb_move_check_pending(mc), ==, 1);
    vmb_move_check_forget_unknown(mc, known_only, (gpointer) UUID); /* still known */
    g_assert_cmpuint(vmb_move_check_pending(mc), ==, 1);
    vmb_move_check_forget(mc, UUID);
    g_assert_cmpuint(vmb_move_check_pending(mc), ==, 0);
    g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 1, 12));

    run_at(mc, failed, 20, &len);
    g_assert_cmpuint(len, ==, 4); /* starts over */
    vmb_move_check_forget_unknown(mc, known_only, NULL);
    g_assert_false(vmb_move_check_blocked(mc, UUID, 0, 1, 22));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/move-check/case/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/move-check/backoff-doubles-to-cap", test_backoff_doubles_to_cap);
    g_test_add_func("/move-check/success-resets", test_success_resets);
    g_test_add_func("/move-check/old-failures-expire", test_old_failures_expire);
    g_test_add_func("/move-check/disturbed-by-later-move", test_disturbed_by_later_move);
    g_test_add_func("/move-check/forget", test_forget);
    return g_test_run();
}
