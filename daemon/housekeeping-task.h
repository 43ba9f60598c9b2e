/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shell of [cpu] housekeeping_cpus (housekeeping.h has the rule): pins the QEMU emulator
 * threads and IOThreads of every domain the balancer manages to those CPUs when it appears
 * and when the setting changes, back to all CPUs when it is emptied. A domain whose emulator
 * pin someone else changed is pinned again with cpu.foreign_pins = override and left where
 * it is with respect (said once each). Hands-off and excluded domains are never touched.
 * What the pinned domains ran outside their vCPUs is counted against the housekeeping CPUs. */
#pragma once

#include "config.h"
#include "hypervisor.h"
#include "snapshot.h"

typedef struct _VmbHousekeeping VmbHousekeeping;

VmbHousekeeping *vmb_housekeeping_new(void);
void vmb_housekeeping_free(VmbHousekeeping *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbHousekeeping, vmb_housekeeping_free)

/* One cycle over @s. Adds the measured emulator/IOThread load of the domains pinned by it,
 * percent of one pCPU spread over the housekeeping CPUs, to @bound[@s->npcpus]. Returns TRUE
 * when cpu.housekeeping_cpus is set and valid on this host: vCPUs then keep off those CPUs
 * (vmb_hk_restrict()). An invalid list is logged once (key, allowed CPUs) and pins nothing. */
gboolean vmb_housekeeping_run(VmbHousekeeping *h, VmbHypervisor *hv, const VmbSnapshot *s,
                              const VmbConfig *c, gboolean dry_run, double *bound);
/* The domain stopped: a restart starts with QEMU's default affinity. */
void vmb_housekeeping_forget(VmbHousekeeping *h, const char *uuid);
/* Emulator pins made since start (dry-run makes none). */
guint64 vmb_housekeeping_pins(const VmbHousekeeping *h);
