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

/*
 * A grant's last access to its waiter: once SEM_GRANTED is in the waiter's
 * word the waiter may return, so the granter must write nothing of the
 * waiter's after that. The test point after the grant (POOL_TP_SEM_GRANTED,
 * in the granter, under the semaphore's lock) cancels the waiter's context:
 * the cancel's bump wakes it, it sees the grant and returns, then paints
 * the stack where its waiter record lived; only then does the hook let the
 * granter go on. Before the fix the grant stored a flag and bumped the word
 * after the test point's place, into the painted frame.
 */
typedef void (*pool_test_hook_fn)(int point, struct pool *p);
void pool__test_set_hook(pool_test_hook_fn fn);

static struct {
	pool_ctx_t *c;
	_Atomic int armed, painted, granter_done;
} ga;

static void grant_hook(int point, struct pool *p)
{
	(void)p;
	if (point != POOL_TP_SEM_GRANTED || !atomic_exchange(&ga.armed, 0))
		return;
	pool_ctx_cancel(ga.c, POOL_ECANCELED);
	/* Bounded: a waiter that cannot return now (asleep: no bump woke
	 * it) is a failure below, not a hang. */
	for (int64_t end = test_now_ns() + TEST_WAIT_NS;
	     !atomic_load(&ga.painted) && test_now_ns() < end;)
		sched_yield();
}

static __attribute__((noinline)) int grant_acquire(pool_sem_t *s)
{
	return pool_sem_acquire_ctx(s, ga.c, 1);
}

/* Paint the stack below the caller (where grant_acquire's frames were),
 * wait for the granter to finish, count the bytes that changed. */
static __attribute__((noinline)) int paint_and_check(void)
{
	volatile unsigned char buf[16384];
	int changed = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = 0xa5;
	atomic_store(&ga.painted, 1);
	while (!atomic_load(&ga.granter_done))
		sched_yield();
	for (size_t i = 0; i < sizeof(buf); i++)
		changed += buf[i] != 0xa5;
	return changed;
}

struct grant_waiter {
	pool_sem_t *s;
	int rc, changed;
};

static void *grant_waiter_main(void *arg)
{
	struct grant_waiter *w = arg;

	w->rc = grant_acquire(w->s);
	w->changed = paint_and_check();
	return NULL;
}

TEST(sem_grant_writes_nothing_after_the_waiter_may_return)
{
	struct grant_waiter w = {0};
	pthread_t t;

	ASSERT_OK(pool_sem_new(&w.s, 1));
	ASSERT_OK(pool_ctx_new(&ga.c, NULL, POOL_CTX_NO_TIMEOUT));
	atomic_store(&ga.painted, 0);
	atomic_store(&ga.granter_done, 0);
	ASSERT_OK(pool_sem_acquire(w.s, 1));
	thread_start(&t, grant_waiter_main, &w);
	WAIT_UNTIL(pool__sem_queued(w.s) == 1);
	pool__test_set_hook(grant_hook);
	atomic_store(&ga.armed, 1);
	ASSERT_OK(pool_sem_release(w.s, 1)); /* grants the waiter */
	pool__test_set_hook(NULL);
	atomic_store(&ga.granter_done, 1);
	thread_join(t);
	ASSERT_EQ(w.rc, 0); /* the grant won over the cancel */
	ASSERT_EQ(atomic_load(&ga.painted), 1); /* it returned in the hook */
	ASSERT_EQ(w.changed, 0); /* and nothing wrote into its frame */
	ASSERT_OK(pool_sem_release(w.s, 1));
	pool_ctx_destroy(ga.c);
	ASSERT_OK(pool_sem_destroy(w.s));
}

/*
 * A queued waiter looks at its word for a while before it sleeps, and says
 * it sleeps with SEM_SLEEPING in the word (CAS); the grant's OR returns the
 * word and wakes only if SEM_SLEEPING was in it (lib/sem.c, grant_locked).
 * Each case fixes one interleaving with the test points POOL_TP_SEM_WAIT,
 * _SLEEP and _ANNOUNCED (hooks on the waiter's thread) and counts the futex
 * wakes that grants issued.
 */
int pool__sem_grant_wakes(pool_sem_t *s);

static pool_sem_t *hook_sem;
static pool_ctx_t *hook_ctx;
static atomic_int hook_point, hook_calls, hook_go;

/* At its first look the waiter waits for the test's go (the grant, or the
 * cancel, happened meanwhile). */
static void hook_hold_looking(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_SEM_WAIT && atomic_fetch_add(&hook_calls, 1) == 0)
		WAIT_UNTIL(atomic_load(&hook_go) == 1);
}

TEST(sem_grant_to_looking_waiter_needs_no_wake)
{
	struct acq a;
	pool_sem_t *s;

	memset(&a, 0, sizeof(a));
	atomic_store(&hook_calls, 0);
	atomic_store(&hook_go, 0);
	ASSERT_OK(pool_sem_new(&s, 1));
	ASSERT_OK(pool_sem_acquire(s, 1));
	pool__test_set_hook(hook_hold_looking);
	start_queued(&a, s, 1, 0, 1);
	WAIT_UNTIL(atomic_load(&hook_calls) == 1);
	ASSERT_OK(pool_sem_release(s, 1)); /* grants the looking waiter */
	ASSERT_EQ(pool__sem_queued(s), 0);
	atomic_store(&hook_go, 1);
	thread_join(a.t);
	pool__test_set_hook(NULL);
	ASSERT_OK(a.rc);
	ASSERT_EQ(pool__sem_grant_wakes(s), 0);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 1));
	ASSERT_OK(pool_sem_destroy(s));
}

/* Cancelled while it looks: it gives up without sleeping, leaves the queue
 * and wakes the one it was blocking (which sleeps or looks by then). */
TEST(sem_waiter_cancelled_while_looking_wakes_next)
{
	struct acq big, small;
	pool_sem_t *s;

	memset(&big, 0, sizeof(big));
	memset(&small, 0, sizeof(small));
	atomic_store(&hook_calls, 0);
	atomic_store(&hook_go, 0);
	ASSERT_OK(pool_sem_new(&s, 10));
	ASSERT_OK(pool_sem_acquire(s, 10));
	ASSERT_OK(pool_ctx_new(&big.c, NULL, POOL_CTX_NO_TIMEOUT));
	pool__test_set_hook(hook_hold_looking); /* holds big's first look */
	start_queued(&big, s, 8, 0, 1);
	WAIT_UNTIL(atomic_load(&hook_calls) == 1);
	start_queued(&small, s, 2, 1, 2);
	ASSERT_OK(pool_sem_release(s, 2));
	ASSERT_EQ(pool__sem_queued(s), 2); /* small waits behind big */
	ASSERT_EQ(pool_ctx_cancel(big.c, -19), 1);
	atomic_store(&hook_go, 1);
	thread_join(big.t);
	ASSERT_EQ(big.rc, -19);
	thread_join(small.t);
	pool__test_set_hook(NULL);
	ASSERT_OK(small.rc);
	ASSERT_EQ(pool__sem_queued(s), 0);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 10));
	pool_ctx_destroy(big.c);
	ASSERT_OK(pool_sem_destroy(s));
}

/* Its deadline passes while it looks: POOL_ETIMEDOUT, out of the queue. */
TEST(sem_waiter_times_out_while_looking)
{
	struct acq a;
	pool_sem_t *s;
	int64_t start;

	memset(&a, 0, sizeof(a));
	atomic_store(&hook_calls, 0);
	atomic_store(&hook_go, 0);
	ASSERT_OK(pool_sem_new(&s, 1));
	ASSERT_OK(pool_sem_acquire(s, 1));
	pool__test_set_hook(hook_hold_looking);
	a.timeout = MS(1);
	start = test_now_ns();
	start_queued(&a, s, 1, 0, 1);
	WAIT_UNTIL(atomic_load(&hook_calls) == 1);
	WAIT_UNTIL(test_now_ns() > start + MS(2)); /* past its deadline */
	atomic_store(&hook_go, 1);
	thread_join(a.t);
	pool__test_set_hook(NULL);
	ASSERT_ERR(a.rc, POOL_ETIMEDOUT);
	ASSERT_EQ(pool__sem_queued(s), 0);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 1));
	ASSERT_EQ(pool_sem_available(s), 1);
	ASSERT_OK(pool_sem_destroy(s));
}

/* The grant comes at the point hook_point, from the waiter's own thread (a
 * release from any thread grants): just before the waiter says it sleeps
 * (its CAS must fail on the granted word: no sleep, no wake), or just after
 * (the grant's OR sees SEM_SLEEPING and wakes; the futex wait finds the
 * word changed). Either way it returns with the units. */
static void hook_grant_at(int point, struct pool *p)
{
	(void)p;
	if (point == atomic_load(&hook_point) &&
	    atomic_fetch_add(&hook_calls, 1) == 0)
		ASSERT_OK(pool_sem_release(hook_sem, 1));
}

static void grant_at(int point, int wakes)
{
	struct acq a;
	pool_sem_t *s;

	memset(&a, 0, sizeof(a));
	atomic_store(&hook_calls, 0);
	atomic_store(&hook_point, point);
	ASSERT_OK(pool_sem_new(&s, 1));
	hook_sem = s;
	ASSERT_OK(pool_sem_acquire(s, 1));
	pool__test_set_hook(hook_grant_at);
	/* Not start_queued: the hook may dequeue it (grant) before we look. */
	a.s = s;
	a.weight = 1;
	thread_start(&a.t, acq_main, &a);
	thread_join(a.t);
	pool__test_set_hook(NULL);
	ASSERT_OK(a.rc);
	ASSERT_EQ(atomic_load(&hook_calls), 1);
	ASSERT_EQ(pool__sem_grant_wakes(s), wakes);
	ASSERT_EQ(pool_sem_available(s), 0);
	ASSERT_OK(pool_sem_release(s, 1));
	ASSERT_OK(pool_sem_destroy(s));
}

TEST(sem_grant_just_before_waiter_says_it_sleeps)
{
	grant_at(POOL_TP_SEM_SLEEP, 0);
}

TEST(sem_grant_just_after_waiter_says_it_sleeps)
{
	grant_at(POOL_TP_SEM_ANNOUNCED, 1);
}

/* A cancel's bump just after the waiter said it sleeps: the futex wait
 * finds the word changed, the waiter sees its context done and gives up. */
static void hook_cancel_at_announced(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_SEM_ANNOUNCED &&
	    atomic_fetch_add(&hook_calls, 1) == 0)
		pool_ctx_cancel(hook_ctx, -21);
}

TEST(sem_cancel_just_after_waiter_says_it_sleeps)
{
	struct acq a;
	pool_sem_t *s;

	memset(&a, 0, sizeof(a));
	atomic_store(&hook_calls, 0);
	ASSERT_OK(pool_sem_new(&s, 1));
	ASSERT_OK(pool_sem_acquire(s, 1));
	ASSERT_OK(pool_ctx_new(&hook_ctx, NULL, POOL_CTX_NO_TIMEOUT));
	a.c = hook_ctx;
	pool__test_set_hook(hook_cancel_at_announced);
	/* Not start_queued: it may have left the queue before we look. */
	a.s = s;
	a.weight = 1;
	thread_start(&a.t, acq_main, &a);
	thread_join(a.t);
	pool__test_set_hook(NULL);
	ASSERT_EQ(atomic_load(&hook_calls), 1);
	ASSERT_EQ(a.rc, -21);
	ASSERT_EQ(pool__sem_queued(s), 0);
	ASSERT_EQ(pool__sem_grant_wakes(s), 0);
	ASSERT_OK(pool_sem_release(s, 1));
	ASSERT_EQ(pool_sem_available(s), 1);
	pool_ctx_destroy(hook_ctx);
	ASSERT_OK(pool_sem_destroy(s));
}
