/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hypervisor.h"
#include "log.h"

G_DEFINE_QUARK(vmb_hypervisor_error, vmb_hv_error)

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 60

VmbHypervisor *
vmb_hypervisor_new(const char *uri, GError **error)
{
    if (g_str_has_prefix(uri, "fake:"))
        return vmb_hv_fake_new(uri, error);
    return vmb_hv_libvirt_new(uri);
}

void
vmb_hypervisor_free(VmbHypervisor *hv)
{
    if (!hv)
        return;
    if (hv->connected)
        hv->ops->close(hv);
    hv->ops->free(hv);
    g_clear_pointer(&hv->bad_names, g_hash_table_unref);
    g_free(hv->uri);
    g_free(hv);
}

void
vmb_hypervisor_set_event_func(VmbHypervisor *hv, VmbDomainEventFunc func, gpointer data)
{
    hv->event_func = func;
    hv->event_data = data;
}

void
vmb_hypervisor_set_connection_func(VmbHypervisor *hv, VmbConnectionFunc func, gpointer data)
{
    hv->conn_func = func;
    hv->conn_data = data;
}

/* What a name may not hold as is: a newline or an escape sequence would forge journal lines
 * or terminal output; D-Bus refuses invalid UTF-8 outright. */
static gboolean
unprintable(gunichar c)
{
    switch (g_unichar_type(c)) {
    case G_UNICODE_CONTROL:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
        return TRUE;
    default:
        return FALSE;
    }
}

char *
vmb_hypervisor_printable_name(const char *name)
{
    const char *p = name;
    while (p && *p) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar) -1 || c == (gunichar) -2 || unprintable(c))
            break;
        p = g_utf8_next_char(p);
    }
    if (!p || !*p)
        return NULL;
    GString *out = g_string_new_len(name, p - name);
    while (*p) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar) -1 || c == (gunichar) -2 || c < 0x80) {
            /* One byte at a time: an invalid sequence may hide a valid character after it. */
            if (c != (gunichar) -1 && c != (gunichar) -2 && !unprintable(c))
                g_string_append_c(out, *p);
            else
                g_string_append_printf(out, "\\x%02x", (guchar) *p);
            p++;
            continue;
        }
        const char *next = g_utf8_next_char(p);
        if (unprintable(c))
            g_string_append_printf(out, "\\u%04x", c);
        else
            g_string_append_len(out, p, next - p);
        p = next;
    }
    return g_string_free(out, FALSE);
}

/* Replaces an unprintable @*name by its printable form, warning once per domain. */
static void
make_printable(VmbHypervisor *hv, char **name, const char *uuid)
{
    g_autofree char *safe = vmb_hypervisor_printable_name(*name);
    if (!safe)
        return;
    if (!hv->bad_names)
        hv->bad_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (g_hash_table_add(hv->bad_names, g_strdup(uuid))) {
        const char *fields[] = {"DOMAIN", safe, "DOMAIN_UUID", uuid, NULL};
        vmb_log_fields(G_LOG_LEVEL_WARNING, NULL, fields,
                       "domain %s has a name that is not valid UTF-8 or holds control "
                       "characters; it is shown as '%s'",
                       uuid, safe);
    }
    g_free(*name);
    *name = g_steal_pointer(&safe);
}

void
vmb_hypervisor_emit_domain(VmbHypervisor *hv, VmbDomainEvent event, const char *name,
                           const char *uuid)
{
    if (!hv->event_func)
        return;
    g_autofree char *shown = g_strdup(name);
    make_printable(hv, &shown, uuid);
    hv->event_func(hv, event, shown, uuid, hv->event_data);
}

void
vmb_hypervisor_count_call(VmbHypervisor *hv, VmbHvCallKind kind)
{
    g_return_if_fail(kind < VMB_HV_CALL_KINDS);
    hv->calls.kind[kind]++;
    hv->calls.total++;
}

VmbHvCalls
vmb_hypervisor_calls(const VmbHypervisor *hv)
{
    return hv->calls;
}

VmbHvCalls
vmb_hypervisor_calls_since(const VmbHypervisor *hv, const VmbHvCalls *before)
{
    VmbHvCalls d = {.total = hv->calls.total - before->total};
    for (guint k = 0; k < VMB_HV_CALL_KINDS; k++)
        d.kind[k] = hv->calls.kind[k] - before->kind[k];
    return d;
}

void
vmb_hypervisor_lost(VmbHypervisor *hv, const char *reason)
{
    if (!hv->connected)
        return;
    hv->ops->close(hv);
    hv->connected = FALSE;
    hv->backoff_s = BACKOFF_MIN_S;
    hv->next_retry_us = g_get_monotonic_time() + hv->backoff_s * G_USEC_PER_SEC;
    if (hv->conn_func)
        hv->conn_func(hv, FALSE, reason, hv->conn_data);
}

gboolean
vmb_hypervisor_ensure_connected(VmbHypervisor *hv, GError **error)
{
    if (hv->connected)
        return TRUE;
    gint64 now = g_get_monotonic_time();
    if (now < hv->next_retry_us) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED,
                    "not connected to %s (next attempt in %" G_GINT64_FORMAT " s)", hv->uri,
                    (hv->next_retry_us - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
        return FALSE;
    }
    g_autoptr(GError) local = NULL;
    if (!hv->ops->open(hv, &local)) {
        hv->backoff_s = CLAMP(hv->backoff_s * 2, BACKOFF_MIN_S, BACKOFF_MAX_S);
        hv->next_retry_us = now + hv->backoff_s * G_USEC_PER_SEC;
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "cannot connect to %s: %s",
                    hv->uri, local->message);
        if (hv->conn_func)
            hv->conn_func(hv, FALSE, local->message, hv->conn_data);
        return FALSE;
    }
    hv->connected = TRUE;
    if (hv->backoff_s)
        hv->reconnects++;
    hv->backoff_s = 0;
    if (hv->conn_func)
        hv->conn_func(hv, TRUE, NULL, hv->conn_data);
    return TRUE;
}

/* Hands a backend call's error to the caller. A backend signals a dead connection by
 * VMB_HV_ERROR_DISCONNECTED; drop it here so the next call goes through the backoff. */
static void
finish_call(VmbHypervisor *hv, GError *local, GError **error)
{
    if (!local)
        return;
    /* Backends' messages may quote a domain's name. */
    g_autofree char *safe = vmb_hypervisor_printable_name(local->message);
    if (safe) {
        g_free(local->message);
        local->message = g_steal_pointer(&safe);
    }
    if (g_error_matches(local, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED))
        vmb_hypervisor_lost(hv, local->message);
    g_propagate_error(error, local);
}

VmbSnapshot *
vmb_hypervisor_snapshot(VmbHypervisor *hv, GError **error)
{
    GError *local = NULL;
    VmbSnapshot *s =
        vmb_hypervisor_ensure_connected(hv, error) ? hv->ops->snapshot(hv, &local) : NULL;
    finish_call(hv, local, error);
    for (guint i = 0; s && i < s->domains->len; i++) {
        VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        make_printable(hv, &d->name, d->uuid);
    }
    return s;
}

gboolean
vmb_hypervisor_pin_vcpu_set(VmbHypervisor *hv, const char *uuid, guint vcpu, const VmbCpuSet *cpus,
                            GError **error)
{
    if (vmb_cpuset_is_empty(cpus)) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin vCPU %u of %s to no CPU at all", vcpu, uuid);
        return FALSE;
    }
    GError *local = NULL;
    gboolean ok = vmb_hypervisor_ensure_connected(hv, error) &&
                  hv->ops->pin_vcpu(hv, uuid, vcpu, cpus, &local);
    finish_call(hv, local, error);
    return ok;
}

gboolean
vmb_hypervisor_pin_vcpu(VmbHypervisor *hv, const char *uuid, guint vcpu, guint pcpu, GError **error)
{
    if (pcpu >= VMB_MAX_CPUS) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "cannot pin vCPU %u of %s to CPU %u: CPUs go up to %d", vcpu, uuid, pcpu,
                    VMB_MAX_CPUS - 1);
        return FALSE;
    }
    VmbCpuSet one;
    vmb_cpuset_clear(&one);
    vmb_cpuset_add(&one, pcpu);
    return vmb_hypervisor_pin_vcpu_set(hv, uuid, vcpu, &one, error);
}

gboolean
vmb_hypervisor_set_memory(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    GError *local = NULL;
    gboolean ok =
        vmb_hypervisor_ensure_connected(hv, error) && hv->ops->set_memory(hv, uuid, kib, &local);
    finish_call(hv, local, error);
    return ok;
}

gboolean
vmb_hypervisor_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    if (!hv->ops->set_vmem_requested) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "the %s backend cannot resize virtio-mem devices", hv->ops->name);
        return FALSE;
    }
    GError *local = NULL;
    gboolean ok = vmb_hypervisor_ensure_connected(hv, error) &&
                  hv->ops->set_vmem_requested(hv, uuid, kib, &local);
    finish_call(hv, local, error);
    return ok;
}

void
vmb_hypervisor_forget_target(VmbHypervisor *hv, const char *uuid)
{
    if (hv->ops->forget_target)
        hv->ops->forget_target(hv, uuid);
}

gboolean
vmb_hypervisor_pin_housekeeping(VmbHypervisor *hv, const char *uuid, const VmbCpuSet *cpus,
                                GError **error)
{
    if (!hv->ops->pin_housekeeping) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "the %s backend cannot pin emulator threads", hv->ops->name);
        return FALSE;
    }
    GError *local = NULL;
    gboolean ok = vmb_hypervisor_ensure_connected(hv, error) &&
                  hv->ops->pin_housekeeping(hv, uuid, cpus, &local);
    finish_call(hv, local, error);
    return ok;
}

gboolean
vmb_hypervisor_set_memory_node(VmbHypervisor *hv, const char *uuid, guint node, GError **error)
{
    if (!hv->ops->set_memory_node) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "the %s backend cannot move a domain's memory", hv->ops->name);
        return FALSE;
    }
    GError *local = NULL;
    gboolean ok = vmb_hypervisor_ensure_connected(hv, error) &&
                  hv->ops->set_memory_node(hv, uuid, node, &local);
    finish_call(hv, local, error);
    return ok;
}

gboolean
vmb_hypervisor_set_stats_period(VmbHypervisor *hv, const char *uuid, guint seconds, GError **error)
{
    GError *local = NULL;
    gboolean ok = vmb_hypervisor_ensure_connected(hv, error) &&
                  hv->ops->set_stats_period(hv, uuid, seconds, &local);
    finish_call(hv, local, error);
    return ok;
}

gboolean
vmb_hypervisor_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error)
{
    if (!hv->ops->set_policy) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "the %s backend cannot store a domain's policy", hv->ops->name);
        return FALSE;
    }
    GError *local = NULL;
    gboolean ok =
        vmb_hypervisor_ensure_connected(hv, error) && hv->ops->set_policy(hv, uuid, xml, &local);
    finish_call(hv, local, error);
    return ok;
}

gboolean
vmb_hypervisor_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error)
{
    *xml = NULL;
    if (!hv->ops->get_policy) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "the %s backend cannot read a domain's policy", hv->ops->name);
        return FALSE;
    }
    GError *local = NULL;
    gboolean ok =
        vmb_hypervisor_ensure_connected(hv, error) && hv->ops->get_policy(hv, uuid, xml, &local);
    finish_call(hv, local, error);
    return ok;
}
