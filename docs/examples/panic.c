/* SPDX-License-Identifier: MIT */
/*
 * panic.c - fault isolation: pool_panic, pool_defer, a panic handler,
 * POOL_CATCH_SIGNALS and pool_submit_copy (docs/panic.md).
 *
 * Each job is submitted by value with pool_submit_copy, so the caller's
 * struct is reused at once. A job allocates a buffer and defers its free, so
 * the buffer is released whether the job returns or panics. Odd jobs fail:
 * one with pool_panicf, one with a signal raised inside the task (which
 * POOL_CATCH_SIGNALS turns into a panic). The handler counts the failures;
 * the pool's single worker survives all of them.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pool.h>

#define NJOBS 10

struct job {
	int id;
	char name[32];
};

static atomic_int done, freed, panics, by_signal;

static void job_run(void *arg)
{
	const struct job *j = arg; /* the pool's copy, aligned, ours to read */
	char *buf = malloc(64);

	if (!buf)
		pool_panic(1, "out of memory");
	if (pool_defer(free, buf) < 0) { /* runs however the job ends */
		free(buf);
		pool_panic(2, "too many deferred calls");
	}
	atomic_fetch_add(&freed, 1); /* counts the deferred frees to come */
	snprintf(buf, 64, "job %d (%s)", j->id, j->name);
	if (j->id % 4 == 1)
		pool_panicf(100 + j->id, "%s: bad input", buf);
	if (j->id % 4 == 3)
		raise(SIGFPE); /* stands in for a real fault in the task */
	atomic_fetch_add(&done, 1);
}

/* Runs on the worker after the job's deferred calls, outside every lock. */
static void on_panic(void *ctx, const pool_panic_info_t *in)
{
	(void)ctx;
	printf("%s/w%d: task panicked: code %d, signal %d: %s\n", in->pool_name,
	       in->worker_id, in->code, in->signo, in->msg);
	atomic_fetch_add(&panics, 1);
	if (in->signo)
		atomic_fetch_add(&by_signal, 1);
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	struct job j;
	pool_t *p;
	int r;

	o.capacity = 1;
	o.name = "jobs";
	o.flags = POOL_CATCH_SIGNALS;
	o.panic_handler = on_panic;
	if ((r = pool_new(&p, &o)) < 0) {
		fprintf(stderr, "pool_new: %s\n", pool_strerror(r));
		return 1;
	}
	for (int i = 0; i < NJOBS; i++) {
		j.id = i;
		snprintf(j.name, sizeof(j.name), "input-%d", i);
		/* Copied now: j may be overwritten as soon as this returns. */
		if ((r = pool_submit_copy(p, job_run, &j, sizeof(j))) < 0) {
			fprintf(stderr, "pool_submit_copy: %s\n",
				pool_strerror(r));
			return 1;
		}
		memset(&j, 0, sizeof(j));
	}
	if ((r = pool_release_timeout(p, 5000000000)) < 0 ||
	    (r = pool_stats(p, &s)) < 0) {
		fprintf(stderr, "error: %s\n", pool_strerror(r));
		return 1;
	}
	printf("done %d, panicked %d (%d by a signal), stats: panicked %llu, "
	       "completed %llu, workers started %llu\n",
	       atomic_load(&done), atomic_load(&panics),
	       atomic_load(&by_signal), (unsigned long long)s.panicked,
	       (unsigned long long)s.completed, (unsigned long long)s.spawned);
	if (pool_destroy(p) < 0)
		return 1;
	/* Jobs 1, 5, 9 panic; 3, 7 fault; the other 5 finish. */
	return !(atomic_load(&done) == 5 && atomic_load(&panics) == 5 &&
		 atomic_load(&by_signal) == 2 && s.panicked == 5 &&
		 s.completed == NJOBS && s.spawned == 1 &&
		 atomic_load(&freed) == NJOBS);
}
