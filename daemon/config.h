/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configuration: the [daemon], [cpu] and [memory] keys, their validation and defaults.
 * Keys are addressed as "section.key" ("cpu.interval"); "interval" means "daemon.interval".
 * One INI syntax, one reader (vmb_config_read) for the configuration file and for the
 * runtime overrides drop-in read after it, whose keys win (vmb_config_overlay, overrides.h). */
#pragma once

#include <glib.h>

#include "cpuset.h"

#define VMB_EX_CONFIG 78 /* sysexits.h EX_CONFIG */

#define VMB_CONFIG_ERROR (vmb_config_error_quark())
GQuark vmb_config_error_quark(void);
typedef enum {
    VMB_CONFIG_ERROR_IO,
    VMB_CONFIG_ERROR_SYNTAX,
    VMB_CONFIG_ERROR_UNKNOWN_KEY,
    VMB_CONFIG_ERROR_BAD_VALUE,
} VmbConfigError;

typedef struct {
    /* [daemon] */
    char *uri;
    guint interval;     /* seconds, default for both tasks */
    GStrv exclude;      /* glob patterns on domain names or UUIDs */
    char *metrics_file; /* Prometheus textfile written after each cycle; "" = none */
    /* [cpu] */
    gboolean cpu_enabled;
    guint cpu_interval; /* 0 = use daemon.interval */
    VmbCpuSet cpu_cpus;
    gboolean cpu_cpus_all;
    double cpu_hysteresis; /* percentage points of one pCPU */
    guint cpu_max_moves;
    double cpu_smoothing; /* EWMA weight of the newest sample */
    guint cpu_cooldown;   /* cycles a moved vCPU stays put */
    /* "override" or "respect": pins vmbalanced did not make */
    char *cpu_foreign_pins;
    VmbCpuSet cpu_housekeeping; /* emulator threads and IOThreads go here; empty = off */
    /* cpu, core, cache or node: what one vCPU is pinned to (cpu-pinto.h) */
    char *cpu_pin_to;
    /* seconds between two moves of a split domain's memory to another node; 0 = never */
    guint cpu_numa_move_interval;
    /* [memory] */
    gboolean mem_enabled;
    guint mem_interval;        /* 0 = use daemon.interval */
    double mem_low_watermark;  /* percent of actual */
    double mem_high_watermark; /* percent of actual */
    guint mem_min_free_mib;
    guint mem_floor_mib;
    guint mem_max_shrink_mib;
    guint mem_host_reserve_mib;
    double mem_host_reserve_percent;
    guint mem_stats_period;
    guint mem_stale_periods;
    guint mem_grow_horizon; /* cycles a grow should last at the current consumption rate */
    GStrv mem_weights;      /* "PATTERN:WEIGHT" items: share under host pressure */

    /* paging that makes a guest starving (0 = not judged) */
    guint mem_swap_in_kib_s;  /* swap-in, KiB/s */
    guint mem_major_faults_s; /* major faults a second */
    /* "override" or "respect": balloon targets vmbalanced did not set */
    char *mem_foreign_targets;
} VmbConfig;

typedef enum {
    VMB_KEY_BOOL,
    VMB_KEY_UINT,
    VMB_KEY_DOUBLE,
    VMB_KEY_STRING,
    VMB_KEY_CPUSET,
    VMB_KEY_LIST,
    VMB_KEY_PATH, /* an absolute path of a *.prom file, or "" for none */
    /* one word of VmbKeyInfo.choices, stored as a string */
    VMB_KEY_CHOICE,
    /* a CPU list (no "all"), "" for none: a VmbCpuSet field */
    VMB_KEY_CPULIST,
} VmbKeyType;

typedef struct {
    const char *name; /* "section.key" */
    VmbKeyType type;
    double min, max; /* inclusive range for numbers */
    gsize offset;
    gboolean zero_is_unset; /* UINT only: 0 means "inherit daemon.interval" */
    const char *help;
    /* Bounds checked by vmb_config_set, so the same in the file, the drop-in and over D-Bus:
     * characters of the trimmed value (0: VMB_CONFIG_MAX_VALUE) and, for a LIST, items. */
    guint max_len;
    guint max_items;
    const char *const *choices; /* CHOICE only: the words allowed, NULL-terminated */
} VmbKeyInfo;

/* The longest value of a key without its own max_len: numbers and booleans are short. */
#define VMB_CONFIG_MAX_VALUE 64

const VmbKeyInfo *vmb_config_keys(guint *n);
/* Looks a key up by "section.key"; a bare "interval"/"uri"/"exclude" is [daemon]. */
const VmbKeyInfo *vmb_config_find_key(const char *name);
/* Human description of the allowed values, for error messages: "an integer in 1..3600". */
char *vmb_config_describe_range(const VmbKeyInfo *key);

VmbConfig *vmb_config_new_defaults(void);
VmbConfig *vmb_config_copy(const VmbConfig *c);
void vmb_config_free(VmbConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbConfig, vmb_config_free)

/* One "key = value" of a configuration file, and the line it was read from (0: unknown). */
typedef struct {
    const VmbKeyInfo *key;
    char *value;
    guint line;
} VmbConfigSetting;

VmbConfigSetting *vmb_config_setting_new(const VmbKeyInfo *key, const char *value, guint line);
void vmb_config_setting_free(VmbConfigSetting *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbConfigSetting, vmb_config_setting_free)

/* Reads the INI file @path into VmbConfigSetting*s, in file order. Syntax, sections, key
 * names and each value on its own are checked (relations between keys are left to
 * vmb_config_validate); an error names the file, the line, the key and the allowed
 * values. A missing file gives no settings if @missing_ok, else an error. */
GPtrArray *vmb_config_read(const char *path, gboolean missing_ok, GError **error);
/* vmb_config_read on @contents, already read from @path (and checked by read_text). */
GPtrArray *vmb_config_parse(const char *path, const char *contents, gsize length, GError **error);
/* Loads @path over the defaults: vmb_config_read, then vmb_config_validate. */
VmbConfig *vmb_config_load(const char *path, gboolean missing_ok, GError **error);
/* A drop-in's @settings over a copy of @base. They are tried until no more fits, so that
 * related keys (low < high watermark) may come in any order; one that does not fit is
 * left out and, if @skipped is non-NULL, its GError stored under its key's name. */
VmbConfig *vmb_config_overlay(const VmbConfig *base, GPtrArray *settings, GHashTable *skipped);
/* The line "key = value" that vmb_config_read reads back as @value in @key's section:
 * quoted when needed, an error when it cannot be written (too long, control characters). */
char *vmb_config_format_setting(const VmbKeyInfo *key, const char *value, GError **error);
/* Parses and validates @value for @key into @c; @c is unchanged on failure. */
gboolean vmb_config_set(VmbConfig *c, const char *key, const char *value, GError **error);
/* The value of @key formatted as it would be written in the file. */
char *vmb_config_get(const VmbConfig *c, const char *key, GError **error);
/* Checks relations between keys (watermarks order). */
gboolean vmb_config_validate(const VmbConfig *c, GError **error);

guint vmb_config_cpu_interval(const VmbConfig *c);
guint vmb_config_mem_interval(const VmbConfig *c);
gboolean vmb_config_is_excluded(const VmbConfig *c, const char *name, const char *uuid);
/* cpu.foreign_pins = respect. */
gboolean vmb_config_respects_foreign_pins(const VmbConfig *c);
/* memory.foreign_targets = respect. */
gboolean vmb_config_respects_foreign_targets(const VmbConfig *c);
/* memory.weights: the weight of the first item whose pattern matches, else 1. */
double vmb_config_mem_weight(const VmbConfig *c, const char *name, const char *uuid);
/* The same, FALSE (and @weight untouched) when no item matches. */
gboolean vmb_config_mem_weight_find(const VmbConfig *c, const char *name, const char *uuid,
                                    double *weight);
