/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host's hypervisor requests: pins, memory, stats period, policy metadata. */
#include "hv-fake-priv.h"

#include <math.h>

#include "numa-mark.h"

gboolean
fake_open(VmbHypervisor *hv, GError **error)
{
    fake_sync_clock(hv, FALSE);
    if (fake_is_down(fake_of(hv))) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED,
                    "simulated host is unreachable");
        return FALSE;
    }
    return TRUE;
}

void
fake_close(VmbHypervisor *hv)
{
}

static FakeDomain *
find_running(Fake *f, const char *uuid, GError **error)
{
    for (guint i = 0; i < f->sc->domains->len; i++) {
        if (f->doms[i].running && g_ascii_strcasecmp(f->doms[i].def->uuid, uuid) == 0)
            return &f->doms[i];
    }
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "no running domain with UUID %s",
                uuid);
    return NULL;
}

gboolean
fake_check_up(VmbHypervisor *hv, gboolean measuring, GError **error)
{
    fake_sync_clock(hv, measuring);
    if (fake_is_down(fake_of(hv))) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED,
                    "simulated host stopped answering");
        return FALSE;
    }
    return TRUE;
}

/* A request's common start: counted as one call, refused while the host is down, and only for
 * a running domain. */
static FakeDomain *
request_domain(VmbHypervisor *hv, const char *uuid, GError **error)
{
    vmb_hypervisor_count_call(hv, VMB_HV_CALL_REQUEST);
    if (!fake_check_up(hv, FALSE, error))
        return NULL;
    return find_running(fake_of(hv), uuid, error);
}

/* The index of @set in f->sets, added when new. */
static gint
intern_set(Fake *f, const VmbCpuSet *set)
{
    for (guint g = 0; g < f->sets->len; g++) {
        if (vmb_cpuset_equal(g_ptr_array_index(f->sets, g), set))
            return (gint) g;
    }
    g_ptr_array_add(f->sets, g_memdup2(set, sizeof(*set)));
    return (gint) f->sets->len - 1;
}

gboolean
fake_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus,
              GError **error)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = request_domain(hv, uuid, error);
    if (!d)
        return FALSE;
    guint n = vmb_cpuset_count(cpus), pcpu = (guint) vmb_cpuset_first(cpus);
    guint inside = 0;
    for (guint c = 0; c < f->sc->ncpus; c++)
        inside += vmb_cpuset_has(cpus, c);
    if (vcpu >= d->def->nvcpus || inside != n) {
        g_autofree char *text = vmb_cpuset_format(cpus);
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin vCPU %u to pCPUs %s: domain has %u vCPUs, host %u pCPUs", vcpu,
                    text, d->def->nvcpus, f->sc->ncpus);
        return FALSE;
    }
    d->pins[vcpu] = n == 1 ? (gint) pcpu : -1;
    d->set[vcpu] = n == 1 || n == f->sc->ncpus ? -1 : intern_set(f, cpus);
    f->counters.pin_changes++;
    return TRUE;
}

gboolean
fake_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = request_domain(hv, uuid, error);
    if (!d)
        return FALSE;
    if (!d->def->balloon) {
        /* What libvirt says for a domain without a balloon device. */
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "domain %s has no memory balloon device", d->def->name);
        return FALSE;
    }
    if (kib > d->def->memory_mib * 1024 || kib == 0) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "memory %" G_GUINT64_FORMAT " KiB outside 1..%" G_GUINT64_FORMAT " KiB", kib,
                    d->def->memory_mib * 1024);
        return FALSE;
    }
    d->target_mib = d->requested_mib = kib / 1024.0;
    if (d->def->vmem_mib) {
        double memory_now = (double) (d->def->memory_mib - d->def->vmem_mib) + d->vmem_plugged_mib;
        d->balloon_pages_mib = MAX(0, memory_now - d->target_mib);
    }
    f->counters.memory_changes++;
    return TRUE;
}

/* As the libvirt backend: a target reported that is not the balloon's is dropped. */
void
fake_forget_target(VmbHypervisor *hv, const char *uuid)
{
    FakeDomain *d = find_running(fake_of(hv), uuid, NULL);
    if (d && fabs(d->requested_mib - d->target_mib) >= 1)
        d->requested_mib = 0;
}

gboolean
fake_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = request_domain(hv, uuid, error);
    if (!d)
        return FALSE;
    guint64 block = d->def->vmem_block_mib * 1024;
    if (!d->def->vmem_mib || kib > d->def->vmem_mib * 1024 || kib % block) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "domain %s: no virtio-mem device, or %" G_GUINT64_FORMAT
                    " KiB is not whole blocks within its size",
                    d->def->name, kib);
        return FALSE;
    }
    d->vmem_requested_mib = kib / 1024.0;
    f->counters.vmem_changes++;
    return TRUE;
}

gboolean
fake_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error)
{
    FakeDomain *d = request_domain(hv, uuid, error);
    if (!d)
        return FALSE;
    if (!d->def->balloon) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "domain %s has no memory balloon device", d->def->name);
        return FALSE;
    }
    d->stats_period = seconds;
    return TRUE;
}

/* @cpus (empty: the default, all CPUs) for the emulator threads of @d. */
void
fake_set_emulator_pin(FakeDomain *d, const VmbCpuSet *cpus)
{
    g_free(d->emulator_cpus);
    d->emulator_cpus = vmb_cpuset_is_empty(cpus) ? NULL : vmb_cpuset_format(cpus);
    d->emu_set = *cpus;
    d->emu_n = vmb_cpuset_count(cpus);
}

gboolean
fake_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus, GError **error)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = request_domain(hv, uuid, error);
    if (!d)
        return FALSE;
    guint n = 0;
    for (guint c = 0; c < f->sc->ncpus; c++)
        n += vmb_cpuset_has(cpus, c) ? 1 : 0;
    if (n == 0 || n != vmb_cpuset_count(cpus)) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin emulator threads: the host has pCPUs 0-%u", f->sc->ncpus - 1);
        return FALSE;
    }
    fake_set_emulator_pin(d, cpus);
    d->hk_pins++;
    return TRUE;
}

/* The memory moves at once: the bench's domains hold 1 GiB, which the kernel copies in about a
 * second (bench/notes.md), less than one cycle. */
gboolean
fake_set_memory_node(VmbHypervisor *hv, const char *uuid, guint node, GError **error)
{
    Fake *f = fake_of(hv);
    FakeDomain *d = request_domain(hv, uuid, error);
    if (!d)
        return FALSE;
    const VmbTopology *t = f->sc->topology;
    if (!f->sc->memory_moves) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "the simulated host refuses memory moves (memory_moves = no)");
        return FALSE;
    }
    if (!t || node >= t->nnodes) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot move memory to node %u: the host has %u node(s)", node,
                    t ? t->nnodes : 1);
        return FALSE;
    }
    d->mem_node = (gint) node;
    d->numatune_node = (gint) node;
    g_free(d->numa_mark); /* as libvirt's backend records it (the fake's nodes are dense) */
    d->numa_mark = vmb_numa_mark_to_xml(node);
    d->mem_moves++;
    f->counters.memory_node_moves++;
    return TRUE;
}

gboolean
fake_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error)
{
    if (!fake_check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (d->running && g_ascii_strcasecmp(d->def->uuid, uuid) == 0)
            return vmb_hv_fake_set_metadata(hv, d->def->name, xml);
    }
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "no running domain %s", uuid);
    return FALSE;
}

gboolean
fake_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error)
{
    if (!fake_check_up(hv, FALSE, error))
        return FALSE;
    Fake *f = fake_of(hv);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (d->running && g_ascii_strcasecmp(d->def->uuid, uuid) == 0) {
            *xml = g_strdup(d->metadata);
            return TRUE;
        }
    }
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN, "no running domain %s", uuid);
    return FALSE;
}
