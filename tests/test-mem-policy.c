/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table-driven tests of the memory policy: one case per rule, each with a change the rule
 * alone decides (so breaking the rule fails the case). Sizes in MiB; defaults as shipped:
 * band 15-40 % with 64 MiB minimum, floor 128 MiB, 64 MiB per shrink step, reserve
 * max(512 MiB, 5 %), horizon 15 s. */
#include <glib.h>

#include "config.h"
#include "mem-policy.h"

#define MAXG 4
#define MIB  1024

typedef struct {
    VmbMemGuestState state;
    double cur, max, usable;
    double guarantee;
    double rate;         /* MiB/s */
    double weight;       /* 0 = default */
    gboolean swapping;   /* paging above the thresholds */
    double paging;       /* MiB/s paged in */
    double burst;        /* MiB, its recent largest jump */
    gboolean reports;    /* free page reporting */
    double unused;       /* MiB free in the guest */
    double target, from; /* our last request and where it started, 0 = none */
    double take;         /* MiB it is expected to touch before the next cycle */
    double btarget;      /* the balloon's own target (libvirt's), 0 = unknown */
    gboolean flight;     /* the balloon still moves toward it */
} GuestSpec;

typedef struct {
    guint guest;
    VmbMemReason reason;
    double min, max; /* expected new size, MiB, inclusive */
} Expect;

typedef struct {
    const char *name;
    double host_total, host_avail; /* MiB */
    /* tunables that differ from the defaults (0 = default) */
    double min_free, floor, reserve_percent, horizon;
    double host_growth; /* MiB the host itself takes before the next cycle */
    GuestSpec g[MAXG];
    guint n;
    Expect e[MAXG];
    guint ne;
    /* expected verdicts (checked when check_verdicts) */
    gboolean check_verdicts;
    VmbMemVerdict v[MAXG];
} Case;

#define M VMB_MEM_MANAGED
/* A host with room to spare: 16 GiB, 8 GiB available. */
#define ROOMY 16384, 8192

static const Case cases[] = {
    {"band/inside: nothing to do", ROOMY, .g = {{M, 1024, 4096, 300}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_BALANCED}},
    /* used 924: A - 924 = (0.15A + 0.40A) / 2  =>  A = 924 / 0.725 = 1274.5 */
    {"grow/below low: to the band's middle", ROOMY, .g = {{M, 1024, 4096, 100}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1275, 1275}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_STARVING}},
    /* 50 MiB is 19.5 % of 256 but below the 64 MiB minimum; band 64-128 => 206 + 96 */
    {"band/MiB minimum makes a small guest starve", ROOMY, .g = {{M, 256, 512, 50}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 302, 302}}, .ne = 1},
    {"band/without the MiB minimum the same guest is in band", ROOMY, .min_free = -1,
     .g = {{M, 256, 512, 50}}, .n = 1, .ne = 0},
    /* allowance 8 MiB/s x 15 s = 120: A = (924 + 120) / 0.725 = 1440 */
    {"grow/sized by the consumption rate", ROOMY, .g = {{M, 1024, 4096, 100, .rate = 8}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1440, 1441}}, .ne = 1},
    /* usable 200 is above low (153.6) but not above low + 120 allowance */
    {"grow/ahead of demand when growing", ROOMY, .g = {{M, 1024, 4096, 200, .rate = 8}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1303, 1303}}, .ne = 1},
    {"grow/horizon follows the configuration", ROOMY, .horizon = 5,
     .g = {{M, 1024, 4096, 200, .rate = 8}}, .n = 1, .ne = 0},
    /* a step of 100 MiB/s would ask 1500 MiB: capped at half the use (462) */
    {"grow/one burst is not extrapolated", ROOMY, .g = {{M, 1024, 4096, 100, .rate = 100}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1912, 1912}}, .ne = 1},
    {"maximum/grow capped", ROOMY, .g = {{M, 1024, 1100, 100}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1100, 1100}}, .ne = 1},
    {"maximum/starving at its maximum: nothing", ROOMY, .g = {{M, 1024, 1024, 100}}, .n = 1,
     .ne = 0, .check_verdicts = TRUE, .v = {VMB_MEM_V_AT_MAXIMUM}},
    /* usable 200 is above low (153.6), below low + allowance (8 MiB/s x 15 s): not short */
    {"maximum/only the growth allowance missing: not short", ROOMY,
     .g = {{M, 1024, 1024, 200, .rate = 8}}, .n = 1, .ne = 0, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_BALANCED}},
    /* reserve 512: headroom 188 < 251 wanted; urgent 64, comfort up to the 64 MiB cushion */
    {"reserve/MiB: grow limited to the headroom", 8192, 700, .g = {{M, 1024, 4096, 100}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1147.9, 1148}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_HOST_LIMITED}},
    /* 10 % of 16 GiB = 1638.4 > 512: headroom 161.6 is less than the urgent 64 plus the
     * 204.8 cushion: only the urgent part (with 512 MiB it would be all 251) */
    {"reserve/percent wins when larger", 16384, 1800, .reserve_percent = 10,
     .g = {{M, 1024, 4096, 100}}, .n = 1, .e = {{0, VMB_MEM_GROW, 1088, 1088}}, .ne = 1},
    /* the host's own growth (100) comes off the headroom (188): 88 left, urgent only */
    {"reserve/host's own growth is kept free", 8192, 700, .host_growth = 100,
     .g = {{M, 1024, 4096, 100}}, .n = 1, .e = {{0, VMB_MEM_GROW, 1088, 1088}}, .ne = 1},
    /* headroom 60: less than the urgent 64, which may go down to the reserve itself */
    {"reserve/urgent growth may use the cushion", 8192, 572, .g = {{M, 1024, 4096, 100}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1083.9, 1084}}, .ne = 1},
    /* growth of 150 on a 100 MiB headroom: the in-band guest gives 50 ahead of time */
    {"reserve/host's own growth is reclaimed ahead", 8192, 612, .host_growth = 150,
     .g = {{M, 2048, 4096, 600}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1998, 1998}}, .ne = 1},
    /* what a growing guest will touch before the next cycle (100) is not headroom either */
    {"reserve/a growing guest's expected take is kept free", 8192, 700,
     .g = {{M, 1024, 4096, 100, .rate = 1, .take = 100}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1088, 1088}}, .ne = 1},
    /* headroom 48 - 80 taken = -32: no grow, and the guest's balloon takes back the 32 MiB
     * of free memory it would touch beyond the reserve */
    {"guard/host short: a growing guest's free memory is held back", 8192, 560,
     .g = {{M, 1024, 4096, 100, .rate = 8, .take = 80}}, .n = 1,
     .e = {{0, VMB_MEM_GUARD, 992, 992}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_HOST_LIMITED}},
    /* 40 short, takes 60 and 20: cut 30 and 10 */
    {"guard/shared in proportion to what each would take", 8192, 552,
     .g = {{M, 1024, 4096, 100, .rate = 6, .take = 60},
           {M, 1024, 4096, 100, .rate = 2, .take = 20}},
     .n = 2, .e = {{0, VMB_MEM_GUARD, 994, 994}, {1, VMB_MEM_GUARD, 1014, 1014}}, .ne = 2},
    {"guard/not below the floor", 8192, 512, .g = {{M, 160, 4096, 10, .rate = 5, .take = 50}},
     .n = 1, .e = {{0, VMB_MEM_GUARD, 128, 128}}, .ne = 1},
    /* the guard takes at most what the guest would touch, not the whole deficit */
    {"guard/no more than the guest's own take", 8192, 400,
     .g = {{M, 1024, 4096, 100, .rate = 1, .take = 10}}, .n = 1,
     .e = {{0, VMB_MEM_GUARD, 1014, 1014}}, .ne = 1},
    {"guard/a guest that took memory back by itself is left alone", 8192, 512,
     .g = {{M, 1100, 4096, 150, .rate = 5, .take = 50, .target = 1024, .from = 1024}}, .n = 1,
     .e = {{0, VMB_MEM_ACCEPT, 1100, 1100}}, .ne = 1},
    /* 12 MiB below the reserve: no grow, and the (not growing) starving guest gives those 12 */
    {"reserve/host below its reserve: no grow, the shortfall is given back", 8192, 500,
     .g = {{M, 1024, 4096, 100}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1012, 1012}}, .ne = 1,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_HOST_LIMITED}},
    {"reserve/host memory unknown: no grow, shrinks go on", 8192, 0,
     .g = {{M, 1024, 4096, 100}, {M, 2048, 4096, 1800}}, .n = 2,
     .e = {{1, VMB_MEM_SHRINK, 1984, 1984}}, .ne = 1},
    /* band middle would be 350: one step of 64 */
    {"shrink/gradual: one step per cycle", ROOMY, .g = {{M, 2048, 4096, 1800}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 1984, 1984}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_IDLE}},
    /* used 170, band 64-128 => 266, less than a step away */
    {"shrink/stops at use + band middle", ROOMY, .g = {{M, 320, 4096, 150}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 266, 266}}, .ne = 1},
    {"shrink/growing guest keeps its allowance", ROOMY, .g = {{M, 1024, 4096, 500, .rate = 8}},
     .n = 1, .ne = 0},
    {"floor/never below floor_mib", ROOMY, .g = {{M, 180, 4096, 160}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 128, 128}}, .ne = 1},
    {"floor/configured floor", ROOMY, .floor = 170, .g = {{M, 180, 4096, 160}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 170, 170}}, .ne = 1},
    {"floor/never below min_guarantee", ROOMY, .g = {{M, 180, 4096, 160, .guarantee = 160}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 160, 160}}, .ne = 1},
    {"floor/at the floor: nothing", ROOMY, .g = {{M, 130, 4096, 129.5}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_IDLE}},
    /* headroom 100, wants 251: the urgent 64 now (comfort would cut into the 64 MiB
     * cushion); the idle guest gives its step (64) plus 151 more for the next cycle */
    {"pressure/idle reclaimed for the starving guest", 8192, 612,
     .g = {{M, 1024, 4096, 100}, {M, 2048, 4096, 1800}}, .n = 2,
     .e = {{0, VMB_MEM_GROW, 1088, 1088}, {1, VMB_MEM_RECLAIM, 1833, 1833}}, .ne = 2,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_HOST_LIMITED, VMB_MEM_V_IDLE}},
    /* the next cycle (use 938 now): the reclaimed memory is headroom, 206 + 64 fit in 279 */
    {"pressure/reclaimed memory pays the next grow", 8192, 791,
     .g = {{M, 1088, 4096, 150}, {M, 1833, 4096, 1585}}, .n = 2,
     .e = {{0, VMB_MEM_GROW, 1294, 1294}, {1, VMB_MEM_SHRINK, 1769, 1769}}, .ne = 2},
    /* headroom 300: urgent parts (64, 28) first, the rest (300 - 64 cushion - 92 = 144) by
     * need (251 : 210) */
    {"pressure/shared among starving guests by need", 8192, 812,
     .g = {{M, 1024, 4096, 100}, {M, 1024, 4096, 130}}, .n = 2,
     .e = {{0, VMB_MEM_GROW, 1165.5, 1166.5}, {1, VMB_MEM_GROW, 1117.5, 1118.5}}, .ne = 2},
    /* urgent 64 each, then 300 - 64 - 128 = 108 shared 2:1 */
    {"pressure/equal need, weights 2:1", 8192, 812,
     .g = {{M, 1024, 4096, 100, .weight = 2}, {M, 1024, 4096, 100, .weight = 1}}, .n = 2,
     .e = {{0, VMB_MEM_GROW, 1159.5, 1160}, {1, VMB_MEM_GROW, 1123.5, 1124}}, .ne = 2},
    /* 112 MiB short of the reserve, nobody idle: the in-band guest gives that, no more
     * than down to a quarter of its band (1839) */
    {"pressure/host below reserve squeezes an in-band guest", 8192, 400,
     .g = {{M, 2048, 4096, 600}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1936, 1936}}, .ne = 1},
    /* 312 MiB short: a quarter of the band (1839) frees 209; the rest (103) comes from
     * going on toward the low watermark (1704): 1736, still inside the band */
    {"pressure/host still short: in-band guest down toward its low watermark", 8192, 200,
     .g = {{M, 2048, 4096, 600}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1736, 1736}}, .ne = 1},
    /* used 1408: a quarter of the band (1788) is within the tolerance of 1789, the low
     * watermark (1657) is not: 100 MiB short gives 1689 (mem-host in bench/) */
    {"pressure/host short: a guest near its quarter level still gives toward its low watermark",
     8192, 412, .g = {{M, 1789, 4096, 381}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1689, 1689}},
     .ne = 1},
    /* used 1798, below its low watermark (307) but not growing: 212 MiB short of the
     * reserve, it gives down to use + the 64 MiB band minimum (1862) */
    {"pressure/host short: a starving guest that does not grow gives down to the band minimum",
     8192, 300, .g = {{M, 2048, 4096, 250}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1862, 1862}},
     .ne = 1, .check_verdicts = TRUE, .v = {VMB_MEM_V_HOST_LIMITED}},
    /* 1000 MiB short: no further than the low watermark */
    {"pressure/host far short: in-band guest stops at its low watermark", 8192, 0.5,
     .g = {{M, 2048, 4096, 600}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1704, 1704}}, .ne = 1},
    /* 112 MiB short: the idle guest's step gives 64, then 48 more past the step; the
     * in-band guest is not squeezed because the idle one covers it */
    {"pressure/host below reserve: idle reclaimed past its step", 8192, 400,
     .g = {{M, 2048, 4096, 1800}, {M, 2048, 4096, 600}}, .n = 2,
     .e = {{0, VMB_MEM_RECLAIM, 1936, 1936}}, .ne = 1},
    {"order/starving served first", ROOMY,
     .g = {{M, 2048, 4096, 1800}, {M, 1024, 4096, 100}, {M, 1024, 4096, 120}}, .n = 3,
     .e = {{1, VMB_MEM_GROW, 1275, 1275},
           {2, VMB_MEM_GROW, 1247, 1248},
           {0, VMB_MEM_SHRINK, 1984, 1984}},
     .ne = 3},
    {"stats/stale: left alone", ROOMY,
     .g = {{VMB_MEM_STALE, 1024, 4096, 100}, {M, 1024, 4096, 100}}, .n = 2,
     .e = {{1, VMB_MEM_GROW, 1275, 1275}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_SKIPPED, VMB_MEM_V_STARVING}},
    {"stats/no balloon driver: left alone", ROOMY,
     .g = {{VMB_MEM_NO_STATS, 2048, 4096, 0}, {M, 2048, 4096, 1800}}, .n = 2,
     .e = {{1, VMB_MEM_SHRINK, 1984, 1984}}, .ne = 1},
    {"excluded: left alone", ROOMY,
     .g = {{VMB_MEM_EXCLUDED, 2048, 4096, 1800}, {M, 1024, 4096, 100}}, .n = 2,
     .e = {{1, VMB_MEM_GROW, 1275, 1275}}, .ne = 1},
    /* a grow of 476 is under way: headroom 1200 - 512 - 476 = 212: urgent 64 + 84 */
    {"settling: no action, its grow still counts", 8192, 1200,
     .g = {{VMB_MEM_SETTLING, 1024, 4096, 100, .target = 1500, .from = 1024}, {M, 1024, 4096, 100}},
     .n = 2, .e = {{1, VMB_MEM_GROW, 1171.9, 1172}}, .ne = 1},
    {"target/unreachable shrink is not asked again", ROOMY,
     .g = {{M, 1024, 4096, 700, .target = 700, .from = 1088}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_UNREACHABLE}},
    {"target/the same guest without that history shrinks", ROOMY, .g = {{M, 1024, 4096, 700}},
     .n = 1, .e = {{0, VMB_MEM_SHRINK, 960, 960}}, .ne = 1},
    {"target/unreachable but starving now: grows", ROOMY,
     .g = {{M, 1024, 4096, 100, .target = 700, .from = 1088}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1275, 1275}}, .ne = 1},
    {"target/reached: shrinking goes on", ROOMY,
     .g = {{M, 1024, 4096, 700, .target = 1024, .from = 1088}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 960, 960}}, .ne = 1},
    {"target/autodeflate is accepted, not shrunk", ROOMY,
     .g = {{M, 1024, 4096, 500, .target = 900, .from = 900}}, .n = 1,
     .e = {{0, VMB_MEM_ACCEPT, 1024, 1024}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_AUTODEFLATED}},
    {"flight/our grow still deflating the balloon: waited for, not pending", ROOMY,
     .g = {{M, 1024, 4096, 100, .target = 1300, .from = 1024, .btarget = 1300, .flight = TRUE}},
     .n = 1, .ne = 0, .check_verdicts = TRUE, .v = {VMB_MEM_V_IN_FLIGHT}},
    {"target/grow not reached: not asked again", ROOMY,
     .g = {{M, 1024, 4096, 100, .target = 1300, .from = 1024}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_PENDING}},
    /* booted at 2048 MiB, inflating toward libvirt's 512: a shrink to 1301 would replace
     * that target with a larger one (seen on the lab's TCG guests) */
    {"flight/inflating toward a lower target: not shrunk", ROOMY,
     .g = {{M, 1365, 2048, 1200, .btarget = 512, .flight = TRUE}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_IN_FLIGHT}},
    {"flight/stalled above a lower target: not raised either", ROOMY,
     .g = {{M, 1365, 2048, 1200, .btarget = 512}}, .n = 1, .ne = 0, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_UNREACHABLE}},
    {"flight/the same guest at its target shrinks", ROOMY,
     .g = {{M, 1365, 2048, 1200, .btarget = 1365}}, .n = 1, .e = {{0, VMB_MEM_SHRINK, 1301, 1301}},
     .ne = 1},
    /* used 1265: A = 1265 / 0.725 = 1744.8 */
    {"flight/starving while inflating: grows", ROOMY,
     .g = {{M, 1365, 2048, 100, .btarget = 512, .flight = TRUE}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1745, 1745}}, .ne = 1},
    /* a deflation of 476 on its way (not ours): headroom 1200 - 512 - 476 = 212, as if it
     * were our own grow (the settling case) */
    {"flight/deflating toward a higher target: no grow, it counts against the headroom", 8192, 1200,
     .g = {{M, 1024, 4096, 100, .btarget = 1500, .flight = TRUE}, {M, 1024, 4096, 100}}, .n = 2,
     .e = {{1, VMB_MEM_GROW, 1171.9, 1172}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_IN_FLIGHT, VMB_MEM_V_HOST_LIMITED}},
    /* used 324: without its past jump of 500 MiB it would shrink a step (the case below) */
    {"burst/an idle guest that jumped keeps room for the next jump", ROOMY,
     .g = {{M, 1024, 4096, 700, .burst = 500}}, .n = 1, .ne = 0, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_BALANCED}},
    {"burst/the same guest without a jump shrinks", ROOMY, .g = {{M, 1024, 4096, 700}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 960, 960}}, .ne = 1},
    /* in band (usable 300) but short of low + 400: (724 + 400) / 0.725 = 1550.3 */
    {"burst/grown ahead of its next jump", ROOMY, .g = {{M, 1024, 4096, 300, .burst = 400}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1551, 1551}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_STARVING}},
    /* the room for a burst is comfort: 100 MiB of headroom minus the 64 MiB cushion, none of
     * it urgent, so only 36 MiB of the 527 wanted */
    {"burst/comfort: not grown into the cushion", 8192, 612,
     .g = {{M, 1024, 4096, 300, .burst = 400}}, .n = 1, .e = {{0, VMB_MEM_GROW, 1059, 1061}},
     .ne = 1},
    /* host 112 MiB short: the reserve comes first, the room for its jump goes */
    {"burst/host short: the reserve comes first", 8192, 400,
     .g = {{M, 2048, 4096, 600, .burst = 500}}, .n = 1, .e = {{0, VMB_MEM_SQUEEZE, 1936, 1936}},
     .ne = 1},
    /* two of three guests jumped 400 MiB: the third one, in band (usable 300) and with no jump
     * of its own, is grown ahead of one like theirs, (724 + 400) / 0.725 = 1550.3 */
    {"burst/peers: most guests jumped, the one that did not keeps room too", ROOMY,
     .g = {{M, 2048, 4096, 1000, .burst = 400},
           {M, 2048, 4096, 1000, .burst = 400},
           {M, 1024, 4096, 300}},
     .n = 3, .e = {{2, VMB_MEM_GROW, 1551, 1551}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_BALANCED, VMB_MEM_V_BALANCED, VMB_MEM_V_STARVING}},
    {"burst/peers: one guest's jump is not the host's habit", ROOMY,
     .g = {{M, 2048, 4096, 1000, .burst = 400}, {M, 2048, 4096, 700}, {M, 1024, 4096, 300}}, .n = 3,
     .ne = 0},
    /* headroom 300 MiB, guest 3 below its low watermark wants (924 + 400) / 0.725 = 1826.2:
     * pressure, so guest 2 keeps no room for its peers' jumps and only guest 3 grows, by the
     * headroom less the 64 MiB cushion */
    {"burst/peers: not under pressure", 8192, 812,
     .g = {{M, 2048, 4096, 1000, .burst = 400},
           {M, 2048, 4096, 1000, .burst = 400},
           {M, 1024, 4096, 300},
           {M, 1024, 4096, 100, .burst = 400}},
     .n = 4, .e = {{3, VMB_MEM_GROW, 1260, 1260}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_BALANCED, VMB_MEM_V_BALANCED, VMB_MEM_V_BALANCED, VMB_MEM_V_HOST_LIMITED}},
    /* 1700 MiB of free pages went back to the host already: a step frees nothing */
    {"reporting/an idle guest whose free pages went back is not shrunk", ROOMY,
     .g = {{M, 2048, 4096, 1800, .reports = TRUE, .unused = 1700}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_IDLE}},
    /* its free memory is page cache (resident): the step frees host memory */
    {"reporting/page cache is still host memory: shrinks", ROOMY,
     .g = {{M, 2048, 4096, 1800, .reports = TRUE, .unused = 10}}, .n = 1,
     .e = {{0, VMB_MEM_SHRINK, 1984, 1984}}, .ne = 1},
    /* host 112 MiB short: capped all the same, past its band's middle (248 / 0.725 = 343)
     * toward its low watermark (292), as shrinking it frees next to nothing */
    {"reporting/capped when the host needs it", 8192, 400,
     .g = {{M, 2048, 4096, 1800, .reports = TRUE, .unused = 1700}}, .n = 1,
     .e = {{0, VMB_MEM_RECLAIM, 312, 312}}, .ne = 1},
    /* the plain guest's step is counted in full, the reporting one's as nothing: the plain
     * guest pays for the host (1936), the reporting one only takes its step (a cap) */
    {"reporting/host short: a plain balloon's step counts in full", 8192, 400,
     .g = {{M, 2048, 4096, 1800}, {M, 2048, 4096, 1800, .reports = TRUE, .unused = 1700}}, .n = 2,
     .e = {{0, VMB_MEM_RECLAIM, 1936, 1936}, {1, VMB_MEM_SHRINK, 1984, 1984}}, .ne = 2},
    /* paging, even with memory to spare: never shrunk, grows by the band minimum */
    {"paging/an idle guest that pages is not shrunk but grown", ROOMY,
     .g = {{M, 2048, 4096, 1800, .swapping = TRUE}}, .n = 1, .e = {{0, VMB_MEM_GROW, 2112, 2112}},
     .ne = 1, .check_verdicts = TRUE, .v = {VMB_MEM_V_STARVING}},
    /* in band (usable 300 of 1024), paging 10 MiB/s x 15 s = 150 on top of its use:
     * (724 + 150) / 0.725 = 1205.5 */
    {"paging/inside the band: starving, grown by what it pages in over the horizon", ROOMY,
     .g = {{M, 1024, 4096, 300, .swapping = TRUE, .paging = 10}}, .n = 1,
     .e = {{0, VMB_MEM_GROW, 1206, 1206}}, .ne = 1, .check_verdicts = TRUE,
     .v = {VMB_MEM_V_STARVING}},
    {"paging/the same guest not paging is balanced", ROOMY, .g = {{M, 1024, 4096, 300}}, .n = 1,
     .ne = 0, .check_verdicts = TRUE, .v = {VMB_MEM_V_BALANCED}},
    {"paging/at its maximum: short", ROOMY,
     .g = {{M, 1024, 1024, 300, .swapping = TRUE, .paging = 10}}, .n = 1, .ne = 0,
     .check_verdicts = TRUE, .v = {VMB_MEM_V_AT_MAXIMUM}},
    /* host 112 MiB short of its reserve: the paging guest gives nothing, the other one the
     * 112 and the 64 the paging guest urgently needs */
    {"paging/host short: a paging guest is not squeezed", 8192, 400,
     .g = {{M, 2048, 4096, 900, .swapping = TRUE}, {M, 2048, 4096, 600}}, .n = 2,
     .e = {{1, VMB_MEM_SQUEEZE, 1872, 1872}}, .ne = 1},
};

static void
tunables_for(const Case *c, VmbMemTunables *t)
{
    *t = (VmbMemTunables){
        .low_percent = 15,
        .high_percent = 40,
        .min_free_kib = 64 * MIB,
        .floor_kib = 128 * MIB,
        .max_shrink_kib = 64 * MIB,
        .reserve_kib = 512 * MIB,
        .reserve_percent = 5,
        .horizon_s = 15,
    };
    if (c->min_free < 0)
        t->min_free_kib = 0;
    else if (c->min_free > 0)
        t->min_free_kib = (guint64) (c->min_free * MIB);
    if (c->floor > 0)
        t->floor_kib = (guint64) (c->floor * MIB);
    if (c->reserve_percent > 0)
        t->reserve_percent = c->reserve_percent;
    if (c->horizon > 0)
        t->horizon_s = c->horizon;
}

static guint64
kib(double mib)
{
    return (guint64) (mib * MIB);
}

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    VmbMemTunables t;
    tunables_for(c, &t);
    VmbMemGuest g[MAXG] = {0};
    for (guint i = 0; i < c->n; i++) {
        const GuestSpec *s = &c->g[i];
        g[i] = (VmbMemGuest){
            .state = s->state,
            .current_kib = kib(s->cur),
            .maximum_kib = kib(s->max),
            .usable_kib = kib(s->usable),
            .min_guarantee_kib = kib(s->guarantee),
            .rate_kib_s = s->rate * MIB,
            .weight = s->weight,
            .swapping = s->swapping,
            .paging_kib_s = s->paging * MIB,
            .burst_kib = kib(s->burst),
            .reports_free = s->reports,
            .unused_kib = kib(s->unused),
            .target_kib = kib(s->target),
            .target_from_kib = kib(s->from),
            .take_kib = kib(s->take),
            .balloon_target_kib = kib(s->btarget),
            .in_flight = s->flight,
        };
    }
    VmbMemProblem p = {
        .host_total_kib = kib(c->host_total),
        .host_available_kib = kib(c->host_avail),
        .host_growth_kib = kib(c->host_growth),
        .guests = g,
        .n_guests = c->n,
    };
    g_autoptr(VmbMemPlan) plan = vmb_mem_plan(&p, &t);

    for (guint k = 0; k < plan->changes->len; k++) {
        const VmbMemChange *ch = &g_array_index(plan->changes, VmbMemChange, k);
        g_test_message("change %u: guest %u %s %.1f -> %.2f MiB", k, ch->guest,
                       vmb_mem_reason_to_string(ch->reason), ch->old_kib / (double) MIB,
                       ch->new_kib / (double) MIB);
    }
    g_assert_cmpuint(plan->changes->len, ==, c->ne);
    for (guint k = 0; k < c->ne; k++) {
        const VmbMemChange *ch = &g_array_index(plan->changes, VmbMemChange, k);
        const Expect *e = &c->e[k];
        g_assert_cmpuint(ch->guest, ==, e->guest);
        g_assert_cmpstr(vmb_mem_reason_to_string(ch->reason), ==,
                        vmb_mem_reason_to_string(e->reason));
        g_assert_cmpfloat(ch->new_kib / (double) MIB, >=, e->min);
        g_assert_cmpfloat(ch->new_kib / (double) MIB, <=, e->max);
        g_assert_cmpuint(ch->old_kib, ==, g[ch->guest].current_kib);
    }
    if (c->check_verdicts) {
        for (guint i = 0; i < c->n; i++)
            g_assert_cmpstr(vmb_mem_verdict_to_string(plan->verdict[i]), ==,
                            vmb_mem_verdict_to_string(c->v[i]));
    }
}

/* Invariants over a grid of guests and hosts: targets within [floor, maximum], shrinks at
 * most one step outside pressure, and grows never past the headroom there is before the
 * plan (what it reclaims pays for the next cycle). */
static void
test_invariants(void)
{
    VmbMemTunables t;
    Case dflt = {0};
    tunables_for(&dflt, &t);
    static const double avails[] = {0, 300, 700, 1500, 8192};
    static const double curs[] = {128, 256, 700, 2048};
    static const double usable_frac[] = {0.02, 0.1, 0.3, 0.6, 0.9};
    guint checked = 0;
    for (guint a = 0; a < G_N_ELEMENTS(avails); a++) {
        for (guint x = 0; x < G_N_ELEMENTS(curs); x++) {
            for (guint y = 0; y < G_N_ELEMENTS(usable_frac); y++) {
                VmbMemGuest g[3] = {
                    {M, kib(curs[x]), kib(4096), kib(curs[x] * usable_frac[y])},
                    {M, kib(curs[(x + 1) % 4]), kib(2048),
                     kib(curs[(x + 1) % 4] * usable_frac[(y + 2) % 5]), .rate_kib_s = 4 * MIB},
                    {M, kib(1024), kib(1024), kib(1024 * usable_frac[(y + 4) % 5]),
                     .min_guarantee_kib = kib(600)},
                };
                VmbMemProblem p = {
                    .host_total_kib = kib(8192),
                    .host_available_kib = kib(avails[a]),
                    .guests = g,
                    .n_guests = 3,
                };
                g_autoptr(VmbMemPlan) plan = vmb_mem_plan(&p, &t);
                gint64 grown = 0;
                for (guint k = 0; k < plan->changes->len; k++) {
                    const VmbMemChange *ch = &g_array_index(plan->changes, VmbMemChange, k);
                    const VmbMemGuest *gi = &g[ch->guest];
                    guint64 floor = MAX(t.floor_kib, gi->min_guarantee_kib);
                    g_assert_cmpuint(ch->new_kib, <=, gi->maximum_kib);
                    if (ch->new_kib < ch->old_kib) {
                        g_assert_cmpuint(ch->new_kib, >=, floor);
                        if (!plan->pressure)
                            g_assert_cmpuint(ch->old_kib - ch->new_kib, <=, t.max_shrink_kib);
                    }
                    if (ch->new_kib > ch->old_kib)
                        grown += (gint64) (ch->new_kib - ch->old_kib);
                    checked++;
                }
                /* memory reclaimed in the same cycle is not spent before it is back */
                g_assert_cmpint(grown, <=, MAX(plan->headroom_kib, 0));
            }
        }
    }
    g_assert_cmpuint(checked, >, 20);
}

static void
test_band(void)
{
    VmbMemTunables t;
    Case dflt = {0};
    tunables_for(&dflt, &t);
    guint64 low, high;
    vmb_mem_band(&t, kib(256), &low, &high);
    g_assert_cmpuint(low, ==, kib(64));   /* MiB minimum */
    g_assert_cmpuint(high, ==, kib(128)); /* at least min_free wide */
    vmb_mem_band(&t, kib(2048), &low, &high);
    g_assert_cmpuint(low, ==, (guint64) (0.15 * kib(2048) + 0.5));
    g_assert_cmpuint(high, ==, (guint64) (0.40 * kib(2048) + 0.5));
    g_assert_cmpuint(vmb_mem_reserve(&t, kib(8192)), ==, kib(512));
    g_assert_cmpuint(vmb_mem_reserve(&t, kib(65536)), ==, (kib(65536) + 19) / 20); /* rounded up */
}

static void
test_weights_config(void)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_autoptr(GError) error = NULL;
    g_assert_cmpuint(c->mem_grow_horizon, ==, 3);
    g_assert_cmpfloat(vmb_config_mem_weight(c, "db1", NULL), ==, 1.0);
    g_assert_true(vmb_config_set(c, "memory.weights", "db*:2, web:0.5", &error));
    g_assert_true(vmb_config_validate(c, &error));
    g_assert_no_error(error);
    g_assert_cmpfloat(vmb_config_mem_weight(c, "db1", NULL), ==, 2.0);
    g_assert_cmpfloat(vmb_config_mem_weight(c, "web", NULL), ==, 0.5);
    g_assert_cmpfloat(vmb_config_mem_weight(c, "other", NULL), ==, 1.0);
    g_autoptr(VmbConfig) copy = vmb_config_copy(c);
    g_assert_cmpfloat(vmb_config_mem_weight(copy, "db7", NULL), ==, 2.0);
    g_autofree char *text = vmb_config_get(c, "memory.weights", NULL);
    g_assert_cmpstr(text, ==, "db*:2,web:0.5");

    static const char *const bad[] = {"db", "db:0", "db:x", ":2", "db:1000"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_assert_true(vmb_config_set(c, "memory.weights", bad[i], &e));
        g_assert_false(vmb_config_validate(c, &e));
        g_assert_error(e, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
    }
    g_autoptr(GError) e = NULL;
    g_assert_false(vmb_config_set(c, "memory.grow_horizon", "0", &e));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/mem-policy/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/mem-policy/invariants", test_invariants);
    g_test_add_func("/mem-policy/band", test_band);
    g_test_add_func("/mem-policy/config-weights", test_weights_config);
    return g_test_run();
}
