/* SPDX-License-Identifier: MIT */
// perf/impl.h - the interface every implementation (our pool and its peers)
// offers to the workloads in bench.cc, and the shared task counter.
#ifndef PERF_IMPL_H
#define PERF_IMPL_H

#include <pool/pool.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace perf
{

using task_fn = pool_task_fn;
using Task = pool_task_t; // {fn, arg}, the layout every peer gets too

enum class Workload {
	throughput,
	throughput_shared,
	throughput_bounded, // throughput with a queue bound (pool only)
	copy,
	producers, // throughput from 1, 2 or 4 producers (sweep)
	capacity,  // throughput at capacity 1, 2, 8 or 64 (sweep)
	two_producers,
	batch,
	wake_latency,
	sleep,
	sleep_10k,
	fork_join,
	tune_under_load,
	memory,
	multipool,
	metrics_dist,
};

// What a workload asks of the implementation when it is created.
struct Config {
	int capacity = 2;
	std::size_t stack_size = 0;   // 0: the implementation's default
	bool keep_idle = false;	      // idle workers must not expire
	bool prealloc = false;	      // start every worker up front if possible
	unsigned ring_capacity = 0;   // our pool: slots per worker ring
	std::int64_t queue_limit = 0; // our pool: options.queue_limit
};

// A counter that tasks bump from any thread: padded slots picked per
// thread, summed on read (no single hot cache line).
class Counter
{
      public:
	static constexpr int kSlots = 64;
	void inc()
	{
		slots_[slot()].n.fetch_add(1, std::memory_order_relaxed);
	}
	std::uint64_t sum() const
	{
		std::uint64_t s = 0;
		for (const auto &x : slots_)
			s += x.n.load(std::memory_order_acquire);
		return s;
	}
	void reset()
	{
		for (auto &x : slots_)
			x.n.store(0, std::memory_order_relaxed);
	}

      private:
	struct alignas(64) Slot {
		std::atomic<std::uint64_t> n{0};
	};
	static int slot();
	Slot slots_[kSlots];
};

// The task every throughput-type workload runs: arg is a Counter.
void task_inc(void *arg);

// throughput_shared's task: arg is a std::atomic<std::uint64_t> that every
// task increments (one hot cache line, as most benchmarks in the wild do).
void task_inc_shared(void *arg);

class Impl
{
      public:
	virtual ~Impl() = default;
	// nullptr when the implementation can express workload w, else why not.
	virtual const char *unfit(Workload w) const = 0;
	// Create with the given capacity. 0 or a negative code.
	virtual int start(const Config &c) = 0;
	// Submit fn(arg) from any producer thread. 0 or a negative code.
	virtual int submit(task_fn fn, void *arg) = 0;
	// Submit n tasks; peers without a batch call submit one by one.
	virtual int submit_batch(const Task *t, std::size_t n)
	{
		for (std::size_t i = 0; i < n; i++) {
			int rc = submit(t[i].fn, t[i].arg);
			if (rc)
				return rc;
		}
		return 0;
	}
	// copy: run fn(copy of len bytes of data); the caller's buffer may be
	// reused at once. Peers: a malloc'd copy freed after the run (what a
	// user of a closure-free pool writes); our pool: pool_submit_copy.
	virtual int submit_copy(task_fn fn, const void *data, std::size_t len);
	// Whether submit_copy allocates from a jemalloc arena (our pool).
	virtual bool copy_arena() const
	{
		return false;
	}
	// nullptr when the implementation can run with this capacity and
	// this many producer threads, else why not.
	virtual const char *unfit_shape(int capacity, int producers) const
	{
		(void)capacity;
		(void)producers;
		return nullptr;
	}
	// Called by each producer thread after its last submit (libuv runs
	// its loop here). 0 or a negative code.
	virtual int producer_done()
	{
		return 0;
	}
	// Change the capacity under load; -ENOTSUP where there is no such call.
	virtual int tune(int capacity);
	// Tear down; every accepted task has run when it returns. 0, or a
	// negative code: the row fails (bench.cc, stop_checked).
	virtual int stop() = 0;
	// Implementations without an external submit (OpenMP) run a whole
	// window here: `producers` threads each create `per_producer` tasks
	// fn(arg), and the call returns when all ran.
	virtual bool has_bulk() const
	{
		return false;
	}
	virtual int bulk(int producers, std::size_t per_producer, task_fn fn,
			 void *arg);
	// fork_join: fib(n) spawning above `cutoff`, waiting inside tasks;
	// *tasks counts the tasks that ran. 0 or a negative code.
	virtual int fork_join(int n, int cutoff, long *result, Counter *tasks);
	// A message for a code this implementation returned.
	virtual std::string describe(int rc) const;
};

struct ImplInfo {
	const char *name;
	// nullptr when built, else why the peer is n/a.
	const char *missing;
	std::unique_ptr<Impl> (*make)();
};

// Our pool's handle when impl is one (the metrics_dist workload reads its
// histograms), else nullptr.
pool_t *pool_handle(Impl &impl);

// Every implementation, our pool first.
const std::vector<ImplInfo> &implementations();

// The multipool workload's contenders: one pool of the total capacity
// ("pool") and multi-pools of 2 members over the same total capacity.
const std::vector<ImplInfo> &multipool_implementations();

long fib_serial(int n);

} // namespace perf

#endif // PERF_IMPL_H
