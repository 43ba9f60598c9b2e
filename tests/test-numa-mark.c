/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalanced's numa-home record (numa-mark.h): parsing, table-driven, and the ownership rule. */
#include <string.h>

#include "numa-mark.h"

#define NS "xmlns:vmbalanced=\"" VMB_NUMA_MARK_XMLNS "\""

typedef struct {
    const char *name;
    const char *xml;
    const char *nodeset; /* expected, NULL when refused */
    const char *error;   /* substring of the message when refused */
} ParseCase;

// clang-format off
static const ParseCase parse_cases[] = {
    /* virDomainGetMetadata() returns the element without its namespace */
    {"bare", "<numa-home nodeset=\"1\"/>", "1", NULL},
    {"prefixed", "<vmbalanced:numa-home " NS " nodeset=\"0\"/>", "0", NULL},
    {"other-prefix",
     "<v:numa-home xmlns:v=\"" VMB_NUMA_MARK_XMLNS "\" nodeset=\"2\"></v:numa-home>", "2", NULL},
    {"default-namespace", "<numa-home xmlns=\"" VMB_NUMA_MARK_XMLNS "\" nodeset=\"0-1,3\"/>",
     "0-1,3", NULL},
    {"whitespace-content", "<numa-home nodeset=\"1\">\n </numa-home>", "1", NULL},
    /* refused: foreign, malformed or not ours to read */
    {"foreign-element", "<policy cpu=\"off\"/>", NULL, "element 'policy'"},
    {"foreign-namespace", "<x:numa-home xmlns:x=\"https://example.org/x\" nodeset=\"1\"/>", NULL,
     "namespace 'https://example.org/x'"},
    {"undeclared-prefix", "<x:numa-home nodeset=\"1\"/>", NULL, "undeclared prefix"},
    {"no-nodeset", "<numa-home/>", NULL, "no nodeset"},
    {"empty-nodeset", "<numa-home nodeset=\"\"/>", NULL, "nodeset ''"},
    {"all-nodeset", "<numa-home nodeset=\"all\"/>", NULL, "nodeset 'all'"},
    {"bad-nodeset", "<numa-home nodeset=\"1-\"/>", NULL, "nodeset '1-'"},
    {"huge-node", "<numa-home nodeset=\"99999\"/>", NULL, "nodeset '99999'"},
    {"unknown-attribute", "<numa-home nodeset=\"1\" mode=\"strict\"/>", NULL,
     "attribute 'mode'"},
    {"child", "<numa-home nodeset=\"1\"><x/></numa-home>", NULL, "inside numa-home"},
    {"text", "<numa-home nodeset=\"1\">1</numa-home>", NULL, "text in the numa-home element"},
    {"two-roots", "<numa-home nodeset=\"1\"/><numa-home nodeset=\"2\"/>", NULL, ""},
    {"not-xml", "<numa-home nodeset=\"1\"", NULL, ""},
    {"empty", "", NULL, "empty"},
};
// clang-format on

static void
test_parse(gconstpointer data)
{
    const ParseCase *c = data;
    g_autoptr(GError) error = NULL;
    VmbCpuSet set;
    gboolean ok = vmb_numa_mark_parse(c->xml, -1, &set, &error);
    if (!c->nodeset) {
        g_assert_false(ok);
        g_assert_nonnull(error);
        g_assert_nonnull(strstr(error->message, c->error));
        g_assert_true(vmb_cpuset_is_empty(&set));
        return;
    }
    g_assert_no_error(error);
    g_assert_true(ok);
    g_autofree char *text = vmb_cpuset_format(&set);
    g_assert_cmpstr(text, ==, c->nodeset);
}

/* What we write reads back as the node we wrote. */
static void
test_round_trip(void)
{
    g_autofree char *xml = vmb_numa_mark_to_xml(3);
    g_assert_cmpstr(xml, ==, "<numa-home nodeset=\"3\"/>");
    VmbCpuSet set;
    g_assert_true(vmb_numa_mark_parse(xml, -1, &set, NULL));
    g_assert_cmpint(vmb_cpuset_first(&set), ==, 3);
    g_assert_cmpuint(vmb_cpuset_count(&set), ==, 1);
}

static void
test_too_long(void)
{
    g_autoptr(GString) s = g_string_new("<numa-home nodeset=\"1\"");
    while (s->len <= VMB_NUMA_MARK_MAX_XML)
        g_string_append_c(s, ' ');
    g_string_append(s, "/>");
    g_autoptr(GError) error = NULL;
    VmbCpuSet set;
    g_assert_false(vmb_numa_mark_parse(s->str, -1, &set, &error));
    g_assert_nonnull(strstr(error->message, "allowed at most"));
}

/* Ours only while the live numatune is strict on exactly the recorded nodeset. */
static void
test_matches(void)
{
    VmbCpuSet mark, live, none;
    gboolean all = FALSE;
    vmb_cpuset_clear(&none);
    g_assert_true(vmb_cpuset_parse("1", &mark, &all, NULL));
    g_assert_true(vmb_cpuset_parse("1", &live, &all, NULL));
    g_assert_true(vmb_numa_mark_matches(&mark, VMB_NUMATUNE_STRICT, &live));
    g_assert_false(vmb_numa_mark_matches(&mark, VMB_NUMATUNE_PREFERRED, &live));
    g_assert_false(vmb_numa_mark_matches(&mark, VMB_NUMATUNE_INTERLEAVE, &live));
    g_assert_false(vmb_numa_mark_matches(&mark, VMB_NUMATUNE_NONE, &live));
    g_assert_false(vmb_numa_mark_matches(&none, VMB_NUMATUNE_STRICT, &none));
    g_assert_true(vmb_cpuset_parse("0", &live, &all, NULL));
    g_assert_false(vmb_numa_mark_matches(&mark, VMB_NUMATUNE_STRICT, &live));
    g_assert_true(vmb_cpuset_parse("0-1", &live, &all, NULL));
    g_assert_false(vmb_numa_mark_matches(&mark, VMB_NUMATUNE_STRICT, &live));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
        g_autofree char *path = g_strdup_printf("/numa-mark/parse/%s", parse_cases[i].name);
        g_test_add_data_func(path, &parse_cases[i], test_parse);
    }
    g_test_add_func("/numa-mark/round-trip", test_round_trip);
    g_test_add_func("/numa-mark/too-long", test_too_long);
    g_test_add_func("/numa-mark/matches", test_matches);
    return g_test_run();
}
