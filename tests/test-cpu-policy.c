/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table-driven tests of the vCPU placement policy, plus properties over random hosts. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu-policy.h"

#define MAX_ITEMS 400
#define MAX_CPUS  64
#define ANY       (-1)
/* One destination the re-plan of "replan-escapes-local-optimum" uses (item 3 to pCPU 2). */
#define REPLAN_BLOCK "3>2"

typedef struct {
    guint domain;
    double load;
    gint current;
    gboolean excluded;
    gboolean cooling;
    double noise;
} ItemSpec;

typedef struct {
    const char *name;
    guint npcpus;
    const char *allowed; /* "1" / "0" per pCPU; NULL = all */
    double background[MAX_CPUS];
    ItemSpec items[16];
    guint n_items;
    double hysteresis;
    guint max_moves;
    gint expect_moves;   /* ANY = not checked */
    double expect_max;   /* highest pCPU load after the moves, checked when > 0 */
    gint expect_reason;  /* reason of every move, ANY = not checked */
    gint never_moved;    /* index of an item that must stay put, ANY = none */
    gboolean spread;     /* vCPUs of each domain must end on distinct pCPUs */
    const char *blocked; /* "ITEM>PCPU ...": destinations the problem blocks; NULL = none */
} Case;

/* clang-format off: one case per row reads better than one field per line. */
// clang-format off
static const Case cases[] = {
    {"seed-scenario-one-cycle", 2, NULL, {0}, {{0, 100, 0}, {1, 100, 0}, {2, 30, 0}, {3, 30, 0}},
     4, 5, 8, 2, 130, VMB_CPU_BALANCE, ANY, FALSE},
    {"balanced-no-moves", 2, NULL, {0}, {{0, 100, 0}, {1, 100, 1}, {2, 30, 0}, {3, 30, 1}}, 4, 5,
     8, 0, 130, ANY, ANY, FALSE},
    {"lone-hot-vcpu-stays", 2, NULL, {0}, {{0, 100, 0}, {1, 20, 1}}, 2, 5, 8, 0, 100, ANY, 0,
     FALSE},
    {"within-hysteresis", 2, NULL, {0}, {{0, 30, 0}, {1, 22, 0}, {2, 48, 1}}, 3, 5, 8, 0, 52, ANY,
     ANY, FALSE},
    {"floating-placed-lpt", 2, NULL, {0},
     {{0, 60, -1}, {1, 50, -1}, {2, 40, -1}, {3, 30, -1}}, 4, 5, 8, 4, 90, VMB_CPU_PLACE, ANY,
     FALSE},
    {"excluded-counts-never-moves", 2, NULL, {0}, {{0, 100, 0, TRUE}, {1, 50, 0}}, 2, 5, 8, 1, 100,
     VMB_CPU_BALANCE, 0, FALSE},
    {"excluded-only", 2, NULL, {0}, {{0, 100, 0, TRUE}, {1, 100, 0, TRUE}}, 2, 5, 8, 0, 200, ANY,
     ANY, FALSE},
    {"host-background-load", 2, NULL, {60, 0}, {{0, 50, 0}, {1, 20, 1}}, 2, 5, 8, 1, 70,
     VMB_CPU_BALANCE, ANY, FALSE},
    {"lone-vcpu-leaves-busy-host-cpu", 2, NULL, {80, 0}, {{0, 50, 0}}, 1, 5, 8, 1, 80,
     VMB_CPU_BALANCE, ANY, FALSE},
    {"evacuate-disallowed", 4, "0011", {0}, {{0, 40, 0}, {1, 40, 3}}, 2, 5, 8, 1, 40,
     VMB_CPU_EVACUATE, 1, FALSE},
    {"max-moves-cap", 4, NULL, {0},
     {{0, 50, 0}, {1, 50, 0}, {2, 50, 0}, {3, 50, 0}, {4, 50, 0}, {5, 50, 0}, {6, 50, 0},
      {7, 50, 0}},
     8, 5, 2, 2, ANY, VMB_CPU_BALANCE, ANY, FALSE},
    {"cooling-items-stay", 2, NULL, {0},
     {{0, 100, 0, FALSE, TRUE}, {1, 100, 0, FALSE, TRUE}, {2, 30, 0, FALSE, TRUE}}, 3, 5, 8, 0,
     230, ANY, ANY, FALSE},
    {"spread-one-domain", 2, NULL, {0}, {{0, 50, 0}, {0, 50, 0}, {1, 50, 1}, {2, 50, 1}}, 4, 5, 8,
     2, 100, VMB_CPU_SPREAD, ANY, TRUE},
    {"spread-floating-multi-vcpu", 4, NULL, {0},
     {{0, 40, -1}, {0, 40, -1}, {0, 40, -1}, {0, 40, -1}}, 4, 5, 8, 4, 40, VMB_CPU_PLACE, ANY,
     TRUE},
    {"swap-when-no-move-helps", 2, NULL, {0}, {{0, 60, 0}, {1, 40, 0}, {2, 50, 1}, {3, 10, 1}}, 4,
     5, 8, 2, 90, VMB_CPU_BALANCE, ANY, FALSE},
    {"no-allowed-cpus", 2, "00", {0}, {{0, 100, 0}, {1, 100, 0}}, 2, 5, 8, 0, ANY, ANY, ANY,
     FALSE},
    {"single-allowed-cpu", 2, "01", {0}, {{0, 30, -1}, {1, 30, 1}}, 2, 5, 8, 1, 60, VMB_CPU_PLACE,
     1, FALSE},
    {"more-vcpus-than-pcpus", 3, NULL, {0},
     {{0, 90, 0}, {1, 80, 0}, {2, 70, 0}, {3, 60, 0}, {4, 50, 0}, {5, 40, 0}, {6, 30, 0},
      {7, 20, 0}, {8, 10, 0}},
     9, 5, 16, ANY, 155, VMB_CPU_BALANCE, ANY, FALSE},
    /* A 12-point gain is taken for quiet loads, not when each load is +/-8 points unsure. */
    {"noisy-loads-need-a-larger-gain", 2, NULL, {0}, {{0, 60, 0, FALSE, FALSE, 8}, {1, 40, 1, FALSE, FALSE, 8}, {2, 12, 0, FALSE, FALSE, 8}}, 3, 5, 8, 0, 72, ANY, ANY, FALSE},
    {"quiet-loads-same-gain-moves", 2, NULL, {0}, {{0, 60, 0}, {1, 40, 1}, {2, 12, 0}}, 3, 5, 8, 1, 60, VMB_CPU_BALANCE, ANY, FALSE},
    {"noise-does-not-hide-a-big-gain", 2, NULL, {0}, {{0, 100, 0, FALSE, FALSE, 5}, {1, 100, 0, FALSE, FALSE, 5}}, 2, 5, 8, 1, 100, VMB_CPU_BALANCE, ANY, FALSE},
    /* No single move or swap helps; a fresh placement does (160 -> 150). */
    {"replan-escapes-local-optimum", 3, NULL, {0},
     {{0, 90, 0}, {1, 80, 2}, {2, 90, 1}, {3, 70, 0}, {4, 60, 2}}, 5, 5, 8, ANY, 150,
     VMB_CPU_BALANCE, ANY, FALSE},
    {"replan-over-budget-not-taken", 3, NULL, {0},
     {{0, 90, 0}, {1, 80, 2}, {2, 90, 1}, {3, 70, 0}, {4, 60, 2}}, 5, 5, 1, 0, 160, ANY, ANY,
     FALSE},
    {"idle-host-no-moves", 4, NULL, {0}, {{0, 1, 0}, {1, 2, 0}, {2, 0, 0}, {3, 3, 0}}, 4, 5, 8, 0,
     6, ANY, ANY, FALSE},
    /* Blocked destinations: the best move is not made; the next best is, or none. */
    {"blocked-best-move-takes-next", 2, NULL, {0},
     {{0, 100, 0}, {1, 100, 0}, {2, 30, 0}, {3, 30, 0}}, 4, 5, 8, 2, 200, VMB_CPU_BALANCE, 0,
     FALSE, "0>1 1>1"},
    {"blocked-only-move-none", 2, NULL, {80, 0}, {{0, 50, 0}}, 1, 5, 8, 0, 130, ANY, 0, FALSE,
     "0>1"},
    /* Unblocked, items 0 and 2 swap; with 2 kept off pCPU 0, items 1 and 3 do. */
    {"blocked-swap-half-takes-other-swap", 2, NULL, {0},
     {{0, 60, 0}, {1, 40, 0}, {2, 50, 1}, {3, 10, 1}}, 4, 5, 8, 2, 90, VMB_CPU_BALANCE, 2, FALSE,
     "2>0"},
    {"blocked-spread-not-taken", 2, NULL, {0}, {{0, 50, 0}, {0, 50, 0}, {1, 50, 1}, {2, 50, 1}}, 4,
     5, 8, 0, 100, ANY, ANY, FALSE, "0>1 1>1"},
    {"blocked-replan-not-taken", 3, NULL, {0},
     {{0, 90, 0}, {1, 80, 2}, {2, 90, 1}, {3, 70, 0}, {4, 60, 2}}, 5, 5, 8, 0, 160, ANY, ANY,
     FALSE, REPLAN_BLOCK},
    {"blocked-placement-ignores-it", 2, NULL, {0},
     {{0, 60, -1}, {1, 50, -1}, {2, 40, -1}, {3, 30, -1}}, 4, 5, 8, 4, 90, VMB_CPU_PLACE, ANY,
     FALSE, "0>0 0>1 1>0 1>1"},
};
// clang-format on

/* Looks @item and @pcpu up in the case's table of blocked destinations. */
static gboolean
is_blocked(guint item, guint pcpu, gpointer data)
{
    const gboolean(*table)[MAX_CPUS] = data;
    return table[item][pcpu];
}

static void
parse_blocked(const char *spec, gboolean (*table)[MAX_CPUS])
{
    g_auto(GStrv) pairs = g_strsplit(spec, " ", -1);
    for (guint k = 0; pairs[k]; k++) {
        guint item, pcpu;
        g_assert_cmpint(sscanf(pairs[k], "%u>%u", &item, &pcpu), ==, 2);
        table[item][pcpu] = TRUE;
    }
}

static GArray *
run_case(const Case *c, gint *placement, double *loads)
{
    static gboolean blocked[16][MAX_CPUS];
    memset(blocked, 0, sizeof(blocked));
    if (c->blocked)
        parse_blocked(c->blocked, blocked);
    gboolean allowed[MAX_CPUS];
    VmbCpuItem items[16];
    for (guint p = 0; p < c->npcpus; p++)
        allowed[p] = c->allowed ? c->allowed[p] == '1' : TRUE;
    for (guint i = 0; i < c->n_items; i++) {
        items[i] = (VmbCpuItem){.domain = c->items[i].domain,
                                .load = c->items[i].load,
                                .noise = c->items[i].noise,
                                .current = c->items[i].current,
                                .movable = !c->items[i].excluded,
                                .cooling = c->items[i].cooling};
        placement[i] = c->items[i].current;
    }
    VmbCpuProblem p = {
        .npcpus = c->npcpus,
        .allowed = allowed,
        .background = c->background,
        .items = items,
        .n_items = c->n_items,
        .blocked = c->blocked ? is_blocked : NULL,
        .blocked_data = blocked,
    };
    VmbCpuTunables t = {c->hysteresis, c->max_moves};
    GArray *moves = vmb_cpu_plan(&p, &t);
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        g_assert_cmpint(placement[m->item], ==, m->from);
        if (m->reason == VMB_CPU_BALANCE || m->reason == VMB_CPU_SPREAD)
            g_assert_false(blocked[m->item][m->to]);
        g_assert_true(allowed[m->to]);
        g_assert_true(items[m->item].movable);
        g_assert_false(items[m->item].cooling);
        placement[m->item] = (gint) m->to;
    }
    vmb_cpu_loads(&p, placement, loads);
    return moves;
}

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    gint placement[16];
    double loads[MAX_CPUS];
    g_autoptr(GArray) moves = run_case(c, placement, loads);

    if (c->expect_moves != ANY)
        g_assert_cmpuint(moves->len, ==, (guint) c->expect_moves);
    double max = 0;
    for (guint p = 0; p < c->npcpus; p++) {
        if (!c->allowed || c->allowed[p] == '1')
            max = MAX(max, loads[p]);
    }
    if (c->expect_max > 0)
        g_assert_cmpfloat(max, <=, c->expect_max + 1e-6);
    for (guint k = 0; k < moves->len && c->expect_reason != ANY; k++)
        g_assert_cmpint(g_array_index(moves, VmbCpuMove, k).reason, ==, c->expect_reason);
    if (c->never_moved != ANY)
        g_assert_cmpint(placement[c->never_moved], ==, c->items[c->never_moved].current);
    if (c->spread) {
        for (guint i = 0; i < c->n_items; i++)
            for (guint j = 0; j < i; j++)
                if (c->items[i].domain == c->items[j].domain)
                    g_assert_cmpint(placement[i], !=, placement[j]);
    }
}

/* Brute-force optimum of the highest pCPU load for small instances. */
static double
optimum(const double *w, guint n, guint P)
{
    guint64 combos = 1;
    for (guint i = 0; i < n; i++)
        combos *= P;
    double best = INFINITY;
    for (guint64 code = 0; code < combos; code++) {
        double l[8] = {0};
        guint64 x = code;
        for (guint i = 0; i < n; i++, x /= P)
            l[x % P] += w[i];
        double m = 0;
        for (guint p = 0; p < P; p++)
            m = MAX(m, l[p]);
        best = MIN(best, m);
    }
    return best;
}

/* Repeated cycles with fixed loads converge and then make no move; the result is close to
 * the optimum. Random small hosts, seeded. */
static void
test_converges_near_optimum(void)
{
    GRand *r = g_rand_new_with_seed(42);
    double worst_ratio = 0;
    for (guint trial = 0; trial < 300; trial++) {
        guint P = g_rand_int_range(r, 2, 4);
        guint n = g_rand_int_range(r, 2, 8);
        VmbCpuItem items[8];
        double w[8];
        gboolean allowed[4] = {TRUE, TRUE, TRUE, TRUE};
        for (guint i = 0; i < n; i++) {
            w[i] = g_rand_int_range(r, 5, 101);
            items[i] = (VmbCpuItem){
                .domain = i, .load = w[i], .current = g_rand_int_range(r, -1, P), .movable = TRUE};
        }
        VmbCpuProblem p = {P, allowed, NULL, items, n};
        VmbCpuTunables t = {5, 8};
        guint cycles = 0;
        for (;; cycles++) {
            g_assert_cmpuint(cycles, <, 20);
            g_autoptr(GArray) moves = vmb_cpu_plan(&p, &t);
            if (moves->len == 0)
                break;
            for (guint k = 0; k < moves->len; k++) {
                const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
                items[m->item].current = (gint) m->to;
            }
        }
        gint place[8];
        double loads[4];
        for (guint i = 0; i < n; i++)
            place[i] = items[i].current;
        vmb_cpu_loads(&p, place, loads);
        double max = 0;
        for (guint c = 0; c < P; c++)
            max = MAX(max, loads[c]);
        double opt = optimum(w, n, P);
        worst_ratio = MAX(worst_ratio, max / opt);
        /* A local optimum with hysteresis h is within h of each pairwise best. */
        g_assert_cmpfloat(max, <=, opt * 1.1 + 5);
    }
    g_test_message("worst max/optimum over 300 random hosts: %.3f", worst_ratio);
    g_rand_free(r);
}

/* Noisy loads around a converged placement make no moves (no ping-pong). */
static void
test_noise_no_pingpong(void)
{
    GRand *r = g_rand_new_with_seed(7);
    enum { N = 12, P = 4 };
    double base[N];
    VmbCpuItem items[N];
    gboolean allowed[P] = {TRUE, TRUE, TRUE, TRUE};
    for (guint i = 0; i < N; i++) {
        base[i] = g_rand_int_range(r, 10, 90);
        items[i] = (VmbCpuItem){.domain = i / 2, .load = base[i], .current = -1, .movable = TRUE};
    }
    VmbCpuProblem p = {P, allowed, NULL, items, N};
    VmbCpuTunables t = {5, 8};
    guint moves_after = 0;
    for (guint cycle = 0; cycle < 60; cycle++) {
        for (guint i = 0; i < N; i++)
            items[i].load = base[i] + g_rand_double_range(r, -1.5, 1.5);
        g_autoptr(GArray) moves = vmb_cpu_plan(&p, &t);
        for (guint k = 0; k < moves->len; k++) {
            const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
            items[m->item].current = (gint) m->to;
        }
        if (cycle >= 10)
            moves_after += moves->len;
    }
    g_assert_cmpuint(moves_after, ==, 0);
    g_rand_free(r);
}

/* Hundreds of domains all on one pCPU: balanced within the cap per cycle, near the bound. */
static void
test_hundreds_of_domains(void)
{
    enum { N = 300, P = 16 };
    static VmbCpuItem items[N];
    gboolean allowed[P];
    double total = 0, largest = 0;
    for (guint p = 0; p < P; p++)
        allowed[p] = TRUE;
    for (guint i = 0; i < N; i++) {
        double w = 5 + (i * 37) % 60;
        items[i] = (VmbCpuItem){.domain = i, .load = w, .current = 0, .movable = TRUE};
        total += w;
        largest = MAX(largest, w);
    }
    VmbCpuProblem p = {P, allowed, NULL, items, N};
    VmbCpuTunables t = {5, 1000};
    g_autoptr(GArray) moves = vmb_cpu_plan(&p, &t);
    gint place[N];
    double loads[P];
    for (guint i = 0; i < N; i++)
        place[i] = items[i].current;
    for (guint k = 0; k < moves->len; k++)
        place[g_array_index(moves, VmbCpuMove, k).item] =
            (gint) g_array_index(moves, VmbCpuMove, k).to;
    vmb_cpu_loads(&p, place, loads);
    double max = 0;
    for (guint c = 0; c < P; c++)
        max = MAX(max, loads[c]);
    double bound = MAX(largest, total / P);
    g_test_message("300 domains on 16 pCPUs: max %.1f, bound %.1f, %u moves", max, bound,
                   moves->len);
    g_assert_cmpfloat(max, <=, bound * 1.05 + 5);
    g_assert_cmpuint(moves->len, <=, N);
}

/* The huge host: 1,024 vCPUs on 4,096 pCPUs. Floating, each goes to a pCPU of its own,
 * the least loaded and lowest numbered first, largest vCPU first, and nothing else moves;
 * pinned at random, the plan stays far below a second (it took 3 s). */
static void
test_huge_host(void)
{
    enum { N = 1024, P = 4096 };
    static VmbCpuItem items[N];
    static gboolean allowed[P];
    for (guint c = 0; c < P; c++)
        allowed[c] = TRUE;
    for (guint i = 0; i < N; i++)
        items[i] = (VmbCpuItem){.domain = i / 4,
                                .load = 10 + (i * 37) % 90 + i * 1e-6,
                                .noise = 2,
                                .current = -1,
                                .movable = TRUE};
    VmbCpuProblem p = {P, allowed, NULL, items, N};
    VmbCpuTunables t = {3, P / 4};
    g_autoptr(GArray) placed = vmb_cpu_plan(&p, &t);
    g_assert_cmpuint(placed->len, ==, N);
    for (guint k = 0; k < N; k++) {
        const VmbCpuMove *m = &g_array_index(placed, VmbCpuMove, k);
        g_assert_cmpint(m->reason, ==, VMB_CPU_PLACE);
        g_assert_cmpuint(m->to, ==, k);
        if (k > 0)
            g_assert_cmpfloat(items[m->item].load, <=, items[(m - 1)->item].load);
    }
    GRand *r = g_rand_new_with_seed(17);
    for (guint i = 0; i < N; i++)
        items[i].current = g_rand_int_range(r, 0, P);
    g_rand_free(r);
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GArray) moves = vmb_cpu_plan(&p, &t);
    double ms = (g_get_monotonic_time() - t0) / 1000.0;
    g_test_message("4096 pCPUs, 1024 vCPUs pinned at random: %u moves in %.1f ms", moves->len, ms);
    g_assert_cmpfloat(ms, <, 1000);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/cpu-policy/case/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/cpu-policy/converges-near-optimum", test_converges_near_optimum);
    g_test_add_func("/cpu-policy/noise-no-pingpong", test_noise_no_pingpong);
    g_test_add_func("/cpu-policy/hundreds-of-domains", test_hundreds_of_domains);
    g_test_add_func("/cpu-policy/huge-host", test_huge_host);
    return g_test_run();
}
