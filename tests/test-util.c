/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-util.h"

#include <glib/gstdio.h>

void
vmb_test_remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            vmb_test_remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

GPtrArray *vmb_test_warnings;

GLogWriterOutput
vmb_test_capture_warnings(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
    if (!(level & G_LOG_LEVEL_WARNING) || !vmb_test_warnings)
        return g_log_writer_default(level, fields, n, data);
    for (gsize i = 0; i < n; i++) {
        if (g_str_equal(fields[i].key, "MESSAGE"))
            g_ptr_array_add(vmb_test_warnings, g_strdup(fields[i].value));
    }
    return G_LOG_WRITER_HANDLED;
}
