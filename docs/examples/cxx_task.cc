/* SPDX-License-Identifier: MIT */
/*
 * docs/examples/cxx_task.cc - pool from C++: the initializer macros, and a
 * submit helper that runs any callable and catches exceptions at the task
 * boundary (an exception must never leave a task: docs/cxx.md). Exits 0
 * only if every task ran and both exceptions were caught.
 */
#include <atomic>
#include <cstdio>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

#include <pool.h>

static std::atomic<int> caught{0};

// Runs f() on the pool. On < 0 the callable was destroyed unrun.
template <class F> static int submit_fn(pool_t *p, F f)
{
	F *heap = new (std::nothrow) F(std::move(f));
	if (!heap)
		return POOL_ENOMEM;
	int r = pool_submit(
		p,
		[](void *arg) {
			std::unique_ptr<F> fn(static_cast<F *>(arg));
			try {
				(*fn)();
			} catch (const std::exception &e) {
				// The task boundary: report, never rethrow.
				std::fprintf(stderr, "task failed: %s\n",
					     e.what());
				caught.fetch_add(1);
			} catch (...) {
				std::fprintf(stderr, "task failed\n");
				caught.fetch_add(1);
			}
		},
		heap);
	if (r < 0)
		delete heap;
	return r;
}

int main()
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	std::atomic<int> ran{0};
	pool_t *p = nullptr;

	o.capacity = 2;
	if (pool_new(&p, &o) != 0)
		return 1;
	for (int i = 0; i < 100; i++)
		if (submit_fn(p, [&ran] { ran.fetch_add(1); }) != 0)
			return 1;
	if (submit_fn(p, [] { throw std::runtime_error("bad input"); }) != 0 ||
	    submit_fn(p, [] { throw 42; }) != 0)
		return 1;
	if (pool_release_timeout(p, 30000000000) != 0 ||
	    pool_stats(p, &s) != 0 || pool_destroy(p) != 0)
		return 1;
	std::printf("ran %d, caught %d, completed %llu\n", ran.load(),
		    caught.load(), (unsigned long long)s.completed);
	return ran.load() != 100 || caught.load() != 2 || s.completed != 102;
}
