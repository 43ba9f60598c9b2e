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

/* Do pin changes reach @hv as tunable events? When not (a driver that sends none, such as the
 * test driver), every domain's pins are re-read every few snapshots. */
gboolean vmb_hv_libvirt_pins_follow_events(VmbHypervisor *hv);

/* For tests and the benchmark: act as if the driver sent a tunable event for every pin change,
 * now and after reconnects (the test driver accepts the registration but sends none). */
void vmb_hv_libvirt_assume_pin_events(VmbHypervisor *hv, gboolean assume);

/* For tests: a migration of @dom started (a migration-iteration event) or ended (job
 * completed), as libvirt would announce it. */
void vmb_hv_libvirt_migration_event(VmbHypervisor *hv, virDomainPtr dom, gboolean started);

/* For tests: deliver a reboot event for @dom as libvirt would. */
void vmb_hv_libvirt_reboot_event(VmbHypervisor *hv, virDomainPtr dom);

/* For tests: deliver a tunable event for @dom as libvirt would. */
void vmb_hv_libvirt_tunable_event(VmbHypervisor *hv, virDomainPtr dom, virTypedParameterPtr params,
                                  int nparams);
