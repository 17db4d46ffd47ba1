/* SPDX-License-Identifier: MIT */
/*
 * pool/group.h - task groups over a shared pool (Go's errgroup with a
 * limit), and pool_wait_idle.
 *
 * A group runs int-returning tasks on a pool it does not own. It keeps the
 * first error (a negative return, or POOL_EPANIC for a task that panicked)
 * and then cancels its context, so queued tasks of the group are skipped
 * (counted, handed to on_skip) and running ones can poll
 * pool_ctx_err(pool_group_ctx(g)) to stop early. pool_group_wait waits for
 * every task of the group, without closing the pool. Called from inside a
 * task of the same pool, the waits (and a go blocked at the limit) run
 * queued tasks of the pool on the calling worker instead of blocking it,
 * so fork-join inside tasks works with any capacity, 1 included. Groups
 * nest: a task may create, fill and wait for a group of its own.
 *
 * Cost: a group is one allocation (plus its context); each go allocates the
 * task's record (a thread reuses up to 16 groups and 16 records it destroyed
 * or freed, kept until it exits) and does two atomic operations on the group's
 * counter line (a go handed to a running task end, see pool_group_go, allocates
 * nothing); no thread and no lock on the go -> run -> done path.
 *
 * Synchronization: go, try_go, go_ctx, wait, wait_ctx, pool_group_ctx,
 * pool_group_skipped may run concurrently from any threads, including the
 * group's own tasks. pool_group_destroy must not run concurrently with any
 * other call on the same group. See docs/group.md.
 */
#ifndef POOL_GROUP_H
#define POOL_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "ctx.h"
#include "error.h"
#include "pool.h"

POOL_BEGIN_DECLS

/* Opaque group. Pair pool_group_new with pool_group_destroy. */
typedef struct pool_group pool_group_t;

/* A group task: returns 0 (or any value >= 0) for success, < 0 for an
 * error the group keeps if it is the first. */
typedef int (*pool_group_fn)(void *arg);

/* A group task skipped because the group's context was done before it
 * started, or discarded by pool_stop or because no worker could start
 * (cause POOL_ECLOSED), or, for a task handed to a running task end of a
 * paused pool (see pool_group_go), refused by the pool when that end
 * queued it (the pool's code: POOL_ECLOSED, or POOL_EOVERLOAD for a full
 * POOL_NONBLOCKING pool). */
typedef void (*pool_group_skip_fn)(void *skip_arg, pool_group_fn fn, void *arg,
				   int cause);

typedef struct pool_group_options {
	size_t size; /* sizeof(pool_group_options_t): POOL_GROUP_OPTIONS_INIT */
	/* Group tasks queued or running at once; 0: no limit. At most
	 * 1 << 30. */
	int limit;
	/* The group's context is a child of parent (NULL: none): cancelling
	 * parent cancels the group. Held by the group until destroy. */
	pool_ctx_t *parent;
	/* Called once per skipped task, on the thread that skipped it,
	 * outside every library lock (may call into the library). NULL: the
	 * skip is only counted. */
	pool_group_skip_fn on_skip;
	void *skip_arg;
} pool_group_options_t;

#define POOL_GROUP_OPTIONS_INIT                          \
	{                                                \
		sizeof(pool_group_options_t), 0, 0, 0, 0 \
	}

/*
 * pool_group_new - create a group whose tasks run on p.
 *
 * o may be NULL (no limit, no parent, no on_skip). The pool must outlive
 * the group. Thread safety: any thread. Errors: POOL_EINVAL (out or p
 * NULL, unknown o->size, limit < 0 or above 1 << 30), POOL_ENOMEM.
 */
POOL_EXTERN POOL_NODISCARD int pool_group_new(pool_group_t **out, pool_t *p,
					      const pool_group_options_t *o);

/*
 * pool_group_destroy - free a group with no task outstanding.
 *
 * Call it after a pool_group_wait returned (any code but POOL_EDEADLK).
 * Errors: POOL_EINVAL (g NULL), POOL_EBUSY (tasks outstanding: nothing is
 * freed).
 */
POOL_EXTERN int pool_group_destroy(pool_group_t *g);

/*
 * pool_group_go - run fn(arg) as a task of the group.
 *
 * Thread safety: any thread, also a task of the group or of the pool.
 * Ordering: the caller's actions before go happen-before fn starts; fn's
 * return happens-before the pool_group_wait that observes it returns.
 * Ownership: on 0 the task is the group's until it ran or was skipped and
 * reported; on < 0 it never runs and the caller keeps arg.
 * Blocking: at the limit, waits for a task of the group to end (from a task
 * of the same pool: runs queued tasks meanwhile; elsewhere: spins up to
 * 250 us, then sleeps on a futex woken by the end); then submits as
 * pool_submit does (a full pool blocks, or runs the task inline from inside
 * a task of that pool). From outside the pool, a go at the limit offers its
 * task to the task end that frees a slot, which runs it on its worker right
 * after (no queue: counted in pool_stats inline_runs as an inline run is,
 * not in submitted/completed, not seen by the task hooks); go then returns
 * 0. No offer is taken while the group's
 * context is done or the pool is paused or not open. Likewise, a go from
 * outside the pool that gets a slot while a task of the group runs may
 * hand its task to that task's end instead of submitting it, and return 0
 * at once: the end runs it next on its worker (counted the same way); if
 * the pool is paused by then, the end queues it in the pool instead (it
 * starts after pool_resume, or pool_stop discards and reports it as any
 * queued task of the group). Either way the task holds its slot from the
 * go's return, so at most `limit` tasks are queued or running.
 * Errors: POOL_EINVAL (g or fn NULL), the group context's cause (already
 * cancelled: first error, parent cancelled, deadline), POOL_ENOMEM,
 * POOL_EOVERLOAD (1 << 30 tasks outstanding, or the pool's own
 * non-blocking rules), POOL_ECLOSED and the rest of pool_submit's codes.
 */
POOL_EXTERN POOL_NODISCARD int pool_group_go(pool_group_t *g, pool_group_fn fn,
					     void *arg);

/*
 * pool_group_try_go - pool_group_go that never blocks: POOL_EOVERLOAD at the
 * limit or on a full pool (pool_try_submit). Never waits for user code.
 */
POOL_EXTERN POOL_NODISCARD int pool_group_try_go(pool_group_t *g,
						 pool_group_fn fn, void *arg);

/*
 * pool_group_go_ctx - pool_group_go whose waits (limit, full pool) end with
 * c's cause as soon as c is done; c done at the call: nothing is
 * submitted. c only bounds the call: the task itself obeys the group's
 * context. Errors: as pool_group_go, plus POOL_EINVAL (c NULL) and c's
 * cause.
 */
POOL_EXTERN POOL_NODISCARD int pool_group_go_ctx(pool_group_t *g, pool_ctx_t *c,
						 pool_group_fn fn, void *arg);

/*
 * pool_group_wait - wait until no task of the group is outstanding; return
 * the first error, or 0.
 *
 * The first error is the first negative return of a task, POOL_EPANIC for a
 * panic, or the cause that skipped a task (the group's context was
 * cancelled: by the first error, by its parent, by a deadline; or
 * POOL_ECLOSED for a discarded task: pool_stop, no worker could start).
 * It stays: every later wait
 * returns it too. The pool stays open; go may be called again afterwards.
 * Ordering: every task's end happens-before the return.
 * Blocking: from a thread outside the pool, spins up to 250 us, then a
 * futex sleep woken by the last task's end. From inside a task of the pool:
 * runs queued tasks while any task of the group is outstanding (the group's
 * newest queued task first, then the pool's: its own ring, then stealing),
 * and when none is queued spins 250 us, then naps (20 us doubling to 1 ms)
 * between looks, so a capacity-1 pool cannot deadlock on it. A task that waits
 * for a group it is itself part of (directly or through the tasks below it on
 * the same worker's stack) would wait for itself: POOL_EDEADLK.
 * Errors: POOL_EINVAL (g NULL), POOL_EDEADLK, else the group's first error.
 */
POOL_EXTERN int pool_group_wait(pool_group_t *g);

/*
 * pool_group_wait_ctx - pool_group_wait that returns c's cause as soon as c
 * is done, tasks still outstanding (they go on; wait again before
 * destroy). Does not cancel the group. Errors: as pool_group_wait, plus
 * POOL_EINVAL (c NULL) and c's cause.
 */
POOL_EXTERN int pool_group_wait_ctx(pool_group_t *g, pool_ctx_t *c);

/*
 * pool_group_ctx - the group's context: cancelled with the first error
 * (tasks may poll it); a child of the parent option. Owned by the group:
 * valid until pool_group_destroy (take a child to keep it longer).
 * NULL for g NULL.
 */
POOL_EXTERN pool_ctx_t *pool_group_ctx(pool_group_t *g);

/*
 * pool_group_skipped - tasks of g skipped so far (exact at some moment of
 * the call). 0 for g NULL.
 */
POOL_EXTERN uint64_t pool_group_skipped(const pool_group_t *g);

/*
 * pool_wait_idle - wait until p has no queued and no running task, without
 * closing it.
 *
 * Returns 0 at a moment when every task accepted so far had ended (run,
 * skipped or discarded). Racy exactly as it says: a submit concurrent with
 * the call may or may not be covered, and tasks may be accepted the
 * moment after it returns; only tasks whose submit returned before the call
 * started are guaranteed to have ended. Ordering: those tasks' ends
 * happen-before a 0 return. Blocking: polls the pool's counters with a
 * backoff from 10 us to 1 ms (no wake-up from the workers: it costs them
 * nothing). timeout_ns < 0: no limit. Errors: POOL_EINVAL (p NULL),
 * POOL_EDEADLK (from inside a task of p: it would wait for itself),
 * POOL_ETIMEDOUT.
 */
POOL_EXTERN int pool_wait_idle(pool_t *p, int64_t timeout_ns);

POOL_END_DECLS

#endif /* POOL_GROUP_H */
