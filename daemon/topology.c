/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "topology.h"

#include <string.h>

typedef struct {
    gboolean seen, online;
    gint socket, die, core_id, node;
    gint cache; /* group number from the builder, -1 none */
} RawCpu;

struct _VmbTopologyBuilder {
    GArray *cpus;     /* RawCpu, indexed by CPU number */
    GArray *nodes;    /* gint node numbers, in the order seen */
    GHashTable *kib;  /* node -> guint64* */
    GHashTable *dist; /* (from << 16 | to) -> value */
    guint ncache_groups;
};

VmbTopologyBuilder *
vmb_topology_builder_new(void)
{
    VmbTopologyBuilder *b = g_new0(VmbTopologyBuilder, 1);
    b->cpus = g_array_new(FALSE, TRUE, sizeof(RawCpu));
    b->nodes = g_array_new(FALSE, FALSE, sizeof(gint));
    b->kib = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    b->dist = g_hash_table_new(g_direct_hash, g_direct_equal);
    return b;
}

void
vmb_topology_builder_free(VmbTopologyBuilder *b)
{
    if (!b)
        return;
    g_array_unref(b->cpus);
    g_array_unref(b->nodes);
    g_hash_table_unref(b->kib);
    g_hash_table_unref(b->dist);
    g_free(b);
}

static void
note_node(VmbTopologyBuilder *b, gint node)
{
    for (guint k = 0; k < b->nodes->len; k++) {
        if (g_array_index(b->nodes, gint, k) == node)
            return;
    }
    g_array_append_val(b->nodes, node);
}

static RawCpu *
raw_cpu(VmbTopologyBuilder *b, guint cpu)
{
    if (cpu >= VMB_MAX_CPUS)
        return NULL;
    if (cpu >= b->cpus->len)
        g_array_set_size(b->cpus, cpu + 1);
    RawCpu *r = &g_array_index(b->cpus, RawCpu, cpu);
    return r->seen ? NULL : r;
}

gboolean
vmb_topology_builder_cpu(VmbTopologyBuilder *b, guint cpu, gint socket, gint die, gint core_id,
                         gint node)
{
    RawCpu *r = raw_cpu(b, cpu);
    if (!r || node < 0)
        return FALSE;
    *r = (RawCpu){TRUE, TRUE, socket, die, core_id, node, -1};
    note_node(b, node);
    return TRUE;
}

gboolean
vmb_topology_builder_offline(VmbTopologyBuilder *b, guint cpu, gint node)
{
    RawCpu *r = raw_cpu(b, cpu);
    if (!r || node < 0)
        return FALSE;
    *r = (RawCpu){TRUE, FALSE, -1, -1, -1, node, -1};
    note_node(b, node);
    return TRUE;
}

void
vmb_topology_builder_node(VmbTopologyBuilder *b, gint node, guint64 kib)
{
    note_node(b, node);
    g_hash_table_insert(b->kib, GINT_TO_POINTER(node), g_memdup2(&kib, sizeof(kib)));
}

void
vmb_topology_builder_distance(VmbTopologyBuilder *b, gint from, gint to, guint value)
{
    if (from < 0 || to < 0 || from > 0xffff || to > 0xffff)
        return;
    g_hash_table_insert(b->dist, GINT_TO_POINTER(from << 16 | to), GUINT_TO_POINTER(value));
}

void
vmb_topology_builder_cache(VmbTopologyBuilder *b, const VmbCpuSet *cpus)
{
    guint group = ++b->ncache_groups;
    for (guint c = 0; c < b->cpus->len; c++) {
        if (vmb_cpuset_has(cpus, c))
            g_array_index(b->cpus, RawCpu, c).cache = (gint) group;
    }
}

static gint
cmp_int(gconstpointer a, gconstpointer b)
{
    gint x = *(const gint *) a, y = *(const gint *) b;
    return x < y ? -1 : x > y;
}

/* Dense numbers for keys, in order of first appearance. */
static guint
dense(GHashTable *map, gint64 key)
{
    gpointer v;
    gint64 *k = g_new(gint64, 1);
    *k = key;
    if (g_hash_table_lookup_extended(map, k, NULL, &v)) {
        g_free(k);
        return GPOINTER_TO_UINT(v);
    }
    guint n = g_hash_table_size(map);
    g_hash_table_insert(map, k, GUINT_TO_POINTER(n));
    return n;
}

/* The core CSR from cpu[].core. */
static void
index_cores(VmbTopology *t)
{
    t->core_first = g_new0(guint, t->ncores + 1);
    t->core_cpus = g_new0(guint, t->npcpus + 1);
    for (guint c = 0; c < t->npcpus; c++)
        t->core_first[t->cpu[c].core + 1]++;
    for (guint k = 0; k < t->ncores; k++) {
        t->core_first[k + 1] += t->core_first[k];
        t->max_threads = MAX(t->max_threads, t->core_first[k + 1] - t->core_first[k]);
    }
    g_autofree guint *fill = g_memdup2(t->core_first, sizeof(guint) * (t->ncores + 1));
    for (guint c = 0; c < t->npcpus; c++)
        t->core_cpus[fill[t->cpu[c].core]++] = c;
}

VmbTopology *
vmb_topology_builder_end(VmbTopologyBuilder *b, guint npcpus, GError **error)
{
    guint seen = 0;
    for (guint c = 0; c < b->cpus->len; c++)
        seen += g_array_index(b->cpus, RawCpu, c).seen;
    if (seen == 0) {
        g_set_error(error, VMB_CPUSET_ERROR, VMB_CPUSET_ERROR_INVALID, "no CPU in the topology");
        return NULL;
    }
    if (npcpus < b->cpus->len) {
        g_set_error(error, VMB_CPUSET_ERROR, VMB_CPUSET_ERROR_INVALID,
                    "the topology names CPU %u but the host has %u CPUs", b->cpus->len - 1, npcpus);
        return NULL;
    }
    VmbTopology *t = g_new0(VmbTopology, 1);
    t->ref = 1;
    t->known = TRUE;
    t->npcpus = npcpus;
    t->cpu = g_new0(VmbPcpuTopo, npcpus);
    g_array_sort(b->nodes, cmp_int);
    t->nnodes = b->nodes->len;
    t->node_id = g_memdup2(b->nodes->data, sizeof(gint) * t->nnodes);
    t->node_kib = g_new0(guint64, t->nnodes);
    t->distance = g_new0(guint, t->nnodes * t->nnodes);
    for (guint i = 0; i < t->nnodes; i++) {
        guint64 *kib = g_hash_table_lookup(b->kib, GINT_TO_POINTER(t->node_id[i]));
        t->node_kib[i] = kib ? *kib : 0;
        for (guint j = 0; j < t->nnodes; j++)
            t->distance[i * t->nnodes + j] = GPOINTER_TO_UINT(
                g_hash_table_lookup(b->dist, GINT_TO_POINTER(t->node_id[i] << 16 | t->node_id[j])));
    }
    g_autoptr(GHashTable) cores = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GHashTable) caches = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GHashTable) sockets =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    for (guint c = 0; c < npcpus; c++) {
        RawCpu r = c < b->cpus->len ? g_array_index(b->cpus, RawCpu, c) : (RawCpu){0};
        VmbPcpuTopo *p = &t->cpu[c];
        p->online = r.seen && r.online;
        p->socket = r.seen ? r.socket : -1;
        p->die = r.seen ? r.die : -1;
        p->core_id = r.seen ? r.core_id : -1;
        guint node = 0;
        for (guint i = 0; r.seen && i < t->nnodes; i++) {
            if (t->node_id[i] == r.node)
                node = i;
        }
        p->node = node;
        /* A core is (socket, die, core_id); a CPU without them (offline, or a host that
         * does not say) is a core of its own. */
        gboolean placed = p->online && r.socket >= 0 && r.core_id >= 0;
        gint64 key = placed ? ((gint64) r.socket << 40 | (gint64) MAX(r.die, 0) << 24 | r.core_id)
                            : -1 - (gint64) c;
        p->core = dense(cores, key);
        if (placed)
            dense(sockets, r.socket);
        /* No cache groups known: one per node. */
        p->cache = dense(caches, r.cache >= 0 ? r.cache : -1 - (gint64) node);
    }
    t->ncores = g_hash_table_size(cores);
    t->ncaches = g_hash_table_size(caches);
    t->nsockets = MAX(1, g_hash_table_size(sockets));
    index_cores(t);
    return t;
}

VmbTopology *
vmb_topology_new_flat(guint npcpus)
{
    VmbTopology *t = g_new0(VmbTopology, 1);
    t->ref = 1;
    t->npcpus = npcpus;
    t->cpu = g_new0(VmbPcpuTopo, MAX(npcpus, 1));
    for (guint c = 0; c < npcpus; c++)
        t->cpu[c] = (VmbPcpuTopo){-1, -1, -1, c, 0, 0, TRUE, FALSE};
    t->ncores = npcpus;
    t->nnodes = t->ncaches = t->nsockets = 1;
    t->node_id = g_new0(gint, 1);
    t->node_kib = g_new0(guint64, 1);
    t->distance = g_new0(guint, 1);
    index_cores(t);
    return t;
}

VmbTopology *
vmb_topology_new_grid(guint sockets, guint cores, guint threads, guint nodes, GError **error)
{
    guint ncores = sockets * cores;
    if (sockets == 0 || cores == 0 || threads == 0 || nodes == 0 ||
        (guint64) ncores * threads > VMB_MAX_CPUS || ncores % nodes != 0 ||
        (nodes % sockets != 0 && sockets % nodes != 0)) {
        g_set_error(error, VMB_CPUSET_ERROR, VMB_CPUSET_ERROR_INVALID,
                    "%u sockets x %u cores x %u threads on %u nodes: expected at most %u CPUs "
                    "and nodes that split the sockets evenly (or hold whole sockets)",
                    sockets, cores, threads, nodes, VMB_MAX_CPUS);
        return NULL;
    }
    g_autoptr(VmbTopologyBuilder) b = vmb_topology_builder_new();
    for (guint th = 0; th < threads; th++) {
        for (guint k = 0; k < ncores; k++) {
            guint node = k / (ncores / nodes);
            vmb_topology_builder_cpu(b, th * ncores + k, (gint) (k / cores), 0, (gint) (k % cores),
                                     (gint) node);
        }
    }
    /* ACPI SLIT convention: 10 local; 12 between nodes of one socket (sub-NUMA clustering),
     * 21 across sockets: typical two-socket figures (`numactl -H` on Xeon hosts). */
    for (guint i = 0; i < nodes; i++) {
        vmb_topology_builder_node(b, (gint) i, 0);
        for (guint j = 0; j < nodes; j++) {
            gboolean same_socket = (i * ncores / nodes) / cores == (j * ncores / nodes) / cores;
            vmb_topology_builder_distance(b, (gint) i, (gint) j,
                                          i == j        ? 10
                                          : same_socket ? 12
                                                        : 21);
        }
    }
    return vmb_topology_builder_end(b, ncores * threads, error);
}

gboolean
vmb_topology_split_caches(VmbTopology *t, guint cores, GError **error)
{
    g_autofree guint *per_node = g_new0(guint, MAX(t->nnodes, 1));
    g_autofree gint *group = g_new(gint, MAX(t->ncores, 1));
    for (guint k = 0; k < t->ncores; k++)
        group[k] = -1;
    guint ncaches = 0;
    /* Cores in dense order, each node's counted apart: a group never spans two nodes. */
    g_autofree guint *seen = g_new0(guint, MAX(t->nnodes, 1));
    g_autofree guint *open = g_new0(guint, MAX(t->nnodes, 1));
    for (guint k = 0; k < t->ncores; k++)
        per_node[t->cpu[t->core_cpus[t->core_first[k]]].node]++;
    for (guint n = 0; n < t->nnodes; n++) {
        if (cores == 0 || per_node[n] % cores != 0) {
            g_set_error(error, VMB_CPUSET_ERROR, VMB_CPUSET_ERROR_INVALID,
                        "%u cores per cache group: expected a divisor of the %u cores of node %u",
                        cores, per_node[n], n);
            return FALSE;
        }
    }
    for (guint k = 0; k < t->ncores; k++) {
        guint node = t->cpu[t->core_cpus[t->core_first[k]]].node;
        if (seen[node]++ % cores == 0)
            open[node] = ncaches++;
        group[k] = (gint) open[node];
    }
    for (guint c = 0; c < t->npcpus; c++) {
        if (t->cpu[c].online)
            t->cpu[c].cache = (guint) group[t->cpu[c].core];
    }
    t->ncaches = ncaches;
    return TRUE;
}

VmbTopology *
vmb_topology_ref(VmbTopology *t)
{
    if (t)
        g_atomic_int_inc(&t->ref);
    return t;
}

void
vmb_topology_unref(VmbTopology *t)
{
    if (!t || !g_atomic_int_dec_and_test(&t->ref))
        return;
    g_free(t->cpu);
    g_free(t->core_first);
    g_free(t->core_cpus);
    g_free(t->node_id);
    g_free(t->node_kib);
    g_free(t->distance);
    g_free(t);
}

void
vmb_topology_isolate(VmbTopology *t, const VmbCpuSet *set)
{
    for (guint c = 0; c < t->npcpus; c++) {
        if (vmb_cpuset_has(set, c))
            t->cpu[c].isolated = TRUE;
    }
}

const guint *
vmb_topology_core_cpus(const VmbTopology *t, guint pcpu, guint *n)
{
    guint core = t->cpu[pcpu].core;
    *n = t->core_first[core + 1] - t->core_first[core];
    return &t->core_cpus[t->core_first[core]];
}

guint
vmb_topology_allowed(const VmbTopology *t, gboolean all, const VmbCpuSet *set, gboolean *allowed)
{
    guint n = 0;
    for (guint c = 0; c < t->npcpus; c++) {
        const VmbPcpuTopo *p = &t->cpu[c];
        allowed[c] = p->online && (all ? !p->isolated : vmb_cpuset_has(set, c));
        n += allowed[c];
    }
    return n;
}

char *
vmb_topology_describe(const VmbTopology *t)
{
    if (!t->known)
        return g_strdup_printf("%u CPUs (topology unknown)", t->npcpus);
    guint online = 0, isolated = 0;
    for (guint c = 0; c < t->npcpus; c++) {
        online += t->cpu[c].online;
        isolated += t->cpu[c].online && t->cpu[c].isolated;
    }
    guint live_cores = 0;
    for (guint k = 0; k < t->ncores; k++)
        live_cores += t->cpu[t->core_cpus[t->core_first[k]]].online;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%u socket%s x %u cores x %u thread%s, %u node%s", t->nsockets,
                           t->nsockets == 1 ? "" : "s", live_cores / MAX(t->nsockets, 1),
                           t->max_threads, t->max_threads == 1 ? "" : "s", t->nnodes,
                           t->nnodes == 1 ? "" : "s");
    if (online < t->npcpus)
        g_string_append_printf(s, ", %u of %u CPUs online", online, t->npcpus);
    if (isolated)
        g_string_append_printf(s, ", %u isolated", isolated);
    return g_string_free(s, FALSE);
}
