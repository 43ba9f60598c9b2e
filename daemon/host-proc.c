/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host /proc readers (see host-proc.h). The parsers walk the text line by line within its
 * length and never index past a line's newline, so no input can make them read out of bounds. */
#include "host-proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(vmb - host - proc - error - quark, vmb_host_proc_error)

/* How much of a bad token an error message quotes. */
#define TOKEN_QUOTE_MAX 40

/* Where store_cpu_busy() puts a CPU's times (bound_ns may be NULL). */
typedef struct {
    guint64 *busy_ns, *bound_ns;
} VmbHostCpuTimes;

/* The /proc/stat CPU fields used: user nice system idle iowait irq softirq steal. */
#define CPU_FIELDS 8

/* ---- reading ---- */

static gboolean
read_all(int fd, const char *path, gsize max_bytes, GString *out, GError **error)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ, "cannot read %s: %s",
                        path, g_strerror(saved));
            return FALSE;
        }
        if (n == 0)
            return TRUE;
        if ((gsize) n > max_bytes - out->len) {
            g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ,
                        "%s is larger than %" G_GSIZE_FORMAT " bytes", path, max_bytes);
            return FALSE;
        }
        g_string_append_len(out, buf, n);
    }
}

char *
vmb_host_proc_read_file(const char *path, gsize max_bytes, gsize *length, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ, "cannot open %s: %s",
                    path, g_strerror(saved));
        return NULL;
    }
    g_autoptr(GString) text = g_string_sized_new(4096);
    gboolean ok = read_all(fd, path, max_bytes, text, error);
    close(fd);
    if (!ok)
        return NULL;
    if (length)
        *length = text->len;
    return g_string_free(g_steal_pointer(&text), FALSE);
}

gboolean
vmb_host_proc_tick_ns(guint64 *tick_ns, GError **error)
{
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || hz > 1000000000) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_READ,
                    "no usable clock tick rate (sysconf(_SC_CLK_TCK) = %ld)", hz);
        return FALSE;
    }
    *tick_ns = G_GUINT64_CONSTANT(1000000000) / (guint64) hz;
    return TRUE;
}

/* ---- lines and tokens ---- */

typedef struct {
    const char *origin;   /* for messages */
    const char *next;     /* start of the next line */
    const char *text_end; /* one past the last byte */
    guint number;         /* of the current line, from 1 */
    const char *pos;      /* tokenizer position in the current line */
    const char *end;      /* the current line's '\n' */
} Lines;

static Lines
lines_init(const char *origin, const char *text, gsize length)
{
    return (Lines){.origin = origin, .next = text, .text_end = text + length};
}

/* Moves to the next line: FALSE at the end. check_text() made sure every line has a '\n'. */
static gboolean
lines_next(Lines *it)
{
    if (it->next >= it->text_end)
        return FALSE;
    it->pos = it->next;
    it->end = memchr(it->pos, '\n', (gsize) (it->text_end - it->pos));
    it->next = it->end + 1;
    it->number++;
    return TRUE;
}

static gboolean
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next blank-separated token of the current line: FALSE at the line's end. */
static gboolean
next_token(Lines *it, const char **token, gsize *len)
{
    while (it->pos < it->end && is_blank(*it->pos))
        it->pos++;
    if (it->pos == it->end)
        return FALSE;
    *token = it->pos;
    while (it->pos < it->end && !is_blank(*it->pos))
        it->pos++;
    *len = (gsize) (it->pos - *token);
    return TRUE;
}

/* A token for a message: escaped, and cut when long. */
static char *
quote_token(const char *token, gsize len)
{
    g_autofree char *raw = g_strndup(token, MIN(len, TOKEN_QUOTE_MAX));
    g_autofree char *escaped = g_strescape(raw, NULL);
    return g_strdup_printf("\"%s%s\"", escaped, len > TOKEN_QUOTE_MAX ? "..." : "");
}

/* Digits only: strtoull would accept a sign (and negate "-1") and saturate on overflow. */
static gboolean
parse_u64(const char *s, gsize len, guint64 *value)
{
    if (len == 0)
        return FALSE;
    guint64 v = 0;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        guint digit = (guint) (s[i] - '0');
        if (v > (G_MAXUINT64 - digit) / 10)
            return FALSE;
        v = v * 10 + digit;
    }
    *value = v;
    return TRUE;
}

static void line_error(GError **error, const Lines *it, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* A MALFORMED error at the current line, "<origin>:<line>: <what>". */
static void
line_error(GError **error, const Lines *it, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED, "%s:%u: %s", it->origin,
                it->number, what);
}

/* The text as a whole: not empty, no NUL byte (it would hide the rest from anyone printing it)
 * and a final newline (the kernel ends every line: without one the copy is truncated). */
static gboolean
check_text(const char *origin, const char *text, gsize length, GError **error)
{
    if (length == 0) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED, "%s is empty",
                    origin);
        return FALSE;
    }
    const char *nul = memchr(text, '\0', length);
    if (nul) {
        guint line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                    "%s:%u: NUL byte (not a text file?)", origin, line);
        return FALSE;
    }
    if (text[length - 1] != '\n') {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                    "%s: the last line has no newline (truncated?)", origin);
        return FALSE;
    }
    return TRUE;
}

/* ---- /proc/stat ---- */

static gboolean
line_starts_with(const Lines *it, const char *prefix)
{
    gsize n = strlen(prefix);
    return (gsize) (it->end - it->pos) >= n && memcmp(it->pos, prefix, n) == 0;
}

/* "cpuN ...", not the "cpu ..." total of all CPUs. */
static gboolean
is_per_cpu_line(const Lines *it)
{
    return line_starts_with(it, "cpu") && it->end - it->pos > 3 && g_ascii_isdigit(it->pos[3]);
}

/* The fields of a per-CPU line, the cursor after "cpuN": user nice system idle iowait irq
 * softirq steal guest guest_nice (kernels add fields at the end). Checks them all, keeps the
 * first CPU_FIELDS. */
static gboolean
parse_cpu_fields(Lines *it, guint64 cpu, guint64 fields[CPU_FIELDS], GError **error)
{
    const char *token;
    gsize len;
    guint n = 0;
    memset(fields, 0, CPU_FIELDS * sizeof fields[0]);
    while (next_token(it, &token, &len)) {
        guint64 v;
        if (!parse_u64(token, len, &v)) {
            g_autofree char *quoted = quote_token(token, len);
            line_error(error, it, "cpu%" G_GUINT64_FORMAT " field %u (%s) is not a number", cpu,
                       n + 1, quoted);
            return FALSE;
        }
        if (n < CPU_FIELDS)
            fields[n] = v;
        n++;
    }
    /* Linux 2.4 had only these four; later fields, when absent, count as 0. */
    if (n < 4) {
        line_error(error, it,
                   "cpu%" G_GUINT64_FORMAT " has %u fields, at least 4 expected "
                   "(user nice system idle)",
                   cpu, n);
        return FALSE;
    }
    return TRUE;
}

/* A "cpuN ..." line: N and its busy ticks, every counter but idle and iowait (guest time is
 * already inside user). */
static gboolean
parse_cpu_line(Lines *it, guint64 *cpu, guint64 ticks[2], GError **error)
{
    const char *token = "";
    gsize len = 0;
    /* is_per_cpu_line() saw "cpu" and a digit; checked again, as a release build cannot prove it */
    if (!next_token(it, &token, &len) || len < 4 || !parse_u64(token + 3, len - 3, cpu)) {
        g_autofree char *quoted = quote_token(token, len);
        line_error(error, it, "%s is not \"cpu\" and a CPU number", quoted);
        return FALSE;
    }
    guint64 f[CPU_FIELDS];
    if (!parse_cpu_fields(it, *cpu, f, error))
        return FALSE;
    static const guint busy[] = {0, 1, 2, 5, 6, 7}; /* user nice system irq softirq steal */
    guint64 sum = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(busy); i++) {
        if (!g_uint64_checked_add(&sum, sum, f[busy[i]])) {
            line_error(error, it, "cpu%" G_GUINT64_FORMAT " busy ticks overflow", *cpu);
            return FALSE;
        }
    }
    ticks[0] = sum;
    ticks[1] = f[5] + f[6] + f[7]; /* irq softirq steal: parts of sum, no overflow */
    return TRUE;
}

/* Stores one CPU's busy (and, where wanted, bound) time; CPUs beyond @npcpus (not
 * counted by the caller) are skipped. Those are parts of busy time: they cannot overflow. */
static gboolean
store_cpu_busy(const Lines *it, guint64 cpu, const guint64 ticks[2], guint64 tick_ns, guint npcpus,
               VmbHostCpuTimes *out, guint8 *seen, GError **error)
{
    if (cpu >= npcpus)
        return TRUE;
    if (seen[cpu]) {
        line_error(error, it, "cpu%" G_GUINT64_FORMAT " is listed twice", cpu);
        return FALSE;
    }
    seen[cpu] = 1;
    if (!g_uint64_checked_mul(&out->busy_ns[cpu], ticks[0], tick_ns)) {
        line_error(error, it, "cpu%" G_GUINT64_FORMAT " busy time overflows in nanoseconds", cpu);
        return FALSE;
    }
    if (out->bound_ns)
        out->bound_ns[cpu] = ticks[1] * tick_ns;
    return TRUE;
}

guint64 *
vmb_host_proc_parse_stat(const char *origin, const char *text, gsize length, guint npcpus,
                         guint64 tick_ns, guint64 *bound_ns, GError **error)
{
    g_return_val_if_fail(origin && text && npcpus > 0 && tick_ns > 0, NULL);
    if (!check_text(origin, text, length, error))
        return NULL;
    g_autofree guint64 *busy = g_new0(guint64, npcpus);
    VmbHostCpuTimes out = {busy, bound_ns};
    g_autofree guint8 *seen = g_new0(guint8, npcpus);
    Lines it = lines_init(origin, text, length);
    guint ncpu_lines = 0;
    gboolean last_is_cpu = FALSE;
    while (lines_next(&it)) {
        last_is_cpu = line_starts_with(&it, "cpu");
        if (!is_per_cpu_line(&it))
            continue;
        guint64 cpu, ticks[2];
        if (!parse_cpu_line(&it, &cpu, ticks, error) ||
            !store_cpu_busy(&it, cpu, ticks, tick_ns, npcpus, &out, seen, error))
            return NULL;
        ncpu_lines++;
    }
    if (ncpu_lines == 0) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                    "%s has no per-CPU (cpuN) line", origin);
        return NULL;
    }
    /* The kernel follows the CPU lines with intr, ctxt, btime...: a copy cut after a CPU line
     * could be missing CPUs. */
    if (last_is_cpu) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                    "%s ends with a cpu line (truncated?)", origin);
        return NULL;
    }
    return g_steal_pointer(&busy);
}

guint64 *
vmb_host_proc_read_stat(const char *path, guint npcpus, guint64 tick_ns, guint64 *bound_ns,
                        GError **error)
{
    gsize length = 0;
    g_autofree char *text =
        vmb_host_proc_read_file(path, VMB_HOST_PROC_STAT_MAX_BYTES, &length, error);
    if (!text)
        return NULL;
    return vmb_host_proc_parse_stat(path, text, length, npcpus, tick_ns, bound_ns, error);
}

/* ---- /proc/meminfo ---- */

typedef struct {
    const char *key;
    guint64 kib;
    guint line; /* where it was seen, 0 when not yet */
} MemField;

/* The most kB a value may hold: its size in bytes must fit 64 bits (the coordinator computes
 * in bytes too), 16 EiB, far above any host. */
#define MEMINFO_MAX_KIB (G_MAXUINT64 / 1024)

/* A "Key:   value kB" value, the cursor after the colon. */
static gboolean
parse_kib_value(Lines *it, const char *key, guint64 *kib, GError **error)
{
    const char *token;
    gsize len;
    if (!next_token(it, &token, &len)) {
        line_error(error, it, "%s has no value", key);
        return FALSE;
    }
    if (!parse_u64(token, len, kib)) {
        g_autofree char *quoted = quote_token(token, len);
        line_error(error, it, "%s value %s is not a number", key, quoted);
        return FALSE;
    }
    if (*kib > MEMINFO_MAX_KIB) {
        line_error(error, it,
                   "%s value %" G_GUINT64_FORMAT " kB is out of range (0..%" G_GUINT64_FORMAT ")",
                   key, *kib, (guint64) MEMINFO_MAX_KIB);
        return FALSE;
    }
    if (!next_token(it, &token, &len) || len != 2 || memcmp(token, "kB", 2) != 0) {
        line_error(error, it, "%s value is not followed by \"kB\"", key);
        return FALSE;
    }
    if (next_token(it, &token, &len)) {
        g_autofree char *quoted = quote_token(token, len);
        line_error(error, it, "%s has %s after its unit", key, quoted);
        return FALSE;
    }
    return TRUE;
}

/* Reads the current line into the field it names, if one of @fields. */
static gboolean
parse_meminfo_line(Lines *it, MemField *fields, gsize nfields, GError **error)
{
    const char *colon = memchr(it->pos, ':', (gsize) (it->end - it->pos));
    if (!colon) {
        line_error(error, it, "not a \"Key: value\" line");
        return FALSE;
    }
    gsize key_len = (gsize) (colon - it->pos);
    for (gsize i = 0; i < nfields; i++) {
        MemField *f = &fields[i];
        if (strlen(f->key) != key_len || memcmp(f->key, it->pos, key_len) != 0)
            continue;
        if (f->line) {
            line_error(error, it, "%s is listed twice (first on line %u)", f->key, f->line);
            return FALSE;
        }
        it->pos = colon + 1;
        if (!parse_kib_value(it, f->key, &f->kib, error))
            return FALSE;
        f->line = it->number;
        return TRUE;
    }
    return TRUE;
}

gboolean
vmb_host_proc_parse_meminfo(const char *origin, const char *text, gsize length,
                            VmbHostMemInfo *info, GError **error)
{
    g_return_val_if_fail(origin && text && info, FALSE);
    if (!check_text(origin, text, length, error))
        return FALSE;
    MemField fields[] = {{"MemTotal", 0, 0}, {"MemAvailable", 0, 0}};
    Lines it = lines_init(origin, text, length);
    while (lines_next(&it)) {
        if (!parse_meminfo_line(&it, fields, G_N_ELEMENTS(fields), error))
            return FALSE;
    }
    if (!fields[0].line) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MISSING,
                    "%s has no MemTotal line", origin);
        return FALSE;
    }
    if (!fields[1].line) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MISSING,
                    "%s has no MemAvailable line (a kernel older than 3.14?)", origin);
        return FALSE;
    }
    if (fields[0].kib == 0) {
        g_set_error(error, VMB_HOST_PROC_ERROR, VMB_HOST_PROC_ERROR_MALFORMED,
                    "%s:%u: MemTotal is 0 kB", origin, fields[0].line);
        return FALSE;
    }
    info->total_kib = fields[0].kib;
    info->available_kib = fields[1].kib;
    return TRUE;
}

gboolean
vmb_host_proc_read_meminfo(const char *path, VmbHostMemInfo *info, GError **error)
{
    gsize length = 0;
    g_autofree char *text =
        vmb_host_proc_read_file(path, VMB_HOST_PROC_MEMINFO_MAX_BYTES, &length, error);
    if (!text)
        return FALSE;
    return vmb_host_proc_parse_meminfo(path, text, length, info, error);
}
