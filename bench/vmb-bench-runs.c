/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmb-bench's parts run: the vCPU and memory simulations of every trace with every algorithm,
 * the lab and the costs, each result reported on stderr as it comes. */
#include "vmb-bench-priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static void progress(const char *format, ...) G_GNUC_PRINTF(1, 2);

static void
progress(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    fprintf(stderr, "vmb-bench: %s\n", msg);
}

void
vmb_bench_run_cpu(Bench *b)
{
    b->cpu = g_new0(CpuResult, b->cpu_traces->len * N_CPU_ALGOS);
    for (guint i = 0; i < b->cpu_traces->len; i++) {
        const CpuTrace *tr = g_ptr_array_index(b->cpu_traces, i);
        for (guint a = 0; a < N_CPU_ALGOS; a++) {
            gint64 t0 = g_get_monotonic_time();
            CpuResult *r = cpu_res(b, i, a);
            bench_run_cpu(tr, a, r);
            progress("cpu %-13s %-10s max/LB steady: nominal %.3f measured %.3f  pins "
                     "%6" G_GUINT64_FORMAT "  steady moves %5" G_GUINT64_FORMAT "  [%.1f s]",
                     tr->name, bench_cpu_algo_names[a], r->nom_steady, r->ratio_steady, r->pins,
                     r->steady_moves, (g_get_monotonic_time() - t0) / 1e6);
        }
        bench_cpu_phases(cpu_res(b, i, 0));
    }
    b->did_cpu = TRUE;
}

void
vmb_bench_run_mem(Bench *b)
{
    b->mem = g_new0(MemResult, b->mem_traces->len * N_MEM_INTERVALS * N_MEM_ALGOS);
    for (guint i = 0; i < b->mem_traces->len; i++) {
        const MemTrace *tr = g_ptr_array_index(b->mem_traces, i);
        for (guint iv = 0; iv < N_MEM_INTERVALS; iv++) {
            for (guint a = 0; a < N_MEM_ALGOS; a++) {
                MemResult *r = mem_res(b, i, iv, a);
                bench_run_mem(tr, a, mem_intervals[iv], r);
                progress("mem %-13s %us %-9s oom %3u  below-low %6.0f guest-s  reserve %5.1f s  "
                         "reclaimed %6.0f MiB",
                         tr->name, mem_intervals[iv], bench_mem_algo_names[a], r->oom_kills,
                         r->below_low_s, r->reserve_viol_s, r->reclaimed);
            }
        }
    }
    b->did_mem = TRUE;
}

static char *
host_description(void)
{
    g_autofree char *cpuinfo = NULL;
    g_autofree char *model = NULL;
    if (g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL)) {
        const char *p = strstr(cpuinfo, "model name");
        if (p && (p = strchr(p, ':'))) {
            const char *end = strchr(p, '\n');
            model = g_strstrip(g_strndup(p + 1, end ? (gsize) (end - p - 1) : strlen(p + 1)));
        }
    }
    struct utsname u;
    gboolean have_uname = uname(&u) == 0;
    g_autofree char *loadavg = NULL;
    double load1 = -1;
    if (g_file_get_contents("/proc/loadavg", &loadavg, NULL, NULL))
        load1 = g_ascii_strtod(loadavg, NULL);
    return g_strdup_printf("%s, %u CPUs, Linux %s, load average %.1f when the costs were "
                           "measured",
                           model ? model : "unknown CPU", g_get_num_processors(),
                           have_uname ? u.release : "?", load1);
}

/* First of all, while a shared lab is up: it comes and goes (its suite restarts libvirtd and
 * its guests), so it is also retried for --lab-wait seconds. */
void
vmb_bench_run_lab(Bench *b)
{
    CostResult *c = &b->cost;
    if (b->lab && *b->lab) {
        gint64 until = g_get_monotonic_time() + (gint64) b->lab_wait * G_USEC_PER_SEC;
        for (;;) {
            bench_cost_lab(c, b->lab, b->smoke ? 3 : 50);
            if (c->lab_ran || g_get_monotonic_time() >= until)
                break;
            progress("lab not ready (%s), retrying in 5 s", c->lab_skip);
            g_clear_pointer(&c->lab_skip, g_free);
            g_clear_pointer(&c->lab_uri, g_free);
            g_usleep(5 * G_USEC_PER_SEC);
        }
        if (c->lab_ran)
            progress("lab %s: %u guests, cycle %.2f ms, bare stats %.2f ms, ratio %.2f (paired "
                     "%.2f)",
                     c->lab_uri, c->lab_domains, c->lab_cycle.median_ms, c->lab_bare.median_ms,
                     c->lab_ratio, c->lab_paired);
        else
            progress("lab skipped: %s", c->lab_skip);
    } else {
        c->lab_skip = g_strdup("not requested (--lab URI)");
    }
}

void
vmb_bench_run_cost(Bench *b)
{
    CostResult *c = &b->cost;
    guint P = b->smoke ? 32 : 256, doms = b->smoke ? 100 : 1000;
    b->host = host_description();
    /* The usual big host, then a huge one: the decision must stay short at any size. */
    const guint dec_p[N_COST_DECISIONS] = {P, b->smoke ? 64 : 1024};
    const guint dec_doms[N_COST_DECISIONS] = {doms, b->smoke ? 200 : 2000};
    const double dec_target[N_COST_DECISIONS] = {TARGET_DECISION_MS, TARGET_DECISION_HUGE_MS};
    for (guint k = 0; k < N_COST_DECISIONS; k++) {
        CostDecision *d = &c->dec[k];
        bench_cost_decision(d, dec_p[k], dec_doms[k], 4, b->smoke ? 5 : k ? 11 : 31);
        d->target_ms = dec_target[k];
        progress("decision %u pCPUs x %u vCPUs, CPU time: steady %.2f ms, unbalanced %.2f ms, "
                 "placement %.2f ms",
                 d->npcpus, d->nvcpus, d->plan_steady.cpu_median_ms,
                 d->plan_unbalanced.cpu_median_ms, d->plan_place.cpu_median_ms);
    }
    bench_cost_cycle(c, P, doms, 4, b->smoke ? 4 : 20);
    progress("fake cycle %u domains x 4: %.2f ms (snapshot %.2f, cpu %.2f, memory %.2f)",
             c->cyc_domains, c->cyc_total.median_ms, c->cyc_snapshot.median_ms,
             c->cyc_cpu.median_ms, c->cyc_mem.median_ms);
    bench_metrics_cost(&c->metrics, P, doms, 4, b->smoke ? 3 : 21);
    if (c->metrics.ran)
        progress("metrics file %u domains x 4: %.0f KiB, %u samples, render %.2f ms + write %.2f "
                 "ms (CPU)",
                 c->metrics.domains, c->metrics.bytes / 1024.0, c->metrics.samples,
                 c->metrics.render.cpu_median_ms, c->metrics.write.cpu_median_ms);
    else
        progress("metrics file skipped: %s", c->metrics.skip);
    bench_cost_calls(c, doms, 4, 20);
    if (c->calls_ran)
        progress("hypervisor calls, %u domains: first snapshot %" G_GUINT64_FORMAT
                 ", then per snapshot %.1f on average with tunable events, %.1f without (pins "
                 "re-read in %u of %u)",
                 c->calls_domains, c->calls_first.total, c->calls_mean[1], c->calls_mean[0],
                 c->calls_rereads[0], c->calls_cycles);
    else
        progress("hypervisor calls skipped: %s", c->calls_skip);
    if (b->daemon) {
        bench_cost_rss(c, b->daemon, doms, 4, b->smoke ? 3 : 20);
        if (c->rss_ran)
            progress("daemon RSS %.1f MiB (anon %.1f, file %.1f, Pss %.1f), peak %.1f MiB; one "
                     "domain %.1f MiB",
                     c->rss_kib / 1024.0, c->anon_kib / 1024.0, c->file_kib / 1024.0,
                     c->pss_kib / 1024.0, c->hwm_kib / 1024.0, c->rss1_kib / 1024.0);
        else
            progress("daemon RSS skipped: %s", c->rss_skip);
    } else {
        c->rss_skip = g_strdup("not requested (--daemon)");
    }
    b->did_cost = TRUE;
}
