/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "balloon-watch.h"

#include "mem-policy.h"

static gboolean
near(guint64 a, guint64 b)
{
    return (guint64) ABS((gint64) a - (gint64) b) <= vmb_mem_tolerance(MAX(a, b));
}

void
vmb_balloon_watch_request(VmbBalloonWatch *w, guint64 kib)
{
    /* On its way from where it was: anywhere between is ours. When it had just gone where
     * nobody here asked, it is still judged from where it was before that. */
    if (!w->away_kib)
        w->from_kib = w->last_actual_kib;
    else if (w->rest)
        w->from_kib = w->expected_kib;
    w->expected_kib = kib;
    w->rest = FALSE;
}

/* The backend's target moved, and not to what was expected (our request or the last find). */
static gboolean
reported_moved(VmbBalloonWatch *w, const VmbBalloonSeen *in)
{
    gboolean moved = in->reported_kib && w->reported_kib &&
                     !near(in->reported_kib, w->reported_kib) &&
                     !near(in->reported_kib, w->expected_kib);
    if (in->reported_kib)
        w->reported_kib = in->reported_kib;
    return moved;
}

/* Is actual @a outside where the balloon may be: at the expected target when it rested there,
 * between where it started and our target while on its way (a guest that cannot give all
 * stops short)? Unknown when it never rested and left from nowhere we saw. With autodeflate
 * a rise is the guest's own. */
static gboolean
outside(const VmbBalloonWatch *w, guint64 a, gboolean autodeflate)
{
    guint64 lo, hi;
    if (w->rest) {
        lo = hi = w->expected_kib;
    } else if (w->from_kib) {
        lo = MIN(w->from_kib, w->expected_kib);
        hi = MAX(w->from_kib, w->expected_kib);
    } else {
        return FALSE;
    }
    if (a + vmb_mem_tolerance(lo) < lo)
        return TRUE;
    return a > hi + vmb_mem_tolerance(hi) && !autodeflate;
}

/* The balloon went where nobody here asked: TRUE once it holds there for a second snapshot (a
 * value in passing or a reboot's blip is no target). */
static gboolean
went_away(VmbBalloonWatch *w, const VmbBalloonSeen *in)
{
    guint64 a = in->actual_kib;
    gboolean out = outside(w, a, in->autodeflate);
    if (w->away_kib && out && near(a, w->away_kib))
        return TRUE;
    w->away_kib = out ? a : 0;
    return FALSE;
}

gboolean
vmb_balloon_watch_step(VmbBalloonWatch *w, const VmbBalloonSeen *in, guint64 *old_kib,
                       guint64 *new_kib)
{
    if (!in->actual_kib)
        return FALSE;
    if (!w->started) {
        w->started = TRUE;
        w->expected_kib = in->reported_kib ? in->reported_kib : in->actual_kib;
        w->reported_kib = in->reported_kib;
        w->rest = near(in->actual_kib, w->expected_kib);
        w->last_actual_kib = in->actual_kib;
        w->resets = in->resets;
        return FALSE;
    }
    if (in->resets != w->resets) {
        /* A reboot: the balloon goes back to the full size until the guest's driver loads and
         * takes QEMU's target (still ours) again, however long its boot takes. */
        w->resets = in->resets;
        w->rest = FALSE;
        w->from_kib = w->away_kib = 0;
    }
    gboolean found = FALSE;
    *old_kib = w->expected_kib;
    if (reported_moved(w, in)) {
        *new_kib = in->reported_kib;
        found = TRUE;
    } else if (went_away(w, in)) {
        *new_kib = in->actual_kib;
        found = TRUE;
    }
    if (found) {
        w->expected_kib = *new_kib;
        w->away_kib = w->from_kib = 0;
    }
    if (!w->away_kib)
        w->rest = near(in->actual_kib, w->expected_kib);
    w->last_actual_kib = in->actual_kib;
    return found;
}
