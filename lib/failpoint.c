/* SPDX-License-Identifier: MIT */
/*
 * lib/failpoint.c - failure injection for the allocation sweep. Linked only
 * into the test library (lib/meson.build: pool_test), in place of
 * lib/failpoint-off.c; never installed, never in libpool.a or libpool.so.
 *
 * pool__test_fail_after(k): the k-th later call of pool__inject_failure()
 * (0 = the next one) returns true, once; k < 0 disarms.
 * pool__test_alloc_calls(): how many times it was called.
 */
#include "internal.h"
#include "ring-inl.h"

static _Atomic long fail_after = -1;
static _Atomic long alloc_calls;

void pool__test_fail_after(long k)
{
	atomic_store_explicit(&fail_after, k, memory_order_relaxed);
}

long pool__test_alloc_calls(void)
{
	return atomic_load_explicit(&alloc_calls, memory_order_relaxed);
}

bool pool__inject_failure(void)
{
	long k = atomic_load_explicit(&fail_after, memory_order_relaxed);

	atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
	while (k > 0) {
		if (atomic_compare_exchange_weak_explicit(
			    &fail_after, &k, k - 1, memory_order_relaxed,
			    memory_order_relaxed))
			return false;
	}
	return k == 0;
}

/* Test points (lib/internal.h, enum pool_test_point). */
static _Atomic(pool_test_hook_fn) test_hook;

void pool__test_set_hook(pool_test_hook_fn fn)
{
	atomic_store_explicit(&test_hook, fn, memory_order_seq_cst);
}

void pool__probe(int point, struct pool *p)
{
	pool_test_hook_fn fn =
		atomic_load_explicit(&test_hook, memory_order_relaxed);

	if (fn)
		fn(point, p);
}

/*
 * A pusher stopped between its claim and its publish (docs/design.md, "A
 * claim is not a task"): claim the slot at the head of ring i as ring_push
 * does (seq_cst CAS on head) and write nothing. Returns the position, or -1
 * (no ring i yet, or its head slot is not free).
 */
int64_t pool__test_ring_claim(struct pool *p, uint32_t i)
{
	struct pool_vec *rv;
	struct pool_ring *r;
	uint32_t n;
	uint64_t pos, seq;

	rv = pool__vec_load(&p->rings, &n);
	if (i >= n)
		return -1;
	r = pool__ring_at(rv, i);
	pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Acquire: as ring_push (the slot's previous lap is done). */
	seq = atomic_load_explicit(&r->slots[pos & r->mask].seq,
				   memory_order_acquire) &
	      ~RING_META;
	if (seq != ring_lap(r, pos) ||
	    !atomic_compare_exchange_strong_explicit(&r->head, &pos, pos + 1,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return -1;
	return (int64_t)pos;
}

/* The rest of that push: publish fn(arg) (a plain task) at pos of ring i as
 * ring_push does, and set the ring's summary bit. No kick: only a worker
 * that looks at the ring again finds it. */
void pool__test_ring_publish(struct pool *p, uint32_t i, int64_t pos,
			     pool_task_fn fn, void *arg)
{
	struct pool_vec *rv;
	struct pool_ring *r;
	struct pool_slot *s;
	uint32_t n;

	rv = pool__vec_load(&p->rings, &n);
	r = pool__ring_at(rv, i);
	s = &r->slots[(uint64_t)pos & r->mask];
	s->fn = fn;
	s->arg = arg;
	s->stamp = 0;
	/* Release: as ring_push (pairs with ring_pop's acquire load). No
	 * tag, kind 0 (POOL_KIND_PLAIN, lib/task-inl.h). */
	atomic_store_explicit(&s->seq, ring_lap(r, (uint64_t)pos) + 1,
			      memory_order_release);
	ring_track(r);
}
