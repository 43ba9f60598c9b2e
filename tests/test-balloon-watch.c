/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Targets someone else set, as the balloon shows them snapshot by snapshot: table-driven. */
#include "balloon-watch.h"

#define MIB   1024
#define STEPS 12

enum { J = 1, N = 2 }; /* the move is being judged after the snapshot, or not (0: not checked) */

/* One snapshot: our request made before it (0 none), what it shows, and the verdict. */
typedef struct {
    guint64 request, actual, reported;
    guint64 found_new; /* 0: no foreign target found at this snapshot */
    guint64 found_old;
    guint resets; /* guest resets the backend saw so far */
    int judging;
} Step;

typedef struct {
    const char *name;
    gboolean autodeflate;
    Step steps[STEPS]; /* up to the first with actual 0 */
} Case;

// clang-format off
static const Case cases[] = {
    /* libvirt 9.0: the target is not reported; virsh setmem 1024 -> 512 shows as the balloon
     * leaving its rest at our target and holding at 512. */
    {"setmem-lower", FALSE, {{1024 * MIB, 0, 0, 0, 0}, {0, 1024 * MIB, 0, 0, 0},
     {0, 1024 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 512 * MIB, 1024 * MIB},
     {0, 512 * MIB, 0, 0, 0}}},
    /* Still inflating at the first look: the place where it comes to rest is the target. */
    {"setmem-slow", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {0, 800 * MIB, 0, 0, 0},
     {0, 600 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 512 * MIB, 1024 * MIB}}},
    {"setmem-higher", FALSE, {{0, 512 * MIB, 0, 0, 0}, {0, 900 * MIB, 0, 0, 0},
     {0, 901 * MIB, 0, 901 * MIB, 512 * MIB}}},
    /* With autodeflate a rise is the guest's own; a fall is still someone's target. */
    {"autodeflate-rise", TRUE, {{0, 512 * MIB, 0, 0, 0}, {0, 900 * MIB, 0, 0, 0},
     {0, 900 * MIB, 0, 0, 0}}},
    {"autodeflate-fall", TRUE, {{0, 900 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 0, 0},
     {0, 512 * MIB, 0, 512 * MIB, 900 * MIB}}},
    /* A guest reboot: its balloon driver lets go, then takes the target again. */
    {"reboot-blip", FALSE, {{0, 512 * MIB, 0, 0, 0}, {0, 1024 * MIB, 0, 0, 0},
     {0, 512 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 0, 0}}},
    /* A reboot the backend reported (libvirt's reboot event): the balloon is back at full
     * size while the guest boots, however many snapshots that takes, then at our target
     * again; after that a move is judged again. */
    {"reboot-reported", FALSE, {{0, 512 * MIB, 0, 0, 0, 0}, {0, 1024 * MIB, 0, 0, 0, 1},
     {0, 1024 * MIB, 0, 0, 0, 1}, {0, 1024 * MIB, 0, 0, 0, 1}, {0, 512 * MIB, 0, 0, 0, 1},
     {0, 300 * MIB, 0, 0, 0, 1}, {0, 300 * MIB, 0, 300 * MIB, 512 * MIB, 1}}},
    /* Our own request moves it: no verdict, however long it takes. */
    {"own-request", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {512 * MIB, 900 * MIB, 0, 0, 0},
     {0, 700 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 0, 0}, {0, 512 * MIB, 0, 0, 0}}},
    /* It cannot give that much: it never rested at our target, so stopping short says nothing. */
    {"own-request-short", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {256 * MIB, 700 * MIB, 0, 0, 0},
     {0, 600 * MIB, 0, 0, 0}, {0, 600 * MIB, 0, 0, 0}, {0, 600 * MIB, 0, 0, 0}}},
    /* Someone else's target while ours are on their way (the coordinator shrinks a step a
     * cycle): beyond the way from where it was to our target is not ours. */
    {"setmem-while-shrinking", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {960 * MIB, 1024 * MIB, 0, 0, 0},
     {896 * MIB, 960 * MIB, 0, 0, 0}, {832 * MIB, 1700 * MIB, 0, 0, 0},
     {768 * MIB, 1700 * MIB, 0, 1700 * MIB, 768 * MIB}}},
    /* A shrink that overshoots nothing: below our target is someone else's too. */
    {"setmem-below-our-target", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {960 * MIB, 1024 * MIB, 0, 0, 0},
     {0, 700 * MIB, 0, 0, 0}, {0, 700 * MIB, 0, 700 * MIB, 960 * MIB}}},
    /* A request from a place never seen (first sight in flight): nothing to judge against
     * until it rests. */
    {"unseen-start", FALSE, {{0, 2048 * MIB, 512 * MIB, 0, 0}, {0, 1500 * MIB, 512 * MIB, 0, 0},
     {1024 * MIB, 1024 * MIB, 1024 * MIB, 0, 0}, {0, 1024 * MIB, 1024 * MIB, 0, 0}}},
    /* A TCG guest's balloon taking someone else's target slowly, never two snapshots near each
     * other on the way: judged all along (its guest is not sized meanwhile), said at rest. */
    {"setmem-slow-continuous", FALSE, {{0, 288 * MIB, 0, 0, 0, 0, N},
     {0, 288 * MIB, 0, 0, 0, 0, N}, {0, 276 * MIB, 0, 0, 0, 0, J}, {0, 262 * MIB, 0, 0, 0, 0, J},
     {0, 250 * MIB, 0, 0, 0, 0, J}, {0, 236 * MIB, 0, 0, 0, 0, J}, {0, 224 * MIB, 0, 0, 0, 0, J},
     {0, 214 * MIB, 0, 0, 0, 0, J}, {0, 208 * MIB, 0, 0, 0, 0, J},
     {0, 207 * MIB, 0, 207 * MIB, 288 * MIB, 0, N}, {0, 207 * MIB, 0, 0, 0, 0, N}}},
    /* A new daemon: libvirt reports the persistent <currentMemory> (384) while the balloon
     * rests at 448, where a live change left it. Stale once it held there: someone's setmem
     * from there is judged at once. */
    {"inflight-stale-start", FALSE, {{0, 448 * MIB, 384 * MIB, 0, 0, 0, N},
     {0, 448 * MIB, 384 * MIB, 0, 0, 0, N}, {0, 448 * MIB, 384 * MIB, 0, 0, 0, N},
     {0, 262 * MIB, 384 * MIB, 0, 0, 0, J}, {0, 240 * MIB, 384 * MIB, 0, 0, 0, J},
     {0, 225 * MIB, 384 * MIB, 0, 0, 0, J}, {0, 212 * MIB, 384 * MIB, 0, 0, 0, J},
     {0, 207 * MIB, 384 * MIB, 207 * MIB, 448 * MIB, 0, N}, {0, 207 * MIB, 384 * MIB, 0, 0, 0, N}}},
    /* The same setmem before the reported target was found stale: where it was first seen is
     * where it came from, so beyond the reported target is not on that way. */
    {"inflight-setmem-early", FALSE, {{0, 448 * MIB, 384 * MIB, 0, 0, 0, N},
     {0, 430 * MIB, 384 * MIB, 0, 0, 0, N}, {0, 330 * MIB, 384 * MIB, 0, 0, 0, J},
     {0, 260 * MIB, 384 * MIB, 0, 0, 0, J}, {0, 207 * MIB, 384 * MIB, 0, 0, 0, J},
     {0, 207 * MIB, 384 * MIB, 207 * MIB, 384 * MIB, 0, N}}},
    /* Our own shrink at TCG speed, in the coordinator's steps: never judged. */
    {"own-slow-shrink", FALSE, {{0, 1024 * MIB, 0, 0, 0, 0, N}, {960 * MIB, 1010 * MIB, 0, 0, 0, 0, N},
     {0, 990 * MIB, 0, 0, 0, 0, N}, {896 * MIB, 970 * MIB, 0, 0, 0, 0, N},
     {0, 950 * MIB, 0, 0, 0, 0, N}, {0, 925 * MIB, 0, 0, 0, 0, N},
     {512 * MIB, 905 * MIB, 0, 0, 0, 0, N}, {0, 850 * MIB, 0, 0, 0, 0, N},
     {0, 780 * MIB, 0, 0, 0, 0, N}, {0, 690 * MIB, 0, 0, 0, 0, N},
     {0, 600 * MIB, 0, 0, 0, 0, N}, {0, 515 * MIB, 0, 0, 0, 0, N}}},
    /* A guest that stops short of our target and goes on later, when it freed memory: ours, no
     * verdict; but the guest is held while it moves again (it might be someone else's target
     * on our way), until it reaches ours. */
    {"stops-short", FALSE, {{0, 1024 * MIB, 0, 0, 0, 0, N}, {512 * MIB, 900 * MIB, 0, 0, 0, 0, N},
     {0, 800 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N},
     {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 700 * MIB, 0, 0, 0, 0, J},
     {0, 600 * MIB, 0, 0, 0, 0, J}, {0, 512 * MIB, 0, 0, 0, 0, N}, {0, 512 * MIB, 0, 0, 0, 0, N}}},
    /* Stopped short and held there, then moved again on its own and held on the way: held
     * while it moved, no verdict where it holds (it may be ours), sized again. */
    {"stops-short-twice", FALSE, {{0, 1024 * MIB, 0, 0, 0, 0, N},
     {512 * MIB, 800 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N},
     {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 700 * MIB, 0, 0, 0, 0, J},
     {0, 690 * MIB, 0, 0, 0, 0, J}, {0, 690 * MIB, 0, 0, 0, 0, J}, {0, 690 * MIB, 0, 0, 0, 0, N}}},
    /* The lab's race (s17): our shrink to 240 stopped short at 264 and held; then an operator's
     * `virsh setmem 207M` takes it down through our way: held from its first move (not sized
     * as if it were our shrink), judged once below our target, said where it rests. */
    {"stalled-setmem-lower", FALSE, {{0, 300 * MIB, 0, 0, 0, 0, N},
     {240 * MIB, 280 * MIB, 0, 0, 0, 0, N}, {0, 264 * MIB, 0, 0, 0, 0, N},
     {0, 264 * MIB, 0, 0, 0, 0, N}, {0, 264 * MIB, 0, 0, 0, 0, N}, {0, 252 * MIB, 0, 0, 0, 0, J},
     {0, 230 * MIB, 0, 0, 0, 0, J}, {0, 215 * MIB, 0, 0, 0, 0, J}, {0, 207 * MIB, 0, 0, 0, 0, J},
     {0, 207 * MIB, 0, 207 * MIB, 240 * MIB, 0, N}}},
    /* Stopped short, then a new request of ours moves it: ours, never held. */
    {"stalled-new-request", FALSE, {{0, 1024 * MIB, 0, 0, 0, 0, N},
     {512 * MIB, 800 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N},
     {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N},
     {400 * MIB, 700 * MIB, 0, 0, 0, 0, N}, {0, 600 * MIB, 0, 0, 0, 0, N},
     {0, 450 * MIB, 0, 0, 0, 0, N}, {0, 400 * MIB, 0, 0, 0, 0, N}}},
    /* Stopped short, then taken up: a balloon only comes closer to our target, so a rise back
     * past where it stopped is someone else's. */
    {"stops-short-setmem-higher", FALSE, {{0, 1024 * MIB, 0, 0, 0, 0, N},
     {512 * MIB, 800 * MIB, 0, 0, 0, 0, N}, {0, 760 * MIB, 0, 0, 0, 0, N},
     {0, 760 * MIB, 0, 0, 0, 0, N}, {0, 900 * MIB, 0, 0, 0, 0, J},
     {0, 900 * MIB, 0, 900 * MIB, 512 * MIB, 0, N}}},
    /* Said when it first held (794 near 800), then it creeps on 6 MiB a snapshot: the same
     * target, not said again; a later move once it held is. */
    {"crawl-tail", FALSE, {{0, 1024 * MIB, 0, 0, 0, 0, N}, {0, 900 * MIB, 0, 0, 0, 0, J},
     {0, 800 * MIB, 0, 0, 0, 0, J}, {0, 794 * MIB, 0, 794 * MIB, 1024 * MIB, 0, N},
     {0, 788 * MIB, 0, 0, 0, 0, N}, {0, 782 * MIB, 0, 0, 0, 0, N}, {0, 776 * MIB, 0, 0, 0, 0, N},
     {0, 776 * MIB, 0, 0, 0, 0, N}, {0, 776 * MIB, 0, 0, 0, 0, N}, {0, 600 * MIB, 0, 0, 0, 0, J},
     {0, 600 * MIB, 0, 600 * MIB, 776 * MIB, 0, N}}},
    /* Within the tolerance (4 MiB and 0.5 %): libvirt rounds, balloons stop a few pages off. */
    {"jitter", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {0, 1020 * MIB, 0, 0, 0},
     {0, 1021 * MIB, 0, 0, 0}, {0, 1027 * MIB, 0, 0, 0}}},
    /* A backend that reports targets (the simulated host): a new one not ours is said at once,
     * in flight or not; ours is not. */
    {"reported", FALSE, {{0, 1024 * MIB, 1024 * MIB, 0, 0}, {0, 1024 * MIB, 600 * MIB, 600 * MIB,
     1024 * MIB}, {0, 700 * MIB, 600 * MIB, 0, 0}, {800 * MIB, 650 * MIB, 800 * MIB, 0, 0},
     {0, 800 * MIB, 800 * MIB, 0, 0}}},
    /* libvirt keeps reporting our last request after someone else's: found once, from actual. */
    {"reported-stale", FALSE, {{0, 1024 * MIB, 1024 * MIB, 0, 0}, {0, 512 * MIB, 1024 * MIB, 0, 0},
     {0, 512 * MIB, 1024 * MIB, 512 * MIB, 1024 * MIB}, {0, 512 * MIB, 1024 * MIB, 0, 0},
     {0, 512 * MIB, 1024 * MIB, 0, 0}}},
    /* A boot target in flight at first sight (the persistent <currentMemory>): not foreign. */
    {"boot-target", FALSE, {{0, 2048 * MIB, 512 * MIB, 0, 0}, {0, 1500 * MIB, 512 * MIB, 0, 0},
     {0, 512 * MIB, 512 * MIB, 0, 0}, {0, 512 * MIB, 512 * MIB, 0, 0}}},
    /* Unknown actual (no statistics; 1 stands for it here): nothing judged, nothing forgotten. */
    {"no-actual", FALSE, {{0, 1024 * MIB, 0, 0, 0}, {0, 1, 0, 0, 0}}},
};
// clang-format on

static void
run_case(gconstpointer data)
{
    const Case *c = data;
    VmbBalloonWatch w = {0};
    for (guint i = 0; i < STEPS && c->steps[i].actual; i++) {
        const Step *st = &c->steps[i];
        if (st->request)
            vmb_balloon_watch_request(&w, st->request);
        VmbBalloonSeen in = {st->actual == 1 ? 0 : st->actual, st->reported, c->autodeflate,
                             st->resets};
        guint64 old_kib = 0, new_kib = 0;
        gboolean found = vmb_balloon_watch_step(&w, &in, &old_kib, &new_kib);
        g_test_message("%s step %u: found %d (%" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT ")",
                       c->name, i, found, old_kib, new_kib);
        g_assert_cmpint(found, ==, st->found_new != 0);
        gboolean judging = vmb_balloon_watch_judging(&w);
        g_assert_true(!found || !judging); /* a verdict ends the judgement */
        if (st->judging)
            g_assert_cmpint(judging, ==, st->judging == J);
        if (found) {
            g_assert_cmpuint(new_kib, ==, st->found_new);
            g_assert_cmpuint(old_kib, ==, st->found_old);
        }
    }
}

static gboolean
step(VmbBalloonWatch *w, guint64 actual, guint64 *new_kib)
{
    VmbBalloonSeen in = {actual, 0, FALSE, 0};
    guint64 old_kib = 0;
    return vmb_balloon_watch_step(w, &in, &old_kib, new_kib);
}

/* A move that never rests (20 MiB a snapshot from 2048 MiB): judged for
 * VMB_BALLOON_WATCH_AWAY_MAX snapshots at most, then said where it got to; the rest of the way,
 * and its end, is the same target; a move back up after it held is judged again. */
static void
test_gives_up(void)
{
    VmbBalloonWatch w = {0};
    guint64 a = 2048 * MIB, new_kib = 0;
    g_assert_false(step(&w, a, &new_kib));
    for (guint i = 1; i < VMB_BALLOON_WATCH_AWAY_MAX; i++) {
        a -= 20 * MIB;
        g_assert_false(step(&w, a, &new_kib));
        g_assert_true(vmb_balloon_watch_judging(&w));
    }
    a -= 20 * MIB;
    g_assert_true(step(&w, a, &new_kib));
    g_assert_cmpuint(new_kib, ==, a);
    g_assert_false(vmb_balloon_watch_judging(&w));
    for (guint i = 0; i < 10; i++) {
        a -= i < 5 ? 20 * MIB : 0;
        g_assert_false(step(&w, a, &new_kib));
        g_assert_false(vmb_balloon_watch_judging(&w));
    }
    g_assert_false(step(&w, a + 300 * MIB, &new_kib));
    g_assert_true(vmb_balloon_watch_judging(&w));
    g_assert_true(step(&w, a + 300 * MIB, &new_kib));
    g_assert_cmpuint(new_kib, ==, a + 300 * MIB);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/balloon-watch/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], run_case);
    }
    g_test_add_func("/balloon-watch/gives-up", test_gives_up);
    return g_test_run();
}
