/* SPDX-License-Identifier: LGPL-2.1-or-later */
// clang-format off
/* A simulated host read from a small INI file, for the fake backend:
 *
 *   [host]
 *   cpus = 2                    ; pCPUs
 *   memory_mib = 8192           ; host RAM
 *   host_used_mib = 1024        ; memory used outside guests (series)
 *   background = 5              ; non-VM load per pCPU in percent (series);
 *                               ; background1 = ... per CPU
 *   niced = 40                  ; niced host work that floats, percent of one pCPU (series):
 *                               ; it takes what vCPUs and background leave, on any pCPU
 *   seed = 1                    ; noise seed
 *   down = 30:40                ; hypervisor unreachable between t=30 s and t=40 s (pairs)
 *   sockets = 2                 ; a topology instead of a flat row (cpus = their product, or
 *   cores = 8                   ; absent): cores per socket, threads per core, NUMA nodes;
 *   threads = 2                 ; numbered as Linux does on x86 (see topology.h)
 *   nodes = 2
 *   cache_cores = 4             ; cores per last-level cache group (default: one per node)
 *   isolated = 6-7              ; CPUs the host isolated (isolcpus, nohz_full)
 *   cpu_topology = 0/0/0 0/1/0 0/0/0 -   ; or one SOCKET/CORE/NODE per CPU ("-" offline):
 *                               ; same socket and core = threads of one core
 *   memory_moves = yes          ; no: moving a domain's memory to another node is refused (as
 *                               ; libvirt does without the cgroup cpuset controller)
 *
 *   [domain web1]
 *   vcpus = 2
 *   load = 0:100 60:100 60:30   ; demand of each vCPU in percent (series); load1 = ... per vCPU
 *   noise = 3                   ; +/- percentage points, deterministic
 *   emulator = 0                ; percent of one pCPU its QEMU emulator and I/O threads use:
 *                               ; on the CPUs they are pinned to (housekeeping_cpus), shared
 *                               ; evenly, else floating like an unpinned vCPU
 *   pin = 0,0                   ; initial pCPU per vCPU (-1 or absent = all CPUs)
 *   start = 0                   ; seconds the domain runs from (and until: stop = 120)
 *   memory_mib = 1024           ; <memory> (balloon maximum)
 *   current_mib = 512           ; initial actual
 *   used_mib = 0:100 60:400     ; memory the guest uses (series)
 *   balloon = yes               ; has a balloon driver
 *   autodeflate = no
 *   stale_after = 90            ; balloon statistics stop updating then
 *   min_guarantee_mib = 0
 *   stale_until = 120           ; ... and resume then (default: never)
 *   balloon_driver = yes        ; the guest runs the balloon driver: without it the device
 *                               ; accepts targets and a stats period but nothing happens
 *   page_cache = 30             ; percent of the guest's spare memory that fills with page
 *                               ; cache: counted in usable (MemAvailable), not in unused
 *   node = 1                    ; NUMA node of its memory (numatune); default: first touch,
 *                               ; the node of vCPU 0's pCPU at start, a floating one's by chance
 *   lazy = no                   ; host memory is what the guest touched, not its actual: pages
 *                               ; it never used cost the host nothing until it does, and an
 *                               ; inflating balloon frees only the resident pages it takes
 *   metadata = <policy cpu="off"/>  ; its vmbalance:policy element (domain-policy.h), read
 *                               ; when it appears, as virDomainGetMetadata() returns it
 *   definition = <domain><cputune><vcpupin vcpu='0' cpuset='1'/></cputune></domain>
 *                               ; its persistent definition, one line (domain-def.h)
 *   boot_mib = 2048             ; actual at boot (default current_mib): QEMU starts a guest at
 *                               ; <memory> and the balloon then inflates to current_mib
 *   balloon_mib_s = 1024        ; how fast the balloon moves (TCG guests: tens of MiB/s)
 *   swap_mib = 0                ; guest swap: use beyond its memory is swapped out (up to
 *                               ; this) instead of OOM-killed, and swapped pages are
 *                               ; touched again: swap-in and major faults, as the balloon
 *                               ; statistics report them
 *   swap_free_mib = 0           ; the guest swaps to keep this much free (its free memory
 *                               ; then looks fine while it pages)
 *
 *   vmem_mib = 0                ; a virtio-mem device of this size (part of memory_mib): it
 *                               ; starts unplugged, plugs quickly and unplugs slowly (only
 *                               ; memory the guest does not use)
 *   vmem_block_mib = 2          ; its block size
 *   free_page_reporting = no    ; <memballoon freePageReporting='on'>: the guest gives the
 *                               ; pages it frees back to the host (its host memory follows
 *                               ; what it uses, not what it touched once)
 *
 * Series are "V" or "T:V T:V ..." (see series.h). */
// clang-format on
#pragma once

#include <glib.h>

#include "series.h"
#include "topology.h"

typedef struct {
    char *name;
    char *uuid;
    guint nvcpus;
    VmbSeries *load; /* one per vCPU */
    double noise;
    double emulator;    /* percent of one pCPU outside the vCPUs */
    gint *pin;          /* one per vCPU, -1 = floating */
    double start, stop; /* stop < 0: runs forever */
    guint64 memory_mib, current_mib, min_guarantee_mib;
    VmbSeries used_mib;
    gboolean balloon, autodeflate;
    double stale_after; /* < 0: never */
    double stale_until; /* < 0: statistics never resume after stale_after */
    gboolean balloon_driver;
    double page_cache;    /* percent of spare memory */
    gboolean lazy;        /* host memory follows the pages touched, not actual */
    gint node;            /* memory node, -1: first touch */
    guint64 boot_mib;     /* actual at boot; the target is current_mib */
    double balloon_mib_s; /* balloon speed */
    guint64 swap_mib, swap_free_mib;
    gboolean free_page_reporting;
    guint64 vmem_mib, vmem_block_mib;

    char *metadata;   /* vmbalance:policy element, NULL for none (not validated here) */
    char *definition; /* persistent definition XML, NULL for a plain one */
} VmbScenarioDomain;

typedef struct {
    guint ncpus;
    VmbSeries *background; /* one per pCPU */
    guint64 memory_mib;
    VmbSeries host_used_mib;
    VmbSeries niced; /* floating niced host work, percent of one pCPU */
    guint64 seed;
    GArray *down;          /* pairs of doubles: [start, end) windows when unreachable */
    GPtrArray *domains;    /* VmbScenarioDomain* */
    VmbTopology *topology; /* sockets/cores/threads/nodes/isolated; NULL: a flat row of cpus */
    gboolean memory_moves; /* a domain's memory may be moved to another node */
} VmbScenario;

VmbScenario *vmb_scenario_load(const char *path, GError **error);
VmbScenario *vmb_scenario_load_data(const char *data, GError **error);
void vmb_scenario_free(VmbScenario *sc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbScenario, vmb_scenario_free)
