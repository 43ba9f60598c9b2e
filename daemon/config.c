/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "config-priv.h"

#include <fnmatch.h>
#include <string.h>

G_DEFINE_QUARK(vmb_config_error, vmb_config_error)

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
    c->cpu_numa_move_interval = 600;
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
        if (!colon || colon == item || !vmb_config_parse_double(colon + 1, 0.1, 100, &w)) {
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
        if (!colon || !vmb_config_parse_double(colon + 1, 0.1, 100, &w))
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
