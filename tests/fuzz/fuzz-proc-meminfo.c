/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: the /proc/meminfo parser (vmb_host_proc_parse_meminfo). The text is
 * passed as the exact bytes with its length and no terminator, so a read past the end is an
 * ASan error. On success MemTotal is not 0 and @info was written; on failure it was not. */
#include <stdio.h>

#include "host-proc.h"

#include "fuzz-common.h"

FUZZ_DEFINE_INIT_LOGGING_ONLY()

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = fuzz_exact_copy(data, size);
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
