/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-meta.h"

#include <string.h>

#include "log.h"
#include "numa-mark.h"

/* Backends read the element only when a domain appears and after it changed, so a refusal is
 * logged each time it is read: once per appearance or change (another wrong value is said
 * again). */
gboolean
vmb_domain_meta_load(const char *name, const char *uuid, const char *xml, VmbDomainPolicy *out)
{
    g_autoptr(GError) error = NULL;
    if (!xml) {
        memset(out, 0, sizeof *out);
        return TRUE;
    }
    if (vmb_domain_policy_parse(xml, -1, out, &error))
        return TRUE;
    g_warning("domain %s: metadata vmbalance:policy (%s) refused: %s; the host's settings "
              "apply to it",
              name, VMB_POLICY_XMLNS, error->message);
    return FALSE;
}

/* Said once per domain until a record of it reads well again: the fake backend reads it at
 * every snapshot, libvirt's on first sight. */
gboolean
vmb_numa_mark_load(const char *name, const char *uuid, const char *xml, VmbNumatuneMode mode,
                   const VmbCpuSet *nodes)
{
    g_autofree char *key = g_strdup_printf("numa-mark:%s", uuid);
    g_autoptr(GError) error = NULL;
    VmbCpuSet mark;
    if (!xml) {
        vmb_log_once_clear(key);
        return FALSE;
    }
    if (!vmb_numa_mark_parse(xml, -1, &mark, &error)) {
        vmb_log_once(key, G_LOG_LEVEL_WARNING,
                     "domain %s: metadata " VMB_NUMA_MARK_PREFIX ":" VMB_NUMA_MARK_ELEMENT
                     " (%s) ignored: %s; its numatune counts as the operator's",
                     name, VMB_NUMA_MARK_XMLNS, error->message);
        return FALSE;
    }
    vmb_log_once_clear(key);
    return vmb_numa_mark_matches(&mark, mode, nodes);
}

guint
vmb_domain_def_load(const char *name, const char *uuid, const char *xml)
{
    g_autofree char *key = g_strdup_printf("definition:%s", uuid);
    g_autoptr(GError) error = NULL;
    guint bits = 0;
    if (!vmb_domain_def_classify(xml, -1, &bits, &error)) {
        vmb_log_once(key, G_LOG_LEVEL_WARNING,
                     "domain %s: cannot read its persistent definition (%s): no hands-off "
                     "rule from it applies",
                     name, error->message);
        return 0;
    }
    vmb_log_once_clear(key);
    if (bits) {
        g_autofree char *why = vmb_hands_off_describe(bits);
        g_message("domain %s: %s: vmbalanced leaves its %s alone", name, why,
                  (bits & VMB_HANDS_OFF_CPU) && (bits & VMB_HANDS_OFF_MEMORY) ? "vCPUs and memory"
                  : (bits & VMB_HANDS_OFF_CPU)                                ? "vCPUs"
                                                                              : "memory");
    }
    return bits;
}

void
vmb_domain_effective(const VmbConfig *c, const VmbDomainStat *d, VmbEffectivePolicy *out)
{
    vmb_domain_effective_full(c, d, FALSE, FALSE, out);
}

void
vmb_domain_effective_full(const VmbConfig *c, const VmbDomainStat *d, gboolean operator_cpu,
                          gboolean operator_memory, VmbEffectivePolicy *out)
{
    VmbPolicyContext ctx = {
        .config_excluded = vmb_config_is_excluded(c, d->name, d->uuid),
        .cpu_hands_off = (d->hands_off & VMB_HANDS_OFF_CPU & ~VMB_HANDS_OFF_MIGRATING) != 0,
        .memory_hands_off = (d->hands_off & VMB_HANDS_OFF_MEMORY & ~VMB_HANDS_OFF_MIGRATING) != 0,
        .frozen = (d->hands_off & VMB_HANDS_OFF_MIGRATING) != 0,
        .operator_cpu = operator_cpu,
        .operator_memory = operator_memory,
    };
    ctx.config_weighted = vmb_config_mem_weight_find(c, d->name, d->uuid, &ctx.config_weight);
    vmb_domain_policy_resolve(d->policy.set ? &d->policy : NULL, &ctx, out);
}
