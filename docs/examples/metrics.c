/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - histograms, a task hook, the saturation reading and the
 * Prometheus exposition of one pool.
 *
 * Checks what it shows: every task is timed (sample_every = 1), so the run
 * histogram counts exactly the tasks; the after hook saw each of them; the
 * p99 of the run time is at least the 1 ms the slow tasks spin; the
 * saturation reading is 0 once the pool is idle; and the exposition, sized
 * first and then written, carries the completed counter with our label.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pool.h>

#define TASKS 200

static atomic_int hooked, slow_seen;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Every 10th task spins 1 ms, the rest 10 us. */
static void work(void *arg)
{
	long long end = now_ns() + ((intptr_t)arg % 10 == 0 ? 1000000 : 10000);

	while (now_ns() < end)
		;
}

/* A tracing-style hook: sees fn, arg, queue wait and run time. */
static void after(void *ctx, const pool_task_info_t *t)
{
	(void)ctx;
	if (t->outcome == POOL_TASK_RETURNED && t->fn == work)
		atomic_fetch_add(&hooked, 1);
	/* The pool's clock is calibrated within 2e-3 (docs/metrics.md): a
	 * task that spun 1 ms may read a few us short of it. */
	if (t->run_ns >= 990000)
		atomic_fetch_add(&slow_seen, 1);
}

int main(void)
{
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_options_t o = POOL_OPTIONS_INIT;
	const pool_label_t labels[] = {{"service", "example"}};
	pool_hist_t run;
	double p99, wait50;
	char *text;
	long len;
	pool_t *p;

	m.sample_every = 1; /* time every task (default: 1 in 64) */
	m.after = after;
	o.capacity = 2;
	o.name = "example";
	o.metrics = &m;
	if (pool_new(&p, &o) != 0)
		return 1;
	for (intptr_t i = 0; i < TASKS; i++)
		if (pool_submit(p, work, (void *)i) != 0)
			return 1;
	if (pool_release_timeout(p, 30000000000LL) != 0)
		return 1;

	if (pool_metrics_read(p, POOL_HIST_RUN, &run) != 0 ||
	    run.count != TASKS)
		return 1;
	if (pool_metrics_quantile(p, POOL_HIST_RUN, 0.99, &p99) != 0 ||
	    p99 < 0.001 * 7 / 8)
		return 1;
	if (pool_metrics_quantile(p, POOL_HIST_QUEUE_WAIT, 0.5, &wait50) != 0 ||
	    wait50 < 0)
		return 1;
	printf("run time p99 %.3f ms over %llu samples; queue wait p50 "
	       "%.1f us\n",
	       p99 * 1e3, (unsigned long long)run.count, wait50 * 1e6);
	if (atomic_load(&hooked) != TASKS ||
	    atomic_load(&slow_seen) < TASKS / 10)
		return 1;
	if (pool_metrics_saturation_ns(p) != 0)
		return 1;

	/* snprintf-style: size, allocate, write. */
	len = pool_metrics_format(p, NULL, 0, labels, 1);
	if (len <= 0 || !(text = malloc((size_t)len + 1)))
		return 1;
	pool_metrics_format(p, text, (size_t)len + 1, labels, 1);
	if (!strstr(text, "pool_tasks_completed_total{pool=\"example\","
			  "service=\"example\"} 200\n"))
		return 1;
	fputs(strstr(text, "# HELP pool_task_duration_seconds"), stdout);
	free(text);
	return pool_destroy(p) != 0;
}
