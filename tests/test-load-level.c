/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The level of a vCPU's demand: a lasting change of level is taken at the third sample with
 * the noise it had; spikes, bursts and noise count as before (load-level.h). */
#include <math.h>

#include "load-level.h"

#define ALPHA 0.5

/* A steady load at @base with a deterministic +/-@amp wobble, for @n cycles from @cycle. */
static guint64
feed_steady(VmbLoadLevel *lv, double base, double amp, guint n, guint64 cycle)
{
    for (guint k = 0; k < n; k++, cycle++)
        vmb_load_level_update(lv, base + (k % 2 ? amp : -amp), ALPHA, cycle);
    return cycle;
}

/* @n samples at @x from *@cycle on: did the level jump at one of them? */
static gboolean
feed_jumps(VmbLoadLevel *lv, double x, guint n, guint64 *cycle)
{
    gboolean jumped = FALSE;
    for (guint k = 0; k < n; k++, (*cycle)++) {
        vmb_load_level_update(lv, x, ALPHA, *cycle);
        jumped |= lv->jumped;
    }
    return jumped;
}

typedef struct {
    const char *name;
    double samples[6]; /* after 40 steady cycles at 20 +/- 1 */
    guint n;
    gboolean jumps;     /* the level is at the last sample, with the noise it had */
    double shown_after; /* what the level shows after the first two samples */
} StepCase;

static const StepCase step_cases[] = {
    /* a lasting step of 50 points, whole from the first sample */
    {"step", {70, 70, 70}, 3, TRUE, 0},
    /* the same, the change half-way through the first interval */
    {"step-mid-interval", {45, 70, 70}, 3, TRUE, 0},
    /* a lasting drop */
    {"drop", {2, 1, 2}, 3, TRUE, 0},
    /* a spike of one sample */
    {"spike-1", {80, 20, 21}, 3, FALSE, 0},
    /* a spike over three samples: half, whole, half (10 s at 5-s cycles) */
    {"spike-3", {45, 70, 45}, 3, FALSE, 0},
    /* up, then down past the level: noise */
    {"zigzag", {60, 60, -0.0}, 3, FALSE, 0},
    /* a small move (under SHIFT_MIN): goes through the average */
    {"small", {24, 24, 24}, 3, FALSE, 0},
};

static void
test_steps(void)
{
    for (guint c = 0; c < G_N_ELEMENTS(step_cases); c++) {
        const StepCase *tc = &step_cases[c];
        VmbLoadLevel lv;
        vmb_load_level_start(&lv, 20, ALPHA);
        guint64 cycle = feed_steady(&lv, 20, 1, 40, 2);
        double noise_before = vmb_load_level_noise(&lv);
        /* what the usual average shows after the first two samples */
        VmbLoadLevel usual = lv;
        for (guint k = 0; k < tc->n; k++, cycle++) {
            vmb_load_level_update(&lv, tc->samples[k], ALPHA, cycle);
            if (k + 1 == 2)
                usual = lv;
        }
        g_test_message("%s: level %.1f, noise %.2f (before %.2f)", tc->name, lv.shown_mean,
                       vmb_load_level_noise(&lv), noise_before);
        if (tc->jumps) {
            g_assert_true(lv.jumped);
            g_assert_cmpfloat(lv.shown_mean, ==, tc->samples[tc->n - 1]);
            /* one sample's noise: the step is not counted as noise */
            g_assert_cmpfloat(vmb_load_level_noise(&lv), <, 2 * noise_before);
            /* before the third sample it showed what the usual average shows */
            g_assert_cmpfloat(fabs(usual.shown_mean - 20), >, 10);
            g_assert_cmpfloat(vmb_load_level_noise(&usual), >, 3 * noise_before);
        } else {
            g_assert_false(lv.jumped);
            g_assert_cmpuint(lv.n_held, ==, 0);
        }
    }
}

/* A step counted as noise holds the noise up for cycles (the cause of lab s2's slow answer);
 * taken as a move of the level, the noise after it is what it was. */
static void
test_step_noise_after(void)
{
    VmbLoadLevel lv;
    vmb_load_level_start(&lv, 20, ALPHA);
    guint64 cycle = feed_steady(&lv, 20, 1, 40, 2);
    double before = vmb_load_level_noise(&lv);
    cycle = feed_steady(&lv, 70, 1, 4, cycle);
    g_assert_cmpfloat(fabs(lv.shown_mean - 70), <, 2);
    g_assert_cmpfloat(vmb_load_level_noise(&lv), <, 2 * before + 0.5);
}

/* A load that went far and came back is bursty: a later move of the same size counts as noise
 * (not taken), a much larger one as a move; the memory fades. */
static void
test_bursts(void)
{
    VmbLoadLevel lv;
    vmb_load_level_start(&lv, 20, ALPHA);
    guint64 cycle = feed_steady(&lv, 20, 1, 40, 2);
    /* a burst of four samples at +40, then back */
    cycle = feed_steady(&lv, 60, 0, 4, cycle);
    g_assert_true(lv.jumped || lv.n_held == 0);
    cycle = feed_steady(&lv, 20, 1, 10, cycle);
    g_assert_cmpfloat(fabs(lv.shown_mean - 20), <, 3);
    g_assert_cmpfloat(lv.burst_var, >=, 35.0 * 35.0);
    /* the same burst again, soon: not a move of the level */
    g_assert_false(feed_jumps(&lv, 60, 4, &cycle));
    /* long after, the memory has faded: the same move is taken again */
    cycle = feed_steady(&lv, 20, 1, 400, cycle);
    g_assert_true(feed_jumps(&lv, 60, 3, &cycle));
}

/* A step just after a pin change on the vCPU's pCPU is ours (the run-queue wait moved): it
 * counts as usual; the same step later is taken as a move of the level. */
static void
test_after_pin_change(void)
{
    VmbLoadLevel lv;
    vmb_load_level_start(&lv, 20, ALPHA);
    guint64 cycle = feed_steady(&lv, 20, 1, 40, 2);
    vmb_load_level_pinned(&lv, cycle - 1);
    g_assert_false(feed_jumps(&lv, 60, 3, &cycle));
    cycle = feed_steady(&lv, 20, 1, 400, cycle); /* past the burst it left */
    g_assert_true(feed_jumps(&lv, 60, 3, &cycle));
}

/* Noise alone never moves the level by a jump. */
static void
test_noise_no_jump(void)
{
    VmbLoadLevel lv;
    vmb_load_level_start(&lv, 50, ALPHA);
    guint32 x = 12345;
    for (guint64 cycle = 2; cycle < 2000; cycle++) {
        x = x * 1103515245u + 12345u;
        double u = (double) ((x >> 8) & 0xffff) / 65536.0; /* uniform 0..1 */
        vmb_load_level_update(&lv, 50 + 20 * (u - 0.5), ALPHA, cycle);
        g_assert_false(lv.jumped);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/load-level/steps", test_steps);
    g_test_add_func("/load-level/step-noise-after", test_step_noise_after);
    g_test_add_func("/load-level/bursts", test_bursts);
    g_test_add_func("/load-level/after-pin-change", test_after_pin_change);
    g_test_add_func("/load-level/noise-no-jump", test_noise_no_jump);
    return g_test_run();
}
