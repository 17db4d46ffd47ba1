/* SPDX-License-Identifier: MIT */
// perf/tbb.cc - oneTBB: task_arena::enqueue for submits, task_group for
// fork_join.
#include "impl.h"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <cerrno>
#include <memory>
#include <optional>

namespace perf
{
namespace
{

long tbb_fib(int n, int cutoff, Counter *tasks)
{
	if (n <= cutoff)
		return fib_serial(n);
	long x = 0;
	tbb::task_group g;
	g.run([&] {
		tasks->inc();
		x = tbb_fib(n - 1, cutoff, tasks);
	});
	long y = tbb_fib(n - 2, cutoff, tasks);
	g.wait();
	return x + y;
}

class TbbImpl : public Impl
{
      public:
	~TbbImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		if (w == Workload::tune_under_load)
			return "task_arena concurrency is fixed once "
			       "initialized";
		return nullptr;
	}
	int start(const Config &c) override
	{
		// TBB's default worker limit is CPUs - 1; lift it so the
		// arena can get `capacity` workers (TBB still caps workers
		// at max(256, 4 x CPUs)).
		par_.emplace(tbb::global_control::max_allowed_parallelism,
			     static_cast<std::size_t>(c.capacity) + 1);
		if (c.stack_size)
			stack_.emplace(tbb::global_control::thread_stack_size,
				       c.stack_size);
		// No slot reserved for an external thread: enqueued tasks get
		// all `capacity` slots.
		arena_.emplace(c.capacity, 0);
		arena_->initialize();
		// fork_join: the caller joins an arena of `capacity` slots
		// (one of them its own), as a TBB program's main thread does.
		fj_arena_.emplace(c.capacity);
		fj_arena_->initialize();
		return 0;
	}
	int submit(task_fn fn, void *arg) override
	{
		arena_->enqueue([fn, arg] { fn(arg); });
		return 0;
	}
	int stop() override
	{
		fj_arena_.reset();
		arena_.reset();
		stack_.reset();
		par_.reset();
		return 0;
	}
	int fork_join(int n, int cutoff, long *result, Counter *tasks) override
	{
		fj_arena_->execute([&] {
			tasks->inc();
			*result = tbb_fib(n, cutoff, tasks);
		});
		return 0;
	}

      private:
	std::optional<tbb::global_control> par_;
	std::optional<tbb::global_control> stack_;
	std::optional<tbb::task_arena> arena_;
	std::optional<tbb::task_arena> fj_arena_;
};

} // namespace

std::unique_ptr<Impl> make_tbb()
{
	return std::make_unique<TbbImpl>();
}

} // namespace perf
