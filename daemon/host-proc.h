/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Readers of the host's /proc files: per-CPU busy time from /proc/stat and host memory from
 * /proc/meminfo. Pure GLib (no libvirt, GIO, libsystemd or iniparser), so they can live in a
 * library of their own.
 *
 * Each reader takes a path, so tests point it at fixture files; the parsers under it take a
 * buffer. Nothing in the file is trusted: reads stop at a size cap, every number is checked
 * (digits only, no sign, no overflow), and a malformed file fails with a VMB_HOST_PROC_ERROR
 * whose message names the file, the line and what was wrong. */
#pragma once

#include <glib.h>

#define VMB_HOST_PROC_STAT_PATH    "/proc/stat"
#define VMB_HOST_PROC_MEMINFO_PATH "/proc/meminfo"

/* Size caps. /proc/stat has a line per online CPU (about 60 bytes each) and an "intr" line with
 * a counter per interrupt number: a few hundred KiB on the largest hosts. /proc/meminfo is about
 * 1.5 KiB. */
#define VMB_HOST_PROC_STAT_MAX_BYTES    (4 * 1024 * 1024)
#define VMB_HOST_PROC_MEMINFO_MAX_BYTES (64 * 1024)

#define VMB_HOST_PROC_ERROR (vmb_host_proc_error_quark())
GQuark vmb_host_proc_error_quark(void);

typedef enum {
    VMB_HOST_PROC_ERROR_READ,      /* cannot open or read the file, or it exceeds its cap */
    VMB_HOST_PROC_ERROR_MALFORMED, /* the content does not parse (or looks truncated) */
    VMB_HOST_PROC_ERROR_MISSING,   /* a needed field is absent, e.g. MemAvailable before 3.14 */
} VmbHostProcError;

/* Reads all of @path into a NUL-terminated string (g_free() it), failing with
 * VMB_HOST_PROC_ERROR_READ when it holds more than @max_bytes. @length (optional) receives the
 * size without the terminator. Works on /proc files, whose stat() size is 0. */
char *vmb_host_proc_read_file(const char *path, gsize max_bytes, gsize *length, GError **error);

/* The length of a clock tick (USER_HZ, the unit of /proc/stat) in nanoseconds. */
gboolean vmb_host_proc_tick_ns(guint64 *tick_ns, GError **error);

/* Busy time per CPU, in nanoseconds, from /proc/stat text: user + nice + system + irq + softirq
 * + steal ticks (guest time is already inside user; idle and iowait are not busy) times
 * @tick_ns. Returns a new array of @npcpus counters (g_free() it); CPUs without a line (offline)
 * are 0 and lines of CPUs >= @npcpus are checked but ignored. Lines need at least the four
 * fields of the oldest kernels (user nice system idle); missing later fields count as 0.
 * @bound_ns, when not NULL, is an array of @npcpus that receives the part of each busy time
 * bound to the CPU (irq + softirq + steal: interrupt
 * affinity, or the hypervisor below took the CPU); entries of CPUs without a line are left as
 * they are: pass zeroed arrays.
 * @origin names the text in error messages (its path). NULL with @error when malformed: no per-CPU
 * line, a field that is not a number, an overflow, a CPU listed twice, a NUL byte, or a file that
 * does not end with a newline or ends right after the per-CPU lines (truncated). */
guint64 *vmb_host_proc_parse_stat(const char *origin, const char *text, gsize length, guint npcpus,
                                  guint64 tick_ns, guint64 *bound_ns, GError **error);

/* The same from the file at @path (VMB_HOST_PROC_STAT_PATH on a real host). */
guint64 *vmb_host_proc_read_stat(const char *path, guint npcpus, guint64 tick_ns, guint64 *bound_ns,
                                 GError **error);

typedef struct {
    guint64 total_kib;     /* MemTotal */
    guint64 available_kib; /* MemAvailable: what can be allocated without swapping */
} VmbHostMemInfo;

/* MemTotal and MemAvailable from /proc/meminfo text ("Key:   value kB" lines). Fails with
 * VMB_HOST_PROC_ERROR_MISSING when either line is absent (kernels before 3.14 have no
 * MemAvailable: the caller decides what to use instead), VMB_HOST_PROC_ERROR_MALFORMED on a line
 * without a colon, a value that is not a number of kB, a field listed twice, a MemTotal of 0, a
 * NUL byte or a missing final newline. @info is only written on success. */
gboolean vmb_host_proc_parse_meminfo(const char *origin, const char *text, gsize length,
                                     VmbHostMemInfo *info, GError **error);

/* The same from the file at @path (VMB_HOST_PROC_MEMINFO_PATH on a real host). */
gboolean vmb_host_proc_read_meminfo(const char *path, VmbHostMemInfo *info, GError **error);
