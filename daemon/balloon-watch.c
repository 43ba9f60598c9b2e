/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "balloon-watch.h"

#include "mem-policy.h"

/* Snapshots (after the first) the balloon must stay at one place for a reported target it
 * never reached to count as stale: a boot target still being inflated to pauses a cycle at
 * most; three snapshots is also what the coordinator's own wait for a flight allows. */
#define STALE_HELD 2
/* Snapshots (after the first) a move said before it rested must stay at one place to be over:
 * until then further the same way is the same target. */
#define CHASE_HELD 2

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
    w->rest = w->unconfirmed = FALSE;
    w->chase = 0; /* QEMU follows ours now */
    /* A stall counts from this request on: held snapshots before it were another target's. */
    w->held = 0;
    w->hold_kib = w->last_actual_kib;
    w->stalled = w->resumed = FALSE;
}

gboolean
vmb_balloon_watch_judging(const VmbBalloonWatch *w)
{
    return w->away_kib != 0 || w->resumed;
}

static void
start(VmbBalloonWatch *w, const VmbBalloonSeen *in)
{
    w->started = TRUE;
    w->expected_kib = in->reported_kib ? in->reported_kib : in->actual_kib;
    w->reported_kib = in->reported_kib;
    w->rest = near(in->actual_kib, w->expected_kib);
    w->unconfirmed = !w->rest;
    /* In flight at first sight: we saw it here, so it is on its way from here. */
    w->from_kib = w->rest ? 0 : in->actual_kib;
    w->last_actual_kib = w->hold_kib = in->actual_kib;
    w->resets = in->resets;
}

/* Counts the snapshots the balloon stays near one place (not near the last one: a balloon
 * creeping a few MiB a snapshot is not holding). */
static void
follow_hold(VmbBalloonWatch *w, guint64 a)
{
    if (near(a, w->hold_kib)) {
        w->held++;
    } else {
        w->hold_kib = a;
        w->held = 0;
    }
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

/* Which side of where the balloon may be is actual @a: -1 below, +1 above, 0 inside or
 * unknown (after a reset, until it is back). May be: at the expected target when it rested
 * there, between where it was last seen and our target while on its way. With autodeflate a
 * rise is the guest's own. */
static gint
outside(const VmbBalloonWatch *w, guint64 a, gboolean autodeflate)
{
    guint64 lo, hi;
    if (w->rest) {
        lo = hi = w->expected_kib;
    } else if (w->from_kib) {
        lo = MIN(w->from_kib, w->expected_kib);
        hi = MAX(w->from_kib, w->expected_kib);
    } else {
        return 0;
    }
    if (a + vmb_mem_tolerance(lo) < lo)
        return -1;
    return a > hi + vmb_mem_tolerance(hi) && !autodeflate ? 1 : 0;
}

/* A balloon only comes closer to its target: the way left is from where it is now. */
static void
narrow(VmbBalloonWatch *w, guint64 a)
{
    guint64 lo = MIN(w->from_kib, w->expected_kib), hi = MAX(w->from_kib, w->expected_kib);
    if (!w->rest && w->from_kib && a > lo && a < hi)
        w->from_kib = a;
}

/* The balloon outside where it may be: judged until it comes to rest (TRUE, @new_kib where)
 * or back inside. A move that never rests is said after VMB_BALLOON_WATCH_AWAY_MAX snapshots
 * where it got to: that long outside anything asked, the target is someone else's beyond doubt,
 * and waiting for its exact end would leave the guest unsized for as long as the slowest
 * balloon (or a reading that keeps changing) takes; the rest of the way is chased silently. */
static gboolean
went_away(VmbBalloonWatch *w, const VmbBalloonSeen *in, guint64 *new_kib)
{
    guint64 a = in->actual_kib;
    gint side = outside(w, a, in->autodeflate);
    if (!side) {
        w->away_kib = 0;
        narrow(w, a);
        return FALSE;
    }
    gboolean rested = w->away_kib && near(a, w->away_kib);
    w->away_snapshots = w->away_kib ? w->away_snapshots + 1 : 1;
    w->away_kib = a;
    if (!rested && w->away_snapshots < VMB_BALLOON_WATCH_AWAY_MAX)
        return FALSE;
    *new_kib = a;
    w->chase = side;
    return TRUE;
}

/* After a verdict the move may go on (a balloon creeping its last MiB, or one said before it
 * rested): further the same way is the target already said, followed until the balloon holds.
 * FALSE when it turned back, which is judged afresh from where it got to. */
static gboolean
follow_chase(VmbBalloonWatch *w, guint64 a)
{
    gboolean further = w->chase < 0 ? a < w->expected_kib : a > w->expected_kib;
    if (further) {
        w->expected_kib = a;
    } else if (!near(a, w->expected_kib)) {
        w->chase = 0;
        w->rest = TRUE;
        return FALSE;
    }
    if (w->held >= CHASE_HELD)
        w->chase = 0;
    return TRUE;
}

/* A target reported at first sight (libvirt: the persistent <currentMemory>) that the balloon
 * rests away from is not QEMU's: a live change since replaced it (ours before a restart, or
 * anyone's). Where it rests is then expected, or no move from there could ever be judged. */
static void
drop_stale(VmbBalloonWatch *w, guint64 a)
{
    if (!w->unconfirmed || w->away_kib || w->held < STALE_HELD || near(a, w->expected_kib))
        return;
    w->expected_kib = a;
    w->rest = TRUE;
    w->from_kib = 0;
    w->unconfirmed = FALSE;
}

/* On its way to our target, the balloon stopped short and held (CHASE_HELD snapshots): as far
 * as the guest could go for now. When it moves again with no new request of ours, that may be
 * our target once the guest freed memory, or someone else's target that lies on our way (a
 * `virsh setmem` below where it stopped, before it passes our target): the guest is held
 * while it moves, so the coordinator does not size it against a move it did not make (seen in
 * the lab: it grew the guest twice while an operator's shrink still read as ours). Holding
 * somewhere on the way again, or reaching our target, ends that with no verdict; leaving the
 * way is judged by went_away(). */
static void
follow_stall(VmbBalloonWatch *w)
{
    gboolean on_way = !w->rest && w->from_kib && !w->away_kib && !w->chase;
    if (!on_way) {
        w->stalled = w->resumed = FALSE;
    } else if (w->held >= CHASE_HELD) {
        w->stalled = TRUE;
        w->resumed = FALSE;
    } else if (w->stalled && w->held == 0) {
        w->stalled = FALSE;
        w->resumed = TRUE;
    }
}

/* A reboot: the balloon goes back to the full size until the guest's driver loads and takes
 * QEMU's target (still ours) again, however long its boot takes. */
static void
after_reset(VmbBalloonWatch *w, const VmbBalloonSeen *in)
{
    w->resets = in->resets;
    w->rest = w->unconfirmed = FALSE;
    w->from_kib = w->away_kib = 0;
    w->chase = 0;
    w->stalled = w->resumed = FALSE;
}

gboolean
vmb_balloon_watch_step(VmbBalloonWatch *w, const VmbBalloonSeen *in, guint64 *old_kib,
                       guint64 *new_kib)
{
    guint64 a = in->actual_kib;
    if (!a)
        return FALSE;
    if (!w->started) {
        start(w, in);
        return FALSE;
    }
    if (in->resets != w->resets)
        after_reset(w, in);
    follow_hold(w, a);
    gboolean found = FALSE;
    *old_kib = w->expected_kib;
    if (reported_moved(w, in)) {
        *new_kib = in->reported_kib;
        w->from_kib = a; /* on its way there from here */
        w->away_kib = 0;
        w->chase = 0;
        found = TRUE;
    } else if (!w->chase || !follow_chase(w, a)) {
        found = went_away(w, in, new_kib);
        if (found)
            w->away_kib = w->from_kib = 0;
    }
    if (found) {
        w->expected_kib = *new_kib;
        w->unconfirmed = FALSE;
    }
    if (!w->away_kib)
        w->rest = near(a, w->expected_kib);
    if (w->rest)
        w->unconfirmed = FALSE;
    drop_stale(w, a);
    follow_stall(w);
    w->last_actual_kib = a;
    return found;
}
