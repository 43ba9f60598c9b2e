/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-layout.h"

#include <math.h>
#include <string.h>

typedef struct {
    GString *out;
    JsonGenerator *scalar; /* writes strings, integers, booleans and null */
    int decimals;
} Layout;

static void
newline_indent(GString *out, guint depth)
{
    g_string_append_c(out, '\n');
    for (guint i = 0; i < depth; i++)
        g_string_append(out, "  ");
}

static void
append_double(Layout *l, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (!isfinite(v)) {
        g_string_append(l->out, "null");
        return;
    }
    if (l->decimals < 0) {
        g_string_append(l->out, g_ascii_dtostr(buf, sizeof(buf), v));
        return;
    }
    char fmt[16];
    g_snprintf(fmt, sizeof(fmt), "%%.%df", MIN(l->decimals, 17));
    /* Locale-independent: always a '.' decimal point. */
    g_ascii_formatd(buf, sizeof(buf), fmt, v);
    /* A value that rounds to zero prints as 0, not -0. */
    gboolean negative_zero = buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1);
    g_string_append(l->out, negative_zero ? buf + 1 : buf);
}

static void
append_scalar(Layout *l, JsonNode *node)
{
    if (json_node_get_value_type(node) == G_TYPE_DOUBLE) {
        append_double(l, json_node_get_double(node));
        return;
    }
    json_generator_set_root(l->scalar, node);
    g_autofree char *text = json_generator_to_data(l->scalar, NULL);
    /* json-glib 1.6 leaves U+001F unescaped, which JSON does not allow. */
    for (const char *c = text; *c; c++) {
        if (*c == '\x1f')
            g_string_append(l->out, "\\u001f");
        else
            g_string_append_c(l->out, *c);
    }
}

static void append_node(Layout *l, JsonNode *node, guint depth);

/* An object's members keep the order in which they were added. */
static void
append_container(Layout *l, JsonNode *node, guint depth)
{
    JsonObject *object = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    g_autoptr(GList) items = object ? json_object_get_members(object)
                                    : json_array_get_elements(json_node_get_array(node));
    g_string_append_c(l->out, object ? '{' : '[');
    for (GList *i = items; i; i = i->next) {
        newline_indent(l->out, depth + 1);
        JsonNode *child = i->data;
        if (object) {
            g_autoptr(JsonNode) key = json_node_init_string(json_node_alloc(), i->data);
            append_scalar(l, key);
            g_string_append(l->out, ": ");
            child = json_object_get_member(object, i->data);
        }
        append_node(l, child, depth + 1);
        if (i->next)
            g_string_append_c(l->out, ',');
    }
    if (items)
        newline_indent(l->out, depth);
    g_string_append_c(l->out, object ? '}' : ']');
}

static void
append_node(Layout *l, JsonNode *node, guint depth)
{
    if (JSON_NODE_HOLDS_OBJECT(node) || JSON_NODE_HOLDS_ARRAY(node))
        append_container(l, node, depth);
    else
        append_scalar(l, node);
}

char *
vmb_json_layout(JsonNode *root, int decimals)
{
    g_autoptr(JsonGenerator) scalar = json_generator_new();
    Layout l = {g_string_new(NULL), scalar, decimals};
    append_node(&l, root, 0);
    g_string_append_c(l.out, '\n');
    return g_string_free(l.out, FALSE);
}
