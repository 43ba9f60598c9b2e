/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The algorithms the benchmark compares, each acting on the host only through the hypervisor
 * layer, one call per cycle with that cycle's snapshot:
 *
 * vCPU
 *  - vmbalance: the daemon's cpu task (cpu-task.c, cpu-policy.c), default configuration.
 *  - seed 001: every cycle, vCPU usage is its CPU time over the interval and a pCPU's usage the
 *    sum of the vCPUs on it. If the busiest pCPU is more than 10 points above the freest and has
 *    more than one vCPU, its busiest vCPU is pinned to the freest pCPU. One move per cycle.
 *  - seed 004: at start every vCPU is pinned round robin. Every cycle a pCPU's utilization is
 *    100 - idle (host load included); pCPUs above 90 % with more than one vCPU are "high",
 *    pCPUs below 70 % "low". For each low pCPU (in order) the vCPU of any high pCPU whose move
 *    brings the low pCPU closest to the 80 % target, without reaching 90 %, is moved; a high
 *    pCPU gives and a low one takes at most one vCPU per cycle.
 *  - LPT: every cycle, all vCPUs re-placed from scratch, largest demand first onto the least
 *    loaded pCPU (host load estimated from busy time); every differing pin is changed.
 *  - no pinning: nothing is ever pinned; the simulated host shares leftover capacity among
 *    floating vCPUs as a fluid (the kernel's own balancing, idealised).
 *  - oracle: for each phase of the trace (between two changes), LPT then local search (moves
 *    and swaps off the most loaded pCPU) on the phase's nominal loads averaged over the phase,
 *    placed at the cycle the phase starts. It knows the future: the best static placement per
 *    phase this benchmark can find, a reference, not a contender.
 * Both seeds list the domains once when they start (later ones are not managed, and the
 * originals exit when one of theirs goes away: here they carry on with the rest). They see
 * where a floating vCPU last ran (libvirt's virVcpuInfo.cpu); the simulated host has no such
 * place, so it is a pseudo-random pCPU per vCPU and cycle.
 *
 * The memory algorithms are in mem-algos.c. */
#include "bench.h"

#include <math.h>
#include <string.h>

#include "config.h"
#include "cpu-task.h"

const char *const bench_cpu_algo_names[N_CPU_ALGOS] = {
    "vmbalance", "seed 001", "seed 004", "LPT", "no pinning", "oracle",
};

static GStrv overrides; /* "key=value" applied to vmbalance's configuration */

gboolean
bench_set_overrides(const char *const *items, GError **error)
{
    g_autoptr(VmbConfig) probe = vmb_config_new_defaults();
    for (guint i = 0; items && items[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(items[i], "=", 2);
        if (!kv[0] || !kv[1]) {
            g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX,
                        "'%s': expected KEY=VALUE", items[i]);
            return FALSE;
        }
        if (!vmb_config_set(probe, g_strstrip(kv[0]), g_strstrip(kv[1]), error))
            return FALSE;
    }
    g_strfreev(overrides);
    overrides = g_strdupv((char **) items);
    return TRUE;
}

VmbConfig *
bench_vmbalance_config(void)
{
    VmbConfig *c = vmb_config_new_defaults();
    for (guint i = 0; overrides && overrides[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(overrides[i], "=", 2);
        vmb_config_set(c, g_strstrip(kv[0]), g_strstrip(kv[1]), NULL);
    }
    return c;
}

/* ---- per-vCPU rates from consecutive snapshots */

typedef struct {
    guint n;
    guint64 *time_ns, *wait_ns;
} Prev;

static void
prev_free(Prev *p)
{
    g_free(p->time_ns);
    g_free(p->wait_ns);
    g_free(p);
}

typedef struct {
    GHashTable *prev; /* uuid -> Prev */
    gint64 mono_us;
    gboolean have;
    guint npcpus;
    guint64 *pcpu_prev;
    /* results of the last update, aligned with the snapshot's domains */
    GPtrArray *run;    /* double[nvcpus] per domain, NULL = first sight */
    GPtrArray *demand; /* run + wait */
    double *pcpu_busy; /* [npcpus], valid when have_pcpu */
    gboolean have_pcpu;
} Meter;

static void
meter_init(Meter *m)
{
    memset(m, 0, sizeof(*m));
    m->prev = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) prev_free);
    m->run = g_ptr_array_new_with_free_func(g_free);
    m->demand = g_ptr_array_new_with_free_func(g_free);
}

static void
meter_clear(Meter *m)
{
    g_hash_table_unref(m->prev);
    g_ptr_array_unref(m->run);
    g_ptr_array_unref(m->demand);
    g_free(m->pcpu_prev);
    g_free(m->pcpu_busy);
}

static void
meter_update(Meter *m, const VmbSnapshot *s)
{
    double wall_ns = m->have ? (double) (s->mono_us - m->mono_us) * 1000.0 : 0;
    g_ptr_array_set_size(m->run, 0);
    g_ptr_array_set_size(m->demand, 0);
    g_autoptr(GHashTable) next =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) prev_free);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        Prev *p = g_hash_table_lookup(m->prev, d->uuid);
        double *run = NULL, *demand = NULL;
        if (p && p->n == d->nvcpus && wall_ns > 0) {
            run = g_new0(double, d->nvcpus);
            demand = g_new0(double, d->nvcpus);
            for (guint v = 0; v < d->nvcpus; v++) {
                double r = (double) (d->vcpus[v].time_ns - p->time_ns[v]) / wall_ns * 100;
                double w = (double) (d->vcpus[v].wait_ns - p->wait_ns[v]) / wall_ns * 100;
                run[v] = MIN(r, 100);
                demand[v] = MIN(r + w, 100);
            }
        }
        g_ptr_array_add(m->run, run);
        g_ptr_array_add(m->demand, demand);
        Prev *n = g_new0(Prev, 1);
        n->n = d->nvcpus;
        n->time_ns = g_new0(guint64, d->nvcpus);
        n->wait_ns = g_new0(guint64, d->nvcpus);
        for (guint v = 0; v < d->nvcpus; v++) {
            n->time_ns[v] = d->vcpus[v].time_ns;
            n->wait_ns[v] = d->vcpus[v].wait_ns;
        }
        g_hash_table_replace(next, g_strdup(d->uuid), n);
    }
    g_hash_table_unref(m->prev);
    m->prev = g_steal_pointer(&next);

    if (m->npcpus != s->npcpus || !m->pcpu_prev) {
        g_free(m->pcpu_prev);
        g_free(m->pcpu_busy);
        m->npcpus = s->npcpus;
        m->pcpu_prev = g_new0(guint64, s->npcpus);
        m->pcpu_busy = g_new0(double, s->npcpus);
        m->have_pcpu = FALSE;
    } else {
        m->have_pcpu = wall_ns > 0 && s->pcpu_busy_ns;
    }
    for (guint c = 0; s->pcpu_busy_ns && c < s->npcpus; c++) {
        if (m->have_pcpu)
            m->pcpu_busy[c] =
                MIN(100, (double) (s->pcpu_busy_ns[c] - m->pcpu_prev[c]) / wall_ns * 100);
        m->pcpu_prev[c] = s->pcpu_busy_ns[c];
    }
    m->mono_us = s->mono_us;
    m->have = TRUE;
}

/* ---- vCPU algorithms */

typedef struct {
    char *uuid;
    guint vcpu;
    gint pcpu; /* where seed 004 pinned it */
    double util;
    gboolean alive;
} S4Item;

struct _CpuAlgo {
    CpuAlgoId id;
    double interval;
    const VmbScenario *sc;
    guint64 cycle;
    /* vmbalance */
    VmbCpuTask task;
    VmbConfig *config;
    /* baselines */
    Meter meter;
    GHashTable *known; /* seeds: uuids of the domains running when they started */
    gint prev_known;   /* seed 001: known domains running last cycle */
    /* seed 004 */
    GArray *s4;  /* S4Item */
    GArray **on; /* [npcpus] S4Item indices, in pinning order */
    guint npcpus;
    /* oracle */
    GHashTable *defs; /* uuid -> VmbScenarioDomain* */
    const GArray *changes;
    double duration;
    gint oracle_phase;
};

CpuAlgo *
bench_cpu_algo_new(CpuAlgoId id, const CpuTrace *tr, const VmbScenario *sc)
{
    CpuAlgo *a = g_new0(CpuAlgo, 1);
    a->id = id;
    a->sc = sc;
    a->interval = tr->interval;
    a->changes = tr->changes;
    a->duration = tr->duration;
    a->oracle_phase = -1;
    meter_init(&a->meter);
    a->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    a->prev_known = -1;
    a->s4 = g_array_new(FALSE, FALSE, sizeof(S4Item));
    a->defs = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < sc->domains->len; i++) {
        VmbScenarioDomain *d = g_ptr_array_index(sc->domains, i);
        g_hash_table_insert(a->defs, d->uuid, d);
    }
    if (id == CPU_VMBALANCE) {
        vmb_cpu_task_init(&a->task);
        a->config = bench_vmbalance_config();
        a->config->cpu_interval = (guint) a->interval;
    }
    return a;
}

void
bench_cpu_algo_set(CpuAlgo *a, const char *key, const char *value)
{
    g_autoptr(GError) error = NULL;
    if (a->config && !vmb_config_set(a->config, key, value, &error))
        g_error("bench variant %s = %s: %s", key, value, error->message);
}

void
bench_cpu_algo_free(CpuAlgo *a)
{
    if (!a)
        return;
    if (a->id == CPU_VMBALANCE) {
        vmb_cpu_task_clear(&a->task);
        vmb_config_free(a->config);
    }
    meter_clear(&a->meter);
    g_hash_table_unref(a->known);
    for (guint i = 0; i < a->s4->len; i++)
        g_free(g_array_index(a->s4, S4Item, i).uuid);
    g_array_unref(a->s4);
    for (guint c = 0; a->on && c < a->npcpus; c++)
        g_array_unref(a->on[c]);
    g_free(a->on);
    g_hash_table_unref(a->defs);
    g_free(a);
}

static void
pin(VmbHypervisor *hv, const VmbDomainStat *d, guint vcpu, guint pcpu)
{
    if (d->vcpus[vcpu].pcpu == (gint) pcpu)
        return; /* not a change */
    g_autoptr(GError) error = NULL;
    if (!vmb_hypervisor_pin_vcpu(hv, d->uuid, vcpu, pcpu, &error))
        g_warning("pin %s vCPU %u to %u: %s", d->name, vcpu, pcpu, error->message);
}

/* Where libvirt would say a floating vCPU last ran. */
static guint
last_ran(const VmbDomainStat *d, guint vcpu, guint64 cycle, guint npcpus)
{
    guint64 h = bench_mix(g_str_hash(d->uuid) ^ bench_mix(vcpu * 1000003ULL + cycle));
    return (guint) (h % npcpus);
}

static void
remember_start(CpuAlgo *a, const VmbSnapshot *s)
{
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        g_hash_table_add(a->known, g_strdup(d->uuid));
    }
}

static void
seed001_cycle(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    guint P = s->npcpus;
    if (a->cycle == 1)
        remember_start(a, s);
    gint running = 0;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        running += g_hash_table_contains(a->known, d->uuid);
    }
    /* It takes no decision on a cycle whose domain count changed (no usage yet). */
    gboolean skip = running != a->prev_known;
    a->prev_known = running;
    if (skip || a->cycle == 1)
        return;

    g_autofree double *usage = g_new0(double, P);
    g_autofree guint *count = g_new0(guint, P);
    g_autofree double *top = g_new0(double, P);
    g_autofree gint *top_dom = g_new0(gint, P);
    g_autofree guint *top_vcpu = g_new0(guint, P);
    for (guint c = 0; c < P; c++)
        top_dom[c] = -1;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const double *run = g_ptr_array_index(a->meter.run, i);
        if (!g_hash_table_contains(a->known, d->uuid) || !run)
            continue;
        for (guint v = 0; v < d->nvcpus; v++) {
            guint c =
                d->vcpus[v].pcpu >= 0 ? (guint) d->vcpus[v].pcpu : last_ran(d, v, a->cycle, P);
            count[c]++;
            usage[c] += run[v];
            if (run[v] > top[c]) {
                top[c] = run[v];
                top_dom[c] = (gint) i;
                top_vcpu[c] = v;
            }
        }
    }
    gint busiest = -1, freest = -1;
    double busiest_usage = 0, freest_usage = 100;
    for (guint c = 0; c < P; c++) {
        if (usage[c] > busiest_usage) {
            busiest_usage = usage[c];
            busiest = (gint) c;
        }
        if (usage[c] < freest_usage) {
            freest_usage = usage[c];
            freest = (gint) c;
        }
    }
    if (busiest < 0 || freest < 0 || busiest_usage - freest_usage < 10)
        return;
    if (count[busiest] > 1 && top_dom[busiest] >= 0) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, top_dom[busiest]);
        pin(hv, d, top_vcpu[busiest], (guint) freest);
    }
}

static void
s4_place(CpuAlgo *a, guint item, gint pcpu)
{
    S4Item *it = &g_array_index(a->s4, S4Item, item);
    if (it->pcpu >= 0) {
        GArray *list = a->on[it->pcpu];
        for (guint k = 0; k < list->len; k++) {
            if (g_array_index(list, guint, k) == item) {
                g_array_remove_index(list, k); /* keeps the order */
                break;
            }
        }
    }
    it->pcpu = pcpu;
    if (pcpu >= 0)
        g_array_append_val(a->on[pcpu], item);
}

/* virt_init: the domains running now, every vCPU pinned round robin. */
static void
seed004_init(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    guint P = s->npcpus;
    a->npcpus = P;
    a->on = g_new0(GArray *, P);
    for (guint c = 0; c < P; c++)
        a->on[c] = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        for (guint v = 0; v < d->nvcpus; v++) {
            S4Item it = {g_strdup(d->uuid), v, -1, 0, TRUE};
            g_array_append_val(a->s4, it);
            guint k = a->s4->len - 1;
            pin(hv, d, v, k % P);
            s4_place(a, k, (gint) (k % P));
        }
    }
}

/* collect_vcpu_stats: utilization of the vCPUs it knows (gone ones drop out). @index maps a
 * running domain's UUID to its index in the snapshot plus one. */
static void
seed004_collect_vcpus(CpuAlgo *a, GHashTable *index)
{
    for (guint k = 0; k < a->s4->len; k++) {
        S4Item *it = &g_array_index(a->s4, S4Item, k);
        guint i = GPOINTER_TO_UINT(g_hash_table_lookup(index, it->uuid));
        const double *run = i ? g_ptr_array_index(a->meter.run, i - 1) : NULL;
        if (!i && it->alive) {
            it->alive = FALSE;
            s4_place(a, k, -1);
        }
        it->util = run ? run[it->vcpu] : 0;
    }
}

/* collect_pcpu_stats: 100 - idle, high (over 90 % with more than one vCPU) and low (under
 * 70 %) masks. */
static void
seed004_collect_pcpus(const CpuAlgo *a, guint P, gboolean *high, gboolean *low)
{
    for (guint c = 0; c < P; c++) {
        double util = a->meter.pcpu_busy[c];
        if (util > 90)
            high[c] = a->on[c]->len > 1;
        else
            low[c] = util < 70;
    }
}

/* The vCPU on a high pCPU that brings low pCPU @lo closest to 80 % and keeps it under 90 %
 * (its S4Item index), or -1. */
static gint
seed004_best_for(const CpuAlgo *a, guint P, const gboolean *high, guint lo)
{
    double best_delta = 100;
    gint best = -1;
    for (guint hi = 0; hi < P; hi++) {
        if (!high[hi])
            continue;
        GArray *list = a->on[hi];
        for (guint j = 0; j < list->len; j++) {
            guint k = g_array_index(list, guint, j);
            const S4Item *it = &g_array_index(a->s4, S4Item, k);
            double new_util = it->util + a->meter.pcpu_busy[lo];
            double delta = fabs(80 - new_util);
            if (delta < best_delta && new_util < 90) {
                best_delta = delta;
                best = (gint) k;
            }
        }
    }
    return best;
}

/* vcpu_pinning_adjust: each low pCPU, while a high one is left, takes its best vCPU from a
 * high pCPU (which is then no longer high). */
static void
seed004_adjust(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s, GHashTable *index,
               gboolean *high, gboolean *low)
{
    guint P = s->npcpus;
    for (guint lo = 0; lo < P; lo++) {
        if (!low[lo])
            continue;
        gboolean any_high = FALSE;
        for (guint c = 0; c < P; c++)
            any_high = any_high || high[c];
        if (!any_high)
            break;
        gint best = seed004_best_for(a, P, high, lo);
        low[lo] = FALSE;
        if (best >= 0) {
            S4Item *it = &g_array_index(a->s4, S4Item, best);
            high[it->pcpu] = FALSE;
            guint i = GPOINTER_TO_UINT(g_hash_table_lookup(index, it->uuid));
            pin(hv, g_ptr_array_index(s->domains, i - 1), it->vcpu, lo);
            s4_place(a, (guint) best, (gint) lo);
        }
    }
}

static void
seed004_cycle(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    guint P = s->npcpus;
    g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        g_hash_table_insert(index, d->uuid, GUINT_TO_POINTER(i + 1));
    }
    if (a->cycle == 1) {
        seed004_init(a, hv, s);
        return;
    }
    if (!a->meter.have_pcpu)
        return;
    seed004_collect_vcpus(a, index);
    g_autofree gboolean *high = g_new0(gboolean, P);
    g_autofree gboolean *low = g_new0(gboolean, P);
    seed004_collect_pcpus(a, P, high, low);
    seed004_adjust(a, hv, s, index, high, low);
}

typedef struct {
    guint dom, vcpu;
    double load;
    guint bin;
} LptItem;

static int
cmp_lpt(gconstpointer pa, gconstpointer pb)
{
    const LptItem *x = pa, *y = pb;
    if (x->load != y->load)
        return x->load < y->load ? 1 : -1;
    if (x->dom != y->dom)
        return x->dom < y->dom ? -1 : 1;
    return x->vcpu < y->vcpu ? -1 : x->vcpu > y->vcpu;
}

/* Longest processing time first onto the least loaded pCPU; @load starts as the host load. */
static void
lpt_assign(GArray *items, double *load, guint P)
{
    g_array_sort(items, cmp_lpt);
    for (guint k = 0; k < items->len; k++) {
        LptItem *it = &g_array_index(items, LptItem, k);
        guint best = 0;
        for (guint c = 1; c < P; c++) {
            if (load[c] < load[best] - 1e-9)
                best = c;
        }
        it->bin = best;
        load[best] += it->load;
    }
}

/* Local search after LPT: moves and swaps off the most loaded pCPU while they lower it. Each
 * step lowers the sum of squared loads, so it ends. */
static void
improve(GArray *items, double *load, guint P)
{
    for (guint iter = 0; iter < 100000; iter++) {
        guint a = 0;
        for (guint c = 1; c < P; c++) {
            if (load[c] > load[a])
                a = c;
        }
        double best_gain = 1e-6;
        gint bi = -1, bj = -1;
        guint bb = 0;
        for (guint i = 0; i < items->len; i++) {
            const LptItem *x = &g_array_index(items, LptItem, i);
            if (x->bin != a)
                continue;
            for (guint b = 0; b < P; b++) {
                if (b == a)
                    continue;
                double gain = load[a] - MAX(load[a] - x->load, load[b] + x->load);
                if (gain > best_gain) {
                    best_gain = gain;
                    bi = (gint) i;
                    bj = -1;
                    bb = b;
                }
            }
            for (guint j = 0; j < items->len; j++) {
                const LptItem *y = &g_array_index(items, LptItem, j);
                if (y->bin == a || y->load >= x->load)
                    continue;
                double d = x->load - y->load;
                double gain = load[a] - MAX(load[a] - d, load[y->bin] + d);
                if (gain > best_gain) {
                    best_gain = gain;
                    bi = (gint) i;
                    bj = (gint) j;
                    bb = y->bin;
                }
            }
        }
        if (bi < 0)
            return;
        LptItem *x = &g_array_index(items, LptItem, bi);
        load[a] -= x->load;
        load[bb] += x->load;
        x->bin = bb;
        if (bj >= 0) {
            LptItem *y = &g_array_index(items, LptItem, bj);
            load[bb] -= y->load;
            load[a] += y->load;
            y->bin = a;
        }
    }
}

static void
apply_bins(VmbHypervisor *hv, const VmbSnapshot *s, GArray *items)
{
    for (guint k = 0; k < items->len; k++) {
        const LptItem *it = &g_array_index(items, LptItem, k);
        pin(hv, g_ptr_array_index(s->domains, it->dom), it->vcpu, it->bin);
    }
}

static void
lpt_cycle(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    if (!a->meter.have_pcpu)
        return;
    guint P = s->npcpus;
    g_autofree double *bg = g_memdup2(a->meter.pcpu_busy, sizeof(double) * P);
    g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(LptItem));
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const double *run = g_ptr_array_index(a->meter.run, i);
        const double *demand = g_ptr_array_index(a->meter.demand, i);
        for (guint v = 0; run && v < d->nvcpus; v++) {
            if (d->vcpus[v].pcpu >= 0)
                bg[d->vcpus[v].pcpu] -= run[v];
            LptItem it = {i, v, demand[v], 0};
            g_array_append_val(items, it);
        }
    }
    for (guint c = 0; c < P; c++)
        bg[c] = MAX(0, bg[c]);
    lpt_assign(items, bg, P);
    apply_bins(hv, s, items);
}

#define ORACLE_SAMPLES 200

/* The phase's loads, known in advance: LPT and local search on the nominal loads averaged
 * over the phase, placed when the phase starts. */
static void
oracle_cycle(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    guint P = s->npcpus;
    double now = (double) s->mono_us / 1e6;
    guint k = 0;
    while (k + 1 < a->changes->len && g_array_index(a->changes, double, k + 1) <= now + 1e-9)
        k++;
    double from = g_array_index(a->changes, double, k);
    double to = k + 1 < a->changes->len ? g_array_index(a->changes, double, k + 1) : a->duration;
    if (a->cycle > 1 && (gint) k == a->oracle_phase)
        return;
    a->oracle_phase = (gint) k;
    g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(LptItem));
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const VmbScenarioDomain *def = g_hash_table_lookup(a->defs, d->uuid);
        for (guint v = 0; def && v < d->nvcpus; v++) {
            LptItem it = {i, v, 0, 0};
            for (guint j = 0; j < ORACLE_SAMPLES; j++)
                it.load +=
                    vmb_series_at(&def->load[v], from + (j + 0.5) * (to - from) / ORACLE_SAMPLES);
            it.load /= ORACLE_SAMPLES;
            g_array_append_val(items, it);
        }
    }
    g_autofree double *load = g_new0(double, P);
    for (guint c = 0; c < P; c++) {
        for (guint j = 0; j < ORACLE_SAMPLES; j++)
            load[c] += vmb_series_at(&a->sc->background[c],
                                     from + (j + 0.5) * (to - from) / ORACLE_SAMPLES);
        load[c] /= ORACLE_SAMPLES;
    }
    lpt_assign(items, load, P);
    improve(items, load, P);
    apply_bins(hv, s, items);
}

void
bench_cpu_algo_cycle(CpuAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    a->cycle++;
    if (a->id == CPU_VMBALANCE) {
        VmbCpuCycleResult r;
        vmb_cpu_task_run(&a->task, hv, s, a->config, FALSE, NULL, NULL, &r);
        return;
    }
    meter_update(&a->meter, s);
    switch (a->id) {
    case CPU_SEED001:
        seed001_cycle(a, hv, s);
        break;
    case CPU_SEED004:
        seed004_cycle(a, hv, s);
        break;
    case CPU_LPT:
        lpt_cycle(a, hv, s);
        break;
    case CPU_ORACLE:
        oracle_cycle(a, hv, s);
        break;
    case CPU_NOPIN:
    case CPU_VMBALANCE:
    case N_CPU_ALGOS:
        break;
    }
}
