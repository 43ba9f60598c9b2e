/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A guest's balloon statistics over time: consumption rate, bursts, paging, the kernel's
 * offset, whether the figures show the balloon where libvirt does, changes in flight, what
 * the guest will take from the host and how fast its balloon inflates. */
#include "mem-history.h"

#include <math.h>

#include "mem-host.h"

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
double
vmb_mem_burst_now(const MemHistory *h, gint64 now)
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
    if (growth > vmb_mem_burst_now(h, now)) {
        h->burst_kib = growth;
        h->burst_at = now;
    }
    h->burst_t[h->burst_next] = now;
    h->burst_used[h->burst_next] = used;
    h->burst_next = (h->burst_next + 1) % BURST_SAMPLES;
    h->burst_n = MIN(h->burst_n + 1, BURST_SAMPLES);
}

void
vmb_mem_feed_sample(MemHistory *h, const VmbBalloonStat *b, const VmbConfig *c)
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
gboolean
vmb_mem_settled(const MemHistory *h, const VmbBalloonStat *b)
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
gboolean
vmb_mem_at_rest(const MemHistory *h, const VmbBalloonStat *b)
{
    if (!h->have_kernel || !(b->fields & VMB_BALLOON_AVAILABLE) ||
        (b->features & VMB_BALLOON_DEFLATE_ON_OOM))
        return TRUE;
    gint64 offset = (gint64) b->current_kib - (gint64) b->available_kib;
    return ABS(offset - h->kernel_kib) <= (gint64) vmb_mem_tolerance(b->current_kib);
}

/* actual - MemTotal with the balloon at our target (or none set) is what the guest's kernel
 * keeps for itself. Taken when two statistics samples agree on it, and not while the guest's
 * figures run ahead of libvirt's actual (vmb_mem_actual_lags(), checked first): such a sample is
 * taken with the balloon moving. */
void
vmb_mem_measure_kernel(MemHistory *h, const VmbBalloonStat *b)
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
gboolean
vmb_mem_actual_lags(MemHistory *h, const VmbBalloonStat *b, gboolean vmem)
{
    if (vmem || vmb_mem_at_rest(h, b)) {
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
gboolean
vmb_mem_follow_flight(MemHistory *h, const VmbBalloonStat *b, gint64 now_s, const VmbConfig *c)
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

/* Host memory a guest is expected to take before the next cycle can react. A guest costs
 * host memory when it touches a page its QEMU process does not hold yet, and such pages are
 * in its free list (balloon.unused). A growing guest touches at its consumption rate; what
 * we granted it recently counts in full until its QEMU RSS shows it (a burst touches it
 * faster than the rate says). */
guint64
vmb_mem_guest_take(MemHistory *h, const VmbBalloonStat *b, const VmbConfig *c)
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
void
vmb_mem_follow_inflation(MemHistory *h, const VmbBalloonStat *b, gint64 mono_us)
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
