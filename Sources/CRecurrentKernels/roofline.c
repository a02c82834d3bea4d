/*
 * The machine's own ceilings, measured the way dev/bandwidth/ measures them, for `rnn bench
 * --roofline`: the float32 FMA rate of all the kernels' threads (independent chains of the widest
 * FMAs the active path has), and the time every thread takes to read a buffer of its own once
 * (the least time a batch-1 token can take when each core reads that many bytes of weights).
 * Wide paths carry target attributes and run only after the runtime check in cpu.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "CRecurrentKernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHAINS 12 /* independent FMA chains: enough to cover the FMA latency on two ports */

/* FLOPs done by `iterations` rounds of CHAINS vector FMAs of `lanes` floats. */
static double fma_flops(long iterations, int lanes) { return 2.0 * CHAINS * lanes * (double)iterations; }

static float fma_generic(long iterations) {
    float acc[CHAINS * 8];
    for (int i = 0; i < CHAINS * 8; i++) acc[i] = (float)i * 1e-3f;
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS * 8; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < CHAINS * 8; i++) s += acc[i];
    return s;
}

static void read_generic(const float *p, long n, float *sink) {
    float s[8] = {0};
    for (long i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += p[i + j];
    *sink += s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

__attribute__((target("avx512f,fma"))) static float fma_avx512(long iterations) {
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

/* CHAINS chains of VDPBF16PS: 32 bf16 products (64 FLOPs) an instruction. */
__attribute__((target("avx512f,avx512bf16"))) static float dot_bf16_avx512(long iterations) {
    __m512 acc[CHAINS];
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, a);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iterations) {
    __m256 acc[CHAINS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

__attribute__((target("avx512f"))) static void read_avx512(const float *p, long n, float *sink) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
    }
    *sink += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx2"))) static void read_avx2(const float *p, long n, float *sink) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    *sink += out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#endif

typedef struct {
    long iterations;
    int bf16; /* VDPBF16PS chains instead of FMAs */
    double seconds[256];
    double flops[256];
    float sink[256];
} fma_job;

static void fma_part(void *ctx, int part, int parts) {
    (void)parts;
    fma_job *j = (fma_job *)ctx;
    const double start = now();
    float s;
    int lanes;
    switch (rk_active_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case RK_ISA_AVX512:
        if (j->bf16) s = dot_bf16_avx512(j->iterations), lanes = 32; /* a lane's two products count as two */
        else s = fma_avx512(j->iterations), lanes = 16;
        break;
    case RK_ISA_AVX2: s = fma_avx2(j->iterations); lanes = 8; break;
#endif
    default: s = fma_generic(j->iterations); lanes = 8; break;
    }
    j->seconds[part] = now() - start;
    j->flops[part] = fma_flops(j->iterations, lanes);
    j->sink[part] = s;
}

static double chains_gflops(long iterations, int bf16) {
    static fma_job job;
    const int threads = rk_threads() < 256 ? rk_threads() : 256;
    job.iterations = iterations;
    job.bf16 = bf16;
    rk_parallel_parts(threads, fma_part, &job);
    double gflops = 0;
    for (int t = 0; t < threads; t++) gflops += job.flops[t] / job.seconds[t] * 1e-9;
    return gflops;
}

double rk_fma_gflops(long iterations) { return chains_gflops(iterations, 0); }

double rk_bf16_gflops(long iterations) {
    return rk_active_isa() == RK_ISA_AVX512 && rk_matmul_bf16_native() ? chains_gflops(iterations, 1) : 0;
}

typedef struct {
    long floats;
    int sweeps;
    float *buffers[256];
    double seconds[256];
    float sink[256];
} read_job;

static void read_part(void *ctx, int part, int parts) {
    (void)parts;
    read_job *j = (read_job *)ctx;
    const float *p = j->buffers[part];
    float sink = 0;
    void (*sweep)(const float *, long, float *) = read_generic;
#if defined(__x86_64__) || defined(_M_X64)
    if (rk_active_isa() == RK_ISA_AVX512) sweep = read_avx512;
    else if (rk_active_isa() == RK_ISA_AVX2) sweep = read_avx2;
#endif
    sweep(p, j->floats, &sink); /* once into the caches */
    const double start = now();
    for (int s = 0; s < j->sweeps; s++) sweep(p, j->floats, &sink);
    j->seconds[part] = (now() - start) / j->sweeps;
    j->sink[part] = sink;
}

double rk_read_seconds(long bytes, int sweeps) {
    static read_job job;
    const int threads = rk_threads() < 256 ? rk_threads() : 256;
    const long floats = (bytes / 4 + 63) / 64 * 64;
    job.floats = floats;
    job.sweeps = sweeps < 1 ? 1 : sweeps;
    for (int t = 0; t < threads; t++) {
        job.buffers[t] = aligned_alloc(64, (size_t)floats * 4);
        if (!job.buffers[t]) {
            while (t-- > 0) free(job.buffers[t]);
            return -1;
        }
        for (long i = 0; i < floats; i++) job.buffers[t][i] = (float)(i & 7);
    }
    rk_parallel_parts(threads, read_part, &job);
    double slowest = 0;
    for (int t = 0; t < threads; t++) {
        if (job.seconds[t] > slowest) slowest = job.seconds[t];
        free(job.buffers[t]);
    }
    return slowest;
}
