/*
 * lib/pool.c - pool lifecycle, submit paths, tune.
 *
 * Lock order: life_lock -> idle_lock. life_lock serializes lifecycle changes
 * (close, reboot, tune) and table growth; it is never held while waiting for
 * tasks, running user code or calling a discard callback. No lock is taken on
 * the submit -> run fast path.
 *
 * Close protocol (docs/design.md, "Close"): state OPEN -> CLOSING, one RCU
 * grace period (every submit that saw OPEN inside its read-side section has
 * finished its push), CLOSED, wake every parked worker and blocked
 * submitter. Workers exit when they see CLOSED and find every ring empty.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring-inl.h"

#ifdef POOL_TSAN
char pool__rcu_tsan_token;
#endif

/* ---- allocation, with failure injection for the allocation sweep ---- */

static _Atomic long fail_after = -1;
static _Atomic long alloc_calls;

void pool__test_fail_after(long k)
{
	atomic_store_explicit(&fail_after, k, memory_order_relaxed);
}

long pool__test_alloc_calls(void)
{
	return atomic_load_explicit(&alloc_calls, memory_order_relaxed);
}

bool pool__inject_failure(void)
{
	long k = atomic_load_explicit(&fail_after, memory_order_relaxed);

	atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
	while (k > 0) {
		if (atomic_compare_exchange_weak_explicit(
			    &fail_after, &k, k - 1, memory_order_relaxed,
			    memory_order_relaxed))
			return false;
	}
	return k == 0;
}

void *pool__alloc(size_t size)
{
	return pool__inject_failure() ? NULL : malloc(size);
}

void *pool__alloc_aligned(size_t size)
{
	void *ptr = NULL;

	if (pool__inject_failure())
		return NULL;
	size = (size + POOL_CACHELINE - 1) & ~(size_t)(POOL_CACHELINE - 1);
	if (posix_memalign(&ptr, POOL_CACHELINE, size))
		return NULL;
	return ptr;
}

void pool__free(void *ptr)
{
	free(ptr);
}

/* ---- logging ---- */

void pool__log(struct pool *p, int level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	atomic_fetch_add_explicit(&p->log_count, 1, memory_order_relaxed);
	if (p->logger)
		p->logger(p->logger_ctx, level, buf);
	else
		fprintf(stderr, "pool[%s]: %s\n", p->name, buf);
}

/* ---- capacity ---- */

static int cgroup_cpu_limit(void)
{
	char path[512], line[256], rel[256] = "";
	long quota, period;
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			memcpy(rel, line + 3, sizeof(line) - 3);
			rel[strcspn(rel, "\n")] = '\0';
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max",
		 strcmp(rel, "/") == 0 ? "" : rel);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &quota, &period) != 2 || period <= 0) {
		fclose(f); /* "max": no quota */
		return 0;
	}
	fclose(f);
	return (int)((quota + period - 1) / period);
}

int pool_default_capacity(void)
{
	cpu_set_t set;
	int n = 0, lim;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = 1;
	lim = cgroup_cpu_limit();
	if (lim > 0 && lim < n)
		n = lim;
	return n;
}

/* ---- the shard table ---- */

#define POOL_MAX_CAPACITY (1 << 20)
#define POOL_MAX_RING	  (1u << 20)

/* Grow the table to at least n shards. life_lock held (or pool_new). */
static int table_grow(struct pool *p, unsigned n)
{
	struct pool_table *old =
		atomic_load_explicit(&p->table, memory_order_relaxed);
	unsigned oldn = old ? old->n : 0;
	struct pool_table *nt;

	if (n <= oldn)
		return 0;
	nt = pool__alloc(sizeof(*nt) + n * sizeof(nt->shards[0]));
	if (!nt)
		return POOL_ENOMEM;
	nt->n = n;
	for (unsigned i = 0; i < oldn; i++)
		nt->shards[i] = old->shards[i];
	for (unsigned i = oldn; i < n; i++) {
		nt->shards[i] = pool__shard_new(p, i);
		if (!nt->shards[i]) {
			while (i-- > oldn)
				pool__shard_free(nt->shards[i]);
			pool__free(nt);
			return POOL_ENOMEM;
		}
	}
	/* Release: pairs with the acquire load in pool__table(); readers see
	 * initialised shards. */
	atomic_store_explicit(&p->table, nt, memory_order_release);
	if (old) {
		/* Readers may still hold the old table: wait them out. */
		pool__rcu_synchronize();
		pool__free(old);
	}
	return 0;
}

static void pool_free_all(struct pool *p)
{
	struct pool_table *tb =
		atomic_load_explicit(&p->table, memory_order_relaxed);

	if (tb) {
		for (unsigned i = 0; i < tb->n; i++)
			pool__shard_free(tb->shards[i]);
		pool__free(tb);
	}
	if (p->signals)
		pool__signals_release();
	pool__arena_fini(p);
	pthread_mutex_destroy(&p->idle_lock);
	pthread_mutex_destroy(&p->life_lock);
	pool__free(p);
}

/* ---- creation ---- */

static int check_options(const pool_options_t *in, pool_options_t *o)
{
	memset(o, 0, sizeof(*o));
	if (in) {
		/* The sizes this version knows: only its own so far. A later
		 * version adds each older struct's size here. */
		if (in->size != sizeof(*o))
			return POOL_EINVAL;
		memcpy(o, in, in->size);
	}
	if (o->capacity < 0 || o->capacity > POOL_MAX_CAPACITY)
		return POOL_EINVAL;
	if (o->flags & ~(unsigned)POOL_FLAGS_ALL)
		return POOL_EINVAL;
	if (o->expiry_ns < 0 || o->max_blocking < 0)
		return POOL_EINVAL;
	if (o->ring_capacity > POOL_MAX_RING)
		return POOL_EINVAL;
	if (o->stack_size && o->stack_size < (size_t)PTHREAD_STACK_MIN)
		return POOL_EINVAL;
	if (o->name && strlen(o->name) > 63)
		return POOL_EINVAL;
	return 0;
}

static int close_pool(struct pool *p);
static int wait_drained(struct pool *p, int64_t deadline);

static int pool_create(pool_t **out, pool_task_fn fn, const pool_options_t *in)
{
	pool_options_t o;
	struct pool *p;
	int cap, r;

	if (!out)
		return POOL_EINVAL;
	r = check_options(in, &o);
	if (r < 0)
		return r;
	cap = o.capacity ? o.capacity : pool_default_capacity();

	p = pool__alloc_aligned(sizeof(*p));
	if (!p)
		return POOL_ENOMEM;
	memset(p, 0, sizeof(*p));
	p->func = fn;
	p->flags = o.flags;
	p->expiry_ns = o.expiry_ns ? o.expiry_ns : 1000000000;
	p->max_blocking = o.max_blocking;
	/* Default: about 64 Ki slots in all, at least 256 and at most 8 Ki
	 * a ring, so a small pool absorbs bursts without blocking its
	 * producers and a large one stays small (24 bytes a slot). */
	if (o.ring_capacity) {
		p->ring_cap = o.ring_capacity;
	} else {
		p->ring_cap = 65536u / (unsigned)cap;
		if (p->ring_cap < 256)
			p->ring_cap = 256;
		if (p->ring_cap > 8192)
			p->ring_cap = 8192;
	}
	p->stack_size = o.stack_size;
	snprintf(p->name, sizeof(p->name), "%s", o.name ? o.name : "pool");
	p->logger = o.logger;
	p->logger_ctx = o.logger_ctx;
	p->worker_init = o.worker_init;
	p->worker_fini = o.worker_fini;
	p->worker_ctx = o.worker_ctx;
	p->panic_handler = o.panic_handler;
	p->panic_ctx = o.panic_ctx;
	/* At most half the CPUs search at once (at least one): more
	 * searchers only steal cycles from producers. */
	p->max_spinners = pool_default_capacity() / 2;
	if (p->max_spinners < 1)
		p->max_spinners = 1;
	atomic_init(&p->table, NULL);
	atomic_init(&p->cap, cap);
	atomic_init(&p->state, POOL_ST_OPEN);
	atomic_init(&p->zombie, (pthread_t)0);
	pthread_mutex_init(&p->idle_lock, NULL);
	pthread_mutex_init(&p->life_lock, NULL);

	r = table_grow(p, (unsigned)cap);
	if (r == 0 && (p->flags & POOL_CATCH_SIGNALS)) {
		r = pool__signals_acquire();
		p->signals = r == 0;
	}
	if (r < 0) {
		pool_free_all(p);
		return r;
	}
	pool__arena_init(p);
	if (p->flags & POOL_PREALLOC) {
		for (int i = 0; i < cap; i++) {
			r = pool__spawn(p, POOL_SPAWN_WAIT);
			if (r < 0) {
				pthread_mutex_lock(&p->life_lock);
				close_pool(p);
				pthread_mutex_unlock(&p->life_lock);
				wait_drained(p, -1);
				pool_free_all(p);
				return r;
			}
		}
	}
	*out = p;
	return 0;
}

int pool_new(pool_t **out, const pool_options_t *o)
{
	return pool_create(out, NULL, o);
}

int pool_new_func(pool_t **out, pool_task_fn fn, const pool_options_t *o)
{
	if (!fn)
		return POOL_EINVAL;
	return pool_create(out, fn, o);
}

/* ---- submit ---- */

/* M_UNTIL: M_BLOCK's inline rule, M_TIMEOUT's deadline, and a stop hook
 * (pool__submit_until). */
enum submit_mode { M_BLOCK, M_TRY, M_TIMEOUT, M_UNTIL };

struct stop_hook {
	int (*fn)(void *);
	void *arg;
};

/* Retries (32 pauses apart) of a full pool before a submitter sleeps. */
#define POOL_SUBMIT_SPINS 64

/*
 * Each thread's shard cursor. Threads start at different shards (one shared
 * increment per thread, at its first submit), so producers stepping
 * round-robin in lockstep do not all push to the same ring.
 */
static _Thread_local uint32_t tls_cursor;
static _Thread_local bool tls_cursor_set;
static _Atomic uint32_t next_cursor;

static inline bool in_own_task(struct pool *p)
{
	return pool__tls.pool == p;
}

/*
 * Push into the caller's own ring (inside a task), else round-robin over the
 * first `cap` rings starting at this thread's cursor. Caller holds the RCU
 * read lock.
 */
static inline bool push_any(struct pool *p, pool_task_fn fn, void *arg)
{
	/* Acquire: pairs with the seq_cst store of cap in pool_tune, which
	 * follows the table store: a new cap implies the grown table. */
	uint32_t cap =
		(uint32_t)atomic_load_explicit(&p->cap, memory_order_acquire);
	struct pool_table *tb = pool__table(p);
	uint32_t c;

	if (pool__tls.pool == p && ring_push(&pool__tls.shard->ring, fn, arg))
		return true;
	if (cap > tb->n)
		cap = tb->n;
	if (!tls_cursor_set) {
		tls_cursor = atomic_fetch_add_explicit(&next_cursor, 1,
						       memory_order_relaxed);
		tls_cursor_set = true;
	}
	c = tls_cursor + 1;
	if (c >= cap)
		c = 0;
	for (uint32_t i = 0; i < cap; i++) {
		if (ring_push(&tb->shards[c]->ring, fn, arg)) {
			tls_cursor = c;
			return true;
		}
		if (++c >= cap)
			c = 0;
	}
	return false;
}

/*
 * After a push: make sure a worker will look. S2: the fence pairs with P3 in
 * pool__park (and the fence in worker_exit): either a parking worker's
 * rescan sees our push, or we see it parked (nspinning dropped) and wake it.
 */
static inline void kick(struct pool *p)
{
	atomic_thread_fence(memory_order_seq_cst);
	/* S3 */
	if (atomic_load_explicit(&p->nspinning, memory_order_relaxed) == 0)
		pool__ensure_worker(p, POOL_SPAWN_ANY);
}

/*
 * No worker at all (first submit, or all expired): start one now so that a
 * failure to start is reported to the caller instead of leaving the task
 * queued with nobody to run it.
 */
static inline int ensure_first_worker(struct pool *p)
{
	int r;

	if (atomic_load_explicit(&p->nworkers, memory_order_relaxed) != 0)
		return 0;
	r = pool__spawn(p, POOL_SPAWN_WAIT);
	if (r < 0 &&
	    atomic_load_explicit(&p->nworkers, memory_order_relaxed) == 0)
		return r;
	return 0;
}

static int reject(struct pool *p, int err)
{
	_Atomic uint64_t *c = err == POOL_ECLOSED     ? &p->rej_closed
			      : err == POOL_ETIMEDOUT ? &p->rej_timeout
						      : &p->rej_overload;

	if (err == POOL_ECLOSED || err == POOL_ETIMEDOUT ||
	    err == POOL_EOVERLOAD)
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	return err;
}

/*
 * One push attempt; returns 1 pushed, 0 full, POOL_ECLOSED. The wake-up
 * (kick) runs inside the same read-side section, so a worker it spawns is
 * counted before a concurrent close's grace period ends.
 */
static inline int try_push(struct pool *p, pool_task_fn fn, void *arg)
{
	int r;

	pool__rcu_read_lock();
	/* Inside the read-side section: close_pool's grace period waits for
	 * us if we saw OPEN (relaxed: RCU orders it). */
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		r = POOL_ECLOSED;
	else
		r = push_any(p, fn, arg);
	if (r == 1)
		kick(p);
	pool__rcu_read_unlock();
	return r;
}

static int submit_slow(struct pool *p, pool_task_fn fn, void *arg,
		       enum submit_mode mode, int64_t deadline,
		       const struct stop_hook *stop)
{
	int32_t w;
	int r;

	if (mode == M_TRY)
		return reject(p, POOL_EOVERLOAD);
	if ((mode == M_BLOCK || mode == M_UNTIL) && in_own_task(p)) {
		/* A task must not wait on its own pool: run it here. */
		atomic_fetch_add_explicit(&p->inline_runs, 1,
					  memory_order_relaxed);
		pool__run_one(p, fn, arg);
		if (fn == pool__submit_wait_trampoline)
			pool__submit_wait_done(arg, 1);
		return 0;
	}
	w = atomic_load_explicit(&p->waiting, memory_order_relaxed);
	do {
		if (p->max_blocking && w >= p->max_blocking)
			return reject(p, POOL_EOVERLOAD);
		/* Counted for max_blocking, pool_waiting and pool_destroy;
		 * the wake-up handshake is space_want below. */
	} while (!atomic_compare_exchange_weak_explicit(&p->waiting, &w, w + 1,
							memory_order_relaxed,
							memory_order_relaxed));

	/* Spin first: a worker frees a slot within a task's time, and a
	 * sleep/wake pair per few slots (a futex syscall each way) made a
	 * producer that keeps the rings full crawl. No signal is requested
	 * while spinning, so the workers make no syscall for us either. */
	for (int spin = 0; spin < POOL_SUBMIT_SPINS; spin++) {
		for (int k = 0; k < 32; k++)
			cpu_relax();
		r = try_push(p, fn, arg);
		if (r != 0)
			goto done;
		if (mode >= M_TIMEOUT && pool__now_ns() >= deadline) {
			r = POOL_ETIMEDOUT;
			goto done;
		}
		if (stop && (r = stop->fn(stop->arg)) < 0)
			goto done;
	}
	for (;;) {
		/* Acquire: pairs with the release increment in
		 * pool__space_signal (the freed slot is visible). */
		int32_t seq = atomic_load_explicit(&p->space_seq,
						   memory_order_acquire);
		int64_t rel = -1;

		/* Ask for one signal. After the seq load (release), so a
		 * worker that takes this request increments space_seq after
		 * our load and our futex wait cannot miss it. The fence pairs
		 * with the one in after_pop: either our retry below sees the
		 * slot it freed, or it sees the request. */
		atomic_store_explicit(&p->space_want, 1, memory_order_seq_cst);
		atomic_thread_fence(memory_order_seq_cst);

		r = try_push(p, fn, arg);
		if (r == 1) {
			r = 0;
			break;
		}
		if (r < 0)
			break;
		/* After the space_want request: a stopper signals space_seq
		 * after making stop true, so either we see it here or our
		 * futex wait sees the new space_seq. */
		if (stop && (r = stop->fn(stop->arg)) < 0)
			break;
		if (mode >= M_TIMEOUT && deadline != INT64_MAX) {
			rel = deadline - pool__now_ns();
			if (rel <= 0) {
				r = POOL_ETIMEDOUT;
				break;
			}
		}
		pool__futex_wait(&p->space_seq, seq, rel);
	}
done:
	if (r == 1)
		r = 0;
	if (r < 0)
		reject(p, r);
	/* Release: our last access to the pool; pairs with the acquire load
	 * in wait_no_waiters (pool_destroy). The wake touches only the futex
	 * address in the kernel. */
	if (atomic_fetch_sub_explicit(&p->waiting, 1, memory_order_release) ==
	    1)
		pool__futex_wake(&p->waiting, INT_MAX);
	return r;
}

static int submit_one(struct pool *p, pool_task_fn fn, void *arg,
		      enum submit_mode mode, int64_t deadline,
		      const struct stop_hook *stop)
{
	int r;

	if (!p || !fn)
		return POOL_EINVAL;
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		return reject(p, POOL_ECLOSED);
	r = ensure_first_worker(p);
	if (r < 0)
		return r;
	r = try_push(p, fn, arg);
	if (r == 1)
		return 0;
	if (r < 0)
		return reject(p, r);
	return submit_slow(p, fn, arg, mode, deadline, stop);
}

static inline enum submit_mode block_mode(struct pool *p)
{
	return (p->flags & POOL_NONBLOCKING) ? M_TRY : M_BLOCK;
}

int pool_submit(pool_t *p, pool_task_fn fn, void *arg)
{
	if (!p)
		return POOL_EINVAL;
	return submit_one(p, fn, arg, block_mode(p), 0, NULL);
}

int pool_try_submit(pool_t *p, pool_task_fn fn, void *arg)
{
	return submit_one(p, fn, arg, M_TRY, 0, NULL);
}

int pool_submit_timeout(pool_t *p, pool_task_fn fn, void *arg,
			int64_t timeout_ns)
{
	int64_t now;

	if (timeout_ns < 0)
		return POOL_EINVAL;
	if (timeout_ns == 0)
		return submit_one(p, fn, arg, M_TRY, 0, NULL);
	now = pool__now_ns();
	if (timeout_ns > INT64_MAX - now)
		timeout_ns = INT64_MAX - now;
	return submit_one(p, fn, arg, M_TIMEOUT, now + timeout_ns, NULL);
}

int pool__submit_until(struct pool *p, pool_task_fn fn, void *arg,
		       int64_t deadline, int (*stop)(void *), void *stop_arg)
{
	struct stop_hook h = {stop, stop_arg};

	if (!p)
		return POOL_EINVAL;
	return submit_one(p, fn, arg,
			  (p->flags & POOL_NONBLOCKING) ? M_TRY : M_UNTIL,
			  deadline, stop ? &h : NULL);
}

int pool_invoke(pool_t *p, void *arg)
{
	if (!p || !p->func)
		return POOL_EINVAL;
	return pool_submit(p, p->func, arg);
}

int pool_submit_batch(pool_t *p, const pool_task_t *tasks, size_t n,
		      size_t *accepted)
{
	size_t i = 0;
	int r = 0;

	if (accepted)
		*accepted = 0;
	if (!p || (!tasks && n))
		return POOL_EINVAL;
	for (size_t k = 0; k < n; k++)
		if (!tasks[k].fn)
			return POOL_EINVAL;
	if (n == 0)
		return 0;
	r = ensure_first_worker(p);
	if (r < 0)
		return r;
	while (i < n) {
		size_t start = i;

		pool__rcu_read_lock();
		if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN)
			r = POOL_ECLOSED;
		else
			while (i < n && push_any(p, tasks[i].fn, tasks[i].arg))
				i++;
		pool__rcu_read_unlock();
		if (i > start)
			kick(p); /* one wake-up for the run just pushed */
		if (r < 0) {
			reject(p, r);
			break;
		}
		if (i == n)
			break;
		/* Full: wait (or not) for task i as pool_submit would. */
		r = submit_slow(p, tasks[i].fn, tasks[i].arg, block_mode(p), 0,
				NULL);
		if (r < 0)
			break;
		i++;
	}
	if (accepted)
		*accepted = i;
	return r;
}

void pool__submit_wait_trampoline(void *arg)
{
	/* Never called: run_task and discard_rest recognise this function
	 * and handle its pool_waiter directly. Kept as the marker value. */
	struct pool_waiter *w = arg;

	w->fn(w->arg);
	pool__submit_wait_done(w, 1);
}

void pool__itask_trampoline(void *arg)
{
	struct pool_itask *t = arg;

	t->run(t);
}

void pool__submit_wait_done(struct pool_waiter *w, int32_t how)
{
	/* Release: pairs with the waiter's acquire load; fn's effects are
	 * visible when pool_submit_wait returns. The wake after it only hands
	 * the address to the kernel (the waiter may have returned). */
	atomic_store_explicit(&w->done, how, memory_order_release);
	pool__futex_wake(&w->done, 1);
}

int pool_submit_wait(pool_t *p, pool_task_fn fn, void *arg)
{
	struct pool_waiter w = {.fn = fn, .arg = arg};
	int32_t d;
	int r;

	if (!p || !fn)
		return POOL_EINVAL;
	if (in_own_task(p)) {
		if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN)
			return reject(p, POOL_ECLOSED);
		atomic_fetch_add_explicit(&p->inline_runs, 1,
					  memory_order_relaxed);
		return pool__run_guarded(p, fn, arg) ? POOL_EPANIC : 0;
	}
	atomic_init(&w.done, 0);
	r = submit_one(p, pool__submit_wait_trampoline, &w, block_mode(p), 0,
		       NULL);
	if (r < 0)
		return r;
	/* Acquire: pairs with the release store in the trampoline. */
	while ((d = atomic_load_explicit(&w.done, memory_order_acquire)) == 0)
		pool__futex_wait(&w.done, 0, -1);
	if (d != 1)
		return POOL_ECLOSED;
	return w.panicked ? POOL_EPANIC : 0;
}

/* ---- tune ---- */

int pool_tune(pool_t *p, int capacity)
{
	int32_t old, surplus;
	int r = 0;

	if (!p || capacity <= 0 || capacity > POOL_MAX_CAPACITY)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN) {
		pthread_mutex_unlock(&p->life_lock);
		return POOL_ECLOSED;
	}
	old = atomic_load_explicit(&p->cap, memory_order_relaxed);
	r = table_grow(p, (unsigned)capacity);
	if (r == 0) {
		/* seq_cst: after the table store (grown rings exist before
		 * a submitter can pick them); pairs with the fence P3 in
		 * pool__park for parked workers' shrink check. */
		atomic_store_explicit(&p->cap, capacity, memory_order_seq_cst);
		atomic_fetch_add_explicit(&p->tunes, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&p->life_lock);
	if (r < 0)
		return r;
	atomic_thread_fence(memory_order_seq_cst);
	if (capacity > old) {
		/* More rings: blocked submitters may fit now; queued work
		 * may use more workers. */
		pool__space_signal(p);
		if (pool__has_work(p))
			pool__ensure_worker(p, 0);
	} else if (capacity < old) {
		/* Parked surplus workers wake to retire. */
		surplus = atomic_load_explicit(&p->nworkers,
					       memory_order_relaxed) -
			  capacity;
		while (surplus-- > 0 && pool__wake_one(p))
			;
	}
	return 0;
}

/* ---- close, drain, destroy ---- */

/* life_lock held. Returns 1 if this call closed the pool. */
static int close_pool(struct pool *p)
{
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN)
		return 0;
	atomic_store_explicit(&p->state, POOL_ST_CLOSING, memory_order_seq_cst);
	/* Every submit that saw OPEN finishes its push. */
	pool__rcu_synchronize();
	/* seq_cst: release pairs with the workers' acquire load of state
	 * (all pushes visible); the single order pairs with the fence P3 in
	 * pool__park (a parking worker sees CLOSED or is on the stack for
	 * pool__wake_all below to find). */
	atomic_store_explicit(&p->state, POOL_ST_CLOSED, memory_order_seq_cst);
	/* Pairs with P3: the nidle pre-check in pool__wake_one must see a
	 * worker that parked before it, or that worker sees CLOSED. */
	atomic_thread_fence(memory_order_seq_cst);
	pool__wake_all(p);
	atomic_thread_fence(memory_order_seq_cst);
	pool__space_signal(p);
	return 1;
}

static void discard_rest(struct pool *p, pool_discard_fn fn, void *ctx)
{
	struct pool_task t;

	while (pool__pop_any(p, &t)) {
		if (t.fn == pool__submit_wait_trampoline) {
			pool__submit_wait_done(t.arg, 2);
		} else if (t.fn == pool__itask_trampoline) {
			struct pool_itask *it = t.arg;

			it->discard(it, fn, ctx);
		} else if (t.fn == pool__copy_trampoline) {
			struct pool_copy *c = t.arg;

			if (fn)
				fn(c->fn, c->data, ctx);
			pool__copy_free(p, c);
		} else if (fn) {
			fn(t.fn, t.arg, ctx);
		}
		atomic_fetch_add_explicit(&p->discarded, 1,
					  memory_order_relaxed);
	}
}

/*
 * Wait until every worker thread exited and no task is queued (deadline
 * < 0: no limit). If tasks are queued with no thread to run them (thread
 * creation failed), start one; with no deadline and no way to start one,
 * the tasks are discarded and logged (pool_destroy must terminate).
 */
static int wait_drained(struct pool *p, int64_t deadline)
{
	for (;;) {
		/* Acquire: pairs with the release decrement in
		 * worker_exit: the workers' writes are visible. */
		int32_t n = atomic_load_explicit(&p->nthreads,
						 memory_order_acquire);
		int64_t rel = -1;

		if (n == 0) {
			int r;

			if (!pool__has_work(p))
				break;
			r = pool__spawn(p, POOL_SPAWN_ANY);
			if (r != 0 &&
			    atomic_load_explicit(&p->nthreads,
						 memory_order_acquire) == 0) {
				if (deadline >= 0)
					return POOL_ETIMEDOUT;
				pool__log(p, POOL_LOG_ERROR,
					  "no worker can start: discarding "
					  "the queued tasks");
				discard_rest(p, NULL, NULL);
			}
			continue;
		}
		if (deadline >= 0) {
			rel = deadline - pool__now_ns();
			if (rel <= 0)
				return POOL_ETIMEDOUT;
		}
		pool__futex_wait(&p->nthreads, n, rel);
	}
	pool__join_zombie(p);
	return 0;
}

int pool_release(pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	close_pool(p);
	pthread_mutex_unlock(&p->life_lock);
	return 0;
}

int pool_release_timeout(pool_t *p, int64_t timeout_ns)
{
	int64_t now;

	if (!p || timeout_ns < 0)
		return POOL_EINVAL;
	if (in_own_task(p))
		return POOL_EDEADLK;
	pool_release(p);
	now = pool__now_ns();
	if (timeout_ns > INT64_MAX - now)
		timeout_ns = INT64_MAX - now;
	return wait_drained(p, now + timeout_ns);
}

int pool_stop(pool_t *p, pool_discard_fn on_discard, void *ctx)
{
	if (!p)
		return POOL_EINVAL;
	if (in_own_task(p))
		return POOL_EDEADLK;
	pool_release(p);
	discard_rest(p, on_discard, ctx);
	return wait_drained(p, -1);
}

int pool_reboot(pool_t *p)
{
	int r = 0;

	if (!p)
		return POOL_EINVAL;
	pthread_mutex_lock(&p->life_lock);
	if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
	    POOL_ST_OPEN) {
		if (atomic_load_explicit(&p->nthreads, memory_order_acquire) !=
			    0 ||
		    pool__has_work(p)) {
			r = POOL_EBUSY;
		} else {
			pool__join_zombie(p);
			/* Submitters read state inside an RCU read-side
			 * section (relaxed); life_lock orders this store
			 * against the next close. */
			atomic_store_explicit(&p->state, POOL_ST_OPEN,
					      memory_order_seq_cst);
		}
	}
	pthread_mutex_unlock(&p->life_lock);
	return r;
}

int pool_destroy(pool_t *p)
{
	int32_t w;

	if (!p)
		return POOL_EINVAL;
	if (in_own_task(p))
		return POOL_EDEADLK;
	pool_release(p);
	wait_drained(p, -1);
	/* Blocked submitters were woken by the close; wait until each has
	 * made its last access (the release decrement in submit_slow). */
	while ((w = atomic_load_explicit(&p->waiting, memory_order_acquire)) !=
	       0)
		pool__futex_wait(&p->waiting, w, -1);
	pool_free_all(p);
	return 0;
}

/* ---- worker context ---- */

void *pool_worker_state(void)
{
	return pool__tls.shard ? pool__tls.shard->state : NULL;
}

int pool_worker_id(void)
{
	return pool__tls.shard ? (int)pool__tls.shard->index : -1;
}

pool_t *pool_self(void)
{
	return pool__tls.pool;
}
