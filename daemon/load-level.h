/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The level of a vCPU's demand and its noise, from one sample per cycle, telling a lasting
 * change of level from noise.
 *
 * The level is an EWMA of the samples and the noise the EWMA of half the squared step between
 * successive samples. Samples far from the level (more than SHIFT_Z standard deviations and
 * SHIFT_MIN points) are held back: when three in a row are far on the same side and the third is
 * not on its way back, the level moved, and it jumps to the third with the noise left as it
 * was. Otherwise they were a spike and count as usual. While samples are held the level shows
 * what the usual average shows, so holding delays nothing: the jump is the only difference.
 * No jump within PIN_EFFECT_CYCLES of a pin change on the vCPU's pCPU (the run-queue wait, part
 * of the demand, moves with the pins: that move is ours). A load that went far and came back
 * within REVERSAL_CYCLES is bursty: the size of that burst is remembered (halving every
 * BURST_HALF_LIFE cycles), and a move of the level must be larger than its bursts to count.
 *
 * Why: counted as noise, one step of 50 points kept the noise margin above a 17-point gain for
 * five cycles on real guests (lab s2: rebalanced six cycles after its load change). Three
 * samples: a spike of 5-10 s at 5-s cycles touches at most three, the third on its way back. */
#pragma once

#include <glib.h>

typedef struct {
    double mean;        /* the level: smoothed demand, percent */
    double var;         /* variance of the samples about it */
    double last;        /* the last sample taken into mean and var */
    double shown_mean;  /* what the level shows (see show()): the load */
    double shown_noise; /* and its own standard deviation */
    double share;       /* the level's variance as a share of the samples' */
    double held[2];     /* samples far from the level, held back */
    guint n_held;
    gboolean jumped;      /* the last update set the level to one sample */
    double before;        /* the level before the last far sample (an excursion from it) */
    guint64 away_cycle;   /* cycle of that sample, 0 when no excursion is open */
    double peak;          /* how far from before the excursion went */
    double burst_var;     /* squared size of the last burst that came back */
    guint64 burst_cycle;  /* cycle it came back */
    guint64 pinned_cycle; /* last cycle a pin change touched its pCPU, 0 for none */
    guint samples;        /* taken so far */
} VmbLoadLevel;

/* The first sample: its level, and a 10-point standard deviation for want of any other. */
void vmb_load_level_start(VmbLoadLevel *lv, double sample, double alpha);
/* Takes this cycle's @sample (@cycle counts from 1), the newest weighing @alpha in the mean. */
void vmb_load_level_update(VmbLoadLevel *lv, double sample, double alpha, guint64 cycle);
/* A vCPU was pinned to or away from its pCPU at @cycle: its demand moves for a few cycles. */
void vmb_load_level_pinned(VmbLoadLevel *lv, guint64 cycle);
/* The standard deviation of the level itself: how far it may be off. */
double vmb_load_level_noise(const VmbLoadLevel *lv);
