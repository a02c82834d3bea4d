/*
 * A persistent pthread pool for the kernels, tuned for many short parallel
 * calls (the RNN time loop issues thousands of ~50 x 2048 x 512 GEMMs per
 * second): workers spin on the job word for a while after each job, so that
 * the next call wakes them with one atomic store, and only then go to sleep
 * on a condition variable.
 *
 * A job is n parts. Part 0 is the caller's; the others are claimed first
 * come first served (a CAS on one word that holds the job's generation and
 * the next unclaimed part), by the workers and by the caller once its part is
 * done. With two threads each core thus runs the same part of every call, and
 * a split that repeats (a batch's rows through a time loop, a weight's columns
 * token after token) finds its data in that core's L2. The caller waits only
 * for parts that were claimed, never for a worker
 * that has not shown up: on a loaded machine, where a worker may not get a
 * core for milliseconds, the caller simply runs its part as well. Which
 * thread runs a part never changes the arithmetic.
 *
 * One parallel call at a time: a host program calling from several threads
 * gets the pool for one of them; the others run on their own thread (the
 * result is the same, only slower).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>
#include "CRecurrentKernels.h"
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define RK_PAUSE() __asm__ __volatile__("yield")
#else
#define RK_PAUSE() ((void)0)
#endif

/* How long an idle worker spins before sleeping. */
#define RK_SPIN_NS 200000L

typedef struct {
    pthread_mutex_t lock;      /* held by the host thread that owns the pool during a call */
    pthread_mutex_t sleep_mu;  /* guards sleeping on `wake` */
    pthread_cond_t wake;
    /* job word: generation << 32 | next unclaimed part */
    _Atomic uint64_t job;
    atomic_int done;           /* parts of the current job finished */
    atomic_int stop;
    /* the current job, written before its generation is published; read by a
       worker before it claims a part, and only used if the claim succeeds */
    _Atomic(rk_task_fn) fn;
    _Atomic(void *) ctx;
    atomic_int nparts;
    atomic_int precision;      /* the caller's precision for products (RK_MATMUL_*): parts run in it */
    atomic_int want;           /* configured threads, caller included (0: not yet set) */
    int nworkers;              /* started workers (threads - 1) */
    pthread_t *tids;
    uint32_t start_gen;        /* generation when the current workers were created */
} rk_pool;

static rk_pool pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static inline uint32_t job_gen(uint64_t w) { return (uint32_t)(w >> 32); }

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Claims and runs parts of job generation g until none is left. */
static void participate(uint32_t g) {
    const rk_task_fn fn = atomic_load_explicit(&pool.fn, memory_order_relaxed);
    void *const ctx = atomic_load_explicit(&pool.ctx, memory_order_relaxed);
    const int n = atomic_load_explicit(&pool.nparts, memory_order_relaxed);
    const int precision = atomic_load_explicit(&pool.precision, memory_order_relaxed);
    uint64_t w = atomic_load_explicit(&pool.job, memory_order_acquire);
    while (job_gen(w) == g && (int)(uint32_t)w < n) {
        /* Success proves job g is still live (its parts are not all done), so
           fn, ctx, n read above are g's: the next job is written only after. */
        if (atomic_compare_exchange_weak_explicit(&pool.job, &w, w + 1, memory_order_acquire,
                                                  memory_order_acquire)) {
            rk_matmul_precision_tls = precision;
            fn(ctx, (int)(uint32_t)w, n);
            atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
            w = atomic_load_explicit(&pool.job, memory_order_acquire);
        }
    }
}

static void *worker_main(void *arg) {
    (void)arg;
    /* The generation at creation, not at start-up: a job may be posted before this thread runs. */
    uint32_t seen = pool.start_gen;
    for (;;) {
        uint32_t g = job_gen(atomic_load_explicit(&pool.job, memory_order_acquire));
        if (g == seen) {
            const long t0 = now_ns();
            for (int spins = 0; (g = job_gen(atomic_load_explicit(&pool.job, memory_order_acquire))) == seen; spins++) {
                RK_PAUSE();
                if ((spins & 255) == 255 && now_ns() - t0 > RK_SPIN_NS) break;
            }
            if (g == seen) {
                /* The caller publishes a job before taking sleep_mu, so no wake-up is lost. */
                pthread_mutex_lock(&pool.sleep_mu);
                while ((g = job_gen(atomic_load_explicit(&pool.job, memory_order_acquire))) == seen)
                    pthread_cond_wait(&pool.wake, &pool.sleep_mu);
                pthread_mutex_unlock(&pool.sleep_mu);
            }
        }
        seen = g;
        if (atomic_load_explicit(&pool.stop, memory_order_acquire)) return NULL;
        participate(g);
    }
}

/* Publishes a new generation (its parts: pool.nparts, set before) whose parts before `first`
   are already claimed. */
static uint32_t publish_from(uint32_t first) {
    const uint32_t g = job_gen(atomic_load_explicit(&pool.job, memory_order_relaxed)) + 1;
    atomic_store_explicit(&pool.job, (uint64_t)g << 32 | first, memory_order_release);
    return g;
}

static uint32_t publish(void) { return publish_from(0); }

static void wake_all(void) {
    /* Cheap (no system call) when every worker is still spinning. */
    pthread_mutex_lock(&pool.sleep_mu);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_mu);
}

static int online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* Called with pool.lock held. */
static void stop_workers(void) {
    if (pool.nworkers == 0) return;
    atomic_store(&pool.stop, 1);
    atomic_store(&pool.nparts, 0);
    publish();
    wake_all();
    for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.tids[i], NULL);
    free(pool.tids);
    pool.tids = NULL;
    pool.nworkers = 0;
    atomic_store(&pool.stop, 0);
}

/* Called with pool.lock held: make sure want-1 workers run. */
static void start_workers(void) {
    const int n = atomic_load(&pool.want) - 1;
    if (pool.nworkers == n) return;
    stop_workers();
    if (n <= 0) return;
    pool.tids = (pthread_t *)calloc((size_t)n, sizeof(pthread_t));
    if (!pool.tids) return;
    pool.start_gen = job_gen(atomic_load(&pool.job));
    for (int i = 0; i < n; i++) {
        if (pthread_create(&pool.tids[i], NULL, worker_main, NULL) != 0) break;
        pool.nworkers++;
    }
}

/* Lock-free: must not wait while another host thread holds the pool. */
int rk_pool_threads(void) {
    int n = atomic_load_explicit(&pool.want, memory_order_relaxed);
    if (n == 0) {
        int expected = 0;
        n = online_cores();
        if (!atomic_compare_exchange_strong(&pool.want, &expected, n)) n = expected;
    }
    return n;
}

void rk_pool_set_threads(int n) {
    if (n <= 0) n = online_cores();
    if (n > 256) n = 256;
    pthread_mutex_lock(&pool.lock); /* waits for a running call to finish */
    atomic_store(&pool.want, n);
    if (pool.nworkers > n - 1) stop_workers(); /* more are started lazily */
    pthread_mutex_unlock(&pool.lock);
}

int rk_pool_acquire(int want) {
    if (want <= 1) return 1;
    if (pthread_mutex_trylock(&pool.lock) != 0) return 1; /* busy: run on the caller */
    rk_pool_threads(); /* resolves want == 0 */
    start_workers();
    int n = pool.nworkers + 1;
    if (n > want) n = want;
    if (n <= 1) {
        pthread_mutex_unlock(&pool.lock);
        return 1;
    }
    return n;
}

void rk_pool_release(void) { pthread_mutex_unlock(&pool.lock); }

void rk_pool_run(int n, rk_task_fn fn, void *ctx) {
    if (n <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    /* The previous job is complete (all its parts done), so no claim can use these. */
    atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool.ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&pool.nparts, n, memory_order_relaxed);
    atomic_store_explicit(&pool.precision, rk_matmul_precision_tls, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    /* Part 0 is always the caller's, and the workers take the others in the order they come:
       with two threads every call gives each core the same part, so a split that repeats (the
       same rows of a batch, the same columns of a weight) finds its data in that core's cache. */
    const uint32_t g = publish_from(1);
    wake_all();

    fn(ctx, 0, n);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    participate(g);

    /* Every part is claimed; wait for the ones still running elsewhere. */
    for (int spins = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < n; spins++) {
        RK_PAUSE();
        if (spins > 4096) sched_yield(); /* its thread lost its core: let it have ours */
    }
}

void rk_parallel_parts(int parts, void (*fn)(void *ctx, int part, int parts), void *ctx) {
    if (parts <= 0) return;
    const int nt = parts > 1 ? rk_pool_acquire(parts) : 1;
    if (nt > 1) {
        rk_pool_run(parts, fn, ctx); /* part 0 here, the others first come: a thread may run several */
        rk_pool_release();
    } else {
        for (int t = 0; t < parts; t++) fn(ctx, t, parts);
    }
}

/* ---- per-thread scratch ---------------------------------------------------------- */

#define RK_SLOTS 2
typedef struct {
    float *p[RK_SLOTS];
    size_t cap[RK_SLOTS];
} rk_scratch_t;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v) {
    rk_scratch_t *s = (rk_scratch_t *)v;
    for (int i = 0; i < RK_SLOTS; i++) free(s->p[i]);
    free(s);
}
static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

float *rk_scratch(int slot, size_t floats) {
    pthread_once(&scratch_once, scratch_init);
    rk_scratch_t *s = (rk_scratch_t *)pthread_getspecific(scratch_key);
    if (!s) {
        s = (rk_scratch_t *)calloc(1, sizeof *s);
        if (!s) return NULL;
        pthread_setspecific(scratch_key, s);
    }
    if (s->cap[slot] < floats) {
        free(s->p[slot]);
        s->p[slot] = NULL;
        s->cap[slot] = 0;
        void *p = NULL;
        /* + 16 floats: room for kernels that read one vector past a panel */
        if (posix_memalign(&p, 64, (floats + 16) * sizeof(float)) != 0) return NULL;
        s->p[slot] = (float *)p;
        s->cap[slot] = floats;
    }
    return s->p[slot];
}
