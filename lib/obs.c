/* SPDX-License-Identifier: MIT */
/*
 * lib/obs.c - the recording side of pool/metrics.h: the clock calibration,
 * the metrics options, the recording of a stamped task (pool__obs_done,
 * called by the worker's plain path) and the slow run path of a hooked task
 * or of an internal kind with a stamp (pool__obs_run). The hot-path pieces
 * are inline in lib/obs-inl.h; lib/metrics.c (the layer on top) reads what
 * is recorded here.
 *
 * Locks: none. The hooks are user code: they run on the worker with no
 * library lock held and outside every RCU read-side section (run_task is
 * called outside both).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "obs-inl.h"
#include "task-inl.h"

#ifdef POOL_HAVE_TSC
#include <cpuid.h>
#endif

int pool__tick_tsc;
uint64_t pool__tick_mult = 1ull << 32; /* 1 ns per tick (CLOCK_MONOTONIC) */
static pthread_once_t tick_once = PTHREAD_ONCE_INIT;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#ifdef POOL_HAVE_TSC
static bool tsc_invariant(void)
{
	unsigned a, b, c, d;

	/* CPUID 0x80000007, EDX bit 8: invariant TSC (constant rate in
	 * every P-, C- and T-state), what Linux reports as nonstop_tsc. */
	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return false;
	__get_cpuid(0x80000007u, &a, &b, &c, &d);
	return (d >> 8) & 1;
}
#endif

#ifdef POOL_HAVE_TSC
/*
 * One (tsc, ns) pair: CLOCK_MONOTONIC bracketed by two TSC reads, retried
 * until the bracket is under 2,000 ticks (about 1 us), so a preemption or an
 * interrupt between the reads cannot skew the pair.
 */
static bool tick_pair(uint64_t *tsc, uint64_t *ns)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t a = __rdtsc(), n = mono_ns(), b = __rdtsc();

		if (b > a && b - a < 2000) {
			*tsc = a + (b - a) / 2;
			*ns = n;
			return true;
		}
	}
	return false;
}
#endif

/*
 * Measure the TSC rate against CLOCK_MONOTONIC: two bracketed pairs 1 ms
 * apart (error at most 2 x 1 us / 1 ms = 2e-3, far below the histogram's
 * 12.5% bucket width; what happens between the pairs does not matter).
 * Measured on the 2-CPU development VM: rdtsc 17 ns, clock_gettime(
 * CLOCK_MONOTONIC) 32 ns a call (docs/metrics.md).
 */
static void tick_calibrate(void)
{
#ifdef POOL_HAVE_TSC
	uint64_t n0, n1, t0, t1;

	if (!tsc_invariant() || !tick_pair(&t0, &n0))
		return;
	do {
		if (!tick_pair(&t1, &n1))
			return;
	} while (n1 - n0 < 1000000);
	if (t1 <= t0)
		return;
	pool__tick_mult =
		(uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
	if (pool__tick_mult == 0)
		pool__tick_mult = 1ull << 32;
	else
		pool__tick_tsc = 1;
#endif
}

void pool__tick_init(void)
{
	pthread_once(&tick_once, tick_calibrate);
}

/* ---- options ---- */

#define OBS_MAX_EVERY (1u << 20)

static int obs_copy(const pool_metrics_options_t *in, pool_metrics_options_t *o)
{
	memset(o, 0, sizeof(*o));
	if (!in)
		return 0;
	if (in->size != sizeof(*o))
		return POOL_EINVAL;
	memcpy(o, in, in->size);
	if (o->flags & ~(unsigned)POOL_METRICS_OFF)
		return POOL_EINVAL;
	if (o->sample_every > OBS_MAX_EVERY ||
	    (o->sample_every & (o->sample_every - 1)))
		return POOL_EINVAL;
	return 0;
}

int pool__obs_check(const pool_metrics_options_t *in)
{
	pool_metrics_options_t o;

	return obs_copy(in, &o);
}

uint64_t pool__obs_mask(unsigned every)
{
	return every == 0 ? POOL_OBS_OFF : (uint64_t)every - 1;
}

void pool__obs_apply(struct pool *p, const pool_metrics_options_t *in)
{
	pool_metrics_options_t o;
	unsigned every;

	(void)obs_copy(in, &o); /* checked by pool__obs_check */
	pool__tick_init();
	every = o.sample_every ? o.sample_every : 64;
	if (o.flags & POOL_METRICS_OFF)
		every = 0;
	atomic_init(&p->obs_mask, pool__obs_mask(every));
	p->hook_before = o.before;
	p->hook_after = o.after;
	p->hook_ctx = o.hook_ctx;
	p->hooked = o.before || o.after;
	p->born_tick = pool__ticks();
}

void pool__obs_free(struct pool_shard *s)
{
	free(atomic_load_explicit(&s->obs, memory_order_relaxed));
}

/* ---- recording ---- */

static uint64_t enc16(uint64_t ns)
{
	int len, shift;

	if (ns == 0)
		ns = 1; /* 0 means "did not block" */
	len = 64 - __builtin_clzll(ns);
	shift = len > 10 ? len - 10 : 0;
	return ((uint64_t)shift << 10) | (ns >> shift);
}

static uint64_t dec16(uint64_t code)
{
	int shift = (int)(code >> 10);
	uint64_t m = code & 1023;

	return (m << shift) | (shift ? 1ull << (shift - 1) : 0);
}

uint64_t pool__obs_blocked(uint64_t stamp, uint64_t t0)
{
	uint64_t now, code;

	if (!t0)
		return stamp;
	now = pool__ticks();
	code = enc16(pool__ticks_to_ns(now - t0));
	/* Accepted now: the queue wait starts after the block. */
	if (stamp & POOL_STAMP_TIMED)
		stamp = POOL_STAMP_TIMED | ((now & POOL_STAMP_TICK_MASK) << 16);
	return stamp | code;
}

/*
 * The shard's histograms, allocated at the owner's first sample: memory
 * follows use (a pool of 10,000 mostly idle workers does not carry 10,000 x
 * 12 KiB). malloc directly, not pool__alloc: this allocation happens at a
 * moment no test of the allocation sweep controls. Cache-line aligned (the
 * struct's alignment; also keeps two workers' histograms off each other's
 * lines). On failure the samples are skipped (the counters in pool_stats
 * stay exact).
 */
static struct pool_obs *obs_get(struct pool_shard *self)
{
	struct pool_obs *o =
		atomic_load_explicit(&self->obs, memory_order_relaxed);

	if (__builtin_expect(o != NULL, 1))
		return o;
	o = aligned_alloc(_Alignof(struct pool_obs), sizeof(*o));
	if (o) {
		memset(o, 0, sizeof(*o));
		/* Release: pairs with the acquire load in metrics.c: the
		 * zeroed buckets are visible before the pointer. */
		atomic_store_explicit(&self->obs, o, memory_order_release);
	}
	return o;
}

/* The samples of a task that blocked in its submit (code: its block time,
 * enc16): the block time, and if it was timed, its queue wait and
 * submit-to-start time into the blocked kinds (obs-inl.h). */
static void record_blocked(struct pool_obs *o, uint64_t code, bool timed,
			   uint64_t wait)
{
	uint64_t block = dec16(code);

	pool__hist_add(o, POOL_OBS_BLOCK, block);
	if (timed) {
		pool__hist_add(o, POOL_OBS_QW_BLOCKED, wait);
		pool__hist_add(o, POOL_OBS_SUBMIT_BLOCKED, wait + block);
	}
}

/* Record the samples of a task with `stamp`: for a timed one, its queue
 * wait and run time in ns. */
static void record(struct pool_shard *self, uint64_t stamp, uint64_t wait,
		   uint64_t run, bool panicked)
{
	struct pool_obs *o = obs_get(self);
	uint64_t code = stamp & POOL_STAMP_BLOCK_MASK;
	bool timed = stamp & POOL_STAMP_TIMED;

	if (!o)
		return;
	if (timed) {
		pool__hist_add(o, POOL_OBS_RUN, run);
		if (panicked)
			atomic_store_explicit(
				&o->panicked,
				atomic_load_explicit(&o->panicked,
						     memory_order_relaxed) +
					1,
				memory_order_relaxed);
	}
	if (__builtin_expect(code != 0, 0))
		record_blocked(o, code, timed, wait);
	else if (timed)
		pool__hist_add(o, POOL_OBS_QW, wait);
}

uint64_t pool__obs_done(struct pool_shard *self, uint64_t stamp, uint64_t start,
			bool panicked)
{
	uint64_t end = 0, wait = 0, run = 0;

	if (stamp & POOL_STAMP_TIMED) {
		end = pool__ticks();
		wait = pool__obs_wait_ns(stamp, start);
		run = pool__obs_run_ns(start, end);
	}
	record(self, stamp, wait, run, panicked);
	return end;
}

bool pool__obs_run(struct pool *p, struct pool_shard *self,
		   const struct pool_work *t)
{
	uint64_t stamp = t->stamp;
	bool timed = stamp & POOL_STAMP_TIMED;
	bool hooked = p->hooked;
	uint64_t start = 0, end = 0, wait = 0, run = 0;
	struct pool_task_info info;
	bool panicked;

	if (timed || hooked)
		start = pool__ticks();
	if (timed)
		wait = pool__obs_wait_ns(stamp, start);
	if (hooked) {
		info.pool_name = p->name;
		info.worker_id = (int)self->index;
		pool__task_user(t, &info.fn, &info.arg);
		info.queue_wait_ns = timed ? (int64_t)wait : -1;
		info.run_ns = -1;
		info.outcome = POOL_TASK_RUNNING;
		if (p->hook_before) {
			p->hook_before(p->hook_ctx, &info);
			start = pool__ticks();
		}
	}
	panicked = pool__task_run(p, t);
	if (timed || hooked) {
		end = pool__ticks();
		run = pool__obs_run_ns(start, end);
	}
	/* The hooks time every task; the histograms only the stamped ones. */
	if (stamp)
		record(self, stamp, wait, run, panicked);
	if (p->hook_after) {
		info.run_ns = (int64_t)run;
		info.outcome =
			panicked ? POOL_TASK_PANICKED : POOL_TASK_RETURNED;
		p->hook_after(p->hook_ctx, &info);
	}
	return panicked;
}
