/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the files of the libvirt backend, and private to them: hv-libvirt.c (connection),
 * hv-libvirt-errors.c, hv-libvirt-stats.c and hv-libvirt-host.c (snapshot), hv-libvirt-requests.c,
 * and hv-libvirt-events.c (what libvirt tells us: connection loss, lifecycle and tunable events,
 * and the per-domain cache they keep up to date). */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domain-xml.h"
#include "hv-libvirt.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virError, virFreeError)

/* What the memory coordinator needs beyond the bulk statistics: read from the domain XML on
 * first sight, kept up to date by our requests and the memory-device events. */
typedef struct {
    guint64 balloon_target_kib; /* the target the balloon moves toward, 0 = unknown */
    guint features;             /* VmbBalloonFeature */
    VmbVirtioMemStat vmem;
    char *vmem_alias;   /* to name the device in an update */
    char *vmem_address; /* its <address/> element: libvirt matches the device by it */
    guint vmem_node;
    guint resets; /* reboot events seen */
} DomainMemCache;

typedef struct {
    guint nvcpus;
    gint *pins;                /* per vCPU: the one pCPU it is pinned to, or -1 */
    VmbCpuSet **sets;          /* per vCPU: its set pin (several, not all pCPUs), or NULL */
    guint64 refreshed_seq;     /* p->seq of the last read from libvirt */
    gboolean stale;            /* a pin event we could not follow: read them again */
    guint64 min_guarantee_kib; /* read once, on first sight */
    /* hv-libvirt-domain.c: read on first sight and after a change event, never per cycle */
    VmbDomainPolicy policy;    /* its vmbalance:policy metadata */
    gboolean policy_refused;   /* ... was invalid (logged) */
    gboolean policy_stale;     /* a metadata-change event came: read it again */
    guint hands_off;           /* VmbHandsOff bits of its persistent definition */
    gboolean definition_stale; /* it was defined again: read the definition again */
    gboolean migrating;        /* a migration of it is under way: hands off */
    DomainMemCache mem;        /* hv-libvirt-mem.c */
    char *emulator_cpus;       /* its emulator pin as we set it or an event said, NULL unknown */
    gint mem_node;             /* hv-libvirt-numa.c: dense node of its memory, -1 unknown */
    gint numatune_node;        /* host node of a one-node numatune nodeset, -1 none */
    gboolean numatune;         /* its live XML has <numatune><memory> with a mode */
    gboolean numatune_ours;    /* ... set by us: our numa-home record names it (numa-mark.h) */
    gint64 numa_read_us;       /* monotonic time of the last numa_maps read */
} DomainCache;

typedef struct {
    VmbHypervisor *hv; /* back pointer, for callbacks */
    virConnectPtr conn;
    int lifecycle_id; /* -1 when not registered */
    int tunable_id;   /* -1 when not registered */
    int metadata_id;  /* -1 when not registered (hv-libvirt-domain.c) */
    int migration_id; /* migration-iteration events, -1 when not registered */
    int job_id;       /* job-completed events, -1 when not registered */
    int memdev_id;    /* memory device size-change events, -1 when not registered */
    int reboot_id;    /* reboot events (hv-libvirt-mem.c), -1 when not registered */
    gboolean close_cb_registered;
    gboolean driver_pin_events; /* the driver sends a tunable event for every pin change */
    gboolean assume_pin_events; /* tests: as if it did (vmb_hv_libvirt_assume_pin_events()) */
    gboolean local;             /* the daemon runs on this host: read /proc/meminfo */
    guint npcpus;               /* host CPUs, refreshed every snapshot */
    guint64 seq;                /* snapshots taken on this connection */
    GHashTable *cache;          /* lower-case uuid -> DomainCache* */
    GHashTable *reported;       /* lower-case uuid -> Reported* (hv-libvirt-events.c) */
    /* A connection loss reported by libvirt's close callback, handled from an idle source. */
    GMutex lost_lock;
    GSource *lost_source;
    char *lost_reason;
    VmbTopology *topology; /* read once per connection (lv_read_topology), NULL: flat */
} LvPriv;

/* Makes one call to the hypervisor and counts it under @kind, a VmbHvCallKind without its prefix:
 * LV_CALL(p, PINS, virDomainGetVcpuPinInfo(...)). Calls the client library answers itself
 * (virDomainGetName(), virConnectIsAlive(), errors) are made directly. */
#define LV_CALL(p, kind, call) (vmb_hypervisor_count_call((p)->hv, VMB_HV_CALL_##kind), (call))

/* The backend state of @hv, NULL when @hv is not a libvirt one. */
LvPriv *lv_priv(VmbHypervisor *hv);

/* ---- errors (hv-libvirt-errors.c) ---- */

/* Maps a libvirt error to our codes. With @request (pin, set memory, ...), libvirt refusing the
 * arguments maps to VMB_HV_ERROR_INVALID. */
VmbHvError lv_classify_error(LvPriv *p, const virError *err, gboolean request);

/* The message of @err, or a stand-in when there is none. */
const char *lv_error_message(const virError *err);

/* Sets @error from a saved libvirt error, "<what>: <libvirt message>". */
void lv_set_error_saved(LvPriv *p, GError **error, const virError *err, gboolean request,
                        const char *format, ...) G_GNUC_PRINTF(5, 6);

/* Same, from libvirt's last error: use it right after the failing call. It saves the error
 * before evaluating its arguments (which may call libvirt). */
#define lv_set_error_last(p, error, request, ...)                                                  \
    G_STMT_START                                                                                   \
    {                                                                                              \
        g_autoptr(virError) saved_err_ = virSaveLastError();                                       \
        lv_set_error_saved((p), (error), saved_err_, (request), __VA_ARGS__);                      \
    }                                                                                              \
    G_STMT_END

/* After a failed call whose result is optional (the driver may not have it): TRUE when the
 * failure can be ignored, FALSE with @error when the connection is broken or the domain gone.
 * Call it right after the failing call, with arguments that do not call libvirt (every libvirt
 * call resets the last error, even virDomainGetName()). */
gboolean lv_soft_failure(LvPriv *p, GError **error, const char *format, ...) G_GNUC_PRINTF(3, 4);

/* ---- snapshot (hv-libvirt-stats.c, hv-libvirt-host.c) ---- */

/* A numeric typed parameter of any integer type, negative ones as 0. FALSE when absent. */
gboolean lv_param_u64(const virTypedParameter *params, int nparams, const char *name,
                      guint64 *value);
/* VmbHypervisorOps.snapshot */
VmbSnapshot *lv_snapshot(VmbHypervisor *hv, GError **error);
/* Host CPUs: virNodeGetCPUMap() gives the CPUs present, virNodeGetInfo() the active ones; the
 * smaller count that either source knows about, and @info. */
gboolean lv_query_npcpus(LvPriv *p, virNodeInfo *info, guint *npcpus, GError **error);
/* Busy time per pCPU into @s (left NULL when the driver has no per-CPU statistics). */
gboolean lv_query_pcpu_busy(LvPriv *p, VmbSnapshot *s, GError **error);
/* Host memory with MemAvailable semantics into @s. */
gboolean lv_query_host_memory(LvPriv *p, const virNodeInfo *info, VmbSnapshot *s, GError **error);

/* ---- requests (hv-libvirt-requests.c): VmbHypervisorOps.pin_vcpu, set_memory and
 * set_stats_period ---- */

/* The domain @uuid for a request (a reference), or NULL with @error: not connected, or no such
 * domain. */
virDomainPtr lv_request_domain(LvPriv *p, const char *uuid, GError **error);
gboolean lv_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus,
                     GError **error);
gboolean lv_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error);
gboolean lv_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error);

/* ---- events and connection loss (hv-libvirt-events.c) ---- */

/* Registers the close callback, keepalive probes and the lifecycle and tunable events on the
 * new connection. FALSE with @error when lifecycle events are not available. */
gboolean lv_events_register(LvPriv *p, GError **error);
/* Undoes lv_events_register() and drops a connection loss not handled yet. */
void lv_events_unregister(LvPriv *p);
/* Forgets vanished domains after a while (transient ones never come back). */
void lv_prune_reported(LvPriv *p);
/* Do pin changes reach the cache as tunable events on this connection? Otherwise the pins are
 * re-read periodically. */
gboolean lv_pins_follow_events(const LvPriv *p);
/* What tunable_cb() does with an event: tests deliver one through it (hv-libvirt.h). */
void lv_tunable_event(LvPriv *p, virDomainPtr dom, virTypedParameterPtr params, int nparams);

/* ---- the domain cache (hv-libvirt-events.c) ---- */

void lv_domain_cache_free(DomainCache *c);
/* The cache entry of @uuid, made on first sight (@first_sight) with the domain's min_guarantee,
 * which is read only then. NULL with no @error when the domain stopped in the meantime. */
DomainCache *lv_domain_cache_get(LvPriv *p, virDomainPtr dom, const char *uuid,
                                 gboolean *first_sight, GError **error);
/* Drops the entries of domains not in @running (lower-case uuids): they stopped. */
void lv_domain_cache_retain(LvPriv *p, GHashTable *running);
/* Our own pin of vCPU @vcpu of @uuid (any case) to @pcpu. */
void lv_pins_set(LvPriv *p, const char *uuid, guint vcpu, const VmbCpuSet *cpus);
/* The snapshot's pin of vCPU @vcpu of @c into @v. */
void lv_pins_fill(const DomainCache *c, guint vcpu, VmbVcpuStat *v);
/* Brings the cached pins of @dom up to date when they are due for a read (@first_sight, a
 * changed vCPU count @npins, a pin event not followed, or the periodic read without tunable
 * events). FALSE with no @error when the domain stopped in the meantime (@c is then freed),
 * FALSE with @error when the connection is broken. */
gboolean lv_pins_sync(LvPriv *p, virDomainPtr dom, const char *uuid, DomainCache *c,
                      gboolean first_sight, guint npins, GError **error);

/* ---- per-domain policy: metadata and persistent definition (hv-libvirt-domain.c) ---- */

/* Registers the metadata-change event (optional: without it, metadata is read when a domain
 * appears only, which is logged once). */
void lv_domain_events_register(LvPriv *p);
void lv_domain_events_unregister(LvPriv *p);
void lv_domain_migration_events_register(LvPriv *p);
void lv_domain_migration_events_unregister(LvPriv *p);
/* The domain was (re)defined: read its persistent definition at the next snapshot. */
void lv_domain_definition_changed(LvPriv *p, const char *uuid);
/* A migration of @uuid started (@migrating) or ended: it is left alone meanwhile. */
void lv_domain_migration(LvPriv *p, const char *uuid, gboolean migrating);
/* Before a request: FALSE with a VMB_HV_ERROR_NO_DOMAIN @error ("being migrated") when an
 * active migration job runs on @dom (and the cache says so from now on). */
gboolean lv_domain_check_not_migrating(LvPriv *p, virDomainPtr dom, GError **error);
/* The set_policy operation of the backend (hypervisor.h). */
gboolean lv_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error);
gboolean lv_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error);
/* Reads the metadata and the persistent definition of @dom into @c when @first_sight or an
 * event made them stale. FALSE with @error when the connection is broken (a domain gone in
 * the meantime is not an error: it leaves the next snapshot). The persistent definition it
 * read, if any, goes to @definition (may be NULL) for the other first-sight readers. */
gboolean lv_domain_policy_sync(LvPriv *p, virDomainPtr dom, const char *name, DomainCache *c,
                               gboolean first_sight, char **definition, GError **error);
/* ---- housekeeping pins and memory nodes (hv-libvirt-hk.c, hv-libvirt-numa.c) ---- */

/* VmbHypervisorOps.pin_housekeeping */
gboolean lv_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus,
                             GError **error);
/* The running domain @uuid for a live request that must not reach its persistent definition
 * (a reference), or NULL with @error: gone, stopped or migrating. */
virDomainPtr lv_running_domain(LvPriv *p, const char *uuid, GError **error);
/* Is the live numatune of @x ours: does our numa-home record of @dom name it? Read on first
 * sight, with the live XML @x. */
gboolean lv_numa_mark_read(LvPriv *p, virDomainPtr dom, const VmbDomainMemXml *x);
/* Records in @dom's live metadata that we bound its memory to @host_node. */
gboolean lv_numa_mark_write(LvPriv *p, virDomainPtr dom, gint host_node, GError **error);
/* VmbHypervisorOps.set_memory_node */
gboolean lv_set_memory_node(VmbHypervisor *hv, const char *uuid, guint node, GError **error);
/* The emulator threads of @c are pinned to @cpulist (libvirt's syntax) now. */
void lv_hk_emulator_pinned(DomainCache *c, const char *cpulist);
/* The node of the domain's memory into @c->mem_node: from its numatune (@c->numatune_node,
 * read with the live XML on first sight), else on a local host from /proc/PID/numa_maps of its QEMU
 * process, re-read once a minute. Never fails the snapshot. */
void lv_numa_sync(LvPriv *p, const char *name, DomainCache *c, gboolean first_sight);

/* ---- memory: domain XML on first sight, targets, virtio-mem (hv-libvirt-mem.c) ---- */

/* Reads what @c->mem holds from the domain's live XML and its persistent @definition (as
 * lv_domain_policy_sync() read it; NULL when it could not); @actual_kib is the balloon's
 * actual now. FALSE with @error only when the connection broke or the domain went away. */
gboolean lv_mem_read(LvPriv *p, virDomainPtr dom, DomainCache *c, guint64 actual_kib,
                     const char *definition, GError **error);
/* Copies the cached memory figures into @d. */
void lv_mem_fill(const DomainCache *c, VmbDomainStat *d);
/* Our own balloon request for @uuid (any case). */
void lv_mem_target_set(LvPriv *p, const char *uuid, guint64 kib);
/* VmbHypervisorOps.forget_target: libvirt 9.0 cannot say what target someone else gave QEMU
 * (the live <currentMemory> follows actual), so ours is dropped: unknown until our next one. */
void lv_mem_forget_target(VmbHypervisor *hv, const char *uuid);
void lv_mem_clear(DomainMemCache *m);
/* Follows virtio-mem size changes (VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE) when the
 * driver has the event; without it the plugged size is the one read on first sight. */
void lv_mem_events_register(LvPriv *p);
void lv_mem_events_unregister(LvPriv *p);
/* What reboot_cb() does with a reboot event of @dom: tests deliver one through it. */
void lv_mem_reboot_event(LvPriv *p, virDomainPtr dom);
/* VmbHypervisorOps.set_vmem_requested */
gboolean lv_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error);
