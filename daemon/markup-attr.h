/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the GMarkup readers of libvirt's XML (domain definitions, capabilities) share. */
#pragma once

#include <glib.h>
#include <string.h>

/* The value of attribute @name in a GMarkup start-element callback's @names/@values, NULL
 * when the element has none. */
static inline const char *
vmb_markup_attr(const char **names, const char **values, const char *name)
{
    for (guint i = 0; names[i]; i++) {
        if (strcmp(names[i], name) == 0)
            return values[i];
    }
    return NULL;
}
