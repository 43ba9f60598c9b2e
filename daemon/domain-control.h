/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmbalancectl domain NAME [set KEY VALUE | reset KEY]` behind the bus: a domain's effective
 * policy with where each value came from, and changes to its vmbalance:policy metadata written
 * through the hypervisor (the live and the persistent definition), with the parser's rules. */
#pragma once

#include <glib.h>

#include "daemon.h"

/* The running domain @domain (name or UUID, any case) as of the last cycle, as an a{sv}:
 * name, uuid, cpu, cpu-from, memory, memory-from, weight, weight-from, min-mib, min-from,
 * max-mib, max-from (sizes 0 = no bound), metadata (the element as stored, "" none),
 * metadata-refused, hands-off (reasons, as). NULL with a VMB_DBUS_ERROR when not running. */
GVariant *vmb_domain_control_describe(VmbDaemon *d, const char *domain, GError **error);

/* Every running domain vmbalanced leaves (partly) alone and why, as a(ss) (name, reason):
 * its definition's hands-off rules, a migration, a respected foreign pin, metadata cpu="off" or
 * memory="off", refused metadata. Excluded ones are the configuration's, shown elsewhere. */
GVariant *vmb_domain_control_hands_off(VmbDaemon *d);

/* Sets @key of @domain's policy to @value (NULL: removes the key) and writes the element.
 * VMB_DBUS_ERROR_UNKNOWN_KEY / _INVALID_ARGUMENT name the key, value and allowed range;
 * _FAILED when the hypervisor refused. Takes effect at the next cycle. */
gboolean vmb_domain_control_set(VmbDaemon *d, const char *domain, const char *key,
                                const char *value, GError **error);
