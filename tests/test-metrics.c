/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Prometheus text of the status (daemon/metrics.c) and its atomic file (metrics-file.c):
 * the format's rules, the values of a known status, label escaping, counters that only
 * grow, series that go with their domain, and the file's mode and atomic replacement. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics-file.h"
#include "metrics.h"

#define UUID_A "00000000-0000-0000-0000-00000000000a"
#define UUID_B "00000000-0000-0000-0000-00000000000b"

/* ---- a small reader of the text format: "name{labels}" -> value ---- */

typedef struct {
    GHashTable *samples; /* "name{labels}" -> double* */
    GHashTable *types;   /* family name -> "gauge" / "counter" */
} Exposition;

static void
exposition_free(Exposition *e)
{
    g_hash_table_unref(e->samples);
    g_hash_table_unref(e->types);
    g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Exposition, exposition_free)

/* Parses @text, failing the test on anything the format does not allow: a sample whose
 * family has no HELP and TYPE just before, a family declared twice, a series twice. */
static Exposition *
parse(const char *text)
{
    Exposition *e = g_new0(Exposition, 1);
    e->samples = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    e->types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_assert_true(g_str_has_suffix(text, "\n"));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *family = NULL;
    g_autofree char *helped = NULL;
    for (guint i = 0; lines[i] && lines[i][0]; i++) {
        const char *l = lines[i];
        if (g_str_has_prefix(l, "# HELP ")) {
            g_auto(GStrv) w = g_strsplit(l + 7, " ", 2);
            g_assert_nonnull(w[1]);
            g_assert_cmpuint(strlen(w[1]), >, 5);
            g_free(helped);
            helped = g_strdup(w[0]);
            continue;
        }
        if (g_str_has_prefix(l, "# TYPE ")) {
            g_auto(GStrv) w = g_strsplit(l + 7, " ", -1);
            g_assert_cmpuint(g_strv_length(w), ==, 2);
            g_assert_cmpstr(w[0], ==, helped);
            g_assert_false(g_hash_table_contains(e->types, w[0]));
            g_assert_true(g_str_equal(w[1], "gauge") || g_str_equal(w[1], "counter"));
            g_hash_table_insert(e->types, g_strdup(w[0]), g_strdup(w[1]));
            g_free(family);
            family = g_strdup(w[0]);
            continue;
        }
        g_assert_cmpint(l[0], !=, '#');
        const char *space = strrchr(l, ' ');
        g_assert_nonnull(space);
        g_autofree char *series = g_strndup(l, space - l);
        g_autofree char *name = g_strndup(series, strcspn(series, "{ "));
        g_assert_cmpstr(name, ==, family);
        char *end = NULL;
        double v = g_ascii_strtod(space + 1, &end);
        g_assert_cmpint(*end, ==, '\0');
        g_assert_false(g_hash_table_contains(e->samples, series));
        g_hash_table_insert(e->samples, g_steal_pointer(&series), g_memdup2(&v, sizeof(v)));
    }
    return e;
}

static gboolean
has(const Exposition *e, const char *series)
{
    return g_hash_table_contains(e->samples, series);
}

static double
value(const Exposition *e, const char *series)
{
    const double *v = g_hash_table_lookup(e->samples, series);
    if (!v)
        g_error("no series %s", series);
    return *v;
}

static Exposition *
render_parse(const VmbStatus *s, char **text_out)
{
    gsize length;
    g_autofree char *text = vmb_metrics_render(s, "1.2.3", &length);
    g_assert_cmpuint(length, ==, strlen(text));
    Exposition *e = parse(text);
    if (text_out)
        *text_out = g_steal_pointer(&text);
    return e;
}

/* ---- a known status ---- */

static VmbAction
action(VmbActionKind kind, const char *uuid, const char *reason, gboolean dry_run)
{
    return (VmbAction){.kind = kind,
                       .wall_us = 1,
                       .domain = "dom",
                       .uuid = uuid,
                       .to_pcpu = 1,
                       .from_pcpu = 0,
                       .old_kib = 1024,
                       .new_kib = 2048,
                       .reason = reason,
                       .dry_run = dry_run};
}

/* Domains named @names (uuids by position) with 2 vCPUs on a 2-pCPU host. */
static void
publish(VmbStatus *s, const char *const *names, const char *const *uuids)
{
    GPtrArray *domains = g_ptr_array_new_with_free_func((GDestroyNotify) vmb_domain_status_free);
    for (guint i = 0; names[i]; i++) {
        VmbDomainStatus *d = vmb_domain_status_new(names[i], uuids[i], 2);
        d->vcpus[0] = (VmbVcpuStatus){.pcpu = 1, .load = 50, .wait = 12.5};
        d->vcpus[1] = (VmbVcpuStatus){.pcpu = -1, .load = -1, .wait = -1}; /* not measured */
        d->actual_kib = 1024;
        d->usable_kib = 512;
        d->maximum_kib = 4096;
        g_ptr_array_add(domains, d);
    }
    GArray *pcpus = g_array_new(FALSE, TRUE, sizeof(VmbPcpuStatus));
    VmbPcpuStatus p0 = {.busy = 75, .background = 5, .allowed = TRUE};
    VmbPcpuStatus p1 = {.busy = -1, .background = -1, .allowed = FALSE};
    g_array_append_val(pcpus, p0);
    g_array_append_val(pcpus, p1);
    vmb_status_set_domains(s, 42 * G_USEC_PER_SEC, pcpus, domains);
    /* 2 sockets of one CPU, a node each: node 1's only CPU is not measured */
    g_autoptr(VmbTopology) t = vmb_topology_new_grid(2, 1, 1, 2, NULL);
    const double busy[] = {75, -1};
    vmb_status_set_topology_load(s, t, busy, 2);
}

static VmbStatus *
known_status(void)
{
    VmbStatus *s = vmb_status_new(FALSE);
    VmbAction acts[] = {
        action(VMB_ACTION_PIN, UUID_A, "balance", FALSE),
        action(VMB_ACTION_PIN, UUID_A, "balance", FALSE),
        action(VMB_ACTION_PIN, UUID_B, "spread", FALSE),
        action(VMB_ACTION_PIN, UUID_B, "place", TRUE), /* dry-run: not a change */
        action(VMB_ACTION_MEMORY, UUID_A, "grow", FALSE),
    };
    for (guint i = 0; i < G_N_ELEMENTS(acts); i++)
        vmb_status_record_action(s, &acts[i]);
    vmb_status_settle_pins(s);
    publish(s, (const char *const[]){"web", "db", NULL}, (const char *const[]){UUID_A, UUID_B});
    VmbTaskStatus cpu = {.enabled = TRUE,
                         .interval_s = 5,
                         .last_run_us = 1700000000123456,
                         .cycles = 7,
                         .last_duration_us = 2500};
    VmbTaskStatus mem = {.enabled = FALSE, .paused = TRUE, .interval_s = 10};
    vmb_status_set_task(s, VMB_TASK_CPU, &cpu);
    vmb_status_set_task(s, VMB_TASK_MEMORY, &mem);
    VmbHostMemoryStatus m = {.available_kib = 8 << 20, .reserve_kib = 1 << 20, .pressure = TRUE};
    vmb_status_set_host_memory(s, &m);
    vmb_status_set_host_floating(s, 150);
    vmb_status_add_errors(s, 3);
    vmb_status_add_move_outcomes(s, 4, 1);
    return s;
}

/* ---- tests ---- */

/* Every family: vmbalance_ prefix, snake case, counters and only counters end in _total,
 * units in base form. */
static void
test_names(void)
{
    g_autoptr(VmbStatus) s = known_status();
    g_autoptr(Exposition) e = render_parse(s, NULL);
    GHashTableIter it;
    gpointer name, type;
    g_hash_table_iter_init(&it, e->types);
    guint families = 0;
    while (g_hash_table_iter_next(&it, &name, &type)) {
        families++;
        g_test_message("%s %s", (char *) name, (char *) type);
        g_assert_true(g_str_has_prefix(name, "vmbalance_"));
        g_assert_true(g_regex_match_simple("^[a-z_]+$", name, 0, 0));
        g_assert_cmpint(g_str_has_suffix(name, "_total"), ==, g_str_equal(type, "counter"));
        g_assert_null(strstr(name, "_kib"));
        g_assert_null(strstr(name, "_percent"));
        g_assert_null(strstr(name, "_ms"));
    }
    g_assert_cmpuint(families, >=, 25);
}

/* The values of the known status, in base units. */
static void
test_values(void)
{
    static const struct {
        const char *series;
        double value;
    } cases[] = {
        {"vmbalance_build_info{version=\"1.2.3\"}", 1},
        {"vmbalance_state{state=\"running\"}", 1},
        {"vmbalance_state{state=\"degraded\"}", 0},
        {"vmbalance_dry_run", 0},
        {"vmbalance_task_enabled{task=\"memory\"}", 0},
        {"vmbalance_task_paused{task=\"memory\"}", 1},
        {"vmbalance_task_interval_seconds{task=\"cpu\"}", 5},
        {"vmbalance_cycles_total{task=\"cpu\"}", 7},
        {"vmbalance_cycles_total{task=\"memory\"}", 0},
        {"vmbalance_cycle_duration_seconds{task=\"cpu\"}", 0.0025},
        {"vmbalance_last_cycle_timestamp_seconds{task=\"cpu\"}", 1700000000.123456},
        {"vmbalance_pin_changes_total{reason=\"balance\"}", 2},
        {"vmbalance_pin_changes_total{reason=\"spread\"}", 1},
        {"vmbalance_memory_changes_total{reason=\"grow\"}", 1},
        {"vmbalance_moves_total{outcome=\"helped\"}", 4},
        {"vmbalance_moves_total{outcome=\"failed\"}", 1},
        {"vmbalance_errors_total", 3},
        {"vmbalance_cpu_busy_ratio{cpu=\"0\"}", 0.75},
        {"vmbalance_cpu_background_ratio{cpu=\"0\"}", 0.05},
        {"vmbalance_cpu_allowed{cpu=\"0\"}", 1},
        {"vmbalance_cpu_allowed{cpu=\"1\"}", 0},
        {"vmbalance_host_floating_load_ratio", 1.5},
        {"vmbalance_node_cpus{node=\"0\"}", 1},
        {"vmbalance_node_cpus{node=\"1\"}", 1},
        {"vmbalance_node_load_ratio{node=\"0\"}", 0.75},
        {"vmbalance_host_memory_available_bytes", 8.0 * 1024 * 1024 * 1024},
        {"vmbalance_host_memory_reserve_bytes", 1024.0 * 1024 * 1024},
        {"vmbalance_host_memory_pressure", 1},
        {"vmbalance_domains", 2},
        {"vmbalance_domain_excluded{domain=\"db\"}", 0},
        {"vmbalance_vcpu_demand_ratio{domain=\"web\",vcpu=\"0\"}", 0.5},
        {"vmbalance_vcpu_wait_ratio{domain=\"web\",vcpu=\"0\"}", 0.125},
        {"vmbalance_vcpu_pinned_cpu{domain=\"web\",vcpu=\"0\"}", 1},
        {"vmbalance_vcpu_pinned_cpu{domain=\"web\",vcpu=\"1\"}", -1},
        {"vmbalance_domain_memory_actual_bytes{domain=\"web\"}", 1024.0 * 1024},
        {"vmbalance_domain_memory_usable_bytes{domain=\"db\"}", 512.0 * 1024},
        {"vmbalance_domain_memory_maximum_bytes{domain=\"db\"}", 4096.0 * 1024},
        {"vmbalance_domain_memory_target_bytes{domain=\"web\"}", 2048.0 * 1024},
    };
    /* Not known, so not shown: no made-up zero. */
    static const char *const absent[] = {
        "vmbalance_pin_changes_total{reason=\"place\"}", /* dry-run only */
        "vmbalance_cpu_busy_ratio{cpu=\"1\"}",
        "vmbalance_cpu_background_ratio{cpu=\"1\"}",
        "vmbalance_node_load_ratio{node=\"1\"}",
        "vmbalance_vcpu_demand_ratio{domain=\"web\",vcpu=\"1\"}",
        "vmbalance_vcpu_wait_ratio{domain=\"web\",vcpu=\"1\"}",
        "vmbalance_domain_memory_target_bytes{domain=\"db\"}",
        "vmbalance_cycle_duration_seconds{task=\"memory\"}", /* never ran */
        "vmbalance_last_cycle_timestamp_seconds{task=\"memory\"}",
    };
    g_autoptr(VmbStatus) s = known_status();
    g_autofree char *text = NULL;
    g_autoptr(Exposition) e = render_parse(s, &text);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s", cases[i].series);
        g_assert_cmpfloat_with_epsilon(value(e, cases[i].series), cases[i].value,
                                       1e-9 * MAX(1, cases[i].value));
    }
    for (guint i = 0; i < G_N_ELEMENTS(absent); i++) {
        g_test_message("absent: %s", absent[i]);
        g_assert_false(has(e, absent[i]));
    }
    /* Pure: the same status gives the same text. */
    g_autofree char *again = vmb_metrics_render(s, "1.2.3", NULL);
    g_assert_cmpstr(text, ==, again);

    vmb_status_set_degraded(s, "hypervisor disconnected: gone");
    g_autoptr(Exposition) e2 = render_parse(s, NULL);
    g_assert_cmpfloat(value(e2, "vmbalance_state{state=\"degraded\"}"), ==, 1);
    g_assert_cmpfloat(value(e2, "vmbalance_state{state=\"running\"}"), ==, 0);
}

/* Before the first cycle: the daemon's own families, no host or domain sample. */
static void
test_no_snapshot(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(TRUE);
    g_autoptr(Exposition) e = render_parse(s, NULL);
    g_assert_cmpfloat(value(e, "vmbalance_dry_run"), ==, 1);
    g_assert_cmpfloat(value(e, "vmbalance_cycles_total{task=\"cpu\"}"), ==, 0);
    g_assert_false(has(e, "vmbalance_domains"));
    g_assert_false(has(e, "vmbalance_host_floating_load_ratio"));
    g_assert_false(has(e, "vmbalance_host_memory_available_bytes"));
    g_assert_false(has(e, "vmbalance_cpu_allowed{cpu=\"0\"}"));
    g_assert_false(has(e, "vmbalance_node_cpus{node=\"0\"}"));
    g_assert_true(g_hash_table_contains(e->types, "vmbalance_vcpu_demand_ratio"));
}

/* Label values: '\', '"' and newline escaped as the format says; the rest as is. */
static void
test_escaping(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"web", "web"},
        {"a\\b", "a\\\\b"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"tab\there", "tab\there"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"bad\xff", "bad\xef\xbf\xbd"}, /* invalid UTF-8: U+FFFD */
        {"", ""},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = vmb_metrics_escape_label(cases[i].in);
        g_assert_cmpstr(got, ==, cases[i].out);
    }
    /* In place: a domain named with all three reads back as one well-formed series. */
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    publish(s, (const char *const[]){"q\"b\\n\nx", NULL}, (const char *const[]){UUID_A});
    g_autoptr(Exposition) e = render_parse(s, NULL);
    g_assert_true(has(e, "vmbalance_domain_memory_actual_bytes{domain=\"q\\\"b\\\\n\\nx\"}"));
}

/* Every _total sample keeps its series and never goes down as actions come. */
static void
test_counters_monotonic(void)
{
    static const char *const reasons[] = {"balance", "spread", "grow", "shrink", "place"};
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    g_autoptr(GHashTable) last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    guint seen = 0;
    for (guint round = 0; round < 20; round++) {
        for (guint k = 0; k <= round % 3; k++) {
            const char *reason = reasons[(round + k) % G_N_ELEMENTS(reasons)];
            VmbActionKind kind = k % 2 ? VMB_ACTION_MEMORY : VMB_ACTION_PIN;
            VmbAction a = action(kind, round % 2 ? UUID_A : UUID_B, reason, FALSE);
            vmb_status_record_action(s, &a);
        }
        vmb_status_add_move_outcomes(s, round % 2, round % 3 == 0);
        g_autoptr(Exposition) e = render_parse(s, NULL);
        GHashTableIter it;
        gpointer series, prev;
        g_hash_table_iter_init(&it, last);
        while (g_hash_table_iter_next(&it, &series, &prev))
            g_assert_cmpfloat(value(e, series), >=, *(double *) prev);
        g_hash_table_iter_init(&it, e->samples);
        gpointer v;
        while (g_hash_table_iter_next(&it, &series, &v)) {
            if (strstr(series, "_total"))
                g_hash_table_replace(last, g_strdup(series), g_memdup2(v, sizeof(double)));
        }
        seen = g_hash_table_size(last);
    }
    /* The counts add up to what was recorded: 20 rounds of 1, 2, 3 actions. */
    double pins = 0, mems = 0;
    GHashTableIter it;
    gpointer series, v;
    g_hash_table_iter_init(&it, last);
    while (g_hash_table_iter_next(&it, &series, &v)) {
        if (g_str_has_prefix(series, "vmbalance_pin_changes_total"))
            pins += *(double *) v;
        if (g_str_has_prefix(series, "vmbalance_memory_changes_total"))
            mems += *(double *) v;
    }
    g_assert_cmpfloat(pins, ==, vmb_status_counters(s)->pin_changes);
    g_assert_cmpfloat(mems, ==, vmb_status_counters(s)->memory_changes);
    g_assert_cmpfloat(pins + mems, ==, 7 * 1 + 7 * 2 + 6 * 3);
    g_assert_cmpuint(seen, >=, 5 + 2 + 2 + 1);
}

/* A domain that stopped takes all its series with it; the others stay. */
static void
test_domain_vanishes(void)
{
    g_autoptr(VmbStatus) s = vmb_status_new(FALSE);
    VmbAction grow = action(VMB_ACTION_MEMORY, UUID_A, "grow", FALSE);
    vmb_status_record_action(s, &grow);
    publish(s, (const char *const[]){"web", "db", NULL}, (const char *const[]){UUID_A, UUID_B});
    g_autofree char *before = NULL;
    g_autoptr(Exposition) e1 = render_parse(s, &before);
    g_assert_nonnull(strstr(before, "domain=\"web\""));
    g_assert_true(has(e1, "vmbalance_domain_memory_target_bytes{domain=\"web\"}"));

    publish(s, (const char *const[]){"db", NULL}, (const char *const[]){UUID_B});
    g_autofree char *after = NULL;
    g_autoptr(Exposition) e2 = render_parse(s, &after);
    g_assert_null(strstr(after, "domain=\"web\""));
    g_assert_true(has(e2, "vmbalance_vcpu_demand_ratio{domain=\"db\",vcpu=\"0\"}"));
    g_assert_cmpfloat(value(e2, "vmbalance_domains"), ==, 1);
    /* The counter of the change made to it stays: it counts the daemon's work. */
    g_assert_cmpfloat(value(e2, "vmbalance_memory_changes_total{reason=\"grow\"}"), ==, 1);
}

/* The file: replaced whole, 0644 whatever the umask, no temporary left; a missing
 * directory is an error naming it. */
static void
test_file(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmb-metrics-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *path = g_build_filename(dir, "vmbalance.prom", NULL);
    mode_t old = umask(0077);
    g_assert_true(vmb_metrics_file_write(path, "a 1\n", 4, &error));
    g_assert_true(vmb_metrics_file_write(path, "b 2\n", 4, &error));
    umask(old);
    g_assert_no_error(error);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "b 2\n");
    GStatBuf st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0644);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint files = 0;
    while ((name = g_dir_read_name(d)))
        files++;
    g_assert_cmpuint(files, ==, 1);

    g_autofree char *missing = g_build_filename(dir, "gone", "vmbalance.prom", NULL);
    g_assert_false(vmb_metrics_file_write(missing, "x 1\n", 4, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_assert_nonnull(strstr(error->message, "gone does not exist"));
    g_clear_error(&error);

    /* The daemon's shell: renders and writes; nothing for "". */
    g_autoptr(VmbStatus) s = known_status();
    vmb_metrics_file_update(path, s);
    g_autofree char *rendered = NULL;
    g_assert_true(g_file_get_contents(path, &rendered, NULL, NULL));
    g_assert_nonnull(strstr(rendered, "vmbalance_domains 2\n"));
    vmb_metrics_file_update("", s);
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Only a regular file is replaced: a rename over a device, a FIFO or a symbolic link would
 * leave a regular file in its place (as root over /dev/null, a broken host). */
static void
test_file_not_regular(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmb-metrics-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
    g_autofree char *link = g_build_filename(dir, "link", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_assert_cmpint(symlink("fifo", link), ==, 0);
    const char *paths[] = {fifo, link, dir};
    for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_assert_false(vmb_metrics_file_write(paths[i], "a 1\n", 4, &error));
        g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
        g_assert_nonnull(strstr(error->message, "not a regular file"));
        g_clear_error(&error);
    }
    GStatBuf st;
    g_assert_cmpint(g_lstat(fifo, &st), ==, 0);
    g_assert_true(S_ISFIFO(st.st_mode));
    g_assert_cmpint(g_lstat(link, &st), ==, 0);
    g_assert_true(S_ISLNK(st.st_mode));
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint files = 0;
    while (g_dir_read_name(d))
        files++;
    g_assert_cmpuint(files, ==, 2); /* no temporary left */
    g_assert_cmpint(g_unlink(link), ==, 0);
    g_assert_cmpint(g_unlink(fifo), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A reader never sees part of a file: it reads one whole version or the other while the
 * writer replaces it 300 times. */
typedef struct {
    const char *path, *a, *b;
    gint stop;
    guint reads, torn;
} Reader;

static gpointer
read_loop(gpointer data)
{
    Reader *r = data;
    while (!g_atomic_int_get(&r->stop)) {
        g_autofree char *text = NULL;
        if (!g_file_get_contents(r->path, &text, NULL, NULL))
            continue;
        r->reads++;
        r->torn += !g_str_equal(text, r->a) && !g_str_equal(text, r->b);
    }
    return NULL;
}

static void
test_file_atomic(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmb-metrics-XXXXXX", &error);
    g_autofree char *path = g_build_filename(dir, "vmbalance.prom", NULL);
    /* Larger than a page and a pipe buffer, so that a torn read would show. */
    g_autofree char *a = g_strnfill(256 * 1024, 'a');
    g_autofree char *b = g_strnfill(200 * 1024, 'b');
    g_assert_true(vmb_metrics_file_write(path, a, strlen(a), &error));
    Reader r = {path, a, b, 0, 0, 0};
    GThread *t = g_thread_new("reader", read_loop, &r);
    for (guint i = 0; i < 300; i++) {
        const char *text = i % 2 ? a : b;
        g_assert_true(vmb_metrics_file_write(path, text, strlen(text), &error));
    }
    g_atomic_int_set(&r.stop, 1);
    g_thread_join(t);
    g_test_message("%u reads, %u torn", r.reads, r.torn);
    g_assert_cmpuint(r.reads, >, 0);
    g_assert_cmpuint(r.torn, ==, 0);
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/metrics/names", test_names);
    g_test_add_func("/metrics/values", test_values);
    g_test_add_func("/metrics/no-snapshot", test_no_snapshot);
    g_test_add_func("/metrics/escaping", test_escaping);
    g_test_add_func("/metrics/counters-monotonic", test_counters_monotonic);
    g_test_add_func("/metrics/domain-vanishes", test_domain_vanishes);
    g_test_add_func("/metrics/file", test_file);
    g_test_add_func("/metrics/file-atomic", test_file_atomic);
    g_test_add_func("/metrics/file-not-regular", test_file_not_regular);
    return g_test_run();
}
