// The cores' float32 FMA ceiling: 12 independent chains of 512-bit FMAs per thread, both cores.
//   cc -O2 -mavx512f -mfma -pthread fma_peak.c -o fma_peak && ./fma_peak [threads]
#include "pinned.h" /* first: it defines _GNU_SOURCE */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { int core; double gflops; float sink; } Job;
static pthread_barrier_t barrier;

static void *run(void *p) {
  Job *j = p;
  pin_to_core(j->core);
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f), c[12];
  for (int i = 0; i < 12; i++) c[i] = _mm512_set1_ps((float)i);
  pthread_barrier_wait(&barrier);
  double t0 = now(), t; long iters = 0;
  do {
    for (int r = 0; r < 100000; r++)
      for (int i = 0; i < 12; i++) c[i] = _mm512_fmadd_ps(c[i], a, b);
    iters += 100000;
    t = now() - t0;
  } while (t < 1.0);
  j->gflops = iters * 12.0 * 16 * 2 / t / 1e9;
  __m512 s = c[0];
  for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, c[i]);
  j->sink = _mm512_reduce_add_ps(s);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 8) { fprintf(stderr, "threads: 1 to 8\n"); return 1; }
  Job jobs[8]; pthread_t th[8];
  pthread_barrier_init(&barrier, NULL, threads);
  for (int i = 0; i < threads; i++) { jobs[i] = (Job){.core = i}; pthread_create(&th[i], NULL, run, &jobs[i]); }
  double total = 0; float sink = 0;
  for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); total += jobs[i].gflops; sink += jobs[i].sink; printf("core %d  %.1f GFLOP/s\n", i, jobs[i].gflops); }
  printf("total %.1f GFLOP/s (%d threads)%s\n", total, threads, sink != sink ? " nan" : "");
  return 0;
}
