/* SPDX-License-Identifier: MIT */
/*
 * lib/task.c - running, showing and discarding a task by its kind (the
 * kinds and the hot tests are in lib/task-inl.h; docs/design.md, "Task
 * kinds"). Every run path calls pool__task_run for a task that does not run
 * in the worker's own frame: the workers (worker.c), the observation path
 * (obs.c) and the inline run of a submit from inside a task (pool.c).
 *
 * Locks: none. Everything here runs user code (the task, the discard
 * callback): callers hold no library lock and are outside every RCU
 * read-side section.
 */
#include "task-inl.h"

/* Runs a context or group task's record (under pool__task_run's guard). */
static void itask_trampoline(void *arg)
{
	struct pool_itask *t = arg;

	/* Last, after the run: a nested run (a helping wait inside it) set
	 * it before. pool__task_run reads it. */
	pool__tls.itask_panicked = t->run(t);
}

/*
 * Run one task inside a guard: a panic (or a caught signal) ends the task,
 * not the worker. A waiter records whether it panicked (the release comes
 * later, pool__task_end); a copy is freed after the run, panic or not.
 * Returns whether the task panicked.
 */
bool pool__task_run(struct pool *p, const struct pool_work *t)
{
	bool panicked;

	switch (t->kind) {
	case POOL_KIND_WAIT: {
		struct pool_waiter *w = t->arg;

		panicked = pool__run_guarded(p, w->fn, w->arg);
		/* Read by pool_submit_wait after the release store of done. */
		w->panicked = panicked;
		break;
	}
	case POOL_KIND_COPY:
		panicked = pool__run_guarded(p, t->fn, pool__copy_data(t->arg));
		pool__copy_free(p, t->arg);
		break;
	case POOL_KIND_ITASK: {
		struct pool_itask *it = t->arg;

		/* Already run by someone else: nothing to guard (a fork-join
		 * level leaves one such record in the ring). */
		if (it->gone && it->gone(it)) {
			panicked = false;
			break;
		}
		/* Its run guards the user's function itself and reports a
		 * panic there; the outer guard covers the rest (an on-cancel
		 * callback run by the start's check). */
		pool__tls.itask_panicked = false;
		panicked = pool__run_guarded(p, itask_trampoline, t->arg) ||
			   pool__tls.itask_panicked;
		break;
	}
	default:
		panicked = pool__run_guarded(p, t->fn, t->arg);
		break;
	}
	return panicked;
}

/* What the submitter passed, as the task hooks see it (pool_task_info). */
void pool__task_user(const struct pool_work *t, pool_task_fn *fn, void **arg)
{
	switch (t->kind) {
	case POOL_KIND_WAIT: {
		struct pool_waiter *w = t->arg;

		*fn = w->fn;
		*arg = w->arg;
		break;
	}
	case POOL_KIND_COPY:
		*fn = t->fn;
		*arg = pool__copy_data(t->arg);
		break;
	case POOL_KIND_ITASK: {
		struct pool_itask *it = t->arg;

		*fn = it->user_fn;
		*arg = it->user_arg;
		break;
	}
	default:
		*fn = t->fn;
		*arg = t->arg;
		break;
	}
}

/*
 * Hand one popped task to a discard callback (NULL: drop it). A
 * pool_submit_wait waiter is released with "discarded" (its caller gets
 * POOL_ECLOSED, the callback does not see it); a context or group task
 * reports itself through its discard (to fn, or its own way) and frees its
 * record; a copy is passed as (fn, data) and freed after the callback.
 */
void pool__task_discard(struct pool *p, const struct pool_work *t,
			pool_discard_fn fn, void *ctx)
{
	switch (t->kind) {
	case POOL_KIND_WAIT:
		pool__waiter_done(t->arg, 2);
		break;
	case POOL_KIND_ITASK: {
		struct pool_itask *it = t->arg;

		it->discard(it, fn, ctx);
		break;
	}
	case POOL_KIND_COPY:
		if (fn)
			fn(t->fn, pool__copy_data(t->arg), ctx);
		pool__copy_free(p, t->arg);
		break;
	default:
		if (fn)
			fn(t->fn, t->arg, ctx);
		break;
	}
}

void pool__waiter_done(struct pool_waiter *w, int32_t how)
{
	/* Release: pairs with the waiter's acquire load; fn's effects are
	 * visible when pool_submit_wait returns. The wake after it only hands
	 * the address to the kernel (the waiter may have returned). */
	atomic_store_explicit(&w->done, how, memory_order_release);
	pool__futex_wake(&w->done, 1);
}
