/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "series.h"

#include <errno.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK(vmb - series - error - quark, vmb_series_error)

static gboolean
parse_num(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return FALSE;
    *out = v;
    return TRUE;
}

gboolean
vmb_series_parse(const char *text, double min, double max, VmbSeries *out, GError **error)
{
    g_auto(GStrv) tokens = g_strsplit_set(text, " \t", -1);
    g_autoptr(GArray) ts = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) vs = g_array_new(FALSE, FALSE, sizeof(double));

    guint nonempty = 0;
    for (guint i = 0; tokens[i]; i++)
        nonempty += *tokens[i] != '\0';
    for (guint i = 0; tokens[i]; i++) {
        if (!*tokens[i])
            continue;
        double t = 0, v;
        char *colon = strchr(tokens[i], ':');
        if (colon) {
            *colon = '\0';
            if (!parse_num(tokens[i], &t) || t < 0 || !parse_num(colon + 1, &v))
                goto bad;
        } else if (!parse_num(tokens[i], &v) || nonempty != 1) {
            goto bad;
        }
        if (v < min || v > max)
            goto bad;
        if (ts->len && t < g_array_index(ts, double, ts->len - 1))
            goto bad;
        g_array_append_val(ts, t);
        g_array_append_val(vs, v);
    }
    if (ts->len == 0)
        goto bad;
    out->n = ts->len;
    out->t = (double *) g_array_free(g_steal_pointer(&ts), FALSE);
    out->v = (double *) g_array_free(g_steal_pointer(&vs), FALSE);
    return TRUE;
bad:
    g_set_error(error, VMB_SERIES_ERROR, VMB_SERIES_ERROR_INVALID,
                "'%s': expected a value in %g..%g or time:value points in increasing time", text,
                min, max);
    return FALSE;
}

void
vmb_series_clear(VmbSeries *s)
{
    g_clear_pointer(&s->t, g_free);
    g_clear_pointer(&s->v, g_free);
    s->n = 0;
}

double
vmb_series_at(const VmbSeries *s, double t)
{
    if (s->n == 0)
        return 0;
    if (t < s->t[0])
        return s->v[0];
    /* The last point at or before t wins, so a step takes its new value at its time. */
    guint i = 0;
    while (i + 1 < s->n && s->t[i + 1] <= t)
        i++;
    if (i + 1 == s->n)
        return s->v[i];
    double span = s->t[i + 1] - s->t[i];
    double frac = span > 0 ? (t - s->t[i]) / span : 0;
    return s->v[i] + frac * (s->v[i + 1] - s->v[i]);
}
