/* SPDX-License-Identifier: MIT */
/*
 * lib/copy.c - pool_submit_copy: task structs carrying their own bytes, from
 * the pool's own jemalloc arena.
 *
 * jemalloc is found at run time, never linked (docs/design.md, "jemalloc"):
 * neither libpool.so nor libpool.a has a link-time dependency on it, so
 * dlopen("libpool.so") (ctypes, plugins, bindings) works. Debian's
 * libjemalloc.so.2 uses initial-exec TLS and cannot be dlopen()ed after
 * start-up unless glibc has static TLS to spare, which by default it does
 * not. So, once per process, at the first pool_new:
 *   1. dlopen(RTLD_NOLOAD): jemalloc is already loaded (the pkg-config link
 *      line and pool_dep load it at start-up, behind libc, so the host's
 *      malloc stays glibc's; or the application links or preloads it);
 *   2. dlsym(RTLD_DEFAULT): jemalloc linked statically into the executable;
 *   3. dlopen(RTLD_LOCAL): load it now, privately (its malloc does not enter
 *      the global scope); fails cleanly without static TLS room.
 * All three of mallocx, dallocx and mallctl must be found; otherwise copies
 * come from malloc. TSan builds always use malloc: jemalloc is not
 * instrumented, so TSan would see its memory reuse as races.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "internal.h"

#define POOL_COPY_MAX (1u << 30)

/* jemalloc's entry points; all NULL when copies use malloc. Written only
 * by je_resolve, once, under je_once: pthread_once orders those writes
 * before its return in every caller (pool__arena_init). The other readers
 * run on a pool whose arena is set, after its pool_new returned, so the
 * hand-off of the pool handle orders them too. */
static struct {
	void *(*alloc)(size_t size, int flags);
	void (*dalloc)(void *ptr, int flags);
	int (*ctl)(const char *name, void *oldp, size_t *oldlenp, void *newp,
		   size_t newlen);
} je;
static pthread_once_t je_once = PTHREAD_ONCE_INIT;

#ifndef POOL_TSAN
static bool je_bind(void *h)
{
	/* POSIX: a dlsym result converts to a function pointer. */
	*(void **)&je.alloc = dlsym(h, "mallocx");
	*(void **)&je.dalloc = dlsym(h, "dallocx");
	*(void **)&je.ctl = dlsym(h, "mallctl");
	if (je.alloc && je.dalloc && je.ctl)
		return true;
	je.alloc = NULL;
	je.dalloc = NULL;
	je.ctl = NULL;
	return false;
}

static void je_resolve(void)
{
	static const char lib[] = "libjemalloc.so.2";
	void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);

	if (h && je_bind(h))
		return;
	if (je_bind(RTLD_DEFAULT))
		return;
	/* On success the handle is kept for the life of the process. */
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (h && !je_bind(h))
		dlclose(h);
}
#else
static void je_resolve(void)
{
	/* TSan: jemalloc is not instrumented; copies use malloc. */
}
#endif

static bool use_jemalloc(void)
{
	pthread_once(&je_once, je_resolve);
	return je.alloc != NULL;
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
	    je.ctl("arenas.create", &idx, &sz, NULL, 0) != 0) {
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
	if (je.ctl(name, NULL, NULL, NULL, 0) == 0) {
		snprintf(name, sizeof(name), "arena.%u.purge", idx);
		je.ctl(name, NULL, NULL, NULL, 0);
		if (arena_keep(idx))
			return;
	}
	snprintf(name, sizeof(name), "arena.%u.destroy", idx);
	je.ctl(name, NULL, NULL, NULL, 0);
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
	je.ctl("epoch", NULL, NULL, &epoch, sz);
	for (int i = 0; i < 4; i++) {
		sz = sizeof(v[i]);
		snprintf(name, sizeof(name), "stats.arenas.%u.%s", p->arena - 1,
			 keys[i]);
		if (je.ctl(name, &v[i], &sz, NULL, 0) != 0)
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
		je.dalloc(c, copy_flags(p));
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
		c = je.alloc(size, copy_flags(p));
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
