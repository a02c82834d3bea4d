/*
 * rk_sgemm: ISA dispatch, the BLIS-style blocked driver and its split over
 * the thread pool. The micro-kernels live in gemm_<isa>.c, the packers in
 * gemm_pack.c, the pool in threadpool.c; gemm_internal.h has the overview.
 *
 * Loop nest run by each thread on its own block of C (rows i0..i1, columns
 * j0..j1), MR x NR the register tile of the active ISA:
 *
 *   for p0 in K step kc                     K blocks: depend on K only
 *     for ic in [i0,i1) step MC             pack A[ic:+MC, p0:+kc] -> MR x kc panels (L3),
 *                                           or read it in place (ar->direct_a: A stored M x K;
 *                                           transA with one row or N <= 256)
 *       for jc in [j0,j1) step NC           pack B[p0:+kc, jc:+NC] -> kc x NR panels (L2)
 *         for ir in MC step ~MR             this A panel stays in L1 ...
 *           for jr in NC step NR            ... while B panels stream from L2
 *             kernel: C[ir:+MR, jr:+NR] = alpha * Apanel * Bpanel + beta' * C
 *
 * beta' is beta for the first K block and 1 afterwards. When M is small the
 * B block is used by only a few A panels and packing it would cost as much
 * as the multiply, so for transB == 0 and M <= ar->direct_b_max_m the kernel
 * reads op(B) in place — on CPUs other than AMD's only while op(B) is at most
 * RK_DIRECT_B_MAX_BYTES (direct_b_allowed).
 *
 * Threads split C into a grid of blocks aligned to MR x NR, never K, so every
 * element sees the same operations whatever the thread count. M == 1 goes to
 * the ISA's matrix-vector routine when it has one (a function of the shape,
 * not of the threads, so determinism holds there too).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "CRecurrentKernels.h"
#include "gemm_internal.h"

/* ---- ISA dispatch ------------------------------------------------------------------ */

static int isa_avail[4];
static atomic_int isa_active = -1;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static void isa_init(void) {
    int best = RK_ISA_GENERIC;
    for (int i = 0; i < 4; i++) isa_avail[i] = rk_cpu_has(i);
    if (isa_avail[RK_ISA_NEON]) best = RK_ISA_NEON;
    if (isa_avail[RK_ISA_AVX2]) best = RK_ISA_AVX2;
    if (isa_avail[RK_ISA_AVX512]) best = RK_ISA_AVX512;
    atomic_store(&isa_active, best);
}

int rk_isa_available(int isa) {
    if (isa < 0 || isa > 3) return 0;
    pthread_once(&isa_once, isa_init);
    return isa_avail[isa];
}

int rk_active_isa(void) {
    pthread_once(&isa_once, isa_init);
    return atomic_load_explicit(&isa_active, memory_order_relaxed);
}

int rk_set_isa(int isa) {
    if (!rk_isa_available(isa)) return -1;
    atomic_store(&isa_active, isa);
    return 0;
}

const char *rk_isa_name(int isa) {
    switch (isa) {
    case RK_ISA_AVX2: return "avx2";
    case RK_ISA_AVX512: return "avx512";
    case RK_ISA_NEON: return "neon";
    default: return "generic";
    }
}

static const rk_gemm_arch *arch_for(int isa) {
    switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case RK_ISA_AVX512: return &rk_arch_avx512;
    case RK_ISA_AVX2: return &rk_arch_avx2;
#endif
#if defined(__aarch64__)
    case RK_ISA_NEON: return &rk_arch_neon;
#endif
    default: return &rk_arch_generic;
    }
}

/* ---- precision of the products -------------------------------------------------------- */

_Thread_local int rk_matmul_precision_tls = RK_MATMUL_FP32;

void rk_set_matmul_precision(int precision) {
    rk_matmul_precision_tls = precision == RK_MATMUL_BF16 ? RK_MATMUL_BF16 : RK_MATMUL_FP32;
}

int rk_matmul_precision(void) { return rk_matmul_precision_tls; }

static int bf16_native = -1; /* benign race: every thread computes the same answer */

int rk_matmul_bf16_native(void) {
#if defined(__x86_64__) || defined(_M_X64)
    if (bf16_native < 0) bf16_native = rk_cpu_has_avx512_bf16();
    return bf16_native;
#else
    return 0;
#endif
}

/* The arch for products of this precision on path isa: bf16 runs the AVX-512 BF16 kernel where the
   AVX-512 path is active and the CPU has the instruction, the portable bf16 kernel elsewhere. */
static const rk_gemm_arch *arch_with(int isa, int precision) {
    if (precision != RK_MATMUL_BF16) return arch_for(isa);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RK_ISA_AVX512 && rk_matmul_bf16_native()) return &rk_arch_avx512_bf16;
#endif
    return &rk_arch_bf16_generic;
}

void rk_set_threads(int n) { rk_pool_set_threads(n); }
int rk_threads(void) { return rk_pool_threads(); }

/* ---- the blocked driver ----------------------------------------------------------- */

/* Below this many flops per thread, waking another thread costs more than it
   saves (measured: with the worker spinning, 64^3 already gains from 2 threads). */
#ifndef RK_MIN_FLOPS_PER_THREAD
#define RK_MIN_FLOPS_PER_THREAD 0.5e6
#endif
/* Matrix-vector products are memory-bound: worth a second thread sooner. */
#ifndef RK_MIN_FLOPS_PER_THREAD_GEMV
#define RK_MIN_FLOPS_PER_THREAD_GEMV 0.25e6
#endif

/* A row times a packed B (batch-1 steps) reads every weight once: memory-bound like a GEMV,
   and each thread keeps its columns' panels in its own L2 across steps. Splitting from 0.05
   MFLOP as well (lstm-128's 512 x 128 products) gave its generation +39% with both cores free
   but -5% to -18% whenever another process or VM kept a core busy (a part waits for a worker
   that lost its core), and choosing by measured times did not recover it: not kept. */
#ifndef RK_MIN_FLOPS_PER_THREAD_M1
#define RK_MIN_FLOPS_PER_THREAD_M1 0.1e6
#endif

/*
 * Reading op(B) in place (kc rows ldb apart, one stream per row) pays on AMD Zen 5 at every size
 * measured (2 threads: +2-6% on the RNN gradient shapes up to 2048 x 512 x 5000, +25% at M = 50).
 * On an Intel Xeon (family 6 model 207, 2 MiB L2 a core; dev/gemm/bench one, 2 threads, packed
 * against in place) it pays only while B stays in cache: 4 x 1024 x 256 (1 MiB) 2.1x, 50 x 512 x
 * 128 +20%, 32 x 768 x 256 even, but 50 x 1024 x 512 (2 MiB) -20%, 50 x 2048 x 512 -31%,
 * 1024^3 -32...-54%, 2048 x 512 x 5000 (tA) -12%. Either choice gives the same bits.
 */
#ifndef RK_DIRECT_B_MAX_BYTES
#define RK_DIRECT_B_MAX_BYTES (1L << 20)
#endif
static int direct_b_any_size = -1; /* benign race: every thread computes the same answer */

static int direct_b_allowed(int K, int N) {
    if (direct_b_any_size < 0) direct_b_any_size = rk_cpu_is_amd();
    return direct_b_any_size || (long)K * N * (long)sizeof(float) <= RK_DIRECT_B_MAX_BYTES;
}

typedef struct {
    const rk_gemm_arch *ar;
    int transA, transB, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    long lda, ldb, ldc;
    int kc;       /* nominal K block (the last one may be shorter) */
    int direct;   /* B read in place */
    int tm, tn;   /* thread grid: tm blocks of rows x tn blocks of columns */
    const float *x; /* M == 1 through ar->gemv: op(A) as a contiguous vector, else NULL */
    const float *packed; /* op(B) packed by rk_sgemm_pack_b (K block p0 at packed + p0*npad), else NULL */
    long npad;           /* N rounded up to NR */
} gemm_job;

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Out of memory with B pre-packed: a plain loop reading the packed panels. */
static void gemm_block_packed_slow(const gemm_job *g, int i0, int i1, int j0, int j1) {
    const int NR = g->ar->nr;
    for (int i = i0; i < i1; i++)
        for (int j = j0; j < j1; j++) {
            float *c = g->C + (size_t)i * g->ldc + j;
            for (int p0 = 0; p0 < g->K; p0 += g->kc) {
                const int kc = imin(g->kc, g->K - p0);
                const float *b = g->packed + (size_t)p0 * g->npad + (size_t)(j / NR) * NR * kc + j % NR;
                float acc = 0;
                if (g->ar->pairs) { /* the bf16 kernels' arithmetic: pack this row's pairs one by one */
                    const uint32_t *bw = (const uint32_t *)(g->packed + (size_t)p0 * g->npad + (size_t)(j / NR) * NR * kc) + j % NR;
                    for (int k = 0; k < kc; k += 2) {
                        uint32_t a;
                        rk_pack_a_pairs(g->transA, g->A, g->lda, i, 1, p0 + k, kc - k < 2 ? 1 : 2, 1, (float *)&a);
                        acc = rk_bf16_dot_pair(acc, a, bw[(size_t)(k / 2) * NR]);
                    }
                } else
                for (int k = 0; k < kc; k++) {
                    const float a = g->transA ? g->A[(size_t)(p0 + k) * g->lda + i] : g->A[(size_t)i * g->lda + p0 + k];
                    acc += a * b[(size_t)k * NR];
                }
                const float beta = p0 == 0 ? g->beta : 1.0f;
                *c = beta == 0.0f ? g->alpha * acc : g->alpha * acc + beta * *c;
            }
        }
}

/* C[i0:i1, j0:j1] for this thread. */
static void gemm_block(const gemm_job *g, int i0, int i1, int j0, int j1) {
    const rk_gemm_arch *ar = g->ar;
    const int MR = ar->mr, NR = ar->nr;
    const int MC = ar->mc, NC = ar->nc;
    /* Equal row blocks of at most MC: 1036 rows with MC = 1008 would run as 518 + 518, not 1008 + 28
       (each block packs B again). */
    const int mc_max = imin(MC, ceil_div(ceil_div(i1 - i0, ceil_div(i1 - i0, MC)), MR) * MR);
    const int nc_max = imin(NC, ceil_div(j1 - j0, NR) * NR);
    /* A read in place: an M x K A always (the kernel broadcasts from its mr rows, lda apart,
       k stride 1: never slower than packing with 16 x 16 transposes, measured on Zen 5 from
       16 x 128 x 512 +13% to 1024^3 +-3%, rows 4 KiB apart included), and A stored K x M when it
       is a single row or B has few columns (k stride lda; packing such an A costs as much as its
       few multiplies: measured 512 x 128 x 2500 +10%, 512 x 2048 x 2500 -6%). */
    const int direct_a = ar->direct_a && (!g->transA || g->M == 1 || g->N <= 256);
    float *pa = direct_a ? NULL : rk_scratch(0, (size_t)mc_max * g->kc);
    const int own_b = !g->direct && !g->packed; /* this thread packs B itself */
    float *pb = own_b ? rk_scratch(1, (size_t)g->kc * nc_max) : NULL;
    if ((!direct_a && !pa) || (own_b && !pb)) {
        /* Out of memory for the panels (C not touched yet): slow but correct. */
        const float *a = g->transA ? g->A + i0 : g->A + (size_t)i0 * g->lda;
        const float *b = g->transB ? g->B + (size_t)j0 * g->ldb : g->B + j0;
        if (g->packed) {
            gemm_block_packed_slow(g, i0, i1, j0, j1);
            return;
        }
        rk_sgemm_ref(g->transA, g->transB, i1 - i0, j1 - j0, g->K, g->alpha, a, (int)g->lda, b, (int)g->ldb,
                     g->beta, g->C + (size_t)i0 * g->ldc + j0, (int)g->ldc);
        return;
    }

    for (int p0 = 0; p0 < g->K; p0 += g->kc) {
        const int kc = imin(g->kc, g->K - p0);
        const float beta = p0 == 0 ? g->beta : 1.0f;
        for (int ic = i0; ic < i1; ic += mc_max) {
            const int mc = imin(mc_max, i1 - ic);
            /* Balanced row panels: 32 rows run as 11+11+10, not 14+14+4 (a 4-row
               tile does 8 FMAs per pair of B loads and stalls on them). */
            const int np = ceil_div(mc, MR), base = mc / np, extra = mc % np;
            for (int q = 0, r = 0; !direct_a && q < np; r += base + (q < extra), q++)
                (ar->pack_a ? ar->pack_a : rk_pack_a)(g->transA, g->A, g->lda, ic + r, base + (q < extra), p0, kc, MR,
                                                      pa + (size_t)q * MR * kc);
            /* element (i, k) of the K block: at a[i * ldai + k * ldak] */
            const long ldai = direct_a && !g->transA ? g->lda : 1;
            const long ldak = !direct_a ? MR : g->transA ? g->lda : 1;
            for (int jc = j0; jc < j1; jc += NC) {
                const int nc = imin(NC, j1 - jc);
                const float *bp;
                long ldbk;
                if (g->direct) {
                    bp = g->B + (size_t)p0 * g->ldb + jc;
                    ldbk = g->ldb;
                } else if (g->packed) { /* jc is a multiple of NR: the panels of this block */
                    bp = g->packed + (size_t)p0 * g->npad + (size_t)jc * kc;
                    ldbk = NR;
                } else {
                    (ar->pack_b ? ar->pack_b : rk_pack_b)(g->transB, g->B, g->ldb, p0, kc, jc, nc, NR, pb);
                    bp = pb;
                    ldbk = NR;
                }
                for (int q = 0, ir = 0; q < np; ir += base + (q < extra), q++) {
                    const int mr = base + (q < extra);
                    const float *ap = !direct_a ? pa + (size_t)q * MR * kc
                                      : g->transA ? g->A + (size_t)p0 * g->lda + ic + ir
                                                  : g->A + (size_t)(ic + ir) * g->lda + p0;
                    float *cr = g->C + (size_t)(ic + ir) * g->ldc + jc;
                    if (ar->kernel_pair && mr <= ar->pair_max_mr) {
                        /* Few rows: two panels per call (the next panel NR columns on when B is
                           read in place, NR * kc floats on when packed). */
                        for (int jr = 0; jr < nc; jr += 2 * NR) {
                            const float *b = g->direct ? bp + jr : bp + (size_t)jr * kc;
                            const float *b1 = nc - jr > NR ? (g->direct ? b + NR : b + (size_t)NR * kc) : b;
                            ar->kernel_pair(kc, ap, ldai, ldak, b, b1, ldbk, cr + jr, g->ldc, mr, imin(2 * NR, nc - jr),
                                            g->alpha, beta);
                        }
                        continue;
                    }
                    for (int jr = 0; jr < nc; jr += NR) {
                        const float *b = g->direct ? bp + jr : bp + (size_t)jr * kc;
                        ar->kernel(kc, ap, ldai, ldak, b, ldbk, cr + jr, g->ldc, mr, imin(NR, nc - jr), g->alpha, beta);
                    }
                }
            }
        }
    }
}

/* Part t of nt: a block of the tm x tn grid, or a column range for M == 1. */
static void gemm_task(void *ctx, int t, int nt) {
    gemm_job *g = (gemm_job *)ctx;
    if (g->x) { /* matrix-vector: split the columns in 16-wide units */
        const int units = ceil_div(g->N, 16);
        const int j0 = imin(g->N, (int)((long)units * t / nt) * 16);
        const int j1 = imin(g->N, (int)((long)units * (t + 1) / nt) * 16);
        if (j0 < j1) g->ar->gemv(g->K, g->kc, g->alpha, g->x, g->B, g->ldb, g->beta, g->C, j0, j1);
        return;
    }
    const int NR = g->ar->nr;
    const int nb = ceil_div(g->N, NR); /* column tiles */
    const int ti = t / g->tn, tj = t % g->tn;
    /* Rows split evenly (gemm_block balances its row panels: 50 rows run as 25 + 25, where whole
       tiles would give 28 + 22), columns in whole NR tiles. */
    const int i0 = (int)((long)g->M * ti / g->tm), i1 = (int)((long)g->M * (ti + 1) / g->tm);
    const int j0 = imin(g->N, (int)((long)nb * tj / g->tn) * NR);
    const int j1 = imin(g->N, (int)((long)nb * (tj + 1) / g->tn) * NR);
    if (i0 < i1 && j0 < j1) gemm_block(g, i0, i1, j0, j1);
}

/*
 * The tm x tn grid (tm * tn == nt) with the least work for the busiest
 * thread: its share of C plus what it packs (its rows of A, and its columns
 * of B unless B is read in place), packing an element costing about as much
 * as 16 multiply-adds.
 */
static void choose_grid(gemm_job *g, int nt) {
    const int MR = g->ar->mr, NR = g->ar->nr;
    const int mb = ceil_div(g->M, MR), nb = ceil_div(g->N, NR);
    double best = -1;
    g->tm = g->tn = 1;
    for (int tm = 1; tm <= nt; tm++) {
        if (nt % tm) continue;
        const int tn = nt / tm;
        if (tm > mb || tn > nb) continue;
        const double rows = ceil_div(g->M, tm), cols = (double)ceil_div(nb, tn) * NR;
        const double cost = rows * cols + 16.0 * (rows + (g->direct || g->packed ? 0.0 : cols));
        if (best < 0 || cost < best) {
            best = cost;
            g->tm = tm;
            g->tn = tn;
        }
    }
}

static void run_job(gemm_job *g);

/* Equal K blocks no longer than ar->kc: a function of K alone (determinism). */
static int kc_for(const rk_gemm_arch *ar, int K) {
    const int nkb = ceil_div(K, ar->kc);
    return imin(K, (ceil_div(K, nkb) + 7) & ~7);
}

/* C = beta * C (K == 0 or alpha == 0: op(A) op(B) does not contribute). */
static void scale_c(int M, int N, float beta, float *C, long ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

void rk_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }

    gemm_job g;
    g.ar = arch_with(rk_active_isa(), rk_matmul_precision_tls);
    g.transA = transA != 0;
    g.transB = transB != 0;
    g.M = M, g.N = N, g.K = K;
    g.alpha = alpha, g.beta = beta;
    g.A = A, g.B = B, g.C = C;
    g.lda = lda, g.ldb = ldb, g.ldc = ldc;
    g.kc = kc_for(g.ar, K);
    g.direct = !g.transB && M <= g.ar->direct_b_max_m && direct_b_allowed(K, N);
    g.x = NULL;
    g.packed = NULL;
    g.npad = 0;
    if (M == 1 && !g.transB && g.ar->gemv) {
        if (!g.transA || lda == 1) {
            g.x = A;
        } else { /* op(A) is a column of a K x lda matrix: gather it */
            float *x = rk_scratch(0, (size_t)K);
            if (x) {
                for (int k = 0; k < K; k++) x[k] = A[(size_t)k * lda];
                g.x = x;
            }
        }
    }

    run_job(&g);
}

/* Splits the job over the pool (or runs it here) and waits for it. */
static void run_job(gemm_job *gp) {
    gemm_job g = *gp;
    const int M = g.M, N = g.N, K = g.K;
    const double flops = 2.0 * M * N * K;
    int want = rk_pool_threads();
    const int by_size = (int)(flops / (g.x ? RK_MIN_FLOPS_PER_THREAD_GEMV : M == 1 ? RK_MIN_FLOPS_PER_THREAD_M1
                                                                                 : RK_MIN_FLOPS_PER_THREAD));
    if (want > by_size) want = by_size < 1 ? 1 : by_size;
    const int mb = ceil_div(M, g.ar->mr), nb = ceil_div(N, g.x ? 16 : g.ar->nr);
    if ((long)want > (long)mb * nb) want = mb * nb;

    const int nt = rk_pool_acquire(want);
    int parts = nt; /* blocks of C, claimed by whichever pool thread comes first */
    if (!g.x) {
        choose_grid(&g, nt);
        parts = g.tm * g.tn; /* < nt when no tm x tn grid fits nt */
    }
    if (nt > 1) {
        rk_pool_run(parts, gemm_task, &g);
        rk_pool_release();
    } else {
        gemm_task(&g, 0, 1);
    }
}

/* ---- B packed once, used by many products ----------------------------------------------- */

/*
 * Layout: a header of RK_PACKED_HEADER floats (ISA, N, K, kc, precision as int32 bit patterns), then
 * for each K block p0 (the blocks rk_sgemm uses for this K) the ceil(N/NR) panels of
 * kc x NR that the driver would pack, at p0 * npad. The product then runs exactly the
 * micro-kernel calls of rk_sgemm, so its results are the same bits.
 */
#define RK_PACKED_HEADER 16


/* Enough for either precision (a bf16 panel of kc floats holds ceil(kc/2) words). */
size_t rk_sgemm_packed_b_size(int N, int K) {
    if (N <= 0 || K <= 0) return RK_PACKED_HEADER;
    size_t most = 0;
    for (int precision = RK_MATMUL_FP32; precision <= RK_MATMUL_BF16; precision++) {
        const rk_gemm_arch *ar = arch_with(rk_active_isa(), precision);
        const size_t n = (size_t)ceil_div(N, ar->nr) * ar->nr * (size_t)K;
        if (n > most) most = n;
    }
    return RK_PACKED_HEADER + most;
}

/* Below this many floats a pack runs on the caller alone (waking a worker costs about as much
   as packing 16K floats). */
#ifndef RK_PACK_B_MIN_FLOATS_PER_THREAD
#define RK_PACK_B_MIN_FLOATS_PER_THREAD (32L * 1024)
#endif

typedef struct {
    const rk_gemm_arch *ar;
    int transB, N, K, kc;
    const float *B;
    int ldb;
    float *dst; /* the first K block's panels */
} pack_b_job;

/* Part t of nt: whole NR panels of every K block, the same bytes whoever writes them. */
static void pack_b_task(void *ctx, int t, int nt) {
    const pack_b_job *j = (const pack_b_job *)ctx;
    const int NR = j->ar->nr, nb = ceil_div(j->N, NR);
    const int j0 = imin(j->N, (int)((long)nb * t / nt) * NR), j1 = imin(j->N, (int)((long)nb * (t + 1) / nt) * NR);
    if (j0 >= j1) return;
    const size_t npad = (size_t)nb * NR;
    for (int p0 = 0; p0 < j->K; p0 += j->kc) {
        const int kc = imin(j->kc, j->K - p0);
        (j->ar->pack_b ? j->ar->pack_b : rk_pack_b)(j->transB, j->B, j->ldb, p0, kc, j0, j1 - j0, NR,
                                                    j->dst + (size_t)p0 * npad + (size_t)j0 * kc);
    }
}

void rk_sgemm_pack_b(int transB, int N, int K, const float *B, int ldb, float *packed) {
    const rk_gemm_arch *ar = arch_with(rk_active_isa(), rk_matmul_precision_tls);
    const int32_t head[5] = {ar->isa, N, K, K > 0 ? kc_for(ar, K) : 0, ar->pairs ? RK_MATMUL_BF16 : RK_MATMUL_FP32};
    memcpy(packed, head, sizeof head);
    if (N <= 0 || K <= 0) return;
    pack_b_job j = {ar, transB != 0, N, K, head[3], B, ldb, packed + RK_PACKED_HEADER};
    /* The recurrent weights are packed again after every optimiser step: split the panels over
       the threads rather than leave them waiting. */
    long parts = (long)N * K / RK_PACK_B_MIN_FLOATS_PER_THREAD;
    const long panels = ceil_div(N, ar->nr);
    if (parts > panels) parts = panels;
    if (parts > rk_pool_threads()) parts = rk_pool_threads();
    rk_parallel_parts(parts > 1 ? (int)parts : 1, pack_b_task, &j);
}

int rk_sgemm_packed(int transA, int M, int N, int K, float alpha, const float *A, int lda, const float *packed,
                    float beta, float *C, int ldc) {
    int32_t head[5];
    memcpy(head, packed, sizeof head);
    if (head[1] != N || head[2] != K || head[0] < 0 || head[0] > 3 || head[4] < 0 || head[4] > 1) return -1;
    if (M <= 0 || N <= 0) return 0;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return 0;
    }
    gemm_job g;
    g.ar = arch_with(head[0], head[4]); /* the path and precision that packed it, whatever is active now */
    g.transA = transA != 0;
    g.transB = 0;
    g.M = M, g.N = N, g.K = K;
    g.alpha = alpha, g.beta = beta;
    g.A = A, g.B = NULL, g.C = C;
    g.lda = lda, g.ldb = 0, g.ldc = ldc;
    g.kc = head[3];
    g.direct = 0;
    g.x = NULL; /* M == 1 runs the blocked kernel: the same bits as rk_sgemm's paths */
    g.packed = packed + RK_PACKED_HEADER;
    g.npad = (long)ceil_div(N, g.ar->nr) * g.ar->nr;
    run_job(&g);
    return 0;
}
