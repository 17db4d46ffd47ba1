/* SPDX-License-Identifier: MIT */
/*
 * lib/pool.c - pool lifecycle, submit paths, tune.
 *
 * Lock order: life_lock -> idle_lock. life_lock serializes lifecycle changes
 * (close, reboot, tune) and table growth; it is never held while waiting for
 * tasks, running user code or calling a discard callback. No lock is taken on
 * the submit -> run fast path.
 *
 * Close protocol (docs/design.md, "Close"): state OPEN -> CLOSING, one RCU
 * grace period (every submit that saw OPEN inside its read-side section has
 * finished its push), CLOSED, wake every parked worker and blocked
 * submitter. Workers exit when they see CLOSED and find every ring empty.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "obs-inl.h"
#include "ring-inl.h"
#include "task-inl.h"

/* ---- capacity ---- */

static int cgroup_cpu_limit(void)
{
	char path[512], line[256], rel[256] = "";
	long quota, period;
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			memcpy(rel, line + 3, sizeof(line) - 3);
			rel[strcspn(rel, "\n")] = '\0';
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max",
		 strcmp(rel, "/") == 0 ? "" : rel);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &quota, &period) != 2 || period <= 0) {
		fclose(f); /* "max": no quota */
		return 0;
	}
	fclose(f);
	return (int)((quota + period - 1) / period);
}

int pool_default_capacity(void)
{
	cpu_set_t set;
	int n = 0, lim;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = 1;
	lim = cgroup_cpu_limit();
	if (lim > 0 && lim < n)
		n = lim;
	return n;
}

/* ---- the shard and ring sets ---- */

#define POOL_MAX_CAPACITY (1 << 20)
#define POOL_MAX_RING	  (1u << 20)

/*
 * The two sets at pool_new: no shard (spawners make them), and `nrings`
 * rings (min(capacity, CPUs)); submitters add rings as they fill, up to the
 * capacity (push_grow). docs/design.md, "Rings that follow the queue".
 * The shard table starts with 16 slots; with POOL_PREALLOC with cap (the
 * shards pool_new is about to make), so it is not doubled up to cap with
 * every replaced array kept until pool_destroy (~8 bytes a worker:
 * docs/design.md, "Where an idle worker's bytes go").
 */
static int sets_init(struct pool *p, unsigned nrings, int cap)
{
	uint32_t tsize =
		(p->flags & POOL_PREALLOC) && cap > 16 ? (uint32_t)cap : 16;
	struct pool_vec *t = pool__vec_new(tsize), *r = pool__vec_new(16);

	atomic_init(&p->table, t);
	atomic_init(&p->rings, r);
	if (!t || !r)
		return POOL_ENOMEM;
	/* The base rings: scanned directly; later rings are tracked. */
	p->nbase = nrings;
	for (unsigned i = 0; i < nrings; i++) {
		struct pool_ring *ring = pool__ring_new(p->ring_cap);

		if (!ring)
			return POOL_ENOMEM;
		/* Not shared yet: no lock needed. */
		if (pool__vec_append(&p->rings, ring) < 0) {
			pool__ring_free(ring);
			return POOL_ENOMEM;
		}
	}
	return 0;
}

static void pool_free_all(struct pool *p)
{
	struct pool_vec *v =
		atomic_load_explicit(&p->table, memory_order_relaxed);
	uint32_t n;

	if (v) {
		n = atomic_load_explicit(&v->n, memory_order_relaxed);
		for (uint32_t i = 0; i < n; i++)
			pool__shard_free(pool__shard_at(v, i));
		pool__vec_free(v);
	}
	pool__shard_slabs_free(p);
	v = atomic_load_explicit(&p->rings, memory_order_relaxed);
	if (v) {
		n = atomic_load_explicit(&v->n, memory_order_relaxed);
		for (uint32_t i = 0; i < n; i++)
			pool__ring_free(pool__ring_at(v, i));
		pool__vec_free(v);
	}
	if (p->signals)
		pool__signals_release();
	pool__arena_fini(p);
	pthread_mutex_destroy(&p->idle_lock);
	pthread_mutex_destroy(&p->life_lock);
	pthread_mutex_destroy(&p->grow_lock);
	pool__free(p);
}

/* ---- creation ---- */

static int check_options(const pool_options_t *in, pool_options_t *o)
{
	memset(o, 0, sizeof(*o));
	if (in) {
		/* The sizes this version knows: only its own so far. A later
		 * version adds each older struct's size here. */
		if (in->size != sizeof(*o))
			return POOL_EINVAL;
		memcpy(o, in, in->size);
	}
	if (o->queue_limit < POOL_QUEUE_NONE || o->queue_limit > POOL_QUEUE_MAX)
		return POOL_EINVAL;
	if (o->capacity < 0 || o->capacity > POOL_MAX_CAPACITY)
		return POOL_EINVAL;
	if (o->flags & ~(unsigned)POOL_FLAGS_ALL)
		return POOL_EINVAL;
	if (o->expiry_ns < 0 || o->max_blocking < 0)
		return POOL_EINVAL;
	if (o->ring_capacity > POOL_MAX_RING)
		return POOL_EINVAL;
	if (o->stack_size && o->stack_size < (size_t)PTHREAD_STACK_MIN)
		return POOL_EINVAL;
	if (o->name && strlen(o->name) > 63)
		return POOL_EINVAL;
	return pool__obs_check(o->metrics);
}

static int close_pool(struct pool *p);
static int wait_drained(struct pool *p, int64_t deadline);

static int pool_create(pool_t **out, pool_task_fn fn, const pool_options_t *in)
{
	pool_options_t o;
	struct pool *p;
	int cap, ncpu, r;

	if (!out)
		return POOL_EINVAL;
	r = check_options(in, &o);
	if (r < 0)
		return r;
	cap = o.capacity ? o.capacity : pool_default_capacity();

	p = pool__alloc_aligned(sizeof(*p));
	if (!p)
		return POOL_ENOMEM;
	memset(p, 0, sizeof(*p));
	p->func = fn;
	p->flags = o.flags;
	p->expiry_ns = o.expiry_ns ? o.expiry_ns : 1000000000;
	p->max_blocking = o.max_blocking;
	/* Default: about 64 Ki slots in all, at least 256 and at most 8 Ki
	 * a ring, so a small pool absorbs bursts without blocking its
	 * producers and a large one stays small (32 bytes a slot). */
	if (o.ring_capacity) {
		p->ring_cap = o.ring_capacity;
	} else {
		p->ring_cap = 65536u / (unsigned)cap;
		if (p->ring_cap < 256)
			p->ring_cap = 256;
		if (p->ring_cap > 8192)
			p->ring_cap = 8192;
	}
	p->stack_size = o.stack_size;
	snprintf(p->name, sizeof(p->name), "%s", o.name ? o.name : "pool");
	p->logger = o.logger;
	p->logger_ctx = o.logger_ctx;
	p->worker_init = o.worker_init;
	p->worker_fini = o.worker_fini;
	p->worker_ctx = o.worker_ctx;
	p->panic_handler = o.panic_handler;
	p->panic_ctx = o.panic_ctx;
	p->on_discard = o.on_discard;
	p->discard_ctx = o.discard_ctx;
	pool__obs_apply(p, o.metrics);
	/* At most half the CPUs search at once (at least one): more
	 * searchers only steal cycles from producers. */
	ncpu = pool_default_capacity();
	p->max_spinners = ncpu / 2;
	if (p->max_spinners < 1)
		p->max_spinners = 1;
	atomic_init(&p->table, NULL);
	atomic_init(&p->cap, cap);
	atomic_init(&p->state, POOL_ST_OPEN);
	/* Internal encoding: -1 no bound, else Q (POOL_QUEUE_NONE: 0). */
	atomic_init(&p->qbound, o.queue_limit == 0 ? -1
				: o.queue_limit == POOL_QUEUE_NONE
					? 0
					: o.queue_limit);
	atomic_init(&p->inflight, 0);
	atomic_init(&p->zombie, (pthread_t)0);
	pthread_mutex_init(&p->idle_lock, NULL);
	pthread_mutex_init(&p->life_lock, NULL);
	pthread_mutex_init(&p->grow_lock, NULL);

	r = sets_init(p, (unsigned)(cap < ncpu ? cap : ncpu), cap);
	if (r == 0 && (p->flags & POOL_CATCH_SIGNALS)) {
		r = pool__signals_acquire();
		p->signals = r == 0;
	}
	if (r < 0) {
		pool_free_all(p);
		return r;
	}
	pool__arena_init(p);
	if (p->flags & POOL_PREALLOC) {
		for (int i = 0; i < cap; i++) {
			r = pool__spawn(p, POOL_SPAWN_WAIT);
			if (r < 0) {
				pthread_mutex_lock(&p->life_lock);
				close_pool(p);
				pthread_mutex_unlock(&p->life_lock);
				wait_drained(p, -1);
				pool_free_all(p);
				return r;
			}
		}
	}
	*out = p;
	return 0;
}

int pool_new(pool_t **out, const pool_options_t *o)
{
	return pool_create(out, NULL, o);
}

int pool_new_func(pool_t **out, pool_task_fn fn, const pool_options_t *o)
{
	if (!fn)
		return POOL_EINVAL;
	return pool_create(out, fn, o);
}

/* ---- submit ---- */

/* M_UNTIL: M_BLOCK's inline rule, M_TIMEOUT's deadline, and a stop hook
 * (pool__submit_until). */
enum submit_mode { M_BLOCK, M_TRY, M_TIMEOUT, M_UNTIL };

struct stop_hook {
	int (*fn)(void *);
	void *arg;
};

/* Retries (32 pauses apart) of a full pool before a submitter sleeps. */
#define POOL_SUBMIT_SPINS 64

/*
 * One submit call. `held`: the call holds the pool (p->holds), so
 * pool_destroy waits for submit_end before it frees anything. `kind`: the
 * task's kind (lib/task-inl.h), decided by the entry point and carried in
 * the ring slot; a copy (arg: its handle, lib/copy.c) is freed by the call if
 * the task is not accepted (before the hold is dropped: freeing it reads
 * the pool's arena). `spawn_err`: a kick
 * inside a read-side section could not start a thread; logged by submit_end
 * (no user callback runs inside a read-side section). `stamp`: the task's
 * observation stamp (lib/obs-inl.h), taken before the first push;
 * submit_slow packs the time it blocked into it. `stop`: M_UNTIL's stop
 * hook, or NULL. `quiet`: a multi-pool's offer (pool__member_submit): a
 * refusal is not counted as a rejection (the multi-pool's final call is).
 */
struct submit {
	struct pool *p;
	pool_task_fn fn;
	void *arg;
	uint64_t stamp;
	enum submit_mode mode;
	int64_t deadline;
	const struct stop_hook *stop;
	unsigned kind;
	bool held;
	bool quiet;
	int spawn_err;
};

/*
 * Each thread's shard cursor. Threads start at different shards (one shared
 * increment per thread, at its first submit), so producers stepping
 * round-robin in lockstep do not all push to the same ring.
 */
static _Thread_local uint32_t tls_cursor;
static _Thread_local bool tls_cursor_set;
static _Atomic uint32_t next_cursor;

static inline bool in_own_task(struct pool *p)
{
	return pool__tls.pool == p;
}

/*
 * Every ring among the first min(cap, n) was full (`seen`: the n that scan
 * used): add a ring if fewer than cap exist, then retry. Another submitter
 * may add one first (we then add none) or take the new ring's slots before
 * our retry (we then scan again): see docs/design.md, "The races, one by
 * one". Each turn sees n grow, so the loop ends at the capacity. An
 * allocation failure is a full pool. Caller holds the RCU read lock (a
 * close's grace period waits for the append).
 */
static __attribute__((noinline)) bool push_grow(struct pool *p, pool_task_fn fn,
						void *arg, uint64_t stamp,
						uint64_t tag, uint32_t seen)
{
	for (;;) {
		uint32_t cap = (uint32_t)atomic_load_explicit(
			&p->cap, memory_order_relaxed);
		struct pool_vec *rv;
		bool added = false;
		uint32_t n, lim;

		if (seen >= cap)
			return false;
		pthread_mutex_lock(&p->grow_lock);
		rv = pool__vec_load(&p->rings, &n);
		if (n == seen) {
			struct pool_ring *r = pool__ring_new(p->ring_cap);

			/* An overflow ring (n >= nbase): its group's summary
			 * word is in ring nbase + 64 * ((n - nbase) / 64),
			 * appended before it (or this ring itself). Set
			 * before the append publishes the ring. */
			if (r) {
				uint32_t t = n - p->nbase;
				uint32_t first = n - t % 64;

				r->group = first == n
						   ? r
						   : pool__ring_at(rv, first);
				r->bit = (uint64_t)1 << (t % 64);
			}
			if (r && pool__vec_append(&p->rings, r) == 0) {
				added = true;
			} else {
				pool__ring_free(r);
				pthread_mutex_unlock(&p->grow_lock);
				return false;
			}
		}
		pthread_mutex_unlock(&p->grow_lock);
		if (added)
			pool__probe(POOL_TP_RING_ADDED, p);
		/* Retry with what is published now, the rings we have not
		 * tried first. */
		cap = (uint32_t)atomic_load_explicit(&p->cap,
						     memory_order_relaxed);
		rv = pool__vec_load(&p->rings, &n);
		lim = cap < n ? cap : n;
		for (uint32_t i = seen; i < lim; i++)
			if (ring_push(pool__ring_at(rv, i), fn, arg, stamp,
				      tag))
				return true;
		for (uint32_t i = 0; i < lim && i < seen; i++)
			if (ring_push(pool__ring_at(rv, i), fn, arg, stamp,
				      tag))
				return true;
		if (n <= seen)
			return false; /* no ring could be added */
		seen = n;
	}
}

/*
 * Push into the caller's home ring (inside a task), else round-robin over
 * the first `cap` rings starting at this thread's cursor, else add a ring
 * (push_grow). Caller holds the RCU read lock.
 */
static POOL_INLINE bool push_any(struct pool *p, pool_task_fn fn, void *arg,
				 uint64_t stamp, uint64_t tag)
{
	/* Relaxed: cap only bounds the rings tried (and is clamped to the
	 * published ones); no data depends on it. */
	uint32_t cap =
		(uint32_t)atomic_load_explicit(&p->cap, memory_order_relaxed);
	struct pool_vec *rv;
	uint32_t c, n;

	if (pool__tls.pool == p &&
	    ring_push(pool__tls.shard->home, fn, arg, stamp, tag))
		return true;
	rv = pool__vec_load(&p->rings, &n);
	if (cap > n)
		cap = n;
	if (!tls_cursor_set) {
		tls_cursor = atomic_fetch_add_explicit(&next_cursor, 1,
						       memory_order_relaxed);
		tls_cursor_set = true;
	}
	c = tls_cursor + 1;
	if (c >= cap)
		c = 0;
	for (uint32_t i = 0; i < cap; i++) {
		if (ring_push(pool__ring_at(rv, c), fn, arg, stamp, tag)) {
			tls_cursor = c;
			return true;
		}
		if (++c >= cap)
			c = 0;
	}
	return push_grow(p, fn, arg, stamp, tag, n);
}

/*
 * Push up to n tasks as runs of ring slots: the caller's own ring first
 * (inside a task), else the first `cap` rings from this thread's cursor,
 * an equal share of what is left to each ring in turn (so each worker pops
 * its own), each share claimed with one CAS (ring_push_n). Returns how many
 * were pushed; fewer than n when every ring is full. Caller holds the RCU
 * read lock.
 */
static size_t push_any_n(struct pool *p, const pool_task_t *t, size_t n,
			 uint64_t stamp, uint64_t tag)
{
	struct pool_vec *rv;
	size_t done = 0;
	uint32_t c, nr;

	if (pool__tls.pool == p)
		done = ring_push_n(pool__tls.shard->home, t, n, stamp, tag);
	if (!tls_cursor_set) {
		tls_cursor = atomic_fetch_add_explicit(&next_cursor, 1,
						       memory_order_relaxed);
		tls_cursor_set = true;
	}
	c = tls_cursor;
	for (;;) {
		/* Relaxed: as in push_any. */
		uint32_t cap = (uint32_t)atomic_load_explicit(
			&p->cap, memory_order_relaxed);
		uint32_t idle = 0;

		rv = pool__vec_load(&p->rings, &nr);
		if (cap > nr)
			cap = nr;
		/* Stop after a full turn of rings that took nothing. */
		while (done < n && idle < cap) {
			size_t share = (n - done + cap - 1) / cap, k;

			if (++c >= cap)
				c = 0;
			k = ring_push_n(pool__ring_at(rv, c), t + done, share,
					stamp, tag);
			done += k;
			idle = k ? 0 : idle + 1;
		}
		/* Every ring full: add one (push_grow pushes one task into
		 * it), then share the rest again over the rings. */
		if (done == n ||
		    !push_grow(p, t[done].fn, t[done].arg, stamp, tag, nr))
			break;
		done++;
	}
	tls_cursor = c < nr ? c : 0;
	return done;
}

/*
 * After a push: make sure a worker will look. S2 is the seq_cst load of
 * nspinning below, the first seq_cst operation after the push's seq_cst
 * head CAS (T1, ring_push and ring_push_n); every later load S3 decides on
 * is seq_cst too (nidle, nspinning, nstarting, nworkers and cap, in
 * pool__ensure_worker and pool__spawn). They pair with the seq_cst fence a
 * worker issues after its last seq_cst RMW before it reads the rings (P3 in
 * pool__park after P2; the hand-off, exit and refusal fences): if S2
 * precedes that fence in the single order S, so does our CAS, and the
 * worker's rescan reads our head (C11 7.17.3p5); otherwise our loads see
 * the worker parked, leaving or counted (docs/design.md, "Park and wake").
 * No fence: on x86 the CAS is the locked instruction and the loads are
 * plain moves, so a submit no longer waits for its slot's line to come back
 * from the worker that last popped it (a fence per task before). Runs
 * inside the pusher's read-side section, so a worker it spawns is counted
 * before a concurrent close's grace period ends; a failure to start one is
 * returned, not logged (the caller logs outside the section).
 */
static inline int kick(struct pool *p)
{
	/* S2 (seq_cst: see above), then S3. */
	if (atomic_load_explicit(&p->nspinning, memory_order_seq_cst) == 0) {
		/* Nobody parked (pool__wake_one's early out, the same seq_cst
		 * load) and every worker slot taken (pool__spawn's, seq_cst
		 * as there): pool__ensure_worker would wake and start nobody.
		 * A submit from a task while all workers run (fork-join)
		 * skips its call. */
		if (!pool__wake_room(atomic_load_explicit(&p->nidle,
							  memory_order_seq_cst),
				     atomic_load_explicit(&p->nworkers,
							  memory_order_seq_cst),
				     atomic_load_explicit(
					     &p->cap, memory_order_seq_cst)))
			return 0;
		return pool__ensure_worker(p,
					   POOL_SPAWN_ANY | POOL_SPAWN_QUIET);
	}
	return 0;
}

/* Take a hold; caller is inside a read-side section that saw OPEN. */
static inline void hold_get(struct submit *s)
{
	if (!s->held) {
		/* Relaxed: the grace period of close_pool orders it before
		 * pool_destroy's acquire load of holds. */
		atomic_fetch_add_explicit(&s->p->holds, 1,
					  memory_order_relaxed);
		s->held = true;
	}
}

/*
 * A kick of this call could not start a worker: log it and discard what no
 * worker can run (outside every read-side section: both run user code).
 */
static void spawn_failed(struct submit *s)
{
	pool__log_spawn_failure(s->p, s->spawn_err);
	/* A push may be stranded if no worker exists to run it. */
	pool__discard_stranded(s->p);
	s->spawn_err = 0;
}

/*
 * The end of every submit call that got past argument checks: count a
 * rejection, free an unaccepted copy, log a deferred spawn failure, and drop
 * the hold as the very last access to the pool.
 */
static __attribute__((noinline)) int submit_end_slow(struct submit *s, int r)
{
	struct pool *p = s->p;

	if (r == 1)
		r = 0;
	if (s->quiet)
		; /* an offer: the multi-pool's final call counts */
	else if (r == POOL_ECLOSED)
		atomic_fetch_add_explicit(&p->rej_closed, 1,
					  memory_order_relaxed);
	else if (r == POOL_ETIMEDOUT)
		atomic_fetch_add_explicit(&p->rej_timeout, 1,
					  memory_order_relaxed);
	else if (r == POOL_EOVERLOAD)
		atomic_fetch_add_explicit(&p->rej_overload, 1,
					  memory_order_relaxed);
	if (r < 0)
		pool__task_refused(p, s->kind, s->arg);
	if (s->spawn_err)
		spawn_failed(s);
	if (s->held) {
		s->held = false;
		/* Release: our last access to the pool; pairs with the
		 * acquire load in pool_destroy. The wake touches only the
		 * futex address in the kernel. */
		if (atomic_fetch_sub_explicit(&p->holds, 1,
					      memory_order_release) == 1)
			pool__futex_wake(&p->holds, INT_MAX);
		pool__probe(POOL_TP_SUBMIT_RELEASED, NULL);
	}
	return r;
}

/*
 * No worker at all (first submit, or all expired): start one now so that a
 * failure to start is reported to the caller instead of leaving the task
 * queued with nobody to run it. Only a blocking submit waits for the new
 * worker's worker_init (holding the pool while it waits); the others never
 * wait for user code: they start the worker and push, and if its worker_init
 * refuses, the queued tasks no worker can run are discarded and reported
 * (pool__discard_stranded).
 */
static __attribute__((noinline)) int start_first_worker(struct submit *s)
{
	struct pool *p = s->p;
	/* M_UNTIL blocks as pool_submit does (its stop hook is not polled
	 * during this one wait for worker_init). */
	bool wait =
		(s->mode == M_BLOCK || s->mode == M_UNTIL) && p->worker_init;
	int r;

	if (atomic_load_explicit(&p->nworkers, memory_order_relaxed) != 0)
		return 0;
	if (wait) {
		pool__rcu_read_lock();
		/* Inside the read-side section: a close's grace period waits
		 * for us, so pool_destroy sees the hold (relaxed: RCU
		 * orders it). */
		r = atomic_load_explicit(&p->state, memory_order_relaxed) ==
				    POOL_ST_OPEN
			    ? 0
			    : POOL_ECLOSED;
		if (r == 0)
			hold_get(s);
		pool__rcu_read_unlock();
		if (r < 0)
			return r;
	}
	r = pool__spawn(p, wait ? POOL_SPAWN_WAIT : 0);
	if (wait)
		pool__probe(POOL_TP_FIRST_WORKER_VERDICT, p);
	if (r < 0) {
		/* Our reservation may have made another submitter skip its
		 * own spawn (nworkers was at cap): with no worker left, what
		 * it pushed is stranded. */
		pool__discard_stranded(p);
		if (atomic_load_explicit(&p->nworkers, memory_order_relaxed) ==
		    0)
			return r;
	}
	return 0;
}

/*
 * Queue bound (pool.h, pool_set_queue_limit): take up to n places under
 * cap + q; returns how many were taken (0: at the bound). Relaxed: the
 * count orders nothing but itself; a blocked submitter's wake-up is the
 * space_want handshake (pool__bound_done).
 */
static size_t bound_reserve(struct pool *p, int64_t q, size_t n)
{
	int64_t lim =
		(int64_t)atomic_load_explicit(&p->cap, memory_order_relaxed) +
		q;
	int64_t cur = atomic_load_explicit(&p->inflight, memory_order_relaxed);
	int64_t take;

	do {
		if (cur >= lim)
			return 0;
		take = lim - cur < (int64_t)n ? lim - cur : (int64_t)n;
	} while (!atomic_compare_exchange_weak_explicit(
		&p->inflight, &cur, cur + take, memory_order_relaxed,
		memory_order_relaxed));
	return (size_t)take;
}

/* Whether a bounded pool is at its bound now (rejection reasons). */
static bool at_bound(struct pool *p)
{
	int64_t q = atomic_load_explicit(&p->qbound, memory_order_relaxed);

	return q >= 0 &&
	       atomic_load_explicit(&p->inflight, memory_order_relaxed) >=
		       atomic_load_explicit(&p->cap, memory_order_relaxed) + q;
}

/* Push one task of `kind`: under the queue bound when one is set (a place
 * reserved first, given back if every ring is full). Caller holds the RCU
 * read lock. */
static POOL_INLINE bool push_one(struct pool *p, pool_task_fn fn, void *arg,
				 uint64_t stamp, unsigned kind)
{
	/* Relaxed: pool_set_queue_limit's store; a submit racing with the
	 * change sees the old or the new bound. */
	int64_t q = atomic_load_explicit(&p->qbound, memory_order_relaxed);

	if (q < 0)
		return push_any(p, fn, arg, stamp, RING_KIND(kind));
	if (!bound_reserve(p, q, 1))
		return false;
	if (push_any(p, fn, arg, stamp, RING_TAG | RING_KIND(kind)))
		return true;
	pool__bound_done(p, 1);
	return false;
}

/*
 * One push attempt; returns 1 pushed, 0 full, POOL_ECLOSED. The wake-up
 * (kick) runs inside the same read-side section, so a worker it spawns is
 * counted before a concurrent close's grace period ends. A full pool that
 * the caller may wait on takes the hold inside the section too. kind:
 * s->kind, passed by value so that the plain entry points' constant folds
 * into the push (submit_plain).
 */
static POOL_INLINE int try_push(struct submit *s, unsigned kind)
{
	struct pool *p = s->p;
	int r;

	pool__rcu_read_lock();
	/* Inside the read-side section: close_pool's grace period waits for
	 * us if we saw OPEN (relaxed: RCU orders it). */
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		r = POOL_ECLOSED;
	else
		r = push_one(p, s->fn, s->arg, s->stamp, kind);
	if (r == 1) {
		int e = kick(p);

		if (e < 0)
			s->spawn_err = e;
	} else if (r == 0 && s->mode != M_TRY) {
		hold_get(s);
	}
	pool__rcu_read_unlock();
	return r;
}

/* The pool is full: wait for a slot (or not) by the mode's rules. */
static int submit_slow(struct submit *s)
{
	struct pool *p = s->p;
	uint64_t t0, stamp0;
	int32_t w;
	int r;

	if (s->mode == M_TRY) {
		if (!s->quiet && at_bound(p))
			atomic_fetch_add_explicit(&p->rej_bound, 1,
						  memory_order_relaxed);
		return POOL_EOVERLOAD;
	}
	if ((s->mode == M_BLOCK || s->mode == M_UNTIL) && in_own_task(p)) {
		struct pool_work t = {
			.fn = s->fn, .arg = s->arg, .kind = s->kind};

		/* A task must not wait on its own pool: run it here. */
		atomic_fetch_add_explicit(&p->inline_runs, 1,
					  memory_order_relaxed);
		pool__task_run(p, &t);
		pool__task_end(&t);
		return 0;
	}
	w = atomic_load_explicit(&p->waiting, memory_order_relaxed);
	do {
		if (p->max_blocking && w >= p->max_blocking) {
			atomic_fetch_add_explicit(&p->rej_max_blocking, 1,
						  memory_order_relaxed);
			return POOL_EOVERLOAD;
		}
		/* Counted for max_blocking and pool_waiting; the wake-up
		 * handshake is space_want below, the lifetime guard is the
		 * hold try_push took. */
	} while (!atomic_compare_exchange_weak_explicit(&p->waiting, &w, w + 1,
							memory_order_relaxed,
							memory_order_relaxed));
	/* Blocked: time the wait (pool/metrics.h, POOL_HIST_BLOCK); every
	 * push below carries it, packed into the stamp. */
	t0 = pool__obs_on(p) ? pool__ticks() : 0;
	stamp0 = s->stamp;

	/* Spin first: a worker frees a slot within a task's time, and a
	 * sleep/wake pair per few slots (a futex syscall each way) made a
	 * producer that keeps the rings full crawl. No signal is requested
	 * while spinning, so the workers make no syscall for us either. */
	for (int spin = 0; spin < POOL_SUBMIT_SPINS; spin++) {
		for (int k = 0; k < 32; k++)
			cpu_relax();
		s->stamp = pool__obs_blocked(stamp0, t0);
		r = try_push(s, s->kind);
		if (r != 0)
			goto done;
		if (s->mode >= M_TIMEOUT && pool__now_ns() >= s->deadline) {
			r = POOL_ETIMEDOUT;
			goto done;
		}
		if (s->stop && (r = s->stop->fn(s->stop->arg)) < 0)
			goto done;
	}
	for (;;) {
		/* Acquire: pairs with the release increment in
		 * pool__space_signal (the freed slot is visible). */
		int32_t seq = atomic_load_explicit(&p->space_seq,
						   memory_order_acquire);
		int64_t rel = -1;

		/* Ask for one signal. After the seq load (release), so a
		 * worker that takes this request increments space_seq after
		 * our load and our futex wait cannot miss it. The fence pairs
		 * with the one in after_pop: either our retry below sees the
		 * slot it freed, or it sees the request. */
		atomic_store_explicit(&p->space_want, 1, memory_order_seq_cst);
		atomic_thread_fence(memory_order_seq_cst);

		s->stamp = pool__obs_blocked(stamp0, t0);
		r = try_push(s, s->kind);
		if (r != 0)
			break;
		/* After the space_want request: a stopper signals space_seq
		 * after making stop true, so either we see it here or our
		 * futex wait sees the new space_seq. */
		if (s->stop && (r = s->stop->fn(s->stop->arg)) < 0)
			break;
		if (s->mode >= M_TIMEOUT && s->deadline != INT64_MAX) {
			rel = s->deadline - pool__now_ns();
			if (rel <= 0) {
				r = POOL_ETIMEDOUT;
				break;
			}
		}
		pool__futex_wait(&p->space_seq, seq, rel);
	}
done:
	atomic_fetch_sub_explicit(&p->waiting, 1, memory_order_relaxed);
	return r;
}

/* The fast path of submit_end: accepted, nothing held or deferred. */
static POOL_INLINE int submit_end(struct submit *s, int r)
{
	if (r == 1 && !s->held && !s->spawn_err)
		return 0;
	return submit_end_slow(s, r);
}

/* The fast path of start_first_worker: some worker exists. */
static POOL_INLINE int ensure_first_worker(struct submit *s)
{
	if (atomic_load_explicit(&s->p->nworkers, memory_order_relaxed) != 0)
		return 0;
	return start_first_worker(s);
}

static POOL_INLINE int submit_run(struct submit *s, unsigned kind)
{
	int r;

	if (atomic_load_explicit(&s->p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		return POOL_ECLOSED;
	r = ensure_first_worker(s);
	if (r < 0)
		return r;
	s->stamp = pool__obs_stamp(s->p);
	r = try_push(s, kind);
	if (r != 0)
		return r;
	return submit_slow(s);
}

static POOL_INLINE int submit_one(struct pool *p, pool_task_fn fn, void *arg,
				  enum submit_mode mode, int64_t deadline,
				  unsigned kind)
{
	struct submit s = {.p = p,
			   .fn = fn,
			   .arg = arg,
			   .mode = mode,
			   .deadline = deadline,
			   .kind = kind};

	if (!p || !fn)
		return POOL_EINVAL;
	return submit_end(&s, submit_run(&s, kind));
}

static inline enum submit_mode block_mode(struct pool *p)
{
	return (p->flags & POOL_NONBLOCKING) ? M_TRY : M_BLOCK;
}

/*
 * The submit of every public entry point that queues a plain {fn, arg}:
 * the kind is a constant here, so the push of a plain task carries no kind
 * bits at run time (callgrind: 4 instructions per task when the kind was a
 * variable; docs/design.md, "Task kinds").
 */
static __attribute__((noinline)) int submit_plain(struct pool *p,
						  pool_task_fn fn, void *arg,
						  enum submit_mode mode,
						  int64_t deadline)
{
	return submit_one(p, fn, arg, mode, deadline, POOL_KIND_PLAIN);
}

/* The same for pool_submit_copy (the `copy` workload: 5 instructions per
 * task with the kind a variable). */
static __attribute__((noinline)) int submit_copy(struct pool *p,
						 pool_task_fn fn, void *c)
{
	return submit_one(p, fn, c, block_mode(p), 0, POOL_KIND_COPY);
}

/* The submit of the other internal kinds (a waiter, an itask). */
static __attribute__((noinline)) int submit_kind(struct pool *p,
						 pool_task_fn fn, void *arg,
						 enum submit_mode mode,
						 unsigned kind)
{
	return submit_one(p, fn, arg, mode, 0, kind);
}

int pool_submit(pool_t *p, pool_task_fn fn, void *arg)
{
	if (!p)
		return POOL_EINVAL;
	return submit_plain(p, fn, arg, block_mode(p), 0);
}

#define POOL_COPY_MAX (1u << 30)

int pool_submit_copy(pool_t *p, pool_task_fn fn, const void *data, size_t len)
{
	void *c;

	if (!p || !fn || (!data && len) || len > POOL_COPY_MAX)
		return POOL_EINVAL;
	c = pool__copy_new(p, data, len);
	if (!c)
		return POOL_ENOMEM;
	/* On failure the submit frees c itself, before its last access to
	 * the pool (pool_destroy may free the pool right after it). */
	return submit_copy(p, fn, c);
}

int pool_try_submit(pool_t *p, pool_task_fn fn, void *arg)
{
	return submit_plain(p, fn, arg, M_TRY, 0);
}

int pool_submit_timeout(pool_t *p, pool_task_fn fn, void *arg,
			int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return POOL_EINVAL;
	if (timeout_ns == 0)
		return submit_plain(p, fn, arg, M_TRY, 0);
	return submit_plain(p, fn, arg, M_TIMEOUT,
			    pool__deadline(pool__now_ns(), timeout_ns));
}

int pool__submit_itask(struct pool *p, struct pool_itask *it, bool try_only)
{
	if (!p || !it)
		return POOL_EINVAL;
	return submit_kind(p, it->user_fn, it, try_only ? M_TRY : block_mode(p),
			   POOL_KIND_ITASK);
}

int pool__member_submit(struct pool *p, pool_task_fn fn, void *arg,
			enum pool_member_how how, int64_t timeout_ns)
{
	struct submit s = {.p = p,
			   .fn = fn,
			   .arg = arg,
			   .mode = M_TRY,
			   .kind = POOL_KIND_PLAIN};

	switch (how) {
	case POOL_MEMBER_BLOCK:
		s.mode = block_mode(p);
		break;
	case POOL_MEMBER_TIMEOUT:
		if (timeout_ns > 0) {
			s.mode = M_TIMEOUT;
			s.deadline = pool__deadline(pool__now_ns(), timeout_ns);
		}
		break;
	case POOL_MEMBER_OFFER:
		/* Never starts the first worker: the caller's own mode
		 * must (a blocking submit waits for worker_init and reports
		 * its failure: start_first_worker). Relaxed: a hint; a
		 * stale non-zero is the expiry race every submit has. */
		if (atomic_load_explicit(&p->nworkers, memory_order_relaxed) ==
		    0)
			return POOL_MEMBER_NO_WORKER;
		s.quiet = true;
		break;
	default:
		break;
	}
	return submit_end(&s, submit_run(&s, POOL_KIND_PLAIN));
}

int pool__submit_until(struct pool *p, struct pool_itask *it, int64_t deadline,
		       int (*stop)(void *), void *stop_arg)
{
	struct stop_hook h = {stop, stop_arg};
	struct submit s = {.p = p,
			   .fn = it ? it->user_fn : NULL,
			   .arg = it,
			   .mode = M_UNTIL,
			   .deadline = deadline,
			   .stop = stop ? &h : NULL,
			   .kind = POOL_KIND_ITASK};

	if (!p || !it)
		return POOL_EINVAL;
	if (p->flags & POOL_NONBLOCKING)
		s.mode = M_TRY;
	return submit_end(&s, submit_run(&s, POOL_KIND_ITASK));
}

int pool_invoke(pool_t *p, void *arg)
{
	if (!p || !p->func)
		return POOL_EINVAL;
	return pool_submit(p, p->func, arg);
}

/* A run of a batch: under the queue bound when one is set (places for
 * the run reserved at once, the unused ones given back). Caller holds the
 * RCU read lock. */
static size_t push_batch(struct pool *p, const pool_task_t *t, size_t n,
			 uint64_t stamp)
{
	int64_t q = atomic_load_explicit(&p->qbound, memory_order_relaxed);
	size_t k, done;

	if (q < 0)
		return push_any_n(p, t, n, stamp, 0);
	k = bound_reserve(p, q, n);
	if (k == 0)
		return 0;
	done = push_any_n(p, t, k, stamp, RING_TAG);
	if (done < k)
		pool__bound_done(p, k - done);
	return done;
}

/* Push tasks[*i ..] while they fit, then one kick, all in one read-side
 * section. Returns 1 if every task was pushed, 0 if the pool is full,
 * POOL_ECLOSED. */
static int batch_push(struct submit *s, const pool_task_t *tasks, size_t n,
		      size_t *i)
{
	struct pool *p = s->p;
	size_t start = *i;
	int r = 0;

	pool__rcu_read_lock();
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN) {
		r = POOL_ECLOSED;
	} else {
		/* One stamp per run (pool/metrics.h: a sampled batch run
		 * times every task of it); the task whose push failed keeps
		 * it into submit_slow. */
		s->stamp = pool__obs_stamp(p);
		*i += push_batch(p, tasks + *i, n - *i, s->stamp);
		r = *i == n;
	}
	if (*i > start) {
		int e;

		pool__probe(POOL_TP_BATCH_KICK, p);
		/* One wake-up for the run just pushed, inside the section
		 * (as try_push): a worker it spawns is counted before a
		 * concurrent close's grace period ends. */
		e = kick(p);
		if (e < 0)
			s->spawn_err = e;
	}
	if (r == 0 && s->mode != M_TRY)
		hold_get(s);
	pool__rcu_read_unlock();
	return r;
}

int pool_submit_batch(pool_t *p, const pool_task_t *tasks, size_t n,
		      size_t *accepted)
{
	struct submit s = {.p = p};
	size_t i = 0;
	int r = 0;

	if (accepted)
		*accepted = 0;
	if (!p || (!tasks && n))
		return POOL_EINVAL;
	for (size_t k = 0; k < n; k++)
		if (!tasks[k].fn)
			return POOL_EINVAL;
	if (n == 0)
		return 0;
	s.mode = block_mode(p);
	r = atomic_load_explicit(&p->state, memory_order_relaxed) ==
			    POOL_ST_OPEN
		    ? ensure_first_worker(&s)
		    : POOL_ECLOSED;
	while (r == 0 && i < n) {
		r = batch_push(&s, tasks, n, &i);
		if (r != 0)
			break;
		/* Before waiting: a failed kick left what we pushed with
		 * perhaps no worker to run it, and nothing would free a slot
		 * for us (the wait would never end). */
		if (s.spawn_err)
			spawn_failed(&s);
		/* Full: wait (or not) for task i as pool_submit would. */
		s.fn = tasks[i].fn;
		s.arg = tasks[i].arg;
		r = submit_slow(&s);
		if (r < 0)
			break;
		i++;
		r = 0;
	}
	if (accepted)
		*accepted = i;
	return submit_end(&s, r);
}

int pool_submit_wait(pool_t *p, pool_task_fn fn, void *arg)
{
	struct pool_waiter w = {.fn = fn, .arg = arg};
	int32_t d;
	int r;

	if (!p || !fn)
		return POOL_EINVAL;
	if (in_own_task(p)) {
		if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN) {
			atomic_fetch_add_explicit(&p->rej_closed, 1,
						  memory_order_relaxed);
			return POOL_ECLOSED;
		}
		atomic_fetch_add_explicit(&p->inline_runs, 1,
					  memory_order_relaxed);
		return pool__run_guarded(p, fn, arg) ? POOL_EPANIC : 0;
	}
	atomic_init(&w.done, 0);
	r = submit_kind(p, fn, &w, block_mode(p), POOL_KIND_WAIT);
	if (r < 0)
		return r;
	/* Acquire: pairs with the release store in pool__waiter_done. */
	while ((d = atomic_load_explicit(&w.done, memory_order_acquire)) == 0)
		pool__futex_wait(&w.done, 0, -1);
	if (d != 1)
		return POOL_ECLOSED;
	return w.panicked ? POOL_EPANIC : 0;
}

/* ---- tune ---- */

int pool_tune(pool_t *p, int capacity)
{
	int32_t old, surplus;

	if (!p || capacity <= 0 || capacity > POOL_MAX_CAPACITY)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN) {
		pthread_mutex_unlock(&p->life_lock);
		return POOL_ECLOSED;
	}
	old = atomic_load_explicit(&p->cap, memory_order_relaxed);
	/* Nothing is allocated: rings are added as tasks queue and shards
	 * as workers start. seq_cst: pairs with the fence P3 in pool__park
	 * for parked workers' shrink check. */
	atomic_store_explicit(&p->cap, capacity, memory_order_seq_cst);
	atomic_fetch_add_explicit(&p->tunes, 1, memory_order_relaxed);
	pthread_mutex_unlock(&p->life_lock);
	atomic_thread_fence(memory_order_seq_cst);
	if (capacity > old) {
		/* More rings: blocked submitters may fit now; queued work
		 * may use more workers. */
		pool__space_signal(p);
		if (pool__has_work(p) && pool__ensure_worker(p, 0) < 0)
			pool__discard_stranded(p);
	} else if (capacity < old) {
		/* Parked surplus workers wake to retire. */
		surplus = atomic_load_explicit(&p->nworkers,
					       memory_order_relaxed) -
			  capacity;
		while (surplus-- > 0 && pool__wake_one(p))
			;
	}
	return 0;
}

/* ---- pause ---- */

int pool_pause(pool_t *p)
{
	int r = 0;

	if (!p)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		r = POOL_ECLOSED;
	else
		/* Relaxed: workers see it at their next task (pool.h). */
		atomic_store_explicit(&p->paused, 1, memory_order_relaxed);
	pthread_mutex_unlock(&p->life_lock);
	return r;
}

int pool_resume(pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	pool__unpause(p);
	pthread_mutex_unlock(&p->life_lock);
	return 0;
}

int pool_is_paused(const pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	return atomic_load_explicit(&p->paused, memory_order_relaxed) != 0;
}

/* ---- queue bound ---- */

int pool_set_queue_limit(pool_t *p, int64_t limit)
{
	int64_t q;

	if (!p || limit < POOL_QUEUE_NONE || limit > POOL_QUEUE_MAX)
		return POOL_EINVAL;
	q = limit == 0 ? -1 : limit == POOL_QUEUE_NONE ? 0 : limit;
	pthread_mutex_lock(&p->life_lock);
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN) {
		pthread_mutex_unlock(&p->life_lock);
		return POOL_ECLOSED;
	}
	/* seq_cst: before the fence and signal below (a blocked submitter
	 * that retries after the signal sees the new bound). */
	atomic_store_explicit(&p->qbound, q, memory_order_seq_cst);
	pthread_mutex_unlock(&p->life_lock);
	/* A larger bound (or none) may admit blocked submitters. */
	atomic_thread_fence(memory_order_seq_cst);
	pool__space_signal(p);
	return 0;
}

int64_t pool_queue_limit(const pool_t *p)
{
	int64_t q;

	if (!p)
		return POOL_EINVAL;
	q = atomic_load_explicit(&p->qbound, memory_order_relaxed);
	return q < 0 ? 0 : q == 0 ? POOL_QUEUE_NONE : q;
}

/* ---- close, drain, destroy ---- */

/* life_lock held. Returns 1 if this call closed the pool. */
static int close_pool(struct pool *p)
{
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		return 0;
	atomic_store_explicit(&p->state, POOL_ST_CLOSING, memory_order_seq_cst);
	/* Every submit that saw OPEN finishes its push. */
	pool__rcu_synchronize();
	/* seq_cst: release pairs with the workers' acquire load of state
	 * (all pushes visible); the single order pairs with the fence P3 in
	 * pool__park (a parking worker sees CLOSED or is on the stack for
	 * pool__wake_all below to find). */
	atomic_store_explicit(&p->state, POOL_ST_CLOSED, memory_order_seq_cst);
	/* Pairs with P3: the nidle pre-check in pool__wake_one must see a
	 * worker that parked before it, or that worker sees CLOSED. */
	atomic_thread_fence(memory_order_seq_cst);
	pool__wake_all(p);
	atomic_thread_fence(memory_order_seq_cst);
	pool__space_signal(p);
	return 1;
}

/*
 * Wait until every worker thread exited and no task is queued (deadline
 * < 0: no limit). If tasks are queued with no thread to run them, start one
 * and wait for its worker_init's verdict (a refusing init discards what no
 * worker can run: pool__discard_stranded). If no thread can be started at
 * all, retry with a growing pause until the deadline (POOL_ETIMEDOUT, the
 * tasks stay queued), or, with no deadline, discard and report them
 * (pool_destroy must terminate).
 */
static int wait_drained(struct pool *p, int64_t deadline)
{
	int64_t pause = 1000000; /* 1 ms, doubling to 100 ms */

	for (;;) {
		/* Acquire: pairs with the release decrement in
		 * worker_exit: the workers' writes are visible. */
		int32_t n = atomic_load_explicit(&p->nthreads,
						 memory_order_acquire);
		int64_t rel = -1;

		if (n == 0) {
			int r;

			if (!pool__has_work(p))
				break;
			r = pool__spawn(p, POOL_SPAWN_ANY | POOL_SPAWN_WAIT);
			if (r >= 0 || !pool__has_work(p))
				continue;
			/* Could not start a thread (or its init refused and
			 * another task arrived meanwhile). */
			if (deadline < 0) {
				pool__log(p, POOL_LOG_ERROR,
					  "no worker can start: discarding "
					  "the queued tasks");
				pool__discard_all(p, p->on_discard,
						  p->discard_ctx);
				continue;
			}
			rel = deadline - pool__now_ns();
			if (rel <= 0)
				return POOL_ETIMEDOUT;
			if (rel > pause)
				rel = pause;
			{
				struct timespec ts = {0, (long)rel};

				nanosleep(&ts, NULL);
			}
			if (pause < 100000000)
				pause *= 2;
			continue;
		}
		if (deadline >= 0) {
			rel = deadline - pool__now_ns();
			if (rel <= 0)
				return POOL_ETIMEDOUT;
		}
		pool__futex_wait(&p->nthreads, n, rel);
	}
	pool__join_zombie(p);
	return 0;
}

int pool_release(pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	close_pool(p);
	/* A paused pool resumes: what was accepted runs (pool_pause). */
	pool__unpause(p);
	pthread_mutex_unlock(&p->life_lock);
	return 0;
}

int pool_release_timeout(pool_t *p, int64_t timeout_ns)
{
	int64_t now;

	if (!p || timeout_ns < 0)
		return POOL_EINVAL;
	if (in_own_task(p))
		return POOL_EDEADLK;
	pool_release(p);
	now = pool__now_ns();
	return wait_drained(p, pool__deadline(now, timeout_ns));
}

int pool_stop(pool_t *p, pool_discard_fn on_discard, void *ctx)
{
	if (!p)
		return POOL_EINVAL;
	if (in_own_task(p))
		return POOL_EDEADLK;
	pthread_mutex_lock(&p->life_lock);
	close_pool(p);
	pthread_mutex_unlock(&p->life_lock);
	/* A paused pool stays paused until its queue is discarded, so no
	 * queued task starts after the pause (pool_pause). */
	pool__discard_all(p, on_discard, ctx);
	pthread_mutex_lock(&p->life_lock);
	pool__unpause(p);
	pthread_mutex_unlock(&p->life_lock);
	return wait_drained(p, -1);
}

int pool_reboot(pool_t *p)
{
	int r = 0;

	if (!p)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN) {
		if (atomic_load_explicit(&p->nthreads, memory_order_acquire) !=
			    0 ||
		    pool__has_work(p)) {
			r = POOL_EBUSY;
		} else {
			pool__join_zombie(p);
			/* Submitters read state inside an RCU read-side
			 * section (relaxed); life_lock orders this store
			 * against the next close. */
			atomic_store_explicit(&p->state, POOL_ST_OPEN,
					      memory_order_seq_cst);
		}
	}
	pthread_mutex_unlock(&p->life_lock);
	return r;
}

int pool_destroy(pool_t *p)
{
	int32_t w;

	if (!p)
		return POOL_EINVAL;
	if (in_own_task(p))
		return POOL_EDEADLK;
	pool_release(p);
	wait_drained(p, -1);
	/* Callers that may block took a hold inside a read-side section that
	 * saw OPEN, so after the close's grace period every such hold is
	 * visible here. They were woken by the close (blocked submitters) or
	 * by their worker's verdict (the first worker's init, which
	 * wait_drained waited for); wait until each made its last access
	 * (the release decrement in submit_end). */
	if (atomic_load_explicit(&p->holds, memory_order_acquire) != 0)
		pool__probe(POOL_TP_DESTROY_HOLDS, p);
	while ((w = atomic_load_explicit(&p->holds, memory_order_acquire)) != 0)
		pool__futex_wait(&p->holds, w, -1);
	pool_free_all(p);
	return 0;
}
