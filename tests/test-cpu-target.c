/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU policy over several cycles: a target kept and walked, a swap never split, no pin
 * change once the target is reached, the second search at the end of settling. */
#include <math.h>
#include <string.h>

#include "cpu-policy.h"

#define NCPUS_MAX 16
#define ITEMS_MAX 64

/* A host the tests drive cycle by cycle, as the task does: pins follow the moves, a vCPU
 * moved by the last plan is cooling in the next, targets and settling go round. */
typedef struct {
    guint npcpus, n;
    gboolean allowed[NCPUS_MAX];
    VmbCpuItem items[ITEMS_MAX];
    VmbCpuTarget next_targets[ITEMS_MAX];
    guint settling;
    VmbCpuTunables tun;
} Host;

static void
host_init(Host *h, guint npcpus, guint max_moves)
{
    memset(h, 0, sizeof(*h));
    h->npcpus = npcpus;
    for (guint c = 0; c < npcpus; c++)
        h->allowed[c] = TRUE;
    h->tun = (VmbCpuTunables){.hysteresis = 3, .max_moves = max_moves};
}

static void
host_add(Host *h, guint domain, double load, double noise, gint pcpu)
{
    h->items[h->n++] = (VmbCpuItem){
        .domain = domain, .load = load, .noise = noise, .current = pcpu, .movable = TRUE};
}

/* One plan on the host as it is; returns the moves (caller frees) without making them. */
static GArray *
host_plan(Host *h)
{
    VmbCpuProblem p = {
        .npcpus = h->npcpus,
        .allowed = h->allowed,
        .items = h->items,
        .n_items = h->n,
        .settling = h->settling,
    };
    VmbCpuNext next = {.targets = h->next_targets};
    GArray *moves = vmb_cpu_plan_toward(&p, &h->tun, &next);
    h->settling = next.settling;
    return moves;
}

/* Makes @moves and hands the targets to the next plan; returns how many pins changed. */
static guint
host_apply(Host *h, GArray *moves)
{
    for (guint i = 0; i < h->n; i++) {
        h->items[i].cooling = FALSE;
        h->items[i].target = h->next_targets[i];
    }
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        g_assert_cmpint(h->items[m->item].current, ==, m->from);
        h->items[m->item].current = (gint) m->to;
        h->items[m->item].cooling = TRUE;
    }
    return moves->len;
}

static guint
host_cycle(Host *h)
{
    g_autoptr(GArray) moves = host_plan(h);
    return host_apply(h, moves);
}

static double
host_max_load(const Host *h)
{
    double load[NCPUS_MAX] = {0}, max = 0;
    for (guint i = 0; i < h->n; i++)
        load[h->items[i].current] += h->items[i].load;
    for (guint c = 0; c < h->npcpus; c++)
        max = MAX(max, load[c]);
    return max;
}

/* Eight pCPUs, 32 vCPUs of 5-35 % all pinned to pCPUs 0 and 1: a target far from the pins. */
static void
host_lopsided(Host *h, guint max_moves)
{
    host_init(h, 8, max_moves);
    GRand *r = g_rand_new_with_seed(7);
    for (guint i = 0; i < 32; i++)
        host_add(h, i, g_rand_double_range(r, 5, 35), 0.3, (gint) (i % 2));
    g_rand_free(r);
}

/* The first plan finds a target that needs more than max_moves pin changes: it makes
 * max_moves of them and keeps the rest; the next plans make exactly those, in order. */
static void
test_walk_keeps_target(void)
{
    Host h;
    host_lopsided(&h, 4);
    g_autoptr(GArray) first = host_plan(&h);
    g_assert_cmpuint(first->len, >=, 4);
    g_assert_cmpuint(first->len, <=, 5); /* one more only to finish a swap */
    VmbCpuTarget target[ITEMS_MAX];
    memcpy(target, h.next_targets, sizeof(target));
    guint pending = 0;
    for (guint i = 0; i < h.n; i++)
        pending += target[i].set && (gint) target[i].pcpu != h.items[i].current;
    g_assert_cmpuint(pending, >, first->len); /* the walk continues on later cycles */
    host_apply(&h, first);
    for (guint cycle = 0; cycle < 20 && pending > 0; cycle++) {
        g_autoptr(GArray) moves = host_plan(&h);
        guint last_seq = 0;
        for (guint k = 0; k < moves->len; k++) {
            const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
            g_assert_true(target[m->item].set);
            g_assert_cmpuint(m->to, ==, target[m->item].pcpu);
            g_assert_cmpuint(target[m->item].seq, >=, last_seq);
            last_seq = target[m->item].seq;
        }
        g_assert_cmpuint(moves->len, <=, 5);
        host_apply(&h, moves);
        pending = 0;
        for (guint i = 0; i < h.n; i++)
            pending += target[i].set && (gint) target[i].pcpu != h.items[i].current;
    }
    g_assert_cmpuint(pending, ==, 0);
}

/* What the best single move from the busiest pCPU to the least loaded one would gain. */
static double
best_move_gain(const Host *h)
{
    double load[NCPUS_MAX] = {0};
    for (guint i = 0; i < h->n; i++)
        load[h->items[i].current] += h->items[i].load;
    guint hi = 0, lo = 0;
    for (guint c = 0; c < h->npcpus; c++) {
        hi = load[c] > load[hi] ? c : hi;
        lo = load[c] < load[lo] ? c : lo;
    }
    double best = 0;
    for (guint i = 0; i < h->n; i++) {
        double w = h->items[i].load;
        if (h->items[i].current == (gint) hi)
            best = MAX(best, load[hi] - MAX(load[hi] - w, load[lo] + w));
    }
    return best;
}

/* Once the target is reached, stable loads give no pin change, nor do loads that move within
 * their noise; and the stopping rule holds: no move from the busiest pCPU to the least loaded
 * gains more than the hysteresis. */
static void
test_stops_when_reached(void)
{
    Host h;
    host_lopsided(&h, 4);
    guint last_change = 0;
    for (guint cycle = 1; cycle <= 40; cycle++) {
        if (host_cycle(&h) > 0)
            last_change = cycle;
    }
    g_assert_cmpuint(last_change, <, 15);
    g_assert_cmpfloat(best_move_gain(&h), <=, h.tun.hysteresis);
    GRand *r = g_rand_new_with_seed(11);
    double base[ITEMS_MAX];
    for (guint i = 0; i < h.n; i++)
        base[i] = h.items[i].load;
    for (guint cycle = 0; cycle < 60; cycle++) {
        for (guint i = 0; i < h.n; i++)
            h.items[i].load = base[i] + g_rand_double_range(r, -0.5, 0.5);
        g_assert_cmpuint(host_cycle(&h), ==, 0);
    }
    g_rand_free(r);
}

/* A swap is made whole even when the budget is one pin change. */
static void
test_swap_not_split(void)
{
    Host h;
    host_init(&h, 2, 1);
    host_add(&h, 0, 60, 0, 0);
    host_add(&h, 1, 40, 0, 0);
    host_add(&h, 2, 50, 0, 1);
    host_add(&h, 3, 10, 0, 1);
    g_autoptr(GArray) moves = host_plan(&h);
    g_assert_cmpuint(moves->len, ==, 2);
    g_assert_true(g_array_index(moves, VmbCpuMove, 0).paired);
    host_apply(&h, moves);
    g_assert_cmpfloat(host_max_load(&h), ==, 90);
}

/* A gain above the hysteresis but inside the noise margin: nothing while settled, the search
 * at the end of settling takes it; a detected change starts settling. */
static void
test_settling_refines(void)
{
    for (guint settling = 0; settling <= 3; settling++) {
        Host h;
        host_init(&h, 2, 8);
        host_add(&h, 0, 50, 0.5, 0);
        host_add(&h, 1, 4, 0.5, 0);
        host_add(&h, 2, 46, 0.5, 1);
        h.settling = settling;
        g_autoptr(GArray) moves = host_plan(&h);
        g_assert_cmpuint(moves->len, ==, settling == 1 ? 1 : 0);
        g_assert_cmpuint(h.settling, ==, settling > 0 ? settling - 1 : 0);
    }
    Host h;
    host_init(&h, 2, 8);
    host_add(&h, 0, 50, 0.5, 0);
    host_add(&h, 1, 30, 0.5, 0);
    host_add(&h, 2, 10, 0.5, 1);
    g_autoptr(GArray) moves = host_plan(&h);
    g_assert_cmpuint(moves->len, ==, 1);
    g_assert_cmpuint(h.settling, ==, 4); /* VMB_CPU_SETTLE_CYCLES */
}

/* A move above the hysteresis that the search left under its noise margin: when the noise
 * estimate decays with the loads unchanged (the first samples' prior, a step's share) it is
 * not taken, as detection counts the noise the target was searched on; a lasting change of
 * load is still answered at once. */
static void
test_decayed_noise_no_move(void)
{
    Host h;
    host_init(&h, 2, 8);
    host_add(&h, 0, 40, 2.5, 0);
    host_add(&h, 1, 20, 2.5, 0);
    host_add(&h, 2, 6, 2.5, 0);
    host_add(&h, 3, 54, 2.5, 1);
    h.settling = 1; /* the search at the end of settling: moving vCPU 2 gains 6 < 2 x 4.3 */
    g_assert_cmpuint(host_cycle(&h), ==, 0);
    for (guint i = 0; i < h.n; i++)
        h.items[i].noise = 0.5; /* 3 + 2 x 0.9 < 6: detected on this noise alone */
    for (guint cycle = 0; cycle < 10; cycle++)
        g_assert_cmpuint(host_cycle(&h), ==, 0);
    h.items[3].load = 24; /* 66 against 24: moving vCPU 1 gains 20 */
    g_assert_cmpuint(host_cycle(&h), >, 0);
}

/* The floor is on a pair of pCPUs, not per vCPU: the noise one vCPU had at the search does
 * not add to the noise another has now. Both pCPUs' variance is 9.5 now and at the search
 * (margin 3 + 2 x 3.1), so a gain of 10 is a change; a per-vCPU maximum (18.25, margin 11.5)
 * would have hidden it. */
static void
test_floor_per_pair(void)
{
    Host h;
    host_init(&h, 2, 8);
    host_add(&h, 0, 40, 0.5, 0);
    host_add(&h, 1, 10, 3, 0);
    host_add(&h, 2, 30, 0.5, 1);
    h.items[0].target.noise = 3;
    h.items[1].target.noise = 0.5;
    h.items[2].target.noise = 0.5;
    g_assert_cmpuint(host_cycle(&h), >, 0);
}

/* The search at the end of settling counts the noise the variance converges to: what is left
 * of the variance the change showed (noise 6 at the search four cycles ago, 36 / 16 = 2.25
 * now) is taken out, so the current noise (1.5, margin 2 x 3 = 6) does not hide a gain of 6. */
static void
test_settled_noise_search(void)
{
    Host h;
    host_init(&h, 2, 8);
    host_add(&h, 0, 40, 1.5, 0);
    host_add(&h, 1, 20, 1.5, 0);
    host_add(&h, 2, 6, 1.5, 0);
    host_add(&h, 3, 54, 1.5, 1);
    for (guint i = 0; i < h.n; i++)
        h.items[i].target.noise = 6;
    h.settling = 1;
    g_autoptr(GArray) moves = host_plan(&h);
    g_assert_cmpuint(moves->len, ==, 1);
    g_assert_cmpuint(g_array_index(moves, VmbCpuMove, 0).item, ==, 2);
}

/* A fresh placement that needs more pin changes than one cycle allows is still the search's
 * target when the walk can make them before the next settling search: no single move or swap
 * helps (160 on the busiest pCPU), the re-plan reaches 150, one pin change per cycle. */
static void
test_replan_walked(void)
{
    Host h;
    host_init(&h, 3, 1);
    h.tun.hysteresis = 5;
    host_add(&h, 0, 90, 0, 0);
    host_add(&h, 1, 80, 0, 2);
    host_add(&h, 2, 90, 0, 1);
    host_add(&h, 3, 70, 0, 0);
    host_add(&h, 4, 60, 0, 2);
    h.settling = 1;
    guint changes = host_cycle(&h);
    g_assert_cmpuint(changes, ==, 1);
    for (guint cycle = 0; cycle < 4; cycle++)
        changes += host_cycle(&h);
    g_assert_cmpuint(changes, >, 1);
    g_assert_cmpuint(changes, <=, 4);
    g_assert_cmpfloat(host_max_load(&h), ==, 150);
}

/* A pending target move whose destination is no longer allowed is dropped, and the next plan
 * decides afresh from the pins. */
static void
test_pending_target_dropped(void)
{
    Host h;
    host_init(&h, 3, 8);
    host_add(&h, 0, 50, 0, 0);
    host_add(&h, 1, 50, 0, 0);
    h.items[1].target = (VmbCpuTarget){TRUE, 2, 0, VMB_CPU_BALANCE, 0};
    h.allowed[2] = FALSE;
    g_autoptr(GArray) moves = host_plan(&h);
    g_assert_cmpuint(moves->len, ==, 1);
    g_assert_cmpuint(g_array_index(moves, VmbCpuMove, 0).to, ==, 1);
}

/* Floating vCPUs are placed whatever the move budget. */
static void
test_placement_outside_budget(void)
{
    Host h;
    host_init(&h, 4, 0);
    for (guint i = 0; i < 6; i++)
        host_add(&h, i, 30, 0, -1);
    g_autoptr(GArray) moves = host_plan(&h);
    g_assert_cmpuint(moves->len, ==, 6);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu-target/walk-keeps-target", test_walk_keeps_target);
    g_test_add_func("/cpu-target/stops-when-reached", test_stops_when_reached);
    g_test_add_func("/cpu-target/swap-not-split", test_swap_not_split);
    g_test_add_func("/cpu-target/settling-refines", test_settling_refines);
    g_test_add_func("/cpu-target/decayed-noise-no-move", test_decayed_noise_no_move);
    g_test_add_func("/cpu-target/floor-per-pair", test_floor_per_pair);
    g_test_add_func("/cpu-target/settled-noise-search", test_settled_noise_search);
    g_test_add_func("/cpu-target/replan-walked", test_replan_walked);
    g_test_add_func("/cpu-target/pending-target-dropped", test_pending_target_dropped);
    g_test_add_func("/cpu-target/placement-outside-budget", test_placement_outside_budget);
    return g_test_run();
}
