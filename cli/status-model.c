/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status-model.h"

static void
domain_free(gpointer data)
{
    VmbCtlDomain *d = data;
    g_free(d->name);
    g_free(d->uuid);
    g_array_unref(d->vcpus);
    g_free(d);
}

void
vmb_ctl_status_free(VmbCtlStatus *s)
{
    if (!s)
        return;
    g_free(s->version);
    g_free(s->state);
    g_free(s->state_reason);
    g_free(s->uri);
    g_strfreev(s->other_tools);
    g_strfreev(s->hands_off);
    g_free(s->topology);
    g_array_unref(s->pcpus);
    g_clear_pointer(&s->nodes, g_array_unref);
    g_clear_pointer(&s->cores, g_array_unref);
    g_ptr_array_unref(s->domains);
    g_free(s);
}

/* The scalar state lives in properties; GetStatus carries only the statistics. */
static void
read_properties(VmbCtlStatus *s, VmbManager1 *p)
{
    const char *reason = vmb_manager1_get_state_reason(p);
    s->version = g_strdup(vmb_manager1_get_version(p));
    s->state = g_strdup(vmb_manager1_get_state(p));
    s->state_reason = reason && *reason ? g_strdup(reason) : NULL;
    s->uri = g_strdup(vmb_manager1_get_uri(p));
    s->topology = g_strdup(vmb_manager1_get_topology(p) ? vmb_manager1_get_topology(p) : "");
    s->dry_run = vmb_manager1_get_dry_run(p);
    s->tasks[VMB_CTL_TASK_CPU] = (VmbCtlTask){"cpu",
                                              vmb_manager1_get_cpu_enabled(p),
                                              vmb_manager1_get_cpu_paused(p),
                                              vmb_manager1_get_cpu_interval(p),
                                              vmb_manager1_get_cpu_cycles(p),
                                              vmb_manager1_get_cpu_last_cycle(p)};
    s->tasks[VMB_CTL_TASK_MEMORY] = (VmbCtlTask){"memory",
                                                 vmb_manager1_get_memory_enabled(p),
                                                 vmb_manager1_get_memory_paused(p),
                                                 vmb_manager1_get_memory_interval(p),
                                                 vmb_manager1_get_memory_cycles(p),
                                                 vmb_manager1_get_memory_last_cycle(p)};
    s->pin_changes = vmb_manager1_get_pin_changes(p);
    s->moves_helped = vmb_manager1_get_moves_helped(p);
    s->moves_failed = vmb_manager1_get_moves_failed(p);
    s->memory_changes = vmb_manager1_get_memory_changes(p);
    s->errors = vmb_manager1_get_errors(p);
    const char *const *tools = vmb_manager1_get_other_tools(p);
    s->other_tools = tools ? g_strdupv((char **) tools) : g_new0(char *, 1);
    g_autoptr(GStrvBuilder) hands = g_strv_builder_new();
    GVariant *ho = vmb_manager1_get_hands_off(p);
    for (gsize i = 0; ho && i < g_variant_n_children(ho); i++) {
        const char *dom = NULL, *why = NULL;
        g_variant_get_child(ho, i, "(&s&s)", &dom, &why);
        g_autofree char *line = g_strdup_printf("%s: %s", dom, why);
        g_strv_builder_add(hands, line);
    }
    s->hands_off = g_strv_builder_end(hands);
    VmbCtlHostMemory *m = &s->host_memory;
    m->available_kib = vmb_manager1_get_host_memory_available(p);
    m->known = vmb_manager1_get_memory_cycles(p) && m->available_kib;
    m->reserve_kib = vmb_manager1_get_host_memory_reserve(p);
    m->headroom_kib = vmb_manager1_get_memory_headroom(p);
    m->pressure = vmb_manager1_get_memory_pressure(p);
}

static void
core_load_clear(VmbCtlCoreLoad *c)
{
    g_free(c->cpus);
}

/* The TopologyLoad property (an older daemon has none: empty). */
static void
decode_topology_load(VmbCtlStatus *s, VmbManager1 *p)
{
    s->nodes = g_array_new(FALSE, FALSE, sizeof(VmbCtlNodeLoad));
    s->cores = g_array_new(FALSE, FALSE, sizeof(VmbCtlCoreLoad));
    g_array_set_clear_func(s->cores, (GDestroyNotify) core_load_clear);
    GVariant *v = vmb_manager1_get_topology_load(p);
    if (!v || !g_variant_is_of_type(v, G_VARIANT_TYPE("(a(iud)a(iisd))")))
        return;
    g_autoptr(GVariant) nodes = g_variant_get_child_value(v, 0);
    g_autoptr(GVariant) cores = g_variant_get_child_value(v, 1);
    GVariantIter it;
    VmbCtlNodeLoad n;
    g_variant_iter_init(&it, nodes);
    while (g_variant_iter_next(&it, "(iud)", &n.node, &n.ncpus, &n.load_percent))
        g_array_append_val(s->nodes, n);
    VmbCtlCoreLoad c;
    g_variant_iter_init(&it, cores);
    while (g_variant_iter_next(&it, "(iisd)", &c.socket, &c.node, &c.cpus, &c.load_percent))
        g_array_append_val(s->cores, c);
}

static GArray *
decode_pcpus(GVariant *pcpus)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(VmbCtlPcpu));
    GVariantIter it;
    VmbCtlPcpu c;
    g_variant_iter_init(&it, pcpus);
    while (g_variant_iter_next(&it, "(uddb)", &c.cpu, &c.busy_percent, &c.background_percent,
                               &c.allowed))
        g_array_append_val(out, c);
    return out;
}

static void
vcpu_clear(gpointer data)
{
    g_free(((VmbCtlVcpu *) data)->cpus);
}

static GArray *
decode_vcpus(GVariant *vcpus)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(VmbCtlVcpu));
    g_array_set_clear_func(out, vcpu_clear);
    GVariantIter it;
    VmbCtlVcpu v;
    g_variant_iter_init(&it, vcpus);
    while (g_variant_iter_next(&it, "(uids)", &v.vcpu, &v.pcpu, &v.load_percent, &v.cpus))
        g_array_append_val(out, v);
    return out;
}

static GPtrArray *
decode_domains(GVariant *domains)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(domain_free);
    GVariantIter it;
    VmbCtlDomain d;
    GVariant *vcpus;
    g_variant_iter_init(&it, domains);
    while (g_variant_iter_next(&it, "(ssb@a(uids)(xxxx))", &d.name, &d.uuid, &d.excluded, &vcpus,
                               &d.actual_kib, &d.usable_kib, &d.target_kib, &d.maximum_kib)) {
        d.vcpus = decode_vcpus(vcpus);
        g_variant_unref(vcpus);
        g_ptr_array_add(out, g_memdup2(&d, sizeof(d)));
    }
    return out;
}

VmbCtlStatus *
vmb_ctl_status_fetch(VmbManager1 *proxy, GError **error)
{
    guint64 timestamp;
    g_autoptr(GVariant) pcpus = NULL, domains = NULL;
    if (!vmb_manager1_call_get_status_sync(proxy, G_DBUS_CALL_FLAGS_NONE, -1, &timestamp, &pcpus,
                                           &domains, NULL, error))
        return NULL;
    VmbCtlStatus *s = g_new0(VmbCtlStatus, 1);
    read_properties(s, proxy);
    decode_topology_load(s, proxy);
    s->timestamp_us = timestamp;
    s->pcpus = decode_pcpus(pcpus);
    s->domains = decode_domains(domains);
    return s;
}

void
vmb_ctl_history_free(VmbCtlHistory *h)
{
    if (!h)
        return;
    g_array_unref(h->actions);
    g_variant_unref(h->reply);
    g_free(h);
}

VmbCtlHistory *
vmb_ctl_history_fetch(VmbManager1 *proxy, guint count, GError **error)
{
    g_autoptr(GVariant) reply = NULL;
    if (!vmb_manager1_call_get_history_sync(proxy, count, G_DBUS_CALL_FLAGS_NONE, -1, &reply, NULL,
                                            error))
        return NULL;
    VmbCtlHistory *h = g_new0(VmbCtlHistory, 1);
    h->reply = g_steal_pointer(&reply);
    h->actions = g_array_new(FALSE, FALSE, sizeof(VmbCtlAction));
    GVariantIter it;
    VmbCtlAction a;
    g_variant_iter_init(&it, h->reply);
    while (g_variant_iter_next(&it, "(t&s&s&suiu&s&stt&s&sb)", &a.time_us, &a.kind, &a.domain, NULL,
                               &a.vcpu, &a.from_pcpu, &a.to_pcpu, &a.from_cpus, &a.to_cpus,
                               &a.old_kib, &a.new_kib, &a.reason, &a.detail, &a.dry_run))
        g_array_append_val(h->actions, a);
    return h;
}
