/* SPDX-License-Identifier: MIT */
/*
 * test/metrics/expose.c - write the exposition of a pool (argv[1] == "pool")
 * or of a multi-pool ("multi") to stdout after some load: returned and
 * panicking tasks, blocked and rejected submits, a tune, and extra labels
 * whose values need escaping. test/metrics/promtool-check.sh feeds it to
 * `promtool check metrics`.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <pool.h>

static void task_nop(void *arg)
{
	(void)arg;
}

static void task_panic(void *arg)
{
	(void)arg;
	pool_panic(1, "expose");
}

static void quiet(void *ctx, const pool_panic_info_t *info)
{
	(void)ctx;
	(void)info;
}

static int load(pool_t *p)
{
	for (int i = 0; i < 2000; i++)
		if (pool_submit(p, i % 100 == 0 ? task_panic : task_nop,
				NULL) != 0)
			return 1;
	/* A rejection or not: either is a valid reading. */
	if (pool_submit_timeout(p, task_nop, NULL, 1) < 0)
		return 0;
	return 0;
}

int main(int argc, char **argv)
{
	static const pool_label_t labels[] = {
		{"env", "quote\" backslash\\ newline\n end"},
		{"zone", "eu-west-1"},
	};
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_options_t o = POOL_OPTIONS_INIT;
	int multi = argc > 1 && strcmp(argv[1], "multi") == 0;
	int rc;

	m.sample_every = 4;
	o.capacity = 2;
	o.ring_capacity = 4;
	o.metrics = &m;
	o.name = "expo\"sed";
	o.panic_handler = quiet;
	if (multi) {
		pool_multi_t *mp;

		if (pool_multi_new(&mp, 3, &o, POOL_LB_ROUND_ROBIN) != 0)
			return 1;
		for (int i = 0; i < 3000; i++)
			if (pool_multi_submit(mp, task_nop, NULL) != 0)
				return 1;
		pool_multi_release(mp);
		/* Counted under reason="closed". */
		if (pool_multi_submit(mp, task_nop, NULL) != POOL_ECLOSED)
			return 1;
		if (pool_multi_release_timeout(mp, 30000000000LL) != 0)
			return 1;
		rc = pool_multi_metrics_write(mp, stdout, labels, 2);
		return pool_multi_destroy(mp) != 0 || rc != 0;
	} else {
		pool_t *p;

		if (pool_new(&p, &o) != 0 || load(p) != 0)
			return 1;
		if (pool_tune(p, 3) != 0)
			return 1;
		if (pool_release_timeout(p, 30000000000LL) != 0)
			return 1;
		if (pool_submit(p, task_nop, NULL) != POOL_ECLOSED)
			return 1;
		rc = pool_metrics_write(p, stdout, labels, 2);
		return pool_destroy(p) != 0 || rc != 0;
	}
}
