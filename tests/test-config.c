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
    g_assert_cmpuint(c->mem_swap_in_kib_s, ==, 256);
    g_assert_cmpuint(c->mem_major_faults_s, ==, 1000);
    g_assert_true(c->cpu_enabled);
    g_assert_true(c->cpu_cpus_all);
    g_assert_cmpstr(c->cpu_pin_to, ==, "cpu");
    g_assert_cmpuint(c->cpu_numa_move_interval, ==, 600);

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
                                                    "pin_to = node\n"
                                                    "numa_move_interval = 0\n"
                                                    "[memory]\n"
                                                    "enabled = off\n"
                                                    "low_watermark = 10\n"
                                                    "high_watermark = 30\n"
                                                    "host_reserve_mib = 2048\n"
                                                    "swap_in_threshold = 0\n"
                                                    "major_fault_threshold = 500\n");
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
    g_assert_cmpstr(c->cpu_pin_to, ==, "node");
    g_assert_cmpuint(c->cpu_numa_move_interval, ==, 0);
    g_assert_cmpuint(c->cpu_max_moves, ==, 3);
    g_assert_cmpuint(c->mem_host_reserve_mib, ==, 2048);
    g_assert_cmpuint(c->mem_swap_in_kib_s, ==, 0);
    g_assert_cmpuint(c->mem_major_faults_s, ==, 500);
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
     {"intervall", "[cpu]", ".conf:2: "}},
    {"unknown-section",
     "[daemon]\n[network]\nfoo = 1\n",
     VMB_CONFIG_ERROR_UNKNOWN_KEY,
     {"[network]", ".conf:2: "}},
    {"key-outside-section",
     "interval = 5\n",
     VMB_CONFIG_ERROR_UNKNOWN_KEY,
     {".conf:1: key 'interval' is outside any section"}},
    {"not-a-number",
     "[daemon]\ninterval = abc\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {".conf:2: key 'daemon.interval'", "'abc'", "1..3600"}},
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
    {"housekeeping-all",
     "[cpu]\nhousekeeping_cpus = all\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.housekeeping_cpus", "'all'", "empty or a CPU list"}},
    {"housekeeping-range",
     "[cpu]\nhousekeeping_cpus = 2-1\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.housekeeping_cpus", "0..4095"}},
    {"housekeeping-too-big",
     "[cpu]\nhousekeeping_cpus = 4096\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.housekeeping_cpus"}},
    {"empty-uri", "[daemon]\nuri =\n", VMB_CONFIG_ERROR_BAD_VALUE, {"daemon.uri"}},
    {"foreign-pins",
     "[cpu]\nforeign_pins = keep\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.foreign_pins", "'keep'", "override or respect"}},
    {"foreign-targets",
     "[memory]\nforeign_targets = ignore\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"memory.foreign_targets", "'ignore'", "override or respect"}},
    {"pin-to",
     "[cpu]\npin_to = socket\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.pin_to", "'socket'", "cpu, core, cache or node"}},
    {"numa-move-interval-range",
     "[cpu]\nnuma_move_interval = 86401\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.numa_move_interval", "0..86400"}},
    {"numa-move-interval-negative",
     "[cpu]\nnuma_move_interval = -1\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"cpu.numa_move_interval", "-1"}},
    {"watermarks-order",
     "[memory]\nlow_watermark = 40\nhigh_watermark = 30\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"memory.high_watermark", "low_watermark"}},
    {"line-after-comments",
     "# c\n[daemon]\ninterval = 5\n\n[CPU]\n; cooldown = 1\nCooldown = 101\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {".conf:7: key 'cpu.cooldown'", "0..100"}},
    {"major-fault-threshold-range",
     "[memory]\nmajor_fault_threshold = 1000001\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"memory.major_fault_threshold", "0..1000000"}},
    {"swap-in-threshold-negative",
     "[memory]\nswap_in_threshold = -5\n",
     VMB_CONFIG_ERROR_BAD_VALUE,
     {"memory.swap_in_threshold", "-5"}},
    {"syntax", "[cpu\ninterval = 5\n", VMB_CONFIG_ERROR_SYNTAX, {NULL}},
    {"not-utf8",
     "[daemon]\nuri = \xff\xfe\n",
     VMB_CONFIG_ERROR_SYNTAX,
     {".conf:2: not valid UTF-8"}},
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
    /* the key D-Bus SetTunable and vmbalancectl set go through */
    g_assert_true(vmb_config_set(c, "cpu.numa_move_interval", "0", &error));
    g_assert_cmpuint(c->cpu_numa_move_interval, ==, 0);
    g_autofree char *nm = vmb_config_get(c, "cpu.numa_move_interval", &error);
    g_assert_cmpstr(nm, ==, "0");
    g_assert_false(vmb_config_set(c, "cpu.numa_move_interval", "86401", &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
    g_clear_error(&error);
    g_assert_cmpuint(c->cpu_numa_move_interval, ==, 0);
    /* memory.foreign_targets: override by default, respect on request. */
    g_assert_false(vmb_config_respects_foreign_targets(c));
    g_assert_true(vmb_config_set(c, "memory.foreign_targets", "respect", &error));
    g_assert_true(vmb_config_respects_foreign_targets(c));
    g_assert_false(vmb_config_respects_foreign_pins(c));

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

    /* cpu.housekeeping_cpus: off by default, a list, and "" turns it off again. */
    g_clear_error(&error);
    g_assert_true(vmb_cpuset_is_empty(&c->cpu_housekeeping));
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", " 0-1,3 ", &error));
    g_assert_no_error(error);
    g_assert_cmpuint(vmb_cpuset_count(&c->cpu_housekeeping), ==, 3);
    g_autofree char *hk = vmb_config_get(c, "cpu.housekeeping_cpus", NULL);
    g_assert_cmpstr(hk, ==, "0-1,3");
    g_assert_false(vmb_config_set(c, "cpu.housekeeping_cpus", "1-x", &error));
    g_clear_error(&error);
    g_assert_cmpuint(vmb_cpuset_count(&c->cpu_housekeeping), ==, 3);   /* kept */
    g_assert_true(vmb_cpuset_has(&c->cpu_cpus, 0) || c->cpu_cpus_all); /* not cpu.cpus */
    g_assert_true(vmb_config_set(c, "cpu.housekeeping_cpus", "", &error));
    g_assert_true(vmb_cpuset_is_empty(&c->cpu_housekeeping));

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

/* daemon.metrics_file: off by default; only an absolute *.prom path or "" is taken. */
static void
test_metrics_file(void)
{
    static const struct {
        const char *value;
        gboolean ok;
    } cases[] = {
        {"/var/lib/prometheus/node-exporter/vmbalance.prom", TRUE},
        {"/tmp/x.prom", TRUE},
        {"", TRUE},
        {"  /tmp/spaced.prom  ", TRUE}, /* trimmed as every value */
        {"relative/vmbalance.prom", FALSE},
        {"vmbalance.prom", FALSE},
        {"/tmp/vmbalance.txt", FALSE}, /* node_exporter would never read it */
        {"/tmp/.prom", FALSE},
        {"/tmp/dir.prom/", FALSE},
        {"/tmp/a\\b.prom", TRUE},     /* a backslash is a file name character */
        {"/tmp/bad\xff.prom", FALSE}, /* not UTF-8 */
    };
    g_autoptr(VmbConfig) defaults = vmb_config_new_defaults();
    g_assert_cmpstr(defaults->metrics_file, ==, "");
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(VmbConfig) c = vmb_config_new_defaults();
        g_autoptr(GError) error = NULL;
        gboolean ok = vmb_config_set(c, "metrics_file", cases[i].value, &error);
        g_autofree char *shown = g_strescape(cases[i].value, NULL);
        g_test_message("'%s': %s", shown, error ? "refused" : "ok");
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (ok) {
            g_autofree char *want = g_strstrip(g_strdup(cases[i].value));
            g_assert_cmpstr(c->metrics_file, ==, want);
            continue;
        }
        g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
        g_assert_nonnull(strstr(error->message, "daemon.metrics_file"));
        g_assert_nonnull(strstr(error->message, "absolute path"));
        g_assert_cmpstr(c->metrics_file, ==, "");
    }
    /* Bounded like the other strings, and no control characters. */
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    g_autoptr(GError) error = NULL;
    g_autofree char *name = g_strnfill(1000, 'a');
    g_autofree char *long_path = g_strconcat("/", name, ".prom", NULL);
    g_assert_false(vmb_config_set(c, "metrics_file", long_path, &error));
    g_assert_nonnull(strstr(error->message, "too long"));
    g_clear_error(&error);
    g_assert_false(vmb_config_set(c, "metrics_file",
                                  "/tmp/a\x01"
                                  "b.prom",
                                  &error));
    g_assert_nonnull(strstr(error->message, "control characters"));
    g_assert_cmpstr(c->metrics_file, ==, "");
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

/* vmb_config_read: settings in file order, with the line each was read from. */
static void
test_read_settings(void)
{
    g_autofree char *path = write_conf("read.conf", "# comment\n"
                                                    "[memory]\n"
                                                    "high_watermark = 60\n"
                                                    "[daemon]\n"
                                                    "interval = 4\n"
                                                    "exclude = \"a#1, b;2\"\n"
                                                    "interval = 6\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) settings = vmb_config_read(path, FALSE, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(settings->len, ==, 3);
    static const struct {
        const char *key, *value;
        guint line;
    } expected[] = {
        {"memory.high_watermark", "60", 3},
        {"daemon.interval", "6", 7}, /* the last one wins, in the first one's place */
        {"daemon.exclude", "a#1, b;2", 6},
    };
    for (guint i = 0; i < G_N_ELEMENTS(expected); i++) {
        const VmbConfigSetting *s = g_ptr_array_index(settings, i);
        g_assert_cmpstr(s->key->name, ==, expected[i].key);
        g_assert_cmpstr(s->value, ==, expected[i].value);
        g_assert_cmpuint(s->line, ==, expected[i].line);
    }
    g_autofree char *absent = g_build_filename(tmpdir, "absent.conf", NULL);
    g_autoptr(GPtrArray) none = vmb_config_read(absent, TRUE, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(none->len, ==, 0);
}

/* What vmb_config_format_setting writes, vmb_config_read reads back unchanged. */
static void
test_format_round_trip(void)
{
    const VmbKeyInfo *exclude = vmb_config_find_key("exclude");
    static const char *const values[] = {
        "web*",   "",           "a#1,b;2", "\"quoted\"", "'single'",
        "it's;#", "say \"x\";", "tail\\",  "a = b",      "\u00e9t\u00e9",
    };
    for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *line = vmb_config_format_setting(exclude, values[i], &error);
        g_assert_no_error(error);
        g_autofree char *text = g_strdup_printf("[daemon]\n%s\n", line);
        g_autofree char *path = write_conf("round-trip.conf", text);
        g_autoptr(GPtrArray) settings = vmb_config_read(path, FALSE, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(settings->len, ==, 1);
        g_assert_cmpstr(((VmbConfigSetting *) settings->pdata[0])->value, ==, values[i]);
    }
    /* What iniparser cannot read back is refused. */
    g_autofree char *longest = g_strnfill(1022 - strlen("exclude = "), 'x');
    g_autofree char *too_long = g_strconcat(longest, "x", NULL);
    g_autofree char *fits = vmb_config_format_setting(exclude, longest, NULL);
    g_assert_nonnull(fits);
    static const char *const refused[] = {"a\nb", "\"'#"};
    for (guint i = 0; i <= G_N_ELEMENTS(refused); i++) {
        g_autoptr(GError) error = NULL;
        const char *v = i < G_N_ELEMENTS(refused) ? refused[i] : too_long;
        g_assert_null(vmb_config_format_setting(exclude, v, &error));
        g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
        g_assert_nonnull(strstr(error->message, "key 'daemon.exclude': invalid value"));
    }
}

/* A drop-in's settings go over the base in any order; one that cannot fit is skipped. */
static void
test_overlay(void)
{
    g_autoptr(VmbConfig) base = vmb_config_new_defaults();
    base->interval = 30;
    g_autoptr(GPtrArray) settings =
        g_ptr_array_new_with_free_func((GDestroyNotify) vmb_config_setting_free);
    g_ptr_array_add(settings,
                    vmb_config_setting_new(vmb_config_find_key("memory.low_watermark"), "50", 2));
    g_ptr_array_add(settings,
                    vmb_config_setting_new(vmb_config_find_key("memory.high_watermark"), "60", 3));
    g_ptr_array_add(settings, vmb_config_setting_new(vmb_config_find_key("cpu.smoothing"), "1", 4));
    g_autoptr(VmbConfig) c = vmb_config_overlay(base, settings, NULL);
    g_assert_cmpfloat(c->mem_low_watermark, ==, 50);
    g_assert_cmpfloat(c->mem_high_watermark, ==, 60);
    g_assert_cmpfloat(c->cpu_smoothing, ==, 1);
    g_assert_cmpuint(c->interval, ==, 30);

    g_ptr_array_remove_index(settings, 1); /* low 50 over the default high of 40 */
    g_autoptr(GHashTable) skipped =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_error_free);
    g_autoptr(VmbConfig) c2 = vmb_config_overlay(base, settings, skipped);
    g_assert_cmpfloat(c2->mem_low_watermark, ==, base->mem_low_watermark);
    g_assert_cmpfloat(c2->cpu_smoothing, ==, 1);
    g_assert_cmpuint(g_hash_table_size(skipped), ==, 1);
    const GError *e = g_hash_table_lookup(skipped, "memory.low_watermark");
    g_assert_nonnull(e);
    g_assert_nonnull(strstr(e->message, "greater than memory.low_watermark"));
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
    g_test_add_func("/config/metrics-file", test_metrics_file);
    g_test_add_func("/config/example-config-is-valid", test_example_config_is_valid);
    g_test_add_func("/config/readme-lists-every-key", test_readme_lists_every_key);
    g_test_add_func("/config/read-settings", test_read_settings);
    g_test_add_func("/config/format-round-trip", test_format_round_trip);
    g_test_add_func("/config/overlay", test_overlay);
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
