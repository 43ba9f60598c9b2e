/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "textfile.h"

#include <errno.h>
#include <fnmatch.h>
#include <iniparser.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(vmb_config_error, vmb_config_error)

#define OFF(field) offsetof(VmbConfig, field)

static const char *const foreign_choices[] = {"override", "respect", NULL};
static const char *const pin_to_choices[] = {"cpu", "core", "cache", "node", NULL};

static const VmbKeyInfo keys[] = {
    {"daemon.uri", VMB_KEY_STRING, 0, 0, OFF(uri), FALSE,
     "libvirt connection URI (fake:///PATH for the simulated host)", 1000, 0},
    {"daemon.interval", VMB_KEY_UINT, 1, 3600, OFF(interval), FALSE,
     "seconds between cycles, for tasks without their own interval"},
    {"daemon.exclude", VMB_KEY_LIST, 0, 0, OFF(exclude), FALSE,
     "comma-separated domain names or UUIDs (glob patterns) never touched", 1000, 128},
    {"daemon.metrics_file", VMB_KEY_PATH, 0, 0, OFF(metrics_file), FALSE,
     "Prometheus metrics written after each cycle for node_exporter's textfile collector "
     "(empty: none)",
     1000, 0},
    {"cpu.enabled", VMB_KEY_BOOL, 0, 1, OFF(cpu_enabled), FALSE, "run the vCPU balancer"},
    {"cpu.interval", VMB_KEY_UINT, 1, 3600, OFF(cpu_interval), TRUE,
     "seconds between vCPU balancer cycles (default: daemon.interval)"},
    {"cpu.cpus", VMB_KEY_CPUSET, 0, 0, OFF(cpu_cpus), FALSE,
     "host CPUs vCPUs may be pinned to: all or a list such as 0-3,6", 1000, 0},
    {"cpu.hysteresis", VMB_KEY_DOUBLE, 0.5, 50, OFF(cpu_hysteresis), FALSE,
     "minimum gain, in percent of one pCPU, for a move"},
    {"cpu.max_moves", VMB_KEY_UINT, 0, 1000, OFF(cpu_max_moves), FALSE,
     "most pin changes per cycle for rebalancing; 0 = scale with the host: max(8, pCPUs / 4)"},
    {"cpu.smoothing", VMB_KEY_DOUBLE, 0.05, 1, OFF(cpu_smoothing), FALSE,
     "EWMA weight of the newest load sample (1 = no smoothing)"},
    {"cpu.cooldown", VMB_KEY_UINT, 0, 100, OFF(cpu_cooldown), FALSE,
     "cycles a moved vCPU is left where it is"},
    {"cpu.foreign_pins", VMB_KEY_CHOICE, 0, 0, OFF(cpu_foreign_pins), FALSE,
     "pins vmbalanced did not make: override (balance them) or respect (keep them)", 16, 0,
     foreign_choices},
    {"cpu.housekeeping_cpus", VMB_KEY_CPULIST, 0, 0, OFF(cpu_housekeeping), FALSE,
     "host CPUs for QEMU emulator threads and IOThreads (empty: not pinned)", 1000, 0},
    {"cpu.pin_to", VMB_KEY_CHOICE, 0, 0, OFF(cpu_pin_to), FALSE,
     "what one vCPU is pinned to: cpu (one pCPU), or all usable pCPUs of its core, cache "
     "group or node",
     16, 0, pin_to_choices},
    {"memory.enabled", VMB_KEY_BOOL, 0, 1, OFF(mem_enabled), FALSE, "run the memory coordinator"},
    {"memory.interval", VMB_KEY_UINT, 1, 3600, OFF(mem_interval), TRUE,
     "seconds between memory coordinator cycles (default: daemon.interval)"},
    {"memory.low_watermark", VMB_KEY_DOUBLE, 1, 90, OFF(mem_low_watermark), FALSE,
     "grow a guest whose usable memory falls below this percent of its actual"},
    {"memory.high_watermark", VMB_KEY_DOUBLE, 2, 95, OFF(mem_high_watermark), FALSE,
     "shrink a guest whose usable memory is above this percent of its actual"},
    {"memory.min_free_mib", VMB_KEY_UINT, 0, 1048576, OFF(mem_min_free_mib), FALSE,
     "usable memory every guest keeps at least, in MiB (band minimum)"},
    {"memory.floor_mib", VMB_KEY_UINT, 16, 16777216, OFF(mem_floor_mib), FALSE,
     "no guest is shrunk below this, in MiB"},
    {"memory.max_shrink_mib", VMB_KEY_UINT, 1, 1048576, OFF(mem_max_shrink_mib), FALSE,
     "most memory taken from one guest per cycle, in MiB"},
    {"memory.host_reserve_mib", VMB_KEY_UINT, 0, 16777216, OFF(mem_host_reserve_mib), FALSE,
     "host memory (MemAvailable) never given to guests, in MiB"},
    {"memory.host_reserve_percent", VMB_KEY_DOUBLE, 0, 90, OFF(mem_host_reserve_percent), FALSE,
     "host memory never given to guests, in percent of host RAM (the larger reserve wins)"},
    {"memory.stats_period", VMB_KEY_UINT, 1, 3600, OFF(mem_stats_period), FALSE,
     "seconds between guest balloon statistics updates"},
    {"memory.stale_periods", VMB_KEY_UINT, 2, 1000, OFF(mem_stale_periods), FALSE,
     "statistics older than this many stats periods are ignored"},
    {"memory.grow_horizon", VMB_KEY_UINT, 1, 100, OFF(mem_grow_horizon), FALSE,
     "cycles a grow should last at the guest's recent consumption rate"},
    {"memory.weights", VMB_KEY_LIST, 0, 0, OFF(mem_weights), FALSE,
     "comma-separated PATTERN:WEIGHT items (weight 0.1..100): shares under host pressure", 1000,
     64},
    {"memory.swap_in_threshold", VMB_KEY_UINT, 0, 1048576, OFF(mem_swap_in_kib_s), FALSE,
     "a guest swapping in faster than this, in KiB/s, is short of memory (0 = not judged)"},
    {"memory.major_fault_threshold", VMB_KEY_UINT, 0, 1000000, OFF(mem_major_faults_s), FALSE,
     "a guest with more major page faults per second is short of memory (0 = not judged)"},
    {"memory.foreign_targets", VMB_KEY_CHOICE, 0, 0, OFF(mem_foreign_targets), FALSE,
     "balloon targets vmbalanced did not set: override (size them) or respect (keep them)", 16, 0,
     foreign_choices},
};

const VmbKeyInfo *
vmb_config_keys(guint *n)
{
    *n = G_N_ELEMENTS(keys);
    return keys;
}

const VmbKeyInfo *
vmb_config_find_key(const char *name)
{
    g_autofree char *full =
        strchr(name, '.') ? g_ascii_strdown(name, -1) : g_strconcat("daemon.", name, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (g_ascii_strcasecmp(keys[i].name, full) == 0)
            return &keys[i];
    }
    return NULL;
}

static char *
format_number(double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (v == floor(v) && fabs(v) < 1e15)
        return g_strdup_printf("%.0f", v);
    return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%g", v));
}

char *
vmb_config_describe_range(const VmbKeyInfo *key)
{
    g_autofree char *lo = format_number(key->min);
    g_autofree char *hi = format_number(key->max);
    switch (key->type) {
    case VMB_KEY_BOOL:
        return g_strdup("a boolean (true/false, yes/no, on/off, 1/0)");
    case VMB_KEY_UINT:
        return g_strdup_printf("an integer in %s..%s", lo, hi);
    case VMB_KEY_DOUBLE:
        return g_strdup_printf("a number in %s..%s", lo, hi);
    case VMB_KEY_STRING:
        return g_strdup_printf("a non-empty string of at most %u characters", key->max_len);
    case VMB_KEY_CPUSET:
        return g_strdup_printf("\"all\" or a CPU list such as 0-3,6 (CPUs 0..%d)",
                               VMB_MAX_CPUS - 1);
    case VMB_KEY_CPULIST:
        return g_strdup_printf("empty or a CPU list such as 0-1 (CPUs 0..%d)", VMB_MAX_CPUS - 1);
    case VMB_KEY_LIST:
        return g_strdup_printf("a comma-separated list of names, UUIDs or glob patterns (at "
                               "most %u items, %u characters)",
                               key->max_items, key->max_len);
    case VMB_KEY_CHOICE: {
        g_autofree char *first = g_strjoinv(", ", (char **) key->choices);
        /* "a, b or c" */
        char *last = g_strrstr(first, ", ");
        if (!last)
            return g_steal_pointer(&first);
        *last = '\0';
        return g_strdup_printf("%s or %s", first, last + 2);
    }
    case VMB_KEY_PATH:
        return g_strdup_printf(
            "an absolute path of a file whose name ends in .prom (node_exporter's "
            "textfile collector reads only those) of at most %u characters, "
            "or empty for none",
            key->max_len);
    }
    return g_strdup("?");
}

VmbConfig *
vmb_config_new_defaults(void)
{
    VmbConfig *c = g_new0(VmbConfig, 1);
    c->uri = g_strdup("qemu:///system");
    c->interval = 5;
    c->exclude = g_new0(char *, 1);
    c->metrics_file = g_strdup("");
    c->cpu_enabled = TRUE;
    c->cpu_foreign_pins = g_strdup("override");
    c->cpu_pin_to = g_strdup("cpu");
    c->cpu_cpus_all = TRUE;
    c->cpu_hysteresis = 3.0;
    c->cpu_max_moves = 0;
    c->cpu_smoothing = 0.5;
    c->cpu_cooldown = 2;
    c->mem_enabled = TRUE;
    c->mem_low_watermark = 15;
    c->mem_high_watermark = 40;
    c->mem_min_free_mib = 64;
    c->mem_floor_mib = 128;
    c->mem_max_shrink_mib = 64;
    c->mem_host_reserve_mib = 512;
    c->mem_host_reserve_percent = 5;
    c->mem_stats_period = 1;
    c->mem_stale_periods = 5;
    c->mem_grow_horizon = 3;
    c->mem_swap_in_kib_s = 256;
    c->mem_major_faults_s = 1000;
    c->mem_weights = g_new0(char *, 1);
    c->mem_foreign_targets = g_strdup("override");
    return c;
}

VmbConfig *
vmb_config_copy(const VmbConfig *c)
{
    VmbConfig *copy = g_memdup2(c, sizeof(*c));
    copy->uri = g_strdup(c->uri);
    copy->cpu_foreign_pins = g_strdup(c->cpu_foreign_pins);
    copy->cpu_pin_to = g_strdup(c->cpu_pin_to);
    copy->exclude = g_strdupv(c->exclude);
    copy->metrics_file = g_strdup(c->metrics_file);
    copy->mem_weights = g_strdupv(c->mem_weights);
    copy->mem_foreign_targets = g_strdup(c->mem_foreign_targets);
    return copy;
}

void
vmb_config_free(VmbConfig *c)
{
    if (!c)
        return;
    g_free(c->uri);
    g_free(c->cpu_foreign_pins);
    g_free(c->cpu_pin_to);
    g_strfreev(c->exclude);
    g_free(c->metrics_file);
    g_strfreev(c->mem_weights);
    g_free(c->mem_foreign_targets);
    g_free(c);
}

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

static gboolean
parse_double(const char *s, double min, double max, double *out)
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
        if ((ok = parse_double(value, key->min, key->max, &d)))
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
        return format_number(*(const double *) field);
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

gboolean
vmb_config_validate(const VmbConfig *c, GError **error)
{
    if (c->mem_high_watermark <= c->mem_low_watermark) {
        g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                    "key 'memory.high_watermark': value %g must be greater than "
                    "memory.low_watermark (%g)",
                    c->mem_high_watermark, c->mem_low_watermark);
        return FALSE;
    }
    for (guint i = 0; c->mem_weights && c->mem_weights[i]; i++) {
        const char *item = c->mem_weights[i];
        const char *colon = strrchr(item, ':');
        double w;
        if (!colon || colon == item || !parse_double(colon + 1, 0.1, 100, &w)) {
            g_set_error(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE,
                        "key 'memory.weights': invalid item '%s', expected PATTERN:WEIGHT "
                        "with a weight in 0.1..100",
                        item);
            return FALSE;
        }
    }
    return TRUE;
}

guint
vmb_config_cpu_interval(const VmbConfig *c)
{
    return c->cpu_interval ? c->cpu_interval : c->interval;
}

guint
vmb_config_mem_interval(const VmbConfig *c)
{
    return c->mem_interval ? c->mem_interval : c->interval;
}

gboolean
vmb_config_is_excluded(const VmbConfig *c, const char *name, const char *uuid)
{
    for (guint i = 0; c->exclude && c->exclude[i]; i++) {
        if ((name && fnmatch(c->exclude[i], name, 0) == 0) ||
            (uuid && fnmatch(c->exclude[i], uuid, FNM_CASEFOLD) == 0))
            return TRUE;
    }
    return FALSE;
}

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

double
vmb_config_mem_weight(const VmbConfig *c, const char *name, const char *uuid)
{
    double w = 1.0;
    vmb_config_mem_weight_find(c, name, uuid, &w);
    return w;
}

gboolean
vmb_config_mem_weight_find(const VmbConfig *c, const char *name, const char *uuid, double *weight)
{
    for (guint i = 0; c->mem_weights && c->mem_weights[i]; i++) {
        const char *colon = strrchr(c->mem_weights[i], ':');
        double w;
        if (!colon || !parse_double(colon + 1, 0.1, 100, &w))
            continue; /* rejected by vmb_config_validate */
        g_autofree char *pattern = g_strndup(c->mem_weights[i], colon - c->mem_weights[i]);
        if ((name && fnmatch(pattern, name, 0) == 0) ||
            (uuid && fnmatch(pattern, uuid, FNM_CASEFOLD) == 0)) {
            *weight = w;
            return TRUE;
        }
    }
    return FALSE;
}

gboolean
vmb_config_respects_foreign_pins(const VmbConfig *c)
{
    return g_strcmp0(c->cpu_foreign_pins, "respect") == 0;
}

gboolean
vmb_config_respects_foreign_targets(const VmbConfig *c)
{
    return g_strcmp0(c->mem_foreign_targets, "respect") == 0;
}
