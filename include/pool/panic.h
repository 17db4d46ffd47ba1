/* SPDX-License-Identifier: MIT */
/*
 * pool/panic.h - panic-equivalent fault isolation for pool tasks.
 *
 * Every task runs inside a guard on its worker. pool_panic() stops the
 * current task: its deferred calls (pool_defer) run in reverse order, then
 * the pool's panic handler (pool_options_t.panic_handler) is told, and the
 * worker goes on with the next task. With POOL_CATCH_SIGNALS, SIGSEGV,
 * SIGBUS, SIGFPE and SIGILL raised synchronously inside a task do the same.
 * See docs/panic.md for what is and is not safe to recover from.
 */
#ifndef POOL_PANIC_H
#define POOL_PANIC_H

#include "common.h"
#include "pool.h"

POOL_BEGIN_DECLS

/* Deferred calls one task (or deferred call) may register. */
#define POOL_MAX_DEFERS 16

/* Bytes of a panic message kept (including the terminating NUL). */
#define POOL_PANIC_MSG_MAX 256

/*
 * pool_panic - stop the calling task (Go's panic).
 *
 * Thread safety: only inside a task (or a deferred call, or a panic handler)
 * running on a pool worker. Ordering: the task's deferred calls run, newest
 * first, then the panic handler, all on this worker, before it takes another
 * task. Ownership: msg is copied (truncated to POOL_PANIC_MSG_MAX - 1 bytes);
 * it may be NULL. A worker keeps the copy in a 512-byte block it allocates
 * at its first pool_defer or message-carrying panic, not on its stack; if
 * that allocation fails, the handler is shown the message
 * "(panic message not kept: out of memory)" instead (the panic itself is
 * reported as usual). Blocking: never returns. Outside a task it writes the
 * misuse to stderr and calls abort(), like a Go panic with nothing to
 * recover it. A panic inside a deferred call replaces the task's panic (the
 * remaining deferred calls still run); a panic inside the handler is logged.
 * No destructor or cleanup of the C stack frames skipped runs: only the
 * deferred calls do.
 */
POOL_EXTERN __attribute__((noreturn)) void pool_panic(int code,
						      const char *msg);

/* pool_panicf - pool_panic with a printf-style message. */
POOL_EXTERN __attribute__((noreturn, format(printf, 2, 3))) void
pool_panicf(int code, const char *fmt, ...);

/*
 * pool_defer - run fn(arg) when the calling task ends, normally or by a
 * panic (Go's defer). Deferred calls run newest first.
 *
 * Thread safety: only inside a task (or a deferred call: then it runs when
 * that deferred call ends). Ownership: arg stays the caller's. Memory: the
 * first call on a worker (in a task run by the worker itself) allocates the
 * worker's 512-byte block for its deferred calls and panic message, kept
 * until the worker exits; later calls allocate nothing. Errors:
 * POOL_EINVAL (fn NULL, or called outside a task: nothing is registered),
 * POOL_EOVERLOAD (POOL_MAX_DEFERS already registered: nothing is registered),
 * POOL_ENOMEM (that first allocation failed: nothing is registered).
 */
POOL_EXTERN POOL_NODISCARD int pool_defer(void (*fn)(void *), void *arg);

POOL_END_DECLS

#endif /* POOL_PANIC_H */
