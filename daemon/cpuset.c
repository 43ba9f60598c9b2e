/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpuset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(vmb - cpuset - error - quark, vmb_cpuset_error)

void
vmb_cpuset_clear(VmbCpuSet *set)
{
    memset(set, 0, sizeof(*set));
}

void
vmb_cpuset_add(VmbCpuSet *set, guint cpu)
{
    if (cpu < VMB_MAX_CPUS)
        set->bits[cpu / 64] |= G_GUINT64_CONSTANT(1) << (cpu % 64);
}

gboolean
vmb_cpuset_has(const VmbCpuSet *set, guint cpu)
{
    return cpu < VMB_MAX_CPUS && (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

guint
vmb_cpuset_count(const VmbCpuSet *set)
{
    guint n = 0;
    for (guint i = 0; i < G_N_ELEMENTS(set->bits); i++)
        n += __builtin_popcountll(set->bits[i]);
    return n;
}

gboolean
vmb_cpuset_is_empty(const VmbCpuSet *set)
{
    return vmb_cpuset_count(set) == 0;
}

gboolean
vmb_cpuset_equal(const VmbCpuSet *a, const VmbCpuSet *b)
{
    return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

gint
vmb_cpuset_first(const VmbCpuSet *set)
{
    for (guint w = 0; w < G_N_ELEMENTS(set->bits); w++) {
        if (set->bits[w])
            return (gint) (w * 64 + (guint) __builtin_ctzll(set->bits[w]));
    }
    return -1;
}

static gboolean
parse_cpu(const char *s, char **end, guint *cpu)
{
    if (!g_ascii_isdigit(*s))
        return FALSE;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, end, 10);
    if (errno || v >= VMB_MAX_CPUS)
        return FALSE;
    *cpu = (guint) v;
    return TRUE;
}

gboolean
vmb_cpuset_parse(const char *text, VmbCpuSet *set, gboolean *all, GError **error)
{
    vmb_cpuset_clear(set);
    *all = FALSE;
    g_autofree char *copy = g_strstrip(g_strdup(text));
    if (g_ascii_strcasecmp(copy, "all") == 0) {
        *all = TRUE;
        return TRUE;
    }
    g_auto(GStrv) parts = g_strsplit(copy, ",", -1);
    for (guint i = 0; parts[i]; i++) {
        char *p = g_strstrip(parts[i]);
        char *end = NULL;
        guint lo, hi;
        if (!parse_cpu(p, &end, &lo))
            goto bad;
        hi = lo;
        if (*end == '-') {
            if (!parse_cpu(end + 1, &end, &hi) || hi < lo)
                goto bad;
        }
        if (*end != '\0')
            goto bad;
        for (guint c = lo; c <= hi; c++)
            vmb_cpuset_add(set, c);
    }
    if (vmb_cpuset_is_empty(set))
        goto bad;
    return TRUE;
bad:
    g_set_error(error, VMB_CPUSET_ERROR, VMB_CPUSET_ERROR_INVALID,
                "expected \"all\" or a CPU list such as 0-3,6 with CPU numbers 0..%d",
                VMB_MAX_CPUS - 1);
    return FALSE;
}

char *
vmb_cpuset_format(const VmbCpuSet *set)
{
    GString *out = g_string_new(NULL);
    for (guint c = 0; c < VMB_MAX_CPUS; c++) {
        if (!vmb_cpuset_has(set, c))
            continue;
        guint end = c;
        while (end + 1 < VMB_MAX_CPUS && vmb_cpuset_has(set, end + 1))
            end++;
        if (out->len)
            g_string_append_c(out, ',');
        if (end == c)
            g_string_append_printf(out, "%u", c);
        else
            g_string_append_printf(out, "%u-%u", c, end);
        c = end;
    }
    return g_string_free(out, FALSE);
}
