/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host topology from libvirt's capabilities XML (virConnectGetCapabilities):
 *
 *   <capabilities><host>
 *     <topology><cells num='2'>
 *       <cell id='0'>
 *         <memory unit='KiB'>2097152</memory>
 *         <distances><sibling id='0' value='10'/><sibling id='1' value='21'/></distances>
 *         <cpus num='8'><cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0,16'/>
 *                       <cpu id='3'/>   (offline: listed without its topology)
 *       ...
 *     <cache><bank id='0' level='3' type='both' size='32' unit='MiB' cpus='0-7,16-23'/></cache>
 *
 * Cache groups are the banks of the highest level listed. Read once per connection. */
#pragma once

#include <glib.h>

#include "topology.h"

/* The topology of a host of @npcpus CPUs (0: as many as the XML names). A host whose XML
 * has no cells (some drivers, `<cells num='0'>`) gets the flat topology of @npcpus;
 * malformed XML or values fail with @error naming the element and attribute. */
VmbTopology *vmb_topology_from_caps(const char *xml, guint npcpus, GError **error);
