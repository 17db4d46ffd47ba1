/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - pool_stats gauges and counters; the accounting identity of
 * a quiescent pool; rejections counted by reason.
 */
#define _GNU_SOURCE
#include "test.h"

static void task_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(stats_fresh_pool)
{
	pool_options_t o = test_opts(3, 0, 0);
	pool_stats_t s;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	s = test_stats(p);
	ASSERT_UEQ(s.size, sizeof(pool_stats_t));
	ASSERT_UEQ(s.capacity, 3);
	ASSERT_UEQ(s.running, 0);
	ASSERT_UEQ(s.queued, 0);
	ASSERT_UEQ(s.waiting, 0);
	ASSERT_UEQ(s.submitted, 0);
	ASSERT_UEQ(s.completed, 0);
	ASSERT_UEQ(s.discarded, 0);
	ASSERT_UEQ(s.rejected_overload, 0);
	ASSERT_UEQ(s.rejected_closed, 0);
	ASSERT_UEQ(s.rejected_timeout, 0);
	ASSERT_UEQ(s.inline_runs, 0);
	ASSERT_UEQ(s.spawn_failed, 0);
	ASSERT_UEQ(s.expired, 0);
	ASSERT_UEQ(s.retired, 0);
	ASSERT_UEQ(s.tunes, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(stats_gauges_while_running)
{
	pool_options_t o = test_opts(2, 4, 0);
	atomic_int r = 0;
	struct gate g;
	pool_stats_t s;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 2);
	ASSERT_OK(pool_submit(p, task_flag, &r));
	ASSERT_OK(pool_submit(p, task_flag, &r));
	ASSERT_OK(pool_submit(p, task_flag, &r));
	s = test_stats(p);
	ASSERT_UEQ(s.running, 2);
	ASSERT_UEQ(s.queued, 3);
	ASSERT_UEQ(s.workers, 2);
	ASSERT_UEQ(s.idle, 0);
	ASSERT_UEQ(s.submitted, 5);
	ASSERT_UEQ(s.completed, 0);
	ASSERT_STATS_BALANCED(s);
	ASSERT_EQ(pool_running(p), 2);
	ASSERT_EQ(pool_queued(p), 3);
	ASSERT_EQ(pool_available(p), 0);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	s = test_stats(p);
	ASSERT_UEQ(s.running, 0);
	ASSERT_UEQ(s.queued, 0);
	ASSERT_UEQ(s.completed, 5);
	ASSERT_UEQ(s.workers, 0);
	ASSERT_UGE(s.spawned, 2);
	ASSERT_STATS_BALANCED(s);
	ASSERT_EQ(atomic_load(&r), 3);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(stats_rejections_by_reason)
{
	pool_options_t o = test_opts(1, 1, 0);
	atomic_int queued_ran = 0, never = 0;
	struct gate g;
	pool_stats_t s;
	pool_t *p;
	int i;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	for (i = 0; i < 3; i++)
		ASSERT_ERR(pool_try_submit(p, task_flag, &never),
			   POOL_EOVERLOAD);
	for (i = 0; i < 2; i++)
		ASSERT_ERR(pool_submit_timeout(p, task_flag, &never, MS(1)),
			   POOL_ETIMEDOUT);
	ASSERT_OK(pool_release(p));
	for (i = 0; i < 4; i++)
		ASSERT_ERR(pool_submit(p, task_flag, &never), POOL_ECLOSED);
	/* EINVAL is not a rejection of a task. */
	ASSERT_ERR(pool_submit(p, NULL, NULL), POOL_EINVAL);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	s = test_stats(p);
	ASSERT_UEQ(s.rejected_overload, 3);
	ASSERT_UEQ(s.rejected_timeout, 2);
	ASSERT_UEQ(s.rejected_closed, 4);
	ASSERT_UEQ(s.submitted, 2);
	ASSERT_UEQ(s.completed, 2);
	ASSERT_STATS_BALANCED(s);
	ASSERT_EQ(atomic_load(&never), 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* Counters add up under concurrent producers once quiescent. */
struct prod {
	pthread_t thread;
	pool_t *p;
	atomic_int *runs;
	int n;
	int ok;
	int overload;
};

static void *prod_main(void *arg)
{
	struct prod *pr = arg;
	int i, rc;

	for (i = 0; i < pr->n; i++) {
		rc = pool_try_submit(pr->p, task_flag, pr->runs);
		if (rc == 0)
			pr->ok++;
		else if (rc == POOL_EOVERLOAD)
			pr->overload++;
		else
			return NULL;
	}
	return NULL;
}

TEST(stats_balance_under_producers)
{
	enum { P = 3, N = 5000 };
	pool_options_t o = test_opts(2, 8, 0);
	struct prod pr[P];
	atomic_int runs = 0;
	long ok = 0, overload = 0;
	pool_stats_t s;
	pool_t *p;
	int i;

	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < P; i++) {
		memset(&pr[i], 0, sizeof(pr[i]));
		pr[i].p = p;
		pr[i].runs = &runs;
		pr[i].n = N;
		thread_start(&pr[i].thread, prod_main, &pr[i]);
	}
	for (i = 0; i < P; i++) {
		thread_join(pr[i].thread);
		ASSERT_EQ(pr[i].ok + pr[i].overload, N);
		ok += pr[i].ok;
		overload += pr[i].overload;
	}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	s = test_stats(p);
	ASSERT_UEQ(s.submitted, ok);
	ASSERT_UEQ(s.completed, ok);
	ASSERT_UEQ(s.rejected_overload, overload);
	ASSERT_EQ(atomic_load(&runs), ok);
	ASSERT_STATS_BALANCED(s);
	ASSERT_OK(pool_destroy(p));
}

/* Reads agree with pool_stats on a quiescent pool. */
TEST(stats_reads_agree)
{
	pool_options_t o = test_opts(2, 2, 0);
	struct gate g;
	pool_stats_t s;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	s = test_stats(p);
	ASSERT_UEQ(s.capacity, pool_cap(p));
	ASSERT_UEQ(s.running, pool_running(p));
	ASSERT_UEQ(s.queued, pool_queued(p));
	ASSERT_UEQ(s.waiting, pool_waiting(p));
	ASSERT_EQ(pool_available(p), 1);
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}
