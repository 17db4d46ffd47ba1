/* SPDX-License-Identifier: MIT */
/*
 * test_jemalloc.c - the jemalloc arena for pool_submit_copy (lib/copy.c,
 * docs/design.md "jemalloc").
 *
 * Linked against the SHARED library and, as a consumer's pkg-config line
 * does, libpool-jemalloc.so, which loads libjemalloc.so at start-up behind
 * glibc; libpool finds it at run time. The application's malloc must stay
 * glibc's, copies come from the pool's own
 * arena (stats.copy_arena != 0), stats.copies_live returns to 0 whether the
 * copies ran, panicked or were discarded, and pool_destroy leaves no arena
 * behind. Public API only: the pool__ test hooks are not exported here.
 *
 * Sanitizers: ASan/TSan interpose malloc in the executable, so there the
 * check is that malloc is not jemalloc's. Under TSan copies always come from
 * malloc (copy_arena == 0, by design: jemalloc is not instrumented).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "test.h"

static void *jemalloc_handle(void)
{
	/* Already loaded as a dependency of libpool.so, or NULL. */
	return dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
}

static atomic_int ran;

static void task_copy(void *arg)
{
	const unsigned char *b = arg;

	if ((uintptr_t)arg % alignof(max_align_t) != 0)
		FAIL("copy %p not aligned", arg);
	for (int i = 0; i < 100; i++)
		if (b[i] != (unsigned char)(i * 3))
			FAIL("copy byte %d is %#x", i, b[i]);
	atomic_fetch_add(&ran, 1);
}

static void task_copy_panic(void *arg)
{
	task_copy(arg);
	pool_panic(1, "copy panics");
}

static void quiet_handler(void *ctx, const pool_panic_info_t *in)
{
	(void)in;
	atomic_fetch_add((atomic_int *)ctx, 1);
}

static void submit_copies(pool_t *p, pool_task_fn fn, int n)
{
	unsigned char buf[4096];

	for (int i = 0; i < 100; i++)
		buf[i] = (unsigned char)(i * 3);
	for (int i = 0; i < n; i++)
		ASSERT_OK(pool_submit_copy(p, fn, buf,
					   i % 3 == 0	? 100
					   : i % 3 == 1 ? 1000
							: sizeof(buf)));
}

/* The host's malloc is still glibc's after a pool was created and used. */
TEST(jemalloc_malloc_is_still_glibc)
{
	void *libc, *glibc_malloc, *host_malloc, *je;
	pool_t *p;

	ASSERT_OK(pool_new(&p, NULL));
	submit_copies(p, task_copy, 30);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 30);
	ASSERT_OK(pool_destroy(p));

	libc = dlopen("libc.so.6", RTLD_NOW);
	ASSERT_NOT_NULL(libc);
	glibc_malloc = dlsym(libc, "malloc");
	host_malloc = dlsym(RTLD_DEFAULT, "malloc");
	ASSERT_NOT_NULL(glibc_malloc);
	ASSERT_NOT_NULL(host_malloc);
	je = jemalloc_handle();
#if defined(UNDER_ASAN) || defined(UNDER_TSAN)
	/* The sanitizer's malloc, in the executable, comes first. */
	if (je)
		ASSERT(host_malloc != dlsym(je, "malloc"));
#else
	/* The link line did bring jemalloc in, and it did not take malloc. */
	ASSERT_NOT_NULL(je);
	ASSERT_NOT_NULL(dlsym(je, "mallocx"));
	ASSERT_PTR_EQ(host_malloc, glibc_malloc);
	ASSERT(host_malloc != dlsym(je, "malloc"));
	ASSERT_PTR_EQ(dlsym(RTLD_DEFAULT, "free"), dlsym(libc, "free"));
#endif
	if (je)
		dlclose(je);
	dlclose(libc);
}

static uint64_t expect_arena(pool_t *p)
{
	pool_stats_t st = test_stats(p);

#if defined(UNDER_TSAN)
	ASSERT_UEQ(st.copy_arena, 0);
#else
	{
		void *je = jemalloc_handle();

		/* Plain build: libpool-jemalloc.so loaded jemalloc. */
		ASSERT_NOT_NULL(je);
		ASSERT(st.copy_arena != 0);
		dlclose(je);
	}
#endif
	return st.copy_arena;
}

TEST(jemalloc_copy_arena)
{
	pool_t *p1, *p2;
	uint64_t a1, a2;

	ASSERT_OK(pool_new(&p1, NULL));
	ASSERT_OK(pool_new(&p2, NULL));
	a1 = expect_arena(p1);
	a2 = expect_arena(p2);
	if (a1)
		ASSERT(a1 != a2); /* one arena per pool */
	ASSERT_OK(pool_destroy(p1));
	ASSERT_OK(pool_destroy(p2));
}

/* Occupies the only worker until pool_stop took every queued task. */
static void blocker(void *arg)
{
	pool_t *self = pool_self();

	atomic_store((atomic_int *)arg, 1);
	while (!pool_is_closed(self) || pool_queued(self) != 0)
		sched_yield();
}

static atomic_int discarded;

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	(void)ctx;
	if (fn == task_copy)
		task_copy(arg); /* the bytes are intact */
	atomic_fetch_add(&discarded, 1);
}

TEST(jemalloc_copies_live_returns_to_zero)
{
	pool_options_t o = test_opts(1, 64, 0);
	atomic_int started = 0, panics = 0;
	struct gate g;
	pool_stats_t st;
	uint64_t arena;
	pool_t *p;

	gate_init(&g);
	o.panic_handler = quiet_handler;
	o.panic_ctx = &panics;
	ASSERT_OK(pool_new(&p, &o));
	arena = expect_arena(p);
	ASSERT_UEQ(test_stats(p).copies_live, 0);

	/* Queued copies are live; they are freed after they run. */
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	submit_copies(p, task_copy, 20);
	if (arena)
		ASSERT_UEQ(test_stats(p).copies_live, 20);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 20);
	ASSERT_UEQ(test_stats(p).copies_live, 0);

	/* Panicked copies are freed. */
	ASSERT_OK(pool_reboot(p));
	submit_copies(p, task_copy_panic, 20);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&panics), 20);
	ASSERT_UEQ(test_stats(p).copies_live, 0);

	/* Discarded copies are freed. */
	ASSERT_OK(pool_reboot(p));
	atomic_store(&started, 0);
	ASSERT_OK(pool_submit(p, blocker, &started));
	WAIT_UNTIL(atomic_load(&started));
	submit_copies(p, task_copy, 30);
	if (arena)
		ASSERT_UEQ(test_stats(p).copies_live, 30);
	ASSERT_OK(pool_stop(p, on_discard, NULL));
	ASSERT_EQ(atomic_load(&discarded), 30);
	st = test_stats(p);
	ASSERT_UEQ(st.discarded, 30);
	ASSERT_UEQ(st.copies_live, 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* A small copy (64 bytes, as the perf copy workload) that checks its bytes
 * and its sequence number's tag. */
static atomic_int small_ran;

static void task_small(void *arg)
{
	const unsigned char *b = arg;

	for (int i = 1; i < 64; i++)
		if (b[i] != (unsigned char)(b[0] + i))
			FAIL("small copy byte %d is %#x, expected %#x", i, b[i],
			     (unsigned char)(b[0] + i));
	atomic_fetch_add(&small_ran, 1);
}

static void submit_small(pool_t *p, int n, int salt)
{
	unsigned char buf[64];

	for (int i = 0; i < n; i++) {
		buf[0] = (unsigned char)(i * 7 + salt);
		for (int k = 1; k < 64; k++)
			buf[k] = (unsigned char)(buf[0] + k);
		ASSERT_OK(pool_submit_copy(p, task_small, buf, sizeof(buf)));
	}
}

/*
 * Small copies recycled through the depot (lib/copy.c): a queue of 20,000
 * copies is freed by the worker into magazines, more than the depot keeps
 * (COPY_DEPOT_MAX, 512), so both the depot and the return to the arena
 * are used; the next rounds allocate from the recycled blocks. Every copy
 * arrives intact (a block handed out twice would carry another copy's
 * bytes), copies_live is exact at each step, and a discarded round is
 * freed as well.
 */
TEST(jemalloc_copies_recycled_through_depot)
{
	pool_options_t o = test_opts(1, 32768, 0);
	atomic_int started = 0;
	const int n = 20000;
	struct gate g;
	pool_t *p;
	uint64_t arena;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	arena = expect_arena(p);
	for (int round = 0; round < 3; round++) {
		ASSERT_OK(pool_submit(p, task_gate, &g));
		gate_wait_entered(&g, 1);
		submit_small(p, n, round);
		if (arena)
			ASSERT_UEQ(test_stats(p).copies_live, (uint64_t)n);
		gate_open(&g);
		ASSERT_OK(pool_release_timeout(p, SEC(60)));
		ASSERT_EQ(atomic_load(&small_ran), (round + 1) * n);
		ASSERT_UEQ(test_stats(p).copies_live, 0);
		ASSERT_OK(pool_reboot(p));
		gate_destroy(&g);
		gate_init(&g);
	}
	/* Discarded: freed by pool_stop's thread, through the caches. */
	ASSERT_OK(pool_submit(p, blocker, &started));
	WAIT_UNTIL(atomic_load(&started));
	submit_small(p, n, 3);
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_UEQ(test_stats(p).copies_live, 0);
	ASSERT_UEQ(test_stats(p).discarded, (uint64_t)n);
	ASSERT_EQ(atomic_load(&small_ran), 3 * n);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/*
 * A copy that checks its bytes (byte k is k * 5 + len, with len itself in
 * the first word: every length is at least 8) and its alignment: a cache
 * line (64 bytes) for a small copy (up to 128 bytes, lib/copy.c) from the
 * pool's arena (arena_lines), max_align_t otherwise.
 */
static atomic_int lines_ran, lines_bad;
static bool arena_lines;

static const size_t line_lens[] = {8, 63, 64, 65, 127, 128, 129, 200, 4096};

static void fill_line(unsigned char *buf, size_t len)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (unsigned char)(k * 5 + len);
	memcpy(buf, &len, sizeof(len));
}

static void task_line_check(void *arg)
{
	unsigned char want[4096];
	uintptr_t align;
	size_t len;

	memcpy(&len, arg, sizeof(len));
	align = arena_lines && len <= 128 ? 64 : alignof(max_align_t);
	if (len < 8 || len > sizeof(want)) {
		fprintf(stderr, "copy %p: length %zu\n", arg, len);
		atomic_fetch_add(&lines_bad, 1);
	} else {
		fill_line(want, len);
		if (memcmp(arg, want, len) != 0) {
			fprintf(stderr, "len %zu: bytes differ\n", len);
			atomic_fetch_add(&lines_bad, 1);
		}
	}
	if ((uintptr_t)arg % align != 0) {
		fprintf(stderr, "len %zu: copy %p not aligned to %zu\n", len,
			arg, (size_t)align);
		atomic_fetch_add(&lines_bad, 1);
	}
	atomic_fetch_add(&lines_ran, 1);
}

static void on_line_discard(pool_task_fn fn, void *arg, void *ctx)
{
	(void)ctx;
	if (fn != task_line_check)
		atomic_fetch_add(&lines_bad, 1);
	else
		task_line_check(arg);
}

/*
 * A copy carries no header (lib/copy.c, "one line a copy"): the task gets
 * the block's own address, so a copy of up to 128 bytes from the arena
 * starts on a cache line (a 64-byte payload fills exactly one), and the
 * sizes on both sides of the small class (128 | 129) arrive intact, whether
 * they run or are handed to pool_stop's discard callback (which sees the
 * same address as the task would), and every one is freed (copies_live).
 */
TEST(jemalloc_copy_has_no_header)
{
	pool_options_t o = test_opts(1, 256, 0);
	const size_t nlens = sizeof(line_lens) / sizeof(line_lens[0]);
	unsigned char buf[4096];
	atomic_int started = 0;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	arena_lines = expect_arena(p) != 0;
	for (int round = 0; round < 4; round++)
		for (size_t i = 0; i < nlens; i++) {
			fill_line(buf, line_lens[i]);
			ASSERT_OK(pool_submit_copy(p, task_line_check, buf,
						   line_lens[i]));
			memset(buf, 0xEE, sizeof(buf));
		}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&lines_ran), (int)(4 * nlens));
	ASSERT_EQ(atomic_load(&lines_bad), 0);
	ASSERT_UEQ(test_stats(p).copies_live, 0);
	/* Discarded: the callback gets the bytes' address, then they are
	 * freed. */
	ASSERT_OK(pool_reboot(p));
	ASSERT_OK(pool_submit(p, blocker, &started));
	WAIT_UNTIL(atomic_load(&started));
	for (size_t i = 0; i < nlens; i++) {
		fill_line(buf, line_lens[i]);
		ASSERT_OK(pool_submit_copy(p, task_line_check, buf,
					   line_lens[i]));
	}
	ASSERT_OK(pool_stop(p, on_line_discard, NULL));
	ASSERT_EQ(atomic_load(&lines_ran), (int)(5 * nlens));
	ASSERT_EQ(atomic_load(&lines_bad), 0);
	ASSERT_UEQ(test_stats(p).copies_live, 0);
	ASSERT_UEQ(test_stats(p).discarded, (uint64_t)nlens);
	ASSERT_OK(pool_destroy(p));
}

/* jemalloc's own mallctl (not libpool's), or NULL. */
static int (*je_ctl(void))(const char *, void *, size_t *, void *, size_t)
{
	int (*ctl)(const char *, void *, size_t *, void *, size_t);
	void *je = jemalloc_handle();

	if (!je)
		return NULL;
	*(void **)&ctl = dlsym(je, "mallctl");
	dlclose(je); /* still loaded: libpool-jemalloc.so depends on it */
	return ctl;
}

/*
 * Allocations so far from the 64-byte bin of arena `arena` (index + 1, as
 * copy_arena), or -1 when jemalloc keeps no statistics. The pool's arena
 * serves nothing of that size but the workers' copy list records
 * (lib/copy.c, struct pool_copy_local): copies take 128-byte blocks or
 * larger ones.
 */
static long long bin64_allocs(uint64_t arena)
{
	int (*ctl)(const char *, void *, size_t *, void *, size_t) = je_ctl();
	uint64_t epoch = 1, nmalloc = 0;
	unsigned nbins = 0;
	size_t sz, binsz;
	bool stats = false;
	char name[128];

	ASSERT_NOT_NULL(ctl);
	sz = sizeof(stats);
	if (ctl("config.stats", &stats, &sz, NULL, 0) != 0 || !stats)
		return -1;
	sz = sizeof(nbins);
	ASSERT_EQ(ctl("arenas.nbins", &nbins, &sz, NULL, 0), 0);
	for (unsigned j = 0; j < nbins; j++) {
		snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
		sz = sizeof(binsz);
		ASSERT_EQ(ctl(name, &binsz, &sz, NULL, 0), 0);
		if (binsz != 64)
			continue;
		sz = sizeof(epoch);
		ASSERT_EQ(ctl("epoch", NULL, NULL, &epoch, sz), 0);
		snprintf(name, sizeof(name), "stats.arenas.%u.bins.%u.nmalloc",
			 (unsigned)(arena - 1), j);
		sz = sizeof(nmalloc);
		ASSERT_EQ(ctl(name, &nmalloc, &sz, NULL, 0), 0);
		return (long long)nmalloc;
	}
	FAIL("jemalloc has no 64-byte bin");
	return -1;
}

/*
 * A worker's own list of free small copies (lib/copy.c, shard_free) is a
 * record made at its shard's first free of a small copy, not part of every
 * worker: a worker that only ran plain tasks, and a pool whose copies were
 * only discarded by another thread, made none; the one worker that freed
 * copies made one, kept by its shard for the next owner (after a reboot)
 * and not made again. Every copy arrives intact and copies_live is exact
 * throughout (the list's count is summed).
 */
TEST(jemalloc_worker_copy_list_made_at_first_free)
{
	pool_options_t o = test_opts(1, 32768, 0);
	atomic_int started = 0;
	struct gate g;
	long long base;
	uint64_t arena;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	arena = expect_arena(p);
	if (!arena || (base = bin64_allocs(arena)) < 0) {
		ASSERT_OK(pool_destroy(p));
		return; /* malloc (TSan) or no jemalloc statistics */
	}
	/* Plain tasks only: the worker makes no record. */
	gate_init(&g);
	for (int i = 0; i < 100; i++)
		ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(60)));
	ASSERT_EQ(bin64_allocs(arena), base);
	ASSERT_OK(pool_reboot(p));
	/* Copies discarded by this thread (not a worker): none either. */
	ASSERT_OK(pool_submit(p, blocker, &started));
	WAIT_UNTIL(atomic_load(&started));
	submit_small(p, 100, 5);
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_UEQ(test_stats(p).copies_live, 0);
	ASSERT_EQ(bin64_allocs(arena), base);
	/* The worker frees copies: one record, made once. */
	for (int round = 0; round < 2; round++) {
		ASSERT_OK(pool_reboot(p));
		submit_small(p, 1000, round);
		ASSERT_OK(pool_release_timeout(p, SEC(60)));
		ASSERT_UEQ(test_stats(p).copies_live, 0);
		ASSERT_EQ(bin64_allocs(arena), base + 1);
	}
	ASSERT_EQ(atomic_load(&small_ran), 2000);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* "arenas.narenas" through jemalloc's own mallctl (not libpool's). */
static unsigned narenas(void)
{
	int (*ctl)(const char *, void *, size_t *, void *, size_t);
	void *je = jemalloc_handle();
	unsigned n = 0;
	size_t sz = sizeof(n);

	ASSERT_NOT_NULL(je);
	*(void **)&ctl = dlsym(je, "mallctl");
	ASSERT_NOT_NULL(ctl);
	ASSERT_EQ(ctl("arenas.narenas", &n, &sz, NULL, 0), 0);
	dlclose(je);
	return n;
}

/* Destroying a pool destroys its arena: arena indices are recycled, so
 * create/destroy cycles do not grow the arena count, and a later pool
 * works. */
TEST(jemalloc_destroy_leaves_no_arena)
{
	unsigned base = 0;
	uint64_t first = 0;

	for (int i = 0; i < 50; i++) {
		pool_t *p;
		uint64_t a;

		ASSERT_OK(pool_new(&p, NULL));
		a = expect_arena(p);
		submit_copies(p, task_copy, 5);
		ASSERT_OK(pool_release_timeout(p, SEC(30)));
		ASSERT_UEQ(test_stats(p).copies_live, 0);
		ASSERT_OK(pool_destroy(p));
		if (!a)
			continue;
		if (i == 0) {
			first = a;
			base = narenas();
		} else {
			ASSERT_UEQ(a, first);
			ASSERT_EQ(narenas(), base);
		}
	}
	ASSERT_EQ(atomic_load(&ran), 250);
}

/*
 * Memory stays flat over many pool lifecycles that used pool_submit_copy:
 * jemalloc keeps a destroyed arena's metadata (about 4 KiB), so the pool
 * keeps its arena for the next pool instead (issue 9, defect 7: RSS grew
 * from 5 to 85 MiB over 20,000 cycles). Sanitizer builds run fewer cycles
 * and check only that every cycle works: their allocators' own caches make
 * RSS meaningless there.
 */
TEST(jemalloc_rss_flat_over_lifecycles)
{
	int cycles = 20000, warm = 2000;
	long before = 0, after;
	uint64_t a0 = 0;

#if defined(UNDER_ASAN) || defined(UNDER_TSAN)
	cycles = 1000;
	warm = 100;
#endif
	for (int i = 0; i < cycles; i++) {
		char buf[64] = {0};
		pool_options_t o = POOL_OPTIONS_INIT;
		pool_t *p;
		uint64_t a;

		if (i == warm)
			before = rss_kib();
		o.capacity = 1;
		ASSERT_OK(pool_new(&p, &o));
		a = test_stats(p).copy_arena;
		if (i == 0)
			a0 = a;
		ASSERT_UEQ(a, a0); /* one arena, reused by every pool */
		ASSERT_OK(pool_submit_copy(p, task_nop, buf, sizeof(buf)));
		ASSERT_OK(pool_destroy(p));
	}
	after = rss_kib();
#if !defined(UNDER_ASAN) && !defined(UNDER_TSAN)
	/* 18,000 cycles at 4 KiB each would be about 70 MiB. */
	if (a0 != 0)
		ASSERT_LE(after - before, 4096);
#endif
	(void)after;
	(void)before;
}
