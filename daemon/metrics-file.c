/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "vmb-build-config.h"

static gboolean
fail_errno(GError **error, const char *what, const char *path)
{
    int saved = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot %s %s: %s", what, path,
                g_strerror(saved));
    return FALSE;
}

static gboolean
write_all(int fd, const char *text, gsize len)
{
    while (len) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return FALSE;
        text += n;
        len -= (gsize) n;
    }
    return TRUE;
}

gboolean
vmb_metrics_file_write(const char *path, const char *text, gsize length, GError **error)
{
    g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        g_autofree char *dir = g_path_get_dirname(path);
        if (errno == ENOENT) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                        "cannot write %s: directory %s does not exist", path, dir);
            return FALSE;
        }
        return fail_errno(error, "create a file in", dir);
    }
    /* The unit's UMask=0077 would leave it unreadable to node_exporter. */
    gboolean ok = fchmod(fd, 0644) == 0 && write_all(fd, text, length);
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = FALSE;
        saved = errno;
    }
    errno = saved;
    if (!ok || rename(tmp, path) != 0) {
        fail_errno(error, ok ? "replace" : "write", ok ? path : tmp);
        g_unlink(tmp);
        return FALSE;
    }
    return TRUE;
}

void
vmb_metrics_file_update(const char *path, const VmbStatus *status)
{
    if (!path || !*path)
        return;
    gsize length;
    g_autofree char *text = vmb_metrics_render(status, PACKAGE_VERSION, &length);
    g_autoptr(GError) error = NULL;
    if (!vmb_metrics_file_write(path, text, length, &error)) {
        vmb_log_once("metrics-file", G_LOG_LEVEL_WARNING,
                     "daemon.metrics_file: %s; metrics are not published until it works "
                     "(tried again after each cycle)",
                     error->message);
        return;
    }
    if (vmb_log_once_clear("metrics-file"))
        g_message("daemon.metrics_file: writing %s again", path);
}
