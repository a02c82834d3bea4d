#include "CRecurrentKernels.h"

/* The plain three-loop SGEMM that every fast path is tested against. */
void rk_sgemm_ref(int transA, int transB, int M, int N, int K,
                  float alpha, const float *A, int lda,
                  const float *B, int ldb,
                  float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int p = 0; p < K; p++) {
                float a = transA ? A[(long)p * lda + i] : A[(long)i * lda + p];
                float b = transB ? B[(long)j * ldb + p] : B[(long)p * ldb + j];
                acc += (double)a * (double)b;
            }
            float *c = &C[(long)i * ldc + j];
            *c = beta == 0.0f ? (float)(alpha * acc) : (float)(alpha * acc + (double)beta * (double)*c);
        }
    }
}
