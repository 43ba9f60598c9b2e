/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vmbalance:policy metadata element and the effective policy, table-driven. */
#include <string.h>

#include "domain-policy.h"

#define NS "xmlns:vmbalance=\"" VMB_POLICY_XMLNS "\""

typedef struct {
    const char *name;
    const char *xml;
    guint set;
    gboolean cpu_off, memory_off;
    double weight;
    guint64 min_mib, max_mib;
    const char *error; /* substring of the message, NULL when valid */
} ParseCase;

// clang-format off
static const ParseCase parse_cases[] = {
    {"empty-element", "<vmbalance:policy " NS "/>", 0, FALSE, FALSE, 0, 0, 0, NULL},
    {"all", "<vmbalance:policy " NS " cpu=\"off\" memory=\"auto\" weight=\"2.5\" min_mib=\"512\" "
     "max_mib=\"4096\"/>", 0x1f, TRUE, FALSE, 2.5, 512, 4096, NULL},
    {"default-namespace", "<policy xmlns=\"" VMB_POLICY_XMLNS "\" memory=\"off\"/>",
     VMB_POLICY_MEMORY, FALSE, TRUE, 0, 0, 0, NULL},
    {"other-prefix", "<v:policy xmlns:v=\"" VMB_POLICY_XMLNS "\" cpu=\"auto\"></v:policy>",
     VMB_POLICY_CPU, FALSE, FALSE, 0, 0, 0, NULL},
    {"whitespace-content", "<vmbalance:policy " NS ">\n  </vmbalance:policy>", 0, FALSE, FALSE,
     0, 0, 0, NULL},
    {"bounds-equal", "<vmbalance:policy " NS " min_mib=\"1024\" max_mib=\"1024\"/>", 0x18, FALSE,
     FALSE, 0, 1024, 1024, NULL},
    {"weight-edges", "<vmbalance:policy " NS " weight=\"0.1\"/>", VMB_POLICY_WEIGHT, FALSE, FALSE,
     0.1, 0, 0, NULL},
    {"mib-max", "<vmbalance:policy " NS " max_mib=\"16777216\"/>", VMB_POLICY_MAX_MIB, FALSE,
     FALSE, 0, 0, 16777216, NULL},
    /* Refused, each naming what is wrong and what is allowed. */
    {"cpu-bad", "<vmbalance:policy " NS " cpu=\"yes\"/>", 0, 0, 0, 0, 0, 0,
     "attribute 'cpu' = 'yes': allowed auto or off"},
    {"cpu-case", "<vmbalance:policy " NS " cpu=\"OFF\"/>", 0, 0, 0, 0, 0, 0, "auto or off"},
    {"memory-empty", "<vmbalance:policy " NS " memory=\"\"/>", 0, 0, 0, 0, 0, 0,
     "attribute 'memory' = ''"},
    {"weight-zero", "<vmbalance:policy " NS " weight=\"0\"/>", 0, 0, 0, 0, 0, 0,
     "attribute 'weight' = '0': allowed a number in 0.1..100"},
    {"weight-big", "<vmbalance:policy " NS " weight=\"100.5\"/>", 0, 0, 0, 0, 0, 0, "0.1..100"},
    {"weight-nan", "<vmbalance:policy " NS " weight=\"nan\"/>", 0, 0, 0, 0, 0, 0, "0.1..100"},
    {"weight-inf", "<vmbalance:policy " NS " weight=\"inf\"/>", 0, 0, 0, 0, 0, 0, "0.1..100"},
    {"weight-trailing", "<vmbalance:policy " NS " weight=\"2x\"/>", 0, 0, 0, 0, 0, 0, "0.1..100"},
    {"weight-space", "<vmbalance:policy " NS " weight=\" 2\"/>", 0, 0, 0, 0, 0, 0, "0.1..100"},
    {"min-zero", "<vmbalance:policy " NS " min_mib=\"0\"/>", 0, 0, 0, 0, 0, 0,
     "attribute 'min_mib' = '0': allowed an integer in 1..16777216"},
    {"max-huge", "<vmbalance:policy " NS " max_mib=\"16777217\"/>", 0, 0, 0, 0, 0, 0,
     "attribute 'max_mib' = '16777217'"},
    {"min-negative", "<vmbalance:policy " NS " min_mib=\"-1\"/>", 0, 0, 0, 0, 0, 0, "min_mib"},
    {"min-over-max", "<vmbalance:policy " NS " min_mib=\"2048\" max_mib=\"1024\"/>", 0, 0, 0, 0,
     0, 0, "attribute 'min_mib' = '2048': allowed at most max_mib (1024)"},
    {"unknown-attribute", "<vmbalance:policy " NS " cpus=\"off\"/>", 0, 0, 0, 0, 0, 0,
     "unknown attribute 'cpus': allowed cpu, memory, weight, min_mib, max_mib"},
    {"prefixed-attribute", "<vmbalance:policy " NS " vmbalance:cpu=\"off\"/>", 0, 0, 0, 0, 0, 0,
     "unknown attribute 'vmbalance:cpu'"},
    {"twice", "<vmbalance:policy " NS " cpu=\"off\" cpu=\"auto\"/>", 0, 0, 0, 0, 0, 0, "cpu"},
    /* As virDomainGetMetadata() returns it (measured on test:/// and QEMU: no namespace). */
    {"as-libvirt-returns-it", "<policy cpu=\"off\"/>", VMB_POLICY_CPU, TRUE, FALSE, 0, 0, 0, NULL},
    {"undeclared-prefix", "<v:policy cpu=\"off\"/>", 0, 0, 0, 0, 0, 0, "undeclared prefix"},
    {"foreign-namespace", "<x:policy xmlns:x=\"urn:other\" cpu=\"off\"/>", 0, 0, 0, 0, 0, 0,
     "namespace 'urn:other': allowed " VMB_POLICY_XMLNS},
    {"wrong-element", "<vmbalance:tuning " NS "/>", 0, 0, 0, 0, 0, 0, "element 'vmbalance:tuning'"},
    {"child", "<vmbalance:policy " NS "><cpu/></vmbalance:policy>", 0, 0, 0, 0, 0, 0,
     "element 'cpu' inside policy"},
    {"text", "<vmbalance:policy " NS ">off</vmbalance:policy>", 0, 0, 0, 0, 0, 0, "text"},
    {"two-roots", "<vmbalance:policy " NS "/><vmbalance:policy " NS "/>", 0, 0, 0, 0, 0, 0, ""},
    {"empty", "", 0, 0, 0, 0, 0, 0, ""},
    {"not-xml", "cpu=off", 0, 0, 0, 0, 0, 0, ""},
    {"unclosed", "<vmbalance:policy " NS " cpu=\"off\">", 0, 0, 0, 0, 0, 0, ""},
    {"control-value", "<vmbalance:policy " NS " cpu=\"o&#1;f\"/>", 0, 0, 0, 0, 0, 0,
     "'cpu' = 'o\\001f'"},
};
// clang-format on

static void
test_parse(gconstpointer data)
{
    const ParseCase *c = data;
    VmbDomainPolicy p;
    memset(&p, 0xff, sizeof p);
    g_autoptr(GError) error = NULL;
    gboolean ok = vmb_domain_policy_parse(c->xml, -1, &p, &error);
    if (c->error) {
        g_assert_false(ok);
        g_assert_nonnull(error);
        g_assert_nonnull(strstr(error->message, c->error));
        g_assert_cmpuint(p.set, ==, 0); /* nothing half-parsed is kept */
        return;
    }
    g_assert_no_error(error);
    g_assert_true(ok);
    g_assert_cmpuint(p.set, ==, c->set);
    if (p.set & VMB_POLICY_CPU)
        g_assert_cmpint(p.cpu_off, ==, c->cpu_off);
    if (p.set & VMB_POLICY_MEMORY)
        g_assert_cmpint(p.memory_off, ==, c->memory_off);
    if (p.set & VMB_POLICY_WEIGHT)
        g_assert_cmpfloat_with_epsilon(p.weight, c->weight, 1e-9);
    if (p.set & VMB_POLICY_MIN_MIB)
        g_assert_cmpuint(p.min_mib, ==, c->min_mib);
    if (p.set & VMB_POLICY_MAX_MIB)
        g_assert_cmpuint(p.max_mib, ==, c->max_mib);

    /* What we write back reads the same once libvirt has put it in our namespace. */
    g_autofree char *out = vmb_domain_policy_to_xml(&p);
    g_autofree char *in = g_strdup_printf("<vmbalance:policy " NS "%s", out + strlen("<policy"));
    VmbDomainPolicy again;
    g_assert_true(vmb_domain_policy_parse(in, -1, &again, NULL));
    g_assert_cmpuint(again.set, ==, p.set);
    g_autofree char *out2 = vmb_domain_policy_to_xml(&again);
    g_assert_cmpstr(out, ==, out2);
}

static void
test_too_long(void)
{
    GString *s = g_string_new("<vmbalance:policy " NS " ");
    while (s->len <= VMB_POLICY_MAX_XML)
        g_string_append(s, "                ");
    g_string_append(s, "/>");
    VmbDomainPolicy p;
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_domain_policy_parse(s->str, (gssize) s->len, &p, &error));
    g_assert_nonnull(strstr(error->message, "allowed at most 4096"));
    g_string_free(s, TRUE);
}

static void
test_set_reset(void)
{
    VmbDomainPolicy p = {0};
    g_autoptr(GError) error = NULL;
    g_assert_true(vmb_domain_policy_set_key(&p, "max_mib", "1024", &error));
    g_assert_false(vmb_domain_policy_set_key(&p, "min_mib", "2048", &error));
    g_assert_nonnull(strstr(error->message, "at most max_mib"));
    g_assert_cmpuint(p.set, ==, VMB_POLICY_MAX_MIB); /* unchanged */
    g_clear_error(&error);
    g_assert_false(vmb_domain_policy_set_key(&p, "weight", "-3", &error));
    g_clear_error(&error);
    g_assert_false(vmb_domain_policy_set_key(&p, "bogus", "1", &error));
    g_assert_nonnull(strstr(error->message, "unknown attribute 'bogus'"));
    g_clear_error(&error);
    g_assert_true(vmb_domain_policy_set_key(&p, "cpu", "off", NULL));
    g_assert_true(p.cpu_off && (p.set & VMB_POLICY_CPU));
    g_assert_true(vmb_domain_policy_reset_key(&p, "cpu", NULL));
    g_assert_cmpuint(p.set, ==, VMB_POLICY_MAX_MIB);
    g_assert_false(vmb_domain_policy_reset_key(&p, "cpux", &error));
    g_autofree char *xml = vmb_domain_policy_to_xml(&p);
    g_assert_cmpstr(xml, ==, "<policy max_mib=\"1024\"/>");
}

typedef struct {
    const char *name;
    const char *meta; /* attributes of the element, NULL for no metadata */
    VmbPolicyContext ctx;
    gboolean cpu_managed, memory_managed;
    VmbPolicySource cpu_from, memory_from, weight_from;
    double weight;
} ResolveCase;

#define CTX(...) ((VmbPolicyContext){__VA_ARGS__})
// clang-format off
static const ResolveCase resolve_cases[] = {
    {"defaults", NULL, CTX(0), TRUE, TRUE, VMB_FROM_DEFAULT, VMB_FROM_DEFAULT, VMB_FROM_DEFAULT, 1},
    {"excluded", NULL, CTX(.config_excluded = TRUE), FALSE, FALSE, VMB_FROM_CONFIG,
     VMB_FROM_CONFIG, VMB_FROM_DEFAULT, 1},
    {"config-weight", NULL, CTX(.config_weighted = TRUE, .config_weight = 3), TRUE, TRUE,
     VMB_FROM_DEFAULT, VMB_FROM_DEFAULT, VMB_FROM_CONFIG, 3},
    /* Metadata wins over exclude and weights. */
    {"metadata-over-exclude", "cpu=\"auto\"", CTX(.config_excluded = TRUE), TRUE, FALSE,
     VMB_FROM_METADATA, VMB_FROM_CONFIG, VMB_FROM_DEFAULT, 1},
    {"metadata-weight", "weight=\"5\"", CTX(.config_weighted = TRUE, .config_weight = 3), TRUE,
     TRUE, VMB_FROM_DEFAULT, VMB_FROM_DEFAULT, VMB_FROM_METADATA, 5},
    {"metadata-cpu-off", "cpu=\"off\"", CTX(0), FALSE, TRUE, VMB_FROM_METADATA, VMB_FROM_DEFAULT,
     VMB_FROM_DEFAULT, 1},
    {"metadata-memory-off", "memory=\"off\"", CTX(0), TRUE, FALSE, VMB_FROM_DEFAULT,
     VMB_FROM_METADATA, VMB_FROM_DEFAULT, 1},
    /* The hands-off rules win over metadata. */
    {"definition-pins", "cpu=\"auto\"", CTX(.cpu_hands_off = TRUE), FALSE, TRUE,
     VMB_FROM_DEFINITION, VMB_FROM_DEFAULT, VMB_FROM_DEFAULT, 1},
    {"hugepages", "memory=\"auto\"", CTX(.memory_hands_off = TRUE), TRUE, FALSE,
     VMB_FROM_DEFAULT, VMB_FROM_DEFINITION, VMB_FROM_DEFAULT, 1},
    {"operator-pin", NULL, CTX(.operator_cpu = TRUE), FALSE, TRUE, VMB_FROM_OPERATOR,
     VMB_FROM_DEFAULT, VMB_FROM_DEFAULT, 1},
    {"operator-target", NULL, CTX(.operator_memory = TRUE), TRUE, FALSE, VMB_FROM_DEFAULT,
     VMB_FROM_OPERATOR, VMB_FROM_DEFAULT, 1},
    {"frozen", "cpu=\"auto\" memory=\"auto\"", CTX(.frozen = TRUE, .cpu_hands_off = TRUE), FALSE,
     FALSE, VMB_FROM_STATE, VMB_FROM_STATE, VMB_FROM_DEFAULT, 1},
};
// clang-format on

static void
test_resolve(gconstpointer data)
{
    const ResolveCase *c = data;
    VmbDomainPolicy meta;
    if (c->meta) {
        g_autofree char *xml = g_strdup_printf("<vmbalance:policy " NS " %s/>", c->meta);
        g_assert_true(vmb_domain_policy_parse(xml, -1, &meta, NULL));
    }
    VmbEffectivePolicy e;
    vmb_domain_policy_resolve(c->meta ? &meta : NULL, &c->ctx, &e);
    g_assert_cmpint(e.cpu_managed, ==, c->cpu_managed);
    g_assert_cmpint(e.memory_managed, ==, c->memory_managed);
    g_assert_cmpstr(vmb_policy_source_name(e.cpu_from), ==, vmb_policy_source_name(c->cpu_from));
    g_assert_cmpstr(vmb_policy_source_name(e.memory_from), ==,
                    vmb_policy_source_name(c->memory_from));
    g_assert_cmpstr(vmb_policy_source_name(e.weight_from), ==,
                    vmb_policy_source_name(c->weight_from));
    g_assert_cmpfloat_with_epsilon(e.weight, c->weight, 1e-9);
}

static void
test_resolve_bounds(void)
{
    VmbDomainPolicy meta;
    g_assert_true(vmb_domain_policy_parse(
        "<vmbalance:policy " NS " min_mib=\"256\" max_mib=\"2048\"/>", -1, &meta, NULL));
    VmbPolicyContext ctx = {0};
    VmbEffectivePolicy e;
    vmb_domain_policy_resolve(&meta, &ctx, &e);
    g_assert_cmpuint(e.min_mib, ==, 256);
    g_assert_cmpuint(e.max_mib, ==, 2048);
    g_assert_cmpint(e.min_from, ==, VMB_FROM_METADATA);
    vmb_domain_policy_resolve(NULL, &ctx, &e);
    g_assert_cmpuint(e.min_mib, ==, 0);
    g_assert_cmpuint(e.max_mib, ==, 0);
    g_assert_cmpint(e.max_from, ==, VMB_FROM_DEFAULT);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
        g_autofree char *path = g_strdup_printf("/domain-policy/parse/%s", parse_cases[i].name);
        g_test_add_data_func(path, &parse_cases[i], test_parse);
    }
    for (guint i = 0; i < G_N_ELEMENTS(resolve_cases); i++) {
        g_autofree char *path = g_strdup_printf("/domain-policy/resolve/%s", resolve_cases[i].name);
        g_test_add_data_func(path, &resolve_cases[i], test_resolve);
    }
    g_test_add_func("/domain-policy/too-long", test_too_long);
    g_test_add_func("/domain-policy/set-reset", test_set_reset);
    g_test_add_func("/domain-policy/resolve-bounds", test_resolve_bounds);
    return g_test_run();
}
