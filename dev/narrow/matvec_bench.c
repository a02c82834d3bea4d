// Matrix-vector products of batch-1 generation, by weight format: N matrices of P x K used in
// turn (as the layers of one token use theirs), best of 20 rounds of 2000. Build and run from
// the repository root (see dev/narrow/README.md):
//
//   clang -O2 -ISources/CRecurrentKernels/include Sources/CRecurrentKernels/*.c \
//         dev/narrow/matvec_bench.c -o /tmp/matvec_bench -lpthread -lm
//   /tmp/matvec_bench P K THREADS FORMAT [N]      FORMAT: fp32 bf16 int8 w8a8
//
// fp32 is the packed SGEMM with M = 1 (what the fp32 step runs); the others rk_matvec_*.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "CRecurrentKernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s P K THREADS fp32|bf16|int8|w8a8 [N]\n", argv[0]);
        return 2;
    }
    const long P = atol(argv[1]), K = atol(argv[2]);
    const char *format = argv[4];
    const int n = argc > 5 ? atoi(argv[5]) : 3;
    if (P < 1 || K < 1 || n < 1 || n > 16) return 2;
    rk_set_threads(atoi(argv[3]));
    float *W = malloc(sizeof(float) * P * K), *x = malloc(sizeof(float) * K), *y = malloc(sizeof(float) * P);
    float *packed[16], *scale[16];
    uint16_t *wb[16];
    int8_t *wq[16];
    int32_t *sums[16];
    srand(1);
    for (int m = 0; m < n; m++) {
        for (long i = 0; i < P * K; i++) W[i] = rand() / (float)RAND_MAX - 0.5f;
        packed[m] = malloc(sizeof(float) * rk_sgemm_packed_b_size((int)P, (int)K));
        rk_sgemm_pack_b(1, (int)P, (int)K, W, (int)K, packed[m]);
        wb[m] = malloc(2 * P * K), wq[m] = malloc(P * K), scale[m] = malloc(4 * P), sums[m] = malloc(4 * P);
        rk_narrow_bf16(P * K, W, wb[m]);
        rk_narrow_int8(P, K, W, wq[m], scale[m]);
        rk_int8_row_sums(P, K, wq[m], sums[m]);
    }
    for (long i = 0; i < K; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    double best = 1e9;
    for (int round = 0; round < 20; round++) {
        const double start = now();
        for (int r = 0; r < 2000; r++)
            for (int m = 0; m < n; m++) {
                if (!strcmp(format, "fp32")) rk_sgemm_packed(0, 1, (int)P, (int)K, 1.0f, x, (int)K, packed[m], 0.0f, y, (int)P);
                else if (!strcmp(format, "bf16")) rk_matvec_bf16(1, P, K, wb[m], x, K, 0, y, P);
                else if (!strcmp(format, "int8")) rk_matvec_int8(1, P, K, wq[m], scale[m], x, K, 0, y, P);
                else rk_matvec_w8a8(1, P, K, wq[m], scale[m], sums[m], x, K, 0, y, P);
            }
        const double t = (now() - start) / 2000;
        if (t < best) best = t;
    }
    printf("%s %ld x %ld (x%d) %d threads: %.2f us per product, %.1f Gweights/s\n", format, P, K, n, rk_threads(),
           best / n * 1e6, n * P * K / best * 1e-9);
    return 0;
}
