/* SPDX-License-Identifier: MIT */
/*
 * pool/pool.h - a lock-free, elastic worker pool.
 *
 * A pool runs tasks ({fn, arg} pairs) on at most `capacity` worker threads.
 * Tasks wait in bounded rings shared by the workers, added as tasks queue
 * (up to capacity rings: capacity x ring_capacity slots in all); idle
 * workers steal from every ring, park on a LIFO stack and expire after
 * `expiry_ns` idle. Memory follows the queued tasks and the workers that
 * ran, not the capacity. See docs/pool.md for the submit matrix and
 * docs/memory-model.md for every ordering guarantee.
 *
 * Synchronization table. "yes": may run concurrently on the same pool from
 * any threads. "no": the caller must order the two calls itself.
 *
 *                 submit  reads  tune  release  reboot  destroy
 *   submit        yes     yes    yes   yes      yes     no
 *   reads         yes     yes    yes   yes      yes     no
 *   tune          yes     yes    yes   yes      yes     no
 *   release       yes     yes    yes   yes      yes     no
 *   reboot        yes     yes    yes   yes      yes     no
 *   destroy       no      no     no    no       no      no
 *
 * submit = pool_submit, pool_try_submit, pool_submit_timeout,
 * pool_submit_batch, pool_submit_wait, pool_invoke, pool_submit_copy;
 * reads = pool_cap, pool_running, pool_available, pool_waiting,
 * pool_queued, pool_is_closed, pool_is_paused, pool_queue_limit,
 * pool_stats; tune = pool_tune, pool_set_queue_limit, pool_pause,
 * pool_resume; release = pool_release, pool_release_timeout, pool_stop.
 * Exception to "no" for
 * destroy: submitters already blocked in a submit when pool_destroy starts are
 * woken and return POOL_ECLOSED before pool_destroy frees anything. Any call
 * on a handle after pool_destroy returned is undefined behaviour.
 *
 * Calls from inside a task of the same pool: submits, reads, tune, release
 * and reboot are allowed. pool_release_timeout, pool_stop and pool_destroy
 * return POOL_EDEADLK (they would wait for the calling task). pool_submit_wait
 * runs the function inline. A blocking submit to the caller's own full pool
 * runs the task inline on the calling worker instead of waiting on itself.
 *
 * Ordering of task starts (tested in test_pause.c, order_*):
 * - Each ring is FIFO: tasks leave a ring (taken by a worker whose home it
 *   is, or stolen) in the order they entered it.
 * - A submit from outside the pool puts its task in the ring after the one
 *   the calling thread used last (round-robin over the first `capacity`
 *   rings, skipping full ones, adding one when all are full); a batch puts
 *   consecutive runs of its tasks in consecutive rings; a submit from
 *   inside a task uses the worker's home ring first.
 * - So with capacity 1 (one ring, one worker) tasks start in the order they
 *   were accepted: in submission order from one producer, and per-producer
 *   FIFO across producers (each producer's tasks in its order, interleaved
 *   in the order the submits completed).
 * - With capacity > 1 there is no order between tasks in different rings,
 *   and two tasks taken from one ring in order by two workers may start in
 *   either order (the first taker can be preempted before it starts). A
 *   task submitted after another task of the same producer has started
 *   starts after that start, as for any two calls ordered by the producer.
 * Per-producer FIFO at capacity > 1 is not offered: it needs one ring per
 * producer or a sequence check at every start, a cost on the fast path.
 */
#ifndef POOL_POOL_H
#define POOL_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"

POOL_BEGIN_DECLS

struct pool_metrics_options; /* pool/metrics.h */

/* Opaque pool handle. Pair pool_new / pool_new_func with pool_destroy. */
typedef struct pool pool_t;

/* A task function. Runs on a worker thread with the argument it was given. */
typedef void (*pool_task_fn)(void *arg);

/* A task by value, as pool_submit_batch takes it. */
typedef struct pool_task {
	pool_task_fn fn;
	void *arg;
} pool_task_t;

/*
 * A discard callback: told once about each accepted task that will never
 * run. pool_stop calls its argument on the thread calling pool_stop;
 * options.on_discard is called for the tasks the pool drops on its own (see
 * pool_options_t), on the thread that found them stranded. It runs outside
 * every pool lock and may call into the library (submit to this or another
 * pool, read stats), but must not destroy this pool.
 */
typedef void (*pool_discard_fn)(pool_task_fn fn, void *arg, void *ctx);

/* Log levels passed to a pool_log_fn. */
enum pool_log_level {
	POOL_LOG_ERROR = 0,
	POOL_LOG_WARN = 1,
	POOL_LOG_INFO = 2,
};

/*
 * A logger. Called from any pool thread or caller thread, never with a pool
 * lock held and never inside the library's RCU read-side sections, so it may
 * call any pool function, also ones that wait for a grace period (pool_tune,
 * pool_release, pool_destroy of another pool); must be thread-safe. `msg` is
 * valid only during the call. pool_panic inside a logger called outside a
 * task ends the process (docs/panic.md): do not panic in it.
 */
typedef void (*pool_log_fn)(void *ctx, int level, const char *msg);

/*
 * Worker-local state (tunny-style). worker_init runs on the new worker thread
 * before it takes any task; it returns 0 and may set *state, or a negative
 * code to refuse (the worker then exits without running a task, and the
 * spawn is reported as failed). worker_fini runs on the same thread when the
 * worker exits (expiry, shrink, release), with the state init produced.
 * Both run outside every pool lock and read-side section and may call into
 * the library (a submit from them counts as from inside the pool).
 *
 * Only a blocking pool_submit (and pool_submit_batch, pool_submit_wait and
 * pool_invoke in blocking mode) waits for the first worker's worker_init and
 * returns its code. Calls that never block (pool_try_submit, a
 * POOL_NONBLOCKING pool) and pool_submit_timeout start the worker without
 * waiting for user code and accept the task. A thread in worker_init does not
 * keep parked workers asleep: a task submitted meanwhile wakes one.
 *
 * A pool whose worker_init refuses does not strand accepted tasks: when an
 * init refuses (or no thread can be created) while tasks are queued and no
 * other worker is alive to run them, those tasks are discarded: each is
 * passed to options.on_discard, counted in pool_stats_t.discarded, and one
 * line is logged. No thread is spawned again from a refusing init (the next
 * submit tries again), so an init that always refuses costs one thread
 * start per submit that finds no worker, not a spin.
 */
typedef int (*pool_worker_init_fn)(void *ctx, unsigned worker_id, void **state);
typedef void (*pool_worker_fini_fn)(void *ctx, unsigned worker_id, void *state);

/* Option flags (pool_options_t.flags). Any other bit is POOL_EINVAL. */
enum pool_flags {
	/* A full pool rejects a submit with POOL_EOVERLOAD instead of
	 * blocking. */
	POOL_NONBLOCKING = 1u << 0,
	/* Spawn all `capacity` workers in pool_new. */
	POOL_PREALLOC = 1u << 1,
	/* Idle workers never expire. */
	POOL_DISABLE_PURGE = 1u << 2,
	/* SIGSEGV, SIGBUS, SIGFPE and SIGILL raised synchronously inside a
	 * task of this pool become a panic of that task (docs/panic.md). */
	POOL_CATCH_SIGNALS = 1u << 3,
};

#define POOL_FLAGS_ALL                                           \
	(POOL_NONBLOCKING | POOL_PREALLOC | POOL_DISABLE_PURGE | \
	 POOL_CATCH_SIGNALS)

/*
 * What a panic handler is told (pool/panic.h). Valid only during the call.
 * A task that panicked has stopped; its deferred calls have run.
 */
typedef struct pool_panic_info {
	const char *pool_name; /* options.name */
	pool_task_fn fn;       /* the task that panicked */
	void *arg;	       /* its argument (the copy, for submit_copy) */
	int code;	       /* pool_panic's code, or the signal number */
	const char *msg;       /* pool_panic's message (copied, truncated) */
	int worker_id;	       /* pool_worker_id() of the worker */
	int signo;	       /* the signal that caused it, else 0 */
} pool_panic_info_t;

/*
 * A panic handler. Runs on the worker, after the task's deferred calls,
 * outside every pool lock. A panic inside it is caught and logged; the
 * worker survives either way.
 */
typedef void (*pool_panic_fn)(void *ctx, const pool_panic_info_t *info);

/*
 * Options of pool_new. Set `size` with POOL_OPTIONS_INIT; every other field
 * left zero takes its default. The library copies `size` bytes into a zeroed
 * struct, so a program built against an older, smaller struct keeps working
 * once later versions grow it; a size it does not know (any size other than
 * the sizeof of a released version of this struct) is POOL_EINVAL.
 */
typedef struct pool_options {
	size_t size;
	/* Max workers (and rings). 0: pool_default_capacity(). < 0 or
	 * > 1 << 20: EINVAL. */
	int capacity;
	/* POOL_NONBLOCKING | POOL_PREALLOC | POOL_DISABLE_PURGE |
	 * POOL_CATCH_SIGNALS. */
	unsigned flags;
	/* Idle time after which a parked worker exits. 0: 1 s. < 0: EINVAL.
	 * Any larger value, up to INT64_MAX, is valid. */
	int64_t expiry_ns;
	/* Max submitters blocked at once on a full pool; more get
	 * POOL_EOVERLOAD. 0: unlimited. < 0: EINVAL. */
	int max_blocking;
	/* Slots per ring, rounded up to a power of two (a pool starts with
	 * min(capacity, CPUs) rings and adds one each time every ring is
	 * full, up to capacity). 0: 65536 / capacity, clamped to 256 ..
	 * 8192. Range 1 .. 1 << 20, else EINVAL. */
	unsigned ring_capacity;
	/* Worker thread stack size in bytes. 0: the system default. Below
	 * PTHREAD_STACK_MIN: EINVAL. */
	size_t stack_size;
	/* Pool name, used in thread names ("name/w3") and logs. Copied.
	 * NULL: "pool". Longer than 63 bytes: EINVAL. */
	const char *name;
	/* Logger; NULL: one line to stderr per message. */
	pool_log_fn logger;
	void *logger_ctx;
	/* Worker-local state hooks; both may be NULL. */
	pool_worker_init_fn worker_init;
	pool_worker_fini_fn worker_fini;
	void *worker_ctx;
	/* Called for each task that panics; NULL: a rate-limited log line
	 * (at most 10 a second per pool, then a count of those dropped). */
	pool_panic_fn panic_handler;
	void *panic_ctx;
	/* Called for each accepted task the pool drops on its own because no
	 * worker can run it (worker_init refused or no thread could start
	 * while no other worker was alive; pool_destroy finding no way to
	 * start one). Not called by pool_stop (it has its own callback).
	 * NULL: dropped, counted in pool_stats_t.discarded and logged. A
	 * pool_submit_copy task is passed as (fn, copy) and freed after the
	 * call; a pool_submit_wait task is not passed (its caller gets
	 * POOL_ECLOSED). */
	pool_discard_fn on_discard;
	void *discard_ctx;
	/* Histograms, sampling and task hooks (pool/metrics.h); NULL: the
	 * defaults (one submit in 64 timed, no hooks). Not retained. */
	const struct pool_metrics_options *metrics;
	/* Queue bound (load shedding; see pool_set_queue_limit for the exact
	 * rule). 0: unbounded, today's behaviour (only the rings bound the
	 * queue). > 0: at most this many tasks wait while every worker runs
	 * one. POOL_QUEUE_NONE: no queue (ants): a task is accepted only when
	 * a worker takes it at once. Other negative values: EINVAL. */
	int64_t queue_limit;
} pool_options_t;

/* pool_options_t.queue_limit / pool_set_queue_limit: no queue at all. */
#define POOL_QUEUE_NONE ((int64_t)-1)
/* Largest queue bound accepted. */
#define POOL_QUEUE_MAX ((int64_t)1 << 40)

/*
 * POOL_OPTIONS_INIT: an initializer for a pool_options_t with `size` set and
 * every other field zero (default). In C it is a designated initializer,
 * usable for static objects; in C++ (where that form warns under -Wextra, and
 * needs C++20) it calls pool_options_init(). Both compile without warnings
 * under -Wall -Wextra -Wpedantic, C99 onward and C++11 onward.
 */
#ifdef __cplusplus
#define POOL_OPTIONS_INIT pool_options_init()
#else
#define POOL_OPTIONS_INIT                      \
	{                                      \
		.size = sizeof(pool_options_t) \
	}
#endif

/* pool_options_init - `size` set, every other field zero (default). */
static inline pool_options_t pool_options_init(void)
{
#ifdef __cplusplus
	pool_options_t v = {};
#else
	pool_options_t v = POOL_OPTIONS_INIT;
#endif
	v.size = sizeof(v);
	return v;
}

/*
 * A snapshot of a pool's counters (pool_stats). Set `size` with
 * POOL_STATS_INIT. Gauges (capacity .. waiting) are read at one moment each;
 * cumulative counters (submitted ..) only grow. When the pool is quiescent
 * (no call in progress) submitted == completed + queued + running +
 * discarded exactly; under load each field is individually exact but they are
 * not read at one instant.
 */
typedef struct pool_stats {
	size_t size;
	/* Gauges. */
	uint64_t capacity; /* current capacity */
	uint64_t running;  /* tasks executing now */
	uint64_t workers;  /* live worker threads */
	uint64_t idle;	   /* workers parked on the idle stack */
	uint64_t queued;   /* accepted tasks not started */
	uint64_t waiting;  /* submitters blocked on a full pool */
	/* Counters since pool_new. */
	uint64_t submitted; /* accepted tasks */
	uint64_t completed; /* tasks that ended (returned or panicked) */
	uint64_t discarded; /* tasks dropped by pool_stop or on_discard */
	uint64_t rejected_overload; /* POOL_EOVERLOAD returned */
	uint64_t rejected_closed;   /* POOL_ECLOSED returned */
	uint64_t rejected_timeout;  /* POOL_ETIMEDOUT returned by submits */
	uint64_t stolen;       /* tasks run from a ring not the worker's home */
	uint64_t inline_runs;  /* tasks run inline (see pool_submit), or
				* handed to a worker by a group go at its
				* limit (pool_group_go) */
	uint64_t spawned;      /* worker threads started */
	uint64_t spawn_failed; /* thread creation or worker_init failed */
	uint64_t expired;      /* workers that exited after expiry_ns idle */
	uint64_t retired;      /* workers that exited after a shrink */
	uint64_t tunes;	       /* successful pool_tune calls */
	uint64_t panicked;     /* tasks that panicked (also completed) */
	/* Tasks of pool_submit_copy allocated and not yet freed, read from
	 * the pool's jemalloc arena; 0 when copies come from malloc (see
	 * copy_arena). */
	uint64_t copies_live;
	/* jemalloc arena index + 1 holding copied tasks; 0: malloc. */
	uint64_t copy_arena;
	/* Rejections by reason, each a subset of
	 * rejected_overload: the queue bound was reached (non-blocking or
	 * try submits; a blocking submit that times out at the bound counts
	 * in rejected_timeout), max_blocking submitters already waited. The
	 * rest of rejected_overload is full rings. */
	uint64_t rejected_queue_limit;
	uint64_t rejected_max_blocking;
	/* The queue bound in force (pool_queue_limit's encoding) and the
	 * tasks counted under it (accepted while a bound was set, not yet
	 * ended). */
	int64_t queue_limit;
	uint64_t bounded_inflight;
	/* 1 while paused (pool_pause); workers waiting in the pause. */
	uint64_t paused;
	uint64_t paused_workers;
} pool_stats_t;

/*
 * POOL_STATS_INIT: an initializer for a pool_stats_t with `size` set and every
 * other field zero (default). In C it is a designated initializer, usable for
 * static objects; in C++ (where that form warns under -Wextra, and needs
 * C++20) it calls pool_stats_init(). Both compile without warnings under -Wall
 * -Wextra -Wpedantic, C99 onward and C++11 onward.
 */
#ifdef __cplusplus
#define POOL_STATS_INIT pool_stats_init()
#else
#define POOL_STATS_INIT                      \
	{                                    \
		.size = sizeof(pool_stats_t) \
	}
#endif

/* pool_stats_init - `size` set, every other field zero (default). */
static inline pool_stats_t pool_stats_init(void)
{
#ifdef __cplusplus
	pool_stats_t v = {};
#else
	pool_stats_t v = POOL_STATS_INIT;
#endif
	v.size = sizeof(v);
	return v;
}

/*
 * pool_default_capacity - CPUs usable by this process.
 *
 * Thread safety: any thread. Counts the CPUs in the calling thread's affinity
 * mask and caps the figure by the cgroup v2 CPU quota (cpu.max) when one is
 * set. Blocking: reads /proc and /sys files. Returns >= 1.
 */
POOL_EXTERN int pool_default_capacity(void);

/*
 * pool_new - create a pool.
 *
 * Thread safety: any thread. Ownership: *out is the caller's; pair with
 * pool_destroy. `o` may be NULL (all defaults) and is not retained (the name
 * is copied). Blocking: with POOL_PREALLOC, waits until every worker ran
 * worker_init. Errors: POOL_EINVAL (out NULL, unknown o->size, a field out of
 * range, unknown flag), POOL_ENOMEM (allocation or thread creation failed;
 * nothing is leaked), or the negative code a worker_init returned under
 * POOL_PREALLOC. On error *out is left untouched.
 */
POOL_EXTERN POOL_NODISCARD int pool_new(pool_t **out, const pool_options_t *o);

/*
 * pool_new_func - create a pool bound to one task function (ants
 * PoolWithFunc); submit arguments with pool_invoke. Same contract as pool_new;
 * additionally POOL_EINVAL when fn is NULL. The other submit calls also work
 * on such a pool.
 */
POOL_EXTERN POOL_NODISCARD int pool_new_func(pool_t **out, pool_task_fn fn,
					     const pool_options_t *o);

/*
 * pool_submit - run fn(arg) on the pool.
 *
 * Thread safety: any thread, including the pool's own tasks.
 * Ordering: everything the caller did before pool_submit happens-before
 * fn(arg) starts.
 * Ownership: on 0 the task is the pool's until it runs (or is handed to the
 * pool_stop discard callback); on < 0 the task never runs and the caller
 * keeps arg.
 * Blocking: when all rings (capacity x ring_capacity slots) are full (or no
 * more ring can be allocated), or a
 * queue bound is reached (pool_set_queue_limit), waits for a free place,
 * unless the pool has POOL_NONBLOCKING (then POOL_EOVERLOAD at once) or
 * `max_blocking` submitters already wait (POOL_EOVERLOAD). From
 * inside a task of the same pool, a full pool does not block: the task runs
 * inline on the calling worker (counted in inline_runs), so a task never
 * waits on its own pool. Lock-free otherwise: no lock and no syscall when a
 * worker is awake.
 * The first submit to a pool with no worker starts one; in blocking mode it
 * waits for that worker's worker_init (see pool_worker_init_fn).
 * Errors: POOL_EINVAL (p or fn NULL), POOL_ECLOSED (released, stopped or
 * being destroyed, also when it happens while blocked), POOL_EOVERLOAD,
 * POOL_ENOMEM (no worker exists and none could be started; the task was not
 * accepted), or the negative code a worker_init returned in that case
 * (blocking mode only).
 */
POOL_EXTERN POOL_NODISCARD int pool_submit(pool_t *p, pool_task_fn fn,
					   void *arg);

/*
 * pool_try_submit - like pool_submit but never blocks: a full pool returns
 * POOL_EOVERLOAD at once, also from inside a task (no inline run). It never
 * waits for user code either: with no worker alive it starts one without
 * waiting for its worker_init (POOL_ENOMEM if no thread can be created).
 */
POOL_EXTERN POOL_NODISCARD int pool_try_submit(pool_t *p, pool_task_fn fn,
					       void *arg);

/*
 * pool_submit_timeout - like pool_submit but waits at most timeout_ns for a
 * free slot (CLOCK_MONOTONIC), then returns POOL_ETIMEDOUT. timeout_ns == 0
 * behaves as pool_try_submit; < 0 is POOL_EINVAL. Honours max_blocking;
 * ignores POOL_NONBLOCKING (an explicit timeout is an explicit wish to wait).
 * From inside a task of the same pool it waits like any caller (bounded).
 * Any timeout up to INT64_MAX is valid. It waits for a slot, never for a
 * worker_init (started as by pool_try_submit).
 */
POOL_EXTERN POOL_NODISCARD int
pool_submit_timeout(pool_t *p, pool_task_fn fn, void *arg, int64_t timeout_ns);

/*
 * pool_submit_batch - submit n tasks with one wake-up.
 *
 * Same contract as pool_submit for each task, in order; blocks (or not) by
 * the same rules. *accepted (may be NULL) receives how many leading tasks
 * were accepted: on 0 it is n; on < 0 tasks[*accepted .. n-1] never run and
 * their arguments stay the caller's. Errors: POOL_EINVAL (p or tasks NULL with
 * n > 0, any fn NULL: checked before anything is accepted), then as
 * pool_submit. n == 0 returns 0.
 */
POOL_EXTERN POOL_NODISCARD int pool_submit_batch(pool_t *p,
						 const pool_task_t *tasks,
						 size_t n, size_t *accepted);

/*
 * pool_invoke - submit arg to the function of a pool made by pool_new_func.
 * Same contract as pool_submit; POOL_EINVAL on a pool made by pool_new.
 */
POOL_EXTERN POOL_NODISCARD int pool_invoke(pool_t *p, void *arg);

/*
 * pool_submit_copy - copy len bytes and run fn(copy) on the pool.
 *
 * The bytes are copied into a block of the pool's own jemalloc arena
 * (malloc when jemalloc is not in use: see pool_stats_t.copy_arena), so the
 * caller's buffer may be reused as soon as the call returns. fn receives a
 * pointer to the copy, aligned for any type (max_align_t), valid until fn
 * returns (also when it panics) and then freed by the pool. A task discarded
 * by pool_stop is handed to the discard callback as (fn, copy) and freed when
 * the callback returns. Otherwise the same contract as pool_submit. Errors:
 * as pool_submit, plus POOL_EINVAL (data NULL with len > 0, len above
 * 1 GiB) and POOL_ENOMEM (no memory for the copy; nothing was accepted).
 */
POOL_EXTERN POOL_NODISCARD int pool_submit_copy(pool_t *p, pool_task_fn fn,
						const void *data, size_t len);

/*
 * pool_submit_wait - submit fn(arg) and return after it ran (workerpool
 * SubmitWait).
 *
 * Returns 0 after fn(arg) returned, POOL_EPANIC after it panicked (the
 * panic handler ran before the return).
 * Ordering: fn(arg) ending happens-before pool_submit_wait returns 0 or
 * POOL_EPANIC.
 * Blocking: blocks while full (as pool_submit) and until fn returned. From
 * inside a task of the same pool it calls fn(arg) inline on the calling
 * worker, so it cannot deadlock. Errors: as pool_submit; POOL_ECLOSED also
 * when the task was discarded before it ran (pool_stop, or no worker could
 * start: options.on_discard); it is not passed to a discard callback and
 * the caller keeps arg.
 */
POOL_EXTERN POOL_NODISCARD int pool_submit_wait(pool_t *p, pool_task_fn fn,
						void *arg);

/*
 * pool_tune - change the capacity (ants Tune).
 *
 * Thread safety: any thread, under load. Growth allocates nothing (rings are
 * added as tasks queue, worker slots as workers start); it wakes blocked
 * submitters and, when tasks are queued, workers. Shrink lowers the bound for
 * new work at once: surplus workers exit after their current task (running
 * may exceed the new capacity only until then), parked surplus workers are
 * woken to exit, and queued tasks still run. Blocking: takes the lifecycle
 * lock only (no grace period). Errors: POOL_EINVAL (p NULL, capacity <= 0,
 * or above 1 << 20), POOL_ECLOSED. (POOL_ENOMEM, which 0.1 returned when
 * growth could not allocate, is no longer returned.)
 */
POOL_EXTERN POOL_NODISCARD int pool_tune(pool_t *p, int capacity);

/*
 * pool_pause - stop starting tasks until pool_resume (workerpool Pause).
 *
 * Workers finish the task they are running and then start no new one: each
 * checks the pause before it takes its next task, so at most one task per
 * worker (one it had already taken from a ring when the call began) starts
 * after pool_pause returns; none starts after that worker has seen the
 * pause. pool_stats.paused_workers counts the workers waiting in it. Submits
 * keep being accepted and queue by the usual rules, up to the rings or the
 * queue bound (pool_set_queue_limit), then block, time out or return
 * POOL_EOVERLOAD as for a full pool: a blocking submit to a paused, full
 * pool waits until pool_resume. Paused workers do not expire. Pausing a
 * paused pool does nothing. Closing resumes: pool_release and
 * pool_release_timeout run what was accepted, pool_destroy runs it and
 * frees, pool_stop discards the queued tasks and waits for the running ones
 * (none starts after the pause). pool_reboot reopens unpaused.
 * Thread safety: any thread, also from a task (a task of the pool may pause
 * it; it runs to its end). Ordering: none for user data. Blocking: never
 * (takes the lifecycle lock briefly). Errors: POOL_EINVAL (p NULL),
 * POOL_ECLOSED.
 */
POOL_EXTERN POOL_NODISCARD int pool_pause(pool_t *p);

/*
 * pool_resume - end a pause: paused workers take tasks again (in ring
 * order), parked ones are woken if tasks are queued. Resuming a pool that is
 * not paused does nothing. Thread safety: any thread. Blocking: never.
 * Errors: POOL_EINVAL (p NULL). pool_is_paused: 1 paused, 0 not, POOL_EINVAL.
 */
POOL_EXTERN int pool_resume(pool_t *p);
POOL_EXTERN int pool_is_paused(const pool_t *p);

/*
 * pool_set_queue_limit - set or change the queue bound (load shedding).
 *
 * limit: 0 removes the bound (the default: only the rings, capacity x
 * ring_capacity slots, bound the queue); Q > 0 lets at most Q tasks wait
 * while every worker runs one; POOL_QUEUE_NONE is ants' mode: no queue, a
 * task is accepted only if a worker takes it at once (one is idle, searching
 * or can still be started below capacity).
 * The rule, exactly: while a bound Q is set (POOL_QUEUE_NONE: Q = 0), a
 * submit is accepted only if the tasks counted under the bound (accepted
 * while a bound was set and not yet ended: queued, or running) are fewer
 * than capacity + Q at that moment; a batch takes as many places as are
 * left. The count is one atomic counter taken with a CAS, so the rule holds
 * exactly under any number of concurrent submitters: with capacity C and a
 * bound Q, a pool whose tasks do not end accepts C + Q tasks and not one
 * more, whatever the interleaving. A task's place is given back when it
 * ends (returns or panics), is discarded by pool_stop, or its push fails.
 * "Queued" in this rule therefore counts the tasks accepted beyond the
 * running ones: while fewer than C workers run (being started or woken),
 * up to C + Q - running tasks may sit in the rings for that moment.
 * What happens at the bound follows the usual submit rules, for every
 * flavour (pool_submit, pool_try_submit, pool_submit_timeout,
 * pool_submit_batch, pool_submit_copy, pool_submit_wait, pool_invoke, and
 * the multi-pool's submits through its members): a blocking submit waits for
 * a place (a task to end), POOL_NONBLOCKING and pool_try_submit return
 * POOL_EOVERLOAD at once (counted in rejected_queue_limit), a timed submit
 * returns POOL_ETIMEDOUT, max_blocking applies; from inside a task of the
 * same pool a blocking submit at the bound runs the task inline (as for a
 * full pool). The rings still apply: a bound larger than the rings' room is
 * reached at the rings first.
 * Changing the bound: takes effect for the submits that start after the
 * call; tasks accepted while no bound was set are not counted against a
 * bound set later (they are not in the count). Lowering the bound below the
 * current count drops nothing: submits are refused until enough tasks
 * ended. Raising it (or removing it) wakes blocked submitters. pool_tune
 * moves the limit with the capacity (capacity + Q).
 * Cost: without a bound a submit reads one more word it already shares a
 * line with (no write); with one, a submit takes a CAS on one shared
 * counter and the end of each counted task a fetch_sub and a fence.
 * Thread safety: any thread, under load. Blocking: never (takes the
 * lifecycle lock briefly). Errors: POOL_EINVAL (p NULL, limit < 0 other than
 * POOL_QUEUE_NONE, above POOL_QUEUE_MAX), POOL_ECLOSED.
 */
POOL_EXTERN POOL_NODISCARD int pool_set_queue_limit(pool_t *p, int64_t limit);

/*
 * pool_queue_limit - the bound in force: 0 (none), Q > 0, POOL_QUEUE_NONE;
 * POOL_EINVAL for p NULL. Lock-free.
 */
POOL_EXTERN int64_t pool_queue_limit(const pool_t *p);

/*
 * Lock-free reads. Thread safety: any thread. Each value is exact at some
 * moment during the call. Return POOL_EINVAL for p NULL.
 *   pool_cap        capacity
 *   pool_running    tasks executing now
 *   pool_available  capacity - running (may be < 0 right after a shrink)
 *   pool_waiting    submitters blocked on a full pool
 *   pool_queued     accepted tasks not yet started
 *   pool_is_closed  1 after release/stop/destroy started, 0 when open
 */
POOL_EXTERN int pool_cap(const pool_t *p);
POOL_EXTERN int pool_running(const pool_t *p);
POOL_EXTERN int pool_available(const pool_t *p);
POOL_EXTERN int pool_waiting(const pool_t *p);
POOL_EXTERN int64_t pool_queued(const pool_t *p);
POOL_EXTERN int pool_is_closed(const pool_t *p);

/*
 * pool_stats - fill *s (whose size the caller set with POOL_STATS_INIT).
 * Thread safety: any thread. Lock-free; sums per-worker counters. Errors:
 * POOL_EINVAL (p or s NULL, unknown s->size).
 */
POOL_EXTERN int pool_stats(const pool_t *p, pool_stats_t *s);

/*
 * pool_release - close the pool now and return without waiting (ants
 * Release).
 *
 * New submits get POOL_ECLOSED; submitters blocked on a full pool wake and
 * return POOL_ECLOSED. Every task accepted before still runs; workers exit
 * once the rings are empty. Ordering: a submit that returned 0 before
 * pool_release started is run. Blocking: waits for one RCU grace period
 * (in-flight submits to finish), never for tasks. Returns 0 (also when
 * already closed) or POOL_EINVAL.
 */
POOL_EXTERN int pool_release(pool_t *p);

/*
 * pool_release_timeout - close, run every accepted task, and wait until every
 * worker thread has exited, for at most timeout_ns (ants ReleaseTimeout).
 *
 * Ordering: every accepted task's return (or its discard, when no worker can
 * start: see pool_worker_init_fn) happens-before a 0 return. Any timeout up
 * to INT64_MAX is valid. If no thread can be created, it retries until the
 * deadline. On POOL_ETIMEDOUT the pool stays closed and nothing is freed:
 * the workers that exist keep running what remains, but if none exists
 * (no thread could be created by the deadline) the remaining tasks stay
 * queued until the next pool_release_timeout, pool_stop or pool_destroy,
 * which retries (or discards them). Call it again or pool_destroy later.
 * Errors:
 * POOL_EINVAL (p NULL, timeout_ns < 0), POOL_ETIMEDOUT, POOL_EDEADLK (from
 * inside a task of this pool).
 */
POOL_EXTERN int pool_release_timeout(pool_t *p, int64_t timeout_ns);

/*
 * pool_stop - close, discard every queued task, wait for running tasks and
 * worker exit (workerpool Stop).
 *
 * Each discarded task is handed to on_discard(fn, arg, ctx) exactly once on
 * the calling thread (on_discard may be NULL: then they are dropped, and
 * counted). Discarded tasks never run; running tasks finish. Errors:
 * POOL_EINVAL, POOL_EDEADLK (from inside a task of this pool).
 */
POOL_EXTERN int pool_stop(pool_t *p, pool_discard_fn on_discard, void *ctx);

/*
 * pool_reboot - reopen a closed, fully drained pool (ants Reboot).
 *
 * Returns 0 when the pool is open afterwards (also when it was open).
 * Errors: POOL_EINVAL, POOL_EBUSY (closed but tasks or workers remain: call
 * pool_release_timeout first).
 */
POOL_EXTERN int pool_reboot(pool_t *p);

/*
 * pool_destroy - release, run every accepted task, join every worker and free
 * the pool.
 *
 * Blocking: waits for all accepted tasks (there is no timeout: use
 * pool_release_timeout first for one). Submitters blocked on a full pool or
 * waiting for the first worker's worker_init return POOL_ECLOSED (or 0 if
 * their task got in before the close) before memory is freed. Always
 * returns: tasks that no worker can run because no thread can start are
 * discarded (options.on_discard), logged and counted. Errors: POOL_EINVAL (p
 * NULL), POOL_EDEADLK (from inside a task of this pool; nothing is done).
 */
POOL_EXTERN int pool_destroy(pool_t *p);

/*
 * Worker context, valid only inside a task (or worker_init/fini):
 *   pool_worker_state  the state worker_init set for this worker, else NULL
 *   pool_worker_id     this worker's shard index, else -1: 0 .. capacity-1,
 *                      except that a worker started before a shrink keeps
 *                      its index (up to the largest capacity the pool had)
 *   pool_self          the pool running the calling task, else NULL
 */
POOL_EXTERN void *pool_worker_state(void);
POOL_EXTERN int pool_worker_id(void);
POOL_EXTERN pool_t *pool_self(void);

POOL_END_DECLS

#endif /* POOL_POOL_H */
