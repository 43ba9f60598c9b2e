/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the files of the simulated host, and private to them: hv-fake.c (constructors and
 * test hooks), hv-fake-cpu.c (the CPU step), hv-fake-sim.c (memory, lifecycle, clock),
 * hv-fake-snapshot.c and hv-fake-requests.c. */
#pragma once

#include "hv-fake.h"

#define TICK_S             0.1
#define GUEST_RESERVED_MIB 16.0       /* what a guest cannot give back beyond its use */
#define GUEST_KERNEL_MIB   8.0        /* actual minus guest MemTotal (kernel reservations) */
#define CACHE_FILL_MIB_S   8.0        /* how fast free guest memory turns into page cache */
#define OOM_RECOVERY_S     2.0        /* the killed workload restarts after this ... */
#define OOM_RAMP_MIB_S     50.0       /* ... and allocates its memory again at this pace */
#define WALL_ORIGIN_S      1700000000 /* simulated epoch for manual clocks */
#define SWAP_TOUCH_PER_S   0.05       /* share of its swapped pages a guest touches a second */
#define PAGE_KIB           4.0
#define PLUG_MIB_S         512.0 /* virtio-mem plugs quickly ... */
#define UNPLUG_MIB_S       32.0  /* ... and unplugs slowly, only memory the guest has free */

typedef struct {
    VmbScenarioDomain *def;
    gboolean running;
    gint *pins;
    gint *set; /* per vCPU: index in Fake.sets of its set pin, -1 for one pCPU or floating */
    guint64 *time_ns, *wait_ns;
    double *demand; /* per vCPU at the current step */
    double actual_mib, target_mib;
    double shown_actual_mib, shown_until; /* actual the snapshot shows until then (a lag) */
    double resident_mib; /* host memory it holds: actual, or what it touched when lazy */
    guint stats_period;  /* 0 = guest statistics off */
    double last_stats_t;
    double stats_usable_mib, stats_unused_mib, stats_available_mib; /* as of last_stats_t */
    gboolean have_stats;
    double cache_mib; /* guest page cache: reclaimable, part of usable, not of unused */
    double oom_until; /* last OOM kill: nothing in use until then, then a ramp back */
    guint oom_kills, autodeflates;
    char *metadata; /* the live vmbalance:policy element (the scenario's, then as set) */
    VmbDomainPolicy policy;
    gboolean policy_refused;
    guint hands_off;
    gint mem_node;      /* NUMA node of its memory (topology index), -1 without a topology */
    gint numatune_node; /* its live numatune's one node (strict), -1 none: the scenario's
                         * node, a memory move, vmb_hv_fake_set_numatune() */
    char *numa_mark;    /* its live vmbalanced:numa-home element (numa-mark.h), NULL none */
    guint mem_moves;    /* memory moves it got since it booted */
    double swapped_mib; /* guest memory in swap */
    double swap_in_kib, major_faults;             /* cumulative */
    double stats_swap_in_kib, stats_major_faults; /* as of last_stats_t */
    double vmem_requested_mib, vmem_plugged_mib;  /* its virtio-mem device */
    double requested_mib;     /* the last target requested (what libvirt reports) */
    double balloon_pages_mib; /* with virtio-mem, QEMU keeps the balloon's size, not its target:
                                 (memory then - target), set by each request */
    char *emulator_cpus;      /* its emulator/IOThread pin ("0-1"), NULL = all CPUs (boot) */
    guint hk_pins;            /* housekeeping pin requests it got */
    VmbCpuSet emu_set;        /* ... as a set; emu_n = 0: floating */
    guint emu_n;
    guint64 other_ns; /* cumulative time its emulator threads ran (in cpu.time) */
} FakeDomain;

typedef struct {
    VmbScenario *sc;
    gboolean manual;
    gint64 origin_us;
    gint64 wall_origin_s;
    double now;
    guint64 *busy_ns;
    guint64 *bound_ns; /* part of busy_ns: the scenario's per-pCPU background */
    double *last_load;
    FakeDomain *doms;
    GPtrArray *sets; /* VmbCpuSet*: every set a vCPU was pinned to, each once */
    VmbFakeCounters counters;
    guint64 reserve_kib;
    gboolean any_emulator; /* a domain has emulator load: the CPU step looks for pins */
} Fake;

static inline Fake *
fake_of(VmbHypervisor *hv)
{
    return hv->priv;
}

/* splitmix64: noise as a pure function of (seed, domain, vCPU, second), so results do not
 * depend on how often the simulation is sampled. */
static inline guint64
mix(guint64 x)
{
    x += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* hv-fake-cpu.c */
void fake_step_cpu(Fake *f, double t, double dt);

/* hv-fake-sim.c */
gboolean fake_is_down(Fake *f);
void fake_domain_boot(Fake *f, FakeDomain *d);
double fake_host_used_mib(Fake *f);
double fake_guest_used(FakeDomain *d, double t);
void fake_sync_clock(VmbHypervisor *hv, gboolean measuring);

/* hv-fake-requests.c */
gboolean fake_check_up(VmbHypervisor *hv, gboolean measuring, GError **error);
void fake_set_emulator_pin(FakeDomain *d, const VmbCpuSet *cpus);
gboolean fake_open(VmbHypervisor *hv, GError **error);
void fake_close(VmbHypervisor *hv);
gboolean fake_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus,
                       GError **error);
gboolean fake_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error);
void fake_forget_target(VmbHypervisor *hv, const char *uuid);
gboolean fake_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error);
gboolean fake_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error);
gboolean fake_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus,
                               GError **error);
gboolean fake_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error);
gboolean fake_set_memory_node(VmbHypervisor *hv, const char *uuid, guint node, GError **error);
gboolean fake_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error);

/* hv-fake-snapshot.c */
VmbSnapshot *fake_snapshot(VmbHypervisor *hv, GError **error);
