/* SPDX-License-Identifier: MIT */
/*
 * pool/sem.h - a weighted semaphore with FIFO waiters (Go's
 * golang.org/x/sync/semaphore).
 *
 * A semaphore holds `size` units. pool_sem_acquire takes `weight` units,
 * waiting while fewer are available; pool_sem_release gives units back.
 *
 * Fairness, exactly:
 *  - Queued waiters are granted in queue (arrival) order, each only when it
 *    is at the head and its weight fits: a large request at the head is not
 *    overtaken by small ones that would fit (they queue behind it), so it
 *    is not starved. While anyone is queued, no acquire takes units
 *    without queueing behind (pool_sem_try_acquire fails), and released
 *    units go to the queued waiters, in order.
 *  - Before it queues, an acquire that finds nobody queued and too few
 *    units looks again on the lock-free path for a bounded time (16 looks,
 *    about 20 us where a pause takes 27 ns). While it looks it is not a
 *    waiter: it competes with every other acquire that is not queued, a
 *    releaser re-acquiring at once included, in no order (barging). Only
 *    while nobody is queued can anyone barge; an acquire's place in the
 *    queue is fixed when it queues.
 *  - A queued waiter looks at its grant briefly (about 15 us) before it
 *    sleeps; this changes no order, only whether its grant costs a wake.
 *  - A waiter that gives up (timeout, context) leaves the queue and, if it
 *    was blocking those behind it, grants the ones that now fit, in order.
 *
 * Fast path (no waiter queued): one CAS on one word, no lock. A semaphore
 * is independent of pools: an acquire inside a pool task blocks that
 * worker (bound it with a timeout or a context). See docs/sem.md.
 *
 * Synchronization: every call but pool_sem_destroy may run concurrently on
 * the same semaphore from any threads.
 */
#ifndef POOL_SEM_H
#define POOL_SEM_H

#include <stdint.h>

#include "common.h"
#include "ctx.h"
#include "error.h"

POOL_BEGIN_DECLS

/* Opaque semaphore. Pair pool_sem_new with pool_sem_destroy. */
typedef struct pool_sem pool_sem_t;

/* The largest size (and weight) a semaphore accepts. */
#define POOL_SEM_MAX ((int64_t)1 << 61)

/*
 * pool_sem_new - a semaphore of `size` units, all available.
 * Errors: POOL_EINVAL (out NULL, size <= 0 or above POOL_SEM_MAX),
 * POOL_ENOMEM.
 */
POOL_EXTERN POOL_NODISCARD int pool_sem_new(pool_sem_t **out, int64_t size);

/*
 * pool_sem_destroy - free a semaphore nobody waits on.
 * Errors: POOL_EINVAL (s NULL), POOL_EBUSY (a waiter is queued: nothing is
 * freed). Units still held are not checked.
 */
POOL_EXTERN int pool_sem_destroy(pool_sem_t *s);

/*
 * pool_sem_acquire - take `weight` units, waiting as long as needed.
 *
 * Ordering: a pool_sem_release happens-before the acquire its units
 * satisfy returns. Blocking: FIFO among waiters, see the top of this file;
 * weight 0 returns 0 at once. Errors: POOL_EINVAL (s NULL, weight < 0 or
 * above the semaphore's size: it could never be satisfied).
 */
POOL_EXTERN POOL_NODISCARD int pool_sem_acquire(pool_sem_t *s, int64_t weight);

/*
 * pool_sem_try_acquire - take `weight` units only if they are available now
 * and nobody is queued; never blocks. Errors: POOL_EOVERLOAD (not taken),
 * POOL_EINVAL as pool_sem_acquire.
 */
POOL_EXTERN POOL_NODISCARD int pool_sem_try_acquire(pool_sem_t *s,
						    int64_t weight);

/*
 * pool_sem_acquire_timeout - pool_sem_acquire giving up after timeout_ns
 * (CLOCK_MONOTONIC; 0: one try, POOL_ETIMEDOUT if not taken; any
 * int64_t >= 0 is accepted, the deadline is saturated). If the units were
 * granted at the moment it gave up, the grant wins and it returns 0. Errors:
 * POOL_ETIMEDOUT, POOL_EINVAL (also timeout_ns < 0).
 */
POOL_EXTERN POOL_NODISCARD int
pool_sem_acquire_timeout(pool_sem_t *s, int64_t weight, int64_t timeout_ns);

/*
 * pool_sem_acquire_ctx - pool_sem_acquire giving up as soon as c is done
 * (cancelled, or its deadline passed): returns c's cause; woken by the
 * cancellation itself. c done at the call: nothing is taken, even if the
 * units are free. A grant at the moment it gives up wins (returns 0).
 * Errors: c's cause, POOL_EINVAL (c NULL, and as pool_sem_acquire).
 */
POOL_EXTERN POOL_NODISCARD int
pool_sem_acquire_ctx(pool_sem_t *s, pool_ctx_t *c, int64_t weight);

/*
 * pool_sem_release - give back `weight` units and wake the queued waiters
 * that fit, in order. Never blocks on user code (takes the internal lock
 * only when waiters are queued). Errors: POOL_EINVAL (s NULL, weight < 0,
 * or more units than are held: nothing changes).
 */
POOL_EXTERN int pool_sem_release(pool_sem_t *s, int64_t weight);

/*
 * pool_sem_available - units available now (a snapshot), POOL_EINVAL for s
 * NULL.
 */
POOL_EXTERN int64_t pool_sem_available(const pool_sem_t *s);

POOL_END_DECLS

#endif /* POOL_SEM_H */
