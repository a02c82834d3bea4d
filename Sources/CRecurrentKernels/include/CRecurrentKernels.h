#ifndef CRECURRENT_KERNELS_H
#define CRECURRENT_KERNELS_H
/*
 * CRecurrentKernels: the hot loops of Recurrent, in C. No stable API: the Swift
 * target `Recurrent` is the only client.
 *
 * Matrices are float32, row-major, with a leading dimension (the distance in
 * elements between the starts of two consecutive rows).
 */
#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set paths of the kernels. */
enum {
    RK_ISA_GENERIC = 0, /* portable C, any CPU */
    RK_ISA_AVX2 = 1,    /* x86-64 AVX2 + FMA */
    RK_ISA_AVX512 = 2,  /* x86-64 AVX-512F */
    RK_ISA_NEON = 3,    /* AArch64 NEON */
};

/* 1 when this CPU (and OS) can run the given path, else 0. */
int rk_isa_available(int isa);
/* The path in use: the best available one, chosen once at first use. */
int rk_active_isa(void);
/* Select a path (tests, benchmarks). Returns 0, or -1 when it is not available. */
int rk_set_isa(int isa);
/* "generic", "avx2", "avx512", "neon". */
const char *rk_isa_name(int isa);

/* Worker threads used by the kernels; n <= 0 means one per online core. */
void rk_set_threads(int n);
int rk_threads(void);

/*
 * C = alpha * op(A) * op(B) + beta * C, with op(A) M x K and op(B) K x N.
 * transA = 0: A is M x K (lda >= K); transA != 0: A is stored K x M (lda >= M).
 * transB = 0: B is K x N (ldb >= N); transB != 0: B is stored N x K (ldb >= K).
 * beta == 0 overwrites C without reading it (NaNs in C are not propagated), as BLAS does.
 * Results are bit-identical for every thread count.
 */
void rk_sgemm(int transA, int transB, int M, int N, int K,
              float alpha, const float *A, int lda,
              const float *B, int ldb,
              float beta, float *C, int ldc);

/* The naive reference of rk_sgemm: three loops, double accumulation. */
void rk_sgemm_ref(int transA, int transB, int M, int N, int K,
                  float alpha, const float *A, int lda,
                  const float *B, int ldb,
                  float beta, float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
