/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "numa-maps.h"

#include <string.h>

G_DEFINE_QUARK(vmb_numa_maps_error, vmb_numa_maps_error)

/* "N<node>=<pages>" into its two numbers; FALSE when the word is not one. */
static gboolean
node_field(const char *word, guint64 *node, guint64 *pages, gboolean *is_node)
{
    *is_node = word[0] == 'N' && g_ascii_isdigit(word[1]);
    if (!*is_node)
        return TRUE;
    const char *eq = strchr(word, '=');
    if (!eq)
        return FALSE;
    g_autofree char *num = g_strndup(word + 1, (gsize) (eq - word - 1));
    return g_ascii_string_to_unsigned(num, 10, 0, 65535, node, NULL) &&
           g_ascii_string_to_unsigned(eq + 1, 10, 0, G_MAXUINT32, pages, NULL);
}

/* One mapping line: its pages per node times its page size. */
static gboolean
parse_line(const char *line, guint64 *kib, guint n, guint64 *ignored, guint lineno, GError **error)
{
    g_auto(GStrv) words = g_strsplit(line, " ", -1);
    guint64 page_kib = 4; /* kernels before 3.x had no kernelpagesize_kB: base pages */
    for (guint i = 0; words[i]; i++) {
        if (g_str_has_prefix(words[i], "kernelpagesize_kB=") &&
            !g_ascii_string_to_unsigned(words[i] + 18, 10, 1, 16u << 20, &page_kib, NULL))
            goto bad;
    }
    for (guint i = 0; words[i]; i++) {
        guint64 node = 0, pages = 0;
        gboolean is_node = FALSE;
        if (!node_field(words[i], &node, &pages, &is_node))
            goto bad;
        if (!is_node)
            continue;
        guint64 *sum = node < n ? &kib[node] : ignored;
        /* pages < 2^32 and page_kib <= 2^24: the product fits; the sum saturates */
        if (!g_uint64_checked_add(sum, *sum, pages * page_kib))
            *sum = G_MAXUINT64;
    }
    return TRUE;
bad:
    g_set_error(error, VMB_NUMA_MAPS_ERROR, VMB_NUMA_MAPS_ERROR_INVALID,
                "numa_maps line %u: a node field (N<node>=<pages>) or kernelpagesize_kB is "
                "not a number",
                lineno);
    return FALSE;
}

gboolean
vmb_numa_maps_parse(const char *text, gsize len, guint64 *kib, guint n, guint64 *ignored_kib,
                    GError **error)
{
    if (len > VMB_NUMA_MAPS_MAX || memchr(text, '\0', len)) {
        g_set_error(error, VMB_NUMA_MAPS_ERROR, VMB_NUMA_MAPS_ERROR_INVALID,
                    "numa_maps: larger than %u bytes or not text", VMB_NUMA_MAPS_MAX);
        return FALSE;
    }
    g_autofree char *copy = g_strndup(text, len);
    g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
    guint64 ignored = 0;
    for (guint i = 0; lines[i]; i++) {
        if (!parse_line(lines[i], kib, n, &ignored, i + 1, error))
            return FALSE;
    }
    if (ignored_kib)
        *ignored_kib = ignored;
    return TRUE;
}

gint
vmb_numa_maps_home(const guint64 *kib, guint n)
{
    gint best = -1;
    for (guint i = 0; i < n; i++) {
        if (kib[i] > 0 && (best < 0 || kib[i] > kib[best]))
            best = (gint) i;
    }
    return best;
}

gint
vmb_numa_dense_node(const VmbTopology *t, gint node)
{
    for (guint i = 0; t && node >= 0 && i < t->nnodes; i++) {
        if (t->node_id[i] == node)
            return (gint) i;
    }
    return -1;
}
