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
#include <sys/mman.h>

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

/*
 * Zeroed memory resident only where it is written: a block of
 * POOL_LAZY_MIN bytes or more is its own anonymous mapping (the kernel's
 * zero pages until first write; calloc would not promise that once
 * glibc's mmap threshold has risen above the size, as it does after the
 * first large free), a smaller one comes from calloc (which glibc serves
 * from a mapping of its own too while the threshold is low). The floor is
 * high so that a pool with many rings does not use up the process's
 * mappings (vm.max_map_count).
 */
void *pool__alloc_zeroed(size_t size)
{
	void *ptr;

	if (pool__inject_failure())
		return NULL;
	if (size < POOL_LAZY_MIN)
		return calloc(1, size);
	ptr = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return ptr == MAP_FAILED ? NULL : ptr;
}

void pool__free_zeroed(void *ptr, size_t size)
{
	if (!ptr)
		return;
	if (size < POOL_LAZY_MIN)
		free(ptr);
	else
		munmap(ptr, size);
}
