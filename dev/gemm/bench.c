/*
 * Standalone harness for the CRecurrentKernels SGEMM (no SwiftPM needed).
 *
 *   ./build.sh                 # clang -O2, like a SwiftPM release build
 *   ./bench check              # every ISA vs rk_sgemm_ref, awkward shapes, determinism
 *   ./bench perf [isa ...]     # GFLOP/s table, 1 and 2 threads (best of reps)
 *   ./bench stress             # concurrent callers + pool resizing, results compared
 *   ./bench one M N K [tA tB] [threads] [isa]   # a single shape
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include "CRecurrentKernels.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) { /* xorshift64, uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}
static float *randv(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float)); /* exact: ASan builds catch over-reads */
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* |rk - ref| <= 1e-5 * sum_k |a_ik b_kj| * |alpha| + 1e-6 (+ beta*C part), per element */
static int check_one(int tA, int tB, int M, int N, int K, float alpha, float beta, int pad, int nanC) {
    const int lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
    const size_t sa = (size_t)(tA ? K : M) * lda, sb = (size_t)(tB ? N : K) * ldb, sc = (size_t)M * ldc;
    float *A = randv(sa), *B = randv(sb), *C = randv(sc);
    float *C0 = malloc((sc + 1) * 4), *Cr = malloc((sc + 1) * 4);
    if (nanC) for (size_t i = 0; i < sc; i++) C[i] = NAN;
    memcpy(C0, C, sc * 4); memcpy(Cr, C, sc * 4);
    rk_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    rk_sgemm_ref(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, Cr, ldc);
    double worst = 0; int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double mag = 0;
            for (int p = 0; p < K; p++) {
                float a = tA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                float b = tB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                mag += fabs((double)a * b);
            }
            mag = mag * fabs(alpha) + (beta != 0 ? fabs(beta * C0[(size_t)i * ldc + j]) : 0);
            double d = fabs((double)C[(size_t)i * ldc + j] - Cr[(size_t)i * ldc + j]);
            if (!(d <= 1e-5 * mag + 1e-6)) bad++;
            if (!(d <= worst)) worst = d;
        }
    /* padding columns untouched */
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++)
            if (memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], 4)) bad++;
    if (bad)
        printf("FAIL %s tA=%d tB=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d nan=%d: %d bad, max diff %g\n",
               rk_isa_name(rk_active_isa()), tA, tB, M, N, K, alpha, beta, pad, nanC, bad, worst);
    free(A); free(B); free(C); free(C0); free(Cr);
    return bad != 0;
}

static int determinism(int M, int N, int K, int tA, int tB) {
    const int lda = tA ? M : K, ldb = tB ? K : N;
    float *A = randv((size_t)M * K), *B = randv((size_t)K * N), *C0 = randv((size_t)M * N);
    float *C1 = malloc((size_t)M * N * 4), *C2 = malloc((size_t)M * N * 4);
    int bad = 0;
    for (int t = 1; t <= 4; t++) {
        memcpy(t == 1 ? C1 : C2, C0, (size_t)M * N * 4);
        rk_set_threads(t);
        rk_sgemm(tA, tB, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, t == 1 ? C1 : C2, N);
        if (t > 1 && memcmp(C1, C2, (size_t)M * N * 4)) {
            printf("FAIL determinism %s %dx%dx%d threads 1 vs %d\n", rk_isa_name(rk_active_isa()), M, N, K, t);
            bad = 1;
        }
    }
    rk_set_threads(0);
    free(A); free(B); free(C0); free(C1); free(C2);
    return bad;
}

static int check(void) {
    static const int shapes[][3] = {
        {1, 1, 1}, {7, 13, 17}, {31, 37, 41}, {97, 101, 103}, {14, 32, 5}, {15, 33, 385},
        {50, 2048, 3}, {1, 300, 70}, {300, 1, 70}, {13, 31, 800}, {1100, 40, 20}, {40, 1100, 20},
        {29, 530, 33}, {120, 700, 30}, {1, 2048, 100}, {1, 37, 1000}, {1, 275, 33}, {4, 130, 300}, {6, 64, 33},
    };
    const float alphas[] = {1.0f, 0.5f, -2.0f}, betas[] = {0.0f, 1.0f, 0.3f};
    int fails = 0, runs = 0;
    const int orig = rk_active_isa();
    for (int isa = 0; isa < 4; isa++) {
        if (!rk_isa_available(isa)) continue;
        rk_set_isa(isa);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++)
                for (int ai = 0; ai < 3; ai++)
                    for (int bi = 0; bi < 3; bi++) {
                        fails += check_one(t >> 1, t & 1, shapes[s][0], shapes[s][1], shapes[s][2],
                                           alphas[ai], betas[bi], (int)(s + t) % 3 * 3, 0);
                        runs++;
                    }
        for (int m = 1; m <= 30; m++) /* every micro-kernel height, full + edge column tiles */
            for (int t = 0; t < 4; t++) {
                fails += check_one(t >> 1, t & 1, m, 45, 9, alphas[(m + t) % 3], 0.0f, (m + t) % 2 * 3, 0);
                fails += check_one(t >> 1, t & 1, m, 45, 9, alphas[(m + t) % 3], 0.3f, (m + t) % 2 * 3, 0);
                runs += 2;
            }
        for (int t = 0; t < 4; t++) {
            fails += check_one(t >> 1, t & 1, 37, 45, 29, 1.0f, 0.0f, 2, 1);
            fails += check_one(t >> 1, t & 1, 20, 30, 0, 1.0f, 0.5f, 1, 0);
            fails += check_one(t >> 1, t & 1, 20, 30, 0, 1.0f, 0.0f, 1, 1);
            runs += 3;
        }
        fails += determinism(300, 517, 263, 0, 0) + determinism(300, 517, 263, 1, 1);
        fails += determinism(50, 2048, 512, 0, 0) + determinism(1000, 1000, 300, 0, 1);
        printf("%s: checked\n", rk_isa_name(isa));
    }
    rk_set_isa(orig);
    printf("%d runs, %d failures\n", runs, fails);
    return fails != 0;
}

/* Best-of-reps GFLOP/s of one shape. */
/* lda_min: 0 for the tight lda, else A's rows (tA: K rows of M) at least this far apart. */
static double gflops_lda(int M, int N, int K, int tA, int tB, int lda_min) {
    const int lda = (tA ? M : K) > lda_min ? (tA ? M : K) : lda_min, ldb = tB ? K : N;
    float *A = randv((size_t)(tA ? K : M) * lda), *B = randv((size_t)K * N), *C = randv((size_t)M * N);
    const double flop = 2.0 * M * N * K;
    int iters = (int)(5e9 / flop); /* ~ 25 ms per rep at 200 GFLOP/s */
    if (iters < 1) iters = 1;
    rk_sgemm(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    double best = 1e30;
    for (int r = 0; r < 7; r++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) rk_sgemm(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        double t = (now() - t0) / iters;
        if (t < best) best = t;
    }
    free(A); free(B); free(C);
    return flop / best * 1e-9;
}

static double gflops(int M, int N, int K, int tA, int tB) { return gflops_lda(M, N, K, tA, tB, 0); }

static void perf(int argc, char **argv) {
    static const int sq[] = {128, 256, 512, 1024, 2048};
    static const int rnn[][5] = { /* M N K tA tB */
        {50, 2048, 512, 0, 0}, {50, 2048, 512, 0, 1}, {50, 512, 128, 0, 0}, {50, 512, 128, 0, 1},
        {32, 2048, 512, 0, 0}, {32, 1024, 256, 0, 0}, {1, 2048, 512, 0, 0}, {512, 2048, 50, 1, 0},
        {2048, 512, 50, 1, 0},
    };
    const int orig = rk_active_isa();
    for (int isa = 3; isa >= 0; isa--) {
        if (!rk_isa_available(isa)) continue;
        if (argc > 0) {
            int want = 0;
            for (int i = 0; i < argc; i++) want |= !strcmp(argv[i], rk_isa_name(isa));
            if (!want) continue;
        }
        rk_set_isa(isa);
        printf("%-8s %-22s %9s %9s\n", rk_isa_name(isa), "M x N x K (tA,tB)", "1 thread", "2 threads");
        for (size_t i = 0; i < sizeof sq / sizeof sq[0]; i++) {
            if (isa == RK_ISA_GENERIC && sq[i] > 1024) continue;
            char name[64];
            snprintf(name, sizeof name, "%d^3", sq[i]);
            rk_set_threads(1); double g1 = gflops(sq[i], sq[i], sq[i], 0, 0);
            rk_set_threads(2); double g2 = gflops(sq[i], sq[i], sq[i], 0, 0);
            printf("%-8s %-22s %9.1f %9.1f\n", "", name, g1, g2);
            fflush(stdout);
        }
        for (size_t i = 0; i < sizeof rnn / sizeof rnn[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "%dx%dx%d (%d,%d)", rnn[i][0], rnn[i][1], rnn[i][2], rnn[i][3], rnn[i][4]);
            rk_set_threads(1); double g1 = gflops(rnn[i][0], rnn[i][1], rnn[i][2], rnn[i][3], rnn[i][4]);
            rk_set_threads(2); double g2 = gflops(rnn[i][0], rnn[i][1], rnn[i][2], rnn[i][3], rnn[i][4]);
            printf("%-8s %-22s %9.1f %9.1f\n", "", name, g1, g2);
            fflush(stdout);
        }
    }
    rk_set_isa(orig);
    rk_set_threads(0);
}


/* Pool stress: host threads hammering rk_sgemm while another one resizes the pool. */
enum { SM = 50, SN = 300, SK = 128 };
#ifndef STRESS_N
#define STRESS_N 20000L
#endif
static float *sA, *sB, *sWant;
static volatile int stress_bad;
static void *stress_caller(void *arg) {
    float *c = malloc(sizeof(float) * SM * SN);
    for (int it = 0; it < (int)(long)arg; it++) {
        rk_sgemm(0, 0, SM, SN, SK, 1.0f, sA, SK, sB, SN, 0.0f, c, SN);
        if (memcmp(c, sWant, sizeof(float) * SM * SN)) stress_bad = 1;
    }
    free(c);
    return NULL;
}
static void *stress_resizer(void *arg) {
    for (int it = 0; it < (int)(long)arg; it++) {
        rk_set_threads(1 + it % 4);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}
static int stress(void) {
    sA = randv(SM * SK); sB = randv(SK * SN); sWant = malloc(sizeof(float) * SM * SN);
    rk_set_threads(1);
    rk_sgemm(0, 0, SM, SN, SK, 1.0f, sA, SK, sB, SN, 0.0f, sWant, SN);
    rk_set_threads(0);
    double t0 = now();
    pthread_t th[5];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, stress_caller, (void *)STRESS_N);
    pthread_create(&th[4], NULL, stress_resizer, (void *)2000L);
    for (int i = 0; i < 5; i++) pthread_join(th[i], NULL);
    rk_set_threads(0);
    /* one host thread, back-to-back small calls: the dispatch path */
    stress_caller((void *)(STRESS_N * 5));
    printf("stress: %s (%.2f s)\n", stress_bad ? "FAIL results differ" : "ok", now() - t0);
    return stress_bad;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "check")) return check();
    if (argc >= 2 && !strcmp(argv[1], "stress")) return stress();
    if (argc >= 2 && !strcmp(argv[1], "perf")) { perf(argc - 2, argv + 2); return 0; }
    if (argc >= 5 && !strcmp(argv[1], "one")) {
        int M = atoi(argv[2]), N = atoi(argv[3]), K = atoi(argv[4]);
        int tA = argc > 5 ? atoi(argv[5]) : 0, tB = argc > 6 ? atoi(argv[6]) : 0;
        if (argc > 7) rk_set_threads(atoi(argv[7]));
        if (argc > 8) for (int i = 0; i < 4; i++) if (!strcmp(argv[8], rk_isa_name(i))) rk_set_isa(i);
        const int lda = argc > 9 ? atoi(argv[9]) : 0;
        printf("%s %d threads %dx%dx%d (%d,%d) lda %d: %.1f GFLOP/s\n", rk_isa_name(rk_active_isa()), rk_threads(),
               M, N, K, tA, tB, lda, gflops_lda(M, N, K, tA, tB, lda));
        return 0;
    }
    fprintf(stderr, "usage: %s check | stress | perf [isa...] | one M N K [tA tB] [threads] [isa] [lda]\n", argv[0]);
    return 2;
}
