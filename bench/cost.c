/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a cycle costs: the policy decision alone, a whole cycle on the simulated host, the
 * daemon's memory, the hypervisor calls of a snapshot on libvirt's test driver, and on a real
 * libvirt host a cycle against the bare bulk statistics call. */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "config.h"
#include "cpu-policy.h"
#include "cpu-task.h"
#include "hv-fake.h"
#include "hv-libvirt.h"
#include "mem-task.h"

static int
cmp_ms(gconstpointer a, gconstpointer b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
median(GArray *v)
{
    g_array_sort(v, cmp_ms);
    guint n = v->len;
    return n % 2 ? g_array_index(v, double, n / 2)
                 : (g_array_index(v, double, n / 2 - 1) + g_array_index(v, double, n / 2)) / 2;
}

Timing
bench_timing(GArray *ms, GArray *cpu)
{
    Timing t = {0, 0, 0, -1, 0};
    if (!ms->len)
        return t;
    for (guint i = 0; i < ms->len; i++)
        t.mean_ms += g_array_index(ms, double, i) / ms->len;
    t.median_ms = median(ms);
    t.min_ms = g_array_index(ms, double, 0);
    t.runs = ms->len;
    if (cpu && cpu->len)
        t.cpu_median_ms = median(cpu);
    return t;
}

static double
now_ms(void)
{
    return g_get_monotonic_time() / 1000.0;
}

/* CPU time of this thread: what the work itself costs, whatever else the machine runs. */
static double
cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

void
bench_cost_clear(CostResult *c)
{
    bench_metrics_cost_clear(&c->metrics);
    g_free(c->calls_skip);
    g_free(c->rss_skip);
    g_free(c->lab_skip);
    g_free(c->lab_uri);
    memset(c, 0, sizeof(*c));
}

/* ---- the policy decision */

static Timing
time_plan(const VmbCpuProblem *p, const VmbCpuTunables *t, guint runs)
{
    g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) cpu = g_array_new(FALSE, FALSE, sizeof(double));
    for (guint r = 0; r < runs; r++) {
        double t0 = now_ms(), c0 = cpu_ms();
        GArray *moves = vmb_cpu_plan(p, t);
        double dt = now_ms() - t0, dc = cpu_ms() - c0;
        g_array_unref(moves);
        g_array_append_val(ms, dt);
        g_array_append_val(cpu, dc);
    }
    return bench_timing(ms, cpu);
}

/* Applies a plan's moves to the items' current pins; returns how many there were. */
static guint
apply_plan(const VmbCpuProblem *p, const VmbCpuTunables *t, VmbCpuItem *items)
{
    GArray *moves = vmb_cpu_plan(p, t);
    guint n = moves->len;
    for (guint k = 0; k < n; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        items[m->item].current = (gint) m->to;
    }
    g_array_unref(moves);
    return n;
}

void
bench_cost_decision(CostDecision *c, guint npcpus, guint ndomains, guint vcpus, guint runs)
{
    guint n = ndomains * vcpus;
    BenchRng rng;
    bench_rng_init(&rng, 4000);
    g_autofree VmbCpuItem *items = g_new0(VmbCpuItem, n);
    g_autofree gboolean *allowed = g_new0(gboolean, npcpus);
    g_autofree double *bg = g_new0(double, npcpus);
    /* About 75 % of the host: vCPUs at 1-9 %, host load 0-3 %. */
    double mean = 0.75 * 100 * npcpus / n;
    for (guint i = 0; i < n; i++) {
        items[i].domain = i / vcpus;
        items[i].load = bench_rng_uniform(&rng, 0.2 * mean, 1.8 * mean);
        items[i].noise = 1; /* a steady load's estimate, percentage points */
        items[i].movable = TRUE;
        items[i].current = (gint) bench_rng_below(&rng, npcpus);
    }
    for (guint p = 0; p < npcpus; p++) {
        allowed[p] = TRUE;
        bg[p] = bench_rng_uniform(&rng, 0, 3);
    }
    g_autoptr(VmbConfig) config = vmb_config_new_defaults();
    /* The move budget as cpu-task.c sets it (0 = scaled with the host). */
    VmbCpuTunables t = {.hysteresis = config->cpu_hysteresis,
                        .max_moves = vmb_cpu_task_max_moves(config, npcpus)};
    VmbCpuProblem p = {
        .npcpus = npcpus, .allowed = allowed, .background = bg, .items = items, .n_items = n};
    c->npcpus = npcpus;
    c->nvcpus = n;

    c->plan_unbalanced = time_plan(&p, &t, runs);
    for (guint i = 0; i < n; i++)
        items[i].current = -1;
    c->plan_place = time_plan(&p, &t, runs);
    /* Placed, then balanced by repeated cycles until nothing is left to move. */
    apply_plan(&p, &t, items);
    for (guint k = 0; k < 1000 && apply_plan(&p, &t, items) > 0; k++)
        ;
    c->plan_steady = time_plan(&p, &t, runs);
}

void
bench_write_decision_targets(GString *md, const CostDecision *d)
{
    const struct {
        const char *what;
        const Timing *t;
    } plans[] = {
        {"a balanced state (the usual cycle)", &d->plan_steady},
        {"random pins (full move budget)", &d->plan_unbalanced},
        {"every vCPU floating (first cycle after start)", &d->plan_place},
    };
    for (guint k = 0; k < G_N_ELEMENTS(plans); k++)
        g_string_append_printf(md,
                               "| decision < %.0f ms (median CPU time), %s | %u pCPUs × %u "
                               "vCPUs | %.2f ms (wall: %.2f ms) | %s |\n",
                               d->target_ms, plans[k].what, d->npcpus, d->nvcpus,
                               plans[k].t->cpu_median_ms, plans[k].t->median_ms,
                               bench_verdict(plans[k].t->cpu_median_ms < d->target_ms));
}

/* ---- a whole cycle on the simulated host */

void
bench_cost_cycle(CostResult *c, guint npcpus, guint ndomains, guint vcpus, guint cycles)
{
    g_autofree char *ini = bench_scale_ini(npcpus, ndomains, vcpus, 1000);
    g_autoptr(GError) error = NULL;
    VmbScenario *sc = vmb_scenario_load_data(ini, &error);
    if (!sc)
        g_error("cost scenario: %s", error->message);
    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(sc, TRUE);
    if (!vmb_hypervisor_ensure_connected(hv, &error))
        g_error("simulated host: %s", error->message);
    g_autoptr(VmbConfig) config = vmb_config_new_defaults();
    VmbCpuTask cpu;
    VmbMemTask mem;
    vmb_cpu_task_init(&cpu);
    vmb_mem_task_init(&mem);
    g_autoptr(GArray) snap_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) cpu_wall = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) mem_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) total_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) snap_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) cpu_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) mem_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) total_cpu = g_array_new(FALSE, FALSE, sizeof(double));
    /* Actions are logged as in the daemon (vmb-bench's log writer drops them). */
    for (guint k = 0; k < cycles + 2; k++) {
        double t0 = now_ms(), c0 = cpu_ms();
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        if (!s)
            g_error("simulated host snapshot: %s", error->message);
        double t1 = now_ms(), c1 = cpu_ms();
        VmbCpuCycleResult cr;
        vmb_cpu_task_run(&cpu, hv, s, config, FALSE, NULL, NULL, &cr);
        double t2 = now_ms(), c2 = cpu_ms();
        VmbMemCycleResult mr;
        vmb_mem_task_run(&mem, hv, s, config, FALSE, NULL, NULL, &mr);
        double t3 = now_ms(), c3 = cpu_ms();
        if (k >= 2) { /* the first cycles measure only and turn statistics on */
            double w[4] = {t1 - t0, t2 - t1, t3 - t2, t3 - t0};
            double x[4] = {c1 - c0, c2 - c1, c3 - c2, c3 - c0};
            g_array_append_val(snap_ms, w[0]);
            g_array_append_val(cpu_wall, w[1]);
            g_array_append_val(mem_ms, w[2]);
            g_array_append_val(total_ms, w[3]);
            g_array_append_val(snap_cpu, x[0]);
            g_array_append_val(cpu_cpu, x[1]);
            g_array_append_val(mem_cpu, x[2]);
            g_array_append_val(total_cpu, x[3]);
        }
        vmb_hv_fake_advance(hv, config->interval);
    }
    c->cyc_pcpus = npcpus;
    c->cyc_domains = ndomains;
    c->cyc_vcpus = ndomains * vcpus;
    c->cyc_snapshot = bench_timing(snap_ms, snap_cpu);
    c->cyc_cpu = bench_timing(cpu_wall, cpu_cpu);
    c->cyc_mem = bench_timing(mem_ms, mem_cpu);
    c->cyc_total = bench_timing(total_ms, total_cpu);
    vmb_cpu_task_clear(&cpu);
    vmb_mem_task_clear(&mem);
}

/* ---- the daemon's memory */

static guint64
status_kib(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    return p ? g_ascii_strtoull(p + strlen(key), NULL, 10) : 0;
}

typedef struct {
    gboolean ok;
    char *skip;
    guint64 rss, hwm, anon, file, pss; /* KiB */
} RssSample;

/* Runs the daemon on a generated simulated host of @ndomains for @seconds with a 1 s cycle
 * and reads its memory from /proc. */
static RssSample
daemon_rss(const char *daemon, guint ndomains, guint vcpus, double seconds)
{
    RssSample r = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmb-bench-XXXXXX", &error);
    if (!dir) {
        r.skip = g_strdup(error->message);
        return r;
    }
    g_autofree char *ini_path = g_build_filename(dir, "host.ini", NULL);
    g_autofree char *conf_path = g_build_filename(dir, "vmbalanced.conf", NULL);
    g_autofree char *state = g_build_filename(dir, "state", NULL);
    g_autofree char *ini = bench_scale_ini(256, ndomains, vcpus, 1000);
    g_autofree char *uri = g_strconcat("fake://", ini_path, NULL);
    const char *argv[] = {daemon,        "--connect", uri,        "--config", conf_path,
                          "--state-dir", state,       "--no-bus", NULL};
    GPid pid;
    if (!g_file_set_contents(ini_path, ini, -1, &error) ||
        !g_file_set_contents(conf_path, "[daemon]\ninterval = 1\n", -1, &error) ||
        !g_spawn_async(NULL, (char **) argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, &pid, &error)) {
        r.skip = g_strdup(error->message);
        goto out;
    }
    g_usleep((gulong) (seconds * G_USEC_PER_SEC));
    int wstatus;
    if (waitpid(pid, &wstatus, WNOHANG) == pid) {
        r.skip = g_strdup_printf("the daemon exited early (wait status %d)", wstatus);
    } else {
        g_autofree char *status_path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *rollup_path = g_strdup_printf("/proc/%d/smaps_rollup", (int) pid);
        g_autofree char *status = NULL;
        g_autofree char *rollup = NULL;
        if (g_file_get_contents(status_path, &status, NULL, &error)) {
            r.rss = status_kib(status, "VmRSS:");
            r.hwm = status_kib(status, "VmHWM:");
            r.anon = status_kib(status, "RssAnon:");
            r.file = status_kib(status, "RssFile:");
            if (g_file_get_contents(rollup_path, &rollup, NULL, NULL))
                r.pss = status_kib(rollup, "\nPss:");
            r.ok = TRUE;
        } else {
            r.skip = g_strdup(error->message);
        }
        kill(pid, SIGTERM);
        waitpid(pid, &wstatus, 0);
    }
    g_spawn_close_pid(pid);
out:
    g_unlink(ini_path);
    g_unlink(conf_path);
    g_rmdir(state);
    g_rmdir(dir);
    return r;
}

void
bench_cost_rss(CostResult *c, const char *daemon, guint ndomains, guint vcpus, double seconds)
{
    c->rss_domains = ndomains;
    c->rss_vcpus = ndomains * vcpus;
    c->rss_seconds = seconds;
    if (!daemon || !g_file_test(daemon, G_FILE_TEST_IS_EXECUTABLE)) {
        c->rss_skip = g_strdup_printf("no daemon binary (%s)", daemon ? daemon : "not given");
        return;
    }
    RssSample one = daemon_rss(daemon, 1, vcpus, MIN(seconds, 10));
    RssSample many = daemon_rss(daemon, ndomains, vcpus, seconds);
    if (!many.ok) {
        c->rss_skip = g_steal_pointer(&many.skip);
        g_free(one.skip);
        return;
    }
    c->rss_ran = TRUE;
    c->rss_kib = many.rss;
    c->hwm_kib = many.hwm;
    c->anon_kib = many.anon;
    c->file_kib = many.file;
    c->pss_kib = many.pss;
    c->rss1_kib = one.ok ? one.rss : 0;
    c->anon1_kib = one.ok ? one.anon : 0;
    g_free(one.skip);
}

/* ---- the real host: a daemon cycle against the bare statistics call */

#define LAB_STATS                                                                                  \
    (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_VCPU |                 \
     VIR_DOMAIN_STATS_BALLOON)
#define LAB_FLAGS                                                                                  \
    (VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)

static void
pump(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

void
bench_cost_lab(CostResult *c, const char *uri, guint runs)
{
    c->lab_uri = g_strdup(uri);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new(uri, &error);
    if (!hv || !vmb_hypervisor_ensure_connected(hv, &error)) {
        c->lab_skip = g_strdup(error->message);
        return;
    }
    virConnectPtr conn = vmb_hv_libvirt_get_conn(hv);
    g_autoptr(VmbSnapshot) first = vmb_hypervisor_snapshot(hv, &error);
    if (!conn || !first) {
        c->lab_skip = g_strdup_printf("%s: %s", uri, error ? error->message : "not libvirt");
        return;
    }
    if (first->domains->len == 0) {
        c->lab_skip = g_strdup_printf("no running guest on %s", uri);
        return;
    }
    c->lab_domains = first->domains->len;
    for (guint i = 0; i < first->domains->len; i++)
        c->lab_vcpus += ((VmbDomainStat *) g_ptr_array_index(first->domains, i))->nvcpus;

    /* Read-only: dry-run, and every guest excluded, so neither task asks libvirt for anything
     * but the snapshot (the guests may belong to someone else). */
    g_autoptr(VmbConfig) config = vmb_config_new_defaults();
    vmb_config_set(config, "exclude", "*", NULL);
    VmbCpuTask cpu;
    VmbMemTask mem;
    vmb_cpu_task_init(&cpu);
    vmb_mem_task_init(&mem);
    g_autoptr(GArray) bare_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) cycle_ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) diff_ms = g_array_new(FALSE, FALSE, sizeof(double)); /* cycle - bare */
    for (guint k = 0; k < runs + 3; k++) {
        for (guint order = 0; order < 2; order++) {
            gboolean bare = (order + k) % 2 == 0;
            pump();
            g_usleep(20000);
            double t0 = now_ms();
            if (bare) {
                virDomainStatsRecordPtr *recs = NULL;
                int n = virConnectGetAllDomainStats(conn, LAB_STATS, &recs, LAB_FLAGS);
                if (n >= 0)
                    virDomainStatsRecordListFree(recs);
            } else {
                g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, NULL);
                if (s) {
                    VmbCpuCycleResult cr;
                    VmbMemCycleResult mr;
                    vmb_cpu_task_run(&cpu, hv, s, config, TRUE, NULL, NULL, &cr);
                    vmb_mem_task_run(&mem, hv, s, config, TRUE, NULL, NULL, &mr);
                }
            }
            double dt = now_ms() - t0;
            if (k >= 3) /* warm-up */
                g_array_append_val(bare ? bare_ms : cycle_ms, dt);
        }
        if (k >= 3) {
            double d = g_array_index(cycle_ms, double, cycle_ms->len - 1) -
                       g_array_index(bare_ms, double, bare_ms->len - 1);
            g_array_append_val(diff_ms, d);
        }
    }
    vmb_cpu_task_clear(&cpu);
    vmb_mem_task_clear(&mem);
    /* The pair's difference cancels what the host did to both calls at that moment. */
    Timing diff = bench_timing(diff_ms, NULL);
    c->lab_bare = bench_timing(bare_ms, NULL);
    c->lab_cycle = bench_timing(cycle_ms, NULL);
    c->lab_paired = c->lab_bare.median_ms > 0 ? 1 + diff.median_ms / c->lab_bare.median_ms : 0;
    c->lab_ratio = c->lab_bare.median_ms > 0 ? c->lab_cycle.median_ms / c->lab_bare.median_ms : 0;
    c->lab_ran = TRUE;
}

/* ---- hypervisor calls per cycle: the libvirt backend on libvirt's test driver */

/* A test driver host (test:///file) of @ndomains running domains of @vcpus vCPUs on 8 CPUs. */
static char *
calls_host_xml(guint ndomains, guint vcpus)
{
    GString *x = g_string_new("<node><cpu><mhz>2000</mhz><model>x86_64</model><active>8</active>"
                              "<nodes>1</nodes><sockets>1</sockets><cores>8</cores>"
                              "<threads>1</threads></cpu><memory>268435456</memory>\n");
    for (guint i = 0; i < ndomains; i++)
        g_string_append_printf(
            x,
            "<domain type='test'><name>vm%04u</name><uuid>00000000-0000-4000-8000-%012x</uuid>"
            "<memory unit='MiB'>2048</memory><currentMemory unit='MiB'>1024</currentMemory>"
            "<vcpu placement='static'>%u</vcpu><os><type arch='x86_64'>hvm</type></os>"
            "<devices><memballoon model='virtio'/></devices></domain>\n",
            i, i, vcpus);
    g_string_append(x, "</node>\n");
    return g_string_free(x, FALSE);
}

/* Snapshots @cycles times after the first on a fresh connection to @uri, with or without tunable
 * events, and keeps the cheapest, the dearest and the mean. */
static gboolean
calls_run(CostResult *c, const char *uri, gboolean events, guint cycles, GError **error)
{
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new(uri, error);
    if (!hv)
        return FALSE;
    vmb_hv_libvirt_assume_pin_events(hv, events);
    if (!vmb_hypervisor_ensure_connected(hv, error))
        return FALSE;
    guint64 sum = 0;
    for (guint k = 0; k <= cycles; k++) {
        VmbHvCalls before = vmb_hypervisor_calls(hv);
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, error);
        if (!s)
            return FALSE;
        VmbHvCalls d = vmb_hypervisor_calls_since(hv, &before);
        if (k == 0) {
            c->calls_first = d;
            c->calls_domains = s->domains->len;
            continue;
        }
        if (k == 1 || d.total < c->calls_steady[events].total)
            c->calls_steady[events] = d;
        if (k == 1 || d.total > c->calls_peak[events].total)
            c->calls_peak[events] = d;
        sum += d.total;
        if (d.kind[VMB_HV_CALL_PINS] > 0)
            c->calls_rereads[events]++;
    }
    c->calls_mean[events] = (double) sum / MAX(cycles, 1);
    return TRUE;
}

/* The daemon's snapshot code on libvirt's in-process test driver: what it asks libvirt for, call
 * by call, with and without tunable events. The test driver sends no tunable events, so "with"
 * is simulated (vmb_hv_libvirt_assume_pin_events()); its bulk statistics lack the vCPU counts,
 * CPU time and balloon, which the backend then reads per domain (QEMU's have them). */
void
bench_cost_calls(CostResult *c, guint ndomains, guint vcpus, guint cycles)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmb-bench-XXXXXX", &error);
    if (!dir) {
        c->calls_skip = g_strdup(error->message);
        return;
    }
    g_autofree char *path = g_build_filename(dir, "host.xml", NULL);
    g_autofree char *xml = calls_host_xml(ndomains, vcpus);
    g_autofree char *uri = g_strconcat("test://", path, NULL);
    c->calls_vcpus = ndomains * vcpus;
    c->calls_cycles = cycles;
    if (g_file_set_contents(path, xml, -1, &error) && calls_run(c, uri, FALSE, cycles, &error) &&
        calls_run(c, uri, TRUE, cycles, &error))
        c->calls_ran = TRUE;
    else
        c->calls_skip = g_strdup(error->message);
    g_unlink(path);
    g_rmdir(dir);
}
