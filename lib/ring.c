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
 * Any ring claimed by a push and not yet by a pop (for rescans): a base
 * ring with ring_count != 0, or a set summary bit whose ring has
 * ring_count != 0 (a stale bit does not count, so it cannot keep workers
 * from parking). Reads only; cleaning is find_work's.
 */
bool pool__has_work(struct pool *p)
{
	struct pool_vec *rv;
	bool any = false;
	uint32_t n, nb;

	/* No read-side section (as in find_work): the ring set is
	 * append-only and nothing in it is freed before pool_destroy, so an
	 * idle worker's rescan never registers it with urcu-bp. */
	rv = pool__vec_load(&p->rings, &n);
	nb = ring_nbase(p, n);
	for (uint32_t i = 0; i < nb && !any; i++)
		any = ring_count(pool__ring_at(rv, i)) != 0;
	for (uint32_t first = nb; first < n && !any; first += 64) {
		/* seq_cst: pairs with the RMWs of ring_track and ring_untrack
		 * (the P4 argument, docs/design.md). */
		uint64_t w = atomic_load_explicit(
			&pool__ring_at(rv, first)->nonempty,
			memory_order_seq_cst);

		while (w && !any) {
			uint32_t j = first + (uint32_t)__builtin_ctzll(w);

			w &= w - 1;
			any = j < n && ring_count(pool__ring_at(rv, j)) != 0;
		}
	}
	return any;
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
