/* SPDX-License-Identifier: MIT */
/*
 * worker_state.c - worker-local state (tunny-style): worker_init builds a
 * per-worker scratch struct, tasks reach it with pool_worker_state() without
 * any locking, worker_fini folds it into a total and frees it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <pool.h>

#define NTASKS 10000

struct scratch {
	unsigned id;
	long tasks; /* touched only by the owning worker thread */
};

struct totals {
	atomic_long tasks;
	atomic_int inits, finis;
};

static int init(void *ctx, unsigned worker_id, void **state)
{
	struct totals *t = ctx;
	struct scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return POOL_ENOMEM; /* refuse: this worker never runs a task */
	s->id = worker_id;
	*state = s;
	atomic_fetch_add(&t->inits, 1);
	return 0;
}

static void fini(void *ctx, unsigned worker_id, void *state)
{
	struct totals *t = ctx;
	struct scratch *s = state;

	(void)worker_id;
	atomic_fetch_add(&t->tasks, s->tasks);
	atomic_fetch_add(&t->finis, 1);
	free(s);
}

static void task(void *arg)
{
	struct scratch *s = pool_worker_state();

	(void)arg;
	/* Same thread as init and fini: no atomics needed. */
	if (s && (int)s->id == pool_worker_id())
		s->tasks++;
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	struct totals t = {0};
	pool_t *p;
	int r;

	o.capacity = 2;
	o.flags = POOL_PREALLOC; /* pool_new waits for both worker_init */
	o.worker_init = init;
	o.worker_fini = fini;
	o.worker_ctx = &t;
	if ((r = pool_new(&p, &o)) < 0) {
		fprintf(stderr, "pool_new: %s\n", pool_strerror(r));
		return 1;
	}
	printf("after pool_new: %d workers initialised\n",
	       atomic_load(&t.inits));
	printf("outside a task: state %p, worker id %d\n", pool_worker_state(),
	       pool_worker_id());
	for (int i = 0; i < NTASKS; i++) {
		if ((r = pool_submit(p, task, NULL)) < 0) {
			fprintf(stderr, "pool_submit: %s\n", pool_strerror(r));
			return 1;
		}
	}
	/* Every worker_fini returned before pool_destroy returns. */
	if ((r = pool_destroy(p)) < 0) {
		fprintf(stderr, "pool_destroy: %s\n", pool_strerror(r));
		return 1;
	}
	printf("inits == finis: %s\n",
	       atomic_load(&t.inits) == atomic_load(&t.finis) ? "yes" : "no");
	printf("tasks counted in worker state: %ld\n", atomic_load(&t.tasks));
	if (atomic_load(&t.tasks) != NTASKS ||
	    atomic_load(&t.inits) != atomic_load(&t.finis))
		return 1;
	return 0;
}
