/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The numa_maps parser on fixture files (tests/data/numa-maps/) and hand-made lines, and the
 * choice of a domain's memory node from it. */
#include <string.h>

#include "numa-maps.h"

static char *
fixture(const char *name, gsize *len)
{
    const char *srcdir = g_getenv("VMB_SRCDIR");
#ifdef VMB_SRCDIR
    if (!srcdir)
        srcdir = VMB_SRCDIR;
#endif
    g_autofree char *path = g_build_filename(srcdir, "tests", "data", "numa-maps", name, NULL);
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, len, NULL));
    return text;
}

static void
test_fixtures(void)
{
    static const struct {
        const char *file;
        guint64 kib[3];
        gint home;
    } cases[] = {
        {"qemu-two-nodes.txt", {16207 * 4, 251298 * 4, 0}, 1},
        {"hugepages.txt", {(1024 + 50000) * 4, 512 * 2048, 0}, 1}, /* by KiB, not pages */
        {"no-nodes.txt", {0, 0, 0}, -1},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        gsize len = 0;
        g_autofree char *text = fixture(cases[i].file, &len);
        guint64 kib[3] = {0};
        g_autoptr(GError) error = NULL;
        g_assert_true(vmb_numa_maps_parse(text, len, kib, 3, NULL, &error));
        g_assert_no_error(error);
        for (guint n = 0; n < 3; n++)
            g_assert_cmpuint(kib[n], ==, cases[i].kib[n]);
        g_assert_cmpint(vmb_numa_maps_home(kib, 3), ==, cases[i].home);
    }
}

static void
test_bad(void)
{
    gsize len = 0;
    g_autofree char *text = fixture("bad-count.txt", &len);
    guint64 kib[2] = {0};
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_numa_maps_parse(text, len, kib, 2, NULL, &error));
    g_assert_error(error, VMB_NUMA_MAPS_ERROR, VMB_NUMA_MAPS_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "line 2"));

    const char *bad[] = {
        "7f00 default N0= kernelpagesize_kB=4",
        "7f00 default N0 kernelpagesize_kB=4",
        "7f00 default N0=-5",
        "7f00 default N0=99999999999",
        "7f00 default N0=5 kernelpagesize_kB=0",
        "7f00 default N0=5 kernelpagesize_kB=x",
        "7f00 default N99999=5",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_assert_false(vmb_numa_maps_parse(bad[i], strlen(bad[i]), kib, 2, NULL, &e));
        g_assert_nonnull(e);
    }
    const char nul[] = "7f00 default N0=5\0N1=9";
    g_autoptr(GError) e = NULL;
    g_assert_false(vmb_numa_maps_parse(nul, sizeof(nul) - 1, kib, 2, NULL, &e));
}

/* Nodes beyond the caller's array are counted apart, not written out of bounds. */
static void
test_ignored_nodes(void)
{
    const char *text = "7f00 default N0=10 N5=20 kernelpagesize_kB=4\n"
                       "7f10 default Nx=3 N1=1\n"; /* Nx is a flag word, not a node */
    guint64 kib[2] = {0}, ignored = 0;
    g_assert_true(vmb_numa_maps_parse(text, strlen(text), kib, 2, &ignored, NULL));
    g_assert_cmpuint(kib[0], ==, 40);
    g_assert_cmpuint(kib[1], ==, 4);
    g_assert_cmpuint(ignored, ==, 80);
    /* ties: the lowest node */
    guint64 tie[3] = {0, 7, 7};
    g_assert_cmpint(vmb_numa_maps_home(tie, 3), ==, 1);
}

static void
test_dense_node(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(2, 2, 1, 2, &error);
    g_assert_no_error(error);
    t->node_id[1] = 3; /* a host with nodes 0 and 3 */
    g_assert_cmpint(vmb_numa_dense_node(t, 0), ==, 0);
    g_assert_cmpint(vmb_numa_dense_node(t, 3), ==, 1);
    g_assert_cmpint(vmb_numa_dense_node(t, 1), ==, -1);
    g_assert_cmpint(vmb_numa_dense_node(t, -1), ==, -1);
    g_assert_cmpint(vmb_numa_dense_node(NULL, 0), ==, -1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/numa-maps/fixtures", test_fixtures);
    g_test_add_func("/numa-maps/bad", test_bad);
    g_test_add_func("/numa-maps/ignored-nodes", test_ignored_nodes);
    g_test_add_func("/numa-maps/dense-node", test_dense_node);
    return g_test_run();
}
