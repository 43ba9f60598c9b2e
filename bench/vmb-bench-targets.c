/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The results' first section: every target, measured, with pass or miss (never asserted). */
#include "vmb-bench-priv.h"

#include <stdio.h>

/* The index of the memory trace called @name, -1 when not run. */
static gint
mem_trace_index(const Bench *b, const char *name)
{
    for (guint i = 0; i < b->mem_traces->len; i++) {
        if (g_strcmp0(((const MemTrace *) g_ptr_array_index(b->mem_traces, i))->name, name) == 0)
            return (gint) i;
    }
    return -1;
}

/* Issue 15's targets (bursts, pressure signals), against the figures of git 130d304 where they
 * say "today's". */
static void
write_mem_issue15_targets(GString *md, Bench *b)
{
    static const struct {
        const char *trace;
        guint iv; /* index into mem_intervals */
        guint max_oom;
    } ooms[] = {{"mem-spike", 0, 1}, {"mem-burst", 1, 0}, {"mem-spike", 1, 7}};
    static const struct {
        const char *trace;
        guint iv;
        double before; /* MiB held at 130d304 */
    } held[] = {{"mem-idle", 0, 14367},
                {"mem-idle", 1, 21063},
                {"mem-growth", 0, 7731},
                {"mem-growth", 1, 8169}};
    g_string_append(md, "Memory, bursts and pressure signals (issue 15; *before*: git 130d304):\n\n"
                        "| target | measured | result |\n|---|---|---|\n");
    for (guint k = 0; k < G_N_ELEMENTS(ooms); k++) {
        gint i = mem_trace_index(b, ooms[k].trace);
        if (i < 0)
            continue;
        const MemResult *v = mem_res(b, (guint) i, ooms[k].iv, MEM_VMBALANCE);
        g_string_append_printf(md, "| %s at %u s: at most %u OOM kill%s | %u | %s |\n",
                               ooms[k].trace, mem_intervals[ooms[k].iv], ooms[k].max_oom,
                               ooms[k].max_oom == 1 ? "" : "s", v->oom_kills,
                               bench_verdict(v->oom_kills <= ooms[k].max_oom));
    }
    for (guint k = 0; k < G_N_ELEMENTS(held); k++) {
        gint i = mem_trace_index(b, held[k].trace);
        if (i < 0)
            continue;
        const MemResult *v = mem_res(b, (guint) i, held[k].iv, MEM_VMBALANCE);
        g_string_append_printf(md,
                               "| %s at %u s: held at most 110 %% of %.0f MiB | %.0f MiB (%.0f %%) "
                               "| %s |\n",
                               held[k].trace, mem_intervals[held[k].iv], held[k].before,
                               v->mean_held, 100 * v->mean_held / held[k].before,
                               bench_verdict(v->mean_held <= 1.10 * held[k].before));
    }
    gint i = mem_trace_index(b, "mem-swap");
    for (guint iv = 0; i >= 0 && iv < N_MEM_INTERVALS; iv++) {
        const MemResult *v = mem_res(b, (guint) i, iv, MEM_VMBALANCE);
        const MemResult *none = mem_res(b, (guint) i, iv, MEM_NONE);
        g_string_append_printf(md,
                               "| mem-swap at %u s: guest-seconds in swap at most ¼ of no "
                               "coordination's | %.0f vs %.0f (%.0f vs %.0f MiB swapped in) | %s "
                               "|\n",
                               mem_intervals[iv], v->swapping_s, none->swapping_s, v->swap_in,
                               none->swap_in, bench_verdict(v->swapping_s <= none->swapping_s / 4));
    }
    g_string_append_c(md, '\n');
}

/* The metrics file's rows of the cost targets table. */
static void
write_metrics_targets(GString *md, const MetricsCost *m)
{
    if (!m->ran) {
        g_string_append_printf(md,
                               "| metrics file render + write < %.0f ms CPU | — | not "
                               "measured: %s | — |\n",
                               TARGET_METRICS_MS, m->skip);
        return;
    }
    g_string_append_printf(md,
                           "| metrics file render + write < %.0f ms CPU, median | %u domains × "
                           "%u vCPUs | %.2f ms | %s |\n",
                           TARGET_METRICS_MS, m->domains, m->vcpus / MAX(m->domains, 1),
                           m->total.cpu_median_ms,
                           bench_verdict(m->total.cpu_median_ms < TARGET_METRICS_MS));
    g_string_append_printf(md,
                           "| metrics file < %.0f MiB | %u domains × %u vCPUs | %.2f MiB (%u "
                           "samples) | %s |\n",
                           TARGET_METRICS_MIB, m->domains, m->vcpus / MAX(m->domains, 1),
                           m->bytes / 1048576.0, m->samples,
                           bench_verdict(m->bytes / 1048576.0 < TARGET_METRICS_MIB));
}

void
vmb_bench_write_targets(Bench *b, GString *md)
{
    g_string_append(md, "## Targets\n\nPrinted, never asserted; judged for vmbalance on every "
                        "trace. Why each miss happens: see the discussion at the end.\n\n");
    if (b->did_cpu)
        bench_write_cpu_targets(md, b->cpu_traces, b->cpu);
    if (b->did_mem) {
        g_string_append(md, "Memory: no OOM kill and no second below the host reserve, at both "
                            "cycle lengths.\n\n| trace | cycle | OOM kills | reserve "
                            "violations |\n|---|---|---|---|\n");
        for (guint i = 0; i < b->mem_traces->len; i++) {
            const MemTrace *tr = g_ptr_array_index(b->mem_traces, i);
            for (guint iv = 0; iv < N_MEM_INTERVALS; iv++) {
                const MemResult *v = mem_res(b, i, iv, MEM_VMBALANCE);
                g_string_append_printf(md, "| %s | %u s | %u %s | %.1f s %s |\n", tr->name,
                                       mem_intervals[iv], v->oom_kills,
                                       bench_verdict(v->oom_kills == 0), v->reserve_viol_s,
                                       bench_verdict(v->reserve_viol_s == 0));
            }
        }
        g_string_append_c(md, '\n');
        write_mem_issue15_targets(md, b);
    }
    if (b->did_cost) {
        const CostResult *c = &b->cost;
        g_string_append(md, "Cost (see Cost for the timing method):\n\n"
                            "| target | size | measured | result |\n|---|---|---|---|\n");
        for (guint k = 0; k < N_COST_DECISIONS; k++)
            bench_write_decision_targets(md, &c->dec[k]);
        if (c->lab_ran)
            g_string_append_printf(md,
                                   "| cycle ≤ %.1f × bare `virConnectGetAllDomainStats` | %s, %u "
                                   "guests | %.2f× | %s |\n",
                                   TARGET_CYCLE_RATIO, c->lab_uri, c->lab_domains, c->lab_ratio,
                                   bench_verdict(c->lab_ratio <= TARGET_CYCLE_RATIO));
        else
            g_string_append_printf(md,
                                   "| cycle ≤ %.1f × bare `virConnectGetAllDomainStats` | real "
                                   "host | not measured: %s | — |\n",
                                   TARGET_CYCLE_RATIO, c->lab_skip);
        if (c->rss_ran)
            g_string_append_printf(
                md,
                "| daemon RSS < %.0f MiB (VmRSS and peak VmHWM) | %u domains "
                "× 4 vCPUs | %.1f MiB (peak %.1f) | %s |\n",
                TARGET_RSS_MIB, c->rss_domains, c->rss_kib / 1024.0, c->hwm_kib / 1024.0,
                bench_verdict(MAX(c->rss_kib, c->hwm_kib) / 1024.0 < TARGET_RSS_MIB));
        else
            g_string_append_printf(md, "| daemon RSS < %.0f MiB | — | not measured: %s | — |\n",
                                   TARGET_RSS_MIB, c->rss_skip);
        write_metrics_targets(md, &c->metrics);
        g_string_append_c(md, '\n');
    }
}
