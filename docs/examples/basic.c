/* SPDX-License-Identifier: MIT */
/*
 * basic.c - the README example: create a pool, submit tasks, wait for them,
 * destroy the pool.
 */
#include <stdatomic.h>
#include <stdio.h>

#include <pool.h>

static void count(void *arg)
{
	atomic_fetch_add_explicit((atomic_int *)arg, 1, memory_order_relaxed);
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	atomic_int done = 0;
	pool_t *p;
	int r;

	o.capacity = 4; /* at most 4 worker threads */
	if ((r = pool_new(&p, &o)) < 0) {
		fprintf(stderr, "pool_new: %s\n", pool_strerror(r));
		return 1;
	}
	for (int i = 0; i < 1000; i++) {
		/* Blocks while the pool is full; < 0: the task never runs. */
		if ((r = pool_submit(p, count, &done)) < 0) {
			fprintf(stderr, "pool_submit: %s\n", pool_strerror(r));
			return 1;
		}
	}
	/* Close, run every accepted task and join the workers (at most 5 s).
	 * Every task's end happens-before this returns 0. */
	r = pool_release_timeout(p, 5000000000);
	printf("%s: %d tasks ran\n", pool_err_name(r), atomic_load(&done));
	if (pool_destroy(p) < 0 || r < 0 || atomic_load(&done) != 1000)
		return 1;
	return 0;
}
