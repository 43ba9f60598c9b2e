/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hostile input, one table: every class of bad file (kind, size, bytes, structure, values)
 * against each reader of files (configuration, runtime drop-in, scenario). Each case must
 * be refused, promptly, with a message naming the file and what is wrong. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "hv-fake-scenario.h"
#include "overrides.h"

typedef enum { CONFIG = 1, DROPIN = 2, SCENARIO = 4 } Reader;
typedef enum { TEXT, FIFO, DEVZERO, DIRECTORY, HUGE } Kind;

typedef struct {
    const char *name;
    Reader readers;
    Kind kind;
    const char *text; /* TEXT: the file, with its length (NUL bytes allowed) */
    gsize length;
    const char *expect[3]; /* substrings of the message, after the path */
} BadCase;

#define T(s) TEXT, s, sizeof(s) - 1
static const BadCase cases[] = {
    /* Defect 3: what is not a regular file, or too large, is refused without reading. */
    {"fifo", CONFIG | DROPIN | SCENARIO, FIFO, NULL, 0, {"is a FIFO, not a regular file"}},
    {"dev-zero", CONFIG | DROPIN | SCENARIO, DEVZERO, NULL, 0, {"is a character device"}},
    {"directory", CONFIG | DROPIN | SCENARIO, DIRECTORY, NULL, 0, {"is a directory"}},
    {"huge", CONFIG | DROPIN, HUGE, NULL, 0, {"larger than 1024 KiB"}},
    /* Defect 4: NUL bytes. */
    {"nul-line",
     CONFIG | DROPIN | SCENARIO,
     T("[daemon]\n\0interval = 0\n"),
     {":2: contains a NUL byte"}},
    {"all-nul", CONFIG | DROPIN | SCENARIO, T("\0\0\0\0\0\0\0\0"), {":1: contains a NUL byte"}},
    /* Defect 5: each message says what is really wrong. */
    {"cr-only",
     CONFIG | DROPIN | SCENARIO,
     T("[daemon]\rinterval = 3\r"),
     {":1: carriage return", "CR-only line ends"}},
    {"colon-section",
     CONFIG | DROPIN,
     T("[daemon]\n[cpu:interval]\n"),
     {":2: unknown section [cpu:interval]"}},
    {"empty-section", CONFIG | DROPIN, T("[daemon]\ninterval = 5\n[]\n"), {":3: empty section []"}},
    {"control-value",
     CONFIG | DROPIN,
     T("[daemon]\ninterval = 64\x0e\n"),
     {":2: key 'daemon.interval'", "control characters", "'64\\x0e'"}},
    {"control-key",
     CONFIG | DROPIN,
     T("[daemon]\ninter\x01val = 5\n"),
     {":2: unknown key 'inter\\x01val'"}},
    {"control-scenario", SCENARIO, T("[host]\ncpus = 64\x0e\n"), {"cpus = '64\\x0e'"}},
    {"syntax",
     CONFIG | DROPIN | SCENARIO,
     T("[daemon]\nexclude\n"),
     {":2: syntax error in 'exclude'"}},
    {"long-line", CONFIG | DROPIN | SCENARIO, TEXT, NULL, 1, {":2: line too long"}},
    /* Defect 2: bounds on values, named with the key and the limit. */
    {"long-value", CONFIG | DROPIN, TEXT, NULL, 2, {"key 'daemon.uri': value too long", "1000"}},
    {"many-items",
     CONFIG | DROPIN,
     TEXT,
     NULL,
     3,
     {"key 'daemon.exclude': too many items (200, at most 128)"}},
};

static char *tmpdir;
static GString *warnings; /* the warnings logged by the current case */

/* Text built at run time for the cases with length 1..3 and no text. */
static char *
generated(const BadCase *bc, gsize *length)
{
    GString *s = g_string_new("[daemon]\n");
    g_autofree char *fill = g_strnfill(bc->length == 1 ? 1100 : 1001, 'a');
    if (bc->length == 1)
        g_string_append_printf(s, "exclude = %s\n", fill);
    else if (bc->length == 2)
        g_string_append_printf(s, "uri = test:///%s\n", fill);
    else
        for (guint i = 0; i < 200; i++)
            g_string_append(s, i ? ",d" : "exclude = d");
    g_string_append_c(s, '\n');
    *length = s->len;
    return g_string_free(s, FALSE);
}

/* Makes @path what @bc says: a FIFO, a link to /dev/zero, a directory or the text. */
static void
make_file(const BadCase *bc, const char *path)
{
    g_unlink(path);
    if (bc->kind == FIFO) {
        g_assert_cmpint(mkfifo(path, 0600), ==, 0);
    } else if (bc->kind == DEVZERO) {
        g_assert_cmpint(symlink("/dev/zero", path), ==, 0);
    } else if (bc->kind == DIRECTORY) {
        g_assert_cmpint(g_mkdir(path, 0700), ==, 0);
    } else if (bc->kind == HUGE) {
        g_autofree char *big = g_strnfill(2 * 1024 * 1024, '#');
        g_assert_true(g_file_set_contents(path, big, -1, NULL));
    } else if (!bc->text) {
        gsize n;
        g_autofree char *text = generated(bc, &n);
        g_assert_true(g_file_set_contents(path, text, (gssize) n, NULL));
    } else {
        g_assert_true(g_file_set_contents(path, bc->text, (gssize) bc->length, NULL));
    }
}

static void
check_message(const BadCase *bc, const char *path, const char *message)
{
    g_test_message("%s: %s", bc->name, message);
    if (!strstr(message, path))
        g_error("%s: path '%s' not in '%s'", bc->name, path, message);
    for (guint i = 0; i < G_N_ELEMENTS(bc->expect) && bc->expect[i]; i++) {
        if (!strstr(message, bc->expect[i]))
            g_error("%s: '%s' not in '%s'", bc->name, bc->expect[i], message);
    }
}

/* A refused drop-in is logged, and the daemon runs on the configuration file alone. */
static GLogWriterOutput
keep_warning(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
    for (gsize i = 0; i < n; i++) {
        if (g_str_equal(fields[i].key, "MESSAGE") && (level & G_LOG_LEVEL_WARNING))
            g_string_append_printf(warnings, "%s\n", (const char *) fields[i].value);
    }
    return g_log_writer_default(level, fields, n, data);
}

static void
test_case(gconstpointer data)
{
    const BadCase *bc = data;
    alarm(20); /* a reader that blocks on a FIFO fails the test instead of hanging it */
    g_autofree char *dir = g_build_filename(tmpdir, bc->name, NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_autofree char *path = g_build_filename(dir, VMB_OVERRIDES_FILE, NULL);
    make_file(bc, path);
    if (bc->readers & CONFIG) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbConfig) c = vmb_config_load(path, FALSE, &error);
        g_assert_null(c);
        g_assert_error(error, VMB_CONFIG_ERROR, error->code);
        check_message(bc, path, error->message);
    }
    if (bc->readers & DROPIN) {
        g_string_truncate(warnings, 0);
        g_autoptr(VmbOverrides) o = vmb_overrides_new(dir);
        vmb_overrides_load(o);
        g_autoptr(VmbConfig) c = vmb_overrides_rebase(o, vmb_config_new_defaults());
        g_assert_cmpuint(c->interval, ==, 5);
        g_assert_null(vmb_overrides_lookup(o, "interval"));
        check_message(bc, path, warnings->str);
    }
    if (bc->readers & SCENARIO) {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbScenario) sc = vmb_scenario_load(path, &error);
        g_assert_null(sc);
        g_assert_nonnull(error);
        check_message(bc, path, error->message);
    }
    alarm(0);
}

/* Defect 2 over D-Bus: SetTunable hands its string to vmb_overrides_set. */
static void
test_huge_runtime_value(void)
{
    g_autofree char *dir = g_build_filename(tmpdir, "runtime", NULL);
    g_autoptr(VmbOverrides) o = vmb_overrides_new(dir);
    vmb_overrides_load(o);
    vmb_config_free(vmb_overrides_rebase(o, vmb_config_new_defaults()));
    g_autofree char *huge = g_strnfill(30 * 1024 * 1024, 'x');
    g_autoptr(GError) error = NULL;
    g_assert_null(vmb_overrides_set(o, "daemon.exclude", huge, &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
    g_assert_nonnull(strstr(error->message, "key 'daemon.exclude': value too long"));
    g_assert_nonnull(strstr(error->message, "at most 1000"));
    g_clear_error(&error);
    g_autoptr(GString) many = g_string_new("d");
    for (guint i = 1; i < 129; i++)
        g_string_append(many, ",d");
    g_assert_null(vmb_overrides_set(o, "daemon.exclude", many->str, &error));
    g_assert_nonnull(strstr(error->message, "too many items (129, at most 128)"));
    g_assert_false(g_file_test(vmb_overrides_path(o), G_FILE_TEST_EXISTS));
}

/* /dev/null stays the way to say "no configuration": a device that cannot block. */
static void
test_dev_null_is_empty(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_config_load("/dev/null", FALSE, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(c->interval, ==, 5);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGALRM, SIG_DFL);
    /* A refused drop-in is a warning by design: collect it instead of aborting. */
    g_log_set_always_fatal(G_LOG_FATAL_MASK);
    warnings = g_string_new(NULL);
    g_log_set_writer_func(keep_warning, NULL, NULL);
    tmpdir = g_dir_make_tmp("vmb-bad-input-XXXXXX", NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/bad-input/%s", cases[i].name);
        g_test_add_data_func(name, &cases[i], test_case);
    }
    g_test_add_func("/bad-input/huge-runtime-value", test_huge_runtime_value);
    g_test_add_func("/bad-input/dev-null-is-empty", test_dev_null_is_empty);
    int rc = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    (void) system(cmd);
    return rc;
}
