/* SPDX-License-Identifier: MIT */
/*
 * The idle search over tracked rings (issue 15 step C, docs/design.md "The
 * idle search: summary bits over the overflow rings"). Rings added after
 * pool_new (overflow rings) are found through a summary bit per ring; a pop
 * that empties one clears its bit, re-checks the ring and sets the bit again
 * if a push slipped in. The race cases run the other party at the test
 * point POOL_TP_RING_EMPTIED (lib/internal.h), in the popper's thread
 * before its clear; pool__ring_bits reads the bits.
 *
 * Every pool here has capacity 1 at pool_new, so it has one base ring on
 * any machine (min(capacity, CPUs)), and is tuned up afterwards: every
 * ring a submitter adds is tracked.
 */
#include "test.h"

struct pool;
typedef void (*pool_test_hook_fn)(int point, struct pool *p);
void pool__test_set_hook(pool_test_hook_fn fn);
unsigned pool__ring_bits(struct pool *p);
int64_t pool__test_ring_claim(struct pool *p, uint32_t i);
void pool__test_ring_publish(struct pool *p, uint32_t i, int64_t pos,
			     void (*fn)(void *), void *arg);

/* Atomics: the hook runs on a worker thread, and the hook pointer itself
 * is published relaxed (failpoint.c). */
static _Atomic(pool_t *) hook_pool;
static _Atomic(struct counter *) hook_counter;
static atomic_int hook_fired;
static atomic_int hook_rc[2];

/* In the popper's thread, before it clears the bit of the ring it emptied:
 * push one task into its home ring 0 (empty), then one more: ring 0 is
 * full, so it goes into the emptied overflow ring, whose bit is still set,
 * so the push does not set it. Then the popper clears the bit with a task
 * queued: only its re-check can set it again. */
static void emptied_hook(int point, struct pool *p)
{
	pool_t *hp = atomic_load(&hook_pool);
	struct counter *hc = atomic_load(&hook_counter);

	if (point != POOL_TP_RING_EMPTIED || p != hp ||
	    atomic_exchange(&hook_fired, 1))
		return;
	atomic_store(&hook_rc[0], pool_try_submit(hp, task_count, hc));
	atomic_store(&hook_rc[1], pool_try_submit(hp, task_count, hc));
}

static atomic_uint bits_seen;
static atomic_int bits_recorded;

/* The popped task: runs after the popper's re-check. */
static void task_record_bits(void *arg)
{
	atomic_store(&bits_seen, pool__ring_bits(arg));
	atomic_store(&bits_recorded, 1);
}

/*
 * A push lands in the popper's window (after it saw the ring empty, before
 * its clear): the re-check sets the bit again, so the task is found and
 * runs. Without the re-check (BUG_NO_RECHECK in the model) the bit stays
 * clear, the only free worker parks and the task is never run.
 */
TEST(push_in_untrack_window_runs)
{
	pool_options_t o = test_opts(1, 1, POOL_DISABLE_PURGE);
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	/* Worker 0 runs the gate task (ring 0, then blocked). */
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	/* A task in ring 0; tune to 2 starts worker Q (home ring 0, the only
	 * ring), which runs it and parks. */
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_tune(p, 2));
	counter_wait(&c, 1);
	WAIT_UNTIL(test_stats(p).idle == 1);
	/* Paused: Q wakes for the next submit but takes nothing. F1 fills
	 * ring 0, X makes overflow ring 1 (bit set). */
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_submit(p, task_record_bits, p));
	ASSERT_EQ(test_stats(p).queued, 2);
	ASSERT_EQ(pool__ring_bits(p), 1);
	atomic_store(&hook_counter, &c);
	atomic_store(&hook_fired, 0);
	atomic_store(&hook_pool, p);
	pool__test_set_hook(emptied_hook);
	/* Q pops F1 (home), then steals X through ring 1's bit, emptying
	 * ring 1: the hook runs. */
	pool_resume(p);
	WAIT_UNTIL(atomic_load(&bits_recorded));
	pool__test_set_hook(NULL);
	ASSERT_EQ(atomic_load(&hook_fired), 1);
	ASSERT_OK(atomic_load(&hook_rc[0]));
	ASSERT_OK(atomic_load(&hook_rc[1]));
	/* X ran after Q's re-check, before Q looked again: ring 1 holds the
	 * hook's second task and its bit is set again. */
	ASSERT_EQ(atomic_load(&bits_seen), 1);
	/* F1 and both hook tasks ran (the worker in the gate is busy). */
	counter_wait(&c, 4);
	WAIT_UNTIL(test_stats(p).idle == 1 && pool__ring_bits(p) == 0);
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), 4);
	gate_destroy(&g);
	counter_destroy(&c);
}

static atomic_int discarded;

static void count_discard(pool_task_fn fn, void *arg, void *ctx)
{
	(void)fn;
	(void)arg;
	(void)ctx;
	atomic_fetch_add(&discarded, 1);
}

/*
 * Stale bits (set, ring empty) are allowed and cleaned by the next search:
 * pool_stop's discard pass empties overflow rings and clears no bit (it
 * never hands off). With every worker held in a gate task the bits stay
 * stale; once the workers are let go, each one's last search finds the set
 * bits on empty rings and cleans them. After pool_reboot the pool runs
 * tasks in every ring and its workers park with no bit left set.
 */
TEST(stale_bits_cleaned_then_park)
{
	pool_options_t o = test_opts(1, 1, POOL_DISABLE_PURGE);
	struct bg_call stop = {.on_discard = count_discard};
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_tune(p, 3));
	/* Three workers held in the gate (each gate task in ring 0). */
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(pool_submit(p, task_gate, &g));
		gate_wait_entered(&g, i + 1);
	}
	/* One task in ring 0, one in each added ring 1 and 2 (one slot
	 * each): both overflow rings tracked. */
	for (int i = 0; i < 3; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_EQ(test_stats(p).queued, 3);
	ASSERT_EQ(pool__ring_bits(p), 2);
	bg_start(&stop, BG_STOP, p, NULL, NULL);
	WAIT_UNTIL(atomic_load(&discarded) == 3);
	ASSERT_EQ(test_stats(p).queued, 0);
	ASSERT_EQ(pool__ring_bits(p), 2); /* stale: nobody searched */
	gate_open(&g);
	ASSERT_OK(bg_join(&stop));
	ASSERT_EQ(pool__ring_bits(p), 0); /* the exiting searches */
	ASSERT_OK(pool_reboot(p));
	ASSERT_OK(pool_pause(p));
	for (int i = 0; i < 3; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_EQ(pool__ring_bits(p), 2);
	pool_resume(p);
	counter_wait(&c, 3);
	WAIT_UNTIL(test_stats(p).idle == test_stats(p).workers &&
		   pool__ring_bits(p) == 0);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), 3);
	ASSERT_EQ(atomic_load(&discarded), 3);
	gate_destroy(&g);
	counter_destroy(&c);
}

/*
 * A claim is not a task (docs/design.md): a pusher stopped between its head
 * CAS and its publish leaves ring_count != 0 with nothing to pop. The
 * parked worker that looks (P4) must not go back to searching for it (it
 * would spin until the pusher runs again, and with thousands of workers
 * that starves the pusher); it takes the stall watch and naps with a
 * timeout, on the idle stack, looking again after each nap. The claim is
 * made and published by the test (pool__test_ring_claim / _publish, as
 * ring_push does), the worker is woken with the claim pending by
 * pool_resume (which wakes every worker when a ring holds a claim).
 */
static atomic_int stall_naps;
static atomic_int stall_off_stack;
static _Atomic(pool_t *) stall_pool;

static void stall_hook(int point, struct pool *p)
{
	pool_t *sp = atomic_load(&stall_pool);

	if (point != POOL_TP_PARK_STALL || p != sp)
		return;
	/* The watcher naps as a parked worker: counted on the idle stack,
	 * not as a searcher. */
	if (test_stats(sp).idle != 1)
		atomic_store(&stall_off_stack, 1);
	atomic_fetch_add(&stall_naps, 1);
}

/* Capacity 1, one ring of 4 slots; the worker ran a task and parked; the
 * ring's next slot claimed; the worker woken; returns the position. */
static int64_t stall_setup(pool_t **pp, struct counter *c)
{
	pool_options_t o = test_opts(1, 4, POOL_DISABLE_PURGE);
	int64_t pos;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_count, c));
	counter_wait(c, 1);
	WAIT_UNTIL(test_stats(p).idle == 1);
	atomic_store(&stall_naps, 0);
	atomic_store(&stall_off_stack, 0);
	atomic_store(&stall_pool, p);
	pool__test_set_hook(stall_hook);
	pos = pool__test_ring_claim(p, 0);
	ASSERT_GE(pos, 0);
	ASSERT_OK(pool_pause(p));
	pool_resume(p);
	*pp = p;
	return pos;
}

TEST(claim_alone_parks_with_timed_naps)
{
	struct counter c;
	int64_t pos;
	pool_t *p;

	counter_init(&c);
	pos = stall_setup(&p, &c);
	/* Look, nap, look again: three naps in a row, each on the stack. */
	WAIT_UNTIL(atomic_load(&stall_naps) >= 3);
	ASSERT_EQ(atomic_load(&stall_off_stack), 0);
	ASSERT_EQ(test_stats(p).completed, 1);
	/* The publish, with no kick: the watcher's next look finds it. */
	pool__test_ring_publish(p, 0, pos, task_count, &c);
	counter_wait(&c, 2);
	pool__test_set_hook(NULL);
	WAIT_UNTIL(test_stats(p).idle == 1);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), 2);
	counter_destroy(&c);
}

static atomic_int order_next;

static void task_order(void *arg)
{
	atomic_store((atomic_int *)arg, atomic_fetch_add(&order_next, 1) + 1);
}

/*
 * A task submitted behind a stalled claim (the next slot of the same ring)
 * wakes the watcher from its nap (the kick), which still cannot pop (a
 * ring is FIFO) and watches again; once the claim is published both run,
 * the claimed one first.
 */
TEST(task_behind_claim_runs_after_publish)
{
	atomic_int first = 0, second = 0;
	struct counter c;
	int64_t pos;
	pool_t *p;
	int naps;

	counter_init(&c);
	atomic_store(&order_next, 0);
	pos = stall_setup(&p, &c);
	WAIT_UNTIL(atomic_load(&stall_naps) >= 1);
	ASSERT_OK(pool_submit(p, task_order, &second));
	naps = atomic_load(&stall_naps);
	WAIT_UNTIL(atomic_load(&stall_naps) >= naps + 2);
	ASSERT_EQ(atomic_load(&stall_off_stack), 0);
	ASSERT_EQ(atomic_load(&second), 0);
	ASSERT_EQ(test_stats(p).queued, 2); /* the claim counts as queued */
	pool__test_ring_publish(p, 0, pos, task_order, &first);
	WAIT_UNTIL(atomic_load(&second) != 0);
	pool__test_set_hook(NULL);
	ASSERT_EQ(atomic_load(&first), 1);
	ASSERT_EQ(atomic_load(&second), 2);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/*
 * Ramp-up (docs/design.md, "Ramp-up"): a searcher that finds work in a ring
 * still holding more tasks than there are searchers wakes one more parked
 * worker, so a burst wakes the workers in a tree rather than one hand-off
 * at a time. Capacity 4, all workers started; worker A held on a gate; the
 * head slot of each base ring claimed and not published (as for a pusher
 * stopped between its claim and its publish), and 40 tasks submitted
 * behind the claims: the kicks wake the other three, which cannot pop and
 * park again (one watching the claims). Then the claims are published: the
 * worker that comes back takes a task from a ring with at least 16 left
 * while at most 3 search, so its ramp-up asks for a wake (test point
 * POOL_TP_RAMP_UP) whatever the hand-off chain did meanwhile. With the
 * hand-off alone the point never fires.
 */
static atomic_int ramp_fired;

static void ramp_hook(int point, struct pool *p)
{
	if (p != atomic_load(&stall_pool))
		return;
	if (point == POOL_TP_RAMP_UP)
		atomic_fetch_add(&ramp_fired, 1);
	else if (point == POOL_TP_PARK_STALL)
		atomic_fetch_add(&stall_naps, 1);
}

TEST(burst_wakes_in_a_tree)
{
	pool_options_t o = test_opts(4, 64, POOL_DISABLE_PURGE | POOL_PREALLOC);
	int64_t pos[2];
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	WAIT_UNTIL(test_stats(p).idle == 4);
	test_hold_workers(p, &g, 1);
	WAIT_UNTIL(test_stats(p).idle == 3);
	atomic_store(&ramp_fired, 0);
	atomic_store(&stall_naps, 0);
	atomic_store(&stall_pool, p);
	pool__test_set_hook(ramp_hook);
	/* Ring 1 exists where the machine has two CPUs or more. */
	pos[0] = pool__test_ring_claim(p, 0);
	pos[1] = pool__test_ring_claim(p, 1);
	ASSERT_GE(pos[0], 0);
	for (int i = 0; i < 40; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	WAIT_UNTIL(test_stats(p).idle == 3 && atomic_load(&stall_naps) >= 1);
	ASSERT_EQ(counter_get(&c), 0);
	ASSERT_EQ(atomic_load(&ramp_fired), 0);
	for (int r = 0; r < 2; r++)
		if (pos[r] >= 0)
			pool__test_ring_publish(p, (uint32_t)r, pos[r],
						task_count, &c);
	counter_wait(&c, 40 + (pos[1] >= 0 ? 2 : 1));
	pool__test_set_hook(NULL);
	ASSERT_GE(atomic_load(&ramp_fired), 1);
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
}

/*
 * Ramp-up into a cold pool: with no worker parked, a searcher that finds
 * work in a ring holding more tasks than searchers starts one more thread
 * (fewer than POOL_RAMP_STARTING starting), so a burst starts several at
 * once instead of one hand-off after the other. Capacity 4, no worker yet;
 * every worker_init waits on a gate, so all 40 tasks (each held on a second
 * gate) are queued before the first worker looks. When it finds its task
 * it hands off (starts the second thread) and its ramp-up, finding nobody
 * parked and at most 3 tasks gone of 40, starts a third (test point
 * POOL_TP_RAMP_SPAWN). The hand-off alone never reaches that point. Then
 * the pool has its 4 workers and not one more, and every task runs.
 */
static _Atomic(pool_t *) cold_pool;
static atomic_int ramp_spawns;

static void cold_hook(int point, struct pool *p)
{
	if (p == (struct pool *)atomic_load(&cold_pool) &&
	    point == POOL_TP_RAMP_SPAWN)
		atomic_fetch_add(&ramp_spawns, 1);
}

static int gated_init(void *ctx, unsigned id, void **state)
{
	(void)id;
	(void)state;
	gate_pass(ctx);
	return 0;
}

TEST(cold_burst_starts_threads_at_once)
{
	pool_options_t o = test_opts(4, 64, POOL_DISABLE_PURGE);
	struct gate init, run;
	pool_stats_t s;
	pool_t *p;

	gate_init(&init);
	gate_init(&run);
	o.worker_init = gated_init;
	o.worker_ctx = &init;
	atomic_store(&ramp_spawns, 0);
	ASSERT_OK(pool_new(&p, &o));
	atomic_store(&cold_pool, p);
	pool__test_set_hook(cold_hook);
	/* pool_try_submit starts the first worker without waiting for its
	 * init (a blocking submit would wait for the verdict). */
	for (int i = 0; i < 40; i++)
		ASSERT_OK(pool_try_submit(p, task_gate, &run));
	gate_wait_entered(&init, 1);
	ASSERT_EQ(atomic_load(&ramp_spawns), 0);
	gate_open(&init);
	gate_wait_entered(&run, 4);
	ASSERT_GE(atomic_load(&ramp_spawns), 1);
	pool__test_set_hook(NULL);
	s = test_stats(p);
	ASSERT_EQ(s.workers, 4);
	ASSERT_EQ(s.spawned, 4);
	gate_open(&run);
	counter_wait(&run.passed, 40);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&run);
	gate_destroy(&init);
}
