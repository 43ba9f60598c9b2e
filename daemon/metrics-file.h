/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shell around metrics.c: [daemon] metrics_file, replaced whole after each cycle. */
#pragma once

#include <glib.h>

#include "status.h"

/* Replaces @path with @text so that a reader sees the old file or the new one, never part
 * of one: a temporary file beside it (PATH.XXXXXX, which node_exporter does not read),
 * mode 0644 whatever the umask (node_exporter runs as another user), renamed over @path.
 * No fsync: a file rewritten every few seconds need not survive a crash. */
gboolean vmb_metrics_file_write(const char *path, const char *text, gsize length, GError **error);

/* Renders @status into @path ("" or NULL: nothing). A failure (the directory does not exist,
 * no permission) is logged once until a write works again; the next cycle retries. */
void vmb_metrics_file_update(const char *path, const VmbStatus *status);
