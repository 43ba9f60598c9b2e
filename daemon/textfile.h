/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the daemon's text files (configuration, runtime drop-in, scenarios) safely: only a
 * regular file, of bounded size, with no NUL bytes or bare carriage returns, parsed as read
 * (no second open that could meet another file). Errors name the path and, where there is
 * one, the line; text quoted in a message has its control characters escaped as \xNN. */
#pragma once

#include <glib.h>
#include <iniparser.h>

/* The configuration file and the drop-in are a few KiB; a scenario may list many domains. */
#define VMB_TEXTFILE_MAX_CONFIG   (1024 * 1024)
#define VMB_TEXTFILE_MAX_SCENARIO (16 * 1024 * 1024)

/* iniparser reads a line into a 1024-byte buffer with its newline: longer is an error. */
#define VMB_TEXTFILE_MAX_LINE 1022

/* The contents of @path, NUL-terminated, if it is a regular file of at most @max_bytes; it
 * is opened without blocking (a FIFO or a device is refused, not waited on; /dev/null reads
 * as empty). G_FILE_ERROR:
 * NOENT when it does not exist, INVAL when it is no regular file or too large. */
char *vmb_textfile_read(const char *path, gsize max_bytes, gsize *length, GError **error);

/* FALSE, with G_FILE_ERROR_INVAL "PATH:LINE: ...", when @text holds a NUL byte or a carriage
 * return that does not end a line (CR-only line ends). */
gboolean vmb_textfile_check(const char *path, const char *text, gsize length, GError **error);

/* @s for a message: control characters, '\' and invalid UTF-8 as \xNN; long text cut. */
char *vmb_textfile_escape(const char *s);

/* How vmb_textfile_replace() writes. */
typedef enum {
    VMB_REPLACE_DURABLE = 1 << 0,  /* fsync the file and then its directory: state that must
                                    * survive a crash (a file rewritten every cycle need not) */
    VMB_REPLACE_READABLE = 1 << 1, /* mode 0644 whatever the umask: for other programs */
} VmbReplaceFlags;

/* Replaces @path with @length bytes of @text through a temporary file beside it (PATH.XXXXXX)
 * and a rename, so that a reader or a crash meets the old file or the new one, whole.
 * G_FILE_ERROR naming the path and the step that failed; NOENT "directory ... does not
 * exist" when the directory is missing; INVAL when @path exists and is not a regular file (a
 * device such as /dev/null, a directory, a FIFO or a symbolic link is never replaced). A failed
 * sync of the directory after the rename is only logged: the new file is in place. */
gboolean vmb_textfile_replace(const char *path, const char *text, gsize length,
                              VmbReplaceFlags flags, GError **error);

/* iniparser_load() on @text, which was read (and checked) from @path. NULL with
 * G_FILE_ERROR_INVAL "PATH:LINE: ..." on a syntax error. */
dictionary *vmb_textfile_load_ini(const char *path, const char *text, gsize length, GError **error);
