/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory task's view of the host: what its own processes are expected to take before the
 * next cycle's changes take effect. */
#pragma once

#include "mem-task.h"

/* Until the next cycle's changes take effect: an interval and a statistics period. */
double vmb_mem_horizon_s(const VmbConfig *c);
/* Host memory the host itself is expected to take by then (or may take back), from @s; keeps
 * its history in @t. */
guint64 vmb_mem_host_growth(VmbMemTask *t, const VmbSnapshot *s, const VmbConfig *c);
