/* SPDX-License-Identifier: MIT */
/*
 * stop_discard.c - pool_stop with a discard callback.
 *
 * Each queued task owns a heap-allocated job. A task that runs frees its job;
 * a task that pool_stop discards never runs, so the discard callback receives
 * it and frees the job instead. Either way every job is freed exactly once.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <pool.h>

#define NQUEUED 10

struct job {
	int n;
};

static atomic_int ran, discarded;
static atomic_int blocker_started;

static void run_job(void *arg)
{
	struct job *j = arg;

	atomic_fetch_add(&ran, 1);
	free(j);
}

/*
 * Occupies the only worker until pool_stop has closed the pool and taken
 * every queued task, so the outcome below does not depend on timing.
 */
static void blocker(void *arg)
{
	pool_t *self = pool_self();

	(void)arg;
	atomic_store(&blocker_started, 1);
	while (!pool_is_closed(self) || pool_queued(self) != 0)
		sched_yield();
}

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	(void)ctx;
	if (fn == run_job) {
		free(arg); /* the task never ran: its job is ours again */
		atomic_fetch_add(&discarded, 1);
	}
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	pool_t *p;
	int r;

	o.capacity = 1;
	if ((r = pool_new(&p, &o)) < 0) {
		fprintf(stderr, "pool_new: %s\n", pool_strerror(r));
		return 1;
	}
	if ((r = pool_submit(p, blocker, NULL)) < 0)
		goto fail;
	while (!atomic_load(&blocker_started))
		sched_yield();
	/* The only worker is busy: these wait in its ring. */
	for (int i = 0; i < NQUEUED; i++) {
		struct job *j = malloc(sizeof(*j));

		if (!j)
			return 1;
		j->n = i;
		if ((r = pool_submit(p, run_job, j)) < 0) {
			free(j); /* < 0: the task never runs, arg is ours */
			goto fail;
		}
	}
	/* Close, hand every queued task to on_discard (on this thread), wait
	 * for the running blocker and for the worker to exit. */
	if ((r = pool_stop(p, on_discard, NULL)) < 0)
		goto fail;
	r = pool_submit(p, run_job, NULL);
	printf("submit after stop: %s\n", pool_err_name(r));
	if ((r = pool_stats(p, &s)) < 0)
		goto fail;
	printf("ran %d, discarded %d (stats: discarded %llu, completed %llu)\n",
	       atomic_load(&ran), atomic_load(&discarded),
	       (unsigned long long)s.discarded,
	       (unsigned long long)s.completed);
	if (pool_destroy(p) < 0)
		return 1;
	if (atomic_load(&discarded) != NQUEUED || atomic_load(&ran) != 0)
		return 1;
	return 0;
fail:
	fprintf(stderr, "error: %s\n", pool_strerror(r));
	return 1;
}
