/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics-file.h"

#include "log.h"
#include "metrics.h"
#include "textfile.h"
#include "vmb-build-config.h"

gboolean
vmb_metrics_file_write(const char *path, const char *text, gsize length, GError **error)
{
    /* Readable whatever the umask: the unit's UMask=0077 would hide it from node_exporter. */
    return vmb_textfile_replace(path, text, length, VMB_REPLACE_READABLE, error);
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
