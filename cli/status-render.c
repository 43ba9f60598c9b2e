/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status-render.h"

#include <math.h>
#include <stdio.h>

#include "json-writer.h"

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
print_tasks(GString *out, VmbManager1 *p)
{
    struct {
        const char *name;
        gboolean enabled, paused;
        guint interval;
        guint64 cycles, last;
    } tasks[] = {
        {"cpu", vmb_manager1_get_cpu_enabled(p), vmb_manager1_get_cpu_paused(p),
         vmb_manager1_get_cpu_interval(p), vmb_manager1_get_cpu_cycles(p),
         vmb_manager1_get_cpu_last_cycle(p)},
        {"memory", vmb_manager1_get_memory_enabled(p), vmb_manager1_get_memory_paused(p),
         vmb_manager1_get_memory_interval(p), vmb_manager1_get_memory_cycles(p),
         vmb_manager1_get_memory_last_cycle(p)},
    };
    g_string_append(out, "TASK     STATE     INTERVAL    CYCLES  LAST CYCLE\n");
    for (guint i = 0; i < G_N_ELEMENTS(tasks); i++) {
        const char *state = !tasks[i].enabled ? "disabled" : tasks[i].paused ? "paused" : "active";
        g_autofree char *last = format_ago(tasks[i].last);
        g_string_append_printf(out, "%-8s %-9s %6u s  %8" G_GUINT64_FORMAT "  %s\n", tasks[i].name,
                               state, tasks[i].interval, tasks[i].cycles, last);
    }
    g_string_append_printf(out,
                           "\nCounters: %" G_GUINT64_FORMAT " pin changes, %" G_GUINT64_FORMAT
                           " memory changes, %" G_GUINT64_FORMAT " errors\n",
                           vmb_manager1_get_pin_changes(p), vmb_manager1_get_memory_changes(p),
                           vmb_manager1_get_errors(p));
    guint64 avail = vmb_manager1_get_host_memory_available(p);
    if (vmb_manager1_get_memory_cycles(p) && avail) {
        g_string_append_printf(out,
                               "Host memory: %" G_GUINT64_FORMAT
                               " MiB available, reserve %" G_GUINT64_FORMAT
                               " MiB, headroom %" G_GINT64_FORMAT " MiB%s\n",
                               avail / 1024, vmb_manager1_get_host_memory_reserve(p) / 1024,
                               vmb_manager1_get_memory_headroom(p) / 1024,
                               vmb_manager1_get_memory_pressure(p) ? " (under pressure)" : "");
    }
}

static void
print_pcpus(GString *out, GVariant *pcpus, gboolean unicode)
{
    g_string_append(out, "\nHOST CPU LOAD\n");
    GVariantIter it;
    guint32 cpu;
    double busy, background;
    gboolean allowed, any_disallowed = FALSE;
    g_variant_iter_init(&it, pcpus);
    while (g_variant_iter_next(&it, "(uddb)", &cpu, &busy, &background, &allowed)) {
        g_autofree char *label = g_strdup_printf("cpu%u", cpu);
        g_string_append(out, "  ");
        vmb_append_padded(out, label, 7, FALSE);
        g_string_append_c(out, allowed ? ' ' : '*');
        any_disallowed |= !allowed;
        if (busy < 0) {
            g_string_append(out, " not measured yet\n");
            continue;
        }
        g_string_append_c(out, ' ');
        append_bar(out, busy, unicode);
        g_string_append_printf(out, " %5.1f%%\n", busy);
    }
    if (any_disallowed)
        g_string_append(out, "  * not in cpu.cpus: vmbalanced pins no vCPU there\n");
}

static void
print_domains(GString *out, GVariant *domains)
{
    guint width = strlen("DOMAIN");
    GVariantIter it;
    const char *name;
    g_variant_iter_init(&it, domains);
    while (g_variant_iter_next(&it, "(&s&sb@a(uid)(xxxx))", &name, NULL, NULL, NULL, NULL, NULL,
                               NULL, NULL))
        width = MAX(width, (guint) g_utf8_strlen(name, -1));
    width = MIN(width, 40);

    g_string_append(out, "\n");
    vmb_append_padded(out, "DOMAIN", width, FALSE);
    g_string_append(out, "  VCPU  PCPU    LOAD      ACTUAL      USABLE      TARGET\n");

    const char *uuid;
    gboolean excluded;
    GVariant *vcpus;
    gint64 actual, usable, target, maximum;
    g_variant_iter_init(&it, domains);
    while (g_variant_iter_next(&it, "(&s&sb@a(uid)(xxxx))", &name, &uuid, &excluded, &vcpus,
                               &actual, &usable, &target, &maximum)) {
        g_autofree char *shown = NULL;
        if (g_utf8_strlen(name, -1) > 40) {
            g_autofree char *head = g_utf8_substring(name, 0, 37);
            shown = g_strconcat(head, "...", NULL);
        } else {
            shown = g_strdup(name);
        }
        GVariantIter vit;
        guint32 vcpu;
        gint32 pcpu;
        double load;
        gboolean first = TRUE;
        g_variant_iter_init(&vit, vcpus);
        while (g_variant_iter_next(&vit, "(uid)", &vcpu, &pcpu, &load)) {
            vmb_append_padded(out, first ? shown : "", width, FALSE);
            g_autofree char *pcpu_text = pcpu >= 0 ? g_strdup_printf("%d", pcpu) : g_strdup("-");
            g_autofree char *load_text =
                load >= 0 ? g_strdup_printf("%.0f%%", load) : g_strdup("-");
            g_string_append_printf(out, "  %4u  %4s  %6s", vcpu, pcpu_text, load_text);
            if (first) {
                g_autofree char *a = vmb_format_kib(actual);
                g_autofree char *u = vmb_format_kib(usable);
                g_autofree char *t = vmb_format_kib(target);
                g_string_append_printf(out, "  %10s  %10s  %10s%s", a, u, t,
                                       excluded ? "  (excluded)" : "");
            }
            g_string_append_c(out, '\n');
            first = FALSE;
        }
        if (first) { /* no vCPUs reported */
            vmb_append_padded(out, shown, width, FALSE);
            g_string_append(out, "     -     -       -\n");
        }
        g_variant_unref(vcpus);
    }
}

void
vmb_status_print_human(VmbManager1 *p, GVariant *status, gboolean unicode)
{
    guint64 timestamp;
    g_autoptr(GVariant) pcpus = NULL, domains = NULL;
    g_variant_get(status, "(t@a(uddb)@a(ssba(uid)(xxxx)))", &timestamp, &pcpus, &domains);

    g_autoptr(GString) out = g_string_new(NULL);
    const char *reason = vmb_manager1_get_state_reason(p);
    g_string_append_printf(out, "vmbalanced %s: %s%s%s%s\n", vmb_manager1_get_version(p),
                           vmb_manager1_get_state(p), reason && *reason ? " (" : "",
                           reason && *reason ? reason : "", reason && *reason ? ")" : "");
    g_string_append_printf(out, "Hypervisor: %s%s\n\n", vmb_manager1_get_uri(p),
                           vmb_manager1_get_dry_run(p) ? "  [dry run: nothing is changed]" : "");
    print_tasks(out, p);
    if (timestamp == 0) {
        g_string_append(out, "\nNo cycle has read the host yet.\n");
    } else {
        print_pcpus(out, pcpus, unicode);
        if (g_variant_n_children(domains))
            print_domains(out, domains);
        else
            g_string_append(out, "\nNo running domains.\n");
    }
    fputs(out->str, stdout);
}

/* Writes @key, and null for its value when not @known; TRUE when the caller writes it. */
static gboolean
json_key_known(VmbJson *j, const char *key, gboolean known)
{
    vmb_json_key(j, key);
    if (!known)
        vmb_json_null(j);
    return known;
}

static void
json_opt_int(VmbJson *j, const char *key, gint64 v)
{
    if (json_key_known(j, key, v >= 0))
        vmb_json_int(j, v);
}

static void
json_task(VmbJson *j, const char *name, gboolean enabled, gboolean paused, guint interval,
          guint64 cycles, guint64 last)
{
    vmb_json_key(j, name);
    vmb_json_begin_object(j);
    vmb_json_key(j, "enabled");
    vmb_json_bool(j, enabled);
    vmb_json_key(j, "paused");
    vmb_json_bool(j, paused);
    vmb_json_key(j, "interval_s");
    vmb_json_uint(j, interval);
    vmb_json_key(j, "cycles");
    vmb_json_uint(j, cycles);
    vmb_json_key(j, "last_cycle_us");
    if (last)
        vmb_json_uint(j, last);
    else
        vmb_json_null(j);
    vmb_json_end_object(j);
}

char *
vmb_status_to_json(VmbManager1 *p, GVariant *status)
{
    guint64 timestamp;
    g_autoptr(GVariant) pcpus = NULL, domains = NULL;
    g_variant_get(status, "(t@a(uddb)@a(ssba(uid)(xxxx)))", &timestamp, &pcpus, &domains);
    const char *reason = vmb_manager1_get_state_reason(p);

    g_autoptr(VmbJson) j = vmb_json_new();
    vmb_json_begin_object(j);
    vmb_json_key(j, "format");
    vmb_json_uint(j, 1);
    vmb_json_key(j, "version");
    vmb_json_string(j, vmb_manager1_get_version(p));
    vmb_json_key(j, "state");
    vmb_json_string(j, vmb_manager1_get_state(p));
    vmb_json_key(j, "state_reason");
    vmb_json_string(j, reason && *reason ? reason : NULL);
    vmb_json_key(j, "uri");
    vmb_json_string(j, vmb_manager1_get_uri(p));
    vmb_json_key(j, "dry_run");
    vmb_json_bool(j, vmb_manager1_get_dry_run(p));
    vmb_json_key(j, "timestamp_us");
    if (timestamp)
        vmb_json_uint(j, timestamp);
    else
        vmb_json_null(j);

    vmb_json_key(j, "tasks");
    vmb_json_begin_object(j);
    json_task(j, "cpu", vmb_manager1_get_cpu_enabled(p), vmb_manager1_get_cpu_paused(p),
              vmb_manager1_get_cpu_interval(p), vmb_manager1_get_cpu_cycles(p),
              vmb_manager1_get_cpu_last_cycle(p));
    json_task(j, "memory", vmb_manager1_get_memory_enabled(p), vmb_manager1_get_memory_paused(p),
              vmb_manager1_get_memory_interval(p), vmb_manager1_get_memory_cycles(p),
              vmb_manager1_get_memory_last_cycle(p));
    vmb_json_end_object(j);

    vmb_json_key(j, "counters");
    vmb_json_begin_object(j);
    vmb_json_key(j, "pin_changes");
    vmb_json_uint(j, vmb_manager1_get_pin_changes(p));
    vmb_json_key(j, "memory_changes");
    vmb_json_uint(j, vmb_manager1_get_memory_changes(p));
    vmb_json_key(j, "errors");
    vmb_json_uint(j, vmb_manager1_get_errors(p));
    vmb_json_end_object(j);

    /* The host as the last memory cycle saw it; nulls before one (or when unknown). */
    gboolean mem_known =
        vmb_manager1_get_memory_cycles(p) && vmb_manager1_get_host_memory_available(p);
    vmb_json_key(j, "host_memory");
    vmb_json_begin_object(j);
    if (json_key_known(j, "available_kib", mem_known))
        vmb_json_uint(j, vmb_manager1_get_host_memory_available(p));
    if (json_key_known(j, "reserve_kib", mem_known))
        vmb_json_uint(j, vmb_manager1_get_host_memory_reserve(p));
    if (json_key_known(j, "headroom_kib", mem_known))
        vmb_json_int(j, vmb_manager1_get_memory_headroom(p));
    if (json_key_known(j, "pressure", mem_known))
        vmb_json_bool(j, vmb_manager1_get_memory_pressure(p));
    vmb_json_end_object(j);

    vmb_json_key(j, "pcpus");
    vmb_json_begin_array(j);
    GVariantIter it;
    guint32 cpu;
    double busy, background;
    gboolean allowed;
    g_variant_iter_init(&it, pcpus);
    while (g_variant_iter_next(&it, "(uddb)", &cpu, &busy, &background, &allowed)) {
        vmb_json_begin_object(j);
        vmb_json_key(j, "cpu");
        vmb_json_uint(j, cpu);
        if (json_key_known(j, "busy_percent", busy >= 0))
            vmb_json_double(j, busy, 2);
        if (json_key_known(j, "background_percent", background >= 0))
            vmb_json_double(j, background, 2);
        vmb_json_key(j, "allowed");
        vmb_json_bool(j, allowed);
        vmb_json_end_object(j);
    }
    vmb_json_end_array(j);

    vmb_json_key(j, "domains");
    vmb_json_begin_array(j);
    const char *name, *uuid;
    gboolean excluded;
    GVariant *vcpus;
    gint64 actual, usable, target, maximum;
    g_variant_iter_init(&it, domains);
    while (g_variant_iter_next(&it, "(&s&sb@a(uid)(xxxx))", &name, &uuid, &excluded, &vcpus,
                               &actual, &usable, &target, &maximum)) {
        vmb_json_begin_object(j);
        vmb_json_key(j, "name");
        vmb_json_string(j, name);
        vmb_json_key(j, "uuid");
        vmb_json_string(j, uuid);
        vmb_json_key(j, "excluded");
        vmb_json_bool(j, excluded);
        vmb_json_key(j, "vcpus");
        vmb_json_begin_array(j);
        GVariantIter vit;
        guint32 vcpu;
        gint32 pcpu;
        double load;
        g_variant_iter_init(&vit, vcpus);
        while (g_variant_iter_next(&vit, "(uid)", &vcpu, &pcpu, &load)) {
            vmb_json_begin_object(j);
            vmb_json_key(j, "vcpu");
            vmb_json_uint(j, vcpu);
            json_opt_int(j, "pcpu", pcpu);
            if (json_key_known(j, "load_percent", load >= 0))
                vmb_json_double(j, load, 2);
            vmb_json_end_object(j);
        }
        vmb_json_end_array(j);
        vmb_json_key(j, "memory");
        vmb_json_begin_object(j);
        json_opt_int(j, "actual_kib", actual);
        json_opt_int(j, "usable_kib", usable);
        json_opt_int(j, "target_kib", target);
        json_opt_int(j, "maximum_kib", maximum);
        vmb_json_end_object(j);
        vmb_json_end_object(j);
        g_variant_unref(vcpus);
    }
    vmb_json_end_array(j);
    vmb_json_end_object(j);
    return g_strdup(vmb_json_str(j));
}
