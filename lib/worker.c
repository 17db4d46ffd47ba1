/* SPDX-License-Identifier: MIT */
/*
 * lib/worker.c - worker threads: spawn, the run loop, stealing, exit.
 *
 * Lock order: this file takes only idle_lock (through park.c), never while
 * running a task or calling user hooks.
 *
 * Thread lifetime (docs/design.md, "Worker lifetime"): a spawner reserves a
 * logical slot (nworkers < cap, CAS), counts the thread in nthreads, binds a
 * free shard (owner CAS) and creates the thread. An exiting worker releases
 * the shard, then the slot, then hands its pthread_t to the zombie slot and
 * decrements nthreads as its last access to pool memory; it then joins the
 * thread it took out of the zombie slot. pool_destroy waits for
 * nthreads == 0 and joins the last zombie, which transitively guarantees that
 * every worker thread has returned.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "obs-inl.h"
#include "ring-inl.h"
#include "task-inl.h"

/*
 * The searcher's spin before it parks (each round a cpu_relax apart): at
 * most POOL_SPIN_ROUNDS, adapted per worker (docs/design.md, "The adaptive
 * spin"): a spin that finds work restores the full budget, one that ends
 * in a park halves it, down to POOL_SPIN_MIN.
 */
#define POOL_SPIN_ROUNDS 256
#define POOL_SPIN_MIN	 16

/* Refused worker_inits in a row after which a refusal no longer starts a
 * replacement (init_failed). */
#define POOL_INIT_RETRIES 3

/* Threads starting at once above which a searcher's ramp-up no longer
 * starts another (ramp_up). 2 and 4 measured on the 2-vCPU VM: `sleep`'s
 * cold window 1.07-1.10x and 1.05-1.06x ideal (docs/design.md,
 * "Ramp-up"). */
#define POOL_RAMP_STARTING 4

/* The owner line and the park line (lib/internal.h): a shard is what every
 * worker costs beyond its thread. */
_Static_assert(sizeof(struct pool_shard) == 2 * POOL_CACHELINE,
	       "struct pool_shard: two cache lines");

/*
 * Shard slabs. A shard is 128 bytes; allocated one by one (64-byte aligned)
 * the allocator's header and alignment slack cost about half as much again
 * (docs/design.md, "Where an idle worker's bytes go"). So shards are carved
 * from slabs: a 64-byte header (the chain that pool_destroy frees), then
 * the shards. The k-th slab holds as many shards as the pool already has
 * (1, 1, 2, 4, ...: the slabs never hold more than twice the shards ever
 * made, so memory still follows the workers), at most POOL_SHARD_SLAB (a
 * slab fits in one page) and at most what the capacity lets exist. A slab
 * is never freed before pool_destroy, as a shard never was.
 */
#define POOL_SHARD_SLAB 31

struct pool_shard_slab {
	struct pool_shard_slab *next;
	uint32_t size;
	struct pool_shard s[] POOL_CACHE_ALIGNED;
};

_Static_assert(sizeof(struct pool_shard_slab) == POOL_CACHELINE,
	       "struct pool_shard_slab: a one-line header");
_Static_assert(sizeof(struct pool_shard_slab) +
			       POOL_SHARD_SLAB * sizeof(struct pool_shard) <=
		       4096 - 64,
	       "a shard slab (with the allocator's header) fits in a page");

/* Under grow_lock; index: the shard's position in the table. */
struct pool_shard *pool__shard_new(struct pool *p, unsigned index)
{
	struct pool_shard_slab *sl = p->slabs;
	struct pool_shard *s;

	if (!p->slab_left) {
		uint32_t k = index ? index : 1;
		uint32_t cap = (uint32_t)atomic_load_explicit(
			&p->cap, memory_order_relaxed);

		if (k > POOL_SHARD_SLAB)
			k = POOL_SHARD_SLAB;
		if (cap > index && k > cap - index)
			k = cap - index;
		sl = pool__alloc_aligned(sizeof(*sl) + k * sizeof(sl->s[0]));
		if (!sl)
			return NULL;
		sl->next = p->slabs;
		sl->size = k;
		p->slabs = sl;
		p->slab_left = k;
	}
	s = &sl->s[sl->size - p->slab_left--];
	memset(s, 0, sizeof(*s));
	atomic_init(&s->completed, 0);
	atomic_init(&s->stolen, 0);
	atomic_init(&s->running, 0);
	atomic_init(&s->token, 0);
	atomic_init(&s->owner, 0);
	s->index = index;
	s->pool = p;
	s->rng = 0x9E3779B97F4A7C15ull * (index + 1);
	return s;
}

/* Under grow_lock: s is the shard pool__shard_new just handed out. */
void pool__shard_unget(struct pool *p, struct pool_shard *s)
{
	(void)s;
	p->slab_left++;
}

void pool__shard_free(struct pool_shard *s)
{
	if (!s)
		return;
	pool__obs_free(s);
}

void pool__shard_slabs_free(struct pool *p)
{
	struct pool_shard_slab *sl = p->slabs;

	while (sl) {
		struct pool_shard_slab *next = sl->next;

		pool__free(sl);
		sl = next;
	}
	p->slabs = NULL;
	p->slab_left = 0;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * T3-T5 (docs/design.md, "The idle search"): overflow ring r looked empty
 * (our pop emptied it, or its bit was set with nothing in it). Clear its
 * summary bit, then re-check; if a push slipped in, set the bit again and
 * hand off: a worker parking meanwhile may have read the bit while it was
 * clear (its P4) and slept, and the fence makes its P1/P2 visible here, so
 * pool__ensure_worker wakes it (the last-searcher argument). Caller: a
 * worker, no lock held (rings are freed only by pool_destroy).
 */
static __attribute__((noinline)) void ring_untrack(struct pool *p,
						   struct pool_ring *r)
{
	struct pool_ring *g = r->group;

	pool__probe(POOL_TP_RING_EMPTIED, p);
	/* T3. seq_cst: pairs with the pusher's seq_cst load and fetch_or of
	 * the bit (ring_track, T2). */
	atomic_fetch_and_explicit(&g->nonempty, ~r->bit, memory_order_seq_cst);
	/* T4: pairs with the pusher's seq_cst head CAS (T1): a push whose
	 * bit load came before our clear is seen by this recheck. */
	atomic_thread_fence(memory_order_seq_cst);
	if (ring_count(r) == 0)
		return;
	/* T5: seq_cst RMW, then the fence that orders the nspinning load
	 * after every P3 that precedes it (a parker that read our clear). */
	atomic_fetch_or_explicit(&g->nonempty, r->bit, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&p->nspinning, memory_order_relaxed) == 0)
		pool__ensure_worker(p, POOL_SPAWN_ANY);
}

/* ring_pop, and for an overflow ring left empty by the pop, ring_untrack.
 * (Rings are freed only by pool_destroy: no read-side section needed.) */
static inline int pop_tracked(struct pool *p, struct pool_ring *r,
			      struct pool_work *t)
{
	int got = ring_pop(r, t);

	if (__builtin_expect(r->group != NULL, 0) && got != RING_EMPTY &&
	    ring_count(r) == 0)
		ring_untrack(p, r);
	return got;
}

static inline void count_stolen(struct pool_shard *self)
{
	atomic_store_explicit(
		&self->stolen,
		atomic_load_explicit(&self->stolen, memory_order_relaxed) + 1,
		memory_order_relaxed);
}

/*
 * Steal one task from the overflow rings whose summary bit is set, from a
 * random group and a random bit rotation (so thieves spread). A set bit on
 * an empty ring is cleaned (ring_untrack). Returns the ring or NULL.
 */
static struct pool_ring *steal_tracked(struct pool *p, struct pool_shard *self,
				       struct pool_vec *rv, uint32_t nb,
				       uint32_t n, uint64_t rnd,
				       struct pool_work *t, bool *tagged)
{
	uint32_t ng = (n - nb + 63) / 64;
	uint32_t g = (uint32_t)((rnd >> 32) % ng);
	unsigned rot = (unsigned)(rnd >> 16) & 63;

	for (uint32_t k = 0; k < ng; k++, g = g + 1 == ng ? 0 : g + 1) {
		uint32_t first = nb + 64 * g;
		/* seq_cst: pairs with the RMWs of ring_track and
		 * ring_untrack (the P4 argument, docs/design.md). */
		uint64_t w = atomic_load_explicit(
			&pool__ring_at(rv, first)->nonempty,
			memory_order_seq_cst);

		/* Rotate right by rot: bit b of w is ring first+(b+rot)%64. */
		w = rot ? (w >> rot) | (w << (64 - rot)) : w;
		while (w) {
			unsigned b = ((unsigned)__builtin_ctzll(w) + rot) & 63;
			uint32_t j = first + b;
			struct pool_ring *ring;
			int r;

			w &= w - 1;
			if (j >= n)
				continue; /* appended after our load of n */
			ring = pool__ring_at(rv, j);
			r = pop_tracked(p, ring, t);
			if (r != RING_EMPTY) {
				*tagged = r == RING_POPPED_TAGGED;
				if (ring != self->home)
					count_stolen(self);
				return ring;
			}
			/* A stale bit (ring_count 0; not a push still being
			 * published): clean it. */
			if (ring_count(ring) == 0)
				ring_untrack(p, ring);
		}
	}
	return NULL;
}

/*
 * Pop from our home ring, else steal one task from another ring: the base
 * rings from a random start, then the overflow rings whose summary bit is
 * set. Returns the ring the task came from, or NULL; *tagged: the task
 * counts against the queue bound.
 */
static struct pool_ring *find_work(struct pool *p, struct pool_shard *self,
				   struct pool_work *t, bool *tagged)
{
	struct pool_vec *rv;
	int r;
	uint32_t n, nb;
	uint64_t rnd;

	r = pop_tracked(p, self->home, t);
	if (r != RING_EMPTY) {
		*tagged = r == RING_POPPED_TAGGED;
		return self->home;
	}
	/* No read-side section here or in pool__has_work: the ring set is
	 * append-only and nothing in it is freed before pool_destroy ("The
	 * ring and shard sets"), and no grace period waits for a worker's
	 * search. So an idle worker never registers with urcu-bp. */
	rv = pool__vec_load(&p->rings, &n);
	if (n <= 1)
		return NULL;
	nb = ring_nbase(p, n);
	rnd = xorshift(&self->rng);
	if (nb > 0) {
		unsigned start = (unsigned)(rnd % nb);

		for (unsigned i = 0; i < nb; i++) {
			struct pool_ring *ring =
				pool__ring_at(rv, (start + i) % nb);

			if (ring != self->home &&
			    (r = ring_pop(ring, t)) != RING_EMPTY) {
				*tagged = r == RING_POPPED_TAGGED;
				count_stolen(self);
				return ring;
			}
		}
	}
	if (n > nb)
		return steal_tracked(p, self, rv, nb, n, rnd, t, tagged);
	return NULL;
}

/* Pop one task from any ring (pool_stop's discard pass); a task counted
 * against the queue bound is released here. Reads every ring directly and
 * clears no summary bit (a bit left set on an emptied ring is stale, which
 * the rule allows: docs/design.md, "The idle search"), so the discard pass
 * never starts a worker. */
bool pool__pop_any(struct pool *p, struct pool_work *t)
{
	struct pool_vec *rv;
	int found = RING_EMPTY;
	uint32_t n;

	pool__rcu_read_lock();
	rv = pool__vec_load(&p->rings, &n);
	for (uint32_t i = 0; i < n && found == RING_EMPTY; i++)
		found = ring_pop(pool__ring_at(rv, i), t);
	pool__rcu_read_unlock();
	if (found == RING_POPPED_TAGGED)
		pool__bound_done(p, 1);
	return found != RING_EMPTY;
}

/*
 * n tasks counted against the queue bound ended (ran, were discarded, or
 * their push failed after the reservation): give back their count, then,
 * like after_pop, signal a blocked submitter that asked. The fence pairs
 * with the one a submitter issues after setting space_want (submit_slow):
 * either its retry sees the count we gave back, or we see its request.
 */
void pool__bound_done(struct pool *p, size_t n)
{
	atomic_fetch_sub_explicit(&p->inflight, (int64_t)n,
				  memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&p->space_want, memory_order_relaxed) &&
	    atomic_exchange_explicit(&p->space_want, 0, memory_order_seq_cst))
		pool__space_signal(p);
}

/*
 * Hand one popped task to a discard callback (NULL: drop it) as its kind
 * says (pool__task_discard), and count it. Runs user code: the caller holds
 * no lock and is outside every read-side section.
 */
void pool__discard_task(struct pool *p, const struct pool_work *t,
			pool_discard_fn fn, void *ctx)
{
	pool__task_discard(p, t, fn, ctx);
	atomic_fetch_add_explicit(&p->discarded, 1, memory_order_relaxed);
}

/* Discard every queued task (pool_stop, pool_destroy without a worker). */
void pool__discard_all(struct pool *p, pool_discard_fn fn, void *ctx)
{
	struct pool_work t;

	while (pool__pop_any(p, &t))
		pool__discard_task(p, &t, fn, ctx);
}

/*
 * A worker could not start (worker_init refused, or no thread could be
 * created) and tasks may be queued: if no worker is left to run them, they
 * would wait for ever. Discard them, each to options.on_discard, count and
 * log. With a worker alive (running, searching, starting or parked: the
 * caller woke a parked one first) nothing is done: that worker scans the
 * rings before it can park. Caller: outside every read-side section, no
 * lock held (the callback is user code).
 */
void pool__discard_stranded(struct pool *p)
{
	struct pool_work t;
	uint64_t n = 0;

	/* Pairs with the seq_cst reservation of nworkers in pool__spawn: a
	 * worker reserved before this read is seen (and will scan); one
	 * reserved after it can only find what we did not pop. */
	atomic_thread_fence(memory_order_seq_cst);
	while (atomic_load_explicit(&p->nworkers, memory_order_seq_cst) == 0 &&
	       pool__pop_any(p, &t)) {
		pool__discard_task(p, &t, p->on_discard, p->discard_ctx);
		n++;
	}
	if (n) {
		/* Slots were freed: wake blocked submitters (as after_pop
		 * does; unconditionally, this is no fast path). */
		pool__space_signal(p);
		pool__log(p, POOL_LOG_ERROR,
			  "no worker can start: discarded %llu queued "
			  "task(s)",
			  (unsigned long long)n);
	}
}

/*
 * The pool is paused (pool_pause): stop being a searcher and wait, without
 * taking a task, until pool_resume or a close clears `paused`. No lost
 * wake-up: pause_seq is read before `paused`, and pool__unpause clears
 * `paused` before it bumps pause_seq and wakes, so a resume between our
 * check and the futex wait changes the word the wait compares.
 */
static void pause_wait(struct pool *p, bool *spinning)
{
	if (*spinning) {
		*spinning = false;
		atomic_fetch_sub_explicit(&p->nspinning, 1,
					  memory_order_seq_cst);
	}
	atomic_fetch_add_explicit(&p->npaused, 1, memory_order_relaxed);
	for (;;) {
		/* Acquire: pairs with the release increment in
		 * pool__unpause. */
		int32_t seq = atomic_load_explicit(&p->pause_seq,
						   memory_order_acquire);

		if (!atomic_load_explicit(&p->paused, memory_order_acquire))
			break;
		pool__futex_wait(&p->pause_seq, seq, -1);
	}
	atomic_fetch_sub_explicit(&p->npaused, 1, memory_order_relaxed);
}

/* Clear the pause and wake the paused workers (life_lock held or not:
 * callers serialise the store). Then wake parked workers if work waits,
 * so the queue is run by every worker again, not only the paused ones. */
void pool__unpause(struct pool *p)
{
	if (!atomic_load_explicit(&p->paused, memory_order_relaxed))
		return;
	/* seq_cst: before the pause_seq increment (see pause_wait). */
	atomic_store_explicit(&p->paused, 0, memory_order_seq_cst);
	/* Release: pairs with the acquire load in pause_wait. */
	atomic_fetch_add_explicit(&p->pause_seq, 1, memory_order_release);
	pool__futex_wake(&p->pause_seq, INT_MAX);
	atomic_thread_fence(memory_order_seq_cst);
	if (pool__has_work(p))
		pool__wake_all(p);
}

/* A task ended (returned or panicked): count it. nested: run inside
 * another task's helping wait (pool__help_one), whose running flag stays
 * set. */
static inline void task_done(struct pool *p, struct pool_shard *self,
			     bool tagged, bool nested)
{
	if (!nested)
		atomic_store_explicit(&self->running, 0, memory_order_relaxed);
	/* The task ended: its place under the queue bound is free. Before
	 * completed, so a caller that sees the task counted complete (or
	 * pool_submit_wait returned) finds the place free. */
	if (tagged)
		pool__bound_done(p, 1);
	/* Release: pairs with the acquire loads in pool__idle_now, so a
	 * pool_wait_idle that sees the task counted sees its effects. */
	atomic_store_explicit(
		&self->completed,
		atomic_load_explicit(&self->completed, memory_order_relaxed) +
			1,
		memory_order_release);
}

/* A task of an internal kind, or with hooks, or one run by a helping
 * wait: a guard of its own (pool__run_guarded, through the observation
 * path). */
static void run_task_(struct pool *p, struct pool_shard *self,
		      struct pool_work *t, bool tagged, bool nested)
{
	if (!nested)
		atomic_store_explicit(&self->running, 1, memory_order_relaxed);
	pool__obs_run_task(p, self, t);
	task_done(p, self, tagged, nested);
	/* After completed, so that pool_submit_wait returns with the task
	 * counted. */
	pool__task_end(t);
}

static void run_task(struct pool *p, struct pool_shard *self,
		     struct pool_work *t, bool tagged)
{
	run_task_(p, self, t, tagged, false);
}

/*
 * The state of a worker's task loop, kept out of worker_loop's own frame:
 * a panic in a plain task jumps out of worker_loop (whose locals are lost)
 * back to worker_guarded, which finishes the task from here.
 */
struct worker_loop {
	/* The long-lived guard plain tasks run in (lib/panic.c). */
	struct pool_frame frame;
	struct pool_work t; /* the task popped last */
	uint64_t start;	    /* its start tick, if timed (lib/obs-inl.h) */
	struct pool_obs_gap gap;
	void *altstack;
	unsigned spin_rounds; /* this worker's spin budget */
	bool spinning;
	bool tagged;
};

/* The common tasks, run in the worker's frame: a plain one or a copy
 * without a stamp (pool__task_in_frame), no hooks (sampled or not: a
 * stamped task is timed by run_plain_timed). */
static inline bool plain_task(const struct pool *p, const struct pool_work *t)
{
	return !p->hooked && pool__task_in_frame(t);
}

/* After a plain task returned or jumped to the frame: deferred calls and
 * the panic report (if any), then the copy's free (after the handler, which
 * was shown its bytes), then the counts. */
static inline void plain_end(struct pool *p, struct pool_shard *self,
			     struct worker_loop *w, pool_task_fn fn, void *arg,
			     bool jumped)
{
	if (jumped || __builtin_expect(w->frame.ndefer != 0, 0))
		pool__frame_end(&w->frame, p, fn, arg);
	pool__task_frame_done(p, &w->t);
	task_done(p, self, w->tagged, false);
}

/*
 * Run a plain task in the worker's frame: no sigsetjmp per task (the frame
 * was armed by worker_guarded); a panic jumps there. The stores to
 * pool__frame_cur are thread-local: only this thread and its signal
 * handler read them.
 *
 * run_plain_timed: the same for a task with a stamp (sampled or blocked),
 * timed around the call (lib/obs-inl.h); out of line, so that the common
 * task pays one test of its stamp. Both return the task's end tick if it
 * was timed, else 0 (prev_end: the previous task's, pool__obs_start).
 */
static __attribute__((noinline)) uint64_t
run_plain_timed(struct pool *p, struct pool_shard *self, struct worker_loop *w,
		uint64_t prev_end)
{
	uint64_t stamp = w->t.stamp, end;
	bool panicked = false;

	w->start = pool__obs_start(stamp, prev_end, &w->gap);
	pool__frame_cur = &w->frame;
	w->t.fn(w->t.arg);
	pool__frame_cur = NULL;
	if (__builtin_expect(w->frame.ndefer != 0, 0))
		panicked = pool__frame_end(&w->frame, p, w->t.fn, w->t.arg);
	end = panicked ? pool__obs_done(self, stamp, w->start, true)
		       : pool__obs_end(self, stamp, w->start);
	task_done(p, self, w->tagged, false);
	return end;
}

static inline uint64_t run_plain(struct pool *p, struct pool_shard *self,
				 struct worker_loop *w, uint64_t prev_end)
{
	pool_task_fn fn;
	void *arg;

	pool__task_frame_call(&w->t, &fn, &arg);
	atomic_store_explicit(&self->running, 1, memory_order_relaxed);
	if (__builtin_expect(w->t.stamp != 0, 0))
		return run_plain_timed(p, self, w, prev_end);
	pool__frame_cur = &w->frame;
	fn(arg);
	pool__frame_cur = NULL;
	plain_end(p, self, w, fn, arg, false);
	return 0;
}

/*
 * After a pop freed a slot: if a blocked submitter asked for a signal, take
 * the request and signal, once. The fence pairs with the one a submitter
 * issues after setting space_want (submit_slow): either its retry sees the
 * slot we freed, or we see its request. Taking the request (exchange) makes
 * one pop signal per round of sleep, not every pop while it is asleep.
 */
static inline void after_pop(struct pool *p)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&p->space_want, memory_order_relaxed) &&
	    atomic_exchange_explicit(&p->space_want, 0, memory_order_seq_cst))
		pool__space_signal(p);
}

bool pool__help_one(struct pool *p)
{
	struct pool_shard *self = pool__tls.shard;
	struct pool_work t;
	bool tagged = false;

	if (pool__tls.pool != p || !self || !find_work(p, self, &t, &tagged))
		return false;
	after_pop(p);
	run_task_(p, self, &t, tagged, true);
	return true;
}

/* Retire if the pool shrank below the live worker count (CAS: exactly the
 * surplus retires). */
static bool try_retire(struct pool *p)
{
	int32_t n = atomic_load_explicit(&p->nworkers, memory_order_relaxed);

	while (n > atomic_load_explicit(&p->cap, memory_order_relaxed)) {
		/* seq_cst: part of the single order the exit rescan
		 * (worker_exit) reasons about. */
		if (atomic_compare_exchange_weak_explicit(
			    &p->nworkers, &n, n - 1, memory_order_seq_cst,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

void pool__join_zombie(struct pool *p)
{
	/* Acquire: pairs with the exchange in worker_exit (the thread id
	 * written by pthread_create is visible). */
	pthread_t z = atomic_exchange_explicit(&p->zombie, (pthread_t)0,
					       memory_order_acq_rel);

	if (z)
		pthread_join(z, NULL);
}

/*
 * Some work is queued and maybe nobody is looking: wake a parked worker or
 * spawn one. Called after a seq_cst fence by the caller.
 */
int pool__ensure_worker(struct pool *p, unsigned spawn_flags)
{
	int r;

	if (pool__wake_one(p))
		return 0;
	/* Nobody parked. A worker that just left the stack in its park
	 * rescan (P4) counted itself as a searcher before leaving, and the
	 * acquire load of nidle in pool__wake_one makes that count visible
	 * here: a searcher is responsible for the queued work, so no thread
	 * is started for it. A thread still starting (nstarting) counts
	 * itself as a searcher before it stops starting, then scans; if its
	 * worker_init refuses it hands off (worker_main). Either way it
	 * covers the queued work, so no second thread is started for it. */
	if (atomic_load_explicit(&p->nspinning, memory_order_seq_cst) > 0 ||
	    atomic_load_explicit(&p->nstarting, memory_order_seq_cst) > 0)
		return 0;
	/* Every worker slot taken (a submit from a task while all workers
	 * run): pool__spawn's own first check would refuse, so skip its call
	 * (callgrind: 40 instructions a fork-join level). seq_cst, as
	 * there (a kick has no fence: S3's loads are seq_cst). */
	if (atomic_load_explicit(&p->nworkers, memory_order_seq_cst) >=
	    atomic_load_explicit(&p->cap, memory_order_seq_cst))
		return 0;
	r = pool__spawn(p, spawn_flags & ~(unsigned)POOL_SPAWN_WAIT);
	return r < 0 ? r : 0;
}

void pool__log_spawn_failure(struct pool *p, int err)
{
	pool__log(p, POOL_LOG_ERROR, "cannot start a worker: %s",
		  pool_strerror(err));
}

/* A spawner waiting for worker_init's verdict (POOL_SPAWN_WAIT with an
 * init): on its stack, pointed to by the shard's starter. */
struct pool_spawn_wait {
	_Atomic int32_t result; /* 1 pending, 0 ok, < 0 init error */
};

/* Deliver the verdict to a waiting spawner (no-op without one). Release:
 * pairs with the spawner's acquire load; sw lives on its stack until then,
 * so this is our last access to it. */
static void starter_done(struct pool_spawn_wait *sw, int32_t r)
{
	if (!sw)
		return;
	atomic_store_explicit(&sw->result, r, memory_order_release);
	pool__futex_wake(&sw->result, 1);
}

enum exit_reason { EXIT_CLOSED, EXIT_EXPIRED, EXIT_RETIRED, EXIT_INIT };

/*
 * EXIT_INIT: the caller already released the shard and the slot;
 * EXIT_RETIRED: try_retire already released the slot.
 */
static void worker_exit(struct pool *p, struct pool_shard *self,
			enum exit_reason why)
{
	pthread_t old;

	if (why != EXIT_INIT) {
		if (p->worker_fini)
			p->worker_fini(p->worker_ctx, self->index, self->state);
		self->state = NULL;
	}
	pool__tls.pool = NULL;
	pool__tls.shard = NULL;
	/* Release: the next owner's CAS (acquire) sees our last writes to
	 * the shard. */
	if (why != EXIT_INIT)
		atomic_store_explicit(&self->owner, 0, memory_order_release);
	if (why != EXIT_INIT && why != EXIT_RETIRED)
		atomic_fetch_sub_explicit(&p->nworkers, 1,
					  memory_order_seq_cst);
	if (why == EXIT_EXPIRED)
		atomic_fetch_add_explicit(&p->expired, 1, memory_order_relaxed);
	else if (why == EXIT_RETIRED)
		atomic_fetch_add_explicit(&p->retired, 1, memory_order_relaxed);
	/* Pairs with the submitter's S2 and its read of nworkers in
	 * pool__spawn: either it saw our slot free (and spawns), or we see
	 * its task here and make sure a worker runs it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (why != EXIT_INIT && pool__has_work(p) &&
	    atomic_load_explicit(&p->nspinning, memory_order_relaxed) == 0 &&
	    pool__ensure_worker(p, POOL_SPAWN_ANY) < 0)
		pool__discard_stranded(p);

	old = atomic_exchange_explicit(&p->zombie, pthread_self(),
				       memory_order_acq_rel);
	/* Release: our last access to pool memory; pairs with the acquire
	 * load in wait_threads (pool.c). The wake below touches only the
	 * futex word's address in the kernel, and completes before this
	 * thread returns, which the joiner of this thread waits for. */
	if (atomic_fetch_sub_explicit(&p->nthreads, 1, memory_order_release) ==
	    1)
		pool__futex_wake(&p->nthreads, INT_MAX);
	if (old)
		pthread_join(old, NULL);
}

/*
 * worker_init refused. Give back the slot and the shard, deliver the verdict,
 * then hand off like every other way out of the starting state: a submitter
 * may have skipped its wake-up because it saw us starting
 * (pool__ensure_worker). The fence pairs with S2: either that submitter saw
 * our nstarting decrement (and woke or spawned), or we see its push here.
 * The hand-off wakes a parked worker or starts a replacement, but only while
 * fewer than POOL_INIT_RETRIES inits in a row have refused: an init that
 * keeps refusing must not spin up threads for ever. Past that, queued tasks
 * wait for a live worker (the next submit that finds none free tries a new
 * one), and if no worker is alive at all they are discarded and reported.
 * Runs with the calling thread no longer in the pool's context, so the
 * callbacks it may run (logger, on_discard) call in as an outside caller.
 */
static void init_failed(struct pool *p, struct pool_shard *self,
			struct pool_spawn_wait *sw, int r)
{
	uint32_t streak;

	pool__tls.pool = NULL;
	pool__tls.shard = NULL;
	atomic_fetch_add_explicit(&p->spawn_failed, 1, memory_order_relaxed);
	streak = atomic_fetch_add_explicit(&p->init_refusals, 1,
					   memory_order_relaxed) +
		 1;
	/* Give back shard and slot before the verdict, so a spawner that
	 * sees the failure also sees no worker (pool_submit then reports
	 * the failure). */
	self->state = NULL;
	atomic_store_explicit(&self->owner, 0, memory_order_release);
	atomic_fetch_sub_explicit(&p->nworkers, 1, memory_order_seq_cst);
	atomic_fetch_sub_explicit(&p->nstarting, 1, memory_order_seq_cst);
	starter_done(sw, r);
	pool__log(p, POOL_LOG_ERROR, "worker %u: worker_init failed: %d",
		  self->index, r);
	atomic_thread_fence(memory_order_seq_cst);
	if (!pool__has_work(p) ||
	    atomic_load_explicit(&p->nspinning, memory_order_seq_cst) != 0)
		return;
	if (streak < POOL_INIT_RETRIES) {
		if (pool__ensure_worker(p, POOL_SPAWN_ANY) < 0)
			pool__discard_stranded(p);
	} else if (!pool__wake_one(p)) {
		pool__discard_stranded(p);
	}
}

/*
 * A searcher found work in `from`. If that ring still holds more tasks than
 * there are searchers on their way to them, wake one more parked worker, or,
 * with none parked, start one more thread while fewer than
 * POOL_RAMP_STARTING threads are starting. Every searcher that finds work
 * does this, so a burst into an idle pool wakes its parked workers in a
 * doubling tree instead of the last searcher's chain of one hand-off at a
 * time, and a burst into a cold pool starts its threads several at once
 * instead of one after the other (docs/design.md, "Ramp-up"). The bound on
 * threads starting keeps the thread count following what the queue needs:
 * an unbounded tree started all 10,000 threads of sleep_10k at once.
 * Relaxed reads: a heuristic on top of the hand-off, which is what the
 * no-lost-wake-up argument rests on; an extra wake or thread is never
 * wrong, only wasted. Only while the pool is open: a closing pool's queue
 * is drained by the workers it has and the hand-off (each exit hands on),
 * and threads started then would only add to the exits. pool__spawn takes
 * a slot only below capacity; with POOL_SPAWN_ANY, as the hand-off's
 * spawn: we are a worker, counted in nthreads, so no read-side section is
 * needed (the state read is a heuristic too).
 */
static void ramp_up(struct pool *p, struct pool_ring *from)
{
	if (ring_count(from) <=
	    (uint64_t)atomic_load_explicit(&p->nspinning, memory_order_relaxed))
		return;
	pool__probe(POOL_TP_RAMP_UP, p);
	if (pool__wake_one(p) ||
	    atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN ||
	    atomic_load_explicit(&p->nstarting, memory_order_relaxed) >=
		    POOL_RAMP_STARTING ||
	    atomic_load_explicit(&p->nworkers, memory_order_relaxed) >=
		    atomic_load_explicit(&p->cap, memory_order_relaxed))
		return;
	pool__probe(POOL_TP_RAMP_SPAWN, p);
	(void)pool__spawn(p, POOL_SPAWN_ANY);
}

/* The task loop; returns why the worker leaves (searcher count dropped). */
static enum exit_reason worker_loop(struct pool *p, struct pool_shard *self,
				    struct worker_loop *w)
{
	struct pool_ring *from;
	/* The end tick of the task just run if it was timed, until the next
	 * pop: a timed task taken at once starts from it (pool__obs_start). */
	uint64_t prev_end = 0;

	for (;;) {
		int closed;
		int r;

		/* Shrink: surplus workers retire before taking more work
		 * (after their current task, or as soon as pool_tune wakes
		 * them from the idle stack). */
		if (try_retire(p))
			goto retire;
		closed =
			atomic_load_explicit(&p->state, memory_order_acquire) ==
			POOL_ST_CLOSED;
		/* Paused: start nothing new (pool_pause). Relaxed: a pause
		 * set just now is seen at the next task at the latest. */
		if (atomic_load_explicit(&p->paused, memory_order_relaxed)) {
			pause_wait(p, &w->spinning);
			prev_end = 0;
			continue;
		}
		from = find_work(p, self, &w->t, &w->tagged);
		if (from) {
			if (w->spinning) {
				w->spinning = false;
				pool__obs_busy(self);
				/* The last searcher found work. If more is
				 * queued, hand the search on (wake a parked
				 * worker or spawn one): otherwise queued tasks
				 * could wait behind ours while a worker
				 * idles. The fence pairs with S2 in the submit
				 * path: either the submitter saw our decrement
				 * (and woke someone), or we see its push. */
				if (atomic_fetch_sub_explicit(
					    &p->nspinning, 1,
					    memory_order_seq_cst) == 1) {
					atomic_thread_fence(
						memory_order_seq_cst);
					if (ring_count(from) != 0 ||
					    pool__has_work(p))
						pool__ensure_worker(
							p, POOL_SPAWN_ANY);
				}
				/* A deep queue: one more, in a tree. */
				ramp_up(p, from);
			}
			after_pop(p);
			if (plain_task(p, &w->t)) {
				prev_end = run_plain(p, self, w, prev_end);
			} else {
				run_task(p, self, &w->t, w->tagged);
				prev_end = 0;
			}
			continue;
		}
		prev_end = 0;
		/* Acquire load of state above: a CLOSED state means every
		 * push happened before it (grace period), so an empty scan
		 * after it is final. */
		if (closed) {
			if (w->spinning)
				atomic_fetch_sub_explicit(&p->nspinning, 1,
							  memory_order_seq_cst);
			return EXIT_CLOSED;
		}
		if (!w->spinning &&
		    atomic_load_explicit(&p->nspinning, memory_order_relaxed) <
			    p->max_spinners) {
			atomic_fetch_add_explicit(&p->nspinning, 1,
						  memory_order_seq_cst);
			w->spinning = true;
		}
		if (w->spinning) {
			bool got = false;

			for (unsigned i = 0; i < w->spin_rounds && !got; i++) {
				cpu_relax();
				/* A task to pop, not a claim alone: a pusher
				 * preempted between its claim and its publish
				 * must not keep us spinning (P4). */
				got = (ring_count(self->home) != 0 &&
				       ring_ready(self->home)) ||
				      (i % 16 == 15 &&
				       pool__work_state(p) == POOL_WORK_READY);
			}
			if (got) {
				w->spin_rounds = POOL_SPIN_ROUNDS;
				continue;
			}
			/* Nothing came while we spun: the next spin is
			 * shorter, so a pool woken for one task at a time
			 * burns little CPU per wake-up. */
			if (w->spin_rounds / 2 >= POOL_SPIN_MIN)
				w->spin_rounds /= 2;
		}
		r = pool__park(p, self, &w->spinning);
		if (r == POOL_PARK_EXPIRED)
			return EXIT_EXPIRED;
	}
retire:
	if (w->spinning)
		atomic_fetch_sub_explicit(&p->nspinning, 1,
					  memory_order_seq_cst);
	return EXIT_RETIRED;
}

/*
 * Arm the worker's frame and run the loop in it. A panic in a plain task
 * (pool_panic, or a caught signal) jumps back here with sigsetjmp returning
 * non-zero: the deferred calls run, the panic is reported, the task is
 * counted as it would have been on return, and the loop starts again (it
 * was running a task, so it was not a searcher). This function's frame
 * stays active for the worker's life, and nothing it owns changes after
 * the sigsetjmp (p, self and w are not written), so the jump is defined.
 */
static __attribute__((noinline)) enum exit_reason
worker_guarded(struct pool *p, struct pool_shard *self, struct worker_loop *w)
{
	if (sigsetjmp(w->frame.env, 0) != 0) {
		pool_task_fn fn;
		void *arg;

		pool__task_frame_call(&w->t, &fn, &arg);
		if (w->t.stamp) {
			/* A timed task (never a copy: plain_task). */
			pool__frame_end(&w->frame, p, fn, arg);
			pool__obs_done(self, w->t.stamp, w->start, true);
			task_done(p, self, w->tagged, false);
		} else {
			plain_end(p, self, w, fn, arg, true);
		}
	}
	return worker_loop(p, self, w);
}

/* Out of line: the name's buffer is not part of worker_main's frame, which
 * stays on the stack for the worker's life. */
static __attribute__((noinline)) void name_thread(const struct pool *p,
						  const struct pool_shard *self)
{
	char name[POOL_THREAD_NAME_MAX];

	pool__thread_name(name, p->name, self->index);
	pthread_setname_np(pthread_self(), name);
}

static void *worker_main(void *argp)
{
	struct pool_shard *self = argp;
	struct pool *p = self->pool;
	struct pool_spawn_wait *sw = self->starter; /* see pool__spawn */
	struct worker_loop w = {.spin_rounds = POOL_SPIN_ROUNDS,
				.spinning = false}; /* counted in nstarting */
	void *altstack = NULL;
	enum exit_reason why;

	if (p->flags & POOL_CATCH_SIGNALS)
		altstack = pool__altstack_on();
	name_thread(p, self);
	{
		/* Home ring: one of the rings published now (shared with the
		 * other workers of the same index modulo their number). */
		uint32_t n;
		struct pool_vec *rv = pool__vec_load(&p->rings, &n);

		self->home = pool__ring_at(rv, self->index % n);
	}
	pool__tls.pool = p;
	pool__tls.shard = self;
	self->state = NULL;
	if (p->worker_init) {
		int r = p->worker_init(p->worker_ctx, self->index,
				       &self->state);

		if (r > 0)
			r = POOL_EINVAL;
		if (r < 0) {
			init_failed(p, self, sw, r);
			pool__altstack_off(altstack);
			worker_exit(p, self, EXIT_INIT);
			return NULL;
		}
	}
	if (p->worker_init)
		atomic_store_explicit(&p->init_refusals, 0,
				      memory_order_relaxed);
	/* Start searching: count as a searcher first, stop starting second
	 * (both seq_cst, in the single order with the submitters' S2).
	 * A submitter that read either count skipped its wake-up; from here
	 * on we are a searcher like any other and scan before we can park
	 * (docs/design.md, "Starting workers"). */
	atomic_fetch_add_explicit(&p->nspinning, 1, memory_order_seq_cst);
	atomic_fetch_sub_explicit(&p->nstarting, 1, memory_order_seq_cst);
	w.spinning = true;
	starter_done(sw, 0);

	pool__frame_init(&w.frame, p);
	w.altstack = altstack;
	why = worker_guarded(p, self, &w);
	pool__frame_fini(&w.frame);
	pool__altstack_off(w.altstack);
	worker_exit(p, self, why);
	return NULL;
}

/*
 * Bind a shard to a new worker: a free one (owner CAS 0 -> 1), else a new
 * one made with owner = 1 and appended under grow_lock while fewer than
 * `cap` exist. NULL: every shard is owned and there are cap of them (a
 * retiring worker has not yet released its shard), or no memory (*nomem).
 */
static struct pool_shard *claim_shard(struct pool *p, bool *nomem)
{
	struct pool_shard *got = NULL;
	struct pool_vec *tv;
	uint32_t n;

	*nomem = false;
	/* No read-side section: the set is append-only and nothing in it is
	 * freed before pool_destroy ("The ring and shard sets"). */
	tv = pool__vec_load(&p->table, &n);
	for (uint32_t i = 0; i < n && !got; i++) {
		struct pool_shard *s = pool__shard_at(tv, i);
		uint32_t zero = 0;

		/* Acquire: pairs with the release store of owner in
		 * worker_exit (the previous owner is done with it). */
		if (atomic_compare_exchange_strong_explicit(
			    &s->owner, &zero, 1, memory_order_acquire,
			    memory_order_relaxed))
			got = s;
	}
	if (got)
		return got;
	pthread_mutex_lock(&p->grow_lock);
	tv = pool__vec_load(&p->table, &n);
	if (n < (uint32_t)atomic_load_explicit(&p->cap, memory_order_relaxed)) {
		got = pool__shard_new(p, n);
		/* Owned before it is published: nobody else can claim it. */
		if (got)
			atomic_init(&got->owner, 1);
		if (got && pool__vec_append(&p->table, got) < 0) {
			pool__shard_unget(p, got);
			got = NULL;
		}
		*nomem = !got;
	}
	pthread_mutex_unlock(&p->grow_lock);
	return got;
}

/*
 * Start one worker if the pool is below capacity (and OPEN, unless
 * POOL_SPAWN_ANY). Returns 0 when a worker started, 1 when none was needed or
 * allowed, POOL_ENOMEM, or worker_init's code (POOL_SPAWN_WAIT).
 */
int pool__spawn(struct pool *p, unsigned flags)
{
	bool wait_init = (flags & POOL_SPAWN_WAIT) && p->worker_init;
	bool section = !(flags & POOL_SPAWN_ANY);
	struct pool_spawn_wait wait;
	struct pool_shard *s;
	pthread_attr_t attr;
	bool nomem;
	pthread_t tid;
	int32_t n;
	int err;

	/* Reserve a slot and count the thread. Without POOL_SPAWN_ANY, inside
	 * a read-side section: if it saw OPEN, a concurrent close's grace
	 * period waits for it, so the drainer (wait_drained) sees
	 * nthreads > 0. With POOL_SPAWN_ANY no section is needed: the caller
	 * is a submitter's kick (already inside its own section), a worker
	 * (counted in nthreads itself until its release decrement in
	 * worker_exit, which comes after our increment in the modification
	 * order of nthreads, so no drainer reads 0 while the new thread is
	 * uncounted), or the drainer itself. So a worker's hand-off spawn does
	 * not register the worker with urcu-bp (docs/design.md, "Where an
	 * idle worker's bytes go"). */
	if (section) {
		pool__rcu_read_lock();
		if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN) {
			pool__rcu_read_unlock();
			return 1;
		}
	}
	/* seq_cst loads (and the CAS's failure load): a submitter's kick has
	 * no fence (S2 is a seq_cst load), so a "full" that reads nworkers
	 * before an exiting worker's decrement, or cap before pool_tune's
	 * store, must precede them in S; the exit's and the tune's fences then
	 * follow the push (kick in lib/pool.c). */
	n = atomic_load_explicit(&p->nworkers, memory_order_seq_cst);
	do {
		if (n >= atomic_load_explicit(&p->cap, memory_order_seq_cst)) {
			if (section)
				pool__rcu_read_unlock();
			return 1;
		}
		/* seq_cst: the reservation is part of the single order the
		 * exit rescan reasons about (worker_exit). */
	} while (!atomic_compare_exchange_weak_explicit(&p->nworkers, &n, n + 1,
							memory_order_seq_cst,
							memory_order_seq_cst));
	atomic_fetch_add_explicit(&p->nthreads, 1, memory_order_relaxed);
	if (section)
		pool__rcu_read_unlock();

	s = claim_shard(p, &nomem);
	if (!s && nomem) {
		/* As a failed pthread_create: the slot is given back. */
		err = POOL_ENOMEM;
		if (!(flags & POOL_SPAWN_QUIET))
			pool__log_spawn_failure(p, err);
		atomic_fetch_add_explicit(&p->spawn_failed, 1,
					  memory_order_relaxed);
		atomic_fetch_sub_explicit(&p->nworkers, 1,
					  memory_order_seq_cst);
		if (atomic_fetch_sub_explicit(&p->nthreads, 1,
					      memory_order_release) == 1)
			pool__futex_wake(&p->nthreads, INT_MAX);
		return err;
	}
	if (!s) {
		/* Every shard is owned: a worker retiring after a shrink has
		 * given back its slot (try_retire) but not yet its shard
		 * (worker_exit). Nothing is started and nothing failed: that
		 * worker's exit rescan, after it releases the shard, starts a
		 * worker if work is queued (found by the spin model). */
		atomic_fetch_sub_explicit(&p->nworkers, 1,
					  memory_order_seq_cst);
		if (atomic_fetch_sub_explicit(&p->nthreads, 1,
					      memory_order_release) == 1)
			pool__futex_wake(&p->nthreads, INT_MAX);
		return 1;
	}
	/* The thread's argument is the shard (we own it: owner is 1), so
	 * nothing is allocated here for the worker to free: a worker that
	 * never allocates never gets a malloc thread cache. */
	atomic_init(&wait.result, 1);
	s->starter = wait_init ? &wait : NULL;

	/* Counted as starting (not searching) until it scans: see
	 * pool__ensure_worker and worker_main. */
	atomic_fetch_add_explicit(&p->nstarting, 1, memory_order_seq_cst);
	pthread_attr_init(&attr);
	if (p->stack_size)
		pthread_attr_setstacksize(&attr, p->stack_size);
	err = pool__inject_failure()
		      ? EAGAIN
		      : pthread_create(&tid, &attr, worker_main, s);
	pthread_attr_destroy(&attr);
	if (err) {
		atomic_fetch_sub_explicit(&p->nstarting, 1,
					  memory_order_seq_cst);
		err = POOL_ENOMEM;
		if (!(flags & POOL_SPAWN_QUIET))
			pool__log_spawn_failure(p, err);
		goto fail;
	}
	atomic_fetch_add_explicit(&p->spawned, 1, memory_order_relaxed);
	if (wait_init) {
		int32_t r;

		/* Acquire: pairs with the worker's release store of result. */
		while ((r = atomic_load_explicit(&wait.result,
						 memory_order_acquire)) == 1)
			pool__futex_wait(&wait.result, 1, -1);
		/* On failure the worker released its slot and shard. */
		return r;
	}
	return 0;
fail:
	atomic_store_explicit(&s->owner, 0, memory_order_release);
	atomic_fetch_add_explicit(&p->spawn_failed, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&p->nworkers, 1, memory_order_seq_cst);
	/* Release: pairs with the drainer's acquire load of nthreads. */
	if (atomic_fetch_sub_explicit(&p->nthreads, 1, memory_order_release) ==
	    1)
		pool__futex_wake(&p->nthreads, INT_MAX);
	return err;
}
