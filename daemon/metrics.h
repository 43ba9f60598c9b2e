/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The status model (status.h) in Prometheus' text exposition format (version 0.0.4), for
 * node_exporter's textfile collector: the daemon keeps no network access of its own.
 *
 * Names follow Prometheus' conventions: the vmbalance_ prefix, base units (seconds, bytes,
 * ratios where 1 is one whole pCPU), a HELP and a TYPE line per family, counters ending in
 * _total and counting since the daemon started. A value the status does not know (not
 * measured yet, the guest reports no balloon figures) has no sample rather than a made-up
 * one, and a domain that stopped has no series left. */
#pragma once

#include <glib.h>

#include "status.h"

/* The text for @s; @version goes into vmbalance_build_info. Pure: same input, same text. */
char *vmb_metrics_render(const VmbStatus *s, const char *version, gsize *length);

/* @value as a label value: '\', '"' and newline escaped, invalid UTF-8 replaced. */
char *vmb_metrics_escape_label(const char *value);
