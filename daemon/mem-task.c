/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mem-task.h"

#include <math.h>

#include "domain-meta.h"
#include "log.h"
#include "mem-history.h"
#include "mem-host.h"
#include "mem-log.h"
#include "mem-vmem.h"

#include <string.h>

static void
history_free(MemHistory *h)
{
    g_free(h->uuid);
    g_free(h);
}

void
vmb_mem_task_init(VmbMemTask *t)
{
    memset(t, 0, sizeof(*t));
    t->doms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) history_free);
    t->foreign = vmb_foreign_targets_new();
}

void
vmb_mem_task_clear(VmbMemTask *t)
{
    if (t->doms) {
        /* A new task (new connection) reports its conditions afresh. */
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, t->doms);
        while (g_hash_table_iter_next(&it, &key, NULL))
            vmb_mem_log_forget(key);
    }
    g_clear_pointer(&t->doms, g_hash_table_unref);
    g_clear_pointer(&t->foreign, vmb_foreign_targets_free);
}

void
vmb_mem_task_forget(VmbMemTask *t, const char *uuid)
{
    if (t->doms)
        g_hash_table_remove(t->doms, uuid);
    vmb_mem_log_forget(uuid);
}

void
vmb_mem_task_reconnected(VmbMemTask *t)
{
    GHashTableIter it;
    gpointer value;
    if (!t->doms)
        return;
    g_hash_table_iter_init(&it, t->doms);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        MemHistory *h = value;
        h->stats_period = 0;
        h->no_balloon = FALSE;
    }
}

guint
vmb_mem_task_followup(const VmbConfig *c, const VmbMemCycleResult *r)
{
    guint soon = c->mem_stats_period + 1;
    if ((r->starving || r->stats_enabled || r->unmeasured) && vmb_config_mem_interval(c) > soon)
        return soon;
    return 0;
}

gboolean
vmb_mem_task_rate(const VmbMemTask *t, const char *uuid, double *rate_kib_s)
{
    const MemHistory *h = t->doms ? g_hash_table_lookup(t->doms, uuid) : NULL;
    if (!h || !h->have_rate)
        return FALSE;
    *rate_kib_s = h->rate;
    return TRUE;
}

static MemHistory *
history_get(VmbMemTask *t, const char *uuid)
{
    MemHistory *h = g_hash_table_lookup(t->doms, uuid);
    if (!h) {
        h = g_new0(MemHistory, 1);
        h->uuid = g_strdup(uuid);
        g_hash_table_insert(t->doms, h->uuid, h);
    }
    return h;
}

/* Drops the history of domains that are not running any more. */
static void
prune(VmbMemTask *t, const VmbSnapshot *s)
{
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, t->doms);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!vmb_snapshot_find(s, key)) {
            vmb_mem_log_forget(key);
            g_hash_table_iter_remove(&it);
        }
    }
}

/* Turns balloon statistics on. FALSE when the cycle should stop (connection lost). */
static gboolean
enable_stats(VmbMemTask *t, VmbHypervisor *hv, const VmbDomainStat *d, MemHistory *h,
             const VmbConfig *c, gint64 now_s)
{
    g_autoptr(GError) error = NULL;
    if (vmb_hypervisor_set_stats_period(hv, d->uuid, c->mem_stats_period, &error)) {
        h->stats_period = c->mem_stats_period;
        h->enabled_wall_s = now_s;
        vmb_mem_log_clear("noballoon", d->uuid);
        g_debug("balloon statistics of %s every %u s", d->name, c->mem_stats_period);
        return TRUE;
    }
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED))
        return FALSE;
    if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID)) {
        h->no_balloon = TRUE;
        g_autofree char *msg =
            g_strdup_printf("%s has no usable memory balloon (%s): its memory is left alone",
                            d->name, error->message);
        vmb_mem_log_once("noballoon", d->uuid, G_LOG_LEVEL_MESSAGE, msg);
    } else if (!g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN)) {
        t->errors++;
        g_warning("cannot turn on balloon statistics of %s: %s", d->name, error->message);
    }
    return TRUE;
}

/* Decides whether the policy may act on @d and fills @g. */
static void
describe(MemHistory *h, const VmbDomainStat *d, const VmbSnapshot *s, const VmbConfig *c,
         const VmbEffectivePolicy *eff, VmbMemGuest *g)
{
    gboolean excluded = !eff->memory_managed;
    const VmbBalloonStat *b = &d->balloon;
    const guint need =
        VMB_BALLOON_CURRENT | VMB_BALLOON_MAXIMUM | VMB_BALLOON_USABLE | VMB_BALLOON_LAST_UPDATE;
    gint64 stale_s = (gint64) c->mem_stale_periods * c->mem_stats_period;

    g->current_kib = b->current_kib;
    g->maximum_kib = (b->fields & VMB_BALLOON_MAXIMUM) ? b->maximum_kib : b->current_kib;
    g->min_guarantee_kib = b->min_guarantee_kib;
    g->weight = eff->weight;
    /* The domain's own bounds (metadata min_mib/max_mib) narrow what the balloon may do. */
    g->min_guarantee_kib = MAX(g->min_guarantee_kib, eff->min_mib * 1024);
    if (eff->max_mib)
        g->maximum_kib = MIN(g->maximum_kib, eff->max_mib * 1024);
    g->target_kib = h->target_kib;
    g->target_from_kib = h->target_from_kib;
    g->rate_kib_s = h->have_rate ? h->rate : 0;
    g->in_flight = vmb_mem_follow_flight(h, b, s->wall_s, c);
    /* A change someone else made (libvirt's boot target) counts while it is in flight; once it
     * stalled or timed out, actual is the guest's state (our own targets are judged by the
     * policy's unreachable/pending rules). */
    g->balloon_target_kib = g->in_flight || b->target_kib == h->target_kib ? b->target_kib : 0;

    if (excluded) {
        g->state = VMB_MEM_EXCLUDED;
        return;
    }
    if (h->no_balloon) {
        g->state = VMB_MEM_NO_STATS;
        return;
    }
    if ((b->fields & need) != need) {
        g->state = VMB_MEM_NO_STATS;
        /* Statistics take a period or two to arrive after they are turned on. */
        if (h->stats_period && s->wall_s - h->enabled_wall_s > stale_s) {
            g_autofree char *msg = g_strdup_printf(
                "%s reports no balloon statistics (no balloon driver in the guest?): its "
                "memory is left alone",
                d->name);
            vmb_mem_log_once("nostats", d->uuid, G_LOG_LEVEL_MESSAGE, msg);
        }
        return;
    }
    vmb_mem_log_clear("nostats", d->uuid);
    gint64 age = s->wall_s - b->last_update;
    if (age > stale_s) {
        g->state = VMB_MEM_STALE;
        g_autofree char *msg = g_strdup_printf("balloon statistics of %s are %" G_GINT64_FORMAT
                                               " s old: its memory is left "
                                               "alone until they resume",
                                               d->name, age);
        vmb_mem_log_once("stale", d->uuid, G_LOG_LEVEL_WARNING, msg);
        return;
    }
    if (vmb_mem_log_clear("stale", d->uuid))
        g_message("balloon statistics of %s resumed", d->name);
    if (!vmb_mem_settled(h, b)) {
        /* Figures taken before our last change do not show its effect yet. */
        g->state = VMB_MEM_SETTLING;
        return;
    }
    if (vmb_mem_actual_lags(h, b, d->vmem.present)) {
        g->state = VMB_MEM_SETTLING;
        return;
    }
    vmb_mem_measure_kernel(h, b);
    if (vmb_mem_at_rest(h, b))
        vmb_mem_feed_sample(h, b, c);
    g->usable_kib = b->usable_kib;
    g->rate_kib_s = h->have_rate ? h->rate : 0;
    g->swapping = h->swapping;
    g->paging_kib_s = h->paging_kib_s;
    g->burst_kib = (guint64) vmb_mem_burst_now(h, b->last_update);
    g->reports_free = (b->features & VMB_BALLOON_FREE_PAGE_REPORTING) != 0;
    g->unused_kib = (b->fields & VMB_BALLOON_UNUSED) ? b->unused_kib : 0;
    g->state = VMB_MEM_MANAGED;
}

/* One run of the memory task: what its steps share. */
typedef struct {
    VmbMemTask *t;
    VmbHypervisor *hv;
    const VmbSnapshot *s;
    const VmbConfig *c;
    gboolean dry_run;
    VmbActionFunc report;
    gpointer report_data;
    VmbMemCycleResult *result;
    VmbMemGuest *guests; /* [domains], what the policy sees */
    MemHistory **hist;   /* [domains] */
} MemCycle;

/* QEMU keeps the balloon's size, not its target, when a virtio-mem device plugs or unplugs:
 * after an unplug the guest would sit below our target by what was unplugged. Our target is set
 * again whenever the plugged size moved since we set it. FALSE when the connection was lost. */
static gboolean
reaim_virtio_mem(MemCycle *m, const VmbDomainStat *d, MemHistory *h)
{
    if (m->dry_run || !d->vmem.present || !h->target_kib ||
        d->vmem.plugged_kib == h->vmem_plugged_kib)
        return TRUE;
    g_autoptr(GError) error = NULL;
    guint64 kib = MIN(h->target_kib, d->vmem.base_kib + d->vmem.plugged_kib);
    if (!vmb_hypervisor_set_memory(m->hv, d->uuid, kib, &error))
        return !g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
    g_debug("%s: virtio-mem plugged %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
            " MiB, balloon target set again (%" G_GUINT64_FORMAT " MiB)",
            d->name, h->vmem_plugged_kib / 1024, d->vmem.plugged_kib / 1024, kib / 1024);
    h->vmem_plugged_kib = d->vmem.plugged_kib;
    vmb_foreign_targets_made(m->t->foreign, d->uuid, kib);
    return TRUE;
}

/* Someone else set the balloon's target: ours no longer explains where it is (kept, the
 * policy would take the guest for one that cannot reach it and stop asking). */
static void
forget_target(MemHistory *h)
{
    h->target_kib = h->target_from_kib = h->dry_target_kib = 0;
    h->flight_target_kib = 0;
    h->grow_base = FALSE;
}

/* Describes every domain to the policy, turning its balloon statistics on at first sight,
 * after an appearance or reconnect, and when the period changed (excluded domains are not
 * touched at all). FALSE when the connection was lost. */
static gboolean
describe_guests(MemCycle *m)
{
    const VmbSnapshot *s = m->s;
    const VmbConfig *c = m->c;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        VmbEffectivePolicy eff;
        vmb_domain_effective_full(c, d, FALSE,
                                  vmb_foreign_targets_respected(m->t->foreign, d->uuid), &eff);
        gboolean excluded = !eff.memory_managed;
        MemHistory *h = m->hist[i] = history_get(m->t, d->uuid);
        if (vmb_foreign_targets_take_change(m->t->foreign, d->uuid)) {
            forget_target(h); /* our target is history: size the guest from where it is */
            vmb_hypervisor_forget_target(m->hv, d->uuid);
        }
        if (!excluded && !h->no_balloon && h->stats_period != c->mem_stats_period) {
            if (!enable_stats(m->t, m->hv, d, h, c, s->wall_s))
                return FALSE;
            m->result->stats_enabled += h->stats_period == c->mem_stats_period;
        }
        if (!excluded && !reaim_virtio_mem(m, d, h))
            return FALSE;
        describe(h, d, s, c, &eff, &m->guests[i]);
        /* A move nobody here asked for is judged first: acting on it now (growing a guest
         * someone just took memory from) would undo what respect is to keep. */
        if (m->guests[i].state == VMB_MEM_MANAGED &&
            vmb_foreign_targets_judging(m->t->foreign, d->uuid))
            m->guests[i].state = VMB_MEM_SETTLING;
        vmb_mem_follow_inflation(h, &d->balloon, s->mono_us);
        m->guests[i].take_kib = vmb_mem_guest_take(h, &d->balloon, c);
        m->result->managed += m->guests[i].state == VMB_MEM_MANAGED;
        m->result->unmeasured += m->guests[i].state == VMB_MEM_MANAGED && !h->have_rate;
    }
    return TRUE;
}

/* The configuration in the policy's units; the growth horizon counts in intervals. */
static VmbMemTunables
mem_tunables(const VmbConfig *c)
{
    return (VmbMemTunables){
        .low_percent = c->mem_low_watermark,
        .high_percent = c->mem_high_watermark,
        .min_free_kib = (guint64) c->mem_min_free_mib * 1024,
        .floor_kib = (guint64) c->mem_floor_mib * 1024,
        .max_shrink_kib = (guint64) c->mem_max_shrink_mib * 1024,
        .reserve_kib = (guint64) c->mem_host_reserve_mib * 1024,
        .reserve_percent = c->mem_host_reserve_percent,
        .horizon_s = (double) c->mem_grow_horizon * vmb_config_mem_interval(c),
    };
}

/* Asks the policy for a plan, keeping the host figures for the status and logging each
 * guest's lasting conditions. */
static VmbMemPlan *
plan_cycle(MemCycle *m)
{
    const VmbSnapshot *s = m->s;
    VmbMemTask *t = m->t;
    if (s->host_mem_available_kib == 0)
        vmb_log_once("mem-host-unknown", G_LOG_LEVEL_WARNING,
                     "host available memory is unknown: guests are not grown");
    else
        vmb_log_once_clear("mem-host-unknown");
    VmbMemProblem problem = {
        .host_total_kib = s->host_mem_total_kib,
        .host_available_kib = s->host_mem_available_kib,
        .host_growth_kib = vmb_mem_host_growth(t, s, m->c),
        .guests = m->guests,
        .n_guests = s->domains->len,
    };
    VmbMemTunables tun = mem_tunables(m->c);
    VmbMemPlan *plan = vmb_mem_plan(&problem, &tun);
    m->result->planned = plan->changes->len;
    m->result->pressure = plan->pressure;
    m->result->headroom_kib = plan->headroom_kib;
    t->last_available_kib = s->host_mem_available_kib;
    t->last_reserve_kib = plan->reserve_kib;
    t->last_headroom_kib = plan->headroom_kib;
    t->last_pressure = plan->pressure;
    guint64 take = 0;
    for (guint i = 0; i < s->domains->len; i++)
        take += m->guests[i].take_kib;
    /* The parts of the headroom, to tell afterwards why the reserve held or not. */
    g_debug("memory host view: available %" G_GUINT64_FORMAT " MiB, reserve %" G_GUINT64_FORMAT
            " MiB, the host's own growth %" G_GUINT64_FORMAT
            " MiB (what it gave back lately %" G_GUINT64_FORMAT
            " MiB of it), the guests' take %" G_GUINT64_FORMAT " MiB: headroom %" G_GINT64_FORMAT
            " MiB",
            s->host_mem_available_kib / 1024, plan->reserve_kib / 1024,
            problem.host_growth_kib / 1024, t->host_held_kib / 1024, take / 1024,
            plan->headroom_kib / 1024);
    for (guint i = 0; i < s->domains->len; i++) {
        vmb_mem_log_verdict(g_ptr_array_index(s->domains, i), &m->guests[i], plan->verdict[i],
                            m->hist[i]->have_rate);
        m->result->starving +=
            plan->verdict[i] == VMB_MEM_V_STARVING || plan->verdict[i] == VMB_MEM_V_HOST_LIMITED;
    }
    return plan;
}

typedef enum {
    CHANGE_MADE,   /* the target is set */
    CHANGE_NONE,   /* the domain vanished or refused: go on with the next change */
    CHANGE_CUTOFF, /* the connection is lost: stop */
} ChangeOutcome;

/* A guest with a virtio-mem device: the device's requested size takes the whole blocks of
 * target @kib (mem-vmem.c), and the balloon target returned the rest. A device the backend
 * cannot resize, or whose figures make no sense, leaves it all to the balloon. */
static guint64
size_virtio_mem(MemCycle *m, const VmbDomainStat *d, guint64 kib)
{
    const VmbVirtioMemStat *v = &d->vmem;
    VmbVirtioMem dev = {v->base_kib, v->size_kib, v->block_kib, v->requested_kib, v->plugged_kib};
    if (!v->present || !v->base_kib || !vmb_virtio_mem_valid(&dev))
        return kib;
    VmbVirtioMemPlan plan = vmb_virtio_mem_plan(&dev, kib);
    if (plan.change_device) {
        g_autoptr(GError) error = NULL;
        if (!vmb_hypervisor_set_vmem_requested(m->hv, d->uuid, plan.requested_kib, &error)) {
            g_autofree char *msg = g_strdup_printf(
                "cannot resize the virtio-mem device of %s: %s (its balloon does it all)", d->name,
                error->message);
            vmb_mem_log_once("refused", d->uuid, G_LOG_LEVEL_WARNING, msg);
            return kib;
        }
        g_info("virtio-mem of %s: requested %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
               " MiB (plugged %" G_GUINT64_FORMAT " MiB)",
               d->name, v->requested_kib / 1024, plan.requested_kib / 1024, v->plugged_kib / 1024);
    }
    return plan.balloon_kib;
}

/* Sets the balloon target of @d and remembers it (what it started from, and where a grow
 * started for vmb_mem_guest_take()). */
static ChangeOutcome
set_target(MemCycle *m, const VmbDomainStat *d, MemHistory *h, const VmbMemChange *ch)
{
    g_autoptr(GError) error = NULL;
    guint64 balloon_kib = size_virtio_mem(m, d, ch->new_kib);
    if (!vmb_hypervisor_set_memory(m->hv, d->uuid, balloon_kib, &error)) {
        if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN)) {
            g_debug("%s vanished before its memory was set", d->name);
            return CHANGE_NONE;
        }
        m->result->failed++;
        m->t->errors++;
        if (g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED)) {
            /* the connection's loss is warned about once where it is noticed (hypervisor.c) */
            g_debug("memory of %s not set, the connection is lost: %s", d->name, error->message);
            return CHANGE_CUTOFF;
        }
        g_autofree char *msg =
            g_strdup_printf("cannot set memory of %s to %" G_GUINT64_FORMAT " MiB: %s", d->name,
                            ch->new_kib / 1024, error->message);
        vmb_mem_log_once("refused", d->uuid, G_LOG_LEVEL_WARNING, msg);
        return CHANGE_NONE;
    }
    vmb_mem_log_clear("refused", d->uuid);
    if (ch->reason == VMB_MEM_GROW && !h->grow_base && (d->balloon.fields & VMB_BALLOON_RSS)) {
        h->grow_base = TRUE;
        h->grow_base_actual_kib = d->balloon.current_kib;
        h->grow_base_rss_kib = d->balloon.rss_kib;
    }
    h->vmem_plugged_kib = d->vmem.plugged_kib;
    /* Accepting where the balloon went is no target of ours: a rise the guest did not make
     * (no autodeflate) is still judged as someone else's. */
    if (ch->reason != VMB_MEM_ACCEPT)
        vmb_foreign_targets_made(m->t->foreign, d->uuid, balloon_kib);
    h->target_kib = balloon_kib;
    h->target_from_kib = ch->reason == VMB_MEM_ACCEPT ? ch->new_kib : ch->old_kib;
    h->target_wall_s = m->s->wall_s;
    h->target_mono_us = m->s->mono_us;
    h->inflate_done = FALSE;
    m->t->changes++;
    return CHANGE_MADE;
}

/* Nothing changes in dry-run: a would-be target is reported once, not every cycle. */
static gboolean
dry_run_new_target(MemHistory *h, const VmbMemChange *ch)
{
    if (h->dry_target_kib && ABS((gint64) h->dry_target_kib - (gint64) ch->new_kib) <=
                                 (gint64) vmb_mem_tolerance(ch->new_kib))
        return FALSE;
    h->dry_target_kib = ch->new_kib;
    return TRUE;
}

/* Logs a change made (or one that would be, in dry-run) and hands it to the caller. */
static void
report_change(MemCycle *m, const VmbDomainStat *d, const VmbMemChange *ch, const VmbMemPlan *plan)
{
    const VmbMemGuest *g = &m->guests[ch->guest];
    g_autofree char *detail = vmb_mem_change_detail(ch, plan, g);
    VmbAction a = {
        .kind = VMB_ACTION_MEMORY,
        .wall_us = g_get_real_time(),
        .domain = d->name,
        .uuid = d->uuid,
        .old_kib = ch->reason == VMB_MEM_ACCEPT && g->target_kib ? g->target_kib : ch->old_kib,
        .new_kib = ch->new_kib,
        .reason = vmb_mem_reason_to_string(ch->reason),
        .detail = detail,
        .dry_run = m->dry_run,
    };
    vmb_action_log(&a);
    if (m->report)
        m->report(&a, m->report_data);
}

/* Applies the plan's changes in order (or, in dry-run, reports them) until the connection
 * is lost. */
static void
apply_changes(MemCycle *m, const VmbMemPlan *plan)
{
    for (guint k = 0; k < plan->changes->len; k++) {
        const VmbMemChange *ch = &g_array_index(plan->changes, VmbMemChange, k);
        const VmbDomainStat *d = g_ptr_array_index(m->s->domains, ch->guest);
        MemHistory *h = m->hist[ch->guest];
        if (m->dry_run) {
            if (!dry_run_new_target(h, ch))
                continue;
        } else {
            ChangeOutcome o = set_target(m, d, h, ch);
            if (o == CHANGE_CUTOFF)
                break;
            if (o == CHANGE_NONE)
                continue;
        }
        m->result->applied++;
        report_change(m, d, ch, plan);
    }
}

void
vmb_mem_task_run(VmbMemTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                 gboolean dry_run, VmbActionFunc report, gpointer report_data,
                 VmbMemCycleResult *result)
{
    memset(result, 0, sizeof(*result));
    t->cycles++;
    prune(t, s);
    vmb_foreign_targets_observe(t->foreign, s, c);

    guint n = s->domains->len;
    g_autofree VmbMemGuest *guests = g_new0(VmbMemGuest, MAX(n, 1));
    g_autofree MemHistory **hist = g_new0(MemHistory *, MAX(n, 1));
    MemCycle m = {
        .t = t,
        .hv = hv,
        .s = s,
        .c = c,
        .dry_run = dry_run,
        .report = report,
        .report_data = report_data,
        .result = result,
        .guests = guests,
        .hist = hist,
    };
    if (!describe_guests(&m))
        return; /* connection lost: the next cycle starts over */
    g_autoptr(VmbMemPlan) plan = plan_cycle(&m);
    apply_changes(&m, plan);
}
