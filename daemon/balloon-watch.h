/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Is a domain's balloon following a target vmbalanced did not set? Pure: one domain's balloon as
 * each snapshot shows it in, a verdict out. Two signs count:
 *  - the backend reports a target (the simulated host does) that moved, and not to our request;
 *  - the balloon went where nobody here asked and came to rest there. This is all libvirt 9.0
 *    shows of `virsh setmem` on QEMU: the live <currentMemory> follows actual (the
 *    balloon-change event rewrites it) and QEMU's query-balloon has no target, so a foreign
 *    target is only seen as the balloon going somewhere nobody here asked for.
 * Where the balloon may be: at the expected target once it rested there; on its way, between
 * where we last saw it and our target (it only comes closer: a guest that stops short is still
 * on its way, no verdict, and a rise back is not ours). A balloon outside that (beyond the
 * tolerance) is a foreign move in progress: judged (the guest is not to be sized) from that
 * snapshot on, through any number of snapshots while it moves (a TCG guest inflates tens of
 * MiB a cycle), until it comes to rest (two snapshots at one place: the verdict, said once,
 * the rest of a creeping move followed silently) or back inside (a reboot's blip: nothing).
 * A balloon that stopped short of our target and held there (the guest gave what it could) and
 * then moves again while we asked for nothing new may be following someone else's target
 * inside our way: its guest is not sized while it moves (sizing it would race that target); a
 * verdict comes of it only if it leaves the way.
 * With autodeflate a rise is the guest's own. A watch started with the balloon in flight saw
 * it at its first actual; a target the backend reported then (libvirt: the persistent
 * <currentMemory>) that the balloon rests away from is stale and dropped. After a reset the
 * backend saw (a reboot) nothing is judged until the balloon is back at the expected target or
 * we ask for another. */
#pragma once

#include <glib.h>

/* A move that never comes to rest is judged for at most this many snapshots (see
 * balloon-watch.c). */
#define VMB_BALLOON_WATCH_AWAY_MAX 20

typedef struct {
    gboolean started;
    guint64 expected_kib; /* the target the balloon should follow: ours, or the last one found */
    guint64 reported_kib; /* the backend's target at the last snapshot, 0 unknown */
    gboolean unconfirmed; /* expected_kib is a target reported at first sight, never reached */
    gboolean rest;        /* the balloon came to rest at expected_kib */
    guint64 from_kib;     /* on its way to expected_kib, it was last seen here; 0 unknown */
    guint64 last_actual_kib;
    guint64 hold_kib; /* the balloon has stayed near here for @held snapshots since */
    guint held;
    guint64 away_kib;     /* judging: it went here, where nobody here asked; 0 none */
    guint away_snapshots; /* snapshots judged so far */
    gint chase;           /* said while still moving: -1 down, +1 up, followed silently */
    guint resets;         /* VmbBalloonSeen.resets at the last snapshot */
    gboolean stalled;     /* on its way, it stopped short and held since our last request */
    gboolean resumed;     /* it moved again from that stall, with no new request of ours */
} VmbBalloonWatch;

typedef struct {
    guint64 actual_kib;   /* the balloon's actual now, 0 unknown (nothing judged) */
    guint64 reported_kib; /* the target the backend reports, 0 unknown */
    gboolean autodeflate; /* the guest may deflate by itself (<memballoon autodeflate='on'>) */
    guint resets;         /* guest resets seen so far (a reboot lets go of the balloon) */
} VmbBalloonSeen;

/* vmbalanced asked the balloon for @kib. */
void vmb_balloon_watch_request(VmbBalloonWatch *w, guint64 kib);

/* Takes one snapshot's @in. TRUE when a target someone else set shows: @old_kib is the target
 * expected before (0 unknown), @new_kib the new one (the reported target, or where the balloon
 * came to rest), which is expected from now on. */
gboolean vmb_balloon_watch_step(VmbBalloonWatch *w, const VmbBalloonSeen *in, guint64 *old_kib,
                                guint64 *new_kib);

/* The balloon is on a move nobody here asked for, not judged yet, or moves again after it
 * stopped short of our target: its guest is not to be sized (a request would replace the
 * target being judged). */
gboolean vmb_balloon_watch_judging(const VmbBalloonWatch *w);
