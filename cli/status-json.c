/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status-json.h"

#include "json-writer.h"

/* Writes @key, and null for its value when not @known; TRUE when the caller writes it. */
static gboolean
json_key_known(VmbJson *j, const char *key, gboolean known)
{
    vmb_json_key(j, key);
    if (!known)
        vmb_json_null(j);
    return known;
}

static void
json_opt_int(VmbJson *j, const char *key, gint64 v)
{
    if (json_key_known(j, key, v >= 0))
        vmb_json_int(j, v);
}

static void
json_opt_percent(VmbJson *j, const char *key, double v)
{
    if (json_key_known(j, key, v >= 0))
        vmb_json_double(j, v, 2);
}

static void
json_uint_member(VmbJson *j, const char *key, guint64 v)
{
    vmb_json_key(j, key);
    vmb_json_uint(j, v);
}

static void
json_bool_member(VmbJson *j, const char *key, gboolean v)
{
    vmb_json_key(j, key);
    vmb_json_bool(j, v);
}

static void
json_string_member(VmbJson *j, const char *key, const char *v)
{
    vmb_json_key(j, key);
    vmb_json_string(j, v);
}

static void
json_tasks(VmbJson *j, const VmbCtlStatus *s)
{
    vmb_json_key(j, "tasks");
    vmb_json_begin_object(j);
    for (guint i = 0; i < VMB_CTL_N_TASKS; i++) {
        const VmbCtlTask *t = &s->tasks[i];
        vmb_json_key(j, t->name);
        vmb_json_begin_object(j);
        json_bool_member(j, "enabled", t->enabled);
        json_bool_member(j, "paused", t->paused);
        json_uint_member(j, "interval_s", t->interval_s);
        json_uint_member(j, "cycles", t->cycles);
        if (json_key_known(j, "last_cycle_us", t->last_cycle_us != 0))
            vmb_json_uint(j, t->last_cycle_us);
        vmb_json_end_object(j);
    }
    vmb_json_end_object(j);
}

static void
json_counters(VmbJson *j, const VmbCtlStatus *s)
{
    vmb_json_key(j, "counters");
    vmb_json_begin_object(j);
    json_uint_member(j, "pin_changes", s->pin_changes);
    json_uint_member(j, "memory_changes", s->memory_changes);
    json_uint_member(j, "errors", s->errors);
    vmb_json_end_object(j);
}

/* All null before a memory cycle (or when the host's available memory is unknown). */
static void
json_host_memory(VmbJson *j, const VmbCtlHostMemory *m)
{
    vmb_json_key(j, "host_memory");
    vmb_json_begin_object(j);
    if (json_key_known(j, "available_kib", m->known))
        vmb_json_uint(j, m->available_kib);
    if (json_key_known(j, "reserve_kib", m->known))
        vmb_json_uint(j, m->reserve_kib);
    if (json_key_known(j, "headroom_kib", m->known))
        vmb_json_int(j, m->headroom_kib);
    if (json_key_known(j, "pressure", m->known))
        vmb_json_bool(j, m->pressure);
    vmb_json_end_object(j);
}

static void
json_pcpus(VmbJson *j, GArray *pcpus)
{
    vmb_json_key(j, "pcpus");
    vmb_json_begin_array(j);
    for (guint i = 0; i < pcpus->len; i++) {
        const VmbCtlPcpu *c = &g_array_index(pcpus, VmbCtlPcpu, i);
        vmb_json_begin_object(j);
        json_uint_member(j, "cpu", c->cpu);
        json_opt_percent(j, "busy_percent", c->busy_percent);
        json_opt_percent(j, "background_percent", c->background_percent);
        json_bool_member(j, "allowed", c->allowed);
        vmb_json_end_object(j);
    }
    vmb_json_end_array(j);
}

static void
json_domain(VmbJson *j, const VmbCtlDomain *d)
{
    vmb_json_begin_object(j);
    json_string_member(j, "name", d->name);
    json_string_member(j, "uuid", d->uuid);
    json_bool_member(j, "excluded", d->excluded);
    vmb_json_key(j, "vcpus");
    vmb_json_begin_array(j);
    for (guint i = 0; i < d->vcpus->len; i++) {
        const VmbCtlVcpu *v = &g_array_index(d->vcpus, VmbCtlVcpu, i);
        vmb_json_begin_object(j);
        json_uint_member(j, "vcpu", v->vcpu);
        json_opt_int(j, "pcpu", v->pcpu);
        json_opt_percent(j, "load_percent", v->load_percent);
        vmb_json_end_object(j);
    }
    vmb_json_end_array(j);
    vmb_json_key(j, "memory");
    vmb_json_begin_object(j);
    json_opt_int(j, "actual_kib", d->actual_kib);
    json_opt_int(j, "usable_kib", d->usable_kib);
    json_opt_int(j, "target_kib", d->target_kib);
    json_opt_int(j, "maximum_kib", d->maximum_kib);
    vmb_json_end_object(j);
    vmb_json_end_object(j);
}

char *
vmb_status_to_json(const VmbCtlStatus *s)
{
    g_autoptr(VmbJson) j = vmb_json_new();
    vmb_json_begin_object(j);
    json_uint_member(j, "format", 1);
    json_string_member(j, "version", s->version);
    json_string_member(j, "state", s->state);
    json_string_member(j, "state_reason", s->state_reason);
    json_string_member(j, "uri", s->uri);
    json_bool_member(j, "dry_run", s->dry_run);
    if (json_key_known(j, "timestamp_us", s->timestamp_us != 0))
        vmb_json_uint(j, s->timestamp_us);
    json_tasks(j, s);
    json_counters(j, s);
    json_host_memory(j, &s->host_memory);
    json_pcpus(j, s->pcpus);
    vmb_json_key(j, "domains");
    vmb_json_begin_array(j);
    for (guint i = 0; i < s->domains->len; i++)
        json_domain(j, g_ptr_array_index(s->domains, i));
    vmb_json_end_array(j);
    vmb_json_end_object(j);
    return g_strdup(vmb_json_str(j));
}

static void
json_action(VmbJson *j, const VmbCtlAction *a)
{
    vmb_json_begin_object(j);
    json_uint_member(j, "time_us", a->time_us);
    json_string_member(j, "kind", a->kind);
    json_string_member(j, "domain", a->domain);
    if (g_str_equal(a->kind, "pin")) {
        json_uint_member(j, "vcpu", a->vcpu);
        json_opt_int(j, "from_pcpu", a->from_pcpu);
        json_uint_member(j, "to_pcpu", a->to_pcpu);
    } else {
        json_uint_member(j, "old_kib", a->old_kib);
        json_uint_member(j, "new_kib", a->new_kib);
    }
    json_string_member(j, "reason", a->reason);
    json_string_member(j, "detail", a->detail);
    json_bool_member(j, "dry_run", a->dry_run);
    vmb_json_end_object(j);
}

char *
vmb_history_to_json(const VmbCtlHistory *h)
{
    g_autoptr(VmbJson) j = vmb_json_new();
    vmb_json_begin_array(j);
    for (guint i = 0; i < h->actions->len; i++)
        json_action(j, &g_array_index(h->actions, VmbCtlAction, i));
    vmb_json_end_array(j);
    return g_strdup(vmb_json_str(j));
}
