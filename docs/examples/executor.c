/* SPDX-License-Identifier: MIT */
/*
 * docs/examples/executor.c - hand the executor-taking library of
 * executor_lib.h a pool, a multi-pool, and an executor that is not a pool
 * at all (runs each task inline). Exits 0 only if every sum is right.
 */
#include <stdio.h>

#include <pool.h>

#include "executor_lib.h"

/* An executor of one's own: run the task now, on the calling thread. */
static int inline_submit(void *ctx, void (*fn)(void *arg), void *arg)
{
	(void)ctx;
	fn(arg);
	return 0;
}

static int check(const char *what, const pool_executor_t *ex)
{
	const uint64_t n = 100000;
	uint64_t got = 0;
	int r = sum_squares(ex, n, &got);

	if (r < 0) {
		fprintf(stderr, "%s: %s\n", what, pool_strerror(r));
		return 1;
	}
	if (got != n * (n + 1) * (2 * n + 1) / 6) {
		fprintf(stderr, "%s: wrong sum %llu\n", what,
			(unsigned long long)got);
		return 1;
	}
	printf("%-12s (%s): %llu\n", what, ex->name ? ex->name : "?",
	       (unsigned long long)got);
	return 0;
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_executor_t on_pool, on_multi;
	pool_executor_t inline_ex = {sizeof(pool_executor_t), inline_submit,
				     inline_submit, NULL, "inline"};
	pool_multi_t *m;
	pool_t *p;
	int bad = 0;

	o.capacity = 4;
	o.name = "sums";
	if (pool_new(&p, &o) != 0 ||
	    pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN) != 0)
		return 1;
	/* Valid until the pool (multi-pool) is destroyed. */
	if (pool_executor(p, &on_pool) != 0 ||
	    pool_multi_executor(m, &on_multi) != 0)
		return 1;
	bad |= check("pool", &on_pool);
	bad |= check("multi-pool", &on_multi);
	bad |= check("inline", &inline_ex);
	if (pool_destroy(p) != 0 || pool_multi_destroy(m) != 0)
		return 1;
	return bad;
}
