/*
 * Products with bfloat16 operands (RK_MATMUL_BF16): the portable half, which is also the
 * definition the AVX-512 BF16 path (gemm_avx512_bf16.c) reproduces bit for bit.
 *
 * op(A) and op(B) are rounded to bfloat16 (nearest, ties to even) while they are packed, and the
 * products are summed in float32. The packed panels hold pairs along k: one 32-bit word holds the
 * bf16 of (k, k+1) for k even, k in the low half, so that one VDPBF16PS lane takes two steps of k.
 *
 *   A panel: MR x ceil(kc/2) words, word (i, kp) at a[kp*MR + i]  (the layout of a float panel
 *            with pairs of k in place of k)
 *   B panel: ceil(kc/2) x NR words, word (kp, j) at b[kp*NR + j]
 *
 * An odd kc pads its last pair with a zero. Panels sit at the offsets the driver gives float
 * panels (a panel of kc floats is at least ceil(kc/2) words), so the driver's blocking, thread
 * split and packed-B layout are the same for both precisions.
 *
 * Arithmetic of one element, per pair, as VDPBF16PS defines it (Intel SDM; measured identical on
 * AMD Zen 5 over 3.2 million random lanes, subnormals included): acc = fma(a[k+1], b[k+1], acc),
 * then acc = fma(a[k], b[k], acc), each rounded to nearest even; subnormal inputs read as zero and
 * subnormal results are flushed to zero. Then C = alpha * acc + beta * C as the float32 kernels do.
 */
#include <math.h>
#include <string.h>
#include "CRecurrentKernels.h"
#include "gemm_internal.h"

uint16_t rk_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u); /* NaN stays a (quiet) NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);                                               /* nearest, ties to even */
    return (uint16_t)(u >> 16);
}

static inline uint32_t pair(float lo, float hi) {
    return (uint32_t)rk_bf16_round(lo) | (uint32_t)rk_bf16_round(hi) << 16;
}

/* A float with its subnormals read as zero (DAZ / FTZ). */
static inline float flushed(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if (!(u & 0x7F800000u)) u &= 0x80000000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float widened(uint32_t word, int high) {
    const uint32_t u = high ? word & 0xFFFF0000u : word << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return flushed(f);
}

float rk_bf16_dot_pair(float acc, uint32_t a, uint32_t b) {
    acc = flushed(fmaf(widened(a, 1), widened(b, 1), flushed(acc)));
    return flushed(fmaf(widened(a, 0), widened(b, 0), acc));
}

/*
 * Panels of W words a pair of k from a matrix whose element (k, x) is at src[k*sk + x*sx]: x from
 * x0, n of them, panel after panel (zero past n), each at out + panel * W * kc floats.
 */
static void pack_pairs(const float *src, long sk, long sx, int p0, int kc, long x0, int n, int W, float *RK_RESTRICT out) {
    const int pairs = (kc + 1) / 2;
    for (int s0 = 0; s0 < n; s0 += W) {
        const int width = n - s0 < W ? n - s0 : W;
        uint32_t *RK_RESTRICT dst = (uint32_t *)(out + (size_t)s0 * kc);
        for (int kp = 0; kp < pairs; kp++) {
            const long k = p0 + 2 * kp;
            const int odd = 2 * kp + 1 < kc;
            for (int x = 0; x < W; x++) {
                if (x >= width) {
                    dst[(size_t)kp * W + x] = 0;
                    continue;
                }
                const float *e = src + k * sk + (x0 + s0 + x) * sx;
                dst[(size_t)kp * W + x] = pair(e[0], odd ? e[sk] : 0.0f);
            }
        }
    }
}

void rk_pack_a_pairs(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, int MR,
                     float *RK_RESTRICT out) {
    pack_pairs(A, transA ? lda : 1, transA ? 1 : lda, p0, kc, i0, mc, MR, out);
}

void rk_pack_b_pairs(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc, int NR,
                     float *RK_RESTRICT out) {
    pack_pairs(B, transB ? 1 : ldb, transB ? ldb : 1, p0, kc, j0, nc, NR, out);
}

#define MRG 4
#define NRG 16

/* The definition above, one element at a time (edge tiles round like full ones). */
static void kernel_bf16_generic(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b,
                                long ldbk, float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
    (void)ldai;
    const uint32_t *aw = (const uint32_t *)a, *bw = (const uint32_t *)b;
    float acc[MRG][NRG] = {{0}};
    for (int kp = 0; kp < (kc + 1) / 2; kp++) {
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) acc[i][j] = rk_bf16_dot_pair(acc[i][j], aw[i], bw[j]);
        aw += ldak; /* MRG words a pair */
        bw += ldbk; /* NRG words a pair */
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + (long)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j];
        else /* as the vector kernels round it */
            for (int j = 0; j < nr; j++) ci[j] = fmaf(alpha, acc[i][j], beta * ci[j]);
    }
}

const rk_gemm_arch rk_arch_bf16_generic = {
    .isa = RK_ISA_GENERIC,
    .mr = MRG, .nr = NRG,
    .kc = RK_BF16_KC, .mc = 512, .nc = 256, /* the K blocks of every bf16 path: the same bits */
    .direct_b_max_m = 0, .direct_a = 0, /* the operands are rounded while they are packed */
    .kernel = kernel_bf16_generic,
    .pack_a = rk_pack_a_pairs, .pack_b = rk_pack_b_pairs, .gemv = 0,
    .pairs = 1,
};
