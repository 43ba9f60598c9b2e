/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-control.h"

#include <string.h>

#include "dbus-service.h"
#include "hypervisor.h"
#include "log.h"

static const VmbDomainStatus *
find_domain(VmbDaemon *d, const char *domain, GError **error)
{
    const VmbStatus *st = vmb_daemon_status(d);
    for (guint i = 0; i < vmb_status_n_domains(st); i++) {
        const VmbDomainStatus *v = vmb_status_domain(st, i);
        if (g_strcmp0(v->name, domain) == 0 || g_ascii_strcasecmp(v->uuid, domain) == 0)
            return v;
    }
    /* From the caller (valid UTF-8 on the bus): controls escaped, other characters kept. */
    char high[129];
    for (guint i = 0; i < 128; i++)
        high[i] = (char) (0x80 + i);
    high[128] = '\0';
    g_autofree char *shown = g_strescape(domain, high);
    g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_INVALID_ARGUMENT,
                "no running domain '%.200s' as of the last cycle", shown);
    return NULL;
}

static void
add_source(GVariantBuilder *b, const char *key, VmbPolicySource from)
{
    g_variant_builder_add(b, "{sv}", key, g_variant_new_string(vmb_policy_source_name(from)));
}

static GVariant *
hands_off_reasons(guint bits)
{
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
    for (guint bit = 1; bit && bit <= VMB_HANDS_OFF_MIGRATING; bit <<= 1) {
        if (bits & bit) {
            g_autofree char *why = vmb_hands_off_describe(bit);
            g_variant_builder_add(&b, "s", why);
        }
    }
    return g_variant_builder_end(&b);
}

GVariant *
vmb_domain_control_describe(VmbDaemon *d, const char *domain, GError **error)
{
    const VmbDomainStatus *v = find_domain(d, domain, error);
    if (!v)
        return NULL;
    const VmbEffectivePolicy *e = &v->policy;
    g_autofree char *element = v->metadata.set ? vmb_domain_policy_to_xml(&v->metadata) : NULL;
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(v->name));
    g_variant_builder_add(&b, "{sv}", "uuid", g_variant_new_string(v->uuid));
    g_variant_builder_add(&b, "{sv}", "cpu", g_variant_new_string(e->cpu_managed ? "auto" : "off"));
    add_source(&b, "cpu-from", e->cpu_from);
    g_variant_builder_add(&b, "{sv}", "memory",
                          g_variant_new_string(e->memory_managed ? "auto" : "off"));
    add_source(&b, "memory-from", e->memory_from);
    g_variant_builder_add(&b, "{sv}", "weight", g_variant_new_double(e->weight));
    add_source(&b, "weight-from", e->weight_from);
    g_variant_builder_add(&b, "{sv}", "min-mib", g_variant_new_uint64(e->min_mib));
    add_source(&b, "min-from", e->min_from);
    g_variant_builder_add(&b, "{sv}", "max-mib", g_variant_new_uint64(e->max_mib));
    add_source(&b, "max-from", e->max_from);
    g_variant_builder_add(&b, "{sv}", "metadata", g_variant_new_string(element ? element : ""));
    g_variant_builder_add(&b, "{sv}", "metadata-refused",
                          g_variant_new_boolean(v->metadata_refused));
    g_variant_builder_add(&b, "{sv}", "hands-off", hands_off_reasons(v->hands_off));
    return g_variant_builder_end(&b);
}

static void
add_reason(GVariantBuilder *b, const char *name, const char *reason)
{
    g_variant_builder_add(b, "(ss)", name, reason);
}

GVariant *
vmb_domain_control_hands_off(VmbDaemon *d)
{
    const VmbStatus *st = vmb_daemon_status(d);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(ss)"));
    for (guint i = 0; i < vmb_status_n_domains(st); i++) {
        const VmbDomainStatus *v = vmb_status_domain(st, i);
        if (v->hands_off) {
            g_autofree char *why = vmb_hands_off_describe(v->hands_off);
            add_reason(&b, v->name, why);
        }
        if (v->policy.cpu_from == VMB_FROM_OPERATOR)
            add_reason(&b, v->name, "vCPU pins someone else made are kept (cpu.foreign_pins)");
        if (v->policy.memory_from == VMB_FROM_OPERATOR)
            add_reason(&b, v->name,
                       "a balloon target someone else set is kept (memory.foreign_targets)");
        if (v->policy.cpu_from == VMB_FROM_METADATA && !v->policy.cpu_managed)
            add_reason(&b, v->name, "metadata cpu=\"off\"");
        if (v->policy.memory_from == VMB_FROM_METADATA && !v->policy.memory_managed)
            add_reason(&b, v->name, "metadata memory=\"off\"");
        if (v->metadata_refused)
            add_reason(&b, v->name, "invalid vmbalance:policy metadata: the host's settings apply");
    }
    return g_variant_builder_end(&b);
}

/* The parser's errors as the bus reports them. */
static void
to_bus_error(GError **error, GError *local)
{
    VmbDbusError code = g_error_matches(local, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ATTRIBUTE)
                            ? VMB_DBUS_ERROR_UNKNOWN_KEY
                            : VMB_DBUS_ERROR_INVALID_ARGUMENT;
    g_set_error(error, VMB_DBUS_ERROR, code, "%s", local->message);
}

gboolean
vmb_domain_control_set(VmbDaemon *d, const char *domain, const char *key, const char *value,
                       GError **error)
{
    const VmbDomainStatus *v = find_domain(d, domain, error);
    if (!v)
        return FALSE;
    g_autofree char *name = g_strdup(v->name);
    g_autofree char *uuid = g_strdup(v->uuid);
    VmbHypervisor *hv = vmb_daemon_hypervisor(d);
    /* Start from what is stored now (an earlier change may not have reached a cycle yet); a
     * refused element is replaced: what was there could not be used anyway. */
    g_autoptr(GError) local = NULL;
    g_autofree char *stored = NULL;
    if (!vmb_hypervisor_get_policy(hv, uuid, &stored, &local)) {
        g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED, "%s", local->message);
        return FALSE;
    }
    VmbDomainPolicy p = {0};
    if (stored && !vmb_domain_policy_parse(stored, -1, &p, NULL))
        memset(&p, 0, sizeof p);
    gboolean ok = value ? vmb_domain_policy_set_key(&p, key, value, &local)
                        : vmb_domain_policy_reset_key(&p, key, &local);
    if (!ok) {
        to_bus_error(error, local);
        return FALSE;
    }
    /* reset cpu also hands back a vCPU whose foreign pin was kept (cpu.foreign_pins). */
    if (!value && g_str_equal(key, "cpu") && vmb_daemon_release_foreign_pins(d, uuid))
        g_message("domain %s: its foreign vCPU pins are no longer kept: the balancer places it "
                  "again",
                  name);
    /* reset memory also hands back a domain whose foreign balloon target was kept. */
    if (!value && g_str_equal(key, "memory") && vmb_daemon_release_foreign_targets(d, uuid))
        g_message("domain %s: its foreign balloon target is no longer kept: the memory "
                  "coordinator sizes it again",
                  name);
    g_autofree char *xml = p.set ? vmb_domain_policy_to_xml(&p) : NULL;
    if (!vmb_hypervisor_set_policy(hv, uuid, xml, &local)) {
        g_set_error(error, VMB_DBUS_ERROR, VMB_DBUS_ERROR_FAILED, "%s", local->message);
        return FALSE;
    }
    if (value)
        g_message("domain %s: policy %s set to %s over D-Bus (its metadata: %s)", name, key, value,
                  xml);
    else
        g_message("domain %s: policy %s reset over D-Bus (its metadata: %s)", name, key,
                  xml ? xml : "none");
    return TRUE;
}
