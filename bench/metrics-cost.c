/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What [daemon] metrics_file costs at the cost scale: the daemon itself on the simulated host
 * (its tasks publish the status as in production), then the file rendered and replaced as
 * after each cycle. */
#include "bench.h"

#include <glib/gstdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "metrics-file.h"
#include "metrics.h"

static double
wall_ms(void)
{
    return g_get_monotonic_time() / 1000.0;
}

static double
thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static guint
count_samples(const char *text)
{
    guint n = 0;
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        n += *l != '#';
        if (!strchr(l, '\n'))
            break;
    }
    return n;
}

/* A daemon on @ndomains × @vcpus whose cycles ran a few times, so that loads, pins and
 * targets are set; NULL with @m->skip set when it cannot start. */
static VmbDaemon *
start_daemon(MetricsCost *m, const char *dir, guint npcpus, guint ndomains, guint vcpus)
{
    g_autofree char *ini = bench_scale_ini(npcpus, ndomains, vcpus, 1000);
    g_autofree char *scenario = g_build_filename(dir, "scale.ini", NULL);
    g_autofree char *conf = g_build_filename(dir, "absent.conf", NULL);
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(scenario, ini, -1, &error)) {
        m->skip = g_strdup(error->message);
        return NULL;
    }
    g_autofree char *uri = g_strconcat("fake://", scenario, NULL);
    VmbDaemon *d = vmb_daemon_new(conf, TRUE, uri, FALSE, &error);
    if (!d) {
        m->skip = g_strdup(error->message);
        return NULL;
    }
    for (guint k = 0; k < 3; k++) {
        vmb_daemon_run_task(d, VMB_TASK_CPU);
        vmb_daemon_run_task(d, VMB_TASK_MEMORY);
        g_usleep(200 * 1000); /* the simulated host follows the clock: loads to measure */
    }
    return d;
}

void
bench_metrics_cost(MetricsCost *m, guint npcpus, guint ndomains, guint vcpus, guint runs)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmb-bench-metrics-XXXXXX", &error);
    if (!dir) {
        m->skip = g_strdup(error->message);
        return;
    }
    g_autoptr(VmbDaemon) d = start_daemon(m, dir, npcpus, ndomains, vcpus);
    g_autofree char *path = g_build_filename(dir, "vmbalance.prom", NULL);
    g_autoptr(GArray) render_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) render_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) write_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) write_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) total_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) total_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    for (guint k = 0; d && k < runs; k++) {
        double t0 = wall_ms(), c0 = thread_cpu_ms();
        gsize length;
        g_autofree char *text = vmb_metrics_render(vmb_daemon_status(d), "bench", &length);
        double t1 = wall_ms(), c1 = thread_cpu_ms();
        if (!vmb_metrics_file_write(path, text, length, &error))
            g_error("metrics file: %s", error->message);
        double t2 = wall_ms(), c2 = thread_cpu_ms();
        double w[3] = {t1 - t0, t2 - t1, t2 - t0}, x[3] = {c1 - c0, c2 - c1, c2 - c0};
        g_array_append_val(render_ms, w[0]);
        g_array_append_val(write_ms, w[1]);
        g_array_append_val(total_ms, w[2]);
        g_array_append_val(render_cpu, x[0]);
        g_array_append_val(write_cpu, x[1]);
        g_array_append_val(total_cpu, x[2]);
        m->bytes = length;
        m->samples = count_samples(text);
    }
    if (d) {
        m->ran = TRUE;
        m->domains = ndomains;
        m->vcpus = ndomains * vcpus;
        m->npcpus = npcpus;
        m->render = bench_timing(render_ms, render_cpu);
        m->write = bench_timing(write_ms, write_cpu);
        m->total = bench_timing(total_ms, total_cpu);
    }
    g_unlink(path);
    g_autofree char *scenario = g_build_filename(dir, "scale.ini", NULL);
    g_unlink(scenario);
    g_rmdir(dir);
}

void
bench_metrics_cost_clear(MetricsCost *m)
{
    g_clear_pointer(&m->skip, g_free);
}
