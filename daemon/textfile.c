/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Longest text quoted in a message: a 30 MiB value must not become a 30 MiB log line. */
#define MAX_QUOTED 200

static const char *
kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

static char *
fail_errno(const char *path, GError **error)
{
    int saved = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path,
                g_strerror(saved));
    return NULL;
}

static char *
too_large(const char *path, gsize max_bytes, GError **error)
{
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "%s: larger than %" G_GSIZE_FORMAT " KiB: not a file of this kind", path,
                max_bytes / 1024);
    return NULL;
}

/* Reads at most @max_bytes + 1 from @fd, so that a file growing under us is caught too. */
static char *
read_bounded(int fd, const char *path, gsize max_bytes, gsize *length, GError **error)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();
    guint8 chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail_errno(path, error);
        if (n == 0)
            break;
        g_byte_array_append(buf, chunk, (guint) n);
        if (buf->len > max_bytes)
            return too_large(path, max_bytes, error);
    }
    *length = buf->len;
    g_byte_array_append(buf, (const guint8 *) "", 1);
    return (char *) g_byte_array_free(g_steal_pointer(&buf), FALSE);
}

char *
vmb_textfile_read(const char *path, gsize max_bytes, gsize *length, GError **error)
{
    gsize ignored;
    length = length ? length : &ignored;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail_errno(path, error);
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) != 0) {
        fail_errno(path, error);
    } else if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
        /* /dev/null, the usual "no configuration": empty, and it cannot block. */
        *length = 0;
        text = g_strdup("");
    } else if (!S_ISREG(st.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: is %s, not a regular file: refused, it could block or never end", path,
                    kind_of(st.st_mode));
    } else if ((guint64) st.st_size > max_bytes) {
        too_large(path, max_bytes, error);
    } else {
        text = read_bounded(fd, path, max_bytes, length, error);
    }
    close(fd);
    return text;
}

gboolean
vmb_textfile_check(const char *path, const char *text, gsize length, GError **error)
{
    guint line = 1;
    for (gsize i = 0; i < length; i++) {
        if (text[i] == '\n') {
            line++;
        } else if (text[i] == '\0') {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%u: contains a NUL byte (\\x00): not a text file", path, line);
            return FALSE;
        } else if (text[i] == '\r' && i + 1 < length && text[i + 1] != '\n') {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%u: carriage return (\\x0d) inside a line: CR-only line ends are not "
                        "supported, use LF or CRLF",
                        path, line);
            return FALSE;
        }
    }
    return TRUE;
}

char *
vmb_textfile_escape(const char *s)
{
    GString *out = g_string_new(NULL);
    const char *end = s + strlen(s);
    for (const char *p = s; *p && out->len < MAX_QUOTED;) {
        gunichar c = g_utf8_get_char_validated(p, end - p);
        if (c == (gunichar) -1 || c == (gunichar) -2 || c < 0x20 || c == 0x7f || c == '\\') {
            g_string_append_printf(out, "\\x%02x", (guchar) *p);
            p++;
            continue;
        }
        const char *next = g_utf8_next_char(p);
        g_string_append_len(out, p, next - p);
        p = next;
    }
    if (out->len >= MAX_QUOTED)
        g_string_append_printf(out, "... (%zu bytes)", strlen(s));
    return g_string_free(out, FALSE);
}

/* iniparser reports a syntax error through a printf-style callback; keep the first. */
static char ini_error[1200];

static int
ini_error_cb(const char *format, ...)
{
    if (ini_error[0])
        return 0;
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(ini_error, sizeof(ini_error), format, ap);
    va_end(ap);
    return n;
}

/* "iniparser: syntax error in FILE (N):\n-> LINE" as "PATH:N: ...", FILE being @fdpath. */
static void
set_ini_error(const char *path, const char *fdpath, GError **error)
{
    const char *in = strstr(ini_error, fdpath);
    unsigned line = 0;
    if (in)
        sscanf(in + strlen(fdpath), " (%u)", &line);
    g_autofree char *at = line ? g_strdup_printf("%s:%u", path, line) : g_strdup(path);
    const char *arrow = strstr(ini_error, "\n-> ");
    if (strstr(ini_error, "line too long")) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: line too long (at most %d characters)", at, VMB_TEXTFILE_MAX_LINE);
    } else if (arrow) {
        g_autofree char *text = g_strchomp(g_strdup(arrow + 4));
        g_autofree char *shown = vmb_textfile_escape(text);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: syntax error in '%s': expected [section], key = value or a comment", at,
                    shown);
    } else {
        g_autofree char *shown = vmb_textfile_escape(g_strchomp(ini_error));
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: cannot be parsed: %s", at,
                    ini_error[0] ? shown : "unknown error");
    }
}

dictionary *
vmb_textfile_load_ini(const char *path, const char *text, gsize length, GError **error)
{
    /* iniparser 4.1 only reads a named file: give it a memory file holding exactly the
     * text that was checked, not @path again (it could have been replaced meanwhile). */
    int fd = memfd_create("vmb-ini", MFD_CLOEXEC);
    if (fd < 0) {
        fail_errno(path, error);
        return NULL;
    }
    gsize done = 0;
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail_errno(path, error);
            close(fd);
            return NULL;
        }
        done += (gsize) n;
    }
    g_autofree char *fdpath = g_strdup_printf("/proc/self/fd/%d", fd);
    ini_error[0] = '\0';
    iniparser_set_error_callback(ini_error_cb);
    dictionary *ini = iniparser_load(fdpath);
    iniparser_set_error_callback(NULL);
    close(fd);
    if (!ini)
        set_ini_error(path, fdpath, error);
    return ini;
}

/* FALSE with G_FILE_ERROR "cannot WHAT PATH: reason" from errno. */
static gboolean
fail_step(GError **error, const char *what, const char *path)
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

/* The directory entry of a rename reaches the disk only with an fsync of the directory. */
static void
sync_directory(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        g_warning("cannot sync the directory %s: %s", dir, g_strerror(errno));
    if (dfd >= 0)
        close(dfd);
}

/* A rename replaces whatever @path names: as root, over /dev/null it leaves a regular file
 * where every program expects the device. Only a regular file (or nothing) is replaced. */
static gboolean
replaceable(const char *path, GError **error)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return TRUE; /* missing: created; other errors show at the rename */
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "cannot write %s: it exists and is not a regular file (a device, directory, "
                "FIFO or symbolic link is never replaced)",
                path);
    return FALSE;
}

gboolean
vmb_textfile_replace(const char *path, const char *text, gsize length, VmbReplaceFlags flags,
                     GError **error)
{
    if (!replaceable(path, error))
        return FALSE;
    g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        g_autofree char *dir = g_path_get_dirname(path);
        if (errno == ENOENT) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                        "cannot write %s: directory %s does not exist", path, dir);
            return FALSE;
        }
        return fail_step(error, "create a file in", dir);
    }
    gboolean ok = (!(flags & VMB_REPLACE_READABLE) || fchmod(fd, 0644) == 0) &&
                  write_all(fd, text, length) && (!(flags & VMB_REPLACE_DURABLE) || fsync(fd) == 0);
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = FALSE;
        saved = errno;
    }
    errno = saved;
    if (!ok || rename(tmp, path) != 0) {
        fail_step(error, ok ? "replace" : "write", ok ? path : tmp);
        unlink(tmp);
        return FALSE;
    }
    if (flags & VMB_REPLACE_DURABLE)
        sync_directory(path);
    return TRUE;
}
