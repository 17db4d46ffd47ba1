/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c - release, release_timeout, stop, reboot, destroy, and
 * the calls that would wait on themselves from inside a task.
 */
#define _GNU_SOURCE
#include "test.h"

static void task_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(release_wakes_blocked_submitters)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct bg_call b1, b2, b3;
	atomic_int queued_ran = 0, blocked_ran = 0;
	pool_stats_t s;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	bg_start(&b1, BG_SUBMIT, p, task_flag, &blocked_ran);
	b2.timeout_ns = SEC(60);
	bg_start(&b2, BG_SUBMIT_TIMEOUT, p, task_flag, &blocked_ran);
	bg_start(&b3, BG_SUBMIT_WAIT, p, task_flag, &blocked_ran);
	WAIT_UNTIL(pool_waiting(p) == 3);
	ASSERT_EQ(pool_is_closed(p), 0);
	/* Release does not wait for the task stuck on the gate. */
	ASSERT_OK(pool_release(p));
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_ERR(bg_join(&b1), POOL_ECLOSED);
	ASSERT_ERR(bg_join(&b2), POOL_ECLOSED);
	ASSERT_ERR(bg_join(&b3), POOL_ECLOSED);
	ASSERT_EQ(pool_waiting(p), 0);
	ASSERT_EQ(counter_get(&g.passed), 0);
	/* Later submits of every kind are refused. */
	ASSERT_ERR(pool_submit(p, task_flag, &blocked_ran), POOL_ECLOSED);
	ASSERT_ERR(pool_try_submit(p, task_flag, &blocked_ran), POOL_ECLOSED);
	ASSERT_ERR(pool_submit_timeout(p, task_flag, &blocked_ran, MS(1)),
		   POOL_ECLOSED);
	ASSERT_ERR(pool_submit_wait(p, task_flag, &blocked_ran), POOL_ECLOSED);
	ASSERT_ERR(pool_tune(p, 2), POOL_ECLOSED);
	ASSERT_EQ(pool_cap(p), 1);
	/* Release again is fine. */
	ASSERT_OK(pool_release(p));
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_EQ(atomic_load(&blocked_ran), 0);
	s = test_stats(p);
	ASSERT_UEQ(s.rejected_closed, 7);
	ASSERT_UEQ(s.submitted, 2);
	ASSERT_UEQ(s.completed, 2);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(submit_after_release_closed)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_task_t t = {task_flag, NULL};
	atomic_int r = 0;
	size_t accepted = 99;
	pool_t *p;

	t.arg = &r;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_release(p));
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_ERR(pool_submit(p, task_flag, &r), POOL_ECLOSED);
	ASSERT_ERR(pool_submit_batch(p, &t, 1, &accepted), POOL_ECLOSED);
	ASSERT_EQ(accepted, 0);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&r), 0);
	ASSERT_UEQ(test_stats(p).rejected_closed, 2);
	ASSERT_OK(pool_destroy(p));
}

TEST(release_runs_accepted_tasks)
{
	enum { N = 100 };
	pool_options_t o = test_opts(2, 0, 0);
	struct gate g;
	struct counter c;
	pool_t *p;
	int i;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 2);
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_release(p));
	ASSERT_EQ(counter_get(&c), 0);
	gate_open(&g);
	/* Every task accepted before the release runs. */
	counter_wait(&c, N);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(counter_get(&c), N);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
	gate_destroy(&g);
}

/* Plain ints: the return of every task happens-before a 0 return. */
static void task_plain_inc(void *arg)
{
	int *slot = arg;

	*slot += 1;
}

TEST(release_timeout_drains)
{
	enum { N = 1000 };
	pool_options_t o = test_opts(3, 0, 0);
	static int slots[N];
	pool_stats_t s;
	pool_t *p;
	int i;

	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_plain_inc, &slots[i]));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (i = 0; i < N; i++)
		ASSERT_EQ(slots[i], 1);
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_EQ(pool_running(p), 0);
	ASSERT_EQ(pool_queued(p), 0);
	s = test_stats(p);
	ASSERT_UEQ(s.submitted, N);
	ASSERT_UEQ(s.completed, N);
	ASSERT_UEQ(s.workers, 0);
	ASSERT_UEQ(s.idle, 0);
	ASSERT_STATS_BALANCED(s);
	/* Again on a drained pool: 0 at once. */
	ASSERT_OK(pool_release_timeout(p, 0));
	ASSERT_OK(pool_destroy(p));
}

TEST(release_timeout_stuck_task)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct gate g;
	atomic_int r = 0;
	pool_t *p;
	int64_t t0;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_submit(p, task_flag, &r));
	t0 = test_now_ns();
	ASSERT_ERR(pool_release_timeout(p, MS(50)), POOL_ETIMEDOUT);
	ASSERT_GE(test_now_ns() - t0, MS(50));
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_ERR(pool_submit(p, task_flag, &r), POOL_ECLOSED);
	ASSERT_ERR(pool_reboot(p), POOL_EBUSY);
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_ERR(pool_release_timeout(p, 0), POOL_ETIMEDOUT);
	/* The stuck task is still there and its pool still works. */
	ASSERT_EQ(pool_running(p), 1);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(counter_get(&g.passed), 1);
	ASSERT_EQ(atomic_load(&r), 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* Timeout then destroy directly: destroy waits for the stuck task. */
TEST(release_timeout_then_destroy)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct gate g;
	struct bg_call d;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_ERR(pool_release_timeout(p, MS(5)), POOL_ETIMEDOUT);
	bg_start(&d, BG_DESTROY, p, NULL, NULL);
	gate_open(&g);
	ASSERT_OK(bg_join(&d));
	ASSERT_EQ(counter_get(&g.passed), 1);
	gate_destroy(&g);
}

TEST(destroy_waits_for_tasks)
{
	enum { N = 500 };
	pool_options_t o = test_opts(2, 0, 0);
	static int slots[N];
	pool_t *p;
	int i;

	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_plain_inc, &slots[i]));
	ASSERT_OK(pool_destroy(p));
	for (i = 0; i < N; i++)
		ASSERT_EQ(slots[i], 1);
}

TEST(destroy_idle_and_fresh_pools)
{
	pool_options_t o = test_opts(4, 0, POOL_PREALLOC);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_destroy(p));
	o.flags = 0;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_destroy(p));
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_release(p));
	ASSERT_OK(pool_destroy(p));
}

/* Submitters blocked when destroy starts return POOL_ECLOSED before destroy
 * frees anything (destroy itself waits for the gated task). */
TEST(destroy_wakes_blocked_submitters)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct bg_call b, d;
	atomic_int queued_ran = 0, blocked_ran = 0;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	bg_start(&b, BG_SUBMIT, p, task_flag, &blocked_ran);
	WAIT_UNTIL(pool_waiting(p) == 1);
	bg_start(&d, BG_DESTROY, p, NULL, NULL);
	ASSERT_ERR(bg_join(&b), POOL_ECLOSED);
	ASSERT_EQ(atomic_load(&d.done), 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&d));
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_EQ(atomic_load(&blocked_ran), 0);
	gate_destroy(&g);
}

/* pool_stop. */
struct discards {
	pthread_t caller;
	int wrong_thread;
	int wrong_fn;
	int wrong_ctx;
	atomic_int per_task[16];
	struct counter count;
};

static struct discards dis;

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	atomic_int *slot = arg;

	if (!pthread_equal(pthread_self(), dis.caller))
		dis.wrong_thread++;
	if (fn != task_flag)
		dis.wrong_fn++;
	if (ctx != &dis)
		dis.wrong_ctx++;
	atomic_fetch_add(&dis.per_task[slot - dis.per_task], 1);
	counter_add(&dis.count, 1);
}

struct stop_call {
	pthread_t thread;
	pool_t *p;
	pool_discard_fn cb;
	int rc;
};

static void *stop_main(void *arg)
{
	struct stop_call *s = arg;

	dis.caller = pthread_self();
	s->rc = pool_stop(s->p, s->cb, &dis);
	return NULL;
}

TEST(stop_discards_queued)
{
	enum { Q = 5 };
	pool_options_t o = test_opts(1, 8, 0);
	atomic_int runs[Q];
	struct stop_call sc;
	struct gate g;
	pool_stats_t s;
	pool_t *p;
	int i;

	memset(&dis, 0, sizeof(dis));
	counter_init(&dis.count);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (i = 0; i < Q; i++) {
		atomic_init(&runs[i], 0);
		/* The discard callback gets arg: point it into dis. */
		ASSERT_OK(pool_submit(p, task_flag, &dis.per_task[i]));
	}
	ASSERT_EQ(pool_queued(p), Q);
	sc.p = p;
	sc.cb = on_discard;
	sc.rc = 1;
	thread_start(&sc.thread, stop_main, &sc);
	/* Stop discards the queue first, then waits for the running task. */
	counter_wait(&dis.count, Q);
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_EQ(pool_queued(p), 0);
	ASSERT_ERR(pool_submit(p, task_flag, &runs[0]), POOL_ECLOSED);
	gate_open(&g);
	thread_join(sc.thread);
	ASSERT_OK(sc.rc);
	ASSERT_EQ(counter_get(&g.passed), 1);
	ASSERT_EQ(counter_get(&dis.count), Q);
	for (i = 0; i < Q; i++)
		ASSERT_EQ(atomic_load(&dis.per_task[i]), 1);
	ASSERT_EQ(atomic_load(&runs[0]), 0);
	ASSERT_EQ(dis.wrong_fn, 0);
	ASSERT_EQ(dis.wrong_ctx, 0);
	ASSERT_EQ(dis.wrong_thread, 0);
	s = test_stats(p);
	ASSERT_UEQ(s.discarded, Q);
	ASSERT_UEQ(s.completed, 1);
	ASSERT_UEQ(s.submitted, 1 + Q);
	ASSERT_UEQ(s.workers, 0);
	ASSERT_STATS_BALANCED(s);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&dis.count);
}

TEST(stop_null_callback)
{
	enum { Q = 4 };
	pool_options_t o = test_opts(1, 8, 0);
	atomic_int runs = 0;
	struct bg_call sc;
	struct gate g;
	pool_stats_t s;
	pool_t *p;
	int i;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (i = 0; i < Q; i++)
		ASSERT_OK(pool_submit(p, task_flag, &runs));
	sc.on_discard = NULL;
	sc.ctx = NULL;
	bg_start(&sc, BG_STOP, p, NULL, NULL);
	/* Discarding comes before waiting for the running task. */
	WAIT_UNTIL(test_stats(p).discarded == Q);
	ASSERT_EQ(atomic_load(&sc.done), 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&sc));
	ASSERT_EQ(atomic_load(&runs), 0);
	s = test_stats(p);
	ASSERT_UEQ(s.discarded, Q);
	ASSERT_UEQ(s.completed, 1);
	ASSERT_STATS_BALANCED(s);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(stop_idle_pool)
{
	pool_options_t o = test_opts(2, 0, POOL_PREALLOC);
	atomic_int r = 0;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_UEQ(test_stats(p).workers, 0);
	ASSERT_UEQ(test_stats(p).discarded, 0);
	/* Stop on a stopped pool is fine. */
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_OK(pool_destroy(p));
}

/* A pool_submit_wait whose task is discarded returns POOL_ECLOSED and the
 * task is not passed to the discard callback. */
TEST(stop_discards_submit_wait)
{
	pool_options_t o = test_opts(1, 4, 0);
	atomic_int waited_ran = 0;
	struct bg_call w, sc;
	struct gate g;
	pool_t *p;

	memset(&dis, 0, sizeof(dis));
	counter_init(&dis.count);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	bg_start(&w, BG_SUBMIT_WAIT, p, task_flag, &waited_ran);
	WAIT_UNTIL(pool_queued(p) == 1);
	sc.on_discard = on_discard;
	sc.ctx = &dis;
	bg_start(&sc, BG_STOP, p, NULL, NULL);
	ASSERT_ERR(bg_join(&w), POOL_ECLOSED);
	ASSERT_EQ(atomic_load(&sc.done), 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&sc));
	ASSERT_EQ(atomic_load(&waited_ran), 0);
	ASSERT_EQ(counter_get(&dis.count), 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&dis.count);
}

/* pool_reboot. */
TEST(reboot_open_pool)
{
	pool_options_t o = test_opts(1, 0, 0);
	atomic_int r = 0;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_reboot(p));
	ASSERT_EQ(pool_is_closed(p), 0);
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_EQ(atomic_load(&r), 1);
	ASSERT_OK(pool_destroy(p));
}

TEST(reboot_after_drain)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter c;
	int round, i;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 50; i++)
			ASSERT_OK(pool_submit(p, task_count, &c));
		ASSERT_OK(pool_release_timeout(p, SEC(30)));
		ASSERT_EQ(counter_get(&c), 50 * (round + 1));
		ASSERT_EQ(pool_is_closed(p), 1);
		ASSERT_ERR(pool_submit(p, task_count, &c), POOL_ECLOSED);
		ASSERT_OK(pool_reboot(p));
		ASSERT_EQ(pool_is_closed(p), 0);
		ASSERT_EQ(pool_cap(p), 2);
	}
	ASSERT_OK(pool_submit_wait(p, task_count, &c));
	ASSERT_EQ(counter_get(&c), 251);
	ASSERT_UEQ(test_stats(p).submitted, 251);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

TEST(reboot_not_drained_busy)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct gate g;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_release(p));
	ASSERT_ERR(pool_reboot(p), POOL_EBUSY);
	ASSERT_EQ(pool_is_closed(p), 1);
	ASSERT_ERR(pool_submit(p, task_nop, NULL), POOL_ECLOSED);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(pool_reboot(p));
	ASSERT_EQ(pool_is_closed(p), 0);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(reboot_after_stop)
{
	pool_options_t o = test_opts(2, 0, 0);
	atomic_int r = 0;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_OK(pool_reboot(p));
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_EQ(atomic_load(&r), 2);
	ASSERT_OK(pool_destroy(p));
}

/* Calls from inside a task of the same pool. */
struct inside {
	pool_t *p;
	int rc_destroy;
	int closed_after_destroy;
	int rc_release_timeout;
	int rc_stop;
	int rc_tune;
	int rc_release;
	int closed_after_release;
	int rc_reboot;
	int rc_submit_after_release;
};

static void task_wait_on_self(void *arg)
{
	struct inside *in = arg;

	in->rc_destroy = pool_destroy(in->p);
	in->closed_after_destroy = pool_is_closed(in->p);
	in->rc_release_timeout = pool_release_timeout(in->p, MS(1));
	in->rc_stop = pool_stop(in->p, NULL, NULL);
	in->rc_tune = pool_tune(in->p, 3);
}

TEST(calls_inside_task_edeadlk)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct inside in;
	pool_t *p;

	memset(&in, 0x7f, sizeof(in));
	ASSERT_OK(pool_new(&p, &o));
	in.p = p;
	ASSERT_OK(pool_submit_wait(p, task_wait_on_self, &in));
	ASSERT_ERR(in.rc_destroy, POOL_EDEADLK);
	ASSERT_EQ(in.closed_after_destroy, 0);
	ASSERT_ERR(in.rc_release_timeout, POOL_EDEADLK);
	ASSERT_ERR(in.rc_stop, POOL_EDEADLK);
	ASSERT_OK(in.rc_tune);
	ASSERT_EQ(pool_cap(p), 3);
	ASSERT_OK(pool_destroy(p));
}

/* The same calls on a different pool from inside a task are not EDEADLK. */
struct two {
	pool_t *other;
	int rc_release_timeout;
	int rc_destroy;
};

static void task_destroy_other(void *arg)
{
	struct two *t = arg;

	t->rc_release_timeout = pool_release_timeout(t->other, SEC(30));
	t->rc_destroy = pool_destroy(t->other);
}

TEST(destroy_other_pool_inside_task)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct two t;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_new(&t.other, &o));
	ASSERT_OK(pool_submit_wait(t.other, task_nop, NULL));
	ASSERT_OK(pool_submit_wait(p, task_destroy_other, &t));
	ASSERT_OK(t.rc_release_timeout);
	ASSERT_OK(t.rc_destroy);
	ASSERT_OK(pool_destroy(p));
}

static void task_release_inside(void *arg)
{
	struct inside *in = arg;

	in->rc_release = pool_release(in->p);
	in->closed_after_release = pool_is_closed(in->p);
	in->rc_submit_after_release = pool_submit(in->p, task_nop, NULL);
	/* This very task still runs: the pool is not drained. */
	in->rc_reboot = pool_reboot(in->p);
}

TEST(release_inside_task)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct inside in;
	pool_t *p;

	memset(&in, 0x7f, sizeof(in));
	ASSERT_OK(pool_new(&p, &o));
	in.p = p;
	ASSERT_OK(pool_submit(p, task_release_inside, &in));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(in.rc_release);
	ASSERT_EQ(in.closed_after_release, 1);
	ASSERT_ERR(in.rc_submit_after_release, POOL_ECLOSED);
	ASSERT_ERR(in.rc_reboot, POOL_EBUSY);
	ASSERT_OK(pool_reboot(p));
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
}
