/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Is a domain's balloon following a target vmbalanced did not set? Pure: one domain's balloon as
 * each snapshot shows it in, a verdict out. Two signs count:
 *  - the backend reports a target (the simulated host does) that moved, and not to our request;
 *  - the balloon went where nobody here asked (away from the target it rested at, or beyond
 *    the way from where it was to our request) and came to rest there. This is
 *    all libvirt 9.0 shows of `virsh setmem` on QEMU: the live <currentMemory> follows actual
 *    (the balloon-change event rewrites it) and QEMU's query-balloon has no target, so a foreign
 *    target is only seen as the balloon going somewhere nobody here asked for.
 * A guest that stops short of our target is still on its way there (no verdict); with
 * autodeflate a rise is the guest's own; a move that comes back (a guest reboot reloads its
 * balloon driver) is no change: the new place must hold for two snapshots, and after a reset
 * the backend saw (a reboot) nothing is judged until the balloon is back at the expected
 * target or we ask for another. */
#pragma once

#include <glib.h>

typedef struct {
    gboolean started;
    guint64 expected_kib; /* the target the balloon should follow: ours, or the last one found */
    guint64 reported_kib; /* the backend's target at the last snapshot, 0 unknown */
    gboolean rest;        /* the balloon came to rest at expected_kib */
    guint64 from_kib;     /* where it was when we asked for expected_kib; 0 unknown */
    guint64 last_actual_kib;
    guint64 away_kib; /* it went here, where nobody here asked, not judged yet; 0 none */
    guint resets;     /* VmbBalloonSeen.resets at the last snapshot */
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
