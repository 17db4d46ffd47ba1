/* SPDX-License-Identifier: MIT */
/*
 * test/stress/stress.c - producers, a tuner and a lifecycle thread hammer one
 * pool; every task carries a unique id and the run checks that each accepted
 * task ran (or was discarded by pool_stop) exactly once and each rejected
 * one never ran, then that the pool's own counters agree.
 *
 *   stress [seconds [producers [capacity [queue_limit]]]]
 *   stress --soak SECONDS [producers [capacity [queue_limit]]]
 *
 * queue_limit (default 0: none) sets the pool's queue bound
 * (options.queue_limit; -1 is POOL_QUEUE_NONE); with one, the tuner also
 * moves the bound at random between none-queue and 2 x capacity, and every
 * drained phase checks that no place under the bound is left taken
 * (bounded_inflight == 0).
 *
 * seconds absent or 0: $POOL_STRESS_SECONDS, else 5. Exits 1 with a message on
 * any discrepancy, 0 after printing a one-line summary otherwise.
 *
 * Soak mode repeats short phases (0.2 to 1 s, random) on one pool until the
 * time is up, with the tuner moving between 1 and `capacity` (default 8)
 * workers. After each phase every producer is joined and the pool drained
 * (pool_release_timeout), and the phase's ids and the deltas of pool_stats
 * are checked as above; then the thread count (/proc/self/task) must equal
 * the one after the first phase (no leaked thread) and the resident set
 * (/proc/self/statm) must stay within 64 MiB of the one after three warm-up
 * phases (no growth), and pool_reboot must reopen the pool.
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
#include <dirent.h>
#include <unistd.h>

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

/* ThreadSanitizer keeps per-thread and history state of its own that grows
 * with every thread the pool starts and retires, so resident memory says
 * nothing about the pool there: the growth check is off under TSan (ASan and
 * plain builds keep it). */
#if defined(__SANITIZE_THREAD__)
#define SOAK_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SOAK_UNDER_TSAN 1
#endif
#endif
#ifndef SOAK_UNDER_TSAN
#define SOAK_UNDER_TSAN 0
#endif

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
static int tune_max = 4;
static int64_t queue_limit; /* 0: no bound (tuner leaves it alone) */
static uint64_t tuner_seed = 0x9e3779b97f4a7c15ull;

static void *tuner_main(void *arg)
{
	uint64_t seed = tuner_seed;
	int rc;

	(void)arg;
	while (!atomic_load(&stop_flag)) {
		/* 1 <-> many: half the tunes go to an extreme. */
		switch (xorshift(&seed) % 4) {
		case 0:
			rc = pool_tune(pool, 1);
			break;
		case 1:
			rc = pool_tune(pool, tune_max);
			break;
		default:
			rc = pool_tune(pool, 1 + (int)(xorshift(&seed) %
						       (uint64_t)tune_max));
		}
		if (rc == 0)
			tunes_ok++;
		else if (rc != POOL_ECLOSED)
			report("pool_tune: %s", pool_err_name(rc));
		if (queue_limit != 0) {
			int64_t q = (int64_t)(xorshift(&seed) %
					      (uint64_t)(2 * tune_max + 2)) -
				    1;

			rc = pool_set_queue_limit(pool, q);
			if (rc != 0 && rc != POOL_ECLOSED)
				report("pool_set_queue_limit(%" PRId64 "): %s",
				       q, pool_err_name(rc));
		}
		pause_ns(200000);
	}
	return NULL;
}

static long cycles, stops, timeouts, reboot_busy;
static atomic_long discarded_cb;

static uint64_t lifecycle_seed = 0xdeadbeefcafef00dull;

static void *lifecycle_main(void *arg)
{
	uint64_t seed = lifecycle_seed;
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

/* Thread count of this process (entries of /proc/self/task), -1 on error. */
static long count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Resident set in bytes (/proc/self/statm), -1 on error. */
static long resident_bytes(void)
{
	long size = 0, rss = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

/* Totals of all phases, for the summary line. */
static struct tally all;
static long all_acc, all_rej, all_ran, all_disc, all_wait, all_tunes, phases;

/*
 * One phase: producers, tuner and lifecycle thread for `ms` milliseconds on
 * the open pool, then join them, drain the pool and check every id of the
 * phase and the deltas of pool_stats against *prev (updated). Returns the
 * number of new errors.
 */
static long run_phase(long ms, long nprod, pool_stats_t *prev)
{
	static struct producer prod[MAX_PRODUCERS];
	pool_stats_t s = POOL_STATS_INIT;
	pthread_t tuner, life;
	struct tally t = {0};
	long wait_ok = 0, errors0 = atomic_load(&errors);
	long ran = 0, disc = 0, acc = 0, rej = 0, bad = 0;
	uint64_t d_completed, d_discarded, d_overload, d_timeout, d_closed;
	uint64_t d_inline, d_tunes, d_submitted;
	int64_t deadline;
	unsigned i, nids;
	long k;
	int rc;

	/* Fresh ground truth for this phase's ids. */
	nids = atomic_load(&next_id);
	if (nids > MAX_IDS)
		nids = MAX_IDS;
	for (i = 0; i < nids; i++) {
		atomic_store(&runs[i], 0);
		atomic_store(&discards[i], 0);
		outcome[i] = OUT_NONE;
	}
	atomic_store(&next_id, 0);
	atomic_store(&stop_flag, 0);
	atomic_store(&discarded_cb, 0);
	tunes_ok = 0;
	tuner_seed = xorshift(&tuner_seed);
	lifecycle_seed = xorshift(&lifecycle_seed);

	for (k = 0; k < nprod; k++) {
		memset(&prod[k], 0, sizeof(prod[k]));
		prod[k].seed = 0x2545f4914f6cdd1dull * (uint64_t)(k + 1) +
			       (uint64_t)phases * 0x9e3779b97f4a7c15ull;
		if (pthread_create(&prod[k].thread, NULL, producer_main,
				   &prod[k]) != 0) {
			fprintf(stderr, "stress: pthread_create failed\n");
			exit(1);
		}
	}
	if (pthread_create(&tuner, NULL, tuner_main, NULL) != 0 ||
	    pthread_create(&life, NULL, lifecycle_main, NULL) != 0) {
		fprintf(stderr, "stress: pthread_create failed\n");
		exit(1);
	}
	deadline = now_ns() + ms * 1000000;
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
	/* Drained: every task counted under the bound gave its place back. */
	if (s.bounded_inflight != 0)
		report("drained, but %" PRIu64 " places under the queue bound "
		       "still taken",
		       s.bounded_inflight);

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

	/* The pool's own accounting: gauges absolute, counters as deltas. */
	d_submitted = s.submitted - prev->submitted;
	d_completed = s.completed - prev->completed;
	d_discarded = s.discarded - prev->discarded;
	d_overload = s.rejected_overload - prev->rejected_overload;
	d_timeout = s.rejected_timeout - prev->rejected_timeout;
	d_closed = s.rejected_closed - prev->rejected_closed;
	d_inline = s.inline_runs - prev->inline_runs;
	d_tunes = s.tunes - prev->tunes;
	if (s.submitted != s.completed + s.discarded + s.queued + s.running)
		report("stats: submitted %" PRIu64 " != completed %" PRIu64
		       " + discarded %" PRIu64 " + queued %" PRIu64
		       " + running %" PRIu64,
		       s.submitted, s.completed, s.discarded, s.queued,
		       s.running);
	if (s.queued != 0 || s.running != 0 || s.workers != 0 || s.idle != 0 ||
	    s.waiting != 0)
		report("stats after drain: queued %" PRIu64 " running %" PRIu64
		       " workers %" PRIu64 " idle %" PRIu64 " waiting %" PRIu64,
		       s.queued, s.running, s.workers, s.idle, s.waiting);
	/* Inline runs may or may not be counted as submitted/completed. */
	if (d_completed != (uint64_t)ran &&
	    d_completed + d_inline != (uint64_t)ran)
		report("stats.completed +%" PRIu64 " (inline +%" PRIu64
		       ") but %ld runs observed",
		       d_completed, d_inline, ran);
	if (d_submitted != d_completed + d_discarded)
		report("stats.submitted +%" PRIu64 " != completed +%" PRIu64
		       " + discarded +%" PRIu64 " after the drain",
		       d_submitted, d_completed, d_discarded);
	/* pool_stop discards: those via the callback, plus submit_wait tasks
	 * (not passed to the callback, returned POOL_ECLOSED). */
	if (d_discarded < (uint64_t)disc ||
	    d_discarded > (uint64_t)(disc + t.closed_wait))
		report("stats.discarded +%" PRIu64 " but %ld callbacks and "
		       "%ld closed waits",
		       d_discarded, disc, t.closed_wait);
	if (atomic_load(&discarded_cb) != disc)
		report("discard callback count %ld != %ld",
		       atomic_load(&discarded_cb), disc);
	if (d_overload < (uint64_t)t.overload ||
	    d_timeout != (uint64_t)t.timeout || d_closed < (uint64_t)t.closed)
		report("stats rejections overload +%" PRIu64
		       "/%ld timeout +%" PRIu64 "/%ld closed +%" PRIu64
		       "/%ld (pool/observed)",
		       d_overload, t.overload, d_timeout, t.timeout, d_closed,
		       t.closed);
	if (d_tunes != (uint64_t)tunes_ok)
		report("stats.tunes +%" PRIu64 " != %ld", d_tunes, tunes_ok);
	if (ran == 0)
		report("no task ran");
	*prev = s;

	all.overload += t.overload;
	all.closed += t.closed + t.closed_wait;
	all.timeout += t.timeout;
	all_acc += acc;
	all_rej += rej;
	all_ran += ran;
	all_disc += disc;
	all_wait += wait_ok;
	all_tunes += tunes_ok;
	phases++;
	if (bad)
		report("%ld ids with a wrong outcome in phase %ld", bad,
		       phases);
	return atomic_load(&errors) - errors0;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress [seconds [producers [capacity "
			"[queue_limit]]]]\n"
			"       stress --soak SECONDS [producers [capacity "
			"[queue_limit]]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t prev = POOL_STATS_INIT;
	long seconds = 5, nprod = 4, cap = 4;
	long threads0 = -1, rss0 = -1, rss_max = 0;
	const char *env = getenv("POOL_STRESS_SECONDS");
	uint64_t seed = 0x853c49e6748fea9bull;
	int soak = 0, a = 1, rc;
	int64_t t0 = now_ns(), deadline;

	if (argc > 1 && strcmp(argv[1], "--soak") == 0) {
		soak = 1;
		a = 2;
		if (argc < 3 || atol(argv[2]) <= 0)
			usage();
		nprod = 16;
		cap = 8;
	} else if (env != NULL && atol(env) > 0) {
		seconds = atol(env);
	}
	if (argc > a && atol(argv[a]) > 0)
		seconds = atol(argv[a]);
	if (argc > a + 1)
		nprod = atol(argv[a + 1]);
	if (argc > a + 2)
		cap = atol(argv[a + 2]);
	if (argc > a + 3)
		queue_limit = atol(argv[a + 3]);
	if (seconds <= 0 || nprod <= 0 || nprod > MAX_PRODUCERS || cap <= 0 ||
	    cap > 1024)
		usage();

	o.capacity = (int)cap;
	o.ring_capacity = 4;
	o.expiry_ns = 2000000;
	o.name = "stress";
	o.queue_limit = queue_limit;
	tune_max = soak ? (int)cap : 4;
	rc = pool_new(&pool, &o);
	if (rc != 0) {
		fprintf(stderr, "stress: pool_new: %s\n", pool_err_name(rc));
		return 1;
	}
	if (pool_stats(pool, &prev) != 0)
		report("pool_stats failed");

	if (!soak) {
		run_phase(seconds * 1000, nprod, &prev);
	} else {
		deadline = t0 + seconds * 1000000000;
		while (now_ns() < deadline && atomic_load(&errors) == 0) {
			long ms = 200 + (long)(xorshift(&seed) % 800);
			long n, rss;

			run_phase(ms, nprod, &prev);
			/* Drained: only this thread remains. A joined
			 * thread can stay listed in /proc for a moment
			 * while the kernel finishes its exit: poll, bounded
			 * (2 s). */
			n = count_threads();
			for (int w = 0;
			     threads0 >= 0 && n > threads0 && w < 2000; w++) {
				pause_ns(1000000);
				n = count_threads();
			}
			if (threads0 < 0)
				threads0 = n;
			else if (n != threads0)
				report("phase %ld: %ld threads after the "
				       "drain, "
				       "%ld after the first",
				       phases, n, threads0);
			rss = resident_bytes();
			if (rss > rss_max)
				rss_max = rss;
			if (phases == 3)
				rss0 = rss;
			else if (!SOAK_UNDER_TSAN && phases > 3 && rss0 > 0 &&
				 rss > rss0 + (64l << 20))
				report("phase %ld: resident %ld bytes, %ld "
				       "after warm-up",
				       phases, rss, rss0);
			rc = pool_reboot(pool);
			if (rc != 0)
				report("pool_reboot after the drain: %s",
				       pool_err_name(rc));
		}
		/* The pool is open again: drain for destroy. */
	}

	rc = pool_destroy(pool);
	if (rc != 0)
		report("pool_destroy: %s", pool_err_name(rc));

	printf("stress%s: %.1fs producers=%ld cap=%ld phases=%ld "
	       "accepted=%ld rejected=%ld ran=%ld discarded=%ld waits=%ld "
	       "overload=%ld closed=%ld timeout=%ld cycles=%ld stops=%ld "
	       "release_timeouts=%ld tunes=%ld reboot_busy=%ld threads=%ld "
	       "rss0=%ldK rss_max=%ldK errors=%ld\n",
	       soak ? " --soak" : "", (double)(now_ns() - t0) / 1e9, nprod, cap,
	       phases, all_acc, all_rej, all_ran, all_disc, all_wait,
	       all.overload, all.closed, all.timeout, cycles, stops, timeouts,
	       all_tunes, reboot_busy, threads0, rss0 / 1024, rss_max / 1024,
	       atomic_load(&errors));
	return atomic_load(&errors) == 0 ? 0 : 1;
}
