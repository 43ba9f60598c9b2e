/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the C tests that drive the bus service share (test-dbus-service, test-soak). */
#pragma once

#include <gio/gio.h>

#include "config.h"

/* How long a test waits for a reply from the service. */
#define VMB_TEST_CALL_TIMEOUT_MS 20000

/* A client connection to the private bus at @address; aborts the test on failure. */
GDBusConnection *vmb_test_bus_connect(const char *address);
/* The daemon's config filter as main.c wires it: the runtime overrides (@overrides, a
 * VmbOverrides *) on top of each configuration read. */
VmbConfig *vmb_test_apply_overrides(VmbConfig *loaded, gpointer overrides);
/* Calls @method of @iface on the service over @client, iterating the default main context
 * (where the service runs) until the reply; NULL and @error on an error reply. */
GVariant *vmb_test_call(GDBusConnection *client, const char *iface, const char *method,
                        GVariant *args, const char *reply_type, GError **error);
