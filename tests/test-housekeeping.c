/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The housekeeping rule (housekeeping.h) and the per-node and per-core load (topo-load.h):
 * pure functions, table-driven. */
#include <string.h>

#include "housekeeping.h"
#include "topo-load.h"

static VmbCpuSet
set_of(const char *text)
{
    VmbCpuSet s;
    gboolean all = FALSE;
    vmb_cpuset_clear(&s);
    if (*text)
        g_assert_true(vmb_cpuset_parse(text, &s, &all, NULL));
    return s;
}

/* Which CPUs vCPUs may use once housekeeping CPUs are set aside. */
static void
test_restrict(void)
{
    static const struct {
        const char *name;
        const char *allowed; /* before: what cpu.cpus and the topology allow */
        const char *hk;      /* cpu.housekeeping_cpus, "" off */
        const char *cpus;    /* cpu.cpus, "all" */
        const char *want;    /* allowed after, "" none */
    } cases[] = {
        {"off", "0-7", "", "all", "0-7"},
        {"hk-taken-out", "0-7", "0-1", "all", "2-7"},
        {"hk-named-by-cpus", "0-7", "0-1", "0-7", "0-7"},
        {"hk-partly-named", "1-7", "0-1", "1-7", "1-7"},
        {"cpus-names-other", "4-7", "0-1", "4-7", "4-7"},
        {"isolated-stays-out", "2-5", "0-1", "all", "2-5"},
        {"all-hk", "0-3", "0-3", "all", ""},
        {"hk-beyond-host", "0-3", "2,9", "all", "0-1,3"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("case %s", cases[i].name);
        gboolean allowed[8] = {0};
        VmbCpuSet before = set_of(cases[i].allowed), want = set_of(cases[i].want);
        for (guint p = 0; p < 8; p++)
            allowed[p] = vmb_cpuset_has(&before, p);
        gboolean all = g_str_equal(cases[i].cpus, "all");
        VmbCpuSet hk = set_of(cases[i].hk), cpus = set_of(all ? "" : cases[i].cpus);
        guint n = vmb_hk_restrict(allowed, 8, &hk, all, &cpus);
        g_assert_cmpuint(n, ==, vmb_cpuset_count(&want));
        for (guint p = 0; p < 8; p++)
            g_assert_cmpint(allowed[p], ==, vmb_cpuset_has(&want, p));
    }
}

static void
test_check(void)
{
    g_autoptr(GError) error = NULL;
    VmbCpuSet ok = set_of("0-1"), beyond = set_of("1,8");
    g_assert_true(vmb_hk_check(&ok, 8, NULL, &error));
    g_assert_no_error(error);
    g_assert_false(vmb_hk_check(&beyond, 8, NULL, &error));
    g_assert_error(error, VMB_HK_ERROR, VMB_HK_ERROR_NOT_ON_HOST);
    g_assert_nonnull(strstr(error->message, "cpu.housekeeping_cpus"));
    g_assert_nonnull(strstr(error->message, "CPU 8"));
    g_assert_nonnull(strstr(error->message, "allowed: 0-7"));
    g_clear_error(&error);

    /* An offline CPU is not a place for threads either. */
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(1, 4, 1, 1, &error);
    g_assert_no_error(error);
    t->cpu[1].online = FALSE;
    VmbCpuSet one = set_of("1");
    g_assert_false(vmb_hk_check(&one, 4, t, &error));
    g_assert_nonnull(strstr(error->message, "allowed: 0,2-3"));
}

static void
test_other_load(void)
{
    static const struct {
        guint64 cpu0, vcpu0, cpu1, vcpu1;
        gint64 dt_us;
        double want;
    } cases[] = {
        /* 1 s: 1.2 s in all, 1.0 s in vCPUs: 20 % outside them */
        {0, 0, 1200000000, 1000000000, 1000000, 20},
        {0, 0, 1000000000, 1000000000, 1000000, 0},
        {0, 0, 990000000, 1000000000, 1000000, 0}, /* sampled apart: no negative */
        {5000, 0, 1000, 0, 1000000, 0},            /* cpu.time went back: restart */
        {0, 0, 500000000, 0, 0, 0},                /* no interval */
        {0, 0, 500000000, 0, 2000000, 25},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpfloat_with_epsilon(vmb_hk_other_load(cases[i].cpu0, cases[i].vcpu0,
                                                         cases[i].cpu1, cases[i].vcpu1,
                                                         cases[i].dt_us),
                                       cases[i].want, 1e-9);
}

static void
test_spread(void)
{
    double bound[4] = {1, 1, 1, 1};
    VmbCpuSet hk = set_of("1-2,7");
    vmb_hk_spread(&hk, 4, 30, bound); /* CPU 7 is not on this host: 2 CPUs share it */
    g_assert_cmpfloat(bound[0], ==, 1);
    g_assert_cmpfloat(bound[1], ==, 16);
    g_assert_cmpfloat(bound[2], ==, 16);
    g_assert_cmpfloat(bound[3], ==, 1);
    VmbCpuSet none = set_of("9");
    vmb_hk_spread(&none, 4, 30, bound);
    g_assert_cmpfloat(bound[0] + bound[1] + bound[2] + bound[3], ==, 34);
}

/* Loads of 2 sockets x 2 cores x 2 threads, 2 nodes: pCPU = thread*4 + socket*2 + core. */
static void
test_topo_load(void)
{
    static const struct {
        const char *name;
        double busy[8];
        gint offline; /* a pCPU taken offline, -1 none */
        double node[2];
        double core[4];
    } cases[] = {
        {"idle", {0, 0, 0, 0, 0, 0, 0, 0}, -1, {0, 0}, {0, 0, 0, 0}},
        {"siblings", {100, 0, 0, 0, 80, 0, 0, 0}, -1, {180, 0}, {180, 0, 0, 0}},
        {"spread", {10, 20, 30, 40, 1, 2, 3, 4}, -1, {33, 77}, {11, 22, 33, 44}},
        {"unmeasured", {-1, -1, 50, -1, -1, -1, 5, -1}, -1, {-1, 55}, {-1, -1, 55, -1}},
        {"offline", {10, 10, 10, 10, 10, 10, 10, 99}, 7, {40, 30}, {20, 20, 20, 10}},
    };
    g_autoptr(GError) error = NULL;
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("case %s", cases[i].name);
        g_autoptr(VmbTopology) t = vmb_topology_new_grid(2, 2, 2, 2, &error);
        g_assert_no_error(error);
        if (cases[i].offline >= 0)
            t->cpu[cases[i].offline].online = FALSE;
        double node[2], core[4];
        vmb_topo_load(t, cases[i].busy, 8, node, core);
        for (guint n = 0; n < 2; n++)
            g_assert_cmpfloat_with_epsilon(node[n], cases[i].node[n], 1e-9);
        for (guint c = 0; c < 4; c++)
            g_assert_cmpfloat_with_epsilon(core[c], cases[i].core[c], 1e-9);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/housekeeping/restrict", test_restrict);
    g_test_add_func("/housekeeping/check", test_check);
    g_test_add_func("/housekeeping/other-load", test_other_load);
    g_test_add_func("/housekeeping/spread", test_spread);
    g_test_add_func("/topo-load/table", test_topo_load);
    return g_test_run();
}
