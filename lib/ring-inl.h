/* SPDX-License-Identifier: MIT */
/*
 * lib/ring-inl.h - push and pop of the bounded MPMC ring (hot path).
 *
 * Slot protocol (docs/design.md, "Rings"): seq == 2*pos means the slot is
 * free for the push at pos; seq == 2*pos + 1 means it holds that push's task.
 * A pop at pos sets seq = 2*(pos + size), freeing it for the next lap.
 * A slot stores seq less twice its index pos & mask, that is relative to
 * twice its lap base pos & ~mask (ring_lap): the same differences, but a
 * new ring's slots all start at 0, so zeroed memory is a ready ring whose
 * pages are touched only as the queue reaches them (pool__ring_init).
 *
 * Tag and kind: bit 63 of a full slot's seq (RING_TAG) marks a task counted
 * against the pool's queue bound (pool.c); ring_pop reports it
 * (RING_POPPED_TAGGED) so the worker releases the count when the task ends.
 * Bits 61-62 (RING_KIND) hold the task's kind (enum pool_kind,
 * lib/task-inl.h), decided by the submit; ring_pop returns it in
 * pool_work.kind. The pusher passes both as `meta`. Positions never reach
 * 2^60 (2^60 pushes into one ring), so the three bits are free; every
 * comparison masks them (RING_META).
 *
 * Tracked rings (docs/design.md, "The idle search"): a push into an overflow
 * ring sets the ring's summary bit (ring_track, T2) before the pusher's S2
 * (kick's seq_cst load); the pop side (ring_untrack, T3-T5) is in worker.c,
 * where the hand-off is.
 */
#ifndef POOL_RING_INL_H
#define POOL_RING_INL_H

#include "internal.h"

#define RING_TAG	((uint64_t)1 << 63)
#define RING_KIND_SHIFT 61
#define RING_KIND(kind) ((uint64_t)(kind) << RING_KIND_SHIFT)
#define RING_META	(RING_TAG | RING_KIND(3))
/* ring_pop results. */
enum { RING_EMPTY = 0, RING_POPPED = 1, RING_POPPED_TAGGED = 2 };

/* 2*pos as the slot of pos stores it: twice pos's lap base. */
static inline uint64_t ring_lap(const struct pool_ring *r, uint64_t pos)
{
	return 2 * (pos & ~r->mask);
}

/*
 * T2: after a push into r, make sure r's summary bit is set (nothing for the
 * nbase first rings). The load keeps a ring that stays non-empty from
 * writing the shared word on every push. seq_cst load and RMW: pair with
 * the popper's seq_cst fetch_and (T3) and its fence and recheck (T4): either
 * this load follows the clear in the single order (we set the bit again),
 * or it precedes it, and then so does our head CAS (T1), which the
 * popper's recheck after its fence sees. Also read (seq_cst) by every
 * search after its fence (P3, the hand-offs).
 */
static inline void ring_track(struct pool_ring *r)
{
	struct pool_ring *g = r->group;

	if (__builtin_expect(g != NULL, 0) &&
	    !(atomic_load_explicit(&g->nonempty, memory_order_seq_cst) &
	      r->bit))
		atomic_fetch_or_explicit(&g->nonempty, r->bit,
					 memory_order_seq_cst);
}

/* stamp: the task's observation stamp (lib/obs-inl.h); meta: RING_TAG or
 * not, or'ed with RING_KIND(kind) (stored with the task, reported by
 * ring_pop). */
static inline bool ring_push(struct pool_ring *r, pool_task_fn fn, void *arg,
			     uint64_t stamp, uint64_t meta)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);

	for (;;) {
		struct pool_slot *s = &r->slots[pos & r->mask];
		/* Acquire: pairs with the release store of seq in ring_pop, so
		 * the previous lap's reads of fn/arg are done before we
		 * overwrite them. */
		uint64_t seq =
			atomic_load_explicit(&s->seq, memory_order_acquire) &
			~RING_META;
		/* Before the CAS, which may rewrite pos. */
		uint64_t lap = ring_lap(r, pos);
		int64_t dif = (int64_t)(seq - lap);

		if (dif == 0) {
			/* The slot's seq, not head, publishes. seq_cst
			 * (T1; the same locked instruction on x86): a
			 * tracked ring's popper re-checks head after its
			 * fence (ring_untrack). */
			if (atomic_compare_exchange_weak_explicit(
				    &r->head, &pos, pos + 1,
				    memory_order_seq_cst,
				    memory_order_relaxed)) {
				s->fn = fn;
				s->arg = arg;
				s->stamp = stamp;
				/* Release: publishes fn/arg/stamp to the
				 * popper's acquire load of seq in ring_pop. */
				atomic_store_explicit(&s->seq, (lap + 1) | meta,
						      memory_order_release);
				ring_track(r);
				return true;
			}
		} else if (dif < 0) {
			return false; /* full */
		} else {
			pos = atomic_load_explicit(&r->head,
						   memory_order_relaxed);
		}
	}
}

/*
 * Push up to n tasks as one run of consecutive positions: find how many
 * slots from head on are free for this lap (each checked, since poppers
 * free slots out of order), claim them with one CAS on head, then write and
 * publish each slot in turn. Returns how many were pushed (0: full).
 * A slot seen free for position pos + i stays free until the push that
 * owns pos + i writes it, which is us once the CAS succeeds.
 */
static inline size_t ring_push_n(struct pool_ring *r, const pool_task_t *t,
				 size_t n, uint64_t stamp, uint64_t meta)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t k;

	if (n > r->mask + 1)
		n = r->mask + 1;
	for (;;) {
		for (k = 0; k < n; k++) {
			struct pool_slot *s = &r->slots[(pos + k) & r->mask];
			/* Acquire: as in ring_push (the previous lap's pop
			 * of this slot read fn/arg before freeing it). */
			uint64_t seq = atomic_load_explicit(
					       &s->seq, memory_order_acquire) &
				       ~RING_META;

			if (seq != ring_lap(r, pos + k))
				break;
		}
		if (k == 0) {
			struct pool_slot *s = &r->slots[pos & r->mask];
			uint64_t seq = atomic_load_explicit(
					       &s->seq, memory_order_acquire) &
				       ~RING_META;

			/* Behind a lap (another pusher took pos): reload. */
			if ((int64_t)(seq - ring_lap(r, pos)) > 0) {
				pos = atomic_load_explicit(
					&r->head, memory_order_relaxed);
				continue;
			}
			return 0; /* full */
		}
		/* The slots' seq, not head, publishes; seq_cst: T1, as in
		 * ring_push. */
		if (atomic_compare_exchange_weak_explicit(
			    &r->head, &pos, pos + k, memory_order_seq_cst,
			    memory_order_relaxed))
			break;
	}
	for (size_t i = 0; i < k; i++) {
		struct pool_slot *s = &r->slots[(pos + i) & r->mask];

		s->fn = t[i].fn;
		s->arg = t[i].arg;
		s->stamp = stamp;
		/* Release: publishes fn/arg/stamp to the popper's acquire load
		 * of seq in ring_pop. */
		atomic_store_explicit(&s->seq,
				      (ring_lap(r, pos + i) + 1) | meta,
				      memory_order_release);
	}
	ring_track(r);
	return k;
}

/* RING_EMPTY, or RING_POPPED / RING_POPPED_TAGGED with *t filled. */
static inline int ring_pop(struct pool_ring *r, struct pool_work *t)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);

	for (;;) {
		struct pool_slot *s = &r->slots[pos & r->mask];
		/* Acquire: pairs with the release store in ring_push: fn/arg
		 * are visible once seq says the slot is full. */
		uint64_t raw =
			atomic_load_explicit(&s->seq, memory_order_acquire);
		uint64_t seq = raw & ~RING_META;
		/* Before the CAS, which may rewrite pos: this lap's full
		 * value, and the next lap's free one. */
		uint64_t lap = ring_lap(r, pos);
		uint64_t next = lap + 2 * (r->mask + 1);
		int64_t dif = (int64_t)(seq - (lap + 1));

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
				    &r->tail, &pos, pos + 1,
				    memory_order_relaxed,
				    memory_order_relaxed)) {
				t->fn = s->fn;
				t->arg = s->arg;
				t->stamp = s->stamp;
				t->kind =
					(unsigned)(raw >> RING_KIND_SHIFT) & 3;
				/* Release: our reads of fn/arg/stamp happen
				 * before the next lap's push (its acquire
				 * load). */
				atomic_store_explicit(&s->seq, next,
						      memory_order_release);
				return (raw & RING_TAG) ? RING_POPPED_TAGGED
							: RING_POPPED;
			}
		} else if (dif < 0) {
			return RING_EMPTY; /* empty (or a push not yet
					    * published) */
		} else {
			pos = atomic_load_explicit(&r->tail,
						   memory_order_relaxed);
		}
	}
}

/* The number of base rings among the n published ones. */
static inline uint32_t ring_nbase(const struct pool *p, uint32_t n)
{
	return p->nbase < n ? p->nbase : n;
}

/* Tasks claimed by a push and not yet claimed by a pop (may be transient). */
static inline uint64_t ring_count(struct pool_ring *r)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	return h > t ? h - t : 0;
}

/*
 * A pop at r's tail would take a task now: the slot at tail holds the
 * published push of that position. ring_count counts claims, and a push
 * claims (head CAS) before it publishes (release store of seq): a pusher
 * preempted between the two leaves ring_count != 0 with nothing poppable,
 * maybe for a whole time slice (docs/design.md, "A claim is not a task").
 * Relaxed: a hint for the spin and P4, which act on it only through
 * ring_pop or a timed re-look; a stale tail reads false (a slot of the
 * next lap, or already popped), which both callers treat as "claimed".
 */
static inline bool ring_ready(struct pool_ring *r)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t seq = atomic_load_explicit(&r->slots[pos & r->mask].seq,
					    memory_order_relaxed) &
		       ~RING_META;

	return seq == ring_lap(r, pos) + 1;
}

#endif /* POOL_RING_INL_H */
