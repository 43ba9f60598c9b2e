/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes a json-glib document tree in the layout dbus/README.md documents: two-space
 * indentation, one member or element a line, `"key": value`, `{}` and `[]` when empty.
 * json-glib's own generator writes `"key" : value`, `{  }` and doubles with 17 significant
 * digits, so only the layout and the doubles are done here; json-glib writes (and escapes)
 * every other value. */
#pragma once

#include <json-glib/json-glib.h>

/* @root as text ending in a newline. Doubles get @decimals places, or the shortest text
 * that reads back as the same double when @decimals < 0; non-finite ones are null. */
char *vmb_json_layout(JsonNode *root, int decimals);
