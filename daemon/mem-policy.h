/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory policy: a pure function from guest balloon figures and host memory to balloon
 * targets.
 *
 * Per guest the usable memory (guest MemAvailable) is kept inside a band: low and high are
 * percentages of actual with a MiB minimum, plus a growth allowance (consumption rate times
 * a horizon) so a growing guest is served before it runs short. Below the band the guest
 * grows to the middle of it in one step; above it, it shrinks toward the middle by at most
 * a per-step cap. Targets stay within [floor, maximum] and grows within the host's headroom
 * (MemAvailable minus the reserve, grows still under way and what the host itself and the
 * growing guests are expected to take before the next cycle); growth beyond the urgent part (back
 * to the low watermark) also leaves a cushion of an eighth of the reserve for surges of the host.
 * Under host pressure idle guests are reclaimed first (past the per-step cap if needed), then
 * in-band guests give down to a quarter of their band for what starving guests urgently need (or
 * the host lacks; when the host itself is still short, idle and in-band guests go on down to
 * their low watermark), and what is there is shared among starving guests by need and weight. When
 * even so the guests would take the host below its reserve before the next cycle (the headroom is
 * negative), growing guests' balloons take back the free memory they would touch: the reserve comes
 * first. A guest that jumped recently keeps room for such a jump outside pressure, and so does
 * every guest once most guests jumped (the first jump of a guest lands before a cycle sees it);
 * under pressure that room is given up first. A previous target the
 * balloon could not reach is not asked again; memory a guest took back by itself (autodeflate) is
 * accepted.
 */
#pragma once

#include <glib.h>

typedef enum {
    VMB_MEM_MANAGED,  /* fresh statistics: the policy may act */
    VMB_MEM_EXCLUDED, /* configured as excluded: never touched */
    VMB_MEM_NO_STATS, /* no balloon driver or statistics not (yet) there */
    VMB_MEM_STALE,    /* statistics older than the staleness limit */
    VMB_MEM_SETTLING, /* statistics predate our last change: wait for fresh ones */
} VmbMemGuestState;

typedef struct {
    VmbMemGuestState state;
    guint64 current_kib; /* actual */
    guint64 maximum_kib;
    guint64 usable_kib;         /* guest MemAvailable (MANAGED only) */
    guint64 min_guarantee_kib;  /* 0 when unset */
    double rate_kib_s;          /* smoothed consumption rate, > 0 when the guest grows */
    double weight;              /* share under pressure; <= 0 means 1 */
    gboolean swapping;          /* paging: swap-in or major-fault rate above its threshold */
    double paging_kib_s;        /* what it pages in per second (swap-in, major faults) */
    guint64 burst_kib;          /* its recent largest jump in use (decaying): kept free for
                                   the next one */
    gboolean reports_free;      /* free page reporting: its free pages are host memory already */
    guint64 unused_kib;         /* free memory in the guest (balloon.unused), reporting guests */
    guint64 take_kib;           /* host memory it is expected to take (touch) before the next
                                   cycle can act: kept out of the headroom */
    guint64 target_kib;         /* our last request, 0 = none */
    guint64 target_from_kib;    /* actual when that request was made */
    guint64 balloon_target_kib; /* what the balloon moves toward (libvirt's target, ours
                                   included), 0 = unknown */
    gboolean in_flight;         /* the balloon still moves toward it: actual is not the
                                   guest's state yet */
} VmbMemGuest;

typedef struct {
    guint64 host_total_kib;
    guint64 host_available_kib; /* MemAvailable semantics; 0 = unknown: no grows */
    guint64 host_growth_kib;    /* what the host itself is expected to take before the next
                                   cycle can act: kept out of the headroom */
    const VmbMemGuest *guests;
    guint n_guests;
} VmbMemProblem;

typedef struct {
    double low_percent;     /* of actual */
    double high_percent;    /* of actual, > low_percent */
    guint64 min_free_kib;   /* band minimum (low) and minimum band width */
    guint64 floor_kib;      /* no guest below this */
    guint64 max_shrink_kib; /* per guest per cycle, outside host pressure */
    guint64 reserve_kib;    /* host reserve ... */
    double reserve_percent; /* ... or this percent of host RAM, whichever is larger */
    double horizon_s;       /* growth allowance: rate times this */
} VmbMemTunables;

typedef enum {
    VMB_MEM_GROW,    /* usable below the band (with growth allowance) */
    VMB_MEM_SHRINK,  /* usable above the band: gradual */
    VMB_MEM_RECLAIM, /* idle guest under host pressure: straight to the band's middle */
    VMB_MEM_SQUEEZE, /* in-band guest toward the band's bottom: host short, starving guests */
    VMB_MEM_ACCEPT,  /* target moved to an actual the guest deflated to by itself */
    VMB_MEM_GUARD,   /* growing guest: free memory it would take is held back, the host is
                        at its reserve */
} VmbMemReason;

/* How the policy saw each guest; the task logs the lasting ones once. */
typedef enum {
    VMB_MEM_V_SKIPPED,      /* not MANAGED */
    VMB_MEM_V_BALANCED,     /* inside the band */
    VMB_MEM_V_STARVING,     /* grows (see the changes) */
    VMB_MEM_V_IDLE,         /* shrinks, or would but is at its floor */
    VMB_MEM_V_AT_MAXIMUM,   /* starving but at its maximum */
    VMB_MEM_V_HOST_LIMITED, /* starving, got less than it wanted or nothing */
    VMB_MEM_V_UNREACHABLE,  /* the last shrink was not reached: not asked again */
    VMB_MEM_V_PENDING,      /* the last grow was not reached: not asked again */
    VMB_MEM_V_AUTODEFLATED, /* actual rose above our target by itself: accepted */
    VMB_MEM_V_IN_FLIGHT,    /* a balloon change is under way: not shrunk, its grow counts */
} VmbMemVerdict;

typedef struct {
    guint guest;
    guint64 old_kib, new_kib;
    VmbMemReason reason;
    /* the numbers behind it, for the log */
    guint64 usable_kib, low_kib, high_kib;
    double rate_kib_s;
} VmbMemChange;

typedef struct {
    GArray *changes;        /* VmbMemChange, in the order to apply them */
    VmbMemVerdict *verdict; /* [n_guests] */
    guint64 reserve_kib;    /* effective host reserve */
    gint64 headroom_kib;    /* host available - reserve - grows under way - host and guest
                               growth */
    gboolean pressure;      /* wants exceeded the headroom, or host below its reserve */
} VmbMemPlan;

/* The band of a guest with @actual_kib: usable below *low grows, above *high shrinks. */
void vmb_mem_band(const VmbMemTunables *t, guint64 actual_kib, guint64 *low, guint64 *high);
guint64 vmb_mem_reserve(const VmbMemTunables *t, guint64 host_total_kib);
/* Actual and target agree within this (balloon granularity, rounding). */
guint64 vmb_mem_tolerance(guint64 target_kib);

VmbMemPlan *vmb_mem_plan(const VmbMemProblem *p, const VmbMemTunables *t);
void vmb_mem_plan_free(VmbMemPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbMemPlan, vmb_mem_plan_free)

const char *vmb_mem_reason_to_string(VmbMemReason r);
const char *vmb_mem_verdict_to_string(VmbMemVerdict v);
