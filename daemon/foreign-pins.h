/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pins vmbalanced did not make. The balancer remembers each vCPU's pin as of the last snapshot
 * and its own pins since; a vCPU found elsewhere was pinned by someone else (`virsh vcpupin`,
 * another tool). That is said once per domain, naming the vCPU, where it went and how to make
 * such pins stick. With cpu.foreign_pins = respect the domain is then left where it is (its
 * load counted there) until `vmbalancectl domain NAME reset cpu` or the domain restarts. */
#pragma once

#include "config.h"
#include "snapshot.h"

typedef struct _VmbForeignPins VmbForeignPins;

VmbForeignPins *vmb_foreign_pins_new(void);
void vmb_foreign_pins_free(VmbForeignPins *f);

/* Compares the pins of @s with what was seen and made before, then remembers them. Domains
 * the balancer does not manage anyway (exclude, cpu="off", definition) are only remembered. */
void vmb_foreign_pins_observe(VmbForeignPins *f, const VmbSnapshot *s, const VmbConfig *c);
/* vmbalanced pinned vCPU @vcpu of @uuid to @cpus (one pCPU or a set: cpu.pin_to). */
void vmb_foreign_pins_made(VmbForeignPins *f, const char *uuid, guint vcpu, const VmbCpuSet *cpus);
/* A foreign pin of @uuid is being respected. */
gboolean vmb_foreign_pins_respected(const VmbForeignPins *f, const char *uuid);
/* Hands a respected domain back to the balancer; FALSE when none was respected. */
gboolean vmb_foreign_pins_release(VmbForeignPins *f, const char *uuid);
/* The domain stopped: a restart starts afresh. */
void vmb_foreign_pins_forget(VmbForeignPins *f, const char *uuid);
