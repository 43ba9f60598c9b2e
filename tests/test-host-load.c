/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bound/floating split of the host's own CPU load (daemon/host-load.h), as a table of
 * pCPU histories: each case feeds the same sample for @cycles cycles, after an optional
 * lead-in, and checks the bound estimate and the floating total at the end. A second pCPU
 * is idle (room for floating work) or, in crowded cases, saturated by its own vCPUs. */
#include "host-load.h"

#include <math.h>

typedef struct {
    const char *name;
    VmbPcpuSample lead; /* fed first for lead_cycles (busy < 0: none) */
    guint lead_cycles;
    VmbPcpuSample sample; /* then this one */
    guint cycles;
    double bound, floating; /* expected at the end, within 1 point */
    gboolean crowded;       /* the other pCPU's vCPUs want all of it too (else it is idle) */
} Case;

static const Case cases[] = {
    /* Two 100 % vCPUs share the pCPU; a niced hog gets almost nothing, then one vCPU leaves
     * and the hog fills the room it left: floating, not bound. */
    {"niced-hog-fills-room", {100, 98, 200}, 5, {100, 60, 60}, 5, 1.5, 38.5},
    /* A pinned process keeps its fair share while the vCPUs want the whole pCPU: bound. */
    {"pinned-hog-keeps-share", {-1, 0, 0}, 0, {100, 50, 100}, 8, 50, 0},
    /* Without a saturated sample the non-VM load counts as bound, as it always did. */
    {"no-evidence-all-bound", {-1, 0, 0}, 0, {100, 60, 60}, 10, 40, 0},
    /* Evidence expires: after VMB_HOST_LOAD_EVIDENCE_CYCLES it is all bound again. */
    {"evidence-expires",
     {100, 98, 200},
     3,
     {100, 60, 60},
     VMB_HOST_LOAD_EVIDENCE_CYCLES + 12,
     40,
     0},
    /* Less non-VM load than the estimate: the estimate falls even between saturations. */
    {"bound-falls-when-gone", {100, 70, 100}, 8, {40, 40, 40}, 10, 0, 0},
    /* Niced work floats from the first sample on, without any saturated sample. */
    {"niced-floats", {-1, 0, 0, 0}, 0, {100, 60, 60, 40}, 5, 0, 40},
    /* Niced and bound work together: only the non-niced part can be bound. */
    {"niced-and-bound", {-1, 0, 0, 0}, 0, {100, 50, 50, 30}, 10, 20, 30},
    /* Niced time beyond the unexplained time (QEMU itself reniced) is capped. */
    {"niced-capped", {-1, 0, 0, 0}, 0, {100, 90, 90, 80}, 5, 0, 10},
    /* With no room anywhere floating work cannot leave: a saturated sample says nothing,
     * and the hog that fills the room later counts as bound. */
    {"no-room-anywhere", {100, 98, 200}, 5, {100, 60, 60}, 8, 40, 0, TRUE},
    /* An idle pCPU: nothing to count. */
    {"idle", {-1, 0, 0}, 0, {0, 0, 0}, 3, 0, 0},
    /* busy unknown: nothing learned. */
    {"unknown-busy", {-1, 0, 0}, 0, {-1, 0, 0}, 3, 0, 0},
};

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    VmbPcpuHostLoad st[2] = {{0}};
    VmbPcpuSample other = c->crowded ? (VmbPcpuSample){100, 100, 150, 0} : (VmbPcpuSample){0};
    VmbPcpuSample lead[2] = {c->lead, other}, sample[2] = {c->sample, other};
    guint64 cycle = 0;
    double floating = 0;
    for (guint k = 0; k < c->lead_cycles; k++)
        vmb_host_load_update(st, lead, 2, 0, ++cycle, 0.5);
    for (guint k = 0; k < c->cycles; k++)
        floating = vmb_host_load_update(st, sample, 2, 0, ++cycle, 0.5);
    g_assert_cmpfloat_with_epsilon(st[0].bound, c->bound, 1.0);
    g_assert_cmpfloat_with_epsilon(floating, c->floating, 1.0);
}

/* vCPUs without a single pCPU ran somewhere: their time comes out of every pCPU's
 * unexplained time in proportion, and is neither bound nor floating host load. */
static void
test_floating_vcpus(void)
{
    VmbPcpuHostLoad st[2] = {{0}};
    VmbPcpuSample s[2] = {{100, 50, 50}, {50, 0, 0}};
    double floating = 0;
    for (guint64 cycle = 1; cycle <= 10; cycle++)
        floating = vmb_host_load_update(st, s, 2, 60, cycle, 0.5);
    /* 100 unexplained, 60 of it the floating vCPU: 40 % of each pCPU's share stays. */
    g_assert_cmpfloat_with_epsilon(st[0].bound, 20, 0.1);
    g_assert_cmpfloat_with_epsilon(st[1].bound, 20, 0.1);
    g_assert_cmpfloat_with_epsilon(floating, 0, 0.1);
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
