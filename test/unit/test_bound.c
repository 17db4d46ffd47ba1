/* SPDX-License-Identifier: MIT */
/*
 * test_bound.c - the queue bound (pool_set_queue_limit, options.queue_limit)
 * and ants' zero-queue mode, in every submit flavour; the exact C + Q rule
 * under concurrent submitters; rejections by reason; runtime changes.
 *
 * Every case holds its workers on a gate, so no counted task ends while the
 * case counts: the counts are exact, not timing-dependent.
 */
#define _GNU_SOURCE
#include "test.h"

#include <pool/multi.h>

static pool_options_t bound_opts(int capacity, int64_t q, unsigned flags)
{
	pool_options_t o = test_opts(capacity, 0, flags);

	o.queue_limit = q;
	return o;
}

/* Hold `cap` workers on g (each running one gate task). */
TEST(bound_default_unbounded)
{
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_queue_limit(p), 0);
	ASSERT_EQ(test_stats(p).queue_limit, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(bound_bad_arguments)
{
	pool_options_t o = bound_opts(1, -2, 0);
	pool_t *p = NULL;

	ASSERT_ERR(pool_new(&p, &o), POOL_EINVAL);
	o.queue_limit = POOL_QUEUE_MAX + 1;
	ASSERT_ERR(pool_new(&p, &o), POOL_EINVAL);
	o.queue_limit = POOL_QUEUE_MAX;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_queue_limit(p), POOL_QUEUE_MAX);
	ASSERT_ERR(pool_set_queue_limit(NULL, 1), POOL_EINVAL);
	ASSERT_ERR(pool_set_queue_limit(p, -2), POOL_EINVAL);
	ASSERT_ERR(pool_set_queue_limit(p, POOL_QUEUE_MAX + 1), POOL_EINVAL);
	ASSERT_EQ(pool_queue_limit(p), POOL_QUEUE_MAX); /* unchanged */
	ASSERT_EQ(pool_queue_limit(NULL), POOL_EINVAL);
	ASSERT_OK(pool_release(p));
	ASSERT_ERR(pool_set_queue_limit(p, 1), POOL_ECLOSED);
	ASSERT_OK(pool_destroy(p));
}

/* Capacity C, bound Q: C + Q accepted, then POOL_EOVERLOAD, once a task
 * ends one more. */
TEST(bound_nonblocking_accepts_c_plus_q)
{
	enum { C = 2, Q = 3 };
	pool_options_t o = bound_opts(C, Q, POOL_NONBLOCKING);
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, C);
	for (int i = 0; i < Q; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_ERR(pool_submit(p, task_count, &c), POOL_EOVERLOAD);
	ASSERT_ERR(pool_try_submit(p, task_count, &c), POOL_EOVERLOAD);
	ASSERT_ERR(pool_submit_copy(p, task_nop, "x", 1), POOL_EOVERLOAD);
	ASSERT_EQ(pool_queued(p), Q);
	{
		pool_stats_t s = test_stats(p);

		ASSERT_UEQ(s.rejected_queue_limit, 3);
		ASSERT_UEQ(s.rejected_overload, 3);
		ASSERT_UEQ(s.bounded_inflight, C + Q);
		ASSERT_EQ(s.queue_limit, Q);
	}
	gate_open(&g);
	counter_wait(&c, Q);
	WAIT_UNTIL(test_stats(p).bounded_inflight == 0);
	/* Places are back: C + Q again. */
	ASSERT_OK(pool_submit(p, task_count, &c));
	counter_wait(&c, Q + 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* ants' mode: accepted only while a worker takes it at once. */
TEST(bound_zero_queue)
{
	enum { C = 2 };
	pool_options_t o = bound_opts(C, POOL_QUEUE_NONE, 0);
	struct gate g;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_queue_limit(p), POOL_QUEUE_NONE);
	/* Two startable workers: both accepted at once. */
	test_hold_workers(p, &g, C);
	ASSERT_ERR(pool_try_submit(p, task_nop, NULL), POOL_EOVERLOAD);
	ASSERT_ERR(pool_submit_timeout(p, task_nop, NULL, MS(1)),
		   POOL_ETIMEDOUT);
	ASSERT_EQ(pool_queued(p), 0);
	ASSERT_UEQ(test_stats(p).rejected_queue_limit, 1);
	ASSERT_UEQ(test_stats(p).rejected_timeout, 1);
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* A blocking submit at the bound waits until a task ends. */
TEST(bound_blocking_waits_for_a_place)
{
	pool_options_t o = bound_opts(1, POOL_QUEUE_NONE, 0);
	struct counter c;
	struct gate g;
	struct bg_call b;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, 1);
	bg_start(&b, BG_SUBMIT, p, task_count, &c);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_EQ(atomic_load(&b.done), 0);
	ASSERT_EQ(pool_queued(p), 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&b));
	counter_wait(&c, 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* pool_submit_wait and pool_invoke honour the bound. */
TEST(bound_submit_wait_and_invoke)
{
	pool_options_t o = bound_opts(1, 1, POOL_NONBLOCKING);
	struct counter c;
	struct gate g;
	pool_t *p, *f;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, 1);
	ASSERT_OK(pool_submit(p, task_count, &c)); /* the one queued place */
	ASSERT_ERR(pool_submit_wait(p, task_count, &c), POOL_EOVERLOAD);
	gate_open(&g);
	counter_wait(&c, 1);
	ASSERT_OK(pool_submit_wait(p, task_count, &c));
	ASSERT_EQ(counter_get(&c), 2);
	ASSERT_OK(pool_destroy(p));

	gate_init(&g);
	ASSERT_OK(pool_new_func(&f, task_gate, &o));
	ASSERT_OK(pool_invoke(f, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_invoke(f, &g));
	ASSERT_ERR(pool_invoke(f, &g), POOL_EOVERLOAD);
	ASSERT_UEQ(test_stats(f).rejected_queue_limit, 1);
	gate_open(&g);
	ASSERT_OK(pool_destroy(f));
	ASSERT_EQ(counter_get(&g.passed), 2);
	gate_destroy(&g);
	counter_destroy(&c);
}

/* A batch takes as many places as are left, in order. */
TEST(bound_batch_prefix)
{
	enum { C = 1, Q = 3, N = 8 };
	pool_options_t o = bound_opts(C, Q, POOL_NONBLOCKING);
	pool_task_t tasks[N];
	struct counter c;
	struct gate g;
	size_t accepted = 99;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	for (int i = 0; i < N; i++)
		tasks[i] = (pool_task_t){task_count, &c};
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, C);
	ASSERT_ERR(pool_submit_batch(p, tasks, N, &accepted), POOL_EOVERLOAD);
	ASSERT_EQ(accepted, Q);
	ASSERT_EQ(pool_queued(p), Q);
	ASSERT_UEQ(test_stats(p).bounded_inflight, C + Q);
	gate_open(&g);
	counter_wait(&c, Q);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), Q);
	gate_destroy(&g);
	counter_destroy(&c);
}

/* A blocking batch at the bound waits for places and accepts everything. */
TEST(bound_batch_blocks)
{
	enum { N = 6 };
	pool_options_t o = bound_opts(1, POOL_QUEUE_NONE, 0);
	pool_task_t tasks[N];
	struct counter c;
	size_t accepted = 0;
	pool_t *p;

	counter_init(&c);
	for (int i = 0; i < N; i++)
		tasks[i] = (pool_task_t){task_count, &c};
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_batch(p, tasks, N, &accepted));
	ASSERT_EQ(accepted, N);
	counter_wait(&c, N);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* max_blocking rejections are counted by reason. */
TEST(bound_max_blocking_reason)
{
	pool_options_t o = bound_opts(1, POOL_QUEUE_NONE, 0);
	struct gate g;
	struct bg_call b;
	pool_t *p;

	gate_init(&g);
	o.max_blocking = 1;
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, 1);
	bg_start(&b, BG_SUBMIT, p, task_nop, NULL);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_ERR(pool_submit(p, task_nop, NULL), POOL_EOVERLOAD);
	ASSERT_UEQ(test_stats(p).rejected_max_blocking, 1);
	ASSERT_UEQ(test_stats(p).rejected_queue_limit, 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&b));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* Exact under concurrent submitters: T threads try as hard as they can;
 * exactly C + Q are accepted. */
struct racer {
	pthread_t thread;
	pool_t *p;
	struct gate *g;
	atomic_int *go;
	int accepted;
	int other;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(r->go))
		sched_yield();
	for (int i = 0; i < 200; i++) {
		int rc = pool_try_submit(r->p, task_gate, r->g);

		if (rc == 0)
			r->accepted++;
		else if (rc != POOL_EOVERLOAD)
			r->other++;
	}
	return NULL;
}

TEST(bound_exact_under_concurrency)
{
	enum { C = 2, Q = 5, T = 4 };
	pool_options_t o = bound_opts(C, Q, 0);
	struct racer r[T];
	struct gate g;
	atomic_int go;
	pool_t *p;
	int total = 0;

	gate_init(&g);
	atomic_init(&go, 0);
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < T; i++) {
		r[i] = (struct racer){.p = p, .g = &g, .go = &go};
		thread_start(&r[i].thread, racer_main, &r[i]);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < T; i++) {
		thread_join(r[i].thread);
		ASSERT_EQ(r[i].other, 0);
		total += r[i].accepted;
	}
	ASSERT_EQ(total, C + Q);
	ASSERT_UEQ(test_stats(p).bounded_inflight, C + Q);
	ASSERT_UEQ(test_stats(p).rejected_queue_limit, T * 200 - (C + Q));
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&g.passed), C + Q);
	gate_destroy(&g);
}

/* Runtime changes: set, lower below the count, raise (wakes a blocked
 * submitter), remove; tasks accepted unbounded do not count. */
TEST(bound_runtime_change)
{
	enum { C = 1 };
	pool_options_t o = test_opts(C, 0, 0);
	struct counter c;
	struct gate g;
	struct bg_call b;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, C); /* accepted unbounded: not counted */
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_set_queue_limit(p, 2));
	ASSERT_EQ(pool_queue_limit(p), 2);
	ASSERT_UEQ(test_stats(p).bounded_inflight, 0);
	/* C + Q = 3 places, none used yet. */
	for (int i = 0; i < 3; i++)
		ASSERT_OK(pool_try_submit(p, task_count, &c));
	ASSERT_ERR(pool_try_submit(p, task_count, &c), POOL_EOVERLOAD);
	/* Lower below the count: nothing dropped, submits refused. */
	ASSERT_OK(pool_set_queue_limit(p, POOL_QUEUE_NONE));
	ASSERT_EQ(pool_queued(p), 4);
	ASSERT_ERR(pool_try_submit(p, task_count, &c), POOL_EOVERLOAD);
	/* A blocked submitter is let in by raising the bound. */
	bg_start(&b, BG_SUBMIT, p, task_count, &c);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_OK(pool_set_queue_limit(p, 3));
	ASSERT_OK(bg_join(&b));
	ASSERT_UEQ(test_stats(p).bounded_inflight, 4);
	/* Removed: anything goes (up to the rings). */
	ASSERT_OK(pool_set_queue_limit(p, 0));
	for (int i = 0; i < 10; i++)
		ASSERT_OK(pool_try_submit(p, task_count, &c));
	gate_open(&g);
	counter_wait(&c, 15);
	/* Counted tasks gave their places back after the bound went. */
	WAIT_UNTIL(test_stats(p).bounded_inflight == 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* pool_stop gives the places of discarded tasks back. */
static void count_discard(pool_task_fn fn, void *arg, void *ctx)
{
	(void)fn;
	(void)arg;
	counter_add(ctx, 1);
}

TEST(bound_stop_releases_places)
{
	pool_options_t o = bound_opts(1, 2, POOL_NONBLOCKING);
	struct counter d;
	struct gate g;
	struct bg_call b;
	pool_t *p;

	counter_init(&d);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, 1);
	ASSERT_OK(pool_submit(p, task_nop, NULL));
	ASSERT_OK(pool_submit(p, task_nop, NULL));
	b.on_discard = count_discard;
	b.ctx = &d;
	bg_start(&b, BG_STOP, p, NULL, NULL);
	counter_wait(&d, 2);
	/* Only the running task holds a place now. */
	ASSERT_UEQ(test_stats(p).bounded_inflight, 1);
	gate_open(&g);
	ASSERT_OK(bg_join(&b));
	ASSERT_UEQ(test_stats(p).bounded_inflight, 0);
	ASSERT_OK(pool_reboot(p));
	ASSERT_OK(pool_submit(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&d);
}

/* pool_tune moves the limit with the capacity. */
TEST(bound_follows_tune)
{
	pool_options_t o = bound_opts(1, POOL_QUEUE_NONE, POOL_NONBLOCKING);
	struct gate g;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_hold_workers(p, &g, 1);
	ASSERT_ERR(pool_submit(p, task_gate, &g), POOL_EOVERLOAD);
	ASSERT_OK(pool_tune(p, 2));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 2);
	ASSERT_ERR(pool_submit(p, task_gate, &g), POOL_EOVERLOAD);
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* From inside a task, a blocking submit at the bound runs inline. */
struct inner {
	pool_t *p;
	struct counter *c;
	int rc;
};

static void task_submit_inner(void *arg)
{
	struct inner *in = arg;

	in->rc = pool_submit(in->p, task_count, in->c);
}

TEST(bound_inline_from_own_task)
{
	pool_options_t o = bound_opts(1, POOL_QUEUE_NONE, 0);
	struct counter c;
	struct inner in;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	in = (struct inner){.p = p, .c = &c, .rc = 1};
	ASSERT_OK(pool_submit_wait(p, task_submit_inner, &in));
	ASSERT_OK(in.rc);
	ASSERT_EQ(counter_get(&c), 1);
	ASSERT_UEQ(test_stats(p).inline_runs, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* The multi-pool: members honour the bound; round-robin's overload retry
 * spills to the member with a free place. */
TEST(bound_multi_pool)
{
	pool_options_t o = bound_opts(1, POOL_QUEUE_NONE, POOL_NONBLOCKING);
	pool_stats_t s = POOL_STATS_INIT;
	struct gate g;
	pool_multi_t *m;

	gate_init(&g);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	gate_wait_entered(&g, 1);
	/* Whichever member round-robin picks, the task lands on member 1. */
	ASSERT_OK(pool_multi_try_submit(m, task_gate, &g));
	gate_wait_entered(&g, 2);
	ASSERT_ERR(pool_multi_try_submit(m, task_gate, &g), POOL_EOVERLOAD);
	ASSERT_ERR(pool_multi_submit_key(m, 1, task_gate, &g), POOL_EOVERLOAD);
	ASSERT_OK(pool_multi_stats(m, &s));
	ASSERT_EQ(s.queue_limit, POOL_QUEUE_NONE);
	gate_open(&g);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&g.passed), 2);
	gate_destroy(&g);
}

/* pool_multi_stats: queue_limit is the total bound (not a sum of codes). */
TEST(bound_multi_stats_total)
{
	pool_options_t o = bound_opts(1, 3, POOL_NONBLOCKING);
	pool_stats_t s = POOL_STATS_INIT;
	pool_multi_t *m;

	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_stats(m, &s));
	ASSERT_EQ(s.queue_limit, 6);
	ASSERT_OK(pool_multi_destroy(m));
	o = bound_opts(1, 0, POOL_NONBLOCKING);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_stats(m, &s));
	ASSERT_EQ(s.queue_limit, 0);
	ASSERT_OK(pool_multi_destroy(m));
}
