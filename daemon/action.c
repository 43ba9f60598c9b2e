/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "action.h"

#include "log.h"

char *
vmb_action_cpus(const VmbAction *a, gboolean to)
{
    if (to)
        return a->to_cpus ? g_strdup(a->to_cpus) : g_strdup_printf("%u", a->to_pcpu);
    if (a->from_cpus)
        return g_strdup(a->from_cpus);
    return a->from_pcpu >= 0 ? g_strdup_printf("%d", a->from_pcpu) : g_strdup("");
}

void
vmb_action_log(const VmbAction *a)
{
    const char *prefix = a->dry_run ? "would " : "";
    if (a->kind == VMB_ACTION_PIN) {
        g_autofree char *vcpu = g_strdup_printf("%u", a->vcpu);
        g_autofree char *from = g_strdup_printf("%d", a->from_pcpu);
        g_autofree char *to = g_strdup_printf("%u", a->to_pcpu);
        /* FROM_CPUS / TO_CPUS: the pin as a CPU list, a set pin's whole set */
        g_autofree char *from_cpus = a->from_cpus        ? g_strdup(a->from_cpus)
                                     : a->from_pcpu >= 0 ? g_strdup(from)
                                                         : g_strdup("all");
        g_autofree char *to_cpus = g_strdup(a->to_cpus ? a->to_cpus : to);
        g_autofree char *from_text = a->from_cpus        ? g_strdup_printf("CPUs %s", a->from_cpus)
                                     : a->from_pcpu >= 0 ? g_strdup_printf("pCPU %d", a->from_pcpu)
                                                         : g_strdup("all CPUs");
        g_autofree char *to_text =
            a->to_cpus ? g_strdup_printf("CPUs %s", a->to_cpus) : g_strdup_printf("pCPU %s", to);
        const char *fields[] = {
            "DOMAIN",    a->domain, "DOMAIN_UUID", a->uuid,   "VCPU",      vcpu,
            "FROM_PCPU", from,      "TO_PCPU",     to,        "FROM_CPUS", from_cpus,
            "TO_CPUS",   to_cpus,   "REASON",      a->reason, "DRY_RUN",   a->dry_run ? "1" : "0",
            NULL};
        vmb_log_fields(G_LOG_LEVEL_MESSAGE, VMB_MSGID_PIN, fields,
                       "%spin %s vCPU %u: %s -> %s (%s: %s)", prefix, a->domain, a->vcpu, from_text,
                       to_text, a->reason, a->detail ? a->detail : "");
    } else {
        g_autofree char *old_kib = g_strdup_printf("%" G_GUINT64_FORMAT, a->old_kib);
        g_autofree char *new_kib = g_strdup_printf("%" G_GUINT64_FORMAT, a->new_kib);
        const char *fields[] = {"DOMAIN",  a->domain, "DOMAIN_UUID", a->uuid,
                                "OLD_KIB", old_kib,   "NEW_KIB",     new_kib,
                                "REASON",  a->reason, "DRY_RUN",     a->dry_run ? "1" : "0",
                                NULL};
        vmb_log_fields(
            G_LOG_LEVEL_MESSAGE, VMB_MSGID_MEMORY, fields,
            "%sset %s memory: %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " MiB (%s: %s)", prefix,
            a->domain, a->old_kib / 1024, a->new_kib / 1024, a->reason, a->detail ? a->detail : "");
    }
}
