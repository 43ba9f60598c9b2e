/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalanced's own record of a numatune it set (memory home), kept in the domain's live
 * metadata beside the live numatune, so that it outlives a restart of the daemon and dies with
 * the running instance it describes (a boot from the persistent definition has neither):
 *
 *   <metadata>
 *     <vmbalanced:numa-home xmlns:vmbalanced="https://vmbalance.org/xmlns/numa-home/1"
 *                           nodeset="1"/>
 *   </metadata>
 *
 * It is the daemon's bookkeeping, not a setting: a namespace of its own, apart from the
 * operator's vmbalance:policy (libvirt keeps one element per namespace). The numatune is ours
 * only while its nodeset is still the recorded one with mode strict; any other is the
 * operator's. Pure: strings and sets in, answers out. */
#pragma once

#include <glib.h>

#include "cpuset.h"
#include "domain-xml.h"

#define VMB_NUMA_MARK_XMLNS   "https://vmbalance.org/xmlns/numa-home/1"
#define VMB_NUMA_MARK_PREFIX  "vmbalanced"
#define VMB_NUMA_MARK_ELEMENT "numa-home"
/* Largest element accepted: a valid one is under 100 bytes. */
#define VMB_NUMA_MARK_MAX_XML 1024

/* The element for virDomainSetMetadata() (no namespace: libvirt adds it from the key and URI)
 * recording that we bound the memory to host node @host_node. */
char *vmb_numa_mark_to_xml(guint host_node);

/* Parses the element as virDomainGetMetadata() returns it (<numa-home nodeset="1"/>, without
 * its namespace) or with a prefix bound to VMB_NUMA_MARK_XMLNS, into the recorded nodeset.
 * Another element or namespace, a missing, empty or unparsable nodeset, other attributes,
 * children and text are errors (G_MARKUP_ERROR); @nodeset is then empty. */
gboolean vmb_numa_mark_parse(const char *xml, gssize len, VmbCpuSet *nodeset, GError **error);

/* Is the live numatune (@mode, @nodes) the one we recorded in @mark? */
gboolean vmb_numa_mark_matches(const VmbCpuSet *mark, VmbNumatuneMode mode, const VmbCpuSet *nodes);
