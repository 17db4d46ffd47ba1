/* SPDX-License-Identifier: MIT */
/*
 * test_executor.c - pool/executor.h: the vtable a pool and a multi-pool
 * fill in (pool_executor, pool_multi_executor), driven only through the
 * executor interface, as a library taking an executor would.
 */
#include <errno.h>

#include "test.h"

TEST(executor_einval)
{
	pool_executor_t e = {0, NULL, NULL, NULL, NULL};
	pool_t *p;

	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_ERR(pool_executor(NULL, &e), POOL_EINVAL);
	ASSERT_ERR(pool_executor(p, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_multi_executor(NULL, &e), POOL_EINVAL);
	/* *e untouched on error. */
	ASSERT_UEQ(e.size, 0);
	ASSERT_NULL(e.submit);
	ASSERT_OK(pool_destroy(p));
}

TEST(executor_pool_fields)
{
	pool_options_t o = test_opts(2, 0, 0);
	pool_executor_t e;
	pool_t *p;

	o.name = "exec";
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_executor(p, &e));
	ASSERT_UEQ(e.size, sizeof(e));
	ASSERT_NOT_NULL(e.submit);
	ASSERT_NOT_NULL(e.try_submit);
	ASSERT_PTR_EQ(e.ctx, p);
	ASSERT_STR_EQ(e.name, "exec");
	ASSERT(POOL_EXECUTOR_HAS(&e, name));
	ASSERT_OK(pool_destroy(p));
}

/* A "library" that knows nothing but the executor: run n counting tasks. */
static int lib_run(const pool_executor_t *e, struct counter *c, int n)
{
	for (int i = 0; i < n; i++) {
		int r = pool_executor_submit(e, task_count, c);

		if (r < 0)
			return r;
	}
	return 0;
}

TEST(executor_pool_submit_runs)
{
	struct counter c;
	pool_executor_t e;
	pool_stats_t s;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_OK(pool_executor(p, &e));
	ASSERT_OK(lib_run(&e, &c, 100));
	ASSERT_OK(pool_executor_try_submit(&e, task_count, &c));
	counter_wait(&c, 101);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	s = test_stats(p);
	ASSERT_UEQ(s.submitted, 101);
	ASSERT_UEQ(s.completed, 101);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* try_submit is pool_try_submit: a full pool answers -EAGAIN at once and
 * the task never runs; submit on a closed pool is POOL_ECLOSED. */
TEST(executor_pool_errors_pass_through)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	struct counter c;
	struct gate g;
	pool_executor_t e;
	pool_t *p;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_executor(p, &e));
	test_fill_1x1(p, &g, task_count, &c);
	ASSERT_ERR(pool_executor_try_submit(&e, task_count, &c),
		   POOL_EOVERLOAD);
	ASSERT_EQ(POOL_EOVERLOAD, -EAGAIN);
	/* Non-blocking pool: submit is also refused at once. */
	ASSERT_ERR(pool_executor_submit(&e, task_count, &c), POOL_EOVERLOAD);
	gate_open(&g);
	counter_wait(&c, 1);
	ASSERT_OK(pool_release(p));
	ASSERT_ERR(pool_executor_submit(&e, task_count, &c), POOL_ECLOSED);
	ASSERT_ERR(pool_executor_try_submit(&e, task_count, &c), POOL_ECLOSED);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(counter_get(&c), 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&c);
}

struct nested {
	const pool_executor_t *e;
	struct counter *c;
	int rc;
};

static void task_nested(void *arg)
{
	struct nested *n = arg;

	/* A task submits through the executor it runs on. */
	n->rc = pool_executor_submit(n->e, task_count, n->c);
	counter_add(n->c, 1);
}

TEST(executor_submit_from_task)
{
	struct counter c;
	struct nested n;
	pool_executor_t e;
	pool_t *p;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_OK(pool_executor(p, &e));
	n.e = &e;
	n.c = &c;
	n.rc = 1;
	ASSERT_OK(pool_executor_submit(&e, task_nested, &n));
	counter_wait(&c, 2);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(n.rc);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

TEST(executor_multi)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct counter c;
	struct gate g;
	pool_executor_t e;
	pool_multi_t *m;
	pool_stats_t s0, s1;

	counter_init(&c);
	gate_init(&g);
	ASSERT_OK(pool_multi_new(&m, 2, &o, POOL_LB_ROUND_ROBIN));
	ASSERT_OK(pool_multi_executor(m, &e));
	ASSERT_UEQ(e.size, sizeof(e));
	ASSERT_PTR_EQ(e.ctx, m);
	ASSERT_NOT_NULL(e.name);
	/* Both members' workers busy: no member needs a wake, so
	 * round-robin alternates exactly (multi.h). */
	ASSERT_OK(pool_multi_submit_key(m, 0, task_gate, &g));
	ASSERT_OK(pool_multi_submit_key(m, 1, task_gate, &g));
	gate_wait_entered(&g, 2);
	ASSERT_OK(lib_run(&e, &c, 10));
	ASSERT_OK(pool_executor_try_submit(&e, task_count, &c));
	gate_open(&g);
	counter_wait(&c, 11);
	ASSERT_OK(pool_multi_release_timeout(m, SEC(30)));
	s0 = pool_stats_init();
	s1 = pool_stats_init();
	ASSERT_OK(pool_multi_stats_by_index(m, 0, &s0));
	ASSERT_OK(pool_multi_stats_by_index(m, 1, &s1));
	/* Both members took tasks in turn: it went through the
	 * multi-pool. */
	ASSERT_UEQ(s0.submitted + s1.submitted, 2 + 11);
	ASSERT(s0.submitted >= 1 + 5 && s1.submitted >= 1 + 5);
	ASSERT_OK(pool_multi_destroy(m));
	gate_destroy(&g);
	counter_destroy(&c);
}
