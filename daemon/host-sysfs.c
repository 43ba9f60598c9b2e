/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-sysfs.h"

#include <errno.h>
#include <string.h>

#include "host-proc.h"

#define CPU_DIR       "sys/devices/system/cpu"
#define SYSFS_MAX     (64 * 1024)
#define MAX_CACHE_IDX 16

/* The content of @root/@rel stripped, or NULL (no error) when the file is absent. */
static char *
read_opt(const char *root, const char *rel, char **path_out, GError **error)
{
    g_autofree char *path = g_build_filename(root && *root ? root : "/", rel, NULL);
    g_autoptr(GError) local = NULL;
    char *text = vmb_host_proc_read_file(path, SYSFS_MAX, NULL, &local);
    if (!text) {
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            return NULL;
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    g_strstrip(text);
    if (path_out)
        *path_out = g_steal_pointer(&path);
    return text;
}

/* Parses a CPU list file ("" = none) into @set. */
static gboolean
parse_list(const char *path, const char *text, VmbCpuSet *set, GError **error)
{
    if (!*text || strcmp(text, "(null)") == 0)
        return TRUE;
    VmbCpuSet more;
    gboolean all = FALSE;
    g_autoptr(GError) local = NULL;
    if (!vmb_cpuset_parse(text, &more, &all, &local) || all) {
        g_autofree char *shown = g_strescape(text, NULL);
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                    "%s: '%s': expected a CPU list", path, shown);
        return FALSE;
    }
    for (guint k = 0; k < G_N_ELEMENTS(set->bits); k++)
        set->bits[k] |= more.bits[k];
    return TRUE;
}

gboolean
vmb_host_sysfs_isolated(const char *root, VmbCpuSet *set, GError **error)
{
    static const char *const files[] = {CPU_DIR "/isolated", CPU_DIR "/nohz_full"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = NULL;
        GError *local = NULL;
        g_autofree char *text = read_opt(root, files[i], &path, &local);
        if (local) {
            g_propagate_error(error, local);
            return FALSE;
        }
        if (text && !parse_list(path, text, set, error))
            return FALSE;
    }
    return TRUE;
}

/* The highest-level cache of CPU @cpu: its CPU list into @set and its level, 0 when none. */
static gboolean
llc_of(const char *root, guint cpu, VmbCpuSet *set, guint *level, GError **error)
{
    *level = 0;
    for (guint k = 0; k < MAX_CACHE_IDX; k++) {
        g_autofree char *rel = g_strdup_printf(CPU_DIR "/cpu%u/cache/index%u/level", cpu, k);
        g_autofree char *path = NULL;
        GError *local = NULL;
        g_autofree char *text = read_opt(root, rel, &path, &local);
        if (local) {
            g_propagate_error(error, local);
            return FALSE;
        }
        if (!text)
            break;
        char *end = NULL;
        errno = 0;
        guint64 lv = g_ascii_strtoull(text, &end, 10);
        if (!g_ascii_isdigit(*text) || *end || errno || lv > 16) {
            g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                        "%s: '%s': expected a cache level", path, text);
            return FALSE;
        }
        if (lv < *level)
            continue;
        g_autofree char *lrel =
            g_strdup_printf(CPU_DIR "/cpu%u/cache/index%u/shared_cpu_list", cpu, k);
        g_autofree char *lpath = NULL;
        g_autofree char *list = read_opt(root, lrel, &lpath, &local);
        if (local) {
            g_propagate_error(error, local);
            return FALSE;
        }
        if (!list)
            continue;
        VmbCpuSet s;
        vmb_cpuset_clear(&s);
        if (!parse_list(lpath, list, &s, error))
            return FALSE;
        *set = s;
        *level = (guint) lv;
    }
    return TRUE;
}

gboolean
vmb_host_sysfs_apply(const char *root, VmbTopology *t, GError **error)
{
    VmbCpuSet iso;
    vmb_cpuset_clear(&iso);
    if (!vmb_host_sysfs_isolated(root, &iso, error))
        return FALSE;
    vmb_topology_isolate(t, &iso);
    /* Cache groups: each online CPU's LLC list; a CPU joins the group of the first CPU
     * of its list. */
    g_autofree gint *group = g_new(gint, t->npcpus);
    guint found = 0;
    for (guint c = 0; c < t->npcpus; c++) {
        group[c] = -1;
        if (!t->cpu[c].online)
            continue;
        VmbCpuSet set;
        guint level;
        if (!llc_of(root, c, &set, &level, error))
            return FALSE;
        if (level == 0)
            continue;
        for (guint f = 0; f < t->npcpus; f++) {
            if (vmb_cpuset_has(&set, f)) {
                group[c] = (gint) f;
                break;
            }
        }
        found++;
    }
    if (found == 0)
        return TRUE;
    g_autoptr(GHashTable) dense = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint c = 0; c < t->npcpus; c++) {
        /* Without a list of its own: one group per node, after the listed ones. */
        gint key = group[c] >= 0 ? group[c] : -1 - (gint) t->cpu[c].node;
        gpointer v;
        if (!g_hash_table_lookup_extended(dense, GINT_TO_POINTER(key), NULL, &v)) {
            v = GUINT_TO_POINTER(g_hash_table_size(dense));
            g_hash_table_insert(dense, GINT_TO_POINTER(key), v);
        }
        t->cpu[c].cache = GPOINTER_TO_UINT(v);
    }
    t->ncaches = g_hash_table_size(dense);
    return TRUE;
}
