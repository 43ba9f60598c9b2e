/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The third part of the libvirt backend: what a domain says about how it wants to be treated.
 * Its vmbalance:policy metadata and its persistent definition are read when it first shows up
 * in a snapshot and again only after libvirt says they changed (the metadata-change event, a
 * DEFINED lifecycle event): never per cycle. */
#include "domain-meta.h"
#include "hv-libvirt-priv.h"
#include "log.h"

static DomainCache *
cache_of(LvPriv *p, virDomainPtr dom)
{
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid_buf) < 0) {
        virResetLastError();
        return NULL;
    }
    g_autofree char *uuid = g_ascii_strdown(uuid_buf, -1);
    return g_hash_table_lookup(p->cache, uuid);
}

static int
metadata_cb(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
    LvPriv *p = opaque;
    if (type != VIR_DOMAIN_METADATA_ELEMENT || g_strcmp0(nsuri, VMB_POLICY_XMLNS) != 0)
        return 0; /* somebody else's metadata */
    DomainCache *c = cache_of(p, dom);
    if (c)
        c->policy_stale = TRUE; /* not yet seen: it is read on first sight anyway */
    return 0;
}

void
lv_domain_events_register(LvPriv *p)
{
    p->metadata_id =
        LV_CALL(p, CONNECT,
                virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(metadata_cb), p, NULL));
    if (p->metadata_id < 0) {
        g_autoptr(virError) err = virSaveLastError();
        vmb_log_once("libvirt-metadata-events", G_LOG_LEVEL_WARNING,
                     "cannot register for metadata-change events (%s): a domain's "
                     "vmbalance:policy is read when it starts only",
                     lv_error_message(err));
        virResetLastError();
    }
    lv_domain_migration_events_register(p);
}

void
lv_domain_events_unregister(LvPriv *p)
{
    if (p->conn && p->metadata_id >= 0)
        LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->metadata_id));
    p->metadata_id = -1;
    lv_domain_migration_events_unregister(p);
}

void
lv_domain_definition_changed(LvPriv *p, const char *uuid)
{
    DomainCache *c = g_hash_table_lookup(p->cache, uuid);
    if (c)
        c->definition_stale = TRUE;
}

/* The metadata element as libvirt returns it (no namespace), NULL when there is none. */
static gboolean
read_metadata(LvPriv *p, virDomainPtr dom, const char *name, char **xml, GError **error)
{
    *xml = LV_CALL(p, DOMAIN,
                   virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VMB_POLICY_XMLNS, 0));
    if (*xml)
        return TRUE;
    virErrorPtr err = virGetLastError();
    if (err && err->code == VIR_ERR_NO_DOMAIN_METADATA) {
        virResetLastError();
        return TRUE;
    }
    return lv_soft_failure(p, error, "cannot get the metadata of %s", name);
}

static gboolean
read_definition(LvPriv *p, virDomainPtr dom, const char *name, char **xml, GError **error)
{
    *xml = LV_CALL(p, DOMAIN, virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE));
    if (*xml)
        return TRUE;
    return lv_soft_failure(p, error, "cannot get the persistent definition of %s", name);
}

/* Said when a migration is first seen, and again for a later one. */
static void
note_migration(const char *name, const char *uuid, gboolean migrating)
{
    g_autofree char *key = g_strdup_printf("migrating:%s", uuid);
    if (migrating)
        vmb_log_once(key, G_LOG_LEVEL_MESSAGE,
                     "domain %s is being migrated: vmbalanced leaves it alone until it runs "
                     "here again",
                     name);
    else
        vmb_log_once_clear(key);
}

gboolean
lv_domain_policy_sync(LvPriv *p, virDomainPtr dom, const char *name, DomainCache *c,
                      gboolean first_sight, char **definition, GError **error)
{
    char uuid_buf[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid_buf) < 0) {
        lv_set_error_last(p, error, FALSE, "cannot get the UUID of %s", name);
        return FALSE;
    }
    g_autofree char *uuid = g_ascii_strdown(uuid_buf, -1);
    if (first_sight || c->policy_stale) {
        g_autofree char *xml = NULL;
        if (!read_metadata(p, dom, name, &xml, error))
            return FALSE;
        c->policy_refused = !vmb_domain_meta_load(name, uuid, xml, &c->policy);
        if (!first_sight)
            g_message("domain %s: its vmbalance:policy metadata %s", name,
                      xml ? "changed" : "is gone: the host's settings apply");
        c->policy_stale = FALSE;
    }
    if (first_sight || c->definition_stale) {
        g_autofree char *xml = NULL;
        if (!read_definition(p, dom, name, &xml, error))
            return FALSE;
        /* A soft failure leaves no XML: no rule from it (the driver cannot tell). */
        c->hands_off = xml ? vmb_domain_def_load(name, uuid, xml) : 0;
        c->definition_stale = FALSE;
        if (definition)
            *definition = g_steal_pointer(&xml);
    }
    note_migration(name, uuid, c->migrating);
    return TRUE;
}

gboolean
lv_get_policy(VmbHypervisor *hv, const char *uuid, char **xml, GError **error)
{
    LvPriv *p = hv->priv;
    g_autoptr(virDomain) dom = lv_request_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    /* Strict, unlike the snapshot's read: a change must not start from a read that failed. */
    *xml = LV_CALL(p, REQUEST,
                   virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VMB_POLICY_XMLNS, 0));
    if (*xml)
        return TRUE;
    virErrorPtr err = virGetLastError();
    if (err && err->code == VIR_ERR_NO_DOMAIN_METADATA) {
        virResetLastError();
        return TRUE;
    }
    lv_set_error_last(p, error, TRUE, "cannot get the metadata of %s", virDomainGetName(dom));
    return FALSE;
}

gboolean
lv_set_policy(VmbHypervisor *hv, const char *uuid, const char *xml, GError **error)
{
    LvPriv *p = hv->priv;
    g_autoptr(virDomain) dom = lv_request_domain(p, uuid, error);
    if (!dom)
        return FALSE;
    /* The policy travels with the guest: the persistent definition too when there is one. */
    int persistent = LV_CALL(p, REQUEST, virDomainIsPersistent(dom));
    int active = LV_CALL(p, REQUEST, virDomainIsActive(dom));
    unsigned int flags = (active == 1 ? VIR_DOMAIN_AFFECT_LIVE : 0) |
                         (persistent == 1 ? VIR_DOMAIN_AFFECT_CONFIG : 0);
    if (LV_CALL(p, REQUEST,
                virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml,
                                     xml ? VMB_POLICY_PREFIX : NULL, VMB_POLICY_XMLNS, flags)) <
        0) {
        lv_set_error_last(p, error, TRUE, "cannot set the metadata of %s", virDomainGetName(dom));
        return FALSE;
    }
    /* Seen at the next snapshot even if the change event is late or missing. */
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    DomainCache *c = g_hash_table_lookup(p->cache, key);
    if (c)
        c->policy_stale = TRUE;
    return TRUE;
}

/* ---- migrations ---- */

void
lv_domain_migration(LvPriv *p, const char *uuid, gboolean migrating)
{
    DomainCache *c = g_hash_table_lookup(p->cache, uuid);
    if (c)
        c->migrating = migrating;
}

static char *
uuid_of(virDomainPtr dom)
{
    char buf[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, buf) < 0) {
        virResetLastError();
        return NULL;
    }
    return g_ascii_strdown(buf, -1);
}

/* Pre-copy passes over guest memory (the first is not announced): a migration is running. */
static int
migration_iteration_cb(virConnectPtr conn, virDomainPtr dom, int iteration, void *opaque)
{
    g_autofree char *uuid = uuid_of(dom);
    if (uuid)
        lv_domain_migration(opaque, uuid, TRUE);
    return 0;
}

static int
job_completed_cb(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int nparams,
                 void *opaque)
{
    g_autofree char *uuid = uuid_of(dom);
    if (uuid)
        lv_domain_migration(opaque, uuid, FALSE);
    return 0;
}

void
lv_domain_migration_events_register(LvPriv *p)
{
    p->migration_id = LV_CALL(p, CONNECT,
                              virConnectDomainEventRegisterAny(
                                  p->conn, NULL, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
                                  VIR_DOMAIN_EVENT_CALLBACK(migration_iteration_cb), p, NULL));
    p->job_id = LV_CALL(
        p, CONNECT,
        virConnectDomainEventRegisterAny(p->conn, NULL, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                         VIR_DOMAIN_EVENT_CALLBACK(job_completed_cb), p, NULL));
    /* Optional: the job check before each request still sees a migration. */
    if (p->migration_id < 0 || p->job_id < 0)
        virResetLastError();
}

void
lv_domain_migration_events_unregister(LvPriv *p)
{
    if (p->conn && p->migration_id >= 0)
        LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->migration_id));
    if (p->conn && p->job_id >= 0)
        LV_CALL(p, CONNECT, virConnectDomainEventDeregisterAny(p->conn, p->job_id));
    p->migration_id = p->job_id = -1;
}

/* An active job that is a migration, in or out. Drivers without job statistics (the test
 * driver) have none. */
static gboolean
migration_job_active(LvPriv *p, virDomainPtr dom)
{
    int type = VIR_DOMAIN_JOB_NONE, n = 0;
    virTypedParameterPtr params = NULL;
    if (LV_CALL(p, REQUEST, virDomainGetJobStats(dom, &type, &params, &n, 0)) < 0) {
        virResetLastError();
        return FALSE;
    }
    int op = 0;
    gboolean active = type != VIR_DOMAIN_JOB_NONE && type != VIR_DOMAIN_JOB_COMPLETED &&
                      virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &op) == 1 &&
                      (op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN ||
                       op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT);
    virTypedParamsFree(params, n);
    virResetLastError();
    return active;
}

gboolean
lv_domain_check_not_migrating(LvPriv *p, virDomainPtr dom, GError **error)
{
    g_autofree char *uuid = uuid_of(dom);
    DomainCache *c = uuid ? g_hash_table_lookup(p->cache, uuid) : NULL;
    gboolean migrating = (c && c->migrating) || migration_job_active(p, dom);
    if (!migrating)
        return TRUE;
    if (c)
        c->migrating = TRUE;
    g_set_error(error, VMB_HV_ERROR, VMB_HV_ERROR_NO_DOMAIN,
                "%s is being migrated: left alone until it runs here again", virDomainGetName(dom));
    return FALSE;
}

void
vmb_hv_libvirt_migration_event(VmbHypervisor *hv, virDomainPtr dom, gboolean started)
{
    g_autofree char *uuid = uuid_of(dom);
    LvPriv *p = lv_priv(hv);
    if (p && uuid)
        lv_domain_migration(p, uuid, started);
}
