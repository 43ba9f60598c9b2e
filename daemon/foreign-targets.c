/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "foreign-targets.h"

#include "balloon-watch.h"
#include "domain-meta.h"
#include "log.h"

typedef struct {
    VmbBalloonWatch watch;
    gboolean judged;    /* its memory is managed and balloon-only: a change would count */
    gboolean changed;   /* found at the last observation, not taken yet */
    gboolean respected; /* memory.foreign_targets = respect kept one */
    gboolean judging;   /* a move was being judged at the last observation */
} Memo;

struct _VmbForeignTargets {
    GHashTable *domains; /* uuid -> Memo* */
};

VmbForeignTargets *
vmb_foreign_targets_new(void)
{
    VmbForeignTargets *f = g_new0(VmbForeignTargets, 1);
    f->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return f;
}

void
vmb_foreign_targets_free(VmbForeignTargets *f)
{
    if (!f)
        return;
    g_hash_table_unref(f->domains);
    g_free(f);
}

static Memo *
memo_get(VmbForeignTargets *f, const char *uuid)
{
    Memo *m = g_hash_table_lookup(f->domains, uuid);
    if (!m) {
        m = g_new0(Memo, 1);
        g_hash_table_insert(f->domains, g_strdup(uuid), m);
    }
    return m;
}

/* Said once per change: what changed, what vmbalanced does, how to make it stick. */
static void
notice(const VmbDomainStat *d, guint64 old_kib, guint64 new_kib, gboolean respect)
{
    if (respect)
        g_message("domain %s: its balloon target was set to %" G_GUINT64_FORMAT " MiB by someone "
                  "else (vmbalanced had it at %" G_GUINT64_FORMAT " MiB): kept, with its memory "
                  "counted as held there (memory.foreign_targets = respect), until `vmbalancectl "
                  "domain %s reset memory` or the domain restarts",
                  d->name, new_kib / 1024, old_kib / 1024, d->name);
    else
        g_message("domain %s: its balloon target was set to %" G_GUINT64_FORMAT " MiB by someone "
                  "else (vmbalanced had it at %" G_GUINT64_FORMAT " MiB): the memory coordinator "
                  "sizes it as it sees fit (memory.foreign_targets = override); to keep such "
                  "targets, set metadata memory=\"off\" (`vmbalancectl domain %s set memory off`), "
                  "add it to daemon.exclude, or set memory.foreign_targets = respect",
                  d->name, new_kib / 1024, old_kib / 1024, d->name);
}

/* Tells (debug) when a move starts being judged and when it ends with no verdict: the guest
 * is not sized in between, which the log must explain. */
static void
log_judging(const VmbDomainStat *d, Memo *m, gboolean found)
{
    gboolean judging = m->judged && vmb_balloon_watch_judging(&m->watch);
    if (judging && !m->judging)
        g_debug("the balloon of %s went to %" G_GUINT64_FORMAT " MiB, where nobody here asked: "
                "its memory waits until the balloon comes to rest",
                d->name, d->balloon.current_kib / 1024);
    else if (!judging && m->judging && !found)
        g_debug("the balloon of %s is back where it may be (%" G_GUINT64_FORMAT " MiB)", d->name,
                d->balloon.current_kib / 1024);
    m->judging = judging;
}

void
vmb_foreign_targets_observe(VmbForeignTargets *f, const VmbSnapshot *s, const VmbConfig *c)
{
    gboolean respect = vmb_config_respects_foreign_targets(c);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        const VmbBalloonStat *b = &d->balloon;
        Memo *m = memo_get(f, d->uuid);
        VmbEffectivePolicy eff;
        vmb_domain_effective(c, d, &eff);
        VmbBalloonSeen in = {
            .actual_kib = (b->fields & VMB_BALLOON_CURRENT) ? b->current_kib : 0,
            .reported_kib = b->target_kib,
            .autodeflate = (b->features & VMB_BALLOON_DEFLATE_ON_OOM) != 0,
            .resets = b->resets,
        };
        guint64 old_kib = 0, new_kib = 0;
        /* virtio-mem plugs move the balloon without a request (QEMU keeps its size). */
        m->judged = eff.memory_managed && !d->vmem.present;
        gboolean found = vmb_balloon_watch_step(&m->watch, &in, &old_kib, &new_kib);
        log_judging(d, m, found);
        if (!found || !m->judged)
            continue;
        notice(d, old_kib, new_kib, respect);
        m->changed = TRUE;
        m->respected |= respect;
    }
}

void
vmb_foreign_targets_made(VmbForeignTargets *f, const char *uuid, guint64 kib)
{
    vmb_balloon_watch_request(&memo_get(f, uuid)->watch, kib);
}

gboolean
vmb_foreign_targets_take_change(VmbForeignTargets *f, const char *uuid)
{
    Memo *m = g_hash_table_lookup(f->domains, uuid);
    if (!m || !m->changed)
        return FALSE;
    m->changed = FALSE;
    return TRUE;
}

gboolean
vmb_foreign_targets_judging(const VmbForeignTargets *f, const char *uuid)
{
    const Memo *m = g_hash_table_lookup(f->domains, uuid);
    return m && m->judged && vmb_balloon_watch_judging(&m->watch);
}

gboolean
vmb_foreign_targets_respected(const VmbForeignTargets *f, const char *uuid)
{
    const Memo *m = g_hash_table_lookup(f->domains, uuid);
    return m && m->respected;
}

gboolean
vmb_foreign_targets_release(VmbForeignTargets *f, const char *uuid)
{
    Memo *m = g_hash_table_lookup(f->domains, uuid);
    if (!m || !m->respected)
        return FALSE;
    m->respected = FALSE;
    return TRUE;
}

void
vmb_foreign_targets_forget(VmbForeignTargets *f, const char *uuid)
{
    g_hash_table_remove(f->domains, uuid);
}
