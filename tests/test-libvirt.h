/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of test-libvirt share: the test driver's domains, the fixture (test-libvirt.c)
 * and each file's tests, registered by main(). */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hv-libvirt.h"
#include "hypervisor.h"

#define UUID_A    "6695eb01-f6a4-8304-79aa-97f2502e193f" /* 1 vCPU, balloon */
#define UUID_B    "b1c2d3e4-0000-4000-8000-00000000000b" /* 1 vCPU, no balloon; upper in XML */
#define UUID_C    "0c7a1d2e-3f40-4b5c-9d6e-7f8091a2b3c4" /* 2 vCPUs, balloon */
#define UUID_NONE "00000000-0000-4000-8000-0000000000ff"

/* test-libvirt.c: the fixture */

/* The backend connected to the test driver on tests/data/test-host.xml. */
VmbHypervisor *open_hv(void);
VmbSnapshot *take_snapshot(VmbHypervisor *hv);
const VmbDomainStat *find_domain(const VmbSnapshot *s, const char *uuid);
/* A domain of the hypervisor's own connection (the test driver state is per connection). */
virDomainPtr lookup(VmbHypervisor *hv, const char *uuid);
/* Runs the default main context for @ms milliseconds (libvirt-glib dispatches there). */
void run_for(guint ms);
/* Warnings the backend logs, kept when a test expects them instead of aborting it. */
extern GPtrArray *warnings;

/* test-libvirt-snapshot.c */
void test_topology_default(void);
void test_snapshot(void);
void test_memory(void);
void test_memory_transient(void);
void test_stats_period(void);
void test_foreign_target(void);

/* test-libvirt-pins.c */
void test_pin_set(void);
void test_pin(void);
void test_pin_errors(void);

/* test-libvirt-events.c */
void test_events(void);
void test_calls_without_events(void);
void test_calls_with_events(void);
void test_reconnect(void);
void test_open_fails(void);

/* test-libvirt-policy.c */
void test_metadata(void);
void test_set_policy(void);
void test_migrating(void);
void test_definition(void);
