/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host /proc readers against fixture files (tests/data/proc): real layouts give the numbers
 * the daemon used to compute, and every malformed or truncated file gives a clear error (file,
 * line, what) and no crash. */
#include <string.h>
#include <unistd.h>

#include "host-proc.h"

/* USER_HZ 100, as on every Linux architecture but alpha and ia64. */
#define TICK_NS G_GUINT64_CONSTANT(10000000)

static char *
fixture(const char *name)
{
    return g_build_filename(VMB_SRCDIR, "tests", "data", "proc", name, NULL);
}

static char *
load_fixture(const char *name, gsize *length)
{
    g_autofree char *path = fixture(name);
    g_autoptr(GError) error = NULL;
    char *text = vmb_host_proc_read_file(path, 1024 * 1024, length, &error);
    g_assert_no_error(error);
    return text;
}

static guint64 *
read_stat_ok(const char *name, guint npcpus)
{
    g_autofree char *path = fixture(name);
    g_autoptr(GError) error = NULL;
    guint64 *busy = vmb_host_proc_read_stat(path, npcpus, TICK_NS, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(busy);
    return busy;
}

/* ---- /proc/stat ---- */

static void
test_stat_2cpu(void)
{
    g_autofree guint64 *busy = read_stat_ok("stat-2cpu", 2);
    /* user nice system irq softirq steal; not idle, iowait, or guest (inside user already). */
    g_assert_cmpuint(busy[0], ==, (33446 + 5279 + 7007 + 12 + 59 + 3142) * TICK_NS);
    g_assert_cmpuint(busy[1], ==, (31658 + 5123 + 6907 + 8 + 193 + 3760) * TICK_NS);
}

/* The time bound to each CPU (irq, softirq, steal) comes back on its own. */
static void
test_stat_bound(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path =
        g_build_filename(VMB_SRCDIR, "tests", "data", "proc", "stat-2cpu", NULL);
    guint64 bound[3] = {1, 1, 1};
    g_autofree guint64 *busy = vmb_host_proc_read_stat(path, 3, TICK_NS, bound, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(bound[0], ==, (12 + 59 + 3142) * TICK_NS); /* irq softirq steal */
    g_assert_cmpuint(bound[1], ==, (8 + 193 + 3760) * TICK_NS);
    g_assert_cmpuint(bound[2], ==, 1); /* no line for cpu2: left as it was */
    g_assert_cmpuint(busy[2], ==, 0);
}

/* The formula of tests/data/proc/make-stat-256cpu.sh. */
static guint64
expected_256(guint64 c)
{
    guint64 user = 100000 + 37 * c, nice = c % 7, sys = 20000 + 11 * c, irq = c % 3;
    guint64 softirq = 50 + c, steal = c % 17;
    return (user + nice + sys + irq + softirq + steal) * TICK_NS;
}

static void
test_stat_256cpu(void)
{
    g_autofree guint64 *busy = read_stat_ok("stat-256cpu", 256);
    for (guint c = 0; c < 256; c++)
        g_assert_cmpuint(busy[c], ==, expected_256(c));
}

/* libvirt counts fewer CPUs than the file lists (hot-added since), or more (offline). */
static void
test_stat_other_cpu_counts(void)
{
    g_autofree guint64 *fewer = read_stat_ok("stat-256cpu", 4);
    for (guint c = 0; c < 4; c++)
        g_assert_cmpuint(fewer[c], ==, expected_256(c));
    g_autofree guint64 *more = read_stat_ok("stat-2cpu", 4);
    g_assert_cmpuint(more[1], ==, (31658 + 5123 + 6907 + 8 + 193 + 3760) * TICK_NS);
    g_assert_cmpuint(more[2], ==, 0);
    g_assert_cmpuint(more[3], ==, 0);
}

/* The kernel lists online CPUs only: an offline one has no line and counts 0. */
static void
test_stat_offline_cpu(void)
{
    g_autofree guint64 *busy = read_stat_ok("stat-offline-cpu", 4);
    g_assert_cmpuint(busy[0], ==, (33446 + 5279 + 7007 + 12 + 59 + 3142) * TICK_NS);
    g_assert_cmpuint(busy[1], ==, 0);
    g_assert_cmpuint(busy[2], ==, (31658 + 5123 + 6907 + 8 + 193 + 3760) * TICK_NS);
    g_assert_cmpuint(busy[3], ==, 2000 * TICK_NS);
}

/* Seven fields (2.6.0) and four (2.4): the missing counters are 0. */
static void
test_stat_old_kernel(void)
{
    g_autofree guint64 *busy = read_stat_ok("stat-old-kernel", 3);
    g_assert_cmpuint(busy[0], ==, (2000 + 10 + 600 + 3 + 2) * TICK_NS);
    g_assert_cmpuint(busy[1], ==, (1000 + 10 + 400 + 2 + 3) * TICK_NS);
    g_assert_cmpuint(busy[2], ==, (700 + 1 + 300) * TICK_NS);
}

typedef struct {
    const char *file;
    gint code;           /* a VmbHostProcError */
    const char *message; /* expected after the fixture's path */
} BadCase;

static const BadCase bad_stat[] = {
    {"stat-empty", VMB_HOST_PROC_ERROR_MALFORMED, " is empty"},
    {"stat-truncated", VMB_HOST_PROC_ERROR_MALFORMED,
     ": the last line has no newline (truncated?)"},
    {"stat-truncated-after-cpu", VMB_HOST_PROC_ERROR_MALFORMED,
     " ends with a cpu line (truncated?)"},
    {"stat-negative", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: cpu1 field 3 (\"-6907\") is not a number"},
    {"stat-overflow", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: cpu1 field 8 (\"18446744073709551616\") is not a number"},
    {"stat-sum-overflow", VMB_HOST_PROC_ERROR_MALFORMED, ":3: cpu1 busy ticks overflow"},
    {"stat-not-a-number", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: cpu1 field 3 (\"69x7\") is not a number"},
    {"stat-short-line", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: cpu1 has 3 fields, at least 4 expected (user nice system idle)"},
    {"stat-bad-cpu-number", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: \"cpu1x\" is not \"cpu\" and a CPU number"},
    {"stat-duplicate-cpu", VMB_HOST_PROC_ERROR_MALFORMED, ":3: cpu0 is listed twice"},
    {"stat-no-cpu-lines", VMB_HOST_PROC_ERROR_MALFORMED, " has no per-CPU (cpuN) line"},
};

static void
test_stat_bad(gconstpointer data)
{
    const BadCase *bc = data;
    g_autofree char *path = fixture(bc->file);
    g_autofree char *expected = g_strconcat(path, bc->message, NULL);
    g_autoptr(GError) error = NULL;
    g_autofree guint64 *busy = vmb_host_proc_read_stat(path, 2, TICK_NS, NULL, &error);
    g_assert_null(busy);
    g_assert_error(error, VMB_HOST_PROC_ERROR, bc->code);
    g_assert_cmpstr(error->message, ==, expected);
}

static void
test_stat_nul_byte(void)
{
    static const char text[] = "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 0\0 1\nctxt 5\n";
    g_autoptr(GError) error = NULL;
    g_autofree guint64 *busy =
        vmb_host_proc_parse_stat("stat", text, sizeof text - 1, 1, TICK_NS, NULL, &error);
    g_assert_null(busy);
    g_assert_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED);
    g_assert_cmpstr(error->message, ==, "stat:3: NUL byte (not a text file?)");
}

/* Ticks that fit in 64 bits but not once turned into nanoseconds. */
static void
test_stat_ns_overflow(void)
{
    static const char text[] = "cpu0 18446744073709551 0 0 0\nintr 0\n";
    g_autoptr(GError) error = NULL;
    g_autofree guint64 *ok =
        vmb_host_proc_parse_stat("stat", text, sizeof text - 1, 1, 1000, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(ok[0], ==, G_GUINT64_CONSTANT(18446744073709551000));
    g_autofree guint64 *busy =
        vmb_host_proc_parse_stat("stat", text, sizeof text - 1, 1, TICK_NS, NULL, &error);
    g_assert_null(busy);
    g_assert_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED);
    g_assert_cmpstr(error->message, ==, "stat:1: cpu0 busy time overflows in nanoseconds");
}

/* ---- /proc/meminfo ---- */

static void
test_meminfo(void)
{
    g_autofree char *path = fixture("meminfo");
    g_autoptr(GError) error = NULL;
    VmbHostMemInfo mem = {0};
    g_assert_true(vmb_host_proc_read_meminfo(path, &mem, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(mem.total_kib, ==, 24683584);
    g_assert_cmpuint(mem.available_kib, ==, 22568184);
}

static const BadCase bad_meminfo[] = {
    /* Kernels before 3.14: the caller falls back to libvirt's free + buffers + cached. */
    {"meminfo-no-memavailable", VMB_HOST_PROC_ERROR_MISSING,
     " has no MemAvailable line (a kernel older than 3.14?)"},
    {"meminfo-no-memtotal", VMB_HOST_PROC_ERROR_MISSING, " has no MemTotal line"},
    {"meminfo-empty", VMB_HOST_PROC_ERROR_MALFORMED, " is empty"},
    {"meminfo-truncated", VMB_HOST_PROC_ERROR_MALFORMED,
     ": the last line has no newline (truncated?)"},
    {"meminfo-not-a-number", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: MemAvailable value \"2257x560\" is not a number"},
    {"meminfo-negative", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: MemAvailable value \"-22576560\" is not a number"},
    {"meminfo-overflow", VMB_HOST_PROC_ERROR_MALFORMED,
     ":1: MemTotal value \"18446744073709551616\" is not a number"},
    /* a number, but no host has it: its size in bytes would not fit 64 bits (a fuzz find) */
    {"meminfo-too-large", VMB_HOST_PROC_ERROR_MALFORMED,
     ":1: MemTotal value 18446744073709551615 kB is out of range (0..18014398509481983)"},
    {"meminfo-no-unit", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: MemAvailable value is not followed by \"kB\""},
    {"meminfo-wrong-unit", VMB_HOST_PROC_ERROR_MALFORMED,
     ":3: MemAvailable value is not followed by \"kB\""},
    {"meminfo-no-value", VMB_HOST_PROC_ERROR_MALFORMED, ":3: MemAvailable has no value"},
    {"meminfo-zero-total", VMB_HOST_PROC_ERROR_MALFORMED, ":1: MemTotal is 0 kB"},
    {"meminfo-duplicate", VMB_HOST_PROC_ERROR_MALFORMED,
     ":55: MemAvailable is listed twice (first on line 3)"},
    {"meminfo-no-colon", VMB_HOST_PROC_ERROR_MALFORMED, ":4: not a \"Key: value\" line"},
};

static void
test_meminfo_bad(gconstpointer data)
{
    const BadCase *bc = data;
    g_autofree char *path = fixture(bc->file);
    g_autofree char *expected = g_strconcat(path, bc->message, NULL);
    g_autoptr(GError) error = NULL;
    VmbHostMemInfo mem = {1, 2};
    g_assert_false(vmb_host_proc_read_meminfo(path, &mem, &error));
    g_assert_error(error, VMB_HOST_PROC_ERROR, bc->code);
    g_assert_cmpstr(error->message, ==, expected);
    /* Untouched on failure. */
    g_assert_cmpuint(mem.total_kib, ==, 1);
    g_assert_cmpuint(mem.available_kib, ==, 2);
}

static void
test_meminfo_trailing_junk(void)
{
    static const char text[] = "MemTotal: 100 kB\nMemAvailable: 50 kB extra\n";
    g_autoptr(GError) error = NULL;
    VmbHostMemInfo mem;
    g_assert_false(vmb_host_proc_parse_meminfo("meminfo", text, sizeof text - 1, &mem, &error));
    g_assert_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED);
    g_assert_cmpstr(error->message, ==, "meminfo:2: MemAvailable has \"extra\" after its unit");
}

/* ---- no input crashes ---- */

/* Every prefix of a good file parses or fails with an error, never both or neither; a prefix
 * cut inside a line always fails. */
static void
check_prefixes(const char *name, gboolean is_stat)
{
    gsize length = 0;
    g_autofree char *text = load_fixture(name, &length);
    for (gsize cut = 0; cut <= length; cut++) {
        g_autofree char *prefix = g_strndup(text, cut); /* its own buffer, for ASan */
        g_autoptr(GError) error = NULL;
        gboolean ok;
        if (is_stat) {
            g_autofree guint64 *busy =
                vmb_host_proc_parse_stat(name, prefix, cut, 2, TICK_NS, NULL, &error);
            ok = busy != NULL;
        } else {
            VmbHostMemInfo mem;
            ok = vmb_host_proc_parse_meminfo(name, prefix, cut, &mem, &error);
        }
        g_assert_true(ok == (error == NULL));
        if (cut < length && (cut == 0 || text[cut - 1] != '\n'))
            g_assert_false(ok);
    }
}

static void
test_stat_prefixes(void)
{
    check_prefixes("stat-2cpu", TRUE);
}

static void
test_meminfo_prefixes(void)
{
    check_prefixes("meminfo", FALSE);
}

/* Random byte changes (a fixed seed, so a failure repeats): a result or an error, no crash. */
static void
check_mutations(const char *name, gboolean is_stat)
{
    gsize length = 0;
    g_autofree char *text = load_fixture(name, &length);
    static const char alphabet[] = "0123456789 \t\n:-+xkBcpu\0\377";
    g_autoptr(GRand) rand = g_rand_new_with_seed(20240611);
    for (guint round = 0; round < 2000; round++) {
        g_autofree char *copy = g_memdup2(text, length);
        for (guint k = g_rand_int_range(rand, 1, 5); k > 0; k--)
            copy[g_rand_int_range(rand, 0, (gint32) length)] =
                alphabet[g_rand_int_range(rand, 0, sizeof alphabet - 1)];
        g_autoptr(GError) error = NULL;
        gboolean ok;
        if (is_stat) {
            g_autofree guint64 *busy =
                vmb_host_proc_parse_stat(name, copy, length, 2, TICK_NS, NULL, &error);
            ok = busy != NULL;
        } else {
            VmbHostMemInfo mem;
            ok = vmb_host_proc_parse_meminfo(name, copy, length, &mem, &error);
        }
        g_assert_true(ok == (error == NULL));
        if (error)
            g_assert_true(g_str_has_prefix(error->message, name));
    }
}

static void
test_stat_mutations(void)
{
    check_mutations("stat-2cpu", TRUE);
}

static void
test_meminfo_mutations(void)
{
    check_mutations("meminfo", FALSE);
}

/* ---- reading ---- */

static void
test_read_missing(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = fixture("no-such-file");
    VmbHostMemInfo mem;
    g_assert_false(vmb_host_proc_read_meminfo(path, &mem, &error));
    g_assert_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ);
    g_autofree char *expected = g_strdup_printf("cannot open %s: ", path);
    g_assert_true(g_str_has_prefix(error->message, expected));
}

static void
test_read_directory(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = fixture(".");
    g_autofree guint64 *busy = vmb_host_proc_read_stat(path, 2, TICK_NS, NULL, &error);
    g_assert_null(busy);
    g_assert_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ);
    g_autofree char *expected = g_strdup_printf("cannot read %s: ", path);
    g_assert_true(g_str_has_prefix(error->message, expected));
}

static void
test_read_cap(void)
{
    g_autofree char *path = fixture("stat-256cpu");
    g_autoptr(GError) error = NULL;
    gsize length = 0;
    g_autofree char *all = vmb_host_proc_read_file(path, 1024 * 1024, &length, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(strlen(all), ==, length);
    g_autofree char *exact = vmb_host_proc_read_file(path, length, NULL, &error);
    g_assert_no_error(error);
    g_autofree char *over = vmb_host_proc_read_file(path, length - 1, NULL, &error);
    g_assert_null(over);
    g_assert_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ);
    g_autofree char *expected =
        g_strdup_printf("%s is larger than %" G_GSIZE_FORMAT " bytes", path, length - 1);
    g_assert_cmpstr(error->message, ==, expected);
}

/* The files of the machine running the tests parse: the checks accept a real kernel. */
static void
test_this_host(void)
{
    long ncpus = sysconf(_SC_NPROCESSORS_CONF);
    if (ncpus <= 0 || !g_file_test(VMB_HOST_PROC_STAT_PATH, G_FILE_TEST_EXISTS)) {
        g_test_skip("no /proc/stat");
        return;
    }
    g_autoptr(GError) error = NULL;
    guint64 tick_ns = 0;
    g_assert_true(vmb_host_proc_tick_ns(&tick_ns, &error));
    g_assert_cmpuint(tick_ns, >, 0);
    g_autofree guint64 *busy =
        vmb_host_proc_read_stat(VMB_HOST_PROC_STAT_PATH, (guint) ncpus, tick_ns, NULL, &error);
    g_assert_no_error(error);
    VmbHostMemInfo mem;
    if (!vmb_host_proc_read_meminfo(VMB_HOST_PROC_MEMINFO_PATH, &mem, &error) &&
        g_error_matches(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MISSING))
        return; /* an old kernel */
    g_assert_no_error(error);
    g_assert_cmpuint(mem.available_kib, <=, mem.total_kib);
}

static void
add_bad_cases(const char *prefix, const BadCase *cases, gsize n, GTestDataFunc func)
{
    for (gsize i = 0; i < n; i++) {
        g_autofree char *path = g_strconcat(prefix, cases[i].file, NULL);
        g_test_add_data_func(path, &cases[i], func);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/host-proc/stat/2cpu", test_stat_2cpu);
    g_test_add_func("/host-proc/stat/bound", test_stat_bound);
    g_test_add_func("/host-proc/stat/256cpu", test_stat_256cpu);
    g_test_add_func("/host-proc/stat/other-cpu-counts", test_stat_other_cpu_counts);
    g_test_add_func("/host-proc/stat/offline-cpu", test_stat_offline_cpu);
    g_test_add_func("/host-proc/stat/old-kernel", test_stat_old_kernel);
    add_bad_cases("/host-proc/stat/bad/", bad_stat, G_N_ELEMENTS(bad_stat), test_stat_bad);
    g_test_add_func("/host-proc/stat/nul-byte", test_stat_nul_byte);
    g_test_add_func("/host-proc/stat/ns-overflow", test_stat_ns_overflow);
    g_test_add_func("/host-proc/stat/prefixes", test_stat_prefixes);
    g_test_add_func("/host-proc/stat/mutations", test_stat_mutations);
    g_test_add_func("/host-proc/meminfo/ok", test_meminfo);
    add_bad_cases("/host-proc/meminfo/bad/", bad_meminfo, G_N_ELEMENTS(bad_meminfo),
                  test_meminfo_bad);
    g_test_add_func("/host-proc/meminfo/trailing-junk", test_meminfo_trailing_junk);
    g_test_add_func("/host-proc/meminfo/prefixes", test_meminfo_prefixes);
    g_test_add_func("/host-proc/meminfo/mutations", test_meminfo_mutations);
    g_test_add_func("/host-proc/read/missing", test_read_missing);
    g_test_add_func("/host-proc/read/directory", test_read_directory);
    g_test_add_func("/host-proc/read/cap", test_read_cap);
    g_test_add_func("/host-proc/this-host", test_this_host);
    return g_test_run();
}
