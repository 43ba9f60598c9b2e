/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl's output: stdout with its first write error kept, usage errors (exit 2) and
 * failed calls (exit 1) on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmbalancectl-priv.h"

/* Why the first write to stdout failed; a later flush may find nothing left to write. */
static int stdout_errno;

void
flush_stdout(void)
{
    if (fflush(stdout) != 0 && !stdout_errno)
        stdout_errno = errno;
}

/* g_print()'s output (all of stdout but the usage), as GLib's own handler writes it, with
 * the error kept. */
void
print_stdout(const char *text)
{
    if (fputs(text, stdout) == EOF && !stdout_errno)
        stdout_errno = errno;
    flush_stdout();
}

int
usage_error(const Command *cmd, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    if (cmd)
        g_printerr("vmbalancectl %s: %s (see vmbalancectl %s --help)\n", cmd->name, msg, cmd->name);
    else
        g_printerr("vmbalancectl: %s (see vmbalancectl --help)\n", msg);
    return EXIT_USAGE;
}

static gboolean
is_not_running(const GError *error)
{
    return g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
           /* the daemon went away during the call */
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
}

/* Prints a failed call's error as the daemon wrote it; always returns 1. */
int
call_failed(GError *error)
{
    if (is_not_running(error)) {
        g_printerr("vmbalancectl: vmbalanced is not running; " NOT_RUNNING_HINT "\n");
        return EXIT_FAILURE;
    }
    if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED)) {
        /* The bus's own message is a dump of its rule match; say what it means. */
        g_printerr("vmbalancectl: permission denied: changing vmbalanced needs root\n");
        return EXIT_FAILURE;
    }
    g_dbus_error_strip_remote_error(error);
    g_printerr("vmbalancectl: %s\n", error->message);
    return EXIT_FAILURE;
}

/* A write that failed (full disk, closed descriptor) is a failure, not a success with
 * nothing shown. */
int
finish_output(int rc)
{
    flush_stdout();
    if (!ferror(stdout))
        return rc;
    g_printerr("vmbalancectl: cannot write to standard output: %s\n",
               stdout_errno ? g_strerror(stdout_errno) : "write error");
    return rc == EXIT_SUCCESS ? EXIT_FAILURE : rc;
}
