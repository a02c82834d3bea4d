/*
 * AVX-512 micro-kernel: a 14 x 32 tile of C held in 28 zmm accumulators.
 *
 * One k step: 2 zmm loads of the B panel row (32 floats), 14 broadcasts from
 * the A panel column, 28 FMAs. Zen 4/5 and Skylake-X have two 512-bit FMA
 * pipes with a 4-cycle latency, so >= 8 independent chains are needed; 28
 * keep both pipes busy and leave 4 registers for the B rows and a broadcast.
 * 14 rows (not 6 x 64) keeps the B panel row at two cache lines, which the
 * driver streams from L2 while the 14 x kc A panel stays in L1. An A stored
 * M x K is not packed: the broadcasts read its 14 rows in place, lda apart
 * (broadcasts are loads, where packing it took a 16 x 16 transpose per 256
 * elements).
 *
 * Edges: mr < 14 uses a kernel instantiated for exactly mr rows (same FMA
 * chain per element, fewer wasted flops for M = 50 or 32); nr < 32 uses
 * masked loads/stores, which also lets the kernel read an unpacked op(B) in
 * place without touching memory past the last column.
 *
 * Compiled with a target attribute (no -mavx512f flag) and only called after
 * the runtime check in cpu.c.
 */
#include "gemm_internal.h"
#include "CRecurrentKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define A512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#include "gemm_avx512_shared.h"

#ifndef RK512_MR
#define RK512_MR 14 /* rows of the register tile */
#endif
#ifndef RK512_NV
#define RK512_NV 2  /* zmm vectors per row: NR = 16 * NV */
#endif
#define RK512_NR (16 * RK512_NV)


/*
 * R rows x 16*NV columns (both compile-time after inlining); EDGE: fewer valid columns, nr
 * (masked). Vectors 0 and 1 read b0, vectors 2 and 3 read b1 (the next panel: NV = 4 is
 * kernel_pair512's two panels side by side). ROWS: A read in place as rows ldai apart (k
 * stride 1), else element (i, k) at a[k*ldak + i]; the same FMAs either way.
 */
RK_INLINE A512 void tile512(const int R, const int NV, const int EDGE, const int ROWS, int kc,
                            const float *RK_RESTRICT a, long ldai, long ldak,
                            const float *RK_RESTRICT b0, const float *RK_RESTRICT b1, long ldbk,
                            float *RK_RESTRICT c, long ldc, int nr, float alpha, float beta) {
    __m512 acc[RK512_MR][4];
    __mmask16 m[4];
    RK_UNROLL for (int v = 0; v < NV; v++) m[v] = EDGE ? lane_mask(nr - 16 * v) : (__mmask16)0xFFFF;
    RK_UNROLL for (int i = 0; i < R; i++)
        RK_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();

    for (int k = 0; k < kc; k++) {
        __m512 bv[4];
        RK_UNROLL for (int v = 0; v < NV; v++) {
            const float *src = v < 2 ? b0 + 16 * v : b1 + 16 * (v - 2);
            bv[v] = EDGE ? _mm512_maskz_loadu_ps(m[v], src) : _mm512_loadu_ps(src);
        }
        RK_UNROLL for (int i = 0; i < R; i++) {
            const __m512 ai = _mm512_set1_ps(ROWS ? a[(long)i * ldai] : a[i]);
            RK_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += ROWS ? 1 : ldak; /* MR for a packed panel, whatever R */
        b0 += ldbk;
        b1 += ldbk;
    }

    /* C = alpha*acc + beta*C; beta == 0 never reads C (BLAS semantics: NaNs in C vanish). */
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    RK_UNROLL for (int i = 0; i < R; i++) {
        float *ci = c + (long)i * ldc;
        RK_UNROLL for (int v = 0; v < NV; v++) {
            if (EDGE && !m[v]) continue;
            __m512 r;
            if (beta == 0.0f) {
                r = _mm512_mul_ps(va, acc[i][v]);
            } else {
                const __m512 old = EDGE ? _mm512_maskz_loadu_ps(m[v], ci + 16 * v) : _mm512_loadu_ps(ci + 16 * v);
                r = _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, old));
            }
            if (EDGE) _mm512_mask_storeu_ps(ci + 16 * v, m[v], r);
            else _mm512_storeu_ps(ci + 16 * v, r);
        }
    }
}

static A512 void kernel_avx512(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b,
                               long ldbk, float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
#define RK_TILE(R, EDGE, ROWS) tile512(R, RK512_NV, EDGE, ROWS, kc, a, ldai, ldak, b, b + 32, ldbk, c, ldc, nr, alpha, beta)
#define RK_CASE(R)                                                                                   \
    case R:                                                                                          \
        if (ldai != 1) {                                                                             \
            if (nr >= RK512_NR) RK_TILE(R, 0, 1);                                                    \
            else RK_TILE(R, 1, 1);                                                                   \
        } else if (nr >= RK512_NR) RK_TILE(R, 0, 0);                                                 \
        else RK_TILE(R, 1, 0);                                                                       \
        return;
    switch (mr) {
        RK_CASE(1) RK_CASE(2) RK_CASE(3) RK_CASE(4)
#if RK512_MR >= 5
        RK_CASE(5) RK_CASE(6)
#endif
#if RK512_MR >= 7
        RK_CASE(7) RK_CASE(8)
#endif
#if RK512_MR >= 9
        RK_CASE(9) RK_CASE(10)
#endif
#if RK512_MR >= 11
        RK_CASE(11) RK_CASE(12)
#endif
#if RK512_MR >= 13
        RK_CASE(13) RK_CASE(14)
#endif
#if RK512_MR >= 15
        RK_CASE(15) RK_CASE(16)
#endif
    default: return;
    }
#undef RK_CASE
#undef RK_TILE
}

/*
 * Few rows (mr <= 6, e.g. the recurrent product of a batch of 4): two 32-column panels at
 * once, mr x 64 in up to 24 accumulators. A 4 x 32 tile has only 8 FMA chains for two pipes
 * of latency 4 and stalls on its B loads (4 x 512 x 256 ran at 54% of the FMA ceiling on one
 * Zen 5 core, 4 x 64 at 74%). The same FMA chain per element as kernel_avx512: same bits.
 */
static A512 void kernel_pair512(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b0,
                                const float *RK_RESTRICT b1, long ldbk, float *RK_RESTRICT c, long ldc, int mr, int nr,
                                float alpha, float beta) {
#define RK_TILE(R, EDGE, ROWS) tile512(R, 4, EDGE, ROWS, kc, a, ldai, ldak, b0, b1, ldbk, c, ldc, nr, alpha, beta)
#define RK_CASE(R)                                                                                   \
    case R:                                                                                          \
        if (ldai != 1) {                                                                             \
            if (nr >= 4 * 16) RK_TILE(R, 0, 1);                                                      \
            else RK_TILE(R, 1, 1);                                                                   \
        } else if (nr >= 4 * 16) RK_TILE(R, 0, 0);                                                   \
        else RK_TILE(R, 1, 0);                                                                       \
        return;
    switch (mr) {
        RK_CASE(1) RK_CASE(2) RK_CASE(3) RK_CASE(4) RK_CASE(5) RK_CASE(6)
    default: return;
    }
#undef RK_CASE
#undef RK_TILE
}

/* ---- packers: the two transposing cases, 16 x 16 blocks in registers ---------------- */

/*
 * Loads rows src + i*ld (i < rows, else zeros), kk <= 16 floats each, transposes,
 * and stores the first kk columns as rows dst + t*dst_stride with store mask smask.
 */
RK_INLINE A512 void transpose_block(const float *src, long ld, int rows, int kk, float *dst, long dst_stride,
                                    __mmask16 smask) {
    __m512 r[16];
    const __mmask16 lm = lane_mask(kk);
    RK_UNROLL for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(lm, src + (long)i * ld) : _mm512_setzero_ps();
    transpose16(r);
    if (kk == 16) {
        RK_UNROLL for (int t = 0; t < 16; t++) _mm512_mask_storeu_ps(dst + (long)t * dst_stride, smask, r[t]);
    } else {
        for (int t = 0; t < kk; t++) _mm512_mask_storeu_ps(dst + (long)t * dst_stride, smask, r[t]);
    }
}

/*
 * A stored K x M (transA), the only A this arch packs (an M x K A is read in place): each k of
 * a panel is one masked 14-float copy (the portable packer's short copies become memcpy calls,
 * which cost more than the data).
 */
static A512 void pack_a_avx512(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, int MR,
                               float *RK_RESTRICT out) {
    if (MR > 16 || !transA) {
        rk_pack_a(transA, A, lda, i0, mc, p0, kc, MR, out);
        return;
    }
    const __mmask16 smask = lane_mask(MR);
    for (int r0 = 0; r0 < mc; r0 += MR) {
        const __mmask16 lm = lane_mask(mc - r0 < MR ? mc - r0 : MR); /* rows past mc load as zeros */
        const float *src = A + (size_t)p0 * lda + i0 + r0;
        float *dst = out + (size_t)r0 * kc;
        for (int k = 0; k < kc; k++)
            _mm512_mask_storeu_ps(dst + (size_t)k * MR, smask, _mm512_maskz_loadu_ps(lm, src + (size_t)k * lda));
    }
}

/*
 * B stored N x K (transB): each 32-column panel is two columns of 16 x 16 transposes.
 * B is K x N: each k row of a panel is NR/16 masked copies, zero-padded past nc.
 */
static A512 void pack_b_avx512(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc, int NR,
                               float *RK_RESTRICT out) {
    if (NR % 16 || NR > 64) {
        rk_pack_b(transB, B, ldb, p0, kc, j0, nc, NR, out);
        return;
    }
    if (!transB) {
        for (int s0 = 0; s0 < nc; s0 += NR) {
            __mmask16 m[4];
            for (int v = 0; v < NR / 16; v++) m[v] = lane_mask(nc - s0 - 16 * v);
            const float *src = B + (size_t)p0 * ldb + j0 + s0;
            float *dst = out + (size_t)s0 * kc;
            for (int k = 0; k < kc; k++)
                for (int v = 0; v < NR / 16; v++)
                    _mm512_storeu_ps(dst + (size_t)k * NR + 16 * v, _mm512_maskz_loadu_ps(m[v], src + (size_t)k * ldb + 16 * v));
        }
        return;
    }
    for (int s0 = 0; s0 < nc; s0 += NR) {
        float *dst = out + (size_t)s0 * kc;
        for (int h = 0; h < NR; h += 16) {
            int rows = nc - s0 - h;
            rows = rows < 0 ? 0 : rows > 16 ? 16 : rows;
            const float *src = B + (size_t)(j0 + s0 + h) * ldb + p0;
            for (int k0 = 0; k0 < kc; k0 += 16)
                transpose_block(src + k0, ldb, rows, kc - k0 < 16 ? kc - k0 : 16, dst + (size_t)k0 * NR + h, NR,
                                (__mmask16)0xFFFF);
        }
    }
}

/* ---- M == 1, transB == 0: y = alpha * x B + beta * y, columns j0..j1 ------------------ */

/*
 * A matrix-vector product reads every element of B once, so it is bound by
 * memory, not FMAs: no packing, and 16 zmm accumulators (256 columns) to keep
 * the loads flowing.
 *
 * Each column is computed exactly as the micro-kernel computes an element of
 * C: per K block (the same blocks, kc long), one FMA chain in k order from
 * zero, then y = alpha * acc + beta' * y with beta' = beta for the first block
 * and 1 after. So a row of C is bit-identical whether it is computed alone
 * (M == 1) or inside a larger product: running one sequence alone or inside
 * a batch, or one step at a time, gives the same numbers.
 *
 * transB != 0 has no matrix-vector path: a dot product per column would sum in
 * another order; it goes through the blocked path.
 */
static A512 void gemv_avx512(int K, int kc, float alpha, const float *RK_RESTRICT x, const float *RK_RESTRICT B,
                             long ldb, float beta, float *RK_RESTRICT y, int j0, int j1) {
    const __m512 va = _mm512_set1_ps(alpha);
    for (int j = j0; j < j1; j += 256) {
        const int w = j1 - j < 256 ? j1 - j : 256;
        __mmask16 m[16];
        RK_UNROLL for (int v = 0; v < 16; v++) m[v] = lane_mask(w - 16 * v);
        for (int p0 = 0; p0 < K; p0 += kc) {
            const int kb = K - p0 < kc ? K - p0 : kc;
            const __m512 vb = _mm512_set1_ps(p0 == 0 ? beta : 1.0f);
            const int readC = p0 != 0 || beta != 0.0f;
            __m512 acc[16];
            RK_UNROLL for (int v = 0; v < 16; v++) acc[v] = _mm512_setzero_ps();
            const float *b = B + (long)p0 * ldb + j;
            if (w == 256) {
                for (int k = p0; k < p0 + kb; k++, b += ldb) {
                    const __m512 xk = _mm512_set1_ps(x[k]);
                    RK_UNROLL for (int v = 0; v < 16; v++)
                        acc[v] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(b + 16 * v), acc[v]);
                }
            } else {
                for (int k = p0; k < p0 + kb; k++, b += ldb) {
                    const __m512 xk = _mm512_set1_ps(x[k]);
                    RK_UNROLL for (int v = 0; v < 16; v++)
                        acc[v] = _mm512_fmadd_ps(xk, _mm512_maskz_loadu_ps(m[v], b + 16 * v), acc[v]);
                }
            }
            RK_UNROLL for (int v = 0; v < 16; v++) {
                if (!m[v]) break;
                __m512 r = _mm512_mul_ps(va, acc[v]);
                if (readC) r = _mm512_fmadd_ps(va, acc[v], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m[v], y + j + 16 * v)));
                _mm512_mask_storeu_ps(y + j + 16 * v, m[v], r);
            }
        }
    }
}

#ifndef RK512_KC
#define RK512_KC 384
#endif
#ifndef RK512_NC
#define RK512_NC 512
#endif
#ifndef RK512_MC
#define RK512_MC (RK512_MR * 256)
#endif
#ifndef RK512_DIRECT_B_MAX_M
#define RK512_DIRECT_B_MAX_M 2048
#endif

/*
 * Blocks (Zen 5: 48 KiB L1d, 1 MiB L2 per core):
 *   A panel  14 x 384 x 4 B = 21 KiB  stays in L1 across the jr loop;
 *   B block 384 x 512 x 4 B = 768 KiB stays in L2 across the ir loop;
 *   A block up to 3584 x 384 x 4 B = 5.25 MiB in L3, packed once per K block: as many rows as
 *   a thread of an RNN's big products has (B*T / 2), so that B is packed once per K block
 *   (MC = 1008 packed it two or three times: the dW product 2048 x 512 x 5000 ran 8% slower).
 */
const rk_gemm_arch rk_arch_avx512 = {
    .isa = RK_ISA_AVX512,
    .mr = RK512_MR, .nr = RK512_NR,
    .kc = RK512_KC, .mc = RK512_MC, .nc = RK512_NC,
    /* Measured on Zen 5: reading B in place is as fast as packing it up to
       M ~ 1000 (even for ldb = 4096, 8192) and 25% faster at M = 50; with A
       read in place too, 2 threads: the gradient shapes (tA) 512 x 128 x 896
       +5%, 768 x 256 x 2048 +2%, 768 x 768 x 2048 +3-6%, 2048 x 512 x 5000
       +3-5%, 2048 x 2048 x 2500 +2-4%; 768 x 256 x 2048 +1%, 2048 x 512 x 2048
       +-0.5%, 1024^3 -1.5%; above it packing wins (4096 x 1024 x 5000 (tA)
       -1-2.5%, 4096 x 512 x 2048 -1-2%, 5000 x 512 x 2048 -4%). */
    .direct_b_max_m = RK512_DIRECT_B_MAX_M,
    .direct_a = 1,
    .kernel = kernel_avx512,
    .kernel_pair = kernel_pair512, .pair_max_mr = 6,
    .pack_a = pack_a_avx512, .pack_b = pack_b_avx512,
    .gemv = gemv_avx512,
};

#endif
