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
#include <stdalign.h>
#include <stdio.h>
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

/* pool_new: create the pool's arena (no arena: malloc is used). */
void pool__arena_init(struct pool *p)
{
	unsigned idx;
	size_t sz = sizeof(idx);

	p->arena = 0;
	if (!use_jemalloc())
		return;
	if (mallctl("arenas.create", &idx, &sz, NULL, 0) != 0) {
		pool__log(p, POOL_LOG_WARN,
			  "jemalloc arenas.create failed: copies use malloc");
		return;
	}
	p->arena = idx + 1;
}

/* Final free: every copy was freed (run, panicked or discarded). */
void pool__arena_fini(struct pool *p)
{
	char name[64];

	if (!p->arena)
		return;
	/* Copies never use a thread cache (MALLOCX_TCACHE_NONE), so no cache
	 * holds this arena's memory and destroying it is safe. */
	snprintf(name, sizeof(name), "arena.%u.destroy", p->arena - 1);
	mallctl(name, NULL, NULL, NULL, 0);
	p->arena = 0;
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
	int r;

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
	r = pool_submit(p, pool__copy_trampoline, c);
	if (r < 0)
		pool__copy_free(p, c);
	return r;
}
