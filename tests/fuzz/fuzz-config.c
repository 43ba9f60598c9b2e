/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the configuration file and the runtime-overrides drop-in read after it,
 * as the daemon does at start and at every reload. The input is split at the first line
 * "%%drop-in%%": the part before is vmbalanced.conf, the part after is
 * STATE_DIR/overrides.conf (no such line: no drop-in). Errors are expected; what must not
 * happen is a crash, a leak, a GLib critical, or a result that breaks the loaders' own
 * promises:
 *  - what the overrides put over a valid configuration validates;
 *  - every key of it reads back (vmb_config_get) and, when it can be written as a line
 *    (vmb_config_format_setting), that line reads back as the same value. */
#include <stdio.h>

#include "config.h"
#include "overrides.h"

#define VMB_FUZZ_WITH_CONFIG
#include "fuzz-common.h"

#define SEPARATOR "\n%%drop-in%%\n"

static char *tmp, *conf_path, *state_dir, *dropin_path, *line_path;
static GStrv default_values; /* per key of vmb_config_keys(), checked once */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_logging();
    tmp = fuzz_make_tmp("vmb-fuzz-config");
    conf_path = g_build_filename(tmp, "vmbalanced.conf", NULL);
    line_path = g_build_filename(tmp, "line.conf", NULL);
    state_dir = g_build_filename(tmp, "state", NULL);
    dropin_path = g_build_filename(state_dir, VMB_OVERRIDES_FILE, NULL);
    return 0;
}

static void check_line_round_trip(const VmbKeyInfo *key, const char *value);

/* The defaults' values, round-tripped once here: each input checks only what it changed
 * (a file per key and input would make this harness ten times slower). */
static void
init_defaults(void)
{
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    g_autoptr(VmbConfig) defaults = vmb_config_new_defaults();
    default_values = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++) {
        default_values[i] = vmb_config_get(defaults, keys[i].name, NULL);
        check_line_round_trip(&keys[i], default_values[i]);
    }
}

/* The formatted line of @key must read back as @value. */
static void
check_line_round_trip(const VmbKeyInfo *key, const char *value)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *line = vmb_config_format_setting(key, value, &error);
    if (!line)
        return; /* cannot be written: refused with a reason, fine */
    g_autofree char *section = g_strndup(key->name, strcspn(key->name, "."));
    g_autofree char *text = g_strdup_printf("[%s]\n%s\n", section, line);
    fuzz_write(line_path, text, strlen(text));
    g_autoptr(GPtrArray) back = vmb_config_read(line_path, FALSE, &error);
    if (!back || back->len != 1) {
        fprintf(stderr, "fuzz: the line written for %s = '%s' does not read back: %s\n", key->name,
                value, error ? error->message : "not one setting");
        abort();
    }
    const VmbConfigSetting *s = g_ptr_array_index(back, 0);
    if (s->key != key || g_strcmp0(s->value, value) != 0) {
        fprintf(stderr, "fuzz: %s = '%s' was written as '%s' and read back as %s = '%s'\n",
                key->name, value, line, s->key->name, s->value);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (!default_values)
        init_defaults();
    fuzz_clear_dir(tmp);
    g_mkdir(state_dir, 0700);

    const guint8 *sep = memmem(data, size, SEPARATOR, strlen(SEPARATOR));
    size_t main_size = sep ? (size_t) (sep - data) + 1 : size; /* keep the newline */
    fuzz_write(conf_path, data, main_size);
    if (sep) {
        const guint8 *dropin = sep + strlen(SEPARATOR);
        fuzz_write(dropin_path, dropin, size - (size_t) (dropin - data));
    }

    /* Start: the file, else (a reload that failed) the running settings, here the defaults. */
    g_autoptr(GError) error = NULL;
    VmbConfig *loaded = vmb_config_load(conf_path, FALSE, &error);
    if (!loaded) {
        fuzz_require_message(error, "vmb_config_load");
        loaded = vmb_config_new_defaults();
    }

    /* The drop-in read on its own, as a reload does, and overlaid with the skipped keys kept. */
    g_autoptr(GError) read_error = NULL;
    g_autoptr(GPtrArray) settings = vmb_config_read(dropin_path, TRUE, &read_error);
    if (settings) {
        g_autoptr(GHashTable) skipped =
            g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_error_free);
        g_autoptr(VmbConfig) over = vmb_config_overlay(loaded, settings, skipped);
        if (!vmb_config_validate(over, NULL)) {
            fprintf(stderr, "fuzz: vmb_config_overlay returned an invalid configuration\n");
            abort();
        }
    }

    /* What the daemon runs on: the overrides over the file. */
    g_autoptr(VmbOverrides) o = vmb_overrides_new(state_dir);
    vmb_overrides_load(o);
    g_autoptr(VmbConfig) running = vmb_overrides_rebase(o, loaded);
    g_autoptr(GError) invalid = NULL;
    if (!vmb_config_validate(running, &invalid)) {
        fprintf(stderr, "fuzz: the configuration in effect does not validate: %s\n",
                invalid->message);
        abort();
    }
    fuzz_read_back(running);

    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    for (guint i = 0; i < n; i++) {
        g_autofree char *v = vmb_config_get(running, keys[i].name, NULL);
        if (g_strcmp0(v, default_values[i]) != 0)
            check_line_round_trip(&keys[i], v);
        const char *override = vmb_overrides_lookup(o, keys[i].name);
        if (override)
            check_line_round_trip(&keys[i], override);
    }
    return 0;
}
