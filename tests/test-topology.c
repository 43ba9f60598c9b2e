/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host topology model and its readers: libvirt capabilities XML (hand-written fixtures in
 * tests/data/topology/ and the real API on test:///default), the /sys readers on fixture
 * trees, and the simulated host's scenario shapes. */
#include <string.h>

#include <libvirt/libvirt.h>

#include "host-sysfs.h"
#include "topology-caps.h"
#include "topology.h"

static char *
data_path(const char *name)
{
    const char *srcdir = g_getenv("VMB_SRCDIR");
#ifdef VMB_SRCDIR
    if (!srcdir)
        srcdir = VMB_SRCDIR;
#endif
    return g_build_filename(srcdir, "tests", "data", "topology", name, NULL);
}

static VmbTopology *
load_caps(const char *name, guint npcpus)
{
    g_autofree char *path = data_path(name);
    g_autofree char *xml = NULL;
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_get_contents(path, &xml, NULL, &error));
    VmbTopology *t = vmb_topology_from_caps(xml, npcpus, &error);
    g_assert_no_error(error);
    g_assert_nonnull(t);
    return t;
}

static void
assert_core(const VmbTopology *t, guint pcpu, const guint *want, guint n_want)
{
    guint n;
    const guint *cpus = vmb_topology_core_cpus(t, pcpu, &n);
    g_assert_cmpuint(n, ==, n_want);
    for (guint i = 0; i < n; i++)
        g_assert_cmpuint(cpus[i], ==, want[i]);
}

static void
assert_describe(const VmbTopology *t, const char *want)
{
    g_autofree char *d = vmb_topology_describe(t);
    g_assert_cmpstr(d, ==, want);
}

static void
test_caps_2s8c2t(void)
{
    g_autoptr(VmbTopology) t = load_caps("caps-2s8c2t.xml", 0);
    g_assert_true(t->known);
    g_assert_cmpuint(t->npcpus, ==, 32);
    g_assert_cmpuint(t->ncores, ==, 16);
    g_assert_cmpuint(t->nsockets, ==, 2);
    g_assert_cmpuint(t->nnodes, ==, 2);
    g_assert_cmpuint(t->max_threads, ==, 2);
    assert_core(t, 0, (guint[]){0, 16}, 2);
    assert_core(t, 27, (guint[]){11, 27}, 2);
    g_assert_cmpuint(t->cpu[8].node, ==, 1);
    g_assert_cmpuint(t->cpu[24].node, ==, 1);
    g_assert_cmpuint(t->cpu[23].node, ==, 0);
    g_assert_cmpint(t->cpu[27].socket, ==, 1);
    g_assert_cmpint(t->cpu[27].core_id, ==, 3);
    g_assert_cmpuint(t->distance[0 * 2 + 1], ==, 21);
    g_assert_cmpuint(t->distance[1 * 2 + 1], ==, 10);
    g_assert_cmpuint(t->node_kib[1], ==, 16777216);
    /* The L3 banks (level 3 beats the level-2 bank listed first). */
    g_assert_cmpuint(t->ncaches, ==, 2);
    g_assert_cmpuint(t->cpu[0].cache, ==, t->cpu[23].cache);
    g_assert_cmpuint(t->cpu[0].cache, !=, t->cpu[8].cache);
    for (guint c = 0; c < 32; c++)
        g_assert_true(t->cpu[c].online);
    assert_describe(t, "2 sockets x 8 cores x 2 threads, 2 nodes");
}

static void
test_caps_4node(void)
{
    g_autoptr(VmbTopology) t = load_caps("caps-4node.xml", 0);
    g_assert_cmpuint(t->npcpus, ==, 16);
    g_assert_cmpuint(t->nnodes, ==, 4);
    g_assert_cmpuint(t->ncores, ==, 16);
    g_assert_cmpuint(t->max_threads, ==, 1);
    g_assert_cmpuint(t->node_kib[3], ==, 4096 * 1024);
    static const guint want[4][4] = {
        {10, 11, 21, 21}, {11, 10, 21, 21}, {21, 21, 10, 11}, {21, 21, 11, 10}};
    for (guint i = 0; i < 4; i++) {
        for (guint j = 0; j < 4; j++)
            g_assert_cmpuint(t->distance[i * 4 + j], ==, want[i][j]);
    }
    for (guint c = 0; c < 16; c++)
        g_assert_cmpuint(t->cpu[c].node, ==, c / 4);
    /* No cache banks: one group per node. */
    g_assert_cmpuint(t->ncaches, ==, 4);
    assert_describe(t, "2 sockets x 8 cores x 1 thread, 4 nodes");
}

static void
test_caps_offline(void)
{
    /* The host says 8 CPUs; 3 and 7 are listed without their topology. */
    g_autoptr(VmbTopology) t = load_caps("caps-offline.xml", 8);
    g_assert_false(t->cpu[3].online);
    g_assert_false(t->cpu[7].online);
    g_assert_true(t->cpu[6].online);
    assert_core(t, 2, (guint[]){2, 6}, 2);
    assert_core(t, 3, (guint[]){3}, 1);
    gboolean allowed[8];
    VmbCpuSet set;
    vmb_cpuset_clear(&set);
    g_assert_cmpuint(vmb_topology_allowed(t, TRUE, &set, allowed), ==, 6);
    g_assert_false(allowed[3]);
    g_assert_false(allowed[7]);
    /* Named in cpu.cpus, still offline: not used. */
    vmb_cpuset_add(&set, 3);
    vmb_cpuset_add(&set, 4);
    g_assert_cmpuint(vmb_topology_allowed(t, FALSE, &set, allowed), ==, 1);
    g_assert_true(allowed[4]);
    assert_describe(t, "1 socket x 3 cores x 2 threads, 1 node, 6 of 8 CPUs online");
}

static void
test_caps_bad(void)
{
    static const struct {
        const char *xml;
        guint npcpus;
        const char *msg; /* part of the message */
    } cases[] = {
        {"<capabilities><host>", 0, "Document ended unexpectedly"},
        {"<capabilities><host><topology><cells num='1'><cell id='0'><cpus num='1'>"
         "<cpu id='x' socket_id='0' core_id='0'/></cpus></cell></cells></topology></host>"
         "</capabilities>",
         0, "<cpu id='x'>"},
        {"<capabilities><host><topology><cells num='1'><cell id='0'><cpus num='2'>"
         "<cpu id='1' socket_id='0' core_id='0'/><cpu id='1' socket_id='0' core_id='1'/>"
         "</cpus></cell></cells></topology></host></capabilities>",
         0, "a CPU listed once"},
        {"<capabilities><host><topology><cells num='1'><cell id='0'>"
         "<memory unit='PB'>1</memory></cell></cells></topology></host></capabilities>",
         0, "<memory unit='PB'>"},
        {"<capabilities><host><topology><cells num='1'><cell id='0'>"
         "<memory unit='KiB'>-5</memory></cell></cells></topology></host></capabilities>",
         0, "expected a size"},
        {"<capabilities><host><topology><cells num='1'><cell>"
         "</cell></cells></topology></host></capabilities>",
         0, "<cell id=''>"},
        {"<capabilities><host><topology><cells num='1'><cell id='0'><cpus num='1'>"
         "<cpu id='5' socket_id='0' core_id='0'/></cpus></cell></cells></topology>"
         "</host></capabilities>",
         4, "names CPU 5 but the host has 4"},
        {"<capabilities><host><topology><cells num='1'><cell id='0'><cpus num='1'>"
         "<cpu id='0' socket_id='0' core_id='0'/></cpus></cell></cells></topology>"
         "<cache><bank id='0' level='3' cpus='0-'/></cache></host></capabilities>",
         0, "<bank cpus='0-'>"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbTopology) t = vmb_topology_from_caps(cases[i].xml, cases[i].npcpus, &error);
        g_assert_null(t);
        g_assert_nonnull(error);
        if (!strstr(error->message, cases[i].msg))
            g_error("case %u: '%s' lacks '%s'", i, error->message, cases[i].msg);
    }
}

static void
test_caps_no_cells(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_from_caps(
        "<capabilities><host><topology><cells num='0'/></topology></host></capabilities>", 4,
        &error);
    g_assert_no_error(error);
    g_assert_false(t->known);
    g_assert_cmpuint(t->ncores, ==, 4);
    assert_describe(t, "4 CPUs (topology unknown)");
}

/* libvirt's test driver through the real API: 2 cells of 8 CPUs, no SMT. */
static void
test_caps_test_driver(void)
{
    virConnectPtr conn = virConnectOpen("test:///default");
    g_assert_nonnull(conn);
    g_autofree char *xml = virConnectGetCapabilities(conn);
    g_assert_nonnull(xml);
    virConnectClose(conn);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_from_caps(xml, 0, &error);
    g_assert_no_error(error);
    g_assert_true(t->known);
    g_assert_cmpuint(t->npcpus, ==, 16);
    g_assert_cmpuint(t->nnodes, ==, 2);
    g_assert_cmpuint(t->ncores, ==, 16);
    g_assert_cmpuint(t->cpu[9].node, ==, 1);
    g_assert_cmpuint(t->node_kib[0], ==, 2097152);
    g_assert_cmpuint(t->node_kib[1], ==, 4194304);
}

static void
test_grid(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(2, 8, 2, 2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(t->npcpus, ==, 32);
    assert_core(t, 19, (guint[]){3, 19}, 2);
    g_assert_cmpuint(t->cpu[8].node, ==, 1);
    g_assert_cmpuint(t->cpu[31].node, ==, 1);
    g_assert_cmpuint(t->distance[1], ==, 21);
    assert_describe(t, "2 sockets x 8 cores x 2 threads, 2 nodes");
    g_autoptr(VmbTopology) big = vmb_topology_new_grid(4, 16, 2, 4, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(big->npcpus, ==, 128);
    g_assert_cmpuint(big->cpu[64 + 17].node, ==, 1);
    g_autoptr(VmbTopology) snc = vmb_topology_new_grid(2, 8, 1, 4, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(snc->distance[0 * 4 + 1], ==, 12);
    g_assert_cmpuint(snc->distance[0 * 4 + 2], ==, 21);
    static const guint bad[][4] = {{0, 1, 1, 1}, {2, 8, 2, 3}, {3, 4, 1, 2}, {64, 64, 2, 1}};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_assert_null(vmb_topology_new_grid(bad[i][0], bad[i][1], bad[i][2], bad[i][3], &e));
        g_assert_nonnull(e);
    }
}

static void
test_sysfs(void)
{
    g_autofree char *root = data_path("sysfs-8");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(1, 4, 2, 1, &error);
    g_assert_true(vmb_host_sysfs_apply(root, t, &error));
    g_assert_no_error(error);
    g_assert_true(t->cpu[3].isolated); /* isolated */
    g_assert_true(t->cpu[7].isolated); /* nohz_full */
    g_assert_false(t->cpu[2].isolated);
    g_assert_cmpuint(t->ncaches, ==, 2);
    g_assert_cmpuint(t->cpu[0].cache, ==, t->cpu[5].cache);
    g_assert_cmpuint(t->cpu[2].cache, ==, t->cpu[7].cache);
    g_assert_cmpuint(t->cpu[0].cache, !=, t->cpu[2].cache);
    gboolean allowed[8];
    VmbCpuSet set;
    vmb_cpuset_clear(&set);
    g_assert_cmpuint(vmb_topology_allowed(t, TRUE, &set, allowed), ==, 6);
    g_assert_false(allowed[3] || allowed[7]);
    /* Named in cpu.cpus: used. */
    vmb_cpuset_add(&set, 3);
    g_assert_cmpuint(vmb_topology_allowed(t, FALSE, &set, allowed), ==, 1);
    g_assert_true(allowed[3]);
    assert_describe(t, "1 socket x 4 cores x 2 threads, 1 node, 2 isolated");

    /* No /sys at all: nothing marked, no error. */
    g_autoptr(VmbTopology) u = vmb_topology_new_grid(1, 4, 2, 1, &error);
    g_assert_true(vmb_host_sysfs_apply("/nonexistent-vmb-root", u, &error));
    g_assert_no_error(error);
    g_assert_false(u->cpu[3].isolated);
    g_assert_cmpuint(u->ncaches, ==, 1);

    /* A file that does not parse: refused with its path. */
    g_autofree char *badroot = data_path("sysfs-bad");
    g_assert_false(vmb_host_sysfs_apply(badroot, u, &error));
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "isolated: '1-x'"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/topology/caps-2s8c2t", test_caps_2s8c2t);
    g_test_add_func("/topology/caps-4node", test_caps_4node);
    g_test_add_func("/topology/caps-offline", test_caps_offline);
    g_test_add_func("/topology/caps-bad", test_caps_bad);
    g_test_add_func("/topology/caps-no-cells", test_caps_no_cells);
    g_test_add_func("/topology/caps-test-driver", test_caps_test_driver);
    g_test_add_func("/topology/grid", test_grid);
    g_test_add_func("/topology/sysfs", test_sysfs);
    return g_test_run();
}
