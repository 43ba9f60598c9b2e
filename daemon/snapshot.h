/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the hypervisor layer reports in one cycle: host CPUs and memory, running domains with
 * their vCPUs and balloon figures. Plain data, built by a backend, read by the tasks. */
#pragma once

#include <glib.h>

#include "domain-def.h"
#include "domain-policy.h"
#include "topology.h"

typedef struct {
    guint64 time_ns; /* cumulative time the vCPU ran */
    guint64 wait_ns; /* cumulative time it was runnable but waiting (valid if has_wait) */
    gboolean has_wait;
    gint pcpu; /* the one pCPU it is pinned to, or -1 when its affinity holds several */
    /* Its affinity when that is several pCPUs but not every host CPU (a set pin, cpu.pin_to);
     * NULL when it is one pCPU (pcpu) or floats over the host. */
    VmbCpuSet *cpus;
} VmbVcpuStat;

/* Which balloon figures the guest reported. */
typedef enum {
    VMB_BALLOON_CURRENT = 1 << 0,
    VMB_BALLOON_MAXIMUM = 1 << 1,
    VMB_BALLOON_UNUSED = 1 << 2,
    VMB_BALLOON_AVAILABLE = 1 << 3,
    VMB_BALLOON_USABLE = 1 << 4,
    VMB_BALLOON_LAST_UPDATE = 1 << 5,
    VMB_BALLOON_SWAP = 1 << 6,
    VMB_BALLOON_MAJOR_FAULT = 1 << 7,
    VMB_BALLOON_RSS = 1 << 8,
} VmbBalloonField;

typedef struct {
    guint fields;          /* VmbBalloonField bits present */
    guint64 current_kib;   /* balloon.current: memory the guest has (actual) */
    guint64 maximum_kib;   /* balloon.maximum: <memory> of the domain */
    guint64 unused_kib;    /* free memory in the guest */
    guint64 available_kib; /* guest MemTotal */
    guint64 usable_kib;    /* guest MemAvailable */
    gint64 last_update;    /* seconds since the epoch, host clock */
    guint64 swap_in_kib, swap_out_kib;
    guint64 major_faults;
    guint64 rss_kib;           /* host memory the guest's QEMU process holds (balloon.rss) */
    guint64 min_guarantee_kib; /* <memtune><min_guarantee>, 0 when unset */
    /* The target the balloon moves toward: libvirt's <currentMemory> (the boot target) or the
     * last request. 0 when unknown. While a change is in flight actual differs from it. */
    guint64 target_kib;
    guint features; /* VmbBalloonFeature bits, from the domain XML */
    /* Guest resets seen (libvirt's reboot event): the guest's balloon driver let go of the
     * balloon and takes the target again once it loads. */
    guint resets;
} VmbBalloonStat;

/* Balloon features (<memballoon freePageReporting='on' autodeflate='on'>). */
typedef enum {
    VMB_BALLOON_FREE_PAGE_REPORTING = 1 << 0, /* freed guest pages go back to the host */
    VMB_BALLOON_DEFLATE_ON_OOM = 1 << 1,      /* the guest deflates by itself when short */
} VmbBalloonFeature;

/* A virtio-mem device (<memory model='virtio-mem'>), sizes in KiB. */
typedef struct {
    gboolean present;
    guint64 size_kib;      /* the most it can plug */
    guint64 block_kib;     /* granularity */
    guint64 requested_kib; /* what it was asked to plug */
    guint64 plugged_kib;   /* what the guest plugged (<current>, the size-change event) */
    guint64 base_kib;      /* memory outside the device (the NUMA cells' initial memory) */
} VmbVirtioMemStat;

typedef struct {
    char *name;
    char *uuid; /* canonical lower-case string, the key used everywhere */
    guint nvcpus;
    VmbVcpuStat *vcpus;
    guint64 cpu_time_ns; /* cpu.time: all threads of the domain */
    VmbBalloonStat balloon;
    VmbDomainPolicy policy;  /* its vmbalance:policy metadata; .set == 0 when none or refused */
    gboolean policy_refused; /* the metadata was invalid (logged when read): host settings apply */
    guint hands_off;         /* VmbHandsOff bits: its persistent definition and its state */
    gint mem_node; /* host NUMA node (dense topology index) holding its memory, -1 unknown */
    /* Its live definition binds its memory (<numatune><memory> with a mode): the operator's
     * choice, or a memory move of ours (the CPU task tells them apart). */
    gboolean numatune;
    /* ... and it is ours: its nodeset is the one our numa-home record names (numa-mark.h),
     * which outlives a restart of the daemon. */
    gboolean numatune_ours;
    /* The CPU list its emulator threads are pinned to as last known ("0-1"), NULL unknown:
     * our own pins and the driver's tunable events (cputune.emulatorpin) say it. */
    char *emulator_cpus;
    VmbVirtioMemStat vmem;
} VmbDomainStat;

typedef struct {
    gint64 mono_us;         /* g_get_monotonic_time() when taken (simulated on the fake host) */
    gint64 wall_s;          /* seconds since the epoch when taken (to judge balloon staleness) */
    guint npcpus;           /* host CPUs, numbered 0..npcpus-1 */
    guint64 *pcpu_busy_ns;  /* cumulative busy time per pCPU, NULL when unknown */
    guint64 *pcpu_bound_ns; /* ... of it, work that cannot leave the pCPU (interrupts, softirqs,
                             * steal; the simulated host's background); NULL when unknown */
    guint64 host_mem_total_kib;
    guint64 host_mem_available_kib; /* MemAvailable semantics; 0 when unknown */
    GPtrArray *domains;             /* VmbDomainStat*, running domains only */
    VmbTopology *topology;          /* a reference, NULL when the backend knows none (flat) */
} VmbSnapshot;

VmbSnapshot *vmb_snapshot_new(guint npcpus);
void vmb_snapshot_free(VmbSnapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbSnapshot, vmb_snapshot_free)

VmbDomainStat *vmb_domain_stat_new(const char *name, const char *uuid, guint nvcpus);
void vmb_domain_stat_free(VmbDomainStat *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbDomainStat, vmb_domain_stat_free)
const VmbDomainStat *vmb_snapshot_find(const VmbSnapshot *s, const char *uuid);

/* Sets @v's pin from an affinity of @n host CPUs: one CPU (pcpu), a set, or all (floating). */
void vmb_vcpu_stat_set_pin(VmbVcpuStat *v, const VmbCpuSet *affinity, guint n);
/* Is @v pinned to exactly @set (one CPU or several)? */
gboolean vmb_vcpu_stat_pinned_to(const VmbVcpuStat *v, const VmbCpuSet *set);
/* "4", "4-5,20" or "all" for the pin of @v. */
char *vmb_vcpu_stat_pin_text(const VmbVcpuStat *v);
