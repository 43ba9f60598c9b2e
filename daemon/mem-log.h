/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the memory task logs about each domain: lasting conditions once (keyed by kind and
 * domain), and the detail of a change. */
#pragma once

#include "mem-policy.h"
#include "snapshot.h"

/* Logs @message once until the condition @kind of domain @uuid is cleared. */
gboolean vmb_mem_log_once(const char *kind, const char *uuid, GLogLevelFlags level,
                          const char *message);
/* TRUE when the condition had been logged. */
gboolean vmb_mem_log_clear(const char *kind, const char *uuid);
/* The domain went away: a new run of it logs its conditions again. */
void vmb_mem_log_forget(const char *uuid);
/* Logs the lasting conditions the policy found for @d (verdict @v), once each. */
void vmb_mem_log_verdict(const VmbDomainStat *d, const VmbMemGuest *g, VmbMemVerdict v,
                         gboolean measured);
/* The numbers behind change @ch, for its journal record. */
char *vmb_mem_change_detail(const VmbMemChange *ch, const VmbMemPlan *plan, const VmbMemGuest *g);
