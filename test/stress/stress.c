/*
 * test/stress/stress.c - producers, a tuner and a lifecycle thread hammer one
 * pool; every task carries a unique id and the run checks that each accepted
 * task ran (or was discarded by pool_stop) exactly once and each rejected
 * one never ran, then that the pool's own counters agree.
 *
 *   stress [seconds [producers [capacity]]]
 *
 * seconds absent or 0: $POOL_STRESS_SECONDS, else 5. Exits 1 with a message on
 * any discrepancy, 0 after printing a one-line summary otherwise.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pool.h>

#define MAX_IDS	      (1u << 22)
#define MAX_BATCH     16
#define MAX_PRODUCERS 64

/* Outcome of a submit, written by the submitting thread after the call. */
enum outcome {
	OUT_NONE = 0,
	OUT_ACCEPTED,	   /* returned 0: runs once or is discarded once */
	OUT_REJECTED,	   /* returned < 0: never runs, never discarded */
	OUT_WAIT_ACCEPTED, /* pool_submit_wait returned 0: ran before return */
	OUT_WAIT_CLOSED,   /* pool_submit_wait POOL_ECLOSED: never runs */
};

static atomic_uchar runs[MAX_IDS];
static atomic_uchar discards[MAX_IDS];
static unsigned char outcome[MAX_IDS];

static atomic_uint next_id;
static atomic_int stop_flag;
static atomic_long errors;
static pool_t *pool;

/* Totals, summed from per-thread counts after join. */
struct tally {
	long accepted;
	long overload;
	long closed;
	long closed_wait;
	long timeout;
	long calls;
};

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	va_list ap;

	/* Print the first few only; the count decides the exit status. */
	if (atomic_fetch_add(&errors, 1) >= 20)
		return;
	va_start(ap, fmt);
	fputs("stress: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_ns(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

/* Returns an id, or UINT32_MAX once the id space is used up. */
static unsigned new_id(void)
{
	unsigned id = atomic_fetch_add(&next_id, 1);

	if (id >= MAX_IDS) {
		atomic_store(&stop_flag, 1);
		return UINT32_MAX;
	}
	return id;
}

static void child_task(void *arg);

static void run_id(unsigned id)
{
	unsigned char r = atomic_fetch_add(&runs[id], 1);

	if (r != 0)
		report("task %u ran %u times", id, r + 1);
	if (atomic_load(&discards[id]) != 0)
		report("task %u ran after it was discarded", id);
	if (pool_self() != pool)
		report("task %u: pool_self() is not the pool", id);
	if (pool_worker_id() < 0)
		report("task %u: pool_worker_id() < 0 inside a task", id);
}

/* A task; every 32nd one submits a child from inside the pool (which runs
 * inline when the pool is full). */
static void task(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned child;
	int rc;

	run_id(id);
	if (id % 32 != 0)
		return;
	child = new_id();
	if (child == UINT32_MAX)
		return;
	rc = pool_submit(pool, child_task, (void *)(uintptr_t)child);
	if (rc == 0)
		outcome[child] = OUT_ACCEPTED;
	else if (rc == POOL_ECLOSED || rc == POOL_EOVERLOAD)
		outcome[child] = OUT_REJECTED;
	else
		report("submit from inside a task: %s", pool_err_name(rc));
}

static void child_task(void *arg)
{
	run_id((unsigned)(uintptr_t)arg);
}

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	(void)ctx;
	if (fn != task && fn != child_task) {
		report("discard callback got an unknown fn");
		return;
	}
	if (id >= MAX_IDS) {
		report("discard callback got id %u", id);
		return;
	}
	if (atomic_fetch_add(&discards[id], 1) != 0)
		report("task %u discarded twice", id);
	if (atomic_load(&runs[id]) != 0)
		report("task %u discarded after it ran", id);
	atomic_fetch_add((atomic_long *)ctx, 1);
}

static void count_rc(struct tally *t, int rc)
{
	t->calls++;
	switch (rc) {
	case 0:
		t->accepted++;
		break;
	case POOL_EOVERLOAD:
		t->overload++;
		break;
	case POOL_ECLOSED:
		t->closed++;
		break;
	case POOL_ETIMEDOUT:
		t->timeout++;
		break;
	default:
		report("unexpected submit result %s", pool_err_name(rc));
	}
}

struct producer {
	pthread_t thread;
	uint64_t seed;
	struct tally t;
	long wait_ok;
};

static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	pool_task_t batch[MAX_BATCH];
	unsigned ids[MAX_BATCH];
	size_t n, i, accepted;
	unsigned id;
	int rc, mode;

	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		mode = (int)(xorshift(&pr->seed) % 100);
		if (mode < 10) {
			n = 1 + xorshift(&pr->seed) % MAX_BATCH;
			for (i = 0; i < n; i++) {
				ids[i] = new_id();
				if (ids[i] == UINT32_MAX)
					return NULL;
				batch[i].fn = task;
				batch[i].arg = (void *)(uintptr_t)ids[i];
			}
			accepted = 12345;
			rc = pool_submit_batch(pool, batch, n, &accepted);
			count_rc(&pr->t, rc);
			if (rc == 0 && accepted != n)
				report("batch returned 0 with %zu of %zu",
				       accepted, n);
			if (accepted > n) {
				report("batch accepted %zu > %zu", accepted, n);
				accepted = 0;
			}
			for (i = 0; i < n; i++)
				outcome[ids[i]] = i < accepted ? OUT_ACCEPTED
							       : OUT_REJECTED;
			/* The accepted prefix counts as accepted tasks. */
			if (rc != 0)
				pr->t.accepted += (long)accepted;
			else
				pr->t.accepted += (long)n - 1;
			continue;
		}
		id = new_id();
		if (id == UINT32_MAX)
			break;
		if (mode < 15) {
			rc = pool_submit_wait(pool, task,
					      (void *)(uintptr_t)id);
			if (rc == 0) {
				if (atomic_load(&runs[id]) != 1)
					report("submit_wait returned before "
					       "task %u ran",
					       id);
				outcome[id] = OUT_WAIT_ACCEPTED;
				pr->wait_ok++;
			} else if (rc == POOL_ECLOSED) {
				outcome[id] = OUT_WAIT_CLOSED;
				pr->t.closed_wait++;
			} else {
				outcome[id] = OUT_REJECTED;
			}
			if (rc != POOL_ECLOSED)
				count_rc(&pr->t, rc);
			else
				pause_ns(20000);
			continue;
		}
		if (mode < 50)
			rc = pool_submit(pool, task, (void *)(uintptr_t)id);
		else if (mode < 80)
			rc = pool_try_submit(pool, task, (void *)(uintptr_t)id);
		else
			rc = pool_submit_timeout(
				pool, task, (void *)(uintptr_t)id,
				(int64_t)(xorshift(&pr->seed) % 2000000));
		outcome[id] = rc == 0 ? OUT_ACCEPTED : OUT_REJECTED;
		count_rc(&pr->t, rc);
		/* Pacing while the lifecycle thread has the pool closed, so
		 * the run does not burn through the id space. */
		if (rc == POOL_ECLOSED)
			pause_ns(20000);
	}
	return NULL;
}

static long tunes_ok;

static void *tuner_main(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int rc;

	(void)arg;
	while (!atomic_load(&stop_flag)) {
		rc = pool_tune(pool, 1 + (int)(xorshift(&seed) % 4));
		if (rc == 0)
			tunes_ok++;
		else if (rc != POOL_ECLOSED)
			report("pool_tune: %s", pool_err_name(rc));
		pause_ns(200000);
	}
	return NULL;
}

static long cycles, stops, timeouts, reboot_busy;
static atomic_long discarded_cb;

static void *lifecycle_main(void *arg)
{
	uint64_t seed = 0xdeadbeefcafef00dull;
	int rc;

	(void)arg;
	while (!atomic_load(&stop_flag)) {
		/* Pacing only: let the producers work for a while. */
		pause_ns(5000000 + (long)(xorshift(&seed) % 20000000));
		if (xorshift(&seed) % 5 == 0) {
			rc = pool_stop(pool, on_discard, &discarded_cb);
			stops++;
			if (rc != 0)
				report("pool_stop: %s", pool_err_name(rc));
		}
		for (;;) {
			rc = pool_release_timeout(
				pool, (int64_t)(xorshift(&seed) % 3000000));
			if (rc == 0)
				break;
			if (rc != POOL_ETIMEDOUT) {
				report("pool_release_timeout: %s",
				       pool_err_name(rc));
				return NULL;
			}
			timeouts++;
		}
		if (pool_is_closed(pool) != 1)
			report("pool open after release_timeout");
		rc = pool_reboot(pool);
		if (rc == POOL_EBUSY) {
			/* Against the contract (drained, then reboot), but
			 * keep the run going to check everything else. */
			reboot_busy++;
			report("pool_reboot right after pool_release_timeout "
			       "returned 0: POOL_EBUSY");
			while ((rc = pool_reboot(pool)) == POOL_EBUSY)
				(void)pool_release_timeout(pool, 1000000);
		}
		if (rc != 0)
			report("pool_reboot after drain: %s",
			       pool_err_name(rc));
		cycles++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct producer prod[MAX_PRODUCERS];
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	pthread_t tuner, life;
	struct tally t = {0};
	long seconds = 5, nprod = 4, cap = 4, wait_ok = 0;
	long ran = 0, disc = 0, acc = 0, rej = 0, bad = 0;
	const char *env = getenv("POOL_STRESS_SECONDS");
	int64_t deadline;
	unsigned i, nids;
	long k;
	int rc;

	if (env != NULL && atol(env) > 0)
		seconds = atol(env);
	if (argc > 1 && atol(argv[1]) > 0)
		seconds = atol(argv[1]);
	if (argc > 2)
		nprod = atol(argv[2]);
	if (argc > 3)
		cap = atol(argv[3]);
	if (seconds <= 0 || nprod <= 0 || nprod > MAX_PRODUCERS || cap <= 0 ||
	    cap > 1024) {
		fprintf(stderr,
			"usage: stress [seconds [producers [capacity]]]\n");
		return 2;
	}

	o.capacity = (int)cap;
	o.ring_capacity = 4;
	o.expiry_ns = 2000000;
	o.name = "stress";
	rc = pool_new(&pool, &o);
	if (rc != 0) {
		fprintf(stderr, "stress: pool_new: %s\n", pool_err_name(rc));
		return 1;
	}
	for (k = 0; k < nprod; k++) {
		prod[k].seed = 0x2545f4914f6cdd1dull * (uint64_t)(k + 1);
		if (pthread_create(&prod[k].thread, NULL, producer_main,
				   &prod[k]) != 0) {
			fprintf(stderr, "stress: pthread_create failed\n");
			return 1;
		}
	}
	if (pthread_create(&tuner, NULL, tuner_main, NULL) != 0 ||
	    pthread_create(&life, NULL, lifecycle_main, NULL) != 0) {
		fprintf(stderr, "stress: pthread_create failed\n");
		return 1;
	}
	deadline = now_ns() + seconds * 1000000000;
	while (now_ns() < deadline && !atomic_load(&stop_flag))
		pause_ns(10000000);
	atomic_store(&stop_flag, 1);
	/* A producer may be blocked on a full pool with the tuner at 1: the
	 * lifecycle thread's releases wake it. */
	for (k = 0; k < nprod; k++)
		pthread_join(prod[k].thread, NULL);
	pthread_join(tuner, NULL);
	pthread_join(life, NULL);

	rc = pool_release_timeout(pool, 60ll * 1000000000);
	if (rc != 0)
		report("final pool_release_timeout: %s", pool_err_name(rc));
	rc = pool_stats(pool, &s);
	if (rc != 0)
		report("pool_stats: %s", pool_err_name(rc));

	for (k = 0; k < nprod; k++) {
		t.accepted += prod[k].t.accepted;
		t.overload += prod[k].t.overload;
		t.closed += prod[k].t.closed;
		t.closed_wait += prod[k].t.closed_wait;
		t.timeout += prod[k].t.timeout;
		t.calls += prod[k].t.calls;
		wait_ok += prod[k].wait_ok;
	}

	/* Every id: accepted exactly once run or discarded, rejected never. */
	nids = atomic_load(&next_id);
	if (nids > MAX_IDS)
		nids = MAX_IDS;
	for (i = 0; i < nids; i++) {
		unsigned r = atomic_load(&runs[i]);
		unsigned d = atomic_load(&discards[i]);

		ran += r;
		disc += d;
		switch (outcome[i]) {
		case OUT_ACCEPTED:
			acc++;
			if (r + d != 1) {
				bad++;
				report("accepted task %u: ran %u, discarded %u",
				       i, r, d);
			}
			break;
		case OUT_WAIT_ACCEPTED:
			acc++;
			if (r != 1 || d != 0) {
				bad++;
				report("waited task %u: ran %u, discarded %u",
				       i, r, d);
			}
			break;
		case OUT_REJECTED:
		case OUT_WAIT_CLOSED:
			rej++;
			if (r != 0 || d != 0) {
				bad++;
				report("rejected task %u: ran %u, discarded %u",
				       i, r, d);
			}
			break;
		default:
			/* Allocated, never submitted (end of run). */
			if (r != 0 || d != 0) {
				bad++;
				report("unsubmitted id %u: ran %u, discarded "
				       "%u",
				       i, r, d);
			}
		}
	}

	/* The pool's own accounting. */
	if (s.submitted != s.completed + s.discarded + s.queued + s.running)
		report("stats: submitted %" PRIu64 " != completed %" PRIu64
		       " + discarded %" PRIu64 " + queued %" PRIu64
		       " + running %" PRIu64,
		       s.submitted, s.completed, s.discarded, s.queued,
		       s.running);
	if (s.queued != 0 || s.running != 0 || s.workers != 0)
		report("stats after drain: queued %" PRIu64 " running %" PRIu64
		       " workers %" PRIu64,
		       s.queued, s.running, s.workers);
	/* Inline runs may or may not be counted as submitted/completed. */
	if (s.completed != (uint64_t)ran &&
	    s.completed + s.inline_runs != (uint64_t)ran)
		report("stats.completed %" PRIu64 " (inline %" PRIu64
		       ") but %ld runs observed",
		       s.completed, s.inline_runs, ran);
	/* pool_stop discards: those via the callback, plus submit_wait tasks
	 * (not passed to the callback, returned POOL_ECLOSED). */
	if (s.discarded < (uint64_t)disc ||
	    s.discarded > (uint64_t)(disc + t.closed_wait))
		report("stats.discarded %" PRIu64 " but %ld callbacks and "
		       "%ld closed waits",
		       s.discarded, disc, t.closed_wait);
	if (atomic_load(&discarded_cb) != disc)
		report("discard callback count %ld != %ld",
		       atomic_load(&discarded_cb), disc);
	if (s.rejected_overload < (uint64_t)t.overload ||
	    s.rejected_timeout != (uint64_t)t.timeout ||
	    s.rejected_closed < (uint64_t)t.closed)
		report("stats rejections overload %" PRIu64
		       "/%ld timeout %" PRIu64 "/%ld closed %" PRIu64
		       "/%ld (pool/observed)",
		       s.rejected_overload, t.overload, s.rejected_timeout,
		       t.timeout, s.rejected_closed, t.closed);
	if (s.tunes != (uint64_t)tunes_ok)
		report("stats.tunes %" PRIu64 " != %ld", s.tunes, tunes_ok);
	if (ran == 0)
		report("no task ran");

	rc = pool_destroy(pool);
	if (rc != 0)
		report("pool_destroy: %s", pool_err_name(rc));

	printf("stress: %lds producers=%ld cap=%ld ids=%u accepted=%ld "
	       "rejected=%ld ran=%ld discarded=%ld waits=%ld "
	       "overload=%ld closed=%ld timeout=%ld inline=%" PRIu64
	       " cycles=%ld stops=%ld release_timeouts=%ld tunes=%ld "
	       "reboot_busy=%ld bad=%ld errors=%ld\n",
	       seconds, nprod, cap, nids, acc, rej, ran, disc, wait_ok,
	       t.overload, t.closed + t.closed_wait, t.timeout, s.inline_runs,
	       cycles, stops, timeouts, tunes_ok, reboot_busy, bad,
	       atomic_load(&errors));
	return atomic_load(&errors) == 0 ? 0 : 1;
}
