/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-task.h"

#include "cpu-pinto.h"
#include "cpu-policy.h"
#include "domain-meta.h"
#include "housekeeping.h"
#include "log.h"
#include "move-check.h"

#include <string.h>

guint
vmb_cpu_task_max_moves(const VmbConfig *c, guint n_allowed)
{
    /* A big host needs more moves to settle after a change than a small one: with a quarter
     * of its pCPUs, small-64 and scale-256 walked their first target for 5 cycles and settled
     * after 10 and 12 (bench/notes.md, vCPU item 3b). */
    return c->cpu_max_moves ? c->cpu_max_moves : MAX(8, n_allowed / 2);
}

void
vmb_cpu_task_init(VmbCpuTask *t)
{
    memset(t, 0, sizeof(*t));
    t->usage = vmb_cpu_usage_new();
    t->dry_reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    t->check = vmb_move_check_new();
    t->foreign = vmb_foreign_pins_new();
    t->targets =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
    t->hk = vmb_housekeeping_new();
    vmb_numa_task_init(&t->numa);
}

void
vmb_cpu_task_clear(VmbCpuTask *t)
{
    g_clear_pointer(&t->usage, vmb_cpu_usage_free);
    g_clear_pointer(&t->dry_reported, g_hash_table_unref);
    g_clear_pointer(&t->check, vmb_move_check_free);
    g_clear_pointer(&t->foreign, vmb_foreign_pins_free);
    g_clear_pointer(&t->targets, g_hash_table_unref);
    g_clear_pointer(&t->hk, vmb_housekeeping_free);
    vmb_numa_task_clear(&t->numa);
    g_clear_pointer(&t->host.busy, g_free);
    g_clear_pointer(&t->host.background, g_free);
}

void
vmb_cpu_task_forget(VmbCpuTask *t, const char *uuid)
{
    vmb_cpu_usage_forget(t->usage, uuid);
    vmb_move_check_forget(t->check, uuid);
    vmb_foreign_pins_forget(t->foreign, uuid);
    g_hash_table_remove(t->targets, uuid);
    vmb_housekeeping_forget(t->hk, uuid);
    vmb_numa_task_forget(&t->numa, uuid);
}

static void
resize_host_view(VmbCpuHostView *h, guint npcpus)
{
    if (h->npcpus == npcpus)
        return;
    g_free(h->busy);
    g_free(h->background);
    h->npcpus = npcpus;
    h->busy = g_new0(double, npcpus);
    h->background = g_new0(double, npcpus);
}

/* What the vCPUs pinned to each pCPU ran in the last interval; returns what
 * vCPUs without a single pCPU ran (the kernel puts them where there is room). */
static double
sample_vm_load(VmbCpuTask *t, const VmbSnapshot *s, VmbPcpuSample *samples)
{
    double floating = 0;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        for (guint v = 0; v < d->nvcpus; v++) {
            const VmbVcpuLoad *l = vmb_cpu_usage_vcpu(t->usage, d->uuid, v);
            if (!l || !l->valid)
                continue;
            gint c = d->vcpus[v].pcpu;
            if (c < 0 || (guint) c >= s->npcpus) {
                floating += l->run;
                continue;
            }
            samples[c].vm_run += l->run;
        }
    }
    return floating;
}

/* Non-VM load per pCPU: measured busy time minus what the vCPUs we know of ran there,
 * split into its bound and floating parts (host-load.h). Only the bound part is the
 * background the policy counts. */
static void
update_background(VmbCpuTask *t, const VmbSnapshot *s, double alpha, const double *hk_bound)
{
    VmbCpuHostView *h = &t->host;
    resize_host_view(h, s->npcpus);
    g_autofree VmbPcpuSample *samples = g_new0(VmbPcpuSample, s->npcpus);
    double floating_vm = sample_vm_load(t, s, samples);
    for (guint c = 0; c < s->npcpus; c++) {
        double busy;
        h->busy[c] = vmb_cpu_usage_pcpu(t->usage, c, &busy) ? busy : -1;
        samples[c].busy = h->busy[c];
        /* emulator threads pinned to housekeeping CPUs cannot leave them */
        samples[c].irq = vmb_cpu_usage_pcpu_bound(t->usage, c) + hk_bound[c];
    }
    h->floating = vmb_host_load_update(h->background, samples, s->npcpus, floating_vm, alpha);
}

typedef struct {
    const VmbDomainStat *dom;
    guint vcpu;
} ItemRef;

/* The target the last plan left pending for a vCPU; unset when none. */
static VmbCpuTarget
stored_target(const VmbCpuTask *t, const char *uuid, guint vcpu)
{
    GArray *a = g_hash_table_lookup(t->targets, uuid);
    return a && vcpu < a->len ? g_array_index(a, VmbCpuTarget, vcpu) : (VmbCpuTarget){0};
}

/* Keeps the plan's targets for the next cycle, and only those: a domain that is gone has
 * none, a vCPU that reached its target only the noise it was searched on. */
static void
store_targets(VmbCpuTask *t, const GArray *refs, const VmbCpuTarget *targets)
{
    g_hash_table_remove_all(t->targets);
    for (guint i = 0; i < refs->len; i++) {
        if (!targets[i].set && targets[i].noise <= 0)
            continue;
        const ItemRef *ref = &g_array_index(refs, ItemRef, i);
        GArray *a = g_hash_table_lookup(t->targets, ref->dom->uuid);
        if (!a) {
            a = g_array_new(FALSE, TRUE, sizeof(VmbCpuTarget));
            g_hash_table_insert(t->targets, g_strdup(ref->dom->uuid), a);
        }
        if (a->len <= ref->vcpu)
            g_array_set_size(a, ref->vcpu + 1);
        g_array_index(a, VmbCpuTarget, ref->vcpu) = targets[i];
    }
}

/* Does a stored target still move a vCPU? (A vCPU that reached its target keeps only the noise
 * it was searched on.) */
static gboolean
targets_pending(const VmbCpuTask *t)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, t->targets);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const GArray *a = value;
        for (guint v = 0; v < a->len; v++) {
            if (g_array_index(a, VmbCpuTarget, v).set)
                return TRUE;
        }
    }
    return FALSE;
}

/* The pCPUs vCPUs may be pinned to (cpu.cpus); returns how many. */
static guint
allowed_pcpus(const VmbSnapshot *s, const VmbConfig *c, gboolean hk_on, gboolean *allowed)
{
    guint n = 0;
    /* With a topology: online CPUs only, and isolated ones only when cpu.cpus names them. */
    if (s->topology && s->topology->npcpus == s->npcpus)
        n = vmb_topology_allowed(s->topology, c->cpu_cpus_all, &c->cpu_cpus, allowed);
    else
        for (guint p = 0; p < s->npcpus; p++) {
            allowed[p] = c->cpu_cpus_all || vmb_cpuset_has(&c->cpu_cpus, p);
            n += allowed[p];
        }
    if (hk_on)
        n = vmb_hk_restrict(allowed, s->npcpus, &c->cpu_housekeeping, c->cpu_cpus_all,
                            &c->cpu_cpus);
    return n;
}

/* One item per measured vCPU (and a reference back to it); a vCPU seen for the first time is
 * only measured. Returns TRUE when such a vCPU was skipped. */
static gboolean
collect_items(VmbCpuTask *t, const VmbSnapshot *s, const VmbConfig *c, GArray *items, GArray *refs)
{
    guint64 cycle = vmb_cpu_usage_cycle(t->usage);
    gboolean any_new = FALSE;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        VmbEffectivePolicy eff; /* not managed: its load counts where it runs */
        vmb_domain_effective_full(c, d, vmb_foreign_pins_respected(t->foreign, d->uuid), FALSE,
                                  &eff);
        for (guint v = 0; v < d->nvcpus; v++) {
            const VmbVcpuLoad *l = vmb_cpu_usage_vcpu(t->usage, d->uuid, v);
            if (!l || !l->valid) {
                any_new = TRUE;
                continue; /* first sight: measure only */
            }
            VmbCpuItem item = {
                .domain = i,
                .load = l->load,
                .noise = l->noise,
                .current = d->vcpus[v].pcpu,
                .movable = eff.cpu_managed,
                .cooling = l->moved_cycle && cycle - l->moved_cycle <= c->cpu_cooldown,
                .target = stored_target(t, d->uuid, v),
            };
            ItemRef ref = {d, v};
            g_array_append_val(items, item);
            g_array_append_val(refs, ref);
        }
    }
    return any_new;
}

/* The journal's explanation of a move: the loads it was decided on. */
static char *
describe_move(const VmbCpuMove *m, const VmbCpuItem *item)
{
    if (m->reason == VMB_CPU_SMT)
        return g_strdup_printf("vCPU load %.0f%%, pCPU %d shares a core with a busy thread or "
                               "another domain, pCPU %u is on an idle core",
                               item->load, m->from, m->to);
    if (m->reason == VMB_CPU_NUMA)
        return g_strdup_printf("vCPU load %.0f%%, pCPU %u is on the node of its domain's memory "
                               "at %.0f%%",
                               item->load, m->to, m->to_load);
    if (m->reason == VMB_CPU_PIN_TO)
        return g_strdup_printf("vCPU load %.0f%%, stays where it runs, pinned to the whole set "
                               "there (cpu.pin_to)",
                               item->load);
    if (m->reason == VMB_CPU_BALANCE || m->reason == VMB_CPU_SPREAD)
        return g_strdup_printf("vCPU load %.0f%%, pCPU %d at %.0f%%, pCPU %u at %.0f%%, "
                               "busier one drops %.0f points",
                               item->load, m->from, m->from_load, m->to, m->to_load, m->gain);
    return g_strdup_printf("vCPU load %.0f%%, pCPU %u the least loaded at %.0f%%", item->load,
                           m->to, m->to_load);
}

typedef enum { MOVE_MADE, MOVE_SKIPPED, MOVE_FAILED, MOVE_DISCONNECTED } MoveOutcome;

/* Pins the vCPU to @to (one pCPU, or a cpu.pin_to set); a domain that vanished meanwhile is
 * skipped quietly. */
static MoveOutcome
pin(VmbCpuTask *t, VmbHypervisor *hv, const ItemRef *ref, const VmbCpuSet *to)
{
    g_autoptr(GError) error = NULL;
    if (vmb_hypervisor_pin_vcpu_set(hv, ref->dom->uuid, ref->vcpu, to, &error)) {
        vmb_cpu_usage_mark_moved(t->usage, ref->dom->uuid, ref->vcpu);
        vmb_foreign_pins_made(t->foreign, ref->dom->uuid, ref->vcpu, to);
        t->pin_changes++;
        return MOVE_MADE;
    }
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN)) {
        g_debug("%s vanished before its vCPU %u was pinned", ref->dom->name, ref->vcpu);
        return MOVE_SKIPPED;
    }
    t->errors++;
    g_autofree char *text = vmb_cpuset_format(to);
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED)) {
        /* the connection's loss is warned about once where it is noticed (hypervisor.c) */
        g_debug("%s vCPU %u not pinned to pCPUs %s, the connection is lost: %s", ref->dom->name,
                ref->vcpu, text, error->message);
        return MOVE_DISCONNECTED;
    }
    g_warning("cannot pin %s vCPU %u to pCPUs %s: %s", ref->dom->name, ref->vcpu, text,
              error->message);
    return MOVE_FAILED;
}

/* Nothing changes in a dry run, so the same plan comes back every cycle: a would-be move
 * is reported once, until its destination changes. */
static gboolean
dry_run_is_new(VmbCpuTask *t, const ItemRef *ref, guint first_cpu)
{
    g_autofree char *key = g_strdup_printf("%s/%u", ref->dom->uuid, ref->vcpu);
    gpointer to = GUINT_TO_POINTER(first_cpu + 1);
    if (g_hash_table_lookup(t->dry_reported, key) == to)
        return FALSE;
    g_hash_table_insert(t->dry_reported, g_steal_pointer(&key), to);
    return TRUE;
}

/* Reports @m; @to is the set pinned to, NULL for the one pCPU m->to (the detail names the
 * pCPUs the plan counted on, inside the set). */
static void
report_move(const ItemRef *ref, const VmbCpuMove *m, const VmbCpuItem *item, const VmbCpuSet *to,
            gboolean dry_run, VmbActionFunc report, gpointer report_data)
{
    g_autofree char *to_cpus = to ? vmb_cpuset_format(to) : NULL;
    g_autofree char *detail = describe_move(m, item);
    const VmbVcpuStat *was = &ref->dom->vcpus[ref->vcpu];
    g_autofree char *from_cpus = was->cpus ? vmb_cpuset_format(was->cpus) : NULL;
    VmbAction a = {
        .kind = VMB_ACTION_PIN,
        .wall_us = g_get_real_time(),
        .domain = ref->dom->name,
        .uuid = ref->dom->uuid,
        .vcpu = ref->vcpu,
        .from_pcpu = was->cpus ? -1 : m->from,
        .to_pcpu = to ? (guint) vmb_cpuset_first(to) : m->to,
        .from_cpus = from_cpus,
        .to_cpus = to_cpus,
        .reason = vmb_cpu_reason_to_string(m->reason),
        .detail = detail,
        .dry_run = dry_run,
    };
    vmb_action_log(&a);
    if (report)
        report(&a, report_data);
}

/* Makes (or, in a dry run, reports) the planned moves in order; stops at a lost connection.
 * Appends the index of each move made to @made. */
static void
apply_moves(VmbCpuTask *t, VmbHypervisor *hv, GArray *moves, GArray *items, GArray *refs,
            gboolean dry_run, VmbActionFunc report, gpointer report_data, VmbCpuCycleResult *result,
            GArray *made)
{
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        const ItemRef *ref = &g_array_index(refs, ItemRef, m->item);
        if (dry_run && !dry_run_is_new(t, ref, m->to))
            continue;
        VmbCpuSet one;
        vmb_cpuset_clear(&one);
        vmb_cpuset_add(&one, m->to);
        MoveOutcome o = dry_run ? MOVE_MADE : pin(t, hv, ref, &one);
        result->failed += o == MOVE_FAILED || o == MOVE_DISCONNECTED;
        if (o == MOVE_DISCONNECTED)
            break;
        if (o != MOVE_MADE)
            continue;
        result->applied++;
        if (!dry_run)
            g_array_append_val(made, k);
        report_move(ref, m, &g_array_index(items, VmbCpuItem, m->item), NULL, dry_run, report,
                    report_data);
    }
}

/* Makes (or, in a dry run, reports) the set pins @moves in order; stops at a lost connection.
 * The move check judges one-pCPU moves only: set pins are not recorded. */
static void
apply_pin_moves(VmbCpuTask *t, VmbHypervisor *hv, const VmbPinBins *bins, const VmbCpuProblem *p,
                GArray *refs, const GArray *moves, gboolean dry_run, VmbActionFunc report,
                gpointer report_data, VmbCpuCycleResult *result)
{
    for (guint k = 0; k < moves->len; k++) {
        const VmbPinMove *pm = &g_array_index(moves, VmbPinMove, k);
        const ItemRef *ref = &g_array_index(refs, ItemRef, pm->item);
        if (dry_run && !dry_run_is_new(t, ref, (guint) vmb_cpuset_first(pm->to)))
            continue;
        MoveOutcome o = dry_run ? MOVE_MADE : pin(t, hv, ref, pm->to);
        result->failed += o == MOVE_FAILED || o == MOVE_DISCONNECTED;
        if (o == MOVE_DISCONNECTED)
            break;
        if (o != MOVE_MADE)
            continue;
        result->applied++;
        report_move(ref, &pm->move, &p->items[pm->item], bins->size[pm->bin] > 1 ? pm->to : NULL,
                    dry_run, report, report_data);
    }
}

/* Each vCPU's set pin (NULL: one pCPU or floating), as vmb_pin_plan takes them. */
static const VmbCpuSet **
set_pins(GArray *refs)
{
    const VmbCpuSet **pin_set = g_new0(const VmbCpuSet *, MAX(refs->len, 1));
    for (guint i = 0; i < refs->len; i++) {
        const ItemRef *ref = &g_array_index(refs, ItemRef, i);
        pin_set[i] = ref->dom->vcpus[ref->vcpu].cpus;
    }
    return pin_set;
}

/* Memory home with set pins: the rule sees each vCPU where the kernel runs it inside its set
 * (as the set plan does), and its vCPUs' pins on the new node become pins to the sets there;
 * the next set plans keep them on that node (the NUMA step follows item_node). A move makes
 * the placement new: stable again only after as many quiet plans. */
static void
move_memory_home_to_sets(VmbCpuTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                         const VmbPinBins *bins, const VmbCpuProblem *p,
                         const VmbCpuSet *const *pin_set, GArray *refs, gboolean dry_run,
                         VmbActionFunc report, gpointer report_data, VmbCpuCycleResult *result)
{
    g_autofree VmbCpuItem *as_run = g_new0(VmbCpuItem, MAX(p->n_items, 1));
    vmb_pin_items_as_run(p, bins, pin_set, as_run);
    VmbCpuProblem q = *p;
    q.items = as_run;
    g_autoptr(GArray) moves = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    if (!vmb_numa_task_run(&t->numa, hv, s, c, &q, vmb_pin_stable(t->set_quiet), dry_run, moves))
        return;
    if (!dry_run)
        t->set_quiet = 0;
    g_autoptr(GArray) pins = vmb_pin_moves_to_sets(moves, p, bins, pin_set);
    result->planned += pins->len;
    apply_pin_moves(t, hv, bins, p, refs, pins, dry_run, report, report_data, result);
}

/* cpu.pin_to = core, cache or node: plans over the sets (cpu-pinto.h) and pins to them; then,
 * once the set plans are stable (vmb_pin_stable()), memory home. */
static void
run_set_plan(VmbCpuTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
             const VmbPinBins *bins, const VmbCpuProblem *p, const VmbCpuTunables *tun,
             GArray *refs, gboolean dry_run, VmbActionFunc report, gpointer report_data,
             VmbCpuCycleResult *result)
{
    g_autofree const VmbCpuSet **pin_set = set_pins(refs);
    g_autoptr(GArray) moves = vmb_pin_plan(p, tun, bins, pin_set);
    result->planned = moves->len;
    apply_pin_moves(t, hv, bins, p, refs, moves, dry_run, report, report_data, result);
    t->set_quiet = vmb_pin_quiet_after(t->set_quiet, moves->len);
    move_memory_home_to_sets(t, hv, s, c, bins, p, pin_set, refs, dry_run, report, report_data,
                             result);
}

/* ---- did the moves help (move-check.h) ---- */

/* A vCPU's run-queue wait over the last interval, percent (0 when not measured). */
static double
vcpu_wait(const VmbCpuUsage *u, const char *uuid, guint vcpu)
{
    const VmbVcpuLoad *l = vmb_cpu_usage_vcpu(u, uuid, vcpu);
    return l && l->valid ? MAX(0, l->demand - l->run) : 0;
}

static gboolean
usage_knows(const char *uuid, gpointer usage)
{
    return vmb_cpu_usage_vcpu(usage, uuid, 0) != NULL;
}

/* The snapshot's domains by uuid, for the move check's questions. */
typedef struct {
    const VmbCpuUsage *usage;
    GHashTable *domains; /* uuid -> const VmbDomainStat* */
} Lookup;

static gboolean
lookup_vcpu(const char *uuid, guint vcpu, gint *pcpu, double *wait, gpointer data)
{
    const Lookup *l = data;
    const VmbDomainStat *d = g_hash_table_lookup(l->domains, uuid);
    if (!d || vcpu >= d->nvcpus)
        return FALSE;
    *pcpu = d->vcpus[vcpu].pcpu;
    *wait = vcpu_wait(l->usage, uuid, vcpu);
    return TRUE;
}

/* Numbers for journal fields, formatted into @buf (G_ASCII_DTOSTR_BUF_SIZE bytes). */
static const char *
field_num(char *buf, double value)
{
    g_snprintf(buf, G_ASCII_DTOSTR_BUF_SIZE, "%.1f", value);
    return buf;
}

static const char *
field_uint(char *buf, guint value)
{
    g_snprintf(buf, G_ASCII_DTOSTR_BUF_SIZE, "%u", value);
    return buf;
}

/* One journal record per verdict (dropped checks only in debug output). The message does not
 * start with "pin": those lines are the pin changes themselves. */
static void
log_verdict(const VmbMoveVerdict *v, const char *name)
{
    const char *reason = vmb_cpu_reason_to_string(v->reason);
    if (v->outcome == VMB_MOVE_DROPPED) {
        g_debug("%s move of %s vCPU %u (pCPU %u -> %u) not judged: %s", reason, name, v->vcpu,
                v->from, v->to, vmb_move_drop_to_string(v->dropped));
        return;
    }
    gboolean helped = v->outcome == VMB_MOVE_HELPED;
    char b[12][G_ASCII_DTOSTR_BUF_SIZE];
    g_autofree char *retry =
        helped ? g_strdup("") : g_strdup_printf(": not tried again for %u cycles", v->blocked_for);
    /* A KEY, value pair a line. */
    // clang-format off
    const char *fields[] = {
        "DOMAIN", name,
        "DOMAIN_UUID", v->uuid,
        "VCPU", field_uint(b[0], v->vcpu),
        "FROM_PCPU", field_uint(b[1], v->from),
        "TO_PCPU", field_uint(b[2], v->to),
        "REASON", reason,
        "OUTCOME", vmb_move_outcome_to_string(v->outcome),
        "PREDICTED_GAIN", field_num(b[3], v->predicted),
        "MEASURED_GAIN", field_num(b[4], v->measured),
        "WAIT_BEFORE", field_num(b[5], v->wait_before),
        "WAIT_AFTER", field_num(b[6], v->wait_after),
        "FROM_LOAD_BEFORE", field_num(b[7], v->from_before),
        "FROM_LOAD_AFTER", field_num(b[8], v->from_now),
        "TO_LOAD_BEFORE", field_num(b[9], v->to_before),
        "TO_LOAD_AFTER", field_num(b[10], v->to_now),
        "BLOCKED_CYCLES", field_uint(b[11], v->blocked_for),
        NULL};
    // clang-format on
    vmb_log_fields(helped ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_MESSAGE, VMB_MSGID_MOVE_OUTCOME, fields,
                   "%s move of %s vCPU %u (pCPU %u -> %u) %s (predicted %.0f points, measured "
                   "%.0f; run-queue wait %.0f%% -> %.0f%%)%s",
                   reason, name, v->vcpu, v->from, v->to, helped ? "helped" : "did not help",
                   v->predicted, v->measured, v->wait_before, v->wait_after, retry);
}

/* The policy's loads per pCPU with every item where it is pinned, or where @moves (those of
 * @made, when given) put it. */
static double *
problem_loads(const VmbCpuProblem *p, GArray *moves, GArray *made)
{
    g_autofree gint *place = g_new0(gint, p->n_items + 1);
    for (guint i = 0; i < p->n_items; i++)
        place[i] = p->items[i].current;
    for (guint k = 0; made && k < made->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, g_array_index(made, guint, k));
        place[m->item] = (gint) m->to;
    }
    double *loads = g_new0(double, p->npcpus);
    vmb_cpu_loads(p, place, loads);
    return loads;
}

/* Judges the moves of VMB_MOVE_CHECK_EVAL_CYCLES ago on the loads now: counts and logs the
 * verdicts; a failure blocks its (vCPU, pCPU) pair for the planner. */
static void
judge_moves(VmbCpuTask *t, const VmbSnapshot *s, const VmbCpuProblem *p, guint64 cycle,
            VmbCpuCycleResult *result)
{
    vmb_move_check_forget_unknown(t->check, usage_knows, t->usage);
    if (vmb_move_check_pending(t->check) == 0)
        return;
    g_autoptr(GHashTable) domains = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        g_hash_table_insert(domains, d->uuid, (gpointer) d);
    }
    Lookup l = {t->usage, domains};
    g_autofree double *loads = problem_loads(p, NULL, NULL);
    g_autoptr(GArray) verdicts =
        vmb_move_check_evaluate(t->check, cycle, loads, p->npcpus, lookup_vcpu, &l);
    for (guint k = 0; k < verdicts->len; k++) {
        const VmbMoveVerdict *v = &g_array_index(verdicts, VmbMoveVerdict, k);
        const VmbDomainStat *d = g_hash_table_lookup(domains, v->uuid);
        result->moves_helped += v->outcome == VMB_MOVE_HELPED;
        result->moves_failed += v->outcome == VMB_MOVE_FAILED;
        log_verdict(v, d ? d->name : v->uuid);
    }
}

/* Hands the moves made this cycle (@made indexes @moves) to the move check, with the loads
 * the plan expects once all of them are made. */
static void
record_moves(VmbCpuTask *t, const VmbCpuProblem *p, GArray *moves, GArray *made, GArray *refs,
             guint64 cycle, double min_gain)
{
    if (made->len == 0)
        return;
    g_autofree double *expected = problem_loads(p, moves, made);
    g_autoptr(GArray) records = g_array_sized_new(FALSE, FALSE, sizeof(VmbMoveRecord), made->len);
    for (guint k = 0; k < made->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, g_array_index(made, guint, k));
        const ItemRef *ref = &g_array_index(refs, ItemRef, m->item);
        gboolean from_known = m->from >= 0 && (guint) m->from < p->npcpus;
        VmbMoveRecord r = {
            .uuid = ref->dom->uuid,
            .vcpu = ref->vcpu,
            .from = m->from,
            .to = m->to,
            .reason = m->reason,
            .from_before = m->from_load,
            .to_before = m->to_load,
            .from_expected = from_known ? expected[m->from] : 0,
            .to_expected = expected[m->to],
            .gain = m->gain,
            .wait = vcpu_wait(t->usage, ref->dom->uuid, ref->vcpu),
        };
        g_array_append_val(records, r);
    }
    vmb_move_check_record(t->check, cycle, (const VmbMoveRecord *) records->data, records->len,
                          min_gain);
}

/* The planner's question: is this item's move to @pcpu blocked (it did not deliver lately)? */
typedef struct {
    const VmbMoveCheck *check;
    const ItemRef *refs;
    guint64 cycle;
} Blocked;

static gboolean
is_blocked(guint item, guint pcpu, gpointer data)
{
    const Blocked *b = data;
    const ItemRef *ref = &b->refs[item];
    return vmb_move_check_blocked(b->check, ref->dom->uuid, ref->vcpu, pcpu, b->cycle);
}

/* Once the placement is stable, a split domain's memory may move to a node with room for it
 * whole (cpu-numa-task.h); its vCPUs follow at once. The kept target is dropped: the next plan
 * starts from the new pins. These pins are not judged by the move check: they gain no load. */
static void
move_memory_home(VmbCpuTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                 const VmbCpuProblem *p, GArray *items, GArray *refs, gboolean stable,
                 gboolean dry_run, VmbActionFunc report, gpointer report_data,
                 VmbCpuCycleResult *result)
{
    g_autoptr(GArray) moves = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    if (!vmb_numa_task_run(&t->numa, hv, s, c, p, stable, dry_run, moves))
        return;
    if (!dry_run) {
        g_hash_table_remove_all(t->targets);
        t->settling = 0;
    }
    g_autoptr(GArray) made = g_array_new(FALSE, FALSE, sizeof(guint));
    result->planned += moves->len;
    apply_moves(t, hv, moves, items, refs, dry_run, report, report_data, result, made);
}

void
vmb_cpu_task_run(VmbCpuTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                 gboolean dry_run, VmbActionFunc report, gpointer report_data,
                 VmbCpuCycleResult *result)
{
    memset(result, 0, sizeof(*result));
    t->cycles++;
    vmb_cpu_usage_update(t->usage, s, c->cpu_smoothing);
    g_autofree double *hk_bound = g_new0(double, s->npcpus);
    gboolean hk_on = vmb_housekeeping_run(t->hk, hv, s, c, dry_run, hk_bound);
    update_background(t, s, c->cpu_smoothing, hk_bound);
    vmb_foreign_pins_observe(t->foreign, s, c);

    g_autofree gboolean *allowed = g_new0(gboolean, s->npcpus);
    guint n_allowed = allowed_pcpus(s, c, hk_on, allowed);
    if (n_allowed == 0) {
        vmb_log_once("cpu-no-allowed", G_LOG_LEVEL_WARNING,
                     "cpu.cpus selects none of the host's %u CPUs: vCPU balancing is idle",
                     s->npcpus);
        return;
    }
    vmb_log_once_clear("cpu-no-allowed");

    g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(VmbCpuItem));
    g_autoptr(GArray) refs = g_array_new(FALSE, FALSE, sizeof(ItemRef));
    gboolean any_new = collect_items(t, s, c, items, refs);
    result->measured_only = items->len == 0 && any_new;

    guint64 cycle = vmb_cpu_usage_cycle(t->usage);
    Blocked blocked = {t->check, (const ItemRef *) refs->data, cycle};
    VmbCpuProblem problem = {
        .npcpus = s->npcpus,
        .allowed = allowed,
        .background = t->host.background,
        .items = (const VmbCpuItem *) items->data,
        .n_items = items->len,
        .blocked_data = &blocked,
        .topology = s->topology,
    };
    g_autofree gint *item_node = g_new(gint, MAX(refs->len, 1));
    for (guint i = 0; i < refs->len; i++)
        item_node[i] = g_array_index(refs, ItemRef, i).dom->mem_node;
    problem.item_node = item_node;
    judge_moves(t, s, &problem, cycle, result);
    t->moves_helped += result->moves_helped;
    t->moves_failed += result->moves_failed;
    if (vmb_move_check_any_blocked(t->check, cycle))
        problem.blocked = is_blocked;
    VmbCpuTunables tun = {.hysteresis = c->cpu_hysteresis,
                          .max_moves = vmb_cpu_task_max_moves(c, n_allowed)};
    VmbPinTo mode = VMB_PIN_TO_CPU;
    vmb_pin_to_parse(c->cpu_pin_to, &mode); /* the configuration checked it */
    g_autoptr(VmbPinBins) bins =
        mode == VMB_PIN_TO_CPU ? NULL : vmb_pin_bins_new(mode, s->topology, s->npcpus, allowed);
    if (bins && !vmb_pin_bins_single(bins)) {
        /* Set pins plan cycle by cycle: no one-pCPU target is kept (cpu-pinto.h). */
        g_hash_table_remove_all(t->targets);
        t->settling = 0;
        run_set_plan(t, hv, s, c, bins, &problem, &tun, refs, dry_run, report, report_data, result);
        return;
    }
    t->set_quiet = 0;
    g_autofree VmbCpuTarget *targets = g_new0(VmbCpuTarget, MAX(items->len, 1));
    problem.settling = t->settling;
    VmbCpuNext next = {.targets = targets};
    g_autoptr(GArray) moves = vmb_cpu_plan_toward(&problem, &tun, &next);
    store_targets(t, refs, targets);
    t->settling = next.settling;
    g_autoptr(GArray) made = g_array_new(FALSE, FALSE, sizeof(guint));
    result->planned = moves->len;
    apply_moves(t, hv, moves, items, refs, dry_run, report, report_data, result, made);
    record_moves(t, &problem, moves, made, refs, cycle, c->cpu_hysteresis);
    gboolean stable = moves->len == 0 && t->settling == 0 && !targets_pending(t);
    move_memory_home(t, hv, s, c, &problem, items, refs, stable, dry_run, report, report_data,
                     result);
}
