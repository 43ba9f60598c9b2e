/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Did the balancer's moves help? Each balance or spread move predicts how much the busier of
 * its two pCPUs drops. The loads it is decided on are estimates: a pCPU's bound host load may
 * appear only once a vCPU waits there, a vCPU's demand may change when it moves. A move that
 * does not deliver would be made again and again (moved away, tried again when the pCPU looks
 * free), so the same move is kept from being tried again for a while, longer each time.
 *
 * Evaluation. A move made at cycle N is judged at cycle N + VMB_MOVE_CHECK_EVAL_CYCLES (with
 * the default cooldown the vCPU cannot have moved again by then), before that cycle plans, on
 * the loads the policy computes (bound background plus the smoothed demand of the vCPUs pinned to
 * each pCPU). The plan of cycle N expected loads E on the pCPUs after all of that cycle's
 * moves; now they are M. The busier of the move's two pCPUs came out worse than expected by
 *     shortfall = max(M[from], M[to]) - max(E[from], E[to])
 * and the measured gain is the predicted gain minus the shortfall. With no other move on
 * either pCPU that cycle it is simply max(from_before, to_before) - max(M[from], M[to]); when
 * several moves of one cycle share a pCPU, each is charged what the pair missed of the plan's
 * expectation, not credited with the others' gains (as comparing with its own "before" loads
 * would). The move helped when measured >= predicted / 2; else it failed. The moved vCPU's
 * run-queue wait (demand - run over the last interval) before and now is kept for the log.
 * (Where the host reports no wait, a squeezed vCPU's demand reads as what it ran, so a move
 * that frees it shows its demand rising on the destination and may read as a failure.)
 *
 * No verdict (VMB_MOVE_DROPPED) when the comparison would say nothing about the move:
 * - VMB_MOVE_DROP_VANISHED: the domain or the vCPU is gone;
 * - VMB_MOVE_DROP_MOVED: the vCPU is no longer on the destination (someone else pinned it,
 *   or it moved again, possibly with a cooldown shorter than the evaluation delay);
 * - VMB_MOVE_DROP_DISTURBED: a move of a later cycle (any reason, placements included) touched
 *   one of the two pCPUs before the verdict, so their loads changed for another reason. (Pins
 *   changed outside vmbalanced onto those pCPUs are not seen here.)
 * - VMB_MOVE_DROP_NO_GAIN: it predicted no more than the hysteresis: a spread move made at no
 *   load cost has no gain to measure.
 *
 * Backoff. The k-th failure of a vCPU's move to a pCPU blocks that (vCPU, destination) pair
 * for VMB_MOVE_CHECK_BACKOFF_BASE * 2^(k-1) cycles from the verdict, at most
 * VMB_MOVE_CHECK_BACKOFF_CAP; a move to that pCPU that helped resets k. A pair quiet for
 * VMB_MOVE_CHECK_BACKOFF_CAP cycles after its block ended is forgotten (k back to 0): a failure
 * that long ago says little about the host now, and the table stays bounded. Everything about
 * a domain is forgotten with it (vmb_move_check_forget).
 *
 * Pure: no clock, no hypervisor; cycles are the caller's count. */
#pragma once

#include <glib.h>

#include "cpu-policy.h"

#define VMB_MOVE_CHECK_EVAL_CYCLES  2
#define VMB_MOVE_CHECK_BACKOFF_BASE 4
#define VMB_MOVE_CHECK_BACKOFF_CAP  256

/* A move that was made, as the cycle that made it saw it. */
typedef struct {
    const char *uuid;
    guint vcpu;
    gint from; /* -1 when it floated (a placement: disturbs, is not checked) */
    guint to;
    VmbCpuReason reason; /* balance and spread moves are checked; any move disturbs checks */
    double from_before, to_before;     /* the two pCPUs' loads when it was decided */
    double from_expected, to_expected; /* ... that the plan expects after all its moves */
    double gain;                       /* predicted: how much the busier of the two drops */
    double wait;                       /* the vCPU's run-queue wait, percent, last interval */
} VmbMoveRecord;

typedef enum {
    VMB_MOVE_HELPED,
    VMB_MOVE_FAILED,
    VMB_MOVE_DROPPED,
} VmbMoveOutcome;

typedef enum {
    VMB_MOVE_DROP_NONE,
    VMB_MOVE_DROP_VANISHED,
    VMB_MOVE_DROP_MOVED,
    VMB_MOVE_DROP_DISTURBED,
    VMB_MOVE_DROP_NO_GAIN,
} VmbMoveDrop;

typedef struct {
    char *uuid;
    guint vcpu, from, to;
    VmbCpuReason reason;
    guint64 made; /* cycle it was made */
    VmbMoveOutcome outcome;
    VmbMoveDrop dropped;            /* why there is no verdict (VMB_MOVE_DROPPED) */
    double predicted, measured;     /* gains, points of one pCPU */
    double from_before, to_before;  /* the two pCPUs' loads when the move was decided */
    double from_now, to_now;        /* ... now (0 when dropped) */
    double wait_before, wait_after; /* the vCPU's run-queue wait, percent */
    guint blocked_for;              /* VMB_MOVE_FAILED: cycles (vcpu, to) is not tried again */
} VmbMoveVerdict;

/* Where @uuid's vCPU @vcpu is pinned now (-1 floating) and its wait; FALSE when it is gone. */
typedef gboolean (*VmbMoveLookup)(const char *uuid, guint vcpu, gint *pcpu, double *wait,
                                  gpointer data);

typedef struct _VmbMoveCheck VmbMoveCheck;

VmbMoveCheck *vmb_move_check_new(void);
void vmb_move_check_free(VmbMoveCheck *mc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbMoveCheck, vmb_move_check_free)

/* The @n moves made at @cycle. Checks of earlier cycles whose pCPUs they touch are disturbed;
 * the balance and spread moves are checked, judged only if @gain exceeds @min_gain. */
void vmb_move_check_record(VmbMoveCheck *mc, guint64 cycle, const VmbMoveRecord *moves, guint n,
                           double min_gain);
/* Judges the checks due at @cycle on the policy's @loads ([npcpus]) and returns their verdicts
 * (GArray of VmbMoveVerdict, owning their uuids), dropped ones included. */
GArray *vmb_move_check_evaluate(VmbMoveCheck *mc, guint64 cycle, const double *loads, guint npcpus,
                                VmbMoveLookup lookup, gpointer data);
/* Must @uuid's vCPU @vcpu stay off @pcpu at @cycle? */
gboolean vmb_move_check_blocked(const VmbMoveCheck *mc, const char *uuid, guint vcpu, guint pcpu,
                                guint64 cycle);
/* Is any pair blocked at @cycle? (FALSE: the planner need not ask.) */
gboolean vmb_move_check_any_blocked(const VmbMoveCheck *mc, guint64 cycle);
/* Checks not judged yet. */
guint vmb_move_check_pending(const VmbMoveCheck *mc);
/* Forgets @uuid's checks and pairs (the domain stopped). */
void vmb_move_check_forget(VmbMoveCheck *mc, const char *uuid);
/* Forgets every domain @known says is gone. */
void vmb_move_check_forget_unknown(VmbMoveCheck *mc,
                                   gboolean (*known)(const char *uuid, gpointer data),
                                   gpointer data);

const char *vmb_move_outcome_to_string(VmbMoveOutcome o);
const char *vmb_move_drop_to_string(VmbMoveDrop d);
