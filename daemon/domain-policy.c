/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-policy.h"

#include <math.h>
#include <string.h>

#include "meta-element.h"

const char *const vmb_domain_policy_keys[] = {"cpu",     "memory",  "weight",
                                              "min_mib", "max_mib", NULL};

static gboolean
bad_value(GError **error, const char *key, const char *value, const char *allowed)
{
    g_autofree char *v = vmb_meta_shown(value);
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "attribute '%s' = '%s': allowed %s", key, v, allowed);
    return FALSE;
}

static gboolean
parse_mode(const char *key, const char *value, gboolean *off, GError **error)
{
    if (strcmp(value, "auto") == 0 || strcmp(value, "off") == 0) {
        *off = value[0] == 'o';
        return TRUE;
    }
    return bad_value(error, key, value, "auto or off");
}

static gboolean
parse_weight(const char *value, double *weight, GError **error)
{
    char *end = NULL;
    double w = value[0] && !g_ascii_isspace(value[0]) ? g_ascii_strtod(value, &end) : NAN;
    if (end && *end == '\0' && isfinite(w) && w >= VMB_POLICY_WEIGHT_MIN &&
        w <= VMB_POLICY_WEIGHT_MAX) {
        *weight = w;
        return TRUE;
    }
    return bad_value(error, "weight", value, "a number in 0.1..100");
}

static gboolean
parse_mib(const char *key, const char *value, guint64 *mib, GError **error)
{
    if (g_ascii_string_to_unsigned(value, 10, VMB_POLICY_MIB_MIN, VMB_POLICY_MIB_MAX, mib, NULL))
        return TRUE;
    return bad_value(error, key, value, "an integer in 1..16777216 (MiB)");
}

static gboolean
key_bit(const char *key, guint *bit, GError **error)
{
    for (guint i = 0; vmb_domain_policy_keys[i]; i++) {
        if (strcmp(key, vmb_domain_policy_keys[i]) == 0) {
            *bit = 1u << i;
            return TRUE;
        }
    }
    g_autofree char *k = vmb_meta_shown(key);
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ATTRIBUTE,
                "unknown attribute '%s': allowed cpu, memory, weight, min_mib, max_mib", k);
    return FALSE;
}

/* Stores the value of @bit in @p. */
static gboolean
store(VmbDomainPolicy *p, guint bit, const char *key, const char *value, GError **error)
{
    switch (bit) {
    case VMB_POLICY_CPU:
        return parse_mode(key, value, &p->cpu_off, error);
    case VMB_POLICY_MEMORY:
        return parse_mode(key, value, &p->memory_off, error);
    case VMB_POLICY_WEIGHT:
        return parse_weight(value, &p->weight, error);
    case VMB_POLICY_MIN_MIB:
        return parse_mib(key, value, &p->min_mib, error);
    default:
        return parse_mib(key, value, &p->max_mib, error);
    }
}

/* A floor above the ceiling cannot be met: refuse it rather than pick one. */
static gboolean
check_bounds(const VmbDomainPolicy *p, GError **error)
{
    guint both = VMB_POLICY_MIN_MIB | VMB_POLICY_MAX_MIB;
    if ((p->set & both) != both || p->min_mib <= p->max_mib)
        return TRUE;
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "attribute 'min_mib' = '%" G_GUINT64_FORMAT
                "': allowed at most max_mib (%" G_GUINT64_FORMAT ")",
                p->min_mib, p->max_mib);
    return FALSE;
}

gboolean
vmb_domain_policy_set_key(VmbDomainPolicy *p, const char *key, const char *value, GError **error)
{
    guint bit = 0;
    if (!key_bit(key, &bit, error))
        return FALSE;
    VmbDomainPolicy copy = *p;
    if (!store(&copy, bit, key, value, error))
        return FALSE;
    copy.set |= bit;
    if (!check_bounds(&copy, error))
        return FALSE;
    *p = copy;
    return TRUE;
}

gboolean
vmb_domain_policy_reset_key(VmbDomainPolicy *p, const char *key, GError **error)
{
    guint bit = 0;
    if (!key_bit(key, &bit, error))
        return FALSE;
    p->set &= ~bit;
    return TRUE;
}

/* ---- the element ---- */

/* One attribute of the element (meta-element.h): a known key, once, with a valid value. */
static gboolean
take_attribute(const char *name, const char *value, gpointer data, GError **error)
{
    VmbDomainPolicy *out = data;
    guint bit = 0;
    if (!key_bit(name, &bit, error))
        return FALSE;
    if (out->set & bit) {
        g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                    "attribute '%s' given twice", name);
        return FALSE;
    }
    if (!store(out, bit, name, value, error))
        return FALSE;
    out->set |= bit;
    return TRUE;
}

gboolean
vmb_domain_policy_parse(const char *xml, gssize len, VmbDomainPolicy *out, GError **error)
{
    static const VmbMetaElement element = {VMB_POLICY_ELEMENT, VMB_POLICY_XMLNS,
                                           VMB_POLICY_MAX_XML};
    memset(out, 0, sizeof *out);
    if (vmb_meta_element_parse(&element, xml, len, take_attribute, out, error) &&
        check_bounds(out, error))
        return TRUE;
    memset(out, 0, sizeof *out);
    return FALSE;
}

char *
vmb_domain_policy_to_xml(const VmbDomainPolicy *p)
{
    GString *s = g_string_new("<" VMB_POLICY_ELEMENT);
    if (p->set & VMB_POLICY_CPU)
        g_string_append_printf(s, " cpu=\"%s\"", p->cpu_off ? "off" : "auto");
    if (p->set & VMB_POLICY_MEMORY)
        g_string_append_printf(s, " memory=\"%s\"", p->memory_off ? "off" : "auto");
    if (p->set & VMB_POLICY_WEIGHT) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf(s, " weight=\"%s\"", g_ascii_dtostr(buf, sizeof buf, p->weight));
    }
    if (p->set & VMB_POLICY_MIN_MIB)
        g_string_append_printf(s, " min_mib=\"%" G_GUINT64_FORMAT "\"", p->min_mib);
    if (p->set & VMB_POLICY_MAX_MIB)
        g_string_append_printf(s, " max_mib=\"%" G_GUINT64_FORMAT "\"", p->max_mib);
    g_string_append(s, "/>");
    return g_string_free(s, FALSE);
}

/* ---- the effective policy ---- */

const char *
vmb_policy_source_name(VmbPolicySource s)
{
    static const char *const names[] = {"default",    "configuration", "metadata",
                                        "definition", "operator",      "state"};
    return (guint) s < G_N_ELEMENTS(names) ? names[s] : "unknown";
}

/* One of the two modes: the first hands-off rule that applies, else metadata, else the
 * configuration's exclude, else managed. */
static void
resolve_mode(gboolean frozen, gboolean definition, gboolean operator, const VmbDomainPolicy * meta,
             guint bit, gboolean meta_off, gboolean excluded, gboolean *managed,
             VmbPolicySource *from)
{
    *managed = FALSE;
    if (frozen)
        *from = VMB_FROM_STATE;
    else if (definition)
        *from = VMB_FROM_DEFINITION;
    else if (operator)
        *from = VMB_FROM_OPERATOR;
    else if (meta && (meta->set & bit)) {
        *managed = !meta_off;
        *from = VMB_FROM_METADATA;
    } else if (excluded)
        *from = VMB_FROM_CONFIG;
    else {
        *managed = TRUE;
        *from = VMB_FROM_DEFAULT;
    }
}

void
vmb_domain_policy_resolve(const VmbDomainPolicy *meta, const VmbPolicyContext *ctx,
                          VmbEffectivePolicy *out)
{
    memset(out, 0, sizeof *out);
    resolve_mode(ctx->frozen, ctx->cpu_hands_off, ctx->operator_cpu, meta, VMB_POLICY_CPU,
                 meta && meta->cpu_off, ctx->config_excluded, &out->cpu_managed, &out->cpu_from);
    resolve_mode(ctx->frozen, ctx->memory_hands_off, ctx->operator_memory, meta, VMB_POLICY_MEMORY,
                 meta && meta->memory_off, ctx->config_excluded, &out->memory_managed,
                 &out->memory_from);

    out->weight = 1.0;
    if (meta && (meta->set & VMB_POLICY_WEIGHT)) {
        out->weight = meta->weight;
        out->weight_from = VMB_FROM_METADATA;
    } else if (ctx->config_weighted) {
        out->weight = ctx->config_weight;
        out->weight_from = VMB_FROM_CONFIG;
    }
    if (meta && (meta->set & VMB_POLICY_MIN_MIB)) {
        out->min_mib = meta->min_mib;
        out->min_from = VMB_FROM_METADATA;
    }
    if (meta && (meta->set & VMB_POLICY_MAX_MIB)) {
        out->max_mib = meta->max_mib;
        out->max_from = VMB_FROM_METADATA;
    }
}
