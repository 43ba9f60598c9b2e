/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What libvirt tells the backend without being asked: connection loss (close callback and
 * keepalive), domain lifecycle events, tunable events, and the per-domain cache they keep up to
 * date (pins, and min_guarantee read on first sight).
 * Callbacks run on the GLib default main context (libvirt-glib). */
#include "hv-libvirt-priv.h"

#include "cpuset.h"
#include "log.h"

#include <string.h>

/* Pins are not part of the bulk statistics. They are read per domain with
 * virDomainGetVcpuPinInfo(), one call each, and cached: a domain is read when first seen (so
 * after every connect: the cache goes with the connection), when it (re)starts, when its vCPU
 * count changes and when a pin event could not be followed. In between, our own pins update the
 * cache directly and pins changed by others through libvirt (virsh vcpupin) arrive as tunable
 * events (cputune.vcpupinN). That is all there is to see: the call returns the live definition,
 * which only libvirt changes (an affinity set with taskset never shows in it). With 1,000
 * domains a periodic read would cost 1,000 calls. Only a driver that sends no tunable events
 * (see driver_sends_pin_events()) gets its pins re-read every PIN_REFRESH_EVERY snapshots. */
#define PIN_REFRESH_EVERY 10

/* How long a vanished domain's last event is remembered (see report_domain()). */
#define VANISHED_MEMORY_S 60

#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT      3

typedef struct {
    VmbDomainEvent last; /* the last event reported for the domain */
    gint64 when_s;       /* monotonic seconds then */
} Reported;

static void
clear_sets(DomainCache *c)
{
    for (guint v = 0; c->sets && v < c->nvcpus; v++)
        g_free(c->sets[v]);
    g_clear_pointer(&c->sets, g_free);
}

/* Caches vCPU @vcpu's affinity @aff over the host's @npcpus: one pCPU, a set, or all. */
static void
cache_pin(DomainCache *c, guint vcpu, const VmbCpuSet *aff, guint npcpus)
{
    VmbVcpuStat v = {0};
    vmb_vcpu_stat_set_pin(&v, aff, npcpus);
    c->pins[vcpu] = v.pcpu;
    g_free(c->sets[vcpu]);
    c->sets[vcpu] = v.cpus;
}

void
lv_pins_fill(const DomainCache *c, guint vcpu, VmbVcpuStat *v)
{
    v->pcpu = c->pins[vcpu];
    g_free(v->cpus);
    v->cpus = c->sets[vcpu] ? g_memdup2(c->sets[vcpu], sizeof(VmbCpuSet)) : NULL;
}

void
lv_domain_cache_free(DomainCache *c)
{
    clear_sets(c);
    g_free(c->pins);
    g_free(c->emulator_cpus);
    lv_mem_clear(&c->mem);
    g_free(c);
}

/* ---- connection loss ---- */

static gboolean
lost_idle_cb(gpointer data)
{
    LvPriv *p = data;
    g_mutex_lock(&p->lost_lock);
    GSource *source = g_steal_pointer(&p->lost_source);
    g_autofree char *reason = g_steal_pointer(&p->lost_reason);
    g_mutex_unlock(&p->lost_lock);
    /* We hold our own reference on the source: lv_close() (called from here through
     * vmb_hypervisor_lost) sees no pending source, and @p is not touched after this call. */
    vmb_hypervisor_lost(p->hv, reason);
    g_source_unref(source);
    return G_SOURCE_REMOVE;
}

static void
close_cb(virConnectPtr conn, int reason, void *opaque)
{
    LvPriv *p = opaque;
    const char *text;
    switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_ERROR:
        text = "connection to libvirt lost: I/O error";
        break;
    case VIR_CONNECT_CLOSE_REASON_EOF:
        text = "connection to libvirt lost: end of file (libvirtd stopped?)";
        break;
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
        text = "connection to libvirt lost: keepalive timeout";
        break;
    case VIR_CONNECT_CLOSE_REASON_CLIENT:
    default:
        return; /* our own virConnectClose() */
    }
    /* libvirt calls us with its connection locks held: closing the connection from here would
     * deadlock, so hand the loss to the main loop. */
    g_mutex_lock(&p->lost_lock);
    if (!p->lost_source) {
        p->lost_reason = g_strdup(text);
        p->lost_source = g_idle_source_new();
        g_source_set_priority(p->lost_source, G_PRIORITY_HIGH_IDLE);
        g_source_set_callback(p->lost_source, lost_idle_cb, p, NULL);
        g_source_set_name(p->lost_source, "vmb-libvirt-lost");
        g_source_attach(p->lost_source, NULL);
    }
    g_mutex_unlock(&p->lost_lock);
}

static void
forget_domain(LvPriv *p, const char *uuid)
{
    g_hash_table_remove(p->cache, uuid);
}

/* libvirt sends several events for one change: QEMU starts a domain with STARTED then RESUMED,
 * shuts it down with SHUTDOWN (finished) then STOPPED, and a crash is CRASHED then STOPPED. Report
 * only changes, so a domain's events alternate APPEARED / VANISHED (the first one for a domain
 * already running when we connected is reported as it comes). TRUE when @event is to be sent. */
static gboolean
report_domain(LvPriv *p, const char *uuid, VmbDomainEvent event)
{
    Reported *r = g_hash_table_lookup(p->reported, uuid);
    if (r && r->last == event)
        return FALSE;
    if (!r) {
        r = g_new0(Reported, 1);
        g_hash_table_insert(p->reported, g_strdup(uuid), r);
    }
    r->last = event;
    r->when_s = g_get_monotonic_time() / G_USEC_PER_SEC;
    return TRUE;
}

void
lv_prune_reported(LvPriv *p)
{
    gint64 now_s = g_get_monotonic_time() / G_USEC_PER_SEC;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, p->reported);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const Reported *r = value;
        if (r->last == VMB_DOMAIN_VANISHED && now_s - r->when_s > VANISHED_MEMORY_S)
            g_hash_table_iter_remove(&it);
    }
}

static int
lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    LvPriv *p = opaque;
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(dom);
    if (!name || virDomainGetUUIDString(dom, uuid_buf) < 0) {
        virResetLastError();
        return 0;
    }
    /* Our own copies: the callback below may close the connection (and clear our tables). */
    g_autofree char *uuid = g_ascii_strdown(uuid_buf, -1);
    g_autofree char *name_copy = g_strdup(name);

    switch (event) {
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        /* A (re)started domain may come with other pins: read them again. */
        if (event == VIR_DOMAIN_EVENT_STARTED)
            forget_domain(p, uuid);
        else /* running here again: a migration that failed or was cancelled is over */
            lv_domain_migration(p, uuid, FALSE);
        if (report_domain(p, uuid, VMB_DOMAIN_APPEARED))
            vmb_hypervisor_emit_domain(p->hv, VMB_DOMAIN_APPEARED, name_copy, uuid);
        break;
    case VIR_DOMAIN_EVENT_STOPPED:  /* any detail: shutdown, destroyed, crashed, saved, ... */
    case VIR_DOMAIN_EVENT_SHUTDOWN: /* every detail means "finished shutting down" */
    case VIR_DOMAIN_EVENT_CRASHED:
        forget_domain(p, uuid);
        if (report_domain(p, uuid, VMB_DOMAIN_VANISHED))
            vmb_hypervisor_emit_domain(p->hv, VMB_DOMAIN_VANISHED, name_copy, uuid);
        break;
    case VIR_DOMAIN_EVENT_DEFINED: /* its persistent definition changed */
        lv_domain_definition_changed(p, uuid);
        break;
    case VIR_DOMAIN_EVENT_UNDEFINED:
        g_hash_table_remove(p->reported, uuid);
        forget_domain(p, uuid);
        break;
    default:
        /* SUSPENDED, PMSUSPENDED: not reported (a paused domain just leaves the snapshots). */
        break;
    }
    return 0;
}

/* cputune.vcpupinN = "cpulist": someone (maybe us) pinned a vCPU through libvirt. */
void
lv_tunable_event(LvPriv *p, virDomainPtr dom, virTypedParameterPtr params, int nparams)
{
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid_buf) < 0) {
        virResetLastError();
        return;
    }
    g_autofree char *uuid = g_ascii_strdown(uuid_buf, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, uuid);
    static const char prefix[] = "cputune.vcpupin";
    for (int k = 0; c && k < nparams; k++) {
        if (g_strcmp0(params[k].field, "cputune.emulatorpin") == 0 &&
            params[k].type == VIR_TYPED_PARAM_STRING) {
            lv_hk_emulator_pinned(c, params[k].value.s);
            continue;
        }
        if (!g_str_has_prefix(params[k].field, prefix) || params[k].type != VIR_TYPED_PARAM_STRING)
            continue;
        const char *num = params[k].field + strlen(prefix);
        char *end = NULL;
        guint64 vcpu = g_ascii_strtoull(num, &end, 10);
        if (end == num || *end || vcpu >= c->nvcpus)
            continue;
        VmbCpuSet set;
        gboolean all = FALSE;
        if (!vmb_cpuset_parse(params[k].value.s, &set, &all, NULL)) {
            c->stale = TRUE; /* read it back instead */
            continue;
        }
        if (all) {
            vmb_cpuset_clear(&set);
            for (guint cpu = 0; cpu < p->npcpus && cpu < VMB_MAX_CPUS; cpu++)
                vmb_cpuset_add(&set, cpu);
        }
        VmbVcpuStat now = {.pcpu = c->pins[vcpu], .cpus = c->sets[vcpu]};
        VmbVcpuStat seen = {0};
        vmb_vcpu_stat_set_pin(&seen, &set, p->npcpus);
        gboolean same = seen.cpus ? vmb_vcpu_stat_pinned_to(&now, seen.cpus)
                                  : !now.cpus && now.pcpu == seen.pcpu;
        g_free(seen.cpus);
        if (!same) {
            g_autofree char *safe = vmb_hypervisor_printable_name(virDomainGetName(dom));
            g_debug("%s vCPU %u pinned to %s (tunable event)", safe ? safe : virDomainGetName(dom),
                    (guint) vcpu, params[k].value.s);
        }
        cache_pin(c, (guint) vcpu, &set, p->npcpus);
    }
}

static int
tunable_cb(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int nparams,
           void *opaque)
{
    lv_tunable_event(opaque, dom, params, nparams);
    return 0;
}

/* ---- registration ---- */

/* Does the driver send a tunable event for every live pin change? QEMU does (cputune.vcpupinN
 * from virDomainPinVcpu*, which virsh vcpupin uses); the test and Cloud Hypervisor drivers accept
 * the registration but never send one. FALSE with the reason in @why. */
static gboolean
driver_sends_pin_events(LvPriv *p, char **why)
{
    const char *type = LV_CALL(p, CONNECT, virConnectGetType(p->conn));
    if (!type) {
        g_autoptr(virError) err = virSaveLastError();
        *why = g_strdup_printf("unknown driver (%s)", lv_error_message(err));
        virResetLastError();
        return FALSE;
    }
    if (g_ascii_strcasecmp(type, "QEMU") == 0)
        return TRUE;
    *why = g_strdup_printf("the %s driver sends no tunable events", type);
    return FALSE;
}

gboolean
lv_pins_follow_events(const LvPriv *p)
{
    return p->tunable_id >= 0 && (p->driver_pin_events || p->assume_pin_events);
}

gboolean
lv_events_register(LvPriv *p, GError **error)
{
    if (virConnectRegisterCloseCallback(p->conn, close_cb, p, NULL) == 0)
        p->close_cb_registered = TRUE;
    /* Remote connections (qemu:///system goes through libvirtd) get keepalive probes so a hung
     * daemon is noticed; drivers without it (test:///) refuse, which is fine. */
    if (virConnectSetKeepAlive(p->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0)
        virResetLastError();

    p->lifecycle_id =
        LV_CALL(p, CONNECT,
                virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), p, NULL));
    if (p->lifecycle_id < 0) {
        lv_set_error_last(p, error, FALSE, "cannot register for domain events");
        return FALSE;
    }

    p->tunable_id =
        LV_CALL(p, CONNECT,
                virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_TUNABLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(tunable_cb), p, NULL));
    g_autofree char *why = NULL;
    if (p->tunable_id < 0) {
        g_autoptr(virError) err = virSaveLastError();
        why = g_strdup_printf("cannot register for tunable events: %s", lv_error_message(err));
        virResetLastError();
    }
    p->driver_pin_events = !why && driver_sends_pin_events(p, &why);
    if (!lv_pins_follow_events(p))
        vmb_log_once("libvirt-pins-reread", G_LOG_LEVEL_INFO,
                     "vCPU pins are re-read every %d cycles (one call per domain): %s",
                     PIN_REFRESH_EVERY, why);
    else
        g_debug("vCPU pin changes follow tunable events");
    lv_domain_events_register(p);
    lv_mem_events_register(p);
    return TRUE;
}

void
lv_events_unregister(LvPriv *p)
{
    g_mutex_lock(&p->lost_lock);
    if (p->lost_source) {
        g_source_destroy(p->lost_source);
        g_clear_pointer(&p->lost_source, g_source_unref);
    }
    g_clear_pointer(&p->lost_reason, g_free);
    g_mutex_unlock(&p->lost_lock);

    if (p->conn) {
        /* Each may fail on a dead connection; nothing to do about it. */
        if (p->lifecycle_id >= 0)
            LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->lifecycle_id));
        if (p->tunable_id >= 0)
            LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->tunable_id));
        if (p->close_cb_registered)
            virConnectUnregisterCloseCallback(p->conn, close_cb);
    }
    lv_domain_events_unregister(p);
    lv_mem_events_unregister(p);
    p->lifecycle_id = -1;
    p->tunable_id = -1;
    p->close_cb_registered = FALSE;
    p->driver_pin_events = FALSE;
}

/* ---- the domain cache: pins and min_guarantee ---- */

/* <memtune><min_guarantee> in KiB, 0 when unset or when the driver has no such parameter (QEMU
 * refuses min_guarantee altogether). */
static gboolean
query_min_guarantee(LvPriv *p, virDomainPtr dom, guint64 *kib, GError **error)
{
    *kib = 0;
    const char *name = virDomainGetName(dom);
    int n = 0;
    if (LV_CALL(p, DOMAIN, virDomainGetMemoryParameters(dom, NULL, &n, 0)) == 0) {
        if (n <= 0)
            return TRUE;
        g_autofree virTypedParameter *params = g_new0(virTypedParameter, n);
        if (LV_CALL(p, DOMAIN, virDomainGetMemoryParameters(dom, params, &n, 0)) == 0) {
            guint64 v = 0;
            if (lv_param_u64(params, n, VIR_DOMAIN_MEMORY_MIN_GUARANTEE, &v) &&
                v != VIR_DOMAIN_MEMORY_PARAM_UNLIMITED)
                *kib = v;
            virTypedParamsClear(params, n);
            return TRUE;
        }
    }
    return lv_soft_failure(p, error, "cannot get the memory parameters of %s", name);
}

DomainCache *
lv_domain_cache_get(LvPriv *p, virDomainPtr dom, const char *uuid, gboolean *first_sight,
                    GError **error)
{
    DomainCache *c = g_hash_table_lookup(p->cache, uuid);
    *first_sight = c == NULL;
    if (c)
        return c;
    c = g_new0(DomainCache, 1);
    c->mem_node = -1;
    c->numatune_node = -1;
    g_hash_table_insert(p->cache, g_strdup(uuid), c);
    g_autoptr(GError) local = NULL;
    if (!query_min_guarantee(p, dom, &c->min_guarantee_kib, &local)) {
        g_hash_table_remove(p->cache, uuid);
        if (!g_error_matches(local, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN))
            g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    return c;
}

void
lv_domain_cache_retain(LvPriv *p, GHashTable *running)
{
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, p->cache);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_hash_table_contains(running, key))
            g_hash_table_iter_remove(&it);
    }
}

void
lv_pins_set(LvPriv *p, const char *uuid, guint vcpu, const VmbCpuSet *cpus)
{
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c && vcpu < c->nvcpus)
        cache_pin(c, vcpu, cpus, p->npcpus);
}

/* The CPUs of @map among the host's @npcpus. */
static void
map_to_set(const unsigned char *map, int maplen, guint npcpus, VmbCpuSet *set)
{
    vmb_cpuset_clear(set);
    for (guint cpu = 0; cpu < npcpus && cpu < (guint) maplen * 8 && cpu < VMB_MAX_CPUS; cpu++) {
        if (VIR_CPU_USABLE(map, maplen, 0, cpu))
            vmb_cpuset_add(set, cpu);
    }
}

/* Reads the pins of @dom for @nvcpus vCPUs into @c. FALSE with @error on failure. */
static gboolean
refresh_pins(LvPriv *p, virDomainPtr dom, DomainCache *c, guint nvcpus, GError **error)
{
    if (nvcpus == 0) {
        clear_sets(c);
        g_clear_pointer(&c->pins, g_free);
        c->nvcpus = 0;
        c->refreshed_seq = p->seq;
        c->stale = FALSE;
        return TRUE;
    }
    int maplen = VIR_CPU_MAPLEN(p->npcpus);
    g_autofree unsigned char *maps = g_malloc0((gsize) maplen * nvcpus);
    int n = LV_CALL(
        p, PINS,
        virDomainGetVcpuPinInfo(dom, (int) nvcpus, maps, maplen, VIR_DOMAIN_AFFECT_CURRENT));
    if (n < 0) {
        lv_set_error_last(p, error, FALSE, "cannot get the vCPU pins of %s", virDomainGetName(dom));
        return FALSE;
    }
    clear_sets(c);
    g_free(c->pins);
    c->nvcpus = nvcpus;
    c->pins = g_new(gint, nvcpus);
    c->sets = g_new0(VmbCpuSet *, nvcpus);
    for (guint i = 0; i < nvcpus; i++) {
        VmbCpuSet set;
        vmb_cpuset_clear(&set);
        if ((int) i < n)
            map_to_set(VIR_GET_CPUMAP(maps, maplen, i), maplen, p->npcpus, &set);
        else /* not reported: as if it floated */
            for (guint cpu = 0; cpu < p->npcpus && cpu < VMB_MAX_CPUS; cpu++)
                vmb_cpuset_add(&set, cpu);
        cache_pin(c, i, &set, p->npcpus);
    }
    c->refreshed_seq = p->seq;
    c->stale = FALSE;
    return TRUE;
}

/* Are the cached pins due for a read from libvirt? */
static gboolean
pins_need_refresh(const LvPriv *p, const DomainCache *c, gboolean first_sight, guint npins)
{
    return first_sight || c->stale || c->nvcpus != npins ||
           (!lv_pins_follow_events(p) && p->seq - c->refreshed_seq >= PIN_REFRESH_EVERY);
}

/* Reads the pins of @dom into @c. Any other failure than a broken connection or a stopped domain
 * leaves them unknown (-1, "not on one pCPU") until the next snapshot reads them again. FALSE
 * with no @error when the domain stopped in the meantime: @c is then freed. */
static gboolean
update_pins(LvPriv *p, virDomainPtr dom, const char *uuid, DomainCache *c, guint npins,
            GError **error)
{
    g_autoptr(GError) local = NULL;
    if (refresh_pins(p, dom, c, npins, &local))
        return TRUE;
    if (g_error_matches(local, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (g_error_matches(local, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN) ||
        LV_CALL(p, DOMAIN, virDomainIsActive(dom)) != 1) {
        g_hash_table_remove(p->cache, uuid);
        return FALSE;
    }
    c->nvcpus = 0;
    c->refreshed_seq = p->seq;
    virResetLastError();
    return TRUE;
}

gboolean
lv_pins_sync(LvPriv *p, virDomainPtr dom, const char *uuid, DomainCache *c, gboolean first_sight,
             guint npins, GError **error)
{
    return !pins_need_refresh(p, c, first_sight, npins) ||
           update_pins(p, dom, uuid, c, npins, error);
}

/* ---- for tests (hv-libvirt.h) ---- */

gboolean
vmb_hv_libvirt_pins_follow_events(VmbHypervisor *hv)
{
    LvPriv *p = lv_priv(hv);
    return p && lv_pins_follow_events(p);
}

void
vmb_hv_libvirt_assume_pin_events(VmbHypervisor *hv, gboolean assume)
{
    LvPriv *p = lv_priv(hv);
    g_return_if_fail(p);
    p->assume_pin_events = assume;
}

void
vmb_hv_libvirt_tunable_event(VmbHypervisor *hv, virDomainPtr dom, virTypedParameterPtr params,
                             int nparams)
{
    LvPriv *p = lv_priv(hv);
    g_return_if_fail(p);
    lv_tunable_event(p, dom, params, nparams);
}

void
vmb_hv_libvirt_reboot_event(VmbHypervisor *hv, virDomainPtr dom)
{
    LvPriv *p = lv_priv(hv);
    g_return_if_fail(p);
    lv_mem_reboot_event(p, dom);
}
