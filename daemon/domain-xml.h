/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the memory coordinator reads from a domain's XML (libvirt's, an outside input, checked
 * here): its memory sizes, the balloon's features, and a virtio-mem device. Pure: a string in,
 * a struct out; the libvirt backend fetches the XML. */
#pragma once

#include <glib.h>

#include "cpuset.h"

/* <numatune><memory mode=... nodeset=...>: where the domain's memory may come from. */
typedef enum {
    VMB_NUMATUNE_NONE,   /* no <numatune><memory>, or placement='auto' without a nodeset */
    VMB_NUMATUNE_STRICT, /* strict, restrictive: only the nodeset */
    VMB_NUMATUNE_PREFERRED,
    VMB_NUMATUNE_INTERLEAVE, /* spread over the nodeset: no single home node */
} VmbNumatuneMode;

typedef struct {
    gboolean present;
    char *alias;           /* <alias name>, NULL when the XML has none (inactive XML) */
    char *address;         /* its <address .../> element rebuilt (escaped), NULL when none:
                            * libvirt finds the device to update by its address */
    guint node;            /* <target><node> */
    guint64 size_kib;      /* <target><size>: the most it can plug */
    guint64 block_kib;     /* <target><block>: plug granularity */
    guint64 requested_kib; /* <target><requested> */
    guint64 current_kib;   /* <target><current>: what the guest plugged (live XML only) */
    gboolean have_current;
} VmbVirtioMemXml;

typedef struct {
    guint64 memory_kib;  /* <memory>, 0 when absent */
    guint64 current_kib; /* <currentMemory>, 0 when absent */
    gboolean balloon;    /* a <memballoon> whose model is not 'none' */
    gboolean autodeflate;
    gboolean free_page_reporting;
    VmbVirtioMemXml vmem; /* the first virtio-mem device */
    guint64 numa_kib;     /* the guest NUMA cells' memory in all: its boot memory */
    VmbNumatuneMode numatune;
    VmbCpuSet numatune_nodes; /* host node numbers of its nodeset (with a mode) */
} VmbDomainMemXml;

/* Parses @xml. FALSE with @error when it is not well-formed, a memory figure is not a number
 * with a known unit, or <numatune><memory> has an unknown mode or a nodeset that is not a
 * node list; unknown elements are ignored. */
gboolean vmb_domain_mem_xml_parse(const char *xml, VmbDomainMemXml *out, GError **error);
void vmb_domain_mem_xml_clear(VmbDomainMemXml *x);
/* The host node the numatune of @x binds its memory to: a strict or preferred nodeset of one
 * node; -1 otherwise (none, interleave, several nodes: the memory has no single home). */
gint vmb_numatune_node(const VmbDomainMemXml *x);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VmbDomainMemXml, vmb_domain_mem_xml_clear)

/* @value in @unit (libvirt's units: b, bytes, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T, TiB;
 * none = KiB) in KiB, rounded up. FALSE when the unit is unknown or it does not fit. */
gboolean vmb_xml_size_kib(const char *value, const char *unit, guint64 *kib);
