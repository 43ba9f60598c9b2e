/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-render.h"

#include "json-layout.h"

/* Every double of the status is a percentage, documented with two decimals. */
#define PERCENT_DECIMALS 2
/* History and tunables: doubles as the shortest text that reads back the same. */
#define EXACT_DECIMALS -1

/* Unknown values are null, never -1. */
static void
set_opt_int(JsonObject *o, const char *key, gint64 v)
{
    json_object_set_member(o, key,
                           v >= 0 ? json_node_init_int(json_node_alloc(), v)
                                  : json_node_init_null(json_node_alloc()));
}

static void
set_opt_percent(JsonObject *o, const char *key, double v)
{
    json_object_set_member(o, key,
                           v >= 0 ? json_node_init_double(json_node_alloc(), v)
                                  : json_node_init_null(json_node_alloc()));
}

/* Times are 0 until they happen. */
static void
set_opt_time(JsonObject *o, const char *key, guint64 us)
{
    set_opt_int(o, key, us ? (gint64) us : -1);
}

static char *
object_to_json(JsonObject *o, int decimals)
{
    g_autoptr(JsonNode) root = json_node_init_object(json_node_alloc(), o);
    return vmb_json_layout(root, decimals);
}

static JsonObject *
tasks_to_json(const VmbCtlStatus *s)
{
    JsonObject *tasks = json_object_new();
    for (guint i = 0; i < VMB_CTL_N_TASKS; i++) {
        const VmbCtlTask *t = &s->tasks[i];
        JsonObject *o = json_object_new();
        json_object_set_boolean_member(o, "enabled", t->enabled);
        json_object_set_boolean_member(o, "paused", t->paused);
        json_object_set_int_member(o, "interval_s", t->interval_s);
        json_object_set_int_member(o, "cycles", (gint64) t->cycles);
        set_opt_time(o, "last_cycle_us", t->last_cycle_us);
        json_object_set_object_member(tasks, t->name, o);
    }
    return tasks;
}

static JsonObject *
counters_to_json(const VmbCtlStatus *s)
{
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "pin_changes", (gint64) s->pin_changes);
    json_object_set_int_member(o, "moves_helped", (gint64) s->moves_helped);
    json_object_set_int_member(o, "moves_failed", (gint64) s->moves_failed);
    json_object_set_int_member(o, "memory_changes", (gint64) s->memory_changes);
    json_object_set_int_member(o, "errors", (gint64) s->errors);
    return o;
}

/* All null before a memory cycle (or when the host's available memory is unknown). */
static JsonObject *
host_memory_to_json(const VmbCtlHostMemory *m)
{
    static const char *const keys[] = {"available_kib", "reserve_kib", "headroom_kib", "pressure"};
    JsonObject *o = json_object_new();
    if (!m->known) {
        for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
            json_object_set_null_member(o, keys[i]);
        return o;
    }
    json_object_set_int_member(o, keys[0], (gint64) m->available_kib);
    json_object_set_int_member(o, keys[1], (gint64) m->reserve_kib);
    json_object_set_int_member(o, keys[2], m->headroom_kib);
    json_object_set_boolean_member(o, keys[3], m->pressure);
    return o;
}

/* How a member of an array element is read from its struct and written. */
typedef enum {
    MEMBER_U32,     /* guint32 */
    MEMBER_I32,     /* gint32 */
    MEMBER_OPT_I32, /* gint32, null when < 0 */
    MEMBER_PERCENT, /* double, null when < 0 (not measured yet) */
    MEMBER_BOOL,    /* gboolean */
    MEMBER_STRING,  /* char * */
    MEMBER_LIST,    /* char *, a CPU list: absent when NULL or empty */
} MemberKind;

typedef struct {
    const char *key;
    MemberKind kind;
    gsize offset;
} Member;

static const Member pcpu_members[] = {
    {"cpu", MEMBER_U32, G_STRUCT_OFFSET(VmbCtlPcpu, cpu)},
    {"busy_percent", MEMBER_PERCENT, G_STRUCT_OFFSET(VmbCtlPcpu, busy_percent)},
    {"background_percent", MEMBER_PERCENT, G_STRUCT_OFFSET(VmbCtlPcpu, background_percent)},
    {"allowed", MEMBER_BOOL, G_STRUCT_OFFSET(VmbCtlPcpu, allowed)},
};

static const Member node_load_members[] = {
    {"node", MEMBER_I32, G_STRUCT_OFFSET(VmbCtlNodeLoad, node)},
    {"cpus", MEMBER_U32, G_STRUCT_OFFSET(VmbCtlNodeLoad, ncpus)},
    {"load_percent", MEMBER_PERCENT, G_STRUCT_OFFSET(VmbCtlNodeLoad, load_percent)},
};

static const Member core_load_members[] = {
    {"socket", MEMBER_I32, G_STRUCT_OFFSET(VmbCtlCoreLoad, socket)},
    {"node", MEMBER_I32, G_STRUCT_OFFSET(VmbCtlCoreLoad, node)},
    {"cpus", MEMBER_STRING, G_STRUCT_OFFSET(VmbCtlCoreLoad, cpus)},
    {"load_percent", MEMBER_PERCENT, G_STRUCT_OFFSET(VmbCtlCoreLoad, load_percent)},
};

static const Member vcpu_members[] = {
    {"vcpu", MEMBER_U32, G_STRUCT_OFFSET(VmbCtlVcpu, vcpu)},
    {"pcpu", MEMBER_OPT_I32, G_STRUCT_OFFSET(VmbCtlVcpu, pcpu)},
    {"load_percent", MEMBER_PERCENT, G_STRUCT_OFFSET(VmbCtlVcpu, load_percent)},
    /* the pin as a CPU list; absent while it floats */
    {"cpus", MEMBER_LIST, G_STRUCT_OFFSET(VmbCtlVcpu, cpus)},
};

static void
set_member(JsonObject *o, const Member *m, gconstpointer item)
{
    gconstpointer field = (const char *) item + m->offset;
    const char *text = NULL;
    switch (m->kind) {
    case MEMBER_U32:
        json_object_set_int_member(o, m->key, *(const guint32 *) field);
        break;
    case MEMBER_I32:
        json_object_set_int_member(o, m->key, *(const gint32 *) field);
        break;
    case MEMBER_OPT_I32:
        set_opt_int(o, m->key, *(const gint32 *) field);
        break;
    case MEMBER_PERCENT:
        set_opt_percent(o, m->key, *(const double *) field);
        break;
    case MEMBER_BOOL:
        json_object_set_boolean_member(o, m->key, *(const gboolean *) field);
        break;
    case MEMBER_STRING:
        json_object_set_string_member(o, m->key, *(char *const *) field);
        break;
    case MEMBER_LIST:
        text = *(char *const *) field;
        if (text && *text)
            json_object_set_string_member(o, m->key, text);
        break;
    }
}

/* An array of objects, one per element of @items, with the @n_members members of @members. */
static JsonArray *
array_to_json(GArray *items, const Member *members, guint n_members)
{
    JsonArray *a = json_array_new();
    guint size = g_array_get_element_size(items);
    for (guint i = 0; i < items->len; i++) {
        gconstpointer item = items->data + (gsize) i * size;
        JsonObject *o = json_object_new();
        for (guint m = 0; m < n_members; m++)
            set_member(o, &members[m], item);
        json_array_add_object_element(a, o);
    }
    return a;
}

#define ARRAY_TO_JSON(items, members) array_to_json((items), (members), G_N_ELEMENTS(members))

static JsonObject *
domain_to_json(const VmbCtlDomain *d)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "name", d->name);
    json_object_set_string_member(o, "uuid", d->uuid);
    json_object_set_boolean_member(o, "excluded", d->excluded);
    json_object_set_array_member(o, "vcpus", ARRAY_TO_JSON(d->vcpus, vcpu_members));
    JsonObject *m = json_object_new();
    set_opt_int(m, "actual_kib", d->actual_kib);
    set_opt_int(m, "usable_kib", d->usable_kib);
    set_opt_int(m, "target_kib", d->target_kib);
    set_opt_int(m, "maximum_kib", d->maximum_kib);
    json_object_set_object_member(o, "memory", m);
    return o;
}

char *
vmb_status_to_json(const VmbCtlStatus *s)
{
    g_autoptr(JsonObject) o = json_object_new();
    json_object_set_int_member(o, "format", 1);
    json_object_set_string_member(o, "version", s->version);
    json_object_set_string_member(o, "state", s->state);
    json_object_set_string_member(o, "state_reason", s->state_reason);
    json_object_set_string_member(o, "uri", s->uri);
    json_object_set_string_member(o, "topology", s->topology ? s->topology : "");
    json_object_set_boolean_member(o, "dry_run", s->dry_run);
    set_opt_time(o, "timestamp_us", s->timestamp_us);
    json_object_set_object_member(o, "tasks", tasks_to_json(s));
    json_object_set_object_member(o, "counters", counters_to_json(s));
    json_object_set_object_member(o, "host_memory", host_memory_to_json(&s->host_memory));
    json_object_set_array_member(o, "pcpus", ARRAY_TO_JSON(s->pcpus, pcpu_members));
    json_object_set_array_member(o, "nodes", ARRAY_TO_JSON(s->nodes, node_load_members));
    json_object_set_array_member(o, "cores", ARRAY_TO_JSON(s->cores, core_load_members));
    JsonArray *domains = json_array_new();
    for (guint i = 0; i < s->domains->len; i++)
        json_array_add_object_element(domains, domain_to_json(g_ptr_array_index(s->domains, i)));
    json_object_set_array_member(o, "domains", domains);
    return object_to_json(o, PERCENT_DECIMALS);
}

static JsonObject *
action_to_json(const VmbCtlAction *a)
{
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "time_us", (gint64) a->time_us);
    json_object_set_string_member(o, "kind", a->kind);
    json_object_set_string_member(o, "domain", a->domain);
    if (g_str_equal(a->kind, "pin")) {
        json_object_set_int_member(o, "vcpu", a->vcpu);
        set_opt_int(o, "from_pcpu", a->from_pcpu);
        json_object_set_int_member(o, "to_pcpu", a->to_pcpu);
        if (a->from_cpus && *a->from_cpus)
            json_object_set_string_member(o, "from_cpus", a->from_cpus);
        if (a->to_cpus && *a->to_cpus)
            json_object_set_string_member(o, "to_cpus", a->to_cpus);
    } else {
        json_object_set_int_member(o, "old_kib", (gint64) a->old_kib);
        json_object_set_int_member(o, "new_kib", (gint64) a->new_kib);
    }
    json_object_set_string_member(o, "reason", a->reason);
    json_object_set_string_member(o, "detail", a->detail);
    json_object_set_boolean_member(o, "dry_run", a->dry_run);
    return o;
}

char *
vmb_history_to_json(const VmbCtlHistory *h)
{
    g_autoptr(JsonArray) actions = json_array_new();
    for (guint i = 0; i < h->actions->len; i++)
        json_array_add_object_element(actions,
                                      action_to_json(&g_array_index(h->actions, VmbCtlAction, i)));
    g_autoptr(JsonNode) root = json_node_init_array(json_node_alloc(), actions);
    return vmb_json_layout(root, EXACT_DECIMALS);
}

char *
vmb_tunables_to_json(GVariant *list, const char *wanted)
{
    g_autoptr(JsonObject) o = json_object_new();
    GVariantIter it;
    const char *name, *allowed, *help;
    GVariant *value;
    gboolean overridden;
    g_variant_iter_init(&it, list);
    while (g_variant_iter_next(&it, "(&svb&s&s)", &name, &value, &overridden, &allowed, &help)) {
        g_autoptr(GVariant) owned = value;
        if (wanted && !g_str_equal(wanted, name))
            continue;
        JsonObject *t = json_object_new();
        /* Typed as on the bus: boolean, integer, number, string or array of strings. */
        json_object_set_member(t, "value", json_gvariant_serialize(value));
        json_object_set_boolean_member(t, "override", overridden);
        json_object_set_string_member(t, "allowed", allowed);
        json_object_set_string_member(t, "description", help);
        json_object_set_object_member(o, name, t);
    }
    return object_to_json(o, EXACT_DECIMALS);
}
