/* SPDX-License-Identifier: MIT */
/*
 * test/stress/edges.c - the startup and shutdown edges under load: many
 * short pool lifecycles, each with a worker_init that is slow, refuses
 * sometimes or always, a worker_fini that is slow, thread creation and
 * allocation that fail (the library's failure injection), and the pool shut
 * down while submitters of every flavour (submit, try, timeout, batch, copy,
 * submit_wait, the first submit) are blocked or racing: pool_release_timeout
 * racing the submitters, or pool_destroy started while every live submitter
 * is blocked on the full pool.
 *
 *   stress_edges [seconds]      (0 or absent: $POOL_STRESS_SECONDS, else 5)
 *
 * Every task carries a unique id. At the end of each lifecycle: each id
 * whose submit returned 0 ran exactly once or was reported exactly once
 * (options.on_discard, or POOL_ECLOSED from pool_submit_wait); each id whose
 * submit failed never ran and was never reported; and the pool's counters
 * agree (submitted == completed + discarded). Exits 1 on any discrepancy.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pool.h>

#define STRESS_PROG "stress_edges"
#include "common.h"

/* Library test hook (lib/internal.h): the k-th allocation or thread
 * creation from now fails, and every later one, until reset with -1. */
void pool__test_fail_after(long k);

#define MAX_IDS	  (1u << 20)
#define NSUB	  4
#define PER_SUB	  64
#define MAX_BATCH 4

enum { OUT_NONE, OUT_ACCEPTED, OUT_REJECTED, OUT_WAIT_RAN, OUT_WAIT_CLOSED };

static atomic_uchar runs[MAX_IDS];
static atomic_uchar reported[MAX_IDS];
static unsigned char outcome[MAX_IDS];
static atomic_uint next_id;

/* Per lifecycle. */
static pool_t *pool;
static atomic_int refuse_pct; /* worker_init refuses this often */
static atomic_int slow_us;    /* worker_init / fini / task delay bound */
static atomic_int live_subs;  /* submitters not yet finished */
static atomic_int stop_subs;  /* submitters make no new call once set */
static atomic_uint rng_seed = 12345;

static unsigned rnd(unsigned n)
{
	unsigned s = atomic_fetch_add(&rng_seed, 0x9e3779b9u);
	uint64_t x = (uint64_t)s * 0x2545F4914F6CDD1Dull + 1;

	return n ? (unsigned)((xorshift(&x) >> 11) % n) : 0;
}

/* A bounded busy delay of up to `us` microseconds (the workload, not a
 * synchronisation). */
static void delay(int us)
{
	if (us <= 0)
		return;
	int64_t end = now_ns() + (int64_t)rnd((unsigned)us) * 1000;

	while (now_ns() < end)
		sched_yield();
}

static void ran_id(unsigned id)
{
	if (id >= MAX_IDS) {
		report("task id %u out of range", id);
		return;
	}
	if (atomic_fetch_add(&runs[id], 1) != 0)
		report("task %u ran twice", id);
	if (atomic_load(&reported[id]))
		report("task %u ran after it was reported", id);
}

static void task(void *arg)
{
	ran_id((unsigned)(uintptr_t)arg);
	delay(atomic_load(&slow_us) / 4);
}

static void copy_task(void *data)
{
	unsigned id;

	memcpy(&id, data, sizeof(id));
	ran_id(id);
}

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	unsigned id;

	(void)ctx;
	if (fn == copy_task)
		memcpy(&id, arg, sizeof(id));
	else if (fn == task)
		id = (unsigned)(uintptr_t)arg;
	else {
		report("discard of an unknown task");
		return;
	}
	if (id >= MAX_IDS || atomic_fetch_add(&reported[id], 1) != 0)
		report("task %u reported twice", id);
	if (atomic_load(&runs[id]))
		report("task %u reported after it ran", id);
}

static int e_init(void *ctx, unsigned id, void **state)
{
	(void)ctx;
	(void)id;
	(void)state;
	delay(atomic_load(&slow_us));
	if ((int)rnd(100) < atomic_load(&refuse_pct))
		return POOL_EBUSY;
	return 0;
}

static void e_fini(void *ctx, unsigned id, void *state)
{
	(void)ctx;
	(void)id;
	(void)state;
	delay(atomic_load(&slow_us));
}

/*
 * The library's log lines: expected by the thousands here (refused inits,
 * threads that could not start, discarded tasks), so counted, and the last
 * few kept for the watchdog's report instead of flooding stderr.
 */
#define LOG_KEEP 8
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_last[LOG_KEEP][160];
static unsigned long log_lines;

static void e_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	pthread_mutex_lock(&log_mu);
	snprintf(log_last[log_lines % LOG_KEEP], sizeof(log_last[0]), "%s",
		 msg);
	log_lines++;
	pthread_mutex_unlock(&log_mu);
}

static unsigned new_id(void)
{
	unsigned id = atomic_fetch_add(&next_id, 1);

	return id < MAX_IDS ? id : UINT32_MAX;
}

static void set(unsigned id, int rc, int wait)
{
	if (wait)
		outcome[id] = rc == 0		   ? OUT_WAIT_RAN
			      : rc == POOL_ECLOSED ? OUT_WAIT_CLOSED
						   : OUT_REJECTED;
	else
		outcome[id] = rc == 0 ? OUT_ACCEPTED : OUT_REJECTED;
	if (rc != 0 && rc != POOL_ECLOSED && rc != POOL_EOVERLOAD &&
	    rc != POOL_ETIMEDOUT && rc != POOL_ENOMEM && rc != POOL_EBUSY)
		report("unexpected submit result %s", pool_err_name(rc));
}

static void *submitter(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 7;

	for (int k = 0; k < PER_SUB && !atomic_load(&stop_subs); k++) {
		unsigned id = new_id(), ids[MAX_BATCH];
		pool_task_t b[MAX_BATCH];
		size_t n, acc = 0;
		int rc, mode = (int)(xorshift(&seed) % 7);

		if (id == UINT32_MAX)
			break;
		switch (mode) {
		case 0:
			set(id, pool_submit(pool, task, (void *)(uintptr_t)id),
			    0);
			break;
		case 1:
			set(id,
			    pool_try_submit(pool, task, (void *)(uintptr_t)id),
			    0);
			break;
		case 2:
			set(id,
			    pool_submit_timeout(
				    pool, task, (void *)(uintptr_t)id,
				    (int64_t)(xorshift(&seed) % 2000000)),
			    0);
			break;
		case 3:
			set(id,
			    pool_submit_copy(pool, copy_task, &id, sizeof(id)),
			    0);
			break;
		case 4:
			rc = pool_submit_wait(pool, task,
					      (void *)(uintptr_t)id);
			set(id, rc, 1);
			if (rc == 0 && atomic_load(&runs[id]) != 1)
				report("submit_wait returned before %u ran",
				       id);
			break;
		default:
			n = 1 + xorshift(&seed) % MAX_BATCH;
			ids[0] = id;
			for (size_t i = 1; i < n; i++) {
				ids[i] = new_id();
				if (ids[i] == UINT32_MAX)
					n = i;
			}
			for (size_t i = 0; i < n; i++) {
				b[i].fn = task;
				b[i].arg = (void *)(uintptr_t)ids[i];
			}
			rc = pool_submit_batch(pool, b, n, &acc);
			if ((rc == 0) != (acc == n) || acc > n)
				report("batch rc %d with %zu of %zu", rc, acc,
				       n);
			for (size_t i = 0; i < n; i++)
				set(ids[i], i < acc ? 0 : (rc ? rc : -1), 0);
			break;
		}
	}
	atomic_fetch_sub(&live_subs, 1);
	return NULL;
}

/* Injects allocation / thread-creation failures in short windows. */
static atomic_int chaos_stop;

static void *chaos(void *arg)
{
	(void)arg;
	while (!atomic_load(&chaos_stop)) {
		delay(2000);
		pool__test_fail_after((long)rnd(4));
		delay(200);
		pool__test_fail_after(-1);
	}
	return NULL;
}

static long lifecycles, destroys_racing, discarded_total, pool_new_failed,
	release_timeouts;
static atomic_long progress; /* lifecycles done (the watchdog reads it) */

static void lifecycle(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pthread_t t[NSUB];
	unsigned first = atomic_load(&next_id), last;
	pool_stats_t s = POOL_STATS_INIT;
	int rc, how = (int)rnd(2);
	int r = (int)rnd(10);

	atomic_store(&refuse_pct, r < 5 ? 0 : r < 8 ? 30 : 100);
	atomic_store(&slow_us, (int)rnd(3) * 100);
	o.capacity = 1 + (int)rnd(3);
	o.ring_capacity = 1 + rnd(4);
	o.expiry_ns = 1000000 + (int64_t)rnd(4000000);
	o.flags = rnd(4) == 0 ? POOL_NONBLOCKING : 0;
	o.worker_init = e_init;
	o.worker_fini = e_fini;
	o.on_discard = on_discard;
	o.name = "edges";
	o.logger = e_log;
	rc = pool_new(&pool, &o);
	if (rc != 0) {
		if (rc != POOL_ENOMEM)
			report("pool_new: %s", pool_err_name(rc));
		pool_new_failed++;
		return;
	}
	atomic_store(&live_subs, NSUB);
	atomic_store(&stop_subs, 0);
	for (int i = 0; i < NSUB; i++)
		if (pthread_create(&t[i], NULL, submitter,
				   (void *)(uintptr_t)(lifecycles * NSUB + i)))
			report("pthread_create");
	if (how == 0) {
		/* Release racing the submitters, then destroy. */
		delay(500);
		rc = pool_release_timeout(pool, 200000000);
		if (rc != 0 && rc != POOL_ETIMEDOUT)
			report("release_timeout: %s", pool_err_name(rc));
		if (rc == POOL_ETIMEDOUT) {
			/* The contract: call it again (or destroy). Tasks
			 * queued with no thread able to start at the deadline
			 * wait for that call, and so does a pool_submit_wait
			 * caller among the submitters joined below. */
			release_timeouts++;
			rc = pool_release_timeout(pool, 10000000000);
			if (rc != 0)
				report("second release_timeout: %s",
				       pool_err_name(rc));
		}
		for (int i = 0; i < NSUB; i++)
			pthread_join(t[i], NULL);
	} else {
		/* Destroy once every live submitter is blocked on the full
		 * pool (the contract's one allowed destroy/submit race), or
		 * all finished: submitters make no new call after stop_subs,
		 * so one counted in pool_waiting stays inside its call. */
		int64_t give_up = now_ns() + 2000000000;

		delay(300);
		atomic_store(&stop_subs, 1);
		while (atomic_load(&live_subs) > 0 &&
		       pool_waiting(pool) < atomic_load(&live_subs) &&
		       now_ns() < give_up)
			sched_yield();
		if (atomic_load(&live_subs) > 0 &&
		    pool_waiting(pool) >= atomic_load(&live_subs)) {
			destroys_racing++;
			rc = pool_destroy(pool);
			if (rc != 0)
				report("pool_destroy: %s", pool_err_name(rc));
			for (int i = 0; i < NSUB; i++)
				pthread_join(t[i], NULL);
			pool = NULL;
		} else {
			for (int i = 0; i < NSUB; i++)
				pthread_join(t[i], NULL);
		}
	}
	if (pool) {
		rc = pool_release_timeout(pool, 10000000000);
		if (rc != 0)
			report("final release_timeout: %s", pool_err_name(rc));
		if (pool_stats(pool, &s) != 0)
			report("pool_stats");
		if (s.submitted != s.completed + s.discarded)
			report("stats: submitted %" PRIu64
			       " != completed %" PRIu64 " + discarded %" PRIu64,
			       s.submitted, s.completed, s.discarded);
		discarded_total += (long)s.discarded;
		rc = pool_destroy(pool);
		if (rc != 0)
			report("pool_destroy: %s", pool_err_name(rc));
	}
	last = atomic_load(&next_id);
	if (last > MAX_IDS)
		last = MAX_IDS;
	for (unsigned id = first; id < last; id++) {
		int ran = atomic_load(&runs[id]),
		    rep = atomic_load(&reported[id]);

		switch (outcome[id]) {
		case OUT_ACCEPTED:
			if (ran + rep != 1)
				report("accepted task %u: ran %d, reported %d",
				       id, ran, rep);
			break;
		case OUT_WAIT_RAN:
			if (ran != 1 || rep)
				report("waited task %u: ran %d", id, ran);
			break;
		case OUT_WAIT_CLOSED:
		case OUT_REJECTED:
			if (ran || rep)
				report("rejected task %u ran %d reported %d",
				       id, ran, rep);
			break;
		default:
			report("task %u has no outcome", id);
		}
	}
	lifecycles++;
	atomic_fetch_add(&progress, 1);
}

/*
 * Start the id space again (a run lasts the seconds asked for, not as long
 * as 2^20 ids do). Only between lifecycles: the last pool was destroyed
 * (its workers joined) and its submitters joined, so no task or callback of
 * an earlier id can still run or be reported.
 */
static uint64_t ids_recycled;

static void recycle_ids(void)
{
	unsigned n = atomic_load(&next_id);

	if (n > MAX_IDS)
		n = MAX_IDS;
	for (unsigned id = 0; id < n; id++) {
		atomic_store_explicit(&runs[id], 0, memory_order_relaxed);
		atomic_store_explicit(&reported[id], 0, memory_order_relaxed);
		outcome[id] = OUT_NONE;
	}
	ids_recycled += n;
	atomic_store(&next_id, 0);
}

/*
 * Watchdog: a lifecycle that makes no progress for 60 s is a hang (each one
 * normally takes milliseconds). Print what the pool says and abort, so the
 * run leaves a core and a reason instead of a bare timeout.
 */
static void *watchdog(void *arg)
{
	long last = -1;
	int still = 0;

	(void)arg;
	for (;;) {
		struct timespec ts = {1, 0};
		long now;

		nanosleep(&ts, NULL);
		now = atomic_load(&progress);
		if (now != last) {
			last = now;
			still = 0;
			continue;
		}
		if (++still < 60)
			continue;
		fprintf(stderr,
			"stress_edges: lifecycle %ld stuck for 60 s: "
			"live submitters %d, refuse %d%%\n",
			lifecycles, atomic_load(&live_subs),
			atomic_load(&refuse_pct));
		if (pool) {
			pool_stats_t st = POOL_STATS_INIT;

			if (pool_stats(pool, &st) == 0)
				fprintf(stderr,
					"  cap %" PRIu64 " workers %" PRIu64
					" idle %" PRIu64 " queued %" PRIu64
					" running %" PRIu64 " waiting %" PRIu64
					" submitted %" PRIu64
					" completed %" PRIu64
					" discarded %" PRIu64
					" spawned %" PRIu64
					" spawn_failed %" PRIu64 "\n",
					st.capacity, st.workers, st.idle,
					st.queued, st.running, st.waiting,
					st.submitted, st.completed,
					st.discarded, st.spawned,
					st.spawn_failed);
		}
		pthread_mutex_lock(&log_mu);
		fprintf(stderr, "  %lu log lines, the last:\n", log_lines);
		for (unsigned long i =
			     log_lines > LOG_KEEP ? log_lines - LOG_KEEP : 0;
		     i < log_lines; i++)
			fprintf(stderr, "    %s\n", log_last[i % LOG_KEEP]);
		pthread_mutex_unlock(&log_mu);
		abort();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *env = getenv("POOL_STRESS_SECONDS");
	long seconds = 5;
	int64_t t0, end;
	pthread_t c;

	if (env && atol(env) > 0)
		seconds = atol(env);
	if (argc > 1 && atol(argv[1]) > 0)
		seconds = atol(argv[1]);
	t0 = now_ns();
	end = t0 + seconds * 1000000000;
	pthread_create(&c, NULL, chaos, NULL);
	{
		pthread_t w;

		pthread_create(&w, NULL, watchdog, NULL);
		pthread_detach(w);
	}
	while (now_ns() < end && atomic_load(&errors) == 0) {
		if (atomic_load(&next_id) + NSUB * PER_SUB * MAX_BATCH >=
		    MAX_IDS)
			recycle_ids();
		lifecycle();
	}
	atomic_store(&chaos_stop, 1);
	pthread_join(c, NULL);
	pool__test_fail_after(-1);
	printf("stress_edges: %.1fs lifecycles=%ld destroys_racing=%ld "
	       "pool_new_enomem=%ld release_timeouts=%ld ids=%llu "
	       "discarded=%ld log_lines=%lu errors=%ld\n",
	       (double)(now_ns() - t0) / 1e9, lifecycles, destroys_racing,
	       pool_new_failed, release_timeouts,
	       (unsigned long long)(ids_recycled + atomic_load(&next_id)),
	       discarded_total, log_lines, atomic_load(&errors));
	return atomic_load(&errors) == 0 && lifecycles > 0 ? 0 : 1;
}
