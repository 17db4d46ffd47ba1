/* SPDX-License-Identifier: MIT */
/*
 * perf/cg_throughput.c - the `throughput` shape (capacity 2, one producer,
 * empty tasks bumping a counter) for callgrind (docs/design.md, "Task
 * kinds"):
 *
 *   valgrind --tool=callgrind --separate-threads=yes \
 *       cg-throughput N [plain|copy|off|all] [paused]
 *
 * plain: pool_submit (pool_try_submit when paused); copy: pool_submit_copy
 * of 8 bytes; both with the library's default metrics (one submit in 64
 * timed: perf/'s `pool_metrics` row). off: plain with POOL_METRICS_OFF
 * (perf/'s `pool` row); all: plain with every task timed
 * (`pool_metrics_all`). paused: the N tasks are queued while the pool is paused
 * (N <= 16384 fits the rings), then it resumes: the workers drain a full queue
 * without spinning or parking, so the worker threads' instructions per task
 * are the run path alone, and the main thread's are the submit's (the
 * kick's pool__ensure_worker is the paused workers' artefact: subtract
 * it). Checks every return value and that every task ran.
 */
#include <pool/metrics.h>
#include <pool/pool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long done;

static void task_inc(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *mode = argc > 2 ? argv[2] : "plain";
	int copy = strcmp(mode, "copy") == 0;
	int paused = argc > 3 && strcmp(argv[3], "paused") == 0;
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_t *p;
	int r;

	o.capacity = 2;
	if (strcmp(mode, "all") == 0)
		m.sample_every = 1;
	else if (strcmp(mode, "off") == 0)
		m.flags = POOL_METRICS_OFF;
	o.metrics = &m;
	if ((r = pool_new(&p, &o)) != 0) {
		fprintf(stderr, "pool_new: %d\n", r);
		return 1;
	}
	if (paused) {
		/* Start the first worker, then pause. */
		if ((r = pool_submit(p, task_inc, NULL)) != 0 ||
		    (r = pool_pause(p)) != 0) {
			fprintf(stderr, "start/pause: %d\n", r);
			return 1;
		}
		n++;
		for (long i = 1; i < n; i++) {
			r = copy ? pool_submit_copy(p, task_inc, &i, sizeof(i))
				 : pool_try_submit(p, task_inc, NULL);
			if (r != 0) {
				fprintf(stderr, "submit %ld: %d\n", i, r);
				return 1;
			}
		}
		if ((r = pool_resume(p)) != 0) {
			fprintf(stderr, "resume: %d\n", r);
			return 1;
		}
	}
	for (long i = 0; i < n && !paused; i++) {
		r = copy ? pool_submit_copy(p, task_inc, &i, sizeof(i))
			 : pool_submit(p, task_inc, NULL);
		if (r != 0) {
			fprintf(stderr, "submit %ld: %d\n", i, r);
			return 1;
		}
	}
	if ((r = pool_destroy(p)) != 0) {
		fprintf(stderr, "pool_destroy: %d\n", r);
		return 1;
	}
	if (atomic_load(&done) != n) {
		fprintf(stderr, "ran %ld of %ld\n", atomic_load(&done), n);
		return 1;
	}
	printf("ok %ld\n", n);
	return 0;
}
