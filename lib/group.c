/* SPDX-License-Identifier: MIT */
/*
 * lib/group.c - task groups (errgroup) and pool_wait_idle.
 *
 * Layer: above the pool and ctx.c. Uses one worker-level entry point,
 * pool__help_one (worker.c), for the helping wait; park/wake is untouched:
 * a helping waiter stays a running worker and is never on the idle stack.
 *
 * No lock. Per group: `pending` counts tasks accepted by go and not yet
 * ended (a slot of the limit each); `exiting` counts ends in progress,
 * so a waiter that sees both at 0 knows no task touches the group any
 * more (it may be destroyed). `gseq` is the futex word waiters sleep on;
 * it is bumped when pending reaches 0 with a waiter announced (wwant), when
 * a slot frees with a blocked go announced (swant), and by a context
 * cancellation watched by a waiter. The announcement and the decrement are
 * a Dekker pair (seq_cst on both sides), see task_end and the waits.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "pool/group.h"

#define GROUP_MAX_LIMIT (1 << 30)
/* A waiter that finds nothing to run keeps looking (32 pauses apart) for
 * SPIN_NS before it sleeps: a slot or the group's end is usually a task's
 * time away, and in fork-join the child it waits for was stolen and the
 * thief pushes grandchildren it can take. Then a helping waiter naps, from
 * HELP_NAP_MIN_NS doubling up to HELP_NAP_NS, looking for queued work after
 * each nap (a submit does not wake it: it is not on the idle stack); a
 * waiter outside the pool sleeps until woken. */
#define SPIN_NS		250000
#define WAIT_PAUSES	2
#define HELP_NAP_MIN_NS 20000
#define HELP_NAP_NS	1000000
/* Hand-off (take_offer): a task end runs at most CHAIN_MAX offered tasks
 * in a row before it ends (the pool's other queued work waits no longer
 * than that), and after a task it took, or in a group fed from outside at
 * its limit, it looks for the next offer for OFFER_SPINS pauses (about
 * 9 us here: the go it served is a return and a call away from offering
 * again). */
#define CHAIN_MAX   64
#define OFFER_SPINS 256
/* group_wait_for: the go's offer was taken (the go succeeded). */
#define HANDED 1
/* mstate bits: the holder reads or writes mfn/marg; a posted go waits in
 * them; the spare record is queued in the pool (no post until it runs). */
#define M_BUSY	1
#define M_FULL	2
#define M_SPARE 4

/*
 * A go blocked at the limit, offered to the task end that frees its slot
 * (the hand-off): that end keeps the slot, runs fn(arg) itself and never
 * decrements pending for it. Lives on the go's stack. taken: stored 1 by
 * the taker after it read fn and arg, its last access to the offer.
 */
struct group_offer {
	pool_group_fn fn;
	void *arg;
	_Atomic int32_t taken;
};

/* A task of a group (an itask, see internal.h). */
struct group_task {
	struct pool_itask it;
	struct pool_group *g;
	pool_group_fn fn;
	void *arg;
	/* Shared (submitted from a task of the group's pool): the record is
	 * also in the group's `last` slot, so a waiter may run it before a
	 * worker pops it. state: ST_* bits, one fetch_or by each of its two
	 * holders, the ring's (ST_RING: the pop, discard, or the go whose
	 * submit failed) and the slot's (ST_SLOT: a waiter, or whoever
	 * exchanged it out), each with ST_CLAIMED if it wants to run it: the
	 * first claim runs or discards it, the second holder frees it
	 * (gt_leave). */
	bool shared;
	/* The group's own record (pool_group.spare), never freed. */
	bool spare;
	_Atomic int32_t state;
};

struct pool_group {
	/* Immutable after pool_group_new. raw: the allocation g lies in
	 * (group_alloc), what pool_group_destroy frees. */
	void *raw;
	struct pool *pool;
	struct pool_ctx *ctx;
	/* ctx's cause word (pool__ctx_err_word) and whether ctx has a
	 * deadline: without one, group_ctx_err is this one load. */
	_Atomic int32_t *cerr;
	bool cdeadline;
	int64_t limit;
	pool_group_skip_fn on_skip;
	void *skip_arg;

	/* Written by go and by every task end. Own line: a go that posts
	 * (see post) and the end that takes it touch this line only. */
	_Atomic int64_t pending POOL_CACHE_ALIGNED;
	_Atomic int32_t exiting;
	/* Task ends of g between their start (gt_exec) and their last look
	 * at the mailbox: incremented (relaxed) by each, decremented
	 * (seq_cst) when it leaves, then it looks once more (post). */
	_Atomic int32_t consumers;
	/* The mailbox: one go that holds a slot, posted from outside the
	 * pool for a running task end to run (post, take_mail). M_* bits;
	 * mfn/marg are written and read only by the holder of M_BUSY
	 * (CAS 0 -> M_BUSY by the poster, M_FULL -> M_BUSY by the taker). */
	_Atomic int32_t mstate;
	pool_group_fn mfn;
	void *marg;
	/* Slow path: waiters and wake-ups. */
	_Atomic int32_t gseq POOL_CACHE_ALIGNED;
	_Atomic int32_t wwant; /* set by waiters for "pending == 0" */
	_Atomic int32_t swant; /* set by go blocked at the limit */
	_Atomic int32_t err;   /* first error: CAS 0 -> code, once */
	_Atomic uint64_t skipped;
	_Atomic int32_t sleepers; /* test hook: callers asleep in a wait */
	/* Test hook: withdrawals that found the offer taken. */
	_Atomic int32_t withdraw_lost;
	/* The newest shared task (exchange by go and by waiters; its slot
	 * reference goes with it). Own line: written per go from tasks. */
	_Atomic(struct group_task *) last POOL_CACHE_ALIGNED;
	/* A go blocked at the limit from outside the pool, offered to the
	 * next task end (see take_offer): CAS NULL -> offer by that go,
	 * exchange to NULL by the task end that takes it, CAS offer -> NULL
	 * by the go that takes it back. Own line: written per go and per
	 * task end while a go is blocked. */
	_Atomic(struct group_offer *) offer POOL_CACHE_ALIGNED;
	/* Set (relaxed, once) by the first go that offers: the group is fed
	 * from outside the pool at its limit, so a task end waits a little
	 * for an offer before it frees its slot (take_offer). */
	_Atomic int32_t fed;
	/* 1 while a task end of g owns the chain (gt_exec): only that end
	 * waits for offers; the others look once and end, so at most one
	 * worker spins for the feeder (on 2 CPUs a second spinner takes the
	 * feeder's CPU). CAS 0 -> 1 by the end that claims it, store 0 by
	 * the same end. A hint only: no offer depends on it (a go's offer
	 * is taken by some end or taken back by the go). */
	_Atomic int32_t chained;
	/* The record a posted go becomes when the end that took it may not
	 * run it (paused pool, or its chain is long enough): pushed to the
	 * pool as any task (convert). In use while mstate has M_SPARE. */
	struct group_task spare;
};

/* The groups whose tasks run on this thread's stack (innermost first).
 * seen: frame_bit of every group in this frame and the ones below it, so
 * that the POOL_EDEADLK check (on_my_stack) walks the chain only when g's
 * bit is set (fork-join: the chain is as deep as the recursion, and none of
 * its groups is the one waited for). */
struct group_frame {
	struct pool_group *g;
	struct group_frame *prev;
	uint64_t seen;
};
static _Thread_local struct group_frame *tls_frames;

/*
 * What this thread keeps for reuse: the groups it destroyed, with their
 * contexts, for its next pool_group_new, and the task records it freed,
 * for its next go (fork-join makes and destroys a group and a record per
 * level, mostly on one thread: callgrind put their three allocations and
 * frees at ~650 of the ~1,900 instructions a level cost). Only a group
 * without a parent context whose context nobody else holds is kept
 * (pool__ctx_recycle). At most GROUP_CACHE groups and REC_CACHE records,
 * freed when the thread exits (or, for the thread that calls exit, by an
 * atexit handler). A depth-first fork-join holds a group per level of its
 * recursion at once, and unwinding keeps only GROUP_CACHE of them for the
 * descent that follows: with 4, 15 % of fib(30)'s groups (cutoff 15, 15
 * levels deep) missed and paid an allocation, a context and a mutex init.
 */
#define GROUP_CACHE 16
#define REC_CACHE   16
struct group_cache {
	struct pool_group *g[GROUP_CACHE];
	struct group_task *rec[REC_CACHE];
	int n;
	int nrec;
	/* The key's value is this cache (cache_keyed_here); cleared by a
	 * drain, after which the key may have been reset. */
	bool keyed;
};
static _Thread_local struct group_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_keyed;

/* Under AddressSanitizer nothing is kept: every destroy and free reaches
 * the allocator, so a use after it is caught, and LeakSanitizer does not
 * see blocks kept in a thread's TLS (it reported them as leaks). */
#if defined(__SANITIZE_ADDRESS__)
#define CACHE_ON 0
#else
#define CACHE_ON 1
#endif

static void group_free(struct pool_group *g)
{
	pool_ctx_destroy(g->ctx);
	pool__free(g->raw);
}

/* Thread exit: free what the thread kept. */
static void cache_drain(void *arg)
{
	struct group_cache *c = arg;

	c->keyed = false;
	while (c->n > 0) {
		struct pool_group *g = c->g[--c->n];

		group_free(g);
	}
	while (c->nrec > 0) {
		struct group_task *t = c->rec[--c->nrec];

		pool__free(t);
	}
}

/* exit(): the exiting thread's key destructor does not run. */
static void cache_at_exit(void)
{
	cache_drain(&tls_cache);
}

/* Unloaded (dlclose): no thread exit may call into the unmapped code. */
__attribute__((destructor)) static void cache_key_unmake(void)
{
	if (cache_keyed)
		pthread_key_delete(cache_key);
}

static void cache_key_make(void)
{
	cache_keyed = pthread_key_create(&cache_key, cache_drain) == 0 &&
		      atexit(cache_at_exit) == 0;
}

/* The exit destructor runs for a thread whose key has a value: set once
 * per thread, at its first put. False: nothing may be kept. */
static bool cache_keyed_here(struct group_cache *c)
{
	if (c->keyed)
		return true;
	pthread_once(&cache_once, cache_key_make);
	c->keyed = cache_keyed && pthread_setspecific(cache_key, c) == 0;
	return c->keyed;
}

/* Keep g (its context recycled) or free it. */
static void cache_put(struct pool_group *g)
{
	struct group_cache *c = &tls_cache;

	if (CACHE_ON && c->n < GROUP_CACHE && pool__ctx_recycle(g->ctx) &&
	    cache_keyed_here(c)) {
		c->g[c->n++] = g;
		return;
	}
	group_free(g);
}

/* Keep the ended record t or free it. */
static void rec_put(struct group_task *t)
{
	struct group_cache *c = &tls_cache;

	if (CACHE_ON && c->nrec < REC_CACHE && cache_keyed_here(c)) {
		c->rec[c->nrec++] = t;
		return;
	}
	pool__free(t);
}

/* A record for a go: a kept one or a new allocation (NULL: none). */
static struct group_task *rec_get(void)
{
	struct group_cache *c = &tls_cache;
	struct group_task *t;

	if (c->nrec == 0)
		return pool__alloc(sizeof(*t));
	t = c->rec[--c->nrec];
	return t;
}

/* A kept group (its context as new), or NULL. */
static struct pool_group *cache_get(void)
{
	struct group_cache *c = &tls_cache;
	struct pool_group *g;

	if (c->n == 0)
		return NULL;
	g = c->g[--c->n];
	return g;
}

/* Test hook: free what this thread keeps. */
void pool__group_cache_drain(void)
{
	cache_drain(&tls_cache);
}

/* g's bit in group_frame.seen: one of 64, by a multiplicative hash (groups
 * are cache-line aligned, so their low bits say nothing). */
static POOL_INLINE uint64_t frame_bit(const struct pool_group *g)
{
	return (uint64_t)1 << (((uintptr_t)g * UINT64_C(0x9E3779B97F4A7C15)) >>
			       58);
}

/* Tasks of g running on this thread's stack (below the caller). */
static int64_t on_my_stack(struct pool_group *g)
{
	struct group_frame *f = tls_frames;
	int64_t n = 0;

	if (!f || !(f->seen & frame_bit(g)))
		return 0;
	for (; f; f = f->prev)
		n += f->g == g;
	return n;
}

/* The group context's cause, as pool_ctx_err(g->ctx) returns it. Acquire:
 * as pool_ctx_err's load (pairs with the cancel's release store of err). */
static POOL_INLINE int group_ctx_err(const struct pool_group *g)
{
	int e = atomic_load_explicit(g->cerr, memory_order_acquire);

	if (e || !g->cdeadline)
		return e;
	return pool_ctx_err(g->ctx);
}

/* Keep the first error and cancel the group's context with it. */
static void set_err(struct pool_group *g, int e)
{
	int32_t zero = 0;

	/* Release: pairs with the acquire load in the waits (what the
	 * failing task did is visible with its code). */
	if (atomic_compare_exchange_strong_explicit(&g->err, &zero, e,
						    memory_order_release,
						    memory_order_relaxed))
		pool_ctx_cancel(g->ctx, e);
}

static void bump(struct pool_group *g)
{
	/* Release: pairs with the waiters' acquire load of gseq. */
	atomic_fetch_add_explicit(&g->gseq, 1, memory_order_release);
	pool__futex_wake(&g->gseq, INT_MAX);
}

/*
 * task_end for a task of g that a wait on g ran on this thread (run_last),
 * and task_end's body between its exiting increment and decrement:
 * that wait's own call keeps g alive until it returns (pool_group_destroy
 * must not run concurrently with any other call on g), so the accesses
 * after the decrement need no `exiting` around them (two locked operations
 * less a fork-join level). Another waiter that sees pending reach 0 may
 * return meanwhile: our task's end happens-before that (the decrement is
 * the release it pairs with), and the bump is only its wake-up.
 */
static void task_end_waited(struct pool_group *g)
{
	int64_t left;

	left = atomic_fetch_sub_explicit(&g->pending, 1, memory_order_seq_cst) -
	       1;
	if (g->limit && atomic_load_explicit(&g->swant, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&g->swant, 0, memory_order_seq_cst))
		bump(g);
	if (left == 0 && atomic_load_explicit(&g->wwant, memory_order_seq_cst))
		bump(g);
}

/*
 * A task of g ended (ran, skipped, discarded) or a go gave its slot back.
 * The decrement is seq_cst and pairs with the waiters' seq_cst store of
 * wwant/swant and load of pending: either a waiter sees the new count, or
 * we see its announcement and bump gseq, which it loaded before. exiting
 * covers every access after the decrement; its release decrement is our
 * last access to g and pairs with the acquire load in the waits.
 */
static void task_end(struct pool_group *g)
{
	atomic_fetch_add_explicit(&g->exiting, 1, memory_order_relaxed);
	task_end_waited(g);
	atomic_fetch_sub_explicit(&g->exiting, 1, memory_order_release);
}

static void report_skip(struct pool_group *g, pool_group_fn fn, void *arg,
			int cause)
{
	atomic_fetch_add_explicit(&g->skipped, 1, memory_order_relaxed);
	set_err(g, cause);
	if (g->on_skip)
		g->on_skip(g->skip_arg, fn, arg, cause);
}

/* A member's call, as pool__run_guarded_as runs it. */
struct member_call {
	pool_group_fn fn;
	void *arg;
	int ret;
};

static void call_task(void *arg)
{
	struct member_call *m = arg;

	m->ret = m->fn(m->arg);
}

/* group_task.state */
#define ST_CLAIMED 1
#define ST_RING	   2
#define ST_SLOT	   4

/*
 * The holder `mine` (ST_RING or ST_SLOT) of t is done with it, and asks
 * to run it if claim. Returns ST_CLAIMED if the claim is ours (the one
 * runner or discarder), or'ed with ST_SLOT if we are the last holder: the
 * caller frees t (rec_put) when it no longer needs it. Anything the caller
 * needs of t it reads before (its fields are immutable while either holder
 * has it): the other holder may free it as soon as we are done. One locked
 * operation per holder (a claim CAS and a reference decrement each, before:
 * one less for a fork-join level's waiter). acq_rel: the free happens-after
 * the other holder's last access (its release here); the claim needs no
 * more (the fields were published by the push or the slot exchange).
 * A record that is not shared has one holder: ours, always.
 */
static int32_t gt_leave(struct group_task *t, int32_t mine, bool claim)
{
	int32_t old, r = 0;

	if (!t->shared)
		return ST_CLAIMED | ST_SLOT;
	old = atomic_fetch_or_explicit(&t->state,
				       mine | (claim ? ST_CLAIMED : 0),
				       memory_order_acq_rel);
	if (claim && !(old & ST_CLAIMED))
		r |= ST_CLAIMED;
	if (old & ((ST_RING | ST_SLOT) ^ mine))
		r |= ST_SLOT;
	return r;
}

/* The holder `mine` of t is done with it without running it. */
static void gt_drop(struct group_task *t, int32_t mine)
{
	if (gt_leave(t, mine, false) & ST_SLOT)
		rec_put(t);
}

/* Run one member fn(arg) of g holding a slot (or skip it); keep its error.
 * Returns whether it panicked. */
static POOL_INLINE bool run_member(struct pool_group *g, pool_group_fn fn,
				   void *arg)
{
	struct member_call m = {fn, arg, 0};
	struct group_frame f = {g, tls_frames,
				(tls_frames ? tls_frames->seen : 0) |
					frame_bit(g)};
	int e = group_ctx_err(g);
	bool panicked;

	if (e) {
		report_skip(g, fn, arg, e);
		return false;
	}
	tls_frames = &f;
	/* Our own guard: a panic ends the task here, and the group still
	 * counts it. The handler is shown the user's task. */
	panicked = pool__run_guarded_as(g->pool, call_task, &m,
					(pool_task_fn)(void (*)(void))fn, arg);
	tls_frames = f.prev;
	if (panicked)
		set_err(g, POOL_EPANIC);
	else if (m.ret < 0)
		set_err(g, m.ret);
	return panicked;
}

/*
 * The hand-off: after a member ended, take the go offered at the limit, if
 * any, and keep the member's slot for it (pending is not decremented). No
 * offer is taken while the group's context is done (the go returns the
 * cause), the pool is paused or not open.
 *
 * No lost wake-up: the taker stores taken (seq_cst), then loads swant
 * (seq_cst); the go stores swant (seq_cst), then loads taken (seq_cst)
 * before it sleeps (group_wait_for). Either the go sees taken, or we see
 * its announcement and bump gseq, which it loaded before announcing.
 */
static bool take_offer(struct pool_group *g, pool_group_fn *fn, void **arg)
{
	struct pool *p = g->pool;
	struct group_offer *o;

	if (group_ctx_err(g) ||
	    atomic_load_explicit(&p->paused, memory_order_relaxed) ||
	    atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN)
		return false;
	/* Acquire: pairs with the go's release CAS that offered it (fn, arg
	 * and what the go's caller did before are visible). */
	o = atomic_exchange_explicit(&g->offer, NULL, memory_order_acquire);
	if (!o)
		return false;
	*fn = o->fn;
	*arg = o->arg;
	pool__probe(POOL_TP_GROUP_OFFER_TAKE, p);
	/* seq_cst: the Dekker pair above; also release for the go's acquire
	 * load of taken. Our last access to o: the go may return now. */
	atomic_store_explicit(&o->taken, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&g->swant, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&g->swant, 0, memory_order_seq_cst))
		bump(g);
	return true;
}

/*
 * Take the posted go (see post), if any: M_FULL -> M_BUSY. The caller then
 * runs it (mail_done first) or converts it (convert); either ends M_BUSY.
 * The load is seq_cst: on the way out of a chain it is the second half of
 * the Dekker pair with post (after our decrement of consumers).
 */
static bool take_mail(struct pool_group *g, pool_group_fn *fn, void **arg)
{
	int32_t full = M_FULL;

	if (atomic_load_explicit(&g->mstate, memory_order_seq_cst) != M_FULL)
		return false;
	/* Acquire: pairs with post's release store of M_FULL (mfn, marg and
	 * what the go's caller did before it are visible). */
	if (!atomic_compare_exchange_strong_explicit(&g->mstate, &full, M_BUSY,
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	*fn = g->mfn;
	*arg = g->marg;
	return true;
}

/* The taken go will run here: free the mailbox. Release: our reads of
 * mfn/marg happen-before the next poster's writes (its acquire CAS). */
static void mail_done(struct pool_group *g)
{
	atomic_store_explicit(&g->mstate, 0, memory_order_release);
}

/*
 * A taken go (M_BUSY held) that may not run here: it becomes the spare
 * record, queued in the pool as a go from inside a task would be (paused:
 * it starts after pool_resume; stop: discarded and reported). The slot
 * it holds goes with it. A FULL mailbox implies a free spare: post needs
 * mstate == 0, and only the holder of M_BUSY sets M_SPARE.
 */
static void convert(struct pool_group *g, pool_group_fn fn, void *arg)
{
	struct group_task *t = &g->spare;
	int r;

	t->fn = fn;
	t->arg = arg;
	t->it.user_fn = (pool_task_fn)(void (*)(void))fn;
	t->it.user_arg = arg;
	/* Release: as mail_done (posts wait while M_SPARE is set). */
	atomic_store_explicit(&g->mstate, M_SPARE, memory_order_release);
	r = pool__submit_obeying(g->pool, NULL, &t->it);
	if (r < 0) {
		/* Not queued (closed): reported as a discarded task. */
		atomic_fetch_and_explicit(&g->mstate, ~M_SPARE,
					  memory_order_release);
		report_skip(g, fn, arg, r);
		task_end(g);
	}
}

enum next { NEXT_NONE, NEXT_MAIL, NEXT_OFFER };

/* What a task end runs next in its chain: a posted go (it holds a slot of
 * its own), else an offered go (it takes our slot). wait: look for either
 * for OFFER_SPINS pauses. */
static enum next next_member(struct pool_group *g, pool_group_fn *fn,
			     void **arg, bool wait)
{
	for (int i = 0;; i++) {
		if (take_mail(g, fn, arg))
			return NEXT_MAIL;
		if (atomic_load_explicit(&g->offer, memory_order_relaxed))
			return take_offer(g, fn, arg) ? NEXT_OFFER : NEXT_NONE;
		if (!wait || i >= OFFER_SPINS)
			return NEXT_NONE;
		if (i == 0)
			pool__probe(POOL_TP_GROUP_OFFER_SPIN, g->pool);
		cpu_relax();
	}
}

/* Claim g's chain (see `chained`): true if this end may wait for offers. */
static bool chain_claim(struct pool_group *g)
{
	int32_t zero = 0;

	/* Relaxed: a hint that orders nothing (see `chained`). */
	return !atomic_load_explicit(&g->chained, memory_order_relaxed) &&
	       atomic_compare_exchange_strong_explicit(&g->chained, &zero, 1,
						       memory_order_relaxed,
						       memory_order_relaxed);
}

/*
 * Run a claimed task fn(arg) of g (or skip it), then the gos handed to its
 * end (posted or offered), and end it. Returns whether the claimed task
 * panicked.
 *
 * Leaving, the end decrements consumers (seq_cst) and then looks at the
 * mailbox (seq_cst load): the Dekker pair with post, which stores M_FULL
 * and then loads consumers. Either post sees our decrement (and takes its
 * go back) or we see its go (and run or convert it): a posted go is never
 * left in the mailbox with nobody to look.
 */
static bool gt_exec(struct pool_group *g, pool_group_fn fn, void *arg)
{
	/* Spin for an offer after a task the chain took, or in a group fed
	 * from outside at its limit: holding the slot meanwhile keeps the
	 * feeding go at the limit, so it offers rather than pushes a task
	 * that a parked worker must be woken for. Only the chain's owner
	 * spins; another end takes a go that is there and else ends. */
	bool spin = atomic_load_explicit(&g->fed, memory_order_relaxed);
	bool owner = false;
	bool panicked;
	int n = 0;

	/* No limit: no go waits at one (no offers) and none posts. */
	if (!g->limit) {
		panicked = run_member(g, fn, arg);
		task_end(g);
		return panicked;
	}
	/* Relaxed: a post whose seq_cst load reads this increment is
	 * ordered before our seq_cst decrement (coherence), all it needs. */
	atomic_fetch_add_explicit(&g->consumers, 1, memory_order_relaxed);
	panicked = run_member(g, fn, arg);
	for (;;) {
		enum next k = NEXT_NONE;

		if (n < CHAIN_MAX) {
			bool wait = (spin || n) &&
				    (owner || (owner = chain_claim(g)));

			k = next_member(g, &fn, &arg, wait);
		}
		if (k == NEXT_NONE) {
			pool__probe(POOL_TP_GROUP_LEAVE, g->pool);
			atomic_fetch_sub_explicit(&g->consumers, 1,
						  memory_order_seq_cst);
			if (!take_mail(g, &fn, &arg))
				break;
			if (n >= CHAIN_MAX) {
				convert(g, fn, arg);
				break;
			}
			atomic_fetch_add_explicit(&g->consumers, 1,
						  memory_order_relaxed);
			k = NEXT_MAIL;
		}
		if (k == NEXT_MAIL) {
			/* Paused: start nothing new (pool_pause). */
			if (atomic_load_explicit(&g->pool->paused,
						 memory_order_relaxed)) {
				convert(g, fn, arg);
				continue;
			}
			mail_done(g);
			/* The member that ran last frees its slot: the posted
			 * go holds one of its own. */
			task_end(g);
		}
		run_member(g, fn, arg);
		/* Ran without the queue, as an inline run does: counted as
		 * one (pool_stats inline_runs; not submitted/completed). */
		atomic_fetch_add_explicit(&g->pool->inline_runs, 1,
					  memory_order_relaxed);
		n++;
	}
	if (owner)
		atomic_store_explicit(&g->chained, 0, memory_order_relaxed);
	task_end(g);
	return panicked;
}

/* The spare record popped (or run inline by convert's submit): free it
 * for the next conversion before running. Release: our reads of it
 * happen-before the next convert's writes (through post's acquire CAS and
 * the taker's). We hold the go's slot, so g lives on. */
static bool run_spare(struct group_task *t)
{
	struct pool_group *g = t->g;
	pool_group_fn fn = t->fn;
	void *arg = t->arg;

	atomic_fetch_and_explicit(&g->mstate, ~M_SPARE, memory_order_release);
	return gt_exec(g, fn, arg);
}

static bool gt_run(struct pool_itask *it)
{
	struct group_task *t = (struct group_task *)it;
	bool panicked = false;

	struct pool_group *g = t->g;
	pool_group_fn fn = t->fn;
	void *arg = t->arg;
	int32_t l;

	if (t->spare)
		return run_spare(t);
	l = gt_leave(t, ST_RING, true);
	if (l & ST_CLAIMED)
		panicked = gt_exec(g, fn, arg);
	if (l & ST_SLOT)
		rec_put(t);
	return panicked;
}

/*
 * The waiter's work-first step: run the group's newest queued task here,
 * if no worker took it yet (fork-join: the child just pushed). Returns
 * true if the slot held a task (run here or already taken).
 */
static bool run_last(struct pool_group *g)
{
	struct group_task *t;
	pool_group_fn fn;
	void *arg;
	int32_t l;

	if (!atomic_load_explicit(&g->last, memory_order_relaxed))
		return false;
	/* Acquire: pairs with the release exchange in go_common. */
	t = atomic_exchange_explicit(&g->last, NULL, memory_order_acquire);
	if (!t)
		return false;
	fn = t->fn;
	arg = t->arg;
	l = gt_leave(t, ST_SLOT, true);
	if (l & ST_SLOT)
		rec_put(t);
	if (l & ST_CLAIMED) {
		/* No limit (fork-join): no chain, and our wait keeps g alive
		 * (task_end_waited). */
		if (!g->limit) {
			run_member(g, fn, arg);
			task_end_waited(g);
		} else {
			gt_exec(g, fn, arg);
		}
	}
	return true;
}

/* A shared record whose claim another runner won (its waiter ran it
 * inline, run_last): only the ring's holder is left to leave, before any
 * guard (pool__task_run). Relaxed: ST_CLAIMED, once set, stays (the
 * winner's run orders nothing we do; the leave is acq_rel). */
static bool gt_gone(struct pool_itask *it)
{
	struct group_task *t = (struct group_task *)it;

	if (!t->shared ||
	    !(atomic_load_explicit(&t->state, memory_order_relaxed) &
	      ST_CLAIMED))
		return false;
	gt_drop(t, ST_RING);
	return true;
}

static void gt_discard(struct pool_itask *it, pool_discard_fn fn, void *ctx)
{
	struct group_task *t = (struct group_task *)it;
	struct pool_group *g = t->g;

	(void)fn;
	(void)ctx;
	if (t->spare) {
		pool_group_fn ufn = t->fn;
		void *uarg = t->arg;

		/* As run_spare: free the record, then report. */
		atomic_fetch_and_explicit(&g->mstate, ~M_SPARE,
					  memory_order_release);
		report_skip(g, ufn, uarg, POOL_ECLOSED);
		task_end(g);
		return;
	}
	{
		pool_group_fn ufn = t->fn;
		void *uarg = t->arg;
		int32_t l = gt_leave(t, ST_RING, true);

		if (l & ST_SLOT)
			rec_put(t);
		if (l & ST_CLAIMED) {
			report_skip(g, ufn, uarg, POOL_ECLOSED);
			task_end(g);
		}
	}
}

/* ---- life ---- */

/*
 * A group is cache-line aligned (its sections are), and a fork-join makes
 * and frees one per level. posix_memalign never takes glibc's per-thread
 * cache and its frees overflow that cache into the arena: perf record of
 * `fork_join/pool` put 10-12% of all CPU in memalign, _int_free, _int_malloc
 * and malloc_consolidate. So a group is a plain allocation of one line more
 * than it needs (the per-thread cache's path; the failure sweep's too),
 * aligned inside.
 */
static struct pool_group *group_alloc(void)
{
	char *raw = pool__alloc(sizeof(struct pool_group) + POOL_CACHELINE - 1);
	struct pool_group *g;

	if (!raw)
		return NULL;
	g = (struct pool_group *)(((uintptr_t)raw + POOL_CACHELINE - 1) &
				  ~(uintptr_t)(POOL_CACHELINE - 1));
	memset(g, 0, sizeof(*g));
	g->raw = raw;
	return g;
}

int pool_group_new(pool_group_t **out, pool_t *p, const pool_group_options_t *o)
{
	pool_group_options_t opt;
	struct pool_group *g;
	int r;

	if (!out || !p)
		return POOL_EINVAL;
	memset(&opt, 0, sizeof(opt));
	if (o) {
		if (o->size != sizeof(opt))
			return POOL_EINVAL;
		memcpy(&opt, o, sizeof(opt));
	}
	if (opt.limit < 0 || opt.limit > GROUP_MAX_LIMIT)
		return POOL_EINVAL;
	g = opt.parent ? NULL : cache_get();
	/* A kept group is not cleared: every field is set below but the
	 * mailbox's mfn/marg and the spare's task, written before each use. */
	if (!g) {
		g = group_alloc();
		if (!g)
			return POOL_ENOMEM;
		r = pool_ctx_new(&g->ctx, opt.parent, POOL_CTX_NO_TIMEOUT);
		if (r < 0) {
			pool__free(g->raw);
			return r;
		}
		g->cerr = pool__ctx_err_word(g->ctx);
		/* A parent's deadline is the child's; a kept group's context
		 * has none (pool__ctx_recycle). */
		g->cdeadline =
			pool_ctx_deadline(g->ctx) != POOL_CTX_NO_DEADLINE;
	}
	g->pool = p;
	g->limit = opt.limit;
	g->on_skip = opt.on_skip;
	g->skip_arg = opt.skip_arg;
	atomic_init(&g->pending, 0);
	atomic_init(&g->exiting, 0);
	atomic_init(&g->gseq, 0);
	atomic_init(&g->wwant, 0);
	atomic_init(&g->swant, 0);
	atomic_init(&g->err, 0);
	atomic_init(&g->skipped, 0);
	atomic_init(&g->sleepers, 0);
	atomic_init(&g->withdraw_lost, 0);
	atomic_init(&g->last, NULL);
	atomic_init(&g->offer, NULL);
	atomic_init(&g->fed, 0);
	atomic_init(&g->chained, 0);
	atomic_init(&g->consumers, 0);
	atomic_init(&g->mstate, 0);
	g->spare.it.run = gt_run;
	g->spare.it.gone = NULL;
	g->spare.it.discard = gt_discard;
	g->spare.g = g;
	g->spare.shared = false;
	g->spare.spare = true;
	*out = g;
	return 0;
}

int pool_group_destroy(pool_group_t *g)
{
	if (!g)
		return POOL_EINVAL;
	/* Acquire: pairs with task_end's release decrement of exiting. */
	if (atomic_load_explicit(&g->pending, memory_order_acquire) != 0)
		return POOL_EBUSY;
	while (atomic_load_explicit(&g->exiting, memory_order_acquire) != 0)
		cpu_relax();
	/* A record left in the slot has ended (pending is 0): drop the
	 * slot's reference. */
	{
		struct group_task *t = atomic_exchange_explicit(
			&g->last, NULL, memory_order_acquire);

		if (t)
			gt_drop(t, ST_SLOT);
	}
	cache_put(g);
	return 0;
}

/* Test hook: callers asleep in a wait or a blocked go now. */
int pool__group_sleepers(pool_group_t *g)
{
	return atomic_load_explicit(&g->sleepers, memory_order_relaxed);
}

/* Test hook: withdrawals of an offer that a task end had taken. */
int pool__group_withdraw_lost(pool_group_t *g)
{
	return atomic_load_explicit(&g->withdraw_lost, memory_order_relaxed);
}

pool_ctx_t *pool_group_ctx(pool_group_t *g)
{
	return g ? g->ctx : NULL;
}

uint64_t pool_group_skipped(const pool_group_t *g)
{
	return g ? atomic_load_explicit(&g->skipped, memory_order_relaxed) : 0;
}

/* ---- waiting ---- */

enum wait_for { W_IDLE, W_SLOT };

/*
 * Has the condition been met? W_IDLE: nothing pending and no end in
 * progress. W_SLOT: a slot was taken (CAS), *took set.
 */
static bool cond_met(struct pool_group *g, enum wait_for what)
{
	if (what == W_IDLE)
		return atomic_load_explicit(&g->pending,
					    memory_order_seq_cst) == 0 &&
		       atomic_load_explicit(&g->exiting,
					    memory_order_acquire) == 0;
	for (int64_t n =
		     atomic_load_explicit(&g->pending, memory_order_relaxed);
	     n < g->limit;) {
		/* seq_cst: part of the Dekker pair with task_end. */
		if (atomic_compare_exchange_weak_explicit(
			    &g->pending, &n, n + 1, memory_order_seq_cst,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * The offer o of a go that is leaving its wait: take it back (CAS offer
 * o -> NULL), or, if a task end took it, wait for that end to have read it
 * (taken: a few instructions after its exchange). Returns true if it was
 * taken: the go succeeded.
 */
static bool withdraw(struct pool_group *g, struct group_offer *o)
{
	struct group_offer *mine = o;

	if (atomic_compare_exchange_strong_explicit(&g->offer, &mine, NULL,
						    memory_order_relaxed,
						    memory_order_relaxed))
		return false;
	atomic_fetch_add_explicit(&g->withdraw_lost, 1, memory_order_relaxed);
	/* Acquire: pairs with take_offer's store of taken. */
	for (unsigned i = 1;
	     !atomic_load_explicit(&o->taken, memory_order_acquire); i++) {
		cpu_relax();
		if (i % 1024 == 0)
			sched_yield();
	}
	return true;
}

/* The offer, if any, and whether it is in g->offer now. */
static bool offer_taken(struct group_offer *o, bool offered)
{
	/* seq_cst: the Dekker pair with take_offer (after the go's store of
	 * swant); acquire for the go's return. */
	return offered && atomic_load_explicit(&o->taken, memory_order_seq_cst);
}

/*
 * What a wait checks before it spins and again after it announced itself:
 * the go's offer taken (*r = HANDED), the condition met (a slot of our own:
 * take the offer back, or, if it was taken meanwhile, give the slot back
 * and report HANDED), or a context done (*r = its cause). Returns whether
 * the wait is over.
 */
static bool wait_over(struct pool_group *g, struct pool_ctx *c,
		      enum wait_for what, struct group_offer *o, bool *offered,
		      int *r)
{
	if (offer_taken(o, *offered)) {
		*r = HANDED;
		return true;
	}
	if (cond_met(g, what)) {
		if (*offered && withdraw(g, o)) {
			task_end(g);
			*r = HANDED;
		}
		*offered = false;
		return true;
	}
	if (c && (*r = pool_ctx_err(c)) != 0)
		return true;
	return what == W_SLOT && (*r = group_ctx_err(g)) != 0;
}

/*
 * Wait until cond_met(what), or c (may be NULL) or, for W_SLOT, the group's
 * context is done. From inside a task of g's pool, run queued tasks
 * meanwhile. o (W_SLOT from outside the pool, else NULL): offer the go to
 * the task end that frees a slot (take_offer). Returns 0, HANDED (o was
 * taken: the go is done) or the cause.
 */
static int group_wait_for(struct pool_group *g, struct pool_ctx *c,
			  enum wait_for what, struct group_offer *o)
{
	bool helping = pool__tls.pool == g->pool;
	_Atomic int32_t *want = what == W_IDLE ? &g->wwant : &g->swant;
	struct pool_ctx_watch wc, wg;
	int64_t nap = HELP_NAP_MIN_NS;
	int64_t spin_until = 0;
	unsigned spins = 0;
	bool watched = false;
	bool offered = false;
	int r = 0;

	if (cond_met(g, what))
		return 0;
	wc.linked = false;
	wg.linked = false;
	for (;;) {
		int64_t until = pool__ctx_deadline_min(c, INT64_MAX);
		int32_t seq;

		/* Offer the go (again: another go may have held the offer
		 * slot). Release: pairs with take_offer's acquire exchange. */
		if (o && !offered &&
		    !atomic_load_explicit(&g->offer, memory_order_relaxed)) {
			struct group_offer *none = NULL;

			offered = atomic_compare_exchange_strong_explicit(
				&g->offer, &none, o, memory_order_release,
				memory_order_relaxed);
			if (offered && !atomic_load_explicit(
					       &g->fed, memory_order_relaxed))
				atomic_store_explicit(&g->fed, 1,
						      memory_order_relaxed);
		}
		if (wait_over(g, c, what, o, &offered, &r))
			break;
		if (helping && ((what == W_IDLE && run_last(g)) ||
				pool__help_one(g->pool))) {
			spin_until = 0;
			nap = HELP_NAP_MIN_NS;
			continue;
		}
		/* Spin before sleeping (helping or not: a slot or the end
		 * is usually a task's time away, and a futex sleep and wake
		 * per task made a go at the limit crawl). The clock is read
		 * every 64 rounds only; spin_until < 0: spun out. A round is
		 * WAIT_PAUSES pauses from outside the pool (what we look at
		 * is a few loads of lines a task end writes once: looking
		 * often costs the workers nothing, while a look every 32
		 * pauses, about 1 us here, let a go notice its offer taken or
		 * its slot free up to 1 us late, about a task's whole time at
		 * the limit), 32 when helping (each look scans the rings). */
		if (spin_until >= 0 && spins++ % 64 == 0) {
			int64_t now = pool__now_ns();

			if (!spin_until)
				spin_until = now + SPIN_NS;
			else if (now >= spin_until)
				spin_until = -1;
		}
		if (spin_until >= 0) {
			for (int k = helping ? 32 : WAIT_PAUSES; k > 0; k--)
				cpu_relax();
			continue;
		}
		/* About to sleep: only now register with the contexts, whose
		 * cancel bumps gseq (a mutex each way: not paid by a wait that
		 * the spin above ended, the common case at a go limit). The
		 * loop checks everything again before the first sleep. */
		if (!watched) {
			watched = true;
			if (c && (r = pool__ctx_watch(c, &wc, &g->gseq)) != 0)
				break;
			if (what == W_SLOT &&
			    (r = pool__ctx_watch(g->ctx, &wg, &g->gseq)) != 0)
				break;
			continue;
		}
		pool__probe(POOL_TP_GROUP_SLEEP, g->pool);
		/* Acquire: pairs with bump()'s release increment and with
		 * the release increment of a cancel (ctx_cancel stores err
		 * first). Loaded before the announcement, so a bump after it
		 * changes the word our futex wait compares. */
		seq = atomic_load_explicit(&g->gseq, memory_order_acquire);
		/* seq_cst: the Dekker pair with task_end's decrement and
		 * with take_offer's store of taken. */
		atomic_store_explicit(want, 1, memory_order_seq_cst);
		/* Again after the announcement. A cancel whose bump our seq
		 * already includes: its err is visible now (acquire above),
		 * and no later bump would wake us. */
		if (wait_over(g, c, what, o, &offered, &r))
			break;
		if (what == W_IDLE &&
		    atomic_load_explicit(&g->pending, memory_order_seq_cst) ==
			    0) {
			/* Only an end in progress left: it is a few
			 * instructions from done. */
			cpu_relax();
			continue;
		}
		if (helping) {
			int64_t wake = pool__deadline_after(nap);

			if (wake < until)
				until = wake;
			if (nap < HELP_NAP_NS)
				nap *= 2;
		}
		atomic_fetch_add_explicit(&g->sleepers, 1,
					  memory_order_relaxed);
		pool__sleep_until(&g->gseq, seq, until);
		atomic_fetch_sub_explicit(&g->sleepers, 1,
					  memory_order_relaxed);
	}
	/* Leaving with a cause and the go still offered: take it back, unless
	 * a task end took it first (then the go succeeded after all). */
	if (r < 0 && offered && withdraw(g, o))
		r = HANDED;
	/* A watch never registered, or whose registration failed, is
	 * unlinked (linked false): unwatch only takes the lock. */
	if (watched && what == W_SLOT)
		pool__ctx_unwatch(g->ctx, &wg);
	if (watched && c)
		pool__ctx_unwatch(c, &wc);
	return r;
}

static int wait_common(struct pool_group *g, struct pool_ctx *c)
{
	int r;

	if (on_my_stack(g))
		return POOL_EDEADLK;
	/* Fork-join's wait, inside a task of the pool: run the newest task
	 * (the child just forked) while one is in the slot, as the first
	 * rounds of group_wait_for would, and skip its set-up when that
	 * ends the group. */
	if (!c && pool__tls.pool == g->pool) {
		while (!cond_met(g, W_IDLE))
			if (!run_last(g))
				goto slow;
		goto done;
	}
slow:
	r = group_wait_for(g, c, W_IDLE, NULL);
	if (r)
		return r;
done:
	/* Acquire: pairs with set_err's release CAS. */
	return atomic_load_explicit(&g->err, memory_order_acquire);
}

int pool_group_wait(pool_group_t *g)
{
	if (!g)
		return POOL_EINVAL;
	return wait_common(g, NULL);
}

int pool_group_wait_ctx(pool_group_t *g, pool_ctx_t *c)
{
	if (!g || !c)
		return POOL_EINVAL;
	return wait_common(g, c);
}

/* ---- go ---- */

enum go_mode { GO_BLOCK, GO_TRY };

/*
 * A go from outside the pool that holds a slot: hand fn(arg) to a task end
 * of g that is running (a consumer), through the mailbox, instead of a
 * record pushed to the pool (an allocation, a ring, maybe a wake-up).
 * Returns true if posted (taken or to be taken: the go is done), false if
 * not (no end running, mailbox in use, pool paused or not open): push it.
 *
 * No lost go: we store M_FULL (seq_cst), then load consumers (seq_cst); a
 * leaving end decrements consumers (seq_cst), then loads mstate (seq_cst).
 * In the single order either our load follows its decrement (we see 0
 * ends and take the go back: CAS M_FULL -> 0; if that fails an end took
 * it) or its load follows our store (it sees M_FULL). exiting covers our
 * accesses after the store: the go may run and end, and the group's last
 * end let a waiter destroy it.
 */
static bool post(struct pool_group *g, pool_group_fn fn, void *arg)
{
	struct pool *p = g->pool;
	int32_t zero = 0, full = M_FULL;
	bool done = false;

	if (!atomic_load_explicit(&g->consumers, memory_order_relaxed) ||
	    atomic_load_explicit(&g->mstate, memory_order_relaxed) != 0 ||
	    atomic_load_explicit(&p->paused, memory_order_relaxed) ||
	    atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN)
		return false;
	atomic_fetch_add_explicit(&g->exiting, 1, memory_order_relaxed);
	pool__probe(POOL_TP_GROUP_POST, p);
	/* Acquire: pairs with mail_done's (or a conversion's) release: the
	 * last taker's reads of mfn/marg happen-before our writes. */
	if (atomic_compare_exchange_strong_explicit(&g->mstate, &zero, M_BUSY,
						    memory_order_acquire,
						    memory_order_relaxed)) {
		g->mfn = fn;
		g->marg = arg;
		/* seq_cst: the Dekker pair above; release for take_mail. */
		atomic_store_explicit(&g->mstate, M_FULL, memory_order_seq_cst);
		if (atomic_load_explicit(&g->consumers, memory_order_seq_cst)) {
			pool__probe(POOL_TP_GROUP_POSTED, p);
			done = true;
		} else {
			/* Release: as mail_done (the next poster rewrites
			 * mfn/marg after its acquire CAS). */
			done = !atomic_compare_exchange_strong_explicit(
				&g->mstate, &full, 0, memory_order_release,
				memory_order_relaxed);
		}
	}
	/* Release: our last access to g; pairs with the acquire loads of
	 * exiting in cond_met and pool_group_destroy. */
	atomic_fetch_sub_explicit(&g->exiting, 1, memory_order_release);
	return done;
}

static int go_common(struct pool_group *g, struct pool_ctx *c, pool_group_fn fn,
		     void *arg, enum go_mode mode)
{
	struct group_offer o;
	struct group_task *t;
	bool shared;
	int r;

	if (!g || !fn)
		return POOL_EINVAL;
	if ((r = group_ctx_err(g)) != 0)
		return r;
	if (c && (r = pool_ctx_err(c)) != 0)
		return r;
	if (!g->limit) {
		if (atomic_fetch_add_explicit(&g->pending, 1,
					      memory_order_relaxed) >=
		    GROUP_MAX_LIMIT) {
			task_end(g);
			return POOL_EOVERLOAD;
		}
	} else if (!cond_met(g, W_SLOT)) {
		if (mode == GO_TRY)
			return POOL_EOVERLOAD;
		/* Every slot held by tasks below us on this stack: they
		 * cannot end before we return. */
		if (on_my_stack(g) >= g->limit)
			return POOL_EDEADLK;
		/* From outside the pool, offer the go to the task end that
		 * frees a slot: it runs the task itself (take_offer). */
		o.fn = fn;
		o.arg = arg;
		atomic_init(&o.taken, 0);
		r = group_wait_for(g, c, W_SLOT,
				   pool__tls.pool == g->pool ? NULL : &o);
		if (r)
			return r == HANDED ? 0 : r;
	}
	/* A slot is ours. From outside the pool, hand the task to a running
	 * end of the group if there is one (post). */
	if (g->limit && pool__tls.pool != g->pool && post(g, fn, arg))
		return 0;
	t = rec_get();
	if (!t) {
		task_end(g);
		return POOL_ENOMEM;
	}
	t->it.run = gt_run;
	t->it.gone = gt_gone;
	t->it.discard = gt_discard;
	t->it.user_fn = (pool_task_fn)(void (*)(void))fn;
	t->it.user_arg = arg;
	t->g = g;
	t->fn = fn;
	t->arg = arg;
	/* Decided before the submit: once submitted, a record that is not
	 * shared may already be freed. */
	shared = pool__tls.pool == g->pool;
	t->shared = shared;
	t->spare = false;
	atomic_init(&t->state, 0);
	/* Shared: into the slot before the submit, so that nothing touches g
	 * after it (the task may run and end, and a wait that sees the group
	 * done may return, as soon as it is queued; before this order the go
	 * held `exiting` across the submit: two locked operations a
	 * fork-join level). Release: publishes the record to run_last's
	 * acquire; the record stays alive for the slot: its reference. */
	if (shared) {
		struct group_task *old = atomic_exchange_explicit(
			&g->last, t, memory_order_acq_rel);

		if (old)
			gt_drop(old, ST_SLOT);
	}
	if (mode == GO_TRY || !c)
		r = pool__submit_itask(g->pool, &t->it, mode == GO_TRY);
	else
		r = pool__submit_obeying(g->pool, c, &t->it);
	if (r >= 0)
		return r;
	if (shared) {
		/* Not queued, so we are the ring's holder; but a waiter may
		 * have taken the record from the slot meanwhile. It ran (or
		 * runs) the task and ends it: the go succeeded after all;
		 * leave g alone. Else the claim is ours and the task never
		 * runs: the slot's holder stays (its next exchange drops the
		 * record), and our pending slot keeps g alive for task_end. */
		int32_t l = gt_leave(t, ST_RING, true);

		if (l & ST_SLOT)
			rec_put(t);
		if (!(l & ST_CLAIMED))
			return 0;
	} else {
		rec_put(t);
	}
	task_end(g);
	return r;
}

int pool_group_go(pool_group_t *g, pool_group_fn fn, void *arg)
{
	return go_common(g, NULL, fn, arg, GO_BLOCK);
}

int pool_group_try_go(pool_group_t *g, pool_group_fn fn, void *arg)
{
	return go_common(g, NULL, fn, arg, GO_TRY);
}

int pool_group_go_ctx(pool_group_t *g, pool_ctx_t *c, pool_group_fn fn,
		      void *arg)
{
	if (!c)
		return POOL_EINVAL;
	return go_common(g, c, fn, arg, GO_BLOCK);
}

/* ---- pool_wait_idle ---- */

int pool_wait_idle(pool_t *p, int64_t timeout_ns)
{
	int64_t deadline = pool__deadline_after(timeout_ns);
	int64_t nap = 10000;

	if (!p)
		return POOL_EINVAL;
	if (pool__tls.pool == p)
		return POOL_EDEADLK;
	for (;;) {
		struct timespec ts;
		int64_t now;

		if (pool__idle_now(p))
			return 0;
		now = pool__now_ns();
		if (now >= deadline)
			return POOL_ETIMEDOUT;
		if (nap > deadline - now)
			nap = deadline - now;
		ts.tv_sec = nap / 1000000000;
		ts.tv_nsec = nap % 1000000000;
		nanosleep(&ts, NULL);
		if (nap < 1000000)
			nap *= 2;
	}
}
