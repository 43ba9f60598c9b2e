/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cpu.pin_to: what one vCPU is pinned to. `cpu` pins it to one pCPU (the planner's own
 * model); `core`, `cache` and `node` pin it to every allowed pCPU of its core, last-level
 * cache group or NUMA node (a "bin"), and the kernel balances it inside that set.
 *
 * A layer around the one planner (cpu-policy.h), which keeps planning pCPU by pCPU:
 *  - a vCPU pinned to exactly a bin's set is put, for the plan, on a pCPU of the bin as the
 *    kernel would run it there (largest first on the least loaded pCPU, an idle core first),
 *    so each bin counts with its capacity, its number of usable pCPUs;
 *  - the planner moves vCPUs between pCPUs as always;
 *  - each vCPU's final pCPU is mapped to its bin's set: a move inside a bin changes nothing
 *    (the kernel does it), and a vCPU already pinned to exactly its bin's set is not
 *    pinned again. The planner gets room for such moves; cpu.max_moves caps real changes. */
#pragma once

#include "cpu-policy.h"
#include "cpuset.h"

typedef enum {
    VMB_PIN_TO_CPU,
    VMB_PIN_TO_CORE,
    VMB_PIN_TO_CACHE,
    VMB_PIN_TO_NODE,
} VmbPinTo;

/* "cpu", "core", "cache", "node"; FALSE on anything else. */
gboolean vmb_pin_to_parse(const char *text, VmbPinTo *out);
const char *vmb_pin_to_to_string(VmbPinTo mode);

/* The bins of a host: the allowed pCPUs grouped by core, cache group or node. */
typedef struct {
    VmbPinTo mode;
    guint npcpus;
    guint nbins;
    gint *bin;      /* [npcpus] bin of each allowed pCPU, -1 for the others */
    VmbCpuSet *set; /* [nbins] its allowed pCPUs */
    guint *size;    /* [nbins] how many: the bin's capacity */
} VmbPinBins;

/* Bins for @mode over the pCPUs @allowed (at least one); @topo NULL or of another size: flat
 * (each pCPU its own core, one cache group, one node). Isolated or offline pCPUs that
 * @allowed leaves out are in no set. */
VmbPinBins *vmb_pin_bins_new(VmbPinTo mode, const VmbTopology *topo, guint npcpus,
                             const gboolean *allowed);
void vmb_pin_bins_free(VmbPinBins *b);
/* Is every bin one pCPU (cpu, or core on a host without SMT)? Then pins are the planner's. */
gboolean vmb_pin_bins_single(const VmbPinBins *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbPinBins, vmb_pin_bins_free)

/* The bin whose set is exactly the pin (@pcpu >= 0: that one pCPU; else @cpus, NULL when
 * floating), or -1. */
gint vmb_pin_bins_exact(const VmbPinBins *b, gint pcpu, const VmbCpuSet *cpus);

typedef struct {
    guint item;
    guint bin;           /* the bin it goes to */
    const VmbCpuSet *to; /* that bin's set (owned by the bins) */
    VmbCpuMove move;     /* the planner's move behind it (reason, loads, gain), or a
                          * VMB_CPU_PIN_TO one when only the form of its pin changes */
} VmbPinMove;

/* Plans @p (its items' current pCPUs are the single-pCPU pins, -1 otherwise) with pins to
 * the sets of @b. @pin_set[i] is item i's set pin (NULL: one pCPU or floating). Returns the
 * pin changes (GArray of VmbPinMove), at most t->max_moves of them balance or spread the
 * load; placements, evacuations and changes of form are not capped. */
GArray *vmb_pin_plan(const VmbCpuProblem *p, const VmbCpuTunables *t, const VmbPinBins *b,
                     const VmbCpuSet *const *pin_set);

/* ---- memory home with set pins (cpu-policy.h, cpu-numa-home.c) */

/* Cycles in a row whose set plan changed no pin before the placement counts as stable. */
#define VMB_PIN_STABLE_CYCLES 4

/* Set pins keep no target, so nothing is pending or settling to ask: the plans themselves
 * tell. @quiet counts the cycles in a row whose set plan changed no pin; returns it after a
 * plan of @planned pin changes. */
guint vmb_pin_quiet_after(guint quiet, guint planned);
/* Stable: VMB_PIN_STABLE_CYCLES quiet plans in a row, this cycle's included. The loads are
 * smoothed and a change reaches its level over a few cycles (VMB_CPU_SETTLE_CYCLES on the
 * target path): one quiet plan may be a lull, and a memory move costs far more than a pin. */
gboolean vmb_pin_stable(guint quiet);

/* The items of @p where the plan sees them (vmb_pin_plan's first step): a vCPU pinned to
 * exactly a bin's set on the pCPU of it the kernel would run it on, one-pCPU pins as they
 * are, other set pins floating (-1); no targets. Fills @items [p->n_items]. */
void vmb_pin_items_as_run(const VmbCpuProblem *p, const VmbPinBins *b,
                          const VmbCpuSet *const *pin_set, VmbCpuItem *items);
/* One-pCPU moves of @p's items (VmbCpuMove, e.g. memory home's vCPUs on the new node) as set
 * pins: each to its destination's bin, as vmb_pin_plan maps a pCPU; a vCPU already pinned to
 * exactly that set is left. @p and @pin_set as for vmb_pin_plan. Returns a GArray of
 * VmbPinMove. */
GArray *vmb_pin_moves_to_sets(const GArray *moves, const VmbCpuProblem *p, const VmbPinBins *b,
                              const VmbCpuSet *const *pin_set);
