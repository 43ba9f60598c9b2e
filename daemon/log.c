/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static gboolean use_journal;
static gboolean verbose_mode;
static gboolean debug_all;
static GHashTable *once_keys; /* key -> NULL; present while the condition lasts */
static gboolean stderr_gone;  /* its reader went away (EPIPE): stop writing, keep running */

static const char *
level_name(GLogLevelFlags level)
{
    if (level & G_LOG_LEVEL_ERROR)
        return "error";
    if (level & G_LOG_LEVEL_CRITICAL)
        return "critical";
    if (level & G_LOG_LEVEL_WARNING)
        return "warning";
    if (level & G_LOG_LEVEL_MESSAGE)
        return "notice";
    if (level & G_LOG_LEVEL_INFO)
        return "info";
    return "debug";
}

static GLogWriterOutput writer_emit(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                    gpointer user_data);

static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    if ((level & G_LOG_LEVEL_DEBUG) && !verbose_mode)
        return G_LOG_WRITER_HANDLED;
    /* libvirt-glib logs every event-loop handle and timer change at debug level: keep
     * --verbose about our own decisions unless VMB_DEBUG_ALL is set. */
    if ((level & G_LOG_LEVEL_DEBUG) && !debug_all) {
        for (gsize i = 0; i < n_fields; i++) {
            if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
                return g_strcmp0(fields[i].value, "vmbalanced") == 0
                           ? writer_emit(level, fields, n_fields, user_data)
                           : G_LOG_WRITER_HANDLED;
        }
        return G_LOG_WRITER_HANDLED;
    }
    return writer_emit(level, fields, n_fields, user_data);
}

static GLogWriterOutput
writer_emit(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{

    if (use_journal &&
        g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;

    const char *message = NULL;
    for (gsize i = 0; i < n_fields; i++) {
        if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
            message = fields[i].value;
    }
    if (stderr_gone)
        return G_LOG_WRITER_HANDLED;
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
    errno = 0;
    int n = fprintf(stderr, "%s %s: %s\n", stamp, level_name(level), message ? message : "");
    /* SIGPIPE is ignored (main.c): a closed pipe shows as EPIPE. Nobody reads any more;
     * retrying every message would only spin, so stderr is given up for good. */
    if ((n < 0 || fflush(stderr) != 0) && errno == EPIPE) {
        stderr_gone = TRUE;
        clearerr(stderr);
    }
    return G_LOG_WRITER_HANDLED;
}

void
vmb_log_init(gboolean verbose)
{
    verbose_mode = verbose;
    debug_all = g_getenv("VMB_DEBUG_ALL") != NULL;
    use_journal = g_log_writer_is_journald(fileno(stderr));
    g_log_set_writer_func(writer, NULL, NULL);
}

gboolean
vmb_log_is_verbose(void)
{
    return verbose_mode;
}

void
vmb_log_fields(GLogLevelFlags level, const char *message_id, const char *const *fields,
               const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *message = g_strdup_vprintf(format, ap);
    va_end(ap);

    g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(GLogField));
    GLogField f;
    f = (GLogField){"MESSAGE", message, -1};
    g_array_append_val(out, f);
    f = (GLogField){"GLIB_DOMAIN", "vmbalanced", -1};
    g_array_append_val(out, f);
    g_autofree char *priority = g_strdup_printf("%d", level & G_LOG_LEVEL_WARNING   ? 4
                                                      : level & G_LOG_LEVEL_MESSAGE ? 5
                                                      : level & G_LOG_LEVEL_INFO    ? 6
                                                      : level & G_LOG_LEVEL_DEBUG   ? 7
                                                                                    : 3);
    f = (GLogField){"PRIORITY", priority, -1};
    g_array_append_val(out, f);
    if (message_id) {
        f = (GLogField){"MESSAGE_ID", message_id, -1};
        g_array_append_val(out, f);
    }
    for (gsize i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
        f = (GLogField){fields[i], fields[i + 1], -1};
        g_array_append_val(out, f);
    }
    g_log_structured_array(level, (const GLogField *) out->data, out->len);
}

gboolean
vmb_log_once(const char *key, GLogLevelFlags level, const char *format, ...)
{
    if (!once_keys)
        once_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gboolean first = !g_hash_table_contains(once_keys, key);
    if (first)
        g_hash_table_add(once_keys, g_strdup(key));

    va_list ap;
    va_start(ap, format);
    g_autofree char *message = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_log_structured("vmbalanced", first ? level : G_LOG_LEVEL_DEBUG, "MESSAGE", "%s", message);
    return first;
}

gboolean
vmb_log_once_clear(const char *key)
{
    return once_keys && g_hash_table_remove(once_keys, key);
}

void
vmb_log_once_reset_all(void)
{
    if (once_keys)
        g_hash_table_remove_all(once_keys);
}
