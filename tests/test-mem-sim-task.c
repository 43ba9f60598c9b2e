/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory task's own tests on small scenarios, driven every interval with a manual clock:
 * what it logs and reports, a domain's policy, dry-run, autodeflate and reconnection, balloons
 * still inflating at boot, paging, bursts, free page reporting and virtio-mem. */
#include <glib.h>
#include <string.h>

#include "config.h"
#include "hv-fake.h"
#include "log.h"
#include "mem-policy.h"
#include "mem-task.h"
#include "test-mem-sim.h"

static guint
count_captured(const char *needle1, const char *needle2)
{
    guint n = 0;
    for (guint i = 0; i < captured->len; i++) {
        const char *m = captured->pdata[i];
        if (strstr(m, needle1) && (!needle2 || strstr(m, needle2)))
            n++;
    }
    return n;
}

typedef struct {
    guint reports;
    guint by_reason[8];
    GHashTable *domains; /* names that had an action */
} Reports;

static void
on_report(const VmbAction *a, gpointer data)
{
    Reports *r = data;
    g_assert_cmpint(a->kind, ==, VMB_ACTION_MEMORY);
    r->reports++;
    g_hash_table_add(r->domains, g_strdup(a->domain));
    for (guint k = 0; k <= VMB_MEM_ACCEPT; k++) {
        if (g_strcmp0(a->reason, vmb_mem_reason_to_string(k)) == 0)
            r->by_reason[k]++;
    }
}

/* Runs the task every interval for @duration on @hv; returns the cycles that ran. */
static guint
drive(VmbHypervisor *hv, VmbMemTask *task, const VmbConfig *c, gboolean dry_run, double duration,
      Reports *rep)
{
    guint ran = 0;
    for (double t = 0; t < duration; t += vmb_config_mem_interval(c)) {
        vmb_hv_fake_advance(hv, vmb_config_mem_interval(c));
        g_autoptr(GError) error = NULL;
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(hv, &error);
        if (!s) {
            g_assert_error(error, VMB_HV_ERROR, VMB_HV_ERROR_DISCONNECTED);
            hv->next_retry_us = 0; /* the manual clock stands in for the backoff delay */
            continue;
        }
        VmbMemCycleResult res;
        vmb_mem_task_run(task, hv, s, c, dry_run, on_report, rep, &res);
        g_assert_cmpuint(res.failed, ==, 0);
        ran++;
    }
    return ran;
}

/* What the daemon does on a (re)connection. */
static void
on_connection(VmbHypervisor *hv, gboolean connected, const char *reason, gpointer data)
{
    if (connected)
        vmb_mem_task_reconnected(data);
}

/* A scenario of tests/scenarios/. */
static VmbScenario *
load_file(const char *file)
{
    g_autofree char *path = g_build_filename(VMB_SRCDIR, "tests", "scenarios", file, NULL);
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load(path, &error);
    g_assert_no_error(error);
    return scen;
}

/* A scenario written in the test. */
static VmbScenario *
load_data(const char *data)
{
    g_autoptr(GError) error = NULL;
    VmbScenario *scen = vmb_scenario_load_data(data, &error);
    g_assert_no_error(error);
    return scen;
}

typedef enum {
    CASE_PLAIN = 0,
    CASE_RESERVE = 1 << 0,   /* the fake counts dips below the configuration's host reserve */
    CASE_RECONNECT = 1 << 1, /* the task hears of each (re)connection, as in the daemon */
} CaseFlags;

/* What every case sets up: the configuration (default but for the memory interval), the
 * fake host connected on its scenario, the task and what it reported. */
typedef struct {
    VmbConfig *c;
    VmbHypervisor *hv;
    VmbMemTask task;
    Reports rep;
} TaskCase;

/* Sets @f up on @scen (taken). The task lives in @f, which must not move while the host
 * holds it for CASE_RECONNECT. */
static void
task_case_setup(TaskCase *f, VmbScenario *scen, guint mem_interval, CaseFlags flags)
{
    f->c = vmb_config_new_defaults();
    f->c->mem_interval = mem_interval;
    guint64 total = scen->memory_mib * 1024;
    f->hv = vmb_hv_fake_new_from_scenario(scen, TRUE);
    if (flags & CASE_RESERVE)
        vmb_hv_fake_set_reserve(f->hv, reserve_kib(f->c, total));
    vmb_mem_task_init(&f->task);
    if (flags & CASE_RECONNECT)
        vmb_hypervisor_set_connection_func(f->hv, on_connection, &f->task);
    g_autoptr(GError) error = NULL;
    g_assert_true(vmb_hypervisor_ensure_connected(f->hv, &error));
    f->rep.domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

/* Also ends a log capture and the log-once state, which would leak into the next case. */
static void
task_case_clear(TaskCase *f)
{
    if (!f->hv)
        return;
    g_clear_pointer(&captured, g_ptr_array_unref);
    g_clear_pointer(&f->rep.domains, g_hash_table_unref);
    vmb_mem_task_clear(&f->task);
    vmb_log_once_reset_all();
    g_clear_pointer(&f->hv, vmb_hypervisor_free);
    g_clear_pointer(&f->c, vmb_config_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TaskCase, task_case_clear)

/* Stale statistics, a domain without a balloon and one without the driver are each logged
 * once (and "resumed" once), every change is reported exactly once, excluded and
 * unmanageable guests keep their memory, and a guaranteed guest stays at its guarantee. */
void
test_task_idle(void)
{
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_file("mem-idle.ini"), 1, CASE_RESERVE);
    g_assert_true(vmb_config_set(f.c, "exclude", "idle4", NULL));
    captured = g_ptr_array_new_with_free_func(g_free);
    drive(f.hv, &f.task, f.c, FALSE, 120, &f.rep);

    g_assert_cmpuint(count_captured("flaky", "s old"), ==, 1);
    g_assert_cmpuint(count_captured("flaky", "resumed"), ==, 1);
    g_assert_cmpuint(count_captured("noballoon", "no usable memory balloon"), ==, 1);
    g_assert_cmpuint(count_captured("nodriver", "no balloon statistics"), ==, 1);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(f.hv, &counters);
    g_assert_cmpuint(f.rep.reports, ==, counters.memory_changes);
    g_assert_cmpuint(f.rep.reports, ==, f.task.changes);
    g_assert_cmpuint(count_captured("set ", "memory:"), ==, f.rep.reports);
    g_assert_cmpuint(counters.oom_kills, ==, 0);
    static const char *const untouched[] = {"idle4", "noballoon", "nodriver"};
    for (guint i = 0; i < G_N_ELEMENTS(untouched); i++) {
        VmbFakeDomainInfo info;
        g_assert_true(vmb_hv_fake_domain_info(f.hv, untouched[i], &info));
        g_assert_cmpuint(info.actual_kib, ==, 1024 * 1024);
        g_assert_false(g_hash_table_contains(f.rep.domains, untouched[i]));
    }
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "guaranteed", &info));
    g_assert_cmpuint(info.actual_kib, ==, 768 * 1024);
    /* idle1 uses 100 MiB: it ends at its use plus the band's middle, above the floor. */
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "idle1", &info));
    g_assert_cmpuint(info.actual_kib, >=, 128 * 1024);
    g_assert_cmpuint(info.actual_kib, <=, 260 * 1024);
}

#define IDLE_GUEST "load = 2\nmemory_mib = 2048\ncurrent_mib = 1536\nused_mib = 100\n"

/* A domain's own policy over the memory task: memory="off" and the definition's hugepages or
 * VFIO device leave its balloon alone, memory="auto" wins over exclude, min_mib is a floor. */
void
test_task_metadata(void)
{
    static const char scenario[] =
        "[host]\ncpus = 2\nmemory_mib = 16384\nhost_used_mib = 1024\n"
        "[domain plain]\n" IDLE_GUEST "[domain off]\n" IDLE_GUEST
        "metadata = <policy memory=\"off\"/>\n"
        "[domain legacy]\n" IDLE_GUEST "metadata = <policy memory=\"auto\"/>\n"
        "[domain floor]\n" IDLE_GUEST "metadata = <policy min_mib=\"1024\"/>\n"
        "[domain huge]\n" IDLE_GUEST
        "definition = <domain><memoryBacking><hugepages/></memoryBacking></domain>\n"
        "[domain vfio]\n" IDLE_GUEST
        "definition = <domain><devices><hostdev mode='subsystem' type='pci'/></devices></domain>\n";
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_data(scenario), 1, CASE_PLAIN);
    g_assert_true(vmb_config_set(f.c, "exclude", "legacy", NULL));
    drive(f.hv, &f.task, f.c, FALSE, 60, &f.rep);

    static const char *const untouched[] = {"off", "huge", "vfio"};
    for (guint i = 0; i < G_N_ELEMENTS(untouched); i++) {
        VmbFakeDomainInfo info;
        g_assert_true(vmb_hv_fake_domain_info(f.hv, untouched[i], &info));
        g_assert_cmpuint(info.actual_kib, ==, 1536 * 1024);
        g_assert_false(g_hash_table_contains(f.rep.domains, untouched[i]));
    }
    VmbFakeDomainInfo info;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "plain", &info));
    g_assert_cmpuint(info.actual_kib, <, 1024 * 1024);
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "legacy", &info));
    g_assert_cmpuint(info.actual_kib, <, 1024 * 1024);
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "floor", &info));
    g_assert_true(g_hash_table_contains(f.rep.domains, "floor"));
    g_assert_cmpuint(info.actual_kib, ==, 1024 * 1024);
}

/* Dry-run changes nothing and reports each would-be target once, not every cycle. */
void
test_task_dry_run(void)
{
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_file("mem-idle.ini"), 1, CASE_RESERVE);
    drive(f.hv, &f.task, f.c, TRUE, 30, &f.rep);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(f.hv, &counters);
    g_assert_cmpuint(counters.memory_changes, ==, 0);
    /* idle1-6, guaranteed and flaky would shrink; a page cache filling up does not change
     * the would-be target. */
    g_assert_cmpuint(g_hash_table_size(f.rep.domains), ==, 8);
    g_assert_cmpuint(f.rep.reports, ==, 8);
}

/* A guest with autodeflate jumps past its actual: it takes the memory itself (no OOM) and
 * the coordinator then grows it instead of pushing it back; the domain restarting (forget)
 * and the host going away for a while (reconnect) do not upset it. */
void
test_task_autodeflate(void)
{
    static const char scenario[] = "[host]\n"
                                   "memory_mib = 4096\n"
                                   "host_used_mib = 512\n"
                                   "down = 40:45\n"
                                   "[domain deflater]\n"
                                   "memory_mib = 1024\n"
                                   "current_mib = 512\n"
                                   "autodeflate = yes\n"
                                   "used_mib = 0:100 20:100 20:450\n";
    VmbScenario *scen = load_data(scenario);
    const char *uuid = ((VmbScenarioDomain *) scen->domains->pdata[0])->uuid;
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, scen, 1, CASE_RECONNECT);
    drive(f.hv, &f.task, f.c, FALSE, 19, &f.rep);
    VmbFakeDomainInfo before;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "deflater", &before));
    g_assert_cmpuint(before.actual_kib, <, 300 * 1024); /* shrunk while idle */
    guint grows = f.rep.by_reason[VMB_MEM_GROW];
    drive(f.hv, &f.task, f.c, FALSE, 20, &f.rep);
    VmbFakeDomainInfo after;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "deflater", &after));
    g_assert_cmpuint(after.autodeflates, >, 0);
    g_assert_cmpuint(after.oom_kills, ==, 0);
    g_assert_cmpuint(f.rep.by_reason[VMB_MEM_GROW], >, grows);
    g_assert_cmpuint(after.target_kib, >=, after.actual_kib);
    g_assert_cmpuint(after.actual_kib, >=, (450 + 64) * 1024);

    /* Host unreachable at 40-45 s, then back: the task carries on after the reconnect. */
    g_assert_cmpuint(drive(f.hv, &f.task, f.c, FALSE, 20, &f.rep), >=, 12);
    g_assert_cmpuint(f.hv->reconnects, ==, 1);
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "deflater", &after));
    g_assert_cmpuint(after.oom_kills, ==, 0);
    double rate;
    g_assert_true(vmb_mem_task_rate(&f.task, uuid, &rate));
    g_assert_cmpfloat(ABS(rate), <, 1024); /* steady use */
    vmb_mem_task_forget(&f.task, uuid);    /* what a VANISHED/APPEARED event does */
    g_assert_false(vmb_mem_task_rate(&f.task, uuid, &rate));
}

/* The largest target set for each domain (by name, in KiB). */
static void
on_report_max(const VmbAction *a, gpointer data)
{
    GHashTable *max = data;
    guint64 old = GPOINTER_TO_SIZE(g_hash_table_lookup(max, a->domain));
    if (a->new_kib > old)
        g_hash_table_insert(max, g_strdup(a->domain), GSIZE_TO_POINTER(a->new_kib));
}

/* The lab's TCG guests: defined with 512 MiB current and 2 GiB maximum, QEMU starts them at
 * 2 GiB and the balloon inflates slowly (30 MiB/s here). The daemon starts meanwhile: it must
 * not take the not-yet-reached sizes for the guests' state and "shrink" them to something
 * above 512 MiB (which would replace libvirt's target with a larger one). */
void
test_task_boot_inflation(void)
{
    g_autoptr(GString) sc = g_string_new("[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n");
    for (guint i = 0; i < 4; i++)
        g_string_append_printf(sc,
                               "[domain boot%u]\nmemory_mib = 2048\ncurrent_mib = 512\n"
                               "boot_mib = 2048\nballoon_mib_s = %u\nused_mib = %u\n",
                               i, 20 + 10 * i, 80 + 40 * i);
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_data(sc->str), 5, CASE_PLAIN);
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) max = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (double t = 0; t < 180; t += 5) {
        vmb_hv_fake_advance(f.hv, 5);
        g_autoptr(VmbSnapshot) s = vmb_hypervisor_snapshot(f.hv, &error);
        g_assert_no_error(error);
        VmbMemCycleResult res;
        vmb_mem_task_run(&f.task, f.hv, s, f.c, FALSE, on_report_max, max, &res);
    }
    for (guint i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("boot%u", i);
        VmbFakeDomainInfo info;
        g_assert_true(vmb_hv_fake_domain_info(f.hv, name, &info));
        guint64 biggest = GPOINTER_TO_SIZE(g_hash_table_lookup(max, name));
        g_test_message("%s: actual %" G_GUINT64_FORMAT " MiB, largest target %" G_GUINT64_FORMAT
                       " MiB",
                       name, info.actual_kib / 1024, biggest / 1024);
        g_assert_cmpuint(biggest, <=, 512 * 1024);         /* never above libvirt's target */
        g_assert_cmpuint(info.actual_kib, <=, 512 * 1024); /* and it got there */
        g_assert_cmpuint(info.oom_kills, ==, 0);
    }
}

/* Runs a guest that keeps 200 MiB free by swapping while its use climbs 300 -> 1100 MiB in
 * 1 GiB: its free memory stays inside the band all along, only the paging shows. Without
 * @signals the swap-in and major fault thresholds are 0. */
static void
run_pager(gboolean signals, VmbFakeCounters *out, VmbFakeDomainInfo *info)
{
    static const char scenario[] = "[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                                   "[domain pager]\nmemory_mib = 2048\ncurrent_mib = 1024\n"
                                   "swap_mib = 1024\nswap_free_mib = 200\npage_cache = 0\n"
                                   "used_mib = 0:300 20:300 60:1100\n";
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_data(scenario), 1, CASE_PLAIN);
    if (!signals) {
        f.c->mem_swap_in_kib_s = 0;
        f.c->mem_major_faults_s = 0;
    }
    drive(f.hv, &f.task, f.c, FALSE, 120, &f.rep);
    vmb_hv_fake_counters(f.hv, out);
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "pager", info));
}

/* Swap-in and major faults make a guest starving inside its band: it is grown out of swap,
 * where without the signals (thresholds 0) it pages on. */
void
test_task_paging(void)
{
    VmbFakeCounters with, without;
    VmbFakeDomainInfo iw, iwo;
    run_pager(TRUE, &with, &iw);
    run_pager(FALSE, &without, &iwo);
    g_test_message(
        "with the signals: %.1f s swapping, %.0f MiB swapped in, actual %" G_GUINT64_FORMAT
        " MiB; without: %.1f s, %.0f MiB, %" G_GUINT64_FORMAT " MiB",
        with.swapping_s, with.swap_in_mib, iw.actual_kib / 1024, without.swapping_s,
        without.swap_in_mib, iwo.actual_kib / 1024);
    g_assert_cmpfloat(without.swapping_s, >, 60);
    g_assert_cmpfloat(with.swapping_s, <, without.swapping_s / 4);
    g_assert_cmpfloat(with.swap_in_mib, <, without.swap_in_mib / 4);
    g_assert_cmpuint(with.oom_kills, ==, 0);
}

/* A guest that jumped by 400 MiB keeps room for its next jump after the first one ended (it is
 * not trimmed back to its idle band), and the second jump lands without an OOM kill. */
void
test_task_burst(void)
{
    static const char scenario[] = "[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                                   "[domain jumper]\nmemory_mib = 2048\ncurrent_mib = 1024\n"
                                   "page_cache = 0\nused_mib = 0:300 30:300 33:700 60:700 "
                                   "62:300 150:300 153:700 180:700\n";
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_data(scenario), 5, CASE_PLAIN);
    drive(f.hv, &f.task, f.c, FALSE, 145, &f.rep);
    VmbFakeDomainInfo before;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "jumper", &before));
    drive(f.hv, &f.task, f.c, FALSE, 50, &f.rep);
    VmbFakeDomainInfo after;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "jumper", &after));
    g_test_message("before the second jump: actual %" G_GUINT64_FORMAT
                   " MiB; OOM kills %u, then %u",
                   before.actual_kib / 1024, before.oom_kills, after.oom_kills);
    /* idle at 300 MiB it would be at about 414 MiB (use / 0.725) */
    g_assert_cmpuint(before.actual_kib, >=, (300 + 400) * 1024);
    g_assert_cmpuint(after.oom_kills, ==, before.oom_kills);
}

/* Free page reporting: an idle guest whose freed pages went back to the host by themselves
 * is not shrunk for nothing (its QEMU holds only what it uses), unlike the same guest without
 * reporting; once the host itself runs short, it is capped all the same. */
void
test_task_free_page_reporting(void)
{
    static const char scenario[] = "[host]\nmemory_mib = 4096\nhost_used_mib = 0:1024 60:1024 "
                                   "70:3400\n"
                                   "[domain plain]\nmemory_mib = 2048\ncurrent_mib = 1536\n"
                                   "used_mib = 150\npage_cache = 0\nlazy = yes\n"
                                   "[domain reporting]\nmemory_mib = 2048\ncurrent_mib = 1536\n"
                                   "used_mib = 150\npage_cache = 0\nfree_page_reporting = yes\n";
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_data(scenario), 2, CASE_PLAIN);
    drive(f.hv, &f.task, f.c, FALSE, 56, &f.rep);
    VmbFakeDomainInfo plain, reporting;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "plain", &plain));
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "reporting", &reporting));
    g_test_message("at 56 s: plain %" G_GUINT64_FORMAT " MiB, reporting %" G_GUINT64_FORMAT " MiB",
                   plain.actual_kib / 1024, reporting.actual_kib / 1024);
    g_assert_cmpuint(plain.actual_kib, <=, 600 * 1024);
    g_assert_cmpuint(reporting.actual_kib, >=, 1528 * 1024);
    g_assert_false(g_hash_table_contains(f.rep.domains, "reporting"));
    drive(f.hv, &f.task, f.c, FALSE, 60, &f.rep);
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "reporting", &reporting));
    g_test_message("at 116 s, the host short: reporting %" G_GUINT64_FORMAT " MiB",
                   reporting.actual_kib / 1024);
    g_assert_cmpuint(reporting.actual_kib, <=, 600 * 1024);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(f.hv, &counters);
    g_assert_cmpuint(counters.oom_kills, ==, 0);
}

/* A guest with 1 GiB of boot memory and a 1 GiB virtio-mem device: growing past its boot
 * memory plugs blocks (the balloon alone could not), no OOM kill; when its use falls back the
 * blocks are unplugged (slowly) while the balloon takes the memory at once. */
void
test_task_virtio_mem(void)
{
    static const char scenario[] = "[host]\nmemory_mib = 16384\nhost_used_mib = 1024\n"
                                   "[domain vm]\nmemory_mib = 2048\ncurrent_mib = 768\n"
                                   "vmem_mib = 1024\nvmem_block_mib = 128\npage_cache = 0\n"
                                   "used_mib = 0:300 20:300 50:1400 90:1400 92:300\n";
    g_auto(TaskCase) f = {0};
    task_case_setup(&f, load_data(scenario), 2, CASE_PLAIN);
    f.c->mem_max_shrink_mib = 1024; /* one big shrink: the balloon takes it while blocks unplug */
    drive(f.hv, &f.task, f.c, FALSE, 88, &f.rep);
    VmbFakeDomainInfo peak, end;
    g_assert_true(vmb_hv_fake_domain_info(f.hv, "vm", &peak));
    /* while it unplugs, the guest keeps its balloon target: never squeezed to OOM's edge */
    double min_free = G_MAXDOUBLE;
    for (guint k = 0; k < 60; k++) {
        drive(f.hv, &f.task, f.c, FALSE, 2, &f.rep);
        g_assert_true(vmb_hv_fake_domain_info(f.hv, "vm", &end));
        min_free = MIN(min_free, ((double) end.actual_kib - (double) end.used_kib) / 1024);
    }
    g_test_message("lowest actual - use while unplugging: %.0f MiB", min_free);
    g_assert_cmpfloat(min_free, >=, 64);
    VmbFakeCounters counters;
    vmb_hv_fake_counters(f.hv, &counters);
    g_test_message("at 88 s: actual %" G_GUINT64_FORMAT " MiB, plugged %" G_GUINT64_FORMAT
                   " MiB; at 208 s: actual %" G_GUINT64_FORMAT " MiB, plugged %" G_GUINT64_FORMAT
                   " MiB; %" G_GUINT64_FORMAT " device changes, %u OOM kills",
                   peak.actual_kib / 1024, peak.vmem_plugged_kib / 1024, end.actual_kib / 1024,
                   end.vmem_plugged_kib / 1024, counters.vmem_changes, counters.oom_kills);
    g_assert_cmpuint(peak.actual_kib, >=, 1400 * 1024);
    g_assert_cmpuint(peak.vmem_plugged_kib, >=, 384 * 1024);
    g_assert_cmpuint(peak.vmem_plugged_kib % (128 * 1024), ==, 0);
    g_assert_cmpuint(counters.oom_kills, ==, 0);
    g_assert_cmpuint(end.vmem_plugged_kib, ==, 0);    /* 300 MiB fit in the boot memory */
    g_assert_cmpuint(end.actual_kib, <=, 700 * 1024); /* use + band + the room its ramp taught */
}
