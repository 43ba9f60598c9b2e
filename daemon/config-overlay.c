/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runtime settings (the drop-in, overrides) laid over a configuration, and one setting
 * written as a line that reads back the same. */
#include "config.h"

#include "textfile.h"

#include <string.h>

/* Moves every setting that now fits from @pending into @c; FALSE when none did. */
static gboolean
overlay_pass(VmbConfig **c, GPtrArray *pending, GHashTable *errors)
{
    gboolean progress = FALSE;
    for (guint i = 0; i < pending->len;) {
        const VmbConfigSetting *s = g_ptr_array_index(pending, i);
        g_autoptr(VmbConfig) trial = vmb_config_copy(*c);
        GError *error = NULL;
        if (vmb_config_set(trial, s->key->name, s->value, &error) &&
            vmb_config_validate(trial, &error)) {
            vmb_config_free(*c);
            *c = g_steal_pointer(&trial);
            g_ptr_array_remove_index(pending, i);
            g_hash_table_remove(errors, s->key->name);
            progress = TRUE;
        } else {
            g_hash_table_replace(errors, (gpointer) s->key->name, error);
            i++;
        }
    }
    return progress;
}

VmbConfig *
vmb_config_overlay(const VmbConfig *base, GPtrArray *settings, GHashTable *skipped)
{
    g_autoptr(VmbConfig) c = vmb_config_copy(base);
    g_autoptr(GPtrArray) pending = g_ptr_array_new();
    g_autoptr(GHashTable) errors =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_error_free);
    for (guint i = 0; i < settings->len; i++)
        g_ptr_array_add(pending, g_ptr_array_index(settings, i));
    while (pending->len && overlay_pass(&c, pending, errors))
        ;
    for (guint i = 0; skipped && i < pending->len; i++) {
        const VmbConfigSetting *s = g_ptr_array_index(pending, i);
        g_hash_table_insert(skipped, (gpointer) s->key->name,
                            g_error_copy(g_hash_table_lookup(errors, s->key->name)));
    }
    return g_steal_pointer(&c);
}

/* iniparser ends a bare value at ';' or '#', strips the spaces around it, joins a line
 * that ends in '\' with the next and unquotes a value that starts with a quote. */
static gboolean
needs_quotes(const char *value)
{
    gsize n = strlen(value);
    return n &&
           (strpbrk(value, ";#") || value[0] == '"' || value[0] == '\'' ||
            g_ascii_isspace(value[0]) || g_ascii_isspace(value[n - 1]) || value[n - 1] == '\\');
}

char *
vmb_config_format_setting(const VmbKeyInfo *key, const char *value, GError **error)
{
    const char *name = strchr(key->name, '.') + 1;
    for (const char *p = value; *p; p++) {
        if ((guchar) *p < 0x20 || *p == 0x7f) {
            g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                        "key '%s': invalid value: control characters are not allowed", key->name);
            return NULL;
        }
    }
    /* There are no escapes: a quote character cannot be inside quotes of its kind. */
    const char *quote = !needs_quotes(value) ? "" : !strchr(value, '"') ? "\"" : "'";
    g_autofree char *line = g_strdup_printf("%s = %s%s%s", name, quote, value, quote);
    if (*quote == '\'' && strchr(value, '\'')) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key '%s': invalid value: it cannot hold both quote characters with ';', "
                    "'#' or surrounding spaces",
                    key->name);
        return NULL;
    }
    if (strlen(line) > VMB_TEXTFILE_MAX_LINE) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key '%s': invalid value: longer than a configuration line allows (%d "
                    "characters with the key)",
                    key->name, VMB_TEXTFILE_MAX_LINE);
        return NULL;
    }
    return g_steal_pointer(&line);
}
