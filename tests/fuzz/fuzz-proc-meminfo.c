/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the /proc/meminfo parser (vmb_host_proc_parse_meminfo). The text is
 * passed as the exact bytes with its length and no terminator, so a read past the end is an
 * ASan error. On success MemTotal is not 0 and @info was written; on failure it was not. */
#include <stdio.h>

#include "host-proc.h"

#include "fuzz-common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_logging();
    return 0;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = g_malloc(MAX(size, 1)); /* exactly the input (malloc(0) may be NULL) */
    if (size)
        memcpy(text, data, size);
    VmbHostMemInfo info = {G_MAXUINT64, G_MAXUINT64};
    g_autoptr(GError) error = NULL;
    if (vmb_host_proc_parse_meminfo("fuzz/meminfo", text, size, &info, &error)) {
        if (info.total_kib == 0 || info.total_kib == G_MAXUINT64 ||
            info.available_kib == G_MAXUINT64) {
            fprintf(stderr,
                    "fuzz: meminfo parsed but total %" G_GUINT64_FORMAT
                    " available %" G_GUINT64_FORMAT "\n",
                    info.total_kib, info.available_kib);
            abort();
        }
    } else {
        if (!error || !error->message || info.total_kib != G_MAXUINT64 ||
            info.available_kib != G_MAXUINT64) {
            fprintf(stderr, "fuzz: meminfo failed without a message or wrote @info\n");
            abort();
        }
    }
    return 0;
}
