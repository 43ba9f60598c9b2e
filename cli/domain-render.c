/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-render.h"

#include <json-glib/json-glib.h>

static const char *
str(GVariant *policy, const char *key)
{
    const char *v = NULL;
    return g_variant_lookup(policy, key, "&s", &v) ? v : "?";
}

/* A size in MiB, "none" for no bound. */
static char *
mib(GVariant *policy, const char *key)
{
    guint64 v = 0;
    if (!g_variant_lookup(policy, key, "t", &v) || v == 0)
        return g_strdup("none");
    return g_strdup_printf("%" G_GUINT64_FORMAT " MiB", v);
}

char *
vmb_domain_to_text(GVariant *policy)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s (%s)\n", str(policy, "name"), str(policy, "uuid"));
    g_string_append_printf(s, "  %-8s %-10s from %s\n", "cpu", str(policy, "cpu"),
                           str(policy, "cpu-from"));
    g_string_append_printf(s, "  %-8s %-10s from %s\n", "memory", str(policy, "memory"),
                           str(policy, "memory-from"));
    double weight = 1;
    g_variant_lookup(policy, "weight", "d", &weight);
    g_string_append_printf(s, "  %-8s %-10g from %s\n", "weight", weight,
                           str(policy, "weight-from"));
    g_autofree char *min = mib(policy, "min-mib");
    g_autofree char *max = mib(policy, "max-mib");
    g_string_append_printf(s, "  %-8s %-10s from %s\n", "min_mib", min, str(policy, "min-from"));
    g_string_append_printf(s, "  %-8s %-10s from %s\n", "max_mib", max, str(policy, "max-from"));
    const char *meta = str(policy, "metadata");
    gboolean refused = FALSE;
    g_variant_lookup(policy, "metadata-refused", "b", &refused);
    g_string_append_printf(s, "  metadata: %s\n",
                           refused ? "invalid (see the journal): the host's settings apply"
                           : *meta ? meta
                                   : "none");
    g_autoptr(GVariant) reasons =
        g_variant_lookup_value(policy, "hands-off", G_VARIANT_TYPE_STRING_ARRAY);
    gsize n = 0;
    g_autofree const char **list = reasons ? g_variant_get_strv(reasons, &n) : NULL;
    for (gsize i = 0; i < n; i++)
        g_string_append_printf(s, "  hands off: %s\n", list[i]);
    return g_string_free(s, FALSE);
}

char *
vmb_domain_to_json(GVariant *policy)
{
    g_autoptr(JsonNode) node = json_gvariant_serialize(policy);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, node);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    return g_strconcat(text, "\n", NULL);
}
