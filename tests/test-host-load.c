/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bound/floating split of the host's own CPU load (daemon/host-load.h), as a table: each
 * case feeds one pCPU's sample for @cycles cycles and checks the bound estimate and the
 * floating total at the end. */
#include "host-load.h"

typedef struct {
    const char *name;
    VmbPcpuSample sample; /* busy, vm_run, irq */
    guint cycles;
    double bound, floating; /* expected at the end, within 0.5 points */
} Case;

static const Case cases[] = {
    /* A busy loop fills the room a 60 % vCPU leaves: it floats, whatever its niceness. */
    {"process-floats", {100, 60, 0}, 5, 0, 40},
    /* Interrupts, softirqs and steal stay on their pCPU. */
    {"irq-is-bound", {100, 60, 15}, 10, 15, 25},
    /* Bound time beyond the unexplained time (a vCPU's own exits counted there) is capped. */
    {"irq-capped", {100, 95, 20}, 10, 5, 0},
    /* The bound estimate is smoothed: after one sample half of it shows. */
    {"smoothed", {50, 0, 40}, 1, 20, 10},
    /* An idle pCPU: nothing to count. */
    {"idle", {0, 0, 0}, 3, 0, 0},
    /* busy unknown: nothing learned, nothing floating. */
    {"unknown-busy", {-1, 0, 0}, 3, 0, 0},
};

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    double bound = 0, floating = 0;
    for (guint k = 0; k < c->cycles; k++)
        floating = vmb_host_load_update(&bound, &c->sample, 1, 0, 0.5);
    g_assert_cmpfloat_with_epsilon(bound, c->bound, 0.5);
    g_assert_cmpfloat_with_epsilon(floating, c->floating, 0.5);
}

/* vCPUs without a single pCPU ran somewhere: their time comes out of every pCPU's
 * unexplained time in proportion, and is neither bound nor floating host load. */
static void
test_floating_vcpus(void)
{
    double bound[2] = {0, 0};
    VmbPcpuSample s[2] = {{100, 50, 10}, {50, 0, 0}};
    double floating = 0;
    for (guint k = 0; k < 12; k++)
        floating = vmb_host_load_update(bound, s, 2, 60, 0.5);
    /* 100 unexplained, 60 of it the floating vCPU: 40 % of each pCPU's share is host load. */
    g_assert_cmpfloat_with_epsilon(bound[0], 10, 0.01);
    g_assert_cmpfloat_with_epsilon(bound[1], 0, 0.01);
    g_assert_cmpfloat_with_epsilon(floating, 30, 0.01);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/host-load/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/host-load/floating-vcpus", test_floating_vcpus);
    return g_test_run();
}
