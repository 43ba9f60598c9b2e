/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend: one bulk statistics call per snapshot, vCPU pinning, live memory and
 * balloon statistics period, and lifecycle events on the GLib default main context (through
 * libvirt-glib). It never prints: every libvirt error becomes a GError. */
#include "hv-libvirt-priv.h"

#include "cpuset.h"
#include "host-proc.h"
#include "host-sysfs.h"
#include "log.h"
#include "topology-caps.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include <libvirt-glib/libvirt-glib.h>

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

VmbHvError
lv_classify_error(LvPriv *p, const virError *err, gboolean request)
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

const char *
lv_error_message(const virError *err)
{
    return err && err->message ? err->message : "unknown libvirt error";
}

void
lv_set_error_saved(LvPriv *p, GError **error, const virError *err, gboolean request,
                   const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HV_ERROR, lv_classify_error(p, err, request), "%s: %s", what,
                lv_error_message(err));
}

gboolean
lv_soft_failure(LvPriv *p, GError **error, const char *format, ...)
{
    g_autoptr(virError) err = virSaveLastError();
    if (!err || err->code == VIR_ERR_OK)
        return TRUE;
    VmbHvError code = lv_classify_error(p, err, FALSE);
    virResetLastError();
    if (code == VMB_HV_ERROR_FAILED)
        return TRUE;
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HV_ERROR, code, "%s: %s", what, lv_error_message(err));
    return FALSE;
}

/* Host CPUs: virNodeGetCPUMap() gives the CPUs present, virNodeGetInfo() the active ones; both
 * agree on a real host. The test driver returns a hard-coded map of 8 CPUs whatever the node
 * XML says, so take the smaller count that either source knows about. */
static gboolean
query_npcpus(LvPriv *p, virNodeInfo *info, guint *npcpus, GError **error)
{
    if (LV_CALL(p, NODE, virNodeGetInfo(p->conn, info)) < 0) {
        lv_set_error_last(p, error, FALSE, "cannot get node info");
        return FALSE;
    }
    guint n = info->cpus;
    int present = LV_CALL(p, NODE, virNodeGetCPUMap(p->conn, NULL, NULL, 0));
    if (present > 0)
        n = n ? MIN(n, (guint) present) : (guint) present;
    else if (present < 0 && !lv_soft_failure(p, error, "cannot get the host CPU map"))
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

/* The host topology, once per connection: libvirt's capabilities, and on a local host the
 * isolated CPUs and cache groups of /sys. A host that reports none, or XML that does not
 * parse, is flat (logged once): placement then works as on a host without topology. */
static void
lv_read_topology(LvPriv *p)
{
    g_clear_pointer(&p->topology, vmb_topology_unref);
    g_autofree char *xml = LV_CALL(p, CONNECT, virConnectGetCapabilities(p->conn));
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = NULL;
    if (!xml) {
        g_autoptr(virError) err = virSaveLastError();
        vmb_log_once("lv-topology", G_LOG_LEVEL_MESSAGE,
                     "cannot read the host capabilities, placing vCPUs as on a flat host: %s",
                     lv_error_message(err));
        return;
    }
    t = vmb_topology_from_caps(xml, p->npcpus, &error);
    if (t && p->local && t->known && !vmb_host_sysfs_apply("/", t, &error))
        g_clear_pointer(&t, vmb_topology_unref);
    if (!t) {
        vmb_log_once("lv-topology", G_LOG_LEVEL_MESSAGE,
                     "host topology not usable, placing vCPUs as on a flat host: %s",
                     error->message);
        return;
    }
    vmb_log_once_clear("lv-topology");
    p->topology = g_steal_pointer(&t);
}

static gboolean
lv_open(VmbHypervisor *hv, GError **error)
{
    LvPriv *p = hv->priv;
    global_init_once();

    const char *uri = hv->uri && *hv->uri ? hv->uri : NULL;
    p->conn = LV_CALL(p, CONNECT, virConnectOpen(uri));
    if (!p->conn) {
        g_autoptr(virError) err = virSaveLastError();
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "%s", lv_error_message(err));
        return FALSE;
    }

    if (!lv_events_register(p, error)) {
        hv->ops->close(hv);
        return FALSE;
    }

    virNodeInfo info;
    if (!query_npcpus(p, &info, &p->npcpus, error)) {
        hv->ops->close(hv);
        return FALSE;
    }
    g_autofree char *real_uri = virConnectGetURI(p->conn);
    p->local = uri_is_local(real_uri);
    p->seq = 0;
    lv_read_topology(p);
    return TRUE;
}

static void
lv_close(VmbHypervisor *hv)
{
    LvPriv *p = hv->priv;
    lv_events_unregister(p);
    if (p->conn) {
        LV_CALL(p, CONNECT, virConnectClose(p->conn));
        virResetLastError();
        p->conn = NULL;
    }
    g_hash_table_remove_all(p->cache);
    g_hash_table_remove_all(p->reported);
    g_clear_pointer(&p->topology, vmb_topology_unref);
}

/* ---- snapshot ---- */

gboolean
lv_param_u64(const virTypedParameter *params, int nparams, const char *name, guint64 *value)
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
    return lv_param_u64(params, nparams, name, value);
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
    if (LV_CALL(p, NODE, virNodeGetCPUStats(p->conn, 0, NULL, &nparams, 0)) < 0)
        return lv_soft_failure(p, error, "cannot get host CPU statistics");
    if (nparams <= 0)
        return TRUE;
    g_autofree guint64 *busy = g_new0(guint64, s->npcpus);
    g_autofree virNodeCPUStats *stats = g_new0(virNodeCPUStats, nparams);
    for (guint cpu = 0; cpu < s->npcpus; cpu++) {
        int n = nparams;
        if (LV_CALL(p, NODE, virNodeGetCPUStats(p->conn, (int) cpu, stats, &n, 0)) < 0)
            return lv_soft_failure(p, error, "cannot get statistics of host CPU %u", cpu);
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
    if (LV_CALL(p, NODE,
                virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0)) < 0)
        return lv_soft_failure(p, error, "cannot get host memory statistics");
    if (n <= 0)
        return TRUE;
    g_autofree virNodeMemoryStats *stats = g_new0(virNodeMemoryStats, n);
    if (LV_CALL(p, NODE,
                virNodeGetMemoryStats(p->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &n, 0)) < 0)
        return lv_soft_failure(p, error, "cannot get host memory statistics");
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
        if (lv_param_u64(par, n, u64_fields[i].name, &v)) {
            G_STRUCT_MEMBER(guint64, b, u64_fields[i].offset) = v;
            b->fields |= u64_fields[i].field;
        }
    }
    guint64 v;
    if (lv_param_u64(par, n, "balloon.last-update", &v)) {
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
    if (LV_CALL(p, DOMAIN, virDomainGetInfo(dom, &info)) < 0) {
        g_autoptr(GError) local = NULL;
        lv_set_error_last(p, &local, FALSE, "cannot get info of domain %s", name);
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
    gboolean have_vcpus = lv_param_u64(par, n, "vcpu.current", &b->vcpus);
    lv_param_u64(par, n, "vcpu.maximum", &b->max_vcpus);
    gboolean have_cpu_time = lv_param_u64(par, n, "cpu.time", &b->cpu_time_ns);
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

/* One domain of the bulk statistics. Returns NULL with no @error when the domain went away in
 * the meantime (skip it), NULL with @error on a real failure. */
static VmbDomainStat *
parse_record(LvPriv *p, const virDomainStatsRecord *rec, GError **error)
{
    virDomainPtr dom = rec->dom;
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(dom);
    if (!name || virDomainGetUUIDString(dom, uuid_buf) < 0) {
        lv_set_error_last(p, error, FALSE, "cannot get a domain's name or UUID");
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
    DomainCache *c = lv_domain_cache_get(p, dom, d->uuid, &first_sight, error);
    if (!c)
        return NULL;
    d->balloon.min_guarantee_kib = c->min_guarantee_kib;
    g_autoptr(GError) local = NULL;
    g_autofree char *definition = NULL;
    if (!lv_domain_policy_sync(p, dom, name, c, first_sight, &definition, &local)) {
        if (!g_error_matches(local, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN))
            g_propagate_error(error, g_steal_pointer(&local));
        return NULL; /* stopped in the meantime: skipped */
    }
    d->policy = c->policy;
    d->policy_refused = c->policy_refused;
    d->hands_off = c->hands_off | (c->migrating ? VMB_HANDS_OFF_MIGRATING : 0);
    if (first_sight && !lv_mem_read(p, dom, c, d->balloon.current_kib, definition, error))
        return NULL;
    lv_mem_fill(c, d);
    lv_numa_sync(p, name, c, first_sight);
    d->mem_node = c->mem_node;
    d->emulator_cpus = g_strdup(c->emulator_cpus);

    guint npins = MAX((guint) MIN(b.max_vcpus, G_MAXINT), d->nvcpus);
    if (!lv_pins_sync(p, dom, d->uuid, c, first_sight, npins, error))
        return NULL;
    for (guint i = 0; i < d->nvcpus && i < c->nvcpus; i++)
        lv_pins_fill(c, i, &d->vcpus[i]);
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
    int nrec =
        LV_CALL(p, STATS,
                virConnectGetAllDomainStats(p->conn,
                                            VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
                                                VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_BALLOON,
                                            &records,
                                            VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING |
                                                VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT));
    if (nrec < 0) {
        lv_set_error_last(p, error, FALSE, "cannot get domain statistics");
        return NULL;
    }

    g_autoptr(VmbSnapshot) s = vmb_snapshot_new(p->npcpus);
    if (p->topology && p->topology->npcpus == p->npcpus)
        s->topology = vmb_topology_ref(p->topology);
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

    lv_prune_reported(p);
    lv_domain_cache_retain(p, seen);

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
    virDomainPtr dom = LV_CALL(p, REQUEST, virDomainLookupByUUIDString(p->conn, uuid));
    if (!dom)
        lv_set_error_last(p, error, TRUE, "no domain %s", uuid);
    return dom;
}

/* After a request failed with "operation invalid": a domain that is not running any more is
 * gone for us, not a refused request. */
static void
set_request_error(LvPriv *p, virDomainPtr dom, const virError *err, GError **error,
                  const char *what)
{
    if (err && err->code == VIR_ERR_OPERATION_INVALID &&
        LV_CALL(p, REQUEST, virDomainIsActive(dom)) == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "%s: domain %s is not running",
                    what, virDomainGetName(dom));
        return;
    }
    lv_set_error_saved(p, error, err, TRUE, "%s", what);
}

static gboolean
lv_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus, GError **error)
{
    LvPriv *p = hv->priv;
    /* libvirt's test driver pins to CPUs that do not exist: check it here. */
    guint inside = 0;
    for (guint c = 0; c < p->npcpus && c < VMB_MAX_CPUS; c++)
        inside += vmb_cpuset_has(cpus, c);
    g_autofree char *text = vmb_cpuset_format(cpus);
    if (inside != vmb_cpuset_count(cpus)) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin to CPUs %s: the host has CPUs 0-%u", text, p->npcpus - 1);
        return FALSE;
    }
    g_autoptr(virDomain) dom = lookup_domain(p, uuid, error);
    if (!dom || !lv_domain_check_not_migrating(p, dom, error))
        return FALSE;

    /* Flags 0 (current) is live for a running domain; AFFECT_LIVE is refused by the test
     * driver. But on a stopped domain "current" is its persistent config, which we must not
     * touch: check that it still runs first. */
    int active = LV_CALL(p, REQUEST, virDomainIsActive(dom));
    if (active != 1) {
        if (active < 0)
            lv_set_error_last(p, error, TRUE, "cannot pin vCPU %u of %s", vcpu, uuid);
        else
            g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN,
                        "cannot pin vCPU %u of %s: the domain is not running", vcpu,
                        virDomainGetName(dom));
        return FALSE;
    }

    int maplen = VIR_CPU_MAPLEN(p->npcpus);
    g_autofree unsigned char *map = g_malloc0(maplen);
    for (guint c = 0; c < p->npcpus; c++) {
        if (vmb_cpuset_has(cpus, c))
            VIR_USE_CPU(map, c);
    }
    if (LV_CALL(p, REQUEST, virDomainPinVcpuFlags(dom, vcpu, map, maplen, 0)) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf("cannot pin vCPU %u of %s to CPUs %s", vcpu,
                                                virDomainGetName(dom), text);
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }

    lv_pins_set(p, uuid, vcpu, cpus); /* at once: not every driver echoes it */
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
    if (!dom || !lv_domain_check_not_migrating(p, dom, error))
        return FALSE;
    /* Live only: the test driver accepts AFFECT_LIVE too. Above <memory> libvirt says "invalid
     * argument", which maps to VMB_HV_ERROR_INVALID. */
    if (LV_CALL(p, REQUEST,
                virDomainSetMemoryFlags(dom, (unsigned long) kib, VIR_DOMAIN_AFFECT_LIVE)) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf(
            "cannot set the memory of %s to %" G_GUINT64_FORMAT " KiB", virDomainGetName(dom), kib);
        set_request_error(p, dom, err, error, what);
        return FALSE;
    }
    lv_mem_target_set(p, uuid, kib);
    return TRUE;
}

/* Does the live definition of @dom have a memory balloon? -1 when unknown. */
static int
domain_has_balloon(LvPriv *p, virDomainPtr dom)
{
    g_autofree char *xml = LV_CALL(p, REQUEST, virDomainGetXMLDesc(dom, 0));
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
    if (LV_CALL(p, REQUEST,
                virDomainSetMemoryStatsPeriod(dom, (int) seconds, VIR_DOMAIN_AFFECT_LIVE)) < 0) {
        g_autoptr(virError) err = virSaveLastError();
        g_autofree char *what = g_strdup_printf("cannot set the balloon statistics period of %s",
                                                virDomainGetName(dom));
        VmbHvError code = lv_classify_error(p, err, TRUE);
        /* QEMU says "operation invalid", the test driver "internal error": look for the balloon
         * ourselves so "no balloon" is always a refused request. */
        if ((code == VMB_HV_ERROR_INVALID || code == VMB_HV_ERROR_FAILED) &&
            LV_CALL(p, REQUEST, virDomainIsActive(dom)) == 1 && domain_has_balloon(p, dom) == 0) {
            g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                        "%s: the guest has no memory balloon (%s)", what, lv_error_message(err));
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
    g_clear_pointer(&p->topology, vmb_topology_unref);
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
    .forget_target = lv_mem_forget_target,
    .set_vmem_requested = lv_set_vmem_requested,
    .pin_housekeeping = lv_pin_housekeeping,
    .free = lv_free,
    .set_policy = lv_set_policy,
    .get_policy = lv_get_policy,
};

VmbHypervisor *
vmb_hv_libvirt_new(const char *uri)
{
    VmbHypervisor *hv = g_new0(VmbHypervisor, 1);
    LvPriv *p = g_new0(LvPriv, 1);
    p->hv = hv;
    p->lifecycle_id = -1;
    p->tunable_id = -1;
    p->metadata_id = -1;
    p->migration_id = -1;
    p->job_id = -1;
    p->memdev_id = -1;
    p->reboot_id = -1;
    p->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) lv_domain_cache_free);
    p->reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_mutex_init(&p->lost_lock);
    hv->ops = &lv_ops;
    hv->uri = g_strdup(uri ? uri : "");
    hv->priv = p;
    return hv;
}

LvPriv *
lv_priv(VmbHypervisor *hv)
{
    return hv && hv->ops == &lv_ops ? hv->priv : NULL;
}

virConnectPtr
vmb_hv_libvirt_get_conn(VmbHypervisor *hv)
{
    LvPriv *p = lv_priv(hv);
    return p ? p->conn : NULL;
}
