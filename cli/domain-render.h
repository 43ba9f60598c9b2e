/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmbalancectl domain NAME`: GetDomain()'s a{sv} as text or as a JSON object (its keys as on
 * the bus, see dbus/README.md). Each ends in a newline. */
#pragma once

#include <glib.h>

char *vmb_domain_to_text(GVariant *policy);
char *vmb_domain_to_json(GVariant *policy);
