/* SPDX-License-Identifier: MIT */
/*
 * test_multi.c - the multi-pool (pool/multi.h): distribution under each
 * strategy, the round-robin overload retry, the shared release deadline,
 * tune, reboot, keyed picks, per-member reads, bad arguments and allocation
 * failure.
 *
 * Keyed submits (key % n under round-robin and least-tasks) place a task on
 * a chosen member, which is how these tests load one member on purpose.
 */
#define _GNU_SOURCE
#include "test.h"

void pool__test_fail_after(long k);
long pool__test_alloc_calls(void);
int pool__multi_wake_needed(const pool_multi_t *m, int i);

#define SENTINEL  ((pool_multi_t *)(uintptr_t)0x5a5a5a5a)
#define MAX_SWEEP 100000

static pool_stats_t member_stats(const pool_multi_t *m, int i)
{
	pool_stats_t s = POOL_STATS_INIT;

	ASSERT_OK(pool_multi_stats_by_index(m, i, &s));
	return s;
}

static pool_stats_t multi_stats(const pool_multi_t *m)
{
	pool_stats_t s = POOL_STATS_INIT;

	ASSERT_OK(pool_multi_stats(m, &s));
	return s;
}

/*
 * Occupy every worker of every member of m (n members of capacity cap) with
 * a task waiting on g: then no member needs a wake (every worker its
 * capacity allows is running), so round-robin takes the turn member every
 * time, exactly, until g opens. Keyed submits (key % n) place the tasks.
 */
static void occupy_all(pool_multi_t *m, int n, int cap, struct gate *g)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < cap; k++)
			ASSERT_OK(pool_multi_submit_key(m, (uint64_t)i,
							task_gate, g));
	gate_wait_entered(g, (long)n * cap);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(pool__multi_wake_needed(m, i), 0);
}

/* ---- round-robin ---- */

TEST(multi_round_robin_even)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter c;
	struct gate g;
	pool_multi_t *m;
	int i;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_multi_new(&m, 4, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_EQ(pool_multi_size(m), 4);
	occupy_all(m, 4, 2, &g);
	for (i = 0; i < 400; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	/* One thread walks the members in turn, none needing a wake:
	 * exactly even (2 gate tasks each, then 100). */
	for (i = 0; i < 4; i++)
		ASSERT_UEQ(member_stats(m, i).submitted, 2 + 100);
	gate_open(&g);
	counter_wait(&c, 400);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_UEQ(multi_stats(m).completed, 8 + 400);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
}

struct producer {
	pthread_t thread;
	pool_multi_t *m;
	struct counter *c;
	int n;
	int rc;
};

static void *producer_main(void *arg)
{
	struct producer *pr = arg;

	pr->rc = 0;
	for (int i = 0; i < pr->n && pr->rc == 0; i++)
		pr->rc = pool_multi_submit(pr->m, task_count, pr->c);
	return NULL;
}

/* Each producer walks the members in turn from its own cursor: the sum is
 * exactly even too (while no member needs a wake). */
TEST(multi_round_robin_two_producers)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct producer pr[2];
	struct counter c;
	struct gate g;
	pool_multi_t *m;
	int i;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_multi_new(&m, 4, &o, POOL_LB_ROUND_ROBIN));
	occupy_all(m, 4, 2, &g);
	for (i = 0; i < 2; i++) {
		pr[i].m = m;
		pr[i].c = &c;
		pr[i].n = 200;
		thread_start(&pr[i].thread, producer_main, &pr[i]);
	}
	for (i = 0; i < 2; i++) {
		thread_join(pr[i].thread);
		ASSERT_OK(pr[i].rc);
	}
	for (i = 0; i < 4; i++)
		ASSERT_UEQ(member_stats(m, i).submitted, 2 + 100);
	gate_open(&g);
	counter_wait(&c, 400);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* A thread alternating between two multi-pools still spreads each one
 * evenly (its cursor is reseeded from each multi-pool's shared seed). */
TEST(multi_round_robin_alternating_handles)
{
	pool_options_t o = test_opts(1, 0, 0);
	pool_multi_t *a, *b;
	struct counter c;
	struct gate g;
	int i;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_multi_new(&a, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_new(&b, 2, &o, POOL_LB_ROUND_ROBIN));
	occupy_all(a, 2, 1, &g);
	ASSERT_OK(pool_multi_submit_key(b, 0, task_gate, &g));
	ASSERT_OK(pool_multi_submit_key(b, 1, task_gate, &g));
	gate_wait_entered(&g, 4);
	ASSERT_EQ(pool__multi_wake_needed(b, 0), 0);
	ASSERT_EQ(pool__multi_wake_needed(b, 1), 0);
	for (i = 0; i < 40; i++) {
		ASSERT_OK(pool_multi_submit(a, task_count, &c));
		ASSERT_OK(pool_multi_submit(b, task_count, &c));
	}
	for (i = 0; i < 2; i++) {
		ASSERT_UEQ(member_stats(a, i).submitted, 1 + 20);
		ASSERT_UEQ(member_stats(b, i).submitted, 1 + 20);
	}
	gate_open(&g);
	counter_wait(&c, 80);
	ASSERT_OK(pool_multi_destroy(a));
	ASSERT_OK(pool_multi_destroy(b));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* ---- overload retry ---- */

/* Member 0 full (non-blocking, 1 worker, 1 slot): the round-robin pick
 * lands on it, and the task goes to the least-loaded other member (2, idle)
 * rather than the next in turn (1, busy). The offer to the full member is
 * not counted as a rejection; a call that fails counts one, on the member
 * whose own call refused it last. */
TEST(multi_overload_retry_least_loaded)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	struct gate g;
	struct counter c;
	pool_multi_t *m;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_OK(pool_multi_submit_key(m, 1, task_gate, &g));
	gate_wait_entered(&g, 2);
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), 1);
	/* A keyed submit is never retried elsewhere. */
	ASSERT_ERR(pool_multi_submit_key(m, 0, task_count, &c), POOL_EOVERLOAD);
	ASSERT_UEQ(member_stats(m, 0).rejected_overload, 1);

	/* The first round-robin pick of this thread is member 0. */
	ASSERT_OK(pool_multi_submit(m, task_count, &c));
	counter_wait(&c, 1);
	ASSERT_UEQ(member_stats(m, 0).rejected_overload, 1);
	ASSERT_UEQ(member_stats(m, 1).submitted, 1);
	ASSERT_UEQ(member_stats(m, 2).submitted, 1);

	/* Fill members 1 and 2 as well: one retry, then POOL_EOVERLOAD. */
	ASSERT_OK(pool_multi_submit_key(m, 1, task_gate, &g));
	ASSERT_OK(pool_multi_submit_key(m, 2, task_gate, &g));
	gate_wait_entered(&g, 3);
	ASSERT_OK(pool_multi_submit_key(m, 2, task_gate, &g));
	ASSERT_ERR(pool_multi_try_submit(m, task_count, &c), POOL_EOVERLOAD);
	ASSERT_ERR(pool_multi_submit(m, task_count, &c), POOL_EOVERLOAD);
	ASSERT_ERR(pool_multi_submit_timeout(m, task_count, &c, 0),
		   POOL_EOVERLOAD);
	/* Three calls, each counted once (the keyed one before: 1). */
	ASSERT_UEQ(multi_stats(m).rejected_overload, 1 + 3);

	gate_open(&g);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_EQ(counter_get(&c), 1);
	ASSERT_EQ(counter_get(&g.passed), 6);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* The retry also covers blocking members: pool_multi_try_submit on a full
 * member of a blocking pool goes to the other one. */
TEST(multi_overload_retry_try_submit)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct counter c;
	pool_multi_t *m;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_OK(pool_multi_try_submit(m, task_count, &c)); /* member 0 */
	counter_wait(&c, 1);
	ASSERT_UEQ(member_stats(m, 1).submitted, 1);
	ASSERT_OK(pool_multi_submit_timeout(m, task_count, &c, MS(1)));
	counter_wait(&c, 2);
	gate_open(&g);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&g.passed), 2);
	gate_destroy(&g);
	counter_destroy(&c);
}

/*
 * A blocking pool_multi_submit whose turn member is full does not wait
 * there while another member has room: member 0 (blocking, 1 worker, 1
 * slot) is full, member 1 has no worker yet, and this thread's first turn
 * is member 0. The call returns at once with the task on member 1 (whose
 * own blocking submit starts its first worker); the next turn is member 1
 * anyway, and the one after that (member 0, still full) spills again.
 */
TEST(multi_round_robin_spills_when_full)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct counter c;
	pool_multi_t *m;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), 1);
	ASSERT_UEQ(member_stats(m, 1).workers, 0);

	ASSERT_OK(pool_multi_submit(m, task_count, &c)); /* turn: 0 */
	counter_wait(&c, 1);
	ASSERT_OK(pool_multi_submit(m, task_count, &c)); /* turn: 1 */
	counter_wait(&c, 2);
	ASSERT_OK(pool_multi_submit(m, task_count, &c)); /* turn: 0 */
	counter_wait(&c, 3);
	ASSERT_UEQ(member_stats(m, 0).submitted, 2);
	ASSERT_UEQ(member_stats(m, 1).submitted, 3);
	/* An offer refused for lack of room is not a rejection. */
	ASSERT_UEQ(multi_stats(m).rejected_overload, 0);
	ASSERT_EQ(pool_multi_waiting(m), 0);

	gate_open(&g);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&g.passed), 2);
	gate_destroy(&g);
	counter_destroy(&c);
}

struct one_submit {
	pthread_t thread;
	pool_multi_t *m;
	struct counter *c;
	int rc;
};

static void *one_submit_main(void *arg)
{
	struct one_submit *os = arg;

	os->rc = pool_multi_submit(os->m, task_count, os->c);
	return NULL;
}

/*
 * When neither the turn member nor the other one has room, a blocking
 * pool_multi_submit waits on the member whose turn it was (member 0 for
 * the first round-robin submit of this multi-pool's first submitting
 * thread), and is accepted there once a slot frees.
 */
TEST(multi_round_robin_waits_on_turn_member)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct one_submit os;
	struct gate g;
	struct counter c;
	pool_multi_t *m;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	for (int i = 0; i < 2; i++) {
		ASSERT_OK(pool_multi_submit_key(m, (uint64_t)i, task_gate, &g));
		gate_wait_entered(&g, i + 1);
		ASSERT_OK(pool_multi_submit_key(m, (uint64_t)i, task_gate, &g));
	}
	os.m = m;
	os.c = &c;
	os.rc = 1;
	thread_start(&os.thread, one_submit_main, &os);
	WAIT_UNTIL(pool_multi_waiting_by_index(m, 0) == 1);
	ASSERT_EQ(pool_multi_waiting_by_index(m, 1), 0);
	gate_open(&g);
	thread_join(os.thread);
	ASSERT_OK(os.rc);
	counter_wait(&c, 1);
	ASSERT_UEQ(member_stats(m, 0).submitted, 3);
	ASSERT_UEQ(member_stats(m, 1).submitted, 2);
	ASSERT_UEQ(multi_stats(m).rejected_overload, 0);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&g.passed), 4);
	gate_destroy(&g);
	counter_destroy(&c);
}

/*
 * Two members of capacity 1 (strategy lb): member 1's worker ran a task and
 * parked (a submit there needs a wake), member 0's worker is held on *g
 * (awake: it needs none). c counts the tasks the test submits next; c1
 * counted member 1's.
 */
static pool_multi_t *awake_and_parked(int lb, struct counter *c,
				      struct counter *c1, struct gate *g)
{
	pool_options_t o = test_opts(1, 2 * POOL_MULTI_AWAKE_QUEUE, 0);
	pool_multi_t *m = NULL;

	counter_init(c);
	counter_init(c1);
	gate_init(g);
	ASSERT_OK(pool_multi_new(&m, 2, &o, lb));
	ASSERT_OK(pool_multi_submit_key(m, 1, task_count, c1));
	counter_wait(c1, 1);
	WAIT_UNTIL(pool__multi_wake_needed(m, 1) == 1);
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, g));
	gate_wait_entered(g, 1);
	ASSERT_EQ(pool__multi_wake_needed(m, 0), 0);
	return m;
}

/*
 * The wake rule (multi.h, POOL_MULTI_AWAKE_QUEUE): member 0's worker runs a
 * task (it needs no wake), member 1's worker is parked (a submit there
 * would wake it). Round-robin gives member 1's turns to member 0 while
 * fewer than POOL_MULTI_AWAKE_QUEUE tasks are queued there, and only then
 * wakes member 1. Member 1's parked state is stable (nothing else submits
 * to it), member 0's queue grows by exactly one per submit (its worker is
 * held on the gate), so every pick is determined.
 */
TEST(multi_round_robin_prefers_awake_member)
{
	struct counter c, c1;
	struct gate g;
	pool_multi_t *m = awake_and_parked(POOL_LB_ROUND_ROBIN, &c, &c1, &g);
	int i;

	/* This thread's first turn is member 0; turns alternate 0, 1, ... */
	for (i = 0; i < POOL_MULTI_AWAKE_QUEUE; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), POOL_MULTI_AWAKE_QUEUE);
	ASSERT_UEQ(member_stats(m, 1).submitted, 1);
	ASSERT_EQ(pool__multi_wake_needed(m, 1), 1);
	/* Member 0's turn: its own (it needs no wake). */
	ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), POOL_MULTI_AWAKE_QUEUE + 1);
	/* Member 1's turn, member 0 no longer awake (its queue is at the
	 * bound): member 1 takes it, and its worker is woken to run it. */
	ASSERT_OK(pool_multi_submit(m, task_count, &c));
	counter_wait(&c, 1);
	ASSERT_UEQ(member_stats(m, 1).submitted, 2);
	ASSERT_UEQ(member_stats(m, 0).submitted,
		   1 + POOL_MULTI_AWAKE_QUEUE + 1);
	ASSERT_UEQ(multi_stats(m).rejected_overload, 0);

	gate_open(&g);
	counter_wait(&c, POOL_MULTI_AWAKE_QUEUE + 2);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&c1), 1);
	gate_destroy(&g);
	counter_destroy(&c);
	counter_destroy(&c1);
}

/* ---- least tasks ---- */

/*
 * Member 1 is blocked by a long task with POOL_MULTI_AWAKE_QUEUE more queued
 * behind it (load 1 + POOL_MULTI_AWAKE_QUEUE, and no longer awake: its queue
 * is at the bound); the others never hold more than the task just
 * finishing (load <= 1), so no submit goes to member 1, whether the others'
 * workers are searching or parked.
 */
TEST(multi_least_tasks_avoids_blocked_member)
{
	pool_options_t o = test_opts(1, 2 * POOL_MULTI_AWAKE_QUEUE, 0);
	struct counter c, q;
	struct gate g;
	pool_multi_t *m;
	int i;

	gate_init(&g);
	counter_init(&c);
	counter_init(&q);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_LEAST_TASKS));
	ASSERT_OK(pool_multi_submit_key(m, 1, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (i = 0; i < POOL_MULTI_AWAKE_QUEUE; i++)
		ASSERT_OK(pool_multi_submit_key(m, (uint64_t)(1 + 3 * i),
						task_count, &q));
	ASSERT_EQ(pool_multi_running_by_index(m, 1), 1);
	ASSERT_EQ(pool_multi_queued_by_index(m, 1), POOL_MULTI_AWAKE_QUEUE);
	for (i = 0; i < 30; i++) {
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
		counter_wait(&c, i + 1);
	}
	ASSERT_UEQ(member_stats(m, 1).submitted, 1 + POOL_MULTI_AWAKE_QUEUE);
	ASSERT_UEQ(member_stats(m, 0).submitted + member_stats(m, 2).submitted,
		   30);
	ASSERT_EQ(counter_get(&q), 0);
	gate_open(&g);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_EQ(counter_get(&q), POOL_MULTI_AWAKE_QUEUE);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
	counter_destroy(&q);
}

/*
 * The wake rule under least-tasks: member 0's worker runs a task (load 1,
 * no wake needed), member 1's is parked (load 0, a submit would wake it).
 * Least-tasks takes the least loaded *awake* member: member 0, until
 * POOL_MULTI_AWAKE_QUEUE tasks are queued there; then no member is awake
 * and the least loaded of all (member 1) takes the next one.
 */
TEST(multi_least_tasks_prefers_awake_member)
{
	struct counter c, c1;
	struct gate g;
	pool_multi_t *m = awake_and_parked(POOL_LB_LEAST_TASKS, &c, &c1, &g);
	int i;

	for (i = 0; i < POOL_MULTI_AWAKE_QUEUE; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), POOL_MULTI_AWAKE_QUEUE);
	ASSERT_UEQ(member_stats(m, 1).submitted, 1);
	ASSERT_OK(pool_multi_submit(m, task_count, &c));
	counter_wait(&c, 1);
	ASSERT_UEQ(member_stats(m, 1).submitted, 2);
	ASSERT_UEQ(member_stats(m, 0).submitted, 1 + POOL_MULTI_AWAKE_QUEUE);

	gate_open(&g);
	counter_wait(&c, POOL_MULTI_AWAKE_QUEUE + 1);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
	counter_destroy(&c1);
}

/* Least-tasks does not retry: the member it chose is returned as is. Both
 * members' workers are started first (keyed), so both are awake and the
 * loads alone decide. */
TEST(multi_least_tasks_no_retry)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	struct gate g;
	pool_multi_t *m;

	gate_init(&g);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_LEAST_TASKS));
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_OK(pool_multi_submit_key(m, 1, task_gate, &g));
	gate_wait_entered(&g, 2);
	ASSERT_EQ(pool_multi_running_by_index(m, 0), 1);
	ASSERT_EQ(pool_multi_running_by_index(m, 1), 1);
	ASSERT_OK(pool_multi_submit(m, task_gate, &g));
	ASSERT_OK(pool_multi_submit(m, task_gate, &g));
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), 1);
	ASSERT_EQ(pool_multi_queued_by_index(m, 1), 1);
	ASSERT_ERR(pool_multi_submit(m, task_nop, NULL), POOL_EOVERLOAD);
	ASSERT_UEQ(multi_stats(m).rejected_overload, 1);
	gate_open(&g);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&g.passed), 4);
	gate_destroy(&g);
}

/* ---- custom pick ---- */

struct pick_ctx {
	atomic_int calls;
};

/* Tenant t (key = t) lives on member t / 10; key 99 is a bad pick. */
static int pick_tenant(void *ctx, uint64_t key, int n)
{
	struct pick_ctx *pc = ctx;

	atomic_fetch_add(&pc->calls, 1);
	if (key == 99)
		return n;
	if (key == 98)
		return -1;
	return (int)(key / 10) % n;
}

TEST(multi_custom_pick)
{
	pool_multi_options_t mo = POOL_MULTI_OPTIONS_INIT;
	pool_options_t o = test_opts(2, 0, 0);
	struct pick_ctx pc;
	struct counter c;
	pool_multi_t *m;
	int i;

	atomic_init(&pc.calls, 0);
	counter_init(&c);
	mo.strategy = POOL_LB_CUSTOM;
	mo.pick = pick_tenant;
	mo.pick_ctx = &pc;
	ASSERT_OK(pool_multi_new_opts(&m, 3, &o, &mo));
	for (i = 0; i < 30; i++)
		ASSERT_OK(
			pool_multi_submit_key(m, (uint64_t)i, task_count, &c));
	for (i = 0; i < 5; i++)
		ASSERT_OK(pool_multi_submit_key_timeout(m, 25, task_count, &c,
							SEC(1)));
	ASSERT_EQ(atomic_load(&pc.calls), 35);
	counter_wait(&c, 35);
	ASSERT_UEQ(member_stats(m, 0).submitted, 10);
	ASSERT_UEQ(member_stats(m, 1).submitted, 10);
	ASSERT_UEQ(member_stats(m, 2).submitted, 15);

	/* A pick outside 0 .. n-1: POOL_EINVAL, nothing accepted. */
	ASSERT_ERR(pool_multi_submit_key(m, 99, task_count, &c), POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_key(m, 98, task_count, &c), POOL_EINVAL);
	ASSERT_UEQ(multi_stats(m).submitted, 35);

	/* Unkeyed submits go round-robin (multi_round_robin_*: the wake
	 * rule makes the split depend on which workers are awake) without
	 * calling the pick. */
	for (i = 0; i < 30; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_EQ(atomic_load(&pc.calls), 37);
	counter_wait(&c, 65);
	ASSERT_UEQ(multi_stats(m).submitted, 65);
	ASSERT_UGE(member_stats(m, 0).submitted, 10);
	ASSERT_UGE(member_stats(m, 1).submitted, 10);
	ASSERT_UGE(member_stats(m, 2).submitted, 15);
	ASSERT_OK(pool_multi_destroy(m));
	counter_destroy(&c);
}

/* Without a pick, a key selects member key % n under either strategy. */
TEST(multi_key_modulo)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	pool_multi_t *m;
	int s, i;

	counter_init(&c);
	for (s = POOL_LB_ROUND_ROBIN; s <= POOL_LB_LEAST_TASKS; s++) {
		ASSERT_OK(pool_multi_new(&m, 3, &o, s));
		for (i = 0; i < 9; i++)
			ASSERT_OK(pool_multi_submit_key(m, 5, task_count, &c));
		ASSERT_OK(pool_multi_submit_key(m, UINT64_MAX, task_count, &c));
		ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
		ASSERT_UEQ(member_stats(m, 2).submitted, 9);
		ASSERT_UEQ(member_stats(m, (int)(UINT64_MAX % 3)).submitted,
			   UINT64_MAX % 3 == 2 ? 10 : 1);
		ASSERT_OK(pool_multi_destroy(m));
	}
	counter_destroy(&c);
}

/* ---- release ---- */

/* Two stuck members: the waits share one deadline (per-member deadlines
 * would take twice as long), the result is POOL_ETIMEDOUT, the free member
 * drained; once the gate opens a second call returns 0. */
TEST(multi_release_timeout_shared_deadline)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	struct gate g;
	pool_multi_t *m;
	int64_t t0, elapsed;
	int i;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_OK(pool_multi_submit_key(m, 2, task_gate, &g));
	gate_wait_entered(&g, 2);
	for (i = 0; i < 10; i++)
		ASSERT_OK(pool_multi_submit_key(m, 1, task_count, &c));
	t0 = test_now_ns();
	ASSERT_ERR(pool_multi_release_timeout(m, SEC(1)), POOL_ETIMEDOUT);
	elapsed = test_now_ns() - t0;
	ASSERT_GE(elapsed, SEC(1));
	ASSERT_LT(elapsed, MS(1900));
	/* Every member closed; the free one ran everything and exited. */
	ASSERT_EQ(pool_multi_is_closed(m), 1);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(pool_multi_is_closed_by_index(m, i), 1);
	counter_wait(&c, 10);
	WAIT_UNTIL(member_stats(m, 1).workers == 0);
	ASSERT_ERR(pool_multi_submit(m, task_nop, NULL), POOL_ECLOSED);
	/* Still stuck: a zero timeout only checks. */
	ASSERT_ERR(pool_multi_release_timeout(m, 0), POOL_ETIMEDOUT);
	gate_open(&g);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_EQ(counter_get(&g.passed), 2);
	ASSERT_EQ(pool_multi_running(m), 0);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
}

static pool_multi_t *self_multi;
static int self_rc[3];

static void task_self_calls(void *arg)
{
	self_rc[0] = pool_multi_release_timeout(self_multi, SEC(1));
	self_rc[1] = pool_multi_destroy(self_multi);
	/* Allowed from a member's task. */
	self_rc[2] = pool_multi_submit(self_multi, task_nop, NULL);
	counter_add(arg, 1);
}

TEST(multi_deadlock_from_member_task)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter c;

	counter_init(&c);
	ASSERT_OK(pool_multi_new(&self_multi, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_submit_key(self_multi, 1, task_self_calls, &c));
	counter_wait(&c, 1);
	ASSERT_ERR(self_rc[0], POOL_EDEADLK);
	ASSERT_ERR(self_rc[1], POOL_EDEADLK);
	ASSERT_OK(self_rc[2]);
	/* Nothing was done: still open. */
	ASSERT_EQ(pool_multi_is_closed(self_multi), 0);
	ASSERT_OK(pool_multi_destroy(self_multi));
	counter_destroy(&c);
}

TEST(multi_release_closes_all)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	pool_multi_t *m;
	int i;

	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_LEAST_TASKS));
	for (i = 0; i < 30; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_EQ(pool_multi_is_closed(m), 0);
	ASSERT_OK(pool_multi_release(m));
	ASSERT_OK(pool_multi_release(m));
	ASSERT_EQ(pool_multi_is_closed(m), 1);
	ASSERT_ERR(pool_multi_submit(m, task_count, &c), POOL_ECLOSED);
	ASSERT_ERR(pool_multi_submit_key(m, 1, task_count, &c), POOL_ECLOSED);
	/* Accepted before the release: all run. */
	counter_wait(&c, 30);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_UEQ(multi_stats(m).rejected_closed, 2);
	ASSERT_OK(pool_multi_destroy(m));
	ASSERT_EQ(counter_get(&c), 30);
	counter_destroy(&c);
}

/* ---- reboot ---- */

TEST(multi_reboot)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	struct gate g;
	pool_multi_t *m;
	int i;

	gate_init(&g);
	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_reboot(m)); /* open: nothing to do */
	/* The last member is stuck: the first two reopen, then are closed
	 * again (all or nothing). */
	ASSERT_OK(pool_multi_submit_key(m, 2, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_ERR(pool_multi_release_timeout(m, 0), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_multi_reboot(m), POOL_EBUSY);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(pool_multi_is_closed_by_index(m, i), 1);
	ASSERT_ERR(pool_multi_submit_key(m, 0, task_count, &c), POOL_ECLOSED);
	gate_open(&g);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_OK(pool_multi_reboot(m));
	ASSERT_EQ(pool_multi_is_closed(m), 0);
	for (i = 0; i < 30; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	counter_wait(&c, 30);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
}

/* ---- tune ---- */

TEST(multi_tune)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter c;
	pool_multi_t *m;
	int i;

	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_EQ(pool_multi_cap(m), 6);
	ASSERT_OK(pool_multi_tune(m, 5));
	ASSERT_EQ(pool_multi_cap(m), 15);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(pool_multi_cap_by_index(m, i), 5);
	ASSERT_ERR(pool_multi_tune(m, 0), POOL_EINVAL);
	ASSERT_ERR(pool_multi_tune(m, -3), POOL_EINVAL);
	ASSERT_ERR(pool_multi_tune(m, (1 << 20) + 1), POOL_EINVAL);
	ASSERT_EQ(pool_multi_cap(m), 15);
	ASSERT_OK(pool_multi_tune(m, 1));
	ASSERT_EQ(pool_multi_cap(m), 3);
	ASSERT_EQ(pool_multi_available(m), 3);
	for (i = 0; i < 60; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	counter_wait(&c, 60);
	ASSERT_UEQ(multi_stats(m).tunes, 6);
	ASSERT_OK(pool_multi_release(m));
	ASSERT_ERR(pool_multi_tune(m, 4), POOL_ECLOSED);
	ASSERT_EQ(pool_multi_cap(m), 3);
	ASSERT_OK(pool_multi_destroy(m));
	counter_destroy(&c);
}

/* Growth that cannot allocate leaves every member's capacity unchanged. */
TEST(multi_alloc_sweep_tune)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter c;
	pool_multi_t *m;
	long k;
	int rc, i;

	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 3, &o, POOL_LB_ROUND_ROBIN));
	for (k = 0; k < MAX_SWEEP; k++) {
		pool__test_fail_after(k);
		rc = pool_multi_tune(m, 8);
		pool__test_fail_after(-1);
		if (rc == 0)
			break;
		if (rc != POOL_ENOMEM)
			FAIL("k=%ld: pool_multi_tune returned %s", k,
			     pool_err_name(rc));
		for (i = 0; i < 3; i++)
			ASSERT_EQ(pool_multi_cap_by_index(m, i), 2);
	}
	ASSERT_LT(k, MAX_SWEEP);
	/* At least the multi-pool's own allocation failed once. pool_tune
	 * itself allocates nothing since rings and shards are made on demand
	 * (docs/design.md, "Rings that follow the queue"), so no member's
	 * growth fails any more. */
	ASSERT_GE(k, 1);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(pool_multi_cap_by_index(m, i), 8);
	for (i = 0; i < 30; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	counter_wait(&c, 30);
	ASSERT_OK(pool_multi_destroy(m));
	counter_destroy(&c);
}

/* ---- reads ---- */

struct bg_multi {
	pthread_t thread;
	pool_multi_t *m;
	uint64_t key;
	void *arg;
	int rc;
};

static void *bg_multi_main(void *arg)
{
	struct bg_multi *b = arg;

	b->rc = pool_multi_submit_key(b->m, b->key, task_gate, b->arg);
	return NULL;
}

TEST(multi_reads_by_index)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct bg_multi b;
	struct gate g;
	pool_multi_t *m;
	pool_stats_t s = POOL_STATS_INIT;

	gate_init(&g);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_EQ(pool_multi_size(m), 2);
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	/* A third task for member 0 blocks: the member is full. */
	b.m = m;
	b.key = 0;
	b.arg = &g;
	thread_start(&b.thread, bg_multi_main, &b);
	WAIT_UNTIL(pool_multi_waiting_by_index(m, 0) == 1);

	ASSERT_EQ(pool_multi_cap_by_index(m, 0), 1);
	ASSERT_EQ(pool_multi_running_by_index(m, 0), 1);
	ASSERT_EQ(pool_multi_available_by_index(m, 0), 0);
	ASSERT_EQ(pool_multi_queued_by_index(m, 0), 1);
	ASSERT_EQ(pool_multi_is_closed_by_index(m, 0), 0);
	ASSERT_EQ(pool_multi_running_by_index(m, 1), 0);
	ASSERT_EQ(pool_multi_available_by_index(m, 1), 1);
	ASSERT_EQ(pool_multi_queued_by_index(m, 1), 0);
	ASSERT_EQ(pool_multi_waiting_by_index(m, 1), 0);
	ASSERT_OK(pool_multi_stats_by_index(m, 0, &s));
	ASSERT_UEQ(s.submitted, 2);
	ASSERT_UEQ(s.waiting, 1);
	ASSERT_OK(pool_multi_stats_by_index(m, 1, &s));
	ASSERT_UEQ(s.submitted, 0);

	ASSERT_EQ(pool_multi_cap(m), 2);
	ASSERT_EQ(pool_multi_running(m), 1);
	ASSERT_EQ(pool_multi_available(m), 1);
	ASSERT_EQ(pool_multi_waiting(m), 1);
	ASSERT_EQ(pool_multi_queued(m), 1);
	ASSERT_EQ(pool_multi_is_closed(m), 0);

	/* Bad index: POOL_EINVAL from every read. */
	for (int i = -1; i <= 2; i += 3) {
		ASSERT_ERR(pool_multi_cap_by_index(m, i), POOL_EINVAL);
		ASSERT_ERR(pool_multi_running_by_index(m, i), POOL_EINVAL);
		ASSERT_ERR(pool_multi_available_by_index(m, i), POOL_EINVAL);
		ASSERT_ERR(pool_multi_waiting_by_index(m, i), POOL_EINVAL);
		ASSERT_ERR(pool_multi_queued_by_index(m, i), POOL_EINVAL);
		ASSERT_ERR(pool_multi_is_closed_by_index(m, i), POOL_EINVAL);
		ASSERT_ERR(pool_multi_stats_by_index(m, i, &s), POOL_EINVAL);
	}
	ASSERT_ERR(pool_multi_stats_by_index(m, 0, NULL), POOL_EINVAL);
	s.size = 1;
	ASSERT_ERR(pool_multi_stats_by_index(m, 0, &s), POOL_EINVAL);

	gate_open(&g);
	thread_join(b.thread);
	ASSERT_OK(b.rc);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_EQ(counter_get(&g.passed), 3);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
}

/* The sums equal the members' stats added up, field by field. */
TEST(multi_stats_sum)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_stats_t s, a, b;
	struct counter c;
	pool_multi_t *m;
	int i;

	counter_init(&c);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_LEAST_TASKS));
	for (i = 0; i < 100; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_OK(pool_multi_tune(m, 3));
	ASSERT_OK(pool_multi_release_timeout(m, SEC(10)));
	ASSERT_ERR(pool_multi_submit(m, task_count, &c), POOL_ECLOSED);
	s = multi_stats(m);
	a = member_stats(m, 0);
	b = member_stats(m, 1);
	ASSERT_UEQ(s.capacity, 6);
	ASSERT_UEQ(s.submitted, 100);
	ASSERT_UEQ(s.completed, 100);
	ASSERT_UEQ(s.rejected_closed, 1);
	ASSERT_UEQ(s.tunes, 2);
	ASSERT_STATS_BALANCED(s);
	ASSERT_UEQ(s.submitted, a.submitted + b.submitted);
	ASSERT_UEQ(s.spawned, a.spawned + b.spawned);
	ASSERT_UEQ(s.stolen, a.stolen + b.stolen);
	ASSERT_UEQ(s.rejected_closed, a.rejected_closed + b.rejected_closed);
	ASSERT_ERR(pool_multi_stats(m, NULL), POOL_EINVAL);
	s.size = 0;
	ASSERT_ERR(pool_multi_stats(m, &s), POOL_EINVAL);
	ASSERT_OK(pool_multi_destroy(m));
	counter_destroy(&c);
}

/* ---- bad arguments ---- */

static int pick_zero(void *ctx, uint64_t key, int n)
{
	(void)ctx;
	(void)key;
	(void)n;
	return 0;
}

TEST(multi_bad_arguments)
{
	pool_multi_options_t mo = POOL_MULTI_OPTIONS_INIT;
	pool_options_t o = test_opts(1, 0, 0);
	pool_options_t bad = test_opts(-1, 0, 0);
	pool_multi_t *m = SENTINEL;
	pool_stats_t s = POOL_STATS_INIT;
	long before = pool__test_alloc_calls();

	ASSERT_ERR(pool_multi_new(NULL, 2, &o, POOL_LB_ROUND_ROBIN),
		   POOL_EINVAL);
	ASSERT_ERR(pool_multi_new(&m, 0, &o, POOL_LB_ROUND_ROBIN), POOL_EINVAL);
	ASSERT_ERR(pool_multi_new(&m, -1, &o, POOL_LB_ROUND_ROBIN),
		   POOL_EINVAL);
	ASSERT_ERR(
		pool_multi_new(&m, POOL_MULTI_MAX + 1, &o, POOL_LB_ROUND_ROBIN),
		POOL_EINVAL);
	ASSERT_ERR(pool_multi_new(&m, 2, &o, 3), POOL_EINVAL);
	ASSERT_ERR(pool_multi_new(&m, 2, &o, -1), POOL_EINVAL);
	/* The custom strategy needs a pick: not through pool_multi_new. */
	ASSERT_ERR(pool_multi_new(&m, 2, &o, POOL_LB_CUSTOM), POOL_EINVAL);
	mo.strategy = POOL_LB_CUSTOM;
	ASSERT_ERR(pool_multi_new_opts(&m, 2, &o, &mo), POOL_EINVAL);
	mo.strategy = POOL_LB_ROUND_ROBIN;
	mo.pick = pick_zero;
	ASSERT_ERR(pool_multi_new_opts(&m, 2, &o, &mo), POOL_EINVAL);
	mo.strategy = 7;
	ASSERT_ERR(pool_multi_new_opts(&m, 2, &o, &mo), POOL_EINVAL);
	mo.strategy = POOL_LB_CUSTOM;
	mo.size = sizeof(mo) - 1;
	ASSERT_ERR(pool_multi_new_opts(&m, 2, &o, &mo), POOL_EINVAL);
	/* Nothing was allocated for any of these. */
	ASSERT_EQ(pool__test_alloc_calls(), before);
	/* A bad member option: the members made so far (none) are freed. */
	ASSERT_ERR(pool_multi_new(&m, 2, &bad, POOL_LB_ROUND_ROBIN),
		   POOL_EINVAL);
	ASSERT_PTR_EQ(m, SENTINEL);

	/* NULL handle. */
	ASSERT_ERR(pool_multi_submit(NULL, task_nop, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_try_submit(NULL, task_nop, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_timeout(NULL, task_nop, NULL, 1),
		   POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_key(NULL, 1, task_nop, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_key_timeout(NULL, 1, task_nop, NULL, 1),
		   POOL_EINVAL);
	ASSERT_ERR(pool_multi_tune(NULL, 1), POOL_EINVAL);
	ASSERT_ERR(pool_multi_size(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_cap(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_running(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_available(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_waiting(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_queued(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_is_closed(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_stats(NULL, &s), POOL_EINVAL);
	ASSERT_ERR(pool_multi_running_by_index(NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_multi_stats_by_index(NULL, 0, &s), POOL_EINVAL);
	ASSERT_ERR(pool_multi_release(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_release_timeout(NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_multi_reboot(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_destroy(NULL), POOL_EINVAL);

	/* NULL fn, negative timeouts. */
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_ERR(pool_multi_submit(m, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_try_submit(m, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_timeout(m, NULL, NULL, 1), POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_timeout(m, task_nop, NULL, -1),
		   POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_key(m, 0, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_submit_key_timeout(m, 0, task_nop, NULL, -1),
		   POOL_EINVAL);
	ASSERT_ERR(pool_multi_release_timeout(m, -1), POOL_EINVAL);
	ASSERT_UEQ(multi_stats(m).submitted, 0);
	ASSERT_EQ(pool_multi_is_closed(m), 0);
	ASSERT_OK(pool_multi_destroy(m));
}

/* ---- allocation failure ---- */

static void sweep_multi_new(int n, const pool_options_t *o, int strategy)
{
	long k, before, calls;
	struct counter c;
	pool_multi_t *m;
	int rc, i;

	for (k = 0; k < MAX_SWEEP; k++) {
		m = SENTINEL;
		before = pool__test_alloc_calls();
		pool__test_fail_after(k);
		rc = pool_multi_new(&m, n, o, strategy);
		pool__test_fail_after(-1);
		calls = pool__test_alloc_calls() - before;
		if (rc == 0)
			break;
		if (rc != POOL_ENOMEM)
			FAIL("k=%ld: pool_multi_new returned %s, expected "
			     "POOL_ENOMEM",
			     k, pool_err_name(rc));
		if (m != SENTINEL)
			FAIL("k=%ld: *out changed on failure", k);
		if (calls < k + 1)
			FAIL("k=%ld: only %ld allocation calls counted", k,
			     calls);
	}
	/* The multi-pool, its table and every member's allocations. */
	ASSERT_GE(k, 2 + n);
	ASSERT_LT(k, MAX_SWEEP);
	ASSERT_NE(m, SENTINEL);
	ASSERT_EQ(pool_multi_size(m), n);
	counter_init(&c);
	for (i = 0; i < 10 * n; i++)
		ASSERT_OK(pool_multi_submit(m, task_count, &c));
	ASSERT_OK(pool_multi_release_timeout(m, SEC(30)));
	ASSERT_EQ(counter_get(&c), 10 * n);
	ASSERT_OK(pool_multi_destroy(m));
	counter_destroy(&c);
}

TEST(multi_alloc_sweep_new_lazy)
{
	pool_options_t o = test_opts(2, 16, 0);

	sweep_multi_new(3, &o, POOL_LB_ROUND_ROBIN);
}

TEST(multi_alloc_sweep_new_prealloc)
{
	pool_options_t o = test_opts(2, 0, POOL_PREALLOC);

	sweep_multi_new(3, &o, POOL_LB_LEAST_TASKS);
}

/* ---- concurrency ---- */

struct churn {
	pool_multi_t *m;
	atomic_int stop;
	int rc;
};

static void *tuner_main(void *arg)
{
	struct churn *ch = arg;
	int cap = 1;

	ch->rc = 0;
	while (!atomic_load(&ch->stop) && ch->rc == 0) {
		cap = cap % 4 + 1;
		ch->rc = pool_multi_tune(ch->m, cap);
		(void)pool_multi_queued(ch->m);
		(void)pool_multi_running_by_index(ch->m, cap % 3);
	}
	return NULL;
}

/* Two producers under each strategy while another thread tunes and reads:
 * every accepted task runs, and the counts balance. */
TEST(multi_concurrent_submit_tune)
{
	pool_options_t o = test_opts(2, 4, 0);
	struct producer pr[2];
	struct churn ch;
	pthread_t tuner;
	struct counter c;
	pool_stats_t s;
	int strategy, i;

	for (strategy = POOL_LB_ROUND_ROBIN; strategy <= POOL_LB_LEAST_TASKS;
	     strategy++) {
		counter_init(&c);
		ASSERT_OK(pool_multi_new(&ch.m, 3, &o, strategy));
		atomic_init(&ch.stop, 0);
		thread_start(&tuner, tuner_main, &ch);
		for (i = 0; i < 2; i++) {
			pr[i].m = ch.m;
			pr[i].c = &c;
			pr[i].n = 5000;
			thread_start(&pr[i].thread, producer_main, &pr[i]);
		}
		for (i = 0; i < 2; i++) {
			thread_join(pr[i].thread);
			ASSERT_OK(pr[i].rc);
		}
		atomic_store(&ch.stop, 1);
		thread_join(tuner);
		ASSERT_OK(ch.rc);
		ASSERT_OK(pool_multi_release_timeout(ch.m, SEC(30)));
		ASSERT_EQ(counter_get(&c), 10000);
		s = multi_stats(ch.m);
		ASSERT_UEQ(s.submitted, 10000);
		ASSERT_UEQ(s.completed, 10000);
		ASSERT_STATS_BALANCED(s);
		ASSERT_OK(pool_multi_destroy(ch.m));
		counter_destroy(&c);
	}
}
