/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configuration parsing: defaults, every key, and every class of bad input. */
#include <glib/gstdio.h>
#include <string.h>

#include "config.h"

static char *tmpdir;

static char *
write_conf(const char *name, const char *text)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void
test_defaults_when_missing(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "absent.conf", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_config_load(path, TRUE, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c->uri, ==, "qemu:///system");
    g_assert_cmpuint(c->interval, ==, 5);
    g_assert_cmpuint(vmb_config_cpu_interval(c), ==, 5);
    g_assert_cmpuint(vmb_config_mem_interval(c), ==, 5);
    g_assert_true(c->cpu_enabled);
    g_assert_true(c->cpu_cpus_all);

    /* An explicitly named file must exist. */
    g_autoptr(VmbConfig) c2 = vmb_config_load(path, FALSE, &error);
    g_assert_null(c2);
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO);
}

static void
test_all_keys(void)
{
    g_autofree char *path = write_conf("full.conf", "[daemon]\n"
                                                    "uri = test:///default\n"
                                                    "interval = 7\n"
                                                    "exclude = infra-*, db1\n"
                                                    "[cpu]\n"
                                                    "enabled = no\n"
                                                    "interval = 3 ; inline comment\n"
                                                    "cpus = 0-1,4\n"
                                                    "hysteresis = 7.5\n"
                                                    "max_moves = 3\n"
                                                    "smoothing = 1\n"
                                                    "cooldown = 0\n"
                                                    "[memory]\n"
                                                    "enabled = off\n"
                                                    "low_watermark = 10\n"
                                                    "high_watermark = 30\n"
                                                    "host_reserve_mib = 2048\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_config_load(path, FALSE, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c->uri, ==, "test:///default");
    g_assert_cmpuint(c->interval, ==, 7);
    g_assert_cmpuint(vmb_config_cpu_interval(c), ==, 3);
    g_assert_cmpuint(vmb_config_mem_interval(c), ==, 7);
    g_assert_false(c->cpu_enabled);
    g_assert_false(c->mem_enabled);
    g_assert_false(c->cpu_cpus_all);
    g_assert_true(vmb_cpuset_has(&c->cpu_cpus, 0) && vmb_cpuset_has(&c->cpu_cpus, 1));
    g_assert_false(vmb_cpuset_has(&c->cpu_cpus, 2));
    g_assert_true(vmb_cpuset_has(&c->cpu_cpus, 4));
    g_assert_cmpfloat(c->cpu_hysteresis, ==, 7.5);
    g_assert_cmpuint(c->cpu_max_moves, ==, 3);
    g_assert_cmpuint(c->mem_host_reserve_mib, ==, 2048);
    g_assert_true(vmb_config_is_excluded(c, "infra-dns", NULL));
    g_assert_true(vmb_config_is_excluded(c, "db1", NULL));
    g_assert_false(vmb_config_is_excluded(c, "db2", NULL));

    g_autofree char *cpus = vmb_config_get(c, "cpu.cpus", NULL);
    g_assert_cmpstr(cpus, ==, "0-1,4");
    g_autofree char *excl = vmb_config_get(c, "exclude", NULL);
    g_assert_cmpstr(excl, ==, "infra-*,db1");
    g_autofree char *mi = vmb_config_get(c, "memory.interval", NULL);
    g_assert_cmpstr(mi, ==, "7"); /* inherited */
}

typedef struct {
    const char *name;
    const char *text;
    int code;
    const char *must_contain[3];
} BadCase;

static const BadCase bad_cases[] = {
    {"unknown-key",
     "[cpu]\nintervall = 5\n",
     VMB_CONFIG_ERROR_UNKNOWN_KEY,
     {"intervall", "[cpu]", NULL}},
    {"unknown-section", "[network]\nfoo = 1\n", VMB_CONFIG_ERROR_UNKNOWN_KEY, {"[network]"}},
    {"key-outside-section", "interval = 5\n", VMB_CONFIG_ERROR_UNKNOWN_KEY, {"interval"}},
    {"not-a-number",
     "[daemon]\ninterval = abc\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"daemon.interval", "'abc'", "1..3600"}},
    {"zero", "[daemon]\ninterval = 0\n", VMB_CONFIG_ERROR_BAD_VALUE, {"daemon.interval", "'0'"}},
    {"too-large",
     "[cpu]\ninterval = 3601\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.interval", "1..3600"}},
    {"negative", "[cpu]\nmax_moves = -1\n", VMB_CONFIG_ERROR_BAD_VALUE, {"cpu.max_moves", "-1"}},
    {"fraction-for-integer",
     "[memory]\ninterval = 2.5\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"memory.interval", "an integer"}},
    {"bad-boolean",
     "[cpu]\nenabled = maybe\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.enabled", "boolean"}},
    {"bad-double",
     "[cpu]\nhysteresis = 80\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.hysteresis", "0.5..50"}},
    {"nan", "[cpu]\nsmoothing = nan\n", VMB_CONFIG_ERROR_BAD_VALUE, {"cpu.smoothing"}},
    {"bad-cpuset-range", "[cpu]\ncpus = 3-1\n", VMB_CONFIG_ERROR_BAD_VALUE, {"cpu.cpus", "3-1"}},
    {"bad-cpuset-text", "[cpu]\ncpus = first\n", VMB_CONFIG_ERROR_BAD_VALUE, {"cpu.cpus"}},
    {"empty-uri", "[daemon]\nuri =\n", VMB_CONFIG_ERROR_BAD_VALUE, {"daemon.uri"}},
    {"watermarks-order",
     "[memory]\nlow_watermark = 40\nhigh_watermark = 30\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"memory.high_watermark", "low_watermark"}},
    {"syntax", "[cpu\ninterval = 5\n", VMB_CONFIG_ERROR_SYNTAX, {NULL}},
    {"not-utf8", "[daemon]\nuri = \xff\xfe\n", VMB_CONFIG_ERROR_SYNTAX, {"UTF-8"}},
};

static void
test_bad(gconstpointer data)
{
    const BadCase *bc = data;
    g_autofree char *file = g_strdup_printf("%s.conf", bc->name);
    g_autofree char *path = write_conf(file, bc->text);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_config_load(path, FALSE, &error);
    g_assert_null(c);
    g_assert_error(error, VMB_CONFIG_ERROR, bc->code);
    g_assert_nonnull(strstr(error->message, path)); /* names the file */
    for (guint i = 0; i < G_N_ELEMENTS(bc->must_contain) && bc->must_contain[i]; i++) {
        if (!strstr(error->message, bc->must_contain[i]))
            g_error("'%s' not in '%s'", bc->must_contain[i], error->message);
    }
}

static void
test_set_get(void)
{
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_autoptr(GError) error = NULL;

    g_assert_true(vmb_config_set(c, "interval", "9", &error));
    g_assert_cmpuint(c->interval, ==, 9);
    g_assert_cmpuint(vmb_config_cpu_interval(c), ==, 9);
    g_assert_true(vmb_config_set(c, "cpu.interval", "2", &error));
    g_assert_cmpuint(vmb_config_cpu_interval(c), ==, 2);
    g_assert_true(vmb_config_set(c, "CPU.Hysteresis", "2.5", &error));
    g_autofree char *h = vmb_config_get(c, "cpu.hysteresis", &error);
    g_assert_cmpstr(h, ==, "2.5");

    /* Failures leave the value untouched and say what is allowed. */
    g_assert_false(vmb_config_set(c, "cpu.interval", "0", &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
    g_assert_nonnull(strstr(error->message, "1..3600"));
    g_clear_error(&error);
    g_assert_cmpuint(vmb_config_cpu_interval(c), ==, 2);
    g_assert_false(vmb_config_set(c, "cpu.nonsense", "1", &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY);
    g_clear_error(&error);
    g_assert_null(vmb_config_get(c, "nope", &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY);

    /* Every key in the table round-trips through get and set. */
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    g_autoptr(VmbConfig) copy = vmb_config_copy(c);
    for (guint i = 0; i < n; i++) {
        g_autofree char *v = vmb_config_get(c, keys[i].name, NULL);
        g_autoptr(GError) e = NULL;
        if (*v || keys[i].type == VMB_KEY_LIST)
            g_assert_true(vmb_config_set(copy, keys[i].name, v, &e));
        g_assert_no_error(e);
        g_autofree char *v2 = vmb_config_get(copy, keys[i].name, NULL);
        g_assert_cmpstr(v, ==, v2);
        g_autofree char *range = vmb_config_describe_range(&keys[i]);
        g_assert_nonnull(keys[i].help);
        g_assert_cmpuint(strlen(range), >, 5);
    }
}

static void
test_example_config_is_valid(void)
{
    g_autofree char *path = g_build_filename(VMB_SRCDIR, "daemon", "vmbalanced.conf", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_config_load(path, FALSE, &error);
    g_assert_no_error(error);

    /* Every key the example mentions (commented out) is a real key. */
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    const char *section = NULL;
    guint seen = 0;
    for (guint i = 0; lines[i]; i++) {
        if (lines[i][0] == '[')
            section = lines[i];
        if (g_str_has_prefix(lines[i], "#") && strchr(lines[i], '=') &&
            g_ascii_isalpha(lines[i][1])) {
            g_autofree char *key = g_strndup(lines[i] + 1, strcspn(lines[i] + 1, " ="));
            g_autofree char *sec = g_strndup(section + 1, strcspn(section + 1, "]"));
            g_autofree char *full = g_strdup_printf("%s.%s", sec, key);
            if (!vmb_config_find_key(full))
                g_error("example config mentions unknown key %s", full);
            seen++;
        }
    }
    guint n;
    vmb_config_keys(&n);
    g_assert_cmpuint(seen, ==, n);
}

/* The README's configuration table names every key, so the front door stays true. */
static void
test_readme_lists_every_key(void)
{
    g_autofree char *path = g_build_filename(VMB_SRCDIR, "README.md", NULL);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    for (guint i = 0; i < n; i++) {
        const char *dot = strchr(keys[i].name, '.');
        g_autofree char *section = g_strndup(keys[i].name, dot - keys[i].name);
        g_autofree char *cell = g_strdup_printf("| `[%s] %s` |", section, dot + 1);
        if (!strstr(text, cell))
            g_error("README.md does not document %s (expected a row starting %s)", keys[i].name,
                    cell);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmb-test-config-XXXXXX", NULL);
    g_test_add_func("/config/defaults-when-missing", test_defaults_when_missing);
    g_test_add_func("/config/all-keys", test_all_keys);
    g_test_add_func("/config/set-get", test_set_get);
    g_test_add_func("/config/example-config-is-valid", test_example_config_is_valid);
    g_test_add_func("/config/readme-lists-every-key", test_readme_lists_every_key);
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/config/bad/%s", bad_cases[i].name);
        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    int rc = g_test_run();
    GDir *dir = g_dir_open(tmpdir, 0, NULL);
    const char *entry;
    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(tmpdir, entry, NULL);
        g_unlink(p);
    }
    if (dir)
        g_dir_close(dir);
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return rc;
}
