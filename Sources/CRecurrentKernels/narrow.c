/*
 * Reduced-precision weights for batch-1 inference: the conversions, the
 * portable matrix-vector loops, ISA dispatch and the split over the thread
 * pool. narrow_internal.h has the overview; the references are in
 * narrow_ref.c.
 *
 * Formats, W (P, K) row-major:
 *   bf16: the upper 16 bits of the float32, rounded to nearest, ties to even
 *         (PyTorch's .to(torch.bfloat16)); widening is a 16-bit shift.
 *   int8: per row p, s_p = max_k |W[p,k]| / 127 and q = round(W / s_p)
 *         clamped to [-127, 127] (symmetric; 0 for an all-zero row);
 *         the row stands for q * s_p, and y_p = s_p * sum_k q[p,k] x[k].
 *
 *   w8a8: int8 weights as above, and x quantised once per product to bytes,
 *         sx = max_k |x[k]| / 127, xi = round(x / sx) in [-127, 127], stored as
 *         xq = xi + 128; y_p = s_p * sx * sum_k q[p,k] xi[k], the sum exact in
 *         integers (AVX-512 VNNI where the CPU has it, a portable loop elsewhere;
 *         the same bits either way). Not float32 arithmetic: x loses bits too.
 *
 * Threads: the rows are split into one contiguous range per thread. A thread
 * first claims the range that matches its own stable slot number, so on
 * repeated products of the same matrix each core keeps reading the same rows
 * (and keeps them in its own L2) as long as the pool's threads stay on their
 * cores; any range left unclaimed is taken by whoever is free. Which thread
 * computes a row never changes its bits.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "CRecurrentKernels.h"
#include "gemm_internal.h"
#include "narrow_internal.h"

/* ---- conversions -------------------------------------------------------------------------- */

static inline float float_from_bf16(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void rk_narrow_bf16(long n, const float *src, uint16_t *dst) {
    for (long i = 0; i < n; i++) dst[i] = rk_bf16_round(src[i]);
}

void rk_widen_bf16(long n, const uint16_t *src, float *dst) {
    for (long i = 0; i < n; i++) dst[i] = float_from_bf16(src[i]);
}

/* Rounding by adding and subtracting 1.5 * 2^23: nearest, ties to even, exact for |v| <= 2^22,
   and a loop the compiler vectorises (rintf is a libm call on baseline x86-64). */
#define RK_ROUND_MAGIC 12582912.0f

void rk_narrow_int8(long P, long K, const float *W, int8_t *q, float *scale) {
    for (long p = 0; p < P; p++) {
        const float *w = W + p * K;
        float m = 0.0f;
        for (long k = 0; k < K; k++) {
            const float a = fabsf(w[k]);
            m = a > m ? a : m;
        }
        const float s = m / 127.0f;
        scale[p] = s;
        if (!(s > 0.0f)) { /* an all-zero row (or one too small for a normal scale) stays zero */
            memset(q + p * K, 0, (size_t)K);
            continue;
        }
        for (long k = 0; k < K; k++) {
            float r = (w[k] / s + RK_ROUND_MAGIC) - RK_ROUND_MAGIC;
            r = r > 127.0f ? 127.0f : r;
            r = r < -127.0f ? -127.0f : r;
            q[p * K + k] = (int8_t)(int32_t)r;
        }
    }
}

long rk_first_nonfinite(long n, const float *x) {
    const uint32_t *u = (const uint32_t *)x;
    long i = 0;
    for (; i + 64 <= n; i += 64) { /* a branch-free OR over blocks, then a look inside the bad one */
        uint32_t any = 0;
        for (int l = 0; l < 64; l++) any |= (uint32_t)((u[i + l] & 0x7F800000u) == 0x7F800000u);
        if (any) break;
    }
    for (; i < n; i++)
        if ((u[i] & 0x7F800000u) == 0x7F800000u) return i;
    return -1;
}

void rk_widen_int8(long P, long K, const int8_t *q, const float *scale, float *dst) {
    for (long p = 0; p < P; p++)
        for (long k = 0; k < K; k++) dst[p * K + k] = (float)q[p * K + k] * scale[p];
}

/* ---- portable loops ------------------------------------------------------------------------ */

/*
 * Eight partial sums per row (lane l takes k = l mod 8), added pairwise at the end: the
 * compiler vectorises the lanes for the baseline ISA without reordering any sum.
 */
#define GL 8

static inline float lanes_sum(const float s[GL]) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void bf16_generic(long p0, long p1, long K, const uint16_t *W, const float *x, const float *xe,
                         const float *xo, int accumulate, float *y) {
    (void)xe, (void)xo;
    for (long p = p0; p < p1; p++) {
        const uint16_t *w = W + p * K;
        float s[GL] = {0};
        long k = 0;
        for (; k + GL <= K; k += GL)
            for (int l = 0; l < GL; l++) s[l] += float_from_bf16(w[k + l]) * x[k + l];
        for (int l = 0; k + l < K; l++) s[l] += float_from_bf16(w[k + l]) * x[k + l];
        y[p] = accumulate ? y[p] + lanes_sum(s) : lanes_sum(s);
    }
}

static void int8_generic(long p0, long p1, long K, const int8_t *W, const float *scale, const float *x,
                         int accumulate, float *y) {
    for (long p = p0; p < p1; p++) {
        const int8_t *w = W + p * K;
        float s[GL] = {0};
        long k = 0;
        for (; k + GL <= K; k += GL)
            for (int l = 0; l < GL; l++) s[l] += (float)w[k + l] * x[k + l];
        for (int l = 0; k + l < K; l++) s[l] += (float)w[k + l] * x[k + l];
        const float r = scale[p] * lanes_sum(s);
        y[p] = accumulate ? y[p] + r : r;
    }
}

static void w8a8_generic(long p0, long p1, long K, const int8_t *W, const float *scale, const int32_t *rowsum,
                         const uint8_t *xq, float sx, int accumulate, float *y) {
    for (long p = p0; p < p1; p++) {
        const int8_t *w = W + p * K;
        int32_t dot = 0;
        for (long k = 0; k < K; k++) dot += (int32_t)w[k] * (int32_t)xq[k];
        const float r = rk_w8a8_row(dot, rowsum[p], scale[p], sx);
        y[p] = accumulate ? y[p] + r : r;
    }
}

const rk_narrow_arch rk_narrow_generic = {.isa = RK_ISA_GENERIC, .bf16 = bf16_generic, .int8 = int8_generic,
                                          .w8a8 = w8a8_generic};

void rk_int8_row_sums(long P, long K, const int8_t *q, int32_t *sums) {
    for (long p = 0; p < P; p++) {
        int32_t s = 0;
        for (long k = 0; k < K; k++) s += q[p * K + k];
        sums[p] = s;
    }
}

/*
 * x (K) to bytes xq = round(x / sx) + 128, zero-padded to `padded`; returns sx (0 for x == 0;
 * NaN when x is not finite, which makes every output NaN). Rounding as rk_narrow_int8's; a
 * lane-wise maximum and a lane-wise sum of x * 0 (NaN once any x is not finite) let the compiler
 * vectorise the first pass. narrow_avx512.c has the same function in intrinsics (the same bits).
 */
float rk_quantize_u8(long K, const float *x, uint8_t *xq, long padded) {
    float m[GL] = {0}, poison[GL] = {0};
    long k = 0;
    for (; k + GL <= K; k += GL)
        for (int l = 0; l < GL; l++) {
            const float a = fabsf(x[k + l]);
            m[l] = a > m[l] ? a : m[l];
            poison[l] += x[k + l] * 0.0f;
        }
    for (int l = 0; k + l < K; l++) {
        const float a = fabsf(x[k + l]);
        m[l] = a > m[l] ? a : m[l];
        poison[l] += x[k + l] * 0.0f;
    }
    float mx = 0.0f, bad = 0.0f;
    for (int l = 0; l < GL; l++) {
        mx = m[l] > mx ? m[l] : mx;
        bad += poison[l];
    }
    const float sx = mx / 127.0f;
    if (bad != 0.0f || !(sx > 0.0f)) { /* not finite, or all zero (or too small to scale) */
        memset(xq, 128, (size_t)K);
        memset(xq + K, 0, (size_t)(padded - K));
        return bad != 0.0f ? NAN : 0.0f;
    }
    for (long j = 0; j < K; j++) {
        float r = (x[j] / sx + RK_ROUND_MAGIC) - RK_ROUND_MAGIC;
        r = r > 127.0f ? 127.0f : r;
        r = r < -127.0f ? -127.0f : r;
        xq[j] = (uint8_t)((int32_t)r + 128);
    }
    memset(xq + K, 0, (size_t)(padded - K));
    return sx;
}

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
int rk_narrow_has_vnni(void) {
    unsigned a, b, c, d;
    if (!rk_isa_available(RK_ISA_AVX512) || __get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (c >> 11) & 1; /* AVX512_VNNI; the ZMM state is checked with AVX512 */
}
#else
int rk_narrow_has_vnni(void) { return 0; }
#endif

static atomic_int vnni_known = -1;
static int vnni(void) {
    int v = atomic_load_explicit(&vnni_known, memory_order_relaxed);
    if (v < 0) atomic_store_explicit(&vnni_known, v = rk_narrow_has_vnni(), memory_order_relaxed);
    return v;
}

/* ---- dispatch and threads ------------------------------------------------------------------ */

static const rk_narrow_arch *narrow_arch(void) {
    switch (rk_active_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case RK_ISA_AVX512: return &rk_narrow_avx512;
    case RK_ISA_AVX2: return &rk_narrow_avx2;
#endif
    default: return &rk_narrow_generic;
    }
}

/* Below this many weight bytes per thread, waking another thread costs more than it saves
   (a product this size runs in well under a microsecond from L2). */
#ifndef RK_NARROW_MIN_BYTES_PER_THREAD
#define RK_NARROW_MIN_BYTES_PER_THREAD (64L * 1024)
#endif
#define RK_NARROW_ROW_UNIT 16 /* ranges start at multiples of 16 rows: whole cache lines of y */
#define RK_NARROW_MAX_PARTS 64

enum { FMT_BF16, FMT_INT8, FMT_W8A8 };

typedef struct {
    const rk_narrow_arch *ar;
    int format;
    long P, K;
    const void *W;
    const float *scale, *x, *xe, *xo;
    const int32_t *rowsum;
    const uint8_t *xq;
    float sx;
    int accumulate;
    float *y;
    atomic_int claimed[RK_NARROW_MAX_PARTS];
} narrow_job;

static void narrow_rows(const narrow_job *j, long p0, long p1) {
    if (p0 >= p1) return;
    if (j->format == FMT_BF16)
        j->ar->bf16(p0, p1, j->K, (const uint16_t *)j->W, j->x, j->xe, j->xo, j->accumulate, j->y);
    else if (j->format == FMT_INT8)
        j->ar->int8(p0, p1, j->K, (const int8_t *)j->W, j->scale, j->x, j->accumulate, j->y);
    else
        j->ar->w8a8(p0, p1, j->K, (const int8_t *)j->W, j->scale, j->rowsum, j->xq, j->sx, j->accumulate, j->y);
}

static void narrow_range(const narrow_job *j, int part, int nt) {
    const long units = (j->P + RK_NARROW_ROW_UNIT - 1) / RK_NARROW_ROW_UNIT;
    long p0 = units * part / nt * RK_NARROW_ROW_UNIT, p1 = units * (part + 1) / nt * RK_NARROW_ROW_UNIT;
    narrow_rows(j, p0 < j->P ? p0 : j->P, p1 < j->P ? p1 : j->P);
}

static atomic_int next_slot;
static _Thread_local int thread_slot = -1;

static void narrow_task(void *ctx, int t, int nt) {
    narrow_job *j = (narrow_job *)ctx;
    (void)t; /* the pool's part number says nothing about which thread runs it */
    if (thread_slot < 0) thread_slot = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed);
    /* nt runs of this task and nt ranges: every run claims exactly one, its own slot's if free. */
    for (int i = 0; i < nt; i++) {
        const int part = (thread_slot + i) % nt;
        if (atomic_exchange_explicit(&j->claimed[part], 1, memory_order_relaxed) == 0) {
            narrow_range(j, part, nt);
            return;
        }
    }
}

static void narrow_run(narrow_job *j, long bytes) {
    long want = rk_pool_threads();
    const long by_size = bytes / RK_NARROW_MIN_BYTES_PER_THREAD;
    const long by_rows = (j->P + RK_NARROW_ROW_UNIT - 1) / RK_NARROW_ROW_UNIT;
    if (want > by_size) want = by_size;
    if (want > by_rows) want = by_rows;
    if (want > RK_NARROW_MAX_PARTS) want = RK_NARROW_MAX_PARTS;
    const int nt = want > 1 ? rk_pool_acquire((int)want) : 1;
    if (nt > 1) {
        for (int i = 0; i < nt; i++) atomic_store_explicit(&j->claimed[i], 0, memory_order_relaxed);
        rk_pool_run(nt, narrow_task, j); /* publishes the job with release ordering */
        rk_pool_release();
    } else {
        narrow_rows(j, 0, j->P);
    }
}

void rk_matvec_bf16(long M, long P, long K, const uint16_t *W, const float *x, long ldx, int accumulate, float *y,
                    long ldy) {
    if (M <= 0 || P <= 0) return;
    narrow_job j;
    j.ar = narrow_arch();
    j.format = FMT_BF16;
    j.P = P, j.K = K, j.W = W, j.scale = NULL, j.accumulate = accumulate != 0;
    /* x split into even and odd elements, zero-padded, once per product (the AVX paths
       widen 2 bf16 per 32-bit lane: the low halves are W's even columns, the high halves its odd). */
    const long half = ((K + 1) / 2 + 15) / 16 * 16;
    float *split = j.ar->isa == RK_ISA_GENERIC ? NULL : rk_scratch(1, (size_t)(2 * half));
    if (!split) j.ar = &rk_narrow_generic; /* out of memory for K floats: the loops that read x itself */
    for (long m = 0; m < M; m++) {
        const float *x_m = x + m * ldx;
        if (split) {
            float *xe = split, *xo = split + half;
            for (long i = 0; i < K / 2; i++) {
                xe[i] = x_m[2 * i];
                xo[i] = x_m[2 * i + 1];
            }
            if (K & 1) xe[K / 2] = x_m[K - 1];
            memset(xe + (K + 1) / 2, 0, (size_t)(half - (K + 1) / 2) * sizeof(float));
            memset(xo + K / 2, 0, (size_t)(half - K / 2) * sizeof(float));
        }
        j.x = x_m, j.xe = split, j.xo = split ? split + half : NULL, j.y = y + m * ldy;
        narrow_run(&j, P * K * 2);
    }
}

void rk_matvec_int8(long M, long P, long K, const int8_t *W, const float *scale, const float *x, long ldx,
                    int accumulate, float *y, long ldy) {
    if (M <= 0 || P <= 0) return;
    narrow_job j;
    j.ar = narrow_arch();
    j.format = FMT_INT8;
    j.P = P, j.K = K, j.W = W, j.scale = scale, j.accumulate = accumulate != 0, j.xe = j.xo = NULL;
    for (long m = 0; m < M; m++) {
        j.x = x + m * ldx, j.y = y + m * ldy;
        narrow_run(&j, P * K);
    }
}

void rk_matvec_w8a8(long M, long P, long K, const int8_t *W, const float *scale, const int32_t *rowsum, const float *x,
                    long ldx, int accumulate, float *y, long ldy) {
    if (M <= 0 || P <= 0) return;
    narrow_job j;
    j.ar = narrow_arch();
#if defined(__x86_64__) || defined(_M_X64)
    if (j.ar == &rk_narrow_avx512 && !vnni()) j.ar = &rk_narrow_generic; /* AVX-512 without VNNI */
#endif
    if (!j.ar->w8a8) j.ar = &rk_narrow_generic;
    j.format = FMT_W8A8;
    j.P = P, j.K = K, j.W = W, j.scale = scale, j.rowsum = rowsum, j.accumulate = accumulate != 0;
    j.x = j.xe = j.xo = NULL;
    const long padded = (K + 63) / 64 * 64;
    uint8_t *xq = (uint8_t *)rk_scratch(1, (size_t)(padded / 4 + 1));
    for (long m = 0; m < M; m++) {
        if (!xq) { /* out of memory for K bytes: the reference loop (the same bits) */
            rk_matvec_w8a8_ref(1, P, K, W, scale, rowsum, x + m * ldx, ldx, accumulate, y + m * ldy, ldy);
            continue;
        }
        j.sx = (j.ar->quantize ? j.ar->quantize : rk_quantize_u8)(K, x + m * ldx, xq, padded);
        j.xq = xq, j.y = y + m * ldy;
        narrow_run(&j, P * K);
    }
}
