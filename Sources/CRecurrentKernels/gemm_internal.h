#ifndef RK_GEMM_INTERNAL_H
#define RK_GEMM_INTERNAL_H
/*
 * Private to CRecurrentKernels: the pieces shared by the SGEMM driver (gemm.c),
 * the per-ISA micro-kernels (gemm_<isa>.c), the packers and the thread pool.
 *
 * The design is the BLIS/GotoBLAS one, written for row-major C:
 *
 *   C (M x N) += op(A) (M x K) * op(B) (K x N)
 *
 *   op(A) is packed into "A panels": MR rows x kc, stored k-major, so one k step
 *         of the micro-kernel reads MR consecutive floats (the broadcasts);
 *   op(B) is packed into "B panels": kc x NR, stored k-major, so one k step
 *         reads NR consecutive floats (NR/16 zmm loads on AVX-512).
 *
 * Packing absorbs transA/transB, so one micro-kernel serves all four cases.
 * Panels are zero-padded up to MR / NR, which keeps every stored element's
 * arithmetic the same whether it sits in a full tile or an edge tile.
 *
 * Determinism: every element C[i][j] is, per K block, one FMA chain over k in
 * increasing order, followed by C = alpha*acc + beta*C. K blocks depend only
 * on K (never on the thread count) and threads only split M and N, so the
 * result is bit-identical for any number of threads.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define RK_INLINE static inline __attribute__((always_inline))
#define RK_RESTRICT __restrict__
#else
#define RK_INLINE static inline
#define RK_RESTRICT
#endif

/* Fully unroll the following loop (constant trip count after inlining). */
#if defined(__clang__)
#define RK_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define RK_UNROLL _Pragma("GCC unroll 16")
#else
#define RK_UNROLL
#endif

/*
 * Micro-kernel: one mr x nr tile of C (mr <= MR, nr <= NR).
 *
 *   a    : A panel, element (i, k) at a[i*ldai + k*ldak]: packed (ldai == 1, ldak == MR) or,
 *          for archs with direct_a, op(A) read in place: stored K x M (transA: ldai == 1,
 *          ldak == lda), one row (ldak == 1), or M x K rows (ldai == lda, ldak == 1); only
 *          the mr valid rows may be touched. Kernels of archs without direct_a see ldai == 1.
 *   b    : B, element (k, j) at b[k*ldbk + j]; either a packed panel
 *          (ldbk == NR, zero-padded to NR columns) or, for archs with
 *          direct_b_max_m > 0, op(B) itself read in place (ldbk == ldb, only
 *          the nr valid columns may be touched)
 *   c    : C tile, element (i, j) at c[i*ldc + j]
 *
 *   C = alpha * sum_k a(i,k) b(k,j) + beta * C   (beta == 0: C is not read)
 */
typedef void (*rk_kernel_fn)(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b, long ldbk,
                             float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta);

/*
 * Micro-kernel over two adjacent B panels at once (b0: columns 0..NR-1, b1: NR..2NR-1, each
 * as b above; nr <= 2NR valid columns, b1 untouched when nr <= NR), for row panels of at most
 * pair_max_mr rows: twice the FMA chains of a narrow tile. Each element's arithmetic must be
 * the kernel's own (the same bits).
 */
typedef void (*rk_kernel_pair_fn)(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b0,
                                  const float *RK_RESTRICT b1, long ldbk, float *RK_RESTRICT c, long ldc, int mr,
                                  int nr, float alpha, float beta);

/* Packs op(A)[i0 : i0+mc, p0 : p0+kc] into ceil(mc/MR) panels of MR x kc. */
typedef void (*rk_pack_a_fn)(int transA, const float *A, long lda, int i0, int mc, int p0, int kc,
                             int MR, float *RK_RESTRICT out);
/* Packs op(B)[p0 : p0+kc, j0 : j0+nc] into ceil(nc/NR) panels of kc x NR. */
typedef void (*rk_pack_b_fn)(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc,
                             int NR, float *RK_RESTRICT out);

/*
 * M == 1, transB == 0: y[j0:j1] = alpha * x B[:, j0:j1] + beta * y[j0:j1], x contiguous (K).
 * Each y[j] must be bit-identical to what the blocked path computes for that element
 * (the same K blocks of kc, one FMA chain each, the same alpha/beta update), so no
 * row of C depends on M, and none on j0, j1 (the thread split).
 */
typedef void (*rk_gemv_fn)(int K, int kc, float alpha, const float *RK_RESTRICT x, const float *RK_RESTRICT B,
                           long ldb, float beta, float *RK_RESTRICT y, int j0, int j1);

typedef struct {
    int isa;
    int mr, nr;        /* register tile */
    int kc, mc, nc;    /* cache blocks: max K block, rows of A per pack, columns of B per pack */
    int direct_b_max_m; /* read op(B) in place, unpacked, when transB == 0 and M <= this
                           (the kernel must then touch only the nr valid columns) */
    int direct_a;       /* the kernel may read op(A) in place (see rk_kernel_fn) */
    rk_kernel_fn kernel;
    rk_kernel_pair_fn kernel_pair; /* NULL: none; else used for row panels of <= pair_max_mr rows */
    int pair_max_mr;
    rk_pack_a_fn pack_a; /* NULL: the portable packers of gemm_pack.c */
    rk_pack_b_fn pack_b;
    rk_gemv_fn gemv;     /* NULL: M == 1 goes through the blocked path */
    int pairs;           /* bf16 products: the packers round to bf16 and store pairs of k in 32-bit
                            words (gemm_bf16.c); kernels and packers take the float pointers as words */
} rk_gemm_arch;

extern const rk_gemm_arch rk_arch_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rk_gemm_arch rk_arch_avx2;
extern const rk_gemm_arch rk_arch_avx512;
#endif
#if defined(__aarch64__)
extern const rk_gemm_arch rk_arch_neon;
#endif

/* bf16 products (RK_MATMUL_BF16, gemm_bf16.c): the portable path, which defines the bits, and
   the AVX-512 BF16 one, which reproduces them. Both block K in RK_BF16_KC. */
#define RK_BF16_KC 768
extern const rk_gemm_arch rk_arch_bf16_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rk_gemm_arch rk_arch_avx512_bf16;
int rk_cpu_has_avx512_bf16(void);
#endif
void rk_pack_a_pairs(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, int MR,
                     float *RK_RESTRICT out);
void rk_pack_b_pairs(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc, int NR,
                     float *RK_RESTRICT out);
/* acc after one pair of k: VDPBF16PS's arithmetic for one lane. */
float rk_bf16_dot_pair(float acc, uint32_t a, uint32_t b);

/* The calling thread's precision for products (RK_MATMUL_*); pool workers take their caller's. */
extern _Thread_local int rk_matmul_precision_tls;

/* Portable packers (gemm_pack.c). */
void rk_pack_a(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, int MR,
               float *RK_RESTRICT out);
void rk_pack_b(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc, int NR,
               float *RK_RESTRICT out);

/* CPU feature detection (cpu.c): 1 when the CPU and the OS support the path. */
int rk_cpu_has(int isa);
/* 1 on an AMD CPU (cpu.c): the driver reads a large op(B) in place only there. */
int rk_cpu_is_amd(void);

/*
 * Persistent worker pool (threadpool.c). The calling thread is worker 0.
 *   n = rk_pool_acquire(want): reserves the pool for one parallel call and
 *       returns how many threads may be used (1 when the pool is busy with
 *       another host thread: then nothing is held and the caller runs alone);
 *   rk_pool_run(n, fn, ctx): runs fn(ctx, t, n) for t = 0..n-1, t = 0 on the
 *       calling thread, and returns when all are done;
 *   rk_pool_release(): ends the reservation (only when acquire returned > 1).
 */
typedef void (*rk_task_fn)(void *ctx, int tid, int nthreads);
int rk_pool_acquire(int want);
void rk_pool_run(int n, rk_task_fn fn, void *ctx);
void rk_pool_release(void);
int rk_pool_threads(void); /* configured thread count (>= 1) */
void rk_pool_set_threads(int n);

/* 64-byte aligned per-OS-thread scratch, grown on demand, freed at thread exit. */
float *rk_scratch(int slot, size_t floats);

#endif
