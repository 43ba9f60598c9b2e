/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging: journal with structured fields when stderr is the journal, else plain lines. */
#pragma once

#include <glib.h>

/* MESSAGE_ID per kind of record, so `journalctl MESSAGE_ID=...` finds them. */
#define VMB_MSGID_PIN     "4f3b1d1c9a8e4a55b1e2f0c3d7a6b901"
#define VMB_MSGID_MEMORY  "8c2d6e4f1a3b4c5d9e0f1a2b3c4d5e02"
#define VMB_MSGID_CONNECT "1a7e5c3b9d2f4e6a8b0c1d2e3f4a5b03"
#define VMB_MSGID_CONFIG  "5b9d1f3a7c2e4b6d8f0a1c3e5a7b9d04" /* KEY=, VALUE= */
/* A balance or spread move judged two cycles later: OUTCOME=helped|failed, PREDICTED_GAIN=,
 * MEASURED_GAIN=, WAIT_BEFORE=, WAIT_AFTER=, FROM_LOAD_BEFORE=, FROM_LOAD_AFTER=,
 * TO_LOAD_BEFORE=, TO_LOAD_AFTER=, BLOCKED_CYCLES= (cpu-task.c, move-check.h). */
#define VMB_MSGID_MOVE_OUTCOME "d2a64f0e7b1c4e39a5f8c06b3e9d7a05"
/* A domain's memory moved to another node (REASON=numa-home, cpu-numa-task.c): FROM_NODE=,
 * TO_NODE= (the host's node numbers), NEED_CORES=, ROOM_FROM=, ROOM_TO=, DRY_RUN=. */
#define VMB_MSGID_NUMA_HOME "6e1f0a9c3b5d4f72a8c4e2d0b9a7f306"

/* Sets up the GLib log writer: journald when JOURNAL_STREAM matches stderr, else
 * "LEVEL: message" lines on stderr. @verbose shows debug records. */
void vmb_log_init(gboolean verbose);
gboolean vmb_log_is_verbose(void);

/* Emits one record with extra journal fields. @fields is a NULL-terminated list of
 * KEY, value pairs (values already formatted). */
void vmb_log_fields(GLogLevelFlags level, const char *message_id, const char *const *fields,
                    const char *format, ...) G_GNUC_PRINTF(4, 5);

/* Logs a recurring condition only when its key changes state: first report per key is
 * emitted at @level, repeats are debug-only. vmb_log_once_clear() re-arms the key. */
gboolean vmb_log_once(const char *key, GLogLevelFlags level, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
gboolean vmb_log_once_clear(const char *key);
void vmb_log_once_reset_all(void);
