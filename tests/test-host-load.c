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
    /* Without evidence the non-VM load floats (QEMU's own threads, ordinary processes). */
    {"no-evidence-floats", {-1, 0, 0}, 0, {100, 60, 60}, 10, 0, 40},
    /* A pinned process next to a vCPU that does not fill the pCPU: the vCPU waits. */
    {"contended-vcpu-finds-pinned", {-1, 0, 0}, 0, {100, 50, 65}, 8, 50, 0},
    /* Short waits (a few points) are not contention. */
    {"short-waits-float", {-1, 0, 0}, 0, {100, 55, 60}, 8, 0, 45},
    /* Less non-VM load than the estimate: the estimate falls even between saturations. */
    {"bound-falls-when-gone", {100, 70, 100}, 8, {40, 40, 40}, 10, 0, 0},
    /* Niced work floats from the first sample on, without any saturated sample. */
    {"niced-floats", {-1, 0, 0, 0}, 0, {100, 60, 60, 40}, 5, 0, 40},
    /* Niced and bound work together: only the non-niced part can be bound. */
    {"niced-and-bound", {-1, 0, 0, 0}, 0, {100, 50, 65, 30}, 10, 20, 30},
    /* Niced time beyond the unexplained time (QEMU itself reniced) is capped. */
    {"niced-capped", {-1, 0, 0, 0}, 0, {100, 90, 90, 80}, 5, 0, 10},
    /* With no room anywhere floating work cannot leave: a contended pCPU says nothing. */
    {"no-room-anywhere", {-1, 0, 0}, 0, {100, 50, 100}, 8, 0, 50, TRUE},
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
    double floating = 0;
    for (guint k = 0; k < c->lead_cycles; k++)
        vmb_host_load_update(st, lead, 2, 0, 0.5);
    for (guint k = 0; k < c->cycles; k++)
        floating = vmb_host_load_update(st, sample, 2, 0, 0.5);
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
    for (guint k = 0; k < 10; k++)
        floating = vmb_host_load_update(st, s, 2, 60, 0.5);
    /* 100 unexplained, 60 of it the floating vCPU: 40 is host load, floating (no vCPU
     * waited); with the first pCPU contended it is bound there, in its share (20). */
    g_assert_cmpfloat_with_epsilon(st[0].bound, 0, 0.1);
    g_assert_cmpfloat_with_epsilon(floating, 40, 0.1);
    s[0].vm_demand = 70;
    for (guint k = 0; k < 10; k++)
        floating = vmb_host_load_update(st, s, 2, 60, 0.5);
    g_assert_cmpfloat_with_epsilon(st[0].bound, 20, 0.1);
    g_assert_cmpfloat_with_epsilon(floating, 20, 0.1);
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
