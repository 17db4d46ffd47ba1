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
