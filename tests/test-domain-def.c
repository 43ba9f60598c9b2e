/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hands-off rules read from persistent domain definitions: one XML fixture per rule in
 * tests/data/domain-def/, and the look-alikes that must not count (a pin in a comment or in
 * another tool's metadata, an emulator pin, a USB host device, a static nodeset). */
#include <string.h>

#include "domain-def.h"

typedef struct {
    const char *fixture;
    guint bits;
    const char *reason; /* substring of the description, NULL for none */
} DefCase;

// clang-format off
static const DefCase cases[] = {
    {"plain", 0, NULL},
    {"emulatorpin-only", 0, NULL},
    {"numatune-static", 0, NULL},
    {"memfd-shared", 0, NULL},
    {"usb-hostdev", 0, NULL},
    {"vcpupin", VMB_HANDS_OFF_VCPUPIN, "vCPUs pinned by the definition (<vcpupin>)"},
    {"cpuset", VMB_HANDS_OFF_CPUSET, "<vcpu cpuset>"},
    {"placement-auto", VMB_HANDS_OFF_PLACEMENT_AUTO, "numad"},
    {"numatune-auto", VMB_HANDS_OFF_PLACEMENT_AUTO, "placement='auto'"},
    {"vcpusched", VMB_HANDS_OFF_VCPUSCHED, "real-time"},
    {"hugepages", VMB_HANDS_OFF_HUGEPAGES, "hugepages"},
    {"locked", VMB_HANDS_OFF_LOCKED, "memory locked"},
    {"vfio", VMB_HANDS_OFF_VFIO, "VFIO"},
    {"interface-hostdev", VMB_HANDS_OFF_VFIO, "VFIO"},
    {"virtio-mem", VMB_HANDS_OFF_VIRTIO_MEM, "virtio-mem device"},
    {"everything", VMB_HANDS_OFF_VCPUPIN | VMB_HANDS_OFF_CPUSET | VMB_HANDS_OFF_PLACEMENT_AUTO |
     VMB_HANDS_OFF_VCPUSCHED | VMB_HANDS_OFF_LOCKED | VMB_HANDS_OFF_HUGEPAGES | VMB_HANDS_OFF_VFIO,
     "(<vcpupin>), vCPUs confined"},
};
// clang-format on

static char *
fixture(const char *name)
{
    g_autofree char *path = g_strdup_printf("%s/tests/data/domain-def/%s.xml", VMB_SRCDIR, name);
    char *xml = NULL;
    g_assert_true(g_file_get_contents(path, &xml, NULL, NULL));
    return xml;
}

static void
test_fixture(gconstpointer data)
{
    const DefCase *c = data;
    g_autofree char *xml = fixture(c->fixture);
    guint bits = 0xdead;
    g_autoptr(GError) error = NULL;
    g_assert_true(vmb_domain_def_classify(xml, -1, &bits, &error));
    g_assert_no_error(error);
    g_assert_cmphex(bits, ==, c->bits);
    g_autofree char *why = vmb_hands_off_describe(bits);
    if (c->reason)
        g_assert_nonnull(strstr(why, c->reason));
    else
        g_assert_cmpstr(why, ==, "");
    /* The CPU rules and the memory rules split as documented. */
    g_assert_cmpint(!!(bits & VMB_HANDS_OFF_CPU), ==,
                    !!(c->bits & (VMB_HANDS_OFF_VCPUPIN | VMB_HANDS_OFF_CPUSET |
                                  VMB_HANDS_OFF_PLACEMENT_AUTO | VMB_HANDS_OFF_VCPUSCHED)));
    g_assert_cmpint(!!(bits & VMB_HANDS_OFF_MEMORY), ==,
                    !!(c->bits & (VMB_HANDS_OFF_LOCKED | VMB_HANDS_OFF_HUGEPAGES |
                                  VMB_HANDS_OFF_VFIO | VMB_HANDS_OFF_VIRTIO_MEM)));
}

static void
test_refused(void)
{
    g_autofree char *xml = fixture("broken");
    guint bits = 0xdead;
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_domain_def_classify(xml, -1, &bits, &error));
    g_assert_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_PARSE);
    g_assert_cmpuint(bits, ==, 0);
    g_clear_error(&error);

    /* Only /domain/... counts: the same elements elsewhere are not the definition's. */
    const char *elsewhere = "<other><cputune><vcpupin vcpu='0' cpuset='1'/></cputune></other>";
    g_assert_true(vmb_domain_def_classify(elsewhere, -1, &bits, &error));
    g_assert_cmpuint(bits, ==, 0);

    gsize big = VMB_DEF_MAX_XML + 1;
    g_autofree char *huge = g_malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    g_assert_false(vmb_domain_def_classify(huge, (gssize) big, &bits, &error));
    g_assert_nonnull(strstr(error->message, "allowed at most"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/domain-def/%s", cases[i].fixture);
        g_test_add_data_func(path, &cases[i], test_fixture);
    }
    g_test_add_func("/domain-def/refused", test_refused);
    return g_test_run();
}
