/*
 * lib/copy.c - pool_submit_copy: task structs carrying their own bytes, from
 * the pool's own jemalloc arena.
 *
 * jemalloc must not replace the host application's malloc. Debian's
 * libjemalloc.so exports plain malloc/free, so the rule is (docs/design.md,
 * "jemalloc"): only the shared library links it, as a dependency of its own;
 * the dynamic linker searches the executable's direct dependencies (glibc
 * among them) before libpool's, so every malloc, the application's and
 * ours, stays glibc's, and only mallocx/dallocx/mallctl, which glibc does not
 * have, come from jemalloc. The references are weak: the static library and
 * sanitizer builds, which do not link jemalloc, fall back to malloc. TSan
 * builds always use malloc: jemalloc is not instrumented, so TSan would see
 * its memory reuse as races.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "internal.h"

#pragma weak mallocx
#pragma weak dallocx
#pragma weak mallctl

#define POOL_COPY_MAX (1u << 30)

static bool use_jemalloc(void)
{
#ifdef POOL_TSAN
	return false;
#else
	return mallocx && dallocx && mallctl;
#endif
}

/*
 * Arenas of destroyed pools, kept for the next pool_new. jemalloc 5.3 keeps
 * the metadata of a destroyed arena (about 4 KiB each), so destroying one per
 * pool made memory grow with the number of pool lifecycles; reusing them
 * bounds it by the largest number of pools alive at once. Guarded by
 * arena_lock (a leaf lock, taken only in pool_new and pool_destroy). The
 * array is malloc'd, never from the pools' arenas.
 */
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned *arena_free;
static size_t arena_nfree, arena_cap;

static bool arena_take(unsigned *idx)
{
	bool got = false;

	pthread_mutex_lock(&arena_lock);
	if (arena_nfree) {
		*idx = arena_free[--arena_nfree];
		got = true;
	}
	pthread_mutex_unlock(&arena_lock);
	return got;
}

/* Returns false when the index could not be kept (no memory). */
static bool arena_keep(unsigned idx)
{
	bool kept = true;

	pthread_mutex_lock(&arena_lock);
	if (arena_nfree == arena_cap) {
		size_t ncap = arena_cap ? 2 * arena_cap : 16;
		unsigned *n = realloc(arena_free, ncap * sizeof(*n));

		if (n) {
			arena_free = n;
			arena_cap = ncap;
		}
	}
	if (arena_nfree < arena_cap)
		arena_free[arena_nfree++] = idx;
	else
		kept = false;
	pthread_mutex_unlock(&arena_lock);
	return kept;
}

/* pool_new: take a kept arena or create one (no arena: malloc is used). */
void pool__arena_init(struct pool *p)
{
	unsigned idx;
	size_t sz = sizeof(idx);

	p->arena = 0;
	if (!use_jemalloc())
		return;
	if (!arena_take(&idx) &&
	    mallctl("arenas.create", &idx, &sz, NULL, 0) != 0) {
		pool__log(p, POOL_LOG_WARN,
			  "jemalloc arenas.create failed: copies use malloc");
		return;
	}
	p->arena = idx + 1;
}

/*
 * Final free: every copy was freed (run, panicked or discarded). Copies never
 * use a thread cache (MALLOCX_TCACHE_NONE), so no cache holds this arena's
 * memory: resetting it (dropping what it still caches) and purging it (giving
 * its dirty pages back) is safe. The arena is then kept for the next pool; if
 * it cannot be kept, it is destroyed.
 */
void pool__arena_fini(struct pool *p)
{
	char name[64];
	unsigned idx;

	if (!p->arena)
		return;
	idx = p->arena - 1;
	p->arena = 0;
	snprintf(name, sizeof(name), "arena.%u.reset", idx);
	if (mallctl(name, NULL, NULL, NULL, 0) == 0) {
		snprintf(name, sizeof(name), "arena.%u.purge", idx);
		mallctl(name, NULL, NULL, NULL, 0);
		if (arena_keep(idx))
			return;
	}
	snprintf(name, sizeof(name), "arena.%u.destroy", idx);
	mallctl(name, NULL, NULL, NULL, 0);
}

/* Allocations minus deallocations in the pool's arena (0 without one). */
uint64_t pool__arena_live(const struct pool *p)
{
	uint64_t epoch = 1, v[4] = {0, 0, 0, 0};
	static const char *const keys[4] = {"small.nmalloc", "small.ndalloc",
					    "large.nmalloc", "large.ndalloc"};
	size_t sz = sizeof(epoch);
	char name[96];

	if (!p->arena)
		return 0;
	mallctl("epoch", NULL, NULL, &epoch, sz);
	for (int i = 0; i < 4; i++) {
		sz = sizeof(v[i]);
		snprintf(name, sizeof(name), "stats.arenas.%u.%s", p->arena - 1,
			 keys[i]);
		if (mallctl(name, &v[i], &sz, NULL, 0) != 0)
			return 0;
	}
	return (v[0] + v[2]) - (v[1] + v[3]);
}

static int copy_flags(const struct pool *p)
{
	return MALLOCX_ARENA(p->arena - 1) | MALLOCX_TCACHE_NONE;
}

void pool__copy_free(struct pool *p, struct pool_copy *c)
{
	if (p->arena)
		dallocx(c, copy_flags(p));
	else
		pool__free(c);
}

void pool__copy_trampoline(void *arg)
{
	/* Never called: run_task and discard_rest recognise this function
	 * and handle the copy directly (the marker value). */
	struct pool_copy *c = arg;

	c->fn(c->data);
}

int pool_submit_copy(pool_t *p, pool_task_fn fn, const void *data, size_t len)
{
	size_t size = offsetof(struct pool_copy, data) + len;
	struct pool_copy *c;

	if (!p || !fn || (!data && len) || len > POOL_COPY_MAX)
		return POOL_EINVAL;
	if (!p->arena)
		c = pool__alloc(size);
	else if (pool__inject_failure())
		c = NULL;
	else
		c = mallocx(size, copy_flags(p));
	if (!c)
		return POOL_ENOMEM;
	c->fn = fn;
	c->len = len;
	if (len)
		memcpy(c->data, data, len);
	/* On failure the submit frees c itself, before its last access to
	 * the pool (pool_destroy may free the pool right after it). */
	return pool__submit_copy(p, c);
}
