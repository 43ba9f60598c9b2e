/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics.h"

#include <math.h>
#include <string.h>

char *
vmb_metrics_escape_label(const char *value)
{
    g_autofree char *valid = g_utf8_make_valid(value, -1);
    GString *out = g_string_sized_new(strlen(valid) + 8);
    for (const char *p = valid; *p; p++) {
        if (*p == '\\')
            g_string_append(out, "\\\\");
        else if (*p == '"')
            g_string_append(out, "\\\"");
        else if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

/* A family's HELP and TYPE lines; its samples follow. */
static void
family(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Significant digits of a value that is not an integer: a ratio of a CPU needs no more than
 * 1 ppm; a timestamp keeps its microseconds. */
#define RATIO_FORMAT "%.6g"
#define TIME_FORMAT  "%.16g"

/* Without printf: a file at 1,000 domains holds some 17,000 numbers. */
static void
append_u64(GString *out, guint64 v)
{
    char buf[24];
    char *p = buf + sizeof(buf);
    *--p = '\0';
    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    g_string_append(out, p);
}

/* A number as Prometheus reads it: integers exactly, others in @format (RATIO_FORMAT or
 * TIME_FORMAT), always with '.' whatever the locale. */
static void
append_value(GString *out, double v, const char *format)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (v == floor(v) && fabs(v) < 1e15) {
        if (v < 0)
            g_string_append_c(out, '-');
        append_u64(out, (guint64) fabs(v));
    } else {
        g_string_append(out, g_ascii_formatd(buf, sizeof(buf), format, v));
    }
}

/* "NAME{LABELS} " of a sample, its value to follow. */
static void
append_series(GString *out, const char *name, const char *labels)
{
    g_string_append(out, name);
    if (labels && *labels) {
        g_string_append_c(out, '{');
        g_string_append(out, labels);
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, ' ');
}

static void
sample_format(GString *out, const char *name, const char *labels, double v, const char *format)
{
    append_series(out, name, labels);
    append_value(out, v, format);
    g_string_append_c(out, '\n');
}

static void
sample(GString *out, const char *name, const char *labels, double v)
{
    sample_format(out, name, labels, v, RATIO_FORMAT);
}

static void
sample_u64(GString *out, const char *name, const char *labels, guint64 v)
{
    append_series(out, name, labels);
    append_u64(out, v);
    g_string_append_c(out, '\n');
}

static void
render_daemon(GString *out, const VmbStatus *s, const char *version)
{
    g_autofree char *v = vmb_metrics_escape_label(version);
    g_autofree char *labels = g_strdup_printf("version=\"%s\"", v);
    family(out, "vmbalance_build_info", "gauge", "vmbalanced's version, in the label; always 1.");
    sample(out, "vmbalance_build_info", labels, 1);

    /* One sample per state, 1 for the current one: a query need not know which exist. */
    gboolean degraded = vmb_status_degraded_reason(s) != NULL;
    family(out, "vmbalance_state", "gauge",
           "1 for the daemon's state (running, or degraded: it cannot reach the hypervisor).");
    sample(out, "vmbalance_state", "state=\"running\"", !degraded);
    sample(out, "vmbalance_state", "state=\"degraded\"", degraded);
    family(out, "vmbalance_dry_run", "gauge", "1 when actions are only reported, not made.");
    sample(out, "vmbalance_dry_run", NULL, vmb_status_dry_run(s));
}

/* A task's figures, one family each, labelled task="cpu" / "memory". */
typedef enum { TASK_ENABLED, TASK_PAUSED, TASK_INTERVAL, TASK_DURATION, TASK_LAST_RUN } TaskFigure;

static double
task_figure(const VmbTaskStatus *t, TaskFigure what)
{
    switch (what) {
    case TASK_ENABLED:
        return t->enabled;
    case TASK_PAUSED:
        return t->paused;
    case TASK_INTERVAL:
        return t->interval_s;
    case TASK_DURATION:
        return t->last_duration_us / 1e6;
    case TASK_LAST_RUN:
        return t->last_run_us / 1e6;
    }
    g_assert_not_reached();
}

static void
render_tasks(GString *out, const VmbStatus *s)
{
    static const struct {
        const char *name, *help;
        gboolean after_run; /* no sample before the task's first cycle */
    } families[] = {
        [TASK_ENABLED] = {"vmbalance_task_enabled",
                          "1 when the task is enabled in the configuration.", FALSE},
        [TASK_PAUSED] = {"vmbalance_task_paused", "1 when the task was paused over D-Bus.", FALSE},
        [TASK_INTERVAL] = {"vmbalance_task_interval_seconds", "Seconds between the task's cycles.",
                           FALSE},
        [TASK_DURATION] = {"vmbalance_cycle_duration_seconds",
                           "How long the task's last cycle took.", TRUE},
        [TASK_LAST_RUN] = {"vmbalance_last_cycle_timestamp_seconds",
                           "When the task's last cycle ran, seconds since the epoch.", TRUE},
    };
    for (guint f = 0; f < G_N_ELEMENTS(families); f++) {
        family(out, families[f].name, "gauge", families[f].help);
        for (guint i = 0; i < VMB_N_TASKS; i++) {
            const VmbTaskStatus *t = vmb_status_task(s, i);
            g_autofree char *labels = g_strdup_printf("task=\"%s\"", vmb_task_name(i));
            if (!families[f].after_run || t->last_run_us > 0)
                sample_format(out, families[f].name, labels, task_figure(t, (TaskFigure) f),
                              TIME_FORMAT);
        }
    }
    family(out, "vmbalance_cycles_total", "counter", "Cycles that could read the hypervisor.");
    for (guint i = 0; i < VMB_N_TASKS; i++) {
        g_autofree char *labels = g_strdup_printf("task=\"%s\"", vmb_task_name(i));
        sample_u64(out, "vmbalance_cycles_total", labels, vmb_status_task(s, i)->cycles);
    }
}

static void
render_counters(GString *out, const VmbStatus *s)
{
    static const struct {
        VmbActionKind kind;
        const char *name, *help;
    } kinds[] = {
        {VMB_ACTION_PIN, "vmbalance_pin_changes_total", "vCPU pins changed, by reason."},
        {VMB_ACTION_MEMORY, "vmbalance_memory_changes_total", "Balloon targets set, by reason."},
    };
    for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
        family(out, kinds[k].name, "counter", kinds[k].help);
        for (guint i = 0; i < vmb_status_n_reasons(s); i++) {
            const VmbReasonCount *r = vmb_status_reason_nth(s, i);
            if (r->kind != kinds[k].kind)
                continue;
            g_autofree char *reason = vmb_metrics_escape_label(r->reason);
            g_autofree char *labels = g_strdup_printf("reason=\"%s\"", reason);
            sample_u64(out, kinds[k].name, labels, r->count);
        }
    }
    const VmbStatusCounters *c = vmb_status_counters(s);
    family(out, "vmbalance_moves_total", "counter",
           "Balance and spread moves judged two cycles later: helped, or failed to deliver half "
           "their predicted gain.");
    sample_u64(out, "vmbalance_moves_total", "outcome=\"helped\"", c->moves_helped);
    sample_u64(out, "vmbalance_moves_total", "outcome=\"failed\"", c->moves_failed);
    family(out, "vmbalance_errors_total", "counter",
           "Failed reads of the hypervisor and refused changes.");
    sample_u64(out, "vmbalance_errors_total", NULL, c->errors);
}

/* Per NUMA node of a known topology: its online CPUs and their load. */
static void
render_nodes(GString *out, const VmbStatus *s)
{
    guint n;
    const VmbNodeLoadStatus *nodes = vmb_status_node_loads(s, &n);
    family(out, "vmbalance_node_cpus", "gauge", "Online host CPUs of each NUMA node.");
    for (guint i = 0; i < n; i++) {
        g_autofree char *labels = g_strdup_printf("node=\"%d\"", nodes[i].node);
        sample(out, "vmbalance_node_cpus", labels, nodes[i].ncpus);
    }
    family(out, "vmbalance_node_load_ratio", "gauge",
           "Busy time of each NUMA node's CPUs over the last interval, in CPUs (1 = one whole "
           "CPU).");
    for (guint i = 0; i < n; i++) {
        g_autofree char *labels = g_strdup_printf("node=\"%d\"", nodes[i].node);
        if (nodes[i].load >= 0)
            sample(out, "vmbalance_node_load_ratio", labels, nodes[i].load / 100);
    }
}

static void
render_host(GString *out, const VmbStatus *s)
{
    guint n;
    const VmbPcpuStatus *pcpus = vmb_status_pcpus(s, &n);
    family(out, "vmbalance_cpu_busy_ratio", "gauge",
           "Busy share of each host CPU over the last interval (1 = all of it).");
    for (guint c = 0; c < n; c++) {
        g_autofree char *labels = g_strdup_printf("cpu=\"%u\"", c);
        if (pcpus[c].busy >= 0)
            sample(out, "vmbalance_cpu_busy_ratio", labels, pcpus[c].busy / 100);
    }
    family(out, "vmbalance_cpu_background_ratio", "gauge",
           "Smoothed load bound to each host CPU that is not a guest's (interrupts, steal).");
    for (guint c = 0; c < n; c++) {
        g_autofree char *labels = g_strdup_printf("cpu=\"%u\"", c);
        if (pcpus[c].background >= 0)
            sample(out, "vmbalance_cpu_background_ratio", labels, pcpus[c].background / 100);
    }
    family(out, "vmbalance_cpu_allowed", "gauge",
           "1 when vCPUs may be pinned to the host CPU (cpu.cpus).");
    for (guint c = 0; c < n; c++) {
        g_autofree char *labels = g_strdup_printf("cpu=\"%u\"", c);
        sample(out, "vmbalance_cpu_allowed", labels, pcpus[c].allowed);
    }
    render_nodes(out, s);
    family(out, "vmbalance_host_floating_load_ratio", "gauge",
           "Host load that is no guest's and moves between CPUs, in CPUs (1 = one whole CPU).");
    if (vmb_status_host_floating(s) >= 0)
        sample(out, "vmbalance_host_floating_load_ratio", NULL, vmb_status_host_floating(s) / 100);

    const VmbHostMemoryStatus *m = vmb_status_host_memory(s);
    family(out, "vmbalance_host_memory_available_bytes", "gauge",
           "Host MemAvailable at the last memory cycle.");
    if (m->available_kib)
        sample_u64(out, "vmbalance_host_memory_available_bytes", NULL, m->available_kib * 1024);
    family(out, "vmbalance_host_memory_reserve_bytes", "gauge",
           "Host memory the coordinator keeps free (memory.host_reserve_*).");
    if (m->available_kib)
        sample_u64(out, "vmbalance_host_memory_reserve_bytes", NULL, m->reserve_kib * 1024);
    family(out, "vmbalance_host_memory_pressure", "gauge",
           "1 when the host was short of memory at the last memory cycle.");
    sample(out, "vmbalance_host_memory_pressure", NULL, m->pressure);
}

/* "domain=\"NAME\"" for each domain, escaped once. */
static GPtrArray *
domain_labels(const VmbStatus *s)
{
    guint n = vmb_status_n_domains(s);
    GPtrArray *labels = g_ptr_array_new_full(n, g_free);
    for (guint i = 0; i < n; i++) {
        g_autofree char *name = vmb_metrics_escape_label(vmb_status_domain(s, i)->name);
        g_ptr_array_add(labels, g_strdup_printf("domain=\"%s\"", name));
    }
    return labels;
}

typedef enum { VCPU_DEMAND, VCPU_WAIT, VCPU_PINNED } VcpuFigure;

static void
render_vcpus(GString *out, const VmbStatus *s, GPtrArray *labels, const char *name, VcpuFigure what)
{
    for (guint i = 0; i < labels->len; i++) {
        const VmbDomainStatus *d = vmb_status_domain(s, i);
        for (guint v = 0; v < d->nvcpus; v++) {
            const VmbVcpuStatus *vc = &d->vcpus[v];
            double value = what == VCPU_DEMAND ? vc->load / 100
                           : what == VCPU_WAIT ? vc->wait / 100
                                               : vc->pcpu;
            if (value < 0 && what != VCPU_PINNED)
                continue;
            g_string_append(out, name);
            g_string_append_c(out, '{');
            g_string_append(out, g_ptr_array_index(labels, i));
            g_string_append(out, ",vcpu=\"");
            append_u64(out, v);
            g_string_append(out, "\"} ");
            append_value(out, value, RATIO_FORMAT);
            g_string_append_c(out, '\n');
        }
    }
}

typedef enum { MEM_ACTUAL, MEM_USABLE, MEM_TARGET, MEM_MAXIMUM } MemFigure;

static void
render_balloons(GString *out, const VmbStatus *s, GPtrArray *labels, const char *name,
                MemFigure what)
{
    for (guint i = 0; i < labels->len; i++) {
        const VmbDomainStatus *d = vmb_status_domain(s, i);
        const gint64 kib[] = {d->actual_kib, d->usable_kib, d->target_kib, d->maximum_kib};
        if (kib[what] >= 0)
            sample_u64(out, name, g_ptr_array_index(labels, i), (guint64) kib[what] * 1024);
    }
}

static void
render_domains(GString *out, const VmbStatus *s)
{
    g_autoptr(GPtrArray) labels = domain_labels(s);
    family(out, "vmbalance_domains", "gauge", "Running domains at the last cycle.");
    if (vmb_status_has_snapshot(s))
        sample(out, "vmbalance_domains", NULL, labels->len);
    family(out, "vmbalance_domain_excluded", "gauge",
           "1 when the domain matches daemon.exclude: never moved nor ballooned.");
    for (guint i = 0; i < labels->len; i++)
        sample(out, "vmbalance_domain_excluded", g_ptr_array_index(labels, i),
               vmb_status_domain(s, i)->excluded);

    static const struct {
        const char *name, *help;
    } vcpu[] = {
        {"vmbalance_vcpu_demand_ratio",
         "Smoothed demand of the vCPU, what it ran plus what it waited (1 = one whole CPU)."},
        {"vmbalance_vcpu_wait_ratio",
         "Share of the last interval the vCPU was runnable but waited for a CPU."},
        {"vmbalance_vcpu_pinned_cpu", "The host CPU the vCPU is pinned to; -1 when it floats or is "
                                      "pinned to a set (cpu.pin_to)."},
    };
    for (guint f = 0; f < G_N_ELEMENTS(vcpu); f++) {
        family(out, vcpu[f].name, "gauge", vcpu[f].help);
        render_vcpus(out, s, labels, vcpu[f].name, (VcpuFigure) f);
    }

    static const struct {
        const char *name, *help;
    } mem[] = {
        {"vmbalance_domain_memory_actual_bytes", "Memory the guest has now (balloon actual)."},
        {"vmbalance_domain_memory_usable_bytes",
         "Memory the guest could use without swapping (its MemAvailable)."},
        {"vmbalance_domain_memory_target_bytes", "The last balloon target vmbalanced set."},
        {"vmbalance_domain_memory_maximum_bytes", "The domain's maximum memory (<memory>)."},
    };
    for (guint f = 0; f < G_N_ELEMENTS(mem); f++) {
        family(out, mem[f].name, "gauge", mem[f].help);
        render_balloons(out, s, labels, mem[f].name, (MemFigure) f);
    }
}

char *
vmb_metrics_render(const VmbStatus *s, const char *version, gsize *length)
{
    /* About 250 bytes a vCPU with its domain's share: one allocation at 1,000 domains. */
    GString *out = g_string_sized_new(4096 + 250 * 4 * vmb_status_n_domains(s));
    render_daemon(out, s, version);
    render_tasks(out, s);
    render_counters(out, s);
    render_host(out, s);
    render_domains(out, s);
    if (length)
        *length = out->len;
    return g_string_free(out, FALSE);
}
