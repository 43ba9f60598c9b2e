/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Topology-aware placement (issue 14) on simulated big hosts: 2 x 8 x 2 (32 pCPUs, 2 nodes) and
 * 4 x 16 x 2 (128 pCPUs, 4 nodes) with mixed guests.
 *
 * Each algorithm runs on the simulated host (hv-fake, whose CPU accounting stays flat); every
 * cycle the pins it chose, each vCPU's nominal demand and each domain's memory node are
 * recorded. The topology is charged afterwards, on those records, by one model (so a
 * sensitivity table costs no rerun):
 *  - a pCPU (hardware thread) is work-conserving: its demand w is the sum of its vCPUs', served
 *    up to 1 (w = min(1, sum / 100));
 *  - a core is work-conserving too (the default charge, "fluid core"): its threads with demands
 *    w1, w2 run alone at speed 1 and both at once at speed g' = (1 + smt_gain) / 2 each (the
 *    core then delivers 1 + smt_gain). Over an interval thread i is busy b_i <= 1 of the time,
 *    the two overlap o >= max(0, b1 + b2 - 1) of it, and thread i progresses
 *    p_i = (b_i - o) + o g'. Overlap only slows, so it is the least forced; the progress
 *    pairs reachable are the polygon (0,0) (1,0) (g',g') (0,1), i.e.
 *    p1 + k p2 <= 1 and p2 + k p1 <= 1 with k = (1 - smt_gain) / (1 + smt_gain). The most
 *    work with p_i <= w_i: with m the lighter thread's demand and M the heavier's,
 *        p_light = min(m, g'),  p_heavy = min(M, 1 - k p_light),
 *        delivered = p_light + p_heavy = min(w1 + w2, 1 + min(2 smt_gain m / (1 + smt_gain),
 *                                                              smt_gain)):
 *    all of it while w1 + w2 <= 1 (or the light thread fits the heavy one's slack), 1 + smt_gain
 *    when both threads want at least g', in between the light thread is served whole (it runs
 *    longer, b_light = m / g') and the heavy one gets what is left. E.g. smt_gain 0.25:
 *    (0.3, 0.3) -> 0.6, (1, 0.5) -> 1 + 0.5 x 0.4 = 1.2 (0.7 + 0.5), (1, 1) -> 1.25.
 *    Overlapping at random (o = b1 b2) gives the same work: (b1, b2) in [0,1]^2 maps onto the
 *    same polygon (b1 = 1 onto the edge p1 + k p2 = 1), as a thread busy all the time
 *    overlaps all of its sibling's busy time in any arrangement; only latency differs;
 *  - the old charge stays as a stated variant ("random overlap"): a core of two threads with
 *    utilisations u1, u2 delivers u1 + u2 - u1 * u2 * (1 - smt_gain), as if the threads ran
 *    at independent random times (a share u1 * u2 both at once), charged even when neither
 *    thread is saturated, while stacking on one thread is charged nothing;
 *  - each vCPU gets its thread's progress in proportion to its demand (p * dem / sum);
 *  - a vCPU on another node than its domain's memory delivers (1 - remote_penalty) of that;
 *  - floating vCPUs (no pinning) are placed every cycle as the kernel's wake-up path does:
 *    largest first, an idle core before an idle sibling thread before the least loaded thread,
 *    the node left to chance (a hash of the vCPU and the phase: sticky within a phase); the
 *    "NUMA balancing" variant prefers, at each of those levels, the domain's memory node;
 *  - vCPUs pinned to a set (cpu.pin_to = core, cache, node) are placed the same way among the
 *    set's pCPUs only: the kernel balances perfectly inside a set, once per record.
 * bench/notes.md gives the sources of every figure. */
#include "topo-private.h"

#include <math.h>

#include "hv-fake.h"

/* The model is in topo-model.c, the oracle in topo-oracle.c, the metrics in topo-eval.c; this
 * file builds the traces, runs the algorithms on them and writes the section. */

static const char *const talgo_names[N_TALGOS] = {
    "vmbalance",
    "vmbalance pin_to=core",
    "vmbalance pin_to=cache",
    "vmbalance pin_to=node",
    "no pinning",
    "no pinning + NUMA balancing",
    "seed 001",
    "seed 004",
    "count round robin (LXD)",
    "oracle (per phase)",
};

static void
rec_free(gpointer p)
{
    Rec *r = p;
    g_free(r->pcpu);
    g_free(r->set);
    g_free(r->dem);
    g_free(r->node);
    g_free(r->dom);
    g_free(r);
}

/* ---- traces */

static void
mix(GString *ini, guint j, guint *n)
{
    /* One copy of the guest mix. Phase 1 (0-300 s): 14 busy vCPUs and 4 light ones per
     * 16 cores; phase 2: the database drops to 40 %, the web guests rise to 90 %; phase 3
     * (600 s): a 4-vCPU batch guest starts, 18 busy vCPUs per 16 cores. */
    g_string_append_printf(ini,
                           "[domain db%u]\nvcpus = 6\nload = 0:80 300:80 300:40\nnoise = 3\n"
                           "[domain batch%u]\nvcpus = 4\nload = 100\nnoise = 2\n",
                           j, j);
    for (guint k = 0; k < 2; k++)
        g_string_append_printf(ini,
                               "[domain web%u%c]\nvcpus = 2\nload = 0:50 300:50 300:90\n"
                               "noise = 3\n",
                               j, 'a' + k);
    for (guint k = 0; k < 4; k++)
        g_string_append_printf(ini, "[domain small%u%c]\nvcpus = 1\nload = 20\nnoise = 2\n", j,
                               'a' + k);
    g_string_append_printf(ini, "[domain burst%u]\nvcpus = 4\nstart = 600\nload = 100\n", j);
    *n += 6 + 4 + 4 + 4 + 4;
}

/* @ccx: cores per last-level cache group, 0 for one group per node. */
static TTrace *
ttrace_new(const char *name, guint sockets, guint cores, guint threads, guint nodes, guint copies,
           guint ccx, gboolean smoke)
{
    TTrace *t = g_new0(TTrace, 1);
    g_autoptr(GError) error = NULL;
    t->topo = vmb_topology_new_grid(sockets, cores, threads, nodes, &error);
    g_assert_no_error(error);
    g_assert_true(!ccx || vmb_topology_split_caches(t->topo, ccx, &error));
    t->tr.name = g_strdup(name);
    g_autofree char *caches =
        ccx ? g_strdup_printf(", cache groups of %u cores", ccx) : g_strdup("");
    t->tr.title = g_strdup_printf("%u x %u x %u, %u nodes%s, %u copies of the guest mix", sockets,
                                  cores, threads, nodes, caches, copies);
    t->tr.npcpus = t->topo->npcpus;
    t->tr.duration = smoke ? 120 : 900;
    t->tr.interval = 5;
    t->tr.settle = 60;
    t->tr.changes = g_array_new(FALSE, FALSE, sizeof(double));
    double ch[] = {0, 300, 600};
    for (guint k = 0; k < G_N_ELEMENTS(ch); k++) {
        if (ch[k] < t->tr.duration)
            g_array_append_val(t->tr.changes, ch[k]);
    }
    GString *ini = g_string_new(NULL);
    g_string_append_printf(ini,
                           "[host]\nsockets = %u\ncores = %u\nthreads = %u\nnodes = %u\n"
                           "memory_mib = %u\nseed = 14\n",
                           sockets, cores, threads, nodes, 65536 * nodes);
    if (ccx)
        g_string_append_printf(ini, "cache_cores = %u\n", ccx);
    for (guint j = 0; j < copies; j++)
        mix(ini, j, &t->n);
    t->tr.ini = g_string_free(ini, FALSE);
    t->tr.ini_floating = g_strdup(t->tr.ini);
    for (guint a = 0; a < N_TALGOS; a++)
        t->recs[a] = g_ptr_array_new_with_free_func(rec_free);
    t->sets = g_ptr_array_new_with_free_func(g_free);
    return t;
}

static void
ttrace_free(TTrace *t)
{
    g_free(t->tr.name);
    g_free(t->tr.title);
    g_array_unref(t->tr.changes);
    g_free(t->tr.ini);
    g_free(t->tr.ini_floating);
    for (guint a = 0; a < N_TALGOS; a++)
        g_ptr_array_unref(t->recs[a]);
    g_ptr_array_unref(t->sets);
    vmb_topology_unref(t->topo);
    g_free(t);
}

static guint
phase_at(const TTrace *t, double at)
{
    guint k = 0;
    while (k + 1 < t->tr.changes->len && g_array_index(t->tr.changes, double, k + 1) <= at + 1e-9)
        k++;
    return k;
}

/* ---- running the algorithms */

/* LXD-style: each vCPU of a domain seen for the first time pinned to the pCPU with the fewest
 * vCPUs pinned so far (lowest number first); never moved again. */
static void
lxd_cycle(GHashTable *seen, guint *count, guint npcpus, VmbHypervisor *hv, const VmbSnapshot *s)
{
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        if (g_hash_table_contains(seen, d->uuid))
            continue;
        g_hash_table_add(seen, g_strdup(d->uuid));
        for (guint v = 0; v < d->nvcpus; v++) {
            guint best = 0;
            for (guint c = 1; c < npcpus; c++)
                best = count[c] < count[best] ? c : best;
            count[best]++;
            g_autoptr(GError) error = NULL;
            if (!vmb_hypervisor_pin_vcpu(hv, d->uuid, v, best, &error))
                g_error("LXD pin: %s", error->message);
        }
    }
}

static gint
intern_set(TTrace *t, const VmbCpuSet *set)
{
    for (guint k = 0; k < t->sets->len; k++) {
        if (vmb_cpuset_equal(g_ptr_array_index(t->sets, k), set))
            return (gint) k;
    }
    g_ptr_array_add(t->sets, g_memdup2(set, sizeof(*set)));
    return (gint) t->sets->len - 1;
}

/* The share of (@from, @to] in which @def ran: a domain started at @to asked for nothing in
 * the interval that ends then, though the snapshot at @to shows it running. */
static double
ran_share(const VmbScenarioDomain *def, double from, double to)
{
    double end = def->stop >= 0 ? MIN(def->stop, to) : to;
    return CLAMP((end - MAX(def->start, from)) / (to - from), 0, 1);
}

static void
record(TTrace *t, TAlgo a, const VmbScenario *sc, const VmbSnapshot *s, double now)
{
    Rec *r = g_new0(Rec, 1);
    r->t = now;
    double start = now - t->tr.interval;
    r->phase = phase_at(t, start);
    double from = g_array_index(t->tr.changes, double, r->phase);
    r->steady = start >= from + t->tr.settle - 1e-9;
    r->pcpu = g_new(gint, t->n);
    r->set = g_new(gint, t->n);
    r->dem = g_new0(double, t->n);
    r->node = g_new(gint, t->n);
    r->dom = g_new(guint, t->n);
    guint k = 0;
    for (guint i = 0; i < sc->domains->len; i++) {
        const VmbScenarioDomain *def = g_ptr_array_index(sc->domains, i);
        const VmbDomainStat *d = vmb_snapshot_find(s, def->uuid);
        for (guint v = 0; v < def->nvcpus; v++, k++) {
            r->dom[k] = i;
            r->pcpu[k] = d ? d->vcpus[v].pcpu : -1;
            r->set[k] = d && d->vcpus[v].cpus ? intern_set(t, d->vcpus[v].cpus) : -1;
            r->node[k] = d ? MAX(d->mem_node, 0) : 0;
            r->dem[k] = d ? vmb_series_at(&def->load[v], now - t->tr.interval / 2) *
                                ran_share(def, now - t->tr.interval, now)
                          : 0;
        }
    }
    g_ptr_array_add(t->recs[a], r);
}

static void
run_algo(TTrace *t, TAlgo a)
{
    if (a == T_NOPIN_NUMA || a == T_ORACLE)
        return; /* evaluated on T_NOPIN's records */
    g_autoptr(GError) error = NULL;
    VmbScenario *sc = vmb_scenario_load_data(t->tr.ini, &error);
    g_assert_no_error(error);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(sc, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    gboolean vmb = a == T_VMBALANCE || a == T_VMB_CORE || a == T_VMB_CACHE || a == T_VMB_NODE;
    CpuAlgoId id = vmb              ? CPU_VMBALANCE
                   : a == T_SEED001 ? CPU_SEED001
                   : a == T_SEED004 ? CPU_SEED004
                                    : CPU_NOPIN;
    CpuAlgo *algo = bench_cpu_algo_new(id, &t->tr, sc);
    if (a == T_VMBALANCE) /* the one-pCPU model, whatever the shipped default */
        bench_cpu_algo_set(algo, "cpu.pin_to", "cpu");
    else if (vmb)
        bench_cpu_algo_set(algo, "cpu.pin_to",
                           a == T_VMB_CORE    ? "core"
                           : a == T_VMB_CACHE ? "cache"
                                              : "node");
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree guint *count = g_new0(guint, t->tr.npcpus);
    guint ncycles = (guint) floor(t->tr.duration / t->tr.interval + 1e-9);
    for (guint cyc = 0; cyc <= ncycles; cyc++) {
        if (cyc)
            vmb_hv_fake_advance(hv, t->tr.interval);
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        g_assert_no_error(error);
        double now = vmb_hv_fake_now(hv);
        if (cyc)
            record(t, a, sc, s, now);
        VmbFakeCounters before, after;
        vmb_hv_fake_counters(hv, &before);
        if (a == T_LXD)
            lxd_cycle(seen, count, t->tr.npcpus, hv, s);
        else
            bench_cpu_algo_cycle(algo, hv, s);
        vmb_hv_fake_counters(hv, &after);
        guint64 moved = after.pin_changes - before.pin_changes;
        t->pins[a] += moved;
        if (cyc && ((Rec *) g_ptr_array_index(t->recs[a], t->recs[a]->len - 1))->steady)
            t->steady_pins[a] += moved;
    }
    bench_cpu_algo_free(algo);
}

/* ---- the section of RESULTS.md */

/* The traces of the section, each run with every algorithm. */
static GPtrArray *
topo_traces(gboolean smoke)
{
    GPtrArray *traces = g_ptr_array_new_with_free_func((GDestroyNotify) ttrace_free);
    g_ptr_array_add(traces, ttrace_new("topo-2x8x2", 2, 8, 2, 2, 1, 0, smoke));
    if (!smoke) {
        g_ptr_array_add(traces, ttrace_new("topo-4x16x2", 4, 16, 2, 4, 4, 0, smoke));
        /* cache groups smaller than a node (AMD core complexes): cache and node differ */
        g_ptr_array_add(traces, ttrace_new("topo-2x8x2-ccx4", 2, 8, 2, 2, 1, 4, smoke));
    }
    for (guint i = 0; i < traces->len; i++) {
        for (guint a = 0; a < N_TALGOS; a++)
            run_algo(g_ptr_array_index(traces, i), a);
    }
    return traces;
}

/* What the section measures, how, and what the rows are. */
static void
append_intro(GString *md)
{
    g_string_append(
        md, "## Topology (issue 14)\n\n"
            "Mixed guests on SMT, multi-node hosts, with the topology charged by the model of "
            "`bench/topo.c` (default smt_gain 0.25, remote_penalty 0.2; bench/notes.md gives "
            "the sources). Work is charged as a work-conserving (fluid) core, the default and "
            "the one the targets judge: a thread serves its vCPUs' demand up to 100 %, a core "
            "serves all its two threads' demand while it has slack and 1 + smt_gain when both "
            "threads are busy all the time, in between the lighter thread whole and the other "
            "what is left. The column \"random overlap\" is the earlier charge, kept as a "
            "variant: a core whose threads run u1, u2 delivers u1 + u2 - u1 u2 (1 - smt_gain) "
            "even when neither is saturated, stacking on one thread charged nothing; the oracle "
            "is placed again on the charge of each column. Phases: 0-300 s 14 busy vCPUs and 4 "
            "light ones per 16 cores; "
            "300-600 s the database guest drops to 40 %, the web guests rise to 90 %; from "
            "600 s a 4-vCPU batch guest starts (18 busy vCPUs per 16 cores). Work is what the "
            "guests got over what they asked, whole trace; the other columns are over steady "
            "phases (60 s after a change on). Double-ups: steady cycles with two busy (>= 50 %) "
            "threads on one core while another core idles. Splits: steady domain-cycles with a "
            "running domain on two nodes although its memory node had room for it (as many cores "
            "without another domain's busy vCPU as it has vCPUs). The oracle places per "
            "phase, knowing the phase's loads, each vCPU where the model's work grows most "
            "(greedy, spreading among equals), then moves and swaps while the work grows (a "
            "reference, not a bound). The pin_to rows are the same balancer with "
            "`cpu.pin_to` = core, cache or node: each vCPU pinned to every pCPU of its core, "
            "cache group or node, and placed inside that set by the kernel model above at every "
            "record; on the first two hosts a cache group is a node, so the cache and node "
            "rows coincide there; topo-2x8x2-ccx4 is topo-2x8x2 with cache groups of 4 cores "
            "(2 per node, as AMD's core complexes). The vmbalance row pins to one pCPU "
            "(`cpu.pin_to = cpu`, the "
            "default).\n\n");
}

/* Trace @t's table under the model @def, each algorithm's row, and vmbalance's targets. */
static void
append_trace(GString *md, TTrace *t, const Model *def)
{
    g_string_append_printf(md, "### %s: %s (%u pCPUs, %u vCPUs)\n\n", t->tr.name, t->tr.title,
                           t->tr.npcpus, t->n);
    g_string_append_printf(md,
                           "| algorithm | work delivered (%s) | work (%s) | most loaded core | "
                           "remote share | double-ups | splits | pin changes (steady) |\n"
                           "|---|---|---|---|---|---|---|---|\n",
                           topo_charge_names[def->charge], topo_charge_names[CHARGE_OVERLAP]);
    Model old = *def;
    old.charge = CHARGE_OVERLAP;
    TMetrics res[N_TALGOS], res_old[N_TALGOS];
    guint64 opins = 0;
    for (guint a = 0; a < N_TALGOS; a++) {
        res[a] = topo_evaluate(t, a, def, a == T_ORACLE ? &opins : NULL);
        res_old[a] = topo_evaluate(t, a, &old, NULL);
        guint64 pins = a == T_ORACLE ? opins : t->pins[a];
        g_string_append_printf(md,
                               "| %s | %.3f | %.3f | %.0f %% | %.3f | %u / %u | %u | "
                               "%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT ") |\n",
                               talgo_names[a], res[a].work, res_old[a].work, res[a].core_max,
                               res[a].remote, res[a].doubleups, res[a].steady, res[a].splits, pins,
                               a == T_ORACLE ? 0 : t->steady_pins[a]);
    }
    const TMetrics *v = &res[T_VMBALANCE];
    gboolean w_or = v->work >= 0.98 * res[T_ORACLE].work;
    gboolean w_np = v->work >= res[T_NOPIN].work - 1e-9 && v->work >= res[T_NOPIN_NUMA].work - 1e-9;
    g_string_append_printf(
        md,
        "\nTargets (vmbalance; work on the %s charge): no double-up in steady phases: %u %s; "
        "no split of a domain that fits one node: %u %s; work >= 0.98 x the oracle's (%.3f vs "
        "%.3f): %s; work >= no pinning's, both variants (%.3f, %.3f): %s. On the %s charge, "
        "not judged: %.3f vs 0.98 x the oracle's %.3f, no pinning %.3f and %.3f.\n\n",
        topo_charge_names[def->charge], v->doubleups, bench_verdict(v->doubleups == 0), v->splits,
        bench_verdict(v->splits == 0), v->work, 0.98 * res[T_ORACLE].work, bench_verdict(w_or),
        res[T_NOPIN].work, res[T_NOPIN_NUMA].work, bench_verdict(w_np),
        topo_charge_names[CHARGE_OVERLAP], res_old[T_VMBALANCE].work, 0.98 * res_old[T_ORACLE].work,
        res_old[T_NOPIN].work, res_old[T_NOPIN_NUMA].work);
}

/* Sensitivity: trace @t0, work delivered under other model figures. */
static void
append_sensitivity(GString *md, TTrace *t0)
{
    g_string_append_printf(md,
                           "### Sensitivity (%s): work delivered by smt_gain and "
                           "remote_penalty (fluid-core charge)\n\n"
                           "| smt_gain | remote_penalty | vmbalance | pin_to=core | "
                           "pin_to=cache | pin_to=node | no pinning | + NUMA "
                           "balancing | LXD round robin | seed 004 | oracle |\n"
                           "|---|---|---|---|---|---|---|---|---|---|---|\n",
                           t0->tr.name);
    const double gains[] = {0.1, 0.25, 0.4}, pens[] = {0, 0.2, 0.4};
    for (guint g = 0; g < G_N_ELEMENTS(gains); g++) {
        for (guint q = 0; q < G_N_ELEMENTS(pens); q++) {
            Model m = {gains[g], pens[q], CHARGE_FLUID};
            const TAlgo cols[] = {T_VMBALANCE,  T_VMB_CORE, T_VMB_CACHE, T_VMB_NODE, T_NOPIN,
                                  T_NOPIN_NUMA, T_LXD,      T_SEED004,   T_ORACLE};
            g_string_append_printf(md, "| %.2f | %.1f |", m.smt_gain, m.remote_penalty);
            for (guint c = 0; c < G_N_ELEMENTS(cols); c++)
                g_string_append_printf(md, " %.3f |", topo_evaluate(t0, cols[c], &m, NULL).work);
            g_string_append_c(md, '\n');
        }
    }
}

void
bench_topology(GString *md, gboolean smoke)
{
    GPtrArray *traces = topo_traces(smoke);
    const Model def = {0.25, 0.2, CHARGE_FLUID};
    append_intro(md);
    for (guint i = 0; i < traces->len; i++)
        append_trace(md, g_ptr_array_index(traces, i), &def);
    append_sensitivity(md, g_ptr_array_index(traces, 0));
    g_string_append_c(md, '\n');
    g_ptr_array_unref(traces);
}
