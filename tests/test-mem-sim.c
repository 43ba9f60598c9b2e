/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory task on the simulated host, over the shipped memory scenarios, with a manual
 * clock: no OOM kill and no host reserve violation, ever. The same scenarios are run with
 * the benchmark's implementations of the two baselines (seeds 003 and 001, bench/mem-algos.c)
 * and the figures are printed side by side: OOM kills, reserve violations, time to react to
 * the watched guest's growth, lowest guest headroom (actual - use), memory held on average
 * and memory reclaimed by the end. The memory task's own tests, on small scenarios, are in
 * test-mem-sim-task.c. */
#include <glib.h>
#include <string.h>

#include "config.h"
#include "hv-fake.h"
#include "mem-algos.h"
#include "mem-policy.h"
#include "mem-task.h"
#include "test-mem-sim.h"

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

guint64
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
GPtrArray *captured; /* messages above debug level, while a test collects them */

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
