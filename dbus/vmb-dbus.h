/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Names shared by vmbalanced and vmbalancectl; the interface itself is generated from
 * org.vmbalance.Manager1.xml. */
#pragma once

#include "vmb-dbus-generated.h"

#define VMB_DBUS_NAME "org.vmbalance.Manager1"
#define VMB_DBUS_PATH "/org/vmbalance/Manager1"

#define VMB_DBUS_ERROR_NAME_FAILED           "org.vmbalance.Error.Failed"
#define VMB_DBUS_ERROR_NAME_INVALID_ARGUMENT "org.vmbalance.Error.InvalidArgument"
#define VMB_DBUS_ERROR_NAME_UNKNOWN_KEY      "org.vmbalance.Error.UnknownKey"
