/* SPDX-License-Identifier: MIT */
/*
 * test_sem.c - the weighted semaphore: bounds, FIFO order of waiters (a
 * large request is not overtaken), a waiter that gives up wakes the ones it
 * was blocking, timeouts, contexts, mutual exclusion under contention.
 */
#include "test.h"

int pool__sem_queued(pool_sem_t *s);

TEST(sem_bounds_and_errors)
{
	pool_sem_t *s;

	ASSERT_ERR(pool_sem_new(NULL, 1), POOL_EINVAL);
	ASSERT_ERR(pool_sem_new(&s, 0), POOL_EINVAL);
	ASSERT_ERR(pool_sem_new(&s, -1), POOL_EINVAL);
	ASSERT_ERR(pool_sem_new(&s, POOL_SEM_MAX + 1), POOL_EINVAL);
	ASSERT_OK(pool_sem_new(&s, POOL_SEM_MAX));
	ASSERT_OK(pool_sem_acquire(s, POOL_SEM_MAX));
	ASSERT_OK(pool_sem_release(s, POOL_SEM_MAX));
	ASSERT_OK(pool_sem_destroy(s));

	ASSERT_OK(pool_sem_new(&s, 5));
	ASSERT_EQ(pool_sem_available(s), 5);
	ASSERT_ERR(pool_sem_acquire(s, 6), POOL_EINVAL); /* never fits */
	ASSERT_ERR(pool_sem_try_acquire(s, 6), POOL_EINVAL);
	ASSERT_ERR(pool_sem_acquire_timeout(s, 6, MS(1)), POOL_EINVAL);
	ASSERT_ERR(pool_sem_acquire(s, -1), POOL_EINVAL);
	ASSERT_ERR(pool_sem_acquire_timeout(s, 1, -1), POOL_EINVAL);
	ASSERT_ERR(pool_sem_acquire(NULL, 1), POOL_EINVAL);
	ASSERT_OK(pool_sem_acquire(s, 0));
	ASSERT_OK(pool_sem_acquire(s, 3));
	ASSERT_ERR(pool_sem_try_acquire(s, 3), POOL_EOVERLOAD);
	ASSERT_ERR(pool_sem_acquire_timeout(s, 3, 0), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_sem_acquire_timeout(s, 3, MS(2)), POOL_ETIMEDOUT);
	ASSERT_OK(pool_sem_try_acquire(s, 2));
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 5));
	/* More than is held: refused, nothing changes. */
	ASSERT_ERR(pool_sem_release(s, 1), POOL_EINVAL);
	ASSERT_ERR(pool_sem_release(s, -1), POOL_EINVAL);
	ASSERT_EQ(pool_sem_available(s), 5);
	ASSERT_OK(pool_sem_destroy(s));
	ASSERT_ERR(pool_sem_destroy(NULL), POOL_EINVAL);
}

struct acq {
	pthread_t t;
	pool_sem_t *s;
	pool_ctx_t *c;
	int64_t weight;
	int64_t timeout; /* > 0: acquire_timeout */
	int id;
	atomic_int *next;
	int *order;
	atomic_int done;
	int rc;
};

static void *acq_main(void *arg)
{
	struct acq *a = arg;

	if (a->c)
		a->rc = pool_sem_acquire_ctx(a->s, a->c, a->weight);
	else if (a->timeout > 0)
		a->rc = pool_sem_acquire_timeout(a->s, a->weight, a->timeout);
	else
		a->rc = pool_sem_acquire(a->s, a->weight);
	if (a->rc == 0 && a->order)
		a->order[atomic_fetch_add(a->next, 1)] = a->id;
	atomic_store(&a->done, 1);
	return NULL;
}

/* Start a waiter and wait until it is queued (n waiters in all). */
static void start_queued(struct acq *a, pool_sem_t *s, int64_t weight, int id,
			 int n)
{
	a->s = s;
	a->weight = weight;
	a->id = id;
	thread_start(&a->t, acq_main, a);
	WAIT_UNTIL(pool__sem_queued(s) == n);
}

TEST(sem_fifo_large_request_not_overtaken)
{
	struct acq a[3];
	atomic_int next = 0;
	int order[3] = {-1, -1, -1};
	pool_sem_t *s;

	memset(a, 0, sizeof(a));
	for (int i = 0; i < 3; i++) {
		a[i].next = &next;
		a[i].order = order;
	}
	ASSERT_OK(pool_sem_new(&s, 10));
	ASSERT_OK(pool_sem_acquire(s, 10));
	start_queued(&a[0], s, 8, 0, 1);
	start_queued(&a[1], s, 1, 1, 2);
	start_queued(&a[2], s, 1, 2, 3);
	/* 2 free: the small ones would fit, but the large one is first. */
	ASSERT_OK(pool_sem_release(s, 2));
	ASSERT_EQ(pool__sem_queued(s), 3);
	ASSERT_EQ(pool_sem_available(s), 2);
	ASSERT_ERR(pool_sem_try_acquire(s, 1), POOL_EOVERLOAD);
	ASSERT_EQ(atomic_load(&next), 0);
	/* 8 free: the head gets them; the next ones wait for more. */
	ASSERT_OK(pool_sem_release(s, 6));
	thread_join(a[0].t);
	ASSERT_OK(a[0].rc);
	ASSERT_EQ(pool__sem_queued(s), 2);
	ASSERT_EQ(pool_sem_available(s), 0);
	/* One unit at a time: granted in arrival order. */
	ASSERT_OK(pool_sem_release(s, 1));
	thread_join(a[1].t);
	ASSERT_OK(a[1].rc);
	ASSERT_EQ(pool__sem_queued(s), 1);
	ASSERT_OK(pool_sem_release(s, 1));
	thread_join(a[2].t);
	ASSERT_OK(a[2].rc);
	ASSERT_EQ(order[0], 0);
	ASSERT_EQ(order[1], 1);
	ASSERT_EQ(order[2], 2);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 10));
	ASSERT_OK(pool_sem_destroy(s));
}

TEST(sem_cancelled_waiter_wakes_next)
{
	struct acq big, small;
	pool_sem_t *s;

	memset(&big, 0, sizeof(big));
	memset(&small, 0, sizeof(small));
	ASSERT_OK(pool_sem_new(&s, 10));
	ASSERT_OK(pool_sem_acquire(s, 10));
	ASSERT_OK(pool_ctx_new(&big.c, NULL, POOL_CTX_NO_TIMEOUT));
	start_queued(&big, s, 8, 0, 1);
	start_queued(&small, s, 2, 1, 2);
	ASSERT_OK(pool_sem_release(s, 2));
	ASSERT_EQ(atomic_load(&small.done), 0); /* blocked behind big */
	ASSERT_ERR(pool_sem_destroy(s), POOL_EBUSY);
	/* Giving up wakes the one it was blocking. */
	ASSERT_EQ(pool_ctx_cancel(big.c, -19), 1);
	thread_join(big.t);
	ASSERT_EQ(big.rc, -19);
	thread_join(small.t);
	ASSERT_OK(small.rc);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_EQ(pool__sem_queued(s), 0);
	ASSERT_OK(pool_sem_release(s, 10));
	pool_ctx_destroy(big.c);
	ASSERT_OK(pool_sem_destroy(s));
}

TEST(sem_timed_out_waiter_wakes_next)
{
	struct acq big, small;
	pool_sem_t *s;

	memset(&big, 0, sizeof(big));
	memset(&small, 0, sizeof(small));
	ASSERT_OK(pool_sem_new(&s, 4));
	ASSERT_OK(pool_sem_acquire(s, 4));
	big.timeout = SEC(3600);
	start_queued(&big, s, 4, 0, 1);
	small.timeout = SEC(3600);
	start_queued(&small, s, 1, 1, 2);
	ASSERT_OK(pool_sem_release(s, 1));
	/* A third waiter with a short timeout, behind both: it gives up
	 * alone (it blocks nobody). */
	ASSERT_ERR(pool_sem_acquire_timeout(s, 1, MS(2)), POOL_ETIMEDOUT);
	ASSERT_EQ(pool__sem_queued(s), 2);
	ASSERT_EQ(atomic_load(&small.done), 0);
	ASSERT_OK(pool_sem_release(s, 3)); /* big gets all 4 */
	thread_join(big.t);
	ASSERT_OK(big.rc);
	ASSERT_OK(pool_sem_release(s, 4));
	thread_join(small.t);
	ASSERT_OK(small.rc);
	ASSERT_OK(pool_sem_release(s, 1));
	ASSERT_EQ(pool_sem_available(s), 4);
	ASSERT_OK(pool_sem_destroy(s));
}

TEST(sem_head_giving_up_wakes_next)
{
	struct acq small;
	pool_sem_t *s;

	memset(&small, 0, sizeof(small));
	ASSERT_OK(pool_sem_new(&s, 4));
	ASSERT_OK(pool_sem_acquire(s, 3));
	/* Head: wants 4 with a context; small (1) queues behind it though
	 * 1 unit is free. The context ends the head's wait (a deadline
	 * cause, set deterministically). */
	{
		pool_ctx_t *c;
		struct acq head;

		memset(&head, 0, sizeof(head));
		ASSERT_OK(pool_ctx_new(&c, NULL, SEC(3600)));
		head.c = c;
		start_queued(&head, s, 4, 0, 1);
		start_queued(&small, s, 1, 1, 2);
		ASSERT_EQ(atomic_load(&small.done), 0);
		ASSERT_EQ(pool_ctx_cancel(c, POOL_ETIMEDOUT), 1);
		thread_join(head.t);
		ASSERT_ERR(head.rc, POOL_ETIMEDOUT);
		pool_ctx_destroy(c);
	}
	thread_join(small.t);
	ASSERT_OK(small.rc);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 4));
	ASSERT_OK(pool_sem_destroy(s));
}

TEST(sem_ctx_done_at_call_takes_nothing)
{
	pool_sem_t *s;
	pool_ctx_t *c;

	ASSERT_OK(pool_sem_new(&s, 2));
	ASSERT_OK(pool_ctx_new(&c, NULL, 0)); /* deadline passed */
	ASSERT_ERR(pool_sem_acquire_ctx(s, c, 1), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_sem_acquire_ctx(s, NULL, 1), POOL_EINVAL);
	ASSERT_EQ(pool_sem_available(s), 2);
	pool_ctx_destroy(c);
	/* A deadline ends a blocked acquire. */
	ASSERT_OK(pool_ctx_new(&c, NULL, MS(2)));
	ASSERT_OK(pool_sem_acquire(s, 2));
	ASSERT_ERR(pool_sem_acquire_ctx(s, c, 1), POOL_ETIMEDOUT);
	ASSERT_EQ(pool__sem_queued(s), 0);
	ASSERT_OK(pool_sem_release(s, 2));
	pool_ctx_destroy(c);
	ASSERT_OK(pool_sem_destroy(s));
}

/* Mutual exclusion: a plain counter guarded by a semaphore of 1 (TSan
 * checks the happens-before from release to the next acquire). */
struct excl {
	pool_sem_t *s;
	long plain;
	int iters;
	int64_t weight;
};

static void *excl_main(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < e->iters; i++) {
		if (pool_sem_acquire(e->s, e->weight) != 0)
			FAIL("acquire failed");
		e->plain++;
		if (pool_sem_release(e->s, e->weight) != 0)
			FAIL("release failed");
	}
	return NULL;
}

TEST(sem_mutual_exclusion_under_contention)
{
	struct excl e = {.iters = 20000, .weight = 3};
	pthread_t t[4];

	ASSERT_OK(pool_sem_new(&e.s, 5)); /* weight 3 of 5: one at a time */
	for (int i = 0; i < 4; i++)
		thread_start(&t[i], excl_main, &e);
	for (int i = 0; i < 4; i++)
		thread_join(t[i]);
	ASSERT_EQ(e.plain, 4L * e.iters);
	ASSERT_EQ(pool_sem_available(e.s), 5);
	ASSERT_OK(pool_sem_destroy(e.s));
}
