/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers any C test may link (tests/meson.build: test_util). */
#pragma once

#include <glib.h>

/* Removes @path and everything under it (a test's temporary directory); errors are ignored. */
void vmb_test_remove_tree(const char *path);
