/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - argument validation, error codes and strings, defaults.
 *
 * Every rejected call must return the documented code and change nothing.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <unistd.h>

#include "test.h"

/* A pointer value pool_new must leave alone on failure. */
#define SENTINEL ((pool_t *)(uintptr_t)0x5a5a5a5a)

/* Both constructors reject o and leave *out alone (a macro: failures name
 * the caller's line). */
#define EXPECT_NEW_EINVAL(o)                                              \
	do {                                                              \
		pool_t *p_ = SENTINEL;                                    \
		ASSERT_ERR(pool_new(&p_, o), POOL_EINVAL);                \
		ASSERT_PTR_EQ(p_, SENTINEL);                              \
		ASSERT_ERR(pool_new_func(&p_, task_nop, o), POOL_EINVAL); \
		ASSERT_PTR_EQ(p_, SENTINEL);                              \
	} while (0)

TEST(new_null_out)
{
	pool_options_t o = POOL_OPTIONS_INIT;

	ASSERT_ERR(pool_new(NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_new(NULL, &o), POOL_EINVAL);
	ASSERT_ERR(pool_new_func(NULL, task_nop, &o), POOL_EINVAL);
}

TEST(new_defaults)
{
	pool_t *p = NULL;
	pool_stats_t s;

	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_NOT_NULL(p);
	ASSERT_EQ(pool_cap(p), pool_default_capacity());
	ASSERT_EQ(pool_running(p), 0);
	ASSERT_EQ(pool_available(p), pool_cap(p));
	ASSERT_EQ(pool_waiting(p), 0);
	ASSERT_EQ(pool_queued(p), 0);
	ASSERT_EQ(pool_is_closed(p), 0);
	s = test_stats(p);
	ASSERT_UEQ(s.capacity, pool_default_capacity());
	ASSERT_UEQ(s.submitted, 0);
	ASSERT_UEQ(s.tunes, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(new_zero_options_are_defaults)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_t *p = NULL;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_cap(p), pool_default_capacity());
	ASSERT_OK(pool_destroy(p));
}

TEST(new_capacity)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_t *p = NULL;

	o.capacity = -1;
	EXPECT_NEW_EINVAL(&o);
	o.capacity = INT_MIN;
	EXPECT_NEW_EINVAL(&o);
	o.capacity = 3;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_EQ(pool_cap(p), 3);
	ASSERT_EQ(pool_available(p), 3);
	ASSERT_OK(pool_destroy(p));
}

TEST(new_options_size)
{
	union {
		pool_options_t o;
		char bytes[sizeof(pool_options_t) + 64];
	} u;

	memset(&u, 0, sizeof(u));
	u.o.capacity = 1;
	u.o.size = 0;
	EXPECT_NEW_EINVAL(&u.o);
	u.o.size = 1;
	EXPECT_NEW_EINVAL(&u.o);
	u.o.size = sizeof(size_t);
	EXPECT_NEW_EINVAL(&u.o);
	u.o.size = sizeof(pool_options_t) + 1;
	EXPECT_NEW_EINVAL(&u.o);
	u.o.size = sizeof(pool_options_t) + 8;
	EXPECT_NEW_EINVAL(&u.o);
	u.o.size = sizeof(pool_options_t) + 64;
	EXPECT_NEW_EINVAL(&u.o);
	u.o.size = SIZE_MAX;
	EXPECT_NEW_EINVAL(&u.o);
}

/*
 * A size that ends inside a field is no struct the library ever had: unknown,
 * so EINVAL (the header: "a size it does not know"). Only sizeof(options)
 * exists in this first version.
 */
TEST(new_options_size_partial_field)
{
	pool_options_t o = test_opts(1, 0, 0);

	o.size = sizeof(pool_options_t) - 1;
	EXPECT_NEW_EINVAL(&o);
	o.size = offsetof(pool_options_t, capacity) + 1;
	EXPECT_NEW_EINVAL(&o);
}

TEST(new_unknown_flags)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	unsigned bit;

	for (bit = 0; bit < 32; bit++) {
		if ((1u << bit) & POOL_FLAGS_ALL)
			continue;
		o.flags = 1u << bit;
		EXPECT_NEW_EINVAL(&o);
		o.flags = POOL_NONBLOCKING | (1u << bit);
		EXPECT_NEW_EINVAL(&o);
	}
}

TEST(new_known_flags)
{
	pool_options_t o = test_opts(2, 0, POOL_FLAGS_ALL);
	pool_t *p = NULL;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_destroy(p));
}

TEST(new_negative_expiry)
{
	pool_options_t o = POOL_OPTIONS_INIT;

	o.expiry_ns = -1;
	EXPECT_NEW_EINVAL(&o);
	o.expiry_ns = INT64_MIN;
	EXPECT_NEW_EINVAL(&o);
}

TEST(new_negative_max_blocking)
{
	pool_options_t o = POOL_OPTIONS_INIT;

	o.max_blocking = -1;
	EXPECT_NEW_EINVAL(&o);
	o.max_blocking = INT_MIN;
	EXPECT_NEW_EINVAL(&o);
}

TEST(new_ring_capacity)
{
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p = NULL;

	o.ring_capacity = (1u << 20) + 1;
	EXPECT_NEW_EINVAL(&o);
	o.ring_capacity = UINT_MAX;
	EXPECT_NEW_EINVAL(&o);
	/* Both ends of the range are accepted. */
	o.ring_capacity = 1;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_destroy(p));
	o.ring_capacity = 1u << 20;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_destroy(p));
}

TEST(new_stack_size)
{
	pool_options_t o = test_opts(1, 0, POOL_PREALLOC);
	pool_t *p = NULL;
	long min = sysconf(_SC_THREAD_STACK_MIN);

	ASSERT_GT(min, 1);
	o.stack_size = 1;
	EXPECT_NEW_EINVAL(&o);
	o.stack_size = (size_t)min - 1;
	EXPECT_NEW_EINVAL(&o);
	o.stack_size = 1u << 20;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
}

TEST(new_name_length)
{
	pool_options_t o = test_opts(1, 0, 0);
	char name[128];
	pool_t *p = NULL;

	memset(name, 'n', sizeof(name));
	name[64] = '\0';
	o.name = name;
	EXPECT_NEW_EINVAL(&o);
	name[127] = '\0';
	memset(name, 'n', 127);
	EXPECT_NEW_EINVAL(&o);
	/* 63 bytes is the longest accepted name; it is copied. */
	name[63] = '\0';
	ASSERT_OK(pool_new(&p, &o));
	memset(name, 'x', 63);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
	o.name = "";
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_destroy(p));
}

TEST(new_func_null_fn)
{
	pool_t *p = SENTINEL;
	pool_options_t o = test_opts(1, 0, 0);

	ASSERT_ERR(pool_new_func(&p, NULL, &o), POOL_EINVAL);
	ASSERT_ERR(pool_new_func(&p, NULL, NULL), POOL_EINVAL);
	ASSERT_PTR_EQ(p, SENTINEL);
}

static atomic_int ran;

static void task_mark(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
}

TEST(submit_einval)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_task_t tasks[2] = {{task_mark, NULL}, {task_mark, NULL}};
	size_t accepted = 99;
	pool_t *p;
	pool_stats_t s;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_ERR(pool_submit(NULL, task_mark, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_submit(p, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_try_submit(NULL, task_mark, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_try_submit(p, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_submit_timeout(NULL, task_mark, NULL, MS(1)),
		   POOL_EINVAL);
	ASSERT_ERR(pool_submit_timeout(p, NULL, NULL, MS(1)), POOL_EINVAL);
	ASSERT_ERR(pool_submit_timeout(p, task_mark, NULL, -1), POOL_EINVAL);
	ASSERT_ERR(pool_submit_timeout(p, task_mark, NULL, INT64_MIN),
		   POOL_EINVAL);
	ASSERT_ERR(pool_submit_wait(NULL, task_mark, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_submit_wait(p, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_submit_batch(NULL, tasks, 2, &accepted), POOL_EINVAL);
	ASSERT_EQ(accepted, 0);
	accepted = 99;
	ASSERT_ERR(pool_submit_batch(p, NULL, 2, &accepted), POOL_EINVAL);
	ASSERT_EQ(accepted, 0);
	ASSERT_ERR(pool_invoke(NULL, NULL), POOL_EINVAL);
	/* pool_invoke on a pool made by pool_new. */
	ASSERT_ERR(pool_invoke(p, NULL), POOL_EINVAL);

	s = test_stats(p);
	ASSERT_UEQ(s.submitted, 0);
	ASSERT_UEQ(s.rejected_overload, 0);
	ASSERT_UEQ(s.rejected_closed, 0);
	ASSERT_UEQ(s.rejected_timeout, 0);
	ASSERT_EQ(pool_is_closed(p), 0);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(atomic_load(&ran), 0);
}

TEST(reads_einval)
{
	pool_stats_t s = POOL_STATS_INIT;

	ASSERT_ERR(pool_cap(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_running(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_available(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_waiting(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_queued(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_is_closed(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_stats(NULL, &s), POOL_EINVAL);
}

TEST(stats_einval)
{
	union {
		pool_stats_t s;
		char bytes[sizeof(pool_stats_t) + 64];
	} u;
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_ERR(pool_stats(p, NULL), POOL_EINVAL);
	memset(&u, 0, sizeof(u));
	u.s.size = 0;
	ASSERT_ERR(pool_stats(p, &u.s), POOL_EINVAL);
	u.s.size = 1;
	ASSERT_ERR(pool_stats(p, &u.s), POOL_EINVAL);
	u.s.size = sizeof(pool_stats_t) + 8;
	ASSERT_ERR(pool_stats(p, &u.s), POOL_EINVAL);
	u.s.size = SIZE_MAX;
	ASSERT_ERR(pool_stats(p, &u.s), POOL_EINVAL);
	u.s.size = sizeof(pool_stats_t);
	ASSERT_OK(pool_stats(p, &u.s));
	ASSERT_UEQ(u.s.capacity, 1);
	ASSERT_OK(pool_destroy(p));
}

/* As for options: a size ending inside a field is unknown. */
TEST(stats_size_partial_field)
{
	union {
		pool_stats_t s;
		char bytes[sizeof(pool_stats_t) + 64];
	} u;
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	memset(&u, 0, sizeof(u));
	u.s.size = sizeof(pool_stats_t) - 1;
	ASSERT_ERR(pool_stats(p, &u.s), POOL_EINVAL);
	u.s.size = sizeof(size_t) + 1;
	ASSERT_ERR(pool_stats(p, &u.s), POOL_EINVAL);
	ASSERT_OK(pool_destroy(p));
}

TEST(lifecycle_einval)
{
	pool_options_t o = test_opts(1, 0, 0);
	pool_t *p;

	ASSERT_ERR(pool_release(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_release_timeout(NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_stop(NULL, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_reboot(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_destroy(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_tune(NULL, 1), POOL_EINVAL);

	/* A negative timeout changes nothing: the pool stays open. */
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_ERR(pool_release_timeout(p, -1), POOL_EINVAL);
	ASSERT_ERR(pool_release_timeout(p, INT64_MIN), POOL_EINVAL);
	ASSERT_EQ(pool_is_closed(p), 0);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_destroy(p));
}

TEST(tune_einval)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_ERR(pool_tune(p, 0), POOL_EINVAL);
	ASSERT_ERR(pool_tune(p, -1), POOL_EINVAL);
	ASSERT_ERR(pool_tune(p, INT_MIN), POOL_EINVAL);
	ASSERT_ERR(pool_tune(p, (1 << 20) + 1), POOL_EINVAL);
	ASSERT_ERR(pool_tune(p, INT_MAX), POOL_EINVAL);
	ASSERT_EQ(pool_cap(p), 2);
	ASSERT_UEQ(test_stats(p).capacity, 2);
	ASSERT_UEQ(test_stats(p).tunes, 0);
	ASSERT_OK(pool_destroy(p));
}

/* Every code of the map: value, name and message. */
TEST(error_strings)
{
	struct {
		int code;
		int value;
		const char *name;
		const char *msg;
	} map[] = {
#define X(name, value, msg) {POOL_##name, value, "POOL_" #name, msg},
		POOL_ERRNO_MAP(X)
#undef X
	};
	size_t i, j, n = sizeof(map) / sizeof(map[0]);

	ASSERT_EQ(n, 9);
	ASSERT_EQ(POOL_EINVAL, -EINVAL);
	ASSERT_EQ(POOL_ENOMEM, -ENOMEM);
	ASSERT_EQ(POOL_EOVERLOAD, -EAGAIN);
	ASSERT_EQ(POOL_ECLOSED, -ESHUTDOWN);
	ASSERT_EQ(POOL_ETIMEDOUT, -ETIMEDOUT);
	ASSERT_EQ(POOL_EDEADLK, -EDEADLK);
	ASSERT_EQ(POOL_ECANCELED, -ECANCELED);
	ASSERT_EQ(POOL_EPANIC, -EOWNERDEAD);
	ASSERT_EQ(POOL_EBUSY, -EBUSY);
	for (i = 0; i < n; i++) {
		ASSERT_LT(map[i].code, 0);
		ASSERT_EQ(map[i].code, map[i].value);
		ASSERT_STR_EQ(pool_err_name(map[i].code), map[i].name);
		ASSERT_STR_EQ(pool_strerror(map[i].code), map[i].msg);
		for (j = 0; j < i; j++)
			ASSERT_NE(map[i].code, map[j].code);
	}
	ASSERT_STR_EQ(pool_strerror(0), "success");
	ASSERT_STR_EQ(pool_err_name(0), "POOL_OK");
}

TEST(error_strings_unknown)
{
	int codes[] = {1,     -1,    2,	      -EPERM,  -ENOENT, -4095,
		       -9999, 12345, INT_MAX, INT_MIN, EINVAL,	ENOMEM};
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ASSERT_STR_EQ(pool_strerror(codes[i]), "unknown error");
		ASSERT_STR_EQ(pool_err_name(codes[i]), "POOL_EUNKNOWN");
	}
}

TEST(default_capacity)
{
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int n = pool_default_capacity();

	ASSERT_GE(n, 1);
	ASSERT_LE(n, online);
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	ASSERT_LE(n, CPU_COUNT(&set));
	/* Stable across calls. */
	ASSERT_EQ(pool_default_capacity(), n);
}

TEST(default_capacity_affinity)
{
	cpu_set_t set, one;
	int cpu;

	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			break;
	ASSERT_LT(cpu, CPU_SETSIZE);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_OK(sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(pool_default_capacity(), 1);
	ASSERT_OK(sched_setaffinity(0, sizeof(set), &set));
}

TEST(worker_context_outside_task)
{
	ASSERT_EQ(pool_worker_id(), -1);
	ASSERT_NULL(pool_self());
	ASSERT_NULL(pool_worker_state());
}
