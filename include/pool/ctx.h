/* SPDX-License-Identifier: MIT */
/*
 * pool/ctx.h - cancellation contexts with deadlines (Go's context.Context).
 *
 * A context is live until it is cancelled, once: by pool_ctx_cancel, by the
 * cancellation of its parent, or when its deadline (CLOCK_MONOTONIC) passes.
 * The first cause is kept and reported by every later call. Blocking calls
 * of the library have variants taking a context (pool_submit_ctx,
 * pool_submit_wait_ctx, pool_group_go_ctx, pool_group_wait_ctx,
 * pool_sem_acquire_ctx); each returns the context's cause (POOL_ECANCELED,
 * POOL_ETIMEDOUT for a deadline, or the code given to pool_ctx_cancel) once
 * the context is done. A task submitted with a context that is done before
 * the task starts is skipped: counted (pool_ctx_skipped) and handed to the
 * context's skip callback, never silently dropped.
 *
 * Deadlines are observed, not timed: no thread watches them. A context
 * whose deadline passed is cancelled by the first call that looks at it
 * (pool_ctx_err, pool_ctx_wait, any context-taking call, a task start);
 * its on-cancel callbacks run then, on that thread. Waits in the library
 * sleep no later than the deadline, so a blocked call returns on time.
 *
 * Lifetime: references. pool_ctx_new gives the caller one; children, queued
 * tasks, groups and waiters hold their own, so pool_ctx_destroy may be
 * called whenever the caller is done with its handle. See docs/ctx.md.
 */
#ifndef POOL_CTX_H
#define POOL_CTX_H

#include <stdint.h>

#include "common.h"
#include "error.h"
#include "pool.h"

POOL_BEGIN_DECLS

/* Opaque context. Pair pool_ctx_new with pool_ctx_destroy. */
typedef struct pool_ctx pool_ctx_t;

/* pool_ctx_new's timeout_ns for "no deadline of its own". */
#define POOL_CTX_NO_TIMEOUT ((int64_t)-1)

/* pool_ctx_deadline for a context without a deadline. */
#define POOL_CTX_NO_DEADLINE INT64_MAX

/* Called once when a context is cancelled: on_cancel(arg, cause). */
typedef void (*pool_ctx_cancel_fn)(void *arg, int cause);

/* Called once per task skipped because its context was done before it
 * started: on_skip(arg, fn, task_arg, cause). */
typedef void (*pool_ctx_skip_fn)(void *arg, pool_task_fn fn, void *task_arg,
				 int cause);

/*
 * pool_ctx_new - create a context, alone (parent NULL) or as a child.
 *
 * A child is cancelled with its parent's cause when the parent is
 * cancelled (also if it already is: the child is born cancelled). Its
 * deadline is the earlier of now + timeout_ns and the parent's.
 * timeout_ns: POOL_CTX_NO_TIMEOUT (any negative value) for none; 0 gives a
 * context whose deadline has already passed. The sum is saturated, so any
 * int64_t is accepted (INT64_MAX behaves as no deadline).
 * Thread safety: any thread; parent may be used concurrently.
 * Ownership: *out holds one reference, the caller's (pool_ctx_destroy).
 * The child holds a reference on its parent until the child is freed.
 * Blocking: takes the parent's internal lock briefly; never waits.
 * Errors: POOL_EINVAL (out NULL), POOL_ENOMEM (nothing is created).
 */
POOL_EXTERN POOL_NODISCARD int
pool_ctx_new(pool_ctx_t **out, pool_ctx_t *parent, int64_t timeout_ns);

/*
 * pool_ctx_destroy - drop the caller's reference.
 *
 * Does not cancel. The context is freed when the last holder (child,
 * queued task, group, waiter) is done with it. Thread safety: any thread,
 * once per pool_ctx_new; the handle must not be used by the caller after.
 * NULL is ignored.
 */
POOL_EXTERN void pool_ctx_destroy(pool_ctx_t *c);

/*
 * pool_ctx_cancel - cancel c and every descendant, with cause err.
 *
 * The first cancellation wins: its cause is kept; later calls change
 * nothing. err must be negative (POOL_ECANCELED is the usual one); 0 means
 * POOL_ECANCELED.
 * Ordering: everything before the winning call happens-before any call
 * that observes the cancellation (pool_ctx_err, a wait returning).
 * Callbacks: on-cancel callbacks of c, then of its descendants, run on the
 * calling thread before this call returns, outside every library lock;
 * they may call into the library (also cancel or destroy contexts).
 * Blocked context-taking calls waiting on c are woken.
 * Returns 1 if this call cancelled c, 0 if it was already cancelled;
 * POOL_EINVAL (c NULL, err > 0).
 */
POOL_EXTERN int pool_ctx_cancel(pool_ctx_t *c, int err);

/*
 * pool_ctx_err - the cheap poll: 0 while live, else the cause.
 *
 * One atomic load, plus a clock read when c has a deadline; cancels c
 * (POOL_ETIMEDOUT, callbacks on this thread) if the deadline passed.
 * Thread safety: any thread. Never blocks. POOL_EINVAL for c NULL.
 */
POOL_EXTERN int pool_ctx_err(pool_ctx_t *c);

/*
 * pool_ctx_wait - block until c is cancelled or timeout_ns passed.
 *
 * timeout_ns < 0: no limit (still bounded by c's deadline). Returns the
 * cause once c is done; POOL_ETIMEDOUT when timeout_ns passed first (c
 * still live: pool_ctx_err(c) == 0 tells the two ETIMEDOUTs apart).
 * Ordering: the cancelling call happens-before the return. Blocking: a
 * futex sleep, woken by the cancellation; from inside a task it blocks
 * that worker (use it in tasks only with a timeout). POOL_EINVAL for c
 * NULL.
 */
POOL_EXTERN int pool_ctx_wait(pool_ctx_t *c, int64_t timeout_ns);

/*
 * pool_ctx_deadline - c's deadline (CLOCK_MONOTONIC ns), or
 * POOL_CTX_NO_DEADLINE. Immutable; any thread.
 */
POOL_EXTERN int64_t pool_ctx_deadline(const pool_ctx_t *c);

/*
 * pool_ctx_on_cancel - run fn(arg, cause) once when c is cancelled.
 *
 * If c is already cancelled, fn runs now, on the calling thread, before
 * this call returns. Callbacks run in registration order, never with a
 * library lock held or inside an RCU read-side section.
 * Thread safety: any thread, concurrently with a cancel (fn then runs
 * exactly once, on one of the two threads).
 * Errors: POOL_EINVAL (c or fn NULL), POOL_ENOMEM (nothing registered).
 */
POOL_EXTERN POOL_NODISCARD int
pool_ctx_on_cancel(pool_ctx_t *c, pool_ctx_cancel_fn fn, void *arg);

/*
 * pool_ctx_set_on_skip - the callback for tasks skipped because c was done
 * before they started (fn NULL: none; skipped tasks are still counted).
 *
 * Runs on the worker that skipped the task, after the task was counted,
 * outside every library lock; it may call into the library. The task's
 * arg is handed back (the caller's again). Applies to tasks submitted with
 * c itself (pool_submit_ctx), not with its children; a skipped group task
 * goes to its group's on_skip instead. Thread safety: any thread; a skip
 * racing with the change sees the old or the new pair. Errors:
 * POOL_EINVAL (c NULL).
 */
POOL_EXTERN int pool_ctx_set_on_skip(pool_ctx_t *c, pool_ctx_skip_fn fn,
				     void *arg);

/*
 * pool_ctx_skipped - tasks skipped so far because c was done (submitted
 * with c itself). Any thread; exact at some moment of the call.
 */
POOL_EXTERN uint64_t pool_ctx_skipped(const pool_ctx_t *c);

/*
 * pool_submit_ctx - pool_submit that obeys a context.
 *
 * If c is done when the call starts, nothing is submitted: returns the
 * cause. While blocked on a full pool, returns the cause as soon as c is
 * done (a proper wake-up, not polling). Once accepted, the task is skipped
 * instead of run if c is done when a worker takes it (counted in
 * pool_ctx_skipped(c), handed to the skip callback). c is held until then.
 * Ownership, thread safety and the other rules: as pool_submit (inline run
 * from inside a task of the same full pool, after checking c; a
 * pool_stop discard hands (fn, arg) to the stop's callback, the discard
 * of a task no worker could start to options.on_discard).
 * Errors: as pool_submit, plus POOL_EINVAL (c NULL), POOL_ENOMEM (the
 * task's record could not be allocated), and c's cause.
 */
POOL_EXTERN POOL_NODISCARD int pool_submit_ctx(pool_t *p, pool_ctx_t *c,
					       pool_task_fn fn, void *arg);

/*
 * pool_submit_wait_ctx - pool_submit_wait that obeys a context.
 *
 * Returns 0 after fn(arg) returned, POOL_EPANIC after it panicked, or c's
 * cause if c was done before fn started: then fn never runs (and, unlike
 * pool_submit_ctx's skips, the task is not counted or handed to the skip
 * callback: the cause is returned to the caller instead). Once fn started,
 * the call waits for it to end (the caller owns arg). From inside a task of
 * the same pool, fn runs inline after checking c. Errors: as
 * pool_submit_ctx.
 */
POOL_EXTERN POOL_NODISCARD int pool_submit_wait_ctx(pool_t *p, pool_ctx_t *c,
						    pool_task_fn fn, void *arg);

POOL_END_DECLS

#endif /* POOL_CTX_H */
