/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-xml.h"
#include "markup-attr.h"

#include <string.h>

#define MAX_DEPTH 64

/* The leaf whose text is being read, and where its value goes. */
typedef enum {
    LEAF_NONE,
    LEAF_MEMORY,
    LEAF_CURRENT_MEMORY,
    LEAF_VMEM_SIZE,
    LEAF_VMEM_NODE,
    LEAF_VMEM_BLOCK,
    LEAF_VMEM_REQUESTED,
    LEAF_VMEM_CURRENT,
} Leaf;

typedef struct {
    VmbDomainMemXml *out;
    char *stack[MAX_DEPTH]; /* open element names */
    guint depth;
    gboolean in_vmem;   /* inside the first virtio-mem <memory> device */
    gboolean vmem_done; /* a virtio-mem device was read: later ones are ignored */
    Leaf leaf;
    char *unit;
    GString *text;
} Parser;

gboolean
vmb_xml_size_kib(const char *value, const char *unit, guint64 *kib)
{
    static const struct {
        const char *name;
        guint64 num, den; /* bytes per unit = num, KiB = bytes / 1024 */
    } units[] = {
        {"b", 1, 1},
        {"bytes", 1, 1},
        {"KB", 1000, 1},
        {"k", 1024, 1},
        {"KiB", 1024, 1},
        {"MB", 1000000, 1},
        {"M", 1048576, 1},
        {"MiB", 1048576, 1},
        {"GB", 1000000000, 1},
        {"G", 1073741824, 1},
        {"GiB", 1073741824, 1},
        {"TB", G_GUINT64_CONSTANT(1000000000000), 1},
        {"T", G_GUINT64_CONSTANT(1099511627776), 1},
        {"TiB", G_GUINT64_CONSTANT(1099511627776), 1},
    };
    guint64 per = 0;
    if (!unit || !*unit)
        unit = "KiB";
    for (guint k = 0; k < G_N_ELEMENTS(units); k++) {
        /* libvirt compares units case-insensitively ("kib", "MIB") */
        if (g_ascii_strcasecmp(unit, units[k].name) == 0) {
            per = units[k].num;
            break;
        }
    }
    guint64 v = 0;
    g_autofree char *trimmed = g_strstrip(g_strdup(value ? value : ""));
    if (!per || !g_ascii_string_to_unsigned(trimmed, 10, 0, G_MAXUINT64, &v, NULL))
        return FALSE;
    if (v > G_MAXUINT64 / per)
        return FALSE;
    guint64 bytes = v * per;
    *kib = bytes / 1024 + (bytes % 1024 != 0);
    return TRUE;
}

/* The open element @depth levels up from the root is @name. */
static gboolean
at(const Parser *p, guint level, const char *name)
{
    return p->depth > level && strcmp(p->stack[level], name) == 0;
}

static void
start_leaf(Parser *p, Leaf leaf, const char **names, const char **values)
{
    p->leaf = leaf;
    g_free(p->unit);
    p->unit = g_strdup(vmb_markup_attr(names, values, "unit"));
    g_string_truncate(p->text, 0);
}

/* Which leaf element (at the current depth, already pushed) this is, if any. */
static Leaf
leaf_of(const Parser *p, const char *name)
{
    if (p->depth == 2 && at(p, 0, "domain")) {
        if (strcmp(name, "memory") == 0)
            return LEAF_MEMORY;
        if (strcmp(name, "currentMemory") == 0)
            return LEAF_CURRENT_MEMORY;
    }
    if (p->in_vmem && p->depth == 5 && at(p, 3, "target")) {
        static const struct {
            const char *name;
            Leaf leaf;
        } leaves[] = {
            {"size", LEAF_VMEM_SIZE},       {"node", LEAF_VMEM_NODE},
            {"block", LEAF_VMEM_BLOCK},     {"requested", LEAF_VMEM_REQUESTED},
            {"current", LEAF_VMEM_CURRENT},
        };
        for (guint k = 0; k < G_N_ELEMENTS(leaves); k++) {
            if (strcmp(name, leaves[k].name) == 0)
                return leaves[k].leaf;
        }
    }
    return LEAF_NONE;
}

static gboolean
is_on(const char *v)
{
    return v && strcmp(v, "on") == 0;
}

/* <@name @names=@values.../> again, every value escaped. */
static char *
element_xml(const char *name, const char **names, const char **values)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "<%s", name);
    for (guint i = 0; names[i]; i++) {
        g_autofree char *v = g_markup_escape_text(values[i], -1);
        g_string_append_printf(s, " %s='%s'", names[i], v);
    }
    g_string_append(s, "/>");
    return g_string_free(s, FALSE);
}

/* <numatune><memory mode= nodeset=/>: libvirt's default mode is strict; placement='auto'
 * (numad) has no nodeset in the definition. */
static void
read_numatune(Parser *p, const char **names, const char **values, GError **error)
{
    static const struct {
        const char *name;
        VmbNumatuneMode mode;
    } modes[] = {{"strict", VMB_NUMATUNE_STRICT},
                 {"restrictive", VMB_NUMATUNE_STRICT},
                 {"preferred", VMB_NUMATUNE_PREFERRED},
                 {"interleave", VMB_NUMATUNE_INTERLEAVE}};
    const char *mode = vmb_markup_attr(names, values, "mode");
    const char *nodeset = vmb_markup_attr(names, values, "nodeset");
    VmbNumatuneMode m = mode ? VMB_NUMATUNE_NONE : VMB_NUMATUNE_STRICT;
    for (guint k = 0; mode && k < G_N_ELEMENTS(modes); k++)
        if (strcmp(mode, modes[k].name) == 0)
            m = modes[k].mode;
    gboolean all = FALSE;
    if (m == VMB_NUMATUNE_NONE) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "<numatune><memory mode='%.32s'>: expected strict, restrictive, preferred or "
                    "interleave",
                    mode);
        return;
    }
    if (!nodeset)
        return; /* placement='auto': numad decides, nothing to read */
    if (!vmb_cpuset_parse(nodeset, &p->out->numatune_nodes, &all, NULL) || all) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "<numatune><memory nodeset='%.64s'>: expected a node list such as 0-1,3 "
                    "(nodes 0..%d)",
                    nodeset, VMB_MAX_CPUS - 1);
        return;
    }
    p->out->numatune = m;
}

static void
on_start(GMarkupParseContext *ctx, const char *name, const char **names, const char **values,
         gpointer data, GError **error)
{
    Parser *p = data;
    if (p->depth >= MAX_DEPTH) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "XML nested too deep");
        return;
    }
    p->stack[p->depth++] = g_strdup(name);
    gboolean in_devices = p->depth == 3 && at(p, 0, "domain") && at(p, 1, "devices");
    if (in_devices && strcmp(name, "memballoon") == 0) {
        const char *model = vmb_markup_attr(names, values, "model");
        p->out->balloon = model && strcmp(model, "none") != 0;
        p->out->autodeflate = is_on(vmb_markup_attr(names, values, "autodeflate"));
        p->out->free_page_reporting = is_on(vmb_markup_attr(names, values, "freePageReporting"));
    } else if (in_devices && strcmp(name, "memory") == 0 && !p->vmem_done &&
               g_strcmp0(vmb_markup_attr(names, values, "model"), "virtio-mem") == 0) {
        p->in_vmem = TRUE;
        p->out->vmem.present = TRUE;
    } else if (p->in_vmem && p->depth == 4 && strcmp(name, "alias") == 0) {
        g_free(p->out->vmem.alias);
        p->out->vmem.alias = g_strdup(vmb_markup_attr(names, values, "name"));
    } else if (p->in_vmem && p->depth == 4 && strcmp(name, "address") == 0) {
        g_free(p->out->vmem.address);
        p->out->vmem.address = element_xml(name, names, values);
    }
    if (p->depth == 4 && at(p, 0, "domain") && at(p, 1, "cpu") && at(p, 2, "numa") &&
        strcmp(name, "cell") == 0) {
        guint64 kib = 0;
        if (!vmb_xml_size_kib(vmb_markup_attr(names, values, "memory"),
                              vmb_markup_attr(names, values, "unit"), &kib) ||
            kib > G_MAXUINT64 - p->out->numa_kib) {
            g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                        "a NUMA cell's memory is not a size");
            return;
        }
        p->out->numa_kib += kib;
    }
    if (p->depth == 3 && at(p, 0, "domain") && at(p, 1, "numatune") && strcmp(name, "memory") == 0)
        read_numatune(p, names, values, error);
    Leaf leaf = leaf_of(p, name);
    if (leaf != LEAF_NONE)
        start_leaf(p, leaf, names, values);
}

/* Stores the leaf just closed. */
static gboolean
store_leaf(Parser *p, GError **error)
{
    VmbVirtioMemXml *vm = &p->out->vmem;
    guint64 kib = 0;
    if (p->leaf == LEAF_VMEM_NODE) {
        guint64 node = 0;
        if (!g_ascii_string_to_unsigned(g_strstrip(p->text->str), 10, 0, 4095, &node, NULL))
            goto bad;
        vm->node = (guint) node;
        return TRUE;
    }
    if (!vmb_xml_size_kib(p->text->str, p->unit, &kib))
        goto bad;
    switch (p->leaf) {
    case LEAF_MEMORY:
        p->out->memory_kib = kib;
        break;
    case LEAF_CURRENT_MEMORY:
        p->out->current_kib = kib;
        break;
    case LEAF_VMEM_SIZE:
        vm->size_kib = kib;
        break;
    case LEAF_VMEM_BLOCK:
        vm->block_kib = kib;
        break;
    case LEAF_VMEM_REQUESTED:
        vm->requested_kib = kib;
        break;
    case LEAF_VMEM_CURRENT:
        vm->current_kib = kib;
        vm->have_current = TRUE;
        break;
    default:
        break;
    }
    return TRUE;
bad:
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "<%s> is not a size: \"%.32s\" unit \"%.16s\"", p->stack[p->depth - 1],
                p->text->str, p->unit ? p->unit : "");
    return FALSE;
}

static void
on_end(GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
    Parser *p = data;
    if (p->leaf != LEAF_NONE && leaf_of(p, name) == p->leaf) {
        if (!store_leaf(p, error))
            return;
        p->leaf = LEAF_NONE;
    }
    if (p->in_vmem && p->depth == 3) {
        p->in_vmem = FALSE;
        p->vmem_done = TRUE;
    }
    g_free(p->stack[--p->depth]);
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
    Parser *p = data;
    if (p->leaf != LEAF_NONE)
        g_string_append_len(p->text, text, (gssize) len);
}

/* A virtio-mem device must make sense before anyone sizes by it. */
static gboolean
check_vmem(const VmbVirtioMemXml *vm, GError **error)
{
    if (!vm->present)
        return TRUE;
    if (!vm->block_kib || !vm->size_kib || vm->size_kib % vm->block_kib ||
        vm->requested_kib % vm->block_kib || vm->requested_kib > vm->size_kib ||
        (vm->have_current && vm->current_kib > vm->size_kib)) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "virtio-mem device with inconsistent sizes (size %" G_GUINT64_FORMAT
                    " KiB, block %" G_GUINT64_FORMAT " KiB, requested %" G_GUINT64_FORMAT " KiB)",
                    vm->size_kib, vm->block_kib, vm->requested_kib);
        return FALSE;
    }
    return TRUE;
}

gboolean
vmb_domain_mem_xml_parse(const char *xml, VmbDomainMemXml *out, GError **error)
{
    static const GMarkupParser funcs = {on_start, on_end, on_text, NULL, NULL};
    memset(out, 0, sizeof(*out));
    Parser p = {.out = out, .text = g_string_new(NULL)};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&funcs, 0, &p, NULL);
    gboolean ok = g_markup_parse_context_parse(ctx, xml, -1, error) &&
                  g_markup_parse_context_end_parse(ctx, error) && check_vmem(&out->vmem, error);
    g_markup_parse_context_free(ctx);
    for (guint i = 0; i < p.depth; i++)
        g_free(p.stack[i]);
    g_string_free(p.text, TRUE);
    g_free(p.unit);
    if (!ok)
        vmb_domain_mem_xml_clear(out);
    return ok;
}

void
vmb_domain_mem_xml_clear(VmbDomainMemXml *x)
{
    g_free(x->vmem.alias);
    g_free(x->vmem.address);
    memset(x, 0, sizeof(*x));
}

gint
vmb_numatune_node(const VmbDomainMemXml *x)
{
    if (x->numatune != VMB_NUMATUNE_STRICT && x->numatune != VMB_NUMATUNE_PREFERRED)
        return -1;
    if (vmb_cpuset_count(&x->numatune_nodes) != 1)
        return -1;
    for (guint n = 0; n < VMB_MAX_CPUS; n++) {
        if (vmb_cpuset_has(&x->numatune_nodes, n))
            return (gint) n;
    }
    return -1;
}
