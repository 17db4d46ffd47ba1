/* SPDX-License-Identifier: MIT */
/*
 * perf/mutex_cv_sem.h - the baseline weighted semaphore of the sem
 * workloads: one mutex, one condvar, a count; acquire waits while fewer
 * units are free (no FIFO: a woken waiter re-checks, and a newcomer may
 * take the units first).
 */
#ifndef PERF_MUTEX_CV_SEM_H
#define PERF_MUTEX_CV_SEM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mcv_sem;

/* 0 or -errno. */
int mcv_sem_new(struct mcv_sem **out, int64_t size);
void mcv_sem_acquire(struct mcv_sem *s, int64_t weight);
void mcv_sem_release(struct mcv_sem *s, int64_t weight);
void mcv_sem_destroy(struct mcv_sem *s);

#ifdef __cplusplus
}
#endif

#endif /* PERF_MUTEX_CV_SEM_H */
