/* SPDX-License-Identifier: MIT */
/*
 * lib/copy.c - the copies of pool_submit_copy: task records carrying their
 * own bytes, from the pool's own jemalloc arena. A part below the task
 * layer (docs/design.md, "Layers"): pool.c's pool_submit_copy makes one with
 * pool__copy_new and queues it; whoever ends the task frees it
 * (lib/task-inl.h).
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
 *
 * Copy caches: a copy is allocated by the submitter and freed by a worker,
 * so the arena's bins, used without a thread cache (MALLOCX_TCACHE_NONE),
 * took their lock twice per task, from two threads. Each pool has
 * POOL_COPY_CACHES explicit jemalloc tcaches (tcache.create) over its
 * arena; a thread takes one with a try-lock (starting at its own index, so
 * a producer and a worker use different caches), allocates or frees
 * through it and gives it back. The arena's bins are locked once per cache
 * fill or flush. When every cache is busy the copy goes to the arena
 * directly, as before.
 *
 * One line a copy: a copy is its bytes alone, no header (internal.h,
 * pool__copy_data): the ring slot carries the user's fn, and bit 0 of the
 * handle in the slot's arg (POOL_COPY_BIG) says whether the block is a
 * recycled small one. So a payload of up to 64 bytes fills the first line
 * of its 128-aligned COPY_SMALL block, the free-list links below live in
 * that same line, and nothing of the copy is in a second line: per copy the
 * one line goes from the submitter to the worker and, when the block is
 * reused, back (it was two lines each way with the 16-byte header).
 *
 * Small copies (payload <= COPY_SMALL bytes) are also recycled
 * through magazines (Bonwick): a cache keeps a list of free blocks of
 * COPY_SMALL bytes; the freeing side (a worker) hands a magazine of
 * COPY_MAG blocks to the pool's depot when its list reaches 2 x COPY_MAG,
 * and the allocating side (a submitter) takes the whole depot when its
 * list and the magazines it took are used up. The depot is a stack of
 * magazines: a push is a CAS of its top (release), a take is one exchange
 * of the top with NULL (acquire), so there is no pop by CAS and no ABA.
 * copy_depot_blocks counts the blocks in the depot and in the magazines
 * taken but not yet used: a magazine that would bring it past
 * COPY_DEPOT_MAX goes back to the arena. So a copy costs a list push and
 * pop on each side and about three atomic operations per COPY_MAG copies,
 * and the pool keeps at most COPY_DEPOT_MAX blocks (plus 2 x COPY_MAG per
 * cache), all freed with the arena. pool__arena_fini destroys the tcaches
 * (flushing their blocks back to the arena) before the arena.
 *
 * A worker of the pool frees small copies into its own shard's list
 * instead (shard_free: the list is its shard owner's alone, so no try-lock
 * and no write to a line another thread uses), counted in the list, and
 * hands magazines to the same depot. The list is a record of its own
 * (struct pool_copy_local, one line in the pool's arena) that the shard
 * points to, made at the owner's first free of a small copy: the shard
 * stays two lines and a worker that never freed a copy pays nothing
 * (docs/design.md, "Where an idle worker's bytes go").
 *
 * Why the bound is small (512 blocks, 64 KiB): a deep queue beyond it
 * makes each copy a mallocx and a dallocx through an explicit tcache
 * (about 180 instructions each: jemalloc's flagged entry points have no
 * fast path), and a bound of 16,384 blocks (the queue of a capacity-2
 * pool) halves the instructions per copy, on both sides. But in
 * alternated wall-clock runs on the loaded 2-core machine the big depot
 * ran slower, in three rounds, the last one with one line per copy
 * (docs/design.md, "copy: one line a copy"). Likely reason: recycled
 * blocks come back scattered, in the order workers freed them, each one's
 * link written on the other CPU and read on the allocation's critical
 * path (the next pop needs it), while jemalloc's tcache hands out
 * pointers from an array and its fresh blocks come in address order,
 * which the hardware prefetcher follows. A small depot keeps the recently
 * freed, cache-warm blocks and leaves a deep queue's surplus to jemalloc.
 *
 * The allocating side prefetches the next free block for writing while it
 * copies into this one: a recycled block was last written by a worker, on
 * another CPU.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "internal.h"

#define COPY_SMALL 128
#define COPY_MAG   32
/* Blocks the depot keeps at most: 64 KiB of 128-byte blocks (why so few:
 * the comment at the top). */
#define COPY_DEPOT_MAX 512

/* A free small block; `mag_next` (the next magazine in the depot or in a
 * cache's mags) is valid in a magazine's first block. A magazine holds
 * exactly COPY_MAG blocks. */
struct copy_block {
	struct copy_block *next;
	struct copy_block *mag_next;
};

/*
 * A shard's own list of free small blocks (shard_free), pointed to by
 * pool_shard.copy. free, nfree: the shard's owner only (the shard's owner
 * hand-off orders them for the next owner). frees: the small copies freed
 * into it, stored by the owner with release, summed by pool__arena_live.
 * A line of its own: written on every free by one thread. At most
 * 2 x COPY_MAG - 1 blocks (8 KiB) stay listed, until the pool's destroy.
 */
struct pool_copy_local {
	struct copy_block *free;
	uint32_t nfree;
	_Atomic uint64_t frees;
} __attribute__((aligned(POOL_CACHELINE)));

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
 * Final free: every copy was freed (run, panicked or discarded). Copies use
 * only the pool's explicit tcaches or none (never a thread's automatic
 * cache), so once the explicit ones are destroyed no cache holds this
 * arena's memory: resetting it (dropping what it still caches) and purging it
 * (giving its dirty pages back) is safe. The arena is then kept for the next
 * pool; if it cannot be kept, it is destroyed.
 */
void pool__arena_fini(struct pool *p)
{
	char name[64];
	unsigned idx;

	if (!p->arena)
		return;
	/* No thread's automatic cache holds this arena's memory (copies use
	 * the pool's explicit caches or none): destroying the explicit ones
	 * returns every cached block, then the arena can go, with the free
	 * blocks of the magazines (allocated from it). */
	for (int i = 0; i < POOL_COPY_CACHES; i++) {
		struct pool_copy_cache *c = &p->copy_cache[i];
		unsigned tc;

		if (c->tc <= 0)
			continue;
		tc = (unsigned)(c->tc - 1);
		je.ctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc));
		c->tc = 0;
		c->free_list = NULL;
		c->nfree = 0;
		c->mags = NULL;
	}
	atomic_store_explicit(&p->copy_depot, NULL, memory_order_relaxed);
	atomic_store_explicit(&p->copy_depot_blocks, 0, memory_order_relaxed);
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

/* Copies allocated from the arena and not yet freed (0 without one):
 * frees are read before allocations, so a copy counted freed is counted
 * allocated too (its free happened after its allocation). */
uint64_t pool__arena_live(const struct pool *p)
{
	uint64_t allocs = 0, frees = 0;
	struct pool_vec *v;
	uint32_t n;

	if (!p->arena)
		return 0;
	/* Acquire: pairs with the release of the cache's try-lock by the
	 * thread that counted (cache_put), and orders the free sums before
	 * the allocation sums. */
	frees = atomic_load_explicit(&p->copy_frees, memory_order_acquire);
	for (int i = 0; i < POOL_COPY_CACHES; i++)
		frees += atomic_load_explicit(&p->copy_cache[i].frees,
					      memory_order_acquire);
	/* The workers' own frees (shard_free). The shard set only grows and
	 * its arrays stay valid until pool_destroy: a shard or a list made
	 * after these loads has freed nothing we count (its frees come after
	 * our loads). Acquire: pairs with the release stores of sh->copy and
	 * of the list's count in shard_free. */
	v = pool__vec_load(&((struct pool *)p)->table, &n);
	for (uint32_t i = 0; i < n; i++) {
		struct pool_copy_local *l = atomic_load_explicit(
			&pool__shard_at(v, i)->copy, memory_order_acquire);

		if (l)
			frees += atomic_load_explicit(&l->frees,
						      memory_order_acquire);
	}
	allocs = atomic_load_explicit(&p->copy_allocs, memory_order_acquire);
	for (int i = 0; i < POOL_COPY_CACHES; i++)
		allocs += atomic_load_explicit(&p->copy_cache[i].allocs,
					       memory_order_acquire);
	return allocs > frees ? allocs - frees : 0;
}

/* Each thread's first cache index + 1 (0: not chosen yet; one shared
 * increment per thread). */
static _Thread_local uint32_t tls_cache;
static _Atomic uint32_t next_cache;

/* Take c's try-lock; true when taken. */
static inline bool cache_lock(struct pool_copy_cache *c)
{
	return !atomic_load_explicit(&c->busy, memory_order_relaxed) &&
	       /* Acquire: pairs with the release in cache_put; the previous
		* user's tcache state and lists are ours now. */
	       !atomic_exchange_explicit(&c->busy, 1, memory_order_acquire);
}

/* c's tcache, made at its first use (under its try-lock). */
static __attribute__((noinline)) void cache_make(struct pool_copy_cache *c)
{
	unsigned tc;
	size_t sz = sizeof(tc);

	c->tc = je.ctl("tcache.create", &tc, &sz, NULL, 0) == 0 ? (int)tc + 1
								: -1;
}

/* cache_get's other tries: this thread's first call, then a busy first
 * cache. */
static __attribute__((noinline)) struct pool_copy_cache *
cache_get_slow(struct pool *p)
{
	if (tls_cache == 0)
		tls_cache = atomic_fetch_add_explicit(&next_cache, 1,
						      memory_order_relaxed) %
				    POOL_COPY_CACHES +
			    1;
	for (uint32_t k = 0; k < POOL_COPY_CACHES; k++) {
		struct pool_copy_cache *c =
			&p->copy_cache[(tls_cache - 1 + k) % POOL_COPY_CACHES];

		if (!cache_lock(c))
			continue;
		if (c->tc == 0)
			cache_make(c);
		return c;
	}
	return NULL;
}

/* A cache of p for this thread, locked, with its tcache made; NULL when
 * every cache is busy. The common call: this thread's own cache, free,
 * its tcache made: one load and one exchange. */
static inline struct pool_copy_cache *cache_get(struct pool *p)
{
	struct pool_copy_cache *c;

	if (__builtin_expect(tls_cache == 0, 0))
		return cache_get_slow(p);
	c = &p->copy_cache[tls_cache - 1];
	if (__builtin_expect(!cache_lock(c), 0))
		return cache_get_slow(p);
	if (__builtin_expect(c->tc == 0, 0))
		cache_make(c);
	return c;
}

static void cache_put(struct pool_copy_cache *c)
{
	/* Release: pairs with the acquire exchange in cache_get (and the
	 * acquire loads in pool__arena_live). */
	atomic_store_explicit(&c->busy, 0, memory_order_release);
}

static int cache_flags(const struct pool *p, const struct pool_copy_cache *c)
{
	return MALLOCX_ARENA(p->arena - 1) |
	       (c && c->tc > 0 ? MALLOCX_TCACHE((unsigned)(c->tc - 1))
			       : MALLOCX_TCACHE_NONE);
}

static void count(_Atomic uint64_t *n)
{
	/* Relaxed single writer (the cache's holder); the try-lock orders
	 * it for the next holder and pool__arena_live. */
	atomic_store_explicit(n,
			      atomic_load_explicit(n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* A recycled small block: its handle has no POOL_COPY_BIG bit. */
static bool is_small(const void *h)
{
	return !((uintptr_t)h & POOL_COPY_BIG);
}

static bool depot_push(struct pool *p, struct copy_block *m);

/* Into the cache's list; hand a magazine to the depot when it has two. */
static void small_free(struct pool *p, struct pool_copy_cache *cc, void *blk)
{
	struct copy_block *b = blk, *m;

	b->next = cc->free_list;
	cc->free_list = b;
	if (++cc->nfree < 2 * COPY_MAG)
		return;
	/* Split off the first COPY_MAG blocks as a magazine. */
	m = cc->free_list;
	b = m;
	for (int i = 1; i < COPY_MAG; i++)
		b = b->next;
	cc->free_list = b->next;
	cc->nfree -= COPY_MAG;
	b->next = NULL;
	if (depot_push(p, m))
		return;
	/* The depot is full: back to the arena. */
	while (m) {
		b = m->next;
		je.dalloc(m, cache_flags(p, cc));
		m = b;
	}
}

/* From the cache's list, then the magazines it took, refilled from the
 * depot (taken whole); else the arena. */
static void *small_alloc(struct pool *p, struct pool_copy_cache *cc)
{
	struct copy_block *b;

	if (__builtin_expect(cc->nfree == 0, 0)) {
		if (!cc->mags &&
		    atomic_load_explicit(&p->copy_depot, memory_order_relaxed))
			/* Acquire: pairs with the release CAS in
			 * small_free. */
			cc->mags = atomic_exchange_explicit(
				&p->copy_depot, NULL, memory_order_acquire);
		if (!cc->mags)
			return je.alloc(COPY_SMALL, cache_flags(p, cc));
		b = cc->mags;
		cc->mags = b->mag_next;
		cc->free_list = b;
		cc->nfree = COPY_MAG;
		/* Relaxed: as in small_free. */
		atomic_fetch_sub_explicit(&p->copy_depot_blocks, COPY_MAG,
					  memory_order_relaxed);
	}
	b = cc->free_list;
	cc->free_list = b->next;
	cc->nfree--;
	/* The next block, last written by a worker (its link): fetch its
	 * first line for writing while this one is filled (a payload of up
	 * to 64 bytes uses no other). */
	if (cc->free_list)
		__builtin_prefetch(cc->free_list, 1);
	return b;
}

/* Hand a magazine to the depot; false when it is full (the caller returns
 * the blocks to the arena). */
static bool depot_push(struct pool *p, struct copy_block *m)
{
	void *old;

	/* Relaxed: the count only bounds what is kept (it may overshoot by
	 * a magazine per racing freer); the blocks travel by the CAS. */
	if (atomic_fetch_add_explicit(&p->copy_depot_blocks, COPY_MAG,
				      memory_order_relaxed) >
	    COPY_DEPOT_MAX - COPY_MAG) {
		atomic_fetch_sub_explicit(&p->copy_depot_blocks, COPY_MAG,
					  memory_order_relaxed);
		return false;
	}
	old = atomic_load_explicit(&p->copy_depot, memory_order_relaxed);
	do {
		m->mag_next = old;
		/* Release: publishes the magazine's links to the taker's
		 * acquire exchange in small_alloc (a later push's CAS
		 * continues this release sequence). */
	} while (!atomic_compare_exchange_weak_explicit(&p->copy_depot, &old, m,
							memory_order_release,
							memory_order_relaxed));
	return true;
}

/* A magazine the depot has no room for, back to the arena through one of
 * the copy caches' tcaches (one try-lock per magazine; the arena's bins
 * are locked once per tcache flush), or without one when all are busy. */
static void mag_to_arena(struct pool *p, struct copy_block *m)
{
	struct pool_copy_cache *cc = cache_get(p);
	struct copy_block *b;

	while (m) {
		b = m->next;
		je.dalloc(m, cache_flags(p, cc));
		m = b;
	}
	if (cc)
		cache_put(cc);
}

/*
 * The shard's own list, made at its owner's first free of a small copy (in
 * the pool's arena, without a thread cache: the arena's reset at
 * pool__arena_fini frees it with the blocks it lists); NULL when out of
 * memory (the copy then goes through a copy cache).
 */
static struct pool_copy_local *local_get(struct pool *p, struct pool_shard *sh)
{
	/* Relaxed: the owner's own store (or a previous owner's, ordered by
	 * the shard's owner hand-off: worker.c). */
	struct pool_copy_local *l =
		atomic_load_explicit(&sh->copy, memory_order_relaxed);

	if (__builtin_expect(l != NULL, 1))
		return l;
	l = je.alloc(sizeof(*l), MALLOCX_ARENA(p->arena - 1) |
					 MALLOCX_TCACHE_NONE |
					 MALLOCX_ALIGN(POOL_CACHELINE));
	if (!l)
		return NULL;
	l->free = NULL;
	l->nfree = 0;
	atomic_init(&l->frees, 0);
	/* Release: pairs with the acquire load in pool__arena_live (the
	 * count it then reads is initialised). */
	atomic_store_explicit(&sh->copy, l, memory_order_release);
	return l;
}

/*
 * A worker of p frees a small copy into its shard's own list: no try-lock,
 * no shared write per copy (the list is its shard's owner's alone). A
 * magazine goes to the depot when the list holds two; with the depot full,
 * to the arena (mag_to_arena). False when the shard has no list and none
 * can be made (the caller frees the copy another way).
 */
static bool shard_free(struct pool *p, struct pool_shard *sh, void *blk)
{
	struct pool_copy_local *l = local_get(p, sh);
	struct copy_block *b = blk, *m;

	if (!l)
		return false;
	b->next = l->free;
	l->free = b;
	if (++l->nfree >= 2 * COPY_MAG) {
		m = b;
		for (int i = 1; i < COPY_MAG; i++)
			b = b->next;
		l->free = b->next;
		l->nfree -= COPY_MAG;
		b->next = NULL;
		if (!depot_push(p, m))
			mag_to_arena(p, m);
	}
	/* Release: pairs with the acquire load in pool__arena_live (single
	 * writer: the shard's owner). */
	atomic_store_explicit(
		&l->frees,
		atomic_load_explicit(&l->frees, memory_order_relaxed) + 1,
		memory_order_release);
	return true;
}

void pool__copy_free(struct pool *p, void *h)
{
	void *c = pool__copy_data(h);
	struct pool_copy_cache *cc;

	if (!p->arena) {
		pool__free(c);
		return;
	}
	if (is_small(h) && pool__tls.pool == p && pool__tls.shard &&
	    shard_free(p, pool__tls.shard, c))
		return;
	cc = cache_get(p);
	if (cc) {
		if (is_small(h))
			small_free(p, cc, c);
		else
			je.dalloc(c, cache_flags(p, cc));
		count(&cc->frees);
		cache_put(cc);
	} else {
		je.dalloc(c, cache_flags(p, NULL));
		/* Release: pairs with the acquire load in arena_live. */
		atomic_fetch_add_explicit(&p->copy_frees, 1,
					  memory_order_release);
	}
}

/* A block for a copy of len bytes from the arena, counted; its handle,
 * NULL when out. Up to COPY_SMALL bytes get a COPY_SMALL block (so
 * pool__copy_free can recycle it); larger ones are tagged POOL_COPY_BIG.
 * jemalloc aligns a COPY_SMALL block to 128 bytes and every size class
 * above it to at least 16 (max_align_t): bit 0 of a block's address is
 * free for the tag. */
static void *copy_alloc(struct pool *p, size_t len)
{
	struct pool_copy_cache *cc = cache_get(p);
	bool small = len <= COPY_SMALL;
	void *c;

	if (cc) {
		c = small ? small_alloc(p, cc)
			  : je.alloc(len, cache_flags(p, cc));
		if (c)
			count(&cc->allocs);
		cache_put(cc);
	} else {
		c = je.alloc(small ? COPY_SMALL : len, cache_flags(p, NULL));
		if (c)
			/* Release: pairs with the acquire load in
			 * arena_live. */
			atomic_fetch_add_explicit(&p->copy_allocs, 1,
						  memory_order_release);
	}
	if (c && !small)
		c = (void *)((uintptr_t)c | POOL_COPY_BIG);
	return c;
}

void *pool__copy_new(struct pool *p, const void *data, size_t len)
{
	void *h;

	if (!p->arena) {
		/* At least sizeof(max_align_t) bytes, so that malloc aligns
		 * them for max_align_t (C17 7.22.3: aligned for any type that
		 * fits), never a zero size (malloc(0) may return NULL).
		 * Tagged as not recyclable. */
		h = pool__alloc(len < sizeof(max_align_t) ? sizeof(max_align_t)
							  : len);
		if (h)
			h = (void *)((uintptr_t)h | POOL_COPY_BIG);
	} else if (pool__inject_failure()) {
		h = NULL;
	} else {
		h = copy_alloc(p, len);
	}
	if (h && len)
		memcpy(pool__copy_data(h), data, len);
	return h;
}
