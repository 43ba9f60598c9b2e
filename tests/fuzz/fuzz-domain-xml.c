/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the domain memory XML reader (vmb_domain_mem_xml_parse), libvirt's XML
 * being an outside input. On success a virtio-mem device it reports is sizeable (whole blocks,
 * request within the size) and the split of any target keeps to the device; on failure there
 * is a message and nothing is left allocated. */
#include <stdio.h>

#include "domain-xml.h"
#include "mem-vmem.h"

#include "fuzz-common.h"

FUZZ_DEFINE_INIT_LOGGING_ONLY()

static void
check_device(const VmbDomainMemXml *x)
{
    const VmbVirtioMemXml *v = &x->vmem;
    VmbVirtioMem d = {x->numa_kib, v->size_kib, v->block_kib, v->requested_kib,
                      v->have_current ? v->current_kib : 0};
    if (!vmb_virtio_mem_valid(&d)) {
        fprintf(stderr, "fuzz: a virtio-mem device passed the reader but is not sizeable\n");
        abort();
    }
    guint64 targets[] = {0, x->numa_kib, x->numa_kib + v->size_kib / 2, G_MAXUINT64 / 4};
    for (guint k = 0; k < G_N_ELEMENTS(targets); k++) {
        VmbVirtioMemPlan p = vmb_virtio_mem_plan(&d, targets[k]);
        if (p.requested_kib > d.size_kib || p.requested_kib % d.block_kib) {
            fprintf(stderr, "fuzz: virtio-mem plan beyond the device or not whole blocks\n");
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *) data, size);
    VmbDomainMemXml x;
    g_autoptr(GError) error = NULL;
    if (vmb_domain_mem_xml_parse(text, &x, &error)) {
        if (x.vmem.present)
            check_device(&x);
        vmb_domain_mem_xml_clear(&x);
    } else if (!error || !error->message || x.vmem.alias) {
        fprintf(stderr, "fuzz: the XML reader failed without a message or left an alias\n");
        abort();
    }
    return 0;
}
