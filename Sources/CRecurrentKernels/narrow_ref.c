#include <stdlib.h>
#include <string.h>
#include "CRecurrentKernels.h"
#include "narrow_internal.h"

/* The plain loops every narrow matrix-vector path is tested against: widen each weight, sum in double. */

void rk_matvec_bf16_ref(long M, long P, long K, const uint16_t *W, const float *x, long ldx, int accumulate,
                        float *y, long ldy) {
    for (long m = 0; m < M; m++)
        for (long p = 0; p < P; p++) {
            double acc = 0.0;
            for (long k = 0; k < K; k++) {
                const uint32_t u = (uint32_t)W[p * K + k] << 16;
                float w;
                memcpy(&w, &u, sizeof w);
                acc += (double)w * (double)x[m * ldx + k];
            }
            float *out = y + m * ldy + p;
            *out = accumulate ? (float)((double)*out + acc) : (float)acc;
        }
}

void rk_matvec_int8_ref(long M, long P, long K, const int8_t *W, const float *scale, const float *x, long ldx,
                        int accumulate, float *y, long ldy) {
    for (long m = 0; m < M; m++)
        for (long p = 0; p < P; p++) {
            double acc = 0.0;
            for (long k = 0; k < K; k++) acc += (double)W[p * K + k] * (double)x[m * ldx + k];
            acc *= (double)scale[p];
            float *out = y + m * ldy + p;
            *out = accumulate ? (float)((double)*out + acc) : (float)acc;
        }
}

void rk_matvec_w8a8_ref(long M, long P, long K, const int8_t *W, const float *scale, const int32_t *rowsum,
                        const float *x, long ldx, int accumulate, float *y, long ldy) {
    (void)rowsum; /* the sum is taken from the definition, sum_k q (xq - 128) */
    uint8_t *xq = (uint8_t *)malloc((size_t)(K > 0 ? K : 1));
    if (!xq) return;
    for (long m = 0; m < M; m++) {
        const float sx = rk_quantize_u8(K, x + m * ldx, xq, K);
        for (long p = 0; p < P; p++) {
            int64_t dot = 0;
            for (long k = 0; k < K; k++) dot += (int64_t)W[p * K + k] * ((int64_t)xq[k] - 128);
            const float r = (float)dot * (scale[p] * sx);
            float *out = y + m * ldy + p;
            *out = accumulate ? *out + r : r;
        }
    }
    free(xq);
}
