/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-def.h"
#include "markup-attr.h"

#include <string.h>

typedef struct {
    GPtrArray *path; /* element names from <domain> down, borrowed from GMarkup's stack */
    guint bits;
} ClassifyState;

/* Is the element being opened /domain/@parent/@name (@parent NULL: /domain/@name)? */
static gboolean
at(const ClassifyState *st, const char *parent, const char *element, const char *name)
{
    guint depth = st->path->len; /* elements above this one */
    if (strcmp(element, name) != 0 || depth != (parent ? 2u : 1u))
        return FALSE;
    if (strcmp(g_ptr_array_index(st->path, 0), "domain") != 0)
        return FALSE;
    return !parent || strcmp(g_ptr_array_index(st->path, 1), parent) == 0;
}

/* A PCI host device is assigned with VFIO (the only backend of current libvirt), which pins all
 * guest memory for DMA: ballooning frees nothing. <interface type='hostdev'> is the same. */
static gboolean
is_pci_passthrough(const ClassifyState *st, const char *element, const char **names,
                   const char **values)
{
    if (at(st, "devices", element, "hostdev"))
        return g_strcmp0(vmb_markup_attr(names, values, "type"), "pci") == 0;
    if (at(st, "devices", element, "interface"))
        return g_strcmp0(vmb_markup_attr(names, values, "type"), "hostdev") == 0;
    return FALSE;
}

static void
on_start(GMarkupParseContext *ctx, const char *element, const char **names, const char **values,
         gpointer data, GError **error)
{
    ClassifyState *st = data;
    const char *placement = vmb_markup_attr(names, values, "placement");
    if (at(st, NULL, element, "vcpu")) {
        if (vmb_markup_attr(names, values, "cpuset"))
            st->bits |= VMB_HANDS_OFF_CPUSET;
        if (g_strcmp0(placement, "auto") == 0)
            st->bits |= VMB_HANDS_OFF_PLACEMENT_AUTO;
    } else if (at(st, "numatune", element, "memory") && g_strcmp0(placement, "auto") == 0) {
        st->bits |= VMB_HANDS_OFF_PLACEMENT_AUTO;
    } else if (at(st, "cputune", element, "vcpupin")) {
        st->bits |= VMB_HANDS_OFF_VCPUPIN;
    } else if (at(st, "cputune", element, "vcpusched")) {
        st->bits |= VMB_HANDS_OFF_VCPUSCHED;
    } else if (at(st, "memoryBacking", element, "locked")) {
        st->bits |= VMB_HANDS_OFF_LOCKED;
    } else if (at(st, "memoryBacking", element, "hugepages")) {
        st->bits |= VMB_HANDS_OFF_HUGEPAGES;
    } else if (is_pci_passthrough(st, element, names, values)) {
        st->bits |= VMB_HANDS_OFF_VFIO;
    } else if (at(st, "devices", element, "memory") &&
               g_strcmp0(vmb_markup_attr(names, values, "model"), "virtio-mem") == 0) {
        st->bits |= VMB_HANDS_OFF_VIRTIO_MEM;
    }
    g_ptr_array_add(st->path, (gpointer) element);
}

static void
on_end(GMarkupParseContext *ctx, const char *element, gpointer data, GError **error)
{
    ClassifyState *st = data;
    g_ptr_array_set_size(st->path, st->path->len - 1);
}

gboolean
vmb_domain_def_classify(const char *xml, gssize len, guint *hands_off, GError **error)
{
    *hands_off = 0;
    gsize n = len < 0 ? strlen(xml) : (gsize) len;
    if (n > VMB_DEF_MAX_XML) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "domain definition of %" G_GSIZE_FORMAT " bytes: allowed at most %u", n,
                    VMB_DEF_MAX_XML);
        return FALSE;
    }
    static const GMarkupParser parser = {on_start, on_end, NULL, NULL, NULL};
    ClassifyState st = {g_ptr_array_new(), 0};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &st, NULL);
    gboolean ok = g_markup_parse_context_parse(ctx, xml, (gssize) n, error) &&
                  g_markup_parse_context_end_parse(ctx, error);
    g_markup_parse_context_free(ctx);
    g_ptr_array_unref(st.path);
    if (ok)
        *hands_off = st.bits;
    return ok;
}

char *
vmb_hands_off_describe(guint hands_off)
{
    static const struct {
        guint bit;
        const char *text;
    } reasons[] = {
        {VMB_HANDS_OFF_VCPUPIN, "vCPUs pinned by the definition (<vcpupin>)"},
        {VMB_HANDS_OFF_CPUSET, "vCPUs confined by the definition (<vcpu cpuset>)"},
        {VMB_HANDS_OFF_PLACEMENT_AUTO, "placed by numad (placement='auto')"},
        {VMB_HANDS_OFF_VCPUSCHED, "real-time vCPU scheduler (<vcpusched>)"},
        {VMB_HANDS_OFF_LOCKED, "memory locked (<memoryBacking><locked/>)"},
        {VMB_HANDS_OFF_HUGEPAGES, "memory backed by hugepages (<memoryBacking><hugepages/>)"},
        {VMB_HANDS_OFF_VFIO, "PCI host device assigned (VFIO pins guest memory)"},
        {VMB_HANDS_OFF_MIGRATING, "being migrated"},
        {VMB_HANDS_OFF_VIRTIO_MEM, "virtio-mem device (the balloon cannot size it with libvirt)"},
    };
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(reasons); i++) {
        if (hands_off & reasons[i].bit)
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", reasons[i].text);
    }
    return g_string_free(s, FALSE);
}
