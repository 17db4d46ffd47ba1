/* SPDX-License-Identifier: MIT */
/*
 * lib/obs-inl.h - the observation points of the hot path: the cheap clock,
 * the stamp a sampled task carries through its ring slot, the per-worker
 * histograms and the worker's idle->busy stamp. Never installed.
 *
 * Layer: beside park/wake, above the task layer (a hooked or stamped task
 * runs through pool__task_run), below the workers and the submit path
 * (pool.c and worker.c call it; lib/metrics.c, on top, only reads what it
 * records).
 *
 * Stamp (struct pool_slot.stamp, struct pool_work.stamp), 64 bits:
 *   0                   not sampled and did not block: the common case, and
 *                       the only one the worker tests on its fast path;
 *   bit 63              timed: bits 16..62 hold the tick at which the task
 *                       was accepted, modulo 2^47 (waits are read modulo
 *                       2^46 ticks, 9 h at 2.1 GHz: pool__obs_wait_ns);
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

/*
 * The histograms of one worker, as it records them: written by the shard's
 * owner only, with relaxed load + store (no RMW), summed by readers
 * (lib/metrics.c). A histogram's count is the sum of its buckets.
 *
 * The stored kinds are not quite the public ones: a task that did not block
 * has submit-to-start == queue wait, so recording both would write the same
 * sample twice on every timed task. Instead the queue wait of a task that
 * did not block goes to POOL_OBS_QW only, and a blocked task's two values to
 * POOL_OBS_QW_BLOCKED and POOL_OBS_SUBMIT_BLOCKED; a reading adds
 * (additions only: each bucket of a reading is still exact at some moment):
 *   POOL_HIST_QUEUE_WAIT = QW + QW_BLOCKED
 *   POOL_HIST_SUBMIT     = QW + SUBMIT_BLOCKED
 *   POOL_HIST_RUN = RUN, POOL_HIST_BLOCK = BLOCK.
 * A timed task that did not block writes two buckets and two sums (RUN, QW);
 * the sums and the panic count share one cache line.
 */
enum {
	POOL_OBS_QW = 0,
	POOL_OBS_RUN = 1,
	POOL_OBS_SUBMIT_BLOCKED = 2,
	POOL_OBS_BLOCK = 3,
	POOL_OBS_QW_BLOCKED = 4,
	POOL_OBS_KINDS = 5,
};

struct pool_obs {
	_Atomic uint64_t sum_ns[POOL_OBS_KINDS];
	_Atomic uint64_t panicked; /* run samples of tasks that panicked */
	_Atomic uint64_t
		b[POOL_OBS_KINDS][POOL_HIST_BUCKETS] POOL_CACHE_ALIGNED;
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

/*
 * The bucket of v: bucket i holds lower(i) < v <= upper(i) (see metrics.h);
 * indexing v - 1 turns [lo, hi) buckets into Prometheus' (lo, hi]. No
 * branch, no division: with e the index of the top bit of (v - 1) | 8 (at
 * least 3), the shift keeps the top bit and the next POOL_HIST_SUB_BITS
 * bits, 8..15 for v - 1 >= 8 (the power's 8 sub-buckets, after the 8
 * exact ones below it) and v - 1 itself below 8 (e == 3, shift 0); every
 * power from 2^40 on lands at or past the last bucket, where min() keeps
 * it. The unit test hist_bucket_boundaries checks every bound.
 */
static inline int pool__hist_index(uint64_t v)
{
	const int sb = POOL_HIST_SUB_BITS;
	int e, i;

	v -= v != 0;
	e = 63 - __builtin_clzll(v | (1u << sb));
	i = ((e - sb) << sb) + (int)(v >> (e - sb));
	return i < POOL_HIST_BUCKETS - 1 ? i : POOL_HIST_BUCKETS - 1;
}

/* Owner only: one sample of ns into stored kind k. */
static inline void pool__hist_add(struct pool_obs *o, int k, uint64_t ns)
{
	_Atomic uint64_t *b = &o->b[k][pool__hist_index(ns)];

	atomic_store_explicit(b,
			      atomic_load_explicit(b, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(
		&o->sum_ns[k],
		atomic_load_explicit(&o->sum_ns[k], memory_order_relaxed) + ns,
		memory_order_relaxed);
}

/*
 * Tick differences. The TSCs of two CPUs may disagree by a little (about
 * 100 ns measured on the development VM), so a task accepted on one CPU and
 * started on another just after can read a start before its acceptance,
 * and a worker that moved CPUs an end before its start: such a difference
 * reads as 0, not as a wrap-around.
 *
 * pool__obs_wait_ns: queue wait from a timed stamp (accepted at tick t mod
 * 2^47) to tick `start`. A difference with bit 46 set is taken as negative
 * (0): waits are read modulo 2^46 ticks, 9 h at 2.1 GHz.
 */
static inline uint64_t pool__obs_wait_ns(uint64_t stamp, uint64_t start)
{
	uint64_t d = (start - (stamp >> 16)) & POOL_STAMP_TICK_MASK;

	return d >> (POOL_STAMP_TICK_BITS - 1) ? 0 : pool__ticks_to_ns(d);
}

static inline uint64_t pool__obs_run_ns(uint64_t start, uint64_t end)
{
	return (int64_t)(end - start) > 0 ? pool__ticks_to_ns(end - start) : 0;
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

/*
 * A task from the rings with a stamp (timed, or blocked: stamp != 0) that
 * is otherwise plain runs in the worker's own long-lived frame like every
 * plain task (worker.c's run_plain): pool__obs_start right before it,
 * pool__obs_done after it returned (after its deferred calls), or, from
 * worker_guarded, after it panicked (after the panic was reported). Only
 * the worker that runs the task writes what it records.
 *
 * One clock read per task boundary. The clock read costs more than the
 * rest of the recording (docs/metrics.md: perf record puts a third of the
 * CPU of an every-task-timed pool on the reads), so when a worker takes a
 * timed task straight after a timed one (one successful pop, no search,
 * pause or park in between: `prev` is then the end tick pool__obs_done
 * returned for that task, else 0), the start is not read but estimated:
 * prev + the worker's mean hand-off time (task_done, the pop, after_pop),
 * which is measured, exactly, on one such boundary in POOL_OBS_GAP_EVERY
 * (a moving average over the last ~8 measurements; a measurement above
 * POOL_OBS_GAP_MAX ticks, a preemption, is dropped). Error: the hand-off's
 * deviation from its mean (tens of ns), in the queue wait and the run
 * time, in opposite directions and without bias.
 */
#define POOL_OBS_GAP_EVERY 8u
#define POOL_OBS_GAP_MAX   (1u << 16)

struct pool_obs_gap {
	uint64_t ticks; /* mean hand-off, ticks */
	uint32_t n;	/* boundaries estimated since the last measurement */
};

/* The tick the task with `stamp` starts at, 0 when it is not timed. */
static inline uint64_t pool__obs_start(uint64_t stamp, uint64_t prev,
				       struct pool_obs_gap *g)
{
	uint64_t now, d;

	if (!(stamp & POOL_STAMP_TIMED))
		return 0;
	if (prev && ++g->n < POOL_OBS_GAP_EVERY)
		return prev + g->ticks;
	now = pool__ticks();
	if (prev) {
		g->n = 0;
		d = now - prev;
		if (d < POOL_OBS_GAP_MAX)
			g->ticks = g->ticks - g->ticks / 8 + d / 8;
	}
	return now;
}

/* Record a stamped task that started at tick `start` (pool__obs_start) and
 * just ended (obs.c). Returns the end tick, 0 when the task was not timed. */
uint64_t pool__obs_done(struct pool_shard *self, uint64_t stamp, uint64_t start,
			bool panicked);

/* Owner only: the two samples of a timed task that did not block and did
 * not panic, its run time and its queue wait (obs.c's record takes every
 * other case). The two sums share a line. */
static inline void pool__obs_add_plain(struct pool_obs *o, uint64_t wait,
				       uint64_t run)
{
	pool__hist_add(o, POOL_OBS_RUN, run);
	pool__hist_add(o, POOL_OBS_QW, wait);
}

/*
 * pool__obs_done for the worker's timed plain task, inline: the common
 * case of every-task timing (timed, no block code, returned, histograms
 * already made) is one clock read and two bucket and sum updates in the
 * caller's frame; any other case goes out of line. Same result.
 */
static inline uint64_t pool__obs_end(struct pool_shard *self, uint64_t stamp,
				     uint64_t start)
{
	struct pool_obs *o =
		atomic_load_explicit(&self->obs, memory_order_relaxed);
	uint64_t end;

	if (__builtin_expect(!o || (stamp & POOL_STAMP_BLOCK_MASK) ||
				     !(stamp & POOL_STAMP_TIMED),
			     0))
		return pool__obs_done(self, stamp, start, false);
	end = pool__ticks();
	pool__obs_add_plain(o, pool__obs_wait_ns(stamp, start),
			    pool__obs_run_ns(start, end));
	return end;
}

/* The slow run path: hooks, or a task of an internal kind (task-inl.h)
 * with a stamp (obs.c). Returns whether the task panicked. */
bool pool__obs_run(struct pool *p, struct pool_shard *self,
		   const struct pool_work *t);

/* Run a task popped from a ring that is not plain (worker.c's run_task). */
static inline void pool__obs_run_task(struct pool *p, struct pool_shard *self,
				      const struct pool_work *t)
{
	if (__builtin_expect(t->stamp == 0 && !p->hooked, 1))
		pool__task_run(p, t);
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
