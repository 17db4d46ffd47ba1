/* SPDX-License-Identifier: MIT */
/*
 * lib/multi.c - the multi-pool (include/pool/multi.h): n member pools behind
 * one handle, a lock-free member pick, one lifecycle.
 *
 * Uses the public pool API of the members for reads and lifecycle, the
 * pool layer's member submit (pool__member_submit, pool.c: the submits
 * called directly rather than through the PLT, and the no-wait offer of the
 * round-robin spill), the library
 * allocator (pool__alloc, for the failure injection of the allocation-sweep
 * tests) and the pool layer's O(1) member reading (pool__member_reading,
 * stats.c: load, queue depth; pool__wake_needed, internal.h) for the
 * picks.
 *
 * Locks: none. No mutex is taken anywhere in this file.
 *
 * No read-side section: the member table is published once, by
 * pool_multi_new, and freed only by pool_multi_destroy, and the members live
 * until then too, so every read of the table (the submits' picks, the
 * reads, the stats) loads it with table_get() and uses it without one. A
 * future resize must keep that true as the core keeps its shard and ring
 * sets (struct pool_vec): build a new table, publish it with a release
 * store, and keep the replaced one until pool_multi_destroy; a shrink would
 * release the removed members and keep them (off the table) until
 * pool_multi_destroy. Every access here checks indices against the table it
 * loaded, so none of it would change. (Until issue 10 the picks ran inside
 * an urcu-bp read-side section for a resize that would free tables after a
 * grace period: two sections per submit, about 40 instructions of the
 * round-robin submit's 250; docs/design.md, "Issue 10 ported".)
 *
 * No member call runs with anything of the multi-pool held: a submit may
 * block, and pool_release waits for a grace period while a submitter
 * blocked on that pool waits for pool_release.
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include "pool/multi.h"
#include "internal.h"

/* The RCU-protected member table. Immutable once published. */
struct multi_table {
	int n;
	pool_t *members[];
};

struct pool_multi {
	/* Immutable after pool_multi_new. */
	int strategy;
	pool_multi_pick_fn pick;
	void *pick_ctx;

	/* The member table: stored once by pool_multi_new (release, pairs
	 * with the acquire load in table_get()); freed by
	 * pool_multi_destroy. */
	_Atomic(struct multi_table *) table;

	/* Round-robin seed: relaxed fetch_add by a submitting thread whose
	 * per-thread cursor belongs to another multi-pool (rr_next). Own
	 * line: written by producers, kept off the read-mostly fields. */
	_Atomic uint32_t cursor POOL_CACHE_ALIGNED;
};

/*
 * The per-thread round-robin cursor. A thread that submits to one
 * multi-pool walks the members in turn without writing shared memory; its
 * starting point comes from the multi-pool's shared seed, so threads start
 * apart. A thread that alternates between multi-pools reseeds on every
 * switch, which degrades to one shared relaxed fetch_add per submit (still
 * an exact round-robin per multi-pool). `m` is only compared, never
 * dereferenced, so a stale pointer to a destroyed multi-pool is harmless.
 */
static _Thread_local struct {
	const struct pool_multi *m;
	uint32_t next;
	uint32_t turn; /* picks so far: the ring hint of the load reading */
} rr_tls;

/* The member index of this thread's next round-robin pick among n: the
 * cursor is kept in [0, n) by a compare, not a division per submit. */
static uint32_t rr_next(struct pool_multi *m, uint32_t n)
{
	uint32_t i;

	if (rr_tls.m != m) {
		rr_tls.m = m;
		/* Relaxed: a starting point only; no data depends on it. */
		rr_tls.next = atomic_fetch_add_explicit(&m->cursor, 1,
							memory_order_relaxed) %
			      n;
	}
	i = rr_tls.next < n ? rr_tls.next : 0;
	rr_tls.next = i + 1;
	rr_tls.turn++;
	return i;
}

/* The member table: valid until pool_multi_destroy (see the top). */
static const struct multi_table *table_get(const struct pool_multi *m)
{
	/* Acquire: pairs with the release store that published the table
	 * (pool_multi_new_opts), so its n and member pointers are seen
	 * initialised. */
	return atomic_load_explicit(&((struct pool_multi *)m)->table,
				    memory_order_acquire);
}

/* The member at index i, or NULL when i is out of range (members live
 * until pool_multi_destroy). */
static pool_t *member_at(const struct pool_multi *m, int i)
{
	const struct multi_table *tb;
	pool_t *p = NULL;

	tb = table_get(m);
	if (i >= 0 && i < tb->n)
		p = tb->members[i];
	return p;
}

pool_t *pool__multi_member(const pool_multi_t *m, int i)
{
	return m ? member_at(m, i) : NULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* 1 when the calling thread runs a task (or worker hook) of a member. */
static bool in_member_task(const struct pool_multi *m)
{
	const struct multi_table *tb;
	pool_t *self = pool_self();
	bool found = false;

	if (!self)
		return false;
	tb = table_get(m);
	for (int i = 0; i < tb->n && !found; i++)
		found = tb->members[i] == self;
	return found;
}

/* ---- creation ---- */

static int check_multi_options(const pool_multi_options_t *in,
			       pool_multi_options_t *o)
{
	memset(o, 0, sizeof(*o));
	if (in) {
		/* The sizes this version knows: only its own so far. */
		if (in->size != sizeof(*o))
			return POOL_EINVAL;
		memcpy(o, in, sizeof(*o));
	}
	switch (o->strategy) {
	case POOL_LB_ROUND_ROBIN:
	case POOL_LB_LEAST_TASKS:
		return o->pick ? POOL_EINVAL : 0;
	case POOL_LB_CUSTOM:
		return o->pick ? 0 : POOL_EINVAL;
	default:
		return POOL_EINVAL;
	}
}

int pool_multi_new_opts(pool_multi_t **out, int n,
			const pool_options_t *per_pool,
			const pool_multi_options_t *mo)
{
	pool_multi_options_t o;
	struct multi_table *tb;
	struct pool_multi *m;
	int r;

	if (!out || n <= 0 || n > POOL_MULTI_MAX)
		return POOL_EINVAL;
	r = check_multi_options(mo, &o);
	if (r < 0)
		return r;
	m = pool__alloc_aligned(sizeof(*m));
	if (!m)
		return POOL_ENOMEM;
	tb = pool__alloc(sizeof(*tb) + (size_t)n * sizeof(tb->members[0]));
	if (!tb) {
		pool__free(m);
		return POOL_ENOMEM;
	}
	/* n counts the members created so far (the cleanup bound). */
	tb->n = 0;
	for (int i = 0; i < n; i++) {
		r = pool_new(&tb->members[i], per_pool);
		if (r < 0)
			goto fail;
		tb->n++;
	}
	m->strategy = o.strategy;
	m->pick = o.pick;
	m->pick_ctx = o.pick_ctx;
	atomic_init(&m->cursor, 0);
	/* Release: pairs with the acquire load in table_get(). The handle
	 * reaches other threads through the caller's own synchronization;
	 * the release is what a future table replacement relies on. */
	atomic_store_explicit(&m->table, tb, memory_order_release);
	*out = m;
	return 0;
fail:
	/* Nobody else has seen these members: destroy cannot fail. */
	for (int i = 0; i < tb->n; i++)
		pool_destroy(tb->members[i]);
	pool__free(tb);
	pool__free(m);
	return r;
}

int pool_multi_new(pool_multi_t **out, int n, const pool_options_t *per_pool,
		   int strategy)
{
	pool_multi_options_t o = POOL_MULTI_OPTIONS_INIT;

	o.strategy = strategy;
	return pool_multi_new_opts(out, n, per_pool, &o);
}

/* ---- member selection ---- */

/* A member a submit can reach without a wake, with a short queue: preferred
 * over one that would need a wake (multi.h, POOL_MULTI_AWAKE_QUEUE). */
static bool is_awake(const struct pool_reading *r)
{
	return !r->wake && r->queued < POOL_MULTI_AWAKE_QUEUE;
}

/*
 * The index of the member with the lowest load reading
 * (pool__member_reading: workers not parked plus one ring's depth times
 * the rings in use, O(1) per member), scanning from `start` (so ties go
 * round-robin; `hint` picks the ring each reading samples).
 *
 * Least-tasks (exclude NULL): among the awake members (is_awake) if there
 * is one, else among all. The spill (exclude not NULL): among all but
 * exclude; -1 when nothing is left. Each member's reading is taken at some
 * moment during the scan, not all at one instant: see docs/multi.md for
 * the races this tolerates.
 */
static int least_loaded(const struct multi_table *tb, uint32_t start,
			uint32_t hint, const pool_t *exclude)
{
	int64_t best_load = INT64_MAX, awake_load = INT64_MAX;
	int best = -1, awake = -1;
	uint32_t n = (uint32_t)tb->n, i = start < n ? start : start % n;

	for (uint32_t k = 0; k < n; k++, i = i + 1 < n ? i + 1 : 0) {
		struct pool_reading r;

		if (tb->members[i] == exclude)
			continue;
		pool__member_reading(tb->members[i], hint, &r);
		if (r.load < best_load) {
			best = (int)i;
			best_load = r.load;
		}
		if (!exclude && is_awake(&r) && r.load < awake_load) {
			awake = (int)i;
			awake_load = r.load;
			/* An awake member has a worker not parked: 1 is the
			 * least it reads, nothing beats it. */
			if (r.load <= 1)
				break;
		}
	}
	return awake >= 0 ? awake : best;
}

/*
 * Round-robin, the turn member (at `start`) would need a wake: the first
 * awake member (is_awake) among the next POOL_MULTI_AWAKE_SCAN in turn, or
 * NULL (then the turn member it is). Out of line: the common case, a turn
 * member with a worker awake, does not pay for the loop.
 */
static __attribute__((noinline)) pool_t *
awake_other(const struct multi_table *tb, uint32_t start, uint32_t hint)
{
	uint32_t n = (uint32_t)tb->n, i = start;

	for (uint32_t k = 1; k < n && k <= POOL_MULTI_AWAKE_SCAN; k++) {
		struct pool_reading r;

		i = i + 1 < n ? i + 1 : 0;
		pool__member_reading(tb->members[i], hint, &r);
		if (is_awake(&r))
			return tb->members[i];
	}
	return NULL;
}

int pool__multi_wake_needed(const pool_multi_t *m, int i)
{
	pool_t *p = m ? member_at(m, i) : NULL;

	return p ? pool__wake_needed(p) : POOL_EINVAL;
}

/*
 * The member's own submit (pool__member_submit, pool.c): pool_submit,
 * pool_try_submit or pool_submit_timeout by `how`, called directly rather
 * than through the PLT, or an OFFER (room now, no wait, no count).
 */
static int member_submit(pool_t *p, enum pool_member_how how, pool_task_fn fn,
			 void *arg, int64_t timeout_ns)
{
	return pool__member_submit(p, fn, arg, how, timeout_ns);
}

/* The least-loaded member other than p, or NULL (n == 1). */
static pool_t *other_member(struct pool_multi *m, pool_t *p, uint32_t start)
{
	const struct multi_table *tb;
	pool_t *q = NULL;
	int i;

	tb = table_get(m);
	i = least_loaded(tb, start + 1, rr_tls.turn, p);
	if (i >= 0)
		q = tb->members[i];
	return q;
}

/*
 * Round-robin, off the fast path: the picked member (p: the turn member, or
 * the awake one the wake rule put in its place) did not take the task at
 * once. `r` is its offer's result: POOL_MEMBER_NO_WORKER
 * (p has no worker yet: nothing was tried), else POOL_EOVERLOAD or
 * POOL_ECLOSED (no room now). See multi.h for the rule.
 */
static __attribute__((noinline)) int rr_spill(struct pool_multi *m, pool_t *p,
					      uint32_t start,
					      enum pool_member_how how,
					      pool_task_fn fn, void *arg,
					      int64_t timeout_ns, int r)
{
	pool_t *q;

	if (r == POOL_MEMBER_NO_WORKER) {
		/* p's own call starts its first worker (a blocking one waits
		 * for worker_init and reports its failure). */
		r = member_submit(p, how, fn, arg, timeout_ns);
		if (r != POOL_EOVERLOAD)
			return r;
		q = other_member(m, p, start);
		return q ? member_submit(q, how, fn, arg, timeout_ns) : r;
	}
	q = other_member(m, p, start);
	if (!q)
		return member_submit(p, how, fn, arg, timeout_ns);
	/* A call that never waits: the other member's own call decides
	 * (and counts a rejection there). */
	if (how == POOL_MEMBER_TRY)
		return member_submit(q, how, fn, arg, timeout_ns);
	r = member_submit(q, POOL_MEMBER_OFFER, fn, arg, 0);
	if (r == 0)
		return 0;
	if (r == POOL_MEMBER_NO_WORKER) {
		/* q is idle with no worker: its own call starts one. */
		r = member_submit(q, how, fn, arg, timeout_ns);
		if (r != POOL_EOVERLOAD)
			return r;
		return member_submit(p, how, fn, arg, timeout_ns);
	}
	/* Neither has room now: wait on the picked member; if it
	 * refuses without waiting (POOL_EOVERLOAD: max_blocking), the other
	 * one's own call (ants' retry). */
	r = member_submit(p, how, fn, arg, timeout_ns);
	if (r != POOL_EOVERLOAD)
		return r;
	return member_submit(q, how, fn, arg, timeout_ns);
}

static int multi_submit(struct pool_multi *m, enum pool_member_how how,
			pool_task_fn fn, void *arg, int64_t timeout_ns)
{
	const struct multi_table *tb;
	pool_t *p;
	uint32_t start;
	int r;

	if (!m || !fn)
		return POOL_EINVAL;
	tb = table_get(m);
	start = rr_next(m, (uint32_t)tb->n);
	/* Least-tasks reads every member's load on each submit: O(1) per
	 * member (pool__member_reading), so O(members), not O(capacity). It
	 * chose the least-loaded member already: no retry. */
	if (m->strategy == POOL_LB_LEAST_TASKS) {
		p = tb->members[least_loaded(tb, start, rr_tls.turn, NULL)];
		return member_submit(p, how, fn, arg, timeout_ns);
	}
	/* The turn member, unless a submit there would wake a worker and
	 * one of the next members is awake (multi.h). */
	p = tb->members[start];
	if (tb->n > 1 && pool__wake_needed(p)) {
		pool_t *q = awake_other(tb, start, rr_tls.turn);

		if (q)
			p = q;
	}
	/* A never-waiting call, also pool_submit on a POOL_NONBLOCKING
	 * member (the members share their options): no second offer. */
	if (how == POOL_MEMBER_TIMEOUT && timeout_ns == 0)
		how = POOL_MEMBER_TRY;
	if (how == POOL_MEMBER_BLOCK && (p->flags & POOL_NONBLOCKING))
		how = POOL_MEMBER_TRY;
	r = member_submit(p, POOL_MEMBER_OFFER, fn, arg, 0);
	if (__builtin_expect(r == 0, 1))
		return 0;
	return rr_spill(m, p, start, how, fn, arg, timeout_ns, r);
}

int pool_multi_submit(pool_multi_t *m, pool_task_fn fn, void *arg)
{
	return multi_submit(m, POOL_MEMBER_BLOCK, fn, arg, 0);
}

int pool_multi_try_submit(pool_multi_t *m, pool_task_fn fn, void *arg)
{
	return multi_submit(m, POOL_MEMBER_TRY, fn, arg, 0);
}

int pool_multi_submit_timeout(pool_multi_t *m, pool_task_fn fn, void *arg,
			      int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return POOL_EINVAL;
	return multi_submit(m, POOL_MEMBER_TIMEOUT, fn, arg, timeout_ns);
}

static int multi_submit_key(struct pool_multi *m, uint64_t key,
			    enum pool_member_how mode, pool_task_fn fn,
			    void *arg, int64_t timeout_ns)
{
	pool_t *p;
	int i;

	if (!m || !fn)
		return POOL_EINVAL;
	if (m->pick) {
		/* The pick is user code: nothing of the multi-pool is held
		 * (it might block or wait for a grace period itself). */
		i = m->pick(m->pick_ctx, key, pool_multi_size(m));
	} else {
		i = (int)(key % (uint64_t)table_get(m)->n);
	}
	p = member_at(m, i);
	if (!p)
		return POOL_EINVAL;
	/* A keyed task stays on its member: no retry elsewhere. */
	return member_submit(p, mode, fn, arg, timeout_ns);
}

int pool_multi_submit_key(pool_multi_t *m, uint64_t key, pool_task_fn fn,
			  void *arg)
{
	return multi_submit_key(m, key, POOL_MEMBER_BLOCK, fn, arg, 0);
}

int pool_multi_submit_key_timeout(pool_multi_t *m, uint64_t key,
				  pool_task_fn fn, void *arg,
				  int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return POOL_EINVAL;
	return multi_submit_key(m, key, POOL_MEMBER_TIMEOUT, fn, arg,
				timeout_ns);
}

/* ---- tune ---- */

int pool_multi_tune(pool_multi_t *m, int capacity)
{
	int *old;
	int n, i, r = 0;

	if (!m)
		return POOL_EINVAL;
	n = pool_multi_size(m);
	/* The capacities to restore if a later member fails. */
	old = pool__alloc((size_t)n * sizeof(*old));
	if (!old)
		return POOL_ENOMEM;
	for (i = 0; i < n; i++) {
		pool_t *p = member_at(m, i);

		if (!p)
			break;
		old[i] = pool_cap(p);
		r = pool_tune(p, capacity);
		if (r < 0)
			break;
	}
	if (r < 0) {
		/* Back to where each tuned member was. A failure of growth is
		 * undone by a shrink, which allocates nothing; a failure
		 * caused by a concurrent close leaves nothing to restore. */
		while (i-- > 0) {
			pool_t *p = member_at(m, i);

			if (p && old[i] != capacity && pool_tune(p, old[i]) < 0)
				break;
		}
	}
	pool__free(old);
	return r;
}

/* ---- reads ---- */

enum multi_read {
	R_CAP,
	R_RUNNING,
	R_AVAILABLE,
	R_WAITING,
	R_QUEUED,
	R_CLOSED
};

static int64_t read_one(const pool_t *p, enum multi_read what)
{
	switch (what) {
	case R_CAP:
		return pool_cap(p);
	case R_RUNNING:
		return pool_running(p);
	case R_AVAILABLE:
		return pool_available(p);
	case R_WAITING:
		return pool_waiting(p);
	case R_QUEUED:
		return pool_queued(p);
	default:
		return pool_is_closed(p);
	}
}

/* The sum over the members (for R_CLOSED: 1 if any member is closed). */
static int64_t read_sum(const struct pool_multi *m, enum multi_read what)
{
	const struct multi_table *tb;
	int64_t sum = 0;

	tb = table_get(m);
	for (int i = 0; i < tb->n; i++)
		sum += read_one(tb->members[i], what);
	if (what == R_CLOSED)
		return sum > 0;
	return sum;
}

static int clamp_int(int64_t v)
{
	if (v > INT_MAX)
		return INT_MAX;
	if (v < INT_MIN)
		return INT_MIN;
	return (int)v;
}

/* The member at index, or NULL for m NULL or an index out of range. */
static pool_t *member_checked(const struct pool_multi *m, int index)
{
	return m ? member_at(m, index) : NULL;
}

static int64_t read_index(const struct pool_multi *m, int index,
			  enum multi_read what)
{
	pool_t *p = member_checked(m, index);

	return p ? read_one(p, what) : POOL_EINVAL;
}

int pool_multi_size(const pool_multi_t *m)
{
	int n;

	if (!m)
		return POOL_EINVAL;
	n = table_get(m)->n;
	return n;
}

int pool_multi_cap(const pool_multi_t *m)
{
	return m ? clamp_int(read_sum(m, R_CAP)) : POOL_EINVAL;
}

int pool_multi_running(const pool_multi_t *m)
{
	return m ? clamp_int(read_sum(m, R_RUNNING)) : POOL_EINVAL;
}

int pool_multi_available(const pool_multi_t *m)
{
	return m ? clamp_int(read_sum(m, R_AVAILABLE)) : POOL_EINVAL;
}

int pool_multi_waiting(const pool_multi_t *m)
{
	return m ? clamp_int(read_sum(m, R_WAITING)) : POOL_EINVAL;
}

int64_t pool_multi_queued(const pool_multi_t *m)
{
	return m ? read_sum(m, R_QUEUED) : POOL_EINVAL;
}

int pool_multi_is_closed(const pool_multi_t *m)
{
	return m ? (int)read_sum(m, R_CLOSED) : POOL_EINVAL;
}

int pool_multi_cap_by_index(const pool_multi_t *m, int index)
{
	return (int)read_index(m, index, R_CAP);
}

int pool_multi_running_by_index(const pool_multi_t *m, int index)
{
	return (int)read_index(m, index, R_RUNNING);
}

int pool_multi_available_by_index(const pool_multi_t *m, int index)
{
	return (int)read_index(m, index, R_AVAILABLE);
}

int pool_multi_waiting_by_index(const pool_multi_t *m, int index)
{
	return (int)read_index(m, index, R_WAITING);
}

int64_t pool_multi_queued_by_index(const pool_multi_t *m, int index)
{
	return read_index(m, index, R_QUEUED);
}

int pool_multi_is_closed_by_index(const pool_multi_t *m, int index)
{
	return (int)read_index(m, index, R_CLOSED);
}

/* Every pool_stats_t field after `size` is a 64-bit count that sums (the
 * few that do not are fixed up in pool_multi_stats). */
#define STATS_FIRST offsetof(pool_stats_t, capacity)
_Static_assert((sizeof(pool_stats_t) - STATS_FIRST) % sizeof(uint64_t) == 0,
	       "pool_stats_t: the fields after size must all be uint64_t");

static void stats_add(pool_stats_t *sum, const pool_stats_t *s)
{
	for (size_t off = STATS_FIRST; off < sizeof(*sum);
	     off += sizeof(uint64_t)) {
		uint64_t a, b;

		memcpy(&a, (const char *)sum + off, sizeof(a));
		memcpy(&b, (const char *)s + off, sizeof(b));
		a += b;
		memcpy((char *)sum + off, &a, sizeof(a));
	}
}

int pool_multi_stats(const pool_multi_t *m, pool_stats_t *s)
{
	const struct multi_table *tb;
	pool_stats_t sum = POOL_STATS_INIT;
	int64_t qlim = POOL_QUEUE_NONE;
	int r;

	if (!m || !s)
		return POOL_EINVAL;
	/* The core judges s->size: it accepts exactly the sizes it knows
	 * (each at most sizeof(pool_stats_t)) and writes only that much. */
	r = pool_stats(member_at(m, 0), s);
	if (r < 0)
		return r;
	tb = table_get(m);
	for (int i = 0; i < tb->n; i++) {
		pool_stats_t one = POOL_STATS_INIT;

		/* Cannot fail: p is valid and the size is this version's. */
		if (pool_stats(tb->members[i], &one) != 0)
			continue;
		stats_add(&sum, &one);
		/* The total bound: an unbounded member makes it unbounded;
		 * a member without a queue adds no place. */
		if (one.queue_limit == 0 || qlim == 0)
			qlim = 0;
		else if (one.queue_limit > 0)
			qlim = (qlim < 0 ? 0 : qlim) + one.queue_limit;
	}
	/* An arena index does not add up: read it per member. */
	sum.copy_arena = 0;
	sum.queue_limit = qlim;
	if (s->size > STATS_FIRST)
		memcpy((char *)s + STATS_FIRST,
		       (const char *)&sum + STATS_FIRST, s->size - STATS_FIRST);
	return 0;
}

int pool_multi_stats_by_index(const pool_multi_t *m, int index, pool_stats_t *s)
{
	pool_t *p = member_checked(m, index);

	return p ? pool_stats(p, s) : POOL_EINVAL;
}

/* ---- lifecycle ---- */

int pool_multi_release(pool_multi_t *m)
{
	pool_t *p;

	if (!m)
		return POOL_EINVAL;
	for (int i = 0; (p = member_at(m, i)) != NULL; i++)
		pool_release(p);
	return 0;
}

int pool_multi_release_timeout(pool_multi_t *m, int64_t timeout_ns)
{
	int64_t now, deadline;
	pool_t *p;
	int r = 0;

	if (!m || timeout_ns < 0)
		return POOL_EINVAL;
	if (in_member_task(m))
		return POOL_EDEADLK;
	now = now_ns();
	deadline = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
	/* Close every member first, so all drain at once. */
	pool_multi_release(m);
	for (int i = 0; (p = member_at(m, i)) != NULL; i++) {
		int64_t left = deadline - now_ns();
		int rc;

		/* Once the deadline passed, 0: each remaining member is only
		 * checked, so the result covers every member. */
		rc = pool_release_timeout(p, left > 0 ? left : 0);
		if (rc < 0 && r == 0)
			r = rc;
	}
	return r;
}

int pool_multi_reboot(pool_multi_t *m)
{
	pool_t *p;
	int r = 0;

	if (!m)
		return POOL_EINVAL;
	for (int i = 0; (p = member_at(m, i)) != NULL; i++) {
		r = pool_reboot(p);
		if (r < 0)
			break;
	}
	if (r < 0) {
		/* All or nothing: close the members this call reopened (and
		 * any other open one), so the multi-pool stays closed. */
		pool_multi_release(m);
	}
	return r;
}

int pool_multi_destroy(pool_multi_t *m)
{
	struct multi_table *tb;

	if (!m)
		return POOL_EINVAL;
	if (in_member_task(m))
		return POOL_EDEADLK;
	/* Close every member first so none accepts work while another one
	 * drains; then destroy each (returns 0: checked above). */
	pool_multi_release(m);
	/* Relaxed: pool_multi_destroy overlaps no other call on m. */
	tb = atomic_load_explicit(&m->table, memory_order_relaxed);
	for (int i = 0; i < tb->n; i++)
		pool_destroy(tb->members[i]);
	pool__free(tb);
	pool__free(m);
	return 0;
}
