/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmb-bench: runs every trace with every algorithm, measures the costs and writes the results
 * (markdown), the plot data and a gnuplot script. `bash bench/run.sh` is the one command that
 * regenerates bench/RESULTS.md and bench/plots/; `vmb-bench --smoke` is the test-suite run. */
#include "vmb-bench-priv.h"

#include <stdio.h>

static Bench *the_bench;

/* The tasks log every action; the benchmark keeps warnings (counted) and drops the rest. */
static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        return g_log_writer_default(level, fields, n_fields, data);
    if (level & G_LOG_LEVEL_WARNING) {
        if (the_bench)
            the_bench->warnings++;
        if (the_bench && the_bench->verbose)
            return g_log_writer_standard_streams(level, fields, n_fields, data);
        return G_LOG_WRITER_HANDLED;
    }
    if (the_bench && the_bench->verbose && (level & G_LOG_LEVEL_MESSAGE))
        return g_log_writer_standard_streams(level, fields, n_fields, data);
    return G_LOG_WRITER_HANDLED;
}

static gboolean
wanted(const Bench *b, const char *part)
{
    if (!b->only)
        return TRUE;
    g_auto(GStrv) parts = g_strsplit(b->only, ",", -1);
    return g_strv_contains((const char *const *) parts, part);
}

/* The command line into @b; FALSE (after saying why) on a bad one. */
static gboolean
parse_options(Bench *b, int *argc, char ***argv)
{
    GOptionEntry entries[] = {
        {"smoke", 0, 0, G_OPTION_ARG_NONE, &b->smoke, "Small sizes, seconds (the test suite)",
         NULL},
        {"results", 0, 0, G_OPTION_ARG_FILENAME, &b->results, "Write the results (markdown)",
         "FILE"},
        {"data", 0, 0, G_OPTION_ARG_FILENAME, &b->data, "Write plot data and plots.gp here", "DIR"},
        {"daemon", 0, 0, G_OPTION_ARG_FILENAME, &b->daemon,
         "vmbalanced binary, to measure its memory", "PATH"},
        {"lab", 0, 0, G_OPTION_ARG_STRING, &b->lab,
         "libvirt URI of a real host to time a cycle on (read-only)", "URI"},
        {"lab-wait", 0, 0, G_OPTION_ARG_INT, &b->lab_wait,
         "Keep retrying the lab this many seconds while it is down or has no guest", "S"},
        {"notes", 0, 0, G_OPTION_ARG_FILENAME, &b->notes,
         "Markdown appended to the results as the discussion", "FILE"},
        {"only", 0, 0, G_OPTION_ARG_STRING, &b->only, "Comma-separated parts: cpu, topo, mem, cost",
         "LIST"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &b->set,
         "Run vmbalance with KEY=VALUE of its configuration (repeatable; what-if runs)",
         "KEY=VALUE"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &b->verbose, "Show every action", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_option_context_set_summary(ctx, "Benchmarks vmbalance against the seeds' algorithms, the "
                                      "optimum and scale, on the simulated host.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        fprintf(stderr, "vmb-bench: %s\n", error->message);
        return FALSE;
    }
    return TRUE;
}

/* The traces, and the parts asked for run on them. */
static void
run_parts(Bench *b)
{
    b->cpu_traces = bench_cpu_traces(b->smoke);
    b->mem_traces = bench_mem_traces(b->smoke);
    if (wanted(b, "cost"))
        vmb_bench_run_lab(b);
    if (wanted(b, "cpu"))
        vmb_bench_run_cpu(b);
    if (wanted(b, "topo")) {
        b->topo_md = g_string_new(NULL);
        bench_topology(b->topo_md, b->smoke);
    }
    if (wanted(b, "mem"))
        vmb_bench_run_mem(b);
    if (wanted(b, "cost"))
        vmb_bench_run_cost(b);
}

/* The results and the plot data where asked, the sanity check and the warnings count; the
 * exit status. */
static int
write_outputs(Bench *b)
{
    int rc = 0;
    g_autoptr(GError) error = NULL;
    if (b->results && !vmb_bench_write_results(b, &error)) {
        fprintf(stderr, "vmb-bench: %s\n", error->message);
        rc = 1;
    }
    g_clear_error(&error);
    if (b->data && !vmb_bench_write_data(b, &error)) {
        fprintf(stderr, "vmb-bench: %s\n", error->message);
        rc = 1;
    }
    if (!vmb_bench_sane(b))
        rc = 1;
    if (b->warnings)
        fprintf(stderr, "vmb-bench: %u warnings logged (--verbose shows them)\n", b->warnings);
    return rc;
}

/* Frees what @b holds. */
static void
bench_clear(Bench *b)
{
    for (guint i = 0; b->did_cpu && i < b->cpu_traces->len * N_CPU_ALGOS; i++)
        bench_cpu_result_clear(&b->cpu[i]);
    for (guint i = 0; b->did_mem && i < b->mem_traces->len * N_MEM_INTERVALS * N_MEM_ALGOS; i++)
        bench_mem_result_clear(&b->mem[i]);
    g_free(b->cpu);
    g_free(b->mem);
    bench_cost_clear(&b->cost);
    g_ptr_array_unref(b->cpu_traces);
    g_ptr_array_unref(b->mem_traces);
    g_free(b->results);
    g_free(b->data);
    g_free(b->daemon);
    g_free(b->lab);
    g_free(b->notes);
    g_free(b->only);
    if (b->topo_md)
        g_string_free(b->topo_md, TRUE);
    g_strfreev(b->set);
    g_free(b->host);
}

int
main(int argc, char **argv)
{
    Bench b = {0};
    the_bench = &b;
    if (!parse_options(&b, &argc, &argv))
        return 64;
    g_log_set_writer_func(writer, NULL, NULL);
    g_autoptr(GError) error = NULL;
    if (!bench_set_overrides((const char *const *) b.set, &error)) {
        fprintf(stderr, "vmb-bench: --set %s\n", error->message);
        return 64;
    }
    run_parts(&b);
    int rc = write_outputs(&b);
    bench_clear(&b);
    return rc;
}
