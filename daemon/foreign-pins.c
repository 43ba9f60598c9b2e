/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "foreign-pins.h"

#include "domain-meta.h"
#include "log.h"

typedef struct {
    guint nvcpus;
    VmbVcpuStat *pin; /* [nvcpus] as last seen or pinned by us: one pCPU, a set or none */
    gboolean respected;
} Memo;

struct _VmbForeignPins {
    GHashTable *domains; /* uuid -> Memo* */
    guint npcpus;        /* host CPUs of the last snapshot: a pin to all of them floats */
};

static void
memo_free(Memo *m)
{
    for (guint v = 0; v < m->nvcpus; v++)
        g_free(m->pin[v].cpus);
    g_free(m->pin);
    g_free(m);
}

VmbForeignPins *
vmb_foreign_pins_new(void)
{
    VmbForeignPins *f = g_new0(VmbForeignPins, 1);
    f->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) memo_free);
    return f;
}

void
vmb_foreign_pins_free(VmbForeignPins *f)
{
    if (!f)
        return;
    g_hash_table_unref(f->domains);
    g_free(f);
}

static char *
where(const VmbVcpuStat *pin)
{
    if (pin->cpus) {
        g_autofree char *list = vmb_cpuset_format(pin->cpus);
        return g_strdup_printf("pCPUs %s", list);
    }
    return pin->pcpu < 0 ? g_strdup("all pCPUs") : g_strdup_printf("pCPU %d", pin->pcpu);
}

static gboolean
same_pin(const VmbVcpuStat *a, const VmbVcpuStat *b)
{
    if (a->cpus || b->cpus)
        return a->cpus && b->cpus && vmb_cpuset_equal(a->cpus, b->cpus);
    return a->pcpu == b->pcpu;
}

static void
remember(VmbVcpuStat *memo, gint pcpu, const VmbCpuSet *cpus)
{
    g_free(memo->cpus);
    memo->pcpu = pcpu;
    memo->cpus = cpus ? g_memdup2(cpus, sizeof(*cpus)) : NULL;
}

/* Said once per domain appearance: what changed, what vmbalanced does, how to make it stick. */
static void
notice(const VmbDomainStat *d, guint vcpu, const VmbVcpuStat *before, const VmbVcpuStat *now,
       gboolean respect)
{
    g_autofree char *key = g_strdup_printf("foreign-pin:%s", d->uuid);
    g_autofree char *from = where(before), *to = where(now);
    if (respect)
        vmb_log_once(key, G_LOG_LEVEL_MESSAGE,
                     "domain %s: vCPU %u was pinned to %s by someone else (vmbalanced had it on "
                     "%s): kept, with its load counted there (cpu.foreign_pins = respect), "
                     "until `vmbalancectl domain %s reset cpu` or the domain restarts",
                     d->name, vcpu, to, from, d->name);
    else
        vmb_log_once(key, G_LOG_LEVEL_MESSAGE,
                     "domain %s: vCPU %u was pinned to %s by someone else (vmbalanced had it on "
                     "%s): the balancer places it as it sees fit (cpu.foreign_pins = override); "
                     "to keep such pins, set metadata cpu=\"off\" (`vmbalancectl domain %s set "
                     "cpu off`), add it to daemon.exclude, or set cpu.foreign_pins = respect",
                     d->name, vcpu, to, from, d->name);
}

void
vmb_foreign_pins_observe(VmbForeignPins *f, const VmbSnapshot *s, const VmbConfig *c)
{
    gboolean respect = vmb_config_respects_foreign_pins(c);
    f->npcpus = s->npcpus;
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        Memo *m = g_hash_table_lookup(f->domains, d->uuid);
        VmbEffectivePolicy eff;
        vmb_domain_effective(c, d, &eff);
        if (m && m->nvcpus == d->nvcpus && eff.cpu_managed) {
            for (guint v = 0; v < d->nvcpus; v++) {
                if (same_pin(&d->vcpus[v], &m->pin[v]))
                    continue;
                notice(d, v, &m->pin[v], &d->vcpus[v], respect);
                m->respected |= respect;
            }
        } else if (!m || m->nvcpus != d->nvcpus) {
            /* First sight or vCPUs hot-plugged: nothing to compare with. */
            gboolean respected = m && m->respected;
            m = g_new0(Memo, 1);
            m->respected = respected;
            m->nvcpus = d->nvcpus;
            m->pin = g_new0(VmbVcpuStat, d->nvcpus);
            g_hash_table_replace(f->domains, g_strdup(d->uuid), m);
        }
        for (guint v = 0; v < d->nvcpus; v++)
            remember(&m->pin[v], d->vcpus[v].pcpu, d->vcpus[v].cpus);
    }
}

void
vmb_foreign_pins_made(VmbForeignPins *f, const char *uuid, guint vcpu, const VmbCpuSet *cpus)
{
    Memo *m = g_hash_table_lookup(f->domains, uuid);
    if (!m || vcpu >= m->nvcpus)
        return;
    VmbVcpuStat as_seen = {0}; /* as a snapshot will show it */
    vmb_vcpu_stat_set_pin(&as_seen, cpus, f->npcpus);
    remember(&m->pin[vcpu], as_seen.pcpu, as_seen.cpus);
    g_free(as_seen.cpus);
}

gboolean
vmb_foreign_pins_respected(const VmbForeignPins *f, const char *uuid)
{
    const Memo *m = g_hash_table_lookup(f->domains, uuid);
    return m && m->respected;
}

gboolean
vmb_foreign_pins_release(VmbForeignPins *f, const char *uuid)
{
    Memo *m = g_hash_table_lookup(f->domains, uuid);
    if (!m || !m->respected)
        return FALSE;
    m->respected = FALSE;
    g_autofree char *key = g_strdup_printf("foreign-pin:%s", uuid);
    vmb_log_once_clear(key); /* a later foreign pin is said again */
    return TRUE;
}

void
vmb_foreign_pins_forget(VmbForeignPins *f, const char *uuid)
{
    g_hash_table_remove(f->domains, uuid);
    g_autofree char *key = g_strdup_printf("foreign-pin:%s", uuid);
    vmb_log_once_clear(key);
}
