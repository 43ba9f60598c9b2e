/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One element of a domain's libvirt <metadata> that vmbalance reads: the operator's policy
 * (domain-policy.h) and the daemon's own record of a numatune it set (numa-mark.h). Both are
 * one element of attributes in a namespace of vmbalance's, so both are parsed by one strict
 * reader: the element as virDomainGetMetadata() returns it (bare: it selected it by its
 * namespace) or with a prefix bound to the namespace; no child element, no text, bounded size,
 * exactly one. Pure: text in, attributes out. */
#pragma once

#include <glib.h>

typedef struct {
    const char *element; /* its local name */
    const char *xmlns;   /* its namespace URI */
    gsize max_bytes;     /* longer text is refused before it is parsed */
} VmbMetaElement;

/* Called for each attribute but namespace declarations, in document order; FALSE with @error
 * set stops the parse. */
typedef gboolean (*VmbMetaAttrFunc)(const char *name, const char *value, gpointer data,
                                    GError **error);

/* Parses @xml (@len bytes, or NUL-terminated when negative) as one @e element, handing its
 * attributes to @attr. G_MARKUP_ERROR naming what was found and what is allowed. */
gboolean vmb_meta_element_parse(const VmbMetaElement *e, const char *xml, gssize len,
                                VmbMetaAttrFunc attr, gpointer data, GError **error);

/* @value for a message: escaped and cut short (it came from outside). */
char *vmb_meta_shown(const char *value);
