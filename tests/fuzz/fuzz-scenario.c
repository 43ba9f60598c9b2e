/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the simulated host's scenario file (vmb_scenario_load_data), and, when
 * it loads and is small, the simulated host built from it run for a few seconds with a
 * snapshot each second, and each running domain pinned, ballooned and given a statistics
 * period between them: everything a scenario file can reach. */
#include <stdio.h>

#include "hv-fake-scenario.h"
#include "hv-fake.h"
#include "hypervisor.h"
#include "snapshot.h"

#include "fuzz-common.h"

/* Larger hosts are valid, just slow to simulate per fuzz input. */
#define MAX_SIM_PCPUS 64
#define MAX_SIM_VCPUS 256

FUZZ_DEFINE_INIT_LOGGING_ONLY()

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = fuzz_strdup(data, size);
    g_autoptr(GError) error = NULL;
    VmbScenario *sc = vmb_scenario_load_data(text, &error);
    if (!sc) {
        fuzz_require_message(error, "vmb_scenario_load_data");
        return 0;
    }
    guint vcpus = 0;
    for (guint i = 0; i < sc->domains->len; i++)
        vcpus += ((VmbScenarioDomain *) g_ptr_array_index(sc->domains, i))->nvcpus;
    if (sc->ncpus > MAX_SIM_PCPUS || vcpus > MAX_SIM_VCPUS) {
        vmb_scenario_free(sc);
        return 0;
    }

    g_autoptr(VmbHypervisor) hv = vmb_hv_fake_new_from_scenario(sc, TRUE);
    vmb_hypervisor_ensure_connected(hv, NULL);
    for (int t = 0; t < 4; t++) {
        g_autoptr(GError) snap_error = NULL;
        VmbSnapshot *s = vmb_hypervisor_snapshot(hv, &snap_error);
        /* What the tasks do with a snapshot: pin, balloon, statistics period (may fail). */
        for (guint i = 0; s && i < s->domains->len; i++) {
            const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
            if (d->nvcpus)
                vmb_hypervisor_pin_vcpu(hv, d->uuid, (guint) t % d->nvcpus,
                                        (guint) (t + i) % sc->ncpus, NULL);
            vmb_hypervisor_set_memory(hv, d->uuid, (guint64) (256 << t), NULL);
            vmb_hypervisor_set_stats_period(hv, d->uuid, (guint) t, NULL);
        }
        if (s)
            vmb_snapshot_free(s);
        vmb_hv_fake_advance(hv, 1);
    }
    return 0;
}
