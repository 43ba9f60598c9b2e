/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "numa-mark.h"

#include <string.h>

#include "meta-element.h"

char *
vmb_numa_mark_to_xml(guint host_node)
{
    return g_strdup_printf("<" VMB_NUMA_MARK_ELEMENT " nodeset=\"%u\"/>", host_node);
}

/* The one attribute (meta-element.h): nodeset, once, a list of nodes. */
static gboolean
take_attribute(const char *name, const char *value, gpointer data, GError **error)
{
    VmbCpuSet *nodeset = data;
    if (strcmp(name, "nodeset") != 0) {
        g_autofree char *n = vmb_meta_shown(name);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ATTRIBUTE,
                    "attribute '%s': allowed only nodeset", n);
        return FALSE;
    }
    if (!vmb_cpuset_is_empty(nodeset)) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "attribute 'nodeset' given twice");
        return FALSE;
    }
    gboolean all = FALSE;
    if (!vmb_cpuset_parse(value, nodeset, &all, NULL) || all || vmb_cpuset_is_empty(nodeset)) {
        g_autofree char *v = vmb_meta_shown(value);
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "nodeset '%s': expected a node list such as 1 or 0-1", v);
        return FALSE;
    }
    return TRUE;
}

gboolean
vmb_numa_mark_parse(const char *xml, gssize len, VmbCpuSet *nodeset, GError **error)
{
    static const VmbMetaElement element = {VMB_NUMA_MARK_ELEMENT, VMB_NUMA_MARK_XMLNS,
                                           VMB_NUMA_MARK_MAX_XML};
    vmb_cpuset_clear(nodeset);
    if (vmb_meta_element_parse(&element, xml, len, take_attribute, nodeset, error)) {
        if (!vmb_cpuset_is_empty(nodeset))
            return TRUE;
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_MISSING_ATTRIBUTE,
                    "no nodeset attribute");
    }
    vmb_cpuset_clear(nodeset);
    return FALSE;
}

/* We only ever set mode strict: a preferred or interleaved numatune is someone else's. */
gboolean
vmb_numa_mark_matches(const VmbCpuSet *mark, VmbNumatuneMode mode, const VmbCpuSet *nodes)
{
    return mode == VMB_NUMATUNE_STRICT && !vmb_cpuset_is_empty(mark) &&
           vmb_cpuset_equal(mark, nodes);
}
