/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mem-task.h"

#include <math.h>

#include "domain-meta.h"
#include "log.h"
#include "mem-host.h"
#include "mem-log.h"
#include "mem-vmem.h"

#include <string.h>

/* EWMA weight of the newest rate sample. Rates are quick to rise (a sample above the average
 * is taken as is) and slow to fall (halved per sample): under-estimating growth starves a
 * guest or crosses the host reserve, over-estimating holds a little memory for a while. */
#define RATE_ALPHA 0.5
/* Bursts: the growth of a guest's use within one interval plus one stats period (what a cycle
 * cannot see coming), the largest recently, halved every BURST_HALF_LIFE_S. */
#define BURST_SAMPLES     16
#define BURST_HALF_LIFE_S 300.0
/* A major fault brings in one page. */
#define FAULT_KIB 4

typedef struct {
    char *uuid;
    guint stats_period;    /* period turned on; 0 = to do (appearance, reconnect) */
    gboolean no_balloon;   /* the domain has no balloon device */
    gint64 enabled_wall_s; /* when statistics were turned on */
    gboolean have_kernel;
    gint64 kernel_kib; /* actual - MemTotal with the balloon at rest (kernel reservations) */
    gint64 kernel_seen_kib, kernel_seen_at; /* the last such reading and its last_update */
    guint lag_cycles; /* cycles the guest's figures have shown its balloon away from actual */
    gboolean have_sample;
    gint64 sample_time; /* last_update of the newest sample */
    double sample_used; /* guest memory in use then, KiB */
    gboolean have_rate;
    double rate; /* KiB/s, smoothed */
    gboolean have_swap, have_faults;
    guint64 swap_in_kib, major_faults;
    /* Recent samples (time, use) for the bursts, a ring, and the largest burst seen with when. */
    gint64 burst_t[BURST_SAMPLES];
    double burst_used[BURST_SAMPLES];
    guint burst_next, burst_n;
    double burst_kib;
    gint64 burst_at;
    gboolean swapping;                   /* paging above a threshold in the newest sample */
    double paging_kib_s;                 /* swap-in plus major faults, KiB/s */
    guint64 target_kib, target_from_kib; /* our last request and the actual it started from */
    gint64 target_wall_s;
    guint64 dry_target_kib;   /* dry-run: the last target reported */
    guint64 vmem_plugged_kib; /* virtio-mem plugged when we last set the balloon */
    /* The balloon change being followed: its target, since when, and when actual last came
     * closer to it (and from where). */
    guint64 flight_target_kib, flight_last_kib;
    gint64 flight_since_s, flight_moved_s;
    /* Actual and QEMU RSS when we first grew the guest since it last caught up: what the
     * balloon gave it beyond what its RSS grew by is not host memory yet. */
    gboolean grow_base;
    guint64 grow_base_actual_kib, grow_base_rss_kib;
    /* How fast its balloon takes memory back, measured on our shrinks (KiB/s, 0 = unknown),
     * and whether the last shrink was measured to its end. */
    gint64 target_mono_us;
    double inflate_kib_s;
    gboolean inflate_done;
} MemHistory;

static void
history_free(MemHistory *h)
{
    g_free(h->uuid);
    g_free(h);
}

void
vmb_mem_task_init(VmbMemTask *t)
{
    memset(t, 0, sizeof(*t));
    t->doms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) history_free);
    t->foreign = vmb_foreign_targets_new();
}

void
vmb_mem_task_clear(VmbMemTask *t)
{
    if (t->doms) {
        /* A new task (new connection) reports its conditions afresh. */
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, t->doms);
        while (g_hash_table_iter_next(&it, &key, NULL))
            vmb_mem_log_forget(key);
    }
    g_clear_pointer(&t->doms, g_hash_table_unref);
    g_clear_pointer(&t->foreign, vmb_foreign_targets_free);
}

void
vmb_mem_task_forget(VmbMemTask *t, const char *uuid)
{
    if (t->doms)
        g_hash_table_remove(t->doms, uuid);
    vmb_mem_log_forget(uuid);
}

void
vmb_mem_task_reconnected(VmbMemTask *t)
{
    GHashTableIter it;
    gpointer value;
    if (!t->doms)
        return;
    g_hash_table_iter_init(&it, t->doms);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        MemHistory *h = value;
        h->stats_period = 0;
        h->no_balloon = FALSE;
    }
}

guint
vmb_mem_task_followup(const VmbConfig *c, const VmbMemCycleResult *r)
{
    guint soon = c->mem_stats_period + 1;
    if ((r->starving || r->stats_enabled || r->unmeasured) && vmb_config_mem_interval(c) > soon)
        return soon;
    return 0;
}

gboolean
vmb_mem_task_rate(const VmbMemTask *t, const char *uuid, double *rate_kib_s)
{
    const MemHistory *h = t->doms ? g_hash_table_lookup(t->doms, uuid) : NULL;
    if (!h || !h->have_rate)
        return FALSE;
    *rate_kib_s = h->rate;
    return TRUE;
}

static MemHistory *
history_get(VmbMemTask *t, const char *uuid)
{
    MemHistory *h = g_hash_table_lookup(t->doms, uuid);
    if (!h) {
        h = g_new0(MemHistory, 1);
        h->uuid = g_strdup(uuid);
        g_hash_table_insert(t->doms, h->uuid, h);
    }
    return h;
}

/* Drops the history of domains that are not running any more. */
static void
prune(VmbMemTask *t, const VmbSnapshot *s)
{
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, t->doms);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!vmb_snapshot_find(s, key)) {
            vmb_mem_log_forget(key);
            g_hash_table_iter_remove(&it);
        }
    }
}

/* Turns balloon statistics on. FALSE when the cycle should stop (connection lost). */
static gboolean
enable_stats(VmbMemTask *t, VmbHypervisor *hv, const VmbDomainStat *d, MemHistory *h,
             const VmbConfig *c, gint64 now_s)
{
    g_autoptr(GError) error = NULL;
    if (vmb_hypervisor_set_stats_period(hv, d->uuid, c->mem_stats_period, &error)) {
        h->stats_period = c->mem_stats_period;
        h->enabled_wall_s = now_s;
        vmb_mem_log_clear("noballoon", d->uuid);
        g_debug("balloon statistics of %s every %u s", d->name, c->mem_stats_period);
        return TRUE;
    }
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED))
        return FALSE;
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID)) {
        h->no_balloon = TRUE;
        g_autofree char *msg =
            g_strdup_printf("%s has no usable memory balloon (%s): its memory is left alone",
                            d->name, error->message);
        vmb_mem_log_once("noballoon", d->uuid, G_LOG_LEVEL_MESSAGE, msg);
    } else if (!g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN)) {
        t->errors++;
        g_warning("cannot turn on balloon statistics of %s: %s", d->name, error->message);
    }
    return TRUE;
}

/* Takes a new statistics sample into the consumption rate. Only samples taken with the
 * balloon at rest come here, so actual - MemAvailable is what the guest uses (plus a
 * constant), with or without autodeflate (which keeps MemTotal still). */
/* Paging between two samples @dt s apart: swap-in (KiB) and major faults (pages) per second,
 * each judged against its threshold (0 = not judged). Counters that went back (a guest
 * reboot) count as no paging. */
static void
feed_paging(MemHistory *h, const VmbBalloonStat *b, double dt, const VmbConfig *c)
{
    double swap_s = 0, faults_s = 0;
    if ((b->fields & VMB_BALLOON_SWAP) && h->have_swap && dt > 0 &&
        b->swap_in_kib >= h->swap_in_kib)
        swap_s = (double) (b->swap_in_kib - h->swap_in_kib) / dt;
    if ((b->fields & VMB_BALLOON_MAJOR_FAULT) && h->have_faults && dt > 0 &&
        b->major_faults >= h->major_faults)
        faults_s = (double) (b->major_faults - h->major_faults) / dt;
    h->swapping = (c->mem_swap_in_kib_s && swap_s > c->mem_swap_in_kib_s) ||
                  (c->mem_major_faults_s && faults_s > c->mem_major_faults_s);
    h->paging_kib_s = swap_s + faults_s * FAULT_KIB;
    if (b->fields & VMB_BALLOON_SWAP) {
        h->swap_in_kib = b->swap_in_kib;
        h->have_swap = TRUE;
    }
    if (b->fields & VMB_BALLOON_MAJOR_FAULT) {
        h->major_faults = b->major_faults;
        h->have_faults = TRUE;
    }
}

/* The remembered burst at @now, decayed. */
static double
burst_now(const MemHistory *h, gint64 now)
{
    if (h->burst_kib <= 0)
        return 0;
    return h->burst_kib * exp2(-(double) (now - h->burst_at) / BURST_HALF_LIFE_S);
}

/* Takes use @used at @now into the bursts: its growth within one interval plus stats period
 * (W) replaces the remembered burst when larger than what is left of it. The growth since each
 * sample of the last four W counts at its average rate over W: samples closer than W (follow-up
 * cycles) would otherwise miss most of a jump that ended in the guest's OOM killer, and samples
 * further apart (cycles skipped while a balloon settled) would count a slow climb whole. */
static void
feed_burst(MemHistory *h, gint64 now, double used, const VmbConfig *c)
{
    double window = vmb_config_mem_interval(c) + c->mem_stats_period;
    double growth = 0;
    for (guint k = 0; k < h->burst_n; k++) {
        double age = (double) (now - h->burst_t[k]);
        if (age > 0 && age <= 4 * window)
            growth = MAX(growth, (used - h->burst_used[k]) * window / age);
    }
    if (growth > burst_now(h, now)) {
        h->burst_kib = growth;
        h->burst_at = now;
    }
    h->burst_t[h->burst_next] = now;
    h->burst_used[h->burst_next] = used;
    h->burst_next = (h->burst_next + 1) % BURST_SAMPLES;
    h->burst_n = MIN(h->burst_n + 1, BURST_SAMPLES);
}

static void
feed_sample(MemHistory *h, const VmbBalloonStat *b, const VmbConfig *c)
{
    if (h->have_sample && b->last_update == h->sample_time)
        return; /* the guest has not refreshed its figures since */
    double used = b->current_kib > b->usable_kib ? (double) (b->current_kib - b->usable_kib) : 0;
    double dt = h->have_sample ? (double) (b->last_update - h->sample_time) : 0;
    if (h->have_sample && b->last_update > h->sample_time) {
        double r = (used - h->sample_used) / dt;
        h->rate = h->have_rate ? MAX(r, RATE_ALPHA * r + (1 - RATE_ALPHA) * h->rate) : r;
        h->have_rate = TRUE;
    }
    feed_paging(h, b, dt, c);
    feed_burst(h, b->last_update, used, c);
    h->have_sample = TRUE;
    h->sample_time = b->last_update;
    h->sample_used = used;
}

/* Do the statistics show the balloon where it is now, after our last change? Surely when
 * taken in a later second than the change. Within the same second (last-update has 1 s
 * resolution), MemTotal tells: it follows the balloon, so actual - MemTotal is back at its
 * resting value once the guest has moved. (With autodeflate MemTotal stays still; then
 * only the timestamp counts.) */
static gboolean
settled(const MemHistory *h, const VmbBalloonStat *b)
{
    if (!h->target_kib || b->last_update > h->target_wall_s)
        return TRUE;
    if (!h->have_kernel || !(b->fields & VMB_BALLOON_AVAILABLE))
        return FALSE;
    gint64 moved = (gint64) b->current_kib - (gint64) h->target_from_kib;
    gint64 tol = (gint64) vmb_mem_tolerance(b->current_kib);
    gint64 offset = (gint64) b->current_kib - (gint64) b->available_kib;
    return ABS(moved) > 2 * tol && ABS(offset - h->kernel_kib) <= tol;
}

/* Was the balloon where it is now when the statistics were taken? MemTotal follows the
 * balloon, so actual - MemTotal is at its resting value. Otherwise actual - MemAvailable mixes
 * two moments and is no measure of use (not known: yes; autodeflate keeps MemTotal still). */
static gboolean
at_rest(const MemHistory *h, const VmbBalloonStat *b)
{
    if (!h->have_kernel || !(b->fields & VMB_BALLOON_AVAILABLE) ||
        (b->features & VMB_BALLOON_DEFLATE_ON_OOM))
        return TRUE;
    gint64 offset = (gint64) b->current_kib - (gint64) b->available_kib;
    return ABS(offset - h->kernel_kib) <= (gint64) vmb_mem_tolerance(b->current_kib);
}

/* actual - MemTotal with the balloon at our target (or none set) is what the guest's kernel
 * keeps for itself. Taken when two statistics samples agree on it, and not while the guest's
 * figures run ahead of libvirt's actual (actual_lags(), checked first): such a sample is taken
 * with the balloon moving. */
static void
measure_kernel(MemHistory *h, const VmbBalloonStat *b)
{
    if (!(b->fields & VMB_BALLOON_AVAILABLE) ||
        (h->target_kib && ABS((gint64) b->current_kib - (gint64) h->target_kib) >
                              (gint64) vmb_mem_tolerance(h->target_kib)))
        return;
    gint64 offset = (gint64) b->current_kib - (gint64) b->available_kib;
    if (h->kernel_seen_at && b->last_update != h->kernel_seen_at &&
        ABS(offset - h->kernel_seen_kib) <= (gint64) vmb_mem_tolerance(b->current_kib)) {
        h->kernel_kib = offset;
        h->have_kernel = TRUE;
    }
    h->kernel_seen_kib = offset;
    h->kernel_seen_at = b->last_update;
}

/* Cycles a guest waits at most for libvirt's actual to catch up with its own figures: a kernel
 * whose reservations changed would otherwise hold it for good. */
#define LAG_CYCLES 2

/* Do the guest's figures show its balloon elsewhere than libvirt's actual? libvirt follows
 * the balloon through QEMU's BALLOON_CHANGE event, which QEMU sends at most once a second,
 * while the guest's statistics (MemTotal follows the balloon) may be newer: measured here,
 * after a `virsh setmem` MemTotal fell 60 MiB a second before balloon.current moved. Sized on
 * such figures, a guest whose balloon someone else inflates looks as if its use jumped (lab
 * s17: grown twice against an operator's shrink before the move could be seen). Not for
 * virtio-mem guests (plugging moves MemTotal, not the balloon). */
static gboolean
actual_lags(MemHistory *h, const VmbBalloonStat *b, gboolean vmem)
{
    if (vmem || at_rest(h, b)) {
        h->lag_cycles = 0;
        return FALSE;
    }
    return h->lag_cycles++ < LAG_CYCLES;
}

/* A balloon change in flight gives up after this long at most, and after two horizons (an
 * interval and a statistics period each) without actual coming closer to its target: TCG
 * guests inflate their balloons over tens of seconds after boot. */
#define FLIGHT_MAX_S 300

/* Is the balloon still moving toward its target (libvirt's, or our last request when the
 * backend does not say)? Progress is actual coming at least a MiB closer to the target. */
static gboolean
follow_flight(MemHistory *h, const VmbBalloonStat *b, gint64 now_s, const VmbConfig *c)
{
    guint64 target = b->target_kib ? b->target_kib : h->target_kib;
    guint64 actual = b->current_kib;
    if (!target || (guint64) ABS((gint64) actual - (gint64) target) <= vmb_mem_tolerance(target)) {
        h->flight_target_kib = 0;
        return FALSE;
    }
    if (target != h->flight_target_kib) {
        h->flight_target_kib = target;
        h->flight_last_kib = actual;
        h->flight_since_s = h->flight_moved_s = now_s;
        return TRUE;
    }
    guint64 off = (guint64) ABS((gint64) actual - (gint64) target);
    guint64 last_off = (guint64) ABS((gint64) h->flight_last_kib - (gint64) target);
    if (off + 1024 <= last_off) {
        h->flight_last_kib = actual;
        h->flight_moved_s = now_s;
    }
    double stall_s = 2 * (vmb_config_mem_interval(c) + c->mem_stats_period);
    return (double) (now_s - h->flight_moved_s) <= stall_s &&
           now_s - h->flight_since_s <= FLIGHT_MAX_S;
}

/* Decides whether the policy may act on @d and fills @g. */
static void
describe(MemHistory *h, const VmbDomainStat *d, const VmbSnapshot *s, const VmbConfig *c,
         const VmbEffectivePolicy *eff, VmbMemGuest *g)
{
    gboolean excluded = !eff->memory_managed;
    const VmbBalloonStat *b = &d->balloon;
    const guint need =
        VMB_BALLOON_CURRENT | VMB_BALLOON_MAXIMUM | VMB_BALLOON_USABLE | VMB_BALLOON_LAST_UPDATE;
    gint64 stale_s = (gint64) c->mem_stale_periods * c->mem_stats_period;

    g->current_kib = b->current_kib;
    g->maximum_kib = (b->fields & VMB_BALLOON_MAXIMUM) ? b->maximum_kib : b->current_kib;
    g->min_guarantee_kib = b->min_guarantee_kib;
    g->weight = eff->weight;
    /* The domain's own bounds (metadata min_mib/max_mib) narrow what the balloon may do. */
    g->min_guarantee_kib = MAX(g->min_guarantee_kib, eff->min_mib * 1024);
    if (eff->max_mib)
        g->maximum_kib = MIN(g->maximum_kib, eff->max_mib * 1024);
    g->target_kib = h->target_kib;
    g->target_from_kib = h->target_from_kib;
    g->rate_kib_s = h->have_rate ? h->rate : 0;
    g->in_flight = follow_flight(h, b, s->wall_s, c);
    /* A change someone else made (libvirt's boot target) counts while it is in flight; once it
     * stalled or timed out, actual is the guest's state (our own targets are judged by the
     * policy's unreachable/pending rules). */
    g->balloon_target_kib = g->in_flight || b->target_kib == h->target_kib ? b->target_kib : 0;

    if (excluded) {
        g->state = VMB_MEM_EXCLUDED;
        return;
    }
    if (h->no_balloon) {
        g->state = VMB_MEM_NO_STATS;
        return;
    }
    if ((b->fields & need) != need) {
        g->state = VMB_MEM_NO_STATS;
        /* Statistics take a period or two to arrive after they are turned on. */
        if (h->stats_period && s->wall_s - h->enabled_wall_s > stale_s) {
            g_autofree char *msg = g_strdup_printf(
                "%s reports no balloon statistics (no balloon driver in the guest?): its "
                "memory is left alone",
                d->name);
            vmb_mem_log_once("nostats", d->uuid, G_LOG_LEVEL_MESSAGE, msg);
        }
        return;
    }
    vmb_mem_log_clear("nostats", d->uuid);
    gint64 age = s->wall_s - b->last_update;
    if (age > stale_s) {
        g->state = VMB_MEM_STALE;
        g_autofree char *msg = g_strdup_printf("balloon statistics of %s are %" G_GINT64_FORMAT
                                               " s old: its memory is left "
                                               "alone until they resume",
                                               d->name, age);
        vmb_mem_log_once("stale", d->uuid, G_LOG_LEVEL_WARNING, msg);
        return;
    }
    if (vmb_mem_log_clear("stale", d->uuid))
        g_message("balloon statistics of %s resumed", d->name);
    if (!settled(h, b)) {
        /* Figures taken before our last change do not show its effect yet. */
        g->state = VMB_MEM_SETTLING;
        return;
    }
    if (actual_lags(h, b, d->vmem.present)) {
        g->state = VMB_MEM_SETTLING;
        return;
    }
    measure_kernel(h, b);
    if (at_rest(h, b))
        feed_sample(h, b, c);
    g->usable_kib = b->usable_kib;
    g->rate_kib_s = h->have_rate ? h->rate : 0;
    g->swapping = h->swapping;
    g->paging_kib_s = h->paging_kib_s;
    g->burst_kib = (guint64) burst_now(h, b->last_update);
    g->reports_free = (b->features & VMB_BALLOON_FREE_PAGE_REPORTING) != 0;
    g->unused_kib = (b->fields & VMB_BALLOON_UNUSED) ? b->unused_kib : 0;
    g->state = VMB_MEM_MANAGED;
}

/* Host memory a guest is expected to take before the next cycle can react. A guest costs
 * host memory when it touches a page its QEMU process does not hold yet, and such pages are
 * in its free list (balloon.unused). A growing guest touches at its consumption rate; what
 * we granted it recently counts in full until its QEMU RSS shows it (a burst touches it
 * faster than the rate says). */
static guint64
guest_take(MemHistory *h, const VmbBalloonStat *b, const VmbConfig *c)
{
    if (h->grow_base && h->have_rate && h->rate <= 0)
        h->grow_base = FALSE; /* it stopped growing: its free memory is not coming */
    guint64 granted = 0;
    if (h->grow_base && (b->fields & VMB_BALLOON_RSS)) {
        gint64 given = (gint64) b->current_kib - (gint64) h->grow_base_actual_kib;
        gint64 touched = (gint64) b->rss_kib - (gint64) h->grow_base_rss_kib;
        if (given - touched > 0)
            granted = (guint64) (given - touched);
        else
            h->grow_base = FALSE; /* caught up */
    }
    double by_rate = h->have_rate && h->rate > 0 ? h->rate * vmb_mem_horizon_s(c) : 0;
    /* The next cycle's shrink races the guest for its free memory: a balloon that inflates
     * at speed v lets a guest growing at rate r touch r / (r + v) of what is left by then. */
    if (by_rate > 0 && h->inflate_kib_s > 0 && (b->fields & VMB_BALLOON_UNUSED) &&
        (double) b->unused_kib > by_rate)
        by_rate += ((double) b->unused_kib - by_rate) * h->rate / (h->rate + h->inflate_kib_s);
    guint64 take = MAX(granted, (guint64) by_rate);
    return (b->fields & VMB_BALLOON_UNUSED) ? MIN(take, b->unused_kib) : take;
}

/* The inflation speed of @h's balloon from our last shrink. While it is under way (and the
 * guest has the free memory it is asked for) its progress over the time since it was asked is
 * the speed: taken at once when lower, half-weighted when higher (a slow balloon costs the
 * reserve, a fast one only some caution). Once it is done that is only a lower bound, which
 * can raise the estimate but not make one. */
static void
follow_inflation(MemHistory *h, const VmbBalloonStat *b, gint64 mono_us)
{
    if (!h->target_kib || h->target_kib >= h->target_from_kib || h->inflate_done ||
        mono_us <= h->target_mono_us)
        return;
    double dt = (double) (mono_us - h->target_mono_us) / 1e6;
    double asked = (double) (h->target_from_kib - h->target_kib);
    double moved = b->current_kib < h->target_from_kib
                       ? MIN((double) (h->target_from_kib - b->current_kib), asked)
                       : 0;
    double v = moved / dt;
    double tol = (double) vmb_mem_tolerance(h->target_kib);
    /* Short of the target with no free memory left to give: the guest's limit, not the pace. */
    if (moved + tol < asked && (b->fields & VMB_BALLOON_UNUSED) &&
        (double) b->unused_kib < asked - moved)
        return;
    if (moved + tol >= asked) {
        h->inflate_done = TRUE;
        if (h->inflate_kib_s > 0)
            h->inflate_kib_s = MAX(h->inflate_kib_s, v);
        return;
    }
    h->inflate_kib_s =
        h->inflate_kib_s > 0 ? MIN(v, RATE_ALPHA * v + (1 - RATE_ALPHA) * h->inflate_kib_s) : v;
    if (h->inflate_kib_s <= 0)
        h->inflate_kib_s = 1; /* it did not move at all: as good as never */
}

/* One run of the memory task: what its steps share. */
typedef struct {
    VmbMemTask *t;
    VmbHypervisor *hv;
    const VmbSnapshot *s;
    const VmbConfig *c;
    gboolean dry_run;
    VmbActionFunc report;
    gpointer report_data;
    VmbMemCycleResult *result;
    VmbMemGuest *guests; /* [domains], what the policy sees */
    MemHistory **hist;   /* [domains] */
} MemCycle;

/* QEMU keeps the balloon's size, not its target, when a virtio-mem device plugs or unplugs:
 * after an unplug the guest would sit below our target by what was unplugged. Our target is set
 * again whenever the plugged size moved since we set it. FALSE when the connection was lost. */
static gboolean
reaim_virtio_mem(MemCycle *m, const VmbDomainStat *d, MemHistory *h)
{
    if (m->dry_run || !d->vmem.present || !h->target_kib ||
        d->vmem.plugged_kib == h->vmem_plugged_kib)
        return TRUE;
    g_autoptr(GError) error = NULL;
    guint64 kib = MIN(h->target_kib, d->vmem.base_kib + d->vmem.plugged_kib);
    if (!vmb_hypervisor_set_memory(m->hv, d->uuid, kib, &error))
        return !g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
    g_debug("%s: virtio-mem plugged %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
            " MiB, balloon target set again (%" G_GUINT64_FORMAT " MiB)",
            d->name, h->vmem_plugged_kib / 1024, d->vmem.plugged_kib / 1024, kib / 1024);
    h->vmem_plugged_kib = d->vmem.plugged_kib;
    vmb_foreign_targets_made(m->t->foreign, d->uuid, kib);
    return TRUE;
}

/* Someone else set the balloon's target: ours no longer explains where it is (kept, the
 * policy would take the guest for one that cannot reach it and stop asking). */
static void
forget_target(MemHistory *h)
{
    h->target_kib = h->target_from_kib = h->dry_target_kib = 0;
    h->flight_target_kib = 0;
    h->grow_base = FALSE;
}

/* Describes every domain to the policy, turning its balloon statistics on at first sight,
 * after an appearance or reconnect, and when the period changed (excluded domains are not
 * touched at all). FALSE when the connection was lost. */
static gboolean
describe_guests(MemCycle *m)
{
    const VmbSnapshot *s = m->s;
    const VmbConfig *c = m->c;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        VmbEffectivePolicy eff;
        vmb_domain_effective_full(c, d, FALSE,
                                  vmb_foreign_targets_respected(m->t->foreign, d->uuid), &eff);
        gboolean excluded = !eff.memory_managed;
        MemHistory *h = m->hist[i] = history_get(m->t, d->uuid);
        if (vmb_foreign_targets_take_change(m->t->foreign, d->uuid)) {
            forget_target(h); /* our target is history: size the guest from where it is */
            vmb_hypervisor_forget_target(m->hv, d->uuid);
        }
        if (!excluded && !h->no_balloon && h->stats_period != c->mem_stats_period) {
            if (!enable_stats(m->t, m->hv, d, h, c, s->wall_s))
                return FALSE;
            m->result->stats_enabled += h->stats_period == c->mem_stats_period;
        }
        if (!excluded && !reaim_virtio_mem(m, d, h))
            return FALSE;
        describe(h, d, s, c, &eff, &m->guests[i]);
        /* A move nobody here asked for is judged first: acting on it now (growing a guest
         * someone just took memory from) would undo what respect is to keep. */
        if (m->guests[i].state == VMB_MEM_MANAGED &&
            vmb_foreign_targets_judging(m->t->foreign, d->uuid))
            m->guests[i].state = VMB_MEM_SETTLING;
        follow_inflation(h, &d->balloon, s->mono_us);
        m->guests[i].take_kib = guest_take(h, &d->balloon, c);
        m->result->managed += m->guests[i].state == VMB_MEM_MANAGED;
        m->result->unmeasured += m->guests[i].state == VMB_MEM_MANAGED && !h->have_rate;
    }
    return TRUE;
}

/* The configuration in the policy's units; the growth horizon counts in intervals. */
static VmbMemTunables
mem_tunables(const VmbConfig *c)
{
    return (VmbMemTunables){
        .low_percent = c->mem_low_watermark,
        .high_percent = c->mem_high_watermark,
        .min_free_kib = (guint64) c->mem_min_free_mib * 1024,
        .floor_kib = (guint64) c->mem_floor_mib * 1024,
        .max_shrink_kib = (guint64) c->mem_max_shrink_mib * 1024,
        .reserve_kib = (guint64) c->mem_host_reserve_mib * 1024,
        .reserve_percent = c->mem_host_reserve_percent,
        .horizon_s = (double) c->mem_grow_horizon * vmb_config_mem_interval(c),
    };
}

/* Asks the policy for a plan, keeping the host figures for the status and logging each
 * guest's lasting conditions. */
static VmbMemPlan *
plan_cycle(MemCycle *m)
{
    const VmbSnapshot *s = m->s;
    VmbMemTask *t = m->t;
    if (s->host_mem_available_kib == 0)
        vmb_log_once("mem-host-unknown", G_LOG_LEVEL_WARNING,
                     "host available memory is unknown: guests are not grown");
    else
        vmb_log_once_clear("mem-host-unknown");
    VmbMemProblem problem = {
        .host_total_kib = s->host_mem_total_kib,
        .host_available_kib = s->host_mem_available_kib,
        .host_growth_kib = vmb_mem_host_growth(t, s, m->c),
        .guests = m->guests,
        .n_guests = s->domains->len,
    };
    VmbMemTunables tun = mem_tunables(m->c);
    VmbMemPlan *plan = vmb_mem_plan(&problem, &tun);
    m->result->planned = plan->changes->len;
    m->result->pressure = plan->pressure;
    m->result->headroom_kib = plan->headroom_kib;
    t->last_available_kib = s->host_mem_available_kib;
    t->last_reserve_kib = plan->reserve_kib;
    t->last_headroom_kib = plan->headroom_kib;
    t->last_pressure = plan->pressure;
    guint64 take = 0;
    for (guint i = 0; i < s->domains->len; i++)
        take += m->guests[i].take_kib;
    /* The parts of the headroom, to tell afterwards why the reserve held or not. */
    g_debug("memory host view: available %" G_GUINT64_FORMAT " MiB, reserve %" G_GUINT64_FORMAT
            " MiB, the host's own growth %" G_GUINT64_FORMAT
            " MiB (what it gave back lately %" G_GUINT64_FORMAT
            " MiB of it), the guests' take %" G_GUINT64_FORMAT " MiB: headroom %" G_GINT64_FORMAT
            " MiB",
            s->host_mem_available_kib / 1024, plan->reserve_kib / 1024,
            problem.host_growth_kib / 1024, t->host_held_kib / 1024, take / 1024,
            plan->headroom_kib / 1024);
    for (guint i = 0; i < s->domains->len; i++) {
        vmb_mem_log_verdict(g_ptr_array_index(s->domains, i), &m->guests[i], plan->verdict[i],
                            m->hist[i]->have_rate);
        m->result->starving +=
            plan->verdict[i] == VMB_MEM_V_STARVING || plan->verdict[i] == VMB_MEM_V_HOST_LIMITED;
    }
    return plan;
}

typedef enum {
    CHANGE_MADE,   /* the target is set */
    CHANGE_NONE,   /* the domain vanished or refused: go on with the next change */
    CHANGE_CUTOFF, /* the connection is lost: stop */
} ChangeOutcome;

/* A guest with a virtio-mem device: the device's requested size takes the whole blocks of
 * target @kib (mem-vmem.c), and the balloon target returned the rest. A device the backend
 * cannot resize, or whose figures make no sense, leaves it all to the balloon. */
static guint64
size_virtio_mem(MemCycle *m, const VmbDomainStat *d, guint64 kib)
{
    const VmbVirtioMemStat *v = &d->vmem;
    VmbVirtioMem dev = {v->base_kib, v->size_kib, v->block_kib, v->requested_kib, v->plugged_kib};
    if (!v->present || !v->base_kib || !vmb_virtio_mem_valid(&dev))
        return kib;
    VmbVirtioMemPlan plan = vmb_virtio_mem_plan(&dev, kib);
    if (plan.change_device) {
        g_autoptr(GError) error = NULL;
        if (!vmb_hypervisor_set_vmem_requested(m->hv, d->uuid, plan.requested_kib, &error)) {
            g_autofree char *msg = g_strdup_printf(
                "cannot resize the virtio-mem device of %s: %s (its balloon does it all)", d->name,
                error->message);
            vmb_mem_log_once("refused", d->uuid, G_LOG_LEVEL_WARNING, msg);
            return kib;
        }
        g_info("virtio-mem of %s: requested %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
               " MiB (plugged %" G_GUINT64_FORMAT " MiB)",
               d->name, v->requested_kib / 1024, plan.requested_kib / 1024, v->plugged_kib / 1024);
    }
    return plan.balloon_kib;
}

/* Sets the balloon target of @d and remembers it (what it started from, and where a grow
 * started for guest_take()). */
static ChangeOutcome
set_target(MemCycle *m, const VmbDomainStat *d, MemHistory *h, const VmbMemChange *ch)
{
    g_autoptr(GError) error = NULL;
    guint64 balloon_kib = size_virtio_mem(m, d, ch->new_kib);
    if (!vmb_hypervisor_set_memory(m->hv, d->uuid, balloon_kib, &error)) {
        if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN)) {
            g_debug("%s vanished before its memory was set", d->name);
            return CHANGE_NONE;
        }
        m->result->failed++;
        m->t->errors++;
        if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED)) {
            g_warning("cannot set memory of %s: %s", d->name, error->message);
            return CHANGE_CUTOFF;
        }
        g_autofree char *msg =
            g_strdup_printf("cannot set memory of %s to %" G_GUINT64_FORMAT " MiB: %s", d->name,
                            ch->new_kib / 1024, error->message);
        vmb_mem_log_once("refused", d->uuid, G_LOG_LEVEL_WARNING, msg);
        return CHANGE_NONE;
    }
    vmb_mem_log_clear("refused", d->uuid);
    if (ch->reason == VMB_MEM_GROW && !h->grow_base && (d->balloon.fields & VMB_BALLOON_RSS)) {
        h->grow_base = TRUE;
        h->grow_base_actual_kib = d->balloon.current_kib;
        h->grow_base_rss_kib = d->balloon.rss_kib;
    }
    h->vmem_plugged_kib = d->vmem.plugged_kib;
    /* Accepting where the balloon went is no target of ours: a rise the guest did not make
     * (no autodeflate) is still judged as someone else's. */
    if (ch->reason != VMB_MEM_ACCEPT)
        vmb_foreign_targets_made(m->t->foreign, d->uuid, balloon_kib);
    h->target_kib = balloon_kib;
    h->target_from_kib = ch->reason == VMB_MEM_ACCEPT ? ch->new_kib : ch->old_kib;
    h->target_wall_s = m->s->wall_s;
    h->target_mono_us = m->s->mono_us;
    h->inflate_done = FALSE;
    m->t->changes++;
    return CHANGE_MADE;
}

/* Nothing changes in dry-run: a would-be target is reported once, not every cycle. */
static gboolean
dry_run_new_target(MemHistory *h, const VmbMemChange *ch)
{
    if (h->dry_target_kib && ABS((gint64) h->dry_target_kib - (gint64) ch->new_kib) <=
                                 (gint64) vmb_mem_tolerance(ch->new_kib))
        return FALSE;
    h->dry_target_kib = ch->new_kib;
    return TRUE;
}

/* Logs a change made (or one that would be, in dry-run) and hands it to the caller. */
static void
report_change(MemCycle *m, const VmbDomainStat *d, const VmbMemChange *ch, const VmbMemPlan *plan)
{
    const VmbMemGuest *g = &m->guests[ch->guest];
    g_autofree char *detail = vmb_mem_change_detail(ch, plan, g);
    VmbAction a = {
        .kind = VMB_ACTION_MEMORY,
        .wall_us = g_get_real_time(),
        .domain = d->name,
        .uuid = d->uuid,
        .old_kib = ch->reason == VMB_MEM_ACCEPT && g->target_kib ? g->target_kib : ch->old_kib,
        .new_kib = ch->new_kib,
        .reason = vmb_mem_reason_to_string(ch->reason),
        .detail = detail,
        .dry_run = m->dry_run,
    };
    vmb_action_log(&a);
    if (m->report)
        m->report(&a, m->report_data);
}

/* Applies the plan's changes in order (or, in dry-run, reports them) until the connection
 * is lost. */
static void
apply_changes(MemCycle *m, const VmbMemPlan *plan)
{
    for (guint k = 0; k < plan->changes->len; k++) {
        const VmbMemChange *ch = &g_array_index(plan->changes, VmbMemChange, k);
        const VmbDomainStat *d = g_ptr_array_index(m->s->domains, ch->guest);
        MemHistory *h = m->hist[ch->guest];
        if (m->dry_run) {
            if (!dry_run_new_target(h, ch))
                continue;
        } else {
            ChangeOutcome o = set_target(m, d, h, ch);
            if (o == CHANGE_CUTOFF)
                break;
            if (o == CHANGE_NONE)
                continue;
        }
        m->result->applied++;
        report_change(m, d, ch, plan);
    }
}

void
vmb_mem_task_run(VmbMemTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                 gboolean dry_run, VmbActionFunc report, gpointer report_data,
                 VmbMemCycleResult *result)
{
    memset(result, 0, sizeof(*result));
    t->cycles++;
    prune(t, s);
    vmb_foreign_targets_observe(t->foreign, s, c);

    guint n = s->domains->len;
    g_autofree VmbMemGuest *guests = g_new0(VmbMemGuest, MAX(n, 1));
    g_autofree MemHistory **hist = g_new0(MemHistory *, MAX(n, 1));
    MemCycle m = {
        .t = t,
        .hv = hv,
        .s = s,
        .c = c,
        .dry_run = dry_run,
        .report = report,
        .report_data = report_data,
        .result = result,
        .guests = guests,
        .hist = hist,
    };
    if (!describe_guests(&m))
        return; /* connection lost: the next cycle starts over */
    g_autoptr(VmbMemPlan) plan = plan_cycle(&m);
    apply_changes(&m, plan);
}
