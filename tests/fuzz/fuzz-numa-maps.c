/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the /proc/PID/numa_maps parser (vmb_numa_maps_parse) and the node choice
 * on its result. The text is the exact bytes with no terminator, so a read past the end is an
 * ASan error. On success the chosen node holds the most KiB; on failure there is a message. */
#include <stdio.h>

#include "numa-maps.h"

#include "fuzz-common.h"

#define NODES 4

FUZZ_DEFINE_INIT_LOGGING_ONLY()

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = fuzz_exact_copy(data, size);
    guint64 kib[NODES] = {0}, ignored = 0;
    g_autoptr(GError) error = NULL;
    if (!vmb_numa_maps_parse(text, size, kib, NODES, &ignored, &error)) {
        fuzz_require_message(error, "numa_maps");
        return 0;
    }
    gint home = vmb_numa_maps_home(kib, NODES);
    for (guint n = 0; n < NODES; n++) {
        if ((home < 0 && kib[n]) || (home >= 0 && kib[n] > kib[home])) {
            fprintf(stderr, "fuzz: node %d chosen but node %u holds more\n", home, n);
            abort();
        }
    }
    return 0;
}
