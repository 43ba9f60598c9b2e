/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-fake-util.h"

#include "hv-fake.h"

VmbHypervisor *
vmb_test_fake_from(const char *text)
{
    g_autoptr(GError) error = NULL;
    VmbScenario *sc = vmb_scenario_load_data(text, &error);
    g_assert_no_error(error);
    VmbHypervisor *hv = vmb_hv_fake_new_from_scenario(sc, TRUE);
    g_assert_true(vmb_hypervisor_ensure_connected(hv, &error));
    return hv;
}
