/* SPDX-License-Identifier: MIT */
/*
 * pool/multi.h - a multi-pool: several member pools behind one handle, with
 * one lifecycle (ants MultiPool).
 *
 * A multi-pool spreads tasks over `n` member pools (each a pool_t made from
 * the same pool_options_t) to cut contention between producers. Each submit
 * picks one member by the load-balancing strategy: round-robin, least tasks
 * (an O(1) load reading per member: busy workers plus queue depth), or a user
 * pick function over a caller-supplied key (tenant sharding); the first two
 * prefer a member whose worker is awake over one a submit would have to
 * wake (POOL_MULTI_AWAKE_QUEUE). The member table
 * is kept until pool_multi_destroy: picking a member takes no lock. See
 * docs/multi.md for the races each strategy tolerates.
 *
 * Synchronization table: as pool/pool.h, with every pool_multi_* call in the
 * group of its pool_* counterpart (submit: pool_multi_submit,
 * pool_multi_try_submit, pool_multi_submit_timeout, pool_multi_submit_key,
 * pool_multi_submit_key_timeout; reads: pool_multi_size and every
 * pool_multi_<read> and pool_multi_<read>_by_index; tune: pool_multi_tune;
 * release: pool_multi_release, pool_multi_release_timeout; reboot:
 * pool_multi_reboot; destroy: pool_multi_destroy). Everything may overlap
 * except pool_multi_destroy, which must not overlap any other call on the
 * same multi-pool.
 *
 * Calls from inside a task of a member: submits, reads, tune, release and
 * reboot are allowed; pool_multi_release_timeout and pool_multi_destroy
 * return POOL_EDEADLK (they would wait for the calling task).
 */
#ifndef POOL_MULTI_H
#define POOL_MULTI_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "pool.h"

POOL_BEGIN_DECLS

/* Opaque multi-pool handle. Pair pool_multi_new / pool_multi_new_opts with
 * pool_multi_destroy. */
typedef struct pool_multi pool_multi_t;

/*
 * The wake rule both strategies share. A member *needs a wake* when a
 * submit to it now would have to wake a parked worker or start a thread:
 * none of its workers is searching for work, and one is parked or it has
 * room for another (no worker yet, expired, below its capacity). A member
 * is *awake* when it needs no wake (a worker searching, or every worker its
 * capacity allows running a task) and fewer than POOL_MULTI_AWAKE_QUEUE
 * tasks are queued on it (its load reading's queue term). The picks prefer
 * awake members, so a burst is run by the workers already awake instead of
 * waking one worker per member: a member's worker cannot take a sibling's
 * tasks, and a wake costs the submitter a futex call and the woken worker
 * a context switch. The queue bound caps what may pile up behind a member
 * whose workers all run long tasks. Both readings are relaxed and lock-free
 * (a worker may park or wake right after): they steer tasks, they never
 * lose, duplicate or misroute one.
 */
#define POOL_MULTI_AWAKE_QUEUE 256
/* Round-robin looks at most this many members past the turn member for an
 * awake one (bounded work per submit, whatever n). */
#define POOL_MULTI_AWAKE_SCAN 8

/* Load-balancing strategies (pool_multi_new, pool_multi_options_t). */
enum pool_lb_strategy {
	/* Members in turn, from a per-thread cursor. The *picked* member is
	 * the one whose turn it is, unless that one needs a wake and one of
	 * the next POOL_MULTI_AWAKE_SCAN members in turn is awake: then the
	 * first such one. The picked member takes the task if it has room
	 * at once (a free ring slot and, under a queue bound, a place); else
	 * the least-loaded other member does, if it has room at once. Only
	 * when neither has does the call wait on (or get refused by) the
	 * picked member; a POOL_EOVERLOAD from it is retried once on that
	 * other member. So from one thread, while no member needs a wake
	 * and none is full, member k of n gets exactly every n-th submit. */
	POOL_LB_ROUND_ROBIN = 0,
	/* The member with the lowest load reading, read on every submit:
	 * workers not parked plus one ring's depth times the rings in use,
	 * O(1) per member (ties broken round-robin), read without locks;
	 * among the awake members when there is one, else among all. The
	 * task goes to that member's own submit, with no spill and no
	 * retry. */
	POOL_LB_LEAST_TASKS = 1,
	/* The options' pick function maps a caller-supplied key to a
	 * member. Needs pool_multi_new_opts. */
	POOL_LB_CUSTOM = 2,
};

/* Largest number of members (pool_multi_new's n). */
#define POOL_MULTI_MAX 1024

/*
 * A pick function (POOL_LB_CUSTOM): return the index (0 .. n-1) of the
 * member that takes the task submitted with `key`. Called on the submitting
 * thread, once per keyed submit, without any library lock held; must be
 * thread-safe and must not call back into the same multi-pool's lifecycle
 * functions. Any return outside 0 .. n-1 makes the submit fail with
 * POOL_EINVAL (the task is not accepted).
 */
typedef int (*pool_multi_pick_fn)(void *ctx, uint64_t key, int n);

/*
 * Options of pool_multi_new_opts. Set `size` with POOL_MULTI_OPTIONS_INIT;
 * the library copies `size` bytes into a zeroed struct and rejects a size
 * it does not know (POOL_EINVAL), as for pool_options_t.
 */
typedef struct pool_multi_options {
	size_t size;
	/* One of enum pool_lb_strategy. Default (0): POOL_LB_ROUND_ROBIN. */
	int strategy;
	/* POOL_LB_CUSTOM: required (NULL is POOL_EINVAL). Other strategies:
	 * must be NULL (else POOL_EINVAL). */
	pool_multi_pick_fn pick;
	/* Passed to pick as is. */
	void *pick_ctx;
} pool_multi_options_t;

/*
 * POOL_MULTI_OPTIONS_INIT: an initializer for a pool_multi_options_t with
 * `size` set and every other field zero (default). In C it is a designated
 * initializer, usable for static objects; in C++ (where that form warns under
 * -Wextra, and needs C++20) it calls pool_multi_options_init(). Both compile
 * without warnings under -Wall -Wextra -Wpedantic, C99 onward and C++11 onward.
 */
#ifdef __cplusplus
#define POOL_MULTI_OPTIONS_INIT pool_multi_options_init()
#else
#define POOL_MULTI_OPTIONS_INIT                      \
	{                                            \
		.size = sizeof(pool_multi_options_t) \
	}
#endif

/* pool_multi_options_init - `size` set, every other field zero (default). */
static inline pool_multi_options_t pool_multi_options_init(void)
{
#ifdef __cplusplus
	pool_multi_options_t v = {};
#else
	pool_multi_options_t v = POOL_MULTI_OPTIONS_INIT;
#endif
	v.size = sizeof(v);
	return v;
}

/*
 * pool_multi_new - create a multi-pool of n members, each made by
 * pool_new(per_pool).
 *
 * Thread safety: any thread. Ownership: *out is the caller's; pair with
 * pool_multi_destroy. per_pool may be NULL (all defaults) and is not
 * retained; every member gets the same options (and name). Blocking: as n
 * calls of pool_new (with POOL_PREALLOC they wait for worker_init). Errors:
 * POOL_EINVAL (out NULL, n <= 0 or above POOL_MULTI_MAX, strategy not
 * POOL_LB_ROUND_ROBIN or POOL_LB_LEAST_TASKS (POOL_LB_CUSTOM needs a pick
 * function: use pool_multi_new_opts), or any error of pool_new for per_pool),
 * POOL_ENOMEM, or the code a worker_init returned under POOL_PREALLOC. On
 * error *out is untouched and nothing is leaked: members already created are
 * destroyed.
 */
POOL_EXTERN POOL_NODISCARD int pool_multi_new(pool_multi_t **out, int n,
					      const pool_options_t *per_pool,
					      int strategy);

/*
 * pool_multi_new_opts - pool_multi_new with multi-pool options (strategy
 * and, for POOL_LB_CUSTOM, the pick function). mo may be NULL (round-robin).
 * Same contract as pool_multi_new; additionally POOL_EINVAL for an unknown
 * mo->size, an unknown strategy, a NULL pick with POOL_LB_CUSTOM, or a pick
 * with another strategy.
 */
POOL_EXTERN POOL_NODISCARD int
pool_multi_new_opts(pool_multi_t **out, int n, const pool_options_t *per_pool,
		    const pool_multi_options_t *mo);

/*
 * pool_multi_submit - run fn(arg) on one member, picked by the strategy
 * (round-robin for POOL_LB_CUSTOM, whose pick needs a key) under the wake
 * rule (POOL_MULTI_AWAKE_QUEUE): a member a submit would have to wake is
 * passed over for an awake one. Keyed submits do not follow the rule.
 *
 * Thread safety: any thread, including a member's own tasks. Picking takes
 * no lock.
 * Ordering: everything the caller did before the call happens-before
 * fn(arg) starts (as pool_submit).
 * Ownership: on 0 the task is the picked member's until it runs; on < 0 the
 * task never runs and the caller keeps arg.
 * Blocking: as pool_submit on the picked member (blocks while that member is
 * full unless POOL_NONBLOCKING or max_blocking; inline run from inside a
 * task of that same member, under round-robin once the spill found no
 * room). A blocking submit from a task of one member
 * that lands on a sibling member can deadlock when both are full and each
 * waits on the other: from inside member tasks use pool_multi_try_submit or
 * pool_multi_submit_timeout. Under round-robin (and POOL_LB_CUSTOM) the
 * picked member is first offered the task without waiting; when it has no
 * room (full, at its queue bound, or closed), the least-loaded other member
 * is offered it the same way, and only when neither takes it does the call
 * go to the picked member's own submit (which may wait); if that returns
 * POOL_EOVERLOAD (refused without waiting: POOL_NONBLOCKING, max_blocking,
 * a queue bound), the other member's own submit is the last try and its
 * result is returned. A never-waiting call (pool_multi_try_submit, timeout
 * 0, POOL_NONBLOCKING members) goes from the refused offer straight to the
 * other member's own call. An offer that is refused counts nothing in the
 * member's stats: a call that fails counts one rejection on each member
 * whose own submit refused it. A member with no worker yet is not offered
 * anything: its own submit runs (and starts the worker, as pool_submit).
 * Errors: POOL_EINVAL (m or fn NULL), then as pool_submit: POOL_ECLOSED,
 * POOL_EOVERLOAD, POOL_ENOMEM, a worker_init code.
 */
POOL_EXTERN POOL_NODISCARD int pool_multi_submit(pool_multi_t *m,
						 pool_task_fn fn, void *arg);

/*
 * pool_multi_try_submit - like pool_multi_submit but never blocks: under
 * round-robin the picked member is offered the task, then the least-loaded
 * other member's pool_try_submit decides; under least-tasks the chosen
 * member's pool_try_submit.
 */
POOL_EXTERN POOL_NODISCARD int
pool_multi_try_submit(pool_multi_t *m, pool_task_fn fn, void *arg);

/*
 * pool_multi_submit_timeout - like pool_multi_submit but the member's own
 * call is pool_submit_timeout(timeout_ns). The round-robin retry gets the
 * same timeout: POOL_EOVERLOAD is only ever returned before any wait, and
 * offers never wait, so the call waits at most about timeout_ns in all.
 * timeout_ns == 0 behaves as pool_multi_try_submit. Errors: those of
 * pool_multi_submit, POOL_EINVAL for timeout_ns < 0, POOL_ETIMEDOUT (not
 * retried elsewhere).
 */
POOL_EXTERN POOL_NODISCARD int pool_multi_submit_timeout(pool_multi_t *m,
							 pool_task_fn fn,
							 void *arg,
							 int64_t timeout_ns);

/*
 * pool_multi_submit_key - run fn(arg) on the member that `key` selects:
 * pick(pick_ctx, key, n) under POOL_LB_CUSTOM, key % n under the other
 * strategies. The same key always selects the same member, and a keyed
 * submit is never retried on another member (tenant isolation).
 *
 * Thread safety, ordering, ownership: as pool_multi_submit. Blocking: as
 * pool_submit on the selected member; the pick function runs first, on the
 * calling thread. Errors: POOL_EINVAL (m or fn NULL, pick returned an index
 * outside 0 .. n-1), then as pool_submit on the member.
 */
POOL_EXTERN POOL_NODISCARD int pool_multi_submit_key(pool_multi_t *m,
						     uint64_t key,
						     pool_task_fn fn,
						     void *arg);

/*
 * pool_multi_submit_key_timeout - pool_multi_submit_key with
 * pool_submit_timeout semantics on the selected member (timeout_ns == 0:
 * never blocks, POOL_EOVERLOAD when full). Errors: those of
 * pool_multi_submit_key, POOL_EINVAL for timeout_ns < 0, POOL_ETIMEDOUT.
 */
POOL_EXTERN POOL_NODISCARD int
pool_multi_submit_key_timeout(pool_multi_t *m, uint64_t key, pool_task_fn fn,
			      void *arg, int64_t timeout_ns);

/*
 * pool_multi_tune - set every member's capacity to `capacity` (per member,
 * so the total is n * capacity).
 *
 * Thread safety: any thread, under load. Ordering: none for user data.
 * Blocking: as n calls of pool_tune. Errors: POOL_EINVAL (m NULL, capacity
 * <= 0 or above 1 << 20), POOL_ECLOSED, POOL_ENOMEM. On error, members
 * already tuned by this call are set back to the capacity they had (a
 * shrink back cannot fail for lack of memory), so a failed growth leaves
 * every capacity as it was unless another tune or a release ran meanwhile.
 */
POOL_EXTERN POOL_NODISCARD int pool_multi_tune(pool_multi_t *m, int capacity);

/*
 * pool_multi_size - the number of members. Thread safety: any thread.
 * Returns n (>= 1) or POOL_EINVAL for m NULL.
 */
POOL_EXTERN int pool_multi_size(const pool_multi_t *m);

/*
 * Aggregated lock-free reads: the sum over the members of the pool_* read
 * of the same name (pool_multi_is_closed: 1 when any member is closed, 0
 * when all are open). Thread safety: any thread. Ordering: none (relaxed,
 * as the pool_* reads). Each member's value is exact at some moment during
 * the call; the members are read one after the other, not at one instant.
 * Return POOL_EINVAL for m NULL.
 */
POOL_EXTERN int pool_multi_cap(const pool_multi_t *m);
POOL_EXTERN int pool_multi_running(const pool_multi_t *m);
POOL_EXTERN int pool_multi_available(const pool_multi_t *m);
POOL_EXTERN int pool_multi_waiting(const pool_multi_t *m);
POOL_EXTERN int64_t pool_multi_queued(const pool_multi_t *m);
POOL_EXTERN int pool_multi_is_closed(const pool_multi_t *m);

/*
 * pool_multi_stats - fill *s (size set with POOL_STATS_INIT) with the sum
 * of every member's pool_stats, field by field (gauges included: capacity
 * is the total capacity). Except: copy_arena is 0 (read it per member);
 * queue_limit is the total bound, POOL_QUEUE_NONE members adding nothing,
 * 0 (unbounded) when any member is unbounded, POOL_QUEUE_NONE when every
 * member is; paused is the number of paused members. Thread safety: any
 * thread; lock-free. When the multi-pool is quiescent the pool_stats_t
 * identity holds for the sums.
 * Errors: POOL_EINVAL (m or s NULL, unknown s->size).
 */
POOL_EXTERN int pool_multi_stats(const pool_multi_t *m, pool_stats_t *s);

/*
 * Reads of one member, by index (0 .. pool_multi_size(m) - 1): the pool_*
 * read of the same name on that member. Thread safety and ordering: as the
 * pool_* reads. Return POOL_EINVAL for m NULL or an index out of range
 * (pool_multi_stats_by_index also for s NULL or an unknown s->size).
 */
POOL_EXTERN int pool_multi_cap_by_index(const pool_multi_t *m, int index);
POOL_EXTERN int pool_multi_running_by_index(const pool_multi_t *m, int index);
POOL_EXTERN int pool_multi_available_by_index(const pool_multi_t *m, int index);
POOL_EXTERN int pool_multi_waiting_by_index(const pool_multi_t *m, int index);
POOL_EXTERN int64_t pool_multi_queued_by_index(const pool_multi_t *m,
					       int index);
POOL_EXTERN int pool_multi_is_closed_by_index(const pool_multi_t *m, int index);
POOL_EXTERN int pool_multi_stats_by_index(const pool_multi_t *m, int index,
					  pool_stats_t *s);

/*
 * pool_multi_release - close every member now and return without waiting
 * (pool_release on every member).
 *
 * Thread safety: any thread, including a member's task. Ordering: a submit
 * that returned 0 before the call started is run. Blocking: one RCU grace
 * period per member, never for tasks. Returns 0 (also when already closed)
 * or POOL_EINVAL.
 */
POOL_EXTERN int pool_multi_release(pool_multi_t *m);

/*
 * pool_multi_release_timeout - close every member, run every accepted task
 * and wait until every member's workers have exited, all within one shared
 * deadline of timeout_ns from the call (ants MultiPool.ReleaseTimeout).
 *
 * Every member is closed first, then each is waited for with what remains
 * of the deadline (0 once it passed: a check only), so every member is
 * examined. Ordering: on 0, every accepted task's return happens-before the
 * return. On POOL_ETIMEDOUT the members stay closed and keep running what
 * remains; nothing is freed; call it again (or pool_multi_destroy) later.
 * Errors: POOL_EINVAL (m NULL, timeout_ns < 0), POOL_EDEADLK (from inside a
 * task of any member; nothing is done), POOL_ETIMEDOUT (at least one member
 * not drained by the deadline). Returns 0 when every member drained.
 */
POOL_EXTERN int pool_multi_release_timeout(pool_multi_t *m, int64_t timeout_ns);

/*
 * pool_multi_reboot - reopen a closed, fully drained multi-pool, all or
 * nothing.
 *
 * Thread safety: any thread. Each member is rebooted in turn; when one
 * returns POOL_EBUSY, the members this call reopened are released again, so
 * the multi-pool stays closed. A submit racing with that window may be
 * accepted by a reopened member: it then runs (the release keeps accepted
 * tasks). Returns 0 when every member is open afterwards (also when all
 * were open). Errors: POOL_EINVAL, POOL_EBUSY (some member not drained:
 * call pool_multi_release_timeout first).
 */
POOL_EXTERN int pool_multi_reboot(pool_multi_t *m);

/*
 * pool_multi_destroy - close every member, run every accepted task, join
 * every worker and free the multi-pool and its members.
 *
 * Thread safety: must not overlap any other call on m (submitters already
 * blocked when it starts return POOL_ECLOSED first, as for pool_destroy).
 * Blocking: waits for all accepted tasks, with no timeout (use
 * pool_multi_release_timeout first for one). Ordering: every accepted
 * task's return happens-before the return. Errors: POOL_EINVAL (m NULL),
 * POOL_EDEADLK (from inside a task of any member; nothing is done).
 */
POOL_EXTERN int pool_multi_destroy(pool_multi_t *m);

POOL_END_DECLS

#endif /* POOL_MULTI_H */
