/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend against libvirt's in-process test driver, test:///.../test-host.xml: a
 * node with 4 CPUs and three running domains (see the XML).
 *
 * What the test driver leaves empty, so these tests cannot check it: virConnectGetAllDomainStats()
 * gives only state.* (no cpu.time, no vcpu.*, no balloon.*), so the backend completes vCPU count,
 * CPU time and balloon current/maximum from virDomainGetInfo() and nothing has wait times or
 * guest balloon figures; there are no node memory statistics (available stays 0); vCPU and node
 * CPU times are made up. Each test:/// connection has private state, so changes are made and
 * checked through the connection of the hypervisor object under test
 * (vmb_hv_libvirt_get_conn()). */
#include "test-libvirt.h"

static char *
test_uri(void)
{
    const char *srcdir = g_getenv("VMB_SRCDIR");
#ifdef VMB_SRCDIR
    if (!srcdir)
        srcdir = VMB_SRCDIR;
#endif
    g_assert_nonnull(srcdir);
    g_autofree char *path = g_build_filename(srcdir, "tests", "data", "test-host.xml", NULL);
    g_autofree char *abs = g_canonicalize_filename(path, NULL);
    g_assert_true(g_file_test(abs, G_FILE_TEST_IS_REGULAR));
    return g_strconcat("test://", abs, NULL);
}

VmbHypervisor *
open_hv(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *uri = test_uri();
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new(uri, &error);
    g_assert_no_error(error);
    g_assert_nonnull(hv);
    g_assert_cmpstr(hv->ops->name, ==, "libvirt");
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_assert_no_error(error);
    g_assert_nonnull(vmb_hv_libvirt_get_conn(hv));
    return g_steal_pointer(&hv);
}

VmbSnapshot *
take_snapshot(VmbHypervisor *hv)
{
    g_autoptr(GError) error = NULL;
    VmbSnapshot *s = vmb_hypervisor_snapshot(hv, &error);
    g_assert_no_error(error);
    g_assert_nonnull(s);
    return s;
}

const VmbDomainStat *
find_domain(const VmbSnapshot *s, const char *uuid)
{
    const VmbDomainStat *d = vmb_snapshot_find(s, uuid);
    g_assert_nonnull(d);
    return d;
}

/* A domain of the hypervisor's own connection (the test driver state is per connection). */
virDomainPtr
lookup(VmbHypervisor *hv, const char *uuid)
{
    virDomainPtr dom = virDomainLookupByUUIDString(vmb_hv_libvirt_get_conn(hv), uuid);
    g_assert_nonnull(dom);
    return dom;
}

static void
drop_log(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
}

/* Warnings the backend logs, kept when a test expects them instead of aborting it. */
GPtrArray *warnings;

static GLogWriterOutput
capture_warnings(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
    for (gsize i = 0; warnings && (level & G_LOG_LEVEL_WARNING) && i < n; i++) {
        if (g_str_equal(fields[i].key, "MESSAGE") && fields[i].length < 0) {
            g_ptr_array_add(warnings, g_strdup(fields[i].value));
            return G_LOG_WRITER_HANDLED;
        }
    }
    return g_log_writer_default(level, fields, n, data);
}

/* Runs the default main context for @ms milliseconds (libvirt-glib dispatches there). */
void
run_for(guint ms)
{
    gint64 until = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < until) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* GTest shows debug messages, and libvirt-glib's event loop logs every timer and watch
     * (without a log domain). */
    g_log_set_handler(NULL, G_LOG_LEVEL_DEBUG, drop_log, NULL);
    g_log_set_writer_func(capture_warnings, NULL, NULL);
    g_test_add_func("/libvirt/snapshot", test_snapshot);
    g_test_add_func("/libvirt/topology-default", test_topology_default);
    g_test_add_func("/libvirt/pin", test_pin);
    g_test_add_func("/libvirt/pin-errors", test_pin_errors);
    g_test_add_func("/libvirt/pin-set", test_pin_set);
    g_test_add_func("/libvirt/calls-without-events", test_calls_without_events);
    g_test_add_func("/libvirt/calls-with-events", test_calls_with_events);
    g_test_add_func("/libvirt/memory", test_memory);
    g_test_add_func("/libvirt/memory-transient", test_memory_transient);
    g_test_add_func("/libvirt/foreign-target", test_foreign_target);
    g_test_add_func("/libvirt/stats-period", test_stats_period);
    g_test_add_func("/libvirt/events", test_events);
    g_test_add_func("/libvirt/reconnect", test_reconnect);
    g_test_add_func("/libvirt/open-fails", test_open_fails);
    g_test_add_func("/libvirt/metadata", test_metadata);
    g_test_add_func("/libvirt/definition", test_definition);
    g_test_add_func("/libvirt/set-policy", test_set_policy);
    g_test_add_func("/libvirt/migrating", test_migrating);
    return g_test_run();
}
