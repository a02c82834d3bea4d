#ifndef RK_NARROW_INTERNAL_H
#define RK_NARROW_INTERNAL_H
/*
 * Private to CRecurrentKernels: matrix-vector products over weights stored
 * narrow (bfloat16, or int8 with one float scale per row) for batch-1
 * inference, y (P) = W (P, K) x (K), W row-major. bf16 and int8: the weights
 * are widened to float32 in registers and every multiply-add is a float32 FMA.
 * w8a8: int8 weights times x quantised to bytes, exact integer dot products
 * (narrow.c has the definitions).
 *
 * Each ISA file (narrow_avx512.c, narrow_avx2.c; the portable loops in
 * narrow.c) fills one table; narrow.c picks the active ISA's table (the GEMM's
 * choice), splits the rows over the thread pool and holds the conversions.
 *
 * Row independence: a row's sum is the same operations on the same lanes
 * wherever the row lies in the matrix and whichever rows share its pass, so
 * any split of the rows over threads gives the same bits.
 */
#include <stdint.h>

typedef struct {
    int isa;
    /* Rows p0..p1 of y = W x (accumulate: y += W x). xe, xo: x's even and odd
       elements (xe[i] = x[2i], xo[i] = x[2i+1]), zero-padded to a multiple of 16
       past ceil(K/2); paths that do not want them read x. */
    void (*bf16)(long p0, long p1, long K, const uint16_t *W, const float *x, const float *xe, const float *xo,
                 int accumulate, float *y);
    /* Rows p0..p1 of y = scale ⊙ (W x) (accumulate: y += ...). */
    void (*int8)(long p0, long p1, long K, const int8_t *W, const float *scale, const float *x, int accumulate,
                 float *y);
    /* Rows p0..p1 of y = rk_w8a8_row(...) (accumulate: y += ...): int8 weights times x quantised
       to unsigned bytes xq (K, zero-padded to a multiple of 64) with scale sx, summed exactly in
       int32. NULL: the path has no integer dot product, narrow.c's portable loop runs instead. */
    void (*w8a8)(long p0, long p1, long K, const int8_t *W, const float *scale, const int32_t *rowsum,
                 const uint8_t *xq, float sx, int accumulate, float *y);
    /* rk_quantize_u8 (below) vectorised, the same bits; NULL: the portable one. */
    float (*quantize)(long K, const float *x, uint8_t *xq, long padded);
} rk_narrow_arch;

/*
 * One output of the w8a8 product from its exact integer dot product: xq = xi + 128, so
 * sum_k q xi = dot - 128 * rowsum, then one rounding to float and the two scales. Every path
 * (and the reference) finishes a row with this, so all give the same bits.
 */
static inline float rk_w8a8_row(int32_t dot, int32_t rowsum, float scale, float sx) {
    return (float)((int64_t)dot - 128 * (int64_t)rowsum) * (scale * sx);
}

/* 1 when the CPU has the AVX-512 VNNI byte dot products (cpuid; narrow.c). */
int rk_narrow_has_vnni(void);

/* w8a8's activations: xq (padded bytes) = round(x / sx) + 128 for k < K, zeros after; returns
   sx = max|x| / 127 (0 for x == 0, NaN when x is not finite). Shared by the fast paths and the
   reference: it is the definition of the quantisation. */
float rk_quantize_u8(long K, const float *x, uint8_t *xq, long padded);

extern const rk_narrow_arch rk_narrow_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rk_narrow_arch rk_narrow_avx2;
extern const rk_narrow_arch rk_narrow_avx512;
#endif

#endif
