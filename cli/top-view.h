/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `vmbalancectl top`: one frame of the refreshing view, built from the status and the
 * latest actions (pure: the shell in top.c fetches, draws and reads keys). */
#pragma once

#include <glib.h>

#include "status-model.h"

/* How many decisions the frame lists, newest first. */
#define VMB_TOP_DECISIONS 8

typedef struct {
    guint rows, columns; /* the terminal's size; 0: no terminal, nothing is cut */
    guint interval_s;
    gboolean unicode; /* block characters for the load bars */
    gint64 now_us;    /* wall clock shown in the header */
} VmbTopLayout;

/* The frame's text, lines ending in '\n': a header, the status summary (tasks, counters,
 * host memory, pCPU load bars), the latest @actions (VmbCtlAction, oldest first, as
 * GetHistory gives them; NULL: none) newest first, then the domain table. With @error (the
 * daemon could not be asked) the header and the error instead. Cut to @layout's size: lines
 * to its columns, and the last rows replaced by a line saying how many are not shown. */
char *vmb_top_frame(const VmbTopLayout *layout, const VmbCtlStatus *status, GArray *actions,
                    const char *error);
