/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend's errors: a libvirt error classified (broken connection, gone domain,
 * refused request) and turned into a GError; optional calls that may fail softly. */
#include "hv-libvirt-priv.h"

#include <stdarg.h>

/* Is @err a broken connection rather than a failed request? A system error is what a dead
 * socket gives, but also what a failed local read in the daemon gives: it counts only if the
 * connection is not alive any more. */
static gboolean
is_connection_error(LvPriv *p, const virError *err)
{
    int code = err ? err->code : VIR_ERR_OK;
    switch (code) {
    case VIR_ERR_RPC:
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
        return TRUE;
    default:
        break;
    }
    if (!p->conn)
        return TRUE;
    int alive = virConnectIsAlive(p->conn);
    if (alive == 0)
        return TRUE;
    return code == VIR_ERR_SYSTEM_ERROR && alive != 1;
}

VmbHvError
lv_classify_error(LvPriv *p, const virError *err, gboolean request)
{
    int code = err ? err->code : VIR_ERR_OK;
    if (code == VIR_ERR_NO_DOMAIN)
        return VMB_HV_ERROR_NO_DOMAIN;
    if (is_connection_error(p, err))
        return VMB_HV_ERROR_DISCONNECTED;
    if (request) {
        switch (code) {
        case VIR_ERR_INVALID_ARG:
        case VIR_ERR_OPERATION_INVALID:
        case VIR_ERR_CONFIG_UNSUPPORTED:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
        case VIR_ERR_OVERFLOW:
            return VMB_HV_ERROR_INVALID;
        default:
            break;
        }
    }
    return VMB_HV_ERROR_FAILED;
}

const char *
lv_error_message(const virError *err)
{
    return err && err->message ? err->message : "unknown libvirt error";
}

void
lv_set_error_saved(LvPriv *p, GError **error, const virError *err, gboolean request,
                   const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HV_ERROR, lv_classify_error(p, err, request), "%s: %s", what,
                lv_error_message(err));
}

gboolean
lv_soft_failure(LvPriv *p, GError **error, const char *format, ...)
{
    g_autoptr(virError) err = virSaveLastError();
    if (!err || err->code == VIR_ERR_OK)
        return TRUE;
    VmbHvError code = lv_classify_error(p, err, FALSE);
    virResetLastError();
    if (code == VMB_HV_ERROR_FAILED)
        return TRUE;
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HV_ERROR, code, "%s: %s", what, lv_error_message(err));
    return FALSE;
}
