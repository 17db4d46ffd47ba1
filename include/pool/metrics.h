/* SPDX-License-Identifier: MIT */
/*
 * pool/metrics.h - latency histograms, Prometheus text exposition, task
 * hooks and a saturation reading for pools and multi-pools.
 *
 * Every worker keeps its own log-linear histograms (queue wait, run time,
 * submit-to-start, submit block time); only that worker writes them, with
 * no lock and no shared write, and every read sums them. Histograms are
 * cumulative from pool_new (there is no reset: subtract two readings with
 * pool_hist_sub for an interval). Timing is sampled: by default one submit
 * in 64 of each producing thread is stamped with a cycle-counter reading
 * (docs/metrics.md gives the costs measured and the reasons); a submit that
 * had to wait for space is always timed for the block histogram. A
 * pool_submit_batch counts as one submit per run of tasks it publishes at
 * once: a sampled run times every task of it (so the fraction of tasks
 * timed is the same on average). Counters (pool_stats) are exact whatever
 * the sampling.
 *
 * Precision of a sample (docs/metrics.md, "What it costs"): times are
 * cycle-counter differences (calibrated against CLOCK_MONOTONIC within
 * 2e-3), read without fences, so each reading may be off by the few tens of
 * ns the CPU reorders it by. A difference that reads negative (the counters
 * of two CPUs disagree by up to about 100 ns) is recorded as 0. When a
 * worker takes a timed task straight after another timed task (every task
 * timed, under load), the clock is read once at that boundary: the new
 * task's start is the previous task's end plus the worker's mean hand-off
 * time (measured exactly on one such boundary in 8), so its queue wait and
 * run time are each off by the hand-off's deviation from its mean (tens of
 * ns), in opposite directions, without bias.
 *
 * Buckets: values in nanoseconds. Bucket i holds the values v with
 * lower(i) < v <= upper(i) (bucket 0 holds 0 and 1); below 8 ns every
 * integer has its own bucket, above it every power of two is split into 8
 * equal sub-buckets, so a bucket is at most 1/8 of its lower bound wide and a
 * quantile read from the buckets is within 12.5% of the exact one. The last
 * bucket holds every value above 2^40 ns (about 18 minutes).
 *
 * Thread safety: every call here may run concurrently with every pool call
 * except pool_destroy (pool.h's synchronization table: these are reads,
 * except pool_metrics_set_sampling, which is like pool_tune).
 */
#ifndef POOL_METRICS_H
#define POOL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "error.h"
#include "multi.h"
#include "pool.h"

POOL_BEGIN_DECLS

/* The histograms of a pool. */
enum pool_hist_kind {
	/* Accepted (the task entered a ring) -> a worker started it. */
	POOL_HIST_QUEUE_WAIT = 0,
	/* Started -> returned or panicked (panics counted in `panicked`). */
	POOL_HIST_RUN = 1,
	/* The submit call -> started: submit block time plus queue wait. */
	POOL_HIST_SUBMIT = 2,
	/* How long a submit that found the pool full waited for space
	 * (accepted submits only: a rejection is counted in pool_stats). */
	POOL_HIST_BLOCK = 3,
	POOL_HIST_KINDS = 4,
};

/* Sub-buckets per power of two: 2^POOL_HIST_SUB_BITS. */
#define POOL_HIST_SUB_BITS 3
/* Buckets per histogram: 8 exact + 37 powers of two x 8 + 1 overflow. */
#define POOL_HIST_BUCKETS 305

/* A histogram reading (pool_metrics_read). */
typedef struct pool_hist {
	uint64_t count;	   /* samples */
	uint64_t sum_ns;   /* sum of the samples */
	uint64_t panicked; /* POOL_HIST_RUN: samples of tasks that panicked */
	uint64_t buckets[POOL_HIST_BUCKETS];
} pool_hist_t;

/*
 * A task hook's view of one task, valid only during the call. fn and arg are
 * what the caller submitted (for pool_submit_copy: fn and the copy; for a
 * context or group task: its function, a pool_group_fn cast to
 * pool_task_fn, and its arg).
 */
typedef struct pool_task_info {
	const char *pool_name; /* options.name */
	int worker_id;	       /* pool_worker_id() of the worker */
	pool_task_fn fn;
	void *arg;
	/* Accepted -> started, in ns; -1 when the task was not sampled. */
	int64_t queue_wait_ns;
	/* Started -> returned, in ns (after hook only; -1 in before). */
	int64_t run_ns;
	/* After hook only: POOL_TASK_RETURNED or POOL_TASK_PANICKED. */
	int outcome;
} pool_task_info_t;

enum pool_task_outcome {
	POOL_TASK_RUNNING = 0, /* in the before hook */
	POOL_TASK_RETURNED = 1,
	POOL_TASK_PANICKED = 2,
};

/*
 * A task hook (OpenTelemetry-style extension point). `before` runs on the
 * worker right before a task from the rings starts, `after` right after it
 * returned or panicked (after its deferred calls and the panic handler),
 * before the task counts as completed and before pool_submit_wait returns.
 * Hooks run with no library lock held and outside every RCU read-side
 * section; they may call any pool function a task may call. They must return
 * (pool_panic is not caught inside a hook). Tasks run inline (inline_runs)
 * are not hooked.
 */
typedef void (*pool_task_hook_fn)(void *ctx, const pool_task_info_t *info);

/* Flags of pool_metrics_options_t. */
enum pool_metrics_flags {
	/* No timing at all (sample_every ignored); hooks still run. */
	POOL_METRICS_OFF = 1u << 0,
};

/*
 * Metrics options, pointed to by pool_options_t.metrics (NULL: all
 * defaults). Set `size` with POOL_METRICS_OPTIONS_INIT; the library copies
 * `size` bytes and rejects a size it does not know (POOL_EINVAL).
 */
typedef struct pool_metrics_options {
	size_t size;
	unsigned flags; /* POOL_METRICS_OFF */
	/* Time one submit in sample_every per producing thread: a power of
	 * two from 1 (every task) to 1 << 20. 0: 64. Else POOL_EINVAL. */
	unsigned sample_every;
	pool_task_hook_fn before; /* may be NULL */
	pool_task_hook_fn after;  /* may be NULL */
	void *hook_ctx;
} pool_metrics_options_t;

/*
 * POOL_METRICS_OPTIONS_INIT: an initializer for a pool_metrics_options_t
 * with `size` set and every other field zero (default). In C it is a
 * designated initializer, usable for static objects; in C++ (where that form
 * warns under -Wextra, and needs C++20) it calls pool_metrics_options_init().
 * Both compile without warnings under -Wall -Wextra -Wpedantic, C99 onward
 * and C++11 onward.
 */
#ifdef __cplusplus
#define POOL_METRICS_OPTIONS_INIT pool_metrics_options_init()
#else
#define POOL_METRICS_OPTIONS_INIT                      \
	{                                              \
		.size = sizeof(pool_metrics_options_t) \
	}
#endif

/* pool_metrics_options_init - `size` set, every other field zero (default). */
static inline pool_metrics_options_t pool_metrics_options_init(void)
{
#ifdef __cplusplus
	pool_metrics_options_t v = {};
#else
	pool_metrics_options_t v = POOL_METRICS_OPTIONS_INIT;
#endif
	v.size = sizeof(v);
	return v;
}

/* One extra label of the exposition. Both strings are the caller's. */
typedef struct pool_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not "__*", not reserved */
	const char *value; /* any UTF-8; escaped on output */
} pool_label_t;

/*
 * Bucket bounds and index (pure functions, any thread).
 *   pool_hist_bucket_upper_ns  inclusive upper bound of bucket i
 *                              (UINT64_MAX for the last)
 *   pool_hist_bucket_lower_ns  exclusive lower bound (0 for bucket 0,
 *                              which also holds 0)
 *   pool_hist_bucket_index     the bucket a value falls in
 * The bound functions return 0 for i < 0 or i >= POOL_HIST_BUCKETS.
 */
POOL_EXTERN uint64_t pool_hist_bucket_upper_ns(int i);
POOL_EXTERN uint64_t pool_hist_bucket_lower_ns(int i);
POOL_EXTERN int pool_hist_bucket_index(uint64_t ns);

/*
 * pool_hist_quantile - the q-quantile (0 <= q <= 1) of a reading, in ns,
 * interpolated linearly inside the bucket holding rank q x count (within
 * 12.5% of the exact quantile of the samples). Returns -1 when h is NULL,
 * empty, or q is outside [0, 1] or NaN. The overflow bucket reads as its
 * lower bound.
 */
POOL_EXTERN double pool_hist_quantile(const pool_hist_t *h, double q);

/*
 * pool_hist_sub - later -= earlier, bucket by bucket: the samples recorded
 * between two readings of the same histogram. Errors: POOL_EINVAL (NULL, or
 * earlier is not an earlier reading: some field would go negative; later is
 * unchanged then).
 */
POOL_EXTERN int pool_hist_sub(pool_hist_t *later, const pool_hist_t *earlier);

/*
 * pool_metrics_read - sum one histogram over every worker of the pool.
 *
 * Thread safety: any thread, lock-free, never blocks. Each bucket is exact
 * at some moment during the call; count is the sum of the buckets read, so
 * a reading is always self-consistent (sum_ns is read separately and may
 * include a sample or two more or less under load). Ordering: a task's
 * samples are recorded before it counts as completed, so after
 * pool_release_timeout returned 0 (or pool_submit_wait returned) a reading
 * includes them. Errors: POOL_EINVAL (p or out NULL, kind unknown).
 */
POOL_EXTERN int pool_metrics_read(const pool_t *p, int kind, pool_hist_t *out);

/*
 * pool_metrics_quantile - pool_hist_quantile of pool_metrics_read, in
 * seconds, into *seconds (-1 when no sample yet). Errors: POOL_EINVAL (p or
 * seconds NULL, unknown kind, q outside [0, 1]).
 */
POOL_EXTERN int pool_metrics_quantile(const pool_t *p, int kind, double q,
				      double *seconds);

/*
 * pool_metrics_set_sampling - time one submit in `every` per producing
 * thread (a power of two, 1 .. 1 << 20), or none (every == 0).
 * Thread safety: any thread, under load. Ordering: each producing thread
 * picks the new interval up at its next sample (within the old interval's
 * count of its submits; within 256 when metrics were off); tasks already
 * stamped are still recorded. Returns 0 or POOL_EINVAL (p NULL, every not 0
 * and not such a power of two).
 */
POOL_EXTERN int pool_metrics_set_sampling(pool_t *p, unsigned every);

/* The current sampling interval: 1 .. 1 << 20, 0 when off, POOL_EINVAL. */
POOL_EXTERN int pool_metrics_sampling(const pool_t *p);

/*
 * pool_metrics_saturation_ns - how long the pool has had no free worker, in
 * ns: 0 when a worker is free now (parked, searching, or a worker could
 * still be started: fewer workers than capacity), else the time since the
 * last worker that was free took a task. Computed by the library from
 * per-worker stamps and the pool's worker gauges, so the caller does no
 * arithmetic on racy gauges. The alert it supports: "saturated for more
 * than N seconds" (docs/metrics.md). Thread safety: any thread, lock-free.
 * Returns >= 0 or POOL_EINVAL (p NULL).
 */
POOL_EXTERN int64_t pool_metrics_saturation_ns(const pool_t *p);

/*
 * pool_metrics_format - write every series of the pool in the Prometheus
 * text exposition format 0.0.4 (HELP and TYPE lines, base units, one
 * `pool` label with the pool's name, then the caller's labels) into buf.
 *
 * Like snprintf: writes at most len bytes including a terminating NUL
 * (nothing when len == 0) and returns the length the whole text needs,
 * without the NUL; the output is complete when the return value is < len.
 * Label values are escaped (backslash, double quote, newline).
 * Thread safety: any thread, lock-free (a read). Errors: POOL_EINVAL (p
 * NULL, buf NULL with len > 0, labels NULL with nlabels > 0, a label name
 * that is invalid, starts with "__", repeats, or is one of pool, member,
 * le, reason).
 */
POOL_EXTERN long pool_metrics_format(const pool_t *p, char *buf, size_t len,
				     const pool_label_t *labels,
				     size_t nlabels);

/*
 * pool_metrics_write - the same text written to f, then fflush(f).
 * Returns 0, POOL_EINVAL (as pool_metrics_format, or f NULL; nothing is
 * written) or, when a write or the flush failed, minus its errno (-EIO,
 * -ENOSPC, -EBADF, ...; errno is set too; the output may be partial). Like
 * a worker_init's code, such a value is outside the pool_err table:
 * pool_strerror still returns a static string for it.
 */
POOL_EXTERN int pool_metrics_write(const pool_t *p, FILE *f,
				   const pool_label_t *labels, size_t nlabels);

/*
 * The multi-pool versions: every series of every member, each with a
 * `member` label (its index) beside `pool`, one HELP/TYPE pair per metric.
 * pool_multi_metrics_read sums a histogram over the members. Same contracts
 * as the pool versions; POOL_EINVAL for m NULL.
 */
POOL_EXTERN long pool_multi_metrics_format(const pool_multi_t *m, char *buf,
					   size_t len,
					   const pool_label_t *labels,
					   size_t nlabels);
POOL_EXTERN int pool_multi_metrics_write(const pool_multi_t *m, FILE *f,
					 const pool_label_t *labels,
					 size_t nlabels);
POOL_EXTERN int pool_multi_metrics_read(const pool_multi_t *m, int kind,
					pool_hist_t *out);

POOL_END_DECLS

#endif /* POOL_METRICS_H */
