/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Soak: the core library's daemon on the simulated host for VMB_SOAK_CYCLES cycles (default
 * 20,000; one cycle = the CPU task then the memory task), as main.c wires it: the runtime
 * overrides, and the bus service on a private bus (GTestDBus) called from a second
 * connection. The daemon's timers never fire (interval 3600): cycles are driven with
 * vmb_daemon_run_task(), at least MIN_CYCLE_US apart, so 20,000 of them take a minute or two,
 * not 28 hours.
 *
 * The simulated host follows the real monotonic clock from the moment the daemon opens it,
 * so its scenarios are written in tenths of a second. Every RELOAD_EVERY cycles the
 * configuration file is rewritten with the other host's URI and reloaded, alternately by
 * SIGHUP (a GLib signal source calling vmb_daemon_reload(), as daemon.c's handler does) and
 * by the bus's Reload; the new URI reopens the simulated host, whose clock starts again, so
 * every segment sees again:
 *  - domains appearing (start =) and vanishing (stop =);
 *  - a domain migrating: "mig" (same UUID) leaves host A and is found on host B; "web" is on
 *    both with the same name, another UUID and another vCPU count;
 *  - the hypervisor going away and coming back (down = ...), and a scenario that fails to
 *    load at a reload (the running settings and host stay);
 *  - a configuration file with a bad value at a reload (refused, the running settings stay).
 * Every DBUS_EVERY cycles one bus call, in turn: GetStatus, GetHistory, ListTunables,
 * GetTunable, SetTunable, ResetTunable, Pause/Resume, a property Get.
 *
 * Fails on: a GLib critical (G_DEBUG=fatal-criticals), a warning that is not one of the
 * expected ones below, a bus call that fails, a reload that fails or succeeds against
 * expectation, no appear/vanish/down seen, a leak (LSan at exit, ASan build), or an RSS that
 * grew more than RSS_SLACK_KIB between cycle WARMUP and the end (printed: "RSS start/end"). */
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "dbus-service.h"
#include "overrides.h"

#include "bus-test-util.h"

#define RELOAD_EVERY 250
#define DBUS_EVERY   7
#define WARMUP       2000
/* The history ring (1000 actions), the status and the bus connections are full well before
 * WARMUP; what may still move is allocator slack (ASan keeps freed blocks in a quarantine,
 * limited in tests/meson.build). 8 MiB over 18,000 cycles is 466 bytes a cycle: a leak of
 * one snapshot, one string per domain per cycle, or a bus reply per call shows up. */
#define RSS_SLACK_KIB (8 * 1024)
/* Wall time a cycle takes at least: the simulated host's scenario runs on the real clock, so
 * a reload segment (RELOAD_EVERY cycles) must last long enough to reach its events (the host
 * going down at 0.5 s). An optimised build ran a cycle in 0.66 ms and never saw them. */
#define MIN_CYCLE_US 3000

/* Host A: 4 pCPUs. "flash" lives from 0.1 s to 0.7 s, "late" appears at 0.4 s, "short" is
 * gone at 0.35 s, "mig" leaves at 0.8 s (migrating to B); down from 0.5 to 0.6 s and then
 * for 0.1 s each second. */
static const char host_a[] = "[host]\ncpus = 4\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                             "background = 3\nseed = 5\ndown = %s\n"
                             "[domain web]\nuuid = 11111111-1111-1111-1111-111111111111\n"
                             "vcpus = 2\nload = 0:80 0.3:80 0.3:20\nnoise = 4\n"
                             "memory_mib = 2048\ncurrent_mib = 1024\nused_mib = 0:300 0.5:900\n"
                             "[domain db]\nvcpus = 1\nload = 100\npin = 0\nmemory_mib = 4096\n"
                             "current_mib = 3072\nused_mib = 600\n"
                             "[domain mig]\nuuid = 33333333-3333-3333-3333-333333333333\n"
                             "vcpus = 2\nload = 70\npin = 0,0\nstop = 0.8\nmemory_mib = 2048\n"
                             "current_mib = 2048\nused_mib = 200\n"
                             "[domain flash]\nvcpus = 1\nload = 90\nstart = 0.1\nstop = 0.7\n"
                             "memory_mib = 1024\nused_mib = 100\n"
                             "[domain late]\nvcpus = 3\nload = 40\nstart = 0.4\n"
                             "memory_mib = 1024\ncurrent_mib = 512\nused_mib = 0:64 1:600\n"
                             "[domain short]\nvcpus = 1\nload = 50\nstop = 0.35\n";

/* Host B: 6 pCPUs. "mig" arrives at 0.05 s, "web" is another guest of the same name. */
static const char host_b[] = "[host]\ncpus = 6\nmemory_mib = 8192\nhost_used_mib = 0:512 1:2048\n"
                             "background = 10\nniced = 40\nseed = 9\ndown = %s\n"
                             "[domain web]\nuuid = 22222222-2222-2222-2222-222222222222\n"
                             "vcpus = 4\nload = 60\nnoise = 10\nmemory_mib = 4096\n"
                             "current_mib = 2048\nused_mib = 0:100 0.4:3000\n"
                             "[domain mig]\nuuid = 33333333-3333-3333-3333-333333333333\n"
                             "vcpus = 2\nload = 70\nstart = 0.05\nmemory_mib = 2048\n"
                             "current_mib = 1024\nused_mib = 200\nlazy = yes\n"
                             "[domain burst]\nvcpus = 2\nload = 0:10 0.2:100\nstart = 0.15\n"
                             "stop = 0.9\nmemory_mib = 2048\nused_mib = 0:100 0.3:1800\n"
                             "page_cache = 30\n";

typedef struct {
    char *tmp, *config, *scenario[2];
    GTestDBus *bus;
    GDBusConnection *service_conn, *client;
    VmbDaemon *daemon;
    VmbOverrides *overrides;
    VmbDbusService *service;
    guint host; /* 0: A, 1: B */
    guint reloads, sighups, refused_reloads, calls, failed_cycles, down_seen;
    guint appeared, vanished;
    GHashTable *warnings; /* message prefix -> count */
} Soak;

/* Warnings the scenario provokes: the hypervisor is down for a while, a reload is refused. */
static const char *const expected_warnings[] = {
    "hypervisor",
    "cannot use fake://",
    "reload rejected",
    "cannot connect",
    "snapshot",
    "reconnect",
    "lost",
    NULL,
};

static Soak *current;

static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    const char *message = "";
    for (gsize i = 0; i < n_fields; i++) {
        if (g_strcmp0(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
            message = fields[i].value;
    }
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
        g_printerr("soak: critical: %s\n", message);
        abort();
    }
    if (level & G_LOG_LEVEL_WARNING) {
        gboolean expected = FALSE;
        for (guint i = 0; expected_warnings[i]; i++)
            expected = expected || strstr(message, expected_warnings[i]) != NULL;
        g_autofree char *key = g_strndup(message, 60);
        if (!expected) {
            g_printerr("soak: unexpected warning: %s\n", message);
            g_hash_table_insert(current->warnings, g_strconcat("UNEXPECTED ", key, NULL),
                                GUINT_TO_POINTER(1));
        } else {
            guint n = GPOINTER_TO_UINT(g_hash_table_lookup(current->warnings, key));
            g_hash_table_insert(current->warnings, g_steal_pointer(&key), GUINT_TO_POINTER(n + 1));
        }
    }
    if (g_getenv("VMB_SOAK_VERBOSE"))
        return g_log_writer_standard_streams(level, fields, n_fields, user_data);
    return G_LOG_WRITER_HANDLED;
}

static guint64
rss_kib(void)
{
    g_autofree char *status = NULL;
    g_file_get_contents("/proc/self/status", &status, NULL, NULL);
    const char *p = status ? strstr(status, "VmRSS:") : NULL;
    return p ? g_ascii_strtoull(p + strlen("VmRSS:"), NULL, 10) : 0;
}

static void
write_scenario(Soak *s, guint host)
{
    /* Host A goes away 0.5 s into each of its segments and is back at the next reload (the
     * daemon's reconnect backoff starts at 1 s, longer than what is left of the segment); host
     * B stays up. So the share of cycles without a host stays under half whatever the speed of
     * the build (a segment of 1 s: a quarter), and every other reload meets a host coming
     * back. Down windows every second as well made it 51 % under ASan, over the check. */
    const char *down = host ? "" : "0.5:0.6";
    g_autofree char *text = g_strdup_printf(host ? host_b : host_a, down);
    g_autoptr(GError) error = NULL;
    g_file_set_contents(s->scenario[host], text, -1, &error);
    g_assert_no_error(error);
}

static void
write_config(Soak *s, const char *extra)
{
    g_autofree char *text = g_strdup_printf("[daemon]\ninterval = 3600\nuri = fake://%s\n"
                                            "[memory]\nstats_period = 1\n%s",
                                            s->scenario[s->host], extra ? extra : "");
    g_autoptr(GError) error = NULL;
    g_file_set_contents(s->config, text, -1, &error);
    g_assert_no_error(error);
}

static gboolean
on_sighup(gpointer data)
{
    Soak *s = data;
    g_autoptr(GError) error = NULL;
    s->sighups++;
    if (!vmb_daemon_reload(s->daemon, &error))
        g_warning("reload rejected, keeping the running settings: %s", error->message);
    return G_SOURCE_CONTINUE;
}

static GVariant *
call_iface(Soak *s, const char *iface, const char *method, GVariant *args, const char *type,
           GError **error)
{
    s->calls++;
    return vmb_test_call(s->client, iface, method, args, type, error);
}

static void
call_ok(Soak *s, const char *method, GVariant *args, const char *type)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = call_iface(s, VMB_DBUS_NAME, method, args, type, &error);
    if (!reply)
        g_printerr("soak: %s failed: %s\n", method, error->message);
    g_assert_no_error(error);
}

static void
bus_call(Soak *s, guint n)
{
    switch (n % 9) {
    case 0:
        call_ok(s, "GetStatus", NULL, "(ta(uddb)a(ssba(uids)(xxxx)))");
        break;
    case 1:
        call_ok(s, "GetHistory", g_variant_new("(u)", 50), "(a(tsssuiussttssb))");
        break;
    case 2:
        call_ok(s, "ListTunables", NULL, "(a(svbss))");
        break;
    case 3:
        call_ok(s, "GetTunable", g_variant_new("(s)", "cpu.hysteresis"), "(sv)");
        break;
    case 4:
        call_ok(s, "SetTunable",
                g_variant_new("(sv)", "cpu.hysteresis", g_variant_new_double(1 + n % 10)), "()");
        break;
    case 5:
        call_ok(s, "SetTunable",
                g_variant_new("(sv)", "cpu.max_moves", g_variant_new_uint32(n % 4)), "()");
        break;
    case 6:
        call_ok(s, "ResetTunable", g_variant_new("(s)", n % 2 ? "cpu.max_moves" : "cpu.hysteresis"),
                "()");
        break;
    case 7:
        call_ok(s, "Pause", g_variant_new("(s)", "memory"), "()");
        call_ok(s, "Resume", g_variant_new("(s)", "memory"), "()");
        break;
    default: {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = call_iface(s, "org.freedesktop.DBus.Properties", "GetAll",
                                           g_variant_new("(s)", VMB_DBUS_NAME), "(a{sv})", &error);
        g_assert_no_error(error);
        break;
    }
    }
}

/* Every reload: switch hosts. Every fifth: a bad value first (refused, nothing changes);
 * every seventh: a scenario that does not load (the URI is refused, the old host stays). */
static void
reload(Soak *s, guint n)
{
    g_autoptr(GError) error = NULL;
    if (n % 5 == 4) {
        write_config(s, "[cpu]\nhysteresis = 1000\n");
        g_assert_false(vmb_daemon_reload(s->daemon, &error));
        g_assert_nonnull(error);
        g_clear_error(&error);
        s->refused_reloads++;
    }
    if (n % 7 == 6) {
        g_autofree char *broken = g_build_filename(s->tmp, "broken.ini", NULL);
        g_file_set_contents(broken, "[host]\ncpus = many\n", -1, NULL);
        g_autofree char *text =
            g_strdup_printf("[daemon]\ninterval = 3600\nuri = fake://%s\n", broken);
        g_file_set_contents(s->config, text, -1, NULL);
        g_assert_true(vmb_daemon_reload(s->daemon, &error));
        g_assert_no_error(error);
    }
    s->host = !s->host;
    write_scenario(s, s->host);
    write_config(s, NULL);
    s->reloads++;
    if (n % 2) {
        guint before = s->sighups;
        raise(SIGHUP);
        while (s->sighups == before)
            g_main_context_iteration(NULL, TRUE);
    } else {
        call_ok(s, "Reload", NULL, "()");
    }
}

static void
on_action(const VmbAction *a, gpointer data)
{
}

/* The temporary directory with both hosts' scenarios and the configuration (host A). */
static void
soak_write_files(Soak *s)
{
    g_autoptr(GError) error = NULL;
    s->tmp = g_dir_make_tmp("vmb-soak-XXXXXX", &error);
    g_assert_no_error(error);
    s->config = g_build_filename(s->tmp, "vmbalanced.conf", NULL);
    for (guint h = 0; h < 2; h++) {
        s->scenario[h] = g_build_filename(s->tmp, h ? "host-b.ini" : "host-a.ini", NULL);
        write_scenario(s, h);
    }
    write_config(s, NULL);
}

/* The private bus and its two connections, then the daemon wired as main.c does: the
 * runtime overrides, an action hook and the bus service. */
static void
soak_start(Soak *s)
{
    s->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
    g_test_dbus_up(s->bus);
    s->service_conn = vmb_test_bus_connect(g_test_dbus_get_bus_address(s->bus));
    s->client = vmb_test_bus_connect(g_test_dbus_get_bus_address(s->bus));

    g_autoptr(GError) error = NULL;
    s->daemon = vmb_daemon_new(s->config, FALSE, NULL, FALSE, &error);
    g_assert_no_error(error);
    g_autofree char *state = g_build_filename(s->tmp, "state", NULL);
    s->overrides = vmb_overrides_new(state);
    vmb_overrides_load(s->overrides);
    vmb_daemon_apply_config(
        s->daemon,
        vmb_overrides_rebase(s->overrides, vmb_config_copy(vmb_daemon_config(s->daemon))));
    vmb_daemon_set_config_filter(s->daemon, vmb_test_apply_overrides, s->overrides);
    vmb_daemon_add_action_hook(s->daemon, on_action, s);
    s->service = vmb_dbus_service_new_on_bus(s->daemon, s->overrides, s->service_conn, &error);
    g_assert_no_error(error);
}

/* RSS in KiB: at the start, after the warm-up, the largest progress sample, at the end. */
typedef struct {
    guint64 start, warm, max, end;
} Rss;

/* One cycle's two tasks; counts a cycle that could not read the host (and whether the
 * status says degraded), and, on the others, domains appearing or vanishing since the last
 * cycle that read it (@prev_domains). */
static void
soak_run_tasks(Soak *s, guint *prev_domains)
{
    gboolean ok = vmb_daemon_run_task(s->daemon, VMB_TASK_CPU);
    ok = vmb_daemon_run_task(s->daemon, VMB_TASK_MEMORY) && ok;
    const VmbStatus *st = vmb_daemon_status(s->daemon);
    if (!ok) {
        s->failed_cycles++;
        if (vmb_status_degraded_reason(st))
            s->down_seen++;
        return;
    }
    guint n = vmb_status_n_domains(st);
    if (n > *prev_domains)
        s->appeared++;
    if (n < *prev_domains)
        s->vanished++;
    *prev_domains = n;
}

/* Cycle @i: the tasks, pending events, the bus call or reload it is due for, progress every
 * 1000 cycles, and the wait to MIN_CYCLE_US. */
static void
soak_cycle(Soak *s, guint i, guint *prev_domains, gint64 t0, Rss *rss)
{
    gint64 cycle_start = g_get_monotonic_time();
    soak_run_tasks(s, prev_domains);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    if (i % DBUS_EVERY == DBUS_EVERY - 1)
        bus_call(s, i / DBUS_EVERY);
    if (i % RELOAD_EVERY == RELOAD_EVERY - 1)
        reload(s, i / RELOAD_EVERY);
    if (i % 1000 == 999) {
        guint64 r = rss_kib();
        rss->max = MAX(rss->max, r);
        g_print("# cycle %u: %.1f s, RSS %" G_GUINT64_FORMAT " KiB, %u failed cycles\n", i + 1,
                (g_get_monotonic_time() - t0) / 1e6, r, s->failed_cycles);
    }
    gint64 spent = g_get_monotonic_time() - cycle_start;
    if (spent < MIN_CYCLE_US)
        g_usleep(MIN_CYCLE_US - spent);
}

/* Prints the summary and the warnings seen; TRUE if one was unexpected. */
static gboolean
soak_summary(Soak *s, guint cycles, guint warmup, double secs, const Rss *rss)
{
    const VmbStatusCounters *c = vmb_status_counters(vmb_daemon_status(s->daemon));
    g_print("# soak: %u cycles in %.1f s (%.2f ms a cycle); %u reloads (%u by SIGHUP, %u refused "
            "configurations), %u bus calls\n",
            cycles, secs, secs * 1000 / MAX(cycles, 1), s->reloads, s->sighups, s->refused_reloads,
            s->calls);
    g_print("# soak: %u cycles could not read the host (%u degraded), domains appeared %u "
            "times, vanished %u times; %" G_GUINT64_FORMAT " pin changes, %" G_GUINT64_FORMAT
            " balloon targets, %" G_GUINT64_FORMAT " errors counted\n",
            s->failed_cycles, s->down_seen, s->appeared, s->vanished, c->pin_changes,
            c->memory_changes, c->errors);
    g_print("# soak: RSS start %" G_GUINT64_FORMAT " KiB, after %u cycles %" G_GUINT64_FORMAT
            " KiB, end %" G_GUINT64_FORMAT " KiB (max %" G_GUINT64_FORMAT
            "; allowed growth after warm-up %u KiB)\n",
            rss->start, warmup, rss->warm, rss->end, rss->max, RSS_SLACK_KIB);
    GHashTableIter it;
    gpointer key, value;
    gboolean unexpected = FALSE;
    g_hash_table_iter_init(&it, s->warnings);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        g_print("# warning x%u: %s\n", GPOINTER_TO_UINT(value), (const char *) key);
        unexpected = unexpected || g_str_has_prefix(key, "UNEXPECTED");
    }
    return unexpected;
}

/* The service before the daemon it serves and the overrides it holds, then the bus. */
static void
soak_stop(Soak *s)
{
    g_clear_pointer(&s->service, vmb_dbus_service_free);
    g_clear_pointer(&s->daemon, vmb_daemon_free);
    g_clear_pointer(&s->overrides, vmb_overrides_free);
    g_dbus_connection_close_sync(s->client, NULL, NULL);
    g_dbus_connection_close_sync(s->service_conn, NULL, NULL);
    g_clear_object(&s->client);
    g_clear_object(&s->service_conn);
    g_test_dbus_down(s->bus);
    g_clear_object(&s->bus);
}

/* The exit status: 1 with a "not ok" line for each check that failed. */
static int
soak_verdict(const Soak *s, guint cycles, const Rss *rss, gboolean unexpected)
{
    int rc = 0;
    if (unexpected) {
        g_print("not ok: unexpected warnings\n");
        rc = 1;
    }
    if (cycles >= 2000 && (!s->down_seen || !s->appeared || !s->vanished)) {
        g_print("not ok: the scenario did not play (down %u, appeared %u, vanished %u)\n",
                s->down_seen, s->appeared, s->vanished);
        rc = 1;
    }
    if (s->failed_cycles > cycles / 2) {
        g_print("not ok: %u of %u cycles could not read the host\n", s->failed_cycles, cycles);
        rc = 1;
    }
    if (rss->end > rss->warm + RSS_SLACK_KIB) {
        g_print("not ok: RSS grew from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                " KiB after warm-up\n",
                rss->warm, rss->end);
        rc = 1;
    }
    return rc;
}

static void
soak_remove_files(Soak *s)
{
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", s->tmp);
    if (system(rm) != 0)
        g_print("# cannot remove %s\n", s->tmp);
    for (guint h = 0; h < 2; h++)
        g_free(s->scenario[h]);
    g_free(s->config);
    g_free(s->tmp);
}

int
main(int argc, char **argv)
{
    Soak soak = {0}, *s = &soak;
    current = s;
    s->warnings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_log_set_writer_func(log_writer, NULL, NULL);
    const char *env = g_getenv("VMB_SOAK_CYCLES");
    guint cycles = env ? (guint) g_ascii_strtoull(env, NULL, 10) : 20000;
    guint warmup = MIN(WARMUP, cycles / 10);

    soak_write_files(s);
    soak_start(s);
    guint sighup = g_unix_signal_add(SIGHUP, on_sighup, s);

    gint64 t0 = g_get_monotonic_time();
    Rss rss = {.start = rss_kib()};
    guint prev_domains = 0;
    for (guint i = 0; i < cycles; i++) {
        if (i == warmup)
            rss.warm = rss_kib();
        soak_cycle(s, i, &prev_domains, t0, &rss);
    }
    rss.end = rss_kib();
    double secs = (g_get_monotonic_time() - t0) / 1e6;
    gboolean unexpected = soak_summary(s, cycles, warmup, secs, &rss);

    g_source_remove(sighup);
    soak_stop(s);
    int rc = soak_verdict(s, cycles, &rss, unexpected);
    soak_remove_files(s);
    g_hash_table_unref(s->warnings);
    if (!rc)
        g_print("ok: soak\n");
    return rc;
}
