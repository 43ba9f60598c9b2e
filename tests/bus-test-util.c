/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-test-util.h"

#include "dbus-service.h"
#include "overrides.h"

GDBusConnection *
vmb_test_bus_connect(const char *address)
{
    g_autoptr(GError) error = NULL;
    GDBusConnection *c =
        g_dbus_connection_new_for_address_sync(address,
                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                               NULL, NULL, &error);
    g_assert_no_error(error);
    return c;
}

VmbConfig *
vmb_test_apply_overrides(VmbConfig *loaded, gpointer overrides)
{
    return vmb_overrides_rebase(overrides, loaded);
}

static void
on_reply(GObject *source, GAsyncResult *res, gpointer data)
{
    *(GAsyncResult **) data = g_object_ref(res);
}

GVariant *
vmb_test_call(GDBusConnection *client, const char *iface, const char *method, GVariant *args,
              const char *reply_type, GError **error)
{
    g_autoptr(GAsyncResult) res = NULL;
    g_dbus_connection_call(client, VMB_DBUS_NAME, VMB_DBUS_PATH, iface, method, args,
                           G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NONE,
                           VMB_TEST_CALL_TIMEOUT_MS, NULL, on_reply, &res);
    while (!res)
        g_main_context_iteration(NULL, TRUE);
    return g_dbus_connection_call_finish(client, res, error);
}
