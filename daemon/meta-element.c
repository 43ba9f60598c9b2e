/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "meta-element.h"

#include <string.h>

typedef struct {
    const VmbMetaElement *e;
    VmbMetaAttrFunc attr;
    gpointer data;
    guint depth;
    guint roots;
} ParseState;

char *
vmb_meta_shown(const char *value)
{
    g_autofree char *esc = g_strescape(value, NULL);
    if (strlen(esc) > 64)
        return g_strdup_printf("%.64s...", esc);
    return g_steal_pointer(&esc);
}

/* The element's namespace must be ours: "xmlns" for an unprefixed name, "xmlns:P" for P:name;
 * an unprefixed name without a declaration is what virDomainGetMetadata() hands back. */
static gboolean
check_element(const VmbMetaElement *e, const char *element, const char **names, const char **values,
              GError **error)
{
    const char *colon = strchr(element, ':');
    if (strcmp(colon ? colon + 1 : element, e->element) != 0) {
        g_autofree char *s = vmb_meta_shown(element);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ELEMENT,
                    "element '%s': allowed only %s in namespace %s", s, e->element, e->xmlns);
        return FALSE;
    }
    g_autofree char *decl =
        colon ? g_strdup_printf("xmlns:%.*s", (int) (colon - element), element) : g_strdup("xmlns");
    for (guint i = 0; names[i]; i++) {
        if (strcmp(names[i], decl) != 0)
            continue;
        if (strcmp(values[i], e->xmlns) == 0)
            return TRUE;
        g_autofree char *v = vmb_meta_shown(values[i]);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "namespace '%s': allowed %s", v, e->xmlns);
        return FALSE;
    }
    if (!colon)
        return TRUE;
    g_autofree char *s = vmb_meta_shown(element);
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "element '%s' has an undeclared prefix: allowed namespace %s", s, e->xmlns);
    return FALSE;
}

static void
on_start(GMarkupParseContext *ctx, const char *element, const char **names, const char **values,
         gpointer data, GError **error)
{
    ParseState *st = data;
    if (st->depth++ > 0) {
        g_autofree char *s = vmb_meta_shown(element);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ELEMENT,
                    "element '%s' inside %s: allowed none", s, st->e->element);
        return;
    }
    if (st->roots++ > 0 || !check_element(st->e, element, names, values, error))
        return;
    for (guint i = 0; names[i]; i++) {
        if (strcmp(names[i], "xmlns") == 0 || g_str_has_prefix(names[i], "xmlns:"))
            continue; /* declarations: ours was checked, others are harmless */
        if (!st->attr(names[i], values[i], st->data, error))
            return;
    }
}

static void
on_end(GMarkupParseContext *ctx, const char *element, gpointer data, GError **error)
{
    ParseState *st = data;
    st->depth--;
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
    ParseState *st = data;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isspace(text[i])) {
            g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                        "text in the %s element: allowed none (attributes only)", st->e->element);
            return;
        }
    }
}

gboolean
vmb_meta_element_parse(const VmbMetaElement *e, const char *xml, gssize len, VmbMetaAttrFunc attr,
                       gpointer data, GError **error)
{
    gsize n = len < 0 ? strlen(xml) : (gsize) len;
    if (n > e->max_bytes) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "%s element of %" G_GSIZE_FORMAT " bytes: allowed at most %" G_GSIZE_FORMAT,
                    e->element, n, e->max_bytes);
        return FALSE;
    }
    static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
    ParseState st = {e, attr, data, 0, 0};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
    gboolean ok = g_markup_parse_context_parse(ctx, xml, (gssize) n, error) &&
                  g_markup_parse_context_end_parse(ctx, error);
    g_markup_parse_context_free(ctx);
    if (ok && st.roots != 1) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "%u %s elements: allowed exactly one", st.roots, e->element);
        return FALSE;
    }
    return ok;
}
