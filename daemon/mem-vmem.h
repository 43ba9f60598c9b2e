/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sizing a guest that has a virtio-mem device (<memory model='virtio-mem'>): which part of a
 * memory target the device's requested size carries and which part the balloon does. Pure.
 *
 * The device plugs and unplugs whole blocks up to its size; plugging is quick, unplugging waits
 * for the guest to offline and free the blocks (slow, and it may stop short). The balloon moves
 * at once. So: a shrink is made by the balloon now and by the device's requested size (whole
 * blocks no longer needed) for the long run; a grow deflates the balloon first (what the guest
 * has plugged already), and plugs the rest. The balloon's target is the guest's whole memory
 * (QEMU counts plugged memory in it), never above what is plugged or about to be. */
#pragma once

#include <glib.h>

typedef struct {
    guint64 base_kib;      /* memory outside the device (boot memory) */
    guint64 size_kib;      /* the device's maximum */
    guint64 block_kib;     /* its block size */
    guint64 requested_kib; /* what it is asked to plug now */
    guint64 plugged_kib;   /* what the guest has plugged (<current>, the size-change event) */
} VmbVirtioMem;

typedef struct {
    gboolean change_device; /* ask the device for requested_kib */
    guint64 requested_kib;  /* whole blocks, 0..size */
    guint64 balloon_kib;    /* the balloon's target: the guest's whole memory */
} VmbVirtioMemPlan;

/* FALSE when @d makes no sense (no block, a size or request that is not whole blocks, a
 * request above the size): the guest is then sized by its balloon alone. */
gboolean vmb_virtio_mem_valid(const VmbVirtioMem *d);
/* How to bring the guest to @target_kib of memory in all. */
VmbVirtioMemPlan vmb_virtio_mem_plan(const VmbVirtioMem *d, guint64 target_kib);
