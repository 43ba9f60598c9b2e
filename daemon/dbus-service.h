/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.vmbalance.Manager1 service on the system bus: owns the name, exports the
 * interface generated from dbus/org.vmbalance.Manager1.xml, keeps its properties current
 * from the daemon's status model (status.h), announces actions and serves their history
 * from it. Commands go through the daemon's functions (daemon.h). */
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

/* Hooks into @d (actions, changes), exports the interface on the system bus and owns the
 * bus name. Fails when the name cannot be owned (another instance, bus policy); without a
 * reachable bus it warns and the daemon runs on without the interface. For main.c. */
VmbDbusService *vmb_dbus_service_new(VmbDaemon *d, VmbOverrides *overrides, GError **error);
/* The same on @bus, a message bus connection (tests: a GTestDBus bus); fails without it. */
VmbDbusService *vmb_dbus_service_new_on_bus(VmbDaemon *d, VmbOverrides *overrides,
                                            GDBusConnection *bus, GError **error);
void vmb_dbus_service_free(VmbDbusService *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmbDbusService, vmb_dbus_service_free)
/* TRUE once the name was lost while running (the main loop was stopped). */
gboolean vmb_dbus_service_failed(const VmbDbusService *s);
