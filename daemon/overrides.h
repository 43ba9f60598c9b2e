/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runtime overrides: tunables changed over D-Bus (`vmbalancectl set`), kept in
 * STATE_DIR/overrides.conf (/var/lib/vmbalanced). The file is a drop-in, like systemd's
 * *.conf.d/ files: the same INI syntax as vmbalanced.conf, read by the same reader
 * (vmb_config_read) after the configuration file at every start and reload, and its keys
 * win:
 *
 *     [daemon]
 *     interval = 9
 *
 * A drop-in with any error (syntax, unknown key, bad value, daemon.uri) is ignored as a
 * whole with a warning naming file, line and key: the daemon runs on the configuration file
 * alone, and the next write first keeps the refused file as overrides.conf.rejected.
 * A file in the earlier format ("section.key = value" lines, no sections) is read
 * once entry by entry, bad entries logged and dropped, and rewritten as a drop-in.
 * Writes are atomic and durable: temporary file, fsync, rename, fsync of the directory. */
#pragma once

#include <glib.h>

#include "config.h"

#define VMB_OVERRIDES_FILE "overrides.conf"

typedef struct _VmbOverrides VmbOverrides;

VmbOverrides *vmb_overrides_new(const char *state_dir);
void vmb_overrides_free(VmbOverrides *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbOverrides, vmb_overrides_free)

/* Reads the drop-in (a missing one means no overrides), converting an old-format file.
 * Never fails: an unreadable or refused file is logged and means no overrides. */
void vmb_overrides_load(VmbOverrides *o);
const char *vmb_overrides_path(const VmbOverrides *o);

/* Takes @loaded, the configuration as read from the file, keeps a copy as the base and
 * returns base + overrides (an override that no longer fits is logged and skipped). The
 * drop-in is read again first unless vmb_overrides_load() just did, so that a reload
 * sees it as it is on disk. */
VmbConfig *vmb_overrides_rebase(VmbOverrides *o, VmbConfig *loaded);

/* Validates @value for @key on top of the current base and overrides, saves the file and
 * returns the configuration to apply. On error neither memory nor file changed. */
VmbConfig *vmb_overrides_set(VmbOverrides *o, const char *key, const char *value, GError **error);
/* Drops the override of @key (none is fine), saves, returns the configuration to apply. */
VmbConfig *vmb_overrides_reset(VmbOverrides *o, const char *key, GError **error);

/* The override of @key as written in the file, or NULL. */
const char *vmb_overrides_lookup(const VmbOverrides *o, const char *key);
