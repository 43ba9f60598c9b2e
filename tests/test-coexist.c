/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Other tools on the host, found in fixture /proc trees built per case. */
#include <glib/gstdio.h>
#include <string.h>

#include "coexist.h"
#include "test-util.h"

typedef struct {
    const char *name;
    const char *comms;          /* space-separated process names, one /proc/PID each */
    const char *numa_balancing; /* content of sys/kernel/numa_balancing, NULL: absent */
    guint found;
} Case;

// clang-format off
static const Case cases[] = {
    {"nothing", "systemd bash libvirtd qemu-system-x86", "0\n", 0},
    {"no-sysctl", "systemd", NULL, 0},
    {"numad", "systemd numad", "0\n", VMB_COEXIST_NUMAD},
    {"numa-balancing", "systemd", "1\n", VMB_COEXIST_NUMA_BALANCING},
    {"numa-balancing-tiering", "systemd", "2\n", VMB_COEXIST_NUMA_BALANCING},
    {"ksmtuned-momd", "ksmtuned momd", "0\n", VMB_COEXIST_KSMTUNED | VMB_COEXIST_MOMD},
    {"look-alikes", "numad2 xnumad momd.py ksmtune", "0\n", 0},
    {"all", "numad ksmtuned momd", "1\n", 0xf},
};
// clang-format on

static void
write_file(const char *dir, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(dir, rel, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
test_case(gconstpointer data)
{
    const Case *c = data;
    g_autofree char *root = g_dir_make_tmp("vmb-coexist-XXXXXX", NULL);
    g_auto(GStrv) comms = g_strsplit(c->comms, " ", -1);
    for (guint i = 0; comms[i]; i++) {
        g_autofree char *rel = g_strdup_printf("%u/comm", 100 + i);
        g_autofree char *text = g_strconcat(comms[i], "\n", NULL);
        write_file(root, rel, text);
    }
    write_file(root, "self/comm", "numad\n");       /* not a PID: skipped */
    write_file(root, "55/status", "Name: numad\n"); /* a process without comm: skipped */
    if (c->numa_balancing)
        write_file(root, "sys/kernel/numa_balancing", c->numa_balancing);
    g_assert_cmphex(vmb_coexist_detect(root), ==, c->found);
    g_auto(GStrv) lines = vmb_coexist_describe(c->found);
    g_assert_cmpuint(g_strv_length(lines), ==,
                     (guint) !!(c->found & 1) + !!(c->found & 2) + !!(c->found & 4) +
                         !!(c->found & 8));
    if (c->found & VMB_COEXIST_NUMAD)
        g_assert_nonnull(strstr(lines[0], "placement='auto'"));
    vmb_test_remove_tree(root);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/coexist/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    return g_test_run();
}
