/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small JSON emitter for vmbalancectl's --json output: pretty-printed, keys in the order
 * written, strings escaped per RFC 8259 (invalid UTF-8 replaced), non-finite numbers as
 * null. No dependency beyond GLib. */
#pragma once

#include <glib.h>

typedef struct _VmbJson VmbJson;

VmbJson *vmb_json_new(void);
void vmb_json_free(VmbJson *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbJson, vmb_json_free)
/* The document so far, followed by a newline once complete. */
const char *vmb_json_str(VmbJson *j);

void vmb_json_begin_object(VmbJson *j);
void vmb_json_end_object(VmbJson *j);
void vmb_json_begin_array(VmbJson *j);
void vmb_json_end_array(VmbJson *j);
/* Inside an object, each value is preceded by its key. */
void vmb_json_key(VmbJson *j, const char *key);

void vmb_json_string(VmbJson *j, const char *s); /* NULL gives null */
void vmb_json_int(VmbJson *j, gint64 v);
void vmb_json_uint(VmbJson *j, guint64 v);
/* Rounded to @decimals places; NaN and infinities give null. */
void vmb_json_double(VmbJson *j, double v, guint decimals);
void vmb_json_bool(VmbJson *j, gboolean v);
void vmb_json_null(VmbJson *j);
/* Basic types, arrays, tuples (as arrays), a{s*} dictionaries (as objects) and variants. */
void vmb_json_variant(VmbJson *j, GVariant *v);

/* Appends @s to @out as a quoted JSON string. */
void vmb_json_escape(GString *out, const char *s);
