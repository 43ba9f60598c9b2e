/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runtime overrides: tunables changed over D-Bus, kept in STATE_DIR/overrides.conf as
 * "section.key = value" lines and applied on top of the configuration file at start and
 * after every reload. The file is replaced atomically (temporary file, fsync, rename), so
 * a crash leaves either the old or the new file. Bad entries are logged and dropped. */
#pragma once

#include <glib.h>

#include "config.h"

#define VMB_OVERRIDES_FILE "overrides.conf"

typedef struct _VmbOverrides VmbOverrides;

VmbOverrides *vmb_overrides_new(const char *state_dir);
void vmb_overrides_free(VmbOverrides *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbOverrides, vmb_overrides_free)

/* Reads the file (a missing one means no overrides). Never fails: unreadable files,
 * malformed lines, unknown keys and invalid values are logged and ignored. */
void vmb_overrides_load(VmbOverrides *o);
const char *vmb_overrides_path(const VmbOverrides *o);

/* Takes @loaded, the configuration as read from the file, keeps a copy as the base and
 * returns base + overrides (an override that no longer fits is logged and skipped). */
VmbConfig *vmb_overrides_rebase(VmbOverrides *o, VmbConfig *loaded);

/* Validates @value for @key on top of the current base and overrides, saves the file and
 * returns the configuration to apply. On error neither memory nor file changed. */
VmbConfig *vmb_overrides_set(VmbOverrides *o, const char *key, const char *value, GError **error);
/* Drops the override of @key (none is fine), saves, returns the configuration to apply. */
VmbConfig *vmb_overrides_reset(VmbOverrides *o, const char *key, GError **error);

/* The override of @key as written in the file, or NULL. */
const char *vmb_overrides_lookup(const VmbOverrides *o, const char *key);
