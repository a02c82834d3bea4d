/* TEMPORARY placeholder: the helper replaces this with the real dispatching, threaded GEMM. */
#include "CRecurrentKernels.h"
int rk_isa_available(int isa) { return isa == RK_ISA_GENERIC; }
static int active = RK_ISA_GENERIC;
int rk_active_isa(void) { return active; }
int rk_set_isa(int isa) { if (!rk_isa_available(isa)) return -1; active = isa; return 0; }
const char *rk_isa_name(int isa) { switch (isa) { case 1: return "avx2"; case 2: return "avx512"; case 3: return "neon"; default: return "generic"; } }
static int threads = 1;
void rk_set_threads(int n) { threads = n <= 0 ? 1 : n; }
int rk_threads(void) { return threads; }
void rk_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    rk_sgemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
