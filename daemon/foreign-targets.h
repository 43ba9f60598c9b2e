/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Balloon targets vmbalanced did not set: the memory twin of foreign-pins.h. Each domain's
 * balloon is watched snapshot by snapshot (balloon-watch.h) against the targets the memory
 * coordinator requested; a target someone else set (`virsh setmem`, another tool) is said once
 * per change, naming the domain, the old and the new target and how to make such targets stick.
 * With memory.foreign_targets = respect the domain's memory is then left where it is (counted
 * as held there) until `vmbalancectl domain NAME reset memory` or the domain restarts. */
#pragma once

#include "config.h"
#include "snapshot.h"

typedef struct _VmbForeignTargets VmbForeignTargets;

VmbForeignTargets *vmb_foreign_targets_new(void);
void vmb_foreign_targets_free(VmbForeignTargets *f);

/* Compares the balloons of @s with the targets expected, then remembers them. Domains whose
 * memory the coordinator does not manage anyway (exclude, memory="off", definition, virtio-mem)
 * are only remembered. */
void vmb_foreign_targets_observe(VmbForeignTargets *f, const VmbSnapshot *s, const VmbConfig *c);
/* vmbalanced set the balloon target of @uuid to @kib. */
void vmb_foreign_targets_made(VmbForeignTargets *f, const char *uuid, guint64 kib);
/* A foreign target of @uuid was found at the last observation (the coordinator's own idea of
 * its target no longer holds); clears the mark. */
gboolean vmb_foreign_targets_take_change(VmbForeignTargets *f, const char *uuid);
/* The balloon of @uuid went where nobody here asked and is being judged (until it comes to
 * rest, someone else's target there, or back): not to be sized now. */
gboolean vmb_foreign_targets_judging(const VmbForeignTargets *f, const char *uuid);
/* A foreign target of @uuid is being respected. */
gboolean vmb_foreign_targets_respected(const VmbForeignTargets *f, const char *uuid);
/* Hands a respected domain back to the coordinator; FALSE when none was respected. */
gboolean vmb_foreign_targets_release(VmbForeignTargets *f, const char *uuid);
/* The domain stopped: a restart starts afresh. */
void vmb_foreign_targets_forget(VmbForeignTargets *f, const char *uuid);
