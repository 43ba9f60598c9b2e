/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory task on the simulated host, over the shipped memory scenarios, with a manual
 * clock: no OOM kill and no host reserve violation, ever. The same scenarios are run with
 * the benchmark's implementations of the two baselines (seeds 003 and 001, bench/mem-algos.c)
 * and the figures are printed side by side: OOM kills, reserve violations, time to react to
 * the watched guest's growth, lowest guest headroom (actual - use), memory held on average
 * and memory reclaimed by the end. */
#include <glib.h>
#include <string.h>

#include "config.h"
#include "hv-fake.h"
#include "log.h"
#include "mem-algos.h"
#include "mem-policy.h"
#include "mem-task.h"

#define STEP_S 0.1

/* The policies compared, in bench/mem-algos.c's order (the first three of MemAlgoId). */
typedef enum {
    POLICY_OURS = MEM_VMBALANCE,
    POLICY_SEED003 = MEM_SEED003,
    POLICY_SEED001 = MEM_SEED001,
    N_POLICIES,
} Policy;

static const char *const policy_names[N_POLICIES] = {"vmbalance", "seed-003", "seed-001"};

typedef struct {
    const char *file;
    guint interval; /* seconds between cycles, the same for every policy */
    double duration;
    const char *watch;     /* guest whose reaction is timed, or NULL */
    double demand_start;   /* when its demand starts rising */
    guint holds_less;      /* bit per seed policy that holds more memory on average */
    guint reserve_mib;     /* memory.host_reserve_mib, 0 = default */
    gboolean host_limited; /* the host cannot cover the demand: OOM kills in the watched guest
                              are expected, the reserve must hold all the same */
} SimCase;

#define THAN_003 (1u << POLICY_SEED003)
#define THAN_001 (1u << POLICY_SEED001)

/* Where a seed holds less, it pays for it: seed 001 grows late (near-OOM headroom in
 * growth, crosses the reserve under pressure), both seeds OOM under pressure at 5 s. */
static const SimCase sims[] = {
    {"mem-growth.ini", 1, 90, "grower", 10, THAN_003},
    {"mem-growth.ini", 5, 90, "grower", 10, THAN_003},
    {"mem-burst.ini", 1, 150, "bursty", 30, THAN_003 | THAN_001},
    {"mem-idle.ini", 1, 180, NULL, 0, THAN_003 | THAN_001},
    {"mem-idle.ini", 5, 180, NULL, 0, THAN_003 | THAN_001},
    {"mem-pressure.ini", 1, 120, "grow1", 10, THAN_001},
    {"mem-pressure.ini", 5, 120, "grow1", 10, 0},
    /* a reserve that binds hard: 1 GiB of the 6 GiB host */
    {"mem-pressure.ini", 1, 120, "grow1", 10, 0, 1024},
    {"mem-pressure.ini", 5, 120, "grow1", 10, 0, 1024},
    /* the lab's s6: 100 MiB above the reserve (2832 MiB available at the start), idle memory
     * that was never host memory */
    {"mem-pressure-lazy.ini", 2, 60, "m", 10, 0, 2732, TRUE},
    {"mem-pressure-lazy.ini", 5, 60, "m", 10, 0, 2732, TRUE},
    /* the same with balloons as slow as m's growth, and with the host's own use dipping */
    {"mem-pressure-lazy-slow.ini", 2, 60, "m", 10, 0, 2732, TRUE},
    {"mem-pressure-lazy-slow.ini", 5, 60, "m", 10, 0, 2732, TRUE},
    {"mem-pressure-lazy-dip.ini", 2, 60, "m", 10, 0, 2732, TRUE},
    {"mem-pressure-lazy-dip.ini", 5, 60, "m", 10, 0, 2732, TRUE},
};

typedef struct {
    guint oom_kills;
    guint reserve_violations;
    double reaction_s;       /* -1: never grew it */
    double min_headroom_mib; /* lowest actual - use of any guest with a balloon */
    double mean_held_mib;    /* time average of all guests' actual */
    double reclaimed_mib;    /* actual at start - actual at the end, all guests */
    guint64 changes;
    double min_host_avail_mib;
} SimResult;

static guint64
reserve_kib(const VmbConfig *c, guint64 host_total_kib)
{
    VmbMemTunables t = {
        .reserve_kib = (guint64) c->mem_host_reserve_mib * 1024,
        .reserve_percent = c->mem_host_reserve_percent,
    };
    return vmb_mem_reserve(&t, host_total_kib);
}

/* One run of a case: the simulated host, the policy on it, and what is measured as it runs. */
typedef struct {
    const SimCase *sc;
    Policy policy;
    VmbHypervisor *hv;
    VmbConfig *c;
    VmbMemTask task;
    MemAlgo *seed;             /* the seed's algorithm, NULL for ours */
    GPtrArray *names;          /* the scenario's domains */
    GArray *balloon;           /* gboolean per domain: it has a balloon that moves */
    double *lowest, *lowest_t; /* per domain: its lowest headroom (MiB) and when */
    double held_sum;           /* memory held by the guests, summed over the steps */
    guint held_n;
    guint violations;     /* host reserve violations so far (verbose runs) */
    guint64 watch_target; /* the watched guest's balloon target at the last cycle */
} Sim;

/* The case's scenario on a new simulated host, its domains' names and balloons in @sim;
 * returns the host's memory (KiB). */
static guint64
sim_load(Sim *sim)
{
    g_autofree char *path = g_build_filename(VMB_SRCDIR, "tests", "scenarios", sim->sc->file, NULL);
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load(path, &error);
    g_assert_no_error(error);
    sim->names = g_ptr_array_new_with_free_func(g_free);
    sim->balloon = g_array_new(FALSE, FALSE, sizeof(gboolean));
    for (guint i = 0; i < scen->domains->len; i++) {
        const VmbScenarioDomain *d = g_ptr_array_index(scen->domains, i);
        g_ptr_array_add(sim->names, g_strdup(d->name));
        gboolean moves = d->balloon && d->balloon_driver;
        g_array_append_val(sim->balloon, moves);
    }
    guint64 host_total_kib = scen->memory_mib * 1024;
    sim->hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    return host_total_kib;
}

/* The host connected with the reserve of the daemon's defaults (and the case's interval and
 * reserve), and @policy ready to run on it. */
static void
sim_open(Sim *sim, const SimCase *sc, Policy policy)
{
    sim->sc = sc;
    sim->policy = policy;
    guint64 host_total_kib = sim_load(sim);
    sim->c = vmb_config_new_defaults();
    sim->c->uri = (g_free(sim->c->uri), g_strdup("fake://"));
    sim->c->mem_interval = sc->interval;
    if (sc->reserve_mib)
        sim->c->mem_host_reserve_mib = sc->reserve_mib;
    vmb_hv_fake_set_reserve(sim->hv, reserve_kib(sim->c, host_total_kib));
    g_autoptr(GError) error = NULL;
    g_assert_true(vmb_hypervisor_ensure_connected(sim->hv, &error));

    vmb_mem_task_init(&sim->task);
    /* The seeds as the benchmark runs them; ours through its task directly (to check it). */
    sim->seed =
        policy == POLICY_OURS ? NULL : bench_mem_algo_new((MemAlgoId) policy, sc->interval, NULL);
    sim->lowest = g_new(double, sim->names->len);
    sim->lowest_t = g_new0(double, sim->names->len);
    for (guint i = 0; i < sim->names->len; i++)
        sim->lowest[i] = G_MAXDOUBLE;
}

static void
sim_close(Sim *sim)
{
    vmb_mem_task_clear(&sim->task);
    bench_mem_algo_free(sim->seed);
    g_free(sim->lowest_t);
    g_free(sim->lowest);
    vmb_config_free(sim->c);
    vmb_hypervisor_free(sim->hv);
    g_array_unref(sim->balloon);
    g_ptr_array_unref(sim->names);
}

/* The memory (actual) of the running guests, MiB. */
static double
running_actual_mib(const Sim *sim)
{
    double total = 0;
    for (guint i = 0; i < sim->names->len; i++) {
        VmbFakeDomainInfo info;
        if (vmb_hv_fake_domain_info(sim->hv, sim->names->pdata[i], &info) && info.running)
            total += info.actual_kib / 1024.0;
    }
    return total;
}

static guint64
watched_target_kib(const Sim *sim)
{
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(sim->hv, sim->sc->watch, &info));
    return info.target_kib;
}

/* One STEP_S of the host: each ballooned guest's lowest headroom and the memory held. */
static void
sim_step(Sim *sim, SimResult *r)
{
    vmb_hv_fake_advance(sim->hv, STEP_S);
    double total = 0;
    for (guint i = 0; i < sim->names->len; i++) {
        VmbFakeDomainInfo info;
        if (!vmb_hv_fake_domain_info(sim->hv, sim->names->pdata[i], &info) || !info.running)
            continue;
        total += info.actual_kib / 1024.0;
        double headroom = ((double) info.actual_kib - (double) info.used_kib) / 1024.0;
        if (g_array_index(sim->balloon, gboolean, i) && headroom < sim->lowest[i]) {
            sim->lowest[i] = headroom;
            sim->lowest_t[i] = vmb_hv_fake_now(sim->hv);
            r->min_headroom_mib = MIN(r->min_headroom_mib, headroom);
        }
    }
    sim->held_sum += total;
    sim->held_n++;
    if (g_test_verbose()) {
        VmbFakeCounters now;
        vmb_hv_fake_counters(sim->hv, &now);
        if (now.reserve_violations > sim->violations)
            g_test_message("  %s: host below its reserve at t=%.1f s", policy_names[sim->policy],
                           vmb_hv_fake_now(sim->hv));
        sim->violations = now.reserve_violations;
    }
}

/* One cycle of the policy on a snapshot; the watched guest's first grow once its demand
 * rises is its reaction. */
static void
sim_cycle(Sim *sim, SimResult *r)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(sim->hv, &error);
    g_assert_no_error(error);
    if (sim->policy == POLICY_OURS) {
        VmbMemCycleResult res;
        vmb_mem_task_run(&sim->task, sim->hv, s, sim->c, FALSE, NULL, NULL, &res);
        g_assert_cmpuint(res.failed, ==, 0);
    } else {
        bench_mem_algo_cycle(sim->seed, sim->hv, s);
    }
    double now = vmb_hv_fake_now(sim->hv);
    const SimCase *sc = sim->sc;
    if (sc->watch) {
        guint64 target = watched_target_kib(sim);
        if (target > sim->watch_target && now >= sc->demand_start && r->reaction_s < 0)
            r->reaction_s = now - sc->demand_start;
        sim->watch_target = target;
    }
}

/* The run's figures into @r, from the host's counters and what the steps measured; each
 * guest's lowest headroom in verbose runs. */
static void
sim_report(const Sim *sim, double start_total, SimResult *r)
{
    double end_total = running_actual_mib(sim);
    for (guint i = 0; g_test_verbose() && i < sim->names->len; i++) {
        if (sim->lowest[i] < G_MAXDOUBLE)
            g_test_message("  %s %s: lowest headroom %.0f MiB at t=%.1f s",
                           policy_names[sim->policy], (char *) sim->names->pdata[i], sim->lowest[i],
                           sim->lowest_t[i]);
    }
    VmbFakeCounters counters;
    vmb_hv_fake_counters(sim->hv, &counters);
    r->oom_kills = counters.oom_kills;
    r->reserve_violations = counters.reserve_violations;
    r->changes = counters.memory_changes;
    r->min_host_avail_mib = counters.min_host_available_kib / 1024.0;
    r->mean_held_mib = sim->held_n ? sim->held_sum / sim->held_n : 0;
    r->reclaimed_mib = start_total - end_total;
}

static void
run_sim(const SimCase *sc, Policy policy, SimResult *r)
{
    Sim sim = {0};
    sim_open(&sim, sc, policy);
    memset(r, 0, sizeof(*r));
    r->reaction_s = -1;
    r->min_headroom_mib = G_MAXDOUBLE;
    double start_total = running_actual_mib(&sim);
    if (sc->watch)
        sim.watch_target = watched_target_kib(&sim);
    guint steps_per_cycle = (guint) (sc->interval / STEP_S + 0.5);
    guint cycles = (guint) (sc->duration / sc->interval);
    /* A first cycle at start, as the daemon runs one when it starts (statistics turned on). */
    for (guint cycle = 0; cycle <= cycles; cycle++) {
        for (guint k = 0; cycle > 0 && k < steps_per_cycle; k++)
            sim_step(&sim, r);
        sim_cycle(&sim, r);
    }
    sim_report(&sim, start_total, r);
    sim_close(&sim);
}

static void
print_result(const SimCase *sc, Policy p, const SimResult *r)
{
    g_autofree char *reaction =
        r->reaction_s >= 0 ? g_strdup_printf("%5.0f s", r->reaction_s) : g_strdup("      -");
    g_test_message(
        "%-17s %2us reserve %4u MiB  %-9s oom %3u  reserve-viol %4u  react %s  min-headroom "
        "%6.0f MiB  held %6.0f MiB  reclaimed %6.0f MiB  changes %4" G_GUINT64_FORMAT
        "  host-min %5.0f MiB",
        sc->file, sc->interval, sc->reserve_mib ? sc->reserve_mib : 512, policy_names[p],
        r->oom_kills, r->reserve_violations, reaction, r->min_headroom_mib, r->mean_held_mib,
        r->reclaimed_mib, r->changes, r->min_host_avail_mib);
}

/* The task's records (one per change, warnings logged once) would bury the figures: keep
 * them for `--verbose`/G_MESSAGES_DEBUG runs, and let criticals still abort. */
static GPtrArray *captured; /* messages above debug level, while a test collects them */

static GLogWriterOutput
quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
    if (captured && !(level & G_LOG_LEVEL_DEBUG)) {
        for (gsize i = 0; i < n_fields; i++) {
            if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
                g_ptr_array_add(captured, g_strdup(fields[i].value));
        }
    }
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
        return g_log_writer_default(level, fields, n_fields, data); /* fatal in tests */
    /* Not the default writer: GTest makes warnings fatal there, and the task warns. */
    if (g_test_verbose() && !g_log_writer_default_would_drop(level, "vmbalanced"))
        return g_log_writer_standard_streams(level, fields, n_fields, data);
    return G_LOG_WRITER_HANDLED;
}

static void
test_sim(gconstpointer data)
{
    const SimCase *sc = data;
    SimResult res[N_POLICIES];
    for (guint p = 0; p < N_POLICIES; p++) {
        run_sim(sc, p, &res[p]);
        print_result(sc, p, &res[p]);
    }
    const SimResult *ours = &res[POLICY_OURS];
    if (!sc->host_limited)
        g_assert_cmpuint(ours->oom_kills, ==, 0);
    g_assert_cmpuint(ours->reserve_violations, ==, 0);
    for (guint p = POLICY_SEED003; p < N_POLICIES; p++) {
        if (!sc->host_limited)
            g_assert_cmpuint(ours->oom_kills, <=, res[p].oom_kills);
        g_assert_cmpuint(ours->reserve_violations, <=, res[p].reserve_violations);
        if (sc->holds_less & (1u << p))
            g_assert_cmpfloat(ours->mean_held_mib, <, res[p].mean_held_mib);
    }
    if (sc->watch)
        g_assert_cmpfloat(ours->reaction_s, >=, 0);
}

static guint
count_captured(const char *needle1, const char *needle2)
{
    guint n = 0;
    for (guint i = 0; i < captured->len; i++) {
        const char *m = captured->pdata[i];
        if (strstr(m, needle1) && (!needle2 || strstr(m, needle2)))
            n++;
    }
    return n;
}

typedef struct {
    guint reports;
    guint by_reason[8];
    GHashTable *domains; /* names that had an action */
} Reports;

static void
on_report(const VmbAction *a, gpointer data)
{
    Reports *r = data;
    g_assert_cmpint(a->kind, ==, VMB_ACTION_MEMORY);
    r->reports++;
    g_hash_table_add(r->domains, g_strdup(a->domain));
    for (guint k = 0; k <= VMB_MEM_ACCEPT; k++) {
        if (g_strcmp0(a->reason, vmb_mem_reason_to_string(k)) == 0)
            r->by_reason[k]++;
    }
}

/* Runs the task every interval for @duration on @hv; returns the cycles that ran. */
static guint
drive(VmbHypervisor *hv, VmbMemTask *task, const VmbConfig *c, gboolean dry_run, double duration,
      Reports *rep)
{
    guint ran = 0;
    for (double t = 0; t < duration; t += vmb_config_mem_interval(c)) {
        vmb_hv_fake_advance(hv, vmb_config_mem_interval(c));
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        if (!s) {
            g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
            hv->next_retry_us = 0; /* the manual clock stands in for the backoff delay */
            continue;
        }
        VmbMemCycleResult res;
        vmb_mem_task_run(task, hv, s, c, dry_run, on_report, rep, &res);
        g_assert_cmpuint(res.failed, ==, 0);
        ran++;
    }
    return ran;
}

/* What the daemon does on a (re)connection. */
static void
on_connection(VmbHypervisor *hv, gboolean connected, const char *reason, gpointer data)
{
    if (connected)
        vmb_mem_task_reconnected(data);
}

static VmbHypervisor *
open_scenario(const char *file, const VmbConfig *c)
{
    g_autofree char *path = g_build_filename(VMB_SRCDIR, "tests", "scenarios", file, NULL);
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load(path, &error);
    g_assert_no_error(error);
    guint64 total = scen->memory_mib * 1024;
    VmbHypervisor *hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    vmb_hv_fake_set_reserve(hv, reserve_kib(c, total));
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    return hv;
}

/* Stale statistics, a domain without a balloon and one without the driver are each logged
 * once (and "resumed" once), every change is reported exactly once, excluded and
 * unmanageable guests keep their memory, and a guaranteed guest stays at its guarantee. */
static void
test_task_idle(void)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 1;
    g_assert_true(vmb_config_set(c, "exclude", "idle4", NULL));
    g_autoptr(VmbHypervisor) hv = open_scenario("mem-idle.ini", c);
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    captured = g_ptr_array_new_with_free_func(g_free);
    drive(hv, &task, c, FALSE, 120, &rep);

    g_assert_cmpuint(count_captured("flaky", "s old"), ==, 1);
    g_assert_cmpuint(count_captured("flaky", "resumed"), ==, 1);
    g_assert_cmpuint(count_captured("noballoon", "no usable memory balloon"), ==, 1);
    g_assert_cmpuint(count_captured("nodriver", "no balloon statistics"), ==, 1);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(hv, &counters);
    g_assert_cmpuint(rep.reports, ==, counters.memory_changes);
    g_assert_cmpuint(rep.reports, ==, task.changes);
    g_assert_cmpuint(count_captured("set ", "memory:"), ==, rep.reports);
    g_assert_cmpuint(counters.oom_kills, ==, 0);
    static const char *const untouched[] = {"idle4", "noballoon", "nodriver"};
    for (guint i = 0; i < G_N_ELEMENTS(untouched); i++) {
        VmbFakeDomainInfo info;
        g_assert_true(vmb_hv_fake_domain_info(hv, untouched[i], &info));
        g_assert_cmpuint(info.actual_kib, ==, 1024 * 1024);
        g_assert_false(g_hash_table_contains(rep.domains, untouched[i]));
    }
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(hv, "guaranteed", &info));
    g_assert_cmpuint(info.actual_kib, ==, 768 * 1024);
    /* idle1 uses 100 MiB: it ends at its use plus the band's middle, above the floor. */
    g_assert_true(vmb_hv_fake_domain_info(hv, "idle1", &info));
    g_assert_cmpuint(info.actual_kib, >=, 128 * 1024);
    g_assert_cmpuint(info.actual_kib, <=, 260 * 1024);

    g_clear_pointer(&captured, g_ptr_array_unref);
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

#define IDLE_GUEST "load = 2\nmemory_mib = 2048\ncurrent_mib = 1536\nused_mib = 100\n"

/* A domain's own policy over the memory task: memory="off" and the definition's hugepages or
 * VFIO device leave its balloon alone, memory="auto" wins over exclude, min_mib is a floor. */
static void
test_task_metadata(void)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 1;
    g_assert_true(vmb_config_set(c, "exclude", "legacy", NULL));
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(
        "[host]\ncpus = 2\nmemory_mib = 16384\nhost_used_mib = 1024\n"
        "[domain plain]\n" IDLE_GUEST "[domain off]\n" IDLE_GUEST
        "metadata = <policy memory=\"off\"/>\n"
        "[domain legacy]\n" IDLE_GUEST "metadata = <policy memory=\"auto\"/>\n"
        "[domain floor]\n" IDLE_GUEST "metadata = <policy min_mib=\"1024\"/>\n"
        "[domain huge]\n" IDLE_GUEST
        "definition = <domain><memoryBacking><hugepages/></memoryBacking></domain>\n"
        "[domain vfio]\n" IDLE_GUEST
        "definition = <domain><devices><hostdev mode='subsystem' type='pci'/></devices></domain>\n",
        &error);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, FALSE, 60, &rep);

    static const char *const untouched[] = {"off", "huge", "vfio"};
    for (guint i = 0; i < G_N_ELEMENTS(untouched); i++) {
        VmbFakeDomainInfo info;
        g_assert_true(vmb_hv_fake_domain_info(hv, untouched[i], &info));
        g_assert_cmpuint(info.actual_kib, ==, 1536 * 1024);
        g_assert_false(g_hash_table_contains(rep.domains, untouched[i]));
    }
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(hv, "plain", &info));
    g_assert_cmpuint(info.actual_kib, <, 1024 * 1024);
    g_assert_true(vmb_hv_fake_domain_info(hv, "legacy", &info));
    g_assert_cmpuint(info.actual_kib, <, 1024 * 1024);
    g_assert_true(vmb_hv_fake_domain_info(hv, "floor", &info));
    g_assert_true(g_hash_table_contains(rep.domains, "floor"));
    g_assert_cmpuint(info.actual_kib, ==, 1024 * 1024);

    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* Dry-run changes nothing and reports each would-be target once, not every cycle. */
static void
test_task_dry_run(void)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 1;
    g_autoptr(VmbHypervisor) hv = open_scenario("mem-idle.ini", c);
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, TRUE, 30, &rep);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(hv, &counters);
    g_assert_cmpuint(counters.memory_changes, ==, 0);
    /* idle1-6, guaranteed and flaky would shrink; a page cache filling up does not change
     * the would-be target. */
    g_assert_cmpuint(g_hash_table_size(rep.domains), ==, 8);
    g_assert_cmpuint(rep.reports, ==, 8);
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* A guest with autodeflate jumps past its actual: it takes the memory itself (no OOM) and
 * the coordinator then grows it instead of pushing it back; the domain restarting (forget)
 * and the host going away for a while (reconnect) do not upset it. */
static void
test_task_autodeflate(void)
{
    static const char scenario[] = "[host]\n"
                                   "memory_mib = 4096\n"
                                   "host_used_mib = 512\n"
                                   "down = 40:45\n"
                                   "[domain deflater]\n"
                                   "memory_mib = 1024\n"
                                   "current_mib = 512\n"
                                   "autodeflate = yes\n"
                                   "used_mib = 0:100 20:100 20:450\n";
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(scenario, &error);
    g_assert_no_error(error);
    const char *uuid = ((VmbScenarioDomain *) scen->domains->pdata[0])->uuid;
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    VmbMemTask task;
    vmb_mem_task_init(&task);
    vmb_hypervisor_set_connection_func(hv, on_connection, &task);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 1;
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, FALSE, 19, &rep);
    VmbFakeDomainInfo before;
    g_assert_true(vmb_hv_fake_domain_info(hv, "deflater", &before));
    g_assert_cmpuint(before.actual_kib, <, 300 * 1024); /* shrunk while idle */
    guint grows = rep.by_reason[VMB_MEM_GROW];
    drive(hv, &task, c, FALSE, 20, &rep);
    VmbFakeDomainInfo after;
    g_assert_true(vmb_hv_fake_domain_info(hv, "deflater", &after));
    g_assert_cmpuint(after.autodeflates, >, 0);
    g_assert_cmpuint(after.oom_kills, ==, 0);
    g_assert_cmpuint(rep.by_reason[VMB_MEM_GROW], >, grows);
    g_assert_cmpuint(after.target_kib, >=, after.actual_kib);
    g_assert_cmpuint(after.actual_kib, >=, (450 + 64) * 1024);

    /* Host unreachable at 40-45 s, then back: the task carries on after the reconnect. */
    g_assert_cmpuint(drive(hv, &task, c, FALSE, 20, &rep), >=, 12);
    g_assert_cmpuint(hv->reconnects, ==, 1);
    g_assert_true(vmb_hv_fake_domain_info(hv, "deflater", &after));
    g_assert_cmpuint(after.oom_kills, ==, 0);
    double rate;
    g_assert_true(vmb_mem_task_rate(&task, uuid, &rate));
    g_assert_cmpfloat(ABS(rate), <, 1024); /* steady use */
    vmb_mem_task_forget(&task, uuid);      /* what a VANISHED/APPEARED event does */
    g_assert_false(vmb_mem_task_rate(&task, uuid, &rate));
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* The largest target set for each domain (by name, in KiB). */
static void
on_report_max(const VmbAction *a, gpointer data)
{
    GHashTable *max = data;
    guint64 old = GPOINTER_TO_SIZE(g_hash_table_lookup(max, a->domain));
    if (a->new_kib > old)
        g_hash_table_insert(max, g_strdup(a->domain), GSIZE_TO_POINTER(a->new_kib));
}

/* The lab's TCG guests: defined with 512 MiB current and 2 GiB maximum, QEMU starts them at
 * 2 GiB and the balloon inflates slowly (30 MiB/s here). The daemon starts meanwhile: it must
 * not take the not-yet-reached sizes for the guests' state and "shrink" them to something
 * above 512 MiB (which would replace libvirt's target with a larger one). */
static void
test_task_boot_inflation(void)
{
    GString *sc = g_string_new("[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n");
    for (guint i = 0; i < 4; i++)
        g_string_append_printf(sc,
                               "[domain boot%u]\nmemory_mib = 2048\ncurrent_mib = 512\n"
                               "boot_mib = 2048\nballoon_mib_s = %u\nused_mib = %u\n",
                               i, 20 + 10 * i, 80 + 40 * i);
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(sc->str, &error);
    g_string_free(sc, TRUE);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 5;
    VmbMemTask task;
    vmb_mem_task_init(&task);
    g_autoptr(GHashTable) max = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (double t = 0; t < 180; t += 5) {
        vmb_hv_fake_advance(hv, 5);
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        g_assert_no_error(error);
        VmbMemCycleResult res;
        vmb_mem_task_run(&task, hv, s, c, FALSE, on_report_max, max, &res);
    }
    for (guint i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("boot%u", i);
        VmbFakeDomainInfo info;
        g_assert_true(vmb_hv_fake_domain_info(hv, name, &info));
        guint64 biggest = GPOINTER_TO_SIZE(g_hash_table_lookup(max, name));
        g_test_message("%s: actual %" G_GUINT64_FORMAT " MiB, largest target %" G_GUINT64_FORMAT
                       " MiB",
                       name, info.actual_kib / 1024, biggest / 1024);
        g_assert_cmpuint(biggest, <=, 512 * 1024);         /* never above libvirt's target */
        g_assert_cmpuint(info.actual_kib, <=, 512 * 1024); /* and it got there */
        g_assert_cmpuint(info.oom_kills, ==, 0);
    }
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* Runs a guest that keeps 200 MiB free by swapping while its use climbs 300 -> 1100 MiB in
 * 1 GiB: its free memory stays inside the band all along, only the paging shows. */
static void
run_pager(const VmbConfig *c, VmbFakeCounters *out, VmbFakeDomainInfo *info)
{
    static const char scenario[] = "[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                                   "[domain pager]\nmemory_mib = 2048\ncurrent_mib = 1024\n"
                                   "swap_mib = 1024\nswap_free_mib = 200\npage_cache = 0\n"
                                   "used_mib = 0:300 20:300 60:1100\n";
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(scenario, &error);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, FALSE, 120, &rep);
    vmb_hv_fake_counters(hv, out);
    g_assert_true(vmb_hv_fake_domain_info(hv, "pager", info));
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* Swap-in and major faults make a guest starving inside its band: it is grown out of swap,
 * where without the signals (thresholds 0) it pages on. */
static void
test_task_paging(void)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 1;
    VmbFakeCounters with, without;
    VmbFakeDomainInfo iw, iwo;
    run_pager(c, &with, &iw);
    c->mem_swap_in_kib_s = 0;
    c->mem_major_faults_s = 0;
    run_pager(c, &without, &iwo);
    g_test_message(
        "with the signals: %.1f s swapping, %.0f MiB swapped in, actual %" G_GUINT64_FORMAT
        " MiB; without: %.1f s, %.0f MiB, %" G_GUINT64_FORMAT " MiB",
        with.swapping_s, with.swap_in_mib, iw.actual_kib / 1024, without.swapping_s,
        without.swap_in_mib, iwo.actual_kib / 1024);
    g_assert_cmpfloat(without.swapping_s, >, 60);
    g_assert_cmpfloat(with.swapping_s, <, without.swapping_s / 4);
    g_assert_cmpfloat(with.swap_in_mib, <, without.swap_in_mib / 4);
    g_assert_cmpuint(with.oom_kills, ==, 0);
}

/* A guest that jumped by 400 MiB keeps room for its next jump after the first one ended (it is
 * not trimmed back to its idle band), and the second jump lands without an OOM kill. */
static void
test_task_burst(void)
{
    static const char scenario[] = "[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                                   "[domain jumper]\nmemory_mib = 2048\ncurrent_mib = 1024\n"
                                   "page_cache = 0\nused_mib = 0:300 30:300 33:700 60:700 "
                                   "62:300 150:300 153:700 180:700\n";
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(scenario, &error);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 5;
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, FALSE, 145, &rep);
    VmbFakeDomainInfo before;
    g_assert_true(vmb_hv_fake_domain_info(hv, "jumper", &before));
    drive(hv, &task, c, FALSE, 50, &rep);
    VmbFakeDomainInfo after;
    g_assert_true(vmb_hv_fake_domain_info(hv, "jumper", &after));
    g_test_message("before the second jump: actual %" G_GUINT64_FORMAT
                   " MiB; OOM kills %u, then %u",
                   before.actual_kib / 1024, before.oom_kills, after.oom_kills);
    /* idle at 300 MiB it would be at about 414 MiB (use / 0.725) */
    g_assert_cmpuint(before.actual_kib, >=, (300 + 400) * 1024);
    g_assert_cmpuint(after.oom_kills, ==, before.oom_kills);
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* Free page reporting: an idle guest whose freed pages went back to the host by themselves
 * is not shrunk for nothing (its QEMU holds only what it uses), unlike the same guest without
 * reporting; once the host itself runs short, it is capped all the same. */
static void
test_task_free_page_reporting(void)
{
    static const char scenario[] = "[host]\nmemory_mib = 4096\nhost_used_mib = 0:1024 60:1024 "
                                   "70:3400\n"
                                   "[domain plain]\nmemory_mib = 2048\ncurrent_mib = 1536\n"
                                   "used_mib = 150\npage_cache = 0\nlazy = yes\n"
                                   "[domain reporting]\nmemory_mib = 2048\ncurrent_mib = 1536\n"
                                   "used_mib = 150\npage_cache = 0\nfree_page_reporting = yes\n";
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(scenario, &error);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 2;
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, FALSE, 56, &rep);
    VmbFakeDomainInfo plain, reporting;
    g_assert_true(vmb_hv_fake_domain_info(hv, "plain", &plain));
    g_assert_true(vmb_hv_fake_domain_info(hv, "reporting", &reporting));
    g_test_message("at 56 s: plain %" G_GUINT64_FORMAT " MiB, reporting %" G_GUINT64_FORMAT " MiB",
                   plain.actual_kib / 1024, reporting.actual_kib / 1024);
    g_assert_cmpuint(plain.actual_kib, <=, 600 * 1024);
    g_assert_cmpuint(reporting.actual_kib, >=, 1528 * 1024);
    g_assert_false(g_hash_table_contains(rep.domains, "reporting"));
    drive(hv, &task, c, FALSE, 60, &rep);
    g_assert_true(vmb_hv_fake_domain_info(hv, "reporting", &reporting));
    g_test_message("at 116 s, the host short: reporting %" G_GUINT64_FORMAT " MiB",
                   reporting.actual_kib / 1024);
    g_assert_cmpuint(reporting.actual_kib, <=, 600 * 1024);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(hv, &counters);
    g_assert_cmpuint(counters.oom_kills, ==, 0);
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

/* A guest with 1 GiB of boot memory and a 1 GiB virtio-mem device: growing past its boot
 * memory plugs blocks (the balloon alone could not), no OOM kill; when its use falls back the
 * blocks are unplugged (slowly) while the balloon takes the memory at once. */
static void
test_task_virtio_mem(void)
{
    static const char scenario[] = "[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                                   "[domain vm]\nmemory_mib = 2048\ncurrent_mib = 768\n"
                                   "vmem_mib = 1024\nvmem_block_mib = 128\npage_cache = 0\n"
                                   "used_mib = 0:300 20:300 50:1400 90:1400 92:300\n";
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(scenario, &error);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    c->mem_interval = 2;
    c->mem_max_shrink_mib = 1024; /* one big shrink: the balloon takes it while blocks unplug */
    VmbMemTask task;
    vmb_mem_task_init(&task);
    Reports rep = {.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    drive(hv, &task, c, FALSE, 88, &rep);
    VmbFakeDomainInfo peak, end;
    g_assert_true(vmb_hv_fake_domain_info(hv, "vm", &peak));
    /* while it unplugs, the guest keeps its balloon target: never squeezed to OOM's edge */
    double min_free = G_MAXDOUBLE;
    for (guint k = 0; k < 60; k++) {
        drive(hv, &task, c, FALSE, 2, &rep);
        g_assert_true(vmb_hv_fake_domain_info(hv, "vm", &end));
        min_free = MIN(min_free, ((double) end.actual_kib - (double) end.used_kib) / 1024);
    }
    g_test_message("lowest actual - use while unplugging: %.0f MiB", min_free);
    g_assert_cmpfloat(min_free, >=, 64);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(hv, &counters);
    g_test_message("at 88 s: actual %" G_GUINT64_FORMAT " MiB, plugged %" G_GUINT64_FORMAT
                   " MiB; at 208 s: actual %" G_GUINT64_FORMAT " MiB, plugged %" G_GUINT64_FORMAT
                   " MiB; %" G_GUINT64_FORMAT " device changes, %u OOM kills",
                   peak.actual_kib / 1024, peak.vmem_plugged_kib / 1024, end.actual_kib / 1024,
                   end.vmem_plugged_kib / 1024, counters.vmem_changes, counters.oom_kills);
    g_assert_cmpuint(peak.actual_kib, >=, 1400 * 1024);
    g_assert_cmpuint(peak.vmem_plugged_kib, >=, 384 * 1024);
    g_assert_cmpuint(peak.vmem_plugged_kib % (128 * 1024), ==, 0);
    g_assert_cmpuint(counters.oom_kills, ==, 0);
    g_assert_cmpuint(end.vmem_plugged_kib, ==, 0);    /* 300 MiB fit in the boot memory */
    g_assert_cmpuint(end.actual_kib, <=, 700 * 1024); /* use + band + the room its ramp taught */
    g_hash_table_unref(rep.domains);
    vmb_mem_task_clear(&task);
    vmb_log_once_reset_all();
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_writer_func(quiet_writer, NULL, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(sims); i++) {
        g_autofree char *base = g_strndup(sims[i].file, strlen(sims[i].file) - 4);
        g_autofree char *path = sims[i].reserve_mib
                                    ? g_strdup_printf("/mem-sim/%s/%us-reserve-%u", base,
                                                      sims[i].interval, sims[i].reserve_mib)
                                    : g_strdup_printf("/mem-sim/%s/%us", base, sims[i].interval);
        g_test_add_data_func(path, &sims[i], test_sim);
    }
    g_test_add_func("/mem-task/idle-logged-once", test_task_idle);
    g_test_add_func("/mem-task/dry-run", test_task_dry_run);
    g_test_add_func("/mem-task/metadata-and-definition", test_task_metadata);
    g_test_add_func("/mem-task/autodeflate-reconnect", test_task_autodeflate);
    g_test_add_func("/mem-task/boot-inflation-in-flight", test_task_boot_inflation);
    g_test_add_func("/mem-task/paging", test_task_paging);
    g_test_add_func("/mem-task/burst", test_task_burst);
    g_test_add_func("/mem-task/free-page-reporting", test_task_free_page_reporting);
    g_test_add_func("/mem-task/virtio-mem", test_task_virtio_mem);
    return g_test_run();
}
