/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-numa.h"

#include "host-proc.h"
#include "numa-maps.h"

#include <string.h>

/* The pid in libvirt's pid file of @name; 0 with no @error when there is none or it names
 * another process, 0 with @error when that process cannot be read (gone, hidden or not
 * permitted: another user's /proc entries need ptrace access). */
static guint64
qemu_pid(const char *root, const char *name, GError **error)
{
    g_autofree char *file = g_strconcat(name, ".pid", NULL);
    g_autofree char *path = g_build_filename(root, "run", "libvirt", "qemu", file, NULL);
    g_autofree char *text = vmb_host_proc_read_file(path, 64, NULL, NULL);
    guint64 pid = 0;
    if (!text || !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT32, &pid, NULL))
        return 0;
    g_autofree char *rel = g_strdup_printf("%" G_GUINT64_FORMAT, pid);
    g_autofree char *cmdpath = g_build_filename(root, "proc", rel, "cmdline", NULL);
    gsize len = 0;
    g_autofree char *cmd = vmb_host_proc_read_file(cmdpath, 1u << 20, &len, error);
    /* libvirt starts QEMU with "-name guest=NAME,debug-threads=on" */
    g_autofree char *want = g_strconcat("guest=", name, NULL);
    gsize want_len = strlen(want);
    for (gsize off = 0; cmd && off < len; off += strlen(cmd + off) + 1) {
        const char *arg = cmd + off;
        if (strncmp(arg, want, want_len) == 0 && (arg[want_len] == '\0' || arg[want_len] == ','))
            return pid;
    }
    return 0;
}

gint
vmb_host_numa_node(const char *root, const char *name, const VmbTopology *t, GError **error)
{
    guint64 pid = t ? qemu_pid(root, name, error) : 0;
    if (!pid)
        return -1;
    g_autofree char *rel = g_strdup_printf("%" G_GUINT64_FORMAT, pid);
    g_autofree char *path = g_build_filename(root, "proc", rel, "numa_maps", NULL);
    gsize len = 0;
    g_autofree char *text = vmb_host_proc_read_file(path, VMB_NUMA_MAPS_MAX, &len, error);
    if (!text)
        return -1;
    guint nodes = 1; /* host node numbers, not dense ones: size by the largest */
    for (guint i = 0; i < t->nnodes; i++)
        nodes = MAX(nodes, (guint) MAX(t->node_id[i], 0) + 1);
    g_autofree guint64 *kib = g_new0(guint64, nodes);
    g_autoptr(GError) local = NULL;
    if (!vmb_numa_maps_parse(text, len, kib, nodes, NULL, &local)) {
        g_set_error(error, local->domain, local->code, "%s: %s", path, local->message);
        return -1;
    }
    return vmb_numa_dense_node(t, vmb_numa_maps_home(kib, nodes));
}
