/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "topology-caps.h"
#include "markup-attr.h"

#include <errno.h>
#include <string.h>

typedef struct {
    VmbTopologyBuilder *b;
    GPtrArray *path; /* element names from the root */
    gint cell;       /* current <cell id>, -1 outside */
    gboolean in_memory;
    guint64 mem_scale; /* KiB per unit of the current <memory> */
    GString *text;
    guint cpus; /* CPUs added */
    guint max_cpu;
    gint cache_level; /* highest bank level seen */
    GPtrArray *banks; /* VmbCpuSet* of the banks at cache_level */
} Parse;

static gboolean
in(const Parse *ps, const char *const *names)
{
    guint n = g_strv_length((char **) names);
    if (ps->path->len != n)
        return FALSE;
    for (guint i = 0; i < n; i++) {
        if (strcmp(g_ptr_array_index(ps->path, i), names[i]) != 0)
            return FALSE;
    }
    return TRUE;
}

static gboolean
bad(GError **error, const char *element, const char *attr, const char *value, const char *want)
{
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "capabilities: <%s %s='%s'>: expected %s", element, attr, value ? value : "", want);
    return FALSE;
}

/* A non-negative integer attribute; @required or absent -> -1. */
static gboolean
int_attr(const char *element, const char **names, const char **values, const char *attr,
         gboolean required, gint64 max, gint64 *out, GError **error)
{
    *out = -1;
    for (guint i = 0; names[i]; i++) {
        if (strcmp(names[i], attr) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        guint64 v = g_ascii_strtoull(values[i], &end, 10);
        if (!g_ascii_isdigit(values[i][0]) || *end || errno || v > (guint64) max)
            return bad(error, element, attr, values[i], "a non-negative integer in range");
        *out = (gint64) v;
        return TRUE;
    }
    if (required)
        return bad(error, element, attr, NULL, "the attribute");
    return TRUE;
}

static const char *const CELL[] = {"capabilities", "host", "topology", "cells", "cell", NULL};
static const char *const CPUS[] = {"capabilities", "host", "topology", "cells",
                                   "cell",         "cpus", NULL};
static const char *const DISTS[] = {"capabilities", "host",      "topology", "cells",
                                    "cell",         "distances", NULL};
static const char *const CACHE[] = {"capabilities", "host", "cache", NULL};

static gboolean
start_cell(Parse *ps, const char **n, const char **v, GError **error)
{
    gint64 id;
    if (!int_attr("cell", n, v, "id", TRUE, 0xffff, &id, error))
        return FALSE;
    ps->cell = (gint) id;
    vmb_topology_builder_node(ps->b, ps->cell, 0);
    return TRUE;
}

static gboolean
start_cpu(Parse *ps, const char **n, const char **v, GError **error)
{
    gint64 id, socket, die, core;
    if (!int_attr("cpu", n, v, "id", TRUE, VMB_MAX_CPUS - 1, &id, error) ||
        !int_attr("cpu", n, v, "socket_id", FALSE, G_MAXINT, &socket, error) ||
        !int_attr("cpu", n, v, "die_id", FALSE, G_MAXINT, &die, error) ||
        !int_attr("cpu", n, v, "core_id", FALSE, G_MAXINT, &core, error))
        return FALSE;
    gboolean ok = socket >= 0 && core >= 0
                      ? vmb_topology_builder_cpu(ps->b, (guint) id, (gint) socket,
                                                 (gint) MAX(die, 0), (gint) core, ps->cell)
                      : vmb_topology_builder_offline(ps->b, (guint) id, ps->cell);
    if (!ok)
        return bad(error, "cpu", "id", vmb_markup_attr(n, v, "id"), "a CPU listed once");
    ps->cpus++;
    ps->max_cpu = MAX(ps->max_cpu, (guint) id);
    return TRUE;
}

static gboolean
start_bank(Parse *ps, const char **n, const char **v, GError **error)
{
    gint64 level;
    if (!int_attr("bank", n, v, "level", TRUE, 16, &level, error))
        return FALSE;
    const char *cpus = vmb_markup_attr(n, v, "cpus");
    g_autofree VmbCpuSet *set = g_new0(VmbCpuSet, 1);
    g_autoptr(GError) local = NULL;
    gboolean all = FALSE;
    if (!cpus || !vmb_cpuset_parse(cpus, set, &all, &local) || all)
        return bad(error, "bank", "cpus", cpus, "a CPU list");
    if (level < ps->cache_level)
        return TRUE;
    if (level > ps->cache_level)
        g_ptr_array_set_size(ps->banks, 0);
    ps->cache_level = (gint) level;
    g_ptr_array_add(ps->banks, g_steal_pointer(&set));
    return TRUE;
}

static void
on_start(GMarkupParseContext *ctx, const char *name, const char **n, const char **v, gpointer data,
         GError **error)
{
    (void) ctx;
    Parse *ps = data;
    g_ptr_array_add(ps->path, g_strdup(name));
    if (ps->path->len == 5 && in(ps, CELL)) {
        start_cell(ps, n, v, error);
        return;
    }
    if (ps->path->len == 6 && strcmp(name, "memory") == 0 && ps->cell >= 0) {
        const char *unit = vmb_markup_attr(n, v, "unit");
        ps->in_memory = TRUE;
        g_string_truncate(ps->text, 0);
        if (!unit || strcmp(unit, "KiB") == 0)
            ps->mem_scale = 1;
        else if (strcmp(unit, "MiB") == 0)
            ps->mem_scale = 1024;
        else if (strcmp(unit, "GiB") == 0)
            ps->mem_scale = 1024 * 1024;
        else
            bad(error, "memory", "unit", unit, "KiB, MiB or GiB");
        return;
    }
    g_ptr_array_set_size(ps->path, ps->path->len - 1);
    gboolean cpu = in(ps, CPUS) && strcmp(name, "cpu") == 0;
    gboolean sib = in(ps, DISTS) && strcmp(name, "sibling") == 0;
    gboolean bank = in(ps, CACHE) && strcmp(name, "bank") == 0;
    g_ptr_array_add(ps->path, g_strdup(name));
    if (cpu)
        start_cpu(ps, n, v, error);
    else if (bank)
        start_bank(ps, n, v, error);
    else if (sib) {
        gint64 id, value;
        if (int_attr("sibling", n, v, "id", TRUE, 0xffff, &id, error) &&
            int_attr("sibling", n, v, "value", TRUE, 255, &value, error))
            vmb_topology_builder_distance(ps->b, ps->cell, (gint) id, (guint) value);
    }
}

static void
on_end(GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
    (void) ctx;
    Parse *ps = data;
    if (ps->in_memory && strcmp(name, "memory") == 0) {
        ps->in_memory = FALSE;
        g_strstrip(ps->text->str);
        char *end = NULL;
        errno = 0;
        guint64 v = g_ascii_strtoull(ps->text->str, &end, 10);
        if (!g_ascii_isdigit(ps->text->str[0]) || *end || errno || v > G_MAXUINT64 / ps->mem_scale)
            bad(error, "memory", "(text)", ps->text->str, "a size");
        else
            vmb_topology_builder_node(ps->b, ps->cell, v * ps->mem_scale);
    }
    if (ps->path->len == 5 && in(ps, CELL))
        ps->cell = -1;
    g_ptr_array_set_size(ps->path, ps->path->len - 1);
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
    (void) ctx;
    (void) error;
    Parse *ps = data;
    if (ps->in_memory)
        g_string_append_len(ps->text, text, (gssize) len);
}

VmbTopology *
vmb_topology_from_caps(const char *xml, guint npcpus, GError **error)
{
    static const GMarkupParser parser = {on_start, on_end, on_text, NULL, NULL};
    g_autoptr(VmbTopologyBuilder) b = vmb_topology_builder_new();
    g_autoptr(GPtrArray) path = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) banks = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) text = g_string_new(NULL);
    Parse ps = {.b = b, .path = path, .cell = -1, .text = text, .banks = banks, .mem_scale = 1};
    g_autoptr(GMarkupParseContext) ctx = g_markup_parse_context_new(&parser, 0, &ps, NULL);
    if (!xml || !g_markup_parse_context_parse(ctx, xml, -1, error) ||
        !g_markup_parse_context_end_parse(ctx, error)) {
        if (!xml)
            g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_EMPTY, "capabilities: no XML");
        return NULL;
    }
    if (ps.cpus == 0)
        return vmb_topology_new_flat(npcpus);
    for (guint k = 0; k < banks->len; k++)
        vmb_topology_builder_cache(b, g_ptr_array_index(banks, k));
    return vmb_topology_builder_end(b, npcpus ? npcpus : ps.max_cpu + 1, error);
}
