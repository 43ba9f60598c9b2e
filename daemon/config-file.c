/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A configuration file read into checked settings: its text, its sections, each key with
 * the line that set it; and a whole file loaded onto the defaults. */
#include "config.h"

#include "textfile.h"

#include <iniparser.h>
#include <string.h>

VmbConfigSetting *
vmb_config_setting_new(const VmbKeyInfo *key, const char *value, guint line)
{
    VmbConfigSetting *s = g_new0(VmbConfigSetting, 1);
    s->key = key;
    s->value = g_strdup(value ? value : "");
    s->line = line;
    return s;
}

void
vmb_config_setting_free(VmbConfigSetting *s)
{
    if (!s)
        return;
    g_free(s->value);
    g_free(s);
}

static char *
where(const char *path, guint line)
{
    return line ? g_strdup_printf("%s:%u", path, line) : g_strdup(path);
}

/* iniparser keeps no line numbers: find the last line that sets @key in [@section] (the
 * section header itself when @key is NULL), splitting lines as iniparser does. 0: none. */
static guint
find_line(const char *contents, const char *section, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
    g_autofree char *current = g_strdup("");
    guint found = 0;
    for (guint i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        gsize n = strlen(l);
        if (l[0] == '[' && n > 1 && l[n - 1] == ']') {
            l[n - 1] = '\0';
            g_free(current);
            current = g_ascii_strdown(g_strstrip(l + 1), -1);
            if (!key && g_str_equal(current, section))
                found = i + 1;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!key || !eq || l[0] == '#' || l[0] == ';' || !g_str_equal(current, section))
            continue;
        *eq = '\0';
        g_autofree char *name = g_ascii_strdown(g_strstrip(l), -1);
        if (g_str_equal(name, key))
            found = i + 1;
    }
    return found;
}

static gboolean
is_known_section(const char *name)
{
    return g_str_equal(name, "daemon") || g_str_equal(name, "cpu") || g_str_equal(name, "memory");
}

/* Checks one iniparser entry, "section" (a header) or "section:key"; keeps a key's value. */
static gboolean
read_entry(const char *path, const char *contents, const char *entry, const char *value,
           GPtrArray *settings, GError **error)
{
    const char *colon = strchr(entry, ':');
    if (!colon && is_known_section(entry))
        return TRUE;
    g_autofree char *section = colon ? g_strndup(entry, colon - entry) : g_strdup(entry);
    const char *name = colon ? colon + 1 : NULL;
    guint line = find_line(contents, section, name);
    g_autofree char *at = where(path, line);
    /* Names are quoted escaped: a control character must not hide in the message. */
    g_autofree char *shown_section = vmb_textfile_escape(section);
    g_autofree char *shown_name = vmb_textfile_escape(name ? name : "");
    if (!colon) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "%s: unknown section [%s] (allowed: [daemon], [cpu], [memory])", at,
                    shown_section);
        return FALSE;
    }
    if (colon == entry) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "%s: key '%s' is outside any section ([daemon], [cpu], [memory])", at,
                    shown_name);
        return FALSE;
    }
    g_autofree char *full = g_strdup_printf("%s.%s", section, name);
    const VmbKeyInfo *key = vmb_config_find_key(full);
    if (!key) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "%s: unknown key '%s' in section [%s]", at, shown_name, shown_section);
        return FALSE;
    }
    /* Each value is checked on its own here; a scratch configuration takes it. */
    g_autoptr(VmbConfig) scratch = vmb_config_new_defaults();
    g_autoptr(GError) set_error = NULL;
    if (!vmb_config_set(scratch, key->name, value, &set_error)) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE, "%s: %s", at,
                    set_error->message);
        return FALSE;
    }
    g_ptr_array_add(settings, vmb_config_setting_new(key, value, line));
    return TRUE;
}

/* The file's text, from a regular file of bounded size. */
static char *
read_text(const char *path, gsize *length, gboolean *missing, GError **error)
{
    g_autoptr(GError) io_error = NULL;
    g_autofree char *contents = vmb_textfile_read(path, VMB_TEXTFILE_MAX_CONFIG, length, &io_error);
    *missing = FALSE;
    if (!contents) {
        *missing = g_error_matches(io_error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_IO, "%s", io_error->message);
        return NULL;
    }
    return g_steal_pointer(&contents);
}

/* No NUL byte (iniparser would skip the rest of the line silently), no bare CR, UTF-8. */
static gboolean
check_text(const char *path, const char *contents, gsize length, GError **error)
{
    g_autoptr(GError) text_error = NULL;
    if (!vmb_textfile_check(path, contents, length, &text_error)) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX, "%s", text_error->message);
        return FALSE;
    }
    const char *bad = NULL;
    if (!g_utf8_validate(contents, (gssize) length, &bad)) {
        guint line = 1;
        for (const char *p = contents; p < bad; p++)
            line += *p == '\n';
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX, "%s:%u: not valid UTF-8",
                    path, line);
        return FALSE;
    }
    return TRUE;
}

/* iniparser misreads some headers ("[]" keeps the previous section, "[cpu:interval]" looks
 * like a key): check every "[...]" line against the known sections first. */
static gboolean
check_sections(const char *path, const char *contents, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        gsize n = strlen(l);
        if (l[0] != '[' || n < 2 || l[n - 1] != ']')
            continue;
        l[n - 1] = '\0';
        g_autofree char *name = g_ascii_strdown(g_strstrip(l + 1), -1);
        if (is_known_section(name))
            continue;
        g_autofree char *shown = vmb_textfile_escape(l + 1);
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "%s:%u: %s section [%s] (allowed: [daemon], [cpu], [memory])", path, i + 1,
                    *name ? "unknown" : "empty", shown);
        return FALSE;
    }
    return TRUE;
}

GPtrArray *
vmb_config_parse(const char *path, const char *contents, gsize length, GError **error)
{
    if (!check_text(path, contents, length, error) || !check_sections(path, contents, error))
        return NULL;
    g_autoptr(GError) ini_error = NULL;
    dictionary *ini = vmb_textfile_load_ini(path, contents, length, &ini_error);
    if (!ini) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_SYNTAX, "%s", ini_error->message);
        return NULL;
    }
    g_autoptr(GPtrArray) settings =
        g_ptr_array_new_with_free_func((GDestroyNotify) vmb_config_setting_free);
    gboolean ok = TRUE;
    for (ssize_t i = 0; ok && i < ini->size; i++) {
        if (ini->key[i])
            ok = read_entry(path, contents, ini->key[i], ini->val[i], settings, error);
    }
    iniparser_freedict(ini);
    return ok ? g_steal_pointer(&settings) : NULL;
}

GPtrArray *
vmb_config_read(const char *path, gboolean missing_ok, GError **error)
{
    gboolean missing;
    gsize length = 0;
    g_autoptr(GError) read_error = NULL;
    g_autofree char *contents = read_text(path, &length, &missing, &read_error);
    if (!contents) {
        if (missing && missing_ok)
            return g_ptr_array_new_with_free_func((GDestroyNotify) vmb_config_setting_free);
        g_propagate_error(error, g_steal_pointer(&read_error));
        return NULL;
    }
    return vmb_config_parse(path, contents, length, error);
}

VmbConfig *
vmb_config_load(const char *path, gboolean missing_ok, GError **error)
{
    g_autoptr(GPtrArray) settings = vmb_config_read(path, missing_ok, error);
    if (!settings)
        return NULL;
    g_autoptr(VmbConfig) c = vmb_config_new_defaults();
    for (guint i = 0; i < settings->len; i++) {
        const VmbConfigSetting *s = g_ptr_array_index(settings, i);
        vmb_config_set(c, s->key->name, s->value, NULL); /* checked by vmb_config_read */
    }
    g_autoptr(GError) rel_error = NULL;
    if (!vmb_config_validate(c, &rel_error)) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE, "%s: %s", path,
                    rel_error->message);
        return NULL;
    }
    return g_steal_pointer(&c);
}
