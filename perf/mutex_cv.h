/* SPDX-License-Identifier: MIT */
/*
 * perf/mutex_cv.h - the classic mutex+condvar worker pool, the baseline of
 * the perf harness: one locked growable ring of {fn, arg}, N threads started
 * up front, one condvar signal per submit.
 */
#ifndef PERF_MUTEX_CV_H
#define PERF_MUTEX_CV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mcv_pool;

typedef void (*mcv_fn)(void *arg);

/* Start `nthreads` workers (stack_size 0: system default). 0 or -errno. */
int mcv_new(struct mcv_pool **out, int nthreads, size_t stack_size);
/* Queue fn(arg); the queue grows without bound. 0 or -errno. */
int mcv_submit(struct mcv_pool *p, mcv_fn fn, void *arg);
/* Let only workers 0 .. limit-1 take tasks (1 <= limit <= nthreads). */
int mcv_tune(struct mcv_pool *p, int limit);
/* Run every queued task, join the workers and free the pool. */
void mcv_destroy(struct mcv_pool *p);

#ifdef __cplusplus
}
#endif

#endif /* PERF_MUTEX_CV_H */
