/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status-render.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BAR_WIDTH 40

char *
vmb_format_time(guint64 wall_us)
{
    if (wall_us == 0)
        return g_strdup("never");
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_local((gint64) (wall_us / G_USEC_PER_SEC));
    return t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
}

char *
vmb_format_kib(gint64 kib)
{
    if (kib < 0)
        return g_strdup("-");
    return g_strdup_printf("%" G_GINT64_FORMAT " MiB", (kib + 512) / 1024);
}

void
vmb_append_padded(GString *out, const char *s, guint width, gboolean right)
{
    glong len = g_utf8_strlen(s, -1);
    guint pad = len < (glong) width ? width - (guint) len : 0;
    if (right)
        for (guint i = 0; i < pad; i++)
            g_string_append_c(out, ' ');
    g_string_append(out, s);
    if (!right)
        for (guint i = 0; i < pad; i++)
            g_string_append_c(out, ' ');
}

static char *
format_ago(guint64 wall_us)
{
    if (wall_us == 0)
        return g_strdup("never");
    g_autofree char *when = vmb_format_time(wall_us);
    gint64 ago_s = (g_get_real_time() - (gint64) wall_us) / G_USEC_PER_SEC;
    return g_strdup_printf("%s (%" G_GINT64_FORMAT " s ago)", when, MAX(ago_s, 0));
}

static void
append_bar(GString *out, double percent, gboolean unicode)
{
    double clamped = CLAMP(percent, 0, 100);
    guint full = (guint) lround(clamped * BAR_WIDTH / 100);
    g_string_append_c(out, '[');
    for (guint i = 0; i < BAR_WIDTH; i++)
        g_string_append(out, i < full ? (unicode ? "\u2588" : "#") : (unicode ? "\u00b7" : "."));
    g_string_append_c(out, ']');
}

static void
print_tasks(GString *out, const VmbCtlStatus *s)
{
    g_string_append(out, "TASK     STATE     INTERVAL    CYCLES  LAST CYCLE\n");
    for (guint i = 0; i < VMB_CTL_N_TASKS; i++) {
        const VmbCtlTask *t = &s->tasks[i];
        const char *state = !t->enabled ? "disabled" : t->paused ? "paused" : "active";
        g_autofree char *last = format_ago(t->last_cycle_us);
        g_string_append_printf(out, "%-8s %-9s %6u s  %8" G_GUINT64_FORMAT "  %s\n", t->name, state,
                               t->interval_s, t->cycles, last);
    }
    g_string_append_printf(out,
                           "\nCounters: %" G_GUINT64_FORMAT " pin changes (%" G_GUINT64_FORMAT
                           " helped, %" G_GUINT64_FORMAT " did not), %" G_GUINT64_FORMAT
                           " memory changes, %" G_GUINT64_FORMAT " errors\n",
                           s->pin_changes, s->moves_helped, s->moves_failed, s->memory_changes,
                           s->errors);
    const VmbCtlHostMemory *m = &s->host_memory;
    if (m->known) {
        g_string_append_printf(out,
                               "Host memory: %" G_GUINT64_FORMAT
                               " MiB available, reserve %" G_GUINT64_FORMAT
                               " MiB, headroom %" G_GINT64_FORMAT " MiB%s\n",
                               m->available_kib / 1024, m->reserve_kib / 1024,
                               m->headroom_kib / 1024, m->pressure ? " (under pressure)" : "");
    }
    for (guint i = 0; s->hands_off && s->hands_off[i]; i++)
        g_string_append_printf(out, "Hands off: %s\n", s->hands_off[i]);
    for (guint i = 0; s->other_tools && s->other_tools[i]; i++)
        g_string_append_printf(out, "Other tool: %s\n", s->other_tools[i]);
}

static void
print_pcpus(GString *out, GArray *pcpus, gboolean unicode)
{
    g_string_append(out, "\nHOST CPU LOAD\n");
    gboolean any_disallowed = FALSE;
    for (guint i = 0; i < pcpus->len; i++) {
        const VmbCtlPcpu *c = &g_array_index(pcpus, VmbCtlPcpu, i);
        g_autofree char *label = g_strdup_printf("cpu%u", c->cpu);
        g_string_append(out, "  ");
        vmb_append_padded(out, label, 7, FALSE);
        g_string_append_c(out, c->allowed ? ' ' : '*');
        any_disallowed |= !c->allowed;
        if (c->busy_percent < 0) {
            g_string_append(out, " not measured yet\n");
            continue;
        }
        g_string_append_c(out, ' ');
        append_bar(out, c->busy_percent, unicode);
        g_string_append_printf(out, " %5.1f%%\n", c->busy_percent);
    }
    if (any_disallowed)
        g_string_append(
            out,
            "  * not for vCPUs (cpu.cpus, cpu.housekeeping_cpus): vmbalanced pins no vCPU there\n");
}

/* One line per NUMA node: its CPUs, its load, and the load of each of its cores in order
 * (a core sums its threads: 2 threads go up to 200). */
static void
print_topology_load(GString *out, const VmbCtlStatus *s)
{
    if (!s->nodes || s->nodes->len == 0)
        return;
    g_string_append(out, "\nNUMA nodes (load in % of one CPU; cores in order, threads summed)\n");
    for (guint i = 0; i < s->nodes->len; i++) {
        const VmbCtlNodeLoad *n = &g_array_index(s->nodes, VmbCtlNodeLoad, i);
        g_autofree char *load =
            n->load_percent >= 0 ? g_strdup_printf("%.0f%%", n->load_percent) : g_strdup("-");
        g_string_append_printf(out, "  node %d: %u CPUs %6s  cores:", n->node, n->ncpus, load);
        for (guint k = 0; s->cores && k < s->cores->len; k++) {
            const VmbCtlCoreLoad *c = &g_array_index(s->cores, VmbCtlCoreLoad, k);
            if (c->node != n->node)
                continue;
            if (c->load_percent < 0)
                g_string_append(out, " -");
            else
                g_string_append_printf(out, " %.0f", c->load_percent);
        }
        g_string_append_c(out, '\n');
    }
}

/* Names longer than this are cut, so that one odd name does not push the table apart. */
#define NAME_MAX_COLUMNS 40

static guint
domain_column_width(GPtrArray *domains)
{
    guint width = strlen("DOMAIN");
    for (guint i = 0; i < domains->len; i++) {
        const VmbCtlDomain *d = g_ptr_array_index(domains, i);
        width = MAX(width, (guint) g_utf8_strlen(d->name, -1));
    }
    return MIN(width, NAME_MAX_COLUMNS);
}

static char *
shown_name(const char *name)
{
    if (g_utf8_strlen(name, -1) <= NAME_MAX_COLUMNS)
        return g_strdup(name);
    g_autofree char *head = g_utf8_substring(name, 0, NAME_MAX_COLUMNS - 3);
    return g_strconcat(head, "...", NULL);
}

/* The domain's memory columns, on its first row only. */
static void
append_memory_columns(GString *out, const VmbCtlDomain *d)
{
    g_autofree char *a = vmb_format_kib(d->actual_kib);
    g_autofree char *u = vmb_format_kib(d->usable_kib);
    g_autofree char *t = vmb_format_kib(d->target_kib);
    g_string_append_printf(out, "  %10s  %10s  %10s%s", a, u, t, d->excluded ? "  (excluded)" : "");
}

/* One row per vCPU; the name and memory columns only on the first. */
static void
print_domain(GString *out, const VmbCtlDomain *d, guint width)
{
    g_autofree char *shown = shown_name(d->name);
    if (d->vcpus->len == 0) {
        vmb_append_padded(out, shown, width, FALSE);
        g_string_append(out, "     -     -       -\n");
        return;
    }
    for (guint i = 0; i < d->vcpus->len; i++) {
        const VmbCtlVcpu *v = &g_array_index(d->vcpus, VmbCtlVcpu, i);
        vmb_append_padded(out, i == 0 ? shown : "", width, FALSE);
        /* the pin: one pCPU, or a set (cpu.pin_to) */
        g_autofree char *pcpu = v->cpus && *v->cpus ? g_strdup(v->cpus)
                                : v->pcpu >= 0      ? g_strdup_printf("%d", v->pcpu)
                                                    : g_strdup("-");
        g_autofree char *load =
            v->load_percent >= 0 ? g_strdup_printf("%.0f%%", v->load_percent) : g_strdup("-");
        g_string_append_printf(out, "  %4u  %4s  %6s", v->vcpu, pcpu, load);
        if (i == 0)
            append_memory_columns(out, d);
        g_string_append_c(out, '\n');
    }
}

static void
print_domains(GString *out, GPtrArray *domains)
{
    guint width = domain_column_width(domains);
    g_string_append(out, "\n");
    vmb_append_padded(out, "DOMAIN", width, FALSE);
    g_string_append(out, "  VCPU  PCPU    LOAD      ACTUAL      USABLE      TARGET\n");
    for (guint i = 0; i < domains->len; i++)
        print_domain(out, g_ptr_array_index(domains, i), width);
}

void
vmb_status_append_summary(GString *out, const VmbCtlStatus *s, gboolean unicode)
{
    const char *reason = s->state_reason;
    g_string_append_printf(out, "vmbalanced %s: %s%s%s%s\n", s->version, s->state,
                           reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    g_string_append_printf(out, "Hypervisor: %s%s\n", s->uri,
                           s->dry_run ? "  [dry run: nothing is changed]" : "");
    if (s->topology && *s->topology)
        g_string_append_printf(out, "Host: %s\n", s->topology);
    g_string_append_c(out, '\n');
    print_tasks(out, s);
    if (s->timestamp_us == 0)
        g_string_append(out, "\nNo cycle has read the host yet.\n");
    else {
        print_pcpus(out, s->pcpus, unicode);
        print_topology_load(out, s);
    }
}

void
vmb_status_append_domains(GString *out, const VmbCtlStatus *s)
{
    if (s->timestamp_us == 0)
        return;
    if (s->domains->len)
        print_domains(out, s->domains);
    else
        g_string_append(out, "\nNo running domains.\n");
}

void
vmb_status_print_human(const VmbCtlStatus *s, gboolean unicode)
{
    g_autoptr(GString) out = g_string_new(NULL);
    vmb_status_append_summary(out, s, unicode);
    vmb_status_append_domains(out, s);
    g_print("%s", out->str);
}

void
vmb_action_print(const VmbCtlAction *a)
{
    g_autofree char *line = vmb_action_format(a);
    g_print("%s\n", line);
}

/* "pCPU 3", "CPUs 0,16" (a set pin, cpu.pin_to) or "floating". */
static char *
pin_words(const char *cpus, gint pcpu)
{
    if (cpus && strpbrk(cpus, ",-"))
        return g_strdup_printf("CPUs %s", cpus);
    return pcpu >= 0 ? g_strdup_printf("pCPU %d", pcpu) : g_strdup("floating");
}

char *
vmb_action_format(const VmbCtlAction *a)
{
    g_autofree char *when = vmb_format_time(a->time_us);
    g_autofree char *what = NULL;
    if (g_str_equal(a->kind, "pin")) {
        g_autofree char *from = pin_words(a->from_cpus, a->from_pcpu);
        g_autofree char *to = pin_words(a->to_cpus, (gint) a->to_pcpu);
        what = g_strdup_printf("vCPU %u: %s -> %s", a->vcpu, from, to);
    } else {
        what = g_strdup_printf("%" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " MiB",
                               a->old_kib / 1024, a->new_kib / 1024);
    }
    return g_strdup_printf("%s  %s%-6s %s %s (%s: %s)", when, a->dry_run ? "[dry run] " : "",
                           a->kind, a->domain, what, a->reason, a->detail);
}
