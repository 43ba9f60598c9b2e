/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "top-view.h"

#include "status-render.h"

static void
append_header(GString *out, const VmbTopLayout *l)
{
    g_autofree char *now = vmb_format_time((guint64) MAX(l->now_us, 0));
    g_string_append_printf(out, "vmbalancectl top: every %u s, q or Ctrl-C quits   %s\n\n",
                           l->interval_s, now);
}

static void
append_decisions(GString *out, GArray *actions)
{
    g_string_append(out, "\nLATEST DECISIONS (newest first)\n");
    if (!actions || actions->len == 0) {
        g_string_append(out, "  none yet\n");
        return;
    }
    guint shown = MIN(actions->len, VMB_TOP_DECISIONS);
    for (guint i = 0; i < shown; i++) {
        const VmbCtlAction *a = &g_array_index(actions, VmbCtlAction, actions->len - 1 - i);
        g_autofree char *line = vmb_action_format(a);
        g_string_append_printf(out, "  %s\n", line);
    }
}

/* @line cut to @columns characters (0: as is); a cut line ends in '>'. */
static void
append_cut(GString *out, const char *line, guint columns)
{
    glong len = g_utf8_strlen(line, -1);
    if (columns == 0 || len <= (glong) columns) {
        g_string_append(out, line);
    } else {
        g_autofree char *head = g_utf8_substring(line, 0, columns - 1);
        g_string_append(out, head);
        g_string_append_c(out, '>');
    }
    g_string_append_c(out, '\n');
}

/* @text's lines cut to the layout: a frame never scrolls the terminal. */
static char *
fit(const char *text, const VmbTopLayout *l)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(lines);
    if (n && !*lines[n - 1])
        n--; /* the text ends in '\n' */
    guint keep = n;
    if (l->rows && n > l->rows)
        keep = l->rows > 1 ? l->rows - 1 : 0;
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < keep; i++)
        append_cut(out, lines[i], l->columns);
    if (keep < n) {
        g_autofree char *more =
            g_strdup_printf("... %u more lines: enlarge the terminal", n - keep);
        append_cut(out, more, l->columns);
    }
    return g_string_free(out, FALSE);
}

char *
vmb_top_frame(const VmbTopLayout *layout, const VmbCtlStatus *status, GArray *actions,
              const char *error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    append_header(out, layout);
    if (error || !status) {
        g_string_append_printf(out, "%s\nTrying again every %u s.\n", error ? error : "no status",
                               layout->interval_s);
    } else {
        vmb_status_append_summary(out, status, layout->unicode);
        append_decisions(out, actions);
        vmb_status_append_domains(out, status);
    }
    return fit(out->str, layout);
}
