/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cpu.pin_to (cpu-pinto.c): the bins of a host, and plans over them. Tables of cases, each
 * planned cycle after cycle (pins applied as the hypervisor would) until no pin changes, then
 * checked: every pin is exactly one bin's set, the expected sets, no isolated CPU, the loads. */
#include <string.h>

#include "cpu-pinto.h"

#define MAX_ITEMS 12

typedef struct {
    guint domain;
    double load;
    const char *pin; /* "3", "0,4", NULL floating */
} ItemSpec;

typedef struct {
    const char *name;
    guint sockets, cores, threads, nodes; /* 0 sockets: flat host of `cores` pCPUs */
    const char *isolated;
    VmbPinTo mode;
    gint mem_node[8];
    ItemSpec items[MAX_ITEMS];
    guint n_items;
    guint max_moves;
    gint first_moves;              /* pin changes of the first plan, -1 unchecked */
    gint first_reason;             /* reason of every change of the first plan, -1 unchecked */
    const char *expect[MAX_ITEMS]; /* each item's final pin, NULL unchecked */
    double max_bin_load;           /* per pCPU of a bin, at the end; 0 unchecked */
} Case;

// clang-format off
static const Case cases[] = {
    /* 1 socket x 4 cores x 2 threads: pCPU c and c + 4 are the threads of core c. */
    {"core-pins-both-siblings", 1, 4, 2, 1, NULL, VMB_PIN_TO_CORE, {-1},
     {{0, 90, NULL}}, 1, 8, 1, VMB_CPU_PLACE, {"0,4"}, 0},
    {"core-single-pin-widened", 1, 4, 2, 1, NULL, VMB_PIN_TO_CORE, {-1, -1},
     {{0, 60, "1"}, {1, 60, "2"}}, 2, 8, 2, VMB_CPU_PIN_TO, {"1,5", "2,6"}, 0},
    {"core-set-already-right", 1, 4, 2, 1, NULL, VMB_PIN_TO_CORE, {-1, -1},
     {{0, 70, "0,4"}, {1, 70, "1,5"}, {2, 20, "2,6"}}, 3, 8, 0, -1, {"0,4", "1,5", "2,6"}, 0},
    /* four busy vCPUs on core 0's set: spread one a core (SMT, then balance) */
    {"core-crowded-spreads", 1, 4, 2, 1, NULL, VMB_PIN_TO_CORE, {-1, -1, -1, -1},
     {{0, 80, "0,4"}, {1, 80, "0,4"}, {2, 80, "0,4"}, {3, 80, "0,4"}}, 4, 8, -1, -1,
     {NULL}, 100},
    /* cores 2 and 3 lose CPUs to isolation: core 2 keeps only pCPU 6, core 3 none */
    {"core-isolated-never-in-set", 1, 4, 2, 1, "2,3,7", VMB_PIN_TO_CORE, {-1, -1, -1, -1},
     {{0, 50, NULL}, {1, 50, NULL}, {2, 50, NULL}, {3, 50, "3"}}, 4, 8, 4, -1,
     {NULL}, 100},
    /* 2 sockets x 4 cores, 1 thread, 2 nodes: pCPUs 0-3 node 0, 4-7 node 1 */
    {"node-pins-node-cpus", 2, 4, 1, 2, NULL, VMB_PIN_TO_NODE, {1},
     {{0, 60, NULL}, {0, 60, NULL}}, 2, 8, 2, VMB_CPU_PLACE, {"4-7", "4-7"}, 0},
    {"node-isolated-left-out", 2, 4, 1, 2, "1,6", VMB_PIN_TO_NODE, {0},
     {{0, 60, NULL}}, 1, 8, 1, -1, {"0,2-3"}, 0},
    {"node-overfull-moves-over", 2, 4, 1, 2, NULL, VMB_PIN_TO_NODE, {-1, -1, -1, -1, -1, -1},
     {{0, 90, "0-3"}, {1, 90, "0-3"}, {2, 90, "0-3"}, {3, 90, "0-3"}, {4, 90, "0-3"},
      {5, 90, "0-3"}}, 6, 8, -1, -1, {NULL}, 100},
    {"node-set-right-balanced", 2, 4, 1, 2, NULL, VMB_PIN_TO_NODE, {0, 1},
     {{0, 90, "0-3"}, {0, 90, "0-3"}, {1, 90, "4-7"}, {1, 90, "4-7"}}, 4, 8, 0, -1,
     {"0-3", "0-3", "4-7", "4-7"}, 0},
    /* max_moves caps the changes that balance; the rest follow in later cycles */
    {"node-capped", 2, 4, 1, 2, NULL, VMB_PIN_TO_NODE, {-1, -1, -1, -1, -1, -1},
     {{0, 90, "0-3"}, {1, 90, "0-3"}, {2, 90, "0-3"}, {3, 90, "0-3"}, {4, 90, "0-3"},
      {5, 90, "0-3"}}, 6, 1, 1, -1, {NULL}, 100},
    /* cache groups: one per node on the grid */
    {"cache-pins-group", 2, 4, 2, 2, NULL, VMB_PIN_TO_CACHE, {0},
     {{0, 50, NULL}}, 1, 8, 1, VMB_CPU_PLACE, {"0-3,8-11"}, 0},
    /* cpu: one pCPU each, as before */
    {"cpu-one-pcpu", 1, 4, 2, 1, NULL, VMB_PIN_TO_CPU, {-1},
     {{0, 90, NULL}}, 1, 8, 1, VMB_CPU_PLACE, {"0"}, 0},
    /* a flat host: a core is one pCPU, so core pins are one-pCPU pins */
    {"flat-core-is-cpu", 0, 4, 1, 1, NULL, VMB_PIN_TO_CORE, {-1, -1},
     {{0, 50, "2"}, {1, 50, NULL}}, 2, 8, 1, VMB_CPU_PLACE, {"2", NULL}, 0},
};
// clang-format on

typedef struct {
    gint pcpu;
    VmbCpuSet *set;
} Pin;

static void
pin_parse(const char *text, Pin *pin)
{
    pin->pcpu = -1;
    pin->set = NULL;
    if (!text)
        return;
    VmbCpuSet s;
    gboolean all;
    g_assert_true(vmb_cpuset_parse(text, &s, &all, NULL));
    if (vmb_cpuset_count(&s) == 1)
        pin->pcpu = vmb_cpuset_first(&s);
    else
        pin->set = g_memdup2(&s, sizeof(s));
}

static char *
pin_text(const Pin *pin)
{
    if (pin->set)
        return vmb_cpuset_format(pin->set);
    return pin->pcpu >= 0 ? g_strdup_printf("%d", pin->pcpu) : NULL;
}

static VmbTopology *
topo_of(const Case *c)
{
    g_autoptr(GError) error = NULL;
    VmbTopology *t = c->sockets
                         ? vmb_topology_new_grid(c->sockets, c->cores, c->threads, c->nodes, &error)
                         : vmb_topology_new_flat(c->cores);
    g_assert_no_error(error);
    if (c->isolated) {
        VmbCpuSet set;
        gboolean all;
        g_assert_true(vmb_cpuset_parse(c->isolated, &set, &all, NULL));
        vmb_topology_isolate(t, &set);
    }
    return t;
}

/* One plan on the pins @pins; applies its changes; returns them. */
static GArray *
plan_once(const Case *c, const VmbTopology *t, const gboolean *allowed, Pin *pins)
{
    VmbCpuItem items[MAX_ITEMS];
    gint item_node[MAX_ITEMS];
    const VmbCpuSet *sets[MAX_ITEMS];
    for (guint i = 0; i < c->n_items; i++) {
        items[i] = (VmbCpuItem){.domain = c->items[i].domain,
                                .load = c->items[i].load,
                                .current = pins[i].pcpu,
                                .movable = TRUE};
        item_node[i] = c->mem_node[c->items[i].domain];
        sets[i] = pins[i].set;
    }
    VmbCpuProblem p = {.npcpus = t->npcpus,
                       .allowed = allowed,
                       .items = items,
                       .n_items = c->n_items,
                       .topology = t,
                       .item_node = item_node};
    VmbCpuTunables tun = {.hysteresis = 3, .max_moves = c->max_moves};
    g_autoptr(VmbPinBins) bins = vmb_pin_bins_new(c->mode, t, t->npcpus, allowed);
    GArray *moves = vmb_pin_plan(&p, &tun, bins, sets);
    for (guint k = 0; k < moves->len; k++) {
        const VmbPinMove *m = &g_array_index(moves, VmbPinMove, k);
        g_autofree char *to = vmb_cpuset_format(m->to);
        g_free(pins[m->item].set);
        pin_parse(to, &pins[m->item]);
    }
    return moves;
}

/* Every pin is exactly one bin's set, with none of the CPUs left out; returns the load per
 * pCPU of the most loaded bin. */
static double
check_pins(const Case *c, const gboolean *allowed, const VmbPinBins *bins, const Pin *pins)
{
    g_autofree double *load = g_new0(double, bins->nbins);
    for (guint i = 0; i < c->n_items; i++) {
        gint bin = vmb_pin_bins_exact(bins, pins[i].pcpu, pins[i].set);
        g_assert_cmpint(bin, >=, 0);
        for (guint cpu = 0; cpu < bins->npcpus; cpu++) {
            if (vmb_cpuset_has(&bins->set[bin], cpu))
                g_assert_true(allowed[cpu]);
        }
        load[bin] += c->items[i].load / bins->size[bin];
    }
    double most = 0;
    for (guint b = 0; b < bins->nbins; b++)
        most = MAX(most, load[b]);
    return most;
}

static void
run_case(gconstpointer data)
{
    const Case *c = data;
    g_autoptr(VmbTopology) t = topo_of(c);
    g_autofree gboolean *allowed = g_new0(gboolean, t->npcpus);
    VmbCpuSet none;
    vmb_cpuset_clear(&none);
    vmb_topology_allowed(t, TRUE, &none, allowed);
    Pin pins[MAX_ITEMS];
    for (guint i = 0; i < c->n_items; i++)
        pin_parse(c->items[i].pin, &pins[i]);
    guint cycles = 0;
    for (;; cycles++) {
        g_assert_cmpuint(cycles, <, 12); /* it settles */
        g_autoptr(GArray) moves = plan_once(c, t, allowed, pins);
        if (cycles == 0 && c->first_moves >= 0)
            g_assert_cmpuint(moves->len, ==, (guint) c->first_moves);
        for (guint k = 0; cycles == 0 && c->first_reason >= 0 && k < moves->len; k++)
            g_assert_cmpint(g_array_index(moves, VmbPinMove, k).move.reason, ==, c->first_reason);
        if (moves->len == 0)
            break;
    }
    g_autoptr(VmbPinBins) bins = vmb_pin_bins_new(c->mode, t, t->npcpus, allowed);
    double most = check_pins(c, allowed, bins, pins);
    if (c->max_bin_load > 0)
        g_assert_cmpfloat(most, <=, c->max_bin_load);
    for (guint i = 0; i < c->n_items; i++) {
        g_autofree char *text = pin_text(&pins[i]);
        if (c->expect[i])
            g_assert_cmpstr(text, ==, c->expect[i]);
        g_free(pins[i].set);
    }
}

/* The bins themselves: sets, capacities, what is left out. */
static void
test_bins(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(2, 2, 2, 2, &error);
    g_assert_no_error(error); /* pCPU = thread * 4 + socket * 2 + core */
    gboolean allowed[8] = {TRUE, TRUE, TRUE, TRUE, TRUE, FALSE, TRUE, TRUE};
    g_autoptr(VmbPinBins) core = vmb_pin_bins_new(VMB_PIN_TO_CORE, t, 8, allowed);
    g_assert_cmpuint(core->nbins, ==, 4);
    g_autofree char *c1 = vmb_cpuset_format(&core->set[core->bin[1]]);
    g_assert_cmpstr(c1, ==, "1"); /* its sibling 5 is not allowed */
    g_assert_cmpuint(core->size[core->bin[1]], ==, 1);
    g_assert_cmpint(core->bin[5], ==, -1);
    g_autofree char *c0 = vmb_cpuset_format(&core->set[core->bin[0]]);
    g_assert_cmpstr(c0, ==, "0,4");
    g_autoptr(VmbPinBins) node = vmb_pin_bins_new(VMB_PIN_TO_NODE, t, 8, allowed);
    g_assert_cmpuint(node->nbins, ==, 2);
    g_autofree char *n1 = vmb_cpuset_format(&node->set[node->bin[2]]);
    g_assert_cmpstr(n1, ==, "2-3,6-7");
    g_assert_cmpuint(node->size[node->bin[0]], ==, 3);
    /* exact: the set, not a part of it, not a single CPU of a wider bin */
    g_assert_cmpint(vmb_pin_bins_exact(node, -1, &node->set[1]), ==, 1);
    g_assert_cmpint(vmb_pin_bins_exact(node, 2, NULL), ==, -1);
    g_assert_cmpint(vmb_pin_bins_exact(core, 1, NULL), ==, core->bin[1]);
    g_assert_cmpint(vmb_pin_bins_exact(core, -1, NULL), ==, -1);

    VmbPinTo mode;
    g_assert_true(vmb_pin_to_parse("cache", &mode));
    g_assert_cmpint(mode, ==, VMB_PIN_TO_CACHE);
    g_assert_false(vmb_pin_to_parse("socket", &mode));
    g_assert_cmpstr(vmb_pin_to_to_string(VMB_PIN_TO_NODE), ==, "node");
    g_assert_cmpstr(vmb_cpu_reason_to_string(VMB_CPU_PIN_TO), ==, "pin_to");
}

/* ---- memory home with set pins */

/* The set plans' pin changes cycle after cycle, and whether each cycle counts as stable. */
typedef struct {
    const char *name;
    guint n;
    guint planned[12];
    gboolean stable[12];
} StableCase;

// clang-format off
static const StableCase stable_cases[] = {
    {"quiet-from-start", 6, {0, 0, 0, 0, 0, 0}, {FALSE, FALSE, FALSE, TRUE, TRUE, TRUE}},
    /* a change (one pin, or the re-pin of a pin_to switch) starts the count again */
    {"change-restarts", 10, {0, 0, 0, 0, 1, 0, 0, 0, 0, 0},
     {FALSE, FALSE, FALSE, TRUE, FALSE, FALSE, FALSE, FALSE, TRUE, TRUE}},
    {"walking-never", 6, {4, 4, 1, 2, 1, 1}, {FALSE, FALSE, FALSE, FALSE, FALSE, FALSE}},
    /* a lull of three quiet cycles inside a walk is not enough */
    {"lull-is-not-stable", 8, {3, 0, 0, 0, 2, 0, 0, 0},
     {FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE}},
};
// clang-format on

static void
run_stable_case(gconstpointer data)
{
    const StableCase *c = data;
    guint quiet = 0;
    for (guint k = 0; k < c->n; k++) {
        quiet = vmb_pin_quiet_after(quiet, c->planned[k]);
        g_assert_cmpint(vmb_pin_stable(quiet), ==, c->stable[k]);
    }
}

/* 3 nodes x 4 cores (node n: cores 4n..4n+3; with 2 threads core c is pCPUs c and c + 12), as
 * test-cpu-numa-home's split: domain 0 (3 x 60 %) and domain 1 (3 x 60 %) have their memory on
 * node 0; domain 1 runs one vCPU there and two on node 1 beside domain 2 (2 x 90 %); node 2
 * runs domain 3 (one 90 %). Every vCPU is pinned to its bin's set. Memory home moves domain
 * 1's memory to node 2, its vCPUs follow as pins to bins there, and the set plans after it keep
 * every pin. */
typedef struct {
    const char *name;
    VmbPinTo mode;
    guint threads;
    const char *pin[9];    /* each item's set pin before */
    const char *expect[3]; /* domain 1's vCPUs after (items 3-5) */
} HomeCase;

// clang-format off
static const HomeCase home_cases[] = {
    {"node-sets-follow-memory", VMB_PIN_TO_NODE, 1,
     {"0-3", "0-3", "0-3", "0-3", "4-7", "4-7", "4-7", "4-7", "8-11"},
     {"8-11", "8-11", "8-11"}},
    /* a cache group is a node on the grid */
    {"cache-sets-follow-memory", VMB_PIN_TO_CACHE, 2,
     {"0-3,12-15", "0-3,12-15", "0-3,12-15", "0-3,12-15", "4-7,16-19", "4-7,16-19",
      "4-7,16-19", "4-7,16-19", "8-11,20-23"},
     {"8-11,20-23", "8-11,20-23", "8-11,20-23"}},
    /* core sets: each vCPU to an idle core of node 2 (8 holds domain 3) */
    {"core-sets-follow-memory", VMB_PIN_TO_CORE, 2,
     {"0,12", "1,13", "2,14", "3,15", "4,16", "5,17", "6,18", "7,19", "8,20"},
     {"9,21", "10,22", "11,23"}},
};
// clang-format on

static const guint home_domain[9] = {0, 0, 0, 1, 1, 1, 2, 2, 3};
static const double home_load[9] = {60, 60, 60, 60, 60, 60, 90, 90, 90};

/* The problem of @pins (set pins only) with memory nodes @mem. */
static void
home_problem(const VmbTopology *t, const gboolean *allowed, const gint *mem, VmbCpuItem *items,
             gint *item_node, VmbCpuProblem *p)
{
    for (guint i = 0; i < 9; i++) {
        items[i] = (VmbCpuItem){
            .domain = home_domain[i], .load = home_load[i], .current = -1, .movable = TRUE};
        item_node[i] = mem[home_domain[i]];
    }
    *p = (VmbCpuProblem){.npcpus = t->npcpus,
                         .allowed = allowed,
                         .items = items,
                         .n_items = 9,
                         .topology = t,
                         .item_node = item_node};
}

static void
run_home_case(gconstpointer data)
{
    const HomeCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(1, 12, c->threads, 3, &error);
    g_assert_no_error(error);
    g_autofree gboolean *allowed = g_new0(gboolean, t->npcpus);
    VmbCpuSet none;
    vmb_cpuset_clear(&none);
    vmb_topology_allowed(t, TRUE, &none, allowed);
    g_autoptr(VmbPinBins) bins = vmb_pin_bins_new(c->mode, t, t->npcpus, allowed);
    VmbCpuSet sets[9];
    const VmbCpuSet *pin_set[9];
    for (guint i = 0; i < 9; i++) {
        gboolean all;
        g_assert_true(vmb_cpuset_parse(c->pin[i], &sets[i], &all, NULL));
        pin_set[i] = &sets[i];
    }
    gint mem[4] = {0, 0, 1, 2};
    VmbCpuItem items[9], as_run[9];
    gint item_node[9];
    VmbCpuProblem p;
    home_problem(t, allowed, mem, items, item_node, &p);
    vmb_pin_items_as_run(&p, bins, pin_set, as_run);
    VmbCpuProblem q = p;
    q.items = as_run;
    VmbNumaHomeDomain doms[4] = {{TRUE, 0}, {TRUE, 0}, {TRUE, 0}, {TRUE, 0}};
    VmbNumaHomeProblem hp = {&q, doms, 4, TRUE, G_MAXDOUBLE, 600};
    VmbNumaHome h;
    g_autoptr(GArray) moves = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    g_assert_true(vmb_cpu_numa_home(&hp, &h, moves));
    g_assert_cmpuint(h.domain, ==, 1);
    g_assert_cmpuint(h.to, ==, 2);
    g_autoptr(GArray) pins = vmb_pin_moves_to_sets(moves, &p, bins, pin_set);
    g_assert_cmpuint(pins->len, ==, 3);
    for (guint k = 0; k < pins->len; k++) {
        const VmbPinMove *pm = &g_array_index(pins, VmbPinMove, k);
        g_assert_cmpint(pm->move.reason, ==, VMB_CPU_NUMA);
        sets[pm->item] = *pm->to;
    }
    for (guint v = 0; v < 3; v++) {
        g_autofree char *text = vmb_cpuset_format(&sets[3 + v]);
        g_assert_cmpstr(text, ==, c->expect[v]);
    }
    /* The memory is on node 2 now: the next set plans change no pin. */
    mem[1] = 2;
    home_problem(t, allowed, mem, items, item_node, &p);
    VmbCpuTunables tun = {.hysteresis = 3, .max_moves = 8};
    for (guint cycle = 0; cycle < 3; cycle++) {
        g_autoptr(GArray) again = vmb_pin_plan(&p, &tun, bins, pin_set);
        g_assert_cmpuint(again->len, ==, 0);
    }
    /* A move to the set a vCPU is pinned to exactly is no pin change. */
    VmbCpuMove same = {.item = 3, .from = -1, .to = 10, .reason = VMB_CPU_NUMA};
    g_autoptr(GArray) one = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    g_array_append_val(one, same);
    g_autoptr(GArray) none_left = vmb_pin_moves_to_sets(one, &p, bins, pin_set);
    g_assert_cmpuint(none_left->len, ==, c->mode == VMB_PIN_TO_CORE ? 1 : 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/cpu-pinto/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], run_case);
    }
    g_test_add_func("/cpu-pinto/bins", test_bins);
    for (guint i = 0; i < G_N_ELEMENTS(stable_cases); i++) {
        g_autofree char *path = g_strdup_printf("/cpu-pinto/stable/%s", stable_cases[i].name);
        g_test_add_data_func(path, &stable_cases[i], run_stable_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS(home_cases); i++) {
        g_autofree char *path = g_strdup_printf("/cpu-pinto/home/%s", home_cases[i].name);
        g_test_add_data_func(path, &home_cases[i], run_home_case);
    }
    return g_test_run();
}
