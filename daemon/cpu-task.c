/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-task.h"

#include "cpu-policy.h"
#include "log.h"

#include <string.h>

guint
vmb_cpu_task_max_moves(const VmbConfig *c, guint n_allowed)
{
    /* A big host needs more moves to settle after a change than a small one. */
    return c->cpu_max_moves ? c->cpu_max_moves : MAX(8, n_allowed / 4);
}

void
vmb_cpu_task_init(VmbCpuTask *t)
{
    memset(t, 0, sizeof(*t));
    t->usage = vmb_cpu_usage_new();
    t->dry_reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

void
vmb_cpu_task_clear(VmbCpuTask *t)
{
    g_clear_pointer(&t->usage, vmb_cpu_usage_free);
    g_clear_pointer(&t->dry_reported, g_hash_table_unref);
    g_clear_pointer(&t->host.busy, g_free);
    g_clear_pointer(&t->host.background, g_free);
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
update_background(VmbCpuTask *t, const VmbSnapshot *s, double alpha)
{
    VmbCpuHostView *h = &t->host;
    resize_host_view(h, s->npcpus);
    g_autofree VmbPcpuSample *samples = g_new0(VmbPcpuSample, s->npcpus);
    double floating_vm = sample_vm_load(t, s, samples);
    for (guint c = 0; c < s->npcpus; c++) {
        double busy;
        h->busy[c] = vmb_cpu_usage_pcpu(t->usage, c, &busy) ? busy : -1;
        samples[c].busy = h->busy[c];
        samples[c].irq = vmb_cpu_usage_pcpu_bound(t->usage, c);
    }
    h->floating = vmb_host_load_update(h->background, samples, s->npcpus, floating_vm, alpha);
}

typedef struct {
    const VmbDomainStat *dom;
    guint vcpu;
} ItemRef;

/* The pCPUs vCPUs may be pinned to (cpu.cpus); returns how many. */
static guint
allowed_pcpus(const VmbSnapshot *s, const VmbConfig *c, gboolean *allowed)
{
    guint n = 0;
    for (guint p = 0; p < s->npcpus; p++) {
        allowed[p] = c->cpu_cpus_all || vmb_cpuset_has(&c->cpu_cpus, p);
        n += allowed[p];
    }
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
        gboolean excluded = vmb_config_is_excluded(c, d->name, d->uuid);
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
                .movable = !excluded,
                .cooling = l->moved_cycle && cycle - l->moved_cycle <= c->cpu_cooldown,
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
    if (m->reason == VMB_CPU_BALANCE || m->reason == VMB_CPU_SPREAD)
        return g_strdup_printf("vCPU load %.0f%%, pCPU %d at %.0f%%, pCPU %u at %.0f%%, "
                               "busier one drops %.0f points",
                               item->load, m->from, m->from_load, m->to, m->to_load, m->gain);
    return g_strdup_printf("vCPU load %.0f%%, pCPU %u the least loaded at %.0f%%", item->load,
                           m->to, m->to_load);
}

typedef enum { MOVE_MADE, MOVE_SKIPPED, MOVE_FAILED, MOVE_DISCONNECTED } MoveOutcome;

/* Pins the vCPU; a domain that vanished meanwhile is skipped quietly. */
static MoveOutcome
pin(VmbCpuTask *t, VmbHypervisor *hv, const ItemRef *ref, const VmbCpuMove *m)
{
    g_autoptr(GError) error = NULL;
    if (vmb_hypervisor_pin_vcpu(hv, ref->dom->uuid, ref->vcpu, m->to, &error)) {
        vmb_cpu_usage_mark_moved(t->usage, ref->dom->uuid, ref->vcpu);
        t->pin_changes++;
        return MOVE_MADE;
    }
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN)) {
        g_debug("%s vanished before its vCPU %u was pinned", ref->dom->name, ref->vcpu);
        return MOVE_SKIPPED;
    }
    t->errors++;
    g_warning("cannot pin %s vCPU %u to pCPU %u: %s", ref->dom->name, ref->vcpu, m->to,
              error->message);
    return g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED) ? MOVE_DISCONNECTED
                                                                           : MOVE_FAILED;
}

/* Nothing changes in a dry run, so the same plan comes back every cycle: a would-be move
 * is reported once, until its destination changes. */
static gboolean
dry_run_is_new(VmbCpuTask *t, const ItemRef *ref, const VmbCpuMove *m)
{
    g_autofree char *key = g_strdup_printf("%s/%u", ref->dom->uuid, ref->vcpu);
    gpointer to = GUINT_TO_POINTER(m->to + 1);
    if (g_hash_table_lookup(t->dry_reported, key) == to)
        return FALSE;
    g_hash_table_insert(t->dry_reported, g_steal_pointer(&key), to);
    return TRUE;
}

static void
report_move(const ItemRef *ref, const VmbCpuMove *m, const VmbCpuItem *item, gboolean dry_run,
            VmbActionFunc report, gpointer report_data)
{
    g_autofree char *detail = describe_move(m, item);
    VmbAction a = {
        .kind = VMB_ACTION_PIN,
        .wall_us = g_get_real_time(),
        .domain = ref->dom->name,
        .uuid = ref->dom->uuid,
        .vcpu = ref->vcpu,
        .from_pcpu = m->from,
        .to_pcpu = m->to,
        .reason = vmb_cpu_reason_to_string(m->reason),
        .detail = detail,
        .dry_run = dry_run,
    };
    vmb_action_log(&a);
    if (report)
        report(&a, report_data);
}

/* Makes (or, in a dry run, reports) the planned moves in order; stops at a lost connection. */
static void
apply_moves(VmbCpuTask *t, VmbHypervisor *hv, GArray *moves, GArray *items, GArray *refs,
            gboolean dry_run, VmbActionFunc report, gpointer report_data, VmbCpuCycleResult *result)
{
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        const ItemRef *ref = &g_array_index(refs, ItemRef, m->item);
        if (dry_run && !dry_run_is_new(t, ref, m))
            continue;
        MoveOutcome o = dry_run ? MOVE_MADE : pin(t, hv, ref, m);
        result->failed += o == MOVE_FAILED || o == MOVE_DISCONNECTED;
        if (o == MOVE_DISCONNECTED)
            break;
        if (o != MOVE_MADE)
            continue;
        result->applied++;
        report_move(ref, m, &g_array_index(items, VmbCpuItem, m->item), dry_run, report,
                    report_data);
    }
}

void
vmb_cpu_task_run(VmbCpuTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                 gboolean dry_run, VmbActionFunc report, gpointer report_data,
                 VmbCpuCycleResult *result)
{
    memset(result, 0, sizeof(*result));
    t->cycles++;
    vmb_cpu_usage_update(t->usage, s, c->cpu_smoothing);
    update_background(t, s, c->cpu_smoothing);

    g_autofree gboolean *allowed = g_new0(gboolean, s->npcpus);
    guint n_allowed = allowed_pcpus(s, c, allowed);
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

    VmbCpuProblem problem = {
        .npcpus = s->npcpus,
        .allowed = allowed,
        .background = t->host.background,
        .items = (const VmbCpuItem *) items->data,
        .n_items = items->len,
    };
    VmbCpuTunables tun = {.hysteresis = c->cpu_hysteresis,
                          .max_moves = vmb_cpu_task_max_moves(c, n_allowed)};
    g_autoptr(GArray) moves = vmb_cpu_plan(&problem, &tun);
    result->planned = moves->len;
    apply_moves(t, hv, moves, items, refs, dry_run, report, report_data, result);
}
