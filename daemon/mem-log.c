/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the memory task logs about each domain: lasting conditions once, and the detail of a
 * change. */
#include "mem-log.h"

#include "log.h"

/* The log-once keys of one domain, cleared when it goes away so a new run logs again. */
static const char *const once_kinds[] = {"stale",   "nostats", "noballoon",
                                         "maximum", "limited", "unreachable",
                                         "pending", "refused", "inflight"};

static char *
once_key(const char *kind, const char *uuid)
{
    return g_strdup_printf("mem-%s:%s", kind, uuid);
}

gboolean
vmb_mem_log_once(const char *kind, const char *uuid, GLogLevelFlags level, const char *message)
{
    g_autofree char *key = once_key(kind, uuid);
    return vmb_log_once(key, level, "%s", message);
}

gboolean
vmb_mem_log_clear(const char *kind, const char *uuid)
{
    g_autofree char *key = once_key(kind, uuid);
    return vmb_log_once_clear(key);
}

void
vmb_mem_log_forget(const char *uuid)
{
    for (guint k = 0; k < G_N_ELEMENTS(once_kinds); k++)
        vmb_mem_log_clear(once_kinds[k], uuid);
}

/* The conditions that last: the key each is logged once under, and how loud. */
static const struct {
    VmbMemVerdict v;
    const char *kind;
    GLogLevelFlags level;
} lasting[] = {
    {VMB_MEM_V_AT_MAXIMUM, "maximum", G_LOG_LEVEL_WARNING},
    {VMB_MEM_V_HOST_LIMITED, "limited", G_LOG_LEVEL_WARNING},
    {VMB_MEM_V_UNREACHABLE, "unreachable", G_LOG_LEVEL_INFO},
    {VMB_MEM_V_PENDING, "pending", G_LOG_LEVEL_WARNING},
    {VMB_MEM_V_IN_FLIGHT, "inflight", G_LOG_LEVEL_INFO},
};

/* Re-arms the lasting conditions that ended with @v: a skipped cycle (settling, stale) ends
 * nothing, and a shortage ends only when the guest is comfortable again (not when one cycle
 * happens to give it all it asked). */
static void
clear_ended(const VmbDomainStat *d, VmbMemVerdict v)
{
    gboolean comfortable = v == VMB_MEM_V_BALANCED || v == VMB_MEM_V_IDLE;
    for (guint k = 0; v != VMB_MEM_V_SKIPPED && k < G_N_ELEMENTS(lasting); k++) {
        gboolean shortage =
            lasting[k].v == VMB_MEM_V_HOST_LIMITED || lasting[k].v == VMB_MEM_V_AT_MAXIMUM;
        if (lasting[k].v != v && (!shortage || comfortable))
            vmb_mem_log_clear(lasting[k].kind, d->uuid);
    }
}

/* What the lasting condition @v says of @d; NULL when @v is not one. */
static char *
lasting_message(const VmbDomainStat *d, const VmbMemGuest *g, VmbMemVerdict v)
{
    switch (v) {
    case VMB_MEM_V_AT_MAXIMUM:
        return g_strdup_printf("%s is short of memory (usable %" G_GUINT64_FORMAT
                               " MiB) but already at its maximum of %" G_GUINT64_FORMAT " MiB",
                               d->name, g->usable_kib / 1024, g->maximum_kib / 1024);
    case VMB_MEM_V_HOST_LIMITED:
        return g_strdup_printf("%s is short of memory (usable %" G_GUINT64_FORMAT
                               " MiB) and the host cannot give it all it needs",
                               d->name, g->usable_kib / 1024);
    case VMB_MEM_V_UNREACHABLE:
        return g_strdup_printf("%s stays at %" G_GUINT64_FORMAT " MiB instead of %" G_GUINT64_FORMAT
                               " MiB (it cannot give more): not asking again",
                               d->name, g->current_kib / 1024,
                               (g->target_kib ? g->target_kib : g->balloon_target_kib) / 1024);
    case VMB_MEM_V_PENDING:
        return g_strdup_printf("%s stays at %" G_GUINT64_FORMAT " MiB instead of %" G_GUINT64_FORMAT
                               " MiB (its balloon does not deflate): not asking again",
                               d->name, g->current_kib / 1024, g->target_kib / 1024);
    case VMB_MEM_V_IN_FLIGHT:
        return g_strdup_printf("the balloon of %s is on its way from %" G_GUINT64_FORMAT
                               " to %" G_GUINT64_FORMAT " MiB: waiting for it",
                               d->name, g->current_kib / 1024, g->balloon_target_kib / 1024);
    default:
        return NULL;
    }
}

/* Logs lasting conditions the policy found, once each, and re-arms the ones that ended
 * (clear_ended()). */
void
vmb_mem_log_verdict(const VmbDomainStat *d, const VmbMemGuest *g, VmbMemVerdict v,
                    gboolean measured)
{
    /* A guest still booting reports next to no usable memory: a shortage is only worth a
     * warning once its consumption has been measured over two samples. */
    if (!measured && (v == VMB_MEM_V_AT_MAXIMUM || v == VMB_MEM_V_HOST_LIMITED))
        return;
    clear_ended(d, v);
    if (v == VMB_MEM_V_AUTODEFLATED) {
        g_info("%s took memory back from its balloon by itself (%" G_GUINT64_FORMAT
               " MiB, target was %" G_GUINT64_FORMAT " MiB): accepted",
               d->name, g->current_kib / 1024, g->target_kib / 1024);
        return;
    }
    for (guint k = 0; k < G_N_ELEMENTS(lasting); k++) {
        if (lasting[k].v != v)
            continue;
        g_autofree char *msg = lasting_message(d, g, v);
        vmb_mem_log_once(lasting[k].kind, d->uuid, lasting[k].level, msg);
    }
}

char *
vmb_mem_change_detail(const VmbMemChange *ch, const VmbMemPlan *plan, const VmbMemGuest *g)
{
    if (ch->reason == VMB_MEM_ACCEPT)
        return g_strdup_printf(
            "the guest deflated its balloon by itself from the %" G_GUINT64_FORMAT " MiB target",
            g->target_kib / 1024);
    return g_strdup_printf("usable %" G_GUINT64_FORMAT " MiB, band %" G_GUINT64_FORMAT
                           "-%" G_GUINT64_FORMAT " MiB, growing %.1f MiB/s, host headroom "
                           "%" G_GINT64_FORMAT " MiB%s",
                           ch->usable_kib / 1024, ch->low_kib / 1024, ch->high_kib / 1024,
                           ch->rate_kib_s / 1024, plan->headroom_kib / 1024,
                           plan->pressure ? " (under pressure)" : "");
}
