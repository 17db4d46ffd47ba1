/* SPDX-License-Identifier: MIT */
/*
 * test/unit/test.h - a tiny test framework in the style of libuv's
 * test/task.h.
 *
 * A case is declared at the start of a line as
 *
 *	TEST(name)
 *	{
 *		...
 *	}
 *
 * test/meson.build finds every "TEST(" at the start of a line and registers
 * the case as its own meson test; test_main.c runs the single case named by
 * argv[1] in a fresh process under a watchdog (alarm).
 *
 * Assertions are never compiled out: they print both operands and file:line,
 * then end the process with exit status 1.
 *
 * Waiting: never sleep to let things settle. Wait on a latch, a gate or a
 * counter, or poll a condition with WAIT_UNTIL (bounded, sched_yield).
 */
#ifndef POOL_TEST_H
#define POOL_TEST_H

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pool.h>

/* Which sanitizer this build runs under (some cases adapt to it). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(UNDER_ASAN)
#define UNDER_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(UNDER_TSAN)
#define UNDER_TSAN 1
#endif
#endif

/* Registry (test_main.c). */
typedef void (*test_fn)(void);
void test__register(const char *name, test_fn fn);
void test__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                                   \
		test__register(#name, test_##name);                         \
	}                                                                   \
	static void test_##name(void)

#define FAIL(...) test__fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT(expr)                                         \
	do {                                                 \
		if (!(expr))                                 \
			FAIL("assertion failed: %s", #expr); \
	} while (0)

/* Signed integer comparison (operands converted to int64_t). */
#define ASSERT_CMP_(a, op, b)                                       \
	do {                                                        \
		int64_t a_ = (int64_t)(a);                          \
		int64_t b_ = (int64_t)(b);                          \
		if (!(a_ op b_))                                    \
			FAIL("assertion failed: %s %s %s (%" PRId64 \
			     " %s %" PRId64 ")",                    \
			     #a, #op, #b, a_, #op, b_);             \
	} while (0)

/* Unsigned integer comparison (operands converted to uint64_t). */
#define ASSERT_UCMP_(a, op, b)                                      \
	do {                                                        \
		uint64_t a_ = (uint64_t)(a);                        \
		uint64_t b_ = (uint64_t)(b);                        \
		if (!(a_ op b_))                                    \
			FAIL("assertion failed: %s %s %s (%" PRIu64 \
			     " %s %" PRIu64 ")",                    \
			     #a, #op, #b, a_, #op, b_);             \
	} while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_CMP_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_CMP_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_CMP_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_CMP_(a, >, b)
#define ASSERT_GE(a, b) ASSERT_CMP_(a, >=, b)

#define ASSERT_UEQ(a, b) ASSERT_UCMP_(a, ==, b)
#define ASSERT_ULE(a, b) ASSERT_UCMP_(a, <=, b)
#define ASSERT_UGE(a, b) ASSERT_UCMP_(a, >=, b)

#define ASSERT_PTR_EQ(a, b)                                                   \
	do {                                                                  \
		const void *a_ = (const void *)(a);                           \
		const void *b_ = (const void *)(b);                           \
		if (a_ != b_)                                                 \
			FAIL("assertion failed: %s == %s (%p == %p)", #a, #b, \
			     a_, b_);                                         \
	} while (0)

#define ASSERT_NOT_NULL(a)                                        \
	do {                                                      \
		if ((a) == NULL)                                  \
			FAIL("assertion failed: %s != NULL", #a); \
	} while (0)

#define ASSERT_NULL(a) ASSERT_PTR_EQ(a, NULL)

#define ASSERT_STR_EQ(a, b)                                                   \
	do {                                                                  \
		const char *a_ = (a);                                         \
		const char *b_ = (b);                                         \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)          \
			FAIL("assertion failed: %s == %s (\"%s\" == \"%s\")", \
			     #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

/* A pool call returns exactly the error code `code` (0 included). */
#define ASSERT_ERR(expr, code)                                           \
	do {                                                             \
		int64_t r_ = (int64_t)(expr);                            \
		int64_t c_ = (int64_t)(code);                            \
		if (r_ != c_)                                            \
			FAIL("%s returned %s (%" PRId64 "), expected %s" \
			     " (%" PRId64 ")",                           \
			     #expr, pool_err_name((int)r_), r_,          \
			     pool_err_name((int)c_), c_);                \
	} while (0)

#define ASSERT_OK(expr) ASSERT_ERR(expr, 0)

/* Time. */
/* This process's resident memory in KiB (/proc/self/statm). */
static inline long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		FAIL("cannot open /proc/self/statm");
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		FAIL("cannot parse /proc/self/statm");
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static inline int64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define MS(n)  ((int64_t)(n)*1000000)
#define SEC(n) ((int64_t)(n)*1000000000)

/*
 * How long a WAIT_UNTIL polls before failing. Kept below the watchdog so the
 * failure names the condition.
 */
#define TEST_WAIT_NS SEC(20)

/*
 * Poll `cond` (re-evaluated each round) with sched_yield until it holds;
 * fail the test naming the condition after TEST_WAIT_NS. This waits on a
 * condition, never for a fixed time.
 */
#define WAIT_UNTIL(cond)                                                   \
	do {                                                               \
		int64_t wu_deadline_ = test_now_ns() + TEST_WAIT_NS;       \
		while (!(cond)) {                                          \
			if (test_now_ns() > wu_deadline_)                  \
				FAIL("timed out waiting until %s", #cond); \
			sched_yield();                                     \
		}                                                          \
	} while (0)

/*
 * A counter that threads can wait on: counter_add() from anywhere,
 * counter_wait() until it reaches a value. A latch is a counter waited on
 * for a target.
 */
struct counter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long value;
};

static inline void counter_init(struct counter *c)
{
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->value = 0;
}

static inline void counter_destroy(struct counter *c)
{
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
}

static inline void counter_add(struct counter *c, long n)
{
	pthread_mutex_lock(&c->mu);
	c->value += n;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static inline long counter_get(struct counter *c)
{
	long v;

	pthread_mutex_lock(&c->mu);
	v = c->value;
	pthread_mutex_unlock(&c->mu);
	return v;
}

/* Wait until value >= target; the watchdog ends a wait that never does. */
static inline void counter_wait(struct counter *c, long target)
{
	pthread_mutex_lock(&c->mu);
	while (c->value < target)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

/*
 * A gate: tasks call gate_pass(), which counts them in `entered` and blocks
 * them until the test calls gate_open(). gate_wait_entered() waits until n
 * tasks reached the gate.
 */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int open;
	struct counter entered;
	struct counter passed;
};

static inline void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->open = 0;
	counter_init(&g->entered);
	counter_init(&g->passed);
}

static inline void gate_destroy(struct gate *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	counter_destroy(&g->entered);
	counter_destroy(&g->passed);
}

static inline void gate_pass(struct gate *g)
{
	counter_add(&g->entered, 1);
	pthread_mutex_lock(&g->mu);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	counter_add(&g->passed, 1);
}

static inline void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static inline void gate_wait_entered(struct gate *g, long n)
{
	counter_wait(&g->entered, n);
}

/* A task that blocks on the gate passed as arg. */
static inline void task_gate(void *arg)
{
	gate_pass(arg);
}

/* A task that adds 1 to the struct counter passed as arg. */
static inline void task_count(void *arg)
{
	counter_add(arg, 1);
}

/* A task that does nothing. */
static inline void task_nop(void *arg)
{
	(void)arg;
}

/* Thread helpers: start/join a thread or fail. */
static inline void thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);

	if (rc != 0)
		FAIL("pthread_create: %s", strerror(rc));
}

static inline void thread_join(pthread_t t)
{
	int rc = pthread_join(t, NULL);

	if (rc != 0)
		FAIL("pthread_join: %s", strerror(rc));
}

/* Options with capacity, ring capacity and flags set; rest default. */
static inline pool_options_t test_opts(int capacity, unsigned ring,
				       unsigned flags)
{
	pool_options_t o = POOL_OPTIONS_INIT;

	o.capacity = capacity;
	o.ring_capacity = ring;
	o.flags = flags;
	return o;
}

static inline pool_stats_t test_stats(const pool_t *p)
{
	pool_stats_t s = POOL_STATS_INIT;
	int rc = pool_stats(p, &s);

	if (rc != 0)
		FAIL("pool_stats returned %s", pool_err_name(rc));
	return s;
}

/*
 * The accounting identity of a quiescent pool (pool_stats_t comment):
 * submitted == completed + queued + running + discarded.
 */
#define ASSERT_STATS_BALANCED(s)  \
	ASSERT_UEQ((s).submitted, \
		   (s).completed + (s).queued + (s).running + (s).discarded)

/*
 * A background submitter: runs one submit call on its own thread so the test
 * can observe it blocked. `kind` selects the call.
 */
enum bg_kind {
	BG_SUBMIT,
	BG_TRY_SUBMIT,
	BG_SUBMIT_TIMEOUT,
	BG_SUBMIT_WAIT,
	BG_DESTROY,
	BG_STOP,
	BG_RELEASE_TIMEOUT,
};

struct bg_call {
	pthread_t thread;
	enum bg_kind kind;
	pool_t *pool;
	pool_task_fn fn;
	void *arg;
	int64_t timeout_ns;
	pool_discard_fn on_discard;
	void *ctx;
	atomic_int done;
	int rc;
};

static inline void *bg_call_main(void *arg)
{
	struct bg_call *b = arg;
	int rc = POOL_EINVAL;

	switch (b->kind) {
	case BG_SUBMIT:
		rc = pool_submit(b->pool, b->fn, b->arg);
		break;
	case BG_TRY_SUBMIT:
		rc = pool_try_submit(b->pool, b->fn, b->arg);
		break;
	case BG_SUBMIT_TIMEOUT:
		rc = pool_submit_timeout(b->pool, b->fn, b->arg, b->timeout_ns);
		break;
	case BG_SUBMIT_WAIT:
		rc = pool_submit_wait(b->pool, b->fn, b->arg);
		break;
	case BG_DESTROY:
		rc = pool_destroy(b->pool);
		break;
	case BG_STOP:
		rc = pool_stop(b->pool, b->on_discard, b->ctx);
		break;
	case BG_RELEASE_TIMEOUT:
		rc = pool_release_timeout(b->pool, b->timeout_ns);
		break;
	}
	b->rc = rc;
	atomic_store(&b->done, 1);
	return NULL;
}

static inline void bg_start(struct bg_call *b, enum bg_kind kind, pool_t *p,
			    pool_task_fn fn, void *arg)
{
	b->kind = kind;
	b->pool = p;
	b->fn = fn;
	b->arg = arg;
	atomic_init(&b->done, 0);
	b->rc = 1;
	thread_start(&b->thread, bg_call_main, b);
}

/* Join the background call and return its result. */
static inline int bg_join(struct bg_call *b)
{
	thread_join(b->thread);
	return b->rc;
}

/* Hold n workers on gate g: n gate tasks submitted, all n entered. */
static inline void test_hold_workers(pool_t *p, struct gate *g, int n)
{
	for (int i = 0; i < n; i++)
		ASSERT_OK(pool_submit(p, task_gate, g));
	gate_wait_entered(g, n);
}

/* Fill a pool made with test_opts(1, 1, ...): one task running on the gate
 * and one queued task (fn/arg given). Returns once the pool is full. */
static inline void test_fill_1x1(pool_t *p, struct gate *g, pool_task_fn fn,
				 void *arg)
{
	ASSERT_OK(pool_submit(p, task_gate, g));
	gate_wait_entered(g, 1);
	ASSERT_OK(pool_submit(p, fn, arg));
	ASSERT_EQ(pool_queued(p), 1);
	ASSERT_EQ(pool_running(p), 1);
}

/*
 * The library's test points (enum pool_test_point in lib/internal.h, which
 * tests do not include): one copy here, kept equal to it, for the tests
 * that install a hook with pool__test_set_hook.
 */
enum {
	POOL_TP_BATCH_KICK = 1,
	POOL_TP_FIRST_WORKER_VERDICT = 2,
	POOL_TP_SUBMIT_RELEASED = 3,
	POOL_TP_DESTROY_HOLDS = 4,
	POOL_TP_RING_ADDED = 5,
	POOL_TP_GROUP_SLEEP = 6,
	POOL_TP_GROUP_OFFER_TAKE = 7,
	POOL_TP_RING_EMPTIED = 8,
	POOL_TP_GROUP_OFFER_SPIN = 9,
	POOL_TP_GROUP_POST = 10,
	POOL_TP_GROUP_POSTED = 11,
	POOL_TP_GROUP_LEAVE = 12,
	POOL_TP_SEM_GRANTED = 13,
	POOL_TP_SEM_WAIT = 14,
	POOL_TP_SEM_SLEEP = 15,
	POOL_TP_SEM_ANNOUNCED = 16,
	POOL_TP_PARK_STALL = 17,
	POOL_TP_RAMP_UP = 18,
	POOL_TP_RAMP_SPAWN = 19,
};

#endif /* POOL_TEST_H */
