/* SPDX-License-Identifier: MIT */
/*
 * perf/obs_cost.c - the cost of observation, per task, without the noise of
 * a shared machine (docs/metrics.md, "What it costs").
 *
 *   obs-cost EVERY [N]    EVERY: pool_metrics_options_t.sample_every
 *                         (1: every task timed), 0: POOL_METRICS_OFF
 *
 * A capacity-1 pool's only worker is held by a gate task while this thread
 * submits N empty tasks (default 100000), then released to drain them. The
 * two phases never overlap, so each one's process CPU time is one thread's:
 * printed as CPU ns per submit and per task. Under
 *   valgrind --tool=callgrind --separate-threads=yes
 * the difference between runs with N and 2N is the instructions per submit
 * (main thread) and per task (worker thread), free of the fixed costs.
 * Checks every return value and that every task ran; prints the run-time
 * histogram's p50 and p99.
 */
#define _GNU_SOURCE
#include <pool.h>
#include <pool/metrics.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_ulong done;
static sem_t started, gate;

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void task(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
}

static void gate_task(void *arg)
{
	(void)arg;
	sem_post(&started);
	while (sem_wait(&gate) != 0)
		;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "obs-cost: %s: %s\n", what, pool_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	unsigned every = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_options_t o = POOL_OPTIONS_INIT;
	double c0, c1, c2;
	pool_hist_t h;
	pool_t *p;
	int rc;

	if (n == 0 || n > (1ul << 20) - 1) {
		fprintf(stderr, "obs-cost: N must be 1 .. %lu\n",
			(1ul << 20) - 1);
		return 2;
	}
	if (every == 0)
		m.flags = POOL_METRICS_OFF;
	else
		m.sample_every = every;
	o.metrics = &m;
	o.capacity = 1;
	o.ring_capacity = 1u << 20; /* the gate task and N tasks fit */
	if ((rc = pool_new(&p, &o)) != 0)
		return fail("pool_new", rc);
	sem_init(&started, 0, 0);
	sem_init(&gate, 0, 0);
	if ((rc = pool_submit(p, gate_task, NULL)) != 0)
		return fail("pool_submit", rc);
	while (sem_wait(&started) != 0)
		;
	c0 = cpu_ns();
	for (unsigned long i = 0; i < n; i++)
		if ((rc = pool_submit(p, task, NULL)) != 0)
			return fail("pool_submit", rc);
	c1 = cpu_ns();
	sem_post(&gate);
	if ((rc = pool_release_timeout(p, INT64_MAX)) != 0)
		return fail("pool_release_timeout", rc);
	c2 = cpu_ns();
	if (atomic_load(&done) != n) {
		fprintf(stderr, "obs-cost: %lu of %lu tasks ran\n",
			atomic_load(&done), n);
		return 1;
	}
	if ((rc = pool_metrics_read(p, POOL_HIST_RUN, &h)) != 0)
		return fail("pool_metrics_read", rc);
	printf("every %u: %lu tasks, CPU %.1f ns per submit, %.1f ns per "
	       "task; run-time samples %llu, p50 %.0f ns, p99 %.0f ns\n",
	       every, n, (c1 - c0) / (double)n, (c2 - c1) / (double)n,
	       (unsigned long long)h.count, pool_hist_quantile(&h, 0.5),
	       pool_hist_quantile(&h, 0.99));
	if ((rc = pool_destroy(p)) != 0)
		return fail("pool_destroy", rc);
	return 0;
}
