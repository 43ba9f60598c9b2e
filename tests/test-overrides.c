/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runtime overrides: an INI drop-in over the configuration, validation through the config
 * table, atomic saves, conversion of the old format, refused drop-ins. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "overrides.h"

typedef struct {
    char *dir;
    char *path;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("vmb-overrides-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->path = g_build_filename(f->dir, VMB_OVERRIDES_FILE, NULL);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->path);
}

static char *
get(const VmbConfig *c, const char *key)
{
    return vmb_config_get(c, key, NULL);
}

static VmbOverrides *
new_loaded(Fixture *f)
{
    VmbOverrides *o = vmb_overrides_new(f->dir);
    vmb_overrides_load(o);
    vmb_config_free(vmb_overrides_rebase(o, vmb_config_new_defaults()));
    return o;
}

static void
test_set_persists(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_overrides_set(o, "interval", " 7 ", &error);
    g_assert_no_error(error);
    g_autofree char *v = get(c, "daemon.interval");
    g_assert_cmpstr(v, ==, "7");
    g_assert_cmpstr(vmb_overrides_lookup(o, "interval"), ==, "7");

    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(f->path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\n[daemon]\ninterval = 7\n"));

    /* A fresh instance reads it back and puts it on top of any base. */
    g_autoptr(VmbOverrides) o2 = vmb_overrides_new(f->dir);
    vmb_overrides_load(o2);
    g_autoptr(VmbConfig) base = vmb_config_new_defaults();
    base->interval = 30;
    base->cpu_hysteresis = 9;
    g_autoptr(VmbConfig) c2 = vmb_overrides_rebase(o2, g_steal_pointer(&base));
    g_assert_cmpuint(c2->interval, ==, 7);
    g_assert_cmpfloat(c2->cpu_hysteresis, ==, 9);
}

static void
test_rejects(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    static const struct {
        const char *key, *value, *message;
        gint code;
    } cases[] = {
        {"frob", "1", "unknown key 'frob'", VMB_CONFIG_ERROR_UNKNOWN_KEY},
        {"interval", "0", "expected an integer in 1..3600", VMB_CONFIG_ERROR_BAD_VALUE},
        {"cpu.smoothing", "2", "expected a number in 0.05..1", VMB_CONFIG_ERROR_BAD_VALUE},
        {"exclude", "a\nb", "control characters", VMB_CONFIG_ERROR_BAD_VALUE},
        {"uri", "test:///default", "cannot be changed at runtime", VMB_CONFIG_ERROR_BAD_VALUE},
        /* Only the relation to the other watermark is wrong. */
        {"memory.low_watermark", "45", "greater than memory.low_watermark",
         VMB_CONFIG_ERROR_BAD_VALUE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_assert_null(vmb_overrides_set(o, cases[i].key, cases[i].value, &error));
        g_assert_error(error, VMB_CONFIG_ERROR, cases[i].code);
        g_assert_nonnull(strstr(error->message, cases[i].message));
    }
    /* Nothing was written. */
    g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
}

static void
test_related_keys_any_order(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    g_autoptr(GError) error = NULL;
    /* 60/50 is valid, but low = 50 first would not fit the default high of 40. */
    g_autoptr(VmbConfig) c1 = vmb_overrides_set(o, "memory.high_watermark", "60", &error);
    g_assert_no_error(error);
    g_autoptr(VmbConfig) c2 = vmb_overrides_set(o, "memory.low_watermark", "50", &error);
    g_assert_no_error(error);

    /* Saved high first, low second; written in the other order it composes the same. */
    g_assert_true(g_file_set_contents(
        f->path, "[memory]\nlow_watermark = 50\nhigh_watermark = 60\n", -1, NULL));
    g_autoptr(VmbOverrides) o2 = vmb_overrides_new(f->dir);
    vmb_overrides_load(o2);
    g_autoptr(VmbConfig) c3 = vmb_overrides_rebase(o2, vmb_config_new_defaults());
    g_assert_cmpfloat(c3->mem_low_watermark, ==, 50);
    g_assert_cmpfloat(c3->mem_high_watermark, ==, 60);
}

static void
test_reset(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) base = vmb_config_new_defaults();
    base->cpu_max_moves = 5;
    vmb_config_free(vmb_overrides_rebase(o, g_steal_pointer(&base)));
    vmb_config_free(vmb_overrides_set(o, "cpu.max_moves", "2", &error));
    g_assert_no_error(error);
    g_autoptr(VmbConfig) c = vmb_overrides_reset(o, "cpu.max_moves", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(c->cpu_max_moves, ==, 5); /* the base value, not the default */
    g_assert_null(vmb_overrides_lookup(o, "cpu.max_moves"));
    g_autoptr(VmbConfig) again = vmb_overrides_reset(o, "cpu.max_moves", &error);
    g_assert_no_error(error);
    g_assert_null(vmb_overrides_reset(o, "nope", &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY);
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Names of the files in the state directory, sorted, space-separated. */
static char *
list_dir(const Fixture *f)
{
    g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    const char *name;
    while (dir && (name = g_dir_read_name(dir)))
        g_ptr_array_add(names, (gpointer) name);
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **) names->pdata);
}

/* A file in the old "section.key = value" format is read entry by entry as before, bad
 * entries logged and dropped, then rewritten once as a drop-in. */
static void
test_migrates_old_format(Fixture *f, gconstpointer data)
{
    static const char text[] = "# comment\n"
                               "garbage\n"
                               "frob = 1\n"
                               "cpu.cooldown = 999\n"
                               "\xff\xfe\n"
                               "cpu.cooldown = 7\r\n"
                               "interval=9";
    g_assert_true(g_file_set_contents(f->path, text, sizeof(text) - 1, NULL));
    g_autofree char *stale = g_build_filename(f->dir, VMB_OVERRIDES_FILE ".a1B2c3", NULL);
    g_assert_true(g_file_set_contents(stale, "x", -1, NULL));

    /* The log lines are the point here: check them on a child's stderr. */
    if (g_test_subprocess()) {
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        g_autoptr(VmbOverrides) o = vmb_overrides_new(f->dir);
        vmb_overrides_load(o);
        g_autoptr(VmbConfig) c = vmb_overrides_rebase(o, vmb_config_new_defaults());
        g_assert_cmpuint(c->cpu_cooldown, ==, 7);
        g_assert_cmpuint(c->interval, ==, 9);
        g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));

        g_autofree char *ini = NULL;
        g_assert_true(g_file_get_contents(f->path, &ini, NULL, NULL));
        g_assert_nonnull(strstr(ini, "\n[daemon]\ninterval = 9\n\n[cpu]\ncooldown = 7\n"));
        g_assert_null(strstr(ini, "frob"));
        /* Read as a drop-in from now on: no second conversion. */
        g_printerr("second load\n");
        g_autoptr(VmbOverrides) o2 = vmb_overrides_new(f->dir);
        vmb_overrides_load(o2);
        g_assert_cmpstr(vmb_overrides_lookup(o2, "cpu.cooldown"), ==, "7");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*:2: ignoring entry: expected 'section.key = value'*"
                              "*:3: ignoring entry: unknown key 'frob'*"
                              "*:4: ignoring entry: key 'cpu.cooldown'*0..100*"
                              "*:5: ignoring entry: not valid UTF-8*"
                              "*converted *" VMB_OVERRIDES_FILE " from 'section.key = value' lines "
                              "to an INI drop-in (2 override(s) kept, 4 bad entries dropped)*"
                              "*2 runtime override(s) from*"
                              "second load*2 runtime override(s) from*");
    g_test_trap_assert_stderr_unmatched("*second load*converted*");
}

typedef struct {
    const char *name, *text, *error;
} RefusedCase;

/* Each refused whole, with the file, the line and the key in the warning. */
static const RefusedCase refused_cases[] = {
    {"bad-value", "[daemon]\ninterval = 7\n\n[cpu]\ncooldown = 999\n",
     ":5: key 'cpu.cooldown': invalid value '999', expected an integer in 0..100"},
    {"unknown-key", "[daemon]\ninterval = 7\n[cpu]\nfrob = 1\n",
     ":4: unknown key 'frob' in section [cpu]"},
    {"unknown-section", "[daemon]\ninterval = 7\n[gpu]\n", ":3: unknown section [gpu]"},
    {"outside-section", "interval = 7\n[daemon]\n", ":1: key 'interval' is outside any section"},
    {"runtime-uri", "[daemon]\ninterval = 7\nuri = test:///default\n",
     ":3: key 'daemon.uri' cannot be changed at runtime"},
    {"control-character", "[daemon]\ninterval = 7\nexclude = a\001b\n",
     ":3: key 'daemon.exclude': invalid value: control characters"},
    {"not-utf8", "[daemon]\ninterval = 7\nexclude = \xff\n", ":3: not valid UTF-8"},
    {"syntax", "[daemon]\ninterval = 7\nexclude\n", ":3: syntax error in 'exclude'"},
};

/* A refused drop-in: the daemon runs on the configuration file alone, and the next write
 * keeps the refused file aside before replacing it. */
static void
test_refused_dropin(Fixture *f, gconstpointer data)
{
    const RefusedCase *rc = data;
    g_assert_true(g_file_set_contents(f->path, rc->text, -1, NULL));
    g_autofree char *kept = g_strconcat(f->path, ".rejected", NULL);
    if (g_test_subprocess()) {
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        g_autoptr(VmbOverrides) o = vmb_overrides_new(f->dir);
        vmb_overrides_load(o);
        g_autoptr(VmbConfig) file = vmb_config_new_defaults();
        file->interval = 30;
        g_autoptr(VmbConfig) c = vmb_overrides_rebase(o, vmb_config_copy(file));
        g_assert_cmpuint(c->interval, ==, 30);
        g_assert_null(vmb_overrides_lookup(o, "interval"));

        g_autoptr(GError) error = NULL;
        g_autoptr(VmbConfig) c2 = vmb_overrides_set(o, "cpu.cooldown", "3", &error);
        g_assert_no_error(error);
        g_autofree char *old = NULL, *now = NULL;
        g_assert_true(g_file_get_contents(kept, &old, NULL, NULL));
        g_assert_cmpstr(old, ==, rc->text);
        g_assert_true(g_file_get_contents(f->path, &now, NULL, NULL));
        g_assert_nonnull(strstr(now, "\n[cpu]\ncooldown = 3\n"));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    /* The child has a directory of its own. */
    g_autofree char *pattern = g_strdup_printf(
        "*ignoring runtime overrides, running on the configuration file alone: */%s%s*"
        "*replacing the refused */%s; it is kept as */%s.rejected*",
        VMB_OVERRIDES_FILE, rc->error, VMB_OVERRIDES_FILE, VMB_OVERRIDES_FILE);
    g_test_trap_assert_stderr(pattern);
}

/* A reload reads the drop-in again: a fixed file is taken, a broken one dropped. */
static void
test_reload_reads_again(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        g_autoptr(VmbOverrides) o = new_loaded(f);
        g_autoptr(GError) error = NULL;
        vmb_config_free(vmb_overrides_set(o, "interval", "7", &error));
        g_assert_no_error(error);
        g_assert_true(g_file_set_contents(f->path, "[daemon]\ninterval = 11\n", -1, NULL));
        g_autoptr(VmbConfig) c = vmb_overrides_rebase(o, vmb_config_new_defaults());
        g_assert_cmpuint(c->interval, ==, 11);
        g_assert_true(g_file_set_contents(f->path, "[daemon]\ninterval = x\n", -1, NULL));
        g_autoptr(VmbConfig) c2 = vmb_overrides_rebase(o, vmb_config_new_defaults());
        g_assert_cmpuint(c2->interval, ==, 5);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*1 runtime override(s) from*"
                              "*" VMB_OVERRIDES_FILE ":2: key 'daemon.interval': invalid value*");
}

/* An override that no longer fits the configuration file is skipped, not the others. */
static void
test_override_that_does_not_fit(Fixture *f, gconstpointer data)
{
    g_assert_true(g_file_set_contents(
        f->path, "[daemon]\ninterval = 7\n[memory]\nlow_watermark = 35\n", -1, NULL));
    if (g_test_subprocess()) {
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        g_autoptr(VmbOverrides) o = vmb_overrides_new(f->dir);
        vmb_overrides_load(o);
        g_autoptr(VmbConfig) file = vmb_config_new_defaults();
        file->mem_high_watermark = 30;
        file->mem_low_watermark = 10;
        g_autoptr(VmbConfig) c = vmb_overrides_rebase(o, g_steal_pointer(&file));
        g_assert_cmpuint(c->interval, ==, 7);
        g_assert_cmpfloat(c->mem_low_watermark, ==, 10);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*" VMB_OVERRIDES_FILE ":4: runtime override memory.low_watermark = "
                              "35 not applied: *greater than memory.low_watermark*");
}

/* Values that INI would read otherwise are quoted; what it cannot hold is refused. */
static void
test_quoted_values(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) c = vmb_overrides_set(o, "exclude", "web#1, db;2", &error);
    g_assert_no_error(error);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(f->path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\nexclude = \"web#1,db;2\"\n"));
    g_autoptr(VmbOverrides) o2 = vmb_overrides_new(f->dir);
    vmb_overrides_load(o2);
    g_autoptr(VmbConfig) c2 = vmb_overrides_rebase(o2, vmb_config_new_defaults());
    g_assert_cmpstr(c2->exclude[0], ==, "web#1");
    g_assert_cmpstr(c2->exclude[1], ==, "db;2");

    g_autofree char *huge = g_strnfill(1100, 'x');
    g_assert_null(vmb_overrides_set(o, "exclude", huge, &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE);
    g_autofree char *after = NULL;
    g_assert_true(g_file_get_contents(f->path, &after, NULL, NULL));
    g_assert_cmpstr(after, ==, text);
}

/* Every write goes through a temporary file that never stays behind. */
static void
test_atomic_write_leaves_no_temporary(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    for (guint i = 1; i <= 20; i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *v = g_strdup_printf("%u", i);
        vmb_config_free(vmb_overrides_set(o, "interval", v, &error));
        g_assert_no_error(error);
        g_autofree char *names = list_dir(f);
        g_assert_cmpstr(names, ==, VMB_OVERRIDES_FILE);
    }
    vmb_config_free(vmb_overrides_reset(o, "interval", NULL));
    g_autofree char *names = list_dir(f);
    g_assert_cmpstr(names, ==, VMB_OVERRIDES_FILE);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(f->path, &text, NULL, NULL));
    g_assert_null(strstr(text, "interval"));
}

static void
test_save_failure_changes_nothing(Fixture *f, gconstpointer data)
{
    g_autoptr(VmbOverrides) o = new_loaded(f);
    g_autoptr(GError) error = NULL;
    vmb_config_free(vmb_overrides_set(o, "interval", "8", &error));
    g_assert_no_error(error);
    /* The file's place taken by a directory: the rename must fail. */
    g_assert_cmpint(g_unlink(f->path), ==, 0);
    g_assert_cmpint(g_mkdir(f->path, 0755), ==, 0);
    g_assert_null(vmb_overrides_set(o, "interval", "9", &error));
    g_assert_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO);
    g_assert_cmpstr(vmb_overrides_lookup(o, "interval"), ==, "8");
    g_assert_cmpint(g_rmdir(f->path), ==, 0);
    g_autofree char *names = list_dir(f);
    g_assert_cmpstr(names, ==, ""); /* nor a temporary file */
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("/overrides/set-persists", test_set_persists);
    ADD("/overrides/rejects", test_rejects);
    ADD("/overrides/related-keys-any-order", test_related_keys_any_order);
    ADD("/overrides/reset", test_reset);
    ADD("/overrides/migrates-old-format", test_migrates_old_format);
    ADD("/overrides/reload-reads-again", test_reload_reads_again);
    ADD("/overrides/override-that-does-not-fit", test_override_that_does_not_fit);
    ADD("/overrides/quoted-values", test_quoted_values);
    ADD("/overrides/atomic-write-leaves-no-temporary", test_atomic_write_leaves_no_temporary);
    ADD("/overrides/save-failure-changes-nothing", test_save_failure_changes_nothing);
    for (guint i = 0; i < G_N_ELEMENTS(refused_cases); i++) {
        g_autofree char *path = g_strdup_printf("/overrides/refused/%s", refused_cases[i].name);
        g_test_add(path, Fixture, &refused_cases[i], fixture_set_up, test_refused_dropin,
                   fixture_tear_down);
    }
    return g_test_run();
}
