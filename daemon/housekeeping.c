/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "housekeeping.h"

G_DEFINE_QUARK(vmb_hk_error, vmb_hk_error)

guint
vmb_hk_restrict(gboolean *allowed, guint npcpus, const VmbCpuSet *hk, gboolean cpus_all,
                const VmbCpuSet *cpus)
{
    guint n = 0;
    for (guint p = 0; p < npcpus; p++) {
        /* Naming a CPU in cpu.cpus is the operator's word that vCPUs may share it. */
        if (allowed[p] && vmb_cpuset_has(hk, p) && (cpus_all || !vmb_cpuset_has(cpus, p)))
            allowed[p] = FALSE;
        n += allowed[p] ? 1 : 0;
    }
    return n;
}

static gboolean
online(const VmbTopology *t, guint npcpus, guint cpu)
{
    if (cpu >= npcpus)
        return FALSE;
    return !t || t->npcpus != npcpus || t->cpu[cpu].online;
}

gboolean
vmb_hk_check(const VmbCpuSet *hk, guint npcpus, const VmbTopology *t, GError **error)
{
    for (guint c = 0; c < VMB_MAX_CPUS; c++) {
        if (!vmb_cpuset_has(hk, c) || online(t, npcpus, c))
            continue;
        VmbCpuSet host;
        vmb_cpuset_clear(&host);
        for (guint p = 0; p < npcpus; p++)
            if (online(t, npcpus, p))
                vmb_cpuset_add(&host, p);
        g_autofree char *have = vmb_cpuset_format(&host);
        g_set_error(error, VMB_HK_ERROR, VMB_HK_ERROR_NOT_ON_HOST,
                    "key 'cpu.housekeeping_cpus': CPU %u is not an online CPU of this host "
                    "(allowed: %s)",
                    c, *have ? have : "none");
        return FALSE;
    }
    return TRUE;
}

double
vmb_hk_other_load(guint64 cpu_then, guint64 vcpus_then, guint64 cpu_now, guint64 vcpus_now,
                  gint64 dt_us)
{
    if (dt_us <= 0 || cpu_now < cpu_then || vcpus_now < vcpus_then)
        return 0;
    double other = (double) (cpu_now - cpu_then) - (double) (vcpus_now - vcpus_then);
    /* cpu.time and the vCPU times are sampled apart: a small negative is noise. */
    return other > 0 ? 100.0 * other / ((double) dt_us * 1000.0) : 0;
}

void
vmb_hk_spread(const VmbCpuSet *hk, guint npcpus, double load, double *bound)
{
    guint n = 0;
    for (guint p = 0; p < npcpus; p++)
        n += vmb_cpuset_has(hk, p) ? 1 : 0;
    if (n == 0 || load <= 0)
        return;
    for (guint p = 0; p < npcpus; p++)
        if (vmb_cpuset_has(hk, p))
            bound[p] += load / n;
}
