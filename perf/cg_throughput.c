/* SPDX-License-Identifier: MIT */
/*
 * perf/cg_throughput.c - the `throughput` shape (capacity 2, one producer,
 * empty tasks bumping a counter) for callgrind (docs/design.md, "Task
 * kinds"):
 *
 *   valgrind --tool=callgrind --separate-threads=yes \
 *       cg-throughput N [plain|copy|...|multi_lt|off|all] [paused|p2]
 *
 * plain: pool_submit (pool_try_submit when paused); copy: pool_submit_copy
 * of 8 bytes; copy64: of 64 bytes (the `copy` workload's payload);
 * multi_rr, multi_lt: pool_multi_submit (pool_multi_try_submit when paused)
 * to a multi-pool of two members of capacity 1, round-robin or
 * least-tasks (the `multipool` workload's shape, from one producer; live
 * only: a multi-pool has no pause). Those run with the library's default
 * metrics (one submit in 64 timed: perf/'s `pool_metrics` row); off: plain
 * with POOL_METRICS_OFF (perf/'s `pool` row); all: plain with every task
 * timed (`pool_metrics_all`). paused: the N tasks are queued while the
 * pool is paused (N <= 16384 fits the rings), then it resumes: the workers
 * drain a full queue without spinning or parking, so the worker threads'
 * instructions per task are the run path alone, and the main thread's are the
 * submit's (the kick's pool__ensure_worker is the paused workers' artefact:
 * subtract it). p2: two producer threads submit N / 2 tasks each (the
 * `multipool` workload's two producers; live only). Checks every return
 * value and that every task ran.
 */
#include <pool/metrics.h>
#include <pool/multi.h>
#include <pool/pool.h>
#include <pthread.h>
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

static pool_multi_t *multi;
static pool_t *pool;
static int mode_copy;
static unsigned char payload[64];

static int submit(long i, int try_only)
{
	if (multi)
		return try_only ? pool_multi_try_submit(multi, task_inc, NULL)
				: pool_multi_submit(multi, task_inc, NULL);
	if (mode_copy) {
		memcpy(payload, &i, sizeof(i));
		return pool_submit_copy(pool, task_inc, payload,
					mode_copy == 64 ? 64 : sizeof(i));
	}
	return try_only ? pool_try_submit(pool, task_inc, NULL)
			: pool_submit(pool, task_inc, NULL);
}

/* A p2 producer: submit its share, record the first failure. */
struct producer {
	pthread_t thread;
	long first, n;
	int rc;
};

static void *producer_main(void *arg)
{
	struct producer *pr = arg;

	for (long i = pr->first; i < pr->first + pr->n && pr->rc == 0; i++)
		pr->rc = submit(i, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *mode = argc > 2 ? argv[2] : "plain";
	int paused = argc > 3 && strcmp(argv[3], "paused") == 0;
	int two = argc > 3 && strcmp(argv[3], "p2") == 0;
	int rr = strcmp(mode, "multi_rr") == 0;
	int lt = strcmp(mode, "multi_lt") == 0;
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	int r;

	mode_copy = strcmp(mode, "copy") == 0	  ? 8
		    : strcmp(mode, "copy64") == 0 ? 64
						  : 0;
	o.capacity = 2;
	if (strcmp(mode, "all") == 0)
		m.sample_every = 1;
	else if (strcmp(mode, "off") == 0)
		m.flags = POOL_METRICS_OFF;
	o.metrics = &m;
	if (rr || lt) {
		o.capacity = 1;
		r = pool_multi_new(&multi, 2, &o,
				   rr ? POOL_LB_ROUND_ROBIN
				      : POOL_LB_LEAST_TASKS);
	} else {
		r = pool_new(&pool, &o);
	}
	if (r != 0) {
		fprintf(stderr, "pool_new: %d\n", r);
		return 1;
	}
	if (paused && multi) {
		/* No pool_multi_pause: run the multi-pool live only. */
		fprintf(stderr, "paused: plain and copy modes only\n");
		return 2;
	}
	if (paused) {
		/* Start the first worker, then pause. */
		long first = 1;

		if ((r = submit(0, 0)) != 0) {
			fprintf(stderr, "start: %d\n", r);
			return 1;
		}
		if ((r = pool_pause(pool)) != 0) {
			fprintf(stderr, "pause: %d\n", r);
			return 1;
		}
		n += first;
		for (long i = first; i < n; i++) {
			if ((r = submit(i, 1)) != 0) {
				fprintf(stderr, "submit %ld: %d\n", i, r);
				return 1;
			}
		}
		if ((r = pool_resume(pool)) != 0) {
			fprintf(stderr, "resume: %d\n", r);
			return 1;
		}
	}
	if (two) {
		struct producer pr[2] = {{.first = 0, .n = n / 2},
					 {.first = n / 2, .n = n - n / 2}};

		for (int k = 0; k < 2; k++) {
			if (pthread_create(&pr[k].thread, NULL, producer_main,
					   &pr[k]) != 0) {
				fprintf(stderr, "pthread_create failed\n");
				return 1;
			}
		}
		for (int k = 0; k < 2; k++) {
			pthread_join(pr[k].thread, NULL);
			if (pr[k].rc != 0) {
				fprintf(stderr, "submit: %d\n", pr[k].rc);
				return 1;
			}
		}
	}
	for (long i = 0; i < n && !paused && !two; i++) {
		if ((r = submit(i, 0)) != 0) {
			fprintf(stderr, "submit %ld: %d\n", i, r);
			return 1;
		}
	}
	r = multi ? pool_multi_destroy(multi) : pool_destroy(pool);
	if (r != 0) {
		fprintf(stderr, "destroy: %d\n", r);
		return 1;
	}
	if (atomic_load(&done) != n) {
		fprintf(stderr, "ran %ld of %ld\n", atomic_load(&done), n);
		return 1;
	}
	printf("ok %ld\n", n);
	return 0;
}
