/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runtime overrides: validation through the config table, atomic saves, tolerant loads. */
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
    g_assert_nonnull(strstr(text, "\ndaemon.interval = 7\n"));

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
        f->path, "memory.low_watermark = 50\nmemory.high_watermark = 60\n", -1, NULL));
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

static void
test_tolerant_load(Fixture *f, gconstpointer data)
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

    /* The warnings are the point here: check them on a child's stderr. */
    if (g_test_subprocess()) {
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        g_autoptr(VmbOverrides) o = vmb_overrides_new(f->dir);
        vmb_overrides_load(o);
        g_autoptr(VmbConfig) c = vmb_overrides_rebase(o, vmb_config_new_defaults());
        g_assert_cmpuint(c->cpu_cooldown, ==, 7);
        g_assert_cmpuint(c->interval, ==, 9);
        g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*:2: ignoring entry: expected 'section.key = value'*"
                              "*:3: ignoring entry: unknown key 'frob'*"
                              "*:4: ignoring entry: key 'cpu.cooldown'*0..100*"
                              "*:5: ignoring entry: not valid UTF-8*");
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
    ADD("/overrides/tolerant-load", test_tolerant_load);
    ADD("/overrides/save-failure-changes-nothing", test_save_failure_changes_nothing);
    return g_test_run();
}
