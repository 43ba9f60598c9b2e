/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of tunables (type, range, default field, help) and how a key's range reads. */
#include "config.h"

#include "config-priv.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

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
     "most pin changes per cycle for rebalancing; 0 = scale with the host: max(8, pCPUs / 2)"},
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
    {"cpu.numa_move_interval", VMB_KEY_UINT, 0, 86400, OFF(cpu_numa_move_interval), FALSE,
     "seconds between two moves of a split domain's memory to a node with room for it whole "
     "(0 = never)"},
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

char *
vmb_config_format_number(double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (v == floor(v) && fabs(v) < 1e15)
        return g_strdup_printf("%.0f", v);
    return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%g", v));
}

char *
vmb_config_describe_range(const VmbKeyInfo *key)
{
    g_autofree char *lo = vmb_config_format_number(key->min);
    g_autofree char *hi = vmb_config_format_number(key->max);
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
