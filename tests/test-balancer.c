/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vCPU balancer end to end on the simulated host: measure, plan, pin, converge, stop. */
#include <string.h>

#include "config.h"
#include "cpu-task.h"
#include "hv-fake.h"
#include "log.h"
#include "numa-mark.h"

/* The journal records of verdicts on moves (MESSAGE_ID VMB_MSGID_MOVE_OUTCOME), each a
 * KEY -> value table, in order; other records go to the default writer. */
static GPtrArray *verdicts;

/* The journal records of memory moves (VMB_MSGID_NUMA_HOME). */
static GPtrArray *homes;

/* Warnings, kept when a test expects them (the refused metadata). */
static GPtrArray *warnings;

static GLogWriterOutput
capture_verdicts(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
    for (gsize i = 0; warnings && (level & G_LOG_LEVEL_WARNING) && i < n; i++) {
        if (g_str_equal(fields[i].key, "MESSAGE") && fields[i].length < 0) {
            g_ptr_array_add(warnings, g_strdup(fields[i].value));
            return G_LOG_WRITER_HANDLED;
        }
    }
    GHashTable *record = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (gsize i = 0; i < n; i++) {
        if (fields[i].length < 0)
            g_hash_table_insert(record, g_strdup(fields[i].key), g_strdup(fields[i].value));
    }
    if (verdicts &&
        g_strcmp0(g_hash_table_lookup(record, "MESSAGE_ID"), VMB_MSGID_MOVE_OUTCOME) == 0) {
        g_ptr_array_add(verdicts, record);
        return G_LOG_WRITER_HANDLED;
    }
    if (homes && g_strcmp0(g_hash_table_lookup(record, "MESSAGE_ID"), VMB_MSGID_NUMA_HOME) == 0) {
        g_ptr_array_add(homes, record);
        return G_LOG_WRITER_HANDLED;
    }
    g_hash_table_unref(record);
    return g_log_writer_default(level, fields, n, data);
}

static const char *
field(guint i, const char *key)
{
    g_assert_cmpuint(i, <, verdicts->len);
    return g_hash_table_lookup(g_ptr_array_index(verdicts, i), key);
}

typedef struct {
    VmbHypervisor *hv;
    VmbCpuTask task;
    VmbConfig *config;
    guint actions;
    guint cycle_moves[200];
    guint cycles;
    const char *watch;         /* a domain whose vCPU 0 moves are checked against the backoff */
    guint watch_pcpu;          /* ... to this pCPU */
    guint watch_moves;         /* how many times it was sent there */
    guint64 watch_cycles[200]; /* ... in these cycles */
    char reasons[256];         /* REASON= of every action, space-separated */
} Bench;

static void
count_action(const VmbAction *a, gpointer data)
{
    Bench *b = data;
    b->actions++;
    if (b->watch && g_str_equal(a->domain, b->watch) && a->vcpu == 0 &&
        a->to_pcpu == b->watch_pcpu && (a->reason[0] == 'b' || a->reason[0] == 's')) {
        /* The planner saw the blocks of this cycle (verdicts come before the plan). */
        guint64 cycle = vmb_cpu_usage_cycle(b->task.usage);
        g_assert_false(vmb_move_check_blocked(b->task.check, a->uuid, 0, b->watch_pcpu, cycle));
        b->watch_cycles[b->watch_moves++] = cycle;
    }
    g_assert_cmpint(a->kind, ==, VMB_ACTION_PIN);
    g_assert_nonnull(a->reason);
    g_strlcat(b->reasons, a->reason, sizeof(b->reasons));
    g_strlcat(b->reasons, " ", sizeof(b->reasons));
    g_assert_nonnull(a->detail);
}

static void
bench_init(Bench *b, const char *scenario, gboolean dry_run_unused)
{
    g_autoptr(GError) error = NULL;
    memset(b, 0, sizeof(*b));
    g_ptr_array_set_size(verdicts, 0);
    VmbScenario *sc = vmb_scenario_load_data(scenario, &error);
    g_assert_no_error(error);
    b->hv = vmb_hv_fake_new_from_scenario(sc, TRUE);
    b->config = vmb_config_new_defaults();
    vmb_cpu_task_init(&b->task);
}

static void
bench_clear(Bench *b)
{
    vmb_cpu_task_clear(&b->task);
    vmb_config_free(b->config);
    vmb_hypervisor_free(b->hv);
}

/* One cycle: snapshot, plan and pin; then let @interval seconds of simulated time pass. */
static guint
cycle(Bench *b, gboolean dry_run, double interval)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(b->hv, &error);
    g_assert_no_error(error);
    VmbCpuCycleResult r;
    vmb_cpu_task_run(&b->task, b->hv, s, b->config, dry_run, count_action, b, &r);
    g_assert_cmpuint(r.failed, ==, 0);
    b->cycle_moves[b->cycles++] = r.applied;
    vmb_hv_fake_advance(b->hv, interval);
    return r.applied;
}

static gint
pin_of(Bench *b, const char *name, guint vcpu)
{
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b->hv, name, &info));
    return info.pins[vcpu];
}

static guint64
pin_changes(Bench *b)
{
    VmbFakeCounters c;
    vmb_hv_fake_counters(b->hv, &c);
    return c.pin_changes;
}

/* Once @dom's memory moved home it is whole there: no pin change and no other memory move
 * over the next 20 cycles. */
static void
assert_settled_home(Bench *b, const char *dom)
{
    guint64 pins = pin_changes(b);
    for (guint i = 0; i < 20; i++)
        cycle(b, FALSE, 5);
    g_assert_cmpuint(pin_changes(b), ==, pins);
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b->hv, dom, &info));
    g_assert_cmpuint(info.mem_moves, ==, 1);
}

#define SEED_SCENARIO                                                                              \
    "[host]\ncpus = 2\n"                                                                           \
    "[domain big1]\nload = 100\npin = 0\n"                                                         \
    "[domain big2]\nload = 100\npin = 0\n"                                                         \
    "[domain small1]\nload = 30\npin = 0\n"                                                        \
    "[domain small2]\nload = 30\npin = 0\n"

/* The seeds' own scenario: optimal within three cycles (the first only measures), then
 * zero pin changes over the next ten. */
static void
test_seed_scenario(void)
{
    Bench b;
    bench_init(&b, SEED_SCENARIO, FALSE);
    for (guint i = 0; i < 3; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "big1", 0), !=, pin_of(&b, "big2", 0));
    g_assert_cmpint(pin_of(&b, "small1", 0), !=, pin_of(&b, "small2", 0));
    g_assert_cmpuint(b.cycle_moves[0], ==, 0); /* first cycle measures only */
    g_assert_cmpuint(pin_changes(&b), ==, 2);
    guint64 before = pin_changes(&b);
    for (guint i = 0; i < 10; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpuint(pin_changes(&b), ==, before);
    g_assert_cmpfloat_with_epsilon(vmb_hv_fake_pcpu_load(b.hv, 0), 100, 0.5);
    g_assert_cmpfloat_with_epsilon(vmb_hv_fake_pcpu_load(b.hv, 1), 100, 0.5);
    bench_clear(&b);
}

/* A load change is followed within a few cycles, with no ping-pong afterwards. Noise is on. */
static void
test_phase_change(void)
{
    Bench b;
    bench_init(&b,
               "[host]\ncpus = 2\nseed = 5\n"
               "[domain a]\nload = 0:90 60:90 60:10\nnoise = 3\n"
               "[domain b]\nload = 90\nnoise = 3\n"
               "[domain c]\nload = 10\nnoise = 3\n"
               "[domain d]\nload = 0:10 60:10 60:90\nnoise = 3\n",
               FALSE);
    for (guint i = 0; i < 12; i++) /* t = 0..55 */
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "a", 0), !=, pin_of(&b, "b", 0));
    guint64 at_change = pin_changes(&b);
    for (guint i = 0; i < 5; i++) /* t = 60..80 */
        cycle(&b, FALSE, 5);
    /* After the change d (now 90) must not share with b (90). */
    g_assert_cmpint(pin_of(&b, "d", 0), !=, pin_of(&b, "b", 0));
    guint64 settled = pin_changes(&b);
    g_assert_cmpuint(settled - at_change, <=, 4);
    for (guint i = 0; i < 20; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpuint(pin_changes(&b), ==, settled);
    bench_clear(&b);
}

/* A 2-vCPU guest among 1-vCPU guests ends spread over both pCPUs, balanced. */
static void
test_multi_vcpu_spread(void)
{
    Bench b;
    bench_init(&b,
               "[host]\ncpus = 2\n"
               "[domain wide]\nvcpus = 2\nload = 60\npin = 0,0\n"
               "[domain x]\nload = 60\npin = 1\n"
               "[domain y]\nload = 60\npin = 1\n",
               FALSE);
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "wide", 0), !=, pin_of(&b, "wide", 1));
    guint64 n = pin_changes(&b);
    for (guint i = 0; i < 10; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpuint(pin_changes(&b), ==, n);
    bench_clear(&b);
}

/* Guests come and go: no failure, a new guest is placed on its second cycle. */
static void
test_churn(void)
{
    Bench b;
    bench_init(&b,
               "[host]\ncpus = 2\n"
               "[domain stay]\nload = 80\npin = 0\n"
               "[domain late]\nload = 70\nstart = 12\n"
               "[domain gone]\nload = 60\npin = 0\nstop = 13\n",
               FALSE);
    for (guint i = 0; i < 8; i++)
        cycle(&b, FALSE, 5);
    gint late = pin_of(&b, "late", 0);
    g_assert_cmpint(late, >=, 0);
    g_assert_cmpint(late, !=, pin_of(&b, "stay", 0));
    bench_clear(&b);
}

/* Dry run reports what it would do and changes nothing. */
static void
test_dry_run(void)
{
    Bench b;
    bench_init(&b, SEED_SCENARIO, TRUE);
    for (guint i = 0; i < 3; i++)
        cycle(&b, TRUE, 5);
    g_assert_cmpuint(pin_changes(&b), ==, 0);
    g_assert_cmpuint(b.actions, >=, 2);
    g_assert_cmpint(pin_of(&b, "big2", 0), ==, 0);
    bench_clear(&b);
}

/* Excluded domains count as load where they are but are never moved; cpu.cpus is honoured. */
static void
test_excluded_and_allowed(void)
{
    Bench b;
    bench_init(&b,
               "[host]\ncpus = 4\n"
               "[domain infra]\nload = 100\npin = 3\n"
               "[domain a]\nload = 50\npin = 0\n"
               "[domain b]\nload = 50\npin = 0\n"
               "[domain c]\nload = 50\n",
               FALSE);
    g_assert_true(vmb_config_set(b.config, "exclude", "infra", NULL));
    g_assert_true(vmb_config_set(b.config, "cpu.cpus", "1-3", NULL));
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "infra", 0), ==, 3);
    const char *names[] = {"a", "b", "c"};
    for (guint i = 0; i < 3; i++) {
        gint p = pin_of(&b, names[i], 0);
        g_assert_cmpint(p, >=, 1);
        g_assert_cmpint(p, <=, 2); /* pCPU 3 is full with infra, 0 not allowed */
    }
    bench_clear(&b);
}

/* The seeds' rebalance: both moves judged, both helped. */
static void
test_moves_helped(void)
{
    Bench b;
    bench_init(&b, SEED_SCENARIO, FALSE);
    for (guint i = 0; i < 6; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpuint(pin_changes(&b), ==, 2);
    g_assert_cmpuint(b.task.moves_helped, ==, 2);
    g_assert_cmpuint(b.task.moves_failed, ==, 0);
    g_assert_cmpuint(vmb_move_check_pending(b.task.check), ==, 0);
    /* One journal record each, with the move's fields and the verdict's. */
    g_assert_cmpuint(verdicts->len, ==, 2);
    for (guint i = 0; i < verdicts->len; i++) {
        g_assert_cmpstr(field(i, "OUTCOME"), ==, "helped");
        g_assert_cmpstr(field(i, "REASON"), ==, "balance");
        g_assert_cmpstr(field(i, "FROM_PCPU"), ==, "0");
        g_assert_cmpstr(field(i, "TO_PCPU"), ==, "1");
        g_assert_cmpstr(field(i, "VCPU"), ==, "0");
        g_assert_cmpstr(field(i, "BLOCKED_CYCLES"), ==, "0");
        g_assert_true(g_str_has_prefix(field(i, "DOMAIN"), "big") ||
                      g_str_has_prefix(field(i, "DOMAIN"), "small"));
        g_assert_true(g_uuid_string_is_valid(field(i, "DOMAIN_UUID")));
        g_assert_cmpfloat(g_ascii_strtod(field(i, "MEASURED_GAIN"), NULL), >=,
                          g_ascii_strtod(field(i, "PREDICTED_GAIN"), NULL) / 2);
        g_assert_nonnull(field(i, "WAIT_BEFORE"));
        g_assert_nonnull(field(i, "WAIT_AFTER"));
        g_assert_nonnull(strstr(field(i, "MESSAGE"), ") helped (predicted "));
        g_assert_false(g_str_has_prefix(field(i, "MESSAGE"), "pin")); /* not a pin change */
    }
    bench_clear(&b);
}

/* A move that cannot help: pCPU 1 looks free for one interval every 40 s, and host load bound
 * to it (interrupts, say) returns as soon as a vCPU is sent there. Each such move is judged a
 * failure; the vCPU is not sent there again while the pair is blocked, and the blocks grow, so
 * it is tried in fewer and fewer of the free intervals. */
static void
test_failed_move_backs_off(void)
{
    g_autoptr(GString) sc = g_string_new("[host]\ncpus = 2\nbackground1 =");
    for (guint t = 0; t < 800; t += 40)
        g_string_append_printf(sc, " %u:0 %u:0 %u:60 %u:60", t, t + 5, t + 5, t + 40);
    g_string_append(sc, "\n[domain infra]\nload = 40\npin = 0\n"
                        "[domain y]\nload = 40\npin = 0\n");
    Bench b;
    bench_init(&b, sc->str, FALSE);
    g_assert_true(vmb_config_set(b.config, "exclude", "infra", NULL));
    b.watch = "y";
    b.watch_pcpu = 1;
    for (guint i = 0; i < 160; i++)
        cycle(&b, FALSE, 5);
    /* 20 free intervals; without the backoff y would be sent to pCPU 1 in each. */
    g_assert_cmpuint(b.watch_moves, >=, 4);
    g_assert_cmpuint(b.watch_moves, <=, 6);
    g_assert_cmpuint(b.task.moves_failed, ==, b.watch_moves);
    g_assert_cmpuint(b.task.moves_helped, >=, 1); /* moving back off pCPU 1 did help */
    /* The failures' records: 4, 8, 16, ... cycles, as announced. */
    guint failures = 0;
    for (guint i = 0; i < verdicts->len; i++) {
        if (g_strcmp0(field(i, "OUTCOME"), "failed") != 0)
            continue;
        g_autofree char *blocked = g_strdup_printf("%u", 4u << failures++);
        g_autofree char *tail = g_strdup_printf(": not tried again for %s cycles", blocked);
        g_assert_cmpstr(field(i, "DOMAIN"), ==, "y");
        g_assert_cmpstr(field(i, "TO_PCPU"), ==, "1");
        g_assert_cmpstr(field(i, "BLOCKED_CYCLES"), ==, blocked);
        g_assert_true(g_str_has_suffix(field(i, "MESSAGE"), tail));
        g_assert_nonnull(strstr(field(i, "MESSAGE"), "balance move of y vCPU 0 (pCPU 0 -> 1) did "
                                                     "not help"));
    }
    g_assert_cmpuint(failures, ==, b.task.moves_failed);
    for (guint k = 2; k < b.watch_moves; k++) {
        g_assert_cmpuint(b.watch_cycles[k] - b.watch_cycles[k - 1], >,
                         b.watch_cycles[k - 1] - b.watch_cycles[k - 2]);
    }
    bench_clear(&b);
}

/* A domain's own metadata wins over the configuration: cpu="off" keeps it where it is (its load
 * counted there) although exclude does not name it, cpu="auto" hands an excluded one to the
 * balancer, and refused metadata leaves the host's settings in force (said once). */
static void
test_metadata_policy(void)
{
    Bench b;
    warnings = g_ptr_array_new_with_free_func(g_free); /* domains boot in bench_init() */
    bench_init(&b,
               "[host]\ncpus = 4\n"
               "[domain infra]\nload = 100\npin = 3\nmetadata = <policy cpu=\"off\"/>\n"
               "[domain legacy]\nload = 100\npin = 0\nmetadata = <policy cpu=\"auto\"/>\n"
               "[domain broken]\nload = 100\npin = 0\nmetadata = <policy cpu=\"of\"/>\n"
               "[domain a]\nload = 20\n",
               FALSE);
    g_assert_true(vmb_config_set(b.config, "exclude", "legacy,broken", NULL));
    g_assert_true(vmb_config_set(b.config, "cpu.cpus", "0-2", NULL));
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "infra", 0), ==, 3);  /* never moved (pCPU 3 is not allowed) */
    g_assert_cmpint(pin_of(&b, "broken", 0), ==, 0); /* excluded by the configuration */
    g_assert_cmpint(pin_of(&b, "legacy", 0), >=, 1); /* handed to the balancer, left pCPU 0 */
    g_assert_cmpint(pin_of(&b, "legacy", 0), <=, 2);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(b.hv, &error);
    g_assert_no_error(error);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        g_assert_cmpint(d->policy_refused, ==, g_str_equal(d->name, "broken"));
    }
    /* Said once, naming the domain, the attribute, the value and what is allowed. */
    g_assert_cmpuint(warnings->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(warnings, 0), ==,
                    "domain broken: metadata vmbalance:policy (" VMB_POLICY_XMLNS
                    ") refused: attribute 'cpu' = 'of': allowed auto or off; the host's "
                    "settings apply to it");
    /* Another wrong value, set while running, is said again. */
    g_assert_true(vmb_hv_fake_set_metadata(b.hv, "broken", "<policy weight=\"0\"/>"));
    g_assert_cmpuint(warnings->len, ==, 2);
    g_assert_nonnull(strstr(g_ptr_array_index(warnings, 1), "attribute 'weight' = '0'"));
    g_clear_pointer(&warnings, g_ptr_array_unref);
    bench_clear(&b);
}

/* Metadata changed while the daemon runs takes effect at the next cycle: cpu="off" set on
 * domains the balancer would move keeps them where they are. */
static void
test_metadata_change(void)
{
    Bench b;
    bench_init(&b, SEED_SCENARIO, FALSE);
    g_assert_true(vmb_hv_fake_set_metadata(b.hv, "big2", "<policy cpu=\"off\"/>"));
    g_assert_true(vmb_hv_fake_set_metadata(b.hv, "small2", "<policy cpu=\"off\"/>"));
    for (guint i = 0; i < 6; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "big2", 0), ==, 0);
    g_assert_cmpint(pin_of(&b, "small2", 0), ==, 0);
    g_assert_cmpint(pin_of(&b, "big1", 0), ==, 1); /* the others made room */
    g_assert_false(vmb_hv_fake_set_metadata(b.hv, "nosuch", NULL));
    bench_clear(&b);
}

/* A domain whose persistent definition pins its vCPU is never moved, and its load counts
 * where it runs: the other one avoids its pCPU. */
static void
test_definition_pins(void)
{
    Bench b;
    bench_init(&b,
               "[host]\ncpus = 2\n"
               "[domain rt]\nload = 100\npin = 0\n"
               "definition = <domain><cputune><vcpupin vcpu='0' cpuset='0'/></cputune></domain>\n"
               "[domain a]\nload = 80\npin = 0\n",
               FALSE);
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "rt", 0), ==, 0);
    g_assert_cmpint(pin_of(&b, "a", 0), ==, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(b.hv, &error);
    const VmbDomainStat *rt = g_ptr_array_index(s->domains, 0);
    g_assert_cmpstr(rt->name, ==, "rt");
    g_assert_cmphex(rt->hands_off, ==, VMB_HANDS_OFF_VCPUPIN);
    bench_clear(&b);
}

static char *
uuid_of(Bench *b, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(b->hv, &error);
    g_assert_no_error(error);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        if (g_str_equal(d->name, name))
            return g_strdup(d->uuid);
    }
    g_assert_not_reached();
}

/* Someone else pins big1 back onto big2's pCPU once the seeds' host is balanced. With
 * cpu.foreign_pins = override (the default) the balancer separates them again; with respect
 * it leaves big1 there (its load counted: the others keep away) until it is released. */
static void
test_foreign_pin(gconstpointer data)
{
    gboolean respect = GPOINTER_TO_INT(data);
    Bench b;
    bench_init(&b, SEED_SCENARIO, FALSE);
    if (respect)
        g_assert_true(vmb_config_set(b.config, "cpu.foreign_pins", "respect", NULL));
    for (guint i = 0; i < 3; i++)
        cycle(&b, FALSE, 5);
    gint home = pin_of(&b, "big2", 0);
    g_assert_cmpint(pin_of(&b, "big1", 0), !=, home);
    g_autofree char *big1 = uuid_of(&b, "big1");
    g_assert_true(vmb_hypervisor_pin_vcpu(b.hv, big1, 0, (guint) home, NULL));
    for (guint i = 0; i < 5; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(vmb_foreign_pins_respected(b.task.foreign, big1), ==, respect);
    /* A domain the balancer does not manage anyway: its pins are nobody's business. */
    g_assert_true(vmb_config_set(b.config, "exclude", "small1", NULL));
    g_autofree char *small1 = uuid_of(&b, "small1");
    g_assert_true(vmb_hypervisor_pin_vcpu(b.hv, small1, 0, (guint) !pin_of(&b, "small1", 0), NULL));
    cycle(&b, FALSE, 5);
    g_assert_false(vmb_foreign_pins_respected(b.task.foreign, small1));
    if (!respect) {
        g_assert_cmpint(pin_of(&b, "big1", 0), !=, pin_of(&b, "big2", 0));
        bench_clear(&b);
        return;
    }
    g_assert_cmpint(pin_of(&b, "big1", 0), ==, home); /* kept for 5 cycles */
    g_assert_cmpint(pin_of(&b, "big2", 0), !=, home); /* big2 made room: big1's load counted */
    g_assert_true(vmb_foreign_pins_release(b.task.foreign, big1));
    g_assert_false(vmb_foreign_pins_release(b.task.foreign, big1));
    for (guint i = 0; i < 3; i++)
        cycle(&b, FALSE, 5);
    g_assert_false(vmb_foreign_pins_respected(b.task.foreign, big1));
    bench_clear(&b);
}

/* The task on simulated hosts with a topology: busy siblings are split (REASON=smt), a vCPU
 * away from its domain's memory comes home (REASON=numa), isolated CPUs are never used. */
static void
test_topology(void)
{
    Bench b;
    bench_init(&b,
               "[host]\nsockets = 1\ncores = 4\nthreads = 2\n"
               "[domain a]\nload = 100\npin = 0\n[domain b]\nload = 100\npin = 4\n",
               FALSE);
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "a", 0) % 4, !=, pin_of(&b, "b", 0) % 4);
    g_assert_cmpstr(b.reasons, ==, "smt ");
    bench_clear(&b);

    bench_init(&b,
               "[host]\nsockets = 2\ncores = 2\nnodes = 2\n"
               "[domain d]\nvcpus = 2\nload = 50\npin = 0,2\nnode = 0\n",
               FALSE);
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "d", 0), ==, 0);
    g_assert_cmpint(pin_of(&b, "d", 1), ==, 1);
    g_assert_cmpstr(b.reasons, ==, "numa ");
    bench_clear(&b);

    bench_init(&b,
               "[host]\nsockets = 1\ncores = 4\nisolated = 0-1\n"
               "[domain x]\nvcpus = 3\nload = 90\n[domain y]\nload = 90\n",
               FALSE);
    for (guint i = 0; i < 6; i++)
        cycle(&b, FALSE, 5);
    for (guint v = 0; v < 3; v++)
        g_assert_cmpint(pin_of(&b, "x", v), >=, 2);
    g_assert_cmpint(pin_of(&b, "y", 0), >=, 2);
    bench_clear(&b);
}

/* 1 socket x 12 cores, 3 nodes of 4 (pCPUs 0-3, 4-7, 8-11). a and b have their memory on
 * node 0 (first touch: their vCPU 0 starts there); a fills 3 of its cores, so b runs split, one
 * vCPU on node 0 and two on node 1 beside c. Node 2 has room: b's memory moves there (one
 * REASON=numa-home record), its vCPUs follow (numa), and then nothing moves again. With a
 * numatune of the operator's on b (@data TRUE), its memory stays. */
#define SPLIT_SCENARIO                                                                             \
    "[host]\nsockets = 1\ncores = 12\nnodes = 3\n"                                                 \
    "[domain a]\nvcpus = 3\nload = 60\npin = 0,1,2\n"                                              \
    "[domain b]\nvcpus = 3\nload = 60\npin = 3,4,5\n%s"                                            \
    "[domain c]\nvcpus = 2\nload = 90\npin = 6,7\n"                                                \
    "[domain e]\nload = 90\npin = 8\n"

static void
test_numa_home(gconstpointer data)
{
    gboolean bound = GPOINTER_TO_INT(data);
    g_autofree char *scenario = g_strdup_printf(SPLIT_SCENARIO, bound ? "node = 0\n" : "");
    Bench b;
    bench_init(&b, scenario, FALSE);
    g_ptr_array_set_size(homes, 0);
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    g_assert_cmpint(info.mem_node, ==, 0);
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    if (bound) {
        g_assert_cmpint(info.mem_node, ==, 0);
        g_assert_cmpuint(info.mem_moves, ==, 0);
        g_assert_cmpuint(homes->len, ==, 0);
        bench_clear(&b);
        return;
    }
    g_assert_cmpint(info.mem_node, ==, 2);
    g_assert_cmpuint(info.mem_moves, ==, 1);
    g_assert_cmpstr(b.reasons, ==, "numa numa numa ");
    for (guint v = 0; v < 3; v++)
        g_assert_cmpint(pin_of(&b, "b", v), >=, 8);
    g_assert_cmpuint(homes->len, ==, 1);
    GHashTable *r = g_ptr_array_index(homes, 0);
    g_assert_cmpstr(g_hash_table_lookup(r, "REASON"), ==, "numa-home");
    g_assert_cmpstr(g_hash_table_lookup(r, "DOMAIN"), ==, "b");
    g_assert_cmpstr(g_hash_table_lookup(r, "FROM_NODE"), ==, "0");
    g_assert_cmpstr(g_hash_table_lookup(r, "TO_NODE"), ==, "2");
    assert_settled_home(&b, "b");
    for (guint v = 0; v < 3; v++)
        g_assert_cmpint(pin_of(&b, "b", v), >=, 8);
    bench_clear(&b);
}

/* The same split after the balancer has searched a target (e and f share pCPU 8 at first, so
 * one of them moves): the task then keeps the noise each vCPU was searched on, which is no
 * pending move, and the memory still moves once the placement is stable (to node 3, the
 * emptiest of 4 nodes of 4 cores). */
static void
test_numa_home_after_search(void)
{
    Bench b;
    bench_init(&b,
               "[host]\nsockets = 1\ncores = 16\nnodes = 4\n"
               "[domain a]\nvcpus = 3\nload = 60\npin = 0,1,2\n"
               "[domain b]\nvcpus = 3\nload = 60\npin = 3,4,5\n"
               "[domain c]\nvcpus = 2\nload = 90\npin = 6,7\n"
               "[domain e]\nload = 90\nnoise = 2\npin = 8\n"
               "[domain f]\nload = 90\nnoise = 2\npin = 8\n",
               FALSE);
    g_ptr_array_set_size(homes, 0);
    for (guint i = 0; i < 12; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpint(pin_of(&b, "e", 0), !=, pin_of(&b, "f", 0)); /* the search moved one */
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    g_assert_cmpuint(info.mem_moves, ==, 1);
    g_assert_cmpint(info.mem_node, ==, 3);
    g_assert_cmpuint(homes->len, ==, 1);
    bench_clear(&b);
}

typedef enum {
    HOME_AGAIN,            /* the same task throughout */
    HOME_RESTART,          /* a new task (a restart of vmbalanced) after the first move */
    HOME_OPERATOR_RESTART, /* the operator binds b to node 0 after our move, then a restart */
    HOME_MALFORMED,        /* our record is replaced by a malformed one, then a restart */
} HomeCase;

/* b's memory is moved to node 2 by the first task (the split above). At 60 s f starts on node
 * 2 (its memory bound there by the operator): b's vCPUs split over nodes 0 and 1 again; at 90 s
 * c stops and b's memory should move again, to node 1. A restarted task recognises the
 * numatune it set by the record in b's live metadata (the old code took it for the
 * operator's); one the operator changed, or a record that does not parse (one warning),
 * leaves b's memory where it is. */
#define HOME_AGAIN_SCENARIO                                                                        \
    "[host]\nsockets = 1\ncores = 12\nnodes = 3\n"                                                 \
    "[domain a]\nvcpus = 3\nload = 60\npin = 0,1,2\n"                                              \
    "[domain b]\nvcpus = 3\nload = 60\npin = 3,4,5\n"                                              \
    "[domain c]\nvcpus = 2\nload = 90\npin = 6,7\nstop = 90\n"                                     \
    "[domain e]\nload = 90\npin = 8\n"                                                             \
    "[domain f]\nvcpus = 3\nload = 90\npin = 9,10,11\nnode = 2\nstart = 60\n"

static void
test_numa_home_restart(gconstpointer data)
{
    HomeCase hc = GPOINTER_TO_INT(data);
    Bench b;
    bench_init(&b, HOME_AGAIN_SCENARIO, FALSE);
    b.config->cpu_numa_move_interval = 30;
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    g_assert_cmpint(info.mem_node, ==, 2);
    g_assert_cmpstr(info.numa_mark, ==, "<numa-home nodeset=\"2\"/>");
    if (hc == HOME_OPERATOR_RESTART)
        g_assert_true(vmb_hv_fake_set_numatune(b.hv, "b", 0));
    if (hc == HOME_MALFORMED)
        g_assert_true(vmb_hv_fake_set_numa_mark(b.hv, "b", "<numa-home nodeset=\"two\"/>"));
    if (hc != HOME_AGAIN) {
        vmb_cpu_task_clear(&b.task);
        vmb_cpu_task_init(&b.task);
    }
    warnings = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < 24; i++)
        cycle(&b, FALSE, 5);
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    if (hc == HOME_AGAIN || hc == HOME_RESTART) {
        g_assert_cmpuint(info.mem_moves, ==, 2);
        g_assert_cmpint(info.mem_node, ==, 1);
        g_assert_cmpuint(warnings->len, ==, 0);
    } else {
        g_assert_cmpuint(info.mem_moves, ==, 1);
        g_assert_cmpint(info.mem_node, ==, hc == HOME_OPERATOR_RESTART ? 0 : 2);
        g_assert_cmpuint(warnings->len, ==, hc == HOME_MALFORMED ? 1 : 0);
    }
    if (hc == HOME_MALFORMED)
        g_assert_nonnull(strstr(g_ptr_array_index(warnings, 0),
                                "vmbalanced:numa-home (" VMB_NUMA_MARK_XMLNS ") ignored"));
    g_clear_pointer(&warnings, g_ptr_array_unref);
    bench_clear(&b);
}

/* The host refuses memory moves (as libvirt without the cpuset controller): one warning for
 * the domain, no pin change for it, no new try until numa_move_interval (here 60 s) passed. */
static void
test_numa_home_refused(void)
{
    g_autofree char *scenario = g_strdup_printf(SPLIT_SCENARIO, "");
    g_autofree char *refusing =
        g_strconcat("[host]\nmemory_moves = no\n", strstr(scenario, "sockets"), NULL);
    Bench b;
    bench_init(&b, refusing, FALSE);
    b.config->cpu_numa_move_interval = 60;
    warnings = g_ptr_array_new_with_free_func(g_free);
    guint64 pins = 0;
    for (guint i = 0; i < 12; i++) { /* 60 s */
        cycle(&b, FALSE, 5);
        if (i == 3)
            pins = pin_changes(&b);
    }
    g_assert_cmpuint(b.task.numa.errors, ==, 1);
    g_assert_cmpuint(pin_changes(&b), ==, pins); /* b's vCPUs were not moved for nothing */
    for (guint i = 0; i < 12; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpuint(b.task.numa.errors, ==, 2); /* tried again once, after the interval */
    g_assert_cmpuint(b.task.numa.moves, ==, 0);
    g_assert_cmpuint(warnings->len, ==, 1); /* said once */
    g_assert_nonnull(strstr(g_ptr_array_index(warnings, 0), "cannot move the memory of b"));
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    g_assert_cmpint(info.mem_node, ==, 0);
    g_clear_pointer(&warnings, g_ptr_array_unref);
    bench_clear(&b);
}

/* The vCPU's pin in a fresh snapshot, as a CPU list. */
static char *
pin_text(Bench *b, const char *name, guint vcpu)
{
    g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(b->hv, NULL);
    for (guint i = 0; i < s->domains->len; i++) {
        const VmbDomainStat *d = g_ptr_array_index(s->domains, i);
        if (g_str_equal(d->name, name))
            return vmb_vcpu_stat_pin_text(&d->vcpus[vcpu]);
    }
    return NULL;
}

/* cpu.pin_to = core on 4 cores x 2 threads: the busy pair on core 0's threads ends on two
 * cores, each pinned to both threads of its core; then nothing is pinned again, and the sets
 * the daemon made are not taken for someone else's pins (foreign_pins = respect would keep
 * the domain where it is). */
static void
test_pin_to_core(void)
{
    Bench b;
    bench_init(&b,
               "[host]\nsockets = 1\ncores = 4\nthreads = 2\n"
               "[domain a]\nload = 100\npin = 0\n[domain b]\nload = 100\npin = 4\n",
               FALSE);
    g_assert_true(vmb_config_set(b.config, "cpu.pin_to", "core", NULL));
    g_assert_true(vmb_config_set(b.config, "cpu.foreign_pins", "respect", NULL));
    for (guint i = 0; i < 4; i++)
        cycle(&b, FALSE, 5);
    g_autofree char *a = pin_text(&b, "a", 0), *bb = pin_text(&b, "b", 0);
    VmbCpuSet sa, sb;
    gboolean all;
    g_assert_true(vmb_cpuset_parse(a, &sa, &all, NULL));
    g_assert_true(vmb_cpuset_parse(bb, &sb, &all, NULL));
    g_assert_cmpuint(vmb_cpuset_count(&sa), ==, 2);
    g_assert_cmpuint(vmb_cpuset_count(&sb), ==, 2);
    gint ca = vmb_cpuset_first(&sa), cb = vmb_cpuset_first(&sb);
    g_assert_true(vmb_cpuset_has(&sa, (guint) ca + 4)); /* both threads of one core */
    g_assert_true(vmb_cpuset_has(&sb, (guint) cb + 4));
    g_assert_cmpint(ca, !=, cb);
    guint64 before = pin_changes(&b);
    for (guint i = 0; i < 6; i++)
        cycle(&b, FALSE, 5);
    g_assert_cmpuint(pin_changes(&b), ==, before);
    g_autofree char *ua = uuid_of(&b, "a"), *ub = uuid_of(&b, "b");
    g_assert_false(vmb_foreign_pins_respected(b.task.foreign, ua));
    g_assert_false(vmb_foreign_pins_respected(b.task.foreign, ub));
    /* A set someone else pins to is still noticed, and kept (respect). */
    VmbCpuSet other;
    g_assert_true(vmb_cpuset_parse("0-2", &other, &all, NULL));
    g_assert_true(vmb_hypervisor_pin_vcpu_set(b.hv, ua, 0, &other, NULL));
    for (guint i = 0; i < 3; i++)
        cycle(&b, FALSE, 5);
    g_assert_true(vmb_foreign_pins_respected(b.task.foreign, ua));
    g_autofree char *kept = pin_text(&b, "a", 0);
    g_assert_cmpstr(kept, ==, "0-2");
    bench_clear(&b);
}

/* The split of test_numa_home with cpu.pin_to = node or cache (@data; on the grid a cache group
 * is a node): every vCPU is pinned to its node's set first; once the set plans have changed no
 * pin for a few cycles, b's memory moves to node 2 and its vCPUs follow, pinned to node 2's
 * set; then nothing moves again. */
static void
test_numa_home_pin_to(gconstpointer data)
{
    g_autofree char *scenario = g_strdup_printf(SPLIT_SCENARIO, "");
    Bench b;
    bench_init(&b, scenario, FALSE);
    g_assert_true(vmb_config_set(b.config, "cpu.pin_to", data, NULL));
    g_ptr_array_set_size(homes, 0);
    for (guint i = 0; i < 10; i++)
        cycle(&b, FALSE, 5);
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(b.hv, "b", &info));
    g_assert_cmpint(info.mem_node, ==, 2);
    g_assert_cmpuint(info.mem_moves, ==, 1);
    g_assert_cmpuint(homes->len, ==, 1);
    g_assert_true(g_str_has_suffix(b.reasons, "numa numa numa "));
    for (guint v = 0; v < 3; v++) {
        g_autofree char *text = pin_text(&b, "b", v);
        g_assert_cmpstr(text, ==, "8-11");
    }
    assert_settled_home(&b, "b");
    bench_clear(&b);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    verdicts = g_ptr_array_new_with_free_func((GDestroyNotify) g_hash_table_unref);
    homes = g_ptr_array_new_with_free_func((GDestroyNotify) g_hash_table_unref);
    g_log_set_writer_func(capture_verdicts, NULL, NULL);
    g_test_add_func("/balancer/seed-scenario", test_seed_scenario);
    g_test_add_func("/balancer/metadata-policy", test_metadata_policy);
    g_test_add_func("/balancer/metadata-change", test_metadata_change);
    g_test_add_func("/balancer/definition-pins", test_definition_pins);
    g_test_add_data_func("/balancer/foreign-pin-override", GINT_TO_POINTER(FALSE),
                         test_foreign_pin);
    g_test_add_data_func("/balancer/foreign-pin-respect", GINT_TO_POINTER(TRUE), test_foreign_pin);
    g_test_add_func("/balancer/phase-change", test_phase_change);
    g_test_add_func("/balancer/multi-vcpu-spread", test_multi_vcpu_spread);
    g_test_add_func("/balancer/churn", test_churn);
    g_test_add_func("/balancer/dry-run", test_dry_run);
    g_test_add_func("/balancer/excluded-and-allowed", test_excluded_and_allowed);
    g_test_add_func("/balancer/moves-helped", test_moves_helped);
    g_test_add_func("/balancer/failed-move-backs-off", test_failed_move_backs_off);
    g_test_add_func("/balancer/topology", test_topology);
    g_test_add_func("/balancer/pin-to-core", test_pin_to_core);
    g_test_add_data_func("/balancer/numa-home", GINT_TO_POINTER(FALSE), test_numa_home);
    g_test_add_data_func("/balancer/numa-home-numatune", GINT_TO_POINTER(TRUE), test_numa_home);
    g_test_add_func("/balancer/numa-home-after-search", test_numa_home_after_search);
    g_test_add_func("/balancer/numa-home-refused", test_numa_home_refused);
    g_test_add_data_func("/balancer/numa-home-again", GINT_TO_POINTER(HOME_AGAIN),
                         test_numa_home_restart);
    g_test_add_data_func("/balancer/numa-home-restart", GINT_TO_POINTER(HOME_RESTART),
                         test_numa_home_restart);
    g_test_add_data_func("/balancer/numa-home-operator-restart",
                         GINT_TO_POINTER(HOME_OPERATOR_RESTART), test_numa_home_restart);
    g_test_add_data_func("/balancer/numa-home-malformed", GINT_TO_POINTER(HOME_MALFORMED),
                         test_numa_home_restart);
    g_test_add_data_func("/balancer/numa-home-pin-to-node", "node", test_numa_home_pin_to);
    g_test_add_data_func("/balancer/numa-home-pin-to-cache", "cache", test_numa_home_pin_to);
    int rc = g_test_run();
    g_clear_pointer(&verdicts, g_ptr_array_unref);
    g_clear_pointer(&homes, g_ptr_array_unref);
    return rc;
}
