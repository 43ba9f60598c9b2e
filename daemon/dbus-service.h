/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.vmbalance.Manager1 service on the system bus: owns the name, exports the
 * interface generated from dbus/org.vmbalance.Manager1.xml, keeps its properties current,
 * announces actions and keeps their history. */
#pragma once

#include "daemon.h"
#include "overrides.h"
#include "vmb-dbus.h"

/* D-Bus errors, registered as org.vmbalance.Error.* */
#define VMB_DBUS_ERROR (vmb_dbus_error_quark())
GQuark vmb_dbus_error_quark(void);
typedef enum {
    VMB_DBUS_ERROR_FAILED,           /* org.vmbalance.Error.Failed */
    VMB_DBUS_ERROR_INVALID_ARGUMENT, /* org.vmbalance.Error.InvalidArgument */
    VMB_DBUS_ERROR_UNKNOWN_KEY,      /* org.vmbalance.Error.UnknownKey */
} VmbDbusError;

typedef struct _VmbDbusService VmbDbusService;

/* Hooks into @d (actions, changes), exports the interface and owns the bus name. Fails when
 * the name cannot be owned (another instance, bus policy); without a reachable bus it
 * warns and the daemon runs on without the interface. */
VmbDbusService *vmb_dbus_service_new(VmbDaemon *d, VmbOverrides *overrides, GError **error);
void vmb_dbus_service_free(VmbDbusService *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbDbusService, vmb_dbus_service_free)
/* TRUE once the name was lost while running (the main loop was stopped). */
gboolean vmb_dbus_service_failed(const VmbDbusService *s);
