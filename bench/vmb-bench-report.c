/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The results (markdown): the targets, then the vCPU, topology, memory and cost sections, how
 * it is measured, the plots and the discussion from bench/notes.md. */
#include "vmb-bench-priv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "textfile.h"

static char *
fmt_ratio(double x)
{
    return isnan(x) ? g_strdup("—") : g_strdup_printf("%.3f", x);
}

static void
write_cpu(Bench *b, GString *md)
{
    g_string_append(
        md, "## vCPU balancing\n\n"
            "Cycle every 5 s (the daemon's default), vmbalance with its default configuration. "
            "*max/LB*: the most loaded pCPU, time-averaged, over the time-averaged lower bound, on "
            "the trace's nominal (noise-free) loads and on the demand the host measured; *steady* "
            "counts the cycles from 60 s after a change to the next change. "
            "*spread*: most minus least loaded pCPU in steady phases, points of one pCPU. "
            "*converge*: cycles from a change to the last pin change it caused, mean / max over "
            "the phases that settle; *unsettled* phases still change pins in their steady part. "
            "The oracle is a reference, not a contender (see below).\n\n");
    g_string_append(md, "| trace | pCPUs | guests | vCPUs | length | changes at | what |\n"
                        "|---|---|---|---|---|---|---|\n");
    for (guint i = 0; i < b->cpu_traces->len; i++) {
        const CpuTrace *tr = g_ptr_array_index(b->cpu_traces, i);
        GString *ch = g_string_new(NULL);
        for (guint k = 1; k < tr->changes->len; k++)
            g_string_append_printf(ch, "%s%.0f", k > 1 ? ", " : "",
                                   g_array_index(tr->changes, double, k));
        g_string_append_printf(md, "| %s | %u | %u | %u | %.0f s | %s | %s |\n", tr->name,
                               tr->npcpus, tr->ndomains, tr->nvcpus, tr->duration,
                               ch->len ? ch->str : "—", tr->title);
        g_string_free(ch, TRUE);
    }
    g_string_append(md, "\n| trace | algorithm | max/LB steady, nominal | max/LB steady, "
                        "measured | max/LB all, measured | spread | pin changes | steady moves "
                        "| converge | unsettled |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (guint i = 0; i < b->cpu_traces->len; i++) {
        const CpuTrace *tr = g_ptr_array_index(b->cpu_traces, i);
        for (guint a = 0; a < N_CPU_ALGOS; a++) {
            const CpuResult *r = cpu_res(b, i, a);
            g_autofree char *rn = fmt_ratio(r->nom_steady);
            g_autofree char *rs = fmt_ratio(r->ratio_steady);
            g_autofree char *ra = fmt_ratio(r->ratio_all);
            g_autofree char *name = a == CPU_SEED004 && tr->seed004_ext
                                        ? g_strdup("seed 004 (ext.)")
                                        : g_strdup(bench_cpu_algo_names[a]);
            g_autofree char *conv =
                isnan(r->converge_mean)
                    ? g_strdup("never")
                    : g_strdup_printf("%.1f / %u", r->converge_mean, r->converge_max);
            gboolean ref = a == CPU_ORACLE;
            g_autofree char *pins =
                ref ? g_strdup("—") : g_strdup_printf("%" G_GUINT64_FORMAT, r->pins);
            g_autofree char *steady =
                ref ? g_strdup("—") : g_strdup_printf("%" G_GUINT64_FORMAT, r->steady_moves);
            g_autofree char *unsettled =
                ref ? g_strdup("—") : g_strdup_printf("%u/%u", r->unsettled, r->phases);
            g_string_append_printf(
                md, "| %s | %s%s%s | %s | %s | %s | %.1f | %s | %s | %s | %s |\n", tr->name,
                a == CPU_VMBALANCE ? "**" : "", name, a == CPU_VMBALANCE ? "**" : "", rn, rs, ra,
                r->spread_steady, pins, steady, ref ? "—" : conv, unsettled);
        }
        g_string_append_printf(md, "| %s | lower bound | 1 | 1 (%.0f %%) | | | | | | |\n", tr->name,
                               cpu_res(b, i, CPU_VMBALANCE)->lb_steady);
    }
    g_string_append(md, "\nseed 004 (ext.): outside the limits its README states, run "
                        "anyway with each vCPU as an item:\n\n");
    for (guint i = 0; i < b->cpu_traces->len; i++) {
        const CpuTrace *tr = g_ptr_array_index(b->cpu_traces, i);
        if (tr->seed004_ext)
            g_string_append_printf(md, "- %s: %s\n", tr->name, tr->seed004_ext);
    }
    g_string_append_c(md, '\n');
    bench_write_cpu_phases(md, b->cpu_traces, b->cpu);
}

static void
write_mem(Bench *b, GString *md)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_string_append_printf(
        md,
        "## Memory\n\n"
        "Every trace at a 1 s and a 5 s cycle, the same for every algorithm. *below low*: "
        "guest-seconds with usable memory (actual − use − %u MiB of guest kernel) below the low "
        "watermark (vmbalance's default band: %.0f %% of actual, at least %u MiB). *min "
        "headroom*: lowest actual − use of any guest (0 or less is an OOM kill). *reserve*: "
        "seconds the host's available memory was below the reserve (the larger of %u MiB and "
        "%.0f %% of host RAM, vmbalance's default). *reclaimed*: MiB the idle guests gave back "
        "by the end, and the seconds until 90 %% of that was back. *held*: all guests' actual, "
        "time-averaged. *changes*: balloon targets set. *swap*: guest-seconds with memory in "
        "swap.\n\n",
        8, c->mem_low_watermark, c->mem_min_free_mib, c->mem_host_reserve_mib,
        c->mem_host_reserve_percent);
    g_string_append(md, "| trace | guests | length | what |\n|---|---|---|---|\n");
    for (guint i = 0; i < b->mem_traces->len; i++) {
        const MemTrace *tr = g_ptr_array_index(b->mem_traces, i);
        g_string_append_printf(md, "| %s | %u | %.0f s | %s |\n", tr->name, tr->nguests,
                               tr->duration, tr->title);
    }
    g_string_append(md,
                    "\n| trace | cycle | algorithm | OOM kills | below low (guest·s) | min "
                    "headroom (MiB) | reserve (s) | reclaimed (MiB / t90) | held (MiB) | "
                    "changes | swap (guest·s) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (guint i = 0; i < b->mem_traces->len; i++) {
        const MemTrace *tr = g_ptr_array_index(b->mem_traces, i);
        for (guint iv = 0; iv < N_MEM_INTERVALS; iv++) {
            for (guint a = 0; a < N_MEM_ALGOS; a++) {
                const MemResult *r = mem_res(b, i, iv, a);
                g_autofree char *rec =
                    tr->idle->len == 0 ? g_strdup("—")
                    : r->reclaim_t90 >= 0
                        ? g_strdup_printf("%.0f / %.0f s", r->reclaimed, r->reclaim_t90)
                        : g_strdup_printf("%.0f / —", r->reclaimed);
                g_string_append_printf(md,
                                       "| %s | %u s | %s%s%s | %u | %.0f | %.0f | %.1f | %s | %.0f "
                                       "| %" G_GUINT64_FORMAT " | %.0f |\n",
                                       tr->name, mem_intervals[iv], a == MEM_VMBALANCE ? "**" : "",
                                       bench_mem_algo_names[a], a == MEM_VMBALANCE ? "**" : "",
                                       r->oom_kills, r->below_low_s, round(r->min_headroom) + 0.0,
                                       r->reserve_viol_s, rec, r->mean_held, r->changes,
                                       r->swapping_s);
            }
        }
    }
    g_string_append_c(md, '\n');
}

static void
timing_row(GString *md, const char *what, const char *size, const Timing *t)
{
    g_autofree char *cpu =
        t->cpu_median_ms >= 0 ? g_strdup_printf("%.2f", t->cpu_median_ms) : g_strdup("—");
    g_string_append_printf(md, "| %s | %s | %s | %.2f | %.2f | %u |\n", what, size, cpu,
                           t->median_ms, t->min_ms, t->runs);
}

static void
calls_row(GString *md, const char *what, const VmbHvCalls *k)
{
    g_string_append_printf(md,
                           "| %s | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT
                           " | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " | **%" G_GUINT64_FORMAT
                           "** |\n",
                           what, k->kind[VMB_HV_CALL_PINS], k->kind[VMB_HV_CALL_DOMAIN],
                           k->kind[VMB_HV_CALL_STATS], k->kind[VMB_HV_CALL_NODE], k->total);
}

/* Hypervisor calls per snapshot at the cost scale, with and without tunable events. */
static void
write_calls(const CostResult *c, GString *md)
{
    if (!c->calls_ran) {
        g_string_append_printf(md, "Hypervisor calls: not measured: %s.\n\n", c->calls_skip);
        return;
    }
    g_string_append_printf(
        md,
        "Hypervisor calls per cycle (`vmb_hypervisor_calls()` around each snapshot of the libvirt "
        "backend, the daemon's code, on libvirt's in-process test driver with %u running domains "
        "× %u vCPUs, %u snapshots after the first). Pins are read per domain "
        "(`virDomainGetVcpuPinInfo`) on first sight, on a restart and on a vCPU count change; "
        "QEMU reports other pin changes as tunable events, so with them nothing else reads pins. "
        "A driver without tunable events gets every domain's pins re-read periodically instead: "
        "here in %u of the %u snapshots. The test driver sends none, so \"with tunable events\" "
        "is the same connection told to trust them.\n\n"
        "| snapshot | pin reads | other per-domain reads | bulk statistics | host | total "
        "|\n|---|---|---|---|---|---|\n",
        c->calls_domains, c->calls_vcpus / MAX(c->calls_domains, 1), c->calls_cycles,
        c->calls_rereads[0], c->calls_cycles);
    calls_row(md, "first after connecting or reconnecting", &c->calls_first);
    calls_row(md, "usual, with tunable events (QEMU)", &c->calls_steady[1]);
    calls_row(md, "dearest after the first, with tunable events", &c->calls_peak[1]);
    calls_row(md, "usual, without tunable events", &c->calls_steady[0]);
    calls_row(md, "periodic pin re-read, without tunable events", &c->calls_peak[0]);
    g_string_append_printf(
        md,
        "\nMean per snapshot after the first: %.1f with tunable events, %.1f without. "
        "The other per-domain reads are the memory parameters on first sight (asked for their "
        "number, then read: QEMU too) and, every snapshot, `virDomainGetInfo`, which only the "
        "test driver needs: its bulk statistics lack vCPU counts, CPU time and balloon, QEMU's "
        "have them. The host column is the test driver's too (node info, CPU map, statistics "
        "per CPU, memory): a daemon on its host reads /proc instead (node info and CPU map every "
        "30th cycle). So on a local QEMU host a usual cycle is the one bulk statistics call; "
        "without tunable events every tenth cycle would add one pin read per domain.\n\n",
        c->calls_mean[1], c->calls_mean[0]);
}

static void
write_cost(Bench *b, GString *md)
{
    const CostResult *c = &b->cost;
    const char *host = b->host;
    g_autofree char *csize = g_strdup_printf("%u domains × %u vCPUs, %u pCPUs", c->cyc_domains,
                                             c->cyc_vcpus / MAX(c->cyc_domains, 1), c->cyc_pcpus);
    g_string_append_printf(
        md,
        "## Cost\n\n"
        "Measured on %s, a machine other work shares: medians of repeated runs of the thread's "
        "CPU time (what the work costs, whatever else runs) and of the wall-clock time, with "
        "the fastest run.\n\n"
        "| what | size | CPU, median (ms) | wall, median (ms) | wall, min (ms) | runs "
        "|\n|---|---|---|---|---|---|\n",
        host);
    for (guint k = 0; k < N_COST_DECISIONS; k++) {
        const CostDecision *d = &c->dec[k];
        g_autofree char *dsize = g_strdup_printf("%u pCPUs × %u vCPUs", d->npcpus, d->nvcpus);
        timing_row(md, "decision `vmb_cpu_plan`, balanced state (a usual cycle)", dsize,
                   &d->plan_steady);
        timing_row(md, "decision, random pins (full move budget)", dsize, &d->plan_unbalanced);
        timing_row(md, "decision, every vCPU floating (first cycle after start)", dsize,
                   &d->plan_place);
    }
    timing_row(md, "cycle on the simulated host: snapshot", csize, &c->cyc_snapshot);
    timing_row(md, "cycle: cpu task", csize, &c->cyc_cpu);
    timing_row(md, "cycle: memory task", csize, &c->cyc_mem);
    timing_row(md, "cycle: total", csize, &c->cyc_total);
    if (c->lab_ran) {
        g_autofree char *lsize =
            g_strdup_printf("%s, %u guests, %u vCPUs", c->lab_uri, c->lab_domains, c->lab_vcpus);
        timing_row(md, "real host: bare `virConnectGetAllDomainStats`", lsize, &c->lab_bare);
        timing_row(md, "real host: daemon cycle (snapshot + both tasks)", lsize, &c->lab_cycle);
    }
    if (c->metrics.ran) {
        g_autofree char *msize = g_strdup_printf(
            "%u domains × %u vCPUs, %.0f KiB", c->metrics.domains,
            c->metrics.vcpus / MAX(c->metrics.domains, 1), c->metrics.bytes / 1024.0);
        timing_row(md, "metrics file: render the status (`vmb_metrics_render`)", msize,
                   &c->metrics.render);
        timing_row(md, "metrics file: write and rename", msize, &c->metrics.write);
        timing_row(md, "metrics file: total, after each cycle", msize, &c->metrics.total);
    }
    g_string_append_c(md, '\n');
    write_calls(c, md);
    if (c->rss_ran)
        g_string_append_printf(
            md,
            "Daemon memory: `vmbalanced --connect fake://…` on %u domains × 4 vCPUs (256 pCPUs, "
            "balloons on), a 1 s cycle, after %.0f s: VmRSS **%.1f MiB**, VmHWM (peak) %.1f MiB, "
            "of which anonymous (RssAnon) %.1f MiB and file-backed (RssFile: mapped shared "
            "libraries) %.1f MiB; proportional (Pss) %.1f MiB. With one domain: VmRSS %.1f MiB, "
            "RssAnon %.1f MiB. The simulated host runs inside the daemon, so the anonymous "
            "part includes the simulation's own state.\n\n",
            c->rss_domains, c->rss_seconds, c->rss_kib / 1024.0, c->hwm_kib / 1024.0,
            c->anon_kib / 1024.0, c->file_kib / 1024.0, c->pss_kib / 1024.0, c->rss1_kib / 1024.0,
            c->anon1_kib / 1024.0);
    else
        g_string_append_printf(md, "Daemon memory: not measured: %s.\n\n", c->rss_skip);
    if (c->lab_ran)
        g_string_append_printf(
            md,
            "Real host: %s with %u running guests (%u vCPUs), %u interleaved pairs after a "
            "warm-up. The cycle is the daemon's: one snapshot and both tasks. The snapshot is one "
            "`virConnectGetAllDomainStats` plus /proc/stat and /proc/meminfo (a domain seen for "
            "the first time also costs a pin and a memory-parameters read; pin changes arrive as "
            "tunable events). The tasks run in dry-run with every guest excluded, so they ask "
            "libvirt for "
            "nothing (the guests may be someone else's); in a steady state the daemon's tasks "
            "make no call either. Ratio of medians: **%.2f×**; of the minima: %.2f×; from the "
            "median difference within each pair (which cancels what else the host was doing at "
            "that moment): %.2f×; of the means: %.2f×.\n\n",
            c->lab_uri, c->lab_domains, c->lab_vcpus, c->lab_bare.runs, c->lab_ratio,
            c->lab_bare.min_ms > 0 ? c->lab_cycle.min_ms / c->lab_bare.min_ms : 0, c->lab_paired,
            c->lab_bare.mean_ms > 0 ? c->lab_cycle.mean_ms / c->lab_bare.mean_ms : 0);
    else
        g_string_append_printf(md, "Real host: not measured: %s.\n\n", c->lab_skip);
}

static void
write_plots_md(Bench *b, GString *md)
{
    g_string_append(md, "## Plots\n\n");
    for (guint i = 0; b->did_cpu && i < b->cpu_traces->len; i++) {
        const CpuTrace *tr = g_ptr_array_index(b->cpu_traces, i);
        g_string_append_printf(md,
                               "### %s\n\n![%s: most loaded pCPU](plots/cpu-%s-load.png)\n"
                               "![%s: pin changes](plots/cpu-%s-pins.png)\n\n",
                               tr->name, tr->name, tr->name, tr->name, tr->name);
    }
    for (guint i = 0; b->did_mem && i < b->mem_traces->len; i++) {
        const MemTrace *tr = g_ptr_array_index(b->mem_traces, i);
        g_string_append_printf(md,
                               "### %s\n\n![%s: %s's memory against its use](plots/mem-%s.png)\n\n",
                               tr->name, tr->name, tr->watch, tr->name);
    }
}

static const char methods_md[] =
    "## How it is measured\n\n"
    "`bench/vmb-bench.c` generates every trace from a seed as scenario text for the simulated "
    "host (`daemon/hv-fake-scenario.h`), loads it with `vmb_scenario_load_data()` and runs it on "
    "`hv-fake` with a manual clock. Every algorithm sees the host only through the hypervisor "
    "layer: one snapshot per cycle, pins and balloon targets through "
    "`vmb_hypervisor_pin_vcpu()`/`vmb_hypervisor_set_memory()`, counted by the simulated host. "
    "vmbalance is the daemon's own `vmb_cpu_task_run()`/`vmb_mem_task_run()` with the default "
    "configuration; nothing of it is re-implemented here.\n\n"
    "- **Demand, not what was served.** Over each cycle a vCPU's demand is its run time plus "
    "its wait time, which the simulated host accounts exactly. A pCPU's load is its host load "
    "plus the demand of the vCPUs pinned to it; floating vCPUs spread over what the pinned ones "
    "leave, as the host shares it. An overloaded pCPU therefore shows above 100 %.\n"
    "- **Lower bound** of the most loaded pCPU, per interval, for any placement: max(largest "
    "vCPU + smallest host load, total demand / pCPUs, largest host load); without host load "
    "this is max(largest vCPU, total / P). It uses the noisy demand of that very interval, so "
    "even a perfect static placement stays a little above it when loads are noisy: the oracle "
    "row shows how far.\n"
    "- **All vCPUs start pinned** where the trace puts them (random, or packed for seed-2 and "
    "huge-64), as a host with static pins or after a previous placement would be; guests that "
    "start later float, as libvirt starts them. The no-pinning run is the same trace with "
    "nothing pinned.\n"
    "- A pin call that does not change the pin is not made (and so not counted) for any "
    "algorithm; seed 004's initial round robin counts.\n\n"
    "### Baselines\n\n"
    "Implemented in `bench/baselines.c` from the seeds' descriptions in `../shared/seeds/`; "
    "where a description leaves a detail open, the choice is stated.\n\n"
    "- **seed 001 (vCPU)**: a vCPU's usage is its CPU time over the interval (not its wait: "
    "it cannot see demand it did not get), a pCPU's usage the sum over the vCPUs on it, host "
    "load unseen. If busiest − freest > 10 points and the busiest pCPU has more than one vCPU, "
    "its busiest vCPU is pinned to the freest pCPU; one move per cycle. It manages the domains "
    "running when it starts; a floating vCPU is seen where it last ran, which the simulated "
    "host does not know, so a pseudo-random pCPU per vCPU and cycle stands in. It skips a cycle "
    "when its domain count changes.\n"
    "- **seed 004 (vCPU)**: at start every vCPU of the running domains is pinned round robin. "
    "Every cycle: pCPU utilization = busy time (host load included), high = above 90 % with "
    "more than one vCPU, low = below 70 %. For each low pCPU in order, the vCPU on any high "
    "pCPU that brings it closest to 80 % without reaching 90 % moves there; each high pCPU "
    "gives and each low pCPU takes one vCPU per cycle. The original handles one vCPU per VM, "
    "8 pCPUs and the domains present at start, and exits when one goes away; here each vCPU is "
    "an item, any host size, and it carries on without a vanished domain (marked *ext.*).\n"
    "- **LPT**: every cycle, every vCPU with a measured demand (run + wait) is placed from "
    "scratch, largest first, on the least loaded pCPU (host load estimated as busy time minus "
    "the pinned vCPUs' run time); every pin that differs is changed.\n"
    "- **no pinning**: nothing is pinned; the simulated host's floating vCPUs share the "
    "capacity left by host load as a fluid, an idealised kernel balancer (it is not bound by "
    "the largest-vCPU term of the lower bound).\n"
    "- **oracle**: for each phase of the trace (from one change to the next), LPT followed by "
    "a local search (moves and swaps off the most loaded pCPU while they lower it) on the "
    "phase's nominal loads averaged over the phase, placed at the cycle the phase starts. It "
    "knows the future and ignores noise; it is the best static placement per phase this "
    "benchmark finds, a reference for what pinning can reach, not a contender. Its pins are not "
    "counted.\n"
    "- **seed 003 (memory)**: target 150000 KB unused (the guest's free memory, not counting "
    "page cache). Within 5000 KB of it nothing; more than 50000 KB above: −50000 KB; less: "
    "down to the target; more than 50000 KB below: +2×50000 KB; less: +50000 KB; never above "
    "the maximum; no grow unless the host has 2 × 150000 KB available per guest (the README's "
    "\"2x the target amount for each domain\"). The finer steps near the target are the "
    "published code's.\n"
    "- **seed 001 (memory)**: consumption rate = drop of unused memory per second. Starving: "
    "unused ≤ 15 % of actual and rate > 1 KiB/s; wasting: unused > 50 % and rate < 1. The most "
    "starving guest (lowest unused %) gets 2 × its consumption over the interval from the "
    "guest with the most unused memory among the wasting ones if that keeps 50 MiB, else from "
    "the host if the host keeps 5 % of its RAM available; never past the guest's maximum. "
    "With no one starving, the most wasteful guest gives half its unused memory back. One "
    "action per cycle. (A rate that is negative is taken as negative, not as the huge "
    "unsigned number a naive C port gives.)\n"
    "- **none**: no coordination; balloons stay at the traces' initial sizes.\n\n";

static char *
read_notes(const char *path)
{
    g_autofree char *text = NULL;
    if (!path || !g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    /* A leading comment is for the file's editors, not for the results. */
    const char *end = g_str_has_prefix(text, "<!--") ? strstr(text, "-->") : NULL;
    if (end)
        return g_strdup(end + 3 + strspn(end + 3, "\n"));
    return g_steal_pointer(&text);
}

gboolean
vmb_bench_write_results(Bench *b, GError **error)
{
    GString *md = g_string_new(NULL);
    g_string_append(md, "<!-- SPDX-License-Identifier: LGPL-2.1-or-later -->\n"
                        "# vmbalance benchmark results\n\n"
                        "Generated by `bash bench/run.sh` (the program is `bench/vmb-bench.c`); "
                        "do not edit by hand: the discussion at the end comes from "
                        "`bench/notes.md`. The simulations are deterministic (seeded); the "
                        "costs are timings on the machine that ran it.\n\n");
    if (b->smoke)
        g_string_append(md, "**Smoke run: small sizes, not the results.**\n\n");
    vmb_bench_write_targets(b, md);
    if (b->did_cpu)
        write_cpu(b, md);
    if (b->topo_md)
        g_string_append_len(md, b->topo_md->str, (gssize) b->topo_md->len);
    if (b->did_mem)
        write_mem(b, md);
    if (b->did_cost)
        write_cost(b, md);
    g_string_append(md, methods_md);
    write_plots_md(b, md);
    g_autofree char *notes = read_notes(b->notes);
    if (notes) {
        g_string_append(md, "## Discussion\n\n");
        g_string_append(md, notes);
    }
    gboolean ok = vmb_textfile_replace(b->results, md->str, md->len, VMB_REPLACE_READABLE, error);
    g_string_free(md, TRUE);
    return ok;
}
