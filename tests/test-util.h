/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers any C test may link (tests/meson.build: test_util). */
#pragma once

#include <glib.h>

/* Removes @path and everything under it (a test's temporary directory); errors are ignored. */
void vmb_test_remove_tree(const char *path);

/* Warnings the code under test logs, kept to be checked instead of aborting the test: while
 * this is not NULL, vmb_test_capture_warnings() adds each warning's message to it. */
extern GPtrArray *vmb_test_warnings;
/* A GLogWriterFunc for g_log_set_writer_func(): warnings into vmb_test_warnings while it is
 * set, everything else to GLib's default writer. */
GLogWriterOutput vmb_test_capture_warnings(GLogLevelFlags level, const GLogField *fields, gsize n,
                                           gpointer data);
