/* SPDX-License-Identifier: MIT */
/*
 * lib/ring.c - ring construction and destruction, and the reads over a
 * pool's ring set that the layers above share (park.c's rescan, the
 * workers' hand-offs, pool.c's drain): whether any ring holds a task. The
 * push and pop hot path is in ring-inl.h.
 */
#include <string.h>

#include "internal.h"
#include "ring-inl.h"

int pool__ring_init(struct pool_ring *r, uint32_t cap)
{
	uint32_t size = 1;

	while (size < cap)
		size <<= 1;
	/* All zero is every slot free for the first lap (seq is kept
	 * relative to the lap, ring-inl.h), so nothing is written here: a
	 * large ring's pages become resident as the queue reaches them. */
	r->slots = pool__alloc_zeroed((size_t)size * sizeof(*r->slots));
	if (!r->slots)
		return POOL_ENOMEM;
	r->mask = size - 1;
	r->group = NULL;
	r->bit = 0;
	atomic_init(&r->nonempty, 0);
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

void pool__ring_fini(struct pool_ring *r)
{
	pool__free_zeroed(r->slots, (size_t)(r->mask + 1) * sizeof(*r->slots));
	r->slots = NULL;
}

/* A ring of at least cap slots, in its own cache-aligned block. */
struct pool_ring *pool__ring_new(uint32_t cap)
{
	struct pool_ring *r = pool__alloc_aligned(sizeof(*r));

	if (!r)
		return NULL;
	if (pool__ring_init(r, cap) < 0) {
		pool__free(r);
		return NULL;
	}
	return r;
}

void pool__ring_free(struct pool_ring *r)
{
	if (!r)
		return;
	pool__ring_fini(r);
	pool__free(r);
}

/*
 * The rings a search may take from: every base ring, and each overflow
 * ring whose summary bit is set (a set bit on an empty ring is stale and
 * does not count, so it cannot keep workers from parking). Returns the
 * most a ring holds, stopping at the first ring that holds `enough`:
 * POOL_WORK_NONE (no claim anywhere), POOL_WORK_CLAIMED (a push claimed a
 * slot, none is published at a tail), POOL_WORK_READY (a pop would take a
 * task; with enough == POOL_WORK_CLAIMED, any claim reads as READY, so
 * pool__has_work pays no slot load). Reads only; cleaning is find_work's.
 */
static inline int ring_reading(struct pool_ring *r, int enough)
{
	if (ring_count(r) == 0)
		return POOL_WORK_NONE;
	return enough == POOL_WORK_CLAIMED || ring_ready(r) ? POOL_WORK_READY
							    : POOL_WORK_CLAIMED;
}

static int scan_rings(struct pool *p, int enough)
{
	struct pool_vec *rv;
	int most = POOL_WORK_NONE;
	uint32_t n, nb;

	/* No read-side section (as in find_work): the ring set is
	 * append-only and nothing in it is freed before pool_destroy, so an
	 * idle worker's rescan never registers it with urcu-bp. */
	rv = pool__vec_load(&p->rings, &n);
	nb = ring_nbase(p, n);
	for (uint32_t i = 0; i < nb && most < enough; i++) {
		int st = ring_reading(pool__ring_at(rv, i), enough);

		most = st > most ? st : most;
	}
	for (uint32_t first = nb; first < n && most < enough; first += 64) {
		/* seq_cst: pairs with the RMWs of ring_track and ring_untrack
		 * (the P4 argument, docs/design.md). */
		uint64_t w = atomic_load_explicit(
			&pool__ring_at(rv, first)->nonempty,
			memory_order_seq_cst);

		while (w && most < enough) {
			uint32_t j = first + (uint32_t)__builtin_ctzll(w);

			w &= w - 1;
			if (j < n) {
				int st = ring_reading(pool__ring_at(rv, j),
						      enough);

				most = st > most ? st : most;
			}
		}
	}
	return most;
}

/* Any ring claimed by a push and not yet by a pop (the hand-offs, exit,
 * close: a claim is work someone must run). */
bool pool__has_work(struct pool *p)
{
	return scan_rings(p, POOL_WORK_CLAIMED) != POOL_WORK_NONE;
}

/* What a search would find now (the spin and P4: a claim alone is not a
 * task to wake for; docs/design.md, "A claim is not a task"). */
int pool__work_state(struct pool *p)
{
	return scan_rings(p, POOL_WORK_READY);
}

unsigned pool__ring_bits(struct pool *p)
{
	struct pool_vec *rv;
	unsigned bits = 0;
	uint32_t n;

	pool__rcu_read_lock();
	rv = pool__vec_load(&p->rings, &n);
	for (uint32_t first = ring_nbase(p, n); first < n; first += 64)
		bits += (unsigned)__builtin_popcountll(atomic_load_explicit(
			&pool__ring_at(rv, first)->nonempty,
			memory_order_seq_cst));
	pool__rcu_read_unlock();
	return bits;
}
