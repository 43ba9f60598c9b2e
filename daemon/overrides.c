/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "overrides.h"

#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* A damaged old-format file could hold thousands of bad lines: report a few, then a count. */
#define MAX_REPORTED_LINES 5
#define REJECTED_SUFFIX    ".rejected"

struct _VmbOverrides {
    char *dir;
    char *path;
    GPtrArray *entries; /* VmbConfigSetting*, one per key at most */
    VmbConfig *base;    /* the configuration file as last loaded */
    gboolean fresh;     /* just loaded: the next rebase need not read the file again */
    gboolean rejected;  /* the file on disk was refused: keep it before replacing it */
};

static GPtrArray *
new_entries(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify) vmb_config_setting_free);
}

VmbOverrides *
vmb_overrides_new(const char *state_dir)
{
    VmbOverrides *o = g_new0(VmbOverrides, 1);
    o->dir = g_strdup(state_dir);
    o->path = g_build_filename(state_dir, VMB_OVERRIDES_FILE, NULL);
    o->entries = new_entries();
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

static VmbConfigSetting *
find_entry(GPtrArray *entries, const VmbKeyInfo *key)
{
    for (guint i = 0; i < entries->len; i++) {
        VmbConfigSetting *e = g_ptr_array_index(entries, i);
        if (e->key == key)
            return e;
    }
    return NULL;
}

const char *
vmb_overrides_lookup(const VmbOverrides *o, const char *name)
{
    const VmbKeyInfo *key = vmb_config_find_key(name);
    const VmbConfigSetting *e = key ? find_entry(o->entries, key) : NULL;
    return e ? e->value : NULL;
}

static void
put_entry(GPtrArray *entries, const VmbKeyInfo *key, const char *value, guint line)
{
    VmbConfigSetting *e = find_entry(entries, key);
    if (!e) {
        g_ptr_array_add(entries, vmb_config_setting_new(key, value, line));
        return;
    }
    g_free(e->value);
    e->value = g_strdup(value);
    e->line = line;
}

static GPtrArray *
copy_entries(GPtrArray *entries)
{
    GPtrArray *copy = new_entries();
    for (guint i = 0; i < entries->len; i++) {
        const VmbConfigSetting *e = g_ptr_array_index(entries, i);
        g_ptr_array_add(copy, vmb_config_setting_new(e->key, e->value, e->line));
    }
    return copy;
}

/* "PATH:LINE", or PATH for an entry that was not read from the file. */
static char *
where(const VmbOverrides *o, guint line)
{
    return line ? g_strdup_printf("%s:%u", o->path, line) : g_strdup(o->path);
}

static const VmbKeyInfo *
find_key(const char *name, GError **error)
{
    const VmbKeyInfo *key = vmb_config_find_key(name);
    if (!key)
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "unknown key '%s' (`vmbalancectl get` lists them)", name);
    return key;
}

/* Checks @value for @key as a runtime override; returns it normalized, as it is saved. */
static char *
parse_value(const VmbKeyInfo *key, const char *value, GError **error)
{
    /* Checked before the value is trimmed: "1\n" is refused, not read as 1. */
    for (const char *p = value; *p; p++) {
        if ((guchar) *p < 0x20 || *p == 0x7f) {
            g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                        "key '%s': invalid value: control characters are not allowed", key->name);
            return NULL;
        }
    }
    /* Changing the connection at runtime could strand the daemon at every start. */
    if (g_str_equal(key->name, "daemon.uri")) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key 'daemon.uri' cannot be changed at runtime: set it in the "
                    "configuration file and reload");
        return NULL;
    }
    g_autoptr(VmbConfig) scratch = vmb_config_new_defaults();
    if (!vmb_config_set(scratch, key->name, value, error))
        return NULL;
    g_autofree char *normalized = vmb_config_get(scratch, key->name, NULL);
    /* Refused now rather than written in a file that would not read back. */
    g_autofree char *line = vmb_config_format_setting(key, normalized, error);
    return line ? g_steal_pointer(&normalized) : NULL;
}

static void
remove_stale_temporaries(const VmbOverrides *o)
{
    /* vmb_textfile_replace() writes NAME.XXXXXX first; a crash can leave one behind. */
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

/* @entries as a drop-in: sections and keys in the order of the key table. */
static char *
format_dropin(GPtrArray *entries, GError **error)
{
    g_autoptr(GString) s = g_string_new(
        "# Runtime overrides of vmbalanced, written by `vmbalancectl set` and `reset` (D-Bus\n"
        "# SetTunable, ResetTunable). A drop-in: the syntax of vmbalanced.conf, read after it\n"
        "# at every start and reload; its keys win.\n");
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    const char *prev = NULL; /* the key written last */
    for (guint k = 0; k < n; k++) {
        const VmbConfigSetting *e = find_entry(entries, &keys[k]);
        if (!e)
            continue;
        int len = (int) (strchr(keys[k].name, '.') - keys[k].name);
        if (!prev || strncmp(prev, keys[k].name, (gsize) len + 1) != 0)
            g_string_append_printf(s, "\n[%.*s]\n", len, keys[k].name);
        prev = keys[k].name;
        g_autofree char *line = vmb_config_format_setting(&keys[k], e->value, error);
        if (!line)
            return NULL;
        g_string_append_printf(s, "%s\n", line);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The refused file may hold an administrator's edits: keep it before it is replaced. */
static void
keep_rejected(const VmbOverrides *o)
{
    g_autofree char *kept = g_strconcat(o->path, REJECTED_SUFFIX, NULL);
    g_unlink(kept);
    if (link(o->path, kept) == 0)
        g_warning("replacing the refused %s; it is kept as %s", o->path, kept);
    else if (errno != ENOENT)
        g_warning("cannot keep the refused %s as %s: %s", o->path, kept, g_strerror(errno));
}

static gboolean
save(VmbOverrides *o, GPtrArray *entries, GError **error)
{
    g_autofree char *text = format_dropin(entries, error);
    if (!text)
        return FALSE;
    if (g_mkdir_with_parents(o->dir, 0755) < 0) {
        int saved = errno;
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO,
                    "cannot create the state directory %s: %s", o->dir, g_strerror(saved));
        return FALSE;
    }
    if (o->rejected)
        keep_rejected(o);
    g_autoptr(GError) local = NULL;
    if (!vmb_textfile_replace(o->path, text, strlen(text), VMB_REPLACE_DURABLE, &local)) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO, "cannot save the override: %s",
                    local->message);
        return FALSE;
    }
    o->rejected = FALSE;
    return TRUE;
}

/* Splits [*p, end) at the next newline: *line and *len get the line without it. */
static gboolean
next_line(const char **p, const char *end, const char **line, gsize *len)
{
    if (*p >= end)
        return FALSE;
    const char *nl = memchr(*p, '\n', (gsize) (end - *p));
    *line = *p;
    *len = (gsize) ((nl ? nl : end) - *p);
    *p = nl ? nl + 1 : end;
    return TRUE;
}

/* The format before drop-ins had no sections: entries and no "[section]" line. */
static gboolean
is_old_format(const char *contents, gsize length)
{
    const char *p = contents, *line;
    gsize len;
    gboolean entries = FALSE;
    while (next_line(&p, contents + length, &line, &len)) {
        while (len && g_ascii_isspace(*line)) {
            line++;
            len--;
        }
        if (len && *line == '[')
            return FALSE;
        entries |= len && *line != '#' && *line != ';';
    }
    return entries;
}

/* One line of the old format, "section.key = value", into @entries. */
static void
read_old_entry(const char *raw, gsize len, GPtrArray *entries, GError **error)
{
    if (!g_utf8_validate(raw, (gssize) len, NULL)) { /* also catches NUL bytes */
        g_set_error_literal(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX,
                            "not valid UTF-8 text");
        return;
    }
    g_autofree char *line = g_strndup(raw, len);
    char *text = g_strstrip(line);
    char *eq = strchr(text, '=');
    if (*text == '\0' || *text == '#')
        return;
    if (!eq) {
        g_set_error_literal(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX,
                            "expected 'section.key = value'");
        return;
    }
    *eq = '\0';
    const VmbKeyInfo *key = find_key(g_strstrip(text), error);
    g_autofree char *value = key ? parse_value(key, g_strstrip(eq + 1), error) : NULL;
    if (value)
        put_entry(entries, key, value, 0);
}

/* Reads an old-format file entry by entry, as its own reader did (bad entries logged with
 * their line and dropped), and rewrites it as a drop-in. */
static void
migrate(VmbOverrides *o, const char *contents, gsize length)
{
    const char *p = contents, *line;
    gsize len;
    guint bad = 0, lineno = 0;
    while (next_line(&p, contents + length, &line, &len)) {
        g_autoptr(GError) error = NULL;
        read_old_entry(line, len, o->entries, &error);
        lineno++;
        if (error && ++bad <= MAX_REPORTED_LINES)
            g_warning("%s:%u: ignoring entry: %s", o->path, lineno, error->message);
    }
    if (bad > MAX_REPORTED_LINES)
        g_warning("%s: ignored %u bad entries in all", o->path, bad);

    g_autoptr(GError) error = NULL;
    if (!save(o, o->entries, &error))
        g_warning("cannot convert %s from the old 'section.key = value' format, read as "
                  "such until it can be: %s",
                  o->path, error->message);
    else
        g_message("converted %s from 'section.key = value' lines to an INI drop-in "
                  "(%u override(s) kept, %u bad entries dropped)",
                  o->path, o->entries->len, bad);
}

/* The drop-in through the configuration reader, then the rules of runtime overrides. */
static gboolean
read_dropin(VmbOverrides *o, const char *contents, gsize length, GError **error)
{
    g_autoptr(GPtrArray) settings = vmb_config_parse(o->path, contents, length, error);
    if (!settings)
        return FALSE;
    for (guint i = 0; i < settings->len; i++) {
        const VmbConfigSetting *s = g_ptr_array_index(settings, i);
        g_autoptr(GError) local = NULL;
        g_autofree char *value = parse_value(s->key, s->value, &local);
        if (!value) {
            g_autofree char *at = where(o, s->line);
            g_set_error(error, local->domain, local->code, "%s: %s", at, local->message);
            return FALSE;
        }
        put_entry(o->entries, s->key, value, s->line);
    }
    return TRUE;
}

void
vmb_overrides_load(VmbOverrides *o)
{
    g_ptr_array_set_size(o->entries, 0);
    o->fresh = TRUE;
    o->rejected = FALSE;
    remove_stale_temporaries(o);

    g_autofree char *contents = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;
    /* Only a regular file of bounded size: a FIFO there must not block the main loop. */
    contents = vmb_textfile_read(o->path, VMB_TEXTFILE_MAX_CONFIG, &length, &error);
    if (!contents) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            g_warning("ignoring runtime overrides: %s", error->message);
        return;
    }
    /* NUL bytes are refused before the format is guessed: neither format has them. */
    if (!vmb_textfile_check(o->path, contents, length, &error) ||
        (!is_old_format(contents, length) && !read_dropin(o, contents, length, &error))) {
        g_ptr_array_set_size(o->entries, 0);
        o->rejected = TRUE;
        g_warning("ignoring runtime overrides, running on the configuration file alone: %s",
                  error->message);
        return;
    }
    if (is_old_format(contents, length))
        migrate(o, contents, length);
    if (o->entries->len)
        g_message("%u runtime override(s) from %s", o->entries->len, o->path);
}

VmbConfig *
vmb_overrides_rebase(VmbOverrides *o, VmbConfig *loaded)
{
    /* A reload reads the drop-in again, like the configuration file. */
    if (!o->fresh)
        vmb_overrides_load(o);
    o->fresh = FALSE;
    vmb_config_free(o->base);
    o->base = loaded;
    g_autoptr(GHashTable) skipped =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_error_free);
    VmbConfig *c = vmb_config_overlay(o->base, o->entries, skipped);
    GHashTableIter it;
    gpointer name, error;
    g_hash_table_iter_init(&it, skipped);
    while (g_hash_table_iter_next(&it, &name, &error)) {
        const VmbConfigSetting *e = find_entry(o->entries, vmb_config_find_key(name));
        g_autofree char *at = where(o, e->line);
        g_warning("%s: runtime override %s = %s not applied: %s", at, (const char *) name, e->value,
                  ((GError *) error)->message);
    }
    return c;
}

/* Makes @entries current if they compose and save; else leaves everything as it was. */
static VmbConfig *
commit(VmbOverrides *o, GPtrArray *entries, const VmbKeyInfo *key, GError **error)
{
    g_autoptr(GHashTable) skipped =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_error_free);
    g_autoptr(VmbConfig) c = vmb_config_overlay(o->base, entries, skipped);
    const GError *key_error = key ? g_hash_table_lookup(skipped, key->name) : NULL;
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
    const VmbKeyInfo *key = find_key(name, error);
    g_autofree char *normalized = key ? parse_value(key, value, error) : NULL;
    if (!normalized)
        return NULL;
    g_autoptr(GPtrArray) entries = copy_entries(o->entries);
    put_entry(entries, key, normalized, 0);
    return commit(o, entries, key, error);
}

VmbConfig *
vmb_overrides_reset(VmbOverrides *o, const char *name, GError **error)
{
    g_return_val_if_fail(o->base != NULL, NULL);
    const VmbKeyInfo *key = find_key(name, error);
    if (!key)
        return NULL;
    g_autoptr(GPtrArray) entries = copy_entries(o->entries);
    VmbConfigSetting *e = find_entry(entries, key);
    if (e)
        g_ptr_array_remove(entries, e);
    return commit(o, entries, NULL, error);
}
