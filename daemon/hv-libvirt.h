/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend of the hypervisor layer. Its constructor, vmb_hv_libvirt_new(), is declared
 * in hypervisor.h; this header only adds what the tests need to look behind it. */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

/* For tests only: the connection of a libvirt-backed @hv, or NULL when it is not connected (or
 * @hv is not a libvirt one). Owned by @hv, valid until the next call that may reconnect. A
 * test:/// connection has private state, so tests drive the same connection the backend uses. */
virConnectPtr vmb_hv_libvirt_get_conn(VmbHypervisor *hv);
