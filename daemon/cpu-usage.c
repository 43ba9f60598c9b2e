/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-usage.h"

#include <math.h>
#include <string.h>

typedef struct {
    guint nvcpus;
    guint64 *time_ns, *wait_ns;
    gint *pcpu; /* each vCPU's pin in the last snapshot */
    VmbVcpuLoad *loads;
    gint64 mono_us;
    guint64 seen;
} DomHistory;

/* One part of each pCPU's busy time, as reported cumulatively by the backend. */
typedef struct {
    guint64 *prev; /* last cumulative counters, NULL when not reported */
    double *pct;   /* [npcpus] percent over the last interval, 0 when unknown */
} PartOfBusy;

struct _VmbCpuUsage {
    GHashTable *domains; /* uuid -> DomHistory */
    guint64 cycle;
    guint npcpus;
    guint64 *pcpu_prev;
    double *pcpu_busy;
    PartOfBusy bound;      /* the part of busy time bound to the pCPU (snapshot.h) */
    GHashTable *pin_cycle; /* pCPU -> last cycle a vCPU was pinned to it or away from it */
    gboolean pcpu_valid;
    gint64 pcpu_mono_us;
};

double
vmb_util_percent(guint64 prev_ns, guint64 cur_ns, gint64 wall_us)
{
    if (wall_us <= 0 || cur_ns < prev_ns)
        return 0;
    return (double) (cur_ns - prev_ns) / ((double) wall_us * 1000.0) * 100.0;
}

double
vmb_util_demand(double run_percent, double wait_percent)
{
    double d = run_percent + MAX(wait_percent, 0);
    return CLAMP(d, MIN(run_percent, 100.0), 100.0);
}

gboolean
vmb_util_span_enough(gint64 span_us, guint interval_s)
{
    return span_us >= (gint64) interval_s * G_USEC_PER_SEC / 2;
}

double
vmb_ewma(double previous, double sample, double alpha)
{
    return alpha * sample + (1 - alpha) * previous;
}

/* Weight of the newest sample in the variance (the bench/ traces: slower averaging made
 * phase changes settle later without calming noisy hosts more). */
#define VAR_ALPHA 0.5

void
vmb_ewma_var(double *mean, double *var, double previous, double sample, double alpha)
{
    *mean = vmb_ewma(*mean, sample, alpha);
    /* Half the squared step between successive samples estimates their variance (white
     * noise: exactly). Measured against the lagging mean instead, a lasting change of level
     * counted as noise for three or four cycles and held back the moves it called for
     * (bench: reaction 4 cycles on huge-64 and overcommit-8, now 3). */
    double step = sample - previous;
    *var = (1 - VAR_ALPHA) * *var + VAR_ALPHA * step * step / 2;
}

static void
history_free(DomHistory *h)
{
    g_free(h->time_ns);
    g_free(h->wait_ns);
    g_free(h->pcpu);
    g_free(h->loads);
    g_free(h);
}

static DomHistory *
history_new(guint nvcpus)
{
    DomHistory *h = g_new0(DomHistory, 1);
    h->nvcpus = nvcpus;
    h->time_ns = g_new0(guint64, nvcpus);
    h->wait_ns = g_new0(guint64, nvcpus);
    h->pcpu = g_new0(gint, nvcpus);
    h->loads = g_new0(VmbVcpuLoad, nvcpus);
    return h;
}

static void
part_clear(PartOfBusy *part)
{
    g_clear_pointer(&part->prev, g_free);
    g_clear_pointer(&part->pct, g_free);
}

static void
part_reset(PartOfBusy *part, const guint64 *ns, guint npcpus)
{
    part_clear(part);
    part->pct = g_new0(double, npcpus);
    if (ns)
        part->prev = g_memdup2(ns, sizeof(guint64) * npcpus);
}

/* Percent per pCPU over @wall_us; zeros when the backend does not report this part. */
static void
part_update(PartOfBusy *part, const guint64 *ns, guint npcpus, gint64 wall)
{
    if (!ns) {
        g_clear_pointer(&part->prev, g_free);
        memset(part->pct, 0, sizeof(double) * npcpus);
        return;
    }
    for (guint c = 0; part->prev && c < npcpus; c++)
        part->pct[c] = MIN(vmb_util_percent(part->prev[c], ns[c], wall), 100);
    g_free(part->prev);
    part->prev = g_memdup2(ns, sizeof(guint64) * npcpus);
}

VmbCpuUsage *
vmb_cpu_usage_new(void)
{
    VmbCpuUsage *u = g_new0(VmbCpuUsage, 1);
    u->domains =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) history_free);
    u->pin_cycle = g_hash_table_new(g_direct_hash, g_direct_equal);
    return u;
}

void
vmb_cpu_usage_free(VmbCpuUsage *u)
{
    if (!u)
        return;
    g_hash_table_unref(u->domains);
    g_hash_table_unref(u->pin_cycle);
    g_free(u->pcpu_prev);
    g_free(u->pcpu_busy);
    part_clear(&u->bound);
    g_free(u);
}

static void
update_pcpus(VmbCpuUsage *u, const VmbSnapshot *s)
{
    if (!s->pcpu_busy_ns || s->npcpus != u->npcpus) {
        g_clear_pointer(&u->pcpu_prev, g_free);
        g_clear_pointer(&u->pcpu_busy, g_free);
        part_clear(&u->bound);
        u->npcpus = s->npcpus;
        u->pcpu_valid = FALSE;
        if (!s->pcpu_busy_ns)
            return;
        u->pcpu_prev = g_memdup2(s->pcpu_busy_ns, sizeof(guint64) * s->npcpus);
        u->pcpu_busy = g_new0(double, s->npcpus);
        part_reset(&u->bound, s->pcpu_bound_ns, s->npcpus);
        u->pcpu_mono_us = s->mono_us;
        return;
    }
    gint64 wall = s->mono_us - u->pcpu_mono_us;
    for (guint c = 0; c < s->npcpus; c++) {
        u->pcpu_busy[c] = MIN(vmb_util_percent(u->pcpu_prev[c], s->pcpu_busy_ns[c], wall), 100);
        u->pcpu_prev[c] = s->pcpu_busy_ns[c];
    }
    part_update(&u->bound, s->pcpu_bound_ns, s->npcpus, wall);
    u->pcpu_mono_us = s->mono_us;
    u->pcpu_valid = wall > 0;
}

static void
note_pin_change(VmbCpuUsage *u, gint pcpu)
{
    if (pcpu >= 0)
        g_hash_table_insert(u->pin_cycle, GINT_TO_POINTER(pcpu + 1), GSIZE_TO_POINTER(u->cycle));
}

/* pCPUs a vCPU was pinned to or away from since the last snapshot (by us or anyone): the
 * run-queue wait of every vCPU there changes, so their levels move for a while. */
static void
note_pin_changes(VmbCpuUsage *u, const VmbSnapshot *s)
{
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        DomHistory *h = g_hash_table_lookup(u->domains, d->uuid);
        for (guint v = 0; h && h->nvcpus == d->nvcpus && v < d->nvcpus; v++) {
            if (h->pcpu[v] == d->vcpus[v].pcpu)
                continue;
            note_pin_change(u, h->pcpu[v]);
            note_pin_change(u, d->vcpus[v].pcpu);
        }
    }
}

/* Tells @l's level when its pCPU last saw a pin change. */
static void
tell_pin_change(const VmbCpuUsage *u, VmbVcpuLoad *l, gint pcpu)
{
    gpointer at = pcpu >= 0 ? g_hash_table_lookup(u->pin_cycle, GINT_TO_POINTER(pcpu + 1)) : NULL;
    if (at)
        vmb_load_level_pinned(&l->level, GPOINTER_TO_SIZE(at));
}

void
vmb_cpu_usage_update(VmbCpuUsage *u, const VmbSnapshot *s, double alpha)
{
    u->cycle++;
    update_pcpus(u, s);
    note_pin_changes(u, s);

    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        DomHistory *h = g_hash_table_lookup(u->domains, d->uuid);
        gboolean reset = h == NULL || h->nvcpus != d->nvcpus;
        for (guint v = 0; !reset && v < d->nvcpus; v++)
            reset = d->vcpus[v].time_ns < h->time_ns[v]; /* the domain restarted */
        if (reset) {
            h = history_new(d->nvcpus);
            for (guint v = 0; v < d->nvcpus; v++) {
                h->time_ns[v] = d->vcpus[v].time_ns;
                h->wait_ns[v] = d->vcpus[v].wait_ns;
                h->pcpu[v] = d->vcpus[v].pcpu;
            }
            h->mono_us = s->mono_us;
            h->seen = u->cycle;
            g_hash_table_replace(u->domains, g_strdup(d->uuid), h);
            continue;
        }
        gint64 wall = s->mono_us - h->mono_us;
        for (guint v = 0; v < d->nvcpus && wall > 0; v++) {
            const VmbVcpuStat *vs = &d->vcpus[v];
            double run = vmb_util_percent(h->time_ns[v], vs->time_ns, wall);
            double wait = vs->has_wait ? vmb_util_percent(h->wait_ns[v], vs->wait_ns, wall) : 0;
            double demand = vmb_util_demand(MIN(run, 100), wait);
            VmbVcpuLoad *l = &h->loads[v];
            tell_pin_change(u, l, vs->pcpu);
            if (l->valid)
                vmb_load_level_update(&l->level, demand, alpha, u->cycle);
            else
                vmb_load_level_start(&l->level, demand, alpha);
            l->load = l->level.shown_mean;
            l->noise = vmb_load_level_noise(&l->level);
            l->run = MIN(run, 100);
            l->demand = demand;
            l->valid = TRUE;
            h->time_ns[v] = vs->time_ns;
            h->wait_ns[v] = vs->wait_ns;
            h->pcpu[v] = vs->pcpu;
        }
        if (wall > 0)
            h->mono_us = s->mono_us;
        h->seen = u->cycle;
    }

    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, u->domains);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (((DomHistory *) value)->seen != u->cycle)
            g_hash_table_iter_remove(&it);
    }
}

guint64
vmb_cpu_usage_cycle(const VmbCpuUsage *u)
{
    return u->cycle;
}

const VmbVcpuLoad *
vmb_cpu_usage_vcpu(const VmbCpuUsage *u, const char *uuid, guint vcpu)
{
    DomHistory *h = g_hash_table_lookup(u->domains, uuid);
    return h && vcpu < h->nvcpus ? &h->loads[vcpu] : NULL;
}

gboolean
vmb_cpu_usage_pcpu(const VmbCpuUsage *u, guint pcpu, double *busy)
{
    if (!u->pcpu_valid || pcpu >= u->npcpus)
        return FALSE;
    *busy = u->pcpu_busy[pcpu];
    return TRUE;
}

double
vmb_cpu_usage_pcpu_bound(const VmbCpuUsage *u, guint pcpu)
{
    return u->pcpu_valid && pcpu < u->npcpus ? u->bound.pct[pcpu] : 0;
}

void
vmb_cpu_usage_mark_moved(VmbCpuUsage *u, const char *uuid, guint vcpu)
{
    DomHistory *h = g_hash_table_lookup(u->domains, uuid);
    if (h && vcpu < h->nvcpus) {
        h->loads[vcpu].moved_cycle = u->cycle;
        vmb_load_level_pinned(&h->loads[vcpu].level, u->cycle);
    }
}

void
vmb_cpu_usage_forget(VmbCpuUsage *u, const char *uuid)
{
    g_hash_table_remove(u->domains, uuid);
}
