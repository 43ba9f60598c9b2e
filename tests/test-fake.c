/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host: scenario parsing, series, CPU sharing, lifecycle and outages. */
#include <string.h>

#include "hv-fake.h"
#include "series.h"
#include "test-fake-util.h"
#include "test-util.h"

static void
test_series(void)
{
    VmbSeries s = {0};
    g_assert_true(vmb_series_parse("42", 0, 100, &s, NULL));
    g_assert_cmpfloat(vmb_series_at(&s, 1000), ==, 42);
    vmb_series_clear(&s);

    g_assert_true(vmb_series_parse("0:100 30:100 30:20", 0, 100, &s, NULL));
    g_assert_cmpfloat(vmb_series_at(&s, 29.9), ==, 100);
    g_assert_cmpfloat(vmb_series_at(&s, 30), ==, 20);
    g_assert_cmpfloat(vmb_series_at(&s, 99), ==, 20);
    vmb_series_clear(&s);

    g_assert_true(vmb_series_parse("10:0  20:100", 0, 100, &s, NULL));
    g_assert_cmpfloat(vmb_series_at(&s, 0), ==, 0);
    g_assert_cmpfloat_with_epsilon(vmb_series_at(&s, 15), 50, 1e-9);
    vmb_series_clear(&s);

    const char *bad[] = {"", "abc", "101", "5:10 3:20", "-1:5", "1 2", "1:x"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_assert_false(vmb_series_parse(bad[i], 0, 100, &s, &error));
        g_assert_nonnull(error);
    }
}

static void
test_scenario_errors(void)
{
    const char *bad[][2] = {
        {"[host]\ncpus = 0\n", "cpus"},
        {"[host]\ncpus = 2\nfrobs = 1\n", "frobs"},
        {"[host]\ncpus = 2\n[domain a]\nload = 120\n", "load"},
        {"[host]\ncpus = 2\n[domain a]\nvcpus = 2\npin = 0\n", "pin"},
        {"[host]\ncpus = 2\n[domain a]\npin = 5\n", "pin"},
        {"[host]\ncpus = 2\n[domain a]\n[domain b]\nname = a\n", "share"},
        {"[host]\ncpus = 2\n[vm a]\n", "[vm a]"},
        {"[host]\ncpus = 2\n[domain a]\nstart = 10\nstop = 5\n", "stop"},
        {"[host]\ncpus = 2\ndown = 10:5\n", "down"},
        {"[host]\ncpus = 2\n[domain a]\nmemory_mib = 512\ncurrent_mib = 1024\n", "current_mib"},
        {"[host]\nsockets = 2\n", "cores per socket"},
        {"[host]\nsockets = 2\ncores = 4\nthreads = 2\ncpus = 8\n", "16 (sockets x cores"},
        {"[host]\nsockets = 2\ncores = 4\nnodes = 3\n", "nodes"},
        {"[host]\ncores = 4\nthreads = 9\n", "threads"},
        {"[host]\ncpus = 4\nisolated = 2-4\n", "isolated"},
        {"[host]\ncpus = 4\nisolated = all\n", "isolated"},
        {"[host]\nsockets = 1\ncores = 8\ncache_cores = 3\n", "cache_cores"},
        {"[host]\ncpus = 8\ncache_cores = 4\n", "cache_cores"},
        {"[host]\nsockets = 2\ncores = 2\nnodes = 2\n[domain a]\nnode = 2\n", "node"},
        {"[host]\ncpus = 4\n[domain a]\nnode = 1\n", "node"},
        {"[host]\ncpu_topology = 0/0/0 0/x/0\n", "cpu_topology"},
        {"[host]\ncpus = 3\ncpu_topology = 0/0/0 0/1/0\n", "as many as cpus"},
        {"[host]\ncores = 2\ncpu_topology = 0/0/0 0/1/0\n", "either cpu_topology"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbScenario) sc = vmb_scenario_load_data(bad[i][0], &error);
        g_assert_null(sc);
        g_assert_nonnull(error);
        if (!strstr(error->message, bad[i][1]))
            g_error("case %u: '%s' not in '%s'", i, bad[i][1], error->message);
    }
}

static const VmbDomainStat *
dom_named(const VmbSnapshot *s, const char *name)
{
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        if (g_strcmp0(d->name, name) == 0)
            return d;
    }
    return NULL;
}

/* A topology in the scenario reaches every snapshot; today's flat cpus = N gives none. */
static void
test_scenario_topology(void)
{
    g_autoptr(VmbHypervisor) flat = vmb_test_fake_from("[host]\ncpus = 3\n[domain a]\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s0 = vmb_hypervisor_snapshot(flat, &error);
    g_assert_cmpuint(s0->npcpus, ==, 3);
    g_assert_null(s0->topology);

    g_autoptr(VmbHypervisor) hv =
        vmb_test_fake_from("[host]\nsockets = 2\ncores = 4\nthreads = 2\nnodes = 2\nisolated = 7\n"
                           "[domain pinned]\nvcpus = 2\npin = 5,6\n"
                           "[domain tuned]\nnode = 0\npin = 6\n"
                           "[domain floating]\nvcpus = 2\n");
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s->npcpus, ==, 16);
    g_assert_nonnull(s->topology);
    g_assert_true(s->topology->known);
    g_assert_cmpuint(s->topology->nnodes, ==, 2);
    g_assert_true(s->topology->cpu[7].isolated);
    g_autofree char *d = vmb_topology_describe(s->topology);
    g_assert_cmpstr(d, ==, "2 sockets x 4 cores x 2 threads, 2 nodes, 1 isolated");
    g_assert_cmpuint(s->topology->ncaches, ==, 2); /* one per node */

    /* cache_cores: 4-core cache groups inside each 8-core node, threads with their core */
    g_autoptr(VmbHypervisor) ccx =
        vmb_test_fake_from("[host]\nsockets = 2\ncores = 8\nthreads = 2\n"
                           "nodes = 2\ncache_cores = 4\n[domain a]\n");
    g_autoptr(VmbSnapshot) sc = vmb_hypervisor_snapshot(ccx, &error);
    g_assert_no_error(error);
    const VmbTopology *ct = sc->topology;
    g_assert_cmpuint(ct->ncaches, ==, 4);
    g_assert_cmpuint(ct->cpu[0].cache, ==, ct->cpu[3].cache);
    g_assert_cmpuint(ct->cpu[0].cache, !=, ct->cpu[4].cache);
    g_assert_cmpuint(ct->cpu[0].cache, ==, ct->cpu[16].cache); /* pCPU 0's sibling */
    g_assert_cmpuint(ct->cpu[7].cache, !=, ct->cpu[8].cache);  /* node 0 / node 1 */
    /* First touch: vCPU 0's node (pCPU 5 is on socket 1); numatune wins over it. */
    g_assert_cmpint(dom_named(s, "pinned")->mem_node, ==, 1);
    g_assert_cmpint(dom_named(s, "tuned")->mem_node, ==, 0);
    gint fl = dom_named(s, "floating")->mem_node;
    g_assert_true(fl == 0 || fl == 1);

    /* An explicit list: CPUs 0 and 2 are threads of one core, 3 is offline, 1 on node 1. */
    g_autoptr(VmbHypervisor) lhv =
        vmb_test_fake_from("[host]\ncpu_topology = 0/0/0 0/1/1 0/0/0 -\n[domain a]\npin = 1\n");
    g_autoptr(VmbSnapshot) ls = vmb_hypervisor_snapshot(lhv, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ls->npcpus, ==, 4);
    guint n;
    const guint *sib = vmb_topology_core_cpus(ls->topology, 2, &n);
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint(sib[0], ==, 0);
    g_assert_cmpuint(sib[1], ==, 2);
    g_assert_false(ls->topology->cpu[3].online);
    g_assert_cmpuint(ls->topology->cpu[1].node, ==, 1);
    g_assert_cmpint(dom_named(ls, "a")->mem_node, ==, 1);
}

static double pct(guint64 a, guint64 b, double seconds);

/* Pins to a set (cpu.pin_to): its vCPUs share what the set's pCPUs have, the snapshot shows
 * the set; a pin to every pCPU floats; CPUs beyond the host are refused. */
static void
test_set_pins(void)
{
    g_autoptr(VmbHypervisor) hv =
        vmb_test_fake_from("[host]\ncpus = 4\n"
                           "[domain a]\nload = 100\n[domain b]\nload = 100\n"
                           "[domain c]\nload = 100\n[domain d]\nload = 40\n");
    g_autoptr(VmbSnapshot) s1 = vmb_hypervisor_snapshot(hv, NULL);
    VmbCpuSet low, all, beyond;
    gboolean any;
    g_assert_true(vmb_cpuset_parse("0-1", &low, &any, NULL));
    g_assert_true(vmb_cpuset_parse("0-3", &all, &any, NULL));
    g_assert_true(vmb_cpuset_parse("3-4", &beyond, &any, NULL));
    const char *names[] = {"a", "b", "c"};
    for (guint i = 0; i < 3; i++)
        g_assert_true(
            vmb_hypervisor_pin_vcpu_set(hv, dom_named(s1, names[i])->uuid, 0, &low, NULL));
    g_assert_true(vmb_hypervisor_pin_vcpu_set(hv, dom_named(s1, "d")->uuid, 0, &all, NULL));
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_hypervisor_pin_vcpu_set(hv, dom_named(s1, "d")->uuid, 0, &beyond, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_autoptr(VmbSnapshot) s2 = vmb_hypervisor_snapshot(hv, NULL);
    vmb_hv_fake_advance(hv, 10);
    g_autoptr(VmbSnapshot) s3 = vmb_hypervisor_snapshot(hv, NULL);
    for (guint i = 0; i < 3; i++) {
        const VmbDomainStat *d2 = dom_named(s2, names[i]), *d3 = dom_named(s3, names[i]);
        g_assert_cmpint(d3->vcpus[0].pcpu, ==, -1);
        g_assert_nonnull(d3->vcpus[0].cpus);
        g_autofree char *text = vmb_vcpu_stat_pin_text(&d3->vcpus[0]);
        g_assert_cmpstr(text, ==, "0-1");
        g_assert_true(vmb_vcpu_stat_pinned_to(&d3->vcpus[0], &low));
        /* three busy vCPUs on two pCPUs: two thirds each */
        g_assert_cmpfloat_with_epsilon(pct(d2->vcpus[0].time_ns, d3->vcpus[0].time_ns, 10),
                                       200.0 / 3, 0.1);
    }
    const VmbDomainStat *d3 = dom_named(s3, "d");
    g_assert_null(d3->vcpus[0].cpus); /* every pCPU: floating */
    g_assert_cmpint(d3->vcpus[0].pcpu, ==, -1);
    g_assert_cmpfloat_with_epsilon(
        pct(dom_named(s2, "d")->vcpus[0].time_ns, d3->vcpus[0].time_ns, 10), 40, 0.1);
    for (guint p = 0; p < 2; p++)
        g_assert_cmpfloat_with_epsilon(pct(s2->pcpu_busy_ns[p], s3->pcpu_busy_ns[p], 10), 100, 0.1);
    g_assert_cmpfloat_with_epsilon(pct(s2->pcpu_busy_ns[2], s3->pcpu_busy_ns[2], 10) +
                                       pct(s2->pcpu_busy_ns[3], s3->pcpu_busy_ns[3], 10),
                                   40, 0.1);
}

/* Percent of one CPU a vCPU ran / waited between two snapshots. */
static double
pct(guint64 a, guint64 b, double seconds)
{
    return (double) (b - a) / (seconds * 1e7);
}

static void
test_cpu_sharing(void)
{
    /* The seed scenario: 100/100/30/30 all pinned to pCPU 0 of two. */
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from("[host]\ncpus = 2\n"
                                                     "[domain a]\nload = 100\npin = 0\n"
                                                     "[domain b]\nload = 100\npin = 0\n"
                                                     "[domain c]\nload = 30\npin = 0\n"
                                                     "[domain d]\nload = 30\npin = 0\n"
                                                     "[domain e]\nload = 20\n");
    g_autoptr(VmbSnapshot) s1 = vmb_hypervisor_snapshot(hv, NULL);
    vmb_hv_fake_advance(hv, 10);
    g_autoptr(VmbSnapshot) s2 = vmb_hypervisor_snapshot(hv, NULL);
    g_assert_cmpuint(s2->domains->len, ==, 5);
    g_assert_cmpint(s2->mono_us - s1->mono_us, ==, 10 * G_USEC_PER_SEC);

    /* Max-min fair: every contender on pCPU 0 gets 25 %; wait shows the rest of demand. */
    const char *names[] = {"a", "b", "c", "d"};
    const double demand[] = {100, 100, 30, 30};
    for (guint i = 0; i < 4; i++) {
        const VmbDomainStat *d1 = dom_named(s1, names[i]), *d2 = dom_named(s2, names[i]);
        g_assert_cmpint(d2->vcpus[0].pcpu, ==, 0);
        double run = pct(d1->vcpus[0].time_ns, d2->vcpus[0].time_ns, 10);
        double wait = pct(d1->vcpus[0].wait_ns, d2->vcpus[0].wait_ns, 10);
        g_assert_cmpfloat_with_epsilon(run, 25, 0.1);
        g_assert_cmpfloat_with_epsilon(run + wait, demand[i], 0.1);
    }
    /* The floating vCPU runs on the idle pCPU 1 at its full 20 %. */
    const VmbDomainStat *e1 = dom_named(s1, "e"), *e2 = dom_named(s2, "e");
    g_assert_cmpint(e2->vcpus[0].pcpu, ==, -1);
    g_assert_cmpfloat_with_epsilon(pct(e1->vcpus[0].time_ns, e2->vcpus[0].time_ns, 10), 20, 0.1);
    g_assert_cmpfloat_with_epsilon(pct(s1->pcpu_busy_ns[0], s2->pcpu_busy_ns[0], 10), 100, 0.1);
    g_assert_cmpfloat_with_epsilon(pct(s1->pcpu_busy_ns[1], s2->pcpu_busy_ns[1], 10), 20, 0.1);

    /* After pinning to {a,c} {b,d}: a gets 70, c 30 (demand below the fair share). */
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, dom_named(s2, "b")->uuid, 0, 1, NULL));
    g_assert_true(vmb_hypervisor_pin_vcpu(hv, dom_named(s2, "d")->uuid, 0, 1, NULL));
    vmb_hv_fake_advance(hv, 10);
    g_autoptr(VmbSnapshot) s3 = vmb_hypervisor_snapshot(hv, NULL);
    const VmbDomainStat *a2 = dom_named(s2, "a"), *a3 = dom_named(s3, "a");
    const VmbDomainStat *c2 = dom_named(s2, "c"), *c3 = dom_named(s3, "c");
    g_assert_cmpfloat_with_epsilon(pct(a2->vcpus[0].time_ns, a3->vcpus[0].time_ns, 10), 70, 0.1);
    g_assert_cmpfloat_with_epsilon(pct(c2->vcpus[0].time_ns, c3->vcpus[0].time_ns, 10), 30, 0.1);
    g_assert_cmpint(dom_named(s3, "b")->vcpus[0].pcpu, ==, 1);

    VmbFakeCounters counters;
    vmb_hv_fake_counters(hv, &counters);
    g_assert_cmpuint(counters.pin_changes, ==, 2);

    /* Hypervisor calls: one per snapshot, one per request, nothing else. */
    VmbHvCalls calls = vmb_hypervisor_calls(hv);
    g_assert_cmpuint(calls.kind[VMB_HV_CALL_STATS], ==, 3);
    g_assert_cmpuint(calls.kind[VMB_HV_CALL_REQUEST], ==, 2);
    g_assert_cmpuint(calls.total, ==, 5);
}

static void
test_background_and_noise(void)
{
    const char *text = "[host]\ncpus = 2\nbackground = 40\nbackground1 = 0\nseed = 3\n"
                       "[domain a]\nload = 50\nnoise = 10\npin = 0\n";
    g_autoptr(VmbHypervisor) hv1 = vmb_test_fake_from(text);
    g_autoptr(VmbHypervisor) hv2 = vmb_test_fake_from(text);
    vmb_hv_fake_advance(hv1, 30);
    vmb_hv_fake_advance(hv2, 30);
    g_autoptr(VmbSnapshot) s1 = vmb_hypervisor_snapshot(hv1, NULL);
    g_autoptr(VmbSnapshot) s2 = vmb_hypervisor_snapshot(hv2, NULL);
    /* Deterministic: the same scenario gives the same counters. */
    g_assert_cmpuint(dom_named(s1, "a")->vcpus[0].time_ns, ==,
                     dom_named(s2, "a")->vcpus[0].time_ns);
    double run = pct(0, dom_named(s1, "a")->vcpus[0].time_ns, 30);
    g_assert_cmpfloat(run, >, 40);
    g_assert_cmpfloat(run, <, 60);
    double busy0 = pct(0, s1->pcpu_busy_ns[0], 30);
    g_assert_cmpfloat_with_epsilon(busy0, 40 + run, 0.5);
    g_assert_cmpfloat(pct(0, s1->pcpu_busy_ns[1], 30), ==, 0);
}

typedef struct {
    GPtrArray *log;
} Events;

static void
on_event(VmbHypervisor *hv, VmbDomainEvent ev, const char *name, const char *uuid, gpointer data)
{
    Events *e = data;
    g_ptr_array_add(e->log, g_strdup_printf("%s %s", ev == VMB_DOMAIN_APPEARED ? "+" : "-", name));
}

static void
test_lifecycle_and_outage(void)
{
    g_autoptr(VmbHypervisor) hv =
        vmb_test_fake_from("[host]\ncpus = 2\ndown = 25:35\n"
                           "[domain a]\nload = 10\n"
                           "[domain b]\nload = 10\nstart = 5\nstop = 15\n");
    Events e = {g_ptr_array_new_with_free_func(g_free)};
    vmb_hypervisor_set_event_func(hv, on_event, &e);
    g_autoptr(VmbSnapshot) s0 = vmb_hypervisor_snapshot(hv, NULL);
    g_assert_cmpuint(s0->domains->len, ==, 1);
    vmb_hv_fake_advance(hv, 10);
    g_autoptr(VmbSnapshot) s1 = vmb_hypervisor_snapshot(hv, NULL);
    g_assert_cmpuint(s1->domains->len, ==, 2);
    g_autofree char *b_uuid = g_strdup(dom_named(s1, "b")->uuid);
    vmb_hv_fake_advance(hv, 10);
    g_assert_cmpuint(e.log->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(e.log, 0), ==, "+ b");
    g_assert_cmpstr(g_ptr_array_index(e.log, 1), ==, "- b");

    /* A vanished domain is NO_DOMAIN, not a failure. */
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, b_uuid, 0, 1, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
    g_clear_error(&error);

    /* t = 25: the host stops answering; the layer backs off rather than spinning. */
    vmb_hv_fake_advance(hv, 5);
    g_autoptr(VmbSnapshot) s2 = vmb_hypervisor_snapshot(hv, &error);
    g_assert_null(s2);
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
    g_clear_error(&error);
    g_assert_false(hv->connected);
    vmb_hv_fake_advance(hv, 15);
    /* Up again at t = 40, but the backoff (real time) has not passed: still refused. */
    g_assert_null(vmb_hypervisor_snapshot(hv, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
    g_clear_error(&error);
    hv->next_retry_us = 0; /* pretend the backoff elapsed */
    g_autoptr(VmbSnapshot) s3 = vmb_hypervisor_snapshot(hv, &error);
    g_assert_no_error(error);
    g_assert_nonnull(s3);
    g_assert_cmpuint(hv->reconnects, ==, 1);
    g_ptr_array_unref(e.log);
}

static void
test_invalid_requests(void)
{
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from("[host]\ncpus = 2\n"
                                                     "[domain a]\nvcpus = 2\nmemory_mib = 512\n"
                                                     "[domain nob]\nballoon = no\n");
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, NULL);
    const char *uuid = dom_named(s, "a")->uuid;
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, uuid, 0, 2, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(vmb_hypervisor_pin_vcpu(hv, uuid, 2, 0, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(vmb_hypervisor_set_memory(hv, uuid, 513 * 1024, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(vmb_hypervisor_set_stats_period(hv, dom_named(s, "nob")->uuid, 1, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(
        vmb_hypervisor_pin_vcpu(hv, "00000000-0000-4000-8000-000000000000", 0, 0, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN);
}

static void
test_demo_scenario_loads(void)
{
    g_autofree char *path = g_build_filename(VMB_SRCDIR, "tests", "scenarios", NULL);
    GDir *dir = g_dir_open(path, 0, NULL);
    g_assert_nonnull(dir);
    const char *name;
    guint n = 0;
    while ((name = g_dir_read_name(dir))) {
        if (!g_str_has_suffix(name, ".ini"))
            continue;
        g_autofree char *file = g_build_filename(path, name, NULL);
        g_autofree char *uri = g_strdup_printf("fake://%s", file);
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new(uri, &error);
        g_assert_no_error(error);
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        g_assert_no_error(error);
        n++;
    }
    g_dir_close(dir);
    g_assert_cmpuint(n, >=, 1);

    g_autoptr(GError) error = NULL;
    g_assert_null(vmb_hypervisor_new("fake://", &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(vmb_hypervisor_new("fake:///nonexistent/x.ini", &error));
    g_assert_nonnull(error);
}

/* What a host may call a domain, and how it is shown: valid UTF-8 without controls is kept;
 * invalid bytes and ASCII controls become \xNN, other controls and line separators \uNNNN. */
static void
test_printable_name(void)
{
    const char *cases[][2] = {
        {"web1", NULL},
        {"caf\xc3\xa9 \xe6\x97\xa5", NULL},
        {"a\\xff", NULL},
        {"a\xff"
         "b",
         "a\\xffb"},
        {"tab\there\n", "tab\\x09here\\x0a"},
        {"\x1b[31mred\x7f", "\\x1b[31mred\\x7f"},
        {"c1\xc2\x85", "c1\\u0085"},
        {"ls\xe2\x80\xa8.", "ls\\u2028."},
        {"cut\xe2\x82", "cut\\xe2\\x82"},
        {"overlong\xc0\xaf", "overlong\\xc0\\xaf"},
        {"sur\xed\xa0\x80", "sur\\xed\\xa0\\x80"},
        {"\xe9t\xc3\xa9", "\\xe9t\xc3\xa9"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *shown = vmb_hypervisor_printable_name(cases[i][0]);
        g_assert_cmpstr(shown, ==, cases[i][1]);
        if (shown)
            g_assert_null(vmb_hypervisor_printable_name(shown));
    }
    g_assert_null(vmb_hypervisor_printable_name(NULL));
}

/* A scenario's unprintable name reaches no reader as it is: snapshots, events and errors show
 * the printable form, and one warning names the UUID. */
static void
test_unprintable_domain_name(void)
{
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from("[host]\ncpus = 2\n[domain ok]\n"
                                                     "[domain bad]\nname = bad\xff\x01name\n"
                                                     "balloon = no\nstart = 5\n");
    const char *shown = "bad\\xff\\x01name";
    Events e = {g_ptr_array_new_with_free_func(g_free)};
    vmb_hypervisor_set_event_func(hv, on_event, &e);
    vmb_test_warnings = g_ptr_array_new_with_free_func(g_free);
    vmb_hv_fake_advance(hv, 10);
    g_assert_cmpuint(e.log->len, ==, 1);
    g_autofree char *appeared = g_strconcat("+ ", shown, NULL);
    g_assert_cmpstr(g_ptr_array_index(e.log, 0), ==, appeared);
    for (guint round = 0; round < 2; round++) {
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, NULL);
        g_assert_cmpuint(s->domains->len, ==, 2);
        const VmbDomainStat *bad = dom_named(s, shown);
        g_assert_nonnull(bad);
        g_autoptr(GError) error = NULL;
        g_assert_false(vmb_hypervisor_set_memory(hv, bad->uuid, 1024, &error));
        g_assert_true(g_utf8_validate(error->message, -1, NULL));
        g_assert_null(strchr(error->message, '\x01'));
        g_assert_cmpuint(vmb_test_warnings->len, ==, 1);
        g_assert_nonnull(strstr(g_ptr_array_index(vmb_test_warnings, 0), bad->uuid));
    }
    g_clear_pointer(&vmb_test_warnings, g_ptr_array_unref);
    g_ptr_array_unref(e.log);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_writer_func(vmb_test_capture_warnings, NULL, NULL);
    g_test_add_func("/fake/series", test_series);
    g_test_add_func("/fake/scenario-errors", test_scenario_errors);
    g_test_add_func("/fake/cpu-sharing", test_cpu_sharing);
    g_test_add_func("/fake/set-pins", test_set_pins);
    g_test_add_func("/fake/scenario-topology", test_scenario_topology);
    g_test_add_func("/fake/background-and-noise", test_background_and_noise);
    g_test_add_func("/fake/lifecycle-and-outage", test_lifecycle_and_outage);
    g_test_add_func("/fake/invalid-requests", test_invalid_requests);
    g_test_add_func("/fake/shipped-scenarios-load", test_demo_scenario_loads);
    g_test_add_func("/fake/printable-name", test_printable_name);
    g_test_add_func("/fake/unprintable-domain-name", test_unprintable_domain_name);
    return g_test_run();
}
