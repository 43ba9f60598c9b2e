/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status.h"

#include "topo-load.h"

#include <string.h>

typedef struct {
    char *uuid;
    guint vcpu;
    gint pcpu;
    char *cpus; /* a set pin's CPU list, NULL for one pCPU */
} PinChange;

struct _VmbStatus {
    gboolean dry_run;
    VmbTaskStatus tasks[VMB_N_TASKS];
    VmbStatusCounters counters;
    VmbHostMemoryStatus host_memory;
    char *degraded_reason; /* NULL while healthy */
    double host_floating;  /* -1 not measured */
    GArray *reasons;       /* VmbReasonCount owning its reason, sorted */
    char *topology;        /* vmb_status_topology(), NULL before the first snapshot */
    GArray *node_loads;    /* VmbNodeLoadStatus, NULL without a known topology */
    GArray *core_loads;    /* VmbCoreLoadStatus owning cpus */

    gint64 snapshot_wall_us;
    GArray *pcpus;      /* VmbPcpuStatus; NULL before the first snapshot */
    GPtrArray *domains; /* VmbDomainStatus*; NULL before the first snapshot */

    GPtrArray *history;  /* VmbAction* owning its strings; a ring once full */
    guint history_head;  /* index of the oldest entry once the ring is full */
    GHashTable *targets; /* uuid -> guint64* last balloon target we set, KiB */
    /* Actions are reported during a cycle, after its snapshot was taken but before it is
     * published: the pins made then are pending until it is, then settled on top of it. */
    GArray *pending_pins; /* PinChange, made in the cycle under way */
    GArray *applied_pins; /* PinChange, made after the last snapshot was taken */
};

static const char *const task_names[VMB_N_TASKS] = {"cpu", "memory"};

const char *
vmb_task_name(VmbTaskId task)
{
    g_return_val_if_fail(task < VMB_N_TASKS, NULL);
    return task_names[task];
}

static void
reason_count_clear(VmbReasonCount *r)
{
    g_free((char *) r->reason);
}

static void
pin_change_clear(PinChange *p)
{
    g_free(p->uuid);
    g_free(p->cpus);
}

static void
history_entry_free(VmbAction *h)
{
    g_free((char *) h->domain);
    g_free((char *) h->uuid);
    g_free((char *) h->from_cpus);
    g_free((char *) h->to_cpus);
    g_free((char *) h->reason);
    g_free((char *) h->detail);
    g_free(h);
}

/* A copy that owns its strings, never NULL, with only the fields of its kind set. */
static VmbAction *
history_entry_new(const VmbAction *a)
{
    VmbAction *h = g_new0(VmbAction, 1);
    h->kind = a->kind;
    h->wall_us = a->wall_us;
    h->domain = g_strdup(a->domain ? a->domain : "");
    h->uuid = g_strdup(a->uuid ? a->uuid : "");
    h->reason = g_strdup(a->reason ? a->reason : "");
    h->detail = g_strdup(a->detail ? a->detail : "");
    h->dry_run = a->dry_run;
    if (a->kind == VMB_ACTION_PIN) {
        h->vcpu = a->vcpu;
        h->from_pcpu = a->from_pcpu;
        h->to_pcpu = a->to_pcpu;
        h->from_cpus = g_strdup(a->from_cpus);
        h->to_cpus = g_strdup(a->to_cpus);
    } else {
        h->old_kib = a->old_kib;
        h->new_kib = a->new_kib;
    }
    return h;
}

VmbStatus *
vmb_status_new(gboolean dry_run)
{
    VmbStatus *s = g_new0(VmbStatus, 1);
    s->dry_run = dry_run;
    s->host_floating = -1;
    s->reasons = g_array_new(FALSE, FALSE, sizeof(VmbReasonCount));
    g_array_set_clear_func(s->reasons, (GDestroyNotify) reason_count_clear);
    s->history = g_ptr_array_new_with_free_func((GDestroyNotify) history_entry_free);
    s->targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    s->pending_pins = g_array_new(FALSE, FALSE, sizeof(PinChange));
    s->applied_pins = g_array_new(FALSE, FALSE, sizeof(PinChange));
    g_array_set_clear_func(s->pending_pins, (GDestroyNotify) pin_change_clear);
    g_array_set_clear_func(s->applied_pins, (GDestroyNotify) pin_change_clear);
    return s;
}

void
vmb_status_free(VmbStatus *s)
{
    if (!s)
        return;
    g_free(s->degraded_reason);
    g_array_unref(s->reasons);
    g_free(s->topology);
    g_clear_pointer(&s->node_loads, g_array_unref);
    g_clear_pointer(&s->core_loads, g_array_unref);
    g_clear_pointer(&s->pcpus, g_array_unref);
    g_clear_pointer(&s->domains, g_ptr_array_unref);
    g_ptr_array_unref(s->history);
    g_hash_table_unref(s->targets);
    g_array_unref(s->pending_pins);
    g_array_unref(s->applied_pins);
    g_free(s);
}

/* ---- readers ---- */

const VmbTaskStatus *
vmb_status_task(const VmbStatus *s, VmbTaskId task)
{
    g_return_val_if_fail(task < VMB_N_TASKS, NULL);
    return &s->tasks[task];
}

const VmbStatusCounters *
vmb_status_counters(const VmbStatus *s)
{
    return &s->counters;
}

const VmbHostMemoryStatus *
vmb_status_host_memory(const VmbStatus *s)
{
    return &s->host_memory;
}

const char *
vmb_status_degraded_reason(const VmbStatus *s)
{
    return s->degraded_reason;
}

gboolean
vmb_status_dry_run(const VmbStatus *s)
{
    return s->dry_run;
}

gboolean
vmb_status_has_snapshot(const VmbStatus *s)
{
    return s->domains != NULL;
}

gint64
vmb_status_snapshot_wall_us(const VmbStatus *s)
{
    return s->domains ? s->snapshot_wall_us : 0;
}

const VmbPcpuStatus *
vmb_status_pcpus(const VmbStatus *s, guint *n)
{
    *n = s->pcpus ? s->pcpus->len : 0;
    return s->pcpus ? &g_array_index(s->pcpus, VmbPcpuStatus, 0) : NULL;
}

double
vmb_status_host_floating(const VmbStatus *s)
{
    return s->host_floating;
}

guint
vmb_status_n_domains(const VmbStatus *s)
{
    return s->domains ? s->domains->len : 0;
}

const VmbDomainStatus *
vmb_status_domain(const VmbStatus *s, guint i)
{
    g_return_val_if_fail(i < vmb_status_n_domains(s), NULL);
    return g_ptr_array_index(s->domains, i);
}

guint
vmb_status_history_length(const VmbStatus *s)
{
    return s->history->len;
}

const VmbAction *
vmb_status_history_nth(const VmbStatus *s, guint i)
{
    g_return_val_if_fail(i < s->history->len, NULL);
    return g_ptr_array_index(s->history, (s->history_head + i) % s->history->len);
}

const VmbAction *
vmb_status_last_action(const VmbStatus *s)
{
    guint n = s->history->len;
    return n ? vmb_status_history_nth(s, n - 1) : NULL;
}

guint
vmb_status_n_reasons(const VmbStatus *s)
{
    return s->reasons->len;
}

const VmbReasonCount *
vmb_status_reason_nth(const VmbStatus *s, guint i)
{
    g_return_val_if_fail(i < s->reasons->len, NULL);
    return &g_array_index(s->reasons, VmbReasonCount, i);
}

/* ---- the writer ---- */

/* One more change of @kind for @reason, kept in (kind, reason) order: a reader lists them
 * the same way every time. */
static void
count_reason(VmbStatus *s, VmbActionKind kind, const char *reason)
{
    guint i = 0;
    for (; i < s->reasons->len; i++) {
        VmbReasonCount *r = &g_array_index(s->reasons, VmbReasonCount, i);
        int cmp = r->kind != kind ? (int) r->kind - (int) kind : strcmp(r->reason, reason);
        if (cmp == 0) {
            r->count++;
            return;
        }
        if (cmp > 0)
            break;
    }
    VmbReasonCount r = {kind, g_strdup(reason), 1};
    g_array_insert_val(s->reasons, i, r);
}

static void
history_push(VmbStatus *s, VmbAction *h)
{
    if (s->history->len < VMB_STATUS_HISTORY_MAX) {
        g_ptr_array_add(s->history, h);
        return;
    }
    /* Full: the newest takes the oldest's slot. */
    history_entry_free(g_ptr_array_index(s->history, s->history_head));
    g_ptr_array_index(s->history, s->history_head) = h;
    s->history_head = (s->history_head + 1) % s->history->len;
}

void
vmb_status_record_action(VmbStatus *s, const VmbAction *a)
{
    VmbAction *h = history_entry_new(a);
    if (!a->dry_run && a->kind == VMB_ACTION_PIN) {
        PinChange p = {g_strdup(h->uuid), h->vcpu, h->to_cpus ? -1 : (gint) h->to_pcpu,
                       g_strdup(h->to_cpus)};
        g_array_append_val(s->pending_pins, p);
        s->counters.pin_changes++;
        count_reason(s, h->kind, h->reason);
    } else if (!a->dry_run) {
        g_hash_table_insert(s->targets, g_strdup(h->uuid),
                            g_memdup2(&h->new_kib, sizeof(h->new_kib)));
        s->counters.memory_changes++;
        count_reason(s, h->kind, h->reason);
    }
    history_push(s, h);
}

void
vmb_status_settle_pins(VmbStatus *s)
{
    GArray *tmp = s->applied_pins;
    s->applied_pins = s->pending_pins;
    s->pending_pins = tmp;
    g_array_set_size(s->pending_pins, 0);
}

static gboolean
has_domain(GPtrArray *domains, const char *uuid)
{
    for (guint i = 0; i < domains->len; i++) {
        const VmbDomainStatus *d = g_ptr_array_index(domains, i);
        if (g_str_equal(d->uuid, uuid))
            return TRUE;
    }
    return FALSE;
}

/* The settled pins (later ones win) and the targets on top of the snapshot's figures. */
static void
overlay(VmbStatus *s, VmbDomainStatus *d)
{
    for (guint i = 0; i < s->applied_pins->len; i++) {
        const PinChange *p = &g_array_index(s->applied_pins, PinChange, i);
        if (p->vcpu < d->nvcpus && g_str_equal(p->uuid, d->uuid)) {
            d->vcpus[p->vcpu].pcpu = p->pcpu;
            g_free(d->vcpus[p->vcpu].cpus);
            d->vcpus[p->vcpu].cpus = g_strdup(p->cpus);
        }
    }
    const guint64 *target = g_hash_table_lookup(s->targets, d->uuid);
    d->target_kib = target ? (gint64) *target : -1;
}

void
vmb_status_set_domains(VmbStatus *s, gint64 wall_us, GArray *pcpus, GPtrArray *domains)
{
    g_clear_pointer(&s->pcpus, g_array_unref);
    g_clear_pointer(&s->domains, g_ptr_array_unref);
    s->snapshot_wall_us = wall_us;
    s->pcpus = pcpus;
    s->domains = domains;
    if (!domains)
        return;

    GHashTableIter it;
    gpointer uuid;
    g_hash_table_iter_init(&it, s->targets);
    while (g_hash_table_iter_next(&it, &uuid, NULL)) {
        if (!has_domain(domains, uuid))
            g_hash_table_iter_remove(&it);
    }
    for (guint i = 0; i < domains->len; i++)
        overlay(s, g_ptr_array_index(domains, i));
}

void
vmb_status_set_task(VmbStatus *s, VmbTaskId task, const VmbTaskStatus *view)
{
    g_return_if_fail(task < VMB_N_TASKS);
    s->tasks[task] = *view;
}

void
vmb_status_set_host_memory(VmbStatus *s, const VmbHostMemoryStatus *m)
{
    s->host_memory = *m;
}

void
vmb_status_set_host_floating(VmbStatus *s, double percent)
{
    s->host_floating = percent;
}

void
vmb_status_add_errors(VmbStatus *s, guint64 n)
{
    s->counters.errors += n;
}

void
vmb_status_add_move_outcomes(VmbStatus *s, guint64 helped, guint64 failed)
{
    s->counters.moves_helped += helped;
    s->counters.moves_failed += failed;
}

gboolean
vmb_status_set_degraded(VmbStatus *s, const char *reason)
{
    if (g_strcmp0(s->degraded_reason, reason) == 0)
        return FALSE;
    g_free(s->degraded_reason);
    s->degraded_reason = g_strdup(reason);
    return TRUE;
}

VmbDomainStatus *
vmb_domain_status_new(const char *name, const char *uuid, guint nvcpus)
{
    VmbDomainStatus *d = g_new0(VmbDomainStatus, 1);
    d->name = g_strdup(name);
    d->uuid = g_strdup(uuid);
    d->nvcpus = nvcpus;
    d->vcpus = g_new(VmbVcpuStatus, nvcpus);
    for (guint v = 0; v < nvcpus; v++)
        d->vcpus[v] = (VmbVcpuStatus){.pcpu = -1, .load = -1, .wait = -1};
    d->actual_kib = d->usable_kib = d->maximum_kib = d->target_kib = -1;
    return d;
}

void
vmb_domain_status_free(VmbDomainStatus *d)
{
    if (!d)
        return;
    g_free(d->name);
    g_free(d->uuid);
    for (guint v = 0; v < d->nvcpus; v++)
        g_free(d->vcpus[v].cpus);
    g_free(d->vcpus);
    g_free(d);
}

const char *
vmb_status_topology(const VmbStatus *s)
{
    return s->topology ? s->topology : "";
}

void
vmb_status_set_topology(VmbStatus *s, const char *text)
{
    if (g_strcmp0(s->topology, text) == 0)
        return;
    g_free(s->topology);
    s->topology = g_strdup(text);
}

const VmbNodeLoadStatus *
vmb_status_node_loads(const VmbStatus *s, guint *n)
{
    *n = s->node_loads ? s->node_loads->len : 0;
    return s->node_loads ? (const VmbNodeLoadStatus *) s->node_loads->data : NULL;
}

const VmbCoreLoadStatus *
vmb_status_core_loads(const VmbStatus *s, guint *n)
{
    *n = s->core_loads ? s->core_loads->len : 0;
    return s->core_loads ? (const VmbCoreLoadStatus *) s->core_loads->data : NULL;
}

static void
core_load_clear(VmbCoreLoadStatus *c)
{
    g_free(c->cpus);
}

/* "0,16": the pCPUs of core @k. */
static char *
core_cpus(const VmbTopology *t, guint k)
{
    GString *out = g_string_new(NULL);
    for (guint i = t->core_first[k]; i < t->core_first[k + 1]; i++)
        g_string_append_printf(out, "%s%u", out->len ? "," : "", t->core_cpus[i]);
    return g_string_free(out, FALSE);
}

void
vmb_status_set_topology_load(VmbStatus *s, const VmbTopology *t, const double *busy, guint npcpus)
{
    g_clear_pointer(&s->node_loads, g_array_unref);
    g_clear_pointer(&s->core_loads, g_array_unref);
    if (!t || !t->known || t->npcpus != npcpus || !busy)
        return;
    g_autofree double *node = g_new(double, t->nnodes);
    g_autofree double *core = g_new(double, t->ncores);
    vmb_topo_load(t, busy, npcpus, node, core);
    s->node_loads = g_array_sized_new(FALSE, TRUE, sizeof(VmbNodeLoadStatus), t->nnodes);
    g_array_set_size(s->node_loads, t->nnodes);
    s->core_loads = g_array_sized_new(FALSE, TRUE, sizeof(VmbCoreLoadStatus), t->ncores);
    g_array_set_clear_func(s->core_loads, (GDestroyNotify) core_load_clear);
    g_array_set_size(s->core_loads, t->ncores);
    for (guint i = 0; i < t->nnodes; i++)
        g_array_index(s->node_loads, VmbNodeLoadStatus, i) =
            (VmbNodeLoadStatus){.node = t->node_id[i], .load = node[i]};
    for (guint k = 0; k < t->ncores; k++) {
        const VmbPcpuTopo *first = &t->cpu[t->core_cpus[t->core_first[k]]];
        g_array_index(s->core_loads, VmbCoreLoadStatus, k) = (VmbCoreLoadStatus){
            .socket = first->socket,
            .node = t->node_id[first->node],
            .cpus = core_cpus(t, k),
            .load = core[k],
        };
    }
    for (guint p = 0; p < t->npcpus; p++)
        if (t->cpu[p].online)
            g_array_index(s->node_loads, VmbNodeLoadStatus, t->cpu[p].node).ncpus++;
}
