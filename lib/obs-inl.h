/* SPDX-License-Identifier: MIT */
/*
 * lib/obs-inl.h - the observation points of the hot path: the cheap clock,
 * the stamp a sampled task carries through its ring slot, the per-worker
 * histograms and the worker's idle->busy stamp. Never installed.
 *
 * Layer: below the workers and the submit path (pool.c and worker.c call it;
 * lib/metrics.c, on top, only reads what it records).
 *
 * Stamp (struct pool_slot.stamp, struct pool_work.stamp), 64 bits:
 *   0                   not sampled and did not block: the common case, and
 *                       the only one the worker tests on its fast path;
 *   bit 63              timed: bits 16..62 hold the tick at which the task
 *                       was accepted, modulo 2^47 (a wait longer than 2^47
 *                       ticks, 18 h at 2.1 GHz, would read short);
 *   bits 0..15          block code: 0, or how long the submit waited for
 *                       space, in ns (obs_enc16: 10-bit mantissa, 6-bit
 *                       shift, within 0.1% once decoded).
 * The worker that runs the task records everything, into its own
 * histograms: no producer ever writes a histogram.
 */
#ifndef POOL_OBS_INL_H
#define POOL_OBS_INL_H

#include <time.h>

#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define POOL_HAVE_TSC 1
#endif

#define POOL_STAMP_TIMED      (1ull << 63)
#define POOL_STAMP_TICK_BITS  47
#define POOL_STAMP_TICK_MASK  ((1ull << POOL_STAMP_TICK_BITS) - 1)
#define POOL_STAMP_BLOCK_MASK 0xffffull
#define POOL_OBS_OFF	      UINT64_MAX /* obs_mask: metrics off */

/* One histogram of one worker: written by the shard's owner only, with
 * relaxed load + store (no RMW); summed by readers. The count is the sum of
 * the buckets. */
struct pool_hist_shard {
	_Atomic uint64_t sum_ns;
	_Atomic uint64_t b[POOL_HIST_BUCKETS];
};

struct pool_obs {
	struct pool_hist_shard h[POOL_HIST_KINDS];
	_Atomic uint64_t panicked; /* run samples of tasks that panicked */
};

/*
 * The clock: the TSC when the CPU says it is invariant (constant rate, runs
 * in every C-state) and the calibration against CLOCK_MONOTONIC succeeded,
 * else CLOCK_MONOTONIC in ns. Chosen once per process by pool__tick_init
 * (pthread_once, before the first pool exists; plain reads after that are
 * ordered by whatever handed the pool to the reading thread).
 */
extern int pool__tick_tsc;
extern uint64_t pool__tick_mult; /* ns per tick, 32.32 fixed point */

void pool__tick_init(void);

static inline uint64_t pool__ticks(void)
{
	struct timespec ts;

#ifdef POOL_HAVE_TSC
	if (pool__tick_tsc)
		return __rdtsc();
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pool__ticks_to_ns(uint64_t d)
{
	return (uint64_t)(((unsigned __int128)d * pool__tick_mult) >> 32);
}

/* The bucket of v: bucket i holds lower(i) < v <= upper(i) (see metrics.h);
 * indexing v - 1 turns [lo, hi) buckets into Prometheus' (lo, hi]. */
static inline int pool__hist_index(uint64_t v)
{
	const int sb = POOL_HIST_SUB_BITS;
	int e;

	if (v > 0)
		v--;
	if (v < (1u << sb))
		return (int)v;
	e = 63 - __builtin_clzll(v);
	if (e >= 40)
		return POOL_HIST_BUCKETS - 1;
	return ((e - sb + 1) << sb) + (int)((v >> (e - sb)) & ((1u << sb) - 1));
}

/* Owner only. */
static inline void pool__hist_add(struct pool_hist_shard *h, uint64_t ns)
{
	_Atomic uint64_t *b = &h->b[pool__hist_index(ns)];

	atomic_store_explicit(b,
			      atomic_load_explicit(b, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(
		&h->sum_ns,
		atomic_load_explicit(&h->sum_ns, memory_order_relaxed) + ns,
		memory_order_relaxed);
}

static inline bool pool__obs_on(struct pool *p)
{
	return atomic_load_explicit(&p->obs_mask, memory_order_relaxed) !=
	       POOL_OBS_OFF;
}

/*
 * The stamp of a task being submitted by this thread. Each thread counts
 * down its submits (to any pool) in pool__tls.sample_left; the submit that
 * reaches 0 takes the slow path, which reads the pool's interval, reloads
 * the count and stamps the task (or, metrics off, only reloads: then with
 * POOL_OBS_RECHECK, so that turning sampling on takes effect within that
 * many submits of each thread). Cost when not sampled: a thread-local
 * decrement and a branch.
 */
#define POOL_OBS_RECHECK 256

static inline uint64_t pool__obs_stamp(struct pool *p)
{
	uint64_t m;

	if (__builtin_expect(--pool__tls.sample_left > 0, 1))
		return 0;
	m = atomic_load_explicit(&p->obs_mask, memory_order_relaxed);
	if (m == POOL_OBS_OFF) {
		pool__tls.sample_left = POOL_OBS_RECHECK;
		return 0;
	}
	pool__tls.sample_left = (int32_t)(m + 1);
	return POOL_STAMP_TIMED |
	       ((pool__ticks() & POOL_STAMP_TICK_MASK) << 16);
}

/* A submit that waited since tick t0 (0: metrics off) is about to push a
 * task with `stamp`: the stamp to push (obs.c). */
uint64_t pool__obs_blocked(uint64_t stamp, uint64_t t0);

/* The slow run path: a sampled or blocked task, or hooks (obs.c). Returns
 * whether the task panicked. */
bool pool__obs_run(struct pool *p, struct pool_shard *self,
		   const struct pool_work *t);

/* Run a task popped from a ring (worker.c's run_task). */
static inline void pool__obs_run_task(struct pool *p, struct pool_shard *self,
				      const struct pool_work *t)
{
	if (__builtin_expect(t->stamp == 0 && !p->hook_before && !p->hook_after,
			     1))
		pool__run_one(p, t->fn, t->arg);
	else
		pool__obs_run(p, self, t);
}

/* The worker leaves the search with a task: it is no longer free
 * (pool_metrics_saturation_ns). Owner only; relaxed: a reading only. */
static inline void pool__obs_busy(struct pool_shard *self)
{
	atomic_store_explicit(&self->busy_since, pool__ticks(),
			      memory_order_relaxed);
}

#endif /* POOL_OBS_INL_H */
