/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An action a task took (or would take in dry-run): the record that is logged with its
 * journal fields, kept in the history and announced on the bus. */
#pragma once

#include <glib.h>

typedef enum {
    VMB_ACTION_PIN,
    VMB_ACTION_MEMORY,
} VmbActionKind;

typedef struct {
    VmbActionKind kind;
    gint64 wall_us; /* when, g_get_real_time() */
    const char *domain;
    const char *uuid;
    /* VMB_ACTION_PIN */
    guint vcpu;
    gint from_pcpu; /* -1 when it was floating (or on a set) */
    guint to_pcpu;  /* with a set pin, the set's first CPU */
    /* Set pins (cpu.pin_to): the CPU lists ("4-5"), NULL when one pCPU (or floating). */
    const char *from_cpus, *to_cpus;
    /* VMB_ACTION_MEMORY */
    guint64 old_kib, new_kib;
    const char *reason; /* short word: balance, spread, place, grow, shrink, ... */
    const char *detail; /* one human sentence with the numbers behind the decision */
    gboolean dry_run;
} VmbAction;

/* A pin action's pin before (@to FALSE) or after as a CPU list: the set, the one pCPU, or ""
 * for a vCPU that floated. */
char *vmb_action_cpus(const VmbAction *a, gboolean to);

typedef void (*VmbActionFunc)(const VmbAction *action, gpointer user_data);

/* Logs @action once, with DOMAIN=, VCPU=, FROM_PCPU=, TO_PCPU=, OLD_KIB=, NEW_KIB=, REASON=. */
void vmb_action_log(const VmbAction *action);
