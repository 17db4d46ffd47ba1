/* SPDX-License-Identifier: MIT */
// perf/omp.cc - OpenMP tasks. OpenMP has no pool to submit into from an
// outside thread: a window is one parallel region of `capacity` threads in
// which the producer thread(s) create the tasks and the region's implicit
// barrier waits for them all.
#include "impl.h"

#include <omp.h>

#include <atomic>
#include <cerrno>
#include <memory>

namespace perf
{
namespace
{

long omp_fib(int n, int cutoff, Counter *tasks)
{
	if (n <= cutoff)
		return fib_serial(n);
	long x = 0;
#pragma omp task shared(x) firstprivate(n, cutoff, tasks)
	{
		tasks->inc();
		x = omp_fib(n - 1, cutoff, tasks);
	}
	long y = omp_fib(n - 2, cutoff, tasks);
#pragma omp taskwait
	return x + y;
}

class OmpImpl : public Impl
{
      public:
	const char *unfit(Workload w) const override
	{
		switch (w) {
		case Workload::wake_latency:
			return "no idle pool to submit into from outside a "
			       "parallel region";
		case Workload::tune_under_load:
			return "team size fixed for a parallel region";
		case Workload::memory:
			return "tasks only exist inside a parallel region";
		default:
			return nullptr;
		}
	}
	int start(const Config &c) override
	{
		capacity_ = c.capacity;
		return 0;
	}
	int submit(task_fn, void *) override
	{
		return -ENOTSUP;
	}
	int stop() override
	{
		return 0;
	}
	bool has_bulk() const override
	{
		return true;
	}
	int bulk(int producers, std::size_t per_producer, task_fn fn,
		 void *arg) override
	{
		if (producers > capacity_)
			return -EINVAL;
		std::atomic<int> team{0};
#pragma omp parallel num_threads(capacity_)
		{
			if (omp_get_thread_num() == 0)
				team.store(omp_get_num_threads());
			if (omp_get_thread_num() < producers) {
				for (std::size_t i = 0; i < per_producer; i++) {
#pragma omp task firstprivate(fn, arg)
					fn(arg);
				}
			}
		}
		return team.load() == capacity_ ? 0 : -EAGAIN;
	}
	int fork_join(int n, int cutoff, long *result, Counter *tasks) override
	{
		long r = 0;
#pragma omp parallel num_threads(capacity_)
#pragma omp single
		{
			tasks->inc();
			r = omp_fib(n, cutoff, tasks);
		}
		*result = r;
		return 0;
	}
	std::string describe(int rc) const override
	{
		if (rc == -EAGAIN)
			return "OpenMP gave the parallel region fewer threads "
			       "than asked";
		return Impl::describe(rc);
	}

      private:
	int capacity_ = 2;
};

} // namespace

std::unique_ptr<Impl> make_omp()
{
	return std::make_unique<OmpImpl>();
}

} // namespace perf
