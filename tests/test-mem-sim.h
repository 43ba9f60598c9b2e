/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of test-mem-sim share: the host reserve and the log capture
 * (test-mem-sim.c, with the simulation of the policies and main()) and the memory task's own
 * tests (test-mem-sim-task.c), registered by main(). */
#pragma once

#include <glib.h>

#include "config.h"

/* test-mem-sim.c */

/* The host reserve (KiB) of @c's memory.host_reserve_* on a host of @host_total_kib. */
guint64 reserve_kib(const VmbConfig *c, guint64 host_total_kib);
/* Messages above debug level, while a test collects them (NULL otherwise). */
extern GPtrArray *captured;

/* test-mem-sim-task.c */
void test_task_idle(void);
void test_task_metadata(void);
void test_task_dry_run(void);
void test_task_autodeflate(void);
void test_task_boot_inflation(void);
void test_task_paging(void);
void test_task_burst(void);
void test_task_free_page_reporting(void);
void test_task_virtio_mem(void);
