/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One frame of `vmbalancectl top` (cli/top-view.c): its sections in order, the decisions
 * newest first, the error frame, and the cut to the terminal's size. */
#include <string.h>

#include "status-render.h"
#include "top-view.h"

static VmbCtlStatus *
make_status(guint ndomains)
{
    VmbCtlStatus *s = g_new0(VmbCtlStatus, 1);
    s->version = g_strdup("1.2.3");
    s->state = g_strdup("running");
    s->uri = g_strdup("fake:///demo.ini");
    s->timestamp_us = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC;
    s->tasks[VMB_CTL_TASK_CPU] = (VmbCtlTask){.name = "cpu", .enabled = TRUE, .interval_s = 5};
    s->tasks[VMB_CTL_TASK_MEMORY] = (VmbCtlTask){.name = "memory", .interval_s = 5};
    s->pcpus = g_array_new(FALSE, TRUE, sizeof(VmbCtlPcpu));
    for (guint c = 0; c < 2; c++) {
        VmbCtlPcpu p = {.cpu = c, .busy_percent = 50.0 * c, .allowed = TRUE};
        g_array_append_val(s->pcpus, p);
    }
    s->domains = g_ptr_array_new();
    for (guint i = 0; i < ndomains; i++) {
        VmbCtlDomain *d = g_new0(VmbCtlDomain, 1);
        d->name = g_strdup_printf("dom%02u", i);
        d->uuid = g_strdup("u");
        d->vcpus = g_array_new(FALSE, TRUE, sizeof(VmbCtlVcpu));
        VmbCtlVcpu v = {.vcpu = 0, .pcpu = 1, .load_percent = 42};
        g_array_append_val(d->vcpus, v);
        d->actual_kib = d->usable_kib = d->target_kib = d->maximum_kib = 1 << 20;
        g_ptr_array_add(s->domains, d);
    }
    return s;
}

static void
free_status(VmbCtlStatus *s)
{
    for (guint i = 0; i < s->domains->len; i++) {
        VmbCtlDomain *d = g_ptr_array_index(s->domains, i);
        g_free(d->name);
        g_free(d->uuid);
        g_array_unref(d->vcpus);
        g_free(d);
    }
    g_ptr_array_unref(s->domains);
    g_array_unref(s->pcpus);
    g_clear_pointer(&s->nodes, g_array_unref);
    g_clear_pointer(&s->cores, g_array_unref);
    g_free(s->version);
    g_free(s->state);
    g_free(s->uri);
    g_free(s);
}

/* @n pin actions to vCPU 0..n-1, oldest first. */
static GArray *
make_actions(guint n)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(VmbCtlAction));
    for (guint i = 0; i < n; i++) {
        VmbCtlAction x = {.time_us = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC,
                          .kind = "pin",
                          .domain = "dom00",
                          .vcpu = i,
                          .from_pcpu = -1,
                          .to_pcpu = 1,
                          .reason = "place",
                          .detail = "why"};
        g_array_append_val(a, x);
    }
    return a;
}

static guint
count_lines(const char *text)
{
    guint n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

static gsize
widest(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    gsize w = 0;
    for (guint i = 0; lines[i]; i++)
        w = MAX(w, (gsize) g_utf8_strlen(lines[i], -1));
    return w;
}

/* Header, summary, bars, decisions, domains, in that order; decisions newest first. */
static void
test_sections(void)
{
    VmbCtlStatus *s = make_status(3);
    g_autoptr(GArray) actions = make_actions(VMB_TOP_DECISIONS + 3);
    VmbTopLayout l = {.interval_s = 2, .now_us = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC};
    g_autofree char *f = vmb_top_frame(&l, s, actions, NULL);
    const char *order[] = {"vmbalancectl top: every 2 s, q or Ctrl-C quits",
                           "vmbalanced 1.2.3: running",
                           "HOST CPU LOAD",
                           "  cpu1     [####################....................]  50.0%",
                           "LATEST DECISIONS (newest first)",
                           "vCPU 10: floating -> pCPU 1",
                           "vCPU 3: floating -> pCPU 1",
                           "DOMAIN",
                           "dom02"};
    const char *at = f;
    for (guint i = 0; i < G_N_ELEMENTS(order); i++) {
        const char *found = strstr(at, order[i]);
        if (!found)
            g_error("'%s' missing or out of order in:\n%s", order[i], f);
        at = found + strlen(order[i]);
    }
    /* Only the newest VMB_TOP_DECISIONS. */
    g_assert_null(strstr(f, "vCPU 2: floating"));
    g_assert_true(g_str_has_suffix(f, "\n"));
    free_status(s);
}

static void
test_no_decisions_and_error(void)
{
    VmbCtlStatus *s = make_status(0);
    VmbTopLayout l = {.interval_s = 3};
    g_autofree char *f = vmb_top_frame(&l, s, NULL, NULL);
    g_assert_nonnull(strstr(f, "LATEST DECISIONS (newest first)\n  none yet\n"));
    g_assert_nonnull(strstr(f, "No running domains."));
    g_autofree char *e = vmb_top_frame(&l, NULL, NULL, "cannot ask vmbalanced: gone");
    g_assert_nonnull(strstr(e, "cannot ask vmbalanced: gone\nTrying again every 3 s.\n"));
    g_assert_null(strstr(e, "HOST CPU LOAD"));
    free_status(s);
}

/* The frame fits the terminal: never wider, never taller (the last row says what is cut). */
static void
test_fit(void)
{
    static const struct {
        guint rows, columns, ndomains;
        gboolean cut_rows;
    } cases[] = {
        {0, 0, 50, FALSE},   /* no terminal: everything */
        {40, 120, 3, FALSE}, /* fits */
        {40, 120, 50, TRUE}, {12, 60, 3, TRUE}, {1, 10, 3, TRUE}, {200, 20, 3, FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        VmbCtlStatus *s = make_status(cases[i].ndomains);
        g_autoptr(GArray) actions = make_actions(2);
        VmbTopLayout l = {.rows = cases[i].rows, .columns = cases[i].columns, .interval_s = 1};
        g_autofree char *f = vmb_top_frame(&l, s, actions, NULL);
        g_test_message("%ux%u, %u domains: %u lines", cases[i].rows, cases[i].columns,
                       cases[i].ndomains, count_lines(f));
        if (cases[i].rows)
            g_assert_cmpuint(count_lines(f), <=, cases[i].rows);
        if (cases[i].columns)
            g_assert_cmpuint(widest(f), <=, cases[i].columns);
        g_assert_cmpint(strstr(f, "more lines") != NULL || strstr(f, "... ") != NULL, ==,
                        cases[i].cut_rows);
        g_autofree char *last = g_strdup_printf("dom%02u", cases[i].ndomains - 1);
        if (!cases[i].rows)
            g_assert_nonnull(strstr(f, last));
        free_status(s);
    }
}

/* The summary shows each node's load and its cores' in order; nothing on a flat host. */
static void
test_topology_load(void)
{
    VmbCtlStatus *s = make_status(0);
    g_autoptr(GString) flat = g_string_new(NULL);
    vmb_status_append_summary(flat, s, FALSE);
    g_assert_null(strstr(flat->str, "NUMA"));

    s->nodes = g_array_new(FALSE, TRUE, sizeof(VmbCtlNodeLoad));
    s->cores = g_array_new(FALSE, TRUE, sizeof(VmbCtlCoreLoad));
    const VmbCtlNodeLoad nodes[] = {{0, 4, 185.4}, {1, 4, -1}};
    const VmbCtlCoreLoad cores[] = {
        {0, 0, "0,2", 180}, {1, 1, "1,3", -1}, {0, 0, "4,6", 5.4}, {1, 1, "5,7", -1}};
    g_array_append_vals(s->nodes, nodes, 2);
    g_array_append_vals(s->cores, cores, 4);
    g_autoptr(GString) out = g_string_new(NULL);
    vmb_status_append_summary(out, s, FALSE);
    g_test_message("%s", out->str);
    g_assert_nonnull(strstr(out->str, "  node 0: 4 CPUs   185%  cores: 180 5\n"));
    g_assert_nonnull(strstr(out->str, "  node 1: 4 CPUs      -  cores: - -\n"));
    free_status(s);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/top-view/sections", test_sections);
    g_test_add_func("/top-view/no-decisions-and-error", test_no_decisions_and_error);
    g_test_add_func("/top-view/fit", test_fit);
    g_test_add_func("/top-view/topology-load", test_topology_load);
    return g_test_run();
}
