/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-numa-task.h"

#include "log.h"

void
vmb_numa_task_init(VmbNumaTask *t)
{
    *t = (VmbNumaTask){0};
    t->ours = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    t->failed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void
vmb_numa_task_clear(VmbNumaTask *t)
{
    g_clear_pointer(&t->ours, g_hash_table_unref);
    g_clear_pointer(&t->failed, g_hash_table_unref);
}

void
vmb_numa_task_forget(VmbNumaTask *t, const char *uuid)
{
    g_hash_table_remove(t->ours, uuid);
    g_hash_table_remove(t->failed, uuid);
    g_autofree char *key = g_strdup_printf("numa-home/%s", uuid);
    vmb_log_once_clear(key);
}

/* A numatune in its live definition that we did not set (or set elsewhere) is the
 * operator's: hands off its memory. Ours is what the backend finds recorded beside it (which
 * outlives a restart of the daemon), or a move of this run whose record could not be written. */
static gboolean
bound_by_operator(const VmbNumaTask *t, const VmbDomainStat *d)
{
    gint ours = GPOINTER_TO_INT(g_hash_table_lookup(t->ours, d->uuid)); /* node + 1, 0 none */
    return d->numatune && !d->numatune_ours && (ours == 0 || ours != d->mem_node + 1);
}

/* A move of it failed less than an interval ago. */
static gboolean
failed_lately(const VmbNumaTask *t, const VmbDomainStat *d, gint64 now_us, guint interval_s)
{
    const gint64 *at = g_hash_table_lookup(t->failed, d->uuid);
    return at && now_us - *at < (gint64) interval_s * G_USEC_PER_SEC;
}

static gint
host_node(const VmbSnapshot *s, guint node)
{
    return s->topology && node < s->topology->nnodes ? s->topology->node_id[node] : (gint) node;
}

static void
log_home(const VmbSnapshot *s, const VmbDomainStat *d, const VmbNumaHome *h, gboolean dry_run)
{
    char from[16], to[16], need[G_ASCII_DTOSTR_BUF_SIZE], rf[G_ASCII_DTOSTR_BUF_SIZE],
        rt[G_ASCII_DTOSTR_BUF_SIZE];
    g_snprintf(from, sizeof(from), "%d", host_node(s, h->from));
    g_snprintf(to, sizeof(to), "%d", host_node(s, h->to));
    g_snprintf(need, sizeof(need), "%.1f", h->need);
    g_snprintf(rf, sizeof(rf), "%.1f", h->room_from);
    g_snprintf(rt, sizeof(rt), "%.1f", h->room_to);
    // clang-format off
    const char *fields[] = {
        "DOMAIN", d->name,
        "DOMAIN_UUID", d->uuid,
        "REASON", "numa-home",
        "FROM_NODE", from,
        "TO_NODE", to,
        "NEED_CORES", need,
        "ROOM_FROM", rf,
        "ROOM_TO", rt,
        "DRY_RUN", dry_run ? "1" : "0",
        NULL};
    // clang-format on
    vmb_log_fields(G_LOG_LEVEL_MESSAGE, VMB_MSGID_NUMA_HOME, fields,
                   "%smemory of %s from node %s to node %s (numa-home): its vCPUs run on "
                   "several nodes and need %.1f cores, node %s has %.1f beside the others "
                   "there, node %s has %.1f",
                   dry_run ? "would move " : "moving ", d->name, from, to, h->need, from,
                   h->room_from, to, h->room_to);
}

/* The request; a failure is logged once per domain and bars it for the interval. */
static gboolean
move_memory(VmbNumaTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbDomainStat *d,
            const VmbNumaHome *h)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *key = g_strdup_printf("numa-home/%s", d->uuid);
    if (vmb_hypervisor_set_memory_node(hv, d->uuid, h->to, &error)) {
        vmb_log_once_clear(key);
        g_hash_table_insert(t->ours, g_strdup(d->uuid), GINT_TO_POINTER((gint) h->to + 1));
        t->moves++;
        return TRUE;
    }
    t->errors++;
    g_hash_table_insert(t->failed, g_strdup(d->uuid), g_memdup2(&s->mono_us, sizeof(gint64)));
    vmb_log_once(key, G_LOG_LEVEL_WARNING,
                 "cannot move the memory of %s to node %d (not tried again for the "
                 "numa_move_interval; said once): %s",
                 d->name, host_node(s, h->to), error->message);
    return FALSE;
}

gboolean
vmb_numa_task_run(VmbNumaTask *t, VmbHypervisor *hv, const VmbSnapshot *s, const VmbConfig *c,
                  const VmbCpuProblem *p, gboolean stable, gboolean dry_run, GArray *moves)
{
    guint n = s->domains->len;
    guint interval = c->cpu_numa_move_interval;
    if (interval == 0 || n == 0)
        return FALSE;
    g_autofree VmbNumaHomeDomain *doms = g_new0(VmbNumaHomeDomain, n);
    for (guint i = 0; i < n; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        doms[i].may_move = !bound_by_operator(t, d) && !failed_lately(t, d, s->mono_us, interval);
        doms[i].mem_kib = d->balloon.current_kib; /* 0 unknown */
    }
    VmbNumaHomeProblem hp = {
        .p = p,
        .domains = doms,
        .n_domains = n,
        .stable = stable,
        .since_last_s =
            t->last_us ? (double) (s->mono_us - t->last_us) / G_USEC_PER_SEC : G_MAXDOUBLE,
        .interval_s = interval,
    };
    VmbNumaHome h;
    guint before = moves->len;
    if (!vmb_cpu_numa_home(&hp, &h, moves))
        return FALSE;
    const VmbDomainStat *d = g_ptr_array_index(s->domains, h.domain);
    t->last_us = s->mono_us; /* a failure too: one try per interval */
    if (!dry_run && !move_memory(t, hv, s, d, &h)) {
        g_array_set_size(moves, before);
        return FALSE;
    }
    log_home(s, d, &h, dry_run);
    return TRUE;
}
