/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-writer.h"

#include <math.h>
#include <string.h>

#define MAX_DEPTH 64

struct _VmbJson {
    GString *out;
    guint depth;
    gboolean has_items[MAX_DEPTH]; /* per level: a comma is due before the next item */
    gboolean after_key;            /* the next value completes a "key": pair */
};

VmbJson *
vmb_json_new(void)
{
    VmbJson *j = g_new0(VmbJson, 1);
    j->out = g_string_new(NULL);
    return j;
}

void
vmb_json_free(VmbJson *j)
{
    if (!j)
        return;
    g_string_free(j->out, TRUE);
    g_free(j);
}

const char *
vmb_json_str(VmbJson *j)
{
    if (j->depth == 0 && j->out->len && j->out->str[j->out->len - 1] != '\n')
        g_string_append_c(j->out, '\n');
    return j->out->str;
}

static void
newline_indent(VmbJson *j)
{
    g_string_append_c(j->out, '\n');
    for (guint i = 0; i < j->depth; i++)
        g_string_append(j->out, "  ");
}

/* Separator and indentation before a value or a key. */
static void
begin_item(VmbJson *j)
{
    if (j->after_key) {
        j->after_key = FALSE;
        return;
    }
    if (j->depth == 0)
        return;
    if (j->has_items[j->depth])
        g_string_append_c(j->out, ',');
    j->has_items[j->depth] = TRUE;
    newline_indent(j);
}

static void
open_container(VmbJson *j, char c)
{
    begin_item(j);
    g_string_append_c(j->out, c);
    g_return_if_fail(j->depth + 1 < MAX_DEPTH);
    j->depth++;
    j->has_items[j->depth] = FALSE;
}

static void
close_container(VmbJson *j, char c)
{
    g_return_if_fail(j->depth > 0);
    gboolean had = j->has_items[j->depth];
    j->depth--;
    if (had)
        newline_indent(j);
    g_string_append_c(j->out, c);
}

void
vmb_json_begin_object(VmbJson *j)
{
    open_container(j, '{');
}

void
vmb_json_end_object(VmbJson *j)
{
    close_container(j, '}');
}

void
vmb_json_begin_array(VmbJson *j)
{
    open_container(j, '[');
}

void
vmb_json_end_array(VmbJson *j)
{
    close_container(j, ']');
}

void
vmb_json_escape(GString *out, const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_string_append_c(out, '"');
    for (const char *p = valid; *p; p++) {
        guchar c = (guchar) *p;
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                g_string_append_printf(out, "\\u%04x", c);
            else
                g_string_append_c(out, (char) c);
        }
    }
    g_string_append_c(out, '"');
}

void
vmb_json_key(VmbJson *j, const char *key)
{
    begin_item(j);
    vmb_json_escape(j->out, key);
    g_string_append(j->out, ": ");
    j->after_key = TRUE;
}

void
vmb_json_string(VmbJson *j, const char *s)
{
    if (!s) {
        vmb_json_null(j);
        return;
    }
    begin_item(j);
    vmb_json_escape(j->out, s);
}

void
vmb_json_int(VmbJson *j, gint64 v)
{
    begin_item(j);
    g_string_append_printf(j->out, "%" G_GINT64_FORMAT, v);
}

void
vmb_json_uint(VmbJson *j, guint64 v)
{
    begin_item(j);
    g_string_append_printf(j->out, "%" G_GUINT64_FORMAT, v);
}

void
vmb_json_double(VmbJson *j, double v, guint decimals)
{
    if (!isfinite(v)) {
        vmb_json_null(j);
        return;
    }
    begin_item(j);
    char fmt[16], buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_snprintf(fmt, sizeof(fmt), "%%.%uf", MIN(decimals, 17u));
    /* Locale-independent: always a '.' decimal point. */
    g_ascii_formatd(buf, sizeof(buf), fmt, v);
    /* A value that rounds to zero prints as 0, not -0. */
    gboolean negative_zero = buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1);
    g_string_append(j->out, negative_zero ? buf + 1 : buf);
}

void
vmb_json_bool(VmbJson *j, gboolean v)
{
    begin_item(j);
    g_string_append(j->out, v ? "true" : "false");
}

void
vmb_json_null(VmbJson *j)
{
    begin_item(j);
    g_string_append(j->out, "null");
}

void
vmb_json_variant(VmbJson *j, GVariant *v)
{
    switch (g_variant_classify(v)) {
    case G_VARIANT_CLASS_BOOLEAN:
        vmb_json_bool(j, g_variant_get_boolean(v));
        break;
    case G_VARIANT_CLASS_BYTE:
        vmb_json_uint(j, g_variant_get_byte(v));
        break;
    case G_VARIANT_CLASS_INT16:
        vmb_json_int(j, g_variant_get_int16(v));
        break;
    case G_VARIANT_CLASS_UINT16:
        vmb_json_uint(j, g_variant_get_uint16(v));
        break;
    case G_VARIANT_CLASS_INT32:
        vmb_json_int(j, g_variant_get_int32(v));
        break;
    case G_VARIANT_CLASS_UINT32:
        vmb_json_uint(j, g_variant_get_uint32(v));
        break;
    case G_VARIANT_CLASS_INT64:
        vmb_json_int(j, g_variant_get_int64(v));
        break;
    case G_VARIANT_CLASS_UINT64:
        vmb_json_uint(j, g_variant_get_uint64(v));
        break;
    case G_VARIANT_CLASS_DOUBLE: {
        /* Shortest text that reads back as the same double. */
        double d = g_variant_get_double(v);
        if (!isfinite(d)) {
            vmb_json_null(j);
        } else {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            begin_item(j);
            g_string_append(j->out, g_ascii_dtostr(buf, sizeof(buf), d));
        }
        break;
    }
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
        vmb_json_string(j, g_variant_get_string(v, NULL));
        break;
    case G_VARIANT_CLASS_VARIANT: {
        g_autoptr(GVariant) inner = g_variant_get_variant(v);
        vmb_json_variant(j, inner);
        break;
    }
    case G_VARIANT_CLASS_MAYBE: {
        g_autoptr(GVariant) inner = g_variant_get_maybe(v);
        if (inner)
            vmb_json_variant(j, inner);
        else
            vmb_json_null(j);
        break;
    }
    case G_VARIANT_CLASS_ARRAY:
        if (g_str_has_prefix(g_variant_get_type_string(v), "a{s")) {
            vmb_json_begin_object(j);
            GVariantIter it;
            g_variant_iter_init(&it, v);
            GVariant *entry;
            while ((entry = g_variant_iter_next_value(&it))) {
                g_autoptr(GVariant) key = g_variant_get_child_value(entry, 0);
                g_autoptr(GVariant) value = g_variant_get_child_value(entry, 1);
                vmb_json_key(j, g_variant_get_string(key, NULL));
                vmb_json_variant(j, value);
                g_variant_unref(entry);
            }
            vmb_json_end_object(j);
            break;
        }
        /* Other arrays are lists. */
        G_GNUC_FALLTHROUGH;
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY: {
        vmb_json_begin_array(j);
        GVariantIter it;
        g_variant_iter_init(&it, v);
        GVariant *child;
        while ((child = g_variant_iter_next_value(&it))) {
            vmb_json_variant(j, child);
            g_variant_unref(child);
        }
        vmb_json_end_array(j);
        break;
    }
    case G_VARIANT_CLASS_HANDLE:
        vmb_json_int(j, g_variant_get_handle(v));
        break;
    }
}
