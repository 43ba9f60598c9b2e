/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory task's history of one guest (private to mem-task.c and mem-sample.c): what its
 * balloon statistics said over time, and the reading of each new sample. */
#pragma once

#include "mem-task.h"

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

double vmb_mem_burst_now(const MemHistory *h, gint64 now);
void vmb_mem_feed_sample(MemHistory *h, const VmbBalloonStat *b, const VmbConfig *c);
gboolean vmb_mem_settled(const MemHistory *h, const VmbBalloonStat *b);
gboolean vmb_mem_at_rest(const MemHistory *h, const VmbBalloonStat *b);
void vmb_mem_measure_kernel(MemHistory *h, const VmbBalloonStat *b);
gboolean vmb_mem_actual_lags(MemHistory *h, const VmbBalloonStat *b, gboolean vmem);
gboolean vmb_mem_follow_flight(MemHistory *h, const VmbBalloonStat *b, gint64 now_s,
                               const VmbConfig *c);
guint64 vmb_mem_guest_take(MemHistory *h, const VmbBalloonStat *b, const VmbConfig *c);
void vmb_mem_follow_inflation(MemHistory *h, const VmbBalloonStat *b, gint64 mono_us);
