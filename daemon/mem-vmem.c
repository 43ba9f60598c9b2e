/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mem-vmem.h"

gboolean
vmb_virtio_mem_valid(const VmbVirtioMem *d)
{
    return d->block_kib > 0 && d->size_kib % d->block_kib == 0 &&
           d->requested_kib % d->block_kib == 0 && d->requested_kib <= d->size_kib &&
           d->plugged_kib <= d->size_kib;
}

/* The device's share of @target_kib: the whole blocks that cover what the boot memory does
 * not, within the device's size. Rounded up: the guest gets at least its target, the balloon
 * takes the part of a block it does not need. */
static guint64
device_share(const VmbVirtioMem *d, guint64 target_kib)
{
    guint64 over = target_kib > d->base_kib ? target_kib - d->base_kib : 0;
    guint64 blocks = over / d->block_kib + (over % d->block_kib != 0);
    return MIN(blocks * d->block_kib, d->size_kib);
}

VmbVirtioMemPlan
vmb_virtio_mem_plan(const VmbVirtioMem *d, guint64 target_kib)
{
    guint64 share = device_share(d, target_kib);
    VmbVirtioMemPlan p = {.requested_kib = d->requested_kib};
    if (target_kib <= d->base_kib + d->plugged_kib)
        /* Covered by what is plugged: the balloon does it now, and the blocks no longer
         * needed are unplugged in the background. Never plugs. */
        p.requested_kib = MIN(d->requested_kib, share);
    else
        p.requested_kib = share; /* beyond it: plug the blocks it needs */
    p.change_device = p.requested_kib != d->requested_kib;
    /* The balloon never asks for more than the boot memory and what will be plugged. */
    p.balloon_kib = MIN(target_kib, d->base_kib + MAX(p.requested_kib, d->plugged_kib));
    return p;
}
