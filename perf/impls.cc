/* SPDX-License-Identifier: MIT */
// perf/impls.cc - our pool and the peers that need no extra compiler flags:
// the mutex+condvar baseline, the raw SPSC ring, GLib GThreadPool,
// cthreadpool and libuv. oneTBB and OpenMP live in tbb.cc and omp.cc.
#include "impl.h"

#include "mutex_cv.h"
#include "spsc_ring.h"

#include <pool/group.h>
#include <pool/metrics.h>
#include <pool/multi.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifdef PERF_HAVE_GLIB
#include <glib.h>
#endif
#ifdef PERF_HAVE_CTHREADPOOL
extern "C" {
#include <cthreadpool/thpool.h>
}
#endif
#ifdef PERF_HAVE_LIBUV
#include <uv.h>
#endif

namespace perf
{

int Counter::slot()
{
	static std::atomic<int> next{0};
	thread_local int mine = -1;
	if (mine < 0)
		mine = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
	return mine;
}

void task_inc(void *arg)
{
	static_cast<Counter *>(arg)->inc();
}

void task_inc_shared(void *arg)
{
	static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(
		1, std::memory_order_relaxed);
}

long fib_serial(int n)
{
	return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

int Impl::tune(int)
{
	return -ENOTSUP;
}

namespace
{
struct MallocCopy {
	task_fn fn;
	alignas(std::max_align_t) unsigned char data[1];
};

void malloc_copy_run(void *arg)
{
	auto *c = static_cast<MallocCopy *>(arg);
	c->fn(c->data);
	std::free(c);
}
} // namespace

int Impl::submit_copy(task_fn fn, const void *data, std::size_t len)
{
	auto *c = static_cast<MallocCopy *>(
		std::malloc(offsetof(MallocCopy, data) + len));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	std::memcpy(c->data, data, len);
	int rc = submit(malloc_copy_run, c);
	if (rc)
		std::free(c);
	return rc;
}

int Impl::bulk(int, std::size_t, task_fn, void *)
{
	return -ENOTSUP;
}

int Impl::fork_join(int, int, long *, Counter *)
{
	return -ENOTSUP;
}

std::string Impl::describe(int rc) const
{
	return std::string(std::strerror(rc < 0 ? -rc : rc)) + " (" +
	       std::to_string(rc) + ")";
}

namespace
{

// ---------------------------------------------------------------- our pool

struct PoolFib {
	pool_t *pool;
	int n;
	int cutoff;
	long result;
	Counter *tasks;
	std::atomic<int> *error;
};

int pool_fib_task(void *arg);

void fib_error(std::atomic<int> *error, int rc)
{
	int expected = 0;
	error->compare_exchange_strong(expected, rc);
}

// fib(n-1) is a task of a group of this level; fib(n-2) runs here; the
// wait inside the task helps (runs queued tasks) instead of blocking.
long pool_fib(pool_t *p, int n, int cutoff, Counter *tasks,
	      std::atomic<int> *error)
{
	if (n <= cutoff)
		return fib_serial(n);
	PoolFib child{p, n - 1, cutoff, 0, tasks, error};
	pool_group_t *g = nullptr;
	int rc = pool_group_new(&g, p, nullptr);
	if (rc) {
		fib_error(error, rc);
		return 0;
	}
	rc = pool_group_go(g, pool_fib_task, &child);
	if (rc)
		fib_error(error, rc);
	long y = pool_fib(p, n - 2, cutoff, tasks, error);
	int wrc = pool_group_wait(g);
	if (wrc)
		fib_error(error, wrc);
	wrc = pool_group_destroy(g);
	if (wrc)
		fib_error(error, wrc);
	return child.result + y;
}

int pool_fib_task(void *arg)
{
	auto *f = static_cast<PoolFib *>(arg);
	f->tasks->inc();
	f->result = pool_fib(f->pool, f->n, f->cutoff, f->tasks, f->error);
	return 0;
}

void pool_fib_top(void *arg)
{
	auto *f = static_cast<PoolFib *>(arg);
	f->tasks->inc();
	f->result = pool_fib(f->pool, f->n, f->cutoff, f->tasks, f->error);
}

// Metrics configurations of our pool: "pool" is the engine alone (metrics
// off), "pool_metrics" the library default (one submit in 64 timed),
// "pool_metrics_all" every task timed.
enum class Metrics { off, sampled, all };

class PoolImpl : public Impl
{
      public:
	explicit PoolImpl(Metrics m = Metrics::off) : metrics_(m)
	{
	}
	~PoolImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		if (metrics_ == Metrics::off)
			return nullptr;
		switch (w) {
		case Workload::throughput:
		case Workload::two_producers:
		case Workload::wake_latency:
		case Workload::metrics_dist:
			return nullptr;
		default:
			return "metrics rows run in throughput, two_producers "
			       "and wake_latency only";
		}
	}
	pool_t *handle() const
	{
		return p_;
	}
	int start(const Config &c) override
	{
		pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
		if (metrics_ == Metrics::off)
			m.flags = POOL_METRICS_OFF;
		else if (metrics_ == Metrics::all)
			m.sample_every = 1;
		pool_options_t o = POOL_OPTIONS_INIT;
		o.metrics = &m;
		o.capacity = c.capacity;
		o.flags = (c.keep_idle ? POOL_DISABLE_PURGE : 0) |
			  (c.prealloc ? POOL_PREALLOC : 0);
		o.stack_size = c.stack_size;
		o.ring_capacity = c.ring_capacity;
		o.queue_limit = c.queue_limit;
		o.name = "perf";
		return pool_new(&p_, &o);
	}
	int submit(task_fn fn, void *arg) override
	{
		return pool_submit(p_, fn, arg);
	}
	int submit_copy(task_fn fn, const void *data, std::size_t len) override
	{
		return pool_submit_copy(p_, fn, data, len);
	}
	bool copy_arena() const override
	{
		pool_stats_t s = POOL_STATS_INIT;
		return p_ && pool_stats(p_, &s) == 0 && s.copy_arena != 0;
	}
	int submit_batch(const Task *t, std::size_t n) override
	{
		std::size_t accepted = 0;
		int rc = pool_submit_batch(p_, t, n, &accepted);
		if (rc == 0 && accepted != n)
			return -EPROTO; // contract: 0 means all accepted
		return rc;
	}
	int tune(int capacity) override
	{
		return pool_tune(p_, capacity);
	}
	int stop() override
	{
		int rc = 0;

		if (p_) {
			rc = pool_destroy(p_);
			p_ = nullptr;
		}
		return rc;
	}
	int fork_join(int n, int cutoff, long *result, Counter *tasks) override
	{
		std::atomic<int> error{0};
		PoolFib top{p_, n, cutoff, 0, tasks, &error};
		int rc = pool_submit_wait(p_, pool_fib_top, &top);
		if (rc)
			return rc;
		*result = top.result;
		return error.load();
	}
	std::string describe(int rc) const override
	{
		if (rc == -EPROTO)
			return "pool_submit_batch returned 0 but accepted < n";
		return std::string(pool_err_name(rc)) + ": " +
		       pool_strerror(rc);
	}

      private:
	Metrics metrics_;
	pool_t *p_ = nullptr;
};

std::unique_ptr<Impl> make_pool_metrics()
{
	return std::make_unique<PoolImpl>(Metrics::sampled);
}

std::unique_ptr<Impl> make_pool_metrics_all()
{
	return std::make_unique<PoolImpl>(Metrics::all);
}

// ------------------------------------------------------ mutex+condvar pool

class McvImpl : public Impl
{
      public:
	~McvImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		if (w == Workload::fork_join)
			return "a task blocking on a child would hold one of "
			       "the 2 threads: deadlock";
		return nullptr;
	}
	int start(const Config &c) override
	{
		// Tuning works below the start capacity: start at the max.
		return mcv_new(&p_, c.capacity, c.stack_size);
	}
	int submit(task_fn fn, void *arg) override
	{
		return mcv_submit(p_, fn, arg);
	}
	int tune(int capacity) override
	{
		return mcv_tune(p_, capacity);
	}
	int stop() override
	{
		mcv_destroy(p_);
		p_ = nullptr;
		return 0;
	}

      private:
	mcv_pool *p_ = nullptr;
};

// --------------------------------------------------------- raw SPSC ring

class SpscImpl : public Impl
{
      public:
	~SpscImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		switch (w) {
		case Workload::throughput:
		case Workload::throughput_shared:
		case Workload::batch:
		case Workload::wake_latency:
		case Workload::producers: // 1 producer only: unfit_shape
			return nullptr;
		case Workload::two_producers:
			return "single producer by construction";
		case Workload::capacity:
			return "one consumer thread by construction";
		case Workload::fork_join:
			return "one consumer, no waiting inside a task";
		case Workload::memory:
			return "fixed ring, one consumer";
		case Workload::tune_under_load:
			return "no capacity to tune";
		default:
			return "one consumer thread";
		}
	}
	int start(const Config &) override
	{
		// 64 Ki slots: the same total the pool gets by default at
		// capacity 2.
		int rc = spsc_new(&r_, 16);
		if (rc == 0 && !spsc_asymmetric(r_))
			std::fprintf(stderr, "spsc_ring: no membarrier, one "
					     "fence per publish\n");
		return rc;
	}
	const char *unfit_shape(int, int producers) const override
	{
		return producers == 1 ? nullptr
				      : "single producer by construction";
	}
	int submit(task_fn fn, void *arg) override
	{
		return spsc_push(r_, fn, arg);
	}
	int submit_batch(const Task *t, std::size_t n) override
	{
		static_assert(sizeof(Task) == sizeof(spsc_task), "layout");
		return spsc_push_batch(
			r_, reinterpret_cast<const spsc_task *>(t), n);
	}
	int stop() override
	{
		spsc_destroy(r_);
		r_ = nullptr;
		return 0;
	}

      private:
	spsc_ring *r_ = nullptr;
};

// -------------------------------------------------------- GLib GThreadPool

#ifdef PERF_HAVE_GLIB
// GThreadPool has one function per pool and refuses NULL data: the pool
// function is task_inc's trampoline (like pool_new_func); task_inc_shared's
// argument travels with pointer bit 1 set, other functions boxed with the
// low pointer bit set.
struct GlibBox {
	task_fn fn;
	void *arg;
};

void glib_trampoline(gpointer data, gpointer)
{
	auto bits = reinterpret_cast<std::uintptr_t>(data);
	if (bits & 1) {
		auto *box =
			reinterpret_cast<GlibBox *>(bits & ~std::uintptr_t(1));
		box->fn(box->arg);
		delete box;
	} else if (bits & 2) {
		task_inc_shared(
			reinterpret_cast<void *>(bits & ~std::uintptr_t(2)));
	} else {
		task_inc(data);
	}
}

class GlibImpl : public Impl
{
      public:
	~GlibImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		if (w == Workload::fork_join)
			return "no wait inside a task: a blocked task holds "
			       "a thread (deadlock)";
		return nullptr;
	}
	int start(const Config &c) override
	{
		GError *err = nullptr;
		// exclusive: the pool owns `capacity` threads, started now.
		p_ = g_thread_pool_new(glib_trampoline, nullptr, c.capacity,
				       TRUE, &err);
		if (!p_) {
			msg_ = err ? err->message : "g_thread_pool_new failed";
			if (err)
				g_error_free(err);
			return -EAGAIN;
		}
		return 0;
	}
	int submit(task_fn fn, void *arg) override
	{
		GError *err = nullptr;
		void *data = arg;
		if (fn == task_inc_shared) {
			data = reinterpret_cast<void *>(
				reinterpret_cast<std::uintptr_t>(arg) | 2);
		} else if (fn != task_inc) {
			auto *box = new GlibBox{fn, arg};
			data = reinterpret_cast<void *>(
				reinterpret_cast<std::uintptr_t>(box) | 1);
		}
		if (!data)
			return -EINVAL;
		if (!g_thread_pool_push(p_, data, &err)) {
			msg_ = err ? err->message : "g_thread_pool_push failed";
			if (err)
				g_error_free(err);
			return -EAGAIN;
		}
		return 0;
	}
	int tune(int capacity) override
	{
		GError *err = nullptr;
		if (!g_thread_pool_set_max_threads(p_, capacity, &err)) {
			msg_ = err ? err->message : "set_max_threads failed";
			if (err)
				g_error_free(err);
			return -EAGAIN;
		}
		return 0;
	}
	int stop() override
	{
		if (p_)
			g_thread_pool_free(p_, FALSE, TRUE);
		p_ = nullptr;
		return 0;
	}
	std::string describe(int rc) const override
	{
		return msg_.empty() ? Impl::describe(rc) : msg_;
	}

      private:
	GThreadPool *p_ = nullptr;
	std::string msg_;
};
#endif

// ------------------------------------------------------------- cthreadpool

#ifdef PERF_HAVE_CTHREADPOOL
class CthreadImpl : public Impl
{
      public:
	~CthreadImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		switch (w) {
		case Workload::fork_join:
			return "no wait inside a task (deadlock)";
		case Workload::tune_under_load:
			return "no resize call";
		case Workload::sleep_10k:
			// Measured once on a 2-core VM: still submitting after
			// 4 minutes (> 240x ideal), 10,000 threads contending
			// on its one mutex and binary semaphore; dropped to
			// keep the full run under 15 minutes.
			return "did not finish in 4 min (> 240x ideal) on 2 "
			       "cores: one mutex + binary semaphore for 10,000 "
			       "threads";
		default:
			return nullptr;
		}
	}
	int start(const Config &c) override
	{
		// thpool_init spins until every thread started and ignores
		// pthread_create failures; no stack size option.
		p_ = thpool_init(c.capacity);
		capacity_ = c.capacity;
		return p_ ? 0 : -ENOMEM;
	}
	int submit(task_fn fn, void *arg) override
	{
		return thpool_add_work(p_, fn, arg) == 0 ? 0 : -ENOMEM;
	}
	int stop() override
	{
		if (p_) {
			thpool_wait(p_);
			// thpool_destroy's post to its binary semaphore wakes
			// one thread at a time and, after one busy second,
			// sleeps 1 s per wake-up: ~15 minutes for 1,000
			// threads. Large pools are left parked (0 CPU), their
			// tasks all done.
			if (capacity_ <= 64)
				thpool_destroy(p_);
		}
		p_ = nullptr;
		return 0;
	}

      private:
	threadpool p_ = nullptr;
	int capacity_ = 0;
};
#endif

// ------------------------------------------------------- libuv threadpool

#ifdef PERF_HAVE_LIBUV
// uv_queue_work is called from a loop's thread; each producer thread gets
// its own loop, all share libuv's one threadpool, sized process-wide by
// UV_THREADPOOL_SIZE (set to 2 in main before any libuv call).
struct UvReq {
	uv_work_t work;
	task_fn fn;
	void *arg;
};

struct UvProducer {
	uv_loop_t loop;
	bool open = false;
	unsigned since_reap = 0;
};

thread_local UvProducer uv_producer;

void uv_work_cb(uv_work_t *w)
{
	auto *r = reinterpret_cast<UvReq *>(w);
	r->fn(r->arg);
}

void uv_after_cb(uv_work_t *w, int)
{
	delete reinterpret_cast<UvReq *>(w);
}

class LibuvImpl : public Impl
{
      public:
	const char *unfit(Workload w) const override
	{
		switch (w) {
		case Workload::fork_join:
			return "no wait inside a work callback";
		case Workload::tune_under_load:
			return "threadpool size fixed at first use";
		case Workload::sleep:
		case Workload::sleep_10k:
			return "threadpool size fixed process-wide "
			       "(UV_THREADPOOL_SIZE=2, max 1024)";
		case Workload::memory:
			return "threadpool size fixed process-wide";
		default:
			return nullptr;
		}
	}
	const char *unfit_shape(int cap, int) const override
	{
		return cap == 2 ? nullptr
				: "threadpool size fixed process-wide "
				  "(UV_THREADPOOL_SIZE=2)";
	}
	int start(const Config &c) override
	{
		return c.capacity == 2 ? 0 : -EINVAL;
	}
	int submit(task_fn fn, void *arg) override
	{
		UvProducer &u = uv_producer;
		if (!u.open) {
			int rc = uv_loop_init(&u.loop);
			if (rc)
				return rc;
			u.open = true;
		}
		auto *r = new UvReq;
		r->fn = fn;
		r->arg = arg;
		int rc = uv_queue_work(&u.loop, &r->work, uv_work_cb,
				       uv_after_cb);
		if (rc) {
			delete r;
			return rc;
		}
		// Reap finished requests now and then, as a real loop would.
		if (++u.since_reap == 256) {
			u.since_reap = 0;
			uv_run(&u.loop, UV_RUN_NOWAIT);
		}
		return 0;
	}
	int producer_done() override
	{
		UvProducer &u = uv_producer;
		if (!u.open)
			return 0;
		uv_run(&u.loop, UV_RUN_DEFAULT);
		u.open = false;
		return uv_loop_close(&u.loop);
	}
	int stop() override
	{
		return 0;
	}
	std::string describe(int rc) const override
	{
		return std::string(uv_err_name(rc)) + ": " + uv_strerror(rc);
	}
};
#endif

template <class T> std::unique_ptr<Impl> make()
{
	return std::make_unique<T>();
}

// pool_multi over `members` pools splitting the capacity; multipool only.
class MultiImpl : public Impl
{
      public:
	explicit MultiImpl(int strategy) : strategy_(strategy)
	{
	}
	~MultiImpl() override
	{
		stop();
	}
	const char *unfit(Workload w) const override
	{
		return w == Workload::multipool ? nullptr
						: "multipool workload only";
	}
	int start(const Config &c) override
	{
		// The members are configured as the `pool` row's pool is
		// (PoolImpl::start: metrics off), so the comparison is the
		// multi-pool against one pool, not sampled against unsampled.
		pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
		m.flags = POOL_METRICS_OFF;
		pool_options_t o = POOL_OPTIONS_INIT;
		o.metrics = &m;
		o.capacity =
			c.capacity / kMembers > 0 ? c.capacity / kMembers : 1;
		o.ring_capacity = c.ring_capacity;
		o.name = "perf-multi";
		return pool_multi_new(&m_, kMembers, &o, strategy_);
	}
	int submit(task_fn fn, void *arg) override
	{
		return pool_multi_submit(m_, fn, arg);
	}
	int submit_batch(const Task *t, std::size_t n) override
	{
		for (std::size_t i = 0; i < n; i++) {
			int rc = pool_multi_submit(m_, t[i].fn, t[i].arg);
			if (rc)
				return rc;
		}
		return 0;
	}
	int tune(int capacity) override
	{
		return pool_multi_tune(m_, capacity);
	}
	int stop() override
	{
		int rc = 0;

		if (m_) {
			rc = pool_multi_destroy(m_);
			m_ = nullptr;
		}
		return rc;
	}
	std::string describe(int rc) const override
	{
		return pool_err_name(rc);
	}

      private:
	static constexpr int kMembers = 2;
	int strategy_;
	pool_multi_t *m_ = nullptr;
};

std::unique_ptr<Impl> make_multi_rr()
{
	return std::make_unique<MultiImpl>(POOL_LB_ROUND_ROBIN);
}

std::unique_ptr<Impl> make_multi_lt()
{
	return std::make_unique<MultiImpl>(POOL_LB_LEAST_TASKS);
}

} // namespace

pool_t *pool_handle(Impl &impl)
{
	auto *pi = dynamic_cast<PoolImpl *>(&impl);
	return pi ? pi->handle() : nullptr;
}

const std::vector<ImplInfo> &multipool_implementations()
{
	static const std::vector<ImplInfo> all = {
		{"pool", nullptr, make<PoolImpl>},
		{"multi_rr", nullptr, make_multi_rr},
		{"multi_lt", nullptr, make_multi_lt},
	};
	return all;
}

#ifdef PERF_HAVE_TBB
std::unique_ptr<Impl> make_tbb();
#endif
#ifdef PERF_HAVE_OPENMP
std::unique_ptr<Impl> make_omp();
#endif

const std::vector<ImplInfo> &implementations()
{
	static const std::vector<ImplInfo> all = {
		{"pool", nullptr, make<PoolImpl>},
		{"pool_metrics", nullptr, make_pool_metrics},
		{"pool_metrics_all", nullptr, make_pool_metrics_all},
		{"mutex_cv", nullptr, make<McvImpl>},
#ifdef PERF_HAVE_GLIB
		{"glib", nullptr, make<GlibImpl>},
#else
		{"glib", "not built: libglib2.0-dev missing", nullptr},
#endif
#ifdef PERF_HAVE_TBB
		{"tbb", nullptr, make_tbb},
#else
		{"tbb", "not built: libtbb-dev missing", nullptr},
#endif
#ifdef PERF_HAVE_OPENMP
		{"openmp", nullptr, make_omp},
#else
		{"openmp", "not built: no OpenMP compiler support", nullptr},
#endif
#ifdef PERF_HAVE_CTHREADPOOL
		{"cthreadpool", nullptr, make<CthreadImpl>},
#else
		{"cthreadpool", "not built: cthreadpool-dev missing", nullptr},
#endif
#ifdef PERF_HAVE_LIBUV
		{"libuv", nullptr, make<LibuvImpl>},
#else
		{"libuv", "not built: libuv1-dev missing", nullptr},
#endif
		{"spsc_ring", nullptr, make<SpscImpl>},
	};
	return all;
}

} // namespace perf
