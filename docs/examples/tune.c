/* SPDX-License-Identifier: MIT */
/*
 * tune.c - change a pool's capacity while it runs (ants Tune).
 *
 * Grow from 1 to 4 workers and prove 4 tasks run at once (each waits until
 * all 4 are running); shrink to 2 and check that no more than 2 run at once.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include <pool.h>

static atomic_int arrived, done, now_running, max_running;

static void meet_task(void *arg)
{
	(void)arg;
	/* Returns only when 4 tasks run at the same time. */
	atomic_fetch_add(&arrived, 1);
	while (atomic_load(&arrived) < 4)
		sched_yield();
	atomic_fetch_add(&done, 1);
}

static void measured_task(void *arg)
{
	int n = atomic_fetch_add(&now_running, 1) + 1;
	int m = atomic_load(&max_running);

	(void)arg;
	while (n > m && !atomic_compare_exchange_weak(&max_running, &m, n))
		;
	for (int i = 0; i < 100; i++)
		sched_yield();
	atomic_fetch_sub(&now_running, 1);
	atomic_fetch_add(&done, 1);
}

static void wait_done(int n)
{
	while (atomic_load(&done) < n)
		sched_yield();
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	pool_t *p;
	int r;

	o.capacity = 1;
	if ((r = pool_new(&p, &o)) < 0)
		goto fail;
	printf("cap %d\n", pool_cap(p));

	/* Grow: more rings at once, workers are spawned as work arrives. */
	if ((r = pool_tune(p, 4)) < 0)
		goto fail;
	printf("cap %d\n", pool_cap(p));
	for (int i = 0; i < 4; i++)
		if ((r = pool_submit(p, meet_task, NULL)) < 0)
			goto fail;
	wait_done(4);
	printf("4 tasks ran at once\n");

	/* Shrink: the bound drops at once; surplus workers exit after their
	 * current task (or at once when idle). */
	if ((r = pool_tune(p, 2)) < 0)
		goto fail;
	printf("cap %d\n", pool_cap(p));
	do {
		if ((r = pool_stats(p, &s)) < 0)
			goto fail;
		sched_yield();
	} while (s.workers > 2);
	for (int i = 0; i < 20; i++)
		if ((r = pool_submit(p, measured_task, NULL)) < 0)
			goto fail;
	wait_done(4 + 20);
	printf("at most 2 at once after the shrink: %s\n",
	       atomic_load(&max_running) <= 2 ? "yes" : "no");

	r = pool_tune(p, 0);
	printf("pool_tune(p, 0): %s\n", pool_err_name(r));

	if ((r = pool_release_timeout(p, 5000000000)) < 0)
		goto fail;
	r = pool_tune(p, 8);
	printf("pool_tune after release: %s\n", pool_err_name(r));
	if ((r = pool_stats(p, &s)) < 0)
		goto fail;
	printf("tunes %llu\n", (unsigned long long)s.tunes);
	if (pool_destroy(p) < 0 || atomic_load(&max_running) > 2)
		return 1;
	return 0;
fail:
	fprintf(stderr, "error: %s\n", pool_strerror(r));
	return 1;
}
