/* SPDX-License-Identifier: MIT */
// perf/bench.cc - the perf harness: every workload of docs/perf.md against
// our pool and its peers, in one google-benchmark binary.
//
// Benchmarks are named <workload>/<implementation>. Each times the whole
// window (submission and the wait until every task ran), checks every
// return value and compares a task counter with the expected count.
//
// Setting: --pool_perf_setting=quick|full (or env POOL_PERF_SETTING),
// parsed before benchmark::Initialize; full is the default.
#include "impl.h"
#include "mutex_cv_sem.h"

#include <pool/group.h>
#include <pool/sem.h>

#include <benchmark/benchmark.h>
#include <pool/metrics.h>

#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace perf
{
namespace
{

struct Setting {
	bool quick = false;
	std::size_t throughput_tasks = 2000000;
	std::size_t per_producer = 1000000;
	std::size_t batch_tasks = 2000000;
	std::size_t tune_tasks = 2000000;
	int wake_samples = 2000;
	double idle_window_s = 1.0;
	std::size_t sleep_tasks = 100000;
	int sleep_capacity = 1000;
	bool sleep_10k = true;
	std::size_t memory_queued = 1000000;
	int memory_idle_workers = 1000;
	int iters = 3;
	int fork_iters = 200;
	std::size_t group_tasks = 1000000;
	std::size_t sem_pairs = 1000000; // per thread
};

Setting g_set;
Counter g_done;

constexpr std::size_t kBatch = 64;
constexpr int kFibN = 30;
constexpr int kFibCutoff = 15;
constexpr long kSleepNs = 10 * 1000 * 1000;
constexpr std::size_t kSmallStack = 64 * 1024;

std::int64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void sleep_ns(long ns)
{
	timespec ts{ns / 1000000000, ns % 1000000000};
	while (nanosleep(&ts, &ts) && errno == EINTR) {
	}
}

long rss_kb()
{
	std::ifstream f("/proc/self/statm");
	long size = 0, resident = 0;
	f >> size >> resident;
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

double cpu_ms(int who = RUSAGE_SELF)
{
	rusage ru;
	getrusage(who, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// Wait until c reaches `expected` (or passes it), polling every poll_ns.
bool wait_count(const Counter &c, std::uint64_t expected, double timeout_s,
		long poll_ns = 50000)
{
	std::int64_t deadline = now_ns() + std::int64_t(timeout_s * 1e9);
	while (c.sum() < expected) {
		if (now_ns() > deadline)
			return false;
		sleep_ns(poll_ns);
	}
	return true;
}

std::string fmt(const char *what, const Impl &impl, int rc)
{
	return std::string(what) + " failed: " + impl.describe(rc);
}

// Tear the implementation down; a failure (pool_destroy's code, say) fails
// the row like any other call's.
void stop_checked(benchmark::State &st, Impl &impl)
{
	if (int rc = impl.stop())
		st.SkipWithError(fmt("stop", impl, rc).c_str());
}

// The implementation for workload w, or nullptr after SkipWithError
// ("n/a: why") when it is not built or cannot express w.
std::unique_ptr<Impl> prepare(benchmark::State &st, const ImplInfo *info,
			      Workload w)
{
	if (!info->make) {
		st.SkipWithError(
			(std::string("n/a: ") + info->missing).c_str());
		return nullptr;
	}
	auto impl = info->make();
	if (const char *why = impl->unfit(w)) {
		st.SkipWithError((std::string("n/a: ") + why).c_str());
		return nullptr;
	}
	return impl;
}

bool start(benchmark::State &st, Impl &impl, const Config &c)
{
	int rc = impl.start(c);
	if (rc) {
		st.SkipWithError(fmt("start", impl, rc).c_str());
		return false;
	}
	return true;
}

std::string count_error(std::uint64_t ran, std::uint64_t expected)
{
	return "task count mismatch: " + std::to_string(ran) + " ran, " +
	       std::to_string(expected) + " expected";
}

// First error of a window, from any thread.
struct Failure {
	std::mutex m;
	std::string msg;
	std::atomic<bool> set{false};
	void put(const std::string &s)
	{
		std::lock_guard<std::mutex> g(m);
		if (!set.load()) {
			msg = s;
			set.store(true);
		}
	}
};

// Submit n tasks fn(arg) one by one or in batches, then producer_done.
void produce(Impl &impl, std::size_t n, std::size_t batch, task_fn fn,
	     void *arg, Failure &fail)
{
	std::vector<Task> tasks(batch, Task{fn, arg});
	for (std::size_t i = 0; i < n && !fail.set.load();) {
		std::size_t k = std::min(batch, n - i);
		int rc = batch > 1 ? impl.submit_batch(tasks.data(), k)
				   : impl.submit(fn, arg);
		if (rc) {
			fail.put(fmt(batch > 1 ? "submit_batch" : "submit",
				     impl, rc));
			break;
		}
		i += k;
	}
	int rc = impl.producer_done();
	if (rc)
		fail.put(fmt("producer_done", impl, rc));
}

// ---------------------------------------------------------------- workloads

// The shared counter of throughput_shared.
std::atomic<std::uint64_t> g_shared{0};

bool wait_shared(std::uint64_t expected, double timeout_s)
{
	std::int64_t deadline = now_ns() + std::int64_t(timeout_s * 1e9);
	while (g_shared.load(std::memory_order_acquire) < expected) {
		if (now_ns() > deadline)
			return false;
		sleep_ns(50000);
	}
	return true;
}

// throughput, throughput_shared, two_producers, batch,
// tune_under_load, multipool and the producers / capacity sweeps: empty
// tasks that bump a counter; figure items_per_second. `param` is the
// producer count (producers) or the capacity (capacity), else unused.
void bm_tasks(benchmark::State &st, const ImplInfo *info, Workload w, int param)
{
	int producers = w == Workload::two_producers || w == Workload::multipool
				? 2
				: 1;
	std::size_t per = g_set.throughput_tasks, batch = 1;
	bool tuning = w == Workload::tune_under_load;
	bool shared = w == Workload::throughput_shared;
	Config c;
	c.capacity = tuning ? 4 : 2;
	if (w == Workload::two_producers || w == Workload::multipool)
		per = g_set.per_producer;
	if (w == Workload::producers) {
		producers = param;
		per = g_set.throughput_tasks / std::size_t(param);
	}
	if (w == Workload::capacity)
		c.capacity = param;
	// The bound's cost: blocking submits under a bound of 4096 queued
	// (the rings hold 2 x 8192), so every task is counted.
	if (w == Workload::throughput_bounded)
		c.queue_limit = 4096;
	if (w == Workload::batch) {
		per = g_set.batch_tasks;
		batch = kBatch;
	}
	if (tuning)
		per = g_set.tune_tasks;
	std::uint64_t expected = std::uint64_t(producers) * per;
	task_fn fn = shared ? task_inc_shared : task_inc;
	void *arg = shared ? static_cast<void *>(&g_shared)
			   : static_cast<void *>(&g_done);
	auto count = [&] {
		return shared ? g_shared.load(std::memory_order_acquire)
			      : g_done.sum();
	};

	auto impl = prepare(st, info, w);
	if (!impl)
		return;
	if (const char *why = impl->unfit_shape(c.capacity, producers)) {
		st.SkipWithError((std::string("n/a: ") + why).c_str());
		return;
	}
	if (w == Workload::throughput_bounded && info->make &&
	    std::string(info->name) != "pool") {
		st.SkipWithError("n/a: no queue bound");
		return;
	}
	if (!start(st, *impl, c))
		return;
	std::uint64_t tunes = 0;
	for (auto _ : st) {
		Failure fail;
		std::atomic<bool> running{true};
		std::thread tuner;
		g_done.reset();
		g_shared.store(0, std::memory_order_relaxed);
		if (tuning) {
			tuner = std::thread([&] {
				int cap = 1;
				while (running.load()) {
					sleep_ns(1000000);
					int rc = impl->tune(cap);
					if (rc) {
						fail.put(
							fmt("tune", *impl, rc));
						break;
					}
					tunes++;
					cap = cap == 1 ? 4 : 1;
				}
			});
		}
		if (impl->has_bulk()) {
			int rc = impl->bulk(producers, per, fn, arg);
			if (rc)
				fail.put(fmt("bulk", *impl, rc));
		} else if (producers == 1) {
			produce(*impl, per, batch, fn, arg, fail);
		} else {
			std::vector<std::thread> ts;
			for (int i = 0; i < producers; i++)
				ts.emplace_back([&] {
					produce(*impl, per, batch, fn, arg,
						fail);
				});
			for (auto &t : ts)
				t.join();
		}
		double limit = g_set.quick ? 60 : 300;
		bool all = !fail.set.load() &&
			   (shared ? wait_shared(expected, limit)
				   : wait_count(g_done, expected, limit));
		running.store(false);
		if (tuner.joinable())
			tuner.join();
		if (fail.set.load()) {
			st.SkipWithError(fail.msg.c_str());
			break;
		}
		std::uint64_t ran = count();
		if (!all || ran != expected) {
			st.SkipWithError(count_error(ran, expected).c_str());
			break;
		}
	}
	stop_checked(st, *impl);
	st.SetItemsProcessed(std::int64_t(st.iterations() * expected));
	if (impl->has_bulk())
		st.SetLabel("producers are team threads; libgomp runs a task "
			    "inline once 64 per thread are queued");
	if (tuning)
		st.counters["tunes"] = double(tunes);
	if (w == Workload::producers)
		st.counters["producers"] = producers;
	if (w == Workload::capacity)
		st.counters["capacity"] = c.capacity;
}

// copy: one producer submits 64-byte payloads that the pool must copy
// (pool_submit_copy; peers: malloc + memcpy + free after the run); each task
// checks its payload. items_per_second; counter copy_arena: 1 when our
// pool's copies came from its jemalloc arena.
constexpr std::size_t kCopyLen = 64;

void copy_task(void *arg)
{
	const auto *b = static_cast<const unsigned char *>(arg);
	if (b[0] == 0x5a && b[kCopyLen - 1] == 0xa5)
		g_done.inc();
}

void bm_copy(benchmark::State &st, const ImplInfo *info)
{
	auto impl = prepare(st, info, Workload::copy);
	if (!impl)
		return;
	if (impl->has_bulk()) {
		st.SkipWithError("n/a: no external submit");
		return;
	}
	Config c;
	if (!start(st, *impl, c))
		return;
	const std::size_t n = g_set.throughput_tasks;
	unsigned char buf[kCopyLen];
	std::memset(buf, 0, sizeof(buf));
	buf[0] = 0x5a;
	buf[kCopyLen - 1] = 0xa5;
	for (auto _ : st) {
		Failure fail;
		g_done.reset();
		for (std::size_t i = 0; i < n; i++) {
			int rc = impl->submit_copy(copy_task, buf, sizeof(buf));
			if (rc) {
				fail.put(fmt("submit_copy", *impl, rc));
				break;
			}
		}
		int rc = impl->producer_done();
		if (rc)
			fail.put(fmt("producer_done", *impl, rc));
		bool all = !fail.set.load() &&
			   wait_count(g_done, n, g_set.quick ? 60 : 300);
		if (fail.set.load()) {
			st.SkipWithError(fail.msg.c_str());
			break;
		}
		if (!all || g_done.sum() != n) {
			st.SkipWithError(count_error(g_done.sum(), n).c_str());
			break;
		}
	}
	st.counters["copy_arena"] = impl->copy_arena() ? 1 : 0;
	stop_checked(st, *impl);
	st.SetItemsProcessed(std::int64_t(st.iterations() * n));
}

struct Stamp {
	std::atomic<std::int64_t> start{0};
};

void stamp_task(void *arg)
{
	auto *s = static_cast<Stamp *>(arg);
	s->start.store(now_ns(), std::memory_order_release);
	g_done.inc();
}

// The second process of wake_latency_noisy (perf/noise.c: futex ping-pong
// and thread churn on every CPU), started from the directory of this
// binary and stopped with SIGTERM; it also stops by itself after 120 s.
class Noise
{
      public:
	// "" when it runs, else why not.
	std::string start()
	{
		char self[4096];
		ssize_t len =
			readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len <= 0)
			return "readlink /proc/self/exe failed";
		self[len] = 0;
		std::string path(self);
		path = path.substr(0, path.rfind('/') + 1) + "pool-noise";
		int fd[2];
		if (pipe(fd) != 0)
			return "pipe failed";
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
		posix_spawn_file_actions_addclose(&fa, fd[0]);
		char arg0[] = "pool-noise", arg1[] = "120";
		char *args[] = {arg0, arg1, nullptr};
		int rc = posix_spawn(&pid_, path.c_str(), &fa, nullptr, args,
				     environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fd[1]);
		if (rc != 0) {
			close(fd[0]);
			pid_ = -1;
			return "cannot start " + path + ": " +
			       std::strerror(rc);
		}
		char buf[16] = {0};
		ssize_t got = read(fd[0], buf, sizeof(buf) - 1);
		close(fd[0]);
		if (got < 5 || std::strncmp(buf, "ready", 5) != 0) {
			stop();
			return "pool-noise did not start";
		}
		return "";
	}
	// The exit status (0 when it stopped cleanly), -1 if none ran.
	int stop()
	{
		if (pid_ <= 0)
			return -1;
		kill(pid_, SIGTERM);
		int status = 0;
		while (waitpid(pid_, &status, 0) < 0 && errno == EINTR)
			;
		pid_ = -1;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
	~Noise()
	{
		stop();
	}

      private:
	pid_t pid_ = -1;
};

// This thread's involuntary context switches so far (the scheduler
// preempted it: in wake_latency, the woken worker taking the CPU from the
// submitter inside its wake-up call), or -1.
long involuntary_switches()
{
	std::ifstream f("/proc/thread-self/status");
	std::string line;
	while (std::getline(f, line))
		if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
			return std::strtol(line.c_str() + 27, nullptr, 10);
	return -1;
}

// wake_latency: submit -> start of one task on an idle pool, and the CPU
// time an idle pool burns. noisy: the same while pool-noise keeps every CPU
// busy (wake_latency_noisy).
void bm_wake(benchmark::State &st, const ImplInfo *info, bool noisy)
{
	auto impl = prepare(st, info, Workload::wake_latency);
	if (!impl)
		return;
	Config c;
	c.keep_idle = true;
	if (!start(st, *impl, c))
		return;
	Noise noise;
	long preempted = 0;
	double others_ms = 0;
	const int n = g_set.wake_samples;
	std::vector<double> lat;
	double idle_cpu = 0;
	for (auto _ : st) {
		lat.clear();
		g_done.reset();
		// Start the workers, then let them park for >= 50 ms.
		Failure fail;
		produce(*impl, 2, 1, task_inc, &g_done, fail);
		if (fail.set.load() || !wait_count(g_done, 2, 10)) {
			st.SkipWithError(fail.set.load()
						 ? fail.msg.c_str()
						 : "warm-up tasks did not run");
			break;
		}
		sleep_ns(60 * 1000 * 1000);
		double c0 = cpu_ms();
		sleep_ns(long(g_set.idle_window_s * 1e9));
		idle_cpu = (cpu_ms() - c0) / g_set.idle_window_s;
		if (noisy) {
			std::string why = noise.start();
			if (!why.empty()) {
				st.SkipWithError(why.c_str());
				break;
			}
			sleep_ns(50 * 1000 * 1000);
		}
		long sw0 = involuntary_switches();
		double own0 = cpu_ms(RUSAGE_THREAD), all0 = cpu_ms();
		g_done.reset();
		for (int i = 0; i < n; i++) {
			Stamp s;
			std::int64_t t0 = now_ns();
			int rc = impl->submit(stamp_task, &s);
			if (rc) {
				fail.put(fmt("submit", *impl, rc));
				break;
			}
			rc = impl->producer_done();
			if (rc) {
				fail.put(fmt("producer_done", *impl, rc));
				break;
			}
			std::int64_t deadline = t0 + 10000000000LL;
			while (!s.start.load(std::memory_order_acquire) &&
			       now_ns() < deadline)
				sleep_ns(10000);
			std::int64_t t1 = s.start.load();
			if (!t1) {
				fail.put("a wake_latency task did not run in "
					 "10 s");
				break;
			}
			lat.push_back((t1 - t0) / 1e3);
			sleep_ns(1000000);
		}
		long sw1 = involuntary_switches();
		// CPU of every thread but this one: the pool's side of a
		// wake-up (the woken worker, its search and park).
		others_ms = (cpu_ms() - all0) - (cpu_ms(RUSAGE_THREAD) - own0);
		preempted = sw0 >= 0 && sw1 >= sw0 ? sw1 - sw0 : -1;
		if (noisy && noise.stop() != 0)
			fail.put("pool-noise did not exit cleanly");
		if (fail.set.load()) {
			st.SkipWithError(fail.msg.c_str());
			break;
		}
		if (g_done.sum() != std::uint64_t(n)) {
			st.SkipWithError(count_error(g_done.sum(), n).c_str());
			break;
		}
	}
	noise.stop();
	stop_checked(st, *impl);
	if (lat.empty())
		return;
	std::sort(lat.begin(), lat.end());
	auto q = [&](double p) {
		std::size_t i = std::size_t(p * lat.size());
		return lat[std::min(i, lat.size() - 1)];
	};
	st.counters["p25_us"] = q(0.25);
	st.counters["p50_us"] = q(0.50);
	st.counters["p75_us"] = q(0.75);
	st.counters["p99_us"] = q(0.99);
	st.counters["p999_us"] = q(0.999);
	st.counters["max_us"] = lat.back();
	st.counters["samples"] = double(lat.size());
	st.counters["idle_cpu_ms"] = idle_cpu;
	// Wakes that took under 3 µs: the woken thread got a CPU at once.
	st.counters["fast_frac"] =
		double(std::lower_bound(lat.begin(), lat.end(), 3.0) -
		       lat.begin()) /
		double(lat.size());
	st.counters["worker_cpu_us"] = others_ms * 1e3 / double(lat.size());
	// Submitter preemptions per wake (see involuntary_switches).
	if (preempted >= 0)
		st.counters["preempt_frac"] =
			double(preempted) / double(lat.size());
	st.SetItemsProcessed(std::int64_t(lat.size()));
}

void sleep_task(void *arg)
{
	sleep_ns(kSleepNs);
	static_cast<Counter *>(arg)->inc();
}

// Whether this machine can run `threads` more threads of small stacks.
const char *threads_unavailable(long threads)
{
	rlimit rl;
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < rlim_t(threads + 1000))
		return "RLIMIT_NPROC too low for 10,000 threads";
	auto read_long = [](const char *path) {
		std::ifstream f(path);
		long v = -1;
		f >> v;
		return v;
	};
	long tmax = read_long("/proc/sys/kernel/threads-max");
	if (tmax >= 0 && tmax < threads + 1000)
		return "kernel.threads-max too low for 10,000 threads";
	long maps = read_long("/proc/sys/vm/max_map_count");
	if (maps >= 0 && maps < 3 * threads)
		return "vm.max_map_count too low for 10,000 threads";
	long pids = read_long("/sys/fs/cgroup/pids.max");
	if (pids >= 0 && pids < threads + 1000)
		return "cgroup pids.max too low for 10,000 threads";
	return nullptr;
}

// sleep: ants' benchmark scaled to OS threads. Every task sleeps 10 ms;
// figure: wall time over the ideal (tasks x 10 ms / capacity), peak RSS.
// sleep runs two windows on one instance (docs/perf.md, "sleep"): first
// cold, with start() inside the window for every implementation, so each
// pays for making its threads whether it makes them up front (mutex_cv,
// glib, cthreadpool) or on demand (our pool); then warm, with every
// implementation's threads already made (ratio_to_ideal). sleep_10k runs
// one window, started before it.
void bm_sleep(benchmark::State &st, const ImplInfo *info, bool big)
{
	Workload w = big ? Workload::sleep_10k : Workload::sleep;
	auto impl = prepare(st, info, w);
	if (!impl)
		return;
	Config c;
	std::size_t tasks = g_set.sleep_tasks;
	c.capacity = g_set.sleep_capacity;
	bool cold = !big;
	if (big) {
		if (const char *why = threads_unavailable(10000)) {
			st.SkipWithError((std::string("n/a: ") + why).c_str());
			return;
		}
		c.capacity = 10000;
		tasks = 1000000;
		c.stack_size = kSmallStack;
	} else {
		// The warm window needs the cold window's workers: none of
		// the peers lets its threads expire either.
		c.keep_idle = true;
	}
	double ideal_s = double(tasks) * kSleepNs / 1e9 / c.capacity;
	malloc_trim(0);
	long rss0 = rss_kb();
	bool started = false;
	if (!cold) {
		if (!start(st, *impl, c))
			return;
		started = true;
	}
	double ratio = 0, cold_ratio = 0;
	long peak = 0;
	for (auto _ : st) {
		Failure fail;
		std::atomic<bool> sampling{true};
		peak = rss_kb();
		std::thread sampler([&] {
			while (sampling.load()) {
				peak = std::max(peak, rss_kb());
				sleep_ns(5000000);
			}
		});
		// One window: tasks x 10 ms, timed from before start() when
		// with_start; false (and the benchmark skipped) on a failure.
		auto window = [&](bool with_start, double *out) {
			g_done.reset();
			std::int64_t t0 = now_ns();
			if (with_start) {
				if (!start(st, *impl, c))
					return false;
				started = true;
			}
			if (impl->has_bulk()) {
				int rc = impl->bulk(1, tasks, sleep_task,
						    &g_done);
				if (rc)
					fail.put(fmt("bulk", *impl, rc));
			} else {
				produce(*impl, tasks, 1, sleep_task, &g_done,
					fail);
			}
			bool all = !fail.set.load() &&
				   wait_count(g_done, tasks, 60 * ideal_s,
					      1000000);
			*out = (now_ns() - t0) / 1e9 / ideal_s;
			if (fail.set.load()) {
				st.SkipWithError(fail.msg.c_str());
				return false;
			}
			if (!all || g_done.sum() != tasks) {
				st.SkipWithError(
					count_error(g_done.sum(), tasks)
						.c_str());
				return false;
			}
			return true;
		};
		// One iteration (registered so): a second would find the
		// implementation started and time no start.
		bool ok = !cold || window(!started, &cold_ratio);
		ok = ok && window(false, &ratio);
		sampling.store(false);
		sampler.join();
		if (!ok)
			break;
	}
	if (started)
		stop_checked(st, *impl);
	st.counters["ratio_to_ideal"] = ratio;
	if (cold)
		st.counters["cold_ratio_to_ideal"] = cold_ratio;
	st.counters["peak_rss_kb"] = double(peak);
	st.counters["rss_delta_kb"] = double(peak - rss0);
	st.counters["capacity"] = c.capacity;
	st.SetItemsProcessed(std::int64_t(st.iterations() * tasks) *
			     (cold ? 2 : 1));
}

long fib_spawns(int n, int cutoff)
{
	return n <= cutoff ? 0
			   : 1 + fib_spawns(n - 1, cutoff) +
				     fib_spawns(n - 2, cutoff);
}

// fork_join: fib(30), a task per call above the cutoff, waited for inside
// the parent task.
void bm_fork_join(benchmark::State &st, const ImplInfo *info)
{
	auto impl = prepare(st, info, Workload::fork_join);
	if (!impl)
		return;
	Config c;
	if (!start(st, *impl, c))
		return;
	const std::uint64_t expected = 1 + fib_spawns(kFibN, kFibCutoff);
	const long want = fib_serial(kFibN);
	for (auto _ : st) {
		long r = 0;
		g_done.reset();
		int rc = impl->fork_join(kFibN, kFibCutoff, &r, &g_done);
		if (rc) {
			st.SkipWithError(fmt("fork_join", *impl, rc).c_str());
			break;
		}
		if (r != want) {
			st.SkipWithError(("fib(30) = " + std::to_string(r) +
					  ", expected " + std::to_string(want))
						 .c_str());
			break;
		}
		if (g_done.sum() != expected) {
			st.SkipWithError(
				count_error(g_done.sum(), expected).c_str());
			break;
		}
	}
	stop_checked(st, *impl);
	st.SetItemsProcessed(std::int64_t(st.iterations() * expected));
	st.counters["tasks_per_run"] = double(expected);
}

// group: 1,000,000 tiny tasks through one group of limit 2 on a pool of
// capacity 2 (as throughput's), then pool_group_wait. Our pool only: the
// figure to compare is throughput/pool of the same run.
int group_task_inc(void *arg)
{
	static_cast<Counter *>(arg)->inc();
	return 0;
}

void bm_group(benchmark::State &st)
{
	pool_options_t o{};
	o.size = sizeof(o);
	o.capacity = 2;
	o.name = "perf";
	pool_t *p = nullptr;
	int rc = pool_new(&p, &o);
	if (rc) {
		st.SkipWithError((std::string("pool_new: ") + pool_err_name(rc))
					 .c_str());
		return;
	}
	const std::uint64_t n = g_set.group_tasks;
	for (auto _ : st) {
		pool_group_options_t go{};
		go.size = sizeof(go);
		go.limit = 2;
		pool_group_t *g = nullptr;
		g_done.reset();
		rc = pool_group_new(&g, p, &go);
		for (std::uint64_t i = 0; rc == 0 && i < n; i++)
			rc = pool_group_go(g, group_task_inc, &g_done);
		int wrc = g ? pool_group_wait(g) : 0;
		if (g && pool_group_destroy(g) != 0 && !rc)
			rc = -EBUSY;
		if (rc || wrc) {
			st.SkipWithError((std::string("group: ") +
					  pool_err_name(rc ? rc : wrc))
						 .c_str());
			break;
		}
		if (g_done.sum() != n) {
			st.SkipWithError(count_error(g_done.sum(), n).c_str());
			break;
		}
	}
	if (pool_destroy(p) != 0)
		st.SkipWithError("pool_destroy failed");
	st.SetItemsProcessed(std::int64_t(st.iterations() * n));
	st.counters["limit"] = 2;
}

// sem, sem_contended: acquire/release pairs of weight 1 from 2 threads;
// size 2 (each always fits: the cost of the calls and the shared line) or
// size 1 (every pair contends). items_per_second = pairs per second.
enum class SemKind { pool, mutex_cv };

void bm_sem(benchmark::State &st, SemKind kind, bool contended)
{
	const std::int64_t size = contended ? 1 : 2;
	const std::size_t pairs = g_set.sem_pairs;
	pool_sem_t *ps = nullptr;
	mcv_sem *ms = nullptr;
	int rc = kind == SemKind::pool ? pool_sem_new(&ps, size)
				       : mcv_sem_new(&ms, size);
	if (rc) {
		st.SkipWithError("semaphore creation failed");
		return;
	}
	for (auto _ : st) {
		std::atomic<int> errors{0};
		long shared = 0; // guarded by the semaphore when contended
		auto body = [&] {
			for (std::size_t i = 0; i < pairs; i++) {
				if (kind == SemKind::pool) {
					if (pool_sem_acquire(ps, 1) != 0)
						errors++;
				} else {
					mcv_sem_acquire(ms, 1);
				}
				if (contended)
					shared++;
				if (kind == SemKind::pool) {
					if (pool_sem_release(ps, 1) != 0)
						errors++;
				} else {
					mcv_sem_release(ms, 1);
				}
			}
		};
		std::thread a(body), b(body);
		a.join();
		b.join();
		if (errors.load() || (contended && shared != long(2 * pairs))) {
			st.SkipWithError(
				"semaphore: a call failed, or "
				"updates under the unit of 1 were lost");
			break;
		}
	}
	if (ps && pool_sem_destroy(ps) != 0)
		st.SkipWithError("pool_sem_destroy failed");
	if (ms)
		mcv_sem_destroy(ms);
	st.SetItemsProcessed(std::int64_t(st.iterations() * 2 * pairs));
}

struct Gate {
	std::atomic<bool> started{false};
	std::atomic<bool> open{false};
};

void blocker_task(void *arg)
{
	auto *g = static_cast<Gate *>(arg);
	g->started.store(true);
	while (!g->open.load())
		sleep_ns(1000000);
	g_done.inc();
}

struct Latch {
	std::mutex m;
	std::condition_variable cv;
	int arrived = 0;
	int target = 0;
	bool abort = false;
};

void latch_task(void *arg)
{
	auto *l = static_cast<Latch *>(arg);
	{
		std::unique_lock<std::mutex> g(l->m);
		if (++l->arrived == l->target)
			l->cv.notify_all();
		l->cv.wait(g,
			   [&] { return l->arrived >= l->target || l->abort; });
	}
	g_done.inc();
}

// memory: RSS bytes per queued task (one worker held by a blocker, N tasks
// queued behind it) and per idle worker (W workers made to run at once,
// then idle).
void bm_memory(benchmark::State &st, const ImplInfo *info)
{
	auto impl = prepare(st, info, Workload::memory);
	if (!impl)
		return;
	const std::size_t n = g_set.memory_queued;
	const int workers = g_set.memory_idle_workers;
	double per_task = -1, per_worker = -1;
	std::string note;
	for (auto _ : st) {
		// Queued tasks.
		Config c;
		c.capacity = 1;
		c.ring_capacity = 1;
		while (c.ring_capacity < n + 1)
			c.ring_capacity <<= 1;
		malloc_trim(0);
		long rss0 = rss_kb();
		if (!start(st, *impl, c))
			break;
		Gate gate;
		Failure fail;
		g_done.reset();
		int rc = impl->submit(blocker_task, &gate);
		if (rc) {
			st.SkipWithError(fmt("submit", *impl, rc).c_str());
			stop_checked(st, *impl);
			break;
		}
		while (!gate.started.load())
			sleep_ns(100000);
		produce(*impl, n, 1, task_inc, &g_done, fail);
		long rss1 = rss_kb();
		gate.open.store(true);
		bool all = wait_count(g_done, n + 1, 120);
		stop_checked(st, *impl);
		if (fail.set.load()) {
			st.SkipWithError(fail.msg.c_str());
			break;
		}
		if (!all || g_done.sum() != n + 1) {
			st.SkipWithError(
				count_error(g_done.sum(), n + 1).c_str());
			break;
		}
		per_task = (rss1 - rss0) * 1024.0 / n;

		// Idle workers at the default stack size.
		c = Config();
		c.capacity = workers;
		c.keep_idle = true;
		c.prealloc = true;
		impl = info->make();
		malloc_trim(0);
		rss0 = rss_kb();
		if (!start(st, *impl, c))
			break;
		Latch latch;
		latch.target = workers;
		g_done.reset();
		produce(*impl, workers, 1, latch_task, &latch, fail);
		bool met = false;
		std::int64_t deadline = now_ns() + 5000000000LL;
		while (!met && !fail.set.load() && now_ns() < deadline) {
			sleep_ns(1000000);
			std::lock_guard<std::mutex> g(latch.m);
			met = latch.arrived == workers;
		}
		int ran_at_once;
		{
			std::lock_guard<std::mutex> g(latch.m);
			ran_at_once = latch.arrived;
			latch.abort = true;
			latch.cv.notify_all();
		}
		all = wait_count(g_done, workers, 60);
		sleep_ns(100000000); // let every worker go idle
		long rss2 = rss_kb();
		stop_checked(st, *impl);
		if (fail.set.load()) {
			st.SkipWithError(fail.msg.c_str());
			break;
		}
		if (!all || g_done.sum() != std::uint64_t(workers)) {
			st.SkipWithError(
				count_error(g_done.sum(), workers).c_str());
			break;
		}
		if (met)
			per_worker = (rss2 - rss0) * 1024.0 / workers;
		else
			note = "idle: only " + std::to_string(ran_at_once) +
			       " of " + std::to_string(workers) +
			       " workers ran at once";
	}
	if (per_task >= 0)
		st.counters["bytes_per_queued_task"] = per_task;
	if (per_worker >= 0)
		st.counters["bytes_per_idle_worker"] = per_worker;
	st.counters["queued_tasks"] = double(n);
	st.counters["idle_workers"] = workers;
	if (!note.empty())
		st.SetLabel(note);
}

// metrics_dist: a mixed workload (two producers; 90% of tasks ~2 us, 9%
// ~50 us, 1% ~500 us; bursts of 32 then a 1 ms pause: about 35% busy on
// two workers), every task timed;
// figures: queue-wait and run-time quantiles from the pool's own histograms
// (checked against the task count). With $POOL_PERF_HIST_OUT set, the two
// histograms are written there as JSON for perf/report.py --plot.
void spin_ns(long ns)
{
	std::int64_t end = now_ns() + ns;
	while (now_ns() < end) {
	}
}

void mixed_task(void *arg)
{
	auto kind = reinterpret_cast<std::uintptr_t>(arg);
	spin_ns(kind == 0 ? 2000 : kind == 1 ? 50000 : 500000);
	g_done.inc();
}

void write_hist_json(std::FILE *f, const char *name, const pool_hist_t &h,
		     bool last)
{
	std::fprintf(f, "  \"%s\": {\"upper_ns\": [", name);
	for (int i = 0; i < POOL_HIST_BUCKETS - 1; i++)
		std::fprintf(f, "%s%llu", i ? ", " : "",
			     (unsigned long long)pool_hist_bucket_upper_ns(i));
	std::fprintf(f, "], \"count\": [");
	for (int i = 0; i < POOL_HIST_BUCKETS - 1; i++)
		std::fprintf(f, "%s%llu", i ? ", " : "",
			     (unsigned long long)h.buckets[i]);
	std::fprintf(f, "], \"overflow\": %llu, \"sum_ns\": %llu}%s\n",
		     (unsigned long long)h.buckets[POOL_HIST_BUCKETS - 1],
		     (unsigned long long)h.sum_ns, last ? "" : ",");
}

void bm_metrics_dist(benchmark::State &st, const ImplInfo *info)
{
	auto impl = prepare(st, info, Workload::metrics_dist);
	if (!impl)
		return;
	Config c;
	if (!start(st, *impl, c))
		return;
	pool_t *p = pool_handle(*impl);
	if (!p) {
		st.SkipWithError("metrics_dist needs our pool");
		return;
	}
	const std::size_t per = g_set.quick ? 5000 : 50000;
	const std::uint64_t expected = 2 * per;
	for (auto _ : st) {
		Failure fail;
		g_done.reset();
		std::vector<std::thread> ts;
		for (int t = 0; t < 2; t++)
			ts.emplace_back([&, t] {
				std::uint64_t x =
					0x9E3779B97F4A7C15ull * (t + 1);
				for (std::size_t i = 0; i < per; i++) {
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					std::uintptr_t kind = x % 100 < 90 ? 0
							      : x % 100 < 99
								      ? 1
								      : 2;
					int rc = impl->submit(
						mixed_task,
						reinterpret_cast<void *>(kind));
					if (rc) {
						fail.put(fmt("submit", *impl,
							     rc));
						return;
					}
					if (i % 32 == 31)
						sleep_ns(1000000);
				}
			});
		for (auto &t : ts)
			t.join();
		bool all = !fail.set.load() &&
			   wait_count(g_done, expected, g_set.quick ? 60 : 300);
		if (fail.set.load()) {
			st.SkipWithError(fail.msg.c_str());
			break;
		}
		if (!all || g_done.sum() != expected) {
			st.SkipWithError(
				count_error(g_done.sum(), expected).c_str());
			break;
		}
	}
	pool_hist_t qw, run;
	int rc = pool_metrics_read(p, POOL_HIST_QUEUE_WAIT, &qw);
	if (rc == 0)
		rc = pool_metrics_read(p, POOL_HIST_RUN, &run);
	stop_checked(st, *impl);
	std::uint64_t want = std::uint64_t(st.iterations()) * expected;
	if (rc || qw.count != want || run.count != want) {
		st.SkipWithError(("histogram count " +
				  std::to_string(qw.count) + " / " +
				  std::to_string(run.count) + ", expected " +
				  std::to_string(want))
					 .c_str());
		return;
	}
	st.counters["qw_p50_us"] = pool_hist_quantile(&qw, 0.5) / 1e3;
	st.counters["qw_p99_us"] = pool_hist_quantile(&qw, 0.99) / 1e3;
	st.counters["run_p50_us"] = pool_hist_quantile(&run, 0.5) / 1e3;
	st.counters["run_p99_us"] = pool_hist_quantile(&run, 0.99) / 1e3;
	st.SetItemsProcessed(std::int64_t(want));
	if (const char *out = std::getenv("POOL_PERF_HIST_OUT")) {
		std::FILE *f = std::fopen(out, "w");
		if (!f) {
			st.SkipWithError("cannot write $POOL_PERF_HIST_OUT");
			return;
		}
		std::fprintf(f, "{\n");
		write_hist_json(f, "queue_wait", qw, false);
		write_hist_json(f, "run", run, true);
		std::fprintf(f, "}\n");
		std::fclose(f);
	}
}

// shed: the cost of saying no. A pool of capacity 2 whose workers are held
// by blocker tasks; each pool_try_submit is timed alone (CLOCK_MONOTONIC
// around the call, its own cost included). Rows: queue bound
// POOL_QUEUE_NONE (every call rejected: load shedding), and no bound with
// room in the rings (every call accepted), for comparison.
void bm_shed(benchmark::State &st, bool accept)
{
	const int n = g_set.quick ? 20000 : 200000;
	std::vector<double> lat;
	lat.reserve(n);
	for (auto _ : st) {
		pool_options_t o{};
		o.size = sizeof(o);
		o.capacity = 2;
		o.queue_limit = accept ? 0 : POOL_QUEUE_NONE;
		o.ring_capacity = accept ? 1u << 20 : 0;
		pool_t *p = nullptr;
		int rc = pool_new(&p, &o);
		if (rc) {
			st.SkipWithError(
				(std::string("pool_new: ") + pool_err_name(rc))
					.c_str());
			return;
		}
		Gate gate;
		g_done.reset();
		for (int i = 0; i < 2 && !rc; i++)
			rc = pool_submit(p, blocker_task, &gate);
		int want = accept ? n : 0, got = 0;
		std::string err;
		if (rc)
			err = std::string("submit blocker: ") +
			      pool_err_name(rc);
		// Both workers must be inside a blocker before timing.
		while (err.empty() && pool_running(p) < 2)
			sleep_ns(100000);
		lat.clear();
		for (int i = 0; i < n && err.empty(); i++) {
			std::int64_t t0 = now_ns();
			rc = pool_try_submit(p, task_inc, &g_done);
			std::int64_t t1 = now_ns();
			lat.push_back(double(t1 - t0));
			if (rc == 0)
				got++;
			else if (rc != POOL_EOVERLOAD)
				err = std::string("try_submit: ") +
				      pool_err_name(rc);
		}
		gate.open.store(true);
		if (err.empty() && got != want)
			err = "accepted " + std::to_string(got) +
			      ", expected " + std::to_string(want);
		bool all = wait_count(g_done, std::uint64_t(got) + 2, 60);
		rc = pool_destroy(p);
		if (err.empty() &&
		    (!all || g_done.sum() != std::uint64_t(got) + 2))
			err = count_error(g_done.sum(), std::uint64_t(got) + 2);
		if (err.empty() && rc)
			err = std::string("pool_destroy: ") + pool_err_name(rc);
		if (!err.empty()) {
			st.SkipWithError(err.c_str());
			return;
		}
	}
	std::sort(lat.begin(), lat.end());
	auto q = [&](double f) {
		std::size_t i = std::size_t(f * lat.size());
		return lat[std::min(i, lat.size() - 1)];
	};
	st.counters["p50_ns"] = q(0.50);
	st.counters["p99_ns"] = q(0.99);
	st.counters["p999_ns"] = q(0.999);
	st.counters["calls"] = double(lat.size());
	st.SetItemsProcessed(std::int64_t(st.iterations()) * n);
	st.SetLabel(accept ? "no bound, rings with room: every call accepted"
			   : "POOL_QUEUE_NONE, workers busy: every call "
			     "rejected");
}

// -------------------------------------------------------------- main

void parse_setting(int *argc, char **argv)
{
	std::string s;
	if (const char *e = std::getenv("POOL_PERF_SETTING"))
		s = e;
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *key = "--pool_perf_setting=";
		if (std::strncmp(argv[i], key, std::strlen(key)) == 0)
			s = argv[i] + std::strlen(key);
		else
			argv[out++] = argv[i];
	}
	*argc = out;
	if (s == "quick") {
		g_set.quick = true;
		g_set.throughput_tasks = 200000;
		g_set.per_producer = 100000;
		g_set.batch_tasks = 200000;
		g_set.tune_tasks = 200000;
		g_set.wake_samples = 200;
		g_set.idle_window_s = 0.25;
		g_set.sleep_tasks = 10000;
		g_set.sleep_capacity = 100;
		g_set.sleep_10k = false;
		g_set.memory_queued = 100000;
		g_set.memory_idle_workers = 1000;
		g_set.iters = 1;
		g_set.fork_iters = 10;
		g_set.group_tasks = 200000;
		g_set.sem_pairs = 100000;
	} else if (!s.empty() && s != "full") {
		std::fprintf(stderr, "unknown setting '%s' (quick|full)\n",
			     s.c_str());
		std::exit(2);
	}
}

// go_chan: the Go peer (perf/go_chan, built by perf/run from Debian's
// golang-go into the binary named by POOL_PERF_GO), run as a child process
// for one workload at a time, in its place among the other peers of that
// workload: its figures are then as near in time to ours as any peer's.
// The child checks that every task ran; its JSON (google-benchmark-shaped,
// one benchmark) is read back here and every numeric field but the
// timing ones becomes a counter of this row.
void bm_go(benchmark::State &st, std::string w)
{
	const char *bin = std::getenv("POOL_PERF_GO");
	if (!bin || !*bin || access(bin, X_OK) != 0) {
		st.SkipWithError("n/a: Go peer not built (perf/run builds "
				 "perf/go_chan with Debian's golang-go)");
		return;
	}
	std::string cmd = std::string("'") + bin + "' -setting " +
			  (g_set.quick ? "quick" : "full") + " -filter '^" + w +
			  "/go_chan$' 2>/dev/null";
	std::string out, err;
	for (auto _ : st) {
		out.clear();
		FILE *f = popen(cmd.c_str(), "r");
		if (!f) {
			err = "popen failed";
			break;
		}
		char buf[4096];
		std::size_t n;
		while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
			out.append(buf, n);
		int status = pclose(f);
		if (status != 0) {
			err = "go_chan exited with status " +
			      std::to_string(status);
			break;
		}
		static const std::regex errre(
			"\"error_message\":\\s*\"([^\"]*)\"");
		std::smatch m;
		if (std::regex_search(out, m, errre)) {
			err = m[1].str();
			break;
		}
		static const std::regex tre("\"real_time\":\\s*([-0-9.eE+]+)");
		static const std::regex ire("\"iterations\":\\s*([0-9]+)");
		std::smatch tm, im;
		if (!std::regex_search(out, tm, tre) ||
		    !std::regex_search(out, im, ire)) {
			err = "no result in go_chan's output";
			break;
		}
		// The child's whole window (ms per iteration x iterations).
		st.SetIterationTime(std::stod(tm[1].str()) *
				    std::stod(im[1].str()) / 1e3);
	}
	if (!err.empty()) {
		st.SkipWithError(("go_chan: " + err).c_str());
		return;
	}
	static const std::regex kv("\"([a-z_0-9]+)\":\\s*(-?[0-9][-0-9.eE+]*)");
	for (std::sregex_iterator it(out.begin(), out.end(), kv), end;
	     it != end; ++it) {
		std::string k = (*it)[1].str();
		if (k == "real_time" || k == "cpu_time" || k == "iterations")
			continue;
		st.counters[k] = std::stod((*it)[2].str());
	}
}

void register_all()
{
	using benchmark::RegisterBenchmark;
	struct Tasks {
		const char *name;
		Workload w;
	};
	const Tasks task_workloads[] = {
		{"throughput", Workload::throughput},
		{"throughput_shared", Workload::throughput_shared},
		{"throughput_bounded", Workload::throughput_bounded},
		{"two_producers", Workload::two_producers},
		{"batch", Workload::batch},
	};
	auto name = [](const char *w, const ImplInfo &i) {
		return std::string(w) + "/" + i.name;
	};
	auto common = [](benchmark::internal::Benchmark *b, int iters) {
		b->UseRealTime()->Iterations(iters)->Unit(
			benchmark::kMillisecond);
	};
	// The Go peer's row of workload w (see bm_go), after the others.
	auto go_row = [](const std::string &w) {
		static const char *const go_workloads[] = {
			"throughput",  "throughput_shared", "two_producers",
			"batch",       "producers_1",	    "producers_2",
			"producers_4", "capacity_1",	    "capacity_2",
			"capacity_8",  "capacity_64",	    "wake_latency",
			"sleep"};
		for (const char *g : go_workloads)
			if (w == g)
				RegisterBenchmark((w + "/go_chan").c_str(),
						  bm_go, w)
					->UseManualTime()
					->Iterations(1)
					->Unit(benchmark::kMillisecond);
	};
	const auto &impls = implementations();
	for (const auto &tw : task_workloads) {
		for (const auto &i : impls)
			common(RegisterBenchmark(name(tw.name, i).c_str(),
						 bm_tasks, &i, tw.w, 0),
			       g_set.iters);
		go_row(tw.name);
	}
	// The sweeps behind the plots: throughput against the number of
	// producers (capacity 2) and against the capacity (one producer).
	for (int n : {1, 2, 4}) {
		for (const auto &i : impls)
			common(RegisterBenchmark(
				       name(("producers_" + std::to_string(n))
						    .c_str(),
					    i)
					       .c_str(),
				       bm_tasks, &i, Workload::producers, n),
			       g_set.iters);
		go_row("producers_" + std::to_string(n));
	}
	for (int n : {1, 2, 8, 64}) {
		for (const auto &i : impls)
			common(RegisterBenchmark(
				       name(("capacity_" + std::to_string(n))
						    .c_str(),
					    i)
					       .c_str(),
				       bm_tasks, &i, Workload::capacity, n),
			       g_set.iters);
		go_row("capacity_" + std::to_string(n));
	}
	for (const auto &i : impls)
		common(RegisterBenchmark(name("copy", i).c_str(), bm_copy, &i),
		       g_set.iters);
	for (const auto &i : impls)
		common(RegisterBenchmark(name("wake_latency", i).c_str(),
					 bm_wake, &i, false),
		       1);
	go_row("wake_latency");
	for (const auto &i : impls)
		common(RegisterBenchmark(name("wake_latency_noisy", i).c_str(),
					 bm_wake, &i, true),
		       1);
	for (const auto &i : impls)
		common(RegisterBenchmark(name("sleep", i).c_str(), bm_sleep, &i,
					 false),
		       1);
	go_row("sleep");
	if (g_set.sleep_10k)
		for (const auto &i : impls)
			common(RegisterBenchmark(name("sleep_10k", i).c_str(),
						 bm_sleep, &i, true),
			       1);
	for (const auto &i : impls)
		common(RegisterBenchmark(name("fork_join", i).c_str(),
					 bm_fork_join, &i),
		       g_set.fork_iters);
	common(RegisterBenchmark("group/pool", bm_group), g_set.iters);
	for (bool contended : {false, true}) {
		const char *w = contended ? "sem_contended" : "sem";
		common(RegisterBenchmark((std::string(w) + "/pool").c_str(),
					 bm_sem, SemKind::pool, contended),
		       g_set.iters);
		common(RegisterBenchmark((std::string(w) + "/mutex_cv").c_str(),
					 bm_sem, SemKind::mutex_cv, contended),
		       g_set.iters);
	}
	for (const auto &i : impls)
		common(RegisterBenchmark(name("tune_under_load", i).c_str(),
					 bm_tasks, &i,
					 Workload::tune_under_load, 0),
		       g_set.iters);
	for (const auto &i : impls)
		common(RegisterBenchmark(name("memory", i).c_str(), bm_memory,
					 &i),
		       1);
	common(RegisterBenchmark("shed/pool_reject", bm_shed, false), 1);
	common(RegisterBenchmark("shed/pool_accept", bm_shed, true), 1);
	// Two producers, total capacity 2: one pool against multi-pools of
	// two members of capacity 1.
	for (const auto &i : multipool_implementations())
		common(RegisterBenchmark(name("multipool", i).c_str(), bm_tasks,
					 &i, Workload::multipool, 0),
		       g_set.iters);
	for (const auto &i : impls)
		if (std::strcmp(i.name, "pool_metrics_all") == 0)
			common(RegisterBenchmark(
				       name("metrics_dist", i).c_str(),
				       bm_metrics_dist, &i),
			       1);
}

} // namespace
} // namespace perf

int main(int argc, char **argv)
{
	// libuv sizes its one threadpool from this at first use.
	setenv("UV_THREADPOOL_SIZE", "2", 1);
	perf::parse_setting(&argc, argv);
	perf::register_all();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::AddCustomContext("pool_perf_setting",
				    perf::g_set.quick ? "quick" : "full");
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
