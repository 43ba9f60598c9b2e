/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "numa-mark.h"

#include <string.h>

typedef struct {
    VmbCpuSet *nodeset;
    guint depth;
    guint roots;
    gboolean have_nodeset;
} MarkParse;

/* @s for an error message: escaped and cut, since it comes from libvirt. */
static char *
shown(const char *s)
{
    g_autofree char *cut = g_strndup(s, 64);
    return g_strescape(cut, NULL);
}

char *
vmb_numa_mark_to_xml(guint host_node)
{
    return g_strdup_printf("<" VMB_NUMA_MARK_ELEMENT " nodeset=\"%u\"/>", host_node);
}

/* The element's namespace must be ours: "xmlns" for a bare name, "xmlns:P" for P:numa-home; a
 * bare name without a declaration is what virDomainGetMetadata() returns (it selected by it). */
static gboolean
check_element(const char *element, const char **names, const char **values, GError **error)
{
    const char *colon = strchr(element, ':');
    if (strcmp(colon ? colon + 1 : element, VMB_NUMA_MARK_ELEMENT) != 0) {
        g_autofree char *e = shown(element);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ELEMENT,
                    "element '%s': allowed only " VMB_NUMA_MARK_ELEMENT, e);
        return FALSE;
    }
    g_autofree char *decl =
        colon ? g_strdup_printf("xmlns:%.*s", (int) (colon - element), element) : g_strdup("xmlns");
    for (guint i = 0; names[i]; i++) {
        if (strcmp(names[i], decl) != 0)
            continue;
        if (strcmp(values[i], VMB_NUMA_MARK_XMLNS) == 0)
            return TRUE;
        g_autofree char *v = shown(values[i]);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "namespace '%s': allowed " VMB_NUMA_MARK_XMLNS, v);
        return FALSE;
    }
    if (!colon)
        return TRUE;
    g_autofree char *e = shown(element);
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "element '%s' has an undeclared prefix", e);
    return FALSE;
}

static gboolean
store_nodeset(MarkParse *st, const char *value, GError **error)
{
    gboolean all = FALSE;
    if (st->have_nodeset) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "attribute 'nodeset' given twice");
        return FALSE;
    }
    if (!vmb_cpuset_parse(value, st->nodeset, &all, NULL) || all ||
        vmb_cpuset_is_empty(st->nodeset)) {
        g_autofree char *v = shown(value);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "nodeset '%s': expected a node list such as 1 or 0-1", v);
        return FALSE;
    }
    st->have_nodeset = TRUE;
    return TRUE;
}

static void
on_start(GMarkupParseContext *ctx, const char *element, const char **names, const char **values,
         gpointer data, GError **error)
{
    MarkParse *st = data;
    if (st->depth++ > 0) {
        g_autofree char *e = shown(element);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ELEMENT,
                    "element '%s' inside " VMB_NUMA_MARK_ELEMENT ": allowed none", e);
        return;
    }
    if (st->roots++ > 0 || !check_element(element, names, values, error))
        return;
    for (guint i = 0; names[i]; i++) {
        if (strcmp(names[i], "xmlns") == 0 || g_str_has_prefix(names[i], "xmlns:"))
            continue; /* declarations: ours was checked */
        if (strcmp(names[i], "nodeset") != 0) {
            g_autofree char *n = shown(names[i]);
            g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ATTRIBUTE,
                        "attribute '%s': allowed only nodeset", n);
            return;
        }
        if (!store_nodeset(st, values[i], error))
            return;
    }
    if (!st->have_nodeset)
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_MISSING_ATTRIBUTE,
                    "no nodeset attribute");
}

static void
on_end(GMarkupParseContext *ctx, const char *element, gpointer data, GError **error)
{
    MarkParse *st = data;
    st->depth--;
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isspace(text[i])) {
            g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                        "text in " VMB_NUMA_MARK_ELEMENT ": allowed none");
            return;
        }
    }
}

gboolean
vmb_numa_mark_parse(const char *xml, gssize len, VmbCpuSet *nodeset, GError **error)
{
    vmb_cpuset_clear(nodeset);
    gsize n = len < 0 ? strlen(xml) : (gsize) len;
    if (n > VMB_NUMA_MARK_MAX_XML) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "element of %" G_GSIZE_FORMAT " bytes: allowed at most %d", n,
                    VMB_NUMA_MARK_MAX_XML);
        return FALSE;
    }
    static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
    MarkParse st = {.nodeset = nodeset};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
    gboolean ok = g_markup_parse_context_parse(ctx, xml, (gssize) n, error) &&
                  g_markup_parse_context_end_parse(ctx, error);
    g_markup_parse_context_free(ctx);
    if (ok && st.roots != 1) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "%u elements: allowed exactly one", st.roots);
        ok = FALSE;
    }
    if (!ok)
        vmb_cpuset_clear(nodeset);
    return ok;
}

/* We only ever set mode strict: a preferred or interleaved numatune is someone else's. */
gboolean
vmb_numa_mark_matches(const VmbCpuSet *mark, VmbNumatuneMode mode, const VmbCpuSet *nodes)
{
    return mode == VMB_NUMATUNE_STRICT && !vmb_cpuset_is_empty(mark) &&
           vmb_cpuset_equal(mark, nodes);
}
