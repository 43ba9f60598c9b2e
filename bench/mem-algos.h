/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory algorithms compared by vmb-bench and tests/test-mem-sim.c (mem-algos.c). */
#pragma once

#include <glib.h>

#include "config.h"
#include "hypervisor.h"

typedef enum {
    MEM_VMBALANCE,
    MEM_SEED003,
    MEM_SEED001,
    MEM_NONE,
    N_MEM_ALGOS,
} MemAlgoId;

typedef struct _MemAlgo MemAlgo;

extern const char *const bench_mem_algo_names[N_MEM_ALGOS];
/* @config (taken) is vmbalance's configuration; the others ignore it (it may be NULL). */
MemAlgo *bench_mem_algo_new(MemAlgoId id, guint interval, VmbConfig *config);
/* Returns in how many seconds an extra cycle is wanted, 0 = at the next interval (the daemon
 * follows a starving or new guest up sooner than its interval). */
guint bench_mem_algo_cycle(MemAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s);
void bench_mem_algo_free(MemAlgo *a);
