/* SPDX-License-Identifier: MIT */
/*
 * test/stress/wake.c - the park/wake hand-shake under load: producers
 * submit a few tasks at a time to a small pool and wait for exactly those
 * to run before the next round, with a random gap between rounds (none, a
 * few pauses, or up to 200 µs asleep), so the workers are caught in every
 * state: running, spinning, parking (between P1 and P4) and asleep. A
 * submit's wake-up decision races with a worker's park on every round;
 * a lost wake-up leaves a task queued with every worker asleep, and the
 * producer waiting for it sees no progress.
 *
 *   stress_wake [seconds [producers [capacity]]]
 *
 * The pool has no expiry (POOL_DISABLE_PURGE): an idle worker that
 * expires hands queued work off as it exits, which would hide a lost
 * wake-up. seconds absent or 0: $POOL_STRESS_SECONDS, else 5. A producer that
 * waits more than 10 s for its round reports a lost wake-up (with the pool's
 * counters) and the program exits 1; a task that runs twice, or a count
 * that does not match at the end, is reported too. The 10 s is not a
 * timing assertion: a wake-up is due within microseconds, and nothing but
 * a lost one makes a round wait for seconds even on a loaded machine.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pool.h>

#define STRESS_PROG "stress_wake"
#include "common.h"

#define MAX_PRODUCERS 16
#define MAX_ROUND     4
#define STALL_NS      (10 * 1000000000LL)

struct producer {
	pthread_t th;
	uint64_t rng;
	long rounds, tasks;
	atomic_int ran[MAX_ROUND]; /* this round's tasks: runs each */
};

static pool_t *pool;
static int64_t end_ns;
static atomic_int stop;

/* A task's argument is its slot in its producer's ran[]. Release: the
 * producer's acquire load in round_left sees the run. */
static void task(void *arg)
{
	atomic_fetch_add_explicit((atomic_int *)arg, 1, memory_order_release);
}

/* How many of this round's k tasks have not run (a task run twice is an
 * error). */
static int round_left(struct producer *pr, int k)
{
	int left = 0;

	for (int i = 0; i < k; i++) {
		int r = atomic_load_explicit(&pr->ran[i], memory_order_acquire);

		if (r > 1)
			report("task %d of a round ran %d times", i, r);
		left += r == 0;
	}
	return left;
}

static void gap(struct producer *pr)
{
	switch (xorshift(&pr->rng) % 4) {
	case 0:
		break;
	case 1:
		for (unsigned i = xorshift(&pr->rng) % 64; i > 0; i--)
			sched_yield();
		break;
	default: {
		struct timespec ts = {0, (long)(xorshift(&pr->rng) % 200000)};

		nanosleep(&ts, NULL);
		break;
	}
	}
}

static void *produce(void *arg)
{
	struct producer *pr = arg;

	while (!atomic_load(&stop) && now_ns() < end_ns) {
		int k = 1 + (int)(xorshift(&pr->rng) % MAX_ROUND);
		int64_t t0;

		for (int i = 0; i < k; i++)
			atomic_store_explicit(&pr->ran[i], 0,
					      memory_order_relaxed);
		for (int i = 0; i < k; i++) {
			int rc = pool_submit(pool, task, &pr->ran[i]);

			if (rc != 0) {
				report("pool_submit: %d", rc);
				atomic_store(&stop, 1);
				return NULL;
			}
		}
		pr->tasks += k;
		t0 = now_ns();
		while (round_left(pr, k) != 0) {
			if (now_ns() - t0 > STALL_NS) {
				pool_stats_t st = pool_stats_init();

				pool_stats(pool, &st);
				report("lost wake-up: %d of %d tasks queued "
				       "for 10 s (workers %" PRIu64
				       ", idle %" PRIu64 ", running %" PRIu64
				       ", queued %" PRIu64 ")",
				       round_left(pr, k), k,
				       (uint64_t)st.workers, (uint64_t)st.idle,
				       (uint64_t)st.running,
				       (uint64_t)st.queued);
				atomic_store(&stop, 1);
				return NULL;
			}
			sched_yield();
		}
		pr->rounds++;
		gap(pr);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;
	int np = argc > 2 ? atoi(argv[2]) : 2;
	int cap = argc > 3 ? atoi(argv[3]) : 2;
	struct producer prs[MAX_PRODUCERS] = {0};
	pool_options_t o;
	pool_stats_t st = pool_stats_init();
	long rounds = 0, tasks = 0;
	int rc;

	if (secs <= 0) {
		const char *e = getenv("POOL_STRESS_SECONDS");

		secs = e && atof(e) > 0 ? atof(e) : 5;
	}
	if (np < 1 || np > MAX_PRODUCERS || cap < 1) {
		fprintf(stderr,
			"usage: stress_wake [seconds [producers "
			"[capacity]]] (1..%d producers)\n",
			MAX_PRODUCERS);
		return 2;
	}
	o = pool_options_init();
	o.capacity = (unsigned)cap;
	o.name = "stress_wake";
	/* No expiry: an idle worker that exits hands its queued work off
	 * (worker_exit), which would hide a lost wake-up within expiry_ns. */
	o.flags |= POOL_DISABLE_PURGE;
	if ((rc = pool_new(&pool, &o)) != 0) {
		fprintf(stderr, STRESS_PROG ": pool_new: %d\n", rc);
		return 1;
	}
	end_ns = now_ns() + (int64_t)(secs * 1e9);
	for (int i = 0; i < np; i++) {
		prs[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		if (pthread_create(&prs[i].th, NULL, produce, &prs[i]) != 0) {
			fprintf(stderr, STRESS_PROG ": pthread_create\n");
			return 1;
		}
	}
	for (int i = 0; i < np; i++) {
		pthread_join(prs[i].th, NULL);
		rounds += prs[i].rounds;
		tasks += prs[i].tasks;
	}
	if ((rc = pool_release_timeout(pool, 60 * 1000000000LL)) != 0)
		report("pool_release_timeout: %d", rc);
	pool_stats(pool, &st);
	if (!atomic_load(&stop) && (st.submitted != (uint64_t)tasks ||
				    st.completed != (uint64_t)tasks))
		report("counts: submitted %" PRIu64 ", completed %" PRIu64
		       ", expected %ld",
		       (uint64_t)st.submitted, (uint64_t)st.completed, tasks);
	if ((rc = pool_destroy(pool)) != 0)
		report("pool_destroy: %d", rc);
	printf(STRESS_PROG ": %d producers, capacity %d: %ld rounds, %ld "
			   "tasks, %" PRIu64 " workers started, %ld errors\n",
	       np, cap, rounds, tasks, (uint64_t)st.spawned,
	       atomic_load(&errors));
	return atomic_load(&errors) ? 1 : 0;
}
