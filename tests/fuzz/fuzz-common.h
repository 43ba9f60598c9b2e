/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the libFuzzer harnesses share: a quiet log writer that still aborts on a GLib
 * critical (a critical on hostile input is a finding, like a crash), a scratch directory
 * (on /dev/shm when there is one: the loaders fsync), and file helpers. Header-only: each
 * harness is one executable. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline GLogWriterOutput
fuzz_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
        for (gsize i = 0; i < n_fields; i++) {
            if (g_strcmp0(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
                fprintf(stderr, "fuzz: GLib critical: %s\n", (const char *) fields[i].value);
        }
        abort();
    }
    if (g_getenv("VMB_FUZZ_VERBOSE"))
        return g_log_writer_standard_streams(level, fields, n_fields, user_data);
    return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_init_logging(void)
{
    g_log_set_writer_func(fuzz_log_writer, NULL, NULL);
}

/* The LLVMFuzzerInitialize of a harness that needs nothing but the quiet log writer. */
#define FUZZ_DEFINE_INIT_LOGGING_ONLY()                                                            \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        fuzz_init_logging();                                                                       \
        return 0;                                                                                  \
    }

/* A parser that refused the input must say why: aborts when @error has no message. */
static inline void
fuzz_require_message(const GError *error, const char *what)
{
    if (!error || !error->message) {
        fprintf(stderr, "fuzz: %s failed without a message\n", what);
        abort();
    }
}

static char *fuzz_tmp_dir;

static inline void fuzz_clear_dir(const char *dir);

static inline void
fuzz_remove_tmp(void)
{
    fuzz_clear_dir(fuzz_tmp_dir);
    g_rmdir(fuzz_tmp_dir);
}

/* A new scratch directory, removed at exit (one per harness). */
static inline char *
fuzz_make_tmp(const char *name)
{
    g_autofree char *tmpl = g_strdup_printf("%s-XXXXXX", name);
    const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir();
    g_autofree char *path = g_build_filename(base, tmpl, NULL);
    if (!g_mkdtemp(path)) {
        fprintf(stderr, "fuzz: cannot create %s\n", path);
        abort();
    }
    fuzz_tmp_dir = g_strdup(path);
    atexit(fuzz_remove_tmp);
    return g_steal_pointer(&path);
}

static inline void
fuzz_write(const char *path, const void *data, gsize size)
{
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(path, data, (gssize) size, &error)) {
        fprintf(stderr, "fuzz: %s\n", error->message);
        abort();
    }
}

/* Empties @dir (one level deep and its subdirectories), leaving @dir itself. */
static inline void
fuzz_clear_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *child = g_build_filename(dir, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK)) {
            fuzz_clear_dir(child);
            g_rmdir(child);
        } else {
            g_unlink(child);
        }
    }
}

/* The input as its exact bytes with no terminator, so that a read past the end is an ASan
 * error; never NULL (malloc(0) may be). */
static inline char *
fuzz_exact_copy(const guint8 *data, size_t size)
{
    char *s = g_malloc(MAX(size, 1));
    if (size)
        memcpy(s, data, size);
    return s;
}

/* The input as a NUL-terminated string (NUL bytes inside stay). */
static inline char *
fuzz_strdup(const guint8 *data, size_t size)
{
    char *s = g_malloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Reads every key of @c back through the formatter the bus and `vmbalancectl get` use. */
#ifdef VMB_FUZZ_WITH_CONFIG
static inline void
fuzz_read_back(const VmbConfig *c)
{
    guint n;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *v = vmb_config_get(c, keys[i].name, &error);
        if (!v) {
            fprintf(stderr, "fuzz: cannot read back %s: %s\n", keys[i].name, error->message);
            abort();
        }
        /* What `set` would write to the drop-in must format or fail cleanly. */
        g_autoptr(GError) ferr = NULL;
        g_autofree char *line = vmb_config_format_setting(&keys[i], v, &ferr);
        (void) line;
    }
}
#endif
