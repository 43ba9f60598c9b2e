/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the /proc/stat parser (vmb_host_proc_parse_stat). The first byte of the
 * input is the host's number of pCPUs (1..256), the rest the file. The text is passed as
 * the exact bytes with its length and no terminator, so a read past the end is an ASan
 * error. On success every CPU's bound time must be within its busy time. */
#include <stdio.h>

#include "host-proc.h"

#include "fuzz-common.h"

FUZZ_DEFINE_INIT_LOGGING_ONLY()

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (size < 1)
        return 0;
    guint npcpus = (guint) data[0] + 1;
    gsize length = size - 1;
    g_autofree char *text = fuzz_exact_copy(data + 1, length);
    g_autofree guint64 *bound = g_new0(guint64, npcpus);
    g_autoptr(GError) error = NULL;
    g_autofree guint64 *busy =
        vmb_host_proc_parse_stat("fuzz/stat", text, length, npcpus, 10000000, bound, &error);
    if (!busy) {
        fuzz_require_message(error, "vmb_host_proc_parse_stat");
        return 0;
    }
    for (guint i = 0; i < npcpus; i++) {
        if (bound[i] > busy[i]) {
            fprintf(stderr,
                    "fuzz: cpu%u bound %" G_GUINT64_FORMAT " ns > busy %" G_GUINT64_FORMAT " ns\n",
                    i, bound[i], busy[i]);
            abort();
        }
    }
    return 0;
}
