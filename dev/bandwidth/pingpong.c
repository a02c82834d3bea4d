/*
 * pingpong.c — how long one core takes to see a cache line another core wrote: two threads
 * pinned to cores 0 and 1 hand one atomic flag back and forth N times. The one-way time is the
 * least a hand-over between the kernels' threads can cost (a batch-1 token makes two or three, a
 * DeepBench sequence 150); it is longer when the two cores sit on different dies (AMD Zen 5
 * under KVM, 2026-11-30 22:05: 190 ns one way).
 *
 *   cc -O2 -pthread dev/bandwidth/pingpong.c -o /tmp/pingpong && /tmp/pingpong
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { N = 2000000 };
static _Atomic int flag __attribute__((aligned(64)));

static void pin(int core) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *unused) {
    (void)unused;
    pin(1);
    for (int i = 0; i < N; i++) {
        while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {}
        atomic_store_explicit(&flag, 0, memory_order_release);
    }
    return NULL;
}

int main(void) {
    pthread_t other;
    pin(0);
    pthread_create(&other, NULL, answer, NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++) {
        atomic_store_explicit(&flag, 1, memory_order_release);
        while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {}
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(other, NULL);
    const double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / N;
    printf("round trip %.0f ns, one way %.0f ns\n", ns, ns / 2);
    return 0;
}
