/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a domain's persistent definition (virDomainGetXMLDesc(VIR_DOMAIN_XML_INACTIVE)) and
 * its state say the daemon must leave alone. Pure: XML in, bits out. */
#pragma once

#include <glib.h>

/* Largest definition read (a real one is a few KiB; thousands of devices stay far below). */
#define VMB_DEF_MAX_XML (8u << 20)

typedef enum {
    VMB_HANDS_OFF_VCPUPIN = 1 << 0,        /* <cputune><vcpupin>: the operator pinned vCPUs */
    VMB_HANDS_OFF_CPUSET = 1 << 1,         /* <vcpu cpuset=...> */
    VMB_HANDS_OFF_PLACEMENT_AUTO = 1 << 2, /* placement='auto': numad places the domain */
    VMB_HANDS_OFF_VCPUSCHED = 1 << 3,      /* <cputune><vcpusched>: a real-time scheduler */
    VMB_HANDS_OFF_LOCKED = 1 << 4,         /* <memoryBacking><locked/> */
    VMB_HANDS_OFF_HUGEPAGES = 1 << 5,      /* <memoryBacking><hugepages/> */
    VMB_HANDS_OFF_VFIO = 1 << 6,           /* PCI host devices: guest memory is pinned for DMA */
    VMB_HANDS_OFF_MIGRATING = 1 << 7,      /* being migrated */
    /* <memory model='virtio-mem'>: with libvirt 9.0 / QEMU 7.2 the balloon's limit leaves out
     * the plugged memory while QEMU's balloon target counts it (measured in lab s15c), so a
     * balloon change re-inflates what was plugged: such guests are left alone until the
     * daemon sizes them by the device alone. */
    VMB_HANDS_OFF_VIRTIO_MEM = 1 << 8,
} VmbHandsOff;

#define VMB_HANDS_OFF_CPU                                                                          \
    (VMB_HANDS_OFF_VCPUPIN | VMB_HANDS_OFF_CPUSET | VMB_HANDS_OFF_PLACEMENT_AUTO |                 \
     VMB_HANDS_OFF_VCPUSCHED | VMB_HANDS_OFF_MIGRATING)
#define VMB_HANDS_OFF_MEMORY                                                                       \
    (VMB_HANDS_OFF_LOCKED | VMB_HANDS_OFF_HUGEPAGES | VMB_HANDS_OFF_VFIO |                         \
     VMB_HANDS_OFF_MIGRATING | VMB_HANDS_OFF_VIRTIO_MEM)

/* The hands-off bits of a domain definition (VMB_HANDS_OFF_MIGRATING is never set here). FALSE
 * with @error (G_MARKUP_ERROR) for XML that does not parse or is too large. */
gboolean vmb_domain_def_classify(const char *xml, gssize len, guint *hands_off, GError **error);

/* The reasons of @hands_off for a log line or status, e.g. "vCPUs pinned by the definition
 * (<vcpupin>), memory backed by hugepages"; "" when none. */
char *vmb_hands_off_describe(guint hands_off);
