/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host's CPU step: max-min fair shares of pCPUs, run and wait time. */
#include "hv-fake-priv.h"

#include <math.h>

static double
noise(Fake *f, guint dom, guint vcpu, double t, double amplitude)
{
    if (amplitude <= 0)
        return 0;
    guint64 h = mix(f->sc->seed ^ mix(dom * 1000003ULL + vcpu) ^ mix((guint64) floor(t)));
    double u = (double) (h >> 11) / (double) (G_GUINT64_CONSTANT(1) << 53); /* [0,1) */
    return (2 * u - 1) * amplitude;
}

/* Max-min fair share of @capacity among @n demands (in place into @alloc). */
static void
water_fill(const double *demand, double *alloc, guint n, double capacity)
{
    double total = 0;
    for (guint i = 0; i < n; i++)
        total += demand[i];
    if (total <= capacity) {
        memcpy(alloc, demand, n * sizeof(double));
        return;
    }
    g_autofree gboolean *done = g_new0(gboolean, n);
    guint left = n;
    double cap = capacity;
    while (left > 0) {
        double share = cap / left;
        gboolean progress = FALSE;
        for (guint i = 0; i < n; i++) {
            if (!done[i] && demand[i] <= share) {
                alloc[i] = demand[i];
                cap -= demand[i];
                done[i] = TRUE;
                left--;
                progress = TRUE;
            }
        }
        if (!progress) {
            for (guint i = 0; i < n; i++) {
                if (!done[i])
                    alloc[i] = share;
            }
            break;
        }
    }
}

/* A vCPU's id in the CPU step: its domain's index and its number in one integer. */
#define VCPU_ID(dom, v) (((guint64) (dom) << 32) | (v))
#define VCPU_DOM(id)    ((guint) ((id) >> 32))
#define VCPU_NUM(id)    ((guint) ((id) &0xffffffff))
#define NO_VCPU         G_MAXUINT64 /* a pCPU's background load */
#define EMU_NUM         G_MAXUINT32 /* VCPU_ID(dom, EMU_NUM): the domain's emulator threads */

/* Demands that share one capacity max-min fairly, and what each gets. */
typedef struct {
    GArray *dem; /* double */
    GArray *who; /* guint64: VCPU_ID or NO_VCPU */
    GArray *got; /* double */
} Share;

static void
share_clear(Share *sh)
{
    g_clear_pointer(&sh->dem, g_array_unref);
    g_clear_pointer(&sh->who, g_array_unref);
    g_clear_pointer(&sh->got, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Share, share_clear)

static void
share_reset(Share *sh)
{
    g_array_set_size(sh->dem, 0);
    g_array_set_size(sh->who, 0);
}

static void
share_add(Share *sh, double demand, guint64 id)
{
    g_array_append_val(sh->dem, demand);
    g_array_append_val(sh->who, id);
}

static void
share_fill(Share *sh, double capacity)
{
    g_array_set_size(sh->got, sh->dem->len);
    water_fill((double *) sh->dem->data, (double *) sh->got->data, sh->dem->len, capacity);
}

/* Accounts @a percent of a pCPU over @dt to vCPU @id as run time, the rest of its @demand
 * as wait time. */
static void
run_vcpu(Fake *f, guint64 id, double demand, double a, double dt)
{
    FakeDomain *d = &f->doms[VCPU_DOM(id)];
    guint v = VCPU_NUM(id);
    d->time_ns[v] += (guint64) (a / 100.0 * dt * 1e9);
    d->wait_ns[v] += (guint64) ((demand - a) / 100.0 * dt * 1e9);
}

/* Accounts what vCPU or emulator threads @id ran (see run_vcpu). */
static void
run_item(Fake *f, guint64 id, double demand, double a, double dt)
{
    if (VCPU_NUM(id) == EMU_NUM)
        f->doms[VCPU_DOM(id)].other_ns += (guint64) (a / 100.0 * dt * 1e9);
    else
        run_vcpu(f, id, demand, a, dt);
}

/* The emulator threads pinned to pCPU @p compete there with its vCPUs, an even share each. */
static void
add_pinned_emulators(Fake *f, Share *sh, guint p)
{
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        if (d->running && d->def->emulator > 0 && d->emu_n && vmb_cpuset_has(&d->emu_set, p))
            share_add(sh, d->def->emulator / d->emu_n, VCPU_ID(i, EMU_NUM));
    }
}

/* Each running vCPU's demand at @t (its load series plus noise), and the pinned ones bucketed
 * by pCPU (counting sort): those of pCPU p are bucket[first[p] .. first[p + 1]). */
static guint64 *
draw_demands(Fake *f, double t, guint *first)
{
    guint P = f->sc->ncpus;
    guint ndom = f->sc->domains->len;
    for (guint i = 0; i < ndom; i++) {
        FakeDomain *d = &f->doms[i];
        for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
            double x = vmb_series_at(&d->def->load[v], t) + noise(f, i, v, t, d->def->noise);
            d->demand[v] = CLAMP(x, 0, 100);
            if (d->pins[v] >= 0)
                first[d->pins[v] + 1]++;
        }
    }
    for (guint p = 0; p < P; p++)
        first[p + 1] += first[p];
    guint64 *bucket = g_new0(guint64, first[P] + 1);
    g_autofree guint *fill = g_memdup2(first, sizeof(guint) * P);
    for (guint i = 0; i < ndom; i++) {
        FakeDomain *d = &f->doms[i];
        for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
            if (d->pins[v] >= 0)
                bucket[fill[d->pins[v]]++] = VCPU_ID(i, v);
        }
    }
    return bucket;
}

/* Per pCPU: its background load and the vCPUs pinned to it share 100 %. Adds what runs to
 * busy[p], leaves what is left in residual[p] and returns the sum of the residuals. */
static double
run_pinned(Fake *f, double t, double dt, Share *sh, double *busy, double *residual)
{
    guint P = f->sc->ncpus;
    g_autofree guint *first = g_new0(guint, P + 1);
    g_autofree guint64 *bucket = draw_demands(f, t, first);
    double residual_total = 0;
    for (guint p = 0; p < P; p++) {
        share_reset(sh);
        share_add(sh, vmb_series_at(&f->sc->background[p], t), NO_VCPU);
        if (f->any_emulator)
            add_pinned_emulators(f, sh, p);
        for (guint k = first[p]; k < first[p + 1]; k++)
            share_add(sh, f->doms[VCPU_DOM(bucket[k])].demand[VCPU_NUM(bucket[k])], bucket[k]);
        share_fill(sh, 100.0);
        for (guint k = 0; k < sh->dem->len; k++) {
            double a = g_array_index(sh->got, double, k);
            busy[p] += a;
            guint64 id = g_array_index(sh->who, guint64, k);
            if (id != NO_VCPU)
                run_item(f, id, g_array_index(sh->dem, double, k), a, dt);
            else /* reported as bound time, like interrupts on a real host */
                f->bound_ns[p] += (guint64) (a / 100.0 * dt * 1e9);
        }
        residual[p] = MAX(0, 100.0 - busy[p]);
        residual_total += residual[p];
    }
    return residual_total;
}

/* vCPUs pinned to a set share what the set's pCPUs have left (none more than one pCPU), like
 * floating ones over the host; what they use is taken from the set's pCPUs in proportion to
 * what each had left. Returns the new sum of the residuals. */
static double
run_sets(Fake *f, double dt, Share *sh, double *residual, double *busy)
{
    guint P = f->sc->ncpus;
    for (guint g = 0; g < f->sets->len; g++) {
        const VmbCpuSet *set = g_ptr_array_index(f->sets, g);
        share_reset(sh);
        for (guint i = 0; i < f->sc->domains->len; i++) {
            FakeDomain *d = &f->doms[i];
            for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
                if (d->pins[v] < 0 && d->set[v] == (gint) g)
                    share_add(sh, d->demand[v], VCPU_ID(i, v));
            }
        }
        if (!sh->dem->len)
            continue;
        double left = 0, used = 0;
        for (guint p = 0; p < P; p++)
            left += vmb_cpuset_has(set, p) ? residual[p] : 0;
        share_fill(sh, left);
        for (guint k = 0; k < sh->dem->len; k++) {
            double a = MIN(g_array_index(sh->got, double, k), 100.0);
            used += a;
            run_vcpu(f, g_array_index(sh->who, guint64, k), g_array_index(sh->dem, double, k), a,
                     dt);
        }
        for (guint p = 0; p < P && left > 0; p++) {
            if (!vmb_cpuset_has(set, p))
                continue;
            double got = used * residual[p] / left;
            busy[p] += got;
            residual[p] = MAX(0, residual[p] - got);
        }
    }
    double total = 0;
    for (guint p = 0; p < P; p++)
        total += residual[p];
    return total;
}

/* Floating vCPUs share the leftover capacity of all pCPUs (none gets more than one pCPU);
 * what they use is spread over the pCPUs in proportion to what each had left. */
static void
run_floating(Fake *f, double dt, Share *sh, const double *residual, double residual_total,
             double *busy)
{
    share_reset(sh);
    for (guint i = 0; i < f->sc->domains->len; i++) {
        FakeDomain *d = &f->doms[i];
        for (guint v = 0; d->running && v < d->def->nvcpus; v++) {
            if (d->pins[v] < 0 && d->set[v] < 0)
                share_add(sh, d->demand[v], VCPU_ID(i, v));
        }
        if (d->running && d->def->emulator > 0 && !d->emu_n)
            share_add(sh, d->def->emulator, VCPU_ID(i, EMU_NUM));
    }
    if (!sh->dem->len)
        return;
    share_fill(sh, residual_total);
    double used = 0;
    for (guint k = 0; k < sh->dem->len; k++) {
        double a = MIN(g_array_index(sh->got, double, k), 100.0);
        used += a;
        run_item(f, g_array_index(sh->who, guint64, k), g_array_index(sh->dem, double, k), a, dt);
    }
    for (guint p = 0; p < f->sc->ncpus && residual_total > 0; p++)
        busy[p] += used * residual[p] / residual_total;
}

/* Niced host work floats and yields: it takes what the vCPUs and the background left, on
 * every pCPU in proportion to what is left there. It is plain busy time, not bound. */
static void
run_niced(Fake *f, double t, double *busy)
{
    double want = vmb_series_at(&f->sc->niced, t), left = 0;
    for (guint p = 0; p < f->sc->ncpus; p++)
        left += MAX(0, 100.0 - busy[p]);
    if (want <= 0 || left <= 0)
        return;
    double share = MIN(want, left) / left;
    for (guint p = 0; p < f->sc->ncpus; p++) {
        double got = MAX(0, 100.0 - busy[p]) * share;
        busy[p] += got;
    }
}

void
fake_step_cpu(Fake *f, double t, double dt)
{
    guint P = f->sc->ncpus;
    g_autofree double *busy = g_new0(double, P);
    g_autofree double *residual = g_new0(double, P);
    g_auto(Share) sh = {
        .dem = g_array_new(FALSE, FALSE, sizeof(double)),
        .who = g_array_new(FALSE, FALSE, sizeof(guint64)),
        .got = g_array_new(FALSE, FALSE, sizeof(double)),
    };
    double residual_total = run_pinned(f, t, dt, &sh, busy, residual);
    if (f->sets->len)
        residual_total = run_sets(f, dt, &sh, residual, busy);
    run_floating(f, dt, &sh, residual, residual_total, busy);
    run_niced(f, t, busy);
    for (guint p = 0; p < P; p++) {
        f->busy_ns[p] += (guint64) (busy[p] / 100.0 * dt * 1e9);
        f->last_load[p] = busy[p];
    }
}
