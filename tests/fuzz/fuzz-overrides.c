/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the runtime-overrides state file (STATE_DIR/overrides.conf) as a hostile
 * or damaged disk leaves it: an INI drop-in, a file in the earlier "section.key = value"
 * format (converted and rewritten), or garbage (refused, kept as overrides.conf.rejected at
 * the next write). After the load, a `vmbalancectl set` and a `reset` go through it, and a
 * second instance loading the file from disk must see what the first one saved. */
#include <stdio.h>

#include "config.h"
#include "overrides.h"

#define VMB_FUZZ_WITH_CONFIG
#include "fuzz-common.h"

static char *tmp, *path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_logging();
    tmp = fuzz_make_tmp("vmb-fuzz-overrides");
    path = g_build_filename(tmp, VMB_OVERRIDES_FILE, NULL);
    return 0;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    fuzz_clear_dir(tmp);
    fuzz_write(path, data, size);

    g_autoptr(VmbOverrides) o = vmb_overrides_new(tmp);
    vmb_overrides_load(o);
    g_autoptr(VmbConfig) running = vmb_overrides_rebase(o, vmb_config_new_defaults());
    if (!vmb_config_validate(running, NULL)) {
        fprintf(stderr, "fuzz: the overrides gave an invalid configuration\n");
        abort();
    }
    fuzz_read_back(running);

    /* A set over whatever was loaded: saved, and seen by the next instance. */
    g_autoptr(GError) error = NULL;
    g_autoptr(VmbConfig) after_set = vmb_overrides_set(o, "cpu.max_moves", "3", &error);
    if (!after_set) {
        fprintf(stderr, "fuzz: set cpu.max_moves = 3 failed: %s\n", error->message);
        abort();
    }
    g_autoptr(VmbOverrides) again = vmb_overrides_new(tmp);
    vmb_overrides_load(again);
    if (g_strcmp0(vmb_overrides_lookup(again, "cpu.max_moves"), "3") != 0) {
        fprintf(stderr, "fuzz: cpu.max_moves = 3 was set but reads back as '%s'\n",
                vmb_overrides_lookup(again, "cpu.max_moves"));
        abort();
    }
    g_autoptr(VmbConfig) rebased = vmb_overrides_rebase(again, vmb_config_new_defaults());
    if (rebased->cpu_max_moves != 3) {
        fprintf(stderr, "fuzz: cpu.max_moves = 3 was set but the next start runs on %u\n",
                rebased->cpu_max_moves);
        abort();
    }

    g_autoptr(VmbConfig) after_reset = vmb_overrides_reset(again, "cpu.max_moves", &error);
    if (!after_reset) {
        fprintf(stderr, "fuzz: reset cpu.max_moves failed: %s\n", error->message);
        abort();
    }
    return 0;
}
