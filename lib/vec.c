/* SPDX-License-Identifier: MIT */
/*
 * lib/vec.c - the append-only sets of a pool (its shards, its rings).
 *
 * docs/design.md, "The ring and shard sets: who writes, who reads": entries
 * are appended under pool.grow_lock and never removed before pool_destroy;
 * a full array is replaced by one twice its size and kept on the prev chain,
 * so a reader that loaded an old array never reads freed memory.
 */
#include <string.h>

#include "internal.h"

struct pool_vec *pool__vec_new(uint32_t size)
{
	struct pool_vec *v;

	if (size < 1)
		size = 1;
	v = pool__alloc(sizeof(*v) + (size_t)size * sizeof(v->v[0]));
	if (!v)
		return NULL;
	atomic_init(&v->n, 0);
	v->size = size;
	v->prev = NULL;
	return v;
}

/* grow_lock held (or the set not yet shared: pool_new). */
int pool__vec_append(_Atomic(struct pool_vec *) *set, void *item)
{
	struct pool_vec *v = atomic_load_explicit(set, memory_order_relaxed);
	uint32_t n = atomic_load_explicit(&v->n, memory_order_relaxed);

	if (n == v->size) {
		struct pool_vec *nv = pool__vec_new(v->size * 2);

		if (!nv)
			return POOL_ENOMEM;
		memcpy(nv->v, v->v, (size_t)n * sizeof(v->v[0]));
		atomic_init(&nv->n, n);
		nv->prev = v;
		/* seq_cst: pairs with the seq_cst load in pool__vec_load; a
		 * reader that gets the new array sees its copied entries. */
		atomic_store_explicit(set, nv, memory_order_seq_cst);
		v = nv;
	}
	v->v[n] = item;
	/* seq_cst: publishes v[n] and the item behind it to the seq_cst
	 * load of n in pool__vec_load (and takes its place in the single
	 * order the park/wake argument reasons about). */
	atomic_store_explicit(&v->n, n + 1, memory_order_seq_cst);
	return 0;
}

void pool__vec_free(struct pool_vec *v)
{
	while (v) {
		struct pool_vec *prev = v->prev;

		pool__free(v);
		v = prev;
	}
}
