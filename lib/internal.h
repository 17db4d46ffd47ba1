/* SPDX-License-Identifier: MIT */
/*
 * lib/internal.h - private structures of the pool engine. Never installed.
 *
 * docs/design.md is the paper design these structures implement: who writes
 * each field, which operation pairs with which fence, and the park/wake
 * argument. Field comments below say who writes each shared field.
 *
 * Lock order (see the top of pool.c): life_lock -> idle_lock. Both are slow
 * path only: no lock is taken on the submit -> run fast path.
 */
#ifndef POOL_INTERNAL_H
#define POOL_INTERNAL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool/pool.h"
#include "pool/group.h"
#include "pool/metrics.h"
#include "pool/panic.h"
#include "pool/sem.h"
#include "arch.h"
#include "rcu-inl.h"

/* A hot-path helper the compiler must inline (the submit fast path). */
#define POOL_INLINE inline __attribute__((always_inline))

struct pool_obs;	/* lib/obs-inl.h */
struct pool_copy_local; /* lib/copy.c */

/* Pool states (pool.state). */
enum {
	POOL_ST_OPEN = 0,
	/* Submits are refused; in-flight submits may still push. */
	POOL_ST_CLOSING = 1,
	/* Every push is complete (a grace period passed): workers exit once
	 * they find every ring empty. */
	POOL_ST_CLOSED = 2,
};

/*
 * One ring slot. seq == 2*pos: free for the push at position pos;
 * seq == 2*pos + 1: holds the task pushed at pos. The doubled encoding makes
 * a one-slot ring work (plain Vyukov needs two).
 */
struct pool_slot {
	_Atomic uint64_t seq;
	pool_task_fn fn; /* written by the pusher before seq release */
	void *arg;
	/* The task's observation stamp (lib/obs-inl.h): 0 for a task that is
	 * neither sampled nor blocked, the common case. Written with fn/arg. */
	uint64_t stamp;
};

/* A task as a ring holds it: {fn, arg}, its stamp and its kind (enum
 * pool_kind, lib/task-inl.h: decided by the submit, carried in the slot's
 * seq, filled in by ring_pop). */
struct pool_work {
	pool_task_fn fn;
	void *arg;
	uint64_t stamp;
	unsigned kind;
};

/* A bounded MPMC ring (Vyukov-style sequence slots). */
struct pool_ring {
	/* Next push position: CAS by producers only. Own line: keeps
	 * producers apart from consumers. */
	_Atomic uint64_t head POOL_CACHE_ALIGNED;
	/* Next pop position: CAS by consumers (owner and thieves) only. */
	_Atomic uint64_t tail POOL_CACHE_ALIGNED;
	/* Read-only after init. */
	struct pool_slot *slots POOL_CACHE_ALIGNED;
	uint64_t mask;
	/* An overflow ring (index j >= pool.nbase, docs/design.md, "The idle
	 * search"): the first ring of its group of 64, which holds the
	 * group's summary word, and this ring's bit in it (1 << (j - nbase)
	 * % 64). NULL and 0 for the nbase first rings. Set before the ring
	 * is published (the seq_cst n store of vec_append), then read-only. */
	struct pool_ring *group;
	uint64_t bit;
	/* Used in a group's first ring only: bit i set means overflow ring
	 * (this ring's index + i) may hold tasks; clear means it holds none
	 * at a fence, except inside a popper's clear->recheck window
	 * (ring_untrack closes it with a hand-off). seq_cst RMWs by pushers
	 * (ring_track) and poppers (ring_untrack) on empty<->non-empty
	 * transitions only; seq_cst loads by every search. Own line. */
	_Atomic uint64_t nonempty POOL_CACHE_ALIGNED;
};

/*
 * A shard: the slot of one worker thread (counters, park token,
 * histograms). Shards are made as workers need them and live until
 * pool_destroy (docs/design.md, "Rings that follow the queue, shards that
 * follow the workers"). The rings are a separate set (pool.rings).
 */
struct pool_shard {
	/* Owner line: written only by the thread owning the shard (relaxed
	 * single-writer counters, summed by pool_stats; the owner-only
	 * fields), or immutable. No other thread writes it: no false sharing
	 * with the park line. */
	_Atomic uint64_t completed POOL_CACHE_ALIGNED;
	_Atomic uint64_t stolen;
	_Atomic uint32_t running;
	/* Immutable. */
	unsigned index;
	struct pool *pool;
	/* Owner thread only. home: the ring it pops first and a submit from
	 * inside its task pushes to first (set when the owner starts). */
	void *state;
	uint64_t rng;
	struct pool_ring *home;
	/* The shard's list of free small copy blocks (copy.c, struct
	 * pool_copy_local), made by the owner at its first free of a small
	 * copy of the pool and kept across owners; NULL before (and without a
	 * jemalloc arena). Stored by the owner with release (pairs with the
	 * acquire load in pool__arena_live, which reads its count); the
	 * record lives in the pool's arena and goes with it. */
	_Atomic(struct pool_copy_local *) copy;

	/* Park line. token: the futex word a parked owner sleeps on; set to
	 * 1 by a waker under idle_lock, reset to 0 by the owner under
	 * idle_lock. owner: 0 = free, 1 = a worker thread is bound; CAS
	 * 0->1 by a spawner (or set before publication by the spawner that
	 * made the shard), store 0 by the exiting owner. */
	_Atomic int32_t token POOL_CACHE_ALIGNED;
	_Atomic uint32_t owner;
	/* Protected by pool.idle_lock. */
	bool on_stack;
	struct pool_shard *idle_prev, *idle_next;
	/* The spawner waiting for this worker's worker_init verdict (on its
	 * stack), or NULL: written by the spawner before pthread_create
	 * (which orders it before the thread's start), read once by the new
	 * owner. The thread's start argument is the shard itself, so a spawn
	 * allocates nothing a worker would free (docs/design.md, "Where an
	 * idle worker's bytes go"). On the park line: written and read once
	 * per thread start, it leaves the owner line's room to the copy list
	 * pointer, read on every free of a copy. */
	struct pool_spawn_wait *starter;
	/* Observation (lib/obs.c). obs: the shard's histograms, allocated by
	 * the owner at its first sample and published with a release store
	 * (pairs with the acquire load of the readers in lib/metrics.c);
	 * freed with the shard. busy_since: the tick at which the owner last
	 * stopped being free (left the search with a task), stored relaxed
	 * by the owner, read by pool_metrics_saturation. On the park line:
	 * both are written at the worker's idle<->busy transitions, when
	 * the line moves anyway (a waker just wrote token); two lines a
	 * shard instead of four (docs/design.md, "Where an idle worker's
	 * bytes go"). */
	_Atomic(struct pool_obs *) obs;
	_Atomic uint64_t busy_since;
};

/*
 * An append-only set of pointers (the pool's shards, its rings): n entries
 * published, size slots. Appended under pool.grow_lock: v[n] is written,
 * then n is stored (seq_cst); a full array is replaced by one twice the
 * size (pointer stored seq_cst) and kept on the prev chain until
 * pool_destroy, so a reader of an old array reads valid memory (it only
 * misses later entries). Readers: pool__shards / pool__rings (seq_cst
 * loads: the park/wake argument, docs/design.md).
 */
struct pool_vec {
	_Atomic uint32_t n;
	uint32_t size;
	struct pool_vec *prev;
	void *v[];
};

/*
 * One of a pool's copy caches (copy.c): an explicit jemalloc thread cache
 * over the pool's arena, used by one thread at a time (busy is its
 * try-lock), so pool_submit_copy's allocation and the worker's free touch
 * the arena's locked bins once per cache fill or flush, not per task.
 */
#define POOL_COPY_CACHES 16
struct pool_copy_cache {
	/* Try-lock: exchanged to 1 (acquire) by the thread taking the cache,
	 * stored 0 (release) when it is done. Own line per cache: keeps the
	 * threads using different caches apart. */
	_Atomic uint32_t busy POOL_CACHE_ALIGNED;
	/* Under busy: jemalloc tcache index + 1; 0 not created yet; -1
	 * tcache.create failed (the cache then allocates without one). */
	int tc;
	/* Written under busy (relaxed), summed by pool_stats. */
	_Atomic uint64_t allocs, frees;
	/* Under busy: free small blocks (copy.c's magazine) and their
	 * number; mags: whole magazines taken from the depot, used once
	 * free_list is empty. */
	void *free_list;
	uint32_t nfree;
	void *mags;
};

struct pool {
	/* Immutable after pool_new. */
	pool_task_fn func; /* pool_new_func's function, or NULL */
	unsigned flags;
	int64_t expiry_ns;
	int max_blocking;
	uint32_t ring_cap; /* slots per ring, a power of two */
	/* Rings made by pool_new (min(capacity, CPUs)): scanned directly;
	 * every ring added later is tracked by a summary bit (ring.group). */
	uint32_t nbase;
	size_t stack_size;
	char name[64];
	pool_log_fn logger;
	void *logger_ctx;
	pool_worker_init_fn worker_init;
	pool_worker_fini_fn worker_fini;
	void *worker_ctx;
	pool_panic_fn panic_handler;
	void *panic_ctx;
	pool_discard_fn on_discard; /* tasks the pool drops on its own */
	void *discard_ctx;
	int max_spinners;
	unsigned arena; /* jemalloc arena index + 1 for copies; 0: malloc */
	bool signals;	/* holds a reference on the signal handlers */
	/* Task hooks (pool/metrics.h), NULL when unset. */
	pool_task_hook_fn hook_before;
	pool_task_hook_fn hook_after;
	void *hook_ctx;
	bool hooked;	    /* hook_before || hook_after */
	uint64_t born_tick; /* pool__ticks() at pool_new (saturation) */

	/* Read on every submit, written rarely. table (the shards) and rings:
	 * append-only sets (struct pool_vec), appended under grow_lock. cap:
	 * stored under life_lock by pool_tune. state: stored under
	 * life_lock. */
	_Atomic(struct pool_vec *) table POOL_CACHE_ALIGNED;
	_Atomic(struct pool_vec *) rings;
	_Atomic int32_t cap;
	_Atomic int32_t state;
	/* Sampling interval - 1 (lib/obs-inl.h); UINT64_MAX: metrics off.
	 * Stored relaxed by pool_metrics_set_sampling; read relaxed by the
	 * sampled submits (no data depends on it). */
	_Atomic uint64_t obs_mask;
	/* Queue bound: -1 none, else Q >= 0 (a submit is accepted while
	 * inflight < cap + Q). Stored under life_lock by
	 * pool_set_queue_limit; read relaxed on every submit. */
	_Atomic int64_t qbound;
	/* pool_pause: 1 while paused. Stored under life_lock by
	 * pool_pause / pool_resume / close; read by workers before each
	 * task. */
	_Atomic int32_t paused;

	/* Workers awake and searching (or about to be: counted by the waker
	 * or spawner). RMW by workers on spin transitions, by wakers and
	 * spawners; read by every submit after its fence. Own line. */
	_Atomic int32_t nspinning POOL_CACHE_ALIGNED;

	/* A blocked submitter wants a signal when a slot frees: set to 1 by
	 * submitters before each sleep, exchanged to 0 by the worker that
	 * signals; read by workers after every pop (fence first). Own line:
	 * read on the consumer fast path, written only on the slow path. */
	_Atomic int32_t space_want POOL_CACHE_ALIGNED;
	/* Blocked submitters (max_blocking, pool_waiting): RMW by submitters
	 * on the slow path. */
	_Atomic int32_t waiting;
	/* Holds: callers that may block and touch the pool afterwards (a
	 * blocked submit, one waiting for the first worker's worker_init, a
	 * batch past its first wait). Taken inside an RCU read-side section
	 * that saw OPEN (so a close's grace period orders it before
	 * pool_destroy's read); dropped with a release decrement as the
	 * caller's last access (pairs with the acquire load in pool_destroy).
	 * Futex word. */
	_Atomic int32_t holds;

	/* Tasks accepted under a queue bound (tagged in their ring slot) and
	 * not yet ended: CAS up by submitters while a bound is set, fetch_sub
	 * by whoever ends a tagged task (pool__bound_done). Own line: written
	 * per task, but only by bounded pools. */
	_Atomic int64_t inflight POOL_CACHE_ALIGNED;

	/* Slow-path fields (spawn, exit, wake, block). */
	_Atomic int32_t space_seq POOL_CACHE_ALIGNED; /* futex: a slot freed */
	_Atomic int32_t pause_seq; /* futex: bumped by each resume */
	_Atomic int32_t npaused;   /* workers waiting in the pause */
	_Atomic int32_t nworkers;  /* logical workers: <= cap on spawn */
	/* Threads created and not yet searching (in pthread_create or in
	 * worker_init): RMW (seq_cst) by spawners and by the new thread when
	 * it starts searching or gives up. Not counted in nspinning: a thread
	 * in worker_init does not look at the rings, so a submit must not
	 * skip a parked worker for it (docs/design.md, "Starting workers"). */
	_Atomic int32_t nstarting;
	/* worker_init refusals since the last init that succeeded (relaxed;
	 * bounds the replacements a refusal starts: worker.c). */
	_Atomic uint32_t init_refusals;
	_Atomic int32_t nthreads; /* threads not yet finished: futex */
	_Atomic int32_t nidle;	  /* mirror of the idle stack size */
	/* 1 while a parked worker watches a stalled claim with a timed
	 * nap (park.c, "A claim is not a task" in docs/design.md): CAS 0->1
	 * and exchange to 0 by that worker, seq_cst, each beside a fence. */
	_Atomic int32_t stall_watch;
	_Atomic pthread_t zombie; /* exited thread to join; 0 = none */

	/* Counters written off the fast path only. */
	_Atomic uint64_t discarded;
	_Atomic uint64_t rej_overload;
	_Atomic uint64_t rej_closed;
	_Atomic uint64_t rej_timeout;
	_Atomic uint64_t rej_bound;	   /* subset of rej_overload */
	_Atomic uint64_t rej_max_blocking; /* subset of rej_overload */
	_Atomic uint64_t inline_runs;
	_Atomic uint64_t spawned;
	_Atomic uint64_t spawn_failed;
	_Atomic uint64_t expired;
	_Atomic uint64_t retired;
	_Atomic uint64_t tunes;
	_Atomic uint64_t log_count;
	_Atomic uint64_t panicked;
	/* Panic log rate limit (panic.c). */
	_Atomic int64_t plog_window;
	_Atomic uint32_t plog_count;
	_Atomic uint64_t plog_dropped;

	/* pool_submit_copy's caches over the arena (copy.c). */
	struct pool_copy_cache copy_cache[POOL_COPY_CACHES];
	/* Copies allocated / freed without a cache (every cache busy): RMW by
	 * any thread, slow path only. */
	_Atomic uint64_t copy_allocs, copy_frees;
	/* The depot (copy.c): a stack of magazines of free small blocks,
	 * handed from the caches that free (workers) to the caches that
	 * allocate (submitters). Pushed one magazine at a time by a CAS
	 * (release), taken whole by an exchange (acquire): no pop by CAS, so
	 * no ABA. copy_depot_blocks: the blocks in the depot and in the
	 * caches' taken magazines (relaxed RMW; bounds what is kept). Own
	 * line: written once per magazine by both sides. */
	_Atomic(void *) copy_depot POOL_CACHE_ALIGNED;
	_Atomic int64_t copy_depot_blocks;

	/* LIFO idle-worker stack, guarded by idle_lock (leaf lock). */
	pthread_mutex_t idle_lock;
	struct pool_shard *idle_top;

	/* Serializes lifecycle changes. */
	pthread_mutex_t life_lock;
	/* Serializes appends to table and rings (leaf lock: nothing else is
	 * taken under it, no user code or futex call runs under it). */
	pthread_mutex_t grow_lock;
	/* Under grow_lock: the shard slabs (worker.c, pool__shard_new), the
	 * newest first, and the shards of the newest not yet handed out.
	 * Freed by pool_destroy only. */
	struct pool_shard_slab *slabs;
	uint32_t slab_left;
};

/* Per-thread worker context (pool_self, pool_worker_state, ...). */
struct pool_tls {
	struct pool *pool;
	struct pool_shard *shard;
	int32_t sample_left; /* submits until the next sample (obs-inl.h) */
	/* The last itask's run: the user's function panicked (written by
	 * task.c's itask_trampoline, read by pool__task_run right after). */
	bool itask_panicked;
};
/* Initial-exec: read on every submit; the general-dynamic model of a shared
 * library would call __tls_get_addr at each access (24 bytes of the static
 * TLS surplus glibc keeps for such libraries). */
extern _Thread_local struct pool_tls pool__tls
	__attribute__((tls_model("initial-exec")));

/*
 * The functions of each layer (docs/design.md, "Layers"), lowest first. A
 * file calls only files of lower layers; the table test/unit/layers.sh
 * checks against is lib/layers.txt.
 */

/* ---- base: alloc.c, base.c (and the failpoint files, below them) ---- */

/* Allocation (alloc.c). pool__inject_failure: true when a test asked for
 * this allocation to fail; always false in the released libraries
 * (failpoint-off.c; failpoint.c is the test library's twin). */
void *pool__alloc(size_t size);
void *pool__alloc_aligned(size_t size);
void pool__free(void *ptr);
/* Zeroed memory that becomes resident only where written (a large ring's
 * slots, docs/design.md "Rings"); freed with pool__free_zeroed and the
 * same size. */
#define POOL_LAZY_MIN ((size_t)1024 * 1024)
void *pool__alloc_zeroed(size_t size);
void pool__free_zeroed(void *ptr, size_t size);
bool pool__inject_failure(void);

/* base.c: logging, the clock, futex waits (the worker context pool__tls is
 * defined there too). */
void pool__log(struct pool *p, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int64_t pool__now_ns(void);
int64_t pool__deadline(int64_t now, int64_t rel_ns);
/* A worker's thread name, "<first 10 bytes of name>/w<index>" cut to 15
 * bytes and NUL-terminated: what snprintf("%.10s/w%u") gives, formatted by
 * hand so that naming a thread touches no deeper stack than the worker's
 * own frames (docs/design.md, "Where an idle worker's bytes go"). */
#define POOL_THREAD_NAME_MAX 16
void pool__thread_name(char out[POOL_THREAD_NAME_MAX], const char *name,
		       unsigned index);
int pool__futex_wait(_Atomic int32_t *addr, int32_t val, int64_t rel_ns);
void pool__futex_wake(_Atomic int32_t *addr, int n);

/* ---- parts: ring.c, vec.c, copy.c, panic.c ---- */

/* ring.c */
int pool__ring_init(struct pool_ring *r, uint32_t cap);
void pool__ring_fini(struct pool_ring *r);
struct pool_ring *pool__ring_new(uint32_t cap);
void pool__ring_free(struct pool_ring *r);
/* Any ring of p holds a claim of a push, published or not (hand-offs,
 * exit, drain: work someone must run); reads only. */
bool pool__has_work(struct pool *p);
/* What a search would find: POOL_WORK_READY (a pop would take a task),
 * POOL_WORK_CLAIMED (claims only: each pusher is between its head CAS and
 * its publish), POOL_WORK_NONE. For the spin and P4; reads only. */
enum { POOL_WORK_NONE = 0, POOL_WORK_CLAIMED = 1, POOL_WORK_READY = 2 };
int pool__work_state(struct pool *p);
/* The summary bits set over p's overflow rings (a test hook in every
 * flavour: it only reads). */
unsigned pool__ring_bits(struct pool *p);
/* The append-only sets (struct pool_vec, vec.c). vec_new: an empty set of
 * `size` slots. vec_append: grow_lock held; 0 or POOL_ENOMEM (nothing
 * changed). vec_free: the array and its prev chain, not the items. */
struct pool_vec *pool__vec_new(uint32_t size);
int pool__vec_append(_Atomic(struct pool_vec *) *set, void *item);
void pool__vec_free(struct pool_vec *v);

/*
 * copy.c: a pool_submit_copy task is its bytes alone, no header: the ring
 * slot carries {the user's fn, the copy's handle}. The handle is the bytes'
 * address (what fn receives: pool__copy_data), with bit 0 set
 * (POOL_COPY_BIG) when the block is not one of the arena's recycled small
 * blocks; so a payload of up to 64 bytes fills one cache line and nothing
 * else of the copy is written (docs/design.md, "copy: one line a copy").
 */
#define POOL_COPY_BIG ((uintptr_t)1)
static inline void *pool__copy_data(void *h)
{
	return (void *)((uintptr_t)h & ~POOL_COPY_BIG);
}
/* A copy of data[0 .. len), from p's arena (or malloc), aligned for
 * max_align_t; its handle, NULL when out of memory. Freed with
 * pool__copy_free. */
void *pool__copy_new(struct pool *p, const void *data, size_t len);
void pool__copy_free(struct pool *p, void *h);
void pool__arena_init(struct pool *p);
void pool__arena_fini(struct pool *p);
uint64_t pool__arena_live(const struct pool *p);

/* panic.c: a guard (docs/design.md, "Panics"). */
struct pool_defer {
	void (*fn)(void *);
	void *arg;
};

/* The parts of a guard that only a task that defers or panics uses (512
 * bytes): kept apart from the frame, so the worker's long-lived frame does
 * not carry them on its stack (docs/design.md, "Where an idle worker's
 * bytes go"). */
struct pool_frame_ext {
	struct pool_defer defers[POOL_MAX_DEFERS];
	char msg[POOL_PANIC_MSG_MAX];
};

struct pool_frame {
	sigjmp_buf env;
	struct pool_frame *prev;
	struct pool *pool;
	/* Written between sigsetjmp and siglongjmp: volatile, so their
	 * values after the jump are the stored ones. */
	volatile int panicked;
	volatile int code;
	volatile int signo;
	volatile unsigned ndefer;
	/* The panic message: "", a static string (a signal's name, or the
	 * out-of-memory notice) or x->msg. */
	const char *volatile msg;
	/* Storage of the deferred calls and of a copied message. A
	 * short-lived frame (pool__run_guarded): its own, beside it on the
	 * stack. The worker's long-lived frame: NULL until a task of the
	 * worker first defers or panics with a message, then a block
	 * allocated then and kept for the worker's life (pool__frame_fini
	 * frees it). ndefer > 0 implies x != NULL. */
	struct pool_frame_ext *volatile x;
};

/* The innermost guard of this thread; NULL outside every task. */
extern _Thread_local struct pool_frame *pool__frame_cur
	__attribute__((tls_model("initial-exec")));
bool pool__run_guarded(struct pool *p, pool_task_fn fn, void *arg);
/* A long-lived frame (the worker's): pool__frame_init once (no storage
 * yet: pool_defer and pool_panic allocate it at their first need); the owner
 * arms it with sigsetjmp(f->env, 0) in a function that stays active, runs
 * each task with pool__frame_cur = f, and calls pool__frame_end(f, ...)
 * after a task that deferred calls (f->ndefer) or jumped to f: it runs the
 * deferred calls, reports a panic (returns true) and resets f. */
void pool__frame_init(struct pool_frame *f, struct pool *p);
/* Frees the long-lived frame's storage (at the worker's exit). */
void pool__frame_fini(struct pool_frame *f);
bool pool__frame_end(struct pool_frame *f, struct pool *p, pool_task_fn fn,
		     void *arg);
/* As pool__run_guarded; the panic handler is shown {shown_fn, shown_arg}
 * (the user's task when fn is an internal wrapper). Returns true on a
 * panic. */
bool pool__run_guarded_as(struct pool *p, pool_task_fn fn, void *arg,
			  pool_task_fn shown_fn, void *shown_arg);
int pool__signals_acquire(void);
void pool__signals_release(void);
void *pool__altstack_on(void);
void pool__altstack_off(void *mem);

/* ---- task: task.c (the kinds and their hot tests: task-inl.h) ---- */

/* pool_submit_wait's record (POOL_KIND_WAIT): run fn(arg), then set done
 * (1 ran, 2 discarded). panicked: written by the worker before the release
 * store of done. */
struct pool_waiter {
	pool_task_fn fn;
	void *arg;
	_Atomic int32_t done;
	bool panicked;
};
void pool__waiter_done(struct pool_waiter *w, int32_t how);

/*
 * A task kind of a concept above the pool (ctx.c, group.c), submitted as
 * POOL_KIND_ITASK with this record (pool__submit_itask, pool__submit_until).
 * Its run calls run, which owns the task from then on (runs the user's
 * function under its own guard, or skips it, and frees it). pool_stop's
 * discard pass calls discard instead of handing the record to the user's
 * callback; discard gets that callback and must report the user's task (or
 * its own way) and free.
 */
struct pool_itask {
	/* Returns whether the user's function panicked (its own guard
	 * caught it), for the task hooks and histograms (obs.c). */
	bool (*run)(struct pool_itask *t);
	void (*discard)(struct pool_itask *t, pool_discard_fn fn, void *ctx);
	/* NULL, or: whether another runner already ran this record (a group
	 * task its waiter took, see group.c), in which case it has dropped
	 * the queue's reference and pool__task_run skips the guard: no user
	 * code is left to run. */
	bool (*gone)(struct pool_itask *t);
	/* The user's task as the task hooks see it (pool_task_info.fn/arg;
	 * a group task's int-returning function is cast, as the panic
	 * handler shows it). Set before the submit; read-only after. */
	pool_task_fn user_fn;
	void *user_arg;
};

/* Run t inside a guard of its own (every kind); returns whether it
 * panicked. A copy is freed; a waiter is released by pool__task_end. */
bool pool__task_run(struct pool *p, const struct pool_work *t);
/* The user's {fn, arg} of t, as the task hooks show it. */
void pool__task_user(const struct pool_work *t, pool_task_fn *fn, void **arg);
/* Hand t to a discard callback (NULL: none) as its kind says, and free its
 * record. Runs user code. */
void pool__task_discard(struct pool *p, const struct pool_work *t,
			pool_discard_fn fn, void *ctx);

/* ---- park/wake: park.c; observation: obs.c (hot path in obs-inl.h) ---- */

bool pool__wake_one(struct pool *p);
void pool__wake_all(struct pool *p);
void pool__space_signal(struct pool *p);
int pool__park(struct pool *p, struct pool_shard *self, bool *spinning);
enum { POOL_PARK_RESCAN, POOL_PARK_WOKEN, POOL_PARK_EXPIRED };

int pool__obs_check(const pool_metrics_options_t *o);
void pool__obs_apply(struct pool *p, const pool_metrics_options_t *o);
uint64_t pool__obs_mask(unsigned every);
void pool__obs_free(struct pool_shard *s);

/* ---- workers: worker.c ---- */

enum {
	/* Wait for worker_init's verdict. */
	POOL_SPAWN_WAIT = 1u << 0,
	/* Spawn whatever the state: the caller is covered otherwise (inside
	 * a submit's read-side section that saw OPEN, an exiting worker still
	 * counted in nthreads, or the drainer itself). Without it the pool
	 * must be OPEN, checked inside an RCU read-side section so that a
	 * close's grace period orders the reservation before CLOSED. */
	POOL_SPAWN_ANY = 1u << 1,
	/* Do not log a failure: the caller is inside an RCU read-side
	 * section, where no user callback may run; it logs afterwards. */
	POOL_SPAWN_QUIET = 1u << 2,
};
int pool__spawn(struct pool *p, unsigned flags);
int pool__ensure_worker(struct pool *p, unsigned spawn_flags);
void pool__log_spawn_failure(struct pool *p, int err);
void pool__discard_task(struct pool *p, const struct pool_work *t,
			pool_discard_fn fn, void *ctx);
void pool__discard_all(struct pool *p, pool_discard_fn fn, void *ctx);
void pool__discard_stranded(struct pool *p);
/* Shards come from slabs (one allocation for up to POOL_SHARD_SLAB of
 * them): pool__shard_new hands out the next one, under grow_lock;
 * pool__shard_unget gives back the one just handed out (its append
 * failed), under grow_lock; pool__shard_free frees what a shard owns (its
 * histograms); pool__shard_slabs_free frees the slabs (pool_destroy). */
struct pool_shard *pool__shard_new(struct pool *p, unsigned index);
void pool__shard_unget(struct pool *p, struct pool_shard *s);
void pool__shard_free(struct pool_shard *s);
void pool__shard_slabs_free(struct pool *p);
void pool__join_zombie(struct pool *p);
bool pool__pop_any(struct pool *p, struct pool_work *t);
void pool__bound_done(struct pool *p, size_t n);
void pool__unpause(struct pool *p);
/*
 * The helping wait (group.c): run one queued task of p on the calling
 * worker, which must be running a task of p. Pops its own ring first, then
 * steals. Returns false when nothing was queued. Does not touch park/wake:
 * the caller stays a running worker throughout.
 */
bool pool__help_one(struct pool *p);

/* ---- the pool: pool.c ---- */

/*
 * Submit an itask (ctx.c, group.c): as pool_submit, or as pool_try_submit
 * when try_only.
 */
int pool__submit_itask(struct pool *p, struct pool_itask *it, bool try_only);
/*
 * Blocking submit of an itask with a stop condition (ctx.c, group.c): as
 * pool_submit (POOL_NONBLOCKING honoured, inline run from inside a task of
 * a full own pool), but a wait for a free slot ends at `deadline`
 * (CLOCK_MONOTONIC ns; INT64_MAX: none) with POOL_ETIMEDOUT, or as soon as
 * stop(stop_arg) returns < 0, with that code. stop is called between
 * retries and before every sleep; whoever makes it true must wake the
 * sleeper with pool__space_signal(p).
 */
int pool__submit_until(struct pool *p, struct pool_itask *it, int64_t deadline,
		       int (*stop)(void *), void *stop_arg);
/*
 * The multi-pool's submit to a member (multi.c), a direct call (no PLT).
 * BLOCK, TRY and TIMEOUT are pool_submit, pool_try_submit and
 * pool_submit_timeout(timeout_ns >= 0) exactly. OFFER takes the task only if
 * a ring (and the queue bound) has room now: never waits, never starts the
 * first worker (POOL_MEMBER_NO_WORKER when the member has none: nothing was
 * tried), and counts no rejection in the member's stats (POOL_EOVERLOAD,
 * POOL_ECLOSED are left to the multi-pool's final call). A plain task only.
 * Call outside every RCU read-side section.
 */
#define POOL_MEMBER_NO_WORKER 1
enum pool_member_how {
	POOL_MEMBER_BLOCK,
	POOL_MEMBER_TRY,
	POOL_MEMBER_TIMEOUT,
	POOL_MEMBER_OFFER,
};
int pool__member_submit(struct pool *p, pool_task_fn fn, void *arg,
			enum pool_member_how how, int64_t timeout_ns);

/* A worker is parked or the capacity allows one more: the part of a
 * submit's wake-up decision that does not look at nspinning. kick (pool.c)
 * passes values it loaded with seq_cst (S3); pool__wake_needed and
 * pool__member_reading (below) relaxed ones. */
static inline bool pool__wake_room(int32_t nidle, int32_t nworkers, int32_t cap)
{
	return nidle > 0 || nworkers < cap;
}

/* ---- above the pool: stats.c; multi.c ---- */

/*
 * Whether a submit to p now would have to wake a parked worker or start a
 * thread: the decision kick() makes after its push (S3, then
 * pool__ensure_worker), read ahead of the push by the multi-pool's picks.
 * True when no worker is searching (nspinning, which also counts a worker
 * a waker popped and has not run yet) and a worker is parked or the pool
 * has room for one more (nworkers < cap: none yet, expired, or growing).
 * False while a worker searches or every worker the capacity allows is
 * running a task: a task pushed then is taken by a worker that is awake,
 * with no futex call by the submitter. Relaxed loads, no write: a hint (a
 * worker may park or be woken right after), never a correctness input.
 */
static inline bool pool__wake_needed(struct pool *p)
{
	return atomic_load_explicit(&p->nspinning, memory_order_relaxed) <= 0 &&
	       pool__wake_room(
		       atomic_load_explicit(&p->nidle, memory_order_relaxed),
		       atomic_load_explicit(&p->nworkers, memory_order_relaxed),
		       atomic_load_explicit(&p->cap, memory_order_relaxed));
}

/* stats.c: the O(1) reading of a member for the multi-pool's picks (no
 * read-side section needed): its load (workers not parked plus queued),
 * its queue depth estimate, and pool__wake_needed. */
struct pool_reading {
	int64_t load;
	int64_t queued;
	bool wake;
};
void pool__member_reading(struct pool *p, uint32_t hint,
			  struct pool_reading *out);
/* stats.c: every task pushed so far has completed or been discarded (exact
 * at one moment during the call; wait_idle). */
bool pool__idle_now(struct pool *p);

/* multi.c: member i of m, NULL when out of range (lib/metrics.c). */
pool_t *pool__multi_member(const pool_multi_t *m, int i);
/* multi.c, test hook (every flavour: it only reads): pool__wake_needed of
 * member i (1 or 0), POOL_EINVAL when out of range. */
int pool__multi_wake_needed(const pool_multi_t *m, int i);

/* failpoint.c: test library only. */
void pool__test_fail_after(long k);
long pool__test_alloc_calls(void);
int64_t pool__test_ring_claim(struct pool *p, uint32_t i);
void pool__test_ring_publish(struct pool *p, uint32_t i, int64_t pos,
			     pool_task_fn fn, void *arg);
/* Test hooks of sem.c and group.c (in every flavour: they only read). */
int pool__sem_queued(pool_sem_t *s);
int pool__sem_grant_wakes(pool_sem_t *s);
int pool__group_sleepers(pool_group_t *g);
int pool__group_withdraw_lost(pool_group_t *g);
/* Test hook: free the groups this thread keeps for reuse (group.c). */
void pool__group_cache_drain(void);

/*
 * Test points: a test may install a hook that the library calls at these
 * points of slow paths (never on the submit -> run fast path), to make an
 * interleaving deterministic. The hook is user code of the test: it runs
 * with no library lock held; POOL_TP_BATCH_KICK runs inside an RCU
 * read-side section (the hook must not wait for a grace period).
 */
enum pool_test_point {
	/* pool_submit_batch pushed a run and is about to kick (in RCU). */
	POOL_TP_BATCH_KICK = 1,
	/* A submitter that waited for the first worker's worker_init got
	 * its verdict and is about to push. */
	POOL_TP_FIRST_WORKER_VERDICT = 2,
	/* A held submitter dropped its hold: its last access to the pool
	 * is done (the pointer may be freed from now on). */
	POOL_TP_SUBMIT_RELEASED = 3,
	/* pool_destroy is about to wait for holds (some are held). */
	POOL_TP_DESTROY_HOLDS = 4,
	/* A submitter found every ring full, added a ring and is about to
	 * retry its push (in RCU, grow_lock released). */
	POOL_TP_RING_ADDED = 5,
	/* A group wait (go at the limit, pool_group_wait) spun out and is
	 * about to load the word it sleeps on (p: the group's pool). */
	POOL_TP_GROUP_SLEEP = 6,
	/* A task end took a go's offer (group.c, take_offer) and is about
	 * to store taken and look for the go's announcement. */
	POOL_TP_GROUP_OFFER_TAKE = 7,
	/* A worker found an overflow ring empty (its pop emptied it, or its
	 * summary bit was set with nothing queued) and is about to clear the
	 * bit, fence and re-check the ring (ring_untrack; no lock held, maybe
	 * in RCU). A push from the hook lands before the clear: the window
	 * the re-check closes. */
	POOL_TP_RING_EMPTIED = 8,
	/* A task end of a group found no offer and is about to wait for
	 * one (group.c, take_offer: it owns the group's chain). */
	POOL_TP_GROUP_OFFER_SPIN = 9,
	/* A go from outside the pool holding a slot saw a running task end
	 * of its group and is about to post its task (group.c, post). */
	POOL_TP_GROUP_POST = 10,
	/* That go posted and saw a task end that will look at it. */
	POOL_TP_GROUP_POSTED = 11,
	/* A task end of a group found nothing more to run and is about to
	 * leave its chain (decrement consumers, look at the mailbox). */
	POOL_TP_GROUP_LEAVE = 12,
	/* A semaphore grant (sem.c, grant_locked) or'ed SEM_GRANTED into a
	 * waiter's word, its last access to the waiter, and is about to wake
	 * it. Runs under the semaphore's lock (p is NULL): the hook must not
	 * call the semaphore. */
	POOL_TP_SEM_GRANTED = 13,
	/* A queued semaphore waiter (sem.c, acquire_slow, its thread, no
	 * lock held) is about to look at its word for the first time. */
	POOL_TP_SEM_WAIT = 14,
	/* That waiter looked long enough and is about to set SEM_SLEEPING
	 * in its word (CAS). */
	POOL_TP_SEM_SLEEP = 15,
	/* That waiter set SEM_SLEEPING and is about to futex-wait. */
	POOL_TP_SEM_ANNOUNCED = 16,
	/* A parking worker's P4 found claims only (a pusher between its
	 * head CAS and its publish), it watches them and is about to take
	 * its timed nap (park.c; on the idle stack, no lock held). */
	POOL_TP_PARK_STALL = 17,
	/* A searcher that found work in a ring holding more tasks than
	 * searchers is about to wake one more parked worker, if any is left
	 * (worker.c, ramp_up; no lock held). */
	POOL_TP_RAMP_UP = 18,
	/* That searcher found no parked worker and is about to start one
	 * more thread (fewer than POOL_RAMP_STARTING starting, below
	 * capacity; worker.c, ramp_up; no lock held). */
	POOL_TP_RAMP_SPAWN = 19,
};
typedef void (*pool_test_hook_fn)(int point, struct pool *p);
void pool__test_set_hook(pool_test_hook_fn fn);
void pool__probe(int point, struct pool *p);

/*
 * A set's array and its published count. seq_cst loads: pair with the
 * seq_cst stores of vec_append, so a scan after a seq_cst fence (P3, the
 * hand-off, the exit rescan) sees every entry a submitter used before its
 * own S2, even one another thread appended (docs/design.md). The
 * entries v[0 .. *n) are initialised.
 */
static inline struct pool_vec *pool__vec_load(_Atomic(struct pool_vec *) *set,
					      uint32_t *n)
{
	struct pool_vec *v = atomic_load_explicit(set, memory_order_seq_cst);

	*n = atomic_load_explicit(&v->n, memory_order_seq_cst);
	return v;
}

static inline struct pool_shard *pool__shard_at(struct pool_vec *v, uint32_t i)
{
	return (struct pool_shard *)v->v[i];
}

static inline struct pool_ring *pool__ring_at(struct pool_vec *v, uint32_t i)
{
	return (struct pool_ring *)v->v[i];
}

/*
 * ctx.c, used by the concepts above it (group.c, sem.c). A watcher is a
 * futex word that a cancellation bumps (release increment) and wakes, so a
 * sleeper on its own word also wakes when the context is done. The watcher
 * lives on the sleeper's stack and is unlinked by pool__ctx_unwatch (under
 * the context's lock) before the sleeper returns.
 */
struct pool_ctx;
struct pool_ctx_watch {
	_Atomic int32_t *word;
	struct pool_ctx_watch *prev, *next;
	bool linked;
};
void pool__ctx_ref(struct pool_ctx *c);
void pool__ctx_unref(struct pool_ctx *c);
/* Make c as pool_ctx_new(.., NULL, POOL_CTX_NO_TIMEOUT) returns it, for
 * reuse by the one holder of its only reference (a group's cache, see
 * group.c). Refused (false: c unchanged, the caller frees it as usual)
 * unless c has no parent, no other reference, no child, no callback and no
 * watcher. */
bool pool__ctx_recycle(struct pool_ctx *c);
/* 0 and linked, or c's cause (not linked). */
int pool__ctx_watch(struct pool_ctx *c, struct pool_ctx_watch *w,
		    _Atomic int32_t *word);
void pool__ctx_unwatch(struct pool_ctx *c, struct pool_ctx_watch *w);
/* The word pool_ctx_err loads: c's cause, 0 while live. For a caller that
 * polls c often (group.c): while c has no deadline (pool_ctx_deadline is
 * POOL_CTX_NO_DEADLINE; immutable), an acquire load of it is what
 * pool_ctx_err(c) returns. The address is c's for c's life. */
_Atomic int32_t *pool__ctx_err_word(struct pool_ctx *c);
/* The earlier of deadline and c's (c may be NULL). */
int64_t pool__ctx_deadline_min(const struct pool_ctx *c, int64_t deadline);
/* Sleep on word (value seq) until woken, at most until deadline (INT64_MAX:
 * none). */
void pool__sleep_until(_Atomic int32_t *word, int32_t seq, int64_t deadline);
/* Submit the itask it: as pool_submit (c NULL), or a blocking submit that
 * ends with c's cause as soon as c is done (woken through space_seq). */
int pool__submit_obeying(struct pool *p, struct pool_ctx *c,
			 struct pool_itask *it);
/* now + rel_ns, saturated (rel_ns < 0: INT64_MAX). */
int64_t pool__deadline_after(int64_t rel_ns);

#endif /* POOL_INTERNAL_H */
