/* SPDX-License-Identifier: MIT */
/*
 * lib/ring.c - ring construction and destruction (the hot path is in
 * ring-inl.h).
 */
#include <string.h>

#include "internal.h"

int pool__ring_init(struct pool_ring *r, uint32_t cap)
{
	uint32_t size = 1;

	while (size < cap)
		size <<= 1;
	r->slots = pool__alloc((size_t)size * sizeof(*r->slots));
	if (!r->slots)
		return POOL_ENOMEM;
	for (uint32_t i = 0; i < size; i++) {
		atomic_init(&r->slots[i].seq, 2 * (uint64_t)i);
		r->slots[i].fn = NULL;
		r->slots[i].arg = NULL;
		r->slots[i].stamp = 0;
	}
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
	pool__free(r->slots);
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
