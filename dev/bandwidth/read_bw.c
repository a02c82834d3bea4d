// Read bandwidth of a working set that each core sweeps over and over, both cores at once:
// the ceiling for batch-1 generation, which reads every weight once per token.
//   cc -O2 -mavx512f -pthread read_bw.c -o read_bw && ./read_bw [threads] [KB per thread...]
// NTA_KB=K: the last K KB of each sweep is read behind prefetchnta, to test whether
// the rest of the set then stays in L2 (it did not on machine A).
#include "pinned.h" /* first: it defines _GNU_SOURCE */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int core; size_t bytes, nta_bytes; double seconds; float sink; } Job;
static pthread_barrier_t barrier;

static void *run(void *p) {
  Job *j = p;
  pin_to_core(j->core);
  size_t n = j->bytes / sizeof(float);
  float *a = aligned_alloc(64, j->bytes);
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023) * 1e-3f;
  size_t head = (j->bytes - j->nta_bytes) / sizeof(float);
  __m512 s[8];
  for (int u = 0; u < 8; u++) s[u] = _mm512_setzero_ps();
  pthread_barrier_wait(&barrier);
  size_t sweeps = 0; double t0 = now(), t;
  do {
    for (int rep = 0; rep < 16; rep++) {
      /* 8 independent sums: enough loads in flight that the caches, not the adds, set the pace */
      for (size_t i = 0; i < head; i += 128)
        for (int u = 0; u < 8; u++) s[u] = _mm512_add_ps(s[u], _mm512_load_ps(a + i + 16 * u));
      for (size_t i = head; i < n; i += 128) {
        for (int u = 0; u < 8; u++) _mm_prefetch((const char *)(a + i + 1024 + 16 * u), _MM_HINT_NTA);
        for (int u = 0; u < 8; u++) s[u] = _mm512_add_ps(s[u], _mm512_load_ps(a + i + 16 * u));
      }
      sweeps++;
    }
    t = now() - t0;
  } while (t < 0.5);
  j->seconds = t / sweeps;
  for (int u = 1; u < 8; u++) s[0] = _mm512_add_ps(s[0], s[u]);
  j->sink = _mm512_reduce_add_ps(s[0]);
  free(a);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 8) { fprintf(stderr, "threads: 1 to 8\n"); return 1; }
  size_t nta_kb = getenv("NTA_KB") ? ((size_t)atoi(getenv("NTA_KB")) + 1) & ~(size_t)1 : 0;
  int sizes[] = {256, 512, 768, 896, 1024, 1216, 1536, 2048, 8192};
  int count = argc > 2 ? argc - 2 : (int)(sizeof sizes / sizeof *sizes);
  for (int s = 0; s < count; s++) {
    size_t kb = argc > 2 ? (size_t)atoi(argv[s + 2]) : (size_t)sizes[s];
    kb = (kb + 1) & ~(size_t)1; /* whole 512-byte steps */
    Job jobs[8]; pthread_t th[8];
    pthread_barrier_init(&barrier, NULL, threads);
    for (int i = 0; i < threads; i++) {
      jobs[i] = (Job){.core = i, .bytes = kb * 1024, .nta_bytes = nta_kb < kb ? nta_kb * 1024 : 0};
      pthread_create(&th[i], NULL, run, &jobs[i]);
    }
    double worst = 0; float sink = 0;
    for (int i = 0; i < threads; i++) { pthread_join(th[i], NULL); if (jobs[i].seconds > worst) worst = jobs[i].seconds; sink += jobs[i].sink; }
    pthread_barrier_destroy(&barrier);
    printf("%2d threads  %6zu KB each (nta tail %4zu KB)  sweep %7.2f us  %6.1f GB/s per core  %6.1f GB/s total%s\n",
           threads, kb, jobs[0].nta_bytes / 1024, worst * 1e6, kb * 1024 / worst / 1e9, threads * kb * 1024 / worst / 1e9, sink != sink ? " (NaN sum)" : "");
  }
  return 0;
}
