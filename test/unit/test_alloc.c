/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - allocation and thread-creation failure: every failure is
 * POOL_ENOMEM, changes nothing and leaks nothing (LSan in the ASan flavour).
 *
 * The hooks are hidden symbols of the static library (lib/): after k more
 * successful internal allocations or thread creations, every further one
 * fails; k < 0 disables.
 */
#define _GNU_SOURCE
#include "test.h"

void pool__test_fail_after(long k);
long pool__test_alloc_calls(void);

#define SENTINEL  ((pool_t *)(uintptr_t)0x5a5a5a5a)
#define MAX_SWEEP 100000

static void task_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void sweep_new(const pool_options_t *o, int func)
{
	long k, before, calls;
	atomic_int r = 0;
	pool_t *p;
	int rc;

	for (k = 0; k < MAX_SWEEP; k++) {
		p = SENTINEL;
		before = pool__test_alloc_calls();
		pool__test_fail_after(k);
		if (func)
			rc = pool_new_func(&p, task_flag, o);
		else
			rc = pool_new(&p, o);
		pool__test_fail_after(-1);
		calls = pool__test_alloc_calls() - before;
		if (rc == 0)
			break;
		if (rc != POOL_ENOMEM)
			FAIL("k=%ld: pool_new returned %s, expected "
			     "POOL_ENOMEM",
			     k, pool_err_name(rc));
		if (p != SENTINEL)
			FAIL("k=%ld: *out changed on failure", k);
		/* The k allowed calls succeeded, the next one failed. */
		if (calls < k + 1)
			FAIL("k=%ld: only %ld allocation calls counted", k,
			     calls);
	}
	if (k == 0)
		FAIL("pool_new succeeded with every allocation failing");
	ASSERT_LT(k, MAX_SWEEP);
	/* The pool that finally came up is whole. */
	ASSERT_NE(p, SENTINEL);
	if (func)
		ASSERT_OK(pool_invoke(p, &r));
	ASSERT_OK(pool_submit(p, task_flag, &r));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&r), func ? 2 : 1);
	ASSERT_OK(pool_destroy(p));
}

TEST(alloc_sweep_new_prealloc)
{
	pool_options_t o = test_opts(4, 0, POOL_PREALLOC);

	sweep_new(&o, 0);
}

TEST(alloc_sweep_new_lazy)
{
	pool_options_t o = test_opts(4, 16, 0);

	o.name = "sweep";
	sweep_new(&o, 0);
}

TEST(alloc_sweep_new_func)
{
	pool_options_t o = test_opts(2, 0, POOL_PREALLOC);

	sweep_new(&o, 1);
}

TEST(alloc_hooks_count)
{
	long before = pool__test_alloc_calls();
	pool_options_t o = test_opts(2, 0, POOL_PREALLOC);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	/* At least the pool and two threads. */
	ASSERT_GE(pool__test_alloc_calls() - before, 3);
	ASSERT_OK(pool_destroy(p));
}

/* No worker exists and none can start: the submit is not accepted. */
TEST(alloc_submit_no_worker)
{
	pool_options_t o = test_opts(2, 0, 0);
	atomic_int r = 0;
	pool_stats_t s;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	pool__test_fail_after(0);
	ASSERT_ERR(pool_submit(p, task_flag, &r), POOL_ENOMEM);
	ASSERT_ERR(pool_submit_wait(p, task_flag, &r), POOL_ENOMEM);
	pool__test_fail_after(-1);
	s = test_stats(p);
	ASSERT_UEQ(s.submitted, 0);
	ASSERT_UEQ(s.workers, 0);
	ASSERT_UGE(s.spawn_failed, 1);
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_EQ(atomic_load(&r), 1);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(atomic_load(&r), 1);
}

/* Growth that cannot allocate leaves the capacity unchanged. */
TEST(alloc_sweep_tune_growth)
{
	pool_options_t o = test_opts(2, 0, 0);
	atomic_int r = 0;
	pool_t *p;
	long k;
	int rc;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	for (k = 0; k < MAX_SWEEP; k++) {
		pool__test_fail_after(k);
		rc = pool_tune(p, 8);
		pool__test_fail_after(-1);
		if (rc == 0)
			break;
		if (rc != POOL_ENOMEM)
			FAIL("k=%ld: pool_tune returned %s", k,
			     pool_err_name(rc));
		ASSERT_EQ(pool_cap(p), 2);
		ASSERT_UEQ(test_stats(p).tunes, 0);
		ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	}
	ASSERT_LT(k, MAX_SWEEP);
	ASSERT_EQ(pool_cap(p), 8);
	ASSERT_UEQ(test_stats(p).tunes, 1);
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_OK(pool_destroy(p));
}

/* Spawn failure while workers exist: the task is still accepted and runs
 * on the existing worker. */
TEST(alloc_spawn_fails_with_live_worker)
{
	pool_options_t o = test_opts(4, 0, POOL_DISABLE_PURGE);
	struct counter c;
	pool_t *p;
	int i;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_UGE(test_stats(p).workers, 1);
	pool__test_fail_after(0);
	for (i = 0; i < 100; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	counter_wait(&c, 100);
	pool__test_fail_after(-1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}
