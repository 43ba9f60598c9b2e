/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Utilization maths: percent from counters, demand from run + wait, EWMA, and the per-vCPU
 * history across snapshots. */
#include <math.h>

#include "cpu-usage.h"

static void
test_percent(void)
{
    /* 0.5 s of CPU over 1 s of wall time is 50 %. */
    g_assert_cmpfloat_with_epsilon(vmb_util_percent(0, 500000000, 1000000), 50.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(vmb_util_percent(1000, 1000 + 2000000000ULL, 2000000), 100.0,
                                   1e-9);
    g_assert_cmpfloat(vmb_util_percent(10, 20, 0), ==, 0);         /* no time passed */
    g_assert_cmpfloat(vmb_util_percent(500, 100, 1000000), ==, 0); /* counter went back */
}

static void
test_demand(void)
{
    g_assert_cmpfloat(vmb_util_demand(25, 75), ==, 100); /* contended 100 % vCPU */
    g_assert_cmpfloat(vmb_util_demand(25, 5), ==, 30);   /* contended 30 % vCPU */
    g_assert_cmpfloat(vmb_util_demand(60, 70), ==, 100); /* capped at one CPU */
    g_assert_cmpfloat(vmb_util_demand(40, -3), ==, 40);  /* no negative wait */
    g_assert_cmpfloat(vmb_util_demand(40, 0), ==, 40);
}

/* A timed cycle samples again only half an interval or more after the last sample. */
static void
test_span_enough(void)
{
    static const struct {
        gint64 span_us;
        guint interval_s;
        gboolean enough;
    } cases[] = {
        {2000000, 2, TRUE}, /* the usual tick */
        {1000000, 2, TRUE}, /* half: a tick late, the next one early */
        {999999, 2, FALSE}, /* just under half */
        {50000, 2, FALSE},  /* right after a snapshot that blocked past the interval */
        {0, 5, FALSE},      /* the same instant */
        {-1000, 5, FALSE},  /* a clock that went back: no sample */
        {2500000, 5, TRUE}, /* the default interval, half */
        {1799000000, 3600, FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpint(vmb_util_span_enough(cases[i].span_us, cases[i].interval_s), ==,
                        cases[i].enough);
}

static void
test_ewma(void)
{
    g_assert_cmpfloat(vmb_ewma(0, 100, 0.5), ==, 50);
    g_assert_cmpfloat(vmb_ewma(50, 100, 0.5), ==, 75);
    g_assert_cmpfloat(vmb_ewma(80, 20, 1.0), ==, 20);
    /* One spike among steady samples moves the average by alpha times the spike only. */
    double v = 30;
    v = vmb_ewma(v, 100, 0.3);
    g_assert_cmpfloat_with_epsilon(v, 51, 1e-9);
}

static void
test_ewma_var(void)
{
    /* Steady samples: no variance. */
    double mean = 50, var = 0, prev = 50;
    for (int i = 0; i < 50; i++)
        vmb_ewma_var(&mean, &var, prev, 50, 0.5);
    g_assert_cmpfloat(var, ==, 0);
    /* Alternating 40/60 (variance 100): steps of 20 every time, the estimator's worst case,
     * read as 200. */
    for (int i = 0; i < 400; i++) {
        double x = i % 2 ? 60 : 40;
        vmb_ewma_var(&mean, &var, prev, x, 0.5);
        prev = x;
    }
    g_assert_cmpfloat_with_epsilon(var, 200, 1e-6);
    g_assert_cmpfloat(fabs(mean - 50), <, 10);
    /* A step: one step's worth of variance at once, halved by each steady sample after it
     * (a level change is not taken for lasting noise). */
    mean = 20, var = 0;
    vmb_ewma_var(&mean, &var, 20, 80, 0.5);
    g_assert_cmpfloat_with_epsilon(var, 900, 1e-9);
    for (int i = 0; i < 3; i++)
        vmb_ewma_var(&mean, &var, 80, 80, 0.5);
    g_assert_cmpfloat_with_epsilon(var, 900.0 / 8, 1e-9);
    g_assert_cmpfloat_with_epsilon(mean, 80 - 60.0 / 16, 1e-9);
}

static VmbSnapshot *
snap(gint64 t_us, const char *uuid, guint64 time0, guint64 wait0, guint64 time1, guint npcpus,
     guint64 busy)
{
    VmbSnapshot *s = vmb_snapshot_new(npcpus);
    s->mono_us = t_us;
    s->pcpu_busy_ns = g_new0(guint64, npcpus);
    for (guint c = 0; c < npcpus; c++)
        s->pcpu_busy_ns[c] = busy * (c + 1);
    if (uuid) {
        VmbDomainStat *d = vmb_domain_stat_new("dom", uuid, 2);
        d->vcpus[0] = (VmbVcpuStat){time0, wait0, TRUE, 0};
        d->vcpus[1] = (VmbVcpuStat){time1, 0, FALSE, -1};
        g_ptr_array_add(s->domains, d);
    }
    return s;
}

static void
test_history(void)
{
    const char *uuid = "3b6b6c5e-0000-4000-8000-000000000001";
    g_autoptr(VmbCpuUsage) u = vmb_cpu_usage_new();
    double busy;

    g_autoptr(VmbSnapshot) s1 = snap(0, uuid, 0, 0, 0, 2, 0);
    vmb_cpu_usage_update(u, s1, 0.5);
    const VmbVcpuLoad *l = vmb_cpu_usage_vcpu(u, uuid, 0);
    g_assert_nonnull(l);
    g_assert_false(l->valid); /* the first sample only measures */
    g_assert_false(vmb_cpu_usage_pcpu(u, 0, &busy));

    /* 1 s later: vCPU 0 ran 0.25 s and waited 0.75 s: demand 100 %, ran 25 %. */
    g_autoptr(VmbSnapshot) s2 = snap(1000000, uuid, 250000000, 750000000, 400000000, 2, 500000000);
    vmb_cpu_usage_update(u, s2, 0.5);
    l = vmb_cpu_usage_vcpu(u, uuid, 0);
    g_assert_true(l->valid);
    g_assert_cmpfloat_with_epsilon(l->load, 100, 1e-6);
    g_assert_cmpfloat_with_epsilon(l->run, 25, 1e-6);
    l = vmb_cpu_usage_vcpu(u, uuid, 1); /* no wait reported: demand = run */
    g_assert_cmpfloat_with_epsilon(l->load, 40, 1e-6);
    g_assert_true(vmb_cpu_usage_pcpu(u, 0, &busy));
    g_assert_cmpfloat_with_epsilon(busy, 50, 1e-6);
    g_assert_true(vmb_cpu_usage_pcpu(u, 1, &busy));
    g_assert_cmpfloat_with_epsilon(busy, 100, 1e-6);

    /* Next second vCPU 1 idles: smoothed to half way. */
    g_autoptr(VmbSnapshot) s3 =
        snap(2000000, uuid, 500000000, 1500000000, 400000000, 2, 1000000000);
    vmb_cpu_usage_update(u, s3, 0.5);
    g_assert_cmpfloat_with_epsilon(vmb_cpu_usage_vcpu(u, uuid, 1)->load, 20, 1e-6);

    /* Counters going backwards mean the domain restarted: measure afresh. */
    vmb_cpu_usage_mark_moved(u, uuid, 0);
    g_assert_cmpuint(vmb_cpu_usage_vcpu(u, uuid, 0)->moved_cycle, ==, 3);
    g_autoptr(VmbSnapshot) s4 = snap(3000000, uuid, 1000, 0, 1000, 2, 1500000000);
    vmb_cpu_usage_update(u, s4, 0.5);
    g_assert_false(vmb_cpu_usage_vcpu(u, uuid, 0)->valid);

    /* A domain missing from a snapshot is forgotten. */
    g_autoptr(VmbSnapshot) s5 = snap(4000000, NULL, 0, 0, 0, 2, 2000000000);
    vmb_cpu_usage_update(u, s5, 0.5);
    g_assert_null(vmb_cpu_usage_vcpu(u, uuid, 0));
    g_assert_cmpuint(vmb_cpu_usage_cycle(u), ==, 5);
}

/* Two domains of one vCPU: A stays on pCPU 0, B moves from pCPU 1 to pCPU 0 at the third
 * snapshot. A's level hears of the pin change on its pCPU (its wait moves with it); a vCPU on
 * no touched pCPU does not. */
static void
test_pin_change_heard(void)
{
    const char *ua = "3b6b6c5e-0000-4000-8000-00000000000a";
    const char *ub = "3b6b6c5e-0000-4000-8000-00000000000b";
    g_autoptr(VmbCpuUsage) u = vmb_cpu_usage_new();
    for (guint k = 0; k < 4; k++) {
        g_autoptr(VmbSnapshot) s = vmb_snapshot_new(3);
        s->mono_us = (gint64) k * 1000000;
        VmbDomainStat *a = vmb_domain_stat_new("a", ua, 1);
        a->vcpus[0] = (VmbVcpuStat){k * 500000000ULL, 0, TRUE, 0};
        VmbDomainStat *b = vmb_domain_stat_new("b", ub, 1);
        b->vcpus[0] = (VmbVcpuStat){k * 500000000ULL, 0, TRUE, k >= 2 ? 0 : 1};
        g_ptr_array_add(s->domains, a);
        g_ptr_array_add(s->domains, b);
        vmb_cpu_usage_update(u, s, 0.5);
        guint64 heard = vmb_cpu_usage_vcpu(u, ua, 0)->level.pinned_cycle;
        g_assert_cmpuint(heard, ==, k >= 2 ? 3 : 0);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu-usage/percent", test_percent);
    g_test_add_func("/cpu-usage/demand", test_demand);
    g_test_add_func("/cpu-usage/span-enough", test_span_enough);
    g_test_add_func("/cpu-usage/ewma", test_ewma);
    g_test_add_func("/cpu-usage/ewma-variance", test_ewma_var);
    g_test_add_func("/cpu-usage/history", test_history);
    g_test_add_func("/cpu-usage/pin-change-heard", test_pin_change_heard);
    return g_test_run();
}
