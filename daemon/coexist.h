/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Other tools on the host that turn the same knobs: numad (places domains and their memory),
 * the kernel's automatic NUMA balancing (moves tasks and pages between nodes), ksmtuned (merges
 * guest pages behind the balloon's back) and oVirt MoM (momd: sets balloon targets itself).
 * Looked for at start and on reload, in a /proc tree (injectable for tests). */
#pragma once

#include <glib.h>

typedef enum {
    VMB_COEXIST_NUMAD = 1 << 0,
    VMB_COEXIST_NUMA_BALANCING = 1 << 1,
    VMB_COEXIST_KSMTUNED = 1 << 2,
    VMB_COEXIST_MOMD = 1 << 3,
} VmbCoexistTool;

/* The tools found under @proc_root ("/proc"): processes by their comm, and
 * sys/kernel/numa_balancing = 1. Unreadable entries are skipped (processes come and go). */
guint vmb_coexist_detect(const char *proc_root);

/* One sentence per tool in @found, naming it and what vmbalanced does about it. */
GStrv vmb_coexist_describe(guint found);

/* Detects, logs one warning per tool not reported before (a tool gone and back is reported
 * again), and returns the descriptions. */
GStrv vmb_coexist_check(const char *proc_root);
