/* SPDX-License-Identifier: MIT */
/*
 * lib/sem.c - the weighted FIFO semaphore.
 *
 * Layer: above ctx.c (context-aware acquire); uses the base futex and
 * clock helpers.
 *
 * state = available << 1 | QUEUED. QUEUED is set while a waiter is queued;
 * then every acquire and release takes the slow path (the lock), so the
 * queue alone decides who is served, in order. Without it, acquire and
 * release are one CAS each. The bit is set and cleared only under the lock
 * and always by CAS on the same word, so a fast-path release racing with an
 * enqueue is either seen by it (the enqueuer's CAS fails and it re-checks
 * the units) or sees the bit (and takes the slow path).
 *
 * Lock order: lock is a leaf; no user code runs under it. A grant is one
 * atomic OR of SEM_GRANTED into the waiter's futex word, under the lock;
 * a granted waiter may return at once (it may see the bit before any wake,
 * after a spurious or a cancel's wake-up, or while it still looks at its
 * word before sleeping), so the OR is the granter's last access to the
 * waiter: the value the OR returns says whether the waiter said
 * SEM_SLEEPING, and only then follows the futex wake of its address (which
 * only hands the address to the kernel: a wake that finds the memory reused
 * is a spurious wake-up, which every futex wait here tolerates). Until
 * 2026-12-01 the grant stored a separate `granted` flag and then bumped the
 * word: a waiter that saw the flag could return before the bump, which then
 * wrote into its dead stack frame (found by TSan as a lock at &s->lock + 1: a
 * saved pointer to the lock, incremented).
 */
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "pool/sem.h"

#define QUEUED 1
/* In a waiter's futex word: the units are the waiter's. The low bits count
 * wake-up bumps (a context's cancel), far below these bits. */
#define SEM_GRANTED (1 << 30)
/* In a waiter's futex word: set by the waiter (CAS) before its first futex
 * wait. The grant's OR returns the word: it wakes only if this was set. */
#define SEM_SLEEPING (1 << 29)
/*
 * A queued waiter looks at its word WAIT_LOOKS times, WAIT_PAUSES pauses
 * apart (512 pauses, about 15 us here), before it says SEM_SLEEPING and
 * sleeps: a grant to a waiter that still looks costs no futex wake, and the
 * units do not sit granted to a thread the kernel has yet to schedule.
 */
#define WAIT_LOOKS  64
#define WAIT_PAUSES 8
/*
 * Lock-free looks of an acquire before it queues: SEM_SPINS looks, the
 * pauses between them doubling from 1 to SEM_PAUSE_MAX (703 pauses in all,
 * about 20 us at 27 ns a pause on the CPUs measured). A look is a load of the
 * state line, which costs the holder a miss on its next CAS: 200 looks one
 * pause apart (until 2026-12-01) pulled the line away from the holder after
 * each of its acquires and releases, so contended pairs ran at the speed
 * of a line transfer; spaced out, the holder runs its pairs from its own
 * cache in between (docs/design.md, "Contended, weight 1").
 */
#define SEM_SPINS     16
#define SEM_PAUSE_MAX 64

struct sem_waiter {
	int64_t weight;
	struct sem_waiter *prev, *next;
	/* futex: SEM_GRANTED or'ed in by the grant; SEM_SLEEPING set by the
	 * waiter (CAS) before it sleeps; bumped by a cancel. */
	_Atomic int32_t word;
};

struct pool_sem {
	_Atomic int64_t state POOL_CACHE_ALIGNED;
	int64_t size; /* immutable */
	pthread_mutex_t lock POOL_CACHE_ALIGNED;
	struct sem_waiter *head, *tail; /* under lock */
	/* Test hook: futex wakes that grants issued (under lock). */
	_Atomic int32_t grant_wakes;
};

int pool_sem_new(pool_sem_t **out, int64_t size)
{
	struct pool_sem *s;

	if (!out || size <= 0 || size > POOL_SEM_MAX)
		return POOL_EINVAL;
	s = pool__alloc_aligned(sizeof(*s));
	if (!s)
		return POOL_ENOMEM;
	memset(s, 0, sizeof(*s));
	atomic_init(&s->state, size << 1);
	s->size = size;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

/* Test hook: futex wakes that grants issued so far. */
int pool__sem_grant_wakes(pool_sem_t *s)
{
	return atomic_load_explicit(&s->grant_wakes, memory_order_relaxed);
}

/* Test hook: waiters queued now. */
int pool__sem_queued(pool_sem_t *s)
{
	int n = 0;

	pthread_mutex_lock(&s->lock);
	for (struct sem_waiter *w = s->head; w; w = w->next)
		n++;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int pool_sem_destroy(pool_sem_t *s)
{
	if (!s)
		return POOL_EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->head) {
		pthread_mutex_unlock(&s->lock);
		return POOL_EBUSY;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	pool__free(s);
	return 0;
}

int64_t pool_sem_available(const pool_sem_t *s)
{
	if (!s)
		return POOL_EINVAL;
	return atomic_load_explicit(&((struct pool_sem *)s)->state,
				    memory_order_relaxed) >>
	       1;
}

/* One lock-free attempt: true if taken; false if queued waiters or too
 * few units. */
static inline bool try_fast(struct pool_sem *s, int64_t w)
{
	int64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);

	while (!(st & QUEUED) && (st >> 1) >= w) {
		/* Acquire: pairs with the release CAS/add in release, so
		 * the releaser's critical section happens-before ours. */
		if (atomic_compare_exchange_weak_explicit(
			    &s->state, &st, st - (w << 1), memory_order_acquire,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

/* Lock held: grant queued waiters in order while the head fits; clear
 * QUEUED when the queue empties. */
static void grant_locked(struct pool_sem *s)
{
	struct sem_waiter *h;
	int64_t st;
	int32_t old;

	while ((h = s->head) != NULL) {
		st = atomic_load_explicit(&s->state, memory_order_relaxed);
		if ((st >> 1) < h->weight)
			return;
		/* QUEUED is set: only lock holders change the word now
		 * (fast paths see the bit), but a CAS keeps it honest.
		 * Acquire: pairs with the releases that added the units. */
		if (!atomic_compare_exchange_strong_explicit(
			    &s->state, &st, st - (h->weight << 1),
			    memory_order_acquire, memory_order_relaxed))
			continue;
		s->head = h->next;
		if (s->head)
			s->head->prev = NULL;
		else
			s->tail = NULL;
		/* The grant, our last access to h (the waiter may return as
		 * soon as it sees the bit). Release: pairs with the waiter's
		 * acquire load of its word; the units' releases happen-before
		 * its return. The OR and the waiter's CAS of SEM_SLEEPING are
		 * read-modify-writes of one word, so one comes first: either
		 * the OR returns SEM_SLEEPING (and we wake the waiter), or the
		 * CAS fails on the granted word and the waiter never sleeps. */
		old = atomic_fetch_or_explicit(&h->word, SEM_GRANTED,
					       memory_order_release);
		pool__probe(POOL_TP_SEM_GRANTED, NULL);
		if (old & SEM_SLEEPING) {
			atomic_fetch_add_explicit(&s->grant_wakes, 1,
						  memory_order_relaxed);
			pool__futex_wake(&h->word, 1);
		}
	}
	/* Empty: clear QUEUED. With the bit set nobody but a lock holder
	 * changes the word; the loop only keeps the CAS honest. Release:
	 * fast-path takers that see the bit clear see the queue's end. */
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	while ((st & QUEUED) &&
	       !atomic_compare_exchange_weak_explicit(
		       &s->state, &st, st & ~(int64_t)QUEUED,
		       memory_order_release, memory_order_relaxed))
		;
}

/*
 * Queue and wait. deadline: INT64_MAX for none; c may be NULL. Returns 0
 * (SEM_GRANTED), or POOL_ETIMEDOUT / c's cause after leaving the queue.
 */
static int acquire_slow(struct pool_sem *s, int64_t w, int64_t deadline,
			struct pool_ctx *c)
{
	struct sem_waiter me = {.weight = w};
	struct pool_ctx_watch cw;
	int64_t st;
	int r = 0;

	for (int i = 0, pause = 1; i < SEM_SPINS; i++) {
		for (int k = 0; k < pause; k++)
			cpu_relax();
		if (pause < SEM_PAUSE_MAX)
			pause *= 2;
		if (try_fast(s, w))
			return 0;
		st = atomic_load_explicit(&s->state, memory_order_relaxed);
		if (st & QUEUED)
			break;
	}
	if (deadline != INT64_MAX && pool__now_ns() >= deadline)
		return POOL_ETIMEDOUT;
	atomic_init(&me.word, 0);
	if (c && (r = pool__ctx_watch(c, &cw, &me.word)) != 0)
		return r;
	pthread_mutex_lock(&s->lock);
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		if (!(st & QUEUED) && (st >> 1) >= w) {
			if (atomic_compare_exchange_weak_explicit(
				    &s->state, &st, st - (w << 1),
				    memory_order_acquire,
				    memory_order_relaxed)) {
				pthread_mutex_unlock(&s->lock);
				if (c)
					pool__ctx_unwatch(c, &cw);
				return 0;
			}
			continue;
		}
		if ((st & QUEUED) ||
		    atomic_compare_exchange_weak_explicit(
			    &s->state, &st, st | QUEUED, memory_order_relaxed,
			    memory_order_relaxed))
			break;
	}
	me.prev = s->tail;
	me.next = NULL;
	if (s->tail)
		s->tail->next = &me;
	else
		s->head = &me;
	s->tail = &me;
	pthread_mutex_unlock(&s->lock);

	for (int looks = 0;; looks++) {
		/* Acquire: pairs with the grant's release OR (and a
		 * cancel's release increment); the word our futex wait
		 * compares, so a grant or bump after this load wakes it. */
		int32_t seq =
			atomic_load_explicit(&me.word, memory_order_acquire);

		if (seq & SEM_GRANTED)
			break;
		if (c && (r = pool_ctx_err(c)) != 0)
			goto give_up;
		/* The clock: every 16 looks while looking, then each time. */
		if (deadline != INT64_MAX &&
		    (looks % 16 == 0 || looks >= WAIT_LOOKS) &&
		    pool__now_ns() >= deadline) {
			r = POOL_ETIMEDOUT;
			goto give_up;
		}
		if (looks == 0)
			pool__probe(POOL_TP_SEM_WAIT, NULL);
		if (looks < WAIT_LOOKS) {
			for (int k = 0; k < WAIT_PAUSES; k++)
				cpu_relax();
			continue;
		}
		if (!(seq & SEM_SLEEPING)) {
			/* Say we sleep (see grant_locked). A failed CAS: the
			 * word was granted or bumped, look again. Relaxed:
			 * the load above orders what we read; the OR's
			 * release reaches us through that load next round. */
			pool__probe(POOL_TP_SEM_SLEEP, NULL);
			if (!atomic_compare_exchange_strong_explicit(
				    &me.word, &seq, seq | SEM_SLEEPING,
				    memory_order_relaxed, memory_order_relaxed))
				continue;
			seq |= SEM_SLEEPING;
			pool__probe(POOL_TP_SEM_ANNOUNCED, NULL);
		}
		pool__sleep_until(&me.word, seq,
				  pool__ctx_deadline_min(c, deadline));
	}
	if (c)
		pool__ctx_unwatch(c, &cw);
	return 0;

give_up:
	pthread_mutex_lock(&s->lock);
	/* Acquire: as in the loop (a grant made under the lock we hold now
	 * is visible here). */
	if (atomic_load_explicit(&me.word, memory_order_acquire) &
	    SEM_GRANTED) {
		r = 0; /* the grant wins */
	} else {
		bool was_head = s->head == &me;

		if (me.prev)
			me.prev->next = me.next;
		else
			s->head = me.next;
		if (me.next)
			me.next->prev = me.prev;
		else
			s->tail = me.prev;
		/* Those we were blocking may fit now (or the queue is empty
		 * and QUEUED must go). */
		if (was_head || !s->head)
			grant_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	if (c)
		pool__ctx_unwatch(c, &cw);
	return r;
}

static int check(struct pool_sem *s, int64_t w)
{
	if (!s || w < 0 || w > s->size)
		return POOL_EINVAL;
	return 0;
}

int pool_sem_acquire(pool_sem_t *s, int64_t weight)
{
	int r = check(s, weight);

	if (r || weight == 0)
		return r;
	if (try_fast(s, weight))
		return 0;
	return acquire_slow(s, weight, INT64_MAX, NULL);
}

int pool_sem_try_acquire(pool_sem_t *s, int64_t weight)
{
	int r = check(s, weight);

	if (r || weight == 0)
		return r;
	return try_fast(s, weight) ? 0 : POOL_EOVERLOAD;
}

int pool_sem_acquire_timeout(pool_sem_t *s, int64_t weight, int64_t timeout_ns)
{
	int r = check(s, weight);

	if (r)
		return r;
	if (timeout_ns < 0)
		return POOL_EINVAL;
	if (weight == 0)
		return 0;
	if (try_fast(s, weight))
		return 0;
	if (timeout_ns == 0)
		return POOL_ETIMEDOUT;
	return acquire_slow(s, weight, pool__deadline_after(timeout_ns), NULL);
}

int pool_sem_acquire_ctx(pool_sem_t *s, pool_ctx_t *c, int64_t weight)
{
	int r = check(s, weight);

	if (r)
		return r;
	if (!c)
		return POOL_EINVAL;
	if ((r = pool_ctx_err(c)) != 0)
		return r;
	if (weight == 0 || try_fast(s, weight))
		return 0;
	return acquire_slow(s, weight, pool_ctx_deadline(c), c);
}

int pool_sem_release(pool_sem_t *s, int64_t weight)
{
	int64_t st;

	if (!s || weight < 0)
		return POOL_EINVAL;
	if (weight == 0)
		return 0;
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	while (!(st & QUEUED)) {
		if ((st >> 1) > s->size - weight)
			return POOL_EINVAL;
		/* Release: pairs with the acquire CAS of the next taker. */
		if (atomic_compare_exchange_weak_explicit(
			    &s->state, &st, st + (weight << 1),
			    memory_order_release, memory_order_relaxed))
			return 0;
	}
	pthread_mutex_lock(&s->lock);
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		if ((st >> 1) > s->size - weight) {
			pthread_mutex_unlock(&s->lock);
			return POOL_EINVAL;
		}
		if (atomic_compare_exchange_weak_explicit(
			    &s->state, &st, st + (weight << 1),
			    memory_order_release, memory_order_relaxed))
			break;
	}
	grant_locked(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
