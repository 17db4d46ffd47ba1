/* SPDX-License-Identifier: MIT */
/*
 * Memory that follows use (issue 15, docs/design.md "Rings that follow the
 * queue, shards that follow the workers"): rings are added as tasks queue,
 * shards as workers start, so a pool's memory follows its queue and its
 * workers, not its capacity. The RSS cases compare a pool with its peer
 * measured in the same process; the race cases hold a submitter at the
 * test point POOL_TP_RING_ADDED (lib/internal.h), between its new ring's
 * publication and its push, and run the other party there.
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE /* URCU_TLS(urcu_bp_reader): a thread's registration */
#include <pool/metrics.h>
#include <unistd.h>
#include <urcu/urcu-bp.h>

#include "test.h"

struct pool;
typedef void (*pool_test_hook_fn)(int point, struct pool *p);
void pool__test_set_hook(pool_test_hook_fn fn);
long pool__test_alloc_calls(void);

/* RSS bounds hold in the plain build; the sanitizers' shadow memory and
 * quarantines make RSS follow their bookkeeping, not ours. */
#if !defined(UNDER_ASAN) && !defined(UNDER_TSAN)
#define CHECK_RSS 1
#else
#define CHECK_RSS 0
#endif

/* RSS growth (KiB) of a pool of `cap` with `running` workers each held in
 * a gate task, measured while they run; the pool is destroyed after. */
static long rss_with_running(int cap, int running)
{
	pool_options_t o = test_opts(cap, 0, POOL_DISABLE_PURGE);
	struct gate g;
	long before, grown;
	pool_t *p;

	gate_init(&g);
	before = rss_kib();
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < running; i++) {
		ASSERT_OK(pool_submit(p, task_gate, &g));
		gate_wait_entered(&g, i + 1);
	}
	ASSERT_EQ(pool_running(p), running);
	grown = rss_kib() - before;
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	return grown;
}

/* capacity = 1 << 20 with 4 workers running costs about what capacity 4
 * costs (before: 6.6 GB at pool_new). */
TEST(capacity_1m_costs_like_capacity_4)
{
	long small, big, before, at_new;
	pool_t *p;
	pool_options_t o = test_opts(1 << 20, 0, 0);

	/* Warm up: thread stacks and allocator arenas of the first run. */
	(void)rss_with_running(4, 4);
	small = rss_with_running(4, 4);
	big = rss_with_running(1 << 20, 4);
	if (CHECK_RSS)
		ASSERT_LE(big, small + 1024);

	before = rss_kib();
	ASSERT_OK(pool_new(&p, &o));
	at_new = rss_kib() - before;
	if (CHECK_RSS)
		ASSERT_LT(at_new, 1024);
	ASSERT_EQ(pool_cap(p), 1 << 20);
	ASSERT_OK(pool_destroy(p));
}

/* pool_tune to a large capacity allocates nothing until workers or queued
 * tasks need it (before: 788 MiB for pool_tune(4096) on capacity 1). */
TEST(tune_large_is_cheap)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	long before, grown;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	before = rss_kib();
	ASSERT_OK(pool_tune(p, 4096));
	ASSERT_OK(pool_tune(p, 1 << 20));
	grown = rss_kib() - before;
	if (CHECK_RSS)
		ASSERT_LT(grown, 512);
	ASSERT_EQ(pool_cap(p), 1 << 20);
	for (int i = 0; i < 100; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	counter_wait(&c, 100);
	ASSERT_OK(pool_tune(p, 1));
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* Pools of capacity 1 << 20 made and destroyed in a loop leave nothing
 * behind (every ring, shard and array of the sets is freed). */
TEST(rss_flat_over_lifecycles_1m)
{
	pool_options_t o = test_opts(1 << 20, 0, 0);
	struct counter c;
	long before = 0, after;
	int cycles = 300, warm = 50;

	counter_init(&c);
	for (int i = 0; i < cycles; i++) {
		pool_t *p;

		if (i == warm)
			before = rss_kib();
		ASSERT_OK(pool_new(&p, &o));
		ASSERT_OK(pool_submit(p, task_count, &c));
		ASSERT_OK(pool_destroy(p));
	}
	after = rss_kib();
	ASSERT_EQ(counter_get(&c), cycles);
	if (CHECK_RSS)
		ASSERT_LT(after - before, 4096);
	counter_destroy(&c);
}

/* A large ring costs what its queue reaches, not its capacity: its slots
 * are zeroed pages until written (lib/ring-inl.h keeps seq relative to the
 * lap, so an all-zero ring is a ready one). Before: pool_new with
 * ring_capacity 1 << 20 wrote every slot, 32 MiB resident at once. */
TEST(large_ring_pages_follow_the_queue)
{
	enum { QUEUED = 65536 }; /* 2 MiB of slots */
	pool_options_t o = test_opts(1, 1u << 20, 0);
	long before, at_new, queued;
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	before = rss_kib();
	ASSERT_OK(pool_new(&p, &o));
	at_new = rss_kib() - before;
	if (CHECK_RSS)
		ASSERT_LT(at_new, 1024);
	/* The one worker held, QUEUED tasks behind it, all in the ring. */
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (int i = 0; i < QUEUED; i++)
		ASSERT_OK(pool_try_submit(p, task_count, &c));
	ASSERT_EQ(pool_queued(p), QUEUED);
	queued = rss_kib() - before;
	if (CHECK_RSS) {
		/* The written slots (2 MiB) and little more. */
		ASSERT_GE(queued, at_new + 1024);
		ASSERT_LT(queued, at_new + 6 * 1024);
	}
	gate_open(&g);
	counter_wait(&c, QUEUED);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), QUEUED);
	gate_destroy(&g);
	counter_destroy(&c);
}

/* Rings are added on demand, but the bound is unchanged: capacity x
 * ring_capacity tasks queued at most. */
TEST(bound_is_capacity_times_ring)
{
	pool_options_t o = test_opts(4, 1, POOL_DISABLE_PURGE);
	struct counter c;
	struct gate g;
	int accepted = 0, rc;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < 4; i++) {
		ASSERT_OK(pool_submit(p, task_gate, &g));
		gate_wait_entered(&g, i + 1);
	}
	while ((rc = pool_try_submit(p, task_count, &c)) == 0)
		accepted++;
	ASSERT_ERR(rc, POOL_EOVERLOAD);
	ASSERT_EQ(accepted, 4);
	ASSERT_EQ(pool_queued(p), 4);
	gate_open(&g);
	counter_wait(&c, 4);
	WAIT_UNTIL(test_stats(p).completed == 8);
	ASSERT_STATS_BALANCED(test_stats(p));
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), 4);
	gate_destroy(&g);
	counter_destroy(&c);
}

/*
 * The setup of the race cases: capacity 1 at pool_new (one ring, whatever
 * the CPU count), ring_capacity 1, tuned to 3; three workers held in gate
 * tasks (each submitted after the previous one was popped, so ring 0 stays
 * the only ring); then one task queued: ring 0 is full, the pool may add
 * two rings.
 */
static pool_t *race_pool(struct gate *g, struct counter *c)
{
	pool_options_t o = test_opts(1, 1, POOL_DISABLE_PURGE);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, g));
	gate_wait_entered(g, 1);
	ASSERT_OK(pool_tune(p, 3));
	for (int i = 1; i < 3; i++) {
		ASSERT_OK(pool_submit(p, task_gate, g));
		gate_wait_entered(g, i + 1);
	}
	ASSERT_EQ(pool_running(p), 3);
	ASSERT_EQ(pool_queued(p), 0);
	ASSERT_OK(pool_try_submit(p, task_count, c));
	ASSERT_EQ(pool_queued(p), 1);
	return p;
}

enum { H_TAKE, H_TUNE_DOWN };
static atomic_int hook_mode, hook_fired, hook_nested_rc, hook_queued_seen;
static pool_t *hook_pool;
static struct counter *hook_counter;

/* At POOL_TP_RING_ADDED (inside the adding submitter's read-side section,
 * grow_lock released). The first time only: the new ring is published and
 * still empty; the other party runs now. */
static void ring_hook(int point, struct pool *ip)
{
	(void)ip;
	if (point != POOL_TP_RING_ADDED)
		return;
	if (atomic_fetch_add(&hook_fired, 1) != 0)
		return;
	atomic_store(&hook_queued_seen, pool_queued(hook_pool));
	if (atomic_load(&hook_mode) == H_TAKE)
		/* Another submitter takes the new ring's only slot. */
		atomic_store(
			&hook_nested_rc,
			pool_try_submit(hook_pool, task_count, hook_counter));
	else
		/* pool_tune down between the growth and the push. */
		atomic_store(&hook_nested_rc, pool_tune(hook_pool, 1));
}

/* A ring added by one submitter is taken by another before the first one
 * pushes: the first one adds the next ring and pushes there; the bound
 * holds and every task runs once. */
TEST(ring_added_then_taken)
{
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	p = race_pool(&g, &c);
	hook_pool = p;
	hook_counter = &c;
	atomic_store(&hook_mode, H_TAKE);
	atomic_store(&hook_fired, 0);
	pool__test_set_hook(ring_hook);
	ASSERT_OK(pool_try_submit(p, task_count, &c));
	pool__test_set_hook(NULL);
	/* The hook saw the published ring empty (only the first task
	 * queued), the nested submit took it, and ours made a third ring. */
	ASSERT_EQ(atomic_load(&hook_queued_seen), 1);
	ASSERT_OK(atomic_load(&hook_nested_rc));
	ASSERT_EQ(atomic_load(&hook_fired), 2);
	ASSERT_EQ(pool_queued(p), 3);
	/* Three rings of one slot at capacity 3: full. */
	ASSERT_ERR(pool_try_submit(p, task_count, &c), POOL_EOVERLOAD);
	gate_open(&g);
	/* The first queued task, the nested one and ours. */
	counter_wait(&c, 3);
	WAIT_UNTIL(test_stats(p).completed == 6);
	ASSERT_STATS_BALANCED(test_stats(p));
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), 3);
	gate_destroy(&g);
	counter_destroy(&c);
}

/* pool_tune down after a ring was added and before the push: the retry
 * obeys the new capacity (only ring 0 allowed, full), so the submit is
 * refused, nothing is queued past the new bound, and queued work runs. */
TEST(tune_down_while_growing)
{
	struct counter c;
	struct gate g;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	p = race_pool(&g, &c);
	hook_pool = p;
	hook_counter = &c;
	atomic_store(&hook_mode, H_TUNE_DOWN);
	atomic_store(&hook_fired, 0);
	pool__test_set_hook(ring_hook);
	ASSERT_ERR(pool_try_submit(p, task_count, &c), POOL_EOVERLOAD);
	pool__test_set_hook(NULL);
	ASSERT_OK(atomic_load(&hook_nested_rc));
	ASSERT_EQ(atomic_load(&hook_fired), 1);
	ASSERT_EQ(pool_cap(p), 1);
	ASSERT_EQ(pool_queued(p), 1);
	gate_open(&g);
	counter_wait(&c, 1);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), 1);
	gate_destroy(&g);
	counter_destroy(&c);
}

/* What an idle worker costs beyond its thread (docs/design.md, "Where an
 * idle worker's bytes go"): a pool made with its metrics off. */
static pool_t *new_quiet_pool(int cap, unsigned flags)
{
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_options_t o = test_opts(cap, 0, POOL_DISABLE_PURGE | flags);
	pool_t *p;

	m.flags = POOL_METRICS_OFF;
	o.metrics = &m;
	ASSERT_OK(pool_new(&p, &o));
	return p;
}

/* Whether the calling thread ever entered an urcu-bp read-side section
 * (urcu-bp registers a thread at its first one and keeps the record). */
static void task_rcu_registered(void *arg)
{
	*(int *)arg = URCU_TLS(urcu_bp_reader) != NULL;
}

/* A worker's search, spin and park read the ring and shard sets without a
 * read-side section (they are append-only), so a worker that started,
 * searched, parked and was woken has not registered with urcu-bp: no
 * reader record per idle worker. Both workers are parked first, so the one
 * woken has run every idle path (the steal over the other ring, the spin's
 * pool__has_work, the park rescan). */
TEST(idle_worker_not_registered_with_rcu)
{
	pool_t *p = new_quiet_pool(2, POOL_PREALLOC);
	int registered = -1;

	WAIT_UNTIL(test_stats(p).idle == 2);
	ASSERT_OK(pool_submit_wait(p, task_rcu_registered, &registered));
	ASSERT_EQ(registered, 0);
	ASSERT_OK(pool_destroy(p));
}

/* Starting a worker allocates its shard and nothing else: the thread's
 * start argument is the shard itself, so a worker frees nothing at start
 * and a worker that never allocates gets no malloc thread cache. The first
 * submit starts the only worker (the shard table has room for 16); the
 * failure-injection points it passes are the shard's allocation and
 * pthread_create (before: also the start argument's allocation). */
TEST(spawn_allocates_only_the_shard)
{
	pool_t *p = new_quiet_pool(4, 0);
	long before = pool__test_alloc_calls();

	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_EQ(pool__test_alloc_calls() - before, 2);
	ASSERT_UEQ(test_stats(p).spawned, 1);
	ASSERT_OK(pool_destroy(p));
}

/* Shards come from slabs (docs/design.md, "What was cut", second round):
 * 64 workers started one at a time cost 64 thread creations, 8 slab
 * allocations (1, 1, 2, 4, 8, 16, 31, 1 shards) and 2 growths of the shard
 * table (16 -> 32 -> 64), not one allocation per shard (before: 64 + 64 +
 * 2 = 130 failure-injection points). The workers are held in gate tasks,
 * so each submit starts exactly one and nothing else allocates. */
TEST(shards_come_from_slabs)
{
	pool_t *p = new_quiet_pool(64, 0);
	struct gate g;
	long before, slabs = 0;

	gate_init(&g);
	for (int i = 0; i < 64; i++) {
		long d;

		before = pool__test_alloc_calls();
		ASSERT_OK(pool_submit(p, task_gate, &g));
		gate_wait_entered(&g, i + 1);
		d = pool__test_alloc_calls() - before;
		/* pthread_create, maybe a slab, maybe a table growth. */
		ASSERT(d >= 1 && d <= 3);
		slabs += d - 1;
	}
	ASSERT_UEQ(test_stats(p).spawned, 64);
	ASSERT_EQ(slabs, 8 + 2);
	gate_open(&g);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}
