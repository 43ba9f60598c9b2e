/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.vmbalance.Manager1 service from C: each test starts a private bus (GTestDBus),
 * the core library's daemon on the simulated host of data/demo.ini and its bus service on
 * that bus, then calls it from a second connection as a client would. The daemon runs in
 * this thread, so every call is asynchronous and the test iterates the main context until
 * the reply is in; a synchronous call would wait for a handler that cannot run. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "daemon.h"
#include "dbus-service.h"
#include "hv-fake.h"
#include "overrides.h"

#include "bus-test-util.h"
#include "test-util.h"

#define IFACE VMB_DBUS_NAME

typedef struct {
    GTestDBus *bus;
    GDBusConnection *service_conn;
    GDBusConnection *client;
    char *tmp;
    VmbDaemon *daemon;
    VmbOverrides *overrides;
    VmbDbusService *service;
} Fixture;

/* As main.c wires it: a configuration whose timers never fire during a test (cycles only
 * run when asked for), the runtime overrides on top, the service on the private bus. The
 * simulated host is data/demo.ini, or the scenario text in @data. */
static void
fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    f->tmp = g_dir_make_tmp("vmb-dbus-service-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *config = g_build_filename(f->tmp, "vmbalanced.conf", NULL);
    g_file_set_contents(config, "[daemon]\ninterval = 3600\n", -1, &error);
    g_assert_no_error(error);

    f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
    g_test_dbus_up(f->bus);
    f->service_conn = vmb_test_bus_connect(g_test_dbus_get_bus_address(f->bus));
    f->client = vmb_test_bus_connect(g_test_dbus_get_bus_address(f->bus));

    g_autofree char *uri = g_strconcat("fake://", VMB_SRCDIR, "/data/demo.ini", NULL);
    if (data) {
        g_autofree char *scenario = g_build_filename(f->tmp, "scenario.ini", NULL);
        g_file_set_contents(scenario, data, -1, &error);
        g_assert_no_error(error);
        g_free(uri);
        uri = g_strconcat("fake://", scenario, NULL);
    }
    f->daemon = vmb_daemon_new(config, FALSE, uri, FALSE, &error);
    g_assert_no_error(error);
    g_autofree char *state = g_build_filename(f->tmp, "state", NULL);
    f->overrides = vmb_overrides_new(state);
    vmb_overrides_load(f->overrides);
    vmb_daemon_apply_config(
        f->daemon,
        vmb_overrides_rebase(f->overrides, vmb_config_copy(vmb_daemon_config(f->daemon))));
    vmb_daemon_set_config_filter(f->daemon, vmb_test_apply_overrides, f->overrides);
    f->service = vmb_dbus_service_new_on_bus(f->daemon, f->overrides, f->service_conn, &error);
    g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    /* The service and the connections go before the bus: a closed bus is a warning. */
    g_clear_pointer(&f->service, vmb_dbus_service_free);
    g_clear_pointer(&f->daemon, vmb_daemon_free);
    g_clear_pointer(&f->overrides, vmb_overrides_free);
    g_dbus_connection_close_sync(f->client, NULL, NULL);
    g_dbus_connection_close_sync(f->service_conn, NULL, NULL);
    g_clear_object(&f->client);
    g_clear_object(&f->service_conn);
    g_test_dbus_down(f->bus);
    g_clear_object(&f->bus);
    vmb_test_remove_tree(f->tmp);
    g_free(f->tmp);
}

/* Calls @method of @iface on the service and waits for the reply (NULL and @error on an
 * error reply). */
static GVariant *
call_iface(Fixture *f, const char *iface, const char *method, GVariant *args,
           const char *reply_type, GError **error)
{
    return vmb_test_call(f->client, iface, method, args, reply_type, error);
}

static GVariant *
call(Fixture *f, const char *method, GVariant *args, const char *reply_type, GError **error)
{
    return call_iface(f, IFACE, method, args, reply_type, error);
}

/* Calls @method, which must succeed. */
static void
call_ok(Fixture *f, const char *method, GVariant *args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = call(f, method, args, "()", &error);
    g_assert_no_error(error);
}

static GVariant *
get_property(Fixture *f, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = call_iface(f, "org.freedesktop.DBus.Properties", "Get",
                                           g_variant_new("(ss)", IFACE, name), "(v)", &error);
    g_assert_no_error(error);
    GVariant *value;
    g_variant_get(reply, "(v)", &value);
    return value;
}

static guint64
get_uint64(Fixture *f, const char *name)
{
    g_autoptr(GVariant) v = get_property(f, name);
    g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64));
    return g_variant_get_uint64(v);
}

/* Before any cycle: no snapshot, so a zero timestamp and nothing listed. After one cycle of
 * each task: the demo host's 4 pCPUs and its 5 running domains (idle2 starts at 20 s), each
 * with its vCPUs and balloon. */
static void
test_get_status_shape(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    const char *type = "(ta(uddb)a(ssba(uids)(xxxx)))";
    g_autoptr(GVariant) before = call(f, "GetStatus", NULL, type, &error);
    g_assert_no_error(error);
    guint64 ts;
    g_autoptr(GVariant) pcpus = NULL, domains = NULL;
    g_variant_get(before, "(t@a(uddb)@a(ssba(uids)(xxxx)))", &ts, &pcpus, &domains);
    g_assert_cmpuint(ts, ==, 0);
    g_assert_cmpuint(g_variant_n_children(pcpus), ==, 0);
    g_assert_cmpuint(g_variant_n_children(domains), ==, 0);
    g_clear_pointer(&pcpus, g_variant_unref);
    g_clear_pointer(&domains, g_variant_unref);

    call_ok(f, "RunNow", g_variant_new("(s)", ""));
    g_autoptr(GVariant) after = call(f, "GetStatus", NULL, type, &error);
    g_assert_no_error(error);
    g_variant_get(after, "(t@a(uddb)@a(ssba(uids)(xxxx)))", &ts, &pcpus, &domains);
    g_assert_cmpuint(ts, >, 0);
    g_assert_cmpuint(g_variant_n_children(pcpus), ==, 4);
    g_assert_cmpuint(g_variant_n_children(domains), ==, 5);
    gboolean seen_web1 = FALSE;
    for (gsize i = 0; i < g_variant_n_children(domains); i++) {
        const char *name, *uuid;
        gboolean excluded;
        g_autoptr(GVariant) vcpus = NULL;
        gint64 actual, usable, target, maximum;
        g_variant_get_child(domains, i, "(&s&sb@a(uids)(xxxx))", &name, &uuid, &excluded, &vcpus,
                            &actual, &usable, &target, &maximum);
        g_assert_true(g_uuid_string_is_valid(uuid));
        g_assert_false(excluded);
        g_assert_cmpint(maximum, >, 0);
        if (g_str_equal(name, "web1")) {
            seen_web1 = TRUE;
            g_assert_cmpuint(g_variant_n_children(vcpus), ==, 2);
            g_assert_cmpint(maximum, ==, 2048 * 1024);
        }
    }
    g_assert_true(seen_web1);
}

/* RunNow for one task counts a cycle in its properties and in no other task's. */
static void
test_run_now_property(Fixture *f, gconstpointer data)
{
    g_assert_cmpuint(get_uint64(f, "CpuCycles"), ==, 0);
    g_assert_cmpuint(get_uint64(f, "CpuLastCycle"), ==, 0);
    gint64 start = g_get_real_time();
    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_assert_cmpuint(get_uint64(f, "CpuCycles"), ==, 1);
    g_assert_cmpuint(get_uint64(f, "CpuLastCycle"), >=, (guint64) start);
    g_assert_cmpuint(get_uint64(f, "MemoryCycles"), ==, 0);

    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) r = call(f, "RunNow", g_variant_new("(s)", "disk"), "()", &error);
    g_assert_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "'disk'"));
}

/* The seeds' host: 100/100/30/30 % all on pCPU 0 of 2; two balance moves in the second cycle. */
#define SEED_SCENARIO                                                                              \
    "[host]\ncpus = 2\n"                                                                           \
    "[domain big1]\nload = 100\npin = 0\n[domain big2]\nload = 100\npin = 0\n"                     \
    "[domain small1]\nload = 30\npin = 0\n[domain small2]\nload = 30\npin = 0\n"

/* MovesHelped and MovesFailed are the status model's verdict counters: none before a cycle,
 * then the verdicts on the moves of two cycles earlier: the seeds' two moves helped. */
static void
test_move_outcome_properties(Fixture *f, gconstpointer data)
{
    g_assert_cmpuint(get_uint64(f, "MovesHelped"), ==, 0);
    g_assert_cmpuint(get_uint64(f, "MovesFailed"), ==, 0);
    for (guint i = 0; i < 4; i++)
        call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    const VmbStatusCounters *n = vmb_status_counters(vmb_daemon_status(f->daemon));
    guint64 helped = get_uint64(f, "MovesHelped"), failed = get_uint64(f, "MovesFailed");
    g_test_message("%" G_GUINT64_FORMAT " pin changes, %" G_GUINT64_FORMAT
                   " helped, %" G_GUINT64_FORMAT " failed",
                   get_uint64(f, "PinChanges"), helped, failed);
    g_assert_cmpuint(helped, ==, n->moves_helped);
    g_assert_cmpuint(failed, ==, n->moves_failed);
    g_assert_cmpuint(get_uint64(f, "PinChanges"), ==, 2);
    g_assert_cmpuint(helped, ==, 2);
    g_assert_cmpuint(failed, ==, 0);
}

static GVariant *
get_domain(Fixture *f, const char *domain)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        call(f, "GetDomain", g_variant_new("(s)", domain), "(a{sv})", &error);
    g_assert_no_error(error);
    GVariant *policy;
    g_variant_get(reply, "(@a{sv})", &policy);
    return policy;
}

static void
assert_entry(GVariant *policy, const char *key, const char *want)
{
    const char *got = NULL;
    g_assert_true(g_variant_lookup(policy, key, "&s", &got));
    g_assert_cmpstr(got, ==, want);
}

static void
set_domain_expect(Fixture *f, const char *key, const char *value, gint code, const char *msg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) r =
        call(f, "SetDomainPolicy", g_variant_new("(sss)", "big2", key, value), "()", &error);
    g_assert_error(error, VMB_DBUS_ERROR, code);
    g_assert_nonnull(strstr(error->message, msg));
}

/* GetDomain shows the effective policy and its sources; SetDomainPolicy writes the metadata
 * (validated as the parser does) and the next cycle follows it; ResetDomainPolicy removes it. */
static void
test_domain_policy(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) none =
        call(f, "GetDomain", g_variant_new("(s)", "big2"), "(a{sv})", &error);
    g_assert_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT); /* no cycle yet */
    g_clear_error(&error);

    /* A simulated host is not this host: no other tools are looked for. */
    g_autoptr(GVariant) tools = get_property(f, "OtherTools");
    g_assert_cmpuint(g_variant_n_children(tools), ==, 0);

    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    {
        g_autoptr(GVariant) p = get_domain(f, "big2");
        assert_entry(p, "cpu", "auto");
        assert_entry(p, "cpu-from", "default");
        assert_entry(p, "metadata", "");
        double weight = 0;
        g_assert_true(g_variant_lookup(p, "weight", "d", &weight));
        g_assert_cmpfloat(weight, ==, 1.0);
    }
    set_domain_expect(f, "cpu", "of", VMB_DBUS_ERROR_INVALID_ARGUMENT,
                      "attribute 'cpu' = 'of': allowed auto or off");
    set_domain_expect(f, "cpus", "off", VMB_DBUS_ERROR_UNKNOWN_KEY, "unknown attribute 'cpus'");
    call_ok(f, "SetDomainPolicy", g_variant_new("(sss)", "big2", "max_mib", "512"));
    set_domain_expect(f, "min_mib", "1024", VMB_DBUS_ERROR_INVALID_ARGUMENT, "at most max_mib");
    g_autoptr(GVariant) r =
        call(f, "SetDomainPolicy", g_variant_new("(sss)", "nosuch", "cpu", "off"), "()", &error);
    g_assert_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "'nosuch'"));

    call_ok(f, "SetDomainPolicy", g_variant_new("(sss)", "big2", "cpu", "off"));
    for (guint i = 0; i < 4; i++)
        call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    {
        g_autoptr(GVariant) p = get_domain(f, "big2");
        assert_entry(p, "cpu", "off");
        assert_entry(p, "cpu-from", "metadata");
        assert_entry(p, "max-from", "metadata");
        assert_entry(p, "metadata", "<policy cpu=\"off\" max_mib=\"512\"/>");
    }
    {
        g_autoptr(GVariant) hands = get_property(f, "HandsOff");
        g_assert_cmpuint(g_variant_n_children(hands), ==, 1);
        const char *dom = NULL, *why = NULL;
        g_variant_get_child(hands, 0, "(&s&s)", &dom, &why);
        g_assert_cmpstr(dom, ==, "big2");
        g_assert_cmpstr(why, ==, "metadata cpu=\"off\"");
    }
    /* big2 stayed on pCPU 0: the balancer moved others. */
    const VmbStatus *st = vmb_daemon_status(f->daemon);
    for (guint i = 0; i < vmb_status_n_domains(st); i++) {
        const VmbDomainStatus *d = vmb_status_domain(st, i);
        if (g_str_equal(d->name, "big2"))
            g_assert_cmpint(d->vcpus[0].pcpu, ==, 0);
    }

    call_ok(f, "ResetDomainPolicy", g_variant_new("(ss)", "big2", "cpu"));
    call_ok(f, "ResetDomainPolicy", g_variant_new("(ss)", "big2", "max_mib"));
    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_autoptr(GVariant) p = get_domain(f, "big2");
    assert_entry(p, "cpu-from", "default");
    assert_entry(p, "metadata", "");
}

/* A balloon target someone else set, with memory.foreign_targets = respect: GetDomain says
 * memory off from operator, HandsOff says why, and ResetDomainPolicy memory hands it back. */
#define FOREIGN_SCENARIO                                                                           \
    "[host]\ncpus = 2\nmemory_mib = 8192\n"                                                        \
    "[domain g]\nmemory_mib = 2048\ncurrent_mib = 1024\nused_mib = 400\n"

static void
test_foreign_target(Fixture *f, gconstpointer data)
{
    call_ok(f, "SetTunable",
            g_variant_new("(sv)", "memory.foreign_targets", g_variant_new_string("respect")));
    call_ok(f, "RunNow", g_variant_new("(s)", "memory"));
    {
        g_autoptr(GVariant) p = get_domain(f, "g");
        assert_entry(p, "memory", "auto");
        assert_entry(p, "memory-from", "default");
    }
    g_assert_true(
        vmb_hv_fake_set_target(vmb_daemon_hypervisor(f->daemon), "g", 1600 * 1024, FALSE));
    call_ok(f, "RunNow", g_variant_new("(s)", "memory"));
    {
        g_autoptr(GVariant) p = get_domain(f, "g");
        assert_entry(p, "memory", "off");
        assert_entry(p, "memory-from", "operator");
        g_autoptr(GVariant) hands = get_property(f, "HandsOff");
        g_assert_cmpuint(g_variant_n_children(hands), ==, 1);
        const char *dom = NULL, *why = NULL;
        g_variant_get_child(hands, 0, "(&s&s)", &dom, &why);
        g_assert_cmpstr(dom, ==, "g");
        g_assert_cmpstr(why, ==,
                        "a balloon target someone else set is kept (memory.foreign_targets)");
    }
    call_ok(f, "ResetDomainPolicy", g_variant_new("(ss)", "g", "memory"));
    call_ok(f, "RunNow", g_variant_new("(s)", "memory"));
    g_autoptr(GVariant) p = get_domain(f, "g");
    assert_entry(p, "memory", "auto");
    assert_entry(p, "memory-from", "default");
    g_autoptr(GVariant) hands = get_property(f, "HandsOff");
    g_assert_cmpuint(g_variant_n_children(hands), ==, 0);
}

/* Topology: empty before a snapshot, then the simulated host's shape; a flat host says so. */
#define TOPO_SCENARIO "[host]\nsockets = 2\ncores = 4\nthreads = 2\nnodes = 2\nisolated = 7\n"

static const char *
topology_of(Fixture *f, GVariant **keep)
{
    *keep = get_property(f, "Topology");
    g_assert_true(g_variant_is_of_type(*keep, G_VARIANT_TYPE_STRING));
    return g_variant_get_string(*keep, NULL);
}

static void
test_topology_property(Fixture *f, gconstpointer data)
{
    g_autoptr(GVariant) before = NULL, after = NULL;
    g_assert_cmpstr(topology_of(f, &before), ==, "");
    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_assert_cmpstr(topology_of(f, &after), ==,
                    data ? "2 sockets x 4 cores x 2 threads, 2 nodes, 1 isolated"
                         : "4 CPUs (topology unknown)");
}

/* TopologyLoad: empty before a snapshot; then a busy vCPU pinned to pCPU 1 (socket 0, core 1,
 * node 0, sibling 9) shows on its core and node, and the loads add up to the pCPUs'. */
static void
test_topology_load_property(Fixture *f, gconstpointer data)
{
    g_autoptr(GVariant) before = get_property(f, "TopologyLoad");
    g_assert_cmpstr(g_variant_get_type_string(before), ==, "(a(iud)a(iisd))");
    g_autoptr(GVariant) n0 = g_variant_get_child_value(before, 0);
    g_assert_cmpuint(g_variant_n_children(n0), ==, 0);
    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_usleep(300000);
    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_autoptr(GVariant) v = get_property(f, "TopologyLoad");
    g_autoptr(GVariant) nodes = g_variant_get_child_value(v, 0);
    g_autoptr(GVariant) cores = g_variant_get_child_value(v, 1);
    g_assert_cmpuint(g_variant_n_children(nodes), ==, 2);
    g_assert_cmpuint(g_variant_n_children(cores), ==, 8);
    double node_sum = 0, core_sum = 0, load[2];
    for (guint i = 0; i < 2; i++) {
        gint node;
        guint ncpus;
        g_variant_get_child(nodes, i, "(iud)", &node, &ncpus, &load[i]);
        g_assert_cmpint(node, ==, (gint) i);
        g_assert_cmpuint(ncpus, ==, 8);
        node_sum += load[i];
    }
    g_assert_cmpfloat(load[0], >, 80);
    g_assert_cmpfloat(load[1], <, 20);
    for (guint k = 0; k < 8; k++) {
        gint socket, node;
        const char *cpus;
        double l;
        g_variant_get_child(cores, k, "(ii&sd)", &socket, &node, &cpus, &l);
        g_assert_cmpint(socket, ==, k < 4 ? 0 : 1);
        g_assert_cmpint(node, ==, k < 4 ? 0 : 1);
        g_autofree char *want = g_strdup_printf("%u,%u", k, k + 8);
        g_assert_cmpstr(cpus, ==, want);
        if (k == 1)
            g_assert_cmpfloat(l, >, 80);
        core_sum += l;
    }
    guint n;
    const VmbPcpuStatus *p = vmb_status_pcpus(vmb_daemon_status(f->daemon), &n);
    double pcpu_sum = 0;
    for (guint i = 0; i < n; i++)
        pcpu_sum += p[i].busy;
    g_assert_cmpfloat_with_epsilon(node_sum, pcpu_sum, 1e-6);
    g_assert_cmpfloat_with_epsilon(core_sum, pcpu_sum, 1e-6);
}

/* cpu.housekeeping_cpus over the bus: checked against the host of the last snapshot (16
 * CPUs) before it is saved; a valid list is taken and reads back. */
static void
test_set_housekeeping(Fixture *f, gconstpointer data)
{
    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) r = call(
        f, "SetTunable",
        g_variant_new("(sv)", "cpu.housekeeping_cpus", g_variant_new_string("0,16")), "()", &error);
    g_assert_null(r);
    g_assert_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "key 'cpu.housekeeping_cpus': CPU 16"));
    g_assert_nonnull(strstr(error->message, "allowed: 0-15"));
    g_assert_true(vmb_cpuset_is_empty(&vmb_daemon_config(f->daemon)->cpu_housekeeping));
    g_clear_error(&error);

    call_ok(f, "SetTunable",
            g_variant_new("(sv)", "cpu.housekeeping_cpus", g_variant_new_string("0,8")));
    g_autoptr(GVariant) v =
        call(f, "GetTunable", g_variant_new("(s)", "cpu.housekeeping_cpus"), "(sv)", &error);
    g_assert_no_error(error);
    g_autoptr(GVariant) inner = NULL;
    g_variant_get(v, "(&sv)", NULL, &inner);
    g_assert_cmpstr(g_variant_get_string(inner, NULL), ==, "0,8");
}

#define SET_PIN_SCENARIO "[host]\nsockets = 1\ncores = 2\nthreads = 2\n[domain a]\nload = 90\n"

/* cpu.pin_to = core set at run time: the floating vCPU is pinned to both threads of a core;
 * GetStatus shows the set (pcpu -1, cpus "0,2" or "1,3"), GetHistory the pin from "" (it
 * floated) to that set. */
static void
test_set_pins(Fixture *f, gconstpointer data)
{
    call_ok(f, "SetTunable", g_variant_new("(sv)", "cpu.pin_to", g_variant_new_string("core")));
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) history = NULL;
    for (guint i = 0; i < 6; i++) {
        call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
        g_clear_pointer(&history, g_variant_unref);
        history = call(f, "GetHistory", g_variant_new("(u)", 0), "(a(tsssuiussttssb))", &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) list = g_variant_get_child_value(history, 0);
        if (g_variant_n_children(list) > 0)
            break;
    }
    g_autoptr(GVariant) actions = g_variant_get_child_value(history, 0);
    g_assert_cmpuint(g_variant_n_children(actions), ==, 1);
    const char *kind, *from_cpus, *to_cpus;
    gint from;
    guint to;
    g_variant_get_child(actions, 0, "(t&s&s&suiu&s&stt&s&sb)", NULL, &kind, NULL, NULL, NULL, &from,
                        &to, &from_cpus, &to_cpus, NULL, NULL, NULL, NULL, NULL);
    g_assert_cmpstr(kind, ==, "pin");
    g_assert_cmpint(from, ==, -1);
    g_assert_cmpstr(from_cpus, ==, "");
    g_assert_true(g_str_equal(to_cpus, "0,2") || g_str_equal(to_cpus, "1,3"));
    g_assert_cmpuint(to, ==, to_cpus[0] - '0'); /* the set's first CPU */

    call_ok(f, "RunNow", g_variant_new("(s)", "cpu"));
    g_autoptr(GVariant) status =
        call(f, "GetStatus", NULL, "(ta(uddb)a(ssba(uids)(xxxx)))", &error);
    g_assert_no_error(error);
    g_autoptr(GVariant) domains = g_variant_get_child_value(status, 2);
    g_autoptr(GVariant) vcpus = NULL;
    g_variant_get_child(domains, 0, "(&s&sb@a(uids)(xxxx))", NULL, NULL, NULL, &vcpus, NULL, NULL,
                        NULL, NULL);
    gint pcpu;
    const char *cpus;
    g_variant_get_child(vcpus, 0, "(uid&s)", NULL, &pcpu, NULL, &cpus);
    g_assert_cmpint(pcpu, ==, -1);
    g_assert_cmpstr(cpus, ==, to_cpus);
}

/* A bad value is refused with InvalidArgument naming the key, an unknown key with
 * UnknownKey naming it; the tunable keeps its value. */
static void
test_set_tunable_validation(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) r =
        call(f, "SetTunable", g_variant_new("(sv)", "daemon.interval", g_variant_new_string("abc")),
             "()", &error);
    g_assert_null(r);
    g_assert_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT);
    g_autofree char *name = g_dbus_error_get_remote_error(error);
    g_assert_cmpstr(name, ==, VMB_DBUS_ERROR_NAME_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "key 'daemon.interval'"));
    g_clear_error(&error);

    g_autoptr(GVariant) r2 = call(
        f, "SetTunable", g_variant_new("(sv)", "cpu.frob", g_variant_new_uint32(1)), "()", &error);
    g_assert_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_UNKNOWN_KEY);
    g_assert_nonnull(strstr(error->message, "'cpu.frob'"));

    g_autoptr(GVariant) interval = get_property(f, "CpuInterval");
    g_assert_cmpuint(g_variant_get_uint32(interval), ==, 3600);
    call_ok(f, "SetTunable", g_variant_new("(sv)", "daemon.interval", g_variant_new_uint32(8)));
    g_autoptr(GVariant) changed = get_property(f, "CpuInterval");
    g_assert_cmpuint(g_variant_get_uint32(changed), ==, 8);
}

/* A host whose domain name is not UTF-8 and holds a control character, sharing pCPU 0 with
 * another so that a cycle moves one of them. */
#define BAD_NAME_SCENARIO                                                                          \
    "[host]\ncpus = 2\n"                                                                           \
    "[domain bad]\nname = bad\xff\x01name\nload = 100\npin = 0\n"                                  \
    "[domain good]\nload = 100\npin = 0\n"

/* Every string in @v is one a reader can take: valid UTF-8 without control characters. */
static void
assert_printable(GVariant *v)
{
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)) {
        const char *text = g_variant_get_string(v, NULL);
        g_assert_true(g_utf8_validate(text, -1, NULL));
        for (const char *p = text; *p; p++)
            g_assert_false(g_ascii_iscntrl(*p));
    } else if (g_variant_is_container(v)) {
        for (gsize i = 0; i < g_variant_n_children(v); i++) {
            g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
            assert_printable(child);
        }
    }
}

/* The bad name reaches GetStatus and GetHistory in its printable form, with no critical. */
static void
test_unprintable_domain_name(Fixture *f, gconstpointer data)
{
    for (guint i = 0; i < 2; i++)
        call_ok(f, "RunNow", g_variant_new("(s)", ""));
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) status =
        call(f, "GetStatus", NULL, "(ta(uddb)a(ssba(uids)(xxxx)))", &error);
    g_assert_no_error(error);
    assert_printable(status);
    g_autoptr(GVariant) domains = g_variant_get_child_value(status, 2);
    gboolean seen = FALSE;
    for (gsize i = 0; i < g_variant_n_children(domains); i++) {
        const char *name;
        g_variant_get_child(domains, i, "(&s@s@b@a(uids)@(xxxx))", &name, NULL, NULL, NULL, NULL);
        seen = seen || g_str_equal(name, "bad\\xff\\x01name");
    }
    g_assert_true(seen);
    g_autoptr(GVariant) history =
        call(f, "GetHistory", g_variant_new("(u)", 0), "(a(tsssuiussttssb))", &error);
    g_assert_no_error(error);
    assert_printable(history);
}

typedef struct {
    const char *property;
    GVariant *value; /* the first value announced for it */
} Watch;

static void
on_properties_changed(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                      const char *signal, GVariant *params, gpointer data)
{
    Watch *w = data;
    g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
    if (!w->value)
        w->value = g_variant_lookup_value(changed, w->property, NULL);
}

/* Pause announces MemoryPaused = true with PropertiesChanged. */
static void
test_properties_changed(Fixture *f, gconstpointer data)
{
    Watch w = {"MemoryPaused", NULL};
    guint id = g_dbus_connection_signal_subscribe(
        f->client, VMB_DBUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
        VMB_DBUS_PATH, IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, &w, NULL);
    /* A round trip, so that the bus has the match rule before the change. */
    g_autoptr(GVariant) paused = get_property(f, "MemoryPaused");
    g_assert_false(g_variant_get_boolean(paused));

    call_ok(f, "Pause", g_variant_new("(s)", "memory"));
    gint64 deadline = g_get_monotonic_time() + VMB_TEST_CALL_TIMEOUT_MS * 1000;
    while (!w.value && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
    g_dbus_connection_signal_unsubscribe(f->client, id);
    g_assert_nonnull(w.value);
    g_assert_true(g_variant_get_boolean(w.value));
    g_variant_unref(w.value);
}

/* The hypervisor layer's warning about an unprintable name is expected; any other warning or
 * critical still aborts the test. */
static GLogWriterOutput
skip_bad_name_warning(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
    for (gsize i = 0; (level & G_LOG_LEVEL_WARNING) && i < n; i++) {
        if (g_str_equal(fields[i].key, "MESSAGE") &&
            strstr(fields[i].value, "is not valid UTF-8 or holds control characters"))
            return G_LOG_WRITER_HANDLED;
    }
    return g_log_writer_default(level, fields, n, data);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* TAP goes to stdout; the daemon's messages go to stderr. */
    g_log_writer_default_set_use_stderr(TRUE);
    g_log_set_writer_func(skip_bad_name_warning, NULL, NULL);
    g_autofree char *dbus_daemon = g_find_program_in_path("dbus-daemon");
    if (!dbus_daemon) {
        g_test_skip("dbus-daemon is not installed (package dbus)");
        return g_test_run();
    }
    g_test_add("/dbus-service/get-status-shape", Fixture, NULL, fixture_setup,
               test_get_status_shape, fixture_teardown);
    g_test_add("/dbus-service/run-now-property", Fixture, NULL, fixture_setup,
               test_run_now_property, fixture_teardown);
    g_test_add("/dbus-service/move-outcome-properties", Fixture, SEED_SCENARIO, fixture_setup,
               test_move_outcome_properties, fixture_teardown);
    g_test_add("/dbus-service/domain-policy", Fixture, SEED_SCENARIO, fixture_setup,
               test_domain_policy, fixture_teardown);
    g_test_add("/dbus-service/foreign-target", Fixture, FOREIGN_SCENARIO, fixture_setup,
               test_foreign_target, fixture_teardown);
    g_test_add("/dbus-service/topology-property", Fixture, TOPO_SCENARIO, fixture_setup,
               test_topology_property, fixture_teardown);
    g_test_add("/dbus-service/set-housekeeping", Fixture, TOPO_SCENARIO, fixture_setup,
               test_set_housekeeping, fixture_teardown);
    g_test_add("/dbus-service/topology-load-property", Fixture,
               TOPO_SCENARIO "[domain a]\nload = 100\npin = 1\n", fixture_setup,
               test_topology_load_property, fixture_teardown);
    g_test_add("/dbus-service/set-pins", Fixture, SET_PIN_SCENARIO, fixture_setup, test_set_pins,
               fixture_teardown);
    g_test_add("/dbus-service/topology-property-flat", Fixture, NULL, fixture_setup,
               test_topology_property, fixture_teardown);
    g_test_add("/dbus-service/set-tunable-validation", Fixture, NULL, fixture_setup,
               test_set_tunable_validation, fixture_teardown);
    g_test_add("/dbus-service/properties-changed", Fixture, NULL, fixture_setup,
               test_properties_changed, fixture_teardown);
    g_test_add("/dbus-service/unprintable-domain-name", Fixture, BAD_NAME_SCENARIO, fixture_setup,
               test_unprintable_domain_name, fixture_teardown);
    return g_test_run();
}
