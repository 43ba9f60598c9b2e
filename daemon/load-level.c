/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "load-level.h"

#include <math.h>

#include "cpu-usage.h"

/* Variance assumed for a vCPU measured once (a 10-point standard deviation): one sample says
 * nothing about how much its load moves, and a zero would let the first cycle swap two equal
 * vCPUs over a few points of measurement noise (seen on TCG guests). Later samples replace it
 * at VAR_ALPHA per cycle. */
#define FIRST_VAR 100.0
/* A sample is far from the level beyond this many standard deviations... */
#define SHIFT_Z 3.0
/* ...and this many points: smaller changes go through the average, as they gain little. */
#define SHIFT_MIN 5.0
/* A load back near its level this soon after going far was a burst... */
#define REVERSAL_CYCLES 12
/* ...remembered for this many cycles at full size, then halving. */
#define BURST_HALF_LIFE 60
/* A pin change moves the demand measured (the run-queue wait of the pCPUs it left and joined)
 * for this many cycles: a move of the level then is ours, not the guest's, and counts as usual. */
#define PIN_EFFECT_CYCLES 4
/* The first samples' prior (FIRST_VAR) is down to a sixteenth after this many. */
#define YOUNG_SAMPLES 5

static double
burst_var_at(const VmbLoadLevel *lv, guint64 cycle)
{
    return lv->burst_var * pow(0.5, (double) (cycle - lv->burst_cycle) / BURST_HALF_LIFE);
}

/* How far a sample may be from a level and still be near it. */
static double
near_margin(const VmbLoadLevel *lv)
{
    return MAX(SHIFT_Z * sqrt(lv->var), SHIFT_MIN);
}

static gboolean
far_from_level(const VmbLoadLevel *lv, double x)
{
    return fabs(x - lv->mean) > near_margin(lv);
}

/* An excursion opens at a far sample, from the level before it (not while the first samples'
 * prior still dominates the noise: a load settling after its start is no burst)... */
static void
open_excursion(VmbLoadLevel *lv, double x, guint64 cycle)
{
    if (lv->away_cycle || lv->samples < YOUNG_SAMPLES)
        return;
    lv->before = lv->mean;
    lv->away_cycle = cycle;
    lv->peak = fabs(x - lv->mean);
}

/* ...and closes after REVERSAL_CYCLES, or as a burst of its peak's size when a sample is back
 * near that level. */
static void
close_excursion(VmbLoadLevel *lv, double x, guint64 cycle)
{
    if (!lv->away_cycle)
        return;
    if (cycle > lv->away_cycle + REVERSAL_CYCLES) {
        lv->away_cycle = 0;
        return;
    }
    double away = fabs(x - lv->before);
    if (away > near_margin(lv)) {
        lv->peak = MAX(lv->peak, away);
        return;
    }
    if (lv->peak * lv->peak > burst_var_at(lv, cycle)) {
        lv->burst_var = lv->peak * lv->peak;
        lv->burst_cycle = cycle;
    }
    lv->away_cycle = 0;
}

static void
take(VmbLoadLevel *lv, double x, double alpha)
{
    vmb_ewma_var(&lv->mean, &lv->var, lv->last, x, alpha);
    lv->last = x;
    /* the EWMA's variance, as a share of the samples': from one sample (1) down to
     * alpha / (2 - alpha) */
    lv->share = alpha * alpha + (1 - alpha) * (1 - alpha) * lv->share;
}

static gboolean
same_side(const VmbLoadLevel *lv, double a, double b)
{
    return (a > lv->mean) == (b > lv->mean);
}

/* Three samples far on the same side of the level, the last not on its way back (a spike
 * spread over three samples: half, whole, half), and further than its bursts went. */
static gboolean
level_moved(const VmbLoadLevel *lv, double x, guint64 cycle)
{
    double d = fabs(x - lv->mean), before = fabs(lv->held[1] - lv->mean);
    gboolean receding = d < before - near_margin(lv);
    gboolean ours = lv->pinned_cycle && cycle <= lv->pinned_cycle + PIN_EFFECT_CYCLES;
    return !ours && far_from_level(lv, x) && same_side(lv, lv->held[1], x) && !receding &&
           d * d > SHIFT_Z * SHIFT_Z * burst_var_at(lv, cycle);
}

/* The held samples and @x go into the level as usual. */
static void
take_held(VmbLoadLevel *lv, double x, double alpha)
{
    for (guint k = 0; k < lv->n_held; k++)
        take(lv, lv->held[k], alpha);
    lv->n_held = 0;
    take(lv, x, alpha);
}

/* What the level shows: while samples are held, the level as if they had counted as usual (no
 * sooner and no later than without the holding); the jump is the only difference. */
static void
show(VmbLoadLevel *lv, double alpha)
{
    VmbLoadLevel usual = *lv;
    for (guint k = 0; k < lv->n_held; k++)
        take(&usual, lv->held[k], alpha);
    lv->shown_mean = usual.mean;
    lv->shown_noise = sqrt(usual.var * usual.share);
}

void
vmb_load_level_start(VmbLoadLevel *lv, double sample, double alpha)
{
    /* the prior stands for many samples: the level's share of it is the EWMA's steady one */
    *lv = (VmbLoadLevel){.mean = sample,
                         .var = FIRST_VAR,
                         .last = sample,
                         .samples = 1,
                         .share = alpha / (2 - alpha)};
    show(lv, alpha);
}

void
vmb_load_level_update(VmbLoadLevel *lv, double sample, double alpha, guint64 cycle)
{
    lv->jumped = FALSE;
    lv->samples++;
    close_excursion(lv, sample, cycle);
    gboolean far = far_from_level(lv, sample);
    if (lv->n_held == 0 && far) {
        lv->held[lv->n_held++] = sample;
        open_excursion(lv, sample, cycle);
    } else if (lv->n_held == 1 && far && same_side(lv, lv->held[0], sample))
        lv->held[lv->n_held++] = sample;
    else if (lv->n_held == 2 && level_moved(lv, sample, cycle)) {
        lv->mean = lv->last = sample;
        lv->share = 1;
        lv->jumped = TRUE;
        lv->n_held = 0;
    } else
        take_held(lv, sample, alpha);
    show(lv, alpha);
}

double
vmb_load_level_noise(const VmbLoadLevel *lv)
{
    return lv->shown_noise;
}

void
vmb_load_level_pinned(VmbLoadLevel *lv, guint64 cycle)
{
    lv->pinned_cycle = MAX(lv->pinned_cycle, cycle);
}
