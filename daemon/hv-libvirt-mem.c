/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory side of the libvirt backend beyond the bulk statistics: on first sight a domain's
 * XML tells its balloon target (<currentMemory>), the balloon's features (free page reporting,
 * deflate-on-OOM) and a virtio-mem device; our own requests keep the target up to date, and
 * reboot events are counted (the guest's balloon driver lets go and takes the target again). */
#include "domain-xml.h"
#include "hv-libvirt-priv.h"
#include "mem-policy.h"

void
lv_mem_clear(DomainMemCache *m)
{
    g_clear_pointer(&m->vmem_alias, g_free);
    g_clear_pointer(&m->vmem_address, g_free);
}

/* @xml of the domain @name parsed; FALSE when it makes no sense (logged: the guest is then
 * handled as a plain balloon). */
static gboolean
parse_xml(const char *name, const char *xml, VmbDomainMemXml *x)
{
    g_autoptr(GError) local = NULL;
    if (!vmb_domain_mem_xml_parse(xml, x, &local)) {
        g_warning("the XML of %s makes no sense (%s): its memory is handled as a plain balloon",
                  name, local->message);
        return FALSE;
    }
    return TRUE;
}

/* The domain's live XML, parsed. FALSE with no @error when it cannot be had or read. */
static gboolean
read_live_xml(LvPriv *p, virDomainPtr dom, VmbDomainMemXml *x, GError **error)
{
    const char *name = virDomainGetName(dom);
    g_autofree char *xml = LV_CALL(p, DOMAIN, virDomainGetXMLDesc(dom, 0));
    if (!xml) {
        lv_soft_failure(p, error, "cannot get the XML of %s", name);
        return FALSE;
    }
    return parse_xml(name, xml, x);
}

gboolean
lv_mem_read(LvPriv *p, virDomainPtr dom, DomainCache *c, guint64 actual_kib, const char *definition,
            GError **error)
{
    DomainMemCache *m = &c->mem;
    g_auto(VmbDomainMemXml) live = {0};
    g_auto(VmbDomainMemXml) config = {0}; /* before the first goto: cleaned up at out */
    GError *local = NULL;
    if (!read_live_xml(p, dom, &live, &local))
        goto out;
    c->numatune_node = vmb_numatune_node(&live);
    c->numatune = live.numatune != VMB_NUMATUNE_NONE;
    c->numatune_ours = c->numatune && lv_numa_mark_read(p, dom, &live);
    m->features = (live.free_page_reporting ? VMB_BALLOON_FREE_PAGE_REPORTING : 0) |
                  (live.autodeflate ? VMB_BALLOON_DEFLATE_ON_OOM : 0);
    if (live.vmem.present) {
        m->vmem = (VmbVirtioMemStat){
            .present = TRUE,
            .size_kib = live.vmem.size_kib,
            .block_kib = live.vmem.block_kib,
            .requested_kib = live.vmem.requested_kib,
            .plugged_kib = live.vmem.have_current ? live.vmem.current_kib : 0,
            .base_kib = live.numa_kib, /* virtio-mem needs NUMA: the cells are boot memory */
        };
        g_free(m->vmem_alias);
        m->vmem_alias = g_steal_pointer(&live.vmem.alias);
        g_free(m->vmem_address);
        m->vmem_address = g_steal_pointer(&live.vmem.address);
        m->vmem_node = live.vmem.node;
    }
    /* The live <currentMemory> follows actual; the boot target is the persistent one. QEMU
     * starts a guest at <memory> and inflates from there, so only a target below actual can
     * be a change in flight (a higher one is a live change since, which we cannot see). */
    if (!definition || LV_CALL(p, DOMAIN, virDomainIsPersistent(dom)) != 1)
        goto out;
    if (parse_xml(virDomainGetName(dom), definition, &config) && config.current_kib &&
        config.current_kib + vmb_mem_tolerance(config.current_kib) < actual_kib)
        m->balloon_target_kib = config.current_kib;
out:
    if (local) {
        g_propagate_error(error, local);
        return FALSE;
    }
    return TRUE;
}

void
lv_mem_fill(const DomainCache *c, VmbDomainStat *d)
{
    d->balloon.target_kib = c->mem.balloon_target_kib;
    d->balloon.features = c->mem.features;
    d->balloon.resets = c->mem.resets;
    d->vmem = c->mem.vmem;
}

void
lv_mem_target_set(LvPriv *p, const char *uuid, guint64 kib)
{
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c)
        c->mem.balloon_target_kib = kib;
}

void
lv_mem_forget_target(VmbHypervisor *hv, const char *uuid)
{
    lv_mem_target_set(hv->priv, uuid, 0);
}

#if LIBVIR_CHECK_VERSION(7, 9, 0)
/* A memory device of @dom changed size: the guest plugged or unplugged virtio-mem blocks. */
static void
memdev_size_cb(virConnectPtr conn, virDomainPtr dom, const char *alias, unsigned long long size,
               void *opaque)
{
    LvPriv *p = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (!alias || virDomainGetUUIDString(dom, uuid) < 0)
        return;
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c && c->mem.vmem.present && g_strcmp0(c->mem.vmem_alias, alias) == 0 &&
        size <= c->mem.vmem.size_kib)
        c->mem.vmem.plugged_kib = size;
}
#endif

void
lv_mem_reboot_event(LvPriv *p, virDomainPtr dom)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid) < 0) {
        virResetLastError();
        return;
    }
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c)
        c->mem.resets++;
}

/* The guest reset (virsh reboot, or the guest's own): its balloon driver reloads. */
static void
reboot_cb(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    lv_mem_reboot_event(opaque, dom);
}

void
lv_mem_events_register(LvPriv *p)
{
    p->reboot_id =
        LV_CALL(p, CONNECT,
                virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                 VIR_DOMAIN_EVENT_CALLBACK(reboot_cb), p, NULL));
    if (p->reboot_id < 0)
        virResetLastError(); /* a reboot is then taken for a move: judged for two snapshots */
#if LIBVIR_CHECK_VERSION(7, 9, 0)
    p->memdev_id = LV_CALL(p, CONNECT,
                           virConnectDomainEventRegisterAny(
                               p->conn, NULL, VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
                               VIR_DOMAIN_EVENT_CALLBACK(memdev_size_cb), p, NULL));
    if (p->memdev_id < 0)
        virResetLastError(); /* older drivers: the plugged size is read on first sight only */
#else
    p->memdev_id = -1;
#endif
}

void
lv_mem_events_unregister(LvPriv *p)
{
    if (p->conn && p->memdev_id >= 0)
        LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->memdev_id));
    if (p->conn && p->reboot_id >= 0)
        LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->reboot_id));
    p->memdev_id = p->reboot_id = -1;
}

gboolean
lv_set_vmem_requested(VmbHypervisor *hv, const char *uuid, guint64 kib, GError **error)
{
    LvPriv *p = hv->priv;
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (!c || !c->mem.vmem.present || !c->mem.vmem_alias) {
        g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_INVALID,
                    "no virtio-mem device with an alias known for %s", uuid);
        return FALSE;
    }
    virDomainPtr dom = LV_CALL(p, DOMAIN, virDomainLookupByUUIDString(p->conn, uuid));
    if (!dom) {
        lv_set_error_last(p, error, TRUE, "cannot find domain %s", uuid);
        return FALSE;
    }
    /* libvirt (9.0) finds the live device by its address (the error names the alias); the other
     * figures must match its definition. */
    g_autofree char *alias = g_markup_escape_text(c->mem.vmem_alias, -1);
    g_autofree char *xml = g_strdup_printf(
        "<memory model='virtio-mem'><target><size unit='KiB'>%" G_GUINT64_FORMAT "</size>"
        "<node>%u</node><block unit='KiB'>%" G_GUINT64_FORMAT "</block>"
        "<requested unit='KiB'>%" G_GUINT64_FORMAT "</requested></target>"
        "<alias name='%s'/>%s</memory>",
        c->mem.vmem.size_kib, c->mem.vmem_node, c->mem.vmem.block_kib, kib, alias,
        c->mem.vmem_address ? c->mem.vmem_address : "");
    int rc = LV_CALL(p, REQUEST, virDomainUpdateDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE));
    if (rc < 0)
        lv_set_error_last(p, error, TRUE,
                          "cannot set the virtio-mem size of %s to %" G_GUINT64_FORMAT " KiB",
                          virDomainGetName(dom), kib);
    else
        c->mem.vmem.requested_kib = kib;
    virDomainFree(dom);
    return rc == 0;
}
