/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dbus-service.h"

#include <gio/gio.h>
#include <string.h>

#include "domain-control.h"
#include "log.h"
#include "vmb-build-config.h"

static const GDBusErrorEntry dbus_error_entries[] = {
    {VMB_DBUS_ERROR_FAILED, VMB_DBUS_ERROR_NAME_FAILED},
    {VMB_DBUS_ERROR_INVALID_ARGUMENT, VMB_DBUS_ERROR_NAME_INVALID_ARGUMENT},
    {VMB_DBUS_ERROR_UNKNOWN_KEY, VMB_DBUS_ERROR_NAME_UNKNOWN_KEY},
};

GQuark
vmb_dbus_error_quark(void)
{
    static gsize quark = 0;
    g_dbus_error_register_error_domain("vmb-dbus-error-quark", &quark, dbus_error_entries,
                                       G_N_ELEMENTS(dbus_error_entries));
    return (GQuark) quark;
}

/* Everything it shows comes from the daemon's status model (status.h) and configuration;
 * what it changes goes through the daemon's commands. */
struct _VmbDbusService {
    VmbDaemon *daemon;
    VmbOverrides *overrides;
    VmbManager1 *skeleton;
    GDBusConnection *bus;
    guint name_lost_id;
    gboolean exported;
    gboolean failed;
};

/* ---- errors ---- */

static void
return_error(GDBusMethodInvocation *inv, const GError *error)
{
    VmbDbusError code = VMB_DBUS_ERROR_FAILED;
    if (error->domain == VMB_CONFIG_ERROR && error->code == VMB_CONFIG_ERROR_UNKNOWN_KEY)
        code = VMB_DBUS_ERROR_UNKNOWN_KEY;
    else if (error->domain == VMB_CONFIG_ERROR && error->code == VMB_CONFIG_ERROR_BAD_VALUE)
        code = VMB_DBUS_ERROR_INVALID_ARGUMENT;
    else if (error->domain == VMB_DBUS_ERROR)
        code = error->code;
    g_dbus_method_invocation_return_error_literal(inv, VMB_DBUS_ERROR, code, error->message);
}

/* ---- tunables ---- */

static GVariant *
tunable_value(const VmbConfig *c, const VmbKeyInfo *key)
{
    gconstpointer field = (const char *) c + key->offset;
    switch (key->type) {
    case VMB_KEY_BOOL:
        return g_variant_new_boolean(*(const gboolean *) field);
    case VMB_KEY_UINT: {
        /* Through vmb_config_get(): an unset task interval shows the one in effect. */
        g_autofree char *text = vmb_config_get(c, key->name, NULL);
        return g_variant_new_uint32((guint32) g_ascii_strtoull(text, NULL, 10));
    }
    case VMB_KEY_DOUBLE:
        return g_variant_new_double(*(const double *) field);
    case VMB_KEY_STRING:
    case VMB_KEY_PATH:
    case VMB_KEY_CHOICE:
    case VMB_KEY_CPUSET:
    case VMB_KEY_CPULIST: {
        g_autofree char *text = vmb_config_get(c, key->name, NULL);
        return g_variant_new_string(text ? text : "");
    }
    case VMB_KEY_LIST: {
        GStrv list = *(GStrv const *) field;
        return g_variant_new_strv((const char *const *) list, list ? -1 : 0);
    }
    }
    g_assert_not_reached();
}

static GVariant *
build_tunables(const VmbConfig *c)
{
    GVariantBuilder b;
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    for (guint i = 0; i < n; i++)
        g_variant_builder_add(&b, "{sv}", keys[i].name, tunable_value(c, &keys[i]));
    return g_variant_builder_end(&b);
}

static gboolean
is_integer_type(GVariant *v)
{
    static const char *const types[] = {"y", "n", "q", "i", "u", "x", "t"};
    for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
        if (g_variant_is_of_type(v, G_VARIANT_TYPE(types[i])))
            return TRUE;
    }
    return FALSE;
}

static char *
integer_to_string(GVariant *v)
{
    switch (g_variant_classify(v)) {
    case G_VARIANT_CLASS_BYTE:
        return g_strdup_printf("%u", g_variant_get_byte(v));
    case G_VARIANT_CLASS_INT16:
        return g_strdup_printf("%d", g_variant_get_int16(v));
    case G_VARIANT_CLASS_UINT16:
        return g_strdup_printf("%u", g_variant_get_uint16(v));
    case G_VARIANT_CLASS_INT32:
        return g_strdup_printf("%d", g_variant_get_int32(v));
    case G_VARIANT_CLASS_UINT32:
        return g_strdup_printf("%u", g_variant_get_uint32(v));
    case G_VARIANT_CLASS_INT64:
        return g_strdup_printf("%" G_GINT64_FORMAT, g_variant_get_int64(v));
    case G_VARIANT_CLASS_UINT64:
        return g_strdup_printf("%" G_GUINT64_FORMAT, g_variant_get_uint64(v));
    default:
        g_assert_not_reached();
    }
}

/* A typed value (or a string as in the configuration file) as the file would hold it, so
 * that the bus and the file share one validation. */
static char *
value_to_config_string(const VmbKeyInfo *key, GVariant *v, GError **error)
{
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
        return g_variant_dup_string(v, NULL);

    switch (key->type) {
    case VMB_KEY_BOOL:
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
            return g_strdup(g_variant_get_boolean(v) ? "true" : "false");
        break;
    case VMB_KEY_UINT:
        if (is_integer_type(v))
            return integer_to_string(v);
        break;
    case VMB_KEY_DOUBLE:
        if (is_integer_type(v))
            return integer_to_string(v);
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_DOUBLE)) {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            return g_strdup(g_ascii_dtostr(buf, sizeof(buf), g_variant_get_double(v)));
        }
        break;
    case VMB_KEY_LIST:
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY)) {
            g_autofree const char **items = g_variant_get_strv(v, NULL);
            for (guint i = 0; items[i]; i++) {
                if (strchr(items[i], ',')) {
                    g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT,
                                "key '%s': list items cannot contain ','", key->name);
                    return NULL;
                }
            }
            return g_strjoinv(",", (char **) items);
        }
        break;
    case VMB_KEY_STRING:
    case VMB_KEY_PATH:
    case VMB_KEY_CHOICE:
    case VMB_KEY_CPUSET:
    case VMB_KEY_CPULIST:
        break;
    }
    g_autofree char *range = vmb_config_describe_range(key);
    g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT,
                "key '%s': wrong type '%s', expected %s (or a string as in the "
                "configuration file)",
                key->name, g_variant_get_type_string(v), range);
    return NULL;
}

/* ---- properties ---- */

/* The TopologyLoad property: (nodes, cores). */
static GVariant *
topology_load_value(const VmbStatus *st)
{
    GVariantBuilder nodes, cores;
    g_variant_builder_init(&nodes, G_VARIANT_TYPE("a(iud)"));
    g_variant_builder_init(&cores, G_VARIANT_TYPE("a(iisd)"));
    guint n;
    const VmbNodeLoadStatus *nl = vmb_status_node_loads(st, &n);
    for (guint i = 0; i < n; i++)
        g_variant_builder_add(&nodes, "(iud)", nl[i].node, nl[i].ncpus, nl[i].load);
    const VmbCoreLoadStatus *cl = vmb_status_core_loads(st, &n);
    for (guint i = 0; i < n; i++)
        g_variant_builder_add(&cores, "(iisd)", cl[i].socket, cl[i].node, cl[i].cpus, cl[i].load);
    return g_variant_new("(a(iud)a(iisd))", &nodes, &cores);
}

static void
sync_properties(VmbDbusService *s)
{
    const VmbStatus *st = vmb_daemon_status(s->daemon);
    const VmbTaskStatus *cpu = vmb_status_task(st, VMB_TASK_CPU);
    const VmbTaskStatus *mem = vmb_status_task(st, VMB_TASK_MEMORY);
    const VmbStatusCounters *n = vmb_status_counters(st);
    const VmbHostMemoryStatus *host = vmb_status_host_memory(st);
    const char *degraded = vmb_status_degraded_reason(st);
    VmbManager1 *m = s->skeleton;

    vmb_manager1_set_state(m, degraded ? "degraded" : "running");
    vmb_manager1_set_state_reason(m, degraded ? degraded : "");
    vmb_manager1_set_uri(m, vmb_daemon_uri(s->daemon));
    vmb_manager1_set_topology(m, vmb_status_topology(st));
    vmb_manager1_set_topology_load(m, topology_load_value(st));
    vmb_manager1_set_cpu_enabled(m, cpu->enabled);
    vmb_manager1_set_cpu_paused(m, cpu->paused);
    vmb_manager1_set_cpu_interval(m, cpu->interval_s);
    vmb_manager1_set_cpu_last_cycle(m, (guint64) cpu->last_run_us);
    vmb_manager1_set_cpu_cycles(m, cpu->cycles);
    vmb_manager1_set_memory_enabled(m, mem->enabled);
    vmb_manager1_set_memory_paused(m, mem->paused);
    vmb_manager1_set_memory_interval(m, mem->interval_s);
    vmb_manager1_set_memory_last_cycle(m, (guint64) mem->last_run_us);
    vmb_manager1_set_memory_cycles(m, mem->cycles);
    vmb_manager1_set_pin_changes(m, n->pin_changes);
    vmb_manager1_set_moves_helped(m, n->moves_helped);
    vmb_manager1_set_moves_failed(m, n->moves_failed);
    vmb_manager1_set_memory_changes(m, n->memory_changes);
    vmb_manager1_set_host_memory_available(m, host->available_kib);
    vmb_manager1_set_host_memory_reserve(m, host->reserve_kib);
    vmb_manager1_set_memory_headroom(m, host->headroom_kib);
    vmb_manager1_set_memory_pressure(m, host->pressure);
    vmb_manager1_set_errors(m, n->errors);
    vmb_manager1_set_other_tools(m, vmb_daemon_other_tools(s->daemon));
    g_autoptr(GVariant) hands_off = g_variant_ref_sink(vmb_domain_control_hands_off(s->daemon));
    vmb_manager1_set_hands_off(m, hands_off);
    g_autoptr(GVariant) tunables = g_variant_ref_sink(build_tunables(vmb_daemon_config(s->daemon)));
    vmb_manager1_set_tunables(m, tunables);
}

static void
on_daemon_changed(VmbDaemon *d, gpointer data)
{
    sync_properties(data);
}

/* ---- actions: signals (the status model keeps the history) ---- */

static void
on_action(const VmbAction *a, gpointer data)
{
    VmbDbusService *s = data;
    const char *domain = a->domain ? a->domain : "", *uuid = a->uuid ? a->uuid : "";
    const char *reason = a->reason ? a->reason : "", *detail = a->detail ? a->detail : "";
    if (a->kind == VMB_ACTION_PIN) {
        g_autofree char *from = vmb_action_cpus(a, FALSE), *to = vmb_action_cpus(a, TRUE);
        vmb_manager1_emit_pin_changed(s->skeleton, (guint64) a->wall_us, domain, uuid, a->vcpu,
                                      a->from_pcpu, a->to_pcpu, from, to, reason, detail,
                                      a->dry_run);
    } else
        vmb_manager1_emit_memory_changed(s->skeleton, (guint64) a->wall_us, domain, uuid,
                                         a->old_kib, a->new_kib, reason, detail, a->dry_run);
}

/* ---- methods ---- */

static GVariant *
build_pcpus(const VmbStatus *st)
{
    GVariantBuilder b;
    guint n;
    const VmbPcpuStatus *pcpus = vmb_status_pcpus(st, &n);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uddb)"));
    for (guint c = 0; c < n; c++)
        g_variant_builder_add(&b, "(uddb)", c, pcpus[c].busy, pcpus[c].background,
                              pcpus[c].allowed);
    return g_variant_builder_end(&b);
}

static GVariant *
build_domains(const VmbStatus *st)
{
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(ssba(uids)(xxxx))"));
    for (guint i = 0; i < vmb_status_n_domains(st); i++) {
        const VmbDomainStatus *dom = vmb_status_domain(st, i);
        GVariantBuilder vcpus;
        g_variant_builder_init(&vcpus, G_VARIANT_TYPE("a(uids)"));
        for (guint v = 0; v < dom->nvcpus; v++) {
            const VmbVcpuStatus *vs = &dom->vcpus[v];
            g_autofree char *cpus = vs->cpus        ? g_strdup(vs->cpus)
                                    : vs->pcpu >= 0 ? g_strdup_printf("%d", vs->pcpu)
                                                    : g_strdup("");
            g_variant_builder_add(&vcpus, "(uids)", v, vs->pcpu, vs->load, cpus);
        }
        g_variant_builder_add(&b, "(ssba(uids)(xxxx))", dom->name, dom->uuid, dom->excluded, &vcpus,
                              dom->actual_kib, dom->usable_kib, dom->target_kib, dom->maximum_kib);
    }
    return g_variant_builder_end(&b);
}

static gboolean
handle_get_status(VmbManager1 *m, GDBusMethodInvocation *inv, gpointer data)
{
    VmbDbusService *s = data;
    const VmbStatus *st = vmb_daemon_status(s->daemon);
    vmb_manager1_complete_get_status(m, inv, (guint64) vmb_status_snapshot_wall_us(st),
                                     build_pcpus(st), build_domains(st));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_tunables(VmbManager1 *m, GDBusMethodInvocation *inv, gpointer data)
{
    VmbDbusService *s = data;
    GVariantBuilder b;
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(svbss)"));
    for (guint i = 0; i < n; i++) {
        g_autofree char *range = vmb_config_describe_range(&keys[i]);
        g_variant_builder_add(
            &b, "(svbss)", keys[i].name, tunable_value(vmb_daemon_config(s->daemon), &keys[i]),
            vmb_overrides_lookup(s->overrides, keys[i].name) != NULL, range, keys[i].help);
    }
    vmb_manager1_complete_list_tunables(m, inv, g_variant_builder_end(&b));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static const VmbKeyInfo *
find_key(GDBusMethodInvocation *inv, const char *name)
{
    const VmbKeyInfo *key = vmb_config_find_key(name);
    if (!key)
        g_dbus_method_invocation_return_error(inv, VMB_DBUS_ERROR, VMB_DBUS_ERROR_UNKNOWN_KEY,
                                              "unknown key '%s' (`vmbalancectl get` lists them)",
                                              name);
    return key;
}

static gboolean
handle_get_tunable(VmbManager1 *m, GDBusMethodInvocation *inv, const char *name, gpointer data)
{
    VmbDbusService *s = data;
    const VmbKeyInfo *key = find_key(inv, name);
    if (key)
        vmb_manager1_complete_get_tunable(
            m, inv, key->name,
            g_variant_new_variant(tunable_value(vmb_daemon_config(s->daemon), key)));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_tunable(VmbManager1 *m, GDBusMethodInvocation *inv, const char *name, GVariant *value,
                   gpointer data)
{
    VmbDbusService *s = data;
    const VmbKeyInfo *key = find_key(inv, name);
    if (!key)
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    /* gdbus-codegen hands 'v' arguments over still boxed. */
    g_autoptr(GVariant) inner = g_variant_is_of_type(value, G_VARIANT_TYPE_VARIANT)
                                    ? g_variant_get_variant(value)
                                    : g_variant_ref(value);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = value_to_config_string(key, inner, &error);
    /* the host check before the drop-in is written: a refused value is never saved */
    if (text && !vmb_daemon_check_tunable(s->daemon, key->name, text, &error))
        g_clear_pointer(&text, g_free);
    VmbConfig *c = text ? vmb_overrides_set(s->overrides, key->name, text, &error) : NULL;
    if (!c) {
        return_error(inv, error);
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
    g_autofree char *shown = vmb_config_get(c, key->name, NULL);
    const char *fields[] = {"KEY", key->name, "VALUE", shown, NULL};
    vmb_log_fields(G_LOG_LEVEL_MESSAGE, VMB_MSGID_CONFIG, fields,
                   "%s set to %s over D-Bus (saved in %s)", key->name, shown,
                   vmb_overrides_path(s->overrides));
    vmb_daemon_apply_config(s->daemon, c);
    sync_properties(s);
    vmb_manager1_complete_set_tunable(m, inv);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reset_tunable(VmbManager1 *m, GDBusMethodInvocation *inv, const char *name, gpointer data)
{
    VmbDbusService *s = data;
    const VmbKeyInfo *key = find_key(inv, name);
    if (!key)
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    gboolean had = vmb_overrides_lookup(s->overrides, key->name) != NULL;
    g_autoptr(GError) error = NULL;
    VmbConfig *c = vmb_overrides_reset(s->overrides, key->name, &error);
    if (!c) {
        return_error(inv, error);
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
    if (had) {
        g_autofree char *shown = vmb_config_get(c, key->name, NULL);
        const char *fields[] = {"KEY", key->name, "VALUE", shown, NULL};
        vmb_log_fields(G_LOG_LEVEL_MESSAGE, VMB_MSGID_CONFIG, fields, "%s reset to %s over D-Bus",
                       key->name, shown);
    }
    vmb_daemon_apply_config(s->daemon, c);
    sync_properties(s);
    vmb_manager1_complete_reset_tunable(m, inv);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* "cpu", "memory" or "" (all) into a task mask. */
static gboolean
parse_task(GDBusMethodInvocation *inv, const char *name, guint *mask)
{
    if (name[0] == '\0') {
        *mask = (1u << VMB_TASK_CPU) | (1u << VMB_TASK_MEMORY);
    } else if (g_str_equal(name, "cpu")) {
        *mask = 1u << VMB_TASK_CPU;
    } else if (g_str_equal(name, "memory")) {
        *mask = 1u << VMB_TASK_MEMORY;
    } else {
        g_dbus_method_invocation_return_error(
            inv, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT,
            "unknown task '%s' (expected 'cpu', 'memory' or '' for both)", name);
        return FALSE;
    }
    return TRUE;
}

static void
set_paused(VmbDbusService *s, guint mask, gboolean paused)
{
    const VmbStatus *st = vmb_daemon_status(s->daemon);
    for (guint t = 0; t < VMB_N_TASKS; t++) {
        if (!(mask & (1u << t)) || vmb_status_task(st, t)->paused == paused)
            continue;
        vmb_daemon_set_paused(s->daemon, t, paused);
        g_message("%s task %s over D-Bus", vmb_task_name(t), paused ? "paused" : "resumed");
    }
    sync_properties(s);
}

static gboolean
handle_pause(VmbManager1 *m, GDBusMethodInvocation *inv, const char *task, gpointer data)
{
    guint mask;
    if (parse_task(inv, task, &mask)) {
        set_paused(data, mask, TRUE);
        vmb_manager1_complete_pause(m, inv);
    }
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resume(VmbManager1 *m, GDBusMethodInvocation *inv, const char *task, gpointer data)
{
    guint mask;
    if (parse_task(inv, task, &mask)) {
        set_paused(data, mask, FALSE);
        vmb_manager1_complete_resume(m, inv);
    }
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reload(VmbManager1 *m, GDBusMethodInvocation *inv, gpointer data)
{
    VmbDbusService *s = data;
    g_autoptr(GError) error = NULL;
    if (!vmb_daemon_reload(s->daemon, &error)) {
        g_warning("reload rejected, keeping the running settings: %s", error->message);
        g_dbus_method_invocation_return_error(inv, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED,
                                              "reload rejected, keeping the running "
                                              "settings: %s",
                                              error->message);
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
    sync_properties(s);
    vmb_manager1_complete_reload(m, inv);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The tasks of @mask to run now; FALSE (with the error returned) when a task asked for by
 * name is disabled or none is enabled. */
static gboolean
tasks_to_run(VmbDbusService *s, GDBusMethodInvocation *inv, const char *task, guint mask,
             guint *to_run)
{
    const VmbStatus *st = vmb_daemon_status(s->daemon);
    *to_run = 0;
    for (guint t = 0; t < VMB_N_TASKS; t++) {
        if (!(mask & (1u << t)))
            continue;
        if (vmb_status_task(st, t)->enabled) {
            *to_run |= 1u << t;
        } else if (task[0] != '\0') {
            g_dbus_method_invocation_return_error(inv, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED,
                                                  "task '%s' is disabled (%s.enabled = false)",
                                                  vmb_task_name(t), vmb_task_name(t));
            return FALSE;
        }
    }
    if (!*to_run) {
        g_dbus_method_invocation_return_error_literal(
            inv, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED,
            "no task is enabled (cpu.enabled = false, memory.enabled = false)");
        return FALSE;
    }
    return TRUE;
}

static gboolean
handle_run_now(VmbManager1 *m, GDBusMethodInvocation *inv, const char *task, gpointer data)
{
    VmbDbusService *s = data;
    guint mask, to_run;
    if (!parse_task(inv, task, &mask) || !tasks_to_run(s, inv, task, mask, &to_run))
        return G_DBUS_METHOD_INVOCATION_HANDLED;
    for (guint t = 0; t < VMB_N_TASKS; t++) {
        if (!(to_run & (1u << t)))
            continue;
        g_info("%s cycle requested over D-Bus", vmb_task_name(t));
        if (!vmb_daemon_run_task(s->daemon, t)) {
            const char *why = vmb_status_degraded_reason(vmb_daemon_status(s->daemon));
            sync_properties(s);
            g_dbus_method_invocation_return_error(inv, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED,
                                                  "the %s cycle could not read the hypervisor: %s",
                                                  vmb_task_name(t),
                                                  why ? why : "see the daemon log");
            return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
    }
    sync_properties(s);
    vmb_manager1_complete_run_now(m, inv);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_domain(VmbManager1 *m, GDBusMethodInvocation *inv, const char *domain, gpointer data)
{
    VmbDbusService *s = data;
    g_autoptr(GError) error = NULL;
    GVariant *policy = vmb_domain_control_describe(s->daemon, domain, &error);
    if (!policy)
        return_error(inv, error);
    else
        vmb_manager1_complete_get_domain(m, inv, policy);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_domain_policy(VmbManager1 *m, GDBusMethodInvocation *inv, const char *domain,
                         const char *key, const char *value, gpointer data)
{
    VmbDbusService *s = data;
    g_autoptr(GError) error = NULL;
    if (!vmb_domain_control_set(s->daemon, domain, key, value, &error))
        return_error(inv, error);
    else
        vmb_manager1_complete_set_domain_policy(m, inv);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reset_domain_policy(VmbManager1 *m, GDBusMethodInvocation *inv, const char *domain,
                           const char *key, gpointer data)
{
    VmbDbusService *s = data;
    g_autoptr(GError) error = NULL;
    if (!vmb_domain_control_set(s->daemon, domain, key, NULL, &error))
        return_error(inv, error);
    else
        vmb_manager1_complete_reset_domain_policy(m, inv);
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_history(VmbManager1 *m, GDBusMethodInvocation *inv, guint limit, gpointer data)
{
    VmbDbusService *s = data;
    const VmbStatus *st = vmb_daemon_status(s->daemon);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(tsssuiussttssb)"));
    guint n = vmb_status_history_length(st);
    for (guint i = limit && n > limit ? n - limit : 0; i < n; i++) {
        const VmbAction *h = vmb_status_history_nth(st, i);
        gboolean pin = h->kind == VMB_ACTION_PIN;
        g_autofree char *from = pin ? vmb_action_cpus(h, FALSE) : g_strdup("");
        g_autofree char *to = pin ? vmb_action_cpus(h, TRUE) : g_strdup("");
        g_variant_builder_add(&b, "(tsssuiussttssb)", (guint64) h->wall_us, pin ? "pin" : "memory",
                              h->domain, h->uuid, h->vcpu, h->from_pcpu, h->to_pcpu, from, to,
                              h->old_kib, h->new_kib, h->reason, h->detail, h->dry_run);
    }
    vmb_manager1_complete_get_history(m, inv, g_variant_builder_end(&b));
    return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- bus ---- */

static void
on_name_lost(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
             const char *signal, GVariant *params, gpointer data)
{
    VmbDbusService *s = data;
    g_warning("lost the bus name %s; stopping", VMB_DBUS_NAME);
    s->failed = TRUE;
    vmb_daemon_quit(s->daemon);
}

static void
on_bus_closed(GDBusConnection *bus, gboolean remote_peer_vanished, GError *error, gpointer data)
{
    g_warning("lost the system bus (%s); running on without the D-Bus interface",
              error ? error->message : "closed");
}

/* Synchronous, so that a second instance stops before its first cycle touches a pin:
 * two balancers would undo each other's work, owning the name is the lock. */
static gboolean
own_name(VmbDbusService *s, GError **error)
{
    s->name_lost_id = g_dbus_connection_signal_subscribe(
        s->bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameLost", "/org/freedesktop/DBus",
        VMB_DBUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_name_lost, s, NULL);

    g_autoptr(GError) local = NULL;
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        s->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "RequestName", g_variant_new("(su)", VMB_DBUS_NAME, 0x4 /* DO_NOT_QUEUE */),
        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &local);
    if (!reply) {
        g_dbus_error_strip_remote_error(local);
        g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED,
                    "cannot own %s on the system bus: %s (is the bus policy "
                    "org.vmbalance.Manager1.conf installed? --no-bus runs without the bus)",
                    VMB_DBUS_NAME, local->message);
        return FALSE;
    }
    guint32 code;
    g_variant_get(reply, "(u)", &code);
    if (code != 1 /* PRIMARY_OWNER */ && code != 4 /* ALREADY_OWNER */) {
        g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED,
                    "cannot own %s on the system bus: another vmbalanced is running",
                    VMB_DBUS_NAME);
        return FALSE;
    }
    g_message("serving %s on the system bus", VMB_DBUS_NAME);
    return TRUE;
}

/* The skeleton with its handlers, hooked into @d: not on a bus yet. */
static VmbDbusService *
service_new(VmbDaemon *d, VmbOverrides *overrides)
{
    VmbDbusService *s = g_new0(VmbDbusService, 1);
    s->daemon = d;
    s->overrides = overrides;
    s->skeleton = vmb_manager1_skeleton_new();
    (void) vmb_dbus_error_quark();

    VmbManager1 *m = s->skeleton;
    vmb_manager1_set_version(m, PACKAGE_VERSION);
    vmb_manager1_set_dry_run(m, vmb_status_dry_run(vmb_daemon_status(d)));
    sync_properties(s);
    g_signal_connect(m, "handle-get-status", G_CALLBACK(handle_get_status), s);
    g_signal_connect(m, "handle-list-tunables", G_CALLBACK(handle_list_tunables), s);
    g_signal_connect(m, "handle-get-tunable", G_CALLBACK(handle_get_tunable), s);
    g_signal_connect(m, "handle-set-tunable", G_CALLBACK(handle_set_tunable), s);
    g_signal_connect(m, "handle-reset-tunable", G_CALLBACK(handle_reset_tunable), s);
    g_signal_connect(m, "handle-pause", G_CALLBACK(handle_pause), s);
    g_signal_connect(m, "handle-resume", G_CALLBACK(handle_resume), s);
    g_signal_connect(m, "handle-reload", G_CALLBACK(handle_reload), s);
    g_signal_connect(m, "handle-run-now", G_CALLBACK(handle_run_now), s);
    g_signal_connect(m, "handle-get-history", G_CALLBACK(handle_get_history), s);
    g_signal_connect(m, "handle-get-domain", G_CALLBACK(handle_get_domain), s);
    g_signal_connect(m, "handle-set-domain-policy", G_CALLBACK(handle_set_domain_policy), s);
    g_signal_connect(m, "handle-reset-domain-policy", G_CALLBACK(handle_reset_domain_policy), s);

    vmb_daemon_add_action_hook(d, on_action, s);
    vmb_daemon_set_changed_func(d, on_daemon_changed, s);
    return s;
}

/* Exports the interface on @bus and owns the name there. */
static gboolean
service_export(VmbDbusService *s, GDBusConnection *bus, GError **error)
{
    s->bus = g_object_ref(bus);
    /* The daemon decides what to do when the bus goes away, not GDBus. */
    g_dbus_connection_set_exit_on_close(s->bus, FALSE);
    g_signal_connect(s->bus, "closed", G_CALLBACK(on_bus_closed), s);
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(s->skeleton), s->bus,
                                          VMB_DBUS_PATH, error))
        return FALSE;
    s->exported = TRUE;
    return own_name(s, error);
}

VmbDbusService *
vmb_dbus_service_new(VmbDaemon *d, VmbOverrides *overrides, GError **error)
{
    g_autoptr(VmbDbusService) s = service_new(d, overrides);
    g_autoptr(GError) local = NULL;
    g_autoptr(GDBusConnection) bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &local);
    if (!bus) {
        g_warning("no system bus (%s): running without the D-Bus interface", local->message);
        return g_steal_pointer(&s);
    }
    if (!service_export(s, bus, error))
        return NULL;
    return g_steal_pointer(&s);
}

VmbDbusService *
vmb_dbus_service_new_on_bus(VmbDaemon *d, VmbOverrides *overrides, GDBusConnection *bus,
                            GError **error)
{
    g_autoptr(VmbDbusService) s = service_new(d, overrides);
    if (!service_export(s, bus, error))
        return NULL;
    return g_steal_pointer(&s);
}

gboolean
vmb_dbus_service_failed(const VmbDbusService *s)
{
    return s->failed;
}

void
vmb_dbus_service_free(VmbDbusService *s)
{
    if (!s)
        return;
    vmb_daemon_remove_action_hook(s->daemon, on_action, s);
    vmb_daemon_set_changed_func(s->daemon, NULL, NULL);
    if (s->exported)
        g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(s->skeleton));
    if (s->bus) {
        if (s->name_lost_id)
            g_dbus_connection_signal_unsubscribe(s->bus, s->name_lost_id);
        g_signal_handlers_disconnect_by_data(s->bus, s);
        /* Send what is queued (the name release) before the process goes. */
        g_dbus_connection_flush_sync(s->bus, NULL, NULL);
        g_object_unref(s->bus);
    }
    g_object_unref(s->skeleton);
    g_free(s);
}
