/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host behind fake:///path URIs. In the daemon its clock follows the real
 * monotonic clock; tests and benchmarks drive it by hand with vmb_hv_fake_advance(). */
#pragma once

#include "hypervisor.h"
#include "hv-fake-scenario.h"

/* Takes ownership of @sc. With @manual_clock, time only moves through vmb_hv_fake_advance(). */
VmbHypervisor *vmb_hv_fake_new_from_scenario(VmbScenario *sc, gboolean manual_clock);
void vmb_hv_fake_advance(VmbHypervisor *hv, double seconds);
double vmb_hv_fake_now(VmbHypervisor *hv);

typedef struct {
    gboolean running;
    guint nvcpus;
    const gint *pins;   /* current pin per vCPU, -1 = floating */
    guint64 actual_kib; /* memory the guest has now */
    guint64 vmem_plugged_kib;
    guint64 target_kib; /* last requested balloon target */
    guint64 used_kib;   /* guest demand now */
    guint oom_kills;
    guint autodeflates;
    const char *emulator_cpus; /* emulator threads' pin, NULL = default (all CPUs) */
    guint hk_pins;             /* housekeeping pin requests it got since it booted */
    gint mem_node;             /* NUMA node of its memory, -1 without a topology */
    guint mem_moves;           /* memory moves it got since it booted */
    const char *numa_mark;     /* its live vmbalanced:numa-home element, NULL none */
} VmbFakeDomainInfo;

gboolean vmb_hv_fake_domain_info(VmbHypervisor *hv, const char *name, VmbFakeDomainInfo *out);

typedef struct {
    guint64 pin_changes;
    guint64 memory_changes;
    guint oom_kills;
    guint reserve_violations; /* simulation steps where host MemAvailable was below the
                                 reserve set by vmb_hv_fake_set_reserve() */
    guint64 min_host_available_kib;
    double swap_in_mib;        /* all guests swapped in this much */
    double swapping_s;         /* guest-seconds with memory in swap */
    guint64 vmem_changes;      /* virtio-mem requested sizes set */
    guint64 memory_node_moves; /* domains' memory moved to another node */
} VmbFakeCounters;

void vmb_hv_fake_counters(VmbHypervisor *hv, VmbFakeCounters *out);
void vmb_hv_fake_set_reserve(VmbHypervisor *hv, guint64 reserve_kib);
/* Load each pCPU actually carried over the last advance, in percent. */
double vmb_hv_fake_pcpu_load(VmbHypervisor *hv, guint pcpu);

/* Replaces the vmbalance:policy element of running domain @name (NULL removes it), as
 * `virsh metadata` and the metadata-change event do; FALSE when it does not run. */
/* Pins the emulator threads of running domain @name to @cpus (NULL: the default) as someone
 * else would (`virsh emulatorpin`); FALSE when it does not run. */
gboolean vmb_hv_fake_set_emulator_pin(VmbHypervisor *hv, const char *name, const char *cpus);
gboolean vmb_hv_fake_set_metadata(VmbHypervisor *hv, const char *name, const char *xml);
/* Someone else (`virsh setmem`) sets the balloon target of running domain @name to @kib, not
 * counted as a change of ours. With @unreported the reported target stays what it was, as on
 * libvirt 9.0 with QEMU (no call returns the target QEMU was given). FALSE when it does not run,
 * has no balloon or @kib is outside 1..<memory>. */
gboolean vmb_hv_fake_set_target(VmbHypervisor *hv, const char *name, guint64 kib,
                                gboolean unreported);
/* For the next @seconds the balloon's actual of running domain @name is shown where it is now,
 * while the guest's own statistics follow the balloon: libvirt learns of balloon moves from
 * QEMU's BALLOON_CHANGE event (at most one a second), the guest's statistics can be newer.
 * FALSE when it does not run or has no balloon. */
gboolean vmb_hv_fake_lag_actual(VmbHypervisor *hv, const char *name, double seconds);
/* Someone else (`virsh numatune --live --mode strict --nodeset`) binds the memory of running
 * domain @name to @node, which it moves to; our numa-home record is left as it was. FALSE
 * when it does not run or @node is not a node of the host. */
gboolean vmb_hv_fake_set_numatune(VmbHypervisor *hv, const char *name, guint node);
/* Replaces its live vmbalanced:numa-home element (NULL removes it), e.g. with a malformed one;
 * FALSE when it does not run. */
gboolean vmb_hv_fake_set_numa_mark(VmbHypervisor *hv, const char *name, const char *xml);
