/*
 * vmb-workload: the main workload of a vmbalance lab guest (started by the
 * initramfs /init).  It gives the host a guest whose CPU and memory demand
 * is known and can be changed while it runs.
 *
 * CPU:    N burner threads.  Every 100 ms period (aligned on the monotonic
 *         clock, the same for all threads) each thread spins for D ms of
 *         WALL time and sleeps for the rest, so a vCPU running a burner is
 *         runnable D % of the time.  Threads share the same window, so N
 *         threads on one vCPU still make that vCPU D % busy; with N >= vCPUs
 *         every vCPU is D % busy.
 * Memory: a forked child ("vmb-memhog", oom_score_adj 1000) holds M MiB in
 *         1 MiB chunks, each page written so it is really resident.  The
 *         held amount follows a target, immediately or ramping at R MiB/s.
 *         When the guest runs out of memory the kernel kills the child (the
 *         kernel prints "Out of memory: Killed process ..." on the console);
 *         we print "vmb-workload: memory child killed (oom) ..." and fork a
 *         new child after 1 s that asks for the current demand again.
 *
 * Parameters come from the kernel command line (/proc/cmdline) and can be
 * overridden by argv, same syntax:
 *   vmb.threads=N  vmb.duty=D  vmb.mem=M      initial threads, duty %, MiB
 *   vmb.target=T vmb.rate=R                  then ramp from M to T at R MiB/s
 *   vmb.ctl=PATH                             control device ("-" = stdin/
 *                                            stdout; default: the virtio-
 *                                            serial port named
 *                                            org.vmbalance.ctl)
 * Control protocol: one command per line, one reply line per command:
 *   duty D | threads N | mem M [RATE] | status | ping
 *   replies start with "ok " or "err ".
 *
 * Build: gcc -static -O2 -pthread -Wall -Wextra -o vmb-workload workload.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_MS     100
#define MAX_THREADS   64
#define MAX_MIB       (64 * 1024) /* 64 GiB: more than any lab guest */
#define MIB           (1024L * 1024L)
#define TICK_MS       50    /* main loop period */
#define RESPAWN_MS    1000  /* delay before re-forking the child */
#define READY_WAIT_MS 60000 /* max wait for initial memory */
#define CTL_NAME      "org.vmbalance.ctl"
#define LINE_MAX_LEN  256

/* ---- shared state ------------------------------------------------------ */

/* Burner settings, read by the burner threads every period. */
static atomic_int g_threads; /* wanted number of burner threads */
static atomic_int g_duty;    /* duty cycle in % (0..100) */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_started; /* burner threads created so far */

/* Shared with the memory child (MAP_SHARED, survives fork). */
struct memshm {
    atomic_long want_mib; /* written by main: what to hold now */
    atomic_long held_mib; /* written by child: what it holds */
};
static struct memshm *g_shm;

/* Memory demand, owned by the main thread. */
static long g_target_mib; /* where the ramp goes */
static long g_rate;       /* MiB/s, 0 = jump at once */
static double g_want;     /* current point of the ramp */
static pid_t g_child = -1;
static long g_oom_kills, g_child_deaths;
static long long g_respawn_at; /* monotonic ms, when child is dead */

static long long g_start_ms;

/* ---- small helpers ----------------------------------------------------- */

static long long
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Formats one line into buf (truncated to fit) and ends it with '\n'; returns its length
 * with the newline, or -1. */
static int
vformat_line(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size - 1, fmt, ap);
    if (n < 0)
        return -1;
    if (n > (int) size - 2)
        n = (int) size - 2;
    buf[n++] = '\n';
    return n;
}

/* Log a line on stdout (the serial console under /init). */
static void
logf_(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vformat_line(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* one write() per line so lines from threads don't interleave */
    if (write(STDOUT_FILENO, buf, n) < 0) {
        /* nothing useful to do */
    }
}

/* Write a whole small file (used for /proc/self/oom_score_adj). */
static void
write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, s, strlen(s)) < 0) {
        /* best effort */
    }
    close(fd);
}

/* Parse a non-negative decimal within [0,max]; -1 on error. */
static long
parse_num(const char *s, long max)
{
    char *end;
    long v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > max)
        return -1;
    return v;
}

/* The kernel's oom_kill counter (0 if unavailable). */
static long
vmstat_oom_kills(void)
{
    char buf[8192];
    long v = 0;
    int fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
    ssize_t n;
    char *p;

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    p = strstr(buf, "\noom_kill ");
    if (p)
        v = strtol(p + 10, NULL, 10);
    return v;
}

/* ---- CPU burners ------------------------------------------------------- */

static void *
burner(void *arg)
{
    int idx = (int) (long) arg;
    volatile unsigned long sink = 0;

    for (;;) {
        /* Park while this thread is not wanted. */
        if (idx >= atomic_load(&g_threads)) {
            pthread_mutex_lock(&g_lock);
            while (idx >= atomic_load(&g_threads))
                pthread_cond_wait(&g_cond, &g_lock);
            pthread_mutex_unlock(&g_lock);
        }

        /* Current period [t0, t0 + PERIOD_MS), aligned for all threads. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long now_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
        long long period_ns = PERIOD_MS * 1000000LL;
        long long t0 = now_ns - now_ns % period_ns;
        long long spin_end = t0 + atomic_load(&g_duty) * 1000000LL;

        /* Spin until spin_end (wall time). A little arithmetic between
         * clock reads keeps the clock source from dominating. */
        while (now_ns < spin_end) {
            for (int i = 0; i < 2000; i++)
                sink += i ^ sink;
            clock_gettime(CLOCK_MONOTONIC, &now);
            now_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
        }

        /* Sleep until the next period starts. */
        long long next = t0 + period_ns;
        struct timespec ts = {next / 1000000000LL, next % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    return NULL;
}

/* Set the number of burner threads, creating threads on first use. */
static int
set_threads(int n)
{
    pthread_mutex_lock(&g_lock);
    while (g_started < n) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 64 * 1024);
        int rc = pthread_create(&t, &a, burner, (void *) (long) g_started);
        pthread_attr_destroy(&a);
        if (rc) {
            pthread_mutex_unlock(&g_lock);
            return -1;
        }
        g_started++;
    }
    atomic_store(&g_threads, n);
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

/* ---- memory child ------------------------------------------------------ */

/*
 * Runs in the forked child: only plain system calls here (the parent is
 * multi-threaded).  Holds exactly want_mib 1 MiB chunks, forever.
 */
static void
memhog(void)
{
    static char *chunks[MAX_MIB];
    long n = 0;
    long pg = sysconf(_SC_PAGESIZE);

    prctl(PR_SET_NAME, "vmb-memhog");
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the workload */
    write_file("/proc/self/oom_score_adj", "1000");
    atomic_store(&g_shm->held_mib, 0);

    for (;;) {
        long want = atomic_load(&g_shm->want_mib);

        if (n < want) {
            char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) {
                usleep(10000);
                continue;
            }
            /* Write every page (a non-zero word) so it is resident. */
            for (long off = 0; off < MIB; off += pg)
                *(volatile long *) (p + off) = off + n + 1;
            chunks[n++] = p;
            atomic_store(&g_shm->held_mib, n);
        } else if (n > want) {
            munmap(chunks[--n], MIB);
            atomic_store(&g_shm->held_mib, n);
        } else {
            usleep(20000);
        }
    }
}

static void
spawn_child(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        memhog();
        _exit(0);
    }
    if (pid < 0) {
        logf_("vmb-workload: fork failed: %s", strerror(errno));
        g_respawn_at = mono_ms() + RESPAWN_MS;
        return;
    }
    g_child = pid;
}

/* Reap the child if it died; report an OOM kill clearly. */
static void
check_child(long *oom_before)
{
    int st;

    if (g_child < 0)
        return;
    pid_t r = waitpid(g_child, &st, WNOHANG);
    if (r != g_child)
        return;

    long oom_now = vmstat_oom_kills();
    long held = atomic_load(&g_shm->held_mib);
    g_child_deaths++;
    /* The kernel's oom_kill counter tells an OOM kill from other deaths
     * (this process and init are exempt, so it was our child). */
    if (oom_now > *oom_before) {
        g_oom_kills++;
        logf_("vmb-workload: memory child killed (oom) pid=%d held_mib=%ld want_mib=%ld "
              "oom_kills=%ld",
              (int) g_child, held, (long) g_want, g_oom_kills);
    } else {
        logf_("vmb-workload: memory child died pid=%d %s %d", (int) g_child,
              WIFSIGNALED(st) ? "signal" : "exit",
              WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
    *oom_before = oom_now;
    atomic_store(&g_shm->held_mib, 0);
    g_child = -1;
    g_respawn_at = mono_ms() + RESPAWN_MS;
}

/* Move the ramp point g_want toward g_target_mib. */
static void
update_ramp(long long now_ms)
{
    static long long last;
    static int reached = 1;
    double dt = last ? (now_ms - last) / 1000.0 : 0;

    last = now_ms;
    if (g_rate == 0) {
        g_want = g_target_mib;
    } else if (g_want < g_target_mib) {
        g_want += g_rate * dt;
        if (g_want > g_target_mib)
            g_want = g_target_mib;
    } else if (g_want > g_target_mib) {
        g_want -= g_rate * dt;
        if (g_want < g_target_mib)
            g_want = g_target_mib;
    }
    atomic_store(&g_shm->want_mib, (long) g_want);

    /* Tell the console when the ramp has reached its target. */
    if ((long) g_want != g_target_mib)
        reached = 0;
    else if (!reached && atomic_load(&g_shm->held_mib) == g_target_mib) {
        reached = 1;
        logf_("vmb-workload: mem target reached held_mib=%ld", g_target_mib);
    }
}

/* ---- control channel --------------------------------------------------- */

static int g_ctl_in = -1, g_ctl_out = -1;
static char g_ctl_path[288] = "";
static int g_ctl_stdio; /* vmb.ctl=- */

/* Find /dev/<port> whose /sys/class/virtio-ports/<port>/name is CTL_NAME. */
static int
find_ctl_port(char *out, size_t outlen)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    int found = 0;

    if (!d)
        return 0;
    while (!found && (e = readdir(d))) {
        char p[300], name[128];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, name, sizeof(name) - 1);
        close(fd);
        if (n <= 0)
            continue;
        name[n] = 0;
        name[strcspn(name, "\n")] = 0;
        if (strcmp(name, CTL_NAME) == 0) {
            snprintf(out, outlen, "/dev/%s", e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

static void
ctl_open(void)
{
    if (g_ctl_stdio) {
        g_ctl_in = STDIN_FILENO;
        g_ctl_out = STDOUT_FILENO;
        return;
    }
    if (!g_ctl_path[0] && !find_ctl_port(g_ctl_path, sizeof(g_ctl_path)))
        return;
    int fd = open(g_ctl_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return; /* device node may not exist yet: retry later */
    g_ctl_in = g_ctl_out = fd;
    logf_("vmb-workload: control channel %s", g_ctl_path);
}

static void
reply(const char *fmt, ...)
{
    char buf[LINE_MAX_LEN + 64];
    va_list ap;

    va_start(ap, fmt);
    int n = vformat_line(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    logf_("vmb-workload: reply: %.*s", n - 1, buf);

    /*
     * The port is non-blocking.  A command can be read before the guest
     * has seen the port's "host connected" event (they come on different
     * virtqueues); until then write() fails with EAGAIN.  So retry for up
     * to 2 s, then drop the reply (host gone).
     */
    long long deadline = mono_ms() + 2000;
    for (int off = 0; off < n;) {
        ssize_t w = write(g_ctl_out, buf + off, n - off);
        if (w > 0) {
            off += w;
        } else if ((w < 0 && errno != EAGAIN && errno != EINTR) || mono_ms() > deadline) {
            logf_("vmb-workload: reply dropped (host side not connected)");
            break;
        } else {
            usleep(10000);
        }
    }
}

static void
handle_cmd(char *line)
{
    char *argv[4] = {0};
    int argc = 0;
    char *save = NULL;

    for (char *t = strtok_r(line, " \t\r", &save); t && argc < 4;
         t = strtok_r(NULL, " \t\r", &save))
        argv[argc++] = t;
    if (argc == 0)
        return;

    if (!strcmp(argv[0], "duty") && argc == 2) {
        long d = parse_num(argv[1], 100);
        if (d < 0) {
            reply("err duty must be 0..100");
            return;
        }
        atomic_store(&g_duty, (int) d);
        reply("ok duty=%ld", d);
    } else if (!strcmp(argv[0], "threads") && argc == 2) {
        long n = parse_num(argv[1], MAX_THREADS);
        if (n < 0) {
            reply("err threads must be 0..%d", MAX_THREADS);
            return;
        }
        if (set_threads((int) n) < 0) {
            reply("err pthread_create failed");
            return;
        }
        reply("ok threads=%ld", n);
    } else if (!strcmp(argv[0], "mem") && (argc == 2 || argc == 3)) {
        long m = parse_num(argv[1], MAX_MIB);
        long r = argc == 3 ? parse_num(argv[2], 1L << 20) : 0;
        if (m < 0 || r < 0) {
            reply("err usage: mem MIB [RATE_MIB_PER_S]");
            return;
        }
        g_target_mib = m;
        g_rate = r;
        reply("ok mem target_mib=%ld rate=%ld", m, r);
    } else if (!strcmp(argv[0], "status") && argc == 1) {
        reply("ok threads=%d duty=%d target_mib=%ld want_mib=%ld held_mib=%ld rate=%ld "
              "oom_kills=%ld child_deaths=%ld child_pid=%d uptime_s=%lld",
              atomic_load(&g_threads), atomic_load(&g_duty), g_target_mib, (long) g_want,
              atomic_load(&g_shm->held_mib), g_rate, g_oom_kills, g_child_deaths, (int) g_child,
              (mono_ms() - g_start_ms) / 1000);
    } else if (!strcmp(argv[0], "ping") && argc == 1) {
        reply("ok pong");
    } else {
        reply("err unknown command (duty D | threads N | mem M [RATE] | status | ping)");
    }
}

/*
 * Wait up to TICK_MS for control input and handle complete lines.
 *
 * A virtio-serial port whose host side is not connected polls as
 * POLLIN|POLLHUP and read() returns 0, so poll() would return at once
 * forever: when that happens we just sleep for the tick instead.
 */
static void
ctl_poll(void)
{
    static char buf[LINE_MAX_LEN + 1];
    static size_t len;
    static int discard; /* dropping an overlong line */
    struct pollfd p = {g_ctl_in, POLLIN, 0};

    if (g_ctl_in < 0 || poll(&p, 1, TICK_MS) <= 0) {
        if (g_ctl_in < 0)
            usleep(TICK_MS * 1000);
        return;
    }
    ssize_t n = read(g_ctl_in, buf + len, LINE_MAX_LEN - len);
    if (n <= 0) {
        /* 0: host not connected; <0: EAGAIN or error. Back off. */
        if (n == 0)
            len = 0; /* a half line from a gone host */
        usleep(TICK_MS * 1000);
        return;
    }
    len += n;
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        if (!nl) {
            if (len == LINE_MAX_LEN) { /* overlong: drop it */
                len = 0;
                discard = 1;
            }
            break;
        }
        *nl = 0;
        if (!discard) {
            logf_("vmb-workload: cmd: %s", buf);
            handle_cmd(buf);
        } else {
            reply("err line too long");
        }
        discard = 0;
        size_t used = nl + 1 - buf;
        memmove(buf, nl + 1, len - used);
        len -= used;
    }
}

/* ---- parameters -------------------------------------------------------- */

static long p_threads = 1, p_duty = 0, p_mem = 0, p_target = -1, p_rate = 0;

/* Apply one "vmb.key=value" token; unknown tokens are ignored. */
static void
param(const char *tok)
{
    static const struct {
        const char *key;
        long *val;
        long max;
    } keys[] = {
        {"vmb.threads=", &p_threads, MAX_THREADS},
        {"vmb.duty=", &p_duty, 100},
        {"vmb.mem=", &p_mem, MAX_MIB},
        {"vmb.target=", &p_target, MAX_MIB},
        {"vmb.rate=", &p_rate, 1L << 20},
    };

    if (!strncmp(tok, "vmb.ctl=", 8)) {
        if (!strcmp(tok + 8, "-"))
            g_ctl_stdio = 1;
        else
            snprintf(g_ctl_path, sizeof(g_ctl_path), "%s", tok + 8);
        return;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t kl = strlen(keys[i].key);
        if (strncmp(tok, keys[i].key, kl))
            continue;
        long v = parse_num(tok + kl, keys[i].max);
        if (v < 0)
            logf_("vmb-workload: bad parameter '%s' ignored", tok);
        else
            *keys[i].val = v;
    }
}

static void
read_cmdline(void)
{
    char buf[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
        param(t);
}

/* ---- main -------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    long oom_before;
    int ready = 0;

    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IONBF, 0);
    g_start_ms = mono_ms();

    read_cmdline();
    for (int i = 1; i < argc; i++)
        param(argv[i]);

    /* Keep this process (and the burners) out of the OOM killer's way. */
    write_file("/proc/self/oom_score_adj", "-1000");

    g_shm = mmap(NULL, sizeof(*g_shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_shm == MAP_FAILED) {
        logf_("vmb-workload: mmap: %s", strerror(errno));
        return 1;
    }

    g_target_mib = p_mem;
    g_want = p_mem;
    atomic_store(&g_shm->want_mib, p_mem);
    oom_before = vmstat_oom_kills();
    spawn_child(); /* before the threads exist */

    atomic_store(&g_duty, (int) p_duty);
    if (set_threads((int) p_threads) < 0)
        logf_("vmb-workload: pthread_create failed");

    logf_("vmb-workload: started threads=%ld duty=%ld mem=%ld", p_threads, p_duty, p_mem);

    long long ctl_retry = 0, ready_deadline = g_start_ms + READY_WAIT_MS;
    for (;;) {
        long long now = mono_ms();

        check_child(&oom_before);
        if (g_child < 0 && now >= g_respawn_at)
            spawn_child();
        update_ramp(now);

        if (g_ctl_in < 0 && now >= ctl_retry) {
            ctl_open();
            ctl_retry = now + 200;
        }

        /* Ready once the control port is open (or given up on, 5 s)
         * and the initial memory is held (or READY_WAIT_MS passed). */
        if (!ready && (g_ctl_in >= 0 || now - g_start_ms > 5000) &&
            (atomic_load(&g_shm->held_mib) >= p_mem || now > ready_deadline)) {
            ready = 1;
            logf_("vmb-workload: ready threads=%d duty=%d held_mib=%ld ctl=%s",
                  atomic_load(&g_threads), atomic_load(&g_duty), atomic_load(&g_shm->held_mib),
                  g_ctl_in >= 0 ? (g_ctl_stdio ? "stdio" : g_ctl_path) : "none");
            /* The boot-time ramp starts after ready. */
            if (p_target >= 0) {
                g_target_mib = p_target;
                g_rate = p_rate;
            }
        }

        ctl_poll();
    }
}
