/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl's --json documents, built as json-glib trees; their fields and layout are
 * documented (and stable) in dbus/README.md. Each ends in a newline. */
#pragma once

#include <glib.h>

#include "status-model.h"

/* status --json (format 1). */
char *vmb_status_to_json(const VmbCtlStatus *status);
/* history --json: an array of actions, oldest first. */
char *vmb_history_to_json(const VmbCtlHistory *history);
/* get --json: ListTunables()'s @list ("a(svbss)") as an object by full key name; only
 * @wanted when not NULL. */
char *vmb_tunables_to_json(GVariant *list, const char *wanted);
