/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One tunable's value: parsed and bounded as the file, the drop-in and D-Bus give it
 * (vmb_config_set), and written back as text (vmb_config_get). */
#include "config.h"

#include "config-priv.h"
#include "textfile.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static gboolean
parse_bool(const char *s, gboolean *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) {
            *out = TRUE;
            return TRUE;
        }
        if (g_ascii_strcasecmp(s, no[i]) == 0) {
            *out = FALSE;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
parse_uint(const char *s, double min, double max, guint *out)
{
    if (!g_ascii_isdigit(*s))
        return FALSE;
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    if (errno || *end != '\0' || (double) v < min || (double) v > max)
        return FALSE;
    *out = (guint) v;
    return TRUE;
}

/* "" (none) or an absolute path whose file name is NAME.prom: node_exporter reads only those,
 * and the temporary file beside it (PATH.XXXXXX) must not be one. */
static gboolean
parse_metrics_path(const char *s)
{
    if (!*s)
        return TRUE;
    g_autofree char *base = g_path_get_basename(s);
    return g_path_is_absolute(s) && g_utf8_validate(s, -1, NULL) && !g_str_has_suffix(s, "/") &&
           g_str_has_suffix(base, ".prom") && strlen(base) > strlen(".prom");
}

gboolean
vmb_config_parse_double(const char *s, double min, double max, double *out)
{
    if (!*s)
        return FALSE;
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < min || v > max)
        return FALSE;
    *out = v;
    return TRUE;
}

/* Length, control characters and list items of a trimmed @value: one place for the file,
 * the drop-in and D-Bus, so that no path stores what another could not read back. */
static gboolean
check_bounds(const VmbKeyInfo *key, const char *value, GError **error)
{
    gsize max_len = key->max_len ? key->max_len : VMB_CONFIG_MAX_VALUE;
    gsize len = strlen(value);
    if (len > max_len) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key '%s': value too long (%" G_GSIZE_FORMAT
                    " characters, at most %" G_GSIZE_FORMAT ")",
                    key->name, len, max_len);
        return FALSE;
    }
    guint items = 1;
    for (const char *p = value; *p; p++) {
        items += *p == ',';
        if (((guchar) *p < 0x20 && *p != '\t') || *p == 0x7f) {
            g_autofree char *shown = vmb_textfile_escape(value);
            g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                        "key '%s': invalid value: control characters are not allowed (in '%s')",
                        key->name, shown);
            return FALSE;
        }
    }
    if (key->type == VMB_KEY_LIST && key->max_items && items > key->max_items) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key '%s': too many items (%u, at most %u)", key->name, items, key->max_items);
        return FALSE;
    }
    return TRUE;
}

gboolean
vmb_config_set(VmbConfig *c, const char *name, const char *raw, GError **error)
{
    const VmbKeyInfo *key = vmb_config_find_key(name);
    if (!key) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY,
                    "unknown key '%s' (see vmbalanced.conf(5) or `vmbalancectl get`)", name);
        return FALSE;
    }
    g_autofree char *value = g_strstrip(g_strdup(raw ? raw : ""));
    if (!check_bounds(key, value, error))
        return FALSE;
    gpointer field = (char *) c + key->offset;
    gboolean ok = FALSE;

    switch (key->type) {
    case VMB_KEY_BOOL: {
        gboolean b;
        if ((ok = parse_bool(value, &b)))
            *(gboolean *) field = b;
        break;
    }
    case VMB_KEY_UINT: {
        guint u;
        if ((ok = parse_uint(value, key->min, key->max, &u)))
            *(guint *) field = u;
        break;
    }
    case VMB_KEY_DOUBLE: {
        double d;
        if ((ok = vmb_config_parse_double(value, key->min, key->max, &d)))
            *(double *) field = d;
        break;
    }
    case VMB_KEY_STRING:
        if ((ok = value[0] != '\0' && g_utf8_validate(value, -1, NULL))) {
            g_free(*(char **) field);
            *(char **) field = g_strdup(value);
        }
        break;
    case VMB_KEY_CPUSET: {
        VmbCpuSet set;
        gboolean all;
        if ((ok = vmb_cpuset_parse(value, &set, &all, NULL))) {
            c->cpu_cpus = set;
            c->cpu_cpus_all = all;
        }
        break;
    }
    case VMB_KEY_CPULIST: {
        VmbCpuSet set;
        gboolean all = FALSE;
        vmb_cpuset_clear(&set);
        if ((ok = value[0] == '\0' || (vmb_cpuset_parse(value, &set, &all, NULL) && !all)))
            *(VmbCpuSet *) field = set;
        break;
    }
    case VMB_KEY_CHOICE:
        if ((ok = g_strv_contains(key->choices, value))) {
            g_free(*(char **) field);
            *(char **) field = g_strdup(value);
        }
        break;
    case VMB_KEY_PATH:
        if ((ok = parse_metrics_path(value))) {
            g_free(*(char **) field);
            *(char **) field = g_strdup(value);
        }
        break;
    case VMB_KEY_LIST: {
        g_auto(GStrv) parts = g_strsplit(value, ",", -1);
        g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
        ok = g_utf8_validate(value, -1, NULL);
        for (guint i = 0; ok && parts[i]; i++) {
            char *item = g_strstrip(parts[i]);
            if (*item)
                g_ptr_array_add(items, g_strdup(item));
        }
        if (ok) {
            g_ptr_array_add(items, NULL);
            g_strfreev(*(GStrv *) field);
            *(GStrv *) field = (GStrv) g_ptr_array_steal(items, NULL);
        }
        break;
    }
    }
    if (!ok) {
        g_autofree char *range = vmb_config_describe_range(key);
        g_autofree char *shown = vmb_textfile_escape(value);
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key '%s': invalid value '%s', expected %s", key->name, shown, range);
    }
    return ok;
}

char *
vmb_config_get(const VmbConfig *c, const char *name, GError **error)
{
    const VmbKeyInfo *key = vmb_config_find_key(name);
    if (!key) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_UNKNOWN_KEY, "unknown key '%s'",
                    name);
        return NULL;
    }
    gconstpointer field = (const char *) c + key->offset;
    switch (key->type) {
    case VMB_KEY_BOOL:
        return g_strdup(*(const gboolean *) field ? "true" : "false");
    case VMB_KEY_UINT: {
        guint v = *(const guint *) field;
        if (v == 0 && key->zero_is_unset)
            v = c->interval;
        return g_strdup_printf("%u", v);
    }
    case VMB_KEY_DOUBLE:
        return vmb_config_format_number(*(const double *) field);
    case VMB_KEY_STRING:
    case VMB_KEY_PATH:
    case VMB_KEY_CHOICE:
        return g_strdup(*(char *const *) field);
    case VMB_KEY_CPUSET:
        return c->cpu_cpus_all ? g_strdup("all") : vmb_cpuset_format(&c->cpu_cpus);
    case VMB_KEY_CPULIST:
        return vmb_cpuset_format((const VmbCpuSet *) field);
    case VMB_KEY_LIST:
        return g_strjoinv(",", *(GStrv const *) field);
    }
    return NULL;
}
