/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c - pool/metrics.h: histogram buckets and quantiles against a
 * sorted reference, per-worker recording under concurrent workers, sampling
 * and its runtime control, interval readings (no reset: pool_hist_sub),
 * queue-wait and block time bounds, task hooks (calling back into the
 * library), the saturation reading, and the exposition text (snprintf
 * contract, labels escaped, multi-pool members). promtool checks the text
 * itself in test/metrics/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>

#include "test.h"

static pool_metrics_options_t mopts(unsigned every, unsigned flags)
{
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;

	m.sample_every = every;
	m.flags = flags;
	return m;
}

static pool_hist_t read_hist(const pool_t *p, int kind)
{
	pool_hist_t h;

	ASSERT_OK(pool_metrics_read(p, kind, &h));
	return h;
}

static uint64_t bucket_sum(const pool_hist_t *h)
{
	uint64_t n = 0;

	for (int i = 0; i < POOL_HIST_BUCKETS; i++)
		n += h->buckets[i];
	return n;
}

TEST(hist_bucket_boundaries)
{
	ASSERT_EQ(pool_hist_bucket_index(0), 0);
	ASSERT_EQ(pool_hist_bucket_index(1), 0);
	ASSERT_EQ(pool_hist_bucket_index(2), 1);
	ASSERT_EQ(pool_hist_bucket_index(UINT64_MAX), POOL_HIST_BUCKETS - 1);
	ASSERT_EQ(pool_hist_bucket_index((1ull << 40) + 1),
		  POOL_HIST_BUCKETS - 1);
	ASSERT_EQ(pool_hist_bucket_index(1ull << 40), POOL_HIST_BUCKETS - 2);
	ASSERT_UEQ(pool_hist_bucket_lower_ns(0), 0);
	ASSERT_UEQ(pool_hist_bucket_upper_ns(POOL_HIST_BUCKETS - 1),
		   UINT64_MAX);
	ASSERT_UEQ(pool_hist_bucket_upper_ns(-1), 0);
	ASSERT_UEQ(pool_hist_bucket_lower_ns(POOL_HIST_BUCKETS), 0);
	for (int i = 0; i < POOL_HIST_BUCKETS - 1; i++) {
		uint64_t lo = pool_hist_bucket_lower_ns(i);
		uint64_t hi = pool_hist_bucket_upper_ns(i);

		/* Contiguous, (lo, hi], at most 1/8 of lo wide. */
		ASSERT_UEQ(pool_hist_bucket_lower_ns(i + 1), hi);
		ASSERT(hi > lo);
		ASSERT_EQ(pool_hist_bucket_index(hi), i);
		ASSERT_EQ(pool_hist_bucket_index(lo + 1), i);
		ASSERT_EQ(pool_hist_bucket_index(hi + 1), i + 1);
		if (i >= 8)
			ASSERT_ULE(8 * (hi - lo), lo);
		else
			ASSERT_UEQ(hi - lo, 1);
	}
	/* Every power of two from 2^3 is a bucket's upper bound (the
	 * exposition's le values). */
	for (int k = 3; k <= 40; k++)
		ASSERT_UEQ(pool_hist_bucket_upper_ns(
				   pool_hist_bucket_index(1ull << k)),
			   1ull << k);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

TEST(hist_quantile_vs_sorted_reference)
{
	enum { N = 20000 };
	static uint64_t v[N];
	static pool_hist_t h;
	uint64_t x = 88172645463325252ull;
	const double qs[] = {0,	   0.01, 0.1,  0.25,  0.5,
			     0.75, 0.9,	 0.99, 0.999, 1};

	memset(&h, 0, sizeof(h));
	for (int i = 0; i < N; i++) {
		/* Log-uniform over 1 ns .. ~1 s. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = 1 +
		       ((x >> 11) % 1000) * (1ull << ((x >> 3) % 30)) / 1000;
		h.buckets[pool_hist_bucket_index(v[i])]++;
		h.count++;
		h.sum_ns += v[i];
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		size_t rank = (size_t)ceil(qs[k] * N);
		double ref = (double)v[rank ? rank - 1 : 0];
		double est = pool_hist_quantile(&h, qs[k]);

		if (fabs(est - ref) > ref / 8 + 1)
			FAIL("q=%g: estimate %.1f, exact %.1f", qs[k], est,
			     ref);
	}
	ASSERT(pool_hist_quantile(&h, -0.1) == -1);
	ASSERT(pool_hist_quantile(&h, 1.5) == -1);
	ASSERT(pool_hist_quantile(&h, NAN) == -1);
	ASSERT(pool_hist_quantile(NULL, 0.5) == -1);
	memset(&h, 0, sizeof(h));
	ASSERT(pool_hist_quantile(&h, 0.5) == -1);
}

static void task_spin(void *arg)
{
	(void)arg;
}

struct producer {
	pool_t *p;
	int n;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;

	for (int i = 0; i < pr->n; i++)
		if (pool_submit(pr->p, task_spin, NULL) != 0)
			FAIL("submit %d failed", i);
	return NULL;
}

/* Several workers record at once, each into its own histograms; the sum
 * read afterwards has every sample. */
TEST(metrics_concurrent_writers)
{
	enum { PRODUCERS = 3, PER = 20000 };
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(3, 64, 0);
	struct producer pr = {0, PER};
	pthread_t t[PRODUCERS];
	pool_hist_t w, r, s, b;
	pool_t *p;

	o.metrics = &m;
	ASSERT_OK(pool_new(&p, &o));
	pr.p = p;
	for (int i = 0; i < PRODUCERS; i++)
		thread_start(&t[i], produce, &pr);
	/* Read while they run: never more than was submitted. */
	for (int i = 0; i < 100; i++) {
		w = read_hist(p, POOL_HIST_QUEUE_WAIT);
		ASSERT_ULE(w.count, PRODUCERS * PER);
		ASSERT_UEQ(w.count, bucket_sum(&w));
	}
	for (int i = 0; i < PRODUCERS; i++)
		thread_join(t[i]);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	w = read_hist(p, POOL_HIST_QUEUE_WAIT);
	r = read_hist(p, POOL_HIST_RUN);
	s = read_hist(p, POOL_HIST_SUBMIT);
	b = read_hist(p, POOL_HIST_BLOCK);
	ASSERT_UEQ(w.count, PRODUCERS * PER);
	ASSERT_UEQ(r.count, PRODUCERS * PER);
	ASSERT_UEQ(s.count, PRODUCERS * PER);
	ASSERT_UEQ(r.panicked, 0);
	/* Submit-to-start is block + queue wait, so never below the wait. */
	ASSERT_UEQ(s.sum_ns, w.sum_ns + b.sum_ns);
	ASSERT_UEQ(test_stats(p).completed, PRODUCERS * PER);
	ASSERT_OK(pool_destroy(p));
}

TEST(metrics_sampling_default_and_runtime)
{
	enum { N = 4096 };
	pool_metrics_options_t m = mopts(4, 0);
	pool_options_t o = test_opts(1, 8192, 0);
	pool_hist_t h;
	pool_t *p;

	/* Default: on, one in 64. */
	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_EQ(pool_metrics_sampling(p), 64);
	ASSERT_OK(pool_destroy(p));

	o.metrics = &m;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_metrics_sampling(p), 4);
	/* This thread's submits are counted from its first (timed): exactly
	 * every 4th of N is timed. */
	for (int i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(pool_reboot(p));
	h = read_hist(p, POOL_HIST_RUN);
	ASSERT_UEQ(h.count, N / 4);

	ASSERT_OK(pool_metrics_set_sampling(p, 0));
	ASSERT_EQ(pool_metrics_sampling(p), 0);
	for (int i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(pool_reboot(p));
	ASSERT_UEQ(read_hist(p, POOL_HIST_RUN).count, N / 4);

	/* On again: each thread notices within its next 256 submits (it
	 * rechecks a pool with metrics off that often), then times all. */
	ASSERT_OK(pool_metrics_set_sampling(p, 1));
	for (int i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	h = read_hist(p, POOL_HIST_RUN);
	ASSERT_UGE(h.count, N / 4 + N - 256);
	ASSERT_ULE(h.count, N / 4 + N);

	ASSERT_ERR(pool_metrics_set_sampling(p, 3), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_set_sampling(p, 1u << 21), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_set_sampling(NULL, 1), POOL_EINVAL);
	ASSERT_EQ(pool_metrics_sampling(p), 1);
	ASSERT_ERR(pool_metrics_sampling(NULL), POOL_EINVAL);
	ASSERT_OK(pool_destroy(p));
}

TEST(metrics_off_option)
{
	pool_metrics_options_t m = mopts(1, POOL_METRICS_OFF);
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p;

	o.metrics = &m;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_metrics_sampling(p), 0);
	for (int i = 0; i < 100; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (int k = 0; k < POOL_HIST_KINDS; k++)
		ASSERT_UEQ(read_hist(p, k).count, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(metrics_options_invalid)
{
	pool_metrics_options_t m = mopts(3, 0);
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p = NULL;
	pool_hist_t h;
	double sec;

	o.metrics = &m;
	ASSERT_ERR(pool_new(&p, &o), POOL_EINVAL);
	m = mopts(1u << 21, 0);
	ASSERT_ERR(pool_new(&p, &o), POOL_EINVAL);
	m = mopts(0, 1u << 5);
	ASSERT_ERR(pool_new(&p, &o), POOL_EINVAL);
	m = mopts(0, 0);
	m.size = 8;
	ASSERT_ERR(pool_new(&p, &o), POOL_EINVAL);
	ASSERT_NULL(p);

	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_ERR(pool_metrics_read(p, POOL_HIST_KINDS, &h), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_read(p, -1, &h), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_read(NULL, 0, &h), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_read(p, 0, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_quantile(p, 0, 1.5, &sec), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_quantile(p, 0, 0.5, NULL), POOL_EINVAL);
	ASSERT_OK(pool_metrics_quantile(p, 0, 0.5, &sec));
	ASSERT(sec == -1); /* no sample yet */
	ASSERT_ERR(pool_metrics_saturation_ns(NULL), POOL_EINVAL);
	ASSERT_OK(pool_destroy(p));
}

/* No reset: an interval is the difference of two readings. */
TEST(metrics_interval_by_subtraction)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(2, 0, 0);
	pool_hist_t a, b, keep;
	pool_t *p;

	o.metrics = &m;
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < 300; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(pool_reboot(p));
	a = read_hist(p, POOL_HIST_RUN);
	for (int i = 0; i < 200; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	b = read_hist(p, POOL_HIST_RUN);
	ASSERT_UEQ(a.count, 300);
	ASSERT_UEQ(b.count, 500);
	/* Wrong order: refused, nothing changed. */
	keep = a;
	ASSERT_ERR(pool_hist_sub(&a, &b), POOL_EINVAL);
	ASSERT(memcmp(&a, &keep, sizeof(a)) == 0);
	ASSERT_OK(pool_hist_sub(&b, &a));
	ASSERT_UEQ(b.count, 200);
	ASSERT_UEQ(bucket_sum(&b), 200);
	ASSERT_ERR(pool_hist_sub(NULL, &a), POOL_EINVAL);
	ASSERT_OK(pool_destroy(p));
}

static void busy_ns(int64_t ns)
{
	int64_t end = test_now_ns() + ns;

	while (test_now_ns() < end)
		;
}

static void task_busy_2ms(void *arg)
{
	(void)arg;
	busy_ns(MS(2));
}

/*
 * Bounds, not luck: a task queued behind a gate cannot start before the
 * gate opens, so its queue wait is at least the time from the submit's
 * return to the gate_open call, and at most the whole window; the gate task
 * runs at least as long. (The end of the hold is read before gate_open: the
 * worker may run the queued task before gate_open returns.)
 */
TEST(metrics_queue_wait_and_run_bounds)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(1, 4, 0);
	int64_t t0, held, window;
	struct gate g;
	double q;
	pool_t *p;

	o.metrics = &m;
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	t0 = test_now_ns();
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_submit(p, task_busy_2ms, NULL));
	held = test_now_ns();
	busy_ns(MS(5));
	held = test_now_ns() - held;
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	window = test_now_ns() - t0;
	ASSERT_UEQ(read_hist(p, POOL_HIST_QUEUE_WAIT).count, 2);
	/* The larger of the two waits is the queued task's. */
	ASSERT_OK(pool_metrics_quantile(p, POOL_HIST_QUEUE_WAIT, 1, &q));
	if (q * 1e9 < (double)held * 7 / 8 || q * 1e9 > (double)window * 9 / 8)
		FAIL("queue wait %.0f ns outside [%lld, %lld]", q * 1e9,
		     (long long)held, (long long)window);
	ASSERT_OK(pool_metrics_quantile(p, POOL_HIST_RUN, 1, &q));
	if (q * 1e9 < (double)held * 7 / 8 || q * 1e9 > (double)window * 9 / 8)
		FAIL("gate task run %.0f ns outside [%lld, %lld]", q * 1e9,
		     (long long)held, (long long)window);
	/* The queued task spun 2 ms: the smaller run is at least that. */
	ASSERT_OK(pool_metrics_quantile(p, POOL_HIST_RUN, 0.5, &q));
	if (q * 1e9 < (double)MS(2) * 7 / 8)
		FAIL("2 ms task run %.0f ns", q * 1e9);
	gate_destroy(&g);
	ASSERT_OK(pool_destroy(p));
}

/* A submit that waits for space is timed (and always, whatever the
 * sampling): its block time is at least how long the test kept it out. */
TEST(metrics_block_time)
{
	pool_metrics_options_t m = mopts(1u << 20, 0);
	pool_options_t o = test_opts(1, 1, 0);
	struct bg_call bg;
	int64_t held;
	struct gate g;
	pool_hist_t h;
	pool_t *p;

	o.metrics = &m;
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_spin, NULL);
	bg_start(&bg, BG_SUBMIT, p, task_spin, NULL);
	WAIT_UNTIL(pool_waiting(p) == 1);
	held = test_now_ns();
	busy_ns(MS(3));
	held = test_now_ns() - held;
	gate_open(&g);
	ASSERT_OK(bg_join(&bg));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	h = read_hist(p, POOL_HIST_BLOCK);
	ASSERT_UEQ(h.count, 1);
	ASSERT_UGE(h.sum_ns, (uint64_t)held * 7 / 8);
	gate_destroy(&g);
	ASSERT_OK(pool_destroy(p));
}

/*
 * Every task timed, one submit blocked: the block time goes to
 * POOL_HIST_BLOCK, and its submit-to-start is block + queue wait, while
 * the tasks that did not block have submit-to-start == queue wait (the
 * library stores those once: lib/obs-inl.h). So the two histograms have the
 * same count and their sums differ by exactly the block time.
 */
TEST(metrics_block_time_timed)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(1, 1, 0);
	pool_hist_t w, s, b, r;
	struct bg_call bg;
	int64_t held;
	struct gate g;
	double q;
	pool_t *p;

	o.metrics = &m;
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_spin, NULL);
	bg_start(&bg, BG_SUBMIT, p, task_spin, NULL);
	WAIT_UNTIL(pool_waiting(p) == 1);
	held = test_now_ns();
	busy_ns(MS(3));
	held = test_now_ns() - held;
	gate_open(&g);
	ASSERT_OK(bg_join(&bg));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	w = read_hist(p, POOL_HIST_QUEUE_WAIT);
	s = read_hist(p, POOL_HIST_SUBMIT);
	b = read_hist(p, POOL_HIST_BLOCK);
	r = read_hist(p, POOL_HIST_RUN);
	ASSERT_UEQ(b.count, 1);
	ASSERT_UGE(b.sum_ns, (uint64_t)held * 7 / 8);
	ASSERT_UEQ(w.count, 3);
	ASSERT_UEQ(s.count, 3);
	ASSERT_UEQ(r.count, 3);
	ASSERT_UEQ(bucket_sum(&w), 3);
	ASSERT_UEQ(bucket_sum(&s), 3);
	ASSERT_UEQ(s.sum_ns, w.sum_ns + b.sum_ns);
	/* The longest submit-to-start is at least the block. */
	ASSERT_OK(pool_metrics_quantile(p, POOL_HIST_SUBMIT, 1, &q));
	if (q * 1e9 < (double)held * 7 / 8)
		FAIL("submit-to-start %.0f ns < block %lld ns", q * 1e9,
		     (long long)held);
	gate_destroy(&g);
	ASSERT_OK(pool_destroy(p));
}

static void task_panic(void *arg)
{
	(void)arg;
	pool_panic(7, "metrics test");
}

static void quiet_handler(void *ctx, const pool_panic_info_t *info)
{
	(void)ctx;
	(void)info;
}

TEST(metrics_panics_counted_apart)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(1, 0, 0);
	pool_hist_t h;
	pool_t *p;

	o.metrics = &m;
	o.panic_handler = quiet_handler;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_panic, NULL));
	ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_submit(p, task_panic, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	h = read_hist(p, POOL_HIST_RUN);
	ASSERT_UEQ(h.count, 3);
	ASSERT_UEQ(h.panicked, 2);
	ASSERT_UEQ(test_stats(p).panicked, 2);
	ASSERT_OK(pool_destroy(p));
}

static void defer_panic(void *arg)
{
	(void)arg;
	pool_panic(8, "in a deferred call");
}

static void defer_count(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

/* A deferred call that panics makes its task a panicked one. */
static void task_defer_panics(void *arg)
{
	(void)arg;
	if (pool_defer(defer_panic, NULL) != 0)
		FAIL("pool_defer");
}

/* A task that panics still runs its deferred calls. */
static void task_panic_deferred(void *arg)
{
	if (pool_defer(defer_count, arg) != 0)
		FAIL("pool_defer");
	pool_panic(9, "after a defer");
}

static void task_busy_1ms(void *arg)
{
	(void)arg;
	busy_ns(MS(1));
}

/*
 * Timed tasks run in the worker's own frame (lib/worker.c, run_plain):
 * their samples are recorded however they end (return, panic, a panic in a
 * deferred call), with the outcome; the run time of a task that spun 1 ms
 * after a panicking task is not shortened or lengthened by it.
 */
TEST(metrics_timed_panics_and_defers)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(1, 0, 0);
	atomic_int deferred = 0;
	pool_hist_t h;
	double q;
	pool_t *p;

	o.metrics = &m;
	o.panic_handler = quiet_handler;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_defer_panics, NULL));
	ASSERT_OK(pool_submit(p, task_panic_deferred, &deferred));
	ASSERT_OK(pool_submit(p, task_busy_1ms, NULL));
	ASSERT_OK(pool_submit(p, task_panic_deferred, &deferred));
	ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	h = read_hist(p, POOL_HIST_RUN);
	ASSERT_UEQ(h.count, 5);
	ASSERT_UEQ(h.panicked, 3);
	ASSERT_UEQ(test_stats(p).panicked, 3);
	ASSERT_EQ(atomic_load(&deferred), 2);
	ASSERT_UEQ(read_hist(p, POOL_HIST_QUEUE_WAIT).count, 5);
	/* The longest run is the 1 ms spin, within the buckets' 12.5%, and
	 * no sample wrapped around into the last bucket. */
	ASSERT_OK(pool_metrics_quantile(p, POOL_HIST_RUN, 1, &q));
	if (q * 1e9 < (double)MS(1) * 7 / 8 || q > 1)
		FAIL("longest run %.0f ns", q * 1e9);
	ASSERT_UEQ(h.buckets[POOL_HIST_BUCKETS - 1], 0);
	ASSERT_OK(pool_destroy(p));
}

/* ---- hooks ---- */

struct hook_log {
	atomic_int before, after, returned, panicked, timed;
	atomic_int bad; /* a field was wrong */
	atomic_int reentered;
	pool_t *pool;
	void *want_arg;
};

static void hook_before(void *ctx, const pool_task_info_t *in)
{
	struct hook_log *l = ctx;
	pool_stats_t s = POOL_STATS_INIT;

	if (in->outcome != POOL_TASK_RUNNING || in->run_ns != -1 ||
	    in->worker_id != pool_worker_id() || in->worker_id < 0 ||
	    strcmp(in->pool_name, "hooked") != 0)
		atomic_fetch_add(&l->bad, 1);
	/* Calls back into the library: no lock or RCU section is held. */
	if (pool_stats(l->pool, &s) == 0 && pool_self() == l->pool)
		atomic_fetch_add(&l->reentered, 1);
	if (in->queue_wait_ns >= 0)
		atomic_fetch_add(&l->timed, 1);
	atomic_fetch_add(&l->before, 1);
}

static void hook_after(void *ctx, const pool_task_info_t *in)
{
	struct hook_log *l = ctx;
	pool_hist_t h;

	if (in->run_ns < 0 || in->worker_id != pool_worker_id())
		atomic_fetch_add(&l->bad, 1);
	if (in->fn == task_spin && in->arg != l->want_arg)
		atomic_fetch_add(&l->bad, 1);
	if (in->outcome == POOL_TASK_PANICKED) {
		if (in->fn != task_panic)
			atomic_fetch_add(&l->bad, 1);
		atomic_fetch_add(&l->panicked, 1);
	} else if (in->outcome == POOL_TASK_RETURNED) {
		atomic_fetch_add(&l->returned, 1);
	} else {
		atomic_fetch_add(&l->bad, 1);
	}
	/* Reading the histograms and submitting from a hook. */
	if (pool_metrics_read(l->pool, POOL_HIST_RUN, &h) == 0 &&
	    in->fn == task_spin &&
	    pool_try_submit(l->pool, task_nop, NULL) == 0)
		atomic_fetch_add(&l->reentered, 1);
	atomic_fetch_add(&l->after, 1);
}

static void task_copy_check(void *arg)
{
	if (strcmp(arg, "payload") != 0)
		FAIL("copy task got '%s'", (char *)arg);
}

TEST(metrics_hooks)
{
	pool_metrics_options_t m = mopts(2, 0);
	pool_options_t o = test_opts(2, 0, 0);
	struct hook_log l;
	int marker;
	pool_t *p;

	memset(&l, 0, sizeof(l));
	l.want_arg = &marker;
	m.before = hook_before;
	m.after = hook_after;
	m.hook_ctx = &l;
	o.metrics = &m;
	o.name = "hooked";
	o.panic_handler = quiet_handler;
	ASSERT_OK(pool_new(&p, &o));
	l.pool = p;
	for (int i = 0; i < 10; i++)
		ASSERT_OK(pool_submit(p, task_spin, &marker));
	ASSERT_OK(pool_submit(p, task_panic, NULL));
	ASSERT_OK(pool_submit_copy(p, task_copy_check, "payload", 8));
	ASSERT_OK(pool_submit_wait(p, task_spin, &marker));
	/* Every hook ran (and its submits were accepted) before the close. */
	WAIT_UNTIL(atomic_load(&l.after) == 13 + 11);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	/* 10 + panic + copy + wait, plus the 11 nops the hooks submitted. */
	ASSERT_EQ(atomic_load(&l.bad), 0);
	ASSERT_EQ(atomic_load(&l.before), 13 + 11);
	ASSERT_EQ(atomic_load(&l.after), 13 + 11);
	ASSERT_EQ(atomic_load(&l.panicked), 1);
	ASSERT_EQ(atomic_load(&l.returned), 12 + 11);
	ASSERT_EQ(atomic_load(&l.reentered), 13 + 11 + 11);
	/* Sampling 1 in 2 of this thread's 13 submits (the hooks' own
	 * submits come from the workers' ticks): some, not all, timed. */
	ASSERT_GT(atomic_load(&l.timed), 0);
	ASSERT_LT(atomic_load(&l.timed), 13 + 11);
	ASSERT_OK(pool_destroy(p));
}

/* Context and group tasks (pool/ctx.h, pool/group.h) are hooked as the
 * user's task: the hooks see its function and arg (a group function cast),
 * and a panic the group's own guard caught as POOL_TASK_PANICKED; the
 * histograms count it among the panicked. */
struct ihook_log {
	atomic_int ctx_seen, group_seen, group_panicked, bad;
	void *want_arg;
};

static int gtask_panic(void *arg)
{
	(void)arg;
	pool_panic(3, "group task");
}

static void ihook_after(void *ctx, const pool_task_info_t *in)
{
	struct ihook_log *l = ctx;

	if (in->fn == task_spin) {
		if (in->arg != l->want_arg || in->outcome != POOL_TASK_RETURNED)
			atomic_fetch_add(&l->bad, 1);
		atomic_fetch_add(&l->ctx_seen, 1);
	} else if (in->fn == (pool_task_fn)(void (*)(void))gtask_panic) {
		if (in->arg != l->want_arg)
			atomic_fetch_add(&l->bad, 1);
		if (in->outcome == POOL_TASK_PANICKED)
			atomic_fetch_add(&l->group_panicked, 1);
		atomic_fetch_add(&l->group_seen, 1);
	} else {
		atomic_fetch_add(&l->bad, 1);
	}
}

TEST(metrics_hooks_see_ctx_and_group_tasks)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(1, 0, 0);
	struct ihook_log l;
	pool_group_t *g;
	pool_ctx_t *c;
	pool_hist_t h;
	int marker;
	pool_t *p;

	memset(&l, 0, sizeof(l));
	l.want_arg = &marker;
	m.after = ihook_after;
	m.hook_ctx = &l;
	o.metrics = &m;
	o.panic_handler = quiet_handler;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_submit_ctx(p, c, task_spin, &marker));
	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_OK(pool_group_go(g, gtask_panic, &marker));
	ASSERT_ERR(pool_group_wait(g), POOL_EPANIC);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&l.bad), 0);
	ASSERT_EQ(atomic_load(&l.ctx_seen), 1);
	ASSERT_EQ(atomic_load(&l.group_seen), 1);
	ASSERT_EQ(atomic_load(&l.group_panicked), 1);
	ASSERT_OK(pool_metrics_read(p, POOL_HIST_RUN, &h));
	ASSERT_UEQ(h.count, 2);
	ASSERT_UEQ(h.panicked, 1);
	ASSERT_OK(pool_group_destroy(g));
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
}

/* ---- saturation ---- */

TEST(metrics_saturation)
{
	pool_options_t o = test_opts(1, 4, POOL_DISABLE_PURGE);
	int64_t s1, s2;
	struct gate g;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	/* No worker yet: one can be started, so not saturated. */
	ASSERT_EQ(pool_metrics_saturation_ns(p), 0);
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	/* The only worker runs: saturated, and the reading grows. */
	WAIT_UNTIL(pool_metrics_saturation_ns(p) > 0);
	s1 = pool_metrics_saturation_ns(p);
	busy_ns(MS(2));
	s2 = pool_metrics_saturation_ns(p);
	ASSERT_GE(s2 - s1, MS(2) * 7 / 8);
	gate_open(&g);
	/* The worker parks: free again. */
	WAIT_UNTIL(pool_metrics_saturation_ns(p) == 0);
	ASSERT_OK(pool_tune(p, 2));
	ASSERT_EQ(pool_metrics_saturation_ns(p), 0);
	/* Destroy first: it joins the worker, which may still be leaving
	 * gate_pass (the saturation reads are relaxed: no happens-before
	 * with the worker's unlock; TSan found it). */
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* ---- exposition ---- */

static char *format_all(const pool_t *p, const pool_label_t *l, size_t n)
{
	long need = pool_metrics_format(p, NULL, 0, l, n);
	char *buf;

	ASSERT_GT(need, 0);
	buf = malloc((size_t)need + 1);
	ASSERT_NOT_NULL(buf);
	ASSERT_EQ(pool_metrics_format(p, buf, (size_t)need + 1, l, n), need);
	ASSERT_EQ(strlen(buf), need);
	return buf;
}

TEST(expose_format_contract)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(2, 0, 0);
	const pool_label_t l[] = {{"env", "a\"b\\c\nd"}, {"zone", "eu"}};
	char small[64], *full;
	long need;
	pool_t *p;

	o.metrics = &m;
	o.name = "web";
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < 50; i++)
		ASSERT_OK(pool_submit(p, task_spin, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	full = format_all(p, l, 2);
	need = (long)strlen(full);
	/* snprintf rules: truncated and terminated, same return value. */
	memset(small, 'x', sizeof(small));
	ASSERT_EQ(pool_metrics_format(p, small, sizeof(small), l, 2), need);
	ASSERT_EQ(strlen(small), sizeof(small) - 1);
	ASSERT(memcmp(small, full, sizeof(small) - 1) == 0);
	small[0] = 'x';
	ASSERT_EQ(pool_metrics_format(p, small, 1, l, 2), need);
	ASSERT_EQ(small[0], '\0');

	ASSERT(strstr(full, "# TYPE pool_tasks_completed_total counter\n"));
	ASSERT(strstr(full, "pool_tasks_completed_total{pool=\"web\","
			    "env=\"a\\\"b\\\\c\\nd\",zone=\"eu\"} 50\n"));
	ASSERT(strstr(full, "# TYPE pool_task_duration_seconds histogram\n"));
	ASSERT(strstr(full, "pool_queue_wait_seconds_bucket{pool=\"web\","
			    "env=\"a\\\"b\\\\c\\nd\",zone=\"eu\","
			    "le=\"+Inf\"} 50\n"));
	ASSERT(strstr(full, "pool_queue_wait_seconds_count{pool=\"web\","
			    "env=\"a\\\"b\\\\c\\nd\",zone=\"eu\"} 50\n"));
	ASSERT(strstr(full, "reason=\"overload\"} 0\n"));
	ASSERT(strstr(full, "pool_capacity{"));
	ASSERT(strstr(full, "pool_queue_depth{"));
	ASSERT(strstr(full, "pool_waiting{"));
	ASSERT(strstr(full, "pool_running{"));
	ASSERT(strstr(full, "le=\"2.56e-07\"}"));

	/* The same text through a FILE. */
	{
		FILE *f = tmpfile();
		char *back = malloc((size_t)need + 1);

		ASSERT_NOT_NULL(f);
		ASSERT_NOT_NULL(back);
		ASSERT_OK(pool_metrics_write(p, f, l, 2));
		ASSERT_EQ(ftell(f), need);
		rewind(f);
		ASSERT_EQ(fread(back, 1, (size_t)need, f), need);
		back[need] = '\0';
		ASSERT_STR_EQ(back, full);
		fclose(f);
		free(back);
	}
	free(full);
	ASSERT_OK(pool_destroy(p));
}

TEST(expose_bad_labels)
{
	const pool_label_t bad[][2] = {
		{{"1x", "v"}, {"ok", "v"}},  {{"__x", "v"}, {"ok", "v"}},
		{{"le", "v"}, {"ok", "v"}},  {{"pool", "v"}, {"ok", "v"}},
		{{"a-b", "v"}, {"ok", "v"}}, {{"ok", "v"}, {"ok", "w"}},
		{{"", "v"}, {"ok", "v"}},    {{"ok", NULL}, {"k", "v"}},
	};
	FILE *f = tmpfile();
	char buf[16];
	pool_t *p;

	ASSERT_OK(pool_new(&p, NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_ERR(pool_metrics_format(p, buf, sizeof(buf), bad[i], 2),
			   POOL_EINVAL);
		ASSERT_ERR(pool_metrics_write(p, f, bad[i], 2), POOL_EINVAL);
	}
	ASSERT_EQ(ftell(f), 0);
	ASSERT_ERR(pool_metrics_format(NULL, buf, sizeof(buf), NULL, 0),
		   POOL_EINVAL);
	ASSERT_ERR(pool_metrics_format(p, NULL, 4, NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_format(p, buf, 4, NULL, 1), POOL_EINVAL);
	ASSERT_ERR(pool_metrics_write(p, NULL, NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_multi_metrics_write(NULL, f, NULL, 0), POOL_EINVAL);
	fclose(f);
	/* A stream that cannot be written: the write's errno comes back. */
	f = fopen("/dev/null", "r");
	ASSERT_NOT_NULL(f);
	ASSERT_ERR(pool_metrics_write(p, f, NULL, 0), -EBADF);
	fclose(f);
	ASSERT_OK(pool_destroy(p));
}

static int count_substr(const char *s, const char *sub)
{
	int n = 0;

	while ((s = strstr(s, sub)) != NULL) {
		n++;
		s++;
	}
	return n;
}

TEST(expose_multi_members)
{
	pool_metrics_options_t m = mopts(1, 0);
	pool_options_t o = test_opts(1, 0, 0);
	const pool_label_t l[] = {{"svc", "x"}};
	pool_multi_t *mp;
	pool_hist_t h;
	char *buf;
	long need;

	o.metrics = &m;
	o.name = "mp";
	ASSERT_OK(pool_multi_new(&mp, 2, &o, POOL_LB_ROUND_ROBIN));
	/* Keyed, so each member runs exactly 20 (round-robin's split depends
	 * on which workers are awake: multi.h). */
	for (int i = 0; i < 40; i++)
		ASSERT_OK(pool_multi_submit_key(mp, (uint64_t)i, task_spin,
						NULL));
	ASSERT_OK(pool_multi_release_timeout(mp, SEC(30)));
	ASSERT_OK(pool_multi_metrics_read(mp, POOL_HIST_RUN, &h));
	ASSERT_UEQ(h.count, 40);
	need = pool_multi_metrics_format(mp, NULL, 0, l, 1);
	ASSERT_GT(need, 0);
	buf = malloc((size_t)need + 1);
	ASSERT_EQ(pool_multi_metrics_format(mp, buf, (size_t)need + 1, l, 1),
		  need);
	ASSERT(strstr(buf, "pool_tasks_completed_total{pool=\"mp\","
			   "member=\"0\",svc=\"x\"} 20\n"));
	ASSERT(strstr(buf, "pool_tasks_completed_total{pool=\"mp\","
			   "member=\"1\",svc=\"x\"} 20\n"));
	/* One HELP per family, whatever the member count. */
	ASSERT_EQ(count_substr(buf, "# HELP pool_running "), 1);
	ASSERT_EQ(count_substr(buf, "# TYPE pool_task_duration_seconds "), 1);
	ASSERT_EQ(count_substr(buf, "pool_task_duration_seconds_count{"), 2);
	free(buf);
	ASSERT_ERR(pool_multi_metrics_read(NULL, 0, &h), POOL_EINVAL);
	ASSERT_ERR(pool_multi_metrics_format(NULL, NULL, 0, NULL, 0),
		   POOL_EINVAL);
	ASSERT_OK(pool_multi_destroy(mp));
}
