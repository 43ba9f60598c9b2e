/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory task's view of the host: what its own processes are expected to take before the
 * next cycle's changes take effect. */
#include "mem-host.h"

#include <math.h>

/* EWMA weight of the newest rate sample, as for the guests' rates. */
#define RATE_ALPHA 0.5

/* Host memory the host itself (its processes, caches) is expected to take before the next
 * cycle's changes take effect: the MemAvailable drop that the guests' QEMU processes do not
 * explain, as a smoothed rate over one interval plus a stats period. With every guest's QEMU
 * RSS known this is measured each cycle; without it, guest actuals stand in, and only
 * intervals with the balloons at rest count (pages a guest never touched were never host
 * memory, so moving balloons do not move the host's use one to one). */
#define HOST_REST_KIB (16.0 * 1024)

/* Until the next cycle's changes take effect: an interval, and a stats period for the
 * balloon to move and the figures to show it. */
double
vmb_mem_horizon_s(const VmbConfig *c)
{
    return vmb_config_mem_interval(c) + c->mem_stats_period;
}

/* What the host's own processes gave back lately (their recent peak, decayed, above their use
 * @other_kib now): they may take it again at any time, so it is not handed to guests. Only with
 * every guest's QEMU RSS known (@other_kib < 0 otherwise: guest actuals are no measure). */
/* 20 s: the lab's host processes took back what they freed within 3 s (s6 at -51 MiB); held
 * for minutes (300 s), the give-backs starved s6's m on a quiet host (it got 23 and 36 MiB
 * where 39 and 37 were its share, in 2 of 3 CI runs); at 20 s, 3 of 3 runs passed with 20-36 MiB
 * to spare over the reserve. */
#define HOST_PEAK_HALF_LIFE_S 20.0

static double
host_given_back(VmbMemTask *t, double other_kib, gint64 mono_us)
{
    double above = 0;
    if (t->host_peak_mono_us && other_kib >= 0 && t->host_peak_kib > other_kib)
        above = (t->host_peak_kib - other_kib) *
                exp2(-(double) (mono_us - t->host_peak_mono_us) / 1e6 / HOST_PEAK_HALF_LIFE_S);
    if (other_kib < 0) {
        t->host_peak_mono_us = 0;
    } else if (above <= 0) {
        t->host_peak_kib = other_kib;
        t->host_peak_mono_us = mono_us;
    }
    return above;
}

guint64
vmb_mem_host_growth(VmbMemTask *t, const VmbSnapshot *s, const VmbConfig *c)
{
    if (!s->host_mem_available_kib || !s->host_mem_total_kib)
        return 0;
    double actual = 0, guests = 0;
    gboolean all_rss = TRUE;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbBalloonStat *b =
            &((const VmbDomainStat *) g_ptr_array_index(s->domains, i))->balloon;
        actual += (double) b->current_kib;
        if (b->fields & VMB_BALLOON_RSS)
            guests += (double) b->rss_kib;
        else
            all_rss = FALSE;
    }
    if (!all_rss)
        guests = actual;
    double other = (double) s->host_mem_total_kib - (double) s->host_mem_available_kib - guests;
    gboolean comparable = all_rss == t->host_all_rss &&
                          (all_rss || fabs(actual - t->host_actual_kib) <= HOST_REST_KIB);
    if (t->have_host && s->mono_us > t->host_mono_us && comparable) {
        double r = (other - t->host_other_kib) / ((s->mono_us - t->host_mono_us) / 1e6);
        t->host_rate = MAX(r, RATE_ALPHA * r + (1 - RATE_ALPHA) * t->host_rate);
    }
    t->have_host = TRUE;
    t->host_all_rss = all_rss;
    t->host_mono_us = s->mono_us;
    t->host_other_kib = other;
    t->host_actual_kib = actual;
    double grow = t->host_rate > 0 ? t->host_rate * vmb_mem_horizon_s(c) : 0;
    t->host_held_kib = (guint64) host_given_back(t, all_rss ? other : -1, s->mono_us);
    return (guint64) grow + t->host_held_kib;
}
