/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon.h"

#include <glib-unix.h>
#include <signal.h>

#include "coexist.h"
#include "cpu-task.h"
#include "cpu-usage.h"
#include "domain-meta.h"
#include "housekeeping.h"
#include "hypervisor.h"
#include "log.h"
#include "mem-task.h"
#include "metrics-file.h"
#include "sd-notify.h"
#include "vmb-build-config.h"

typedef struct {
    gboolean paused;
    guint interval_s; /* interval the timer is armed with */
    guint timer_id;
    gint64 last_run_us;    /* wall clock of the last cycle, 0 = never */
    gint64 last_sample_us; /* monotonic clock when the last cycle's snapshot came, 0 = never */
    gint64 last_duration_us;
    guint64 cycles;
} VmbTaskTimer;

typedef struct {
    VmbActionFunc func;
    gpointer data;
} VmbActionHook;

struct _VmbDaemon {
    char *config_path;
    GStrv other_tools; /* coexist.h: what other tools on the host were found, and why it matters */
    gboolean config_missing_ok; /* the default path may be absent */
    char *uri_override;         /* --connect */
    gboolean dry_run;

    VmbConfig *config;
    VmbHypervisor *hv;
    GMainLoop *loop;
    VmbTaskTimer tasks[VMB_N_TASKS];
    VmbCpuTask cpu;
    VmbMemTask mem;
    VmbSnapshot *last_snapshot; /* the source of the status' per-domain view */
    VmbStatus *status;
    GPtrArray *action_hooks; /* VmbActionHook* */
    guint signal_ids[3];
    guint mem_followup_id; /* one-shot memory cycle soon after a guest starved */
    VmbConfigFilter config_filter;
    gpointer config_filter_data;
    VmbChangedFunc changed_func;
    gpointer changed_data;
};

static void
report_action(const VmbAction *a, gpointer data)
{
    VmbDaemon *d = data;
    vmb_status_record_action(d->status, a);
    for (guint i = 0; i < d->action_hooks->len; i++) {
        VmbActionHook *h = g_ptr_array_index(d->action_hooks, i);
        h->func(a, h->data);
    }
}

void
vmb_daemon_add_action_hook(VmbDaemon *d, VmbActionFunc func, gpointer data)
{
    VmbActionHook *h = g_new0(VmbActionHook, 1);
    h->func = func;
    h->data = data;
    g_ptr_array_add(d->action_hooks, h);
}

void
vmb_daemon_remove_action_hook(VmbDaemon *d, VmbActionFunc func, gpointer data)
{
    for (guint i = d->action_hooks->len; i-- > 0;) {
        VmbActionHook *h = g_ptr_array_index(d->action_hooks, i);
        if (h->func == func && h->data == data)
            g_ptr_array_remove_index(d->action_hooks, i);
    }
}

void
vmb_daemon_set_config_filter(VmbDaemon *d, VmbConfigFilter func, gpointer data)
{
    d->config_filter = func;
    d->config_filter_data = data;
}

void
vmb_daemon_set_changed_func(VmbDaemon *d, VmbChangedFunc func, gpointer data)
{
    d->changed_func = func;
    d->changed_data = data;
}

const VmbStatus *
vmb_daemon_status(const VmbDaemon *d)
{
    return d->status;
}

const VmbConfig *
vmb_daemon_config(const VmbDaemon *d)
{
    return d->config;
}

const char *
vmb_daemon_uri(const VmbDaemon *d)
{
    return d->uri_override ? d->uri_override : d->config->uri;
}

/* ---- publishing the status ---- */

static GArray *
build_pcpus(VmbDaemon *d, const VmbSnapshot *snap)
{
    const VmbCpuHostView *host = &d->cpu.host;
    const VmbConfig *c = d->config;
    gboolean measured = host->npcpus == snap->npcpus && host->busy;
    g_autofree gboolean *allowed = g_new0(gboolean, MAX(snap->npcpus, 1));
    for (guint p = 0; p < snap->npcpus; p++)
        allowed[p] = c->cpu_cpus_all || vmb_cpuset_has(&c->cpu_cpus, p);
    /* housekeeping CPUs in effect are not for vCPUs unless cpu.cpus names them */
    if (!vmb_cpuset_is_empty(&c->cpu_housekeeping) &&
        vmb_hk_check(&c->cpu_housekeeping, snap->npcpus, snap->topology, NULL))
        vmb_hk_restrict(allowed, snap->npcpus, &c->cpu_housekeeping, c->cpu_cpus_all, &c->cpu_cpus);
    GArray *pcpus = g_array_sized_new(FALSE, FALSE, sizeof(VmbPcpuStatus), snap->npcpus);
    for (guint p = 0; p < snap->npcpus; p++) {
        gboolean known = measured && host->busy[p] >= 0;
        VmbPcpuStatus v = {
            .busy = known ? host->busy[p] : -1,
            .background = known ? host->background[p] : -1,
            .allowed = allowed[p],
        };
        g_array_append_val(pcpus, v);
    }
    return pcpus;
}

static VmbDomainStatus *
build_domain(VmbDaemon *d, const VmbDomainStat *dom)
{
    VmbDomainStatus *v = vmb_domain_status_new(dom->name, dom->uuid, dom->nvcpus);
    v->excluded = vmb_config_is_excluded(d->config, dom->name, dom->uuid);
    v->metadata = dom->policy;
    v->metadata_refused = dom->policy_refused;
    v->hands_off = dom->hands_off;
    vmb_domain_effective_full(d->config, dom, vmb_foreign_pins_respected(d->cpu.foreign, dom->uuid),
                              vmb_foreign_targets_respected(d->mem.foreign, dom->uuid), &v->policy);
    for (guint i = 0; i < dom->nvcpus; i++) {
        const VmbVcpuLoad *l = d->cpu.usage ? vmb_cpu_usage_vcpu(d->cpu.usage, dom->uuid, i) : NULL;
        v->vcpus[i].pcpu = dom->vcpus[i].pcpu;
        v->vcpus[i].cpus = dom->vcpus[i].cpus ? vmb_cpuset_format(dom->vcpus[i].cpus) : NULL;
        v->vcpus[i].load = l && l->valid ? l->load : -1.0;
        v->vcpus[i].wait = l && l->valid ? MAX(0, l->demand - l->run) : -1.0;
    }
    const VmbBalloonStat *b = &dom->balloon;
    if (b->fields & VMB_BALLOON_CURRENT)
        v->actual_kib = (gint64) b->current_kib;
    if (b->fields & VMB_BALLOON_USABLE)
        v->usable_kib = (gint64) b->usable_kib;
    if (b->fields & VMB_BALLOON_MAXIMUM)
        v->maximum_kib = (gint64) b->maximum_kib;
    return v;
}

/* The per-domain view of the last snapshot, with the loads and the configuration now. */
static void
publish_domains(VmbDaemon *d)
{
    const VmbSnapshot *snap = d->last_snapshot;
    if (!snap) {
        vmb_status_set_domains(d->status, 0, NULL, NULL);
        vmb_status_set_host_floating(d->status, -1);
        vmb_status_set_topology_load(d->status, NULL, NULL, 0);
        return;
    }
    GPtrArray *domains =
        g_ptr_array_new_full(snap->domains->len, (GDestroyNotify) vmb_domain_status_free);
    for (guint i = 0; i < snap->domains->len; i++)
        g_ptr_array_add(domains, build_domain(d, g_ptr_array_index(snap->domains, i)));
    vmb_status_set_domains(d->status, (gint64) MAX(snap->wall_s, 0) * G_USEC_PER_SEC,
                           build_pcpus(d, snap), domains);
    const VmbCpuHostView *host = &d->cpu.host;
    gboolean measured = host->npcpus == snap->npcpus && host->busy;
    vmb_status_set_host_floating(d->status, measured ? host->floating : -1);
    g_autofree char *topology = snap->topology && snap->topology->npcpus == snap->npcpus
                                    ? vmb_topology_describe(snap->topology)
                                    : g_strdup_printf("%u CPUs (topology unknown)", snap->npcpus);
    vmb_status_set_topology(d->status, topology);
    vmb_status_set_topology_load(d->status, snap->topology, measured ? host->busy : NULL,
                                 snap->npcpus);
}

/* Copies what the timers, the configuration and the memory task say into the status. */
static void
publish_status(VmbDaemon *d)
{
    const gboolean enabled[VMB_N_TASKS] = {d->config->cpu_enabled, d->config->mem_enabled};
    const guint interval[VMB_N_TASKS] = {vmb_config_cpu_interval(d->config),
                                         vmb_config_mem_interval(d->config)};
    for (guint i = 0; i < VMB_N_TASKS; i++) {
        const VmbTaskTimer *t = &d->tasks[i];
        VmbTaskStatus view = {
            .enabled = enabled[i],
            .paused = t->paused,
            .interval_s = interval[i],
            .last_run_us = MAX(t->last_run_us, 0),
            .cycles = t->cycles,
            .last_duration_us = t->last_duration_us,
        };
        vmb_status_set_task(d->status, i, &view);
    }
    VmbHostMemoryStatus mem = {
        .available_kib = d->mem.last_available_kib,
        .reserve_kib = d->mem.last_reserve_kib,
        .headroom_kib = d->mem.last_headroom_kib,
        .pressure = d->mem.last_pressure,
    };
    vmb_status_set_host_memory(d->status, &mem);
    publish_domains(d);
}

static void
notify_changed(VmbDaemon *d)
{
    publish_status(d);
    if (d->changed_func)
        d->changed_func(d, d->changed_data);
    vmb_sd_notify_status(d->status);
    vmb_metrics_file_update(d->config->metrics_file, d->status);
}

static void
set_degraded(VmbDaemon *d, const char *reason)
{
    if (vmb_status_set_degraded(d->status, reason))
        notify_changed(d);
}

/* ---- the hypervisor ---- */

static void
on_connection(VmbHypervisor *hv, gboolean connected, const char *reason, gpointer data)
{
    VmbDaemon *d = data;
    if (connected) {
        if (vmb_log_once_clear("hv-connection"))
            g_message("reconnected to %s", hv->uri);
        else
            g_message("connected to %s", hv->uri);
        set_degraded(d, NULL);
        vmb_mem_task_reconnected(&d->mem); /* balloon statistics on again */
        return;
    }
    g_autofree char *why = g_strdup_printf("hypervisor disconnected: %s", reason);
    set_degraded(d, why);
    vmb_log_once("hv-connection", G_LOG_LEVEL_WARNING,
                 "lost connection to %s (%s); retrying with backoff up to 60 s", hv->uri, reason);
}

static void
on_domain_event(VmbHypervisor *hv, VmbDomainEvent event, const char *name, const char *uuid,
                gpointer data)
{
    VmbDaemon *d = data;
    /* A new run of a domain starts a new memory history (and turns statistics on). */
    vmb_mem_task_forget(&d->mem, uuid);
    if (event == VMB_DOMAIN_APPEARED) {
        g_info("domain %s (%s) started", name, uuid);
    } else {
        g_info("domain %s (%s) stopped", name, uuid);
        vmb_cpu_task_forget(&d->cpu, uuid);
        /* A restart starts afresh: a kept foreign balloon target goes with the run. */
        vmb_foreign_targets_forget(d->mem.foreign, uuid);
        publish_domains(d); /* its loads are gone */
    }
}

static gboolean
open_hypervisor(VmbDaemon *d, GError **error)
{
    g_autoptr(VmbHypervisor) hv = vmb_hypervisor_new(vmb_daemon_uri(d), error);
    if (!hv)
        return FALSE;
    vmb_hypervisor_set_connection_func(hv, on_connection, d);
    vmb_hypervisor_set_event_func(hv, on_domain_event, d);
    g_clear_pointer(&d->hv, vmb_hypervisor_free);
    d->hv = g_steal_pointer(&hv);
    vmb_cpu_task_clear(&d->cpu);
    vmb_cpu_task_init(&d->cpu);
    vmb_mem_task_clear(&d->mem);
    vmb_mem_task_init(&d->mem);
    return TRUE;
}

/* ---- cycles ---- */

/* One snapshot per cycle; the last one is the source of the status' per-domain view. */
static VmbSnapshot *
take_snapshot(VmbDaemon *d)
{
    g_autoptr(GError) error = NULL;
    VmbHvCalls before = vmb_hypervisor_calls(d->hv);
    VmbSnapshot *s = vmb_hypervisor_snapshot(d->hv, &error);
    VmbHvCalls calls = vmb_hypervisor_calls_since(d->hv, &before);
    g_debug("snapshot: %" G_GUINT64_FORMAT " hypervisor calls (%" G_GUINT64_FORMAT " pin reads)",
            calls.total, calls.kind[VMB_HV_CALL_PINS]);
    if (!s) {
        if (!g_error_matches(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED)) {
            vmb_status_add_errors(d->status, 1);
            vmb_log_once("snapshot", G_LOG_LEVEL_WARNING, "cannot read statistics: %s",
                         error->message);
        }
        return NULL;
    }
    vmb_log_once_clear("snapshot");
    return s;
}

static void
run_cpu_cycle(VmbDaemon *d, VmbSnapshot *s)
{
    VmbCpuCycleResult r;
    vmb_cpu_task_run(&d->cpu, d->hv, s, d->config, d->dry_run, report_action, d, &r);
    vmb_status_add_errors(d->status, r.failed);
    /* Added, not copied: the task starts over when the hypervisor is reopened. */
    vmb_status_add_move_outcomes(d->status, r.moves_helped, r.moves_failed);
    g_debug("cpu cycle %" G_GUINT64_FORMAT ": %u domains, %u moves planned, %u made", d->cpu.cycles,
            s->domains->len, r.planned, r.applied);
}

static gboolean
on_memory_followup(gpointer data)
{
    VmbDaemon *d = data;
    d->mem_followup_id = 0;
    if (d->config->mem_enabled && !d->tasks[VMB_TASK_MEMORY].paused)
        vmb_daemon_run_task(d, VMB_TASK_MEMORY);
    return G_SOURCE_REMOVE;
}

static void
run_memory_cycle(VmbDaemon *d, VmbSnapshot *s)
{
    VmbMemCycleResult r;
    vmb_mem_task_run(&d->mem, d->hv, s, d->config, d->dry_run, report_action, d, &r);
    vmb_status_add_errors(d->status, r.failed);
    /* A guest that grows fast between cycles would run out before the next one. */
    guint soon = vmb_mem_task_followup(d->config, &r);
    if (soon && !d->dry_run && !d->mem_followup_id)
        d->mem_followup_id = g_timeout_add_seconds(soon, on_memory_followup, d);
    g_debug("memory cycle %" G_GUINT64_FORMAT ": %u domains, %u managed, %u changes planned, "
            "%u made, host headroom %" G_GINT64_FORMAT " MiB%s",
            d->mem.cycles, s->domains->len, r.managed, r.planned, r.applied, r.headroom_kib / 1024,
            r.pressure ? " (pressure)" : "");
}

gboolean
vmb_daemon_run_task(VmbDaemon *d, VmbTaskId task)
{
    VmbTaskTimer *t = &d->tasks[task];
    gint64 start_us = g_get_monotonic_time();
    VmbSnapshot *s = take_snapshot(d);
    t->last_run_us = g_get_real_time();
    if (!s) {
        t->last_duration_us = g_get_monotonic_time() - start_us;
        notify_changed(d);
        return FALSE;
    }
    /* The new snapshot replaces the last one before the cycle rather than after it: the
     * tasks only read it, and two whole snapshots (about 0.4 KiB per domain each) are not
     * held at once under the cycle's own allocations, which set the heap's high-water mark. */
    g_clear_pointer(&d->last_snapshot, vmb_snapshot_free);
    d->last_snapshot = s;
    t->last_sample_us = g_get_monotonic_time();
    t->cycles++;
    if (task == VMB_TASK_CPU)
        run_cpu_cycle(d, s);
    else
        run_memory_cycle(d, s);
    t->last_duration_us = g_get_monotonic_time() - start_us;
    vmb_status_settle_pins(d->status);
    notify_changed(d);
    return TRUE;
}

/* A tick right after a cycle whose snapshot blocked past its interval (cpu-usage.h) is
 * skipped: the next one samples a whole interval. RunNow is the operator's and always runs. */
static gboolean
on_cpu_timer(gpointer data)
{
    VmbDaemon *d = data;
    const VmbTaskTimer *t = &d->tasks[VMB_TASK_CPU];
    gint64 span_us = g_get_monotonic_time() - t->last_sample_us;
    if (t->last_sample_us && !vmb_util_span_enough(span_us, t->interval_s)) {
        g_debug("cpu cycle skipped: its snapshot would come %.1f s after the last one",
                (double) span_us / G_USEC_PER_SEC);
        return G_SOURCE_CONTINUE;
    }
    vmb_daemon_run_task(d, VMB_TASK_CPU);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_memory_timer(gpointer data)
{
    vmb_daemon_run_task(data, VMB_TASK_MEMORY);
    return G_SOURCE_CONTINUE;
}

/* (Re-)arms each task's timer to match the configuration: enabled and not paused tasks
 * tick at their interval; a timer is only replaced when its interval changed. */
static void
arm_timers(VmbDaemon *d)
{
    const gboolean enabled[VMB_N_TASKS] = {d->config->cpu_enabled, d->config->mem_enabled};
    const guint interval[VMB_N_TASKS] = {vmb_config_cpu_interval(d->config),
                                         vmb_config_mem_interval(d->config)};
    const GSourceFunc func[VMB_N_TASKS] = {on_cpu_timer, on_memory_timer};

    for (guint i = 0; i < VMB_N_TASKS; i++) {
        VmbTaskTimer *t = &d->tasks[i];
        gboolean want = enabled[i] && !t->paused;
        if (t->timer_id && (!want || t->interval_s != interval[i]))
            g_clear_handle_id(&t->timer_id, g_source_remove);
        if (want && !t->timer_id) {
            t->interval_s = interval[i];
            t->timer_id = g_timeout_add_seconds(interval[i], func[i], d);
            g_debug("%s task every %u s", vmb_task_name(i), interval[i]);
        }
        if (!want)
            t->interval_s = interval[i];
    }
}

void
vmb_daemon_set_paused(VmbDaemon *d, VmbTaskId task, gboolean paused)
{
    d->tasks[task].paused = paused;
    arm_timers(d);
    notify_changed(d);
}

void
vmb_daemon_apply_config(VmbDaemon *d, VmbConfig *config)
{
    g_autoptr(VmbConfig) old = d->config;
    d->config = config;
    if (!d->uri_override && g_strcmp0(old->uri, config->uri) != 0) {
        g_autoptr(GError) error = NULL;
        g_message("connection URI changed: %s -> %s", old->uri, config->uri);
        if (!open_hypervisor(d, &error)) {
            g_warning("cannot use %s: %s; keeping %s", config->uri, error->message, old->uri);
            g_free(config->uri);
            config->uri = g_strdup(old->uri);
        } else {
            g_autoptr(GError) ignored = NULL;
            vmb_hypervisor_ensure_connected(d->hv, &ignored);
        }
    }
    arm_timers(d);
    notify_changed(d);
}

/* Other tools that turn the same knobs on this host (coexist.h). A simulated or test host is
 * not this host: nothing to look for. */
static void
check_other_tools(VmbDaemon *d)
{
    const char *uri = vmb_daemon_uri(d);
    g_strfreev(d->other_tools);
    if (g_str_has_prefix(uri, "fake:") || g_str_has_prefix(uri, "test:"))
        d->other_tools = g_new0(char *, 1);
    else
        d->other_tools = vmb_coexist_check("/proc");
}

const char *const *
vmb_daemon_other_tools(const VmbDaemon *d)
{
    static const char *const none[] = {NULL};
    return d->other_tools ? (const char *const *) d->other_tools : none;
}

gboolean
vmb_daemon_reload(VmbDaemon *d, GError **error)
{
    vmb_sd_notify_reloading();
    VmbConfig *c = vmb_config_load(d->config_path, d->config_missing_ok, error);
    if (!c) {
        vmb_sd_notify_reloaded(d->status);
        return FALSE;
    }
    if (d->config_filter)
        c = d->config_filter(c, d->config_filter_data);
    vmb_daemon_apply_config(d, c);
    check_other_tools(d);
    g_message("configuration reloaded from %s", d->config_path);
    vmb_sd_notify_reloaded(d->status);
    return TRUE;
}

static gboolean
on_sighup(gpointer data)
{
    VmbDaemon *d = data;
    g_autoptr(GError) error = NULL;
    if (!vmb_daemon_reload(d, &error))
        g_warning("reload rejected, keeping the running settings: %s", error->message);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm(gpointer data)
{
    VmbDaemon *d = data;
    g_message("stopping on signal");
    vmb_daemon_quit(d);
    return G_SOURCE_CONTINUE;
}

void
vmb_daemon_quit(VmbDaemon *d)
{
    g_main_loop_quit(d->loop);
}

VmbDaemon *
vmb_daemon_new(const char *config_path, gboolean config_missing_ok, const char *uri_override,
               gboolean dry_run, GError **error)
{
    g_autoptr(VmbConfig) c = vmb_config_load(config_path, config_missing_ok, error);
    if (!c)
        return NULL;
    g_autoptr(VmbDaemon) d = g_new0(VmbDaemon, 1);
    d->config_path = g_strdup(config_path);
    d->config_missing_ok = config_missing_ok;
    d->uri_override = g_strdup(uri_override);
    d->dry_run = dry_run;
    d->config = g_steal_pointer(&c);
    d->loop = g_main_loop_new(NULL, FALSE);
    d->action_hooks = g_ptr_array_new_with_free_func(g_free);
    d->status = vmb_status_new(dry_run);
    vmb_cpu_task_init(&d->cpu);
    vmb_mem_task_init(&d->mem);
    if (!open_hypervisor(d, error))
        return NULL;
    publish_status(d); /* readers may come before the first cycle */
    return g_steal_pointer(&d);
}

void
vmb_daemon_free(VmbDaemon *d)
{
    if (!d)
        return;
    for (guint i = 0; i < VMB_N_TASKS; i++)
        g_clear_handle_id(&d->tasks[i].timer_id, g_source_remove);
    for (guint i = 0; i < G_N_ELEMENTS(d->signal_ids); i++)
        g_clear_handle_id(&d->signal_ids[i], g_source_remove);
    g_clear_handle_id(&d->mem_followup_id, g_source_remove);
    g_clear_pointer(&d->hv, vmb_hypervisor_free);
    vmb_cpu_task_clear(&d->cpu);
    vmb_mem_task_clear(&d->mem);
    g_clear_pointer(&d->last_snapshot, vmb_snapshot_free);
    g_clear_pointer(&d->status, vmb_status_free);
    g_clear_pointer(&d->action_hooks, g_ptr_array_unref);
    g_clear_pointer(&d->loop, g_main_loop_unref);
    vmb_config_free(d->config);
    g_free(d->config_path);
    g_strfreev(d->other_tools);
    g_free(d->uri_override);
    g_free(d);
}

void
vmb_daemon_watch_signals(VmbDaemon *d)
{
    if (d->signal_ids[0])
        return;
    d->signal_ids[0] = g_unix_signal_add(SIGTERM, on_sigterm, d);
    d->signal_ids[1] = g_unix_signal_add(SIGINT, on_sigterm, d);
    d->signal_ids[2] = g_unix_signal_add(SIGHUP, on_sighup, d);
}

int
vmb_daemon_run(VmbDaemon *d)
{
    vmb_daemon_watch_signals(d);
    vmb_sd_notify_attach();
    check_other_tools(d);

    g_autoptr(GError) error = NULL;
    if (!vmb_hypervisor_ensure_connected(d->hv, &error))
        g_debug("%s", error->message); /* logged once by on_connection; retried by cycles */
    g_autofree char *cpu = d->config->cpu_enabled
                               ? g_strdup_printf("every %u s", vmb_config_cpu_interval(d->config))
                               : g_strdup("off");
    g_autofree char *mem = d->config->mem_enabled
                               ? g_strdup_printf("every %u s", vmb_config_mem_interval(d->config))
                               : g_strdup("off");
    g_message("vmbalanced %s started: %s, vCPU balancer %s, memory coordinator %s%s",
              PACKAGE_VERSION, vmb_daemon_uri(d), cpu, mem, d->dry_run ? ", dry run" : "");
    arm_timers(d);
    /* The first cycle only measures: take it now so balancing starts one interval in. */
    if (d->config->cpu_enabled)
        vmb_daemon_run_task(d, VMB_TASK_CPU);
    /* Likewise for memory: it turns balloon statistics on, so the first interval has them. */
    if (d->config->mem_enabled)
        vmb_daemon_run_task(d, VMB_TASK_MEMORY);
    /* The bus name is owned before this runs (vmb_dbus_service_new); the hypervisor was tried. */
    vmb_sd_notify_ready(d->status);
    g_main_loop_run(d->loop);
    vmb_sd_notify_stopping();
    vmb_sd_notify_detach();
    return 0;
}

VmbHypervisor *
vmb_daemon_hypervisor(VmbDaemon *d)
{
    return d->hv;
}

gboolean
vmb_daemon_release_foreign_pins(VmbDaemon *d, const char *uuid)
{
    return vmb_foreign_pins_release(d->cpu.foreign, uuid);
}

gboolean
vmb_daemon_release_foreign_targets(VmbDaemon *d, const char *uuid)
{
    return vmb_foreign_targets_release(d->mem.foreign, uuid);
}

gboolean
vmb_daemon_check_tunable(const VmbDaemon *d, const char *key, const char *value, GError **error)
{
    const VmbKeyInfo *info = vmb_config_find_key(key);
    if (!info || g_strcmp0(info->name, "cpu.housekeeping_cpus") != 0 || !d->last_snapshot)
        return TRUE;
    g_autoptr(VmbConfig) c = vmb_config_copy(d->config);
    if (!vmb_config_set(c, key, value, NULL))
        return TRUE; /* a syntax error: the configuration's own message says it */
    g_autoptr(GError) local = NULL;
    const VmbSnapshot *s = d->last_snapshot;
    if (vmb_cpuset_is_empty(&c->cpu_housekeeping) ||
        vmb_hk_check(&c->cpu_housekeeping, s->npcpus, s->topology, &local))
        return TRUE;
    g_set_error_literal(error, VMB_CONFIG_ERROR, VMB_CONFIG_ERROR_BAD_VALUE, local->message);
    return FALSE;
}
