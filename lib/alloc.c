/* SPDX-License-Identifier: MIT */
/*
 * lib/alloc.c - the library's allocator (base layer): every allocation the
 * engine makes goes through here, so the allocation-failure sweep can fail
 * the k-th one. Whether it fails comes from pool__inject_failure(), which is
 * defined once per library flavour: lib/failpoint-off.c in the released
 * libraries (never fails, no shared state), lib/failpoint.c in the
 * test-only library that the unit tests link (docs/testing.md).
 */
#include <stdlib.h>

#include "internal.h"

void *pool__alloc(size_t size)
{
	return pool__inject_failure() ? NULL : malloc(size);
}

void *pool__alloc_aligned(size_t size)
{
	void *ptr = NULL;

	if (pool__inject_failure())
		return NULL;
	size = (size + POOL_CACHELINE - 1) & ~(size_t)(POOL_CACHELINE - 1);
	if (posix_memalign(&ptr, POOL_CACHELINE, size))
		return NULL;
	return ptr;
}

void pool__free(void *ptr)
{
	free(ptr);
}
