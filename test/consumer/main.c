/* SPDX-License-Identifier: MIT */
/*
 * test/consumer/main.c - a consumer of the installed (or subproject) pool:
 * submits copies, checks they all ran, where they were allocated, that the
 * program's malloc is still glibc's, and the executor and version calls.
 *
 *   consumer arena|malloc|any
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <pool.h>

static atomic_int ran;

static void task(void *arg)
{
	if (memcmp(arg, "consumer", 8) == 0)
		atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
}

static void count(void *arg)
{
	atomic_fetch_add_explicit((atomic_int *)arg, 1, memory_order_relaxed);
}

int main(int argc, char **argv)
{
	const char *want = argc > 1 ? argv[1] : "any";
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	atomic_int counted = 0;
	pool_executor_t e;
	void *libc;
	pool_t *p;
	int r;

	if (strcmp(pool_version_string(), POOL_VERSION_STRING) != 0) {
		fprintf(stderr, "library %s, headers %s\n",
			pool_version_string(), POOL_VERSION_STRING);
		return 1;
	}
	o.capacity = 2;
	if ((r = pool_new(&p, &o)) < 0) {
		fprintf(stderr, "pool_new: %s\n", pool_strerror(r));
		return 1;
	}
	for (int i = 0; i < 100; i++)
		if ((r = pool_submit_copy(p, task, "consumer", 8)) < 0) {
			fprintf(stderr, "submit_copy: %s\n", pool_strerror(r));
			return 1;
		}
	if (pool_executor(p, &e) != 0 ||
	    pool_executor_submit(&e, count, &counted) != 0)
		return 1;
	if ((r = pool_release_timeout(p, 30000000000)) < 0 ||
	    (r = pool_stats(p, &s)) < 0) {
		fprintf(stderr, "release/stats: %s\n", pool_strerror(r));
		return 1;
	}
	if (atomic_load(&ran) != 100 || atomic_load(&counted) != 1 ||
	    s.completed != 101) {
		fprintf(stderr, "ran %d, counted %d, completed %llu\n",
			atomic_load(&ran), atomic_load(&counted),
			(unsigned long long)s.completed);
		return 1;
	}
	if ((strcmp(want, "arena") == 0 && s.copy_arena == 0) ||
	    (strcmp(want, "malloc") == 0 && s.copy_arena != 0)) {
		fprintf(stderr, "wanted %s, copy_arena %llu\n", want,
			(unsigned long long)s.copy_arena);
		return 1;
	}
	/* Loading jemalloc did not replace the program's malloc. */
	libc = dlopen("libc.so.6", RTLD_NOW);
	if (!libc || dlsym(RTLD_DEFAULT, "malloc") != dlsym(libc, "malloc")) {
		fprintf(stderr, "malloc is not glibc's\n");
		return 1;
	}
	dlclose(libc);
	if (pool_destroy(p) != 0)
		return 1;
	printf("consumer: pool %s, 100 copies (copy_arena %llu), executor ok\n",
	       pool_version_string(), (unsigned long long)s.copy_arena);
	return 0;
}
