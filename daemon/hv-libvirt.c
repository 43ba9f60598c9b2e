/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend: one bulk statistics call per snapshot, vCPU pinning, live memory and
 * balloon statistics period, and lifecycle events on the GLib default main context (through
 * libvirt-glib). It never prints: every libvirt error becomes a GError. */
#include "hv-libvirt.h"

#include "cpuset.h"
#include "host-proc.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include <libvirt/virterror.h>
#include <libvirt-glib/libvirt-glib.h>

/* Pins are not part of the bulk statistics. They are read per domain with
 * virDomainGetVcpuPinInfo() (a cheap call) and cached: a domain is read when first seen, when its
 * vCPU count changes, when it (re)starts, and then every PIN_REFRESH_EVERY snapshots. Our own
 * pins update the cache directly; pins changed behind our back through libvirt (virsh vcpupin)
 * arrive as tunable events (cputune.vcpupinN) and update it at once; the periodic read catches
 * the rest (affinity set outside libvirt). The cache is dropped with the connection. */
#define PIN_REFRESH_EVERY 10

/* How long a vanished domain's last event is remembered (see report_domain()). */
#define VANISHED_MEMORY_S 60

#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT      3

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virError, virFreeError)

typedef struct {
    guint nvcpus;
    gint *pins;                /* per vCPU: the one pCPU it is pinned to, or -1 */
    guint64 refreshed_seq;     /* p->seq of the last read from libvirt */
    gboolean stale;            /* a pin event we could not follow: read them again */
    guint64 min_guarantee_kib; /* read once, on first sight */
} DomainCache;

typedef struct {
    VmbDomainEvent last; /* the last event reported for the domain */
    gint64 when_s;       /* monotonic seconds then */
} Reported;

typedef struct {
    VmbHypervisor *hv; /* back pointer, for callbacks */
    virConnectPtr conn;
    int lifecycle_id; /* -1 when not registered */
    int tunable_id;   /* -1 when not registered (pins then wait for the periodic read) */
    gboolean close_cb_registered;
    gboolean local;       /* the daemon runs on this host: read /proc/meminfo */
    guint npcpus;         /* host CPUs, refreshed every snapshot */
    guint64 seq;          /* snapshots taken on this connection */
    GHashTable *cache;    /* lower-case uuid -> DomainCache* */
    GHashTable *reported; /* lower-case uuid -> Reported* */
    /* A connection loss reported by libvirt's close callback, handled from an idle source. */
    GMutex lost_lock;
    GSource *lost_source;
    char *lost_reason;
} LvPriv;

static void
domain_cache_free(DomainCache *c)
{
    g_free(c->pins);
    g_free(c);
}

/* ---- errors ---- */

static void
quiet_error_handler(void *user_data, virErrorPtr err)
{
    /* libvirt prints errors to stderr by default; we report them through GErrors instead. */
}

static void
global_init_once(void)
{
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        /* libvirt writes to its socket with plain write(): when libvirtd goes away, the next
         * call would kill the daemon with SIGPIPE instead of failing (libvirt asks clients to
         * ignore it). Only if nobody chose a disposition already. */
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
            sa.sa_handler = SIG_IGN;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = 0;
            sigaction(SIGPIPE, &sa, NULL);
        }
        virSetErrorFunc(NULL, quiet_error_handler);
        /* libvirt's event loop on the GLib default main context; once per process. */
        gvir_event_register();
        g_once_init_leave(&done, 1);
    }
}

/* Is @err a broken connection rather than a failed request? A system error is what a dead
 * socket gives, but also what a failed local read in the daemon gives: it counts only if the
 * connection is not alive any more. */
static gboolean
is_connection_error(LvPriv *p, const virError *err)
{
    int code = err ? err->code : VIR_ERR_OK;
    switch (code) {
    case VIR_ERR_RPC:
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
        return TRUE;
    default:
        break;
    }
    if (!p->conn)
        return TRUE;
    int alive = virConnectIsAlive(p->conn);
    if (alive == 0)
        return TRUE;
    return code == VIR_ERR_SYSTEM_ERROR && alive != 1;
}

/* Maps a libvirt error to our codes. With @request (pin, set memory, ...), libvirt refusing the
 * arguments maps to VMB_HV_ERROR_INVALID. */
static VmbHvError
classify_error(LvPriv *p, const virError *err, gboolean request)
{
    int code = err ? err->code : VIR_ERR_OK;
    if (code == VIR_ERR_NO_DOMAIN)
        return VMB_HV_ERROR_NO_DOMAIN;
    if (is_connection_error(p, err))
        return VMB_HV_ERROR_DISCONNECTED;
    if (request) {
        switch (code) {
        case VIR_ERR_INVALID_ARG:
        case VIR_ERR_OPERATION_INVALID:
        case VIR_ERR_CONFIG_UNSUPPORTED:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
        case VIR_ERR_OVERFLOW:
            return VMB_HV_ERROR_INVALID;
        default:
            break;
        }
    }
    return VMB_HV_ERROR_FAILED;
}

static const char *
error_message(const virError *err)
{
    return err && err->message ? err->message : "unknown libvirt error";
}

/* Sets @error from a saved libvirt error, "<what>: <libvirt message>". */
static void set_error_saved(LvPriv *p, GError **error, const virError *err, gboolean request,
                            const char *format, ...) G_GNUC_PRINTF(5, 6);

static void
set_error_saved(LvPriv *p, GError **error, const virError *err, gboolean request,
                const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HV_ERROR, classify_error(p, err, request), "%s: %s", what,
                error_message(err));
}

/* Same, from libvirt's last error: use it right after the failing call. It saves the error
 * before evaluating its arguments (which may call libvirt). */
#define set_error_last(p, error, request, ...)                                                     \
    G_STMT_START                                                                                   \
    {                                                                                              \
        g_autoptr(virError) saved_err_ = virSaveLastError();                                       \
        set_error_saved((p), (error), saved_err_, (request), __VA_ARGS__);                         \
    }                                                                                              \
    G_STMT_END

/* After a failed call whose result is optional (the driver may not have it): TRUE when the
 * failure can be ignored, FALSE with @error when the connection is broken or the domain gone.
 * Call it right after the failing call, with arguments that do not call libvirt (every libvirt
 * call resets the last error, even virDomainGetName()). */
static gboolean soft_failure(LvPriv *p, GError **error, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
soft_failure(LvPriv *p, GError **error, const char *format, ...)
{
    g_autoptr(virError) err = virSaveLastError();
    if (!err || err->code == VIR_ERR_OK)
        return TRUE;
    VmbHvError code = classify_error(p, err, FALSE);
    virResetLastError();
    if (code == VMB_HV_ERROR_FAILED)
        return TRUE;
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HV_ERROR, code, "%s: %s", what, error_message(err));
    return FALSE;
}

/* ---- connection ---- */

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

/* Forgets vanished domains after a while (transient ones never come back). */
static void
prune_reported(LvPriv *p)
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
static int
tunable_cb(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int nparams,
           void *opaque)
{
    LvPriv *p = opaque;
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid_buf) < 0) {
        virResetLastError();
        return 0;
    }
    g_autofree char *uuid = g_ascii_strdown(uuid_buf, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, uuid);
    static const char prefix[] = "cputune.vcpupin";
    for (int k = 0; c && k < nparams; k++) {
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
        gint pin = -1;
        if (!all && vmb_cpuset_count(&set) == 1) {
            for (guint cpu = 0; cpu < p->npcpus; cpu++) {
                if (vmb_cpuset_has(&set, cpu))
                    pin = (gint) cpu;
            }
        }
        if (c->pins[vcpu] != pin)
            g_debug("%s vCPU %u pinned to %s (tunable event)", virDomainGetName(dom), (guint) vcpu,
                    params[k].value.s);
        c->pins[vcpu] = pin;
    }
    return 0;
}

/* Host CPUs: virNodeGetCPUMap() gives the CPUs present, virNodeGetInfo() the active ones; both
 * agree on a real host. The test driver returns a hard-coded map of 8 CPUs whatever the node
 * XML says, so take the smaller count that either source knows about. */
static gboolean
query_npcpus(LvPriv *p, virNodeInfo *info, guint *npcpus, GError **error)
{
    if (virNodeGetInfo(p->conn, info) < 0) {
        set_error_last(p, error, FALSE, "cannot get node info");
        return FALSE;
    }
    guint n = info->cpus;
    int present = virNodeGetCPUMap(p->conn, NULL, NULL, 0);
    if (present > 0)
        n = n ? MIN(n, (guint) present) : (guint) present;
    else if (present < 0 && !soft_failure(p, error, "cannot get the host CPU map"))
        return FALSE;
    if (n == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_FAILED, "libvirt reports no host CPUs");
        return FALSE;
    }
    *npcpus = n;
    return TRUE;
}

/* A local URI (the daemon runs on the hypervisor host): no host part and the local transport
 * only. The test driver is excluded: its node is made up. */
static gboolean
uri_is_local(const char *uri)
{
    if (!uri)
        return FALSE;
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_NON_DNS, NULL);
    if (!parsed)
        return FALSE;
    const char *scheme = g_uri_get_scheme(parsed);
    const char *host = g_uri_get_host(parsed);
    g_auto(GStrv) parts = g_strsplit(scheme, "+", 2);
    if (g_ascii_strcasecmp(parts[0], "test") == 0)
        return FALSE;
    if (parts[1] && g_ascii_strcasecmp(parts[1], "unix") != 0)
        return FALSE;
    return !host || !*host;
}

static gboolean
lv_open(VmbHypervisor *hv, GError **error)
{
    LvPriv *p = hv->priv;
    global_init_once();

    const char *uri = hv->uri && *hv->uri ? hv->uri : NULL;
    p->conn = virConnectOpen(uri);
    if (!p->conn) {
        g_autoptr(virError) err = virSaveLastError();
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "%s", error_message(err));
        return FALSE;
    }

    if (virConnectRegisterCloseCallback(p->conn, close_cb, p, NULL) == 0)
        p->close_cb_registered = TRUE;
    /* Remote connections (qemu:///system goes through libvirtd) get keepalive probes so a hung
     * daemon is noticed; drivers without it (test:///) refuse, which is fine. */
    if (virConnectSetKeepAlive(p->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0)
        virResetLastError();

    p->lifecycle_id =
        virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), p, NULL);
    if (p->lifecycle_id < 0) {
        set_error_last(p, error, FALSE, "cannot register for domain events");
        hv->ops->close(hv);
        return FALSE;
    }

    p->tunable_id = virConnectDomainEventRegisterAny(
        p->conn, NULL, VIR_DOMAIN_EVENT_ID_TUNABLE, VIR_DOMAIN_EVENT_CALLBACK(tunable_cb), p, NULL);
    if (p->tunable_id < 0)
        virResetLastError(); /* an old driver: the periodic read still catches foreign pins */

    virNodeInfo info;
    if (!query_npcpus(p, &info, &p->npcpus, error)) {
        hv->ops->close(hv);
        return FALSE;
    }
    g_autofree char *real_uri = virConnectGetURI(p->conn);
    p->local = uri_is_local(real_uri);
    p->seq = 0;
    return TRUE;
}

static void
lv_close(VmbHypervisor *hv)
{
    LvPriv *p = hv->priv;
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
            virConnectDomainEventDeregisterAny(p->conn, p->lifecycle_id);
        if (p->tunable_id >= 0)
            virConnectDomainEventDeregisterAny(p->conn, p->tunable_id);
        if (p->close_cb_registered)
            virConnectUnregisterCloseCallback(p->conn, close_cb);
        virConnectClose(p->conn);
        virResetLastError();
        p->conn = NULL;
    }
    p->lifecycle_id = -1;
    p->tunable_id = -1;
    p->close_cb_registered = FALSE;
    g_hash_table_remove_all(p->cache);
    g_hash_table_remove_all(p->reported);
}

/* ---- snapshot ---- */

static gboolean
param_u64(const virTypedParameter *params, int nparams, const char *name, guint64 *value)
{
    virTypedParameterPtr par = virTypedParamsGet((virTypedParameterPtr) params, nparams, name);
    if (!par)
        return FALSE;
    switch (par->type) {
    case VIR_TYPED_PARAM_UINT:
        *value = par->value.ui;
        return TRUE;
    case VIR_TYPED_PARAM_ULLONG:
        *value = par->value.ul;
        return TRUE;
    case VIR_TYPED_PARAM_INT:
        *value = MAX(par->value.i, 0);
        return TRUE;
    case VIR_TYPED_PARAM_LLONG:
        *value = MAX(par->value.l, 0);
        return TRUE;
    default:
        return FALSE;
    }
}

static gboolean
param_vcpu_u64(const virTypedParameter *params, int nparams, guint vcpu, const char *suffix,
               guint64 *value)
{
    char name[VIR_TYPED_PARAM_FIELD_LENGTH];
    g_snprintf(name, sizeof name, "vcpu.%u.%s", vcpu, suffix);
    return param_u64(params, nparams, name, value);
}

/* The one pCPU of @map among the host's @npcpus, or -1 when the affinity holds several. */
static gint
single_cpu(const unsigned char *map, int maplen, guint npcpus)
{
    gint found = -1;
    for (guint cpu = 0; cpu < npcpus && cpu < (guint) maplen * 8; cpu++) {
        if (!VIR_CPU_USABLE(map, maplen, 0, cpu))
            continue;
        if (found >= 0)
            return -1;
        found = (gint) cpu;
    }
    return found;
}

/* Reads the pins of @dom for @nvcpus vCPUs into @c. FALSE with @error on failure. */
static gboolean
refresh_pins(LvPriv *p, virDomainPtr dom, DomainCache *c, guint nvcpus, GError **error)
{
    if (nvcpus == 0) {
        g_clear_pointer(&c->pins, g_free);
        c->nvcpus = 0;
        c->refreshed_seq = p->seq;
        c->stale = FALSE;
        return TRUE;
    }
    int maplen = VIR_CPU_MAPLEN(p->npcpus);
    g_autofree unsigned char *maps = g_malloc0((gsize) maplen * nvcpus);
    int n = virDomainGetVcpuPinInfo(dom, (int) nvcpus, maps, maplen, VIR_DOMAIN_AFFECT_CURRENT);
    if (n < 0) {
        set_error_last(p, error, FALSE, "cannot get the vCPU pins of %s", virDomainGetName(dom));
        return FALSE;
    }
    g_free(c->pins);
    c->nvcpus = nvcpus;
    c->pins = g_new(gint, nvcpus);
    for (guint i = 0; i < nvcpus; i++)
        c->pins[i] =
            (int) i < n ? single_cpu(VIR_GET_CPUMAP(maps, maplen, i), maplen, p->npcpus) : -1;
    c->refreshed_seq = p->seq;
    c->stale = FALSE;
    return TRUE;
}

/* <memtune><min_guarantee> in KiB, 0 when unset or when the driver has no such parameter (QEMU
 * refuses min_guarantee altogether). */
static gboolean
query_min_guarantee(LvPriv *p, virDomainPtr dom, guint64 *kib, GError **error)
{
    *kib = 0;
    const char *name = virDomainGetName(dom);
    int n = 0;
    if (virDomainGetMemoryParameters(dom, NULL, &n, 0) == 0) {
        if (n <= 0)
            return TRUE;
        g_autofree virTypedParameter *params = g_new0(virTypedParameter, n);
        if (virDomainGetMemoryParameters(dom, params, &n, 0) == 0) {
            guint64 v = 0;
            if (param_u64(params, n, VIR_DOMAIN_MEMORY_MIN_GUARANTEE, &v) &&
                v != VIR_DOMAIN_MEMORY_PARAM_UNLIMITED)
                *kib = v;
            virTypedParamsClear(params, n);
            return TRUE;
        }
    }
    return soft_failure(p, error, "cannot get the memory parameters of %s", name);
}

/* Busy time per CPU from /proc/stat: one read instead of one RPC per CPU. FALSE when it cannot
 * be used (logged for debugging): libvirt is asked instead. */
static gboolean
read_local_pcpu_busy(VmbSnapshot *s)
{
    g_autoptr(GError) local = NULL;
    g_autofree guint64 *busy = NULL;
    g_autofree guint64 *bound = g_new0(guint64, s->npcpus);
    guint64 tick_ns = 0;
    if (vmb_host_proc_tick_ns(&tick_ns, &local))
        busy = vmb_host_proc_read_stat(VMB_HOST_PROC_STAT_PATH, s->npcpus, tick_ns, bound, &local);
    if (!busy) {
        g_debug("%s; asking libvirt for host CPU statistics", local->message);
        return FALSE;
    }
    s->pcpu_busy_ns = g_steal_pointer(&busy);
    s->pcpu_bound_ns = g_steal_pointer(&bound); /* bound host load */
    return TRUE;
}

/* Busy time per pCPU: every counter but idle and iowait (utilization is a percentage, not a
 * time). Left NULL when the driver has no per-CPU statistics. */
static gboolean
query_pcpu_busy(LvPriv *p, VmbSnapshot *s, GError **error)
{
    if (p->local && read_local_pcpu_busy(s))
        return TRUE;
    int nparams = 0;
    if (virNodeGetCPUStats(p->conn, 0, NULL, &nparams, 0) < 0)
        return soft_failure(p, error, "cannot get host CPU statistics");
    if (nparams <= 0)
        return TRUE;
    g_autofree guint64 *busy = g_new0(guint64, s->npcpus);
    g_autofree virNodeCPUStats *stats = g_new0(virNodeCPUStats, nparams);
    for (guint cpu = 0; cpu < s->npcpus; cpu++) {
        int n = nparams;
        if (virNodeGetCPUStats(p->conn, (int) cpu, stats, &n, 0) < 0)
            return soft_failure(p, error, "cannot get statistics of host CPU %u", cpu);
        for (int i = 0; i < n; i++) {
            const char *f = stats[i].field;
            if (strcmp(f, VIR_NODE_CPU_STATS_IDLE) == 0 ||
                strcmp(f, VIR_NODE_CPU_STATS_IOWAIT) == 0 ||
                strcmp(f, VIR_NODE_CPU_STATS_UTILIZATION) == 0)
                continue;
            busy[cpu] += stats[i].value;
        }
    }
    s->pcpu_busy_ns = g_steal_pointer(&busy);
    return TRUE;
}

/* Host memory from /proc/meminfo. FALSE when it cannot be used (logged for debugging; kernels
 * before 3.14 have no MemAvailable): libvirt is asked instead. */
static gboolean
read_local_memory(VmbSnapshot *s)
{
    g_autoptr(GError) local = NULL;
    VmbHostMemInfo mem;
    if (!vmb_host_proc_read_meminfo(VMB_HOST_PROC_MEMINFO_PATH, &mem, &local)) {
        g_debug("%s; asking libvirt for host memory statistics", local->message);
        return FALSE;
    }
    s->host_mem_total_kib = mem.total_kib;
    s->host_mem_available_kib = mem.available_kib;
    return TRUE;
}

/* Host memory with MemAvailable semantics. virNodeGetInfo() counts only the memory of NUMA node 0
 * on some hosts, so a local daemon reads /proc/meminfo itself; a remote one asks libvirt for
 * free + buffers + cached. The test driver has neither: total from the node XML, available 0
 * (unknown). */
static gboolean
query_host_memory(LvPriv *p, const virNodeInfo *info, VmbSnapshot *s, GError **error)
{
    if (p->local && read_local_memory(s))
        return TRUE;

    s->host_mem_total_kib = info->memory;
    s->host_mem_available_kib = 0;
    int n = 0;
    if (virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) < 0)
        return soft_failure(p, error, "cannot get host memory statistics");
    if (n <= 0)
        return TRUE;
    g_autofree virNodeMemoryStats *stats = g_new0(virNodeMemoryStats, n);
    if (virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &n, 0) < 0)
        return soft_failure(p, error, "cannot get host memory statistics");
    guint64 avail = 0;
    for (int i = 0; i < n; i++) {
        const char *f = stats[i].field;
        if (strcmp(f, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
            s->host_mem_total_kib = stats[i].value;
        else if (strcmp(f, VIR_NODE_MEMORY_STATS_FREE) == 0 ||
                 strcmp(f, VIR_NODE_MEMORY_STATS_BUFFERS) == 0 ||
                 strcmp(f, VIR_NODE_MEMORY_STATS_CACHED) == 0)
            avail += stats[i].value;
    }
    s->host_mem_available_kib = avail;
    return TRUE;
}

static void
parse_balloon(const virTypedParameter *par, int n, VmbBalloonStat *b)
{
    static const struct {
        const char *name;
        guint field;
        gsize offset;
    } u64_fields[] = {
        {"balloon.current", VMB_BALLOON_CURRENT, G_STRUCT_OFFSET(VmbBalloonStat, current_kib)},
        {"balloon.maximum", VMB_BALLOON_MAXIMUM, G_STRUCT_OFFSET(VmbBalloonStat, maximum_kib)},
        {"balloon.unused", VMB_BALLOON_UNUSED, G_STRUCT_OFFSET(VmbBalloonStat, unused_kib)},
        {"balloon.available", VMB_BALLOON_AVAILABLE,
         G_STRUCT_OFFSET(VmbBalloonStat, available_kib)},
        {"balloon.usable", VMB_BALLOON_USABLE, G_STRUCT_OFFSET(VmbBalloonStat, usable_kib)},
        {"balloon.swap_in", VMB_BALLOON_SWAP, G_STRUCT_OFFSET(VmbBalloonStat, swap_in_kib)},
        {"balloon.swap_out", VMB_BALLOON_SWAP, G_STRUCT_OFFSET(VmbBalloonStat, swap_out_kib)},
        {"balloon.major_fault", VMB_BALLOON_MAJOR_FAULT,
         G_STRUCT_OFFSET(VmbBalloonStat, major_faults)},
        {"balloon.rss", VMB_BALLOON_RSS, G_STRUCT_OFFSET(VmbBalloonStat, rss_kib)},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(u64_fields); i++) {
        guint64 v;
        if (param_u64(par, n, u64_fields[i].name, &v)) {
            G_STRUCT_MEMBER(guint64, b, u64_fields[i].offset) = v;
            b->fields |= u64_fields[i].field;
        }
    }
    guint64 v;
    if (param_u64(par, n, "balloon.last-update", &v)) {
        b->last_update = (gint64) MIN(v, (guint64) G_MAXINT64);
        b->fields |= VMB_BALLOON_LAST_UPDATE;
    }
}

/* The basics of a domain from its record. */
typedef struct {
    guint64 vcpus;     /* online */
    guint64 max_vcpus; /* 0 when not reported */
    guint64 cpu_time_ns;
    VmbBalloonStat balloon;
} RecordBasics;

/* Fills what the record lacks from virDomainGetInfo(). FALSE with no @error when the domain went
 * away in the meantime. */
static gboolean
complete_from_info(LvPriv *p, virDomainPtr dom, const char *name, gboolean have_vcpus,
                   gboolean have_cpu_time, RecordBasics *b, GError **error)
{
    virDomainInfo info;
    if (virDomainGetInfo(dom, &info) < 0) {
        g_autoptr(GError) local = NULL;
        set_error_last(p, &local, FALSE, "cannot get info of domain %s", name);
        if (!g_error_matches(local, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN))
            g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (!have_vcpus)
        b->vcpus = info.nrVirtCpu;
    if (!have_cpu_time)
        b->cpu_time_ns = info.cpuTime;
    if (!(b->balloon.fields & VMB_BALLOON_CURRENT)) {
        b->balloon.current_kib = info.memory;
        b->balloon.fields |= VMB_BALLOON_CURRENT;
    }
    if (!(b->balloon.fields & VMB_BALLOON_MAXIMUM)) {
        b->balloon.maximum_kib = info.maxMem;
        b->balloon.fields |= VMB_BALLOON_MAXIMUM;
    }
    return TRUE;
}

/* vCPU counts, CPU time and balloon of @rec. Drivers with partial bulk statistics (the test
 * driver gives only state.*) are completed with virDomainGetInfo(); real QEMU domains always
 * have these fields. FALSE with no @error when the domain went away in the meantime. */
static gboolean
read_record_basics(LvPriv *p, const virDomainStatsRecord *rec, const char *name, RecordBasics *b,
                   GError **error)
{
    const virTypedParameter *par = rec->params;
    int n = rec->nparams;
    *b = (RecordBasics){0};
    gboolean have_vcpus = param_u64(par, n, "vcpu.current", &b->vcpus);
    param_u64(par, n, "vcpu.maximum", &b->max_vcpus);
    gboolean have_cpu_time = param_u64(par, n, "cpu.time", &b->cpu_time_ns);
    parse_balloon(par, n, &b->balloon);
    if (have_vcpus && have_cpu_time && (b->balloon.fields & VMB_BALLOON_CURRENT))
        return TRUE;
    return complete_from_info(p, rec->dom, name, have_vcpus, have_cpu_time, b, error);
}

/* Time runnable but waiting for a pCPU. libvirt's "wait" is the kernel's wait_sum
 * (/proc/PID/task/TID/sched), accounted only with kernel.sched_schedstats=1 (off by default,
 * absent from some kernels): otherwise libvirt reports 0 forever. A vCPU that ran but never
 * waited is not plausible, so a zero wait after running counts as missing. "delay" (libvirt >=
 * 10, schedstat run_delay) is always accounted. */
static void
read_vcpu_wait(const virTypedParameter *par, int n, guint vcpu, VmbVcpuStat *vs)
{
    guint64 wait = 0, delay = 0;
    gboolean have_wait = param_vcpu_u64(par, n, vcpu, "wait", &wait);
    gboolean have_delay = param_vcpu_u64(par, n, vcpu, "delay", &delay);
    if (have_wait && (wait > 0 || vs->time_ns == 0)) {
        vs->wait_ns = wait;
        vs->has_wait = TRUE;
    } else if (have_delay) {
        vs->wait_ns = delay;
        vs->has_wait = TRUE;
    }
}

static void
read_vcpu_times(const virDomainStatsRecord *rec, VmbDomainStat *d)
{
    for (guint i = 0; i < d->nvcpus; i++) {
        VmbVcpuStat *vs = &d->vcpus[i];
        guint64 v = 0;
        if (param_vcpu_u64(rec->params, rec->nparams, i, "time", &v))
            vs->time_ns = v;
        read_vcpu_wait(rec->params, rec->nparams, i, vs);
    }
}

/* The cache entry of @uuid, made on first sight (@first_sight) with the domain's min_guarantee,
 * which is read only then. NULL with no @error when the domain stopped in the meantime. */
static DomainCache *
domain_cache_get(LvPriv *p, virDomainPtr dom, const char *uuid, gboolean *first_sight,
                 GError **error)
{
    DomainCache *c = g_hash_table_lookup(p->cache, uuid);
    *first_sight = c == NULL;
    if (c)
        return c;
    c = g_new0(DomainCache, 1);
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

/* Are the cached pins due for a read from libvirt? */
static gboolean
pins_need_refresh(const LvPriv *p, const DomainCache *c, gboolean first_sight, guint npins)
{
    return first_sight || c->stale || c->nvcpus != npins ||
           p->seq - c->refreshed_seq >= PIN_REFRESH_EVERY;
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
        virDomainIsActive(dom) != 1) {
        g_hash_table_remove(p->cache, uuid);
        return FALSE;
    }
    c->nvcpus = 0;
    c->refreshed_seq = p->seq;
    virResetLastError();
    return TRUE;
}

/* One domain of the bulk statistics. Returns NULL with no @error when the domain went away in
 * the meantime (skip it), NULL with @error on a real failure. */
static VmbDomainStat *
parse_record(LvPriv *p, const virDomainStatsRecord *rec, GError **error)
{
    virDomainPtr dom = rec->dom;
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(dom);
    if (!name || virDomainGetUUIDString(dom, uuid_buf) < 0) {
        set_error_last(p, error, FALSE, "cannot get a domain's name or UUID");
        return NULL;
    }
    RecordBasics b;
    if (!read_record_basics(p, rec, name, &b, error))
        return NULL;

    /* Online vCPUs are taken as 0..current-1 (libvirt hot-plugs and unplugs at the end). */
    g_autoptr(VmbDomainStat) d = vmb_domain_stat_new(name, uuid_buf, (guint) b.vcpus);
    d->cpu_time_ns = b.cpu_time_ns;
    d->balloon = b.balloon;
    read_vcpu_times(rec, d);

    gboolean first_sight = FALSE;
    DomainCache *c = domain_cache_get(p, dom, d->uuid, &first_sight, error);
    if (!c)
        return NULL;
    d->balloon.min_guarantee_kib = c->min_guarantee_kib;

    guint npins = MAX((guint) MIN(b.max_vcpus, G_MAXINT), d->nvcpus);
    if (pins_need_refresh(p, c, first_sight, npins) &&
        !update_pins(p, dom, d->uuid, c, npins, error))
        return NULL;
    for (guint i = 0; i < d->nvcpus && i < c->nvcpus; i++)
        d->vcpus[i].pcpu = c->pins[i];
    return g_steal_pointer(&d);
}

static VmbSnapshot *
lv_snapshot(VmbHypervisor *hv, GError **error)
{
    LvPriv *p = hv->priv;
    if (!p->conn) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "not connected");
        return NULL;
    }
    if (virConnectIsAlive(p->conn) == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED,
                    "the connection to libvirt is closed");
        return NULL;
    }

    p->seq++;

    /* A local daemon caches the CPU count (re-read every 30 snapshots) and reads /proc, so a
     * cycle costs the one bulk stats call and nothing per CPU. */
    virNodeInfo info = {0};
    if ((!p->local || p->npcpus == 0 || p->seq % 30 == 0) &&
        !query_npcpus(p, &info, &p->npcpus, error))
        return NULL;

    virDomainStatsRecordPtr *records = NULL;
    int nrec = virConnectGetAllDomainStats(p->conn,
                                           VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
                                               VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_BALLOON,
                                           &records,
                                           VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING |
                                               VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
    if (nrec < 0) {
        set_error_last(p, error, FALSE, "cannot get domain statistics");
        return NULL;
    }

    g_autoptr(VmbSnapshot) s = vmb_snapshot_new(p->npcpus);
    s->mono_us = g_get_monotonic_time();
    s->wall_s = g_get_real_time() / G_USEC_PER_SEC;

    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    GError *local = NULL;
    for (int i = 0; i < nrec && !local; i++) {
        VmbDomainStat *d = parse_record(p, records[i], &local);
        if (d) {
            g_ptr_array_add(s->domains, d);
            g_hash_table_add(seen, d->uuid);
        }
    }
    virDomainStatsRecordListFree(records);
    if (local) {
        g_propagate_error(error, local);
        return NULL;
    }

    prune_reported(p);
    /* Drop cached pins of domains that are not running any more. */
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, p->cache);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_hash_table_contains(seen, key))
            g_hash_table_iter_remove(&it);
    }

    if (!query_pcpu_busy(p, s, error))
        return NULL;
    if (!query_host_memory(p, &info, s, error))
        return NULL;
    return g_steal_pointer(&s);
}

/* ---- requests ---- */

static virDomainPtr
lookup_domain(LvPriv *p, const char *uuid, GError **error)
{
    if (!p->conn) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "not connected");
        return NULL;
    }
    virDomainPtr dom = virDomainLookupByUUIDString(p->conn, uuid);
    if (!dom)
        set_error_last(p, error, TRUE, "no domain %s", uuid);
    return dom;
}

/* After a request failed with "operation invalid": a domain that is not running any more is
 * gone for us, not a refused request. */
static void
set_request_error(LvPriv *p, virDomainPtr dom, const virError *err, GError **error,
                  const char *what)
{
    if (err && err->code == VIR_ERR_OPERATION_INVALID && virDomainIsActive(dom) == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "%s: domain %s is not running",
                    what, virDomainGetName(dom));
        return;
    }
    set_error_saved(p, error, err, TRUE, "%s", what);
}

static gboolean
lv_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, guint pcpu, GError **error)
{
    LvPriv *p = hv->priv;
    /* libvirt's test driver pins to CPUs that do not exist: check it here. */
    if (pcpu >= p->npcpus) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin to CPU %u: the host has CPUs 0-%u", pcpu, p->npcpus - 1);
        return FALSE;
    }
    g_autoptr(virDomain) dom = lookup_domain(p, uuid, error);
    if (!dom)
        return FALSE;

    /* Flags 0 (current) is live for a running domain; AFFECT_LIVE is refused by the test
     * driver. But on a stopped domain "current" is its persistent config, which we must not
     * touch: check that it still runs first. */
    int active = virDomainIsActive(dom);
    if (active != 1) {
        if (active < 0)
            set_error_last(p, error, TRUE, "cannot pin vCPU %u of %s", vcpu, uuid);
        else
            g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN,
                        "cannot pin vCPU %u of %s: the domain is not running", vcpu,
                        virDomainGetName(dom));
        return FALSE;
    }

    int maplen = VIR_CPU_MAPLEN(p->npcpus);
    g_autofree unsigned char *map = g_malloc0(maplen);
    VIR_USE_CPU(map, pcpu);
    if (virDomainPinVcpuFlags(dom, vcpu, map, maplen, 0) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf("cannot pin vCPU %u of %s to CPU %u", vcpu,
                                                virDomainGetName(dom), pcpu);
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }

    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c && vcpu < c->nvcpus)
        c->pins[vcpu] = (gint) pcpu;
    return TRUE;
}

static gboolean
lv_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    LvPriv *p = hv->priv;
    if (kib > G_MAXULONG) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID, "memory size out of range");
        return FALSE;
    }
    g_autoptr(virDomain) dom = lookup_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    /* Live only: the test driver accepts AFFECT_LIVE too. Above <memory> libvirt says "invalid
     * argument", which maps to VMB_HV_ERROR_INVALID. */
    if (virDomainSetMemoryFlags(dom, (unsigned long) kib, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf(
            "cannot set the memory of %s to %" G_GUINT64_FORMAT " KiB", virDomainGetName(dom), kib);
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }
    return TRUE;
}

/* Does the live definition of @dom have a memory balloon? -1 when unknown. */
static int
domain_has_balloon(virDomainPtr dom)
{
    g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
    if (!xml) {
        virResetLastError();
        return -1;
    }
    const char *tag = strstr(xml, "<memballoon");
    if (!tag)
        return 0;
    const char *end = strchr(tag, '>');
    g_autofree char *elem = g_strndup(tag, end ? (gsize) (end - tag) : strlen(tag));
    return strstr(elem, "model='none'") || strstr(elem, "model=\"none\"") ? 0 : 1;
}

static gboolean
lv_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error)
{
    LvPriv *p = hv->priv;
    if (seconds > G_MAXINT) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID, "statistics period out of range");
        return FALSE;
    }
    g_autoptr(virDomain) dom = lookup_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    if (virDomainSetMemoryStatsPeriod(dom, (int) seconds, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf("cannot set the balloon statistics period of %s",
                                                virDomainGetName(dom));
        VmbHvError code = classify_error(p, err, TRUE);
        /* QEMU says "operation invalid", the test driver "internal error": look for the balloon
         * ourselves so "no balloon" is always a refused request. */
        if ((code == VMB_HV_ERROR_INVALID || code == VMB_HV_ERROR_FAILED) &&
            virDomainIsActive(dom) == 1 && domain_has_balloon(dom) == 0) {
            g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                        "%s: the guest has no memory balloon (%s)", what, error_message(err));
            return FALSE;
        }
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }
    return TRUE;
}

/* ---- object ---- */

static void
lv_free(VmbHypervisor *hv)
{
    LvPriv *p = hv->priv;
    if (!p)
        return;
    g_hash_table_unref(p->cache);
    g_hash_table_unref(p->reported);
    g_mutex_clear(&p->lost_lock);
    g_free(p);
    hv->priv = NULL;
}

static const VmbHypervisorOps lv_ops = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .snapshot = lv_snapshot,
    .pin_vcpu = lv_pin_vcpu,
    .set_memory = lv_set_memory,
    .set_stats_period = lv_set_stats_period,
    .free = lv_free,
};

VmbHypervisor *
vmb_hv_libvirt_new(const char *uri)
{
    VmbHypervisor *hv = g_new0(VmbHypervisor, 1);
    LvPriv *p = g_new0(LvPriv, 1);
    p->hv = hv;
    p->lifecycle_id = -1;
    p->tunable_id = -1;
    p->cache =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) domain_cache_free);
    p->reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_mutex_init(&p->lost_lock);
    hv->ops = &lv_ops;
    hv->uri = g_strdup(uri ? uri : "");
    hv->priv = p;
    return hv;
}

virConnectPtr
vmb_hv_libvirt_get_conn(VmbHypervisor *hv)
{
    if (!hv || hv->ops != &lv_ops)
        return NULL;
    LvPriv *p = hv->priv;
    return p->conn;
}
