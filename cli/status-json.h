/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmbalancectl's --json documents; their layout is documented (and stable) in dbus/README.md. */
#pragma once

#include <glib.h>

#include "status-model.h"

/* status --json (format 1), ending in a newline. */
char *vmb_status_to_json(const VmbCtlStatus *status);
/* history --json: an array of actions, oldest first. */
char *vmb_history_to_json(const VmbCtlHistory *history);
