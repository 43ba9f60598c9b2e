/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A snapshot from one bulk statistics call: each running domain's record (vCPUs, CPU time,
 * balloon) completed from the domain cache, and the host's figures. */
#include "hv-libvirt-priv.h"

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
    d->numatune = c->numatune;
    d->numatune_ours = c->numatune_ours;
    d->emulator_cpus = g_strdup(c->emulator_cpus);

    guint npins = MAX((guint) MIN(b.max_vcpus, G_MAXINT), d->nvcpus);
    if (!lv_pins_sync(p, dom, d->uuid, c, first_sight, npins, error))
        return NULL;
    for (guint i = 0; i < d->nvcpus && i < c->nvcpus; i++)
        lv_pins_fill(c, i, &d->vcpus[i]);
    return g_steal_pointer(&d);
}

VmbSnapshot *
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
        !lv_query_npcpus(p, &info, &p->npcpus, error))
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

    if (!lv_query_pcpu_busy(p, s, error))
        return NULL;
    if (!lv_query_host_memory(p, &info, s, error))
        return NULL;
    return g_steal_pointer(&s);
}
