/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>

#include "hv-fake-scenario.h"
#include "textfile.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <iniparser.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define MAX_CPUS  4096
#define MAX_VCPUS 1024

static void
domain_free(VmbScenarioDomain *d)
{
    for (guint i = 0; d->load && i < d->nvcpus; i++)
        vmb_series_clear(&d->load[i]);
    g_free(d->load);
    g_free(d->pin);
    vmb_series_clear(&d->used_mib);
    g_free(d->name);
    g_free(d->uuid);
    g_free(d->metadata);
    g_free(d->definition);
    g_free(d);
}

void
vmb_scenario_free(VmbScenario *sc)
{
    if (!sc)
        return;
    for (guint i = 0; sc->background && i < sc->ncpus; i++)
        vmb_series_clear(&sc->background[i]);
    g_free(sc->background);
    vmb_series_clear(&sc->host_used_mib);
    vmb_series_clear(&sc->niced);
    if (sc->down)
        g_array_unref(sc->down);
    if (sc->domains)
        g_ptr_array_unref(sc->domains);
    vmb_topology_unref(sc->topology);
    g_free(sc);
}

typedef struct {
    dictionary *ini;
    const char *path;
    const char *section;
    GError **error;
} Ctx;

static const char *
get(Ctx *c, const char *key)
{
    g_autofree char *full = g_strdup_printf("%s:%s", c->section, key);
    return iniparser_getstring(c->ini, full, NULL);
}

static gboolean
fail(Ctx *c, const char *key, const char *value, const char *expected)
{
    /* Escaped: "64\x0e" must not show as '64'. */
    g_autofree char *section = vmb_textfile_escape(c->section);
    g_autofree char *shown = vmb_textfile_escape(value ? value : "");
    g_set_error(c->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: [%s] %s = '%s': expected %s",
                c->path, section, key, shown, expected);
    return FALSE;
}

static gboolean
get_uint(Ctx *c, const char *key, guint64 min, guint64 max, guint64 def, guint64 *out)
{
    const char *v = get(c, key);
    *out = def;
    if (!v)
        return TRUE;
    char *end = NULL;
    errno = 0;
    guint64 n = g_ascii_strtoull(v, &end, 10);
    if (!g_ascii_isdigit(*v) || errno || *end || n < min || n > max) {
        g_autofree char *what =
            g_strdup_printf("an integer in %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, min, max);
        return fail(c, key, v, what);
    }
    *out = n;
    return TRUE;
}

static gboolean
get_double(Ctx *c, const char *key, double min, double max, double def, double *out)
{
    const char *v = get(c, key);
    *out = def;
    if (!v)
        return TRUE;
    char *end = NULL;
    errno = 0;
    double d = g_ascii_strtod(v, &end);
    if (end == v || errno || *end || !isfinite(d) || d < min || d > max) {
        g_autofree char *what = g_strdup_printf("a number in %g..%g", min, max);
        return fail(c, key, v, what);
    }
    *out = d;
    return TRUE;
}

static gboolean
get_bool(Ctx *c, const char *key, gboolean def, gboolean *out)
{
    const char *v = get(c, key);
    *out = def;
    if (!v)
        return TRUE;
    if (!g_ascii_strcasecmp(v, "yes") || !g_ascii_strcasecmp(v, "true") || !strcmp(v, "1") ||
        !g_ascii_strcasecmp(v, "on"))
        *out = TRUE;
    else if (!g_ascii_strcasecmp(v, "no") || !g_ascii_strcasecmp(v, "false") || !strcmp(v, "0") ||
             !g_ascii_strcasecmp(v, "off"))
        *out = FALSE;
    else
        return fail(c, key, v, "yes or no");
    return TRUE;
}

static gboolean
get_series(Ctx *c, const char *key, double min, double max, const char *def, VmbSeries *out)
{
    const char *v = get(c, key);
    g_autoptr(GError) local = NULL;
    if (!vmb_series_parse(v ? v : def, min, max, out, &local)) {
        g_autofree char *what =
            g_strdup_printf("a value in %g..%g or time:value points in increasing time", min, max);
        return fail(c, key, v, what);
    }
    return TRUE;
}

/* Rejects keys the section does not know, so typos in scenarios are caught. */
static gboolean
check_keys(Ctx *c, const char *const *allowed, gboolean numbered_load, gboolean numbered_bg)
{
    int n = iniparser_getsecnkeys(c->ini, c->section);
    g_autofree const char **keys = g_new0(const char *, n + 1);
    iniparser_getseckeys(c->ini, c->section, keys);
    for (int i = 0; i < n; i++) {
        const char *k = strchr(keys[i], ':') + 1;
        if (g_strv_contains(allowed, k))
            continue;
        if (numbered_load && g_str_has_prefix(k, "load") && g_ascii_isdigit(k[4]))
            continue;
        if (numbered_bg && g_str_has_prefix(k, "background") && g_ascii_isdigit(k[10]))
            continue;
        g_autofree char *section = vmb_textfile_escape(c->section);
        g_autofree char *shown = vmb_textfile_escape(k);
        g_set_error(c->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: [%s]: unknown key '%s'",
                    c->path, section, shown);
        return FALSE;
    }
    return TRUE;
}

/* A stable UUID from the name, so runs are reproducible. */
static char *
uuid_from_name(const char *name)
{
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
    return g_strdup_printf("%.8s-%.4s-4%.3s-8%.3s-%.12s", sum, sum + 8, sum + 12, sum + 15,
                           sum + 18);
}

/* cpu_topology: one SOCKET/CORE/NODE per CPU in CPU order ("-" for an offline CPU); CPUs with
 * the same socket and core are threads of one core. cpus, when given, must match the count. */
static gboolean
parse_cpu_list(Ctx *c, VmbScenario *sc, const char *list)
{
    static const char *const want = "SOCKET/CORE/NODE (numbers, 0..4095) or - per CPU";
    g_auto(GStrv) parts = g_strsplit_set(list, " \t", -1);
    g_autoptr(VmbTopologyBuilder) b = vmb_topology_builder_new();
    guint n = 0;
    for (guint i = 0; parts[i]; i++) {
        if (!*parts[i])
            continue;
        if (n >= MAX_CPUS)
            return fail(c, "cpu_topology", list, want);
        if (strcmp(parts[i], "-") == 0) {
            vmb_topology_builder_offline(b, n++, 0);
            continue;
        }
        g_auto(GStrv) f = g_strsplit(parts[i], "/", -1);
        guint64 v[3];
        if (g_strv_length(f) != 3)
            return fail(c, "cpu_topology", list, want);
        for (guint k = 0; k < 3; k++) {
            char *end = NULL;
            v[k] = g_ascii_strtoull(f[k], &end, 10);
            if (!g_ascii_isdigit(f[k][0]) || *end || v[k] >= MAX_CPUS)
                return fail(c, "cpu_topology", list, want);
        }
        vmb_topology_builder_cpu(b, n++, (gint) v[0], 0, (gint) v[1], (gint) v[2]);
    }
    if (n == 0 || (get(c, "cpus") && n != sc->ncpus))
        return fail(c, "cpu_topology", list, "one entry per CPU (as many as cpus)");
    g_autoptr(GError) local = NULL;
    sc->topology = vmb_topology_builder_end(b, n, &local);
    if (!sc->topology)
        return fail(c, "cpu_topology", list, local->message);
    sc->ncpus = n;
    return TRUE;
}

/* sockets/cores/threads/nodes: a grid topology (topology.h), whose CPU count must match
 * cpus when both are given; isolated: a CPU list of this host. */
static gboolean
parse_topology(Ctx *c, VmbScenario *sc)
{
    guint64 sockets, cores, threads, nodes;
    if (!get_uint(c, "sockets", 1, 64, 1, &sockets) || !get_uint(c, "cores", 1, 1024, 0, &cores) ||
        !get_uint(c, "threads", 1, 8, 1, &threads) || !get_uint(c, "nodes", 1, 64, 1, &nodes))
        return FALSE;
    gboolean shaped = get(c, "sockets") || get(c, "cores") || get(c, "threads") || get(c, "nodes");
    const char *list = get(c, "cpu_topology");
    if (list && shaped)
        return fail(c, "cpu_topology", list, "either cpu_topology or sockets/cores/threads/nodes");
    if (list && !parse_cpu_list(c, sc, list))
        return FALSE;
    if (shaped) {
        if (!get(c, "cores"))
            return fail(c, "cores", NULL, "cores per socket with sockets, threads or nodes");
        g_autoptr(GError) local = NULL;
        sc->topology = vmb_topology_new_grid((guint) sockets, (guint) cores, (guint) threads,
                                             (guint) nodes, &local);
        if (!sc->topology)
            return fail(c, "nodes", get(c, "nodes"), local->message);
        if (get(c, "cpus") && sc->topology->npcpus != sc->ncpus) {
            g_autofree char *what =
                g_strdup_printf("%u (sockets x cores x threads)", sc->topology->npcpus);
            return fail(c, "cpus", get(c, "cpus"), what);
        }
        sc->ncpus = sc->topology->npcpus;
        guint64 cache_cores;
        if (!get_uint(c, "cache_cores", 1, 1024, 0, &cache_cores))
            return FALSE;
        if (get(c, "cache_cores") &&
            !vmb_topology_split_caches(sc->topology, (guint) cache_cores, &local))
            return fail(c, "cache_cores", get(c, "cache_cores"), local->message);
    } else if (get(c, "cache_cores")) {
        return fail(c, "cache_cores", get(c, "cache_cores"), "sockets, cores, threads or nodes");
    }
    const char *iso = get(c, "isolated");
    if (iso) {
        VmbCpuSet set;
        gboolean all = FALSE;
        g_autoptr(GError) local = NULL;
        if (!vmb_cpuset_parse(iso, &set, &all, &local) || all)
            return fail(c, "isolated", iso, "a CPU list of this host");
        for (guint k = sc->ncpus; k < VMB_MAX_CPUS; k++) {
            if (vmb_cpuset_has(&set, k))
                return fail(c, "isolated", iso, "a CPU list of this host");
        }
        if (!sc->topology)
            sc->topology = vmb_topology_new_flat(sc->ncpus);
        vmb_topology_isolate(sc->topology, &set);
    }
    return TRUE;
}

static gboolean
parse_host(Ctx *c, VmbScenario *sc)
{
    static const char *const allowed[] = {
        "cpus",         "memory_mib",  "host_used_mib", "background", "niced", "seed",
        "down",         "sockets",     "cores",         "threads",    "nodes", "isolated",
        "cpu_topology", "cache_cores", "memory_moves",  NULL};
    guint64 v;
    if (!check_keys(c, allowed, FALSE, TRUE) || !get_uint(c, "cpus", 1, MAX_CPUS, 2, &v))
        return FALSE;
    sc->ncpus = (guint) v;
    if (!parse_topology(c, sc))
        return FALSE;
    if (!get_uint(c, "memory_mib", 64, G_GUINT64_CONSTANT(1) << 32, 8192, &sc->memory_mib) ||
        !get_series(c, "host_used_mib", 0, (double) sc->memory_mib, "512", &sc->host_used_mib) ||
        !get_series(c, "niced", 0, 100.0 * sc->ncpus, "0", &sc->niced) ||
        !get_uint(c, "seed", 0, G_MAXUINT64, 1, &sc->seed) ||
        !get_bool(c, "memory_moves", TRUE, &sc->memory_moves))
        return FALSE;
    sc->background = g_new0(VmbSeries, sc->ncpus);
    const char *all = get(c, "background");
    for (guint i = 0; i < sc->ncpus; i++) {
        g_autofree char *key = g_strdup_printf("background%u", i);
        if (!get_series(c, get(c, key) ? key : "background", 0, 100, all ? all : "0",
                        &sc->background[i]))
            return FALSE;
    }
    const char *down = get(c, "down");
    if (down) {
        g_auto(GStrv) pairs = g_strsplit_set(down, " ,", -1);
        for (guint i = 0; pairs[i]; i++) {
            if (!*pairs[i])
                continue;
            double w[2];
            char *end = NULL;
            w[0] = g_ascii_strtod(pairs[i], &end);
            if (*end != ':' || (w[1] = g_ascii_strtod(end + 1, &end), *end) || w[1] <= w[0] ||
                w[0] < 0)
                return fail(c, "down", down, "START:END pairs in seconds");
            g_array_append_vals(sc->down, w, 2);
        }
    }
    return TRUE;
}

static gboolean
parse_domain(Ctx *c, VmbScenario *sc, const char *name)
{
    // clang-format off
    static const char *const allowed[] = {
        "name",        "uuid",           "vcpus",       "load",        "noise",
        "pin",         "start",          "stop",        "memory_mib",  "current_mib",
        "used_mib",    "balloon",        "autodeflate", "stale_after", "min_guarantee_mib",
        "stale_until", "balloon_driver", "page_cache",  "lazy",        "boot_mib",
        "balloon_mib_s", "swap_mib",     "swap_free_mib", "free_page_reporting",
        "vmem_mib",    "vmem_block_mib", "node",        "metadata",    "definition",
        "emulator",    NULL};
    // clang-format on
    if (!check_keys(c, allowed, TRUE, FALSE))
        return FALSE;

    VmbScenarioDomain *d = g_new0(VmbScenarioDomain, 1);
    g_ptr_array_add(sc->domains, d);
    d->name = g_strdup(get(c, "name") ? get(c, "name") : name);
    d->uuid = get(c, "uuid") ? g_ascii_strdown(get(c, "uuid"), -1) : uuid_from_name(d->name);
    if (!g_uuid_string_is_valid(d->uuid))
        return fail(c, "uuid", d->uuid, "a UUID");
    /* Kept as written: the daemon validates them when the domain appears, as with libvirt. */
    d->metadata = g_strdup(get(c, "metadata"));
    d->definition = g_strdup(get(c, "definition"));

    guint64 v;
    if (!get_uint(c, "vcpus", 1, MAX_VCPUS, 1, &v))
        return FALSE;
    d->nvcpus = (guint) v;
    d->load = g_new0(VmbSeries, d->nvcpus);
    d->pin = g_new0(gint, d->nvcpus);
    const char *all = get(c, "load");
    for (guint i = 0; i < d->nvcpus; i++) {
        g_autofree char *key = g_strdup_printf("load%u", i);
        if (!get_series(c, get(c, key) ? key : "load", 0, 100, all ? all : "0", &d->load[i]))
            return FALSE;
        d->pin[i] = -1;
    }
    const char *pin = get(c, "pin");
    if (pin) {
        g_auto(GStrv) parts = g_strsplit(pin, ",", -1);
        if (g_strv_length(parts) != d->nvcpus)
            return fail(c, "pin", pin, "one pCPU (or -1) per vCPU, comma-separated");
        for (guint i = 0; i < d->nvcpus; i++) {
            char *end = NULL;
            gint64 p = g_ascii_strtoll(g_strstrip(parts[i]), &end, 10);
            if (*end || p < -1 || p >= (gint64) sc->ncpus)
                return fail(c, "pin", pin, "pCPU numbers of this host or -1");
            d->pin[i] = (gint) p;
        }
    }
    if (!get_double(c, "noise", 0, 50, 0, &d->noise) ||
        !get_double(c, "emulator", 0, 100, 0, &d->emulator) ||
        !get_double(c, "start", 0, 1e9, 0, &d->start) ||
        !get_double(c, "stop", -1, 1e9, -1, &d->stop) ||
        !get_uint(c, "memory_mib", 32, G_GUINT64_CONSTANT(1) << 32, 1024, &d->memory_mib) ||
        !get_uint(c, "current_mib", 16, d->memory_mib, d->memory_mib, &d->current_mib) ||
        !get_series(c, "used_mib", 0, (double) d->memory_mib * 4, "64", &d->used_mib) ||
        !get_bool(c, "balloon", TRUE, &d->balloon) ||
        !get_bool(c, "autodeflate", FALSE, &d->autodeflate) ||
        !get_double(c, "stale_after", -1, 1e9, -1, &d->stale_after) ||
        !get_uint(c, "min_guarantee_mib", 0, d->memory_mib, 0, &d->min_guarantee_mib) ||
        !get_double(c, "stale_until", -1, 1e9, -1, &d->stale_until) ||
        !get_bool(c, "balloon_driver", TRUE, &d->balloon_driver) ||
        !get_double(c, "page_cache", 0, 100, 30, &d->page_cache) ||
        !get_bool(c, "lazy", FALSE, &d->lazy) ||
        !get_uint(c, "boot_mib", 16, d->memory_mib, d->current_mib, &d->boot_mib) ||
        !get_double(c, "balloon_mib_s", 1, 1e6, 1024, &d->balloon_mib_s) ||
        !get_uint(c, "swap_mib", 0, G_GUINT64_CONSTANT(1) << 32, 0, &d->swap_mib) ||
        !get_uint(c, "swap_free_mib", 0, d->memory_mib, 0, &d->swap_free_mib) ||
        !get_bool(c, "free_page_reporting", FALSE, &d->free_page_reporting) ||
        !get_uint(c, "vmem_mib", 0, d->memory_mib / 2, 0, &d->vmem_mib) ||
        !get_uint(c, "vmem_block_mib", 1, 1024, 2, &d->vmem_block_mib))
        return FALSE;
    guint64 node;
    guint nnodes = sc->topology ? sc->topology->nnodes : 1;
    if (!get_uint(c, "node", 0, nnodes - 1, 0, &node))
        return FALSE;
    d->node = get(c, "node") ? (gint) node : -1;
    if (d->stale_until >= 0 && (d->stale_after < 0 || d->stale_until <= d->stale_after))
        return fail(c, "stale_until", get(c, "stale_until"), "a time after stale_after");
    if (d->vmem_mib % d->vmem_block_mib)
        return fail(c, "vmem_mib", get(c, "vmem_mib"), "whole blocks of vmem_block_mib");
    if (d->current_mib + d->vmem_mib > d->memory_mib || d->boot_mib + d->vmem_mib > d->memory_mib)
        return fail(c, "current_mib", get(c, "current_mib"),
                    "at most memory_mib - vmem_mib (the virtio-mem device starts unplugged)");
    if (d->stop >= 0 && d->stop <= d->start)
        return fail(c, "stop", get(c, "stop"), "a time after start");
    return TRUE;
}

static VmbScenario *
parse(dictionary *ini, const char *path, GError **error)
{
    g_autoptr(VmbScenario) sc = g_new0(VmbScenario, 1);
    sc->domains = g_ptr_array_new_with_free_func((GDestroyNotify) domain_free);
    sc->down = g_array_new(FALSE, FALSE, sizeof(double));

    Ctx c = {ini, path, "host", error};
    if (!parse_host(&c, sc))
        return NULL;
    int nsec = iniparser_getnsec(ini);
    for (int i = 0; i < nsec; i++) {
        const char *sec = iniparser_getsecname(ini, i);
        if (g_strcmp0(sec, "host") == 0)
            continue;
        if (!g_str_has_prefix(sec, "domain ") || !sec[7]) {
            g_autofree char *shown = vmb_textfile_escape(sec);
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "%s: unknown section [%s] (expected [host] or [domain NAME])", path, shown);
            return NULL;
        }
        c.section = sec;
        g_autofree char *name = g_strstrip(g_strdup(sec + 7));
        if (!parse_domain(&c, sc, name))
            return NULL;
    }
    for (guint i = 0; i < sc->domains->len; i++) {
        VmbScenarioDomain *a = g_ptr_array_index(sc->domains, i);
        for (guint j = 0; j < i; j++) {
            VmbScenarioDomain *b = g_ptr_array_index(sc->domains, j);
            if (!g_strcmp0(a->name, b->name) || !g_strcmp0(a->uuid, b->uuid)) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "%s: domains '%s' and '%s' share a name or UUID", path, a->name,
                            b->name);
                return NULL;
            }
        }
    }
    return g_steal_pointer(&sc);
}

/* @text, read from @path, checked and parsed as it is (not read again). */
static VmbScenario *
load_text(const char *path, const char *text, gsize length, GError **error)
{
    g_autoptr(GError) local = NULL;
    dictionary *ini = NULL;
    if (vmb_textfile_check(path, text, length, &local))
        ini = vmb_textfile_load_ini(path, text, length, &local);
    if (!ini) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, local->message);
        return NULL;
    }
    VmbScenario *sc = parse(ini, path, error);
    iniparser_freedict(ini);
    return sc;
}

VmbScenario *
vmb_scenario_load(const char *path, GError **error)
{
    /* A regular file of bounded size: a FIFO or /dev/zero must not hang the daemon. */
    gsize length = 0;
    g_autoptr(GError) local = NULL;
    g_autofree char *text = vmb_textfile_read(path, VMB_TEXTFILE_MAX_SCENARIO, &length, &local);
    if (!text) {
        /* g_io_error_from_file_error() is GLib 2.74; 2.68 is the minimum. */
        gboolean missing = g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        g_set_error_literal(error, G_IO_ERROR,
                            missing ? G_IO_ERROR_NOT_FOUND : G_IO_ERROR_INVALID_DATA,
                            local->message);
        return NULL;
    }
    return load_text(path, text, length, error);
}

VmbScenario *
vmb_scenario_load_data(const char *data, GError **error)
{
    return load_text("(scenario text)", data, strlen(data), error);
}
