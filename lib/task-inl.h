/* SPDX-License-Identifier: MIT */
/*
 * lib/task-inl.h - the task kinds (docs/design.md, "Task kinds"). Never
 * installed.
 *
 * A task's kind is decided once, by the submit call that queues it, and
 * travels with it in two spare bits of its ring slot's sequence word
 * (lib/ring-inl.h, RING_KIND); ring_pop hands it back in pool_work.kind.
 * Nothing compares task functions: this header (the hot tests) and
 * lib/task.c (the rest) are the only code that looks at a kind.
 *
 *   kind               submitted by            slot {fn, arg}
 *   POOL_KIND_PLAIN    pool_submit & co.       the user's {fn, arg}
 *   POOL_KIND_COPY     pool_submit_copy        {user fn, the copy's handle}
 *   POOL_KIND_WAIT     pool_submit_wait        {user fn, struct pool_waiter}
 *   POOL_KIND_ITASK    ctx.c, group.c          {user fn, struct pool_itask}
 *
 * A copy runs the slot's fn on its bytes (pool__copy_data of the handle:
 * a copy has no header). For the other two internal kinds the slot's fn is
 * only informative (the record is what runs).
 *
 * Layer: the task layer, above the rings, the copy arena and the guards
 * (lib/panic.c), below the observation path and the workers.
 */
#ifndef POOL_TASK_INL_H
#define POOL_TASK_INL_H

#include "internal.h"

enum pool_kind {
	POOL_KIND_PLAIN = 0,
	POOL_KIND_COPY = 1,
	POOL_KIND_WAIT = 2,
	POOL_KIND_ITASK = 3,
};

/*
 * Whether t runs in the worker's own long-lived frame (worker.c's
 * run_plain): a plain task, or a copy without a stamp (a stamped copy takes
 * the guarded path, pool__task_run, which frees it after its own guard).
 * The caller also requires that the pool has no task hooks.
 */
static inline bool pool__task_in_frame(const struct pool_work *t)
{
	return t->kind == POOL_KIND_PLAIN ||
	       (t->kind == POOL_KIND_COPY && t->stamp == 0);
}

/* What a task that runs in the frame calls, as the panic handler sees it:
 * a copy's function and bytes, else the task itself. */
static inline void pool__task_frame_call(const struct pool_work *t,
					 pool_task_fn *fn, void **arg)
{
	*fn = t->fn;
	*arg = t->kind == POOL_KIND_COPY ? pool__copy_data(t->arg) : t->arg;
}

/* After a task that ran in the frame returned or panicked (after the panic
 * handler, which was shown a copy's bytes): free a copy. */
static inline void pool__task_frame_done(struct pool *p,
					 const struct pool_work *t)
{
	if (t->kind == POOL_KIND_COPY)
		pool__copy_free(p, t->arg);
}

/* After a task ran and was counted complete: release a pool_submit_wait
 * caller (so that it returns with the task counted). */
static inline void pool__task_end(const struct pool_work *t)
{
	if (t->kind == POOL_KIND_WAIT)
		pool__waiter_done(t->arg, 1);
}

/* A submit call did not queue its task: free what the call owns (a copy;
 * a waiter lives on the caller's stack, an itask is its caller's). */
static inline void pool__task_refused(struct pool *p, unsigned kind, void *arg)
{
	if (kind == POOL_KIND_COPY)
		pool__copy_free(p, arg);
}

#endif /* POOL_TASK_INL_H */
