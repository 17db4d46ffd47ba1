/* SPDX-License-Identifier: MIT */
/*
 * pool/executor.h - an executor: "something that runs fn(arg) somewhere",
 * as a small vtable a library can take without depending on this pool.
 *
 * A library that wants to run work on the application's threads accepts a
 * `const pool_executor_t *` and calls pool_executor_submit() or
 * pool_executor_try_submit() on it. The application fills one in from a
 * pool (pool_executor), a multi-pool (pool_multi_executor), or anything
 * else that keeps the contract below (a thread, an event loop, inline
 * execution). See docs/executor.md.
 *
 * This header includes only <stddef.h>: a library can include it alone, and
 * copy it (MIT) if it does not want the pool package installed at all.
 *
 * The contract every executor keeps, whoever implements it:
 *   submit(ctx, fn, arg)      run fn(arg) once, on some thread, later or
 *                             now; may block until it can accept the task.
 *                             0: accepted, fn(arg) will run exactly once.
 *                             < 0: a negative errno-style code; fn(arg)
 *                             never runs and the caller keeps arg.
 *   try_submit(ctx, fn, arg)  the same, but never blocks: when the task
 *                             cannot be accepted at once, a negative code
 *                             (-EAGAIN for "full, try later").
 *   Ordering: everything the caller did before a submit that returned 0
 *   happens-before fn(arg) starts. Thread safety: both may be called from
 *   any thread at once, including from tasks the executor runs.
 */
#ifndef POOL_EXECUTOR_H
#define POOL_EXECUTOR_H

#include <stddef.h>

/* The same definitions as pool/common.h (which guards them the same way),
 * so that this header needs nothing else. */
#ifndef POOL_EXTERN
#if defined(__GNUC__) || defined(__clang__)
#define POOL_EXTERN __attribute__((visibility("default")))
#else
#define POOL_EXTERN
#endif
#endif
#ifndef POOL_BEGIN_DECLS
#ifdef __cplusplus
#define POOL_BEGIN_DECLS extern "C" {
#define POOL_END_DECLS	 }
#else
#define POOL_BEGIN_DECLS
#define POOL_END_DECLS
#endif
#endif

POOL_BEGIN_DECLS

struct pool;
struct pool_multi;

/* An executor's submit or try_submit (the contract above). */
typedef int (*pool_executor_submit_fn)(void *ctx, void (*fn)(void *arg),
				       void *arg);

/*
 * An executor. `size` is the sizeof of the struct its filler was compiled
 * with: a later version may append members, and POOL_EXECUTOR_HAS tells a
 * reader whether one is there. Fill one with pool_executor /
 * pool_multi_executor, or by hand (set size = sizeof(pool_executor_t)).
 */
typedef struct pool_executor {
	size_t size;
	/* Required. */
	pool_executor_submit_fn submit;
	/* Required: never blocks. */
	pool_executor_submit_fn try_submit;
	/* Passed to submit and try_submit as is. */
	void *ctx;
	/* For logs; may be NULL. Valid while the executor is. */
	const char *name;
} pool_executor_t;

/* Whether executor *e (whose size its filler set) has member `m`. */
#define POOL_EXECUTOR_HAS(e, m) \
	((e)->size >= offsetof(pool_executor_t, m) + sizeof((e)->m))

/* Run fn(arg) on executor e: e->submit(e->ctx, fn, arg). */
static inline int pool_executor_submit(const pool_executor_t *e,
				       void (*fn)(void *arg), void *arg)
{
	return e->submit(e->ctx, fn, arg);
}

/* Run fn(arg) on executor e without blocking: e->try_submit(...). */
static inline int pool_executor_try_submit(const pool_executor_t *e,
					   void (*fn)(void *arg), void *arg)
{
	return e->try_submit(e->ctx, fn, arg);
}

/*
 * pool_executor - fill *e with an executor that submits to pool p.
 *
 * submit is pool_submit, try_submit is pool_try_submit (their contracts,
 * error sets included: POOL_EOVERLOAD is -EAGAIN); ctx is p; name is the
 * pool's name. Thread safety: any thread. Ownership: *e is the caller's and
 * borrows p: it is valid until pool_destroy(p) starts; nothing to free.
 * Blocking: never. Returns 0, or POOL_EINVAL (-EINVAL: p or e NULL; *e is
 * then untouched).
 */
POOL_EXTERN int pool_executor(struct pool *p, pool_executor_t *e);

/*
 * pool_multi_executor - fill *e with an executor that submits to
 * multi-pool m: submit is pool_multi_submit, try_submit is
 * pool_multi_try_submit; ctx is m. Same contract as pool_executor (valid
 * until pool_multi_destroy(m) starts).
 */
POOL_EXTERN int pool_multi_executor(struct pool_multi *m, pool_executor_t *e);

POOL_END_DECLS

#endif /* POOL_EXECUTOR_H */
