// The cores' float32 FMA ceiling: 12 independent chains of 512-bit FMAs per thread, both cores.
// With "bf16": the bfloat16 dot-product ceiling instead, 12 chains of VDPBF16PS (each lane adds two
// bf16 products into a float32; 2 FLOPs a product, as for an FMA) — the ceiling of bf16 products.
//   cc -O2 -mavx512f -mfma -pthread fma_peak.c -o fma_peak && ./fma_peak [threads] [bf16]
#include "pinned.h" /* first: it defines _GNU_SOURCE */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int core, bf16; double gflops; float sink; } Job;
static pthread_barrier_t barrier;

/* 100,000 rounds of 12 FMAs or VDPBF16PS on c; returns the FLOPs done. */
static double fma_rounds(__m512 c[12]) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int r = 0; r < 100000; r++)
    for (int i = 0; i < 12; i++) c[i] = _mm512_fmadd_ps(c[i], a, b);
  return 100000.0 * 12 * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_rounds(__m512 c[12]) {
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  for (int r = 0; r < 100000; r++)
    for (int i = 0; i < 12; i++) c[i] = _mm512_dpbf16_ps(c[i], a, a);
  return 100000.0 * 12 * 32 * 2;
}

static void *run(void *p) {
  Job *j = p;
  pin_to_core(j->core);
  __m512 c[12];
  for (int i = 0; i < 12; i++) c[i] = _mm512_set1_ps((float)i);
  pthread_barrier_wait(&barrier);
  double t0 = now(), t, flops = 0;
  do {
    flops += j->bf16 ? bf16_rounds(c) : fma_rounds(c);
    t = now() - t0;
  } while (t < 1.0);
  j->gflops = flops / t / 1e9;
  __m512 s = c[0];
  for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, c[i]);
  j->sink = _mm512_reduce_add_ps(s);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 8) { fprintf(stderr, "threads: 1 to 8\n"); return 1; }
  const int bf16 = argc > 2 && !strcmp(argv[2], "bf16");
  if (bf16 && !__builtin_cpu_supports("avx512bf16")) { fprintf(stderr, "this CPU has no AVX-512 BF16\n"); return 1; }
  Job jobs[8]; pthread_t th[8];
  pthread_barrier_init(&barrier, NULL, threads);
  for (int i = 0; i < threads; i++) { jobs[i] = (Job){.core = i, .bf16 = bf16}; pthread_create(&th[i], NULL, run, &jobs[i]); }
  double total = 0; float sink = 0;
  for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); total += jobs[i].gflops; sink += jobs[i].sink; printf("core %d  %.1f GFLOP/s\n", i, jobs[i].gflops); }
  printf("total %.1f GFLOP/s (%d threads%s)%s\n", total, threads, bf16 ? ", bf16 dot products" : "", sink != sink ? " nan" : "");
  return 0;
}
