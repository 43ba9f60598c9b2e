/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "top.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "top-view.h"

/* The alternate screen and a hidden cursor, and back. */
#define ENTER_SCREEN "\033[?1049h\033[?25l"
#define LEAVE_SCREEN "\033[?25h\033[?1049l"
#define HOME         "\033[H"
#define CLEAR_LINE   "\033[K"
#define CLEAR_BELOW  "\033[J"

typedef struct {
    VmbManager1 *proxy;
    GMainLoop *loop;
    guint interval_s;
    guint iterations, frames;
    gboolean screen; /* stdout is a terminal: redraw in place */
    gboolean keys;   /* stdin is a terminal in non-canonical mode */
    guint key_source;
    struct termios saved;
    gboolean failed; /* a frame could not be written */
} Top;

static gboolean
terminal_size(guint *rows, guint *columns)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return FALSE;
    *rows = ws.ws_row;
    *columns = ws.ws_col;
    return TRUE;
}

/* GetStatus and GetHistory now; @error says why not (the daemon stopped, ...). */
static char *
build_frame(Top *t)
{
    VmbTopLayout layout = {.interval_s = t->interval_s, .now_us = g_get_real_time()};
    layout.unicode = t->screen && g_get_charset(NULL);
    if (t->screen && !terminal_size(&layout.rows, &layout.columns))
        layout.rows = layout.columns = 0;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbCtlStatus) status = vmb_ctl_status_fetch(t->proxy, &error);
    g_autoptr(VmbCtlHistory) history =
        status ? vmb_ctl_history_fetch(t->proxy, VMB_TOP_DECISIONS, &error) : NULL;
    if (error)
        g_dbus_error_strip_remote_error(error);
    g_autofree char *why =
        error ? g_strdup_printf("cannot ask vmbalanced: %s", error->message) : NULL;
    return vmb_top_frame(&layout, status, history ? history->actions : NULL, why);
}

/* On a terminal every line clears what an earlier, longer one left; "\n" is "\r\n" there
 * (OPOST stays on). */
static void
draw(Top *t, const char *frame)
{
    if (!t->screen) {
        g_print("%s\n", frame);
    } else {
        g_autoptr(GString) out = g_string_new(HOME);
        g_auto(GStrv) lines = g_strsplit(frame, "\n", -1);
        for (guint i = 0; lines[i] && (lines[i][0] || lines[i + 1]); i++)
            g_string_append_printf(out, "%s%s%s", i ? "\n" : "", lines[i], CLEAR_LINE);
        g_string_append(out, CLEAR_BELOW);
        g_print("%s", out->str);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        t->failed = TRUE;
        g_main_loop_quit(t->loop);
    }
}

static void
refresh(Top *t)
{
    g_autofree char *frame = build_frame(t);
    draw(t, frame);
    if (t->iterations && ++t->frames >= t->iterations)
        g_main_loop_quit(t->loop);
}

static gboolean
on_timer(gpointer data)
{
    refresh(data);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_resize(gpointer data)
{
    Top *t = data;
    if (t->screen)
        refresh(t);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_quit_signal(gpointer data)
{
    Top *t = data;
    g_main_loop_quit(t->loop);
    return G_SOURCE_CONTINUE;
}

/* q quits; other keys are ignored. */
static gboolean
on_key(gint fd, GIOCondition cond, gpointer data)
{
    Top *t = data;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) { /* the terminal went away */
        t->key_source = 0;
        return G_SOURCE_REMOVE;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == 'q' || buf[i] == 'Q')
            g_main_loop_quit(t->loop);
    }
    return G_SOURCE_CONTINUE;
}

/* Keys one by one without echo; Ctrl-C stays a signal (ISIG). */
static void
enter_terminal(Top *t)
{
    if (t->screen) {
        g_print(ENTER_SCREEN);
        fflush(stdout);
    }
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
        struct termios raw = t->saved;
        raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        t->keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
}

static void
leave_terminal(Top *t)
{
    if (t->keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
    if (t->screen) {
        g_print(LEAVE_SCREEN);
        fflush(stdout);
    }
}

int
vmb_top_run(VmbManager1 *proxy, guint interval_s, guint iterations)
{
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    Top t = {.proxy = proxy, .loop = loop, .interval_s = interval_s, .iterations = iterations};
    t.screen = isatty(STDOUT_FILENO);
    guint sources[] = {
        g_unix_signal_add(SIGINT, on_quit_signal, &t),
        g_unix_signal_add(SIGTERM, on_quit_signal, &t),
        g_unix_signal_add(SIGHUP, on_quit_signal, &t),
        g_unix_signal_add(SIGWINCH, on_resize, &t),
        g_timeout_add_seconds(interval_s, on_timer, &t),
    };
    enter_terminal(&t);
    if (t.keys)
        t.key_source = g_unix_fd_add(STDIN_FILENO, G_IO_IN, on_key, &t);
    refresh(&t);
    if (!t.failed && !(t.iterations && t.frames >= t.iterations))
        g_main_loop_run(loop);
    leave_terminal(&t);
    for (guint i = 0; i < G_N_ELEMENTS(sources); i++)
        g_source_remove(sources[i]);
    if (t.key_source)
        g_source_remove(t.key_source);
    return t.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
