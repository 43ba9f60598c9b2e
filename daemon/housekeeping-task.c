/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "housekeeping-task.h"

#include "domain-meta.h"
#include "housekeeping.h"
#include "log.h"

#define RETRY_CYCLES 12 /* a refused pin is tried again after this many cycles */

typedef struct {
    char *applied;      /* the list we pinned it to, NULL: not pinned by us */
    gboolean respected; /* someone else moved it and cpu.foreign_pins = respect */
    guint64 retry_at;   /* cycle before which a refused pin is not tried again */
    gboolean have_sample;
    guint64 cpu_ns, vcpu_ns; /* the last sample, for the load outside the vCPUs */
    gint64 mono_us;
} Memo;

struct _VmbHousekeeping {
    GHashTable *domains; /* uuid -> Memo* */
    guint64 cycle;
    guint64 pins;
};

static void
memo_free(Memo *m)
{
    g_free(m->applied);
    g_free(m);
}

VmbHousekeeping *
vmb_housekeeping_new(void)
{
    VmbHousekeeping *h = g_new0(VmbHousekeeping, 1);
    h->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) memo_free);
    return h;
}

void
vmb_housekeeping_free(VmbHousekeeping *h)
{
    if (!h)
        return;
    g_hash_table_unref(h->domains);
    g_free(h);
}

void
vmb_housekeeping_forget(VmbHousekeeping *h, const char *uuid)
{
    g_hash_table_remove(h->domains, uuid);
    g_autofree char *key = g_strdup_printf("hk-foreign:%s", uuid);
    vmb_log_once_clear(key);
}

guint64
vmb_housekeeping_pins(const VmbHousekeeping *h)
{
    return h->pins;
}

static Memo *
memo_of(VmbHousekeeping *h, const char *uuid)
{
    Memo *m = g_hash_table_lookup(h->domains, uuid);
    if (!m) {
        m = g_new0(Memo, 1);
        g_hash_table_insert(h->domains, g_strdup(uuid), m);
    }
    return m;
}

/* Pins @d's emulator threads and IOThreads to @set (@text); said in the journal. */
static void
pin(VmbHousekeeping *h, VmbHypervisor *hv, const VmbDomainStat *d, Memo *m, const VmbCpuSet *set,
    const char *text, gboolean dry_run)
{
    g_autofree char *key = g_strdup_printf("hk-dry:%s:%s", d->uuid, text);
    if (dry_run) {
        vmb_log_once(key, G_LOG_LEVEL_MESSAGE,
                     "domain %s: would pin its emulator threads and IOThreads to CPUs %s "
                     "(dry-run)",
                     d->name, text);
        return;
    }
    g_autoptr(GError) error = NULL;
    if (!vmb_hypervisor_pin_housekeeping(hv, d->uuid, set, &error)) {
        if (!g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN))
            g_warning("domain %s: cannot pin its emulator threads and IOThreads to CPUs %s "
                      "(tried again in %u cycles): %s",
                      d->name, text, RETRY_CYCLES, error->message);
        m->retry_at = h->cycle + RETRY_CYCLES;
        return;
    }
    g_message("domain %s: emulator threads and IOThreads pinned to CPUs %s "
              "(cpu.housekeeping_cpus)",
              d->name, text);
    g_free(m->applied);
    m->applied = g_strdup(text);
    h->pins++;
}

/* Someone else moved the emulator threads we pinned: said once per domain appearance. */
static gboolean
foreign_moved(const VmbDomainStat *d, Memo *m, gboolean respect)
{
    if (!m->applied || !d->emulator_cpus || g_strcmp0(d->emulator_cpus, m->applied) == 0)
        return FALSE;
    g_autofree char *key = g_strdup_printf("hk-foreign:%s", d->uuid);
    vmb_log_once(key, G_LOG_LEVEL_MESSAGE,
                 "domain %s: its emulator threads were pinned to CPUs %s by someone else "
                 "(vmbalanced had them on %s): %s",
                 d->name, d->emulator_cpus, m->applied,
                 respect ? "kept (cpu.foreign_pins = respect) until the domain restarts"
                         : "pinned back (cpu.foreign_pins = override)");
    m->respected |= respect;
    return TRUE;
}

/* The CPUs a domain's emulator threads go back to when housekeeping is turned off. */
static void
host_cpus(const VmbSnapshot *s, VmbCpuSet *set)
{
    vmb_cpuset_clear(set);
    for (guint p = 0; p < s->npcpus; p++)
        if (!s->topology || s->topology->npcpus != s->npcpus || s->topology->cpu[p].online)
            vmb_cpuset_add(set, p);
}

/* Adds what @d ran outside its vCPUs since the last sample to @bound, when it is ours. */
static void
count_load(const VmbSnapshot *s, const VmbDomainStat *d, Memo *m, const VmbCpuSet *hk,
           const char *text, double *bound)
{
    guint64 vcpu_ns = 0;
    for (guint v = 0; v < d->nvcpus; v++)
        vcpu_ns += d->vcpus[v].time_ns;
    if (m->have_sample && g_strcmp0(m->applied, text) == 0 && !m->respected)
        vmb_hk_spread(hk, s->npcpus,
                      vmb_hk_other_load(m->cpu_ns, m->vcpu_ns, d->cpu_time_ns, vcpu_ns,
                                        s->mono_us - m->mono_us),
                      bound);
    m->have_sample = TRUE;
    m->cpu_ns = d->cpu_time_ns;
    m->vcpu_ns = vcpu_ns;
    m->mono_us = s->mono_us;
}

/* The list was emptied: what we pinned goes back to all CPUs; a foreign pin stays. */
static void
unpin(VmbHousekeeping *h, VmbHypervisor *hv, const VmbDomainStat *d, Memo *m, const VmbCpuSet *all,
      const char *all_text, gboolean dry_run)
{
    if (!m->applied)
        return;
    gboolean foreign = d->emulator_cpus && g_strcmp0(d->emulator_cpus, m->applied) != 0;
    if (!foreign)
        pin(h, hv, d, m, all, all_text, dry_run);
    if (foreign || g_strcmp0(m->applied, all_text) == 0)
        g_clear_pointer(&m->applied, g_free);
}

static gboolean
in_effect(const VmbSnapshot *s, const VmbConfig *c)
{
    if (vmb_cpuset_is_empty(&c->cpu_housekeeping))
        return FALSE;
    g_autoptr(GError) error = NULL;
    if (!vmb_hk_check(&c->cpu_housekeeping, s->npcpus, s->topology, &error)) {
        vmb_log_once("hk-invalid", G_LOG_LEVEL_WARNING,
                     "%s: emulator threads are not pinned and vCPUs may use every CPU",
                     error->message);
        return FALSE;
    }
    vmb_log_once_clear("hk-invalid");
    return TRUE;
}

gboolean
vmb_housekeeping_run(VmbHousekeeping *h, VmbHypervisor *hv, const VmbSnapshot *s,
                     const VmbConfig *c, gboolean dry_run, double *bound)
{
    h->cycle++;
    gboolean on = in_effect(s, c);
    g_autofree char *text = on ? vmb_cpuset_format(&c->cpu_housekeeping) : NULL;
    gboolean respect = vmb_config_respects_foreign_pins(c);
    VmbCpuSet all;
    host_cpus(s, &all);
    g_autofree char *all_text = vmb_cpuset_format(&all);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        Memo *m = memo_of(h, d->uuid);
        VmbEffectivePolicy eff;
        vmb_domain_effective(c, d, &eff);
        if (on)
            count_load(s, d, m, &c->cpu_housekeeping, text, bound);
        if (!eff.cpu_managed || m->respected || h->cycle < m->retry_at)
            continue;
        if (!on) {
            unpin(h, hv, d, m, &all, all_text, dry_run);
            continue;
        }
        gboolean ours = g_strcmp0(m->applied, text) == 0;
        if (!ours || (foreign_moved(d, m, respect) && !respect))
            pin(h, hv, d, m, &c->cpu_housekeeping, text, dry_run);
    }
    return on;
}
