/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the vmbalance:policy metadata element as a guest's owner (or a damaged
 * definition) may leave it. A parse either fails with a message or gives a policy within the
 * documented bounds; what is written back from it parses to the same policy. The same bytes
 * go to the daemon's own numa-home record, read by the same element reader (meta-element.h):
 * refused with a message and no nodeset, or read with one. */
#include <stdio.h>

#include "domain-policy.h"
#include "numa-mark.h"

#include "fuzz-common.h"

FUZZ_DEFINE_INIT_LOGGING_ONLY()

static void
check_bounds(const VmbDomainPolicy *p)
{
    gboolean ok = TRUE;
    if (p->set & VMB_POLICY_WEIGHT)
        ok &= p->weight >= VMB_POLICY_WEIGHT_MIN && p->weight <= VMB_POLICY_WEIGHT_MAX;
    if (p->set & VMB_POLICY_MIN_MIB)
        ok &= p->min_mib >= VMB_POLICY_MIB_MIN && p->min_mib <= VMB_POLICY_MIB_MAX;
    if (p->set & VMB_POLICY_MAX_MIB)
        ok &= p->max_mib >= VMB_POLICY_MIB_MIN && p->max_mib <= VMB_POLICY_MIB_MAX;
    if ((p->set & VMB_POLICY_MIN_MIB) && (p->set & VMB_POLICY_MAX_MIB))
        ok &= p->min_mib <= p->max_mib;
    if (!ok || (p->set & ~0x1fu)) {
        fprintf(stderr, "fuzz: a parsed policy is out of its bounds\n");
        abort();
    }
}

static void
check_numa_mark(const guint8 *data, size_t size)
{
    VmbCpuSet nodes;
    g_autoptr(GError) error = NULL;
    gboolean ok = vmb_numa_mark_parse((const char *) data, (gssize) size, &nodes, &error);
    if (ok ? vmb_cpuset_is_empty(&nodes) || error
           : !error || !error->message[0] || !vmb_cpuset_is_empty(&nodes)) {
        fprintf(stderr, "fuzz: a numa-home record read without a nodeset or refused half kept\n");
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    check_numa_mark(data, size);
    VmbDomainPolicy p;
    g_autoptr(GError) error = NULL;
    if (!vmb_domain_policy_parse((const char *) data, (gssize) size, &p, &error)) {
        if (!error || !error->message[0] || p.set != 0) {
            fprintf(stderr, "fuzz: a refused policy without a message or half kept\n");
            abort();
        }
        return 0;
    }
    check_bounds(&p);

    g_autofree char *out = vmb_domain_policy_to_xml(&p);
    g_autofree char *in =
        g_strdup_printf("<v:policy xmlns:v=\"%s\"%s", VMB_POLICY_XMLNS, out + strlen("<policy"));
    VmbDomainPolicy again;
    g_autoptr(GError) again_error = NULL;
    if (!vmb_domain_policy_parse(in, -1, &again, &again_error) || again.set != p.set) {
        fprintf(stderr, "fuzz: the written-back policy '%s' does not read back: %s\n", in,
                again_error ? again_error->message : "other keys");
        abort();
    }
    g_autofree char *out2 = vmb_domain_policy_to_xml(&again);
    if (strcmp(out, out2) != 0) {
        fprintf(stderr, "fuzz: '%s' became '%s'\n", out, out2);
        abort();
    }
    VmbPolicyContext ctx = {0};
    VmbEffectivePolicy e;
    vmb_domain_policy_resolve(&p, &ctx, &e);
    return 0;
}
