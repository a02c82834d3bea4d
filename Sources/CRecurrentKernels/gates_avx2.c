/*
 * The elementwise kernels (gates_body.h) on AVX2 + FMA: 8 lanes; a partial
 * last vector goes through maskload/maskstore, which never touch the lanes
 * that are off. Target attribute on every function, runtime-checked in cpu.c.
 */
#include <math.h>
#include "CRecurrentKernels.h"
#include "gates_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define VW 8
typedef __m256 vf;
typedef __m256i vi;
typedef struct {
    __m256i m;
    int full;
} vm;

static inline vm vmask(long n) {
    vm r;
    r.full = n >= 8;
    r.m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n >= 8 ? 8 : n <= 0 ? 0 : (int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return r;
}
static inline vf vload(const float *p, vm m) { return m.full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m.m); }
static inline vf vload_or(const float *p, vm m, float f) {
    return m.full ? _mm256_loadu_ps(p)
                  : _mm256_blendv_ps(_mm256_set1_ps(f), _mm256_maskload_ps(p, m.m), _mm256_castsi256_ps(m.m));
}
static inline void vstore(float *p, vf v, vm m) {
    if (m.full) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, m.m, v);
}
static inline vf vset1(float x) { return _mm256_set1_ps(x); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vabs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline vf vcopysign(vf mag, vf sgn) {
    return _mm256_or_ps(mag, _mm256_and_ps(sgn, _mm256_set1_ps(-0.0f)));
}
static inline vf vselect_lt(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
static inline vf vgt0_select(vf a, vf x) { return _mm256_and_ps(x, _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ)); }
static inline vf vkeep(vf v, vm m) { return m.full ? v : _mm256_and_ps(v, _mm256_castsi256_ps(m.m)); }
static inline float vhmax(vf v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vhsum(vf v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline vi vf_as_vi(vf v) { return _mm256_castps_si256(v); }
static inline vf vi_as_vf(vi v) { return _mm256_castsi256_ps(v); }
static inline vi vi_sub_const(vi v, int c) { return _mm256_sub_epi32(v, _mm256_set1_epi32(c)); }
static inline vi vi_shl23(vi v) { return _mm256_slli_epi32(v, 23); }

static double sum_squares_avx2(long n, const float *x) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    __m256d s = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double total = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++) total += (double)x[i] * (double)x[i];
    return total;
}

#define RK_SUFFIX avx2
#define RK_ISA_ID RK_ISA_AVX2
#include "gates_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
