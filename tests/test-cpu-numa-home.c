/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory home (cpu-numa-home.c): which split domain's memory moves, where, and when not.
 * Tables of placements on small grids, each asked once. */
#include <string.h>

#include "cpu-policy.h"

#define MAX_ITEMS 24
#define MAX_DOMS  6

typedef struct {
    guint domain;
    double load;
    gint current;
} ItemSpec;

typedef struct {
    const char *name;
    guint sockets, cores, threads, nodes;
    gint mem_node[MAX_DOMS];   /* per domain */
    guint64 mem_mib[MAX_DOMS]; /* per domain, 0 unknown */
    gboolean barred[MAX_DOMS]; /* may_move FALSE (numatune, excluded, failing) */
    guint64 node_mib;          /* per node, 0 unknown */
    ItemSpec items[MAX_ITEMS];
    guint n_items;
    gboolean unmovable_item0; /* item 0 excluded (VmbCpuItem.movable FALSE) */
    gboolean unstable;
    double since_last_s;
    guint interval_s;
    gint domain; /* expected request: the domain, -1 none */
    gint to;     /* ... to this node */
} Case;

/* 3 nodes x 4 cores x 1 thread (node n: pCPUs 4n..4n+3). Domains 0 and 1 (3 vCPUs of 60 %
 * each) have their memory on node 0, which holds 4 cores: domain 0 runs there, domain 1 has
 * one vCPU there and two on node 1; node 1 also runs domain 2 (2 vCPUs), node 2 domain 3 (one).
 * Node 2 has the most room. */
#define SPLIT_ITEMS                                                                                \
    {                                                                                              \
        {0, 60, 0}, {0, 60, 1}, {0, 60, 2}, {1, 60, 3}, {1, 60, 4}, {1, 60, 5}, {2, 90, 6},        \
            {2, 90, 7},                                                                            \
        {                                                                                          \
            3, 90, 8                                                                               \
        }                                                                                          \
    }
#define SPLIT_N 9

// clang-format off
static const Case cases[] = {
    {"split-domain-moves-to-emptiest", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0, SPLIT_ITEMS,
     SPLIT_N, FALSE, FALSE, G_MAXDOUBLE, 600, 1, 2},
    /* Two split domains whose memory shares node 0: the smaller (by memory) moves. */
    {"smaller-of-two-moves", 1, 12, 1, 3, {0, 0, 1, 2}, {4096, 2048, 1024, 1024}, {0}, 0,
     {{0, 60, 0}, {0, 60, 1}, {0, 60, 4}, {1, 60, 2}, {1, 60, 3}, {1, 60, 5}, {2, 90, 6},
      {3, 90, 8}}, 8, FALSE, FALSE, G_MAXDOUBLE, 600, 1, 2},
    /* Equal room on nodes 1 and 2: the lower number. */
    {"tie-lowest-node", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0,
     {{0, 60, 0}, {0, 60, 1}, {0, 60, 2}, {1, 60, 3}, {1, 60, 4}, {1, 60, 5}, {2, 90, 6},
      {3, 90, 8}}, 8, FALSE, FALSE, G_MAXDOUBLE, 600, 1, 1},
    /* The operator bound domain 1's memory (numatune): left alone. */
    {"numatune-bound-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {FALSE, TRUE}, 0, SPLIT_ITEMS,
     SPLIT_N, FALSE, FALSE, G_MAXDOUBLE, 600, -1, -1},
    {"interval-not-elapsed-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0, SPLIT_ITEMS,
     SPLIT_N, FALSE, FALSE, 599, 600, -1, -1},
    {"interval-zero-never", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0, SPLIT_ITEMS,
     SPLIT_N, FALSE, FALSE, G_MAXDOUBLE, 0, -1, -1},
    {"placement-unstable-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0, SPLIT_ITEMS,
     SPLIT_N, FALSE, TRUE, G_MAXDOUBLE, 600, -1, -1},
    /* Domain 1 has an excluded vCPU (item 3): never moved. */
    {"excluded-vcpu-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0,
     {{1, 60, 3}, {0, 60, 0}, {0, 60, 1}, {0, 60, 2}, {1, 60, 4}, {1, 60, 5}, {2, 90, 6},
      {2, 90, 7}, {3, 90, 8}}, SPLIT_N, TRUE, FALSE, G_MAXDOUBLE, 600, -1, -1},
    /* Nodes 1 and 2 are full (4 busy vCPUs each): the split domain fits nowhere else. */
    {"fits-nowhere-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0,
     {{0, 60, 0}, {0, 60, 1}, {0, 60, 2}, {1, 60, 3}, {1, 60, 4}, {1, 60, 5}, {2, 90, 6},
      {2, 90, 7}, {3, 90, 8}, {3, 90, 9}, {3, 90, 10}, {3, 90, 11}}, 12, FALSE,
     FALSE, G_MAXDOUBLE, 600, -1, -1},
    /* Node 2 has the cores but not the memory (it holds 3 GiB of 4 already, domain 1 has 2). */
    {"no-memory-on-node-none", 1, 12, 1, 3, {0, 0, 1, 2}, {1024, 2048, 1024, 3072}, {0}, 4096,
     SPLIT_ITEMS, SPLIT_N, FALSE, FALSE, G_MAXDOUBLE, 600, -1, -1},
    /* Its memory node has room (domain 0 is light): the vCPU steps bring it home, not this. */
    {"home-has-room-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0,
     {{0, 10, 0}, {1, 60, 1}, {1, 60, 2}, {1, 60, 4}, {2, 90, 6}, {3, 90, 8}}, 6, FALSE, FALSE,
     G_MAXDOUBLE, 600, -1, -1},
    /* Whole on one node (remote), not split: not this rule's business. */
    {"whole-not-split-none", 1, 12, 1, 3, {0, 0, 1, 2}, {0}, {0}, 0,
     {{0, 60, 0}, {0, 60, 1}, {0, 60, 2}, {0, 60, 3}, {1, 60, 4}, {1, 60, 5}, {1, 60, 6},
      {3, 90, 8}}, 8, FALSE, FALSE, G_MAXDOUBLE, 600, -1, -1},
    /* 2 sockets x 6 cores x 2 threads (node 0: pCPUs 0-5 and 12-17): two databases of
     * 6 x 40 % with their memory on node 0, which has 6 cores; one runs 3/3 across the nodes;
     * node 1 idles: that one moves there whole. */
    {"two-databases-share-a-node", 2, 6, 2, 2, {0, 0}, {0}, {0}, 0,
     {{0, 40, 0}, {0, 40, 1}, {0, 40, 2}, {0, 40, 12}, {0, 40, 13}, {0, 40, 14},
      {1, 40, 3}, {1, 40, 4}, {1, 40, 15}, {1, 40, 6}, {1, 40, 7}, {1, 40, 8}}, 12, FALSE,
     FALSE, G_MAXDOUBLE, 600, 1, 1},
};
// clang-format on

static void
run_case(gconstpointer data)
{
    const Case *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbTopology) t =
        vmb_topology_new_grid(c->sockets, c->cores, c->threads, c->nodes, &error);
    g_assert_no_error(error);
    for (guint n = 0; n < t->nnodes; n++)
        t->node_kib[n] = c->node_mib * 1024;
    g_autofree gboolean *allowed = g_new(gboolean, t->npcpus);
    for (guint p = 0; p < t->npcpus; p++)
        allowed[p] = TRUE;
    VmbCpuItem items[MAX_ITEMS];
    gint item_node[MAX_ITEMS];
    guint n_domains = 0;
    for (guint i = 0; i < c->n_items; i++) {
        const ItemSpec *s = &c->items[i];
        items[i] = (VmbCpuItem){.domain = s->domain,
                                .load = s->load,
                                .current = s->current,
                                .movable = !(i == 0 && c->unmovable_item0)};
        item_node[i] = c->mem_node[s->domain];
        n_domains = MAX(n_domains, s->domain + 1);
    }
    VmbNumaHomeDomain doms[MAX_DOMS];
    for (guint d = 0; d < MAX_DOMS; d++)
        doms[d] = (VmbNumaHomeDomain){.may_move = !c->barred[d], .mem_kib = c->mem_mib[d] * 1024};
    VmbCpuProblem p = {.npcpus = t->npcpus,
                       .allowed = allowed,
                       .items = items,
                       .n_items = c->n_items,
                       .topology = t,
                       .item_node = item_node};
    VmbNumaHomeProblem hp = {.p = &p,
                             .domains = doms,
                             .n_domains = n_domains,
                             .stable = !c->unstable,
                             .since_last_s = c->since_last_s,
                             .interval_s = c->interval_s};
    VmbNumaHome home;
    g_autoptr(GArray) moves = g_array_new(FALSE, FALSE, sizeof(VmbCpuMove));
    gboolean any = vmb_cpu_numa_home(&hp, &home, moves);
    if (c->domain < 0) {
        g_assert_false(any);
        g_assert_cmpuint(moves->len, ==, 0);
        return;
    }
    g_assert_true(any);
    g_assert_cmpuint(home.domain, ==, (guint) c->domain);
    g_assert_cmpuint(home.from, ==, (guint) c->mem_node[c->domain]);
    g_assert_cmpuint(home.to, ==, (guint) c->to);
    g_assert_cmpfloat(home.room_from, <, home.need);
    g_assert_cmpfloat(home.room_to, >=, home.need);
    /* every vCPU of the domain ends on the destination, one to a core while cores are free */
    gint place[MAX_ITEMS];
    for (guint i = 0; i < c->n_items; i++)
        place[i] = items[i].current;
    for (guint k = 0; k < moves->len; k++) {
        const VmbCpuMove *m = &g_array_index(moves, VmbCpuMove, k);
        g_assert_cmpuint(items[m->item].domain, ==, home.domain);
        g_assert_cmpint(m->reason, ==, VMB_CPU_NUMA);
        place[m->item] = (gint) m->to;
    }
    for (guint i = 0; i < c->n_items; i++) {
        if (items[i].domain == home.domain)
            g_assert_cmpuint(t->cpu[place[i]].node, ==, home.to);
    }
    for (guint i = 0; i < c->n_items; i++) {
        for (guint j = i + 1; j < c->n_items; j++)
            g_assert_cmpint(place[i], !=, place[j]);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/cpu-numa-home/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], run_case);
    }
    return g_test_run();
}
