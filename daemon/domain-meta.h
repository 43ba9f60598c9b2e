/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shell around domain-policy and domain-def: what backends call when they read a domain's
 * metadata or persistent definition (on appearance and on change events, never per cycle),
 * with the one log line each refusal or hands-off rule deserves; and the effective policy of a
 * domain in a snapshot under the running configuration, which the tasks and status use. */
#pragma once

#include "config.h"
#include "domain-xml.h"
#include "snapshot.h"

/* Parses @xml (NULL: the domain has no vmbalance:policy element) into @out. A refused element
 * is logged (domain, attribute, value, what is allowed: once per read, and reads happen on
 * appearance and change only) and leaves @out empty: the host's settings apply. Returns FALSE
 * when refused. */
gboolean vmb_domain_meta_load(const char *name, const char *uuid, const char *xml,
                              VmbDomainPolicy *out);

/* Is the live numatune (@mode, @nodes) the one our numa-home record @xml (numa-mark.h; NULL:
 * none) names? A record that does not parse is ignored with one log line: the numatune then
 * counts as the operator's. */
gboolean vmb_numa_mark_load(const char *name, const char *uuid, const char *xml,
                            VmbNumatuneMode mode, const VmbCpuSet *nodes);

/* The hands-off bits of a persistent definition, with one log line naming the domain and
 * what is left alone. A definition that does not parse counts as none (logged). */
guint vmb_domain_def_load(const char *name, const char *uuid, const char *xml);

/* The effective policy of @d under @c (metadata, configuration, hands-off rules). */
void vmb_domain_effective(const VmbConfig *c, const VmbDomainStat *d, VmbEffectivePolicy *out);
/* The same, with a foreign pin or balloon target being respected (foreign-pins.h). */
void vmb_domain_effective_full(const VmbConfig *c, const VmbDomainStat *d, gboolean operator_cpu,
                               gboolean operator_memory, VmbEffectivePolicy *out);
