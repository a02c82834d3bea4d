/*
 * The elementwise kernels (gates_body.h) in portable C, one lane: the same
 * polynomials as the SIMD paths, for any CPU (and AArch64 until it has its own
 * NEON table). Plain loops that the compiler may vectorize for the baseline ISA.
 */
#include <math.h>
#include <string.h>
#include "CRecurrentKernels.h"
#include "gates_internal.h"

#define VW 1
typedef float vf;
typedef int vm;
typedef int32_t vi;

static inline vm vmask(long n) { return n > 0; }
static inline vf vload(const float *p, vm m) { return m ? *p : 0.0f; }
static inline vf vload_or(const float *p, vm m, float f) { return m ? *p : f; }
static inline void vstore(float *p, vf v, vm m) {
    if (m) *p = v;
}
static inline vf vset1(float x) { return x; }
static inline vf vadd(vf a, vf b) { return a + b; }
static inline vf vsub(vf a, vf b) { return a - b; }
static inline vf vmul(vf a, vf b) { return a * b; }
static inline vf vdiv(vf a, vf b) { return a / b; }
static inline vf vsqrt(vf a) { return sqrtf(a); }
/* Separate multiply and add on purpose: no libm fmaf call on CPUs without FMA. */
static inline vf vfma(vf a, vf b, vf c) {
    const vf p = a * b;
    return p + c;
}
static inline vf vmin(vf a, vf b) { return a < b ? a : b; }
static inline vf vmax(vf a, vf b) { return a > b ? a : b; }
static inline vi vf_as_vi(vf v) {
    vi r;
    memcpy(&r, &v, sizeof r);
    return r;
}
static inline vf vi_as_vf(vi v) {
    vf r;
    memcpy(&r, &v, sizeof r);
    return r;
}
static inline vf vabs(vf a) { return vi_as_vf(vf_as_vi(a) & 0x7FFFFFFF); }
static inline vf vcopysign(vf mag, vf sgn) { return vi_as_vf(vf_as_vi(mag) | (vf_as_vi(sgn) & (vi)0x80000000u)); }
static inline vf vselect_lt(vf a, vf b, vf x, vf y) { return a < b ? x : y; }
static inline vf vgt0_select(vf a, vf x) { return a > 0 ? x : 0.0f; }
static inline vf vkeep(vf v, vm m) { return m ? v : 0.0f; }
static inline float vhmax(vf v) { return v; }
static inline float vhsum(vf v) { return v; }
static inline vi vi_sub_const(vi v, int c) { return (vi)((uint32_t)v - (uint32_t)c); }
static inline vi vi_shl23(vi v) { return (vi)((uint32_t)v << 23); }

static double sum_squares_generic(long n, const float *x) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

#define RK_SUFFIX generic
#define RK_ISA_ID RK_ISA_GENERIC
#include "gates_body.h"
