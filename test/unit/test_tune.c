/* SPDX-License-Identifier: MIT */
/*
 * test_tune.c - pool_tune: growth wakes blocked submitters and starts queued
 * work; shrink retires surplus workers after their current task.
 */
#define _GNU_SOURCE
#include "test.h"

static void task_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(tune_changes_capacity)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_stats_t s;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_tune(p, 4));
	ASSERT_EQ(pool_cap(p), 4);
	ASSERT_EQ(pool_available(p), 4);
	ASSERT_OK(pool_tune(p, 1));
	ASSERT_EQ(pool_cap(p), 1);
	ASSERT_OK(pool_tune(p, 16));
	ASSERT_EQ(pool_cap(p), 16);
	ASSERT_OK(pool_tune(p, 3));
	s = test_stats(p);
	ASSERT_UEQ(s.capacity, 3);
	ASSERT_UEQ(s.tunes, 4);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
}

TEST(tune_up_wakes_blocked_submitter)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct bg_call b;
	atomic_int queued_ran = 0, blocked_ran = 0;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	bg_start(&b, BG_SUBMIT, p, task_flag, &blocked_ran);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_OK(pool_tune(p, 2));
	/* Growth alone must unblock it: the gate is still closed. */
	ASSERT_OK(bg_join(&b));
	ASSERT_EQ(pool_waiting(p), 0);
	ASSERT_EQ(counter_get(&g.passed), 0);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&blocked_ran), 1);
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_UEQ(test_stats(p).tunes, 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(tune_up_starts_queued_tasks)
{
	enum { N = 4 };
	pool_options_t o = test_opts(1, 0, 0);
	struct gate g;
	pool_t *p;
	int i;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_EQ(pool_queued(p), N - 1);
	ASSERT_OK(pool_tune(p, N));
	/* New workers take the queued tasks while the first still blocks. */
	gate_wait_entered(&g, N);
	ASSERT_EQ(pool_running(p), N);
	ASSERT_EQ(pool_queued(p), 0);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* Concurrency sampling. */
static atomic_int conc_now;
static atomic_int conc_max;

static void task_conc(void *arg)
{
	int now = atomic_fetch_add(&conc_now, 1) + 1;
	int max = atomic_load(&conc_max);
	int i;

	while (now > max && !atomic_compare_exchange_weak(&conc_max, &max, now))
		;
	for (i = 0; i < 20; i++)
		sched_yield();
	atomic_fetch_sub(&conc_now, 1);
	counter_add(arg, 1);
}

struct producer {
	pthread_t thread;
	pool_t *p;
	struct counter *done;
	int n;
	int failures;
};

static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	int i;

	for (i = 0; i < pr->n; i++)
		if (pool_submit(pr->p, task_conc, pr->done) != 0)
			pr->failures++;
	return NULL;
}

TEST(tune_down_retires_workers)
{
	enum { K = 4, PRODUCERS = 2, PER = 2000 };
	pool_options_t o = test_opts(K, 0, POOL_PREALLOC | POOL_DISABLE_PURGE);
	struct producer prod[PRODUCERS];
	struct counter done;
	struct gate g;
	pool_stats_t s;
	pool_t *p;
	int i;

	gate_init(&g);
	counter_init(&done);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_UEQ(test_stats(p).workers, K);
	for (i = 0; i < K; i++)
		ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, K);
	/* Shrink takes effect for new work at once. */
	ASSERT_OK(pool_tune(p, 1));
	ASSERT_EQ(pool_cap(p), 1);
	ASSERT_EQ(pool_running(p), K);
	ASSERT_EQ(pool_available(p), 1 - K);
	for (i = 0; i < PRODUCERS; i++) {
		prod[i].p = p;
		prod[i].done = &done;
		prod[i].n = PER;
		prod[i].failures = 0;
		thread_start(&prod[i].thread, producer_main, &prod[i]);
	}
	gate_open(&g);
	/* Surplus workers retire after their current task. */
	WAIT_UNTIL(test_stats(p).workers <= 1);
	for (i = 0; i < PRODUCERS; i++) {
		thread_join(prod[i].thread);
		ASSERT_EQ(prod[i].failures, 0);
	}
	counter_wait(&done, PRODUCERS * PER);
	s = test_stats(p);
	ASSERT_ULE(s.workers, 1);
	ASSERT_UGE(s.retired, K - 1);
	ASSERT_UEQ(s.tunes, 1);
	/* From now on at most one task runs at a time. */
	atomic_store(&conc_max, 0);
	for (i = 0; i < 200; i++)
		ASSERT_OK(pool_submit(p, task_conc, &done));
	counter_wait(&done, PRODUCERS * PER + 200);
	ASSERT_EQ(atomic_load(&conc_max), 1);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	s = test_stats(p);
	ASSERT_UEQ(s.completed, K + PRODUCERS * PER + 200);
	ASSERT_STATS_BALANCED(s);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&done);
	gate_destroy(&g);
}

/* Parked surplus workers are woken to exit on shrink. */
TEST(tune_down_idle_workers_exit)
{
	pool_options_t o = test_opts(4, 0, POOL_PREALLOC | POOL_DISABLE_PURGE);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_UEQ(test_stats(p).workers, 4);
	ASSERT_OK(pool_tune(p, 2));
	WAIT_UNTIL(test_stats(p).workers <= 2);
	/* A retiring worker gives its slot back (workers drops) before it
	 * counts itself in retired, on its way out (worker_exit): wait for
	 * both, then check that exactly two retired. */
	WAIT_UNTIL(test_stats(p).retired >= 2);
	ASSERT_UEQ(test_stats(p).workers, 2);
	ASSERT_UEQ(test_stats(p).retired, 2);
	ASSERT_UEQ(test_stats(p).expired, 0);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
}

/* Tune from several threads while producers submit: nothing lost, no hang. */
struct tuner {
	pthread_t thread;
	pool_t *p;
	atomic_int *stop;
	long ok;
	int failures;
};

static void *tuner_main(void *arg)
{
	struct tuner *t = arg;
	int c = 1;

	while (!atomic_load(t->stop)) {
		if (pool_tune(t->p, c) == 0)
			t->ok++;
		else
			t->failures++;
		c = c % 4 + 1;
		sched_yield();
	}
	return NULL;
}

TEST(tune_under_load)
{
	enum { PRODUCERS = 2, PER = 3000 };
	pool_options_t o = test_opts(2, 4, 0);
	struct producer prod[PRODUCERS];
	struct tuner tn[2];
	atomic_int stop = 0;
	struct counter done;
	pool_stats_t s;
	pool_t *p;
	int i;

	counter_init(&done);
	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < 2; i++) {
		tn[i].p = p;
		tn[i].stop = &stop;
		tn[i].ok = 0;
		tn[i].failures = 0;
		thread_start(&tn[i].thread, tuner_main, &tn[i]);
	}
	for (i = 0; i < PRODUCERS; i++) {
		prod[i].p = p;
		prod[i].done = &done;
		prod[i].n = PER;
		prod[i].failures = 0;
		thread_start(&prod[i].thread, producer_main, &prod[i]);
	}
	for (i = 0; i < PRODUCERS; i++) {
		thread_join(prod[i].thread);
		ASSERT_EQ(prod[i].failures, 0);
	}
	counter_wait(&done, PRODUCERS * PER);
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++) {
		thread_join(tn[i].thread);
		ASSERT_EQ(tn[i].failures, 0);
	}
	ASSERT_LE(atomic_load(&conc_max), 4);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	s = test_stats(p);
	ASSERT_UEQ(s.completed, PRODUCERS * PER);
	ASSERT_UEQ(s.tunes, tn[0].ok + tn[1].ok);
	ASSERT_STATS_BALANCED(s);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&done);
}

TEST(tune_closed)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_release(p));
	ASSERT_ERR(pool_tune(p, 3), POOL_ECLOSED);
	ASSERT_EQ(pool_cap(p), 2);
	ASSERT_UEQ(test_stats(p).tunes, 0);
	ASSERT_OK(pool_destroy(p));
}
