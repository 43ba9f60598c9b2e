/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host as a test fixture (tests/meson.build: test_fake_util, for tests that link
 * the daemon's core). */
#pragma once

#include "hypervisor.h"

/* A connected simulated host running the scenario @text; the test fails when it does not load. */
VmbHypervisor *vmb_test_fake_from(const char *text);
