#ifndef RK_GEMM_AVX512_SHARED_H
#define RK_GEMM_AVX512_SHARED_H
/*
 * Register helpers of the AVX-512 GEMM files (gemm_avx512.c, gemm_avx512_bf16.c), which include
 * this after defining A512 (their common target attribute) and <immintrin.h>.
 */

/* The first n of 16 lanes. */
RK_INLINE A512 __mmask16 lane_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* r[i] = row i of a 16 x 16 block -> r[i] = column i (4 shuffle stages, 64 shuffles). */
RK_INLINE A512 void transpose16(__m512 r[16]) {
    __m512 t[16];
    RK_UNROLL for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    RK_UNROLL for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* r[4q + x] now holds, in each 128-bit lane l, column x + 4l of rows 4q..4q+3 */
    RK_UNROLL for (int h = 0; h < 2; h++)
        RK_UNROLL for (int x = 0; x < 4; x++) {
            t[8 * h + x] = _mm512_shuffle_f32x4(r[8 * h + x], r[8 * h + 4 + x], 0x88);
            t[8 * h + 4 + x] = _mm512_shuffle_f32x4(r[8 * h + x], r[8 * h + 4 + x], 0xdd);
        }
    RK_UNROLL for (int x = 0; x < 8; x++) {
        r[x] = _mm512_shuffle_f32x4(t[x], t[8 + x], 0x88);
        r[8 + x] = _mm512_shuffle_f32x4(t[x], t[8 + x], 0xdd);
    }
}

#endif
