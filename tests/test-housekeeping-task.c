/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [cpu] housekeeping_cpus end to end: the balancer on the simulated host pins emulator threads
 * on appear, on a change of the setting and after someone else moved them (as cpu.foreign_pins
 * says), leaves hands-off domains alone and keeps vCPUs off those CPUs; the load a domain runs
 * outside its vCPUs counts there. Then the libvirt backend on the test driver (test:///default:
 * virDomainPinEmulator and virDomainPinIOThread work on it) and the numa_maps reader of a local
 * QEMU guest on a fixture tree. */
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <string.h>

#include "config.h"
#include "cpu-task.h"
#include "host-numa.h"
#include "housekeeping-task.h"
#include "hv-fake.h"
#include "hv-libvirt.h"
#include "test-fake-util.h"
#include "test-util.h"

static void
ignore_action(const VmbAction *a, gpointer data)
{
}

/* Runs @n balancer cycles of 5 s on @hv. */
static void
cycles(VmbCpuTask *t, VmbHypervisor *hv, const VmbConfig *c, guint n)
{
    for (guint i = 0; i < n; i++) {
        vmb_hv_fake_advance(hv, 5);
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        g_assert_no_error(error);
        VmbCpuCycleResult r;
        vmb_cpu_task_run(t, hv, s, c, FALSE, ignore_action, NULL, &r);
    }
}

static VmbFakeDomainInfo
info(VmbHypervisor *hv, const char *name)
{
    VmbFakeDomainInfo i;
    g_assert_true(vmb_hv_fake_domain_info(hv, name, &i));
    return i;
}

static const char scenario[] = "[host]\ncpus = 4\n"
                               "[domain a]\nvcpus = 2\nload = 90\n"
                               "[domain b]\nvcpus = 2\nload = 90\n"
                               "[domain x]\nvcpus = 1\nload = 50\n";

static void
test_fake_pins(void)
{
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from(scenario);
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_assert_true(vmb_config_set(c, "daemon.exclude", "x", NULL));
    VmbCpuTask t;
    vmb_cpu_task_init(&t);

    cycles(&t, hv, c, 3); /* off: nothing pinned */
    g_assert_null(info(hv, "a").emulator_cpus);

    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "0", NULL));
    cycles(&t, hv, c, 6);
    g_assert_cmpstr(info(hv, "a").emulator_cpus, ==, "0");
    g_assert_cmpstr(info(hv, "b").emulator_cpus, ==, "0");
    g_assert_cmpuint(info(hv, "a").hk_pins, ==, 1); /* once, not every cycle */
    g_assert_null(info(hv, "x").emulator_cpus);     /* excluded: never touched */
    /* vCPUs of the managed domains keep off CPU 0 */
    for (const char *const *n = (const char *const[]){"a", "b", NULL}; *n; n++) {
        VmbFakeDomainInfo i = info(hv, *n);
        for (guint v = 0; v < i.nvcpus; v++) {
            g_assert_cmpint(i.pins[v], >=, 1);
        }
    }

    /* Someone else moves a's emulator threads: override pins them back. */
    g_assert_true(vmb_hv_fake_set_emulator_pin(hv, "a", "2-3"));
    cycles(&t, hv, c, 1);
    g_assert_cmpstr(info(hv, "a").emulator_cpus, ==, "0");
    g_assert_cmpuint(info(hv, "a").hk_pins, ==, 2);

    /* ... respect leaves them there, also when the setting changes. */
    g_assert_true(vmb_config_set(c, "cpu.foreign_pins", "respect", NULL));
    g_assert_true(vmb_hv_fake_set_emulator_pin(hv, "a", "2-3"));
    cycles(&t, hv, c, 1);
    g_assert_cmpstr(info(hv, "a").emulator_cpus, ==, "2-3");
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "0-1", NULL));
    cycles(&t, hv, c, 1);
    g_assert_cmpstr(info(hv, "a").emulator_cpus, ==, "2-3");
    g_assert_cmpstr(info(hv, "b").emulator_cpus, ==, "0-1");

    /* Emptied: ours go back to every CPU. */
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "", NULL));
    cycles(&t, hv, c, 1);
    g_assert_cmpstr(info(hv, "b").emulator_cpus, ==, "0-3");
    guint pins = info(hv, "b").hk_pins;
    cycles(&t, hv, c, 2);
    g_assert_cmpuint(info(hv, "b").hk_pins, ==, pins);
    vmb_cpu_task_clear(&t);
}

/* A list naming CPUs the host lacks pins nothing and leaves every CPU to vCPUs. */
static void
test_fake_invalid(void)
{
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from(scenario);
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "3-4", NULL));
    VmbCpuTask t;
    vmb_cpu_task_init(&t);
    vmb_test_warnings = g_ptr_array_new_with_free_func(g_free);
    cycles(&t, hv, c, 6);
    g_assert_cmpuint(vmb_test_warnings->len, ==, 1); /* once, not every cycle */
    g_assert_nonnull(strstr(g_ptr_array_index(vmb_test_warnings, 0),
                            "key 'cpu.housekeeping_cpus': CPU 4 is not an online CPU of this "
                            "host (allowed: 0-3)"));
    g_clear_pointer(&vmb_test_warnings, g_ptr_array_unref);
    g_assert_null(info(hv, "a").emulator_cpus);
    g_assert_cmpuint(info(hv, "a").hk_pins, ==, 0);
    gboolean used3 = FALSE;
    for (const char *const *n = (const char *const[]){"a", "b", "x", NULL}; *n; n++) {
        VmbFakeDomainInfo i = info(hv, *n);
        for (guint v = 0; v < i.nvcpus; v++)
            used3 |= i.pins[v] == 3;
    }
    g_assert_true(used3); /* 5 busy vCPUs on 4 CPUs: every CPU is used */
    vmb_cpu_task_clear(&t);
}

/* The time a domain runs outside its vCPUs is spread over the housekeeping CPUs, once its
 * emulator threads are pinned there. */
static void
test_other_load_counted(void)
{
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from("[host]\ncpus = 4\n[domain a]\nvcpus = 1\n");
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "0-1", NULL));
    g_autoptr(VmbHousekeeping) h = vmb_housekeeping_new();
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, NULL);
    VmbDomainStat *d = g_ptr_array_index(s->domains, 0);
    double bound[4] = {0};
    d->cpu_time_ns = 0;
    d->vcpus[0].time_ns = 0;
    s->mono_us = 0;
    g_assert_true(vmb_housekeeping_run(h, hv, s, c, FALSE, bound)); /* pins, first sample */
    g_assert_cmpfloat(bound[0] + bound[1], ==, 0);
    /* 1 s later: 0.7 s in the vCPU, 0.3 s besides it (30 % of a pCPU) */
    d->cpu_time_ns = 1000000000;
    d->vcpus[0].time_ns = 700000000;
    s->mono_us = G_USEC_PER_SEC;
    vmb_housekeeping_run(h, hv, s, c, FALSE, bound);
    g_assert_cmpfloat_with_epsilon(bound[0], 15, 1e-9);
    g_assert_cmpfloat_with_epsilon(bound[1], 15, 1e-9);
    g_assert_cmpfloat(bound[2] + bound[3], ==, 0);
    g_assert_cmpuint(vmb_housekeeping_pins(h), ==, 1);
}

/* On the simulated host, emulator threads pinned to CPU 0 use 70 % of it. cpu.cpus names CPU 0,
 * so vCPUs may go there, but their measured load counts against it: the three 60 % vCPUs end
 * on CPUs 1-3 and CPU 0 carries at most the 10 % one with the emulator threads. */
static void
test_emulator_load_steers(void)
{
    g_autoptr(VmbHypervisor) hv = vmb_test_fake_from("[host]\ncpus = 4\n"
                                                     "[domain io]\nload = 10\nemulator = 70\n"
                                                     "[domain w1]\nload = 60\n"
                                                     "[domain w2]\nload = 60\n"
                                                     "[domain w3]\nload = 60\n");
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "0", NULL));
    g_assert_true(vmb_config_set(c, "cpu.cpus", "0-3", NULL));
    VmbCpuTask t;
    vmb_cpu_task_init(&t);
    cycles(&t, hv, c, 12);
    g_assert_cmpstr(info(hv, "io").emulator_cpus, ==, "0");
    for (const char *const *n = (const char *const[]){"w1", "w2", "w3", NULL}; *n; n++)
        g_assert_cmpint(info(hv, *n).pins[0], !=, 0);
    double max = 0;
    for (guint p = 0; p < 4; p++)
        max = MAX(max, vmb_hv_fake_pcpu_load(hv, p));
    g_test_message("busiest pCPU %.1f %%, CPU 0 background %.1f %%", max, t.host.background[0]);
    g_assert_cmpfloat(vmb_hv_fake_pcpu_load(hv, 0), <=, 81);
    g_assert_cmpfloat(t.host.background[0], >, 50); /* the emulator threads, counted there */
    vmb_cpu_task_clear(&t);
}

/* test:///default: its domain "test" runs on a host of 8 CPUs and has no IOThread; one added
 * live is pinned with the emulator threads. */
static void
test_libvirt(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new("test:///default", &error);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
    g_assert_no_error(error);
    const VmbDomainStat *d = g_ptr_array_index(s->domains, 0);
    g_assert_null(d->emulator_cpus); /* not read: unknown until pinned or an event */
    virDomainPtr dom = virDomainLookupByUUIDString(vmb_hv_libvirt_get_conn(hv), d->uuid);
    g_assert_nonnull(dom);
    g_assert_cmpint(virDomainAddIOThread(dom, 5, VIR_DOMAIN_AFFECT_LIVE), ==, 0);

    VmbCpuSet set;
    vmb_cpuset_clear(&set);
    vmb_cpuset_add(&set, 2);
    vmb_cpuset_add(&set, 3);
    g_assert_true(vmb_hypervisor_pin_housekeeping(hv, d->uuid, &set, &error));
    g_assert_no_error(error);
    unsigned char map[1] = {0};
    g_assert_cmpint(virDomainGetEmulatorPinInfo(dom, map, 1, 0), ==, 1);
    g_assert_cmpuint(map[0], ==, 0x0c);
    virDomainIOThreadInfoPtr *io = NULL;
    int n = virDomainGetIOThreadInfo(dom, &io, 0);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpuint(io[0]->iothread_id, ==, 5);
    g_assert_cmpuint(io[0]->cpumap[0], ==, 0x0c);
    virDomainIOThreadInfoFree(io[0]);
    g_free(io);
    g_autoptr(VmbSnapshot) s2 = vmb_hypervisor_snapshot(hv, &error);
    d = vmb_snapshot_find(s2, d->uuid);
    g_assert_cmpstr(d->emulator_cpus, ==, "2-3");

    /* The test driver would take CPU 9 of 8: the backend refuses it. */
    vmb_cpuset_add(&set, 9);
    g_assert_false(vmb_hypervisor_pin_housekeeping(hv, d->uuid, &set, &error));
    g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID);
    virDomainFree(dom);
}

/* The node of a local guest's memory: pid file, cmdline check, numa_maps. */
static void
test_host_numa(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *root = g_dir_make_tmp("vmb-numa-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *run = g_build_filename(root, "run", "libvirt", "qemu", NULL);
    g_autofree char *proc = g_build_filename(root, "proc", "4242", NULL);
    g_assert_cmpint(g_mkdir_with_parents(run, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(proc, 0700), ==, 0);
    g_autofree char *pidfile = g_build_filename(run, "guest1.pid", NULL);
    g_autofree char *other = g_build_filename(run, "guest2.pid", NULL);
    g_autofree char *cmdline = g_build_filename(proc, "cmdline", NULL);
    g_autofree char *maps = g_build_filename(proc, "numa_maps", NULL);
    static const char cmd[] = "/usr/bin/qemu-system-x86_64\0-name\0guest=guest1,debug-threads=on";
    const char *srcdir = g_getenv("VMB_SRCDIR");
    g_autofree char *fixture =
        g_build_filename(srcdir, "tests", "data", "numa-maps", "qemu-two-nodes.txt", NULL);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(fixture, &text, NULL, NULL));
    g_assert_true(g_file_set_contents(pidfile, "4242\n", -1, NULL));
    g_assert_true(g_file_set_contents(other, "4242\n", -1, NULL)); /* stale: another guest */
    g_assert_true(g_file_set_contents(cmdline, cmd, sizeof(cmd), NULL));
    g_assert_true(g_file_set_contents(maps, text, -1, NULL));

    g_autoptr(VmbTopology) t = vmb_topology_new_grid(2, 2, 1, 2, &error);
    g_assert_cmpint(vmb_host_numa_node(root, "guest1", t, &error), ==, 1);
    g_assert_no_error(error);
    g_assert_cmpint(vmb_host_numa_node(root, "guest2", t, &error), ==, -1);
    g_assert_cmpint(vmb_host_numa_node(root, "guest3", t, &error), ==, -1);
    g_assert_no_error(error);
    /* a pid file naming a process whose /proc entries cannot be read: said */
    g_autofree char *hidden = g_build_filename(run, "guest4.pid", NULL);
    g_assert_true(g_file_set_contents(hidden, "4343\n", -1, NULL));
    g_assert_cmpint(vmb_host_numa_node(root, "guest4", t, &error), ==, -1);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "4343/cmdline"));
    g_clear_error(&error);
    g_unlink(hidden);
    g_assert_true(g_file_set_contents(maps, "7f00 default N1=x\n", -1, NULL));
    g_assert_cmpint(vmb_host_numa_node(root, "guest1", t, &error), ==, -1);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "numa_maps"));

    g_unlink(maps);
    g_unlink(cmdline);
    g_unlink(pidfile);
    g_unlink(other);
    g_rmdir(proc);
    g_autofree char *procdir = g_path_get_dirname(proc);
    g_rmdir(procdir);
    g_rmdir(run);
    g_autofree char *r1 = g_path_get_dirname(run), *r2 = g_path_get_dirname(r1);
    g_rmdir(r1);
    g_rmdir(r2);
    g_rmdir(root);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_writer_func(vmb_test_capture_warnings, NULL, NULL);
    g_test_add_func("/housekeeping-task/fake-pins", test_fake_pins);
    g_test_add_func("/housekeeping-task/fake-invalid", test_fake_invalid);
    g_test_add_func("/housekeeping-task/other-load", test_other_load_counted);
    g_test_add_func("/housekeeping-task/emulator-load-steers", test_emulator_load_steers);
    g_test_add_func("/housekeeping-task/libvirt", test_libvirt);
    g_test_add_func("/housekeeping-task/host-numa", test_host_numa);
    return g_test_run();
}
