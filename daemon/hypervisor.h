/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one interface the tasks use to see and change the host: a snapshot per cycle, pin a
 * vCPU, set a domain's memory, turn on balloon statistics, and domain lifecycle events.
 * Backends: libvirt (any libvirt URI) and the simulated host (fake:///path/to/scenario).
 * This layer owns the connection: it reconnects with exponential backoff and reports
 * connection changes once, so callers never spin on a dead hypervisor. */
#pragma once

#include <glib.h>

#include "snapshot.h"

#define VMB_HV_ERROR (vmb_hv_error_quark())
GQuark vmb_hv_error_quark(void);
typedef enum {
    VMB_HV_ERROR_FAILED,
    VMB_HV_ERROR_DISCONNECTED, /* no connection; retried later */
    VMB_HV_ERROR_NO_DOMAIN,    /* the domain went away: not a fault */
    VMB_HV_ERROR_INVALID,      /* the request was refused (bad CPU, above maximum, ...) */
} VmbHvError;

typedef struct _VmbHypervisor VmbHypervisor;

/* Calls a backend makes to the hypervisor, by kind: what a cycle costs the hypervisor (with
 * libvirt, each is a round trip to libvirtd; calls answered by the client library are not
 * counted). */
typedef enum {
    VMB_HV_CALL_STATS,   /* the bulk domain statistics, once per snapshot */
    VMB_HV_CALL_NODE,    /* the host: CPU count, CPU and memory statistics */
    VMB_HV_CALL_DOMAIN,  /* per-domain reads of a snapshot: info, memory parameters, state */
    VMB_HV_CALL_PINS,    /* per-domain pin reads */
    VMB_HV_CALL_REQUEST, /* pins, memory and statistics periods set by the tasks, with look-ups */
    VMB_HV_CALL_CONNECT, /* opening and closing connections, event registration */
    VMB_HV_CALL_KINDS,
} VmbHvCallKind;

typedef struct {
    guint64 kind[VMB_HV_CALL_KINDS];
    guint64 total;
} VmbHvCalls;

typedef enum {
    VMB_DOMAIN_APPEARED,
    VMB_DOMAIN_VANISHED,
} VmbDomainEvent;

typedef void (*VmbDomainEventFunc)(VmbHypervisor *hv, VmbDomainEvent event, const char *name,
                                   const char *uuid, gpointer user_data);
typedef void (*VmbConnectionFunc)(VmbHypervisor *hv, gboolean connected, const char *reason,
                                  gpointer user_data);

typedef struct {
    const char *name;
    gboolean (*open)(VmbHypervisor *hv, GError **error);
    void (*close)(VmbHypervisor *hv);
    VmbSnapshot *(*snapshot)(VmbHypervisor *hv, GError **error);
    /* Pins to the CPUs of @cpus (one, or a set: cpu.pin_to), none beyond the host's. */
    gboolean (*pin_vcpu)(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus,
                         GError **error);
    gboolean (*set_memory)(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error);
    gboolean (*set_stats_period)(VmbHypervisor *hv, const char *uuid, guint seconds,
                                 GError **error);
    void (*free)(VmbHypervisor *hv);
    /* Writes the vmbalance:policy element (domain-policy.h; NULL removes it) to the live and,
     * for a persistent domain, the persistent definition. NULL: the backend cannot. */
    gboolean (*set_policy)(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error);
    /* Reads the element now (*xml NULL when there is none), for a change to start from. */
    gboolean (*get_policy)(VmbHypervisor *hv, const char *uuid, char **xml, GError **error);
    /* The requested size of a domain's virtio-mem device; NULL when the backend has none. */
    gboolean (*set_vmem_requested)(VmbHypervisor *hv, const char *uuid, guint64 kib,
                                   GError **error);
    /* The balloon of @uuid follows a target someone else set: the last target the backend
     * knows (ours) is no longer reported. NULL: the backend reports none it could get wrong. */
    void (*forget_target)(VmbHypervisor *hv, const char *uuid);
    /* Pins the domain's QEMU emulator threads and every IOThread to @cpus (live); NULL when
     * the backend cannot. */
    gboolean (*pin_housekeeping)(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus,
                                 GError **error);
    /* Moves the domain's memory to NUMA node @node (dense topology index) and binds it there
     * (live only), recording beside it that the binding is ours (numa-mark.h: snapshots then
     * report VmbDomainStat.numatune_ours, after a restart too); NULL when the backend cannot. */
    gboolean (*set_memory_node)(VmbHypervisor *hv, const char *uuid, guint node, GError **error);
} VmbHypervisorOps;

struct _VmbHypervisor {
    const VmbHypervisorOps *ops;
    char *uri;
    gboolean connected;
    gint64 next_retry_us; /* monotonic time of the next reconnect attempt */
    guint backoff_s;      /* current reconnect delay */
    guint reconnects;     /* successful reconnections after a loss */
    VmbDomainEventFunc event_func;
    gpointer event_data;
    VmbConnectionFunc conn_func;
    gpointer conn_data;
    VmbHvCalls calls;      /* since vmb_hypervisor_new(), over all connections */
    GHashTable *bad_names; /* UUIDs whose unprintable name was reported */
    gpointer priv;         /* backend state */
};

/* Picks the backend from @uri ("fake://..." or anything libvirt accepts). Does not connect. */
VmbHypervisor *vmb_hypervisor_new(const char *uri, GError **error);
void vmb_hypervisor_free(VmbHypervisor *hv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbHypervisor, vmb_hypervisor_free)

void vmb_hypervisor_set_event_func(VmbHypervisor *hv, VmbDomainEventFunc func, gpointer data);
void vmb_hypervisor_set_connection_func(VmbHypervisor *hv, VmbConnectionFunc func, gpointer data);

/* Connects if not connected and the backoff allows it. */
gboolean vmb_hypervisor_ensure_connected(VmbHypervisor *hv, GError **error);
VmbSnapshot *vmb_hypervisor_snapshot(VmbHypervisor *hv, GError **error);
/* Pins vCPU @vcpu to the one pCPU @pcpu. */
gboolean vmb_hypervisor_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, guint pcpu,
                                 GError **error);
/* Pins vCPU @vcpu to the pCPUs of @cpus (not empty): the kernel balances it inside them. */
gboolean vmb_hypervisor_pin_vcpu_set(VmbHypervisor *hv, const char *uuid, guint vcpu,
                                     const VmbCpuSet *cpus, GError **error);
gboolean vmb_hypervisor_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib,
                                   GError **error);
gboolean vmb_hypervisor_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds,
                                         GError **error);
gboolean vmb_hypervisor_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml,
                                   GError **error);
gboolean vmb_hypervisor_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error);
gboolean vmb_hypervisor_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib,
                                           GError **error);
/* See VmbHypervisorOps.forget_target. */
void vmb_hypervisor_forget_target(VmbHypervisor *hv, const char *uuid);
gboolean vmb_hypervisor_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus,
                                         GError **error);
/* See VmbHypervisorOps.set_memory_node. */
gboolean vmb_hypervisor_set_memory_node(VmbHypervisor *hv, const char *uuid, guint node,
                                        GError **error);

/* @name made safe for D-Bus strings, journal fields and terminals: valid UTF-8 without
 * control or line-separator characters. Invalid bytes and ASCII controls become \xNN, other
 * such characters \uNNNN. NULL when @name is fine as it is. Every name a backend reports
 * passes through here (snapshots, domain events). */
char *vmb_hypervisor_printable_name(const char *name);

/* Calls made so far, and since an earlier reading @before (e.g. over one snapshot). */
VmbHvCalls vmb_hypervisor_calls(const VmbHypervisor *hv);
VmbHvCalls vmb_hypervisor_calls_since(const VmbHypervisor *hv, const VmbHvCalls *before);

/* For backends: count one call of @kind. */
void vmb_hypervisor_count_call(VmbHypervisor *hv, VmbHvCallKind kind);
/* For backends: report a lost connection (from a close callback or a failed call). */
void vmb_hypervisor_lost(VmbHypervisor *hv, const char *reason);
void vmb_hypervisor_emit_domain(VmbHypervisor *hv, VmbDomainEvent event, const char *name,
                                const char *uuid);

/* Backend constructors. */
VmbHypervisor *vmb_hv_libvirt_new(const char *uri);
VmbHypervisor *vmb_hv_fake_new(const char *uri, GError **error);
