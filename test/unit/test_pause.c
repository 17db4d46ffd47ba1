/* SPDX-License-Identifier: MIT */
/*
 * test_pause.c - pool_pause / pool_resume, and the start-order contract
 * (pool.h, "Ordering of task starts"). Pauses are observed through
 * pool_stats.paused_workers, never by waiting a while.
 */
#define _GNU_SOURCE
#include "test.h"

static pool_stats_t st(pool_t *p)
{
	return test_stats(p);
}

TEST(pause_bad_arguments)
{
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p;

	ASSERT_ERR(pool_pause(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_resume(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_is_paused(NULL), POOL_EINVAL);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_is_paused(p), 0);
	ASSERT_OK(pool_resume(p)); /* not paused: nothing */
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_pause(p)); /* twice: nothing more */
	ASSERT_EQ(pool_is_paused(p), 1);
	ASSERT_UEQ(st(p).paused, 1);
	ASSERT_OK(pool_resume(p));
	ASSERT_EQ(pool_is_paused(p), 0);
	ASSERT_OK(pool_release(p));
	ASSERT_ERR(pool_pause(p), POOL_ECLOSED);
	ASSERT_OK(pool_destroy(p));
}

/* The running task finishes; the queued ones wait for the resume. */
TEST(pause_stops_new_tasks)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_pause(p));
	gate_open(&g); /* the running task ends */
	WAIT_UNTIL(st(p).paused_workers == 1);
	ASSERT_EQ(counter_get(&g.passed), 1);
	ASSERT_EQ(counter_get(&c), 0);
	ASSERT_EQ(pool_queued(p), 2);
	ASSERT_EQ(pool_running(p), 0);
	/* Submits keep queueing while paused. */
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_EQ(pool_queued(p), 3);
	ASSERT_EQ(counter_get(&c), 0);
	ASSERT_OK(pool_resume(p));
	counter_wait(&c, 3);
	WAIT_UNTIL(st(p).paused_workers == 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* Paused from the start: workers that start see the pause; submits queue
 * up to the queue bound (C + Q), then POOL_EOVERLOAD. */
TEST(pause_queues_up_to_the_bound)
{
	enum { C = 2, Q = 3 };
	pool_options_t o = test_opts(C, 0, POOL_NONBLOCKING);
	struct counter c;
	pool_t *p;

	counter_init(&c);
	o.queue_limit = Q;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_pause(p));
	for (int i = 0; i < C + Q; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_ERR(pool_submit(p, task_count, &c), POOL_EOVERLOAD);
	ASSERT_UEQ(st(p).rejected_queue_limit, 1);
	WAIT_UNTIL(st(p).paused_workers == st(p).workers && st(p).workers >= 1);
	ASSERT_EQ(counter_get(&c), 0);
	ASSERT_EQ(pool_queued(p), C + Q);
	ASSERT_OK(pool_resume(p));
	counter_wait(&c, C + Q);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* A blocking submit to a paused, full pool waits until the resume. */
TEST(pause_blocking_submit_waits_for_resume)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct counter c;
	struct bg_call b;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_submit(p, task_count, &c)); /* fills the one slot */
	WAIT_UNTIL(st(p).paused_workers == 1);
	bg_start(&b, BG_SUBMIT, p, task_count, &c);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_EQ(atomic_load(&b.done), 0);
	ASSERT_OK(pool_resume(p));
	ASSERT_OK(bg_join(&b));
	counter_wait(&c, 2);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* Closing resumes: release_timeout and destroy run what was accepted. */
TEST(pause_release_runs_accepted)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter c;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_pause(p));
	for (int i = 0; i < 5; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	WAIT_UNTIL(st(p).paused_workers >= 1);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(counter_get(&c), 5);
	ASSERT_EQ(pool_is_paused(p), 0);
	ASSERT_OK(pool_reboot(p));
	ASSERT_EQ(pool_is_paused(p), 0);
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_destroy(p)); /* runs it, paused or not */
	ASSERT_EQ(counter_get(&c), 6);
	counter_destroy(&c);
}

static void count_discard(pool_task_fn fn, void *arg, void *ctx)
{
	(void)fn;
	(void)arg;
	counter_add(ctx, 1);
}

/* pool_stop of a paused pool: the queued tasks are discarded (none starts
 * after the pause), the running one finishes. */
TEST(pause_stop_discards_queued)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c, d;
	struct gate g;
	struct bg_call b;
	pool_t *p;

	counter_init(&c);
	counter_init(&d);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (int i = 0; i < 3; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_pause(p));
	gate_open(&g);
	WAIT_UNTIL(st(p).paused_workers == 1);
	b.on_discard = count_discard;
	b.ctx = &d;
	bg_start(&b, BG_STOP, p, NULL, NULL);
	ASSERT_OK(bg_join(&b));
	ASSERT_EQ(counter_get(&d), 3);
	ASSERT_EQ(counter_get(&c), 0);
	ASSERT_UEQ(st(p).discarded, 3);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
	counter_destroy(&d);
}

/* A task may pause its own pool: it runs to its end; the next waits. */
static void task_pause_self(void *arg)
{
	*(int *)arg = pool_pause(pool_self());
}

TEST(pause_from_own_task)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	int rc = 1;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_pause_self, &rc));
	ASSERT_OK(rc);
	ASSERT_OK(pool_submit(p, task_count, &c));
	WAIT_UNTIL(st(p).paused_workers == 1);
	ASSERT_EQ(counter_get(&c), 0);
	ASSERT_OK(pool_resume(p));
	counter_wait(&c, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* ---- ordering ---- */

enum { ORDER_N = 2000 };
static atomic_int order_next;
static int order_log[ORDER_N];

static void task_log(void *arg)
{
	int at = atomic_fetch_add(&order_next, 1);

	order_log[at] = (int)(intptr_t)arg;
}

/* One producer, capacity 1: tasks start in submission order. */
TEST(order_one_producer_capacity_1)
{
	pool_options_t o = test_opts(1, 4096, 0);
	pool_t *p;

	atomic_init(&order_next, 0);
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < ORDER_N; i++)
		ASSERT_OK(pool_submit(p, task_log, (void *)(intptr_t)i));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&order_next), ORDER_N);
	for (int i = 0; i < ORDER_N; i++)
		ASSERT_EQ(order_log[i], i);
	ASSERT_OK(pool_destroy(p));
}

/* Two producers, capacity 1: each producer's tasks start in its order
 * (per-producer FIFO), interleaved in any way. */
struct order_producer {
	pthread_t thread;
	pool_t *p;
	int base;
	int rc;
};

static void *order_producer_main(void *arg)
{
	struct order_producer *pr = arg;

	pr->rc = 0;
	for (int i = 0; i < ORDER_N / 2 && pr->rc == 0; i++)
		pr->rc = pool_submit(pr->p, task_log,
				     (void *)(intptr_t)(pr->base + i));
	return NULL;
}

TEST(order_two_producers_capacity_1)
{
	pool_options_t o = test_opts(1, 4096, 0);
	struct order_producer pr[2];
	struct gate g;
	int last[2] = {-1, -1};
	pool_t *p;

	gate_init(&g);
	atomic_init(&order_next, 0);
	ASSERT_OK(pool_new(&p, &o));
	/* Hold the worker so both producers' tasks are all queued. */
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (int k = 0; k < 2; k++) {
		pr[k] = (struct order_producer){.p = p, .base = k * ORDER_N};
		thread_start(&pr[k].thread, order_producer_main, &pr[k]);
	}
	for (int k = 0; k < 2; k++) {
		thread_join(pr[k].thread);
		ASSERT_OK(pr[k].rc);
	}
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&order_next), ORDER_N);
	for (int i = 0; i < ORDER_N; i++) {
		int v = order_log[i], k = v >= ORDER_N;

		ASSERT_GT(v, last[k]);
		last[k] = v;
	}
	ASSERT_EQ(last[0], ORDER_N / 2 - 1);
	ASSERT_EQ(last[1], ORDER_N + ORDER_N / 2 - 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}
