/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML reader: memory sizes in every libvirt unit, the balloon's features, a
 * virtio-mem device as libvirt 9.0 writes it, and the inputs it refuses. */
#include <glib.h>
#include <string.h>

#include "domain-xml.h"

static void
test_units(void)
{
    static const struct {
        const char *value, *unit;
        gboolean ok;
        guint64 kib;
    } cases[] = {
        {"524288", NULL, TRUE, 524288},
        {"524288", "KiB", TRUE, 524288},
        {"512", "MiB", TRUE, 524288},
        {"512", "m", TRUE, 524288},
        {"2", "G", TRUE, 2097152},
        {"1000", "KB", TRUE, 977}, /* 1,000,000 bytes, rounded up */
        {"1025", "b", TRUE, 2},
        {" 64 ", "MiB", TRUE, 65536},
        {"1", "PiB", FALSE, 0},
        {"-1", "KiB", FALSE, 0},
        {"12x", "KiB", FALSE, 0},
        {"", "KiB", FALSE, 0},
        {"18446744073709551615", "MiB", FALSE, 0},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint64 kib = 0;
        gboolean ok = vmb_xml_size_kib(cases[i].value, cases[i].unit, &kib);
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (ok)
            g_assert_cmpuint(kib, ==, cases[i].kib);
    }
}

/* A live XML of libvirt 9.0 with free page reporting and a virtio-mem device (trimmed). */
static const char live_xml[] =
    "<domain type='qemu' id='3'>\n"
    "  <name>vm1</name>\n"
    "  <maxMemory slots='4' unit='KiB'>4194304</maxMemory>\n"
    "  <memory unit='KiB'>2097152</memory>\n"
    "  <currentMemory unit='KiB'>524288</currentMemory>\n"
    "  <cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>\n"
    "  <devices>\n"
    "    <memballoon model='virtio' autodeflate='on' freePageReporting='on'>\n"
    "      <stats period='1'/><alias name='balloon0'/>\n"
    "    </memballoon>\n"
    "    <memory model='virtio-mem'>\n"
    "      <target>\n"
    "        <size unit='KiB'>1048576</size>\n"
    "        <node>0</node>\n"
    "        <block unit='KiB'>2048</block>\n"
    "        <requested unit='KiB'>262144</requested>\n"
    "        <current unit='KiB'>131072</current>\n"
    "      </target>\n"
    "      <alias name='virtiomem0'/>\n"
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n"
    "    </memory>\n"
    "    <memory model='virtio-mem'><target><size unit='KiB'>2048</size><node>0</node>"
    "<block unit='KiB'>2048</block><requested unit='KiB'>0</requested></target></memory>\n"
    "  </devices>\n"
    "</domain>\n";

static void
test_live(void)
{
    g_auto(VmbDomainMemXml) x;
    g_autoptr(GError) error = NULL;
    g_assert_true(vmb_domain_mem_xml_parse(live_xml, &x, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(x.memory_kib, ==, 2097152);
    g_assert_cmpuint(x.current_kib, ==, 524288);
    g_assert_true(x.balloon);
    g_assert_true(x.autodeflate);
    g_assert_true(x.free_page_reporting);
    g_assert_true(x.vmem.present);
    g_assert_cmpstr(x.vmem.alias, ==, "virtiomem0"); /* the first device, not the second */
    g_assert_cmpstr(x.vmem.address, ==,
                    "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>");
    g_assert_cmpuint(x.vmem.size_kib, ==, 1048576);
    g_assert_cmpuint(x.vmem.block_kib, ==, 2048);
    g_assert_cmpuint(x.vmem.requested_kib, ==, 262144);
    g_assert_true(x.vmem.have_current);
    g_assert_cmpuint(x.vmem.current_kib, ==, 131072);
    g_assert_cmpuint(x.numa_kib, ==, 1048576);
}

static void
test_plain(void)
{
    static const char *const xmls[] = {
        "<domain><memory unit='MiB'>1024</memory><devices><memballoon model='virtio'/>"
        "</devices></domain>",
        "<domain><memory>1048576</memory><devices><memballoon model='none'/>"
        "<memory model='dimm'><target><size>524288</size><node>0</node></target></memory>"
        "</devices></domain>",
    };
    for (guint i = 0; i < G_N_ELEMENTS(xmls); i++) {
        g_auto(VmbDomainMemXml) x;
        g_autoptr(GError) error = NULL;
        g_assert_true(vmb_domain_mem_xml_parse(xmls[i], &x, &error));
        g_assert_cmpuint(x.memory_kib, ==, 1048576);
        g_assert_cmpuint(x.current_kib, ==, 0);
        g_assert_cmpint(x.balloon, ==, i == 0);
        g_assert_false(x.autodeflate);
        g_assert_false(x.free_page_reporting);
        g_assert_false(x.vmem.present); /* a DIMM is not virtio-mem */
    }
}

static void
test_refused(void)
{
    static const char *const bad[] = {
        "<domain><memory unit='MiB'>lots</memory></domain>",
        "<domain><currentMemory unit='furlong'>1</currentMemory></domain>",
        "<domain><memory>1024</domain>",
        /* a block that does not divide the size, a request above it, no block at all */
        "<domain><devices><memory model='virtio-mem'><target><size>3000</size><node>0</node>"
        "<block>2048</block><requested>0</requested></target></memory></devices></domain>",
        "<domain><devices><memory model='virtio-mem'><target><size>4096</size><node>0</node>"
        "<block>2048</block><requested>8192</requested></target></memory></devices></domain>",
        "<domain><devices><memory model='virtio-mem'><target><size>4096</size><node>0</node>"
        "<requested>0</requested></target></memory></devices></domain>",
        "<domain><devices><memory model='virtio-mem'><target><size>4096</size><node>0</node>"
        "<block>2048</block><requested>1024</requested></target></memory></devices></domain>",
        "<domain><devices><memory model='virtio-mem'><target><size>4096</size><node>x</node>"
        "<block>2048</block></target></memory></devices></domain>",
        "<domain><cpu><numa><cell id='0' cpus='0' memory='lots'/></numa></cpu></domain>",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_auto(VmbDomainMemXml) x;
        g_autoptr(GError) error = NULL;
        g_assert_false(vmb_domain_mem_xml_parse(bad[i], &x, &error));
        g_assert_nonnull(error);
        g_test_message("%s", error->message);
        g_assert_null(x.vmem.alias);
    }
}

/* Nesting deeper than the reader keeps track of is refused, not overflowed. */
static void
test_deep(void)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < 100; i++)
        g_string_append(s, "<a>");
    for (guint i = 0; i < 100; i++)
        g_string_append(s, "</a>");
    g_auto(VmbDomainMemXml) x;
    g_autoptr(GError) error = NULL;
    g_assert_false(vmb_domain_mem_xml_parse(s->str, &x, &error));
    g_string_free(s, TRUE);
}

/* <numatune><memory>: which host node holds the memory, and the inputs refused. */
static void
test_numatune(void)
{
    static const struct {
        const char *numatune; /* inside <domain>, NULL: none */
        gboolean ok;
        gint node; /* vmb_numatune_node() */
    } cases[] = {
        {NULL, TRUE, -1},
        {"<numatune><memory mode='strict' nodeset='1'/></numatune>", TRUE, 1},
        {"<numatune><memory nodeset='3'/></numatune>", TRUE, 3}, /* libvirt's default: strict */
        {"<numatune><memory mode='preferred' nodeset='2'/></numatune>", TRUE, 2},
        {"<numatune><memory mode='restrictive' nodeset='0'/></numatune>", TRUE, 0},
        {"<numatune><memory mode='interleave' nodeset='0-1'/></numatune>", TRUE, -1},
        {"<numatune><memory mode='strict' nodeset='0-1'/></numatune>", TRUE, -1},
        {"<numatune><memory mode='strict' placement='auto'/></numatune>", TRUE, -1},
        /* a guest cell's placement is not the domain's memory */
        {"<numatune><memnode cellid='0' mode='strict' nodeset='1'/></numatune>", TRUE, -1},
        {"<numatune><memory mode='spread' nodeset='1'/></numatune>", FALSE, -1},
        {"<numatune><memory mode='strict' nodeset='all'/></numatune>", FALSE, -1},
        {"<numatune><memory mode='strict' nodeset='1-0'/></numatune>", FALSE, -1},
        {"<numatune><memory mode='strict' nodeset='n1'/></numatune>", FALSE, -1},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml =
            g_strdup_printf("<domain type='kvm'><memory unit='KiB'>1048576</memory>%s</domain>",
                            cases[i].numatune ? cases[i].numatune : "");
        g_auto(VmbDomainMemXml) x = {0};
        g_autoptr(GError) error = NULL;
        gboolean ok = vmb_domain_mem_xml_parse(xml, &x, &error);
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (!ok) {
            g_assert_nonnull(strstr(error->message, "<numatune><memory"));
            continue;
        }
        g_assert_cmpuint(x.memory_kib, ==, 1048576);
        g_assert_cmpint(vmb_numatune_node(&x), ==, cases[i].node);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/domain-xml/units", test_units);
    g_test_add_func("/domain-xml/live", test_live);
    g_test_add_func("/domain-xml/plain", test_plain);
    g_test_add_func("/domain-xml/refused", test_refused);
    g_test_add_func("/domain-xml/deep", test_deep);
    g_test_add_func("/domain-xml/numatune", test_numatune);
    return g_test_run();
}
