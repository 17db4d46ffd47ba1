/* SPDX-License-Identifier: MIT */
/*
 * test_expiry.c - idle workers expire after expiry_ns; POOL_DISABLE_PURGE
 * keeps them; POOL_PREALLOC spawns every worker in pool_new; otherwise
 * workers start lazily.
 */
#define _GNU_SOURCE
#include "test.h"

static void task_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(expiry_idle_workers_exit)
{
	enum { K = 3 };
	pool_options_t o = test_opts(K, 0, 0);
	struct gate g;
	atomic_int r = 0;
	pool_stats_t s;
	pool_t *p;
	int i;

	o.expiry_ns = MS(20);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < K; i++)
		ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, K);
	ASSERT_UEQ(test_stats(p).workers, K);
	gate_open(&g);
	WAIT_UNTIL(test_stats(p).workers == 0);
	s = test_stats(p);
	ASSERT_UEQ(s.expired, K);
	ASSERT_UEQ(s.spawned, K);
	ASSERT_UEQ(s.idle, 0);
	ASSERT_UEQ(s.retired, 0);
	/* A later submit spawns a worker again and runs. */
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_EQ(atomic_load(&r), 1);
	ASSERT_UGE(test_stats(p).spawned, K + 1);
	WAIT_UNTIL(test_stats(p).workers == 0);
	ASSERT_OK(pool_submit(p, task_flag, &r));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&r), 2);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* Expiry is a lower bound: a worker never leaves before expiry_ns idle. */
/* Stamps the time the task ends: the worker goes idle after that. */
static void task_stamp(void *arg)
{
	*(int64_t *)arg = test_now_ns();
}

TEST(expiry_not_before_deadline)
{
	pool_options_t o = test_opts(1, 0, 0);
	int64_t t_done = 0, t_gone;
	pool_t *p;

	o.expiry_ns = MS(100);
	ASSERT_OK(pool_new(&p, &o));
	/* The idle period starts when the task returns, not when the waiter
	 * wakes (that can be later on a loaded machine). */
	ASSERT_OK(pool_submit_wait(p, task_stamp, &t_done));
	WAIT_UNTIL(test_stats(p).workers == 0);
	t_gone = test_now_ns();
	ASSERT_GE(t_gone - t_done, MS(100));
	ASSERT_OK(pool_destroy(p));
}

/* DISABLE_PURGE: compared with a control pool of the same expiry, whose
 * workers have gone, the workers of the no-purge pool are still there. */
TEST(expiry_disable_purge_keeps_workers)
{
	enum { K = 2 };
	pool_options_t keep =
		test_opts(K, 0, POOL_PREALLOC | POOL_DISABLE_PURGE);
	pool_options_t ctl = test_opts(K, 0, POOL_PREALLOC);
	pool_t *pk, *pc;
	pool_stats_t s;
	int64_t t0;

	keep.expiry_ns = MS(20);
	ctl.expiry_ns = MS(20);
	ASSERT_OK(pool_new(&pk, &keep));
	t0 = test_now_ns();
	ASSERT_OK(pool_new(&pc, &ctl));
	WAIT_UNTIL(test_stats(pc).workers == 0);
	ASSERT_GE(test_now_ns() - t0, MS(20));
	s = test_stats(pk);
	ASSERT_UEQ(s.workers, K);
	ASSERT_UEQ(s.expired, 0);
	ASSERT_UEQ(s.spawned, K);
	ASSERT_OK(pool_submit_wait(pk, task_nop, NULL));
	ASSERT_UEQ(test_stats(pk).spawned, K);
	ASSERT_OK(pool_destroy(pk));
	ASSERT_OK(pool_destroy(pc));
}

TEST(prealloc_spawns_capacity)
{
	enum { K = 4 };
	pool_options_t o = test_opts(K, 0, POOL_PREALLOC | POOL_DISABLE_PURGE);
	pool_stats_t s;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	s = test_stats(p);
	ASSERT_UEQ(s.spawned, K);
	ASSERT_UEQ(s.workers, K);
	ASSERT_UEQ(s.spawn_failed, 0);
	ASSERT_UEQ(s.running, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(lazy_spawn_without_prealloc)
{
	pool_options_t o = test_opts(4, 0, 0);
	pool_stats_t s;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	s = test_stats(p);
	ASSERT_UEQ(s.workers, 0);
	ASSERT_UEQ(s.spawned, 0);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	s = test_stats(p);
	ASSERT_UGE(s.spawned, 1);
	ASSERT_ULE(s.spawned, 4);
	ASSERT_OK(pool_destroy(p));
}

/* Sequential waited tasks on an idle pool reuse a parked worker instead of
 * spawning another one (docs: spawn only when no worker is idle). */
static int all_idle(const pool_t *p)
{
	pool_stats_t s = test_stats(p);

	return s.workers >= 1 && s.idle == s.workers;
}

TEST(idle_worker_reused)
{
	pool_options_t o = test_opts(4, 0, POOL_DISABLE_PURGE);
	uint64_t spawned;
	pool_t *p;
	int i;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	WAIT_UNTIL(all_idle(p));
	spawned = test_stats(p).spawned;
	for (i = 0; i < 100; i++) {
		ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
		WAIT_UNTIL(all_idle(p));
	}
	ASSERT_UEQ(test_stats(p).spawned, spawned);
	ASSERT_OK(pool_destroy(p));
}
