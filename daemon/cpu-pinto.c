/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-pinto.h"

#include <string.h>

static const char *const mode_names[] = {"cpu", "core", "cache", "node"};

gboolean
vmb_pin_to_parse(const char *text, VmbPinTo *out)
{
    for (guint k = 0; k < G_N_ELEMENTS(mode_names); k++) {
        if (g_strcmp0(text, mode_names[k]) == 0) {
            *out = (VmbPinTo) k;
            return TRUE;
        }
    }
    return FALSE;
}

const char *
vmb_pin_to_to_string(VmbPinTo mode)
{
    return (guint) mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : "?";
}

/* The group of @pcpu for @mode: the dense core, cache or node index (flat: core = pCPU). */
static guint
group_of(VmbPinTo mode, const VmbTopology *topo, guint pcpu)
{
    if (mode == VMB_PIN_TO_CPU)
        return pcpu;
    if (!topo)
        return mode == VMB_PIN_TO_CORE ? pcpu : 0;
    const VmbPcpuTopo *c = &topo->cpu[pcpu];
    return mode == VMB_PIN_TO_CORE ? c->core : mode == VMB_PIN_TO_CACHE ? c->cache : c->node;
}

VmbPinBins *
vmb_pin_bins_new(VmbPinTo mode, const VmbTopology *topo, guint npcpus, const gboolean *allowed)
{
    if (topo && topo->npcpus != npcpus)
        topo = NULL;
    VmbPinBins *b = g_new0(VmbPinBins, 1);
    b->mode = mode;
    b->npcpus = npcpus;
    b->bin = g_new(gint, npcpus);
    /* Groups numbered densely in the order of their lowest allowed pCPU. */
    g_autoptr(GHashTable) index = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint c = 0; c < npcpus; c++) {
        b->bin[c] = -1;
        if (!allowed[c])
            continue;
        gpointer key = GUINT_TO_POINTER(group_of(mode, topo, c) + 1), found;
        if (!g_hash_table_lookup_extended(index, key, NULL, &found)) {
            found = GUINT_TO_POINTER(b->nbins++);
            g_hash_table_insert(index, key, found);
        }
        b->bin[c] = (gint) GPOINTER_TO_UINT(found);
    }
    b->set = g_new0(VmbCpuSet, MAX(b->nbins, 1));
    b->size = g_new0(guint, MAX(b->nbins, 1));
    for (guint c = 0; c < npcpus; c++) {
        if (b->bin[c] >= 0) {
            vmb_cpuset_add(&b->set[b->bin[c]], c);
            b->size[b->bin[c]]++;
        }
    }
    return b;
}

void
vmb_pin_bins_free(VmbPinBins *b)
{
    if (!b)
        return;
    g_free(b->bin);
    g_free(b->set);
    g_free(b->size);
    g_free(b);
}

gboolean
vmb_pin_bins_single(const VmbPinBins *b)
{
    for (guint k = 0; k < b->nbins; k++) {
        if (b->size[k] > 1)
            return FALSE;
    }
    return TRUE;
}

gint
vmb_pin_bins_exact(const VmbPinBins *b, gint pcpu, const VmbCpuSet *cpus)
{
    if (pcpu >= 0) {
        if ((guint) pcpu >= b->npcpus || b->bin[pcpu] < 0)
            return -1;
        return b->size[b->bin[pcpu]] == 1 ? b->bin[pcpu] : -1;
    }
    if (!cpus) /* floating: exact only for a bin of every host CPU */
        return b->nbins == 1 && b->size[0] == b->npcpus ? 0 : -1;
    gint first = vmb_cpuset_first(cpus);
    if (first < 0 || (guint) first >= b->npcpus || b->bin[first] < 0)
        return -1;
    gint bin = b->bin[first];
    return vmb_cpuset_equal(&b->set[bin], cpus) ? bin : -1;
}

/* ---- the kernel inside a bin */

/* How the kernel would place @item in bin @bin: the least loaded pCPU, among equals the one
 * whose core's other threads are least loaded (an idle core before an idle sibling). */
static guint
kernel_pick(const VmbPinBins *b, const VmbTopology *topo, guint bin, const double *load)
{
    guint best = G_MAXUINT;
    double best_load = 0, best_core = 0;
    for (guint c = 0; c < b->npcpus; c++) {
        if (b->bin[c] != (gint) bin)
            continue;
        double core = 0;
        guint n = 0;
        const guint *sib = topo ? vmb_topology_core_cpus(topo, c, &n) : NULL;
        for (guint k = 0; k < n; k++)
            core += sib[k] != c ? load[sib[k]] : 0;
        if (best == G_MAXUINT || load[c] < best_load - 1e-9 ||
            (load[c] < best_load + 1e-9 && core < best_core - 1e-9)) {
            best = c;
            best_load = load[c];
            best_core = core;
        }
    }
    return best;
}

/* Items by load, largest first, then by index. */
static int
cmp_load_desc(gconstpointer a, gconstpointer b, gpointer data)
{
    const VmbCpuItem *items = data;
    guint x = *(const guint *) a, y = *(const guint *) b;
    double la = items[x].load, lb = items[y].load;
    return la < lb ? 1 : la > lb ? -1 : (x > y) - (x < y);
}

/* The items' current pCPUs for the plan: one-pCPU pins as they are; vCPUs pinned to exactly
 * a bin's set placed in it as the kernel would (largest first); the rest -1 (placed by the
 * planner). @bin_now gets each item's bin when its pin is exactly one, else -1. */
static void
virtual_current(const VmbCpuProblem *p, const VmbPinBins *b, const VmbCpuSet *const *pin_set,
                VmbCpuItem *items, gint *bin_now)
{
    const VmbTopology *topo =
        p->topology && p->topology->known && p->topology->npcpus == p->npcpus ? p->topology : NULL;
    g_autofree double *load = g_new0(double, p->npcpus);
    g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint c = 0; c < p->npcpus; c++)
        load[c] = p->background ? p->background[c] : 0;
    for (guint i = 0; i < p->n_items; i++) {
        items[i] = p->items[i];
        items[i].target = (VmbCpuTarget){0}; /* one-pCPU targets mean nothing for sets */
        gint cur = p->items[i].current;
        bin_now[i] = vmb_pin_bins_exact(b, pin_set[i] ? -1 : cur, pin_set[i]);
        if (pin_set[i]) {
            items[i].current = -1;
            if (bin_now[i] >= 0)
                g_array_append_val(todo, i);
        } else if (cur >= 0 && (guint) cur < p->npcpus) {
            load[cur] += items[i].load;
        }
    }
    g_array_sort_with_data(todo, cmp_load_desc, (gpointer) p->items);
    for (guint k = 0; k < todo->len; k++) {
        guint i = g_array_index(todo, guint, k);
        guint c = kernel_pick(b, topo, (guint) bin_now[i], load);
        items[i].current = (gint) c;
        load[c] += items[i].load;
    }
}

/* ---- from the plan to set pins */

static gboolean
is_free(VmbCpuReason r)
{
    return r == VMB_CPU_PLACE || r == VMB_CPU_EVACUATE;
}

/* Applies the planner's moves in order to @place until they would change the bin of more than
 * @cap vCPUs for balance or spread; @last gets the index of each item's last move taken. */
static void
take_moves(const GArray *moves, const VmbPinBins *b, const gint *start_bin, guint cap, gint *place,
           gint *last)
{
    g_autoptr(GHashTable) changed = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        gboolean crosses = b->bin[m->to] != start_bin[m->item];
        if (!is_free(m->reason) && crosses &&
            !g_hash_table_contains(changed, GUINT_TO_POINTER(m->item + 1))) {
            if (g_hash_table_size(changed) >= cap)
                break;
            g_hash_table_add(changed, GUINT_TO_POINTER(m->item + 1));
        }
        place[m->item] = (gint) m->to;
        last[m->item] = (gint) k;
    }
}

GArray *
vmb_pin_plan(const VmbCpuProblem *p, const VmbCpuTunables *t, const VmbPinBins *b,
             const VmbCpuSet *const *pin_set)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(VmbPinMove));
    guint n = p->n_items;
    g_autofree VmbCpuItem *items = g_new0(VmbCpuItem, MAX(n, 1));
    g_autofree gint *bin_now = g_new0(gint, MAX(n, 1));
    virtual_current(p, b, pin_set, items, bin_now);
    VmbCpuProblem q = *p;
    q.items = items;
    /* Moves inside a bin are the planner's too: room for them beyond the cap. */
    guint widest = 1;
    for (guint k = 0; k < b->nbins; k++)
        widest = MAX(widest, b->size[k]);
    VmbCpuTunables tq = *t;
    tq.max_moves = MIN(t->max_moves * widest, G_MAXUINT / 2);
    g_autoptr(GArray) moves = vmb_cpu_plan(&q, &tq);

    g_autofree gint *place = g_new(gint, MAX(n, 1));
    g_autofree gint *last = g_new(gint, MAX(n, 1));
    g_autofree gint *start_bin = g_new(gint, MAX(n, 1));
    for (guint i = 0; i < n; i++) {
        place[i] = items[i].current;
        last[i] = -1;
        start_bin[i] = place[i] >= 0 && (guint) place[i] < p->npcpus ? b->bin[place[i]] : -1;
    }
    take_moves(moves, b, start_bin, t->max_moves, place, last);
    for (guint i = 0; i < n; i++) {
        if (!items[i].movable || place[i] < 0 || b->bin[place[i]] < 0)
            continue;
        guint bin = (guint) b->bin[place[i]];
        if (bin_now[i] == (gint) bin)
            continue; /* already pinned to exactly its set */
        VmbPinMove pm = {.item = i, .bin = bin, .to = &b->set[bin]};
        if (last[i] >= 0)
            pm.move = g_array_index(moves, VmbCpuMove, last[i]);
        else
            pm.move = (VmbCpuMove){.item = i,
                                   .from = p->items[i].current,
                                   .to = (guint) place[i],
                                   .reason = VMB_CPU_PIN_TO};
        g_array_append_val(out, pm);
    }
    return out;
}

/* ---- memory home with set pins */

guint
vmb_pin_quiet_after(guint quiet, guint planned)
{
    if (planned > 0)
        return 0;
    return quiet < G_MAXUINT ? quiet + 1 : quiet;
}

gboolean
vmb_pin_stable(guint quiet)
{
    return quiet >= VMB_PIN_STABLE_CYCLES;
}

void
vmb_pin_items_as_run(const VmbCpuProblem *p, const VmbPinBins *b, const VmbCpuSet *const *pin_set,
                     VmbCpuItem *items)
{
    g_autofree gint *bin_now = g_new0(gint, MAX(p->n_items, 1));
    virtual_current(p, b, pin_set, items, bin_now);
}

GArray *
vmb_pin_moves_to_sets(const GArray *moves, const VmbCpuProblem *p, const VmbPinBins *b,
                      const VmbCpuSet *const *pin_set)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(VmbPinMove));
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        if (m->item >= p->n_items || m->to >= b->npcpus || b->bin[m->to] < 0)
            continue;
        guint bin = (guint) b->bin[m->to];
        const VmbCpuSet *set = pin_set[m->item];
        if (vmb_pin_bins_exact(b, set ? -1 : p->items[m->item].current, set) == (gint) bin)
            continue; /* already pinned to exactly its set */
        VmbPinMove pm = {.item = m->item, .bin = bin, .to = &b->set[bin], .move = *m};
        g_array_append_val(out, pm);
    }
    return out;
}
