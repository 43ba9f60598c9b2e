/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "overrides.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* A damaged file could hold thousands of bad lines: report a few, then a count. */
#define MAX_REPORTED_LINES 5

typedef struct {
    char *key; /* canonical "section.key" */
    char *value;
} Entry;

struct _VmbOverrides {
    char *dir;
    char *path;
    GPtrArray *entries; /* Entry*, in the order they were set */
    VmbConfig *base;    /* the configuration file as last loaded */
};

static void
entry_free(Entry *e)
{
    g_free(e->key);
    g_free(e->value);
    g_free(e);
}

static Entry *
entry_new(const char *key, const char *value)
{
    Entry *e = g_new0(Entry, 1);
    e->key = g_strdup(key);
    e->value = g_strdup(value);
    return e;
}

VmbOverrides *
vmb_overrides_new(const char *state_dir)
{
    VmbOverrides *o = g_new0(VmbOverrides, 1);
    o->dir = g_strdup(state_dir);
    o->path = g_build_filename(state_dir, VMB_OVERRIDES_FILE, NULL);
    o->entries = g_ptr_array_new_with_free_func((GDestroyNotify) entry_free);
    return o;
}

void
vmb_overrides_free(VmbOverrides *o)
{
    if (!o)
        return;
    g_free(o->dir);
    g_free(o->path);
    g_ptr_array_unref(o->entries);
    vmb_config_free(o->base);
    g_free(o);
}

const char *
vmb_overrides_path(const VmbOverrides *o)
{
    return o->path;
}

static gint
find_entry(GPtrArray *entries, const char *key)
{
    for (guint i = 0; i < entries->len; i++) {
        const Entry *e = g_ptr_array_index(entries, i);
        if (strcmp(e->key, key) == 0)
            return (gint) i;
    }
    return -1;
}

const char *
vmb_overrides_lookup(const VmbOverrides *o, const char *key)
{
    const VmbKeyInfo *info = vmb_config_find_key(key);
    gint i = info ? find_entry(o->entries, info->name) : -1;
    return i >= 0 ? ((const Entry *) g_ptr_array_index(o->entries, i))->value : NULL;
}

static void
put_entry(GPtrArray *entries, const char *key, const char *value)
{
    gint i = find_entry(entries, key);
    if (i >= 0) {
        Entry *e = g_ptr_array_index(entries, i);
        g_free(e->value);
        e->value = g_strdup(value);
    } else {
        g_ptr_array_add(entries, entry_new(key, value));
    }
}

static GPtrArray *
copy_entries(GPtrArray *entries)
{
    GPtrArray *copy = g_ptr_array_new_with_free_func((GDestroyNotify) entry_free);
    for (guint i = 0; i < entries->len; i++) {
        const Entry *e = g_ptr_array_index(entries, i);
        g_ptr_array_add(copy, entry_new(e->key, e->value));
    }
    return copy;
}

/* The file is line-based: a value must stay on its line. */
static gboolean
check_value(const VmbKeyInfo *key, const char *value, GError **error)
{
    for (const char *p = value; *p; p++) {
        if ((guchar) *p < 0x20 || *p == 0x7f) {
            g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                        "key '%s': invalid value: control characters are not allowed", key->name);
            return FALSE;
        }
    }
    /* Changing the connection at runtime could strand the daemon at every start. */
    if (key->type == VMB_KEY_STRING && g_str_equal(key->name, "daemon.uri")) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key 'daemon.uri' cannot be changed at runtime: set it in the "
                    "configuration file and reload");
        return FALSE;
    }
    return TRUE;
}

/* Checks one entry in isolation and returns its canonical key and normalized value. */
static gboolean
parse_entry(const char *name, const char *value, char **key_out, char **value_out, GError **error)
{
    const VmbKeyInfo *key = vmb_config_find_key(name);
    if (!key) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "unknown key '%s' (`vmbalancectl get` lists them)", name);
        return FALSE;
    }
    if (!check_value(key, value, error))
        return FALSE;
    g_autoptr(VmbConfig) scratch = vmb_config_new_defaults();
    if (!vmb_config_set(scratch, key->name, value, error))
        return FALSE;
    *key_out = g_strdup(key->name);
    *value_out = vmb_config_get(scratch, key->name, NULL);
    return TRUE;
}

static void
remove_stale_temporaries(const VmbOverrides *o)
{
    /* g_file_set_contents() writes NAME.XXXXXX first; a crash can leave one behind. */
    g_autoptr(GDir) dir = g_dir_open(o->dir, 0, NULL);
    if (!dir)
        return;
    const char *prefix = VMB_OVERRIDES_FILE ".";
    const char *name;
    while ((name = g_dir_read_name(dir))) {
        if (g_str_has_prefix(name, prefix) && strlen(name) == strlen(prefix) + 6) {
            g_autofree char *path = g_build_filename(o->dir, name, NULL);
            if (g_unlink(path) == 0)
                g_debug("removed %s, left by an interrupted write", path);
        }
    }
}

void
vmb_overrides_load(VmbOverrides *o)
{
    g_ptr_array_set_size(o->entries, 0);
    remove_stale_temporaries(o);

    g_autofree char *contents = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(o->path, &contents, &length, &error)) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            g_warning("ignoring runtime overrides: %s", error->message);
        return;
    }

    guint bad = 0, lineno = 0;
    const char *p = contents, *end = contents + length;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *raw = p;
        gsize len = (nl ? nl : end) - p;
        p = nl ? nl + 1 : end;
        lineno++;

        g_autoptr(GError) line_error = NULL;
        if (!g_utf8_validate(raw, (gssize) len, NULL)) { /* also catches NUL bytes */
            g_set_error_literal(&line_error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX,
                                "not valid UTF-8 text");
        } else {
            g_autofree char *line = g_strndup(raw, len);
            char *text = g_strstrip(line);
            char *eq = strchr(text, '=');
            if (*text == '\0' || *text == '#')
                continue;
            if (!eq) {
                g_set_error_literal(&line_error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX,
                                    "expected 'section.key = value'");
            } else {
                *eq = '\0';
                g_autofree char *key = NULL, *value = NULL;
                if (parse_entry(g_strstrip(text), g_strstrip(eq + 1), &key, &value, &line_error))
                    put_entry(o->entries, key, value);
            }
        }
        if (line_error && ++bad <= MAX_REPORTED_LINES)
            g_warning("%s:%u: ignoring entry: %s", o->path, lineno, line_error->message);
    }
    if (bad > MAX_REPORTED_LINES)
        g_warning("%s: ignored %u bad entries in all", o->path, bad);
    if (o->entries->len)
        g_message("%u runtime override(s) from %s", o->entries->len, o->path);
}

/* base + entries. Entries are applied in a fixed-point loop so that an order between
 * related keys (low < high watermark) never matters; one that still does not fit is
 * skipped. Returns the skipped entries' errors by key in @skipped when non-NULL. */
static VmbConfig *
compose(const VmbConfig *base, GPtrArray *entries, GHashTable *skipped)
{
    g_autoptr(VmbConfig) c = vmb_config_copy(base);
    g_autoptr(GPtrArray) pending = g_ptr_array_new();
    g_autoptr(GHashTable) errors =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_error_free);
    for (guint i = 0; i < entries->len; i++)
        g_ptr_array_add(pending, g_ptr_array_index(entries, i));

    gboolean progress = TRUE;
    while (progress && pending->len) {
        progress = FALSE;
        for (guint i = 0; i < pending->len;) {
            const Entry *e = g_ptr_array_index(pending, i);
            g_autoptr(VmbConfig) trial = vmb_config_copy(c);
            GError *error = NULL;
            if (vmb_config_set(trial, e->key, e->value, &error) &&
                vmb_config_validate(trial, &error)) {
                vmb_config_free(c);
                c = g_steal_pointer(&trial);
                g_ptr_array_remove_index(pending, i);
                g_hash_table_remove(errors, e->key);
                progress = TRUE;
            } else {
                g_hash_table_replace(errors, e->key, error);
                i++;
            }
        }
    }
    for (guint i = 0; i < pending->len; i++) {
        const Entry *e = g_ptr_array_index(pending, i);
        GError *error = g_hash_table_lookup(errors, e->key);
        if (skipped)
            g_hash_table_insert(skipped, g_strdup(e->key), g_error_copy(error));
    }
    return g_steal_pointer(&c);
}

VmbConfig *
vmb_overrides_rebase(VmbOverrides *o, VmbConfig *loaded)
{
    vmb_config_free(o->base);
    o->base = loaded;
    g_autoptr(GHashTable) skipped =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_error_free);
    VmbConfig *c = compose(o->base, o->entries, skipped);
    GHashTableIter it;
    gpointer key, error;
    g_hash_table_iter_init(&it, skipped);
    while (g_hash_table_iter_next(&it, &key, &error))
        g_warning("runtime override %s = %s not applied: %s", (const char *) key,
                  vmb_overrides_lookup(o, key), ((GError *) error)->message);
    return c;
}

static gboolean
save(const VmbOverrides *o, GPtrArray *entries, GError **error)
{
    g_autoptr(GString) s = g_string_new(
        "# Runtime overrides of vmbalanced, written by `vmbalancectl set` (SetTunable on\n"
        "# D-Bus) and applied on top of the configuration file. Do not edit while the daemon\n"
        "# runs; `vmbalancectl reset KEY` drops one.\n");
    for (guint i = 0; i < entries->len; i++) {
        const Entry *e = g_ptr_array_index(entries, i);
        g_string_append_printf(s, "%s = %s\n", e->key, e->value);
    }

    g_autoptr(GError) local = NULL;
    if (g_mkdir_with_parents(o->dir, 0755) < 0) {
        int saved = errno;
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO,
                    "cannot create the state directory %s: %s", o->dir, g_strerror(saved));
        return FALSE;
    }
    if (!g_file_set_contents_full(o->path, s->str, (gssize) s->len,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0644, &local)) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO, "cannot save the override: %s",
                    local->message);
        return FALSE;
    }
    return TRUE;
}

/* Makes @entries current if they compose and save; else leaves everything as it was. */
static VmbConfig *
commit(VmbOverrides *o, GPtrArray *entries, const char *key, GError **error)
{
    g_autoptr(GHashTable) skipped =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_error_free);
    g_autoptr(VmbConfig) c = compose(o->base, entries, skipped);
    const GError *key_error = key ? g_hash_table_lookup(skipped, key) : NULL;
    if (key_error) {
        g_set_error_literal(error, key_error->domain, key_error->code, key_error->message);
        return NULL;
    }
    if (!save(o, entries, error))
        return NULL;
    g_ptr_array_unref(o->entries);
    o->entries = g_ptr_array_ref(entries);
    return g_steal_pointer(&c);
}

VmbConfig *
vmb_overrides_set(VmbOverrides *o, const char *name, const char *value, GError **error)
{
    g_return_val_if_fail(o->base != NULL, NULL);
    g_autofree char *key = NULL, *normalized = NULL;
    if (!parse_entry(name, value, &key, &normalized, error))
        return NULL;
    g_autoptr(GPtrArray) entries = copy_entries(o->entries);
    put_entry(entries, key, normalized);
    return commit(o, entries, key, error);
}

VmbConfig *
vmb_overrides_reset(VmbOverrides *o, const char *name, GError **error)
{
    g_return_val_if_fail(o->base != NULL, NULL);
    const VmbKeyInfo *key = vmb_config_find_key(name);
    if (!key) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "unknown key '%s' (`vmbalancectl get` lists them)", name);
        return NULL;
    }
    g_autoptr(GPtrArray) entries = copy_entries(o->entries);
    gint i = find_entry(entries, key->name);
    if (i >= 0)
        g_ptr_array_remove_index(entries, (guint) i);
    return commit(o, entries, NULL, error);
}
