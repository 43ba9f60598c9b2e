/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory algorithms the benchmark and test-mem-sim compare, each acting on the host only
 * through the hypervisor layer, one call per cycle with that cycle's snapshot:
 *  - vmbalance: the daemon's memory task (mem-task.c, mem-policy.c), default configuration.
 *  - seed 003: keep 150000 KB unused per guest. Within 5000 KB of it: nothing; more than
 *    50000 KB above: shrink 50000 KB; less above: shrink to the target; more than 50000 KB below:
 *    grow 2 x 50000 KB; less below: grow 50000 KB; no grow unless the host has 2 x 150000 KB
 *    free per guest; never above the guest's maximum.
 *  - seed 001: rate = drop of unused memory per second. Starving: unused <= 15 % of actual and
 *    rate > 1; wasting: unused > 50 % and rate < 1. The most starving guest (lowest unused
 *    percent) gets 2 x its consumption over the interval from the most wasteful guest (most
 *    unused) if that keeps 50 MiB, else from the host if the host keeps 5 % of its memory free;
 *    with no one starving the most wasteful guest gives half its unused memory back. One
 *    action per cycle; nothing that would pass a guest's maximum.
 *  - none: no coordination, the balloons stay where they are.
 * The seeds turn balloon statistics on (1 s) for every guest they see. */
#include "mem-algos.h"

#include "mem-task.h"

const char *const bench_mem_algo_names[N_MEM_ALGOS] = {
    "vmbalance",
    "seed 003",
    "seed 001",
    "none",
};

struct _MemAlgo {
    MemAlgoId id;
    guint interval;
    VmbMemTask task;
    VmbConfig *config;
    GHashTable *enabled; /* uuids whose statistics were turned on */
    GHashTable *prev;    /* seed 001: uuid -> unused KiB + 1 at the previous cycle */
};

MemAlgo *
bench_mem_algo_new(MemAlgoId id, guint interval, VmbConfig *config)
{
    MemAlgo *a = g_new0(MemAlgo, 1);
    a->id = id;
    a->interval = interval;
    a->enabled = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    a->prev = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (id == MEM_VMBALANCE) {
        vmb_mem_task_init(&a->task);
        a->config = config;
        a->config->mem_interval = interval;
        config = NULL;
    }
    if (config)
        vmb_config_free(config);
    return a;
}

void
bench_mem_algo_free(MemAlgo *a)
{
    if (!a)
        return;
    if (a->id == MEM_VMBALANCE) {
        vmb_mem_task_clear(&a->task);
        vmb_config_free(a->config);
    }
    g_hash_table_unref(a->enabled);
    g_hash_table_unref(a->prev);
    g_free(a);
}

static void
set_memory(VmbHypervisor *hv, const VmbDomainStat *d, guint64 kib)
{
    if (kib == d->balloon.current_kib || kib == 0)
        return;
    g_autoptr(GError) error = NULL;
    if (!vmb_hypervisor_set_memory(hv, d->uuid, kib, &error))
        g_warning("set memory of %s: %s", d->name, error->message);
}

#define S3_TARGET    150000
#define S3_THRESHOLD 50000
#define S3_EQUAL     5000

static void
seed003_cycle(MemAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    guint n = s->domains->len;
    gboolean host_ok = s->host_mem_available_kib >= 2ull * S3_TARGET * n;
    for (guint i = 0; i < n; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const VmbBalloonStat *b = &d->balloon;
        if (!(b->fields & VMB_BALLOON_UNUSED))
            continue;
        gint64 diff = (gint64) b->unused_kib - S3_TARGET;
        gint64 to = (gint64) b->current_kib;
        if (ABS(diff) < S3_EQUAL)
            continue;
        if (diff > S3_THRESHOLD)
            to -= S3_THRESHOLD;
        else if (diff > 0)
            to -= diff;
        else if (!host_ok)
            continue;
        else if (-diff > S3_THRESHOLD)
            to += 2 * S3_THRESHOLD;
        else
            to += S3_THRESHOLD;
        to = MIN(to, (gint64) b->maximum_kib);
        if (to > 0)
            set_memory(hv, d, (guint64) to);
    }
}

#define S1_STARVE   15.0
#define S1_WASTE    50.0
#define S1_HOST_MIN 5.0
#define S1_MIN_KIB  (50 * 1024)

static void
seed001_mem_cycle(MemAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    const VmbDomainStat *starved = NULL, *wasteful = NULL;
    double starved_pct = G_MAXDOUBLE, amount = 0;
    guint64 wasteful_unused = 0;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const VmbBalloonStat *b = &d->balloon;
        if (!(b->fields & VMB_BALLOON_UNUSED) || b->current_kib == 0)
            continue;
        gpointer old = g_hash_table_lookup(a->prev, d->uuid);
        g_hash_table_insert(a->prev, g_strdup(d->uuid), GSIZE_TO_POINTER(b->unused_kib + 1));
        if (!old)
            continue;
        double drop = (double) (GPOINTER_TO_SIZE(old) - 1) - (double) b->unused_kib;
        double rate = drop / a->interval; /* KiB/s */
        double pct = 100.0 * (double) b->unused_kib / (double) b->current_kib;
        if (rate > 1 && pct <= S1_STARVE) {
            if (pct < starved_pct) {
                starved = d;
                starved_pct = pct;
                amount = 2 * rate * a->interval;
            }
        } else if (rate < 1 && pct > S1_WASTE && b->unused_kib > wasteful_unused) {
            wasteful = d;
            wasteful_unused = b->unused_kib;
        }
    }
    if (starved) {
        const VmbBalloonStat *sb = &starved->balloon;
        if ((double) sb->current_kib + amount > (double) sb->maximum_kib)
            return; /* never above the maximum */
        if (wasteful) {
            const VmbBalloonStat *wb = &wasteful->balloon;
            if ((double) wb->current_kib - amount >= S1_MIN_KIB) {
                set_memory(hv, wasteful, (guint64) ((double) wb->current_kib - amount));
                set_memory(hv, starved, (guint64) ((double) sb->current_kib + amount));
            }
        } else if ((double) s->host_mem_available_kib - amount >
                   S1_HOST_MIN / 100.0 * (double) s->host_mem_total_kib) {
            set_memory(hv, starved, (guint64) ((double) sb->current_kib + amount));
        }
    } else if (wasteful) {
        const VmbBalloonStat *wb = &wasteful->balloon;
        guint64 to = wb->current_kib - wb->unused_kib / 2;
        if (to >= S1_MIN_KIB)
            set_memory(hv, wasteful, to);
    }
}

guint
bench_mem_algo_cycle(MemAlgo *a, VmbHypervisor *hv, const VmbSnapshot *s)
{
    if (a->id == MEM_VMBALANCE) {
        VmbMemCycleResult r;
        vmb_mem_task_run(&a->task, hv, s, a->config, FALSE, NULL, NULL, &r);
        /* The daemon's own schedule: an early cycle while a guest starves or is new. */
        return vmb_mem_task_followup(a->config, &r);
    }
    if (a->id == MEM_NONE)
        return 0;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        if (g_hash_table_contains(a->enabled, d->uuid))
            continue;
        vmb_hypervisor_set_stats_period(hv, d->uuid, 1, NULL);
        g_hash_table_add(a->enabled, g_strdup(d->uuid));
    }
    if (a->id == MEM_SEED003)
        seed003_cycle(a, hv, s);
    else
        seed001_mem_cycle(a, hv, s);
    return 0;
}
