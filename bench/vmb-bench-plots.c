/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plot data of every trace (DIR/KIND-NAME.dat) and the gnuplot script that draws them. */
#include "vmb-bench-priv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "glib/gstdio.h"
#include "textfile.h"

/* Writes DIR/KIND-NAME.dat, the plot data of one trace, and frees @dat. Returns the path
 * (for the gnuplot script), NULL on failure. */
static char *
write_dat(const char *dir, const char *kind, const char *name, GString *dat, GError **error)
{
    g_autofree char *file = g_strdup_printf("%s-%s.dat", kind, name);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    gboolean ok = vmb_textfile_replace(path, dat->str, dat->len, VMB_REPLACE_READABLE, error);
    g_string_free(dat, TRUE);
    return ok ? g_steal_pointer(&path) : NULL;
}

/* The plot data of CPU trace @i: the lower bound and each algorithm's most loaded pCPU and
 * pin changes so far, per cycle. */
static GString *
cpu_dat(Bench *b, guint i)
{
    GString *dat = g_string_new("# t lower_bound");
    for (guint a = 0; a < N_CPU_ALGOS; a++)
        g_string_append_printf(dat, " max_%u pins_%u", a, a);
    g_string_append_c(dat, '\n');
    const CpuResult *r0 = cpu_res(b, i, 0);
    for (guint k = 0; k < r0->t->len; k++) {
        g_string_append_printf(dat, "%.1f %.3f", g_array_index(r0->t, double, k),
                               g_array_index(r0->lb, double, k));
        for (guint a = 0; a < N_CPU_ALGOS; a++) {
            const CpuResult *r = cpu_res(b, i, a);
            g_string_append_printf(dat, " %.3f %.0f", g_array_index(r->max_load, double, k),
                                   g_array_index(r->cum_pins, double, k));
        }
        g_string_append_c(dat, '\n');
    }
    return dat;
}

/* The two plots of CPU trace @tr (its data in @path): the most loaded pCPU, the pin changes. */
static void
cpu_plots(GString *gp, const CpuTrace *tr, const char *path)
{
    g_string_append_printf(gp,
                           "set output plots.'/cpu-%s-load.png'\nunset logscale y\n"
                           "set title '%s: most loaded pCPU per 5 s cycle (demand, %% of one "
                           "pCPU)'\nset ylabel '%% of one pCPU'\nplot ",
                           tr->name, tr->name);
    for (guint a = 0; a < N_CPU_ALGOS; a++)
        g_string_append_printf(gp, "'%s' using 1:%u with lines lw %s title '%s', \\\n    ", path,
                               3 + 2 * a, a == CPU_VMBALANCE ? "2" : "1", bench_cpu_algo_names[a]);
    g_string_append_printf(gp,
                           "'%s' using 1:2 with lines lw 2 dt 2 lc 'black' title "
                           "'lower bound'\n",
                           path);
    g_string_append_printf(gp,
                           "set output plots.'/cpu-%s-pins.png'\nset logscale y\n"
                           "set title '%s: pin changes so far (log scale)'\n"
                           "set ylabel 'pin changes'\nplot ",
                           tr->name, tr->name);
    for (guint a = 0; a < N_CPU_ALGOS; a++) {
        if (a == CPU_NOPIN || a == CPU_ORACLE)
            continue;
        g_string_append_printf(gp,
                               "%s'%s' using 1:($%u > 0 ? $%u : NaN) with steps lw %s "
                               "title '%s'",
                               a ? ", \\\n    " : "", path, 4 + 2 * a, 4 + 2 * a,
                               a == CPU_VMBALANCE ? "2" : "1", bench_cpu_algo_names[a]);
    }
    g_string_append(gp, "\nunset logscale y\n");
}

/* The plot data of memory trace @i at interval @iv: the watched guest's use and each
 * algorithm's actual, per step. */
static GString *
mem_dat(Bench *b, guint i, guint iv)
{
    GString *dat = g_string_new("# t used");
    for (guint a = 0; a < N_MEM_ALGOS; a++)
        g_string_append_printf(dat, " actual_%u", a);
    g_string_append_c(dat, '\n');
    const MemResult *r0 = mem_res(b, i, iv, 0);
    for (guint k = 0; k < r0->t->len; k++) {
        g_string_append_printf(dat, "%.1f %.1f", g_array_index(r0->t, double, k),
                               g_array_index(r0->used, double, k));
        for (guint a = 0; a < N_MEM_ALGOS; a++) {
            const MemResult *r = mem_res(b, i, iv, a);
            g_string_append_printf(dat, " %.1f",
                                   k < r->actual->len ? g_array_index(r->actual, double, k) : NAN);
        }
        g_string_append_c(dat, '\n');
    }
    return dat;
}

/* The plot of memory trace @tr at interval @iv (its data in @path): actual against use. */
static void
mem_plot(GString *gp, const MemTrace *tr, guint iv, const char *path)
{
    g_string_append_printf(gp,
                           "set output plots.'/mem-%s.png'\nunset logscale y\n"
                           "set title '%s: guest %s, memory (actual) against its use, %u s "
                           "cycle'\nset ylabel 'MiB'\nplot '%s' using 1:2 with lines lw 3 "
                           "lc 'black' title 'use (demand)'",
                           tr->name, tr->name, tr->watch, mem_intervals[iv], path);
    for (guint a = 0; a < N_MEM_ALGOS; a++)
        g_string_append_printf(gp, ", \\\n    '%s' using 1:%u with lines lw %s title '%s'", path,
                               3 + a, a == MEM_VMBALANCE ? "2" : "1", bench_mem_algo_names[a]);
    g_string_append_c(gp, '\n');
}

/* Each CPU trace's data file, its plots into @gp. */
static gboolean
write_cpu_plots(Bench *b, GString *gp, GError **error)
{
    for (guint i = 0; b->did_cpu && i < b->cpu_traces->len; i++) {
        const CpuTrace *tr = g_ptr_array_index(b->cpu_traces, i);
        g_autofree char *path = write_dat(b->data, "cpu", tr->name, cpu_dat(b, i), error);
        if (!path)
            return FALSE;
        cpu_plots(gp, tr, path);
    }
    return TRUE;
}

/* Each memory trace's data file at the 5 s cycle, its plot into @gp. */
static gboolean
write_mem_plots(Bench *b, GString *gp, GError **error)
{
    for (guint i = 0; b->did_mem && i < b->mem_traces->len; i++) {
        const MemTrace *tr = g_ptr_array_index(b->mem_traces, i);
        guint iv = N_MEM_INTERVALS - 1; /* the 5 s cycle */
        g_autofree char *path = write_dat(b->data, "mem", tr->name, mem_dat(b, i, iv), error);
        if (!path)
            return FALSE;
        mem_plot(gp, tr, iv, path);
    }
    return TRUE;
}

gboolean
vmb_bench_write_data(Bench *b, GError **error)
{
    if (g_mkdir_with_parents(b->data, 0755) != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", b->data,
                    g_strerror(errno));
        return FALSE;
    }
    GString *gp = g_string_new(NULL);
    g_string_append(gp, "# Generated by vmb-bench: gnuplot -e \"plots='DIR'\" plots.gp\n"
                        "if (!exists(\"plots\")) plots = 'plots'\n"
                        "set terminal pngcairo size 960,400 font ',10'\n"
                        "set key outside right top\nset grid\nset xlabel 'time (s)'\n");
    if (!write_cpu_plots(b, gp, error) || !write_mem_plots(b, gp, error)) {
        g_string_free(gp, TRUE);
        return FALSE;
    }
    g_autofree char *gp_path = g_build_filename(b->data, "plots.gp", NULL);
    gboolean ok = vmb_textfile_replace(gp_path, gp->str, gp->len, VMB_REPLACE_READABLE, error);
    g_string_free(gp, TRUE);
    return ok;
}
