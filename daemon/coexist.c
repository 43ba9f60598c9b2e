/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "coexist.h"

#include <string.h>

#include "log.h"

static const struct {
    guint tool;
    const char *comm; /* process name, NULL for the sysctl */
    const char *key;  /* log-once key */
    const char *text;
} tools[] = {
    {VMB_COEXIST_NUMAD, "numad", "coexist:numad",
     "numad is running: it places domains defined with placement='auto', which vmbalanced never "
     "pins (hands off); other domains are balanced by vmbalanced, numad should not be given "
     "them"},
    {VMB_COEXIST_NUMA_BALANCING, NULL, "coexist:numa-balancing",
     "kernel.numa_balancing = 1: the kernel migrates tasks and memory between NUMA nodes; "
     "vmbalanced pins vCPUs to single pCPUs regardless, which can fight it: set "
     "kernel.numa_balancing = 0 on hosts vmbalanced manages"},
    {VMB_COEXIST_KSMTUNED, "ksmtuned", "coexist:ksmtuned",
     "ksmtuned is running: KSM merges guest pages, so a balloon change may free less host memory "
     "than it says; vmbalanced keeps its host reserve and judges by MemAvailable"},
    {VMB_COEXIST_MOMD, "momd", "coexist:momd",
     "oVirt MoM (momd) is running: it sets balloon targets too and the two would undo each other; "
     "set memory.enabled = false here or stop momd"},
};

/* The tool bit of a process name, 0 for others. */
static guint
tool_of_comm(const char *comm)
{
    for (guint i = 0; i < G_N_ELEMENTS(tools); i++) {
        if (tools[i].comm && strcmp(comm, tools[i].comm) == 0)
            return tools[i].tool;
    }
    return 0;
}

static gboolean
numa_balancing_on(const char *proc_root)
{
    g_autofree char *path = g_build_filename(proc_root, "sys", "kernel", "numa_balancing", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    return g_strcmp0(g_strstrip(text), "0") != 0 && text[0] != '\0';
}

guint
vmb_coexist_detect(const char *proc_root)
{
    guint found = numa_balancing_on(proc_root) ? VMB_COEXIST_NUMA_BALANCING : 0;
    g_autoptr(GDir) dir = g_dir_open(proc_root, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        if (!g_ascii_isdigit(name[0]) || strspn(name, "0123456789") != strlen(name))
            continue; /* not a process */
        g_autofree char *path = g_build_filename(proc_root, name, "comm", NULL);
        g_autofree char *comm = NULL;
        gsize len = 0;
        if (!g_file_get_contents(path, &comm, &len, NULL) || len > 64)
            continue;
        found |= tool_of_comm(g_strchomp(comm));
    }
    return found;
}

GStrv
vmb_coexist_describe(guint found)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint i = 0; i < G_N_ELEMENTS(tools); i++) {
        if (found & tools[i].tool)
            g_strv_builder_add(b, tools[i].text);
    }
    return g_strv_builder_end(b);
}

GStrv
vmb_coexist_check(const char *proc_root)
{
    guint found = vmb_coexist_detect(proc_root);
    for (guint i = 0; i < G_N_ELEMENTS(tools); i++) {
        if (found & tools[i].tool)
            vmb_log_once(tools[i].key, G_LOG_LEVEL_WARNING, "%s", tools[i].text);
        else
            vmb_log_once_clear(tools[i].key);
    }
    return vmb_coexist_describe(found);
}
