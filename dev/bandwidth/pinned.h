// What both programs share: a monotonic clock and pinning the calling thread to one core.
#ifndef PINNED_H
#define PINNED_H
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

static void pin_to_core(int core) {
  cpu_set_t set; CPU_ZERO(&set); CPU_SET(core, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
#endif
