/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table tests of the virtio-mem split (mem-vmem.c): which part of a memory target the device's
 * requested size carries, which part the balloon does. Sizes in MiB: 1 GiB of boot memory and
 * a 2 GiB device of 2 MiB blocks unless a case says otherwise. */
#include <glib.h>

#include "mem-vmem.h"

#define MIB 1024

typedef struct {
    const char *name;
    double block;              /* 0 = 2 MiB */
    double requested, plugged; /* now */
    double target;             /* the guest's whole memory wanted */
    gboolean change;           /* expected */
    double want_requested, want_balloon;
} Case;

static const Case cases[] = {
    {"grow/beyond what is plugged: plug whole blocks, the balloon follows", 0, 256, 256, 1500, TRUE,
     476, 1500},
    {"grow/rounded up to a block: the balloon takes the part of a block not needed", 0, 0, 0,
     1025.5, TRUE, 2, 1025.5},
    {"grow/within what is plugged: the balloon alone (it had inflated)", 0, 512, 512, 1536, FALSE,
     512, 1536},
    {"grow/capped at the device's size", 0, 1024, 1024, 4000, TRUE, 2048, 3072},
    {"shrink/the balloon now, unplug the blocks no longer needed", 0, 1024, 1024, 1300, TRUE, 276,
     1300},
    {"shrink/below the boot memory: everything unplugged, the balloon takes the rest", 0, 512, 512,
     800, TRUE, 0, 800},
    {"shrink/an unplug still under way is not undone", 0, 256, 700, 1500, FALSE, 256, 1500},
    {"steady/target met: nothing changes", 0, 300, 300, 1324, FALSE, 300, 1324},
    {"block/128 MiB blocks", 128, 0, 0, 1100, TRUE, 128, 1100},
    {"grow/a plug under way is resized to what is needed", 0, 100, 50, 1100, TRUE, 76, 1100},
};

static guint64
kib(double mib)
{
    return (guint64) (mib * MIB);
}

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    VmbVirtioMem d = {
        .base_kib = kib(1024),
        .size_kib = kib(2048),
        .block_kib = kib(c->block > 0 ? c->block : 2),
        .requested_kib = kib(c->requested),
        .plugged_kib = kib(c->plugged),
    };
    g_assert_true(vmb_virtio_mem_valid(&d));
    VmbVirtioMemPlan p = vmb_virtio_mem_plan(&d, kib(c->target));
    g_test_message("requested %.1f -> %.1f MiB, balloon %.1f MiB", c->requested,
                   p.requested_kib / (double) MIB, p.balloon_kib / (double) MIB);
    g_assert_cmpint(p.change_device, ==, c->change);
    g_assert_cmpuint(p.requested_kib, ==, kib(c->want_requested));
    g_assert_cmpuint(p.balloon_kib, ==, kib(c->want_balloon));
    g_assert_cmpuint(p.requested_kib % d.block_kib, ==, 0);
    g_assert_cmpuint(p.requested_kib, <=, d.size_kib);
}

/* Figures a device (or its XML) could report that are not sizeable. */
static void
test_invalid(void)
{
    static const VmbVirtioMem bad[] = {
        {.size_kib = 4096, .block_kib = 0},
        {.size_kib = 3000, .block_kib = 2048},
        {.size_kib = 4096, .block_kib = 2048, .requested_kib = 1024},
        {.size_kib = 4096, .block_kib = 2048, .requested_kib = 6144},
        {.size_kib = 4096, .block_kib = 2048, .plugged_kib = 8192},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        g_assert_false(vmb_virtio_mem_valid(&bad[i]));
}

/* Over a grid: the plan never asks beyond the device, always whole blocks, and the guest gets
 * at least its target once the device has plugged what was asked (up to the device's size). */
static void
test_grid(void)
{
    for (guint64 req = 0; req <= 2048; req += 256) {
        for (guint64 plug = 0; plug <= 2048; plug += 256) {
            for (guint64 t = 512; t <= 3584; t += 97) {
                VmbVirtioMem d = {kib(1024), kib(2048), kib(2), kib((double) req),
                                  kib((double) plug)};
                VmbVirtioMemPlan p = vmb_virtio_mem_plan(&d, kib((double) t));
                g_assert_cmpuint(p.requested_kib % d.block_kib, ==, 0);
                g_assert_cmpuint(p.requested_kib, <=, d.size_kib);
                guint64 reach = d.base_kib + MAX(p.requested_kib, d.plugged_kib);
                g_assert_cmpuint(p.balloon_kib, <=, reach);
                g_assert_cmpuint(p.balloon_kib, ==, MIN(kib((double) t), reach));
                if (kib((double) t) <= d.base_kib + d.size_kib)
                    g_assert_cmpuint(d.base_kib + MAX(p.requested_kib, d.plugged_kib), >=,
                                     kib((double) t));
            }
        }
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/mem-vmem/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/mem-vmem/invalid", test_invalid);
    g_test_add_func("/mem-vmem/grid", test_grid);
    return g_test_run();
}
