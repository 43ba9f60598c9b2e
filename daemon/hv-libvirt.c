/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend: one bulk statistics call per snapshot (hv-libvirt-stats.c), vCPU pinning,
 * live memory and balloon statistics period (hv-libvirt-requests.c), and lifecycle events on the
 * GLib default main context (through libvirt-glib). It never prints: every libvirt error becomes
 * a GError (hv-libvirt-errors.c). This file: the connection, opened and closed, and the object. */
#include "hv-libvirt-priv.h"

#include "host-sysfs.h"
#include "log.h"
#include "topology-caps.h"

#include <signal.h>

#include <libvirt-glib/libvirt-glib.h>

/* ---- connection ---- */

static void
quiet_error_handler(void *user_data, virErrorPtr err)
{
    /* libvirt prints errors to stderr by default; we report them through GErrors instead. */
}

static void
global_init_once(void)
{
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        /* libvirt writes to its socket with plain write(): when libvirtd goes away, the next
         * call would kill the daemon with SIGPIPE instead of failing (libvirt asks clients to
         * ignore it). Only if nobody chose a disposition already. */
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
            sa.sa_handler = SIG_IGN;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = 0;
            sigaction(SIGPIPE, &sa, NULL);
        }
        virSetErrorFunc(NULL, quiet_error_handler);
        /* libvirt's event loop on the GLib default main context; once per process. */
        gvir_event_register();
        g_once_init_leave(&done, 1);
    }
}

/* A local URI (the daemon runs on the hypervisor host): no host part and the local transport
 * only. The test driver is excluded: its node is made up. */
static gboolean
uri_is_local(const char *uri)
{
    if (!uri)
        return FALSE;
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_NON_DNS, NULL);
    if (!parsed)
        return FALSE;
    const char *scheme = g_uri_get_scheme(parsed);
    const char *host = g_uri_get_host(parsed);
    g_auto(GStrv) parts = g_strsplit(scheme, "+", 2);
    if (g_ascii_strcasecmp(parts[0], "test") == 0)
        return FALSE;
    if (parts[1] && g_ascii_strcasecmp(parts[1], "unix") != 0)
        return FALSE;
    return !host || !*host;
}

/* The host topology, once per connection: libvirt's capabilities, and on a local host the
 * isolated CPUs and cache groups of /sys. A host that reports none, or XML that does not
 * parse, is flat (logged once): placement then works as on a host without topology. */
static void
lv_read_topology(LvPriv *p)
{
    g_clear_pointer(&p->topology, vmb_topology_unref);
    g_autofree char *xml = LV_CALL(p, CONNECT, virConnectGetCapabilities(p->conn));
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t = NULL;
    if (!xml) {
        g_autoptr(virError) err = virSaveLastError();
        vmb_log_once("lv-topology", G_LOG_LEVEL_MESSAGE,
                     "cannot read the host capabilities, placing vCPUs as on a flat host: %s",
                     lv_error_message(err));
        return;
    }
    t = vmb_topology_from_caps(xml, p->npcpus, &error);
    if (t && p->local && t->known && !vmb_host_sysfs_apply("/", t, &error))
        g_clear_pointer(&t, vmb_topology_unref);
    if (!t) {
        vmb_log_once("lv-topology", G_LOG_LEVEL_MESSAGE,
                     "host topology not usable, placing vCPUs as on a flat host: %s",
                     error->message);
        return;
    }
    vmb_log_once_clear("lv-topology");
    p->topology = g_steal_pointer(&t);
}

static gboolean
lv_open(VmbHypervisor *hv, GError **error)
{
    LvPriv *p = hv->priv;
    global_init_once();

    const char *uri = hv->uri && *hv->uri ? hv->uri : NULL;
    p->conn = LV_CALL(p, CONNECT, virConnectOpen(uri));
    if (!p->conn) {
        g_autoptr(virError) err = virSaveLastError();
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED, "%s", lv_error_message(err));
        return FALSE;
    }

    if (!lv_events_register(p, error)) {
        hv->ops->close(hv);
        return FALSE;
    }

    virNodeInfo info;
    if (!lv_query_npcpus(p, &info, &p->npcpus, error)) {
        hv->ops->close(hv);
        return FALSE;
    }
    g_autofree char *real_uri = virConnectGetURI(p->conn);
    p->local = uri_is_local(real_uri);
    p->seq = 0;
    lv_read_topology(p);
    return TRUE;
}

static void
lv_close(VmbHypervisor *hv)
{
    LvPriv *p = hv->priv;
    lv_events_unregister(p);
    if (p->conn) {
        LV_CALL(p, CONNECT, virConnectClose(p->conn));
        virResetLastError();
        p->conn = NULL;
    }
    g_hash_table_remove_all(p->cache);
    g_hash_table_remove_all(p->reported);
    g_clear_pointer(&p->topology, vmb_topology_unref);
}

/* ---- object ---- */

static void
lv_free(VmbHypervisor *hv)
{
    LvPriv *p = hv->priv;
    if (!p)
        return;
    g_hash_table_unref(p->cache);
    g_hash_table_unref(p->reported);
    g_clear_pointer(&p->topology, vmb_topology_unref);
    g_mutex_clear(&p->lost_lock);
    g_free(p);
    hv->priv = NULL;
}

static const VmbHypervisorOps lv_ops = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .snapshot = lv_snapshot,
    .pin_vcpu = lv_pin_vcpu,
    .set_memory = lv_set_memory,
    .set_stats_period = lv_set_stats_period,
    .forget_target = lv_mem_forget_target,
    .set_vmem_requested = lv_set_vmem_requested,
    .pin_housekeeping = lv_pin_housekeeping,
    .set_memory_node = lv_set_memory_node,
    .free = lv_free,
    .set_policy = lv_set_policy,
    .get_policy = lv_get_policy,
};

VmbHypervisor *
vmb_hv_libvirt_new(const char *uri)
{
    VmbHypervisor *hv = g_new0(VmbHypervisor, 1);
    LvPriv *p = g_new0(LvPriv, 1);
    p->hv = hv;
    p->lifecycle_id = -1;
    p->tunable_id = -1;
    p->metadata_id = -1;
    p->migration_id = -1;
    p->job_id = -1;
    p->memdev_id = -1;
    p->reboot_id = -1;
    p->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) lv_domain_cache_free);
    p->reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_mutex_init(&p->lost_lock);
    hv->ops = &lv_ops;
    hv->uri = g_strdup(uri ? uri : "");
    hv->priv = p;
    return hv;
}

LvPriv *
lv_priv(VmbHypervisor *hv)
{
    return hv && hv->ops == &lv_ops ? hv->priv : NULL;
}

virConnectPtr
vmb_hv_libvirt_get_conn(VmbHypervisor *hv)
{
    LvPriv *p = lv_priv(hv);
    return p ? p->conn : NULL;
}
