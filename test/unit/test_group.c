/* SPDX-License-Identifier: MIT */
/*
 * test_group.c - task groups: first error kept, cancellation of queued
 * tasks, the limit (go blocks, try_go fails), panics, the helping wait from
 * inside tasks (capacity 1 included), nesting, and pool_wait_idle.
 */
#include <stdbool.h>

#include <pool/panic.h>

#include "test.h"

int pool__group_sleepers(pool_group_t *g);
void pool__test_fail_after(long k);

static pool_t *new_pool(int cap)
{
	pool_options_t o = test_opts(cap, 0, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	return p;
}

static pool_group_t *new_group(pool_t *p, int limit, pool_ctx_t *parent,
			       pool_group_skip_fn on_skip, void *skip_arg)
{
	pool_group_options_t o = POOL_GROUP_OPTIONS_INIT;
	pool_group_t *g;

	o.limit = limit;
	o.parent = parent;
	o.on_skip = on_skip;
	o.skip_arg = skip_arg;
	ASSERT_OK(pool_group_new(&g, p, &o));
	return g;
}

static int gtask_count(void *arg)
{
	counter_add(arg, 1);
	return 0;
}

static int gtask_ret(void *arg)
{
	return (int)(intptr_t)arg;
}

struct gated {
	struct gate gate;
	int ret;
};

static int gtask_gated(void *arg)
{
	struct gated *g = arg;

	gate_pass(&g->gate);
	return g->ret;
}

struct skiplog {
	struct counter n;
	pool_group_fn fn;
	void *arg;
	int cause;
	pool_group_t *other; /* the callback calls back into the library */
	int other_rc;
};

static void on_skip(void *sarg, pool_group_fn fn, void *arg, int cause)
{
	struct skiplog *s = sarg;

	s->fn = fn;
	s->arg = arg;
	s->cause = cause;
	if (s->other)
		s->other_rc = pool_group_try_go(s->other, gtask_count, arg);
	counter_add(&s->n, 1);
}

static void skiplog_init(struct skiplog *s)
{
	memset(s, 0, sizeof(*s));
	counter_init(&s->n);
}

TEST(group_options_checked)
{
	pool_group_options_t o = POOL_GROUP_OPTIONS_INIT;
	pool_group_t *g;
	pool_t *p = new_pool(1);

	ASSERT_ERR(pool_group_new(NULL, p, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_group_new(&g, NULL, NULL), POOL_EINVAL);
	o.limit = -1;
	ASSERT_ERR(pool_group_new(&g, p, &o), POOL_EINVAL);
	o.limit = (1 << 30) + 1;
	ASSERT_ERR(pool_group_new(&g, p, &o), POOL_EINVAL);
	o.limit = 0;
	o.size = 1;
	ASSERT_ERR(pool_group_new(&g, p, &o), POOL_EINVAL);
	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_ERR(pool_group_go(NULL, gtask_ret, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_group_go(g, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_group_go_ctx(g, NULL, gtask_ret, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_group_wait(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_group_wait_ctx(g, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_group_destroy(NULL), POOL_EINVAL);
	ASSERT_NULL(pool_group_ctx(NULL));
	ASSERT_OK(pool_group_wait(g)); /* empty */
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
}

TEST(group_wait_runs_all_without_closing)
{
	struct counter ran;
	pool_t *p = new_pool(2);
	pool_group_t *g = new_group(p, 0, NULL, NULL, NULL);

	counter_init(&ran);
	for (int i = 0; i < 1000; i++)
		ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1000);
	ASSERT_EQ(pool_is_closed(p), 0);
	/* The group goes on after a wait. */
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1001);
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&ran);
}

TEST(group_first_error_kept)
{
	struct gated a, b;
	pool_t *p = new_pool(2);
	pool_group_t *g = new_group(p, 0, NULL, NULL, NULL);

	gate_init(&a.gate);
	gate_init(&b.gate);
	a.ret = -10;
	b.ret = -20;
	/* Paused, so that a cannot start before b is queued: b would be
	 * posted to a's running end and start only after it (the mailbox). */
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	ASSERT_OK(pool_group_go(g, gtask_gated, &b));
	ASSERT_OK(pool_resume(p));
	gate_wait_entered(&a.gate, 1);
	gate_wait_entered(&b.gate, 1);
	gate_open(&a.gate);
	/* The first error cancels the group's context with it. */
	ASSERT_EQ(pool_ctx_wait(pool_group_ctx(g), -1), -10);
	gate_open(&b.gate);
	ASSERT_EQ(pool_group_wait(g), -10);
	ASSERT_EQ(pool_group_wait(g), -10); /* it stays */
	/* A cancelled group refuses new tasks; the caller keeps arg. */
	ASSERT_EQ(pool_group_go(g, gtask_ret, NULL), -10);
	ASSERT_EQ(pool_group_try_go(g, gtask_ret, NULL), -10);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	gate_destroy(&b.gate);
}

TEST(group_error_skips_queued_tasks_and_reports)
{
	struct counter ran;
	struct skiplog sk;
	pool_t *p = new_pool(1); /* FIFO on one worker */
	pool_group_t *g;

	struct gate gt;

	counter_init(&ran);
	skiplog_init(&sk);
	gate_init(&gt);
	g = new_group(p, 0, NULL, on_skip, &sk);
	/* Hold the worker until all are queued. */
	ASSERT_OK(pool_submit(p, task_gate, &gt));
	gate_wait_entered(&gt, 1);
	/* Positive returns are success. */
	ASSERT_OK(pool_group_go(g, gtask_ret, (void *)(intptr_t)7));
	ASSERT_OK(pool_group_go(g, gtask_ret, (void *)(intptr_t)-3));
	for (int i = 0; i < 5; i++)
		ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	gate_open(&gt);
	ASSERT_EQ(pool_group_wait(g), -3);
	/* One worker runs them in order: all five came after the error. */
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_EQ(counter_get(&sk.n), 5);
	ASSERT_UEQ(pool_group_skipped(g), 5);
	ASSERT_EQ(sk.cause, -3);
	ASSERT_PTR_EQ(sk.fn, gtask_count);
	ASSERT_PTR_EQ(sk.arg, &ran);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&gt);
	counter_destroy(&ran);
	counter_destroy(&sk.n);
}

TEST(group_parent_cancel_skips_and_wait_reports_cause)
{
	struct counter ran;
	struct skiplog sk;
	struct gate gt;
	pool_ctx_t *parent;
	pool_t *p = new_pool(1);
	pool_group_t *g, *other = NULL;

	counter_init(&ran);
	skiplog_init(&sk);
	gate_init(&gt);
	ASSERT_OK(pool_ctx_new(&parent, NULL, POOL_CTX_NO_TIMEOUT));
	g = new_group(p, 0, parent, on_skip, &sk);
	other = new_group(p, 0, NULL, NULL, NULL);
	sk.other = other;
	sk.other_rc = 1;
	ASSERT_OK(pool_submit(p, task_gate, &gt));
	gate_wait_entered(&gt, 1);
	for (int i = 0; i < 3; i++)
		ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	ASSERT_EQ(pool_ctx_cancel(parent, -44), 1);
	ASSERT_EQ(pool_ctx_err(pool_group_ctx(g)), -44);
	gate_open(&gt);
	ASSERT_EQ(pool_group_wait(g), -44);
	ASSERT_EQ(counter_get(&sk.n), 3);
	/* The callback resubmitted each skipped task to another group. */
	ASSERT_OK(sk.other_rc);
	ASSERT_OK(pool_group_wait(other));
	ASSERT_EQ(counter_get(&ran), 3);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_group_destroy(other));
	pool_ctx_destroy(parent);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&gt);
	counter_destroy(&ran);
	counter_destroy(&sk.n);
}

struct panics {
	int calls;
	void *fn;
	void *arg;
};

static void on_panic(void *ctx, const pool_panic_info_t *info)
{
	struct panics *pn = ctx;

	pn->calls++;
	pn->fn = (void *)info->fn;
	pn->arg = info->arg;
}

static int gtask_panic(void *arg)
{
	(void)arg;
	pool_panic(9, "group task");
}

TEST(group_panic_reported_as_its_own_code)
{
	pool_options_t o = test_opts(1, 0, 0);
	struct panics pn = {0};
	int marker;
	pool_group_t *g;
	pool_t *p;

	o.panic_handler = on_panic;
	o.panic_ctx = &pn;
	ASSERT_OK(pool_new(&p, &o));
	g = new_group(p, 0, NULL, NULL, NULL);
	ASSERT_OK(pool_group_go(g, gtask_panic, &marker));
	ASSERT_ERR(pool_group_wait(g), POOL_EPANIC);
	ASSERT_EQ(pn.calls, 1);
	/* The handler is shown the user's task, not a wrapper. */
	ASSERT_PTR_EQ(pn.fn, (void *)(void (*)(void))gtask_panic);
	ASSERT_PTR_EQ(pn.arg, &marker);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
}

struct bg_go {
	pthread_t t;
	pool_group_t *g;
	pool_ctx_t *c;
	pool_group_fn fn;
	void *arg;
	atomic_int done;
	int rc;
};

static void *bg_go_main(void *arg)
{
	struct bg_go *b = arg;

	b->rc = b->c ? pool_group_go_ctx(b->g, b->c, b->fn, b->arg)
		     : pool_group_go(b->g, b->fn, b->arg);
	atomic_store(&b->done, 1);
	return NULL;
}

TEST(group_limit_blocks_go_and_fails_try_go)
{
	struct counter ran;
	struct gated a;
	struct bg_go b;
	pool_t *p = new_pool(4);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);

	counter_init(&ran);
	gate_init(&a.gate);
	a.ret = 0;
	memset(&b, 0, sizeof(b));
	/* Paused: as in group_offer_taken_while_go_withdraws. */
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	ASSERT_OK(pool_resume(p));
	gate_wait_entered(&a.gate, 2);
	ASSERT_ERR(pool_group_try_go(g, gtask_count, &ran), POOL_EOVERLOAD);
	b.g = g;
	b.fn = gtask_count;
	b.arg = &ran;
	thread_start(&b.t, bg_go_main, &b);
	WAIT_UNTIL(pool__group_sleepers(g) == 1);
	ASSERT_EQ(atomic_load(&b.done), 0);
	ASSERT_EQ(counter_get(&ran), 0);
	gate_open(&a.gate);
	thread_join(b.t);
	ASSERT_OK(b.rc);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
}

TEST(group_go_ctx_blocked_at_limit_woken_by_cancel)
{
	struct counter ran;
	struct gated a;
	struct bg_go b;
	pool_t *p = new_pool(2);
	pool_group_t *g = new_group(p, 1, NULL, NULL, NULL);

	counter_init(&ran);
	gate_init(&a.gate);
	a.ret = 0;
	memset(&b, 0, sizeof(b));
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	b.g = g;
	b.fn = gtask_count;
	b.arg = &ran;
	ASSERT_OK(pool_ctx_new(&b.c, NULL, POOL_CTX_NO_TIMEOUT));
	thread_start(&b.t, bg_go_main, &b);
	WAIT_UNTIL(pool__group_sleepers(g) == 1);
	ASSERT_EQ(pool_ctx_cancel(b.c, -12), 1);
	thread_join(b.t);
	ASSERT_EQ(b.rc, -12);
	/* Only the call was bounded: the group is not cancelled. */
	ASSERT_EQ(pool_ctx_err(pool_group_ctx(g)), 0);
	gate_open(&a.gate);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 0);
	pool_ctx_destroy(b.c);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
}

TEST(group_wait_ctx_returns_cause_then_wait_again)
{
	struct gated a;
	pool_ctx_t *c;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 0, NULL, NULL, NULL);

	gate_init(&a.gate);
	a.ret = 0;
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	ASSERT_OK(pool_ctx_new(&c, NULL, MS(2)));
	ASSERT_ERR(pool_group_wait_ctx(g, c), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_group_destroy(g), POOL_EBUSY);
	gate_open(&a.gate);
	ASSERT_OK(pool_group_wait(g));
	pool_ctx_destroy(c);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
}

/* ---- waits from inside tasks ---- */

struct inner {
	pool_t *p;
	int n;
	int limit;
	struct counter ran;
	int rc;
	int go_rc;
};

/* A task that fans out n children through its own group and waits. */
static void task_fan_out(void *arg)
{
	struct inner *in = arg;
	pool_group_t *g = new_group(in->p, in->limit, NULL, NULL, NULL);

	in->go_rc = 0;
	for (int i = 0; i < in->n; i++) {
		int r = pool_group_go(g, gtask_count, &in->ran);

		if (r)
			in->go_rc = r;
	}
	in->rc = pool_group_wait(g);
	ASSERT_OK(pool_group_destroy(g));
}

TEST(group_wait_inside_task_capacity_one)
{
	struct inner in;

	memset(&in, 0, sizeof(in));
	counter_init(&in.ran);
	in.p = new_pool(1);
	in.n = 100;
	in.rc = 1;
	/* The only worker waits for 100 tasks queued behind it: it runs
	 * them itself. */
	ASSERT_OK(pool_submit_wait(in.p, task_fan_out, &in));
	ASSERT_OK(in.rc);
	ASSERT_OK(in.go_rc);
	ASSERT_EQ(counter_get(&in.ran), 100);
	ASSERT_OK(pool_destroy(in.p));
	counter_destroy(&in.ran);
}

TEST(group_go_at_limit_inside_task_capacity_one)
{
	struct inner in;

	memset(&in, 0, sizeof(in));
	counter_init(&in.ran);
	in.p = new_pool(1);
	in.n = 50;
	in.limit = 3;
	in.rc = 1;
	/* go blocks at the limit on the only worker: it helps instead. */
	ASSERT_OK(pool_submit_wait(in.p, task_fan_out, &in));
	ASSERT_OK(in.rc);
	ASSERT_OK(in.go_rc);
	ASSERT_EQ(counter_get(&in.ran), 50);
	ASSERT_OK(pool_destroy(in.p));
	counter_destroy(&in.ran);
}

struct self_wait {
	pool_group_t *g;
	int wait_rc;
	int go_rc;
	int try_rc;
};

static int gtask_wait_self(void *arg)
{
	struct self_wait *s = arg;

	s->wait_rc = pool_group_wait(s->g);
	s->go_rc = pool_group_go(s->g, gtask_ret, NULL);
	s->try_rc = pool_group_try_go(s->g, gtask_ret, NULL);
	return 0;
}

TEST(group_wait_on_own_group_is_edeadlk)
{
	struct self_wait s;
	pool_t *p = new_pool(1);

	s.g = new_group(p, 1, NULL, NULL, NULL);
	ASSERT_OK(pool_group_go(s.g, gtask_wait_self, &s));
	ASSERT_OK(pool_group_wait(s.g));
	ASSERT_ERR(s.wait_rc, POOL_EDEADLK);
	/* The only slot is held by the caller itself. */
	ASSERT_ERR(s.go_rc, POOL_EDEADLK);
	ASSERT_ERR(s.try_rc, POOL_EOVERLOAD);
	ASSERT_OK(pool_group_destroy(s.g));
	ASSERT_OK(pool_destroy(p));
}

/* Nested groups: fib with one child per level through a group of its own,
 * waited for inside the task. */
struct fib {
	pool_t *p;
	int n;
	long r;
};

static int gtask_fib(void *arg)
{
	struct fib *f = arg;
	struct fib child;
	pool_group_t *g;
	long y;
	int rc;

	if (f->n < 2) {
		f->r = f->n;
		return 0;
	}
	child.p = f->p;
	child.n = f->n - 1;
	g = new_group(f->p, 0, NULL, NULL, NULL);
	rc = pool_group_go(g, gtask_fib, &child);
	if (rc)
		return rc;
	{
		struct fib other = {f->p, f->n - 2, 0};

		rc = gtask_fib(&other);
		y = other.r;
	}
	if (pool_group_wait(g) != 0 || rc != 0)
		return -1;
	ASSERT_OK(pool_group_destroy(g));
	f->r = child.r + y;
	return 0;
}

static void fib_case(int cap)
{
	struct fib f;
	pool_t *p = new_pool(cap);
	pool_group_t *g = new_group(p, 0, NULL, NULL, NULL);

	f.p = p;
	f.n = 16;
	f.r = 0;
	ASSERT_OK(pool_group_go(g, gtask_fib, &f));
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(f.r, 987);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
}

TEST(group_nested_fib_capacity_one)
{
	fib_case(1);
}

TEST(group_nested_fib_capacity_two)
{
	fib_case(2);
}

TEST(group_stop_discards_reported)
{
	struct counter ran;
	struct skiplog sk;
	struct gate gt;
	struct bg_call stop;
	pool_t *p = new_pool(1);
	pool_group_t *g;
	pthread_t t;

	counter_init(&ran);
	skiplog_init(&sk);
	gate_init(&gt);
	g = new_group(p, 0, NULL, on_skip, &sk);
	ASSERT_OK(pool_submit(p, task_gate, &gt));
	gate_wait_entered(&gt, 1);
	for (int i = 0; i < 4; i++)
		ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	memset(&stop, 0, sizeof(stop));
	stop.kind = BG_STOP;
	stop.pool = p;
	thread_start(&t, bg_call_main, &stop);
	/* Discarded ones are the group's: reported to on_skip. */
	counter_wait(&sk.n, 4);
	gate_open(&gt);
	thread_join(t);
	ASSERT_OK(stop.rc);
	ASSERT_ERR(sk.cause, POOL_ECLOSED);
	ASSERT_ERR(pool_group_wait(g), POOL_ECLOSED);
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_ERR(pool_group_go(g, gtask_count, &ran), POOL_ECLOSED);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&gt);
	counter_destroy(&ran);
	counter_destroy(&sk.n);
}

TEST(group_go_on_closed_pool_returns_error)
{
	struct counter ran;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);

	counter_init(&ran);
	ASSERT_OK(pool_release(p));
	ASSERT_ERR(pool_group_go(g, gtask_count, &ran), POOL_ECLOSED);
	ASSERT_ERR(pool_group_try_go(g, gtask_count, &ran), POOL_ECLOSED);
	/* The refused tasks gave their slots back. */
	ASSERT_OK(pool_group_wait(g));
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&ran);
}

/* ---- pool_wait_idle ---- */

static void task_wait_idle(void *arg)
{
	int *rc = arg;

	*rc = pool_wait_idle(pool_self(), 0);
}

TEST(wait_idle_waits_for_queued_and_running)
{
	struct counter ran;
	struct gate gt;
	pool_t *p = new_pool(1);
	int rc = 1;

	counter_init(&ran);
	gate_init(&gt);
	ASSERT_ERR(pool_wait_idle(NULL, 0), POOL_EINVAL);
	ASSERT_OK(pool_wait_idle(p, 0)); /* never used */
	ASSERT_OK(pool_submit(p, task_gate, &gt));
	for (int i = 0; i < 5; i++)
		ASSERT_OK(pool_submit(p, task_count, &ran));
	ASSERT_ERR(pool_wait_idle(p, 0), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_wait_idle(p, MS(2)), POOL_ETIMEDOUT);
	gate_open(&gt);
	ASSERT_OK(pool_wait_idle(p, -1));
	/* Ordering: the tasks' effects are visible. */
	ASSERT_EQ(counter_get(&ran), 5);
	ASSERT_EQ(pool_queued(p), 0);
	ASSERT_EQ(pool_is_closed(p), 0);
	ASSERT_OK(pool_submit_wait(p, task_wait_idle, &rc));
	ASSERT_ERR(rc, POOL_EDEADLK);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&gt);
	counter_destroy(&ran);
}

/* ---- a cancel racing the sleep of a go at the limit ---- */

struct pool;
typedef void (*pool_test_hook_fn)(int point, struct pool *p);
void pool__test_set_hook(pool_test_hook_fn fn);

static pool_ctx_t *sleep_cancel_ctx;
static atomic_int sleep_hook_calls;

/* At the test point the waiter has checked its contexts and is about to
 * load the word it sleeps on: cancel now, so the cancel's bump lands
 * before that load (the sleeper must then see err, or sleep for ever). */
static void hook_cancel_before_sleep(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_SLEEP &&
	    atomic_fetch_add(&sleep_hook_calls, 1) == 0)
		ASSERT_EQ(pool_ctx_cancel(sleep_cancel_ctx, 0), 1);
}

TEST(group_go_ctx_cancel_just_before_sleep)
{
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 1, NULL, NULL, NULL);
	struct gated blocker = {.ret = 0};
	pool_ctx_t *c;

	gate_init(&blocker.gate);
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_DEADLINE));
	sleep_cancel_ctx = c;
	ASSERT_OK(pool_group_go(g, gtask_gated, &blocker));
	gate_wait_entered(&blocker.gate, 1);
	pool__test_set_hook(hook_cancel_before_sleep);
	/* At the limit until the gate opens, which only this thread does:
	 * the go returns only if it sees the cancel. */
	ASSERT_ERR(pool_group_go_ctx(g, c, gtask_count, NULL), POOL_ECANCELED);
	pool__test_set_hook(NULL);
	ASSERT_GE(atomic_load(&sleep_hook_calls), 1);
	gate_open(&blocker.gate);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_OK(pool_group_destroy(g));
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&blocker.gate);
}

/*
 * The hand-off (lib/group.c, take_offer): a go blocked at the limit from
 * outside the pool offers its task to the task end that frees a slot, which
 * runs it itself. The taker stores `taken` and then looks for the go's
 * announcement; the go announces and then looks at `taken`. Each case
 * fixes one interleaving of that pair with a test point.
 */
int pool__group_withdraw_lost(pool_group_t *g);
void pool__group_cache_drain(void);

static pool_group_t *offer_group;
static struct gated *offer_gate;
static atomic_int offer_hook_calls;

/* Taken while the go sleeps: hold the taker until the go is asleep (or a
 * step from its futex wait, with the word it loaded): only the taker's
 * wake-up can end that go now. */
static void hook_take_after_sleep(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_OFFER_TAKE &&
	    atomic_fetch_add(&offer_hook_calls, 1) == 0)
		WAIT_UNTIL(pool__group_sleepers(offer_group) == 1);
}

TEST(group_offer_taken_while_go_sleeps)
{
	struct counter ran;
	struct gated a;
	struct bg_go b;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 1, NULL, NULL, NULL);

	counter_init(&ran);
	gate_init(&a.gate);
	a.ret = 0;
	memset(&b, 0, sizeof(b));
	atomic_store(&offer_hook_calls, 0);
	offer_group = g;
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	b.g = g;
	b.fn = gtask_count;
	b.arg = &ran;
	thread_start(&b.t, bg_go_main, &b);
	WAIT_UNTIL(pool__group_sleepers(g) == 1);
	pool__test_set_hook(hook_take_after_sleep);
	gate_open(&a.gate);
	thread_join(b.t);
	pool__test_set_hook(NULL);
	ASSERT_OK(b.rc);
	/* The end of the gated task took the offer (capacity 1: nobody
	 * else could have), and ran it on its worker. */
	ASSERT_EQ(atomic_load(&offer_hook_calls), 1);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1);
	{
		/* Counted as an inline run: not pushed, so not submitted. */
		pool_stats_t s = POOL_STATS_INIT;

		/* The worker counts its task complete after the group's
		 * end (which let the wait return). */
		ASSERT_OK(pool_wait_idle(p, INT64_MAX));
		ASSERT_OK(pool_stats(p, &s));
		ASSERT_EQ(s.inline_runs, 1);
		ASSERT_EQ(s.submitted, 1);
		ASSERT_EQ(s.completed, 1);
	}
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
}

/* Taken after the go spun out and before it announced: the go's check of
 * `taken` after its announcement must see it. The offered task holds the
 * slot (gated) until the go returns, and the taker saw no announcement, so
 * nothing else would end the go's sleep. */
static struct gated *offer_gate2;

static void hook_take_before_announce(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_SLEEP &&
	    atomic_fetch_add(&offer_hook_calls, 1) == 0) {
		gate_open(&offer_gate->gate);
		gate_wait_entered(&offer_gate2->gate, 1);
	}
}

TEST(group_offer_taken_just_before_go_announces)
{
	struct gated a, b;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 1, NULL, NULL, NULL);

	gate_init(&a.gate);
	gate_init(&b.gate);
	a.ret = 0;
	b.ret = 0;
	atomic_store(&offer_hook_calls, 0);
	offer_gate = &a;
	offer_gate2 = &b;
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	pool__test_set_hook(hook_take_before_announce);
	/* At the limit until the gate opens, which only the hook does: the
	 * go returns only if it sees its offer taken. */
	ASSERT_OK(pool_group_go(g, gtask_gated, &b));
	pool__test_set_hook(NULL);
	ASSERT_EQ(atomic_load(&offer_hook_calls), 1);
	ASSERT_EQ(pool__group_withdraw_lost(g), 0);
	gate_open(&b.gate);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	gate_destroy(&b.gate);
}

/* Taken while the go found a slot of its own (another task ended without
 * an offer to take): the go's withdrawal fails, it waits for `taken`, gives
 * its slot back, and the task runs once, on the taker. */
static void hook_take_while_withdrawing(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_OFFER_TAKE &&
	    atomic_fetch_add(&offer_hook_calls, 1) == 0) {
		gate_open(&offer_gate->gate);
		WAIT_UNTIL(pool__group_withdraw_lost(offer_group) == 1);
	}
}

TEST(group_offer_taken_while_go_withdraws)
{
	struct counter ran;
	struct gated a, b;
	struct bg_go go;
	pool_t *p = new_pool(2);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);

	counter_init(&ran);
	gate_init(&a.gate);
	gate_init(&b.gate);
	a.ret = 0;
	b.ret = 0;
	memset(&go, 0, sizeof(go));
	atomic_store(&offer_hook_calls, 0);
	offer_group = g;
	offer_gate = &b;
	/* Paused, so that a cannot start before b is queued: b would be
	 * posted to a's running end and start only after it (the mailbox). */
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	ASSERT_OK(pool_group_go(g, gtask_gated, &b));
	ASSERT_OK(pool_resume(p));
	gate_wait_entered(&a.gate, 1);
	gate_wait_entered(&b.gate, 1);
	go.g = g;
	go.fn = gtask_count;
	go.arg = &ran;
	thread_start(&go.t, bg_go_main, &go);
	WAIT_UNTIL(pool__group_sleepers(g) == 1);
	pool__test_set_hook(hook_take_while_withdrawing);
	/* a's end takes the offer and stops in the hook, which lets b end:
	 * b finds no offer, frees its slot, and the go takes that slot. */
	gate_open(&a.gate);
	thread_join(go.t);
	pool__test_set_hook(NULL);
	ASSERT_OK(go.rc);
	ASSERT_EQ(atomic_load(&offer_hook_calls), 1);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	gate_destroy(&b.gate);
	counter_destroy(&ran);
}

/*
 * One task end at a time waits for offers (lib/group.c, `chained`): on two
 * CPUs a second worker spinning for the feeder's next offer takes the
 * feeder's CPU. b's end takes the go's offer and owns the chain while the
 * offered task runs (gated); a's end meanwhile finds no offer and ends at
 * once instead of waiting for one. The owner's end after the offered task
 * is the only one that waits (POOL_TP_GROUP_OFFER_SPIN).
 */
static atomic_int offer_spins;

static void hook_count_offer_spins(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_OFFER_SPIN)
		atomic_fetch_add(&offer_spins, 1);
}

TEST(group_one_task_end_waits_for_offers)
{
	struct gated a, b, c;
	struct bg_go go;
	pool_t *p = new_pool(2);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);

	gate_init(&a.gate);
	gate_init(&b.gate);
	gate_init(&c.gate);
	a.ret = b.ret = c.ret = 0;
	memset(&go, 0, sizeof(go));
	atomic_store(&offer_spins, 0);
	/* Paused, so that a cannot start before b is queued: b would be
	 * posted to a's running end and start only after it (the mailbox). */
	ASSERT_OK(pool_pause(p));
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	ASSERT_OK(pool_group_go(g, gtask_gated, &b));
	ASSERT_OK(pool_resume(p));
	gate_wait_entered(&a.gate, 1);
	gate_wait_entered(&b.gate, 1);
	/* At the limit from outside the pool: the go offers c and sleeps
	 * (the group is fed from now on). */
	go.g = g;
	go.fn = gtask_gated;
	go.arg = &c;
	thread_start(&go.t, bg_go_main, &go);
	WAIT_UNTIL(pool__group_sleepers(g) == 1);
	pool__test_set_hook(hook_count_offer_spins);
	/* b's end takes the offer (it is there: no wait) and runs c. */
	gate_open(&b.gate);
	thread_join(go.t);
	ASSERT_OK(go.rc);
	gate_wait_entered(&c.gate, 1);
	/* a's end: no offer, and the chain is b's worker's: it ends without
	 * waiting, and its worker leaves the task. */
	gate_open(&a.gate);
	WAIT_UNTIL(pool_running(p) == 1);
	ASSERT_EQ(atomic_load(&offer_spins), 0);
	/* c's end, in the chain: waits for an offer (none comes). */
	gate_open(&c.gate);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(atomic_load(&offer_spins), 1);
	pool__test_set_hook(NULL);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	gate_destroy(&b.gate);
	gate_destroy(&c.gate);
}

/*
 * The mailbox (lib/group.c, post / take_mail): a go from outside the pool
 * that holds a slot while a task of its group runs hands its task to that
 * task's end instead of pushing a record to the pool. The end, leaving,
 * decrements `consumers` and then looks at the mailbox; the go posts and
 * then looks at `consumers`. Each case fixes one interleaving of that pair
 * with the test points POOL_TP_GROUP_POST, _POSTED and _LEAVE.
 */

/* The go returns while the running task still runs; its end runs the
 * posted task (no ring: submitted counts the first task only). */
TEST(group_go_posts_to_running_end)
{
	struct counter ran;
	struct gated a;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);
	pool_stats_t s = POOL_STATS_INIT;

	counter_init(&ran);
	gate_init(&a.gate);
	a.ret = 0;
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	/* Posted: the only worker is still in a. */
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_OK(pool_stats(p, &s));
	ASSERT_UEQ(s.submitted, 1);
	ASSERT_UEQ(s.queued, 0);
	gate_open(&a.gate);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1);
	ASSERT_OK(pool_wait_idle(p, INT64_MAX));
	ASSERT_OK(pool_stats(p, &s));
	ASSERT_UEQ(s.submitted, 1);
	ASSERT_UEQ(s.inline_runs, 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
}

static struct gated *mail_gate;
static pool_t *mail_pool;
static atomic_int mail_at_leave, mail_posted, mail_post_calls;

/* The running task ends and its worker leaves the task between the go's
 * check (an end is running) and its post: the go must see no end after
 * posting and take its task back (pushed then); without that it would stay
 * in the mailbox with nobody to run it. */
static void hook_end_leaves_before_post(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_POST &&
	    atomic_fetch_add(&mail_post_calls, 1) == 0) {
		gate_open(&mail_gate->gate);
		WAIT_UNTIL(pool_running(mail_pool) == 0);
	}
	if (point == POOL_TP_GROUP_POSTED)
		atomic_fetch_add(&mail_posted, 1);
}

TEST(group_post_finds_no_end_and_takes_back)
{
	struct counter ran;
	struct gated a;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);
	pool_stats_t s = POOL_STATS_INIT;

	counter_init(&ran);
	gate_init(&a.gate);
	a.ret = 0;
	mail_gate = &a;
	mail_pool = p;
	atomic_store(&mail_post_calls, 0);
	atomic_store(&mail_posted, 0);
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	pool__test_set_hook(hook_end_leaves_before_post);
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	pool__test_set_hook(NULL);
	ASSERT_EQ(atomic_load(&mail_post_calls), 1);
	ASSERT_EQ(atomic_load(&mail_posted), 0);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1);
	ASSERT_OK(pool_wait_idle(p, INT64_MAX));
	ASSERT_OK(pool_stats(p, &s));
	/* Taken back and pushed as any go. */
	ASSERT_UEQ(s.submitted, 2);
	ASSERT_UEQ(s.inline_runs, 0);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
}

/* The end is about to leave (found nothing) when the go posts and sees it
 * still counted: the end's look after its decrement must find the task;
 * without it the go's task would stay in the mailbox for ever. */
static void hook_post_while_end_leaves(int point, struct pool *p)
{
	(void)p;
	if (point == POOL_TP_GROUP_POST &&
	    atomic_fetch_add(&mail_post_calls, 1) == 0) {
		gate_open(&mail_gate->gate);
		WAIT_UNTIL(atomic_load(&mail_at_leave) == 1);
	}
	if (point == POOL_TP_GROUP_POSTED)
		atomic_fetch_add(&mail_posted, 1);
	if (point == POOL_TP_GROUP_LEAVE &&
	    atomic_fetch_add(&mail_at_leave, 1) == 0)
		WAIT_UNTIL(atomic_load(&mail_posted) == 1);
}

TEST(group_end_leaving_finds_post)
{
	struct counter ran;
	struct gated a;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);
	pool_stats_t s = POOL_STATS_INIT;

	counter_init(&ran);
	gate_init(&a.gate);
	a.ret = 0;
	mail_gate = &a;
	atomic_store(&mail_post_calls, 0);
	atomic_store(&mail_posted, 0);
	atomic_store(&mail_at_leave, 0);
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	pool__test_set_hook(hook_post_while_end_leaves);
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	ASSERT_OK(pool_group_wait(g));
	pool__test_set_hook(NULL);
	ASSERT_EQ(atomic_load(&mail_posted), 1);
	ASSERT_EQ(counter_get(&ran), 1);
	ASSERT_OK(pool_wait_idle(p, INT64_MAX));
	ASSERT_OK(pool_stats(p, &s));
	/* Run by the leaving end, not pushed. */
	ASSERT_UEQ(s.submitted, 1);
	ASSERT_UEQ(s.inline_runs, 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
}

/* Posted, then the pool is paused before the end takes it: the end does
 * not start it; it is queued (the group's spare record) and starts after
 * pool_resume. Then the spare is free again: the next go posts. */
TEST(group_post_taken_while_paused_waits_for_resume)
{
	struct counter ran;
	struct gated a, b;
	pool_t *p = new_pool(1);
	pool_group_t *g = new_group(p, 2, NULL, NULL, NULL);
	pool_stats_t s = POOL_STATS_INIT;

	counter_init(&ran);
	gate_init(&a.gate);
	gate_init(&b.gate);
	a.ret = b.ret = 0;
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	ASSERT_OK(pool_pause(p));
	gate_open(&a.gate);
	WAIT_UNTIL(test_stats(p).paused_workers == 1);
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_OK(pool_stats(p, &s));
	ASSERT_UEQ(s.queued, 1);
	ASSERT_UEQ(s.submitted, 2);
	ASSERT_OK(pool_resume(p));
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 1);
	/* The spare ran: a go posts again. */
	ASSERT_OK(pool_group_go(g, gtask_gated, &b));
	gate_wait_entered(&b.gate, 1);
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	gate_open(&b.gate);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&ran), 2);
	ASSERT_OK(pool_wait_idle(p, INT64_MAX));
	ASSERT_OK(pool_stats(p, &s));
	/* a, the spare, b; the second count was posted. */
	ASSERT_UEQ(s.submitted, 3);
	ASSERT_UEQ(s.inline_runs, 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	gate_destroy(&b.gate);
	counter_destroy(&ran);
}

/* As above, then pool_stop instead of resume: the queued spare is
 * discarded and reported (on_skip, POOL_ECLOSED), never run. */
TEST(group_post_taken_while_paused_then_stop_reports)
{
	struct counter ran;
	struct skiplog log;
	struct gated a;
	pool_t *p = new_pool(1);
	pool_group_t *g;

	counter_init(&ran);
	skiplog_init(&log);
	g = new_group(p, 2, NULL, on_skip, &log);
	gate_init(&a.gate);
	a.ret = 0;
	ASSERT_OK(pool_group_go(g, gtask_gated, &a));
	gate_wait_entered(&a.gate, 1);
	ASSERT_OK(pool_group_go(g, gtask_count, &ran));
	ASSERT_OK(pool_pause(p));
	gate_open(&a.gate);
	WAIT_UNTIL(test_stats(p).paused_workers == 1);
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_ERR(pool_group_wait(g), POOL_ECLOSED);
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_EQ(counter_get(&log.n), 1);
	ASSERT_EQ(log.cause, POOL_ECLOSED);
	ASSERT(log.fn == gtask_count);
	ASSERT_PTR_EQ(log.arg, &ran);
	ASSERT_UEQ(pool_group_skipped(g), 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&a.gate);
	counter_destroy(&ran);
	counter_destroy(&log.n);
}

/* Allocation failures in pool_group_new (the group, its context) and in
 * pool_group_go (the task's record) return POOL_ENOMEM and change nothing:
 * the next try succeeds, the group counts no task for the failed go, and
 * nothing leaks (the sanitizer flavours check that). */
TEST(group_alloc_failures_change_nothing)
{
	pool_t *p = new_pool(2);
	pool_group_t *g = NULL;
	struct counter n;
	int k, r;

	counter_init(&n);
	/* A group kept by this thread for reuse would allocate nothing. */
	pool__group_cache_drain();
	for (k = 0;; k++) {
		ASSERT_LT(k, 16);
		pool__test_fail_after(k);
		r = pool_group_new(&g, p, NULL);
		pool__test_fail_after(-1);
		if (r == 0)
			break;
		ASSERT_ERR(r, POOL_ENOMEM);
	}
	/* The group and its context: at least two allocations failed. */
	ASSERT_GE(k, 2);
	/* From outside the pool, with no limit: the go allocates its
	 * record first (the submit's own allocations come after it), unless
	 * this thread kept one. */
	pool__group_cache_drain();
	pool__test_fail_after(0);
	r = pool_group_go(g, gtask_count, &n);
	pool__test_fail_after(-1);
	ASSERT_ERR(r, POOL_ENOMEM);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&n), 0);
	ASSERT_OK(pool_group_go(g, gtask_count, &n));
	ASSERT_OK(pool_group_wait(g));
	ASSERT_EQ(counter_get(&n), 1);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&n);
}

/* A group destroyed on this thread is kept for its next pool_group_new
 * (lib/group.c, the cache): the next group starts as new, with no error,
 * skip count or cancellation of the one before. */
TEST(group_reuse_starts_fresh)
{
	pool_t *p = new_pool(2);
	pool_group_t *g = NULL;
	struct counter n;

	counter_init(&n);
	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_OK(pool_group_go(g, gtask_ret, (void *)(intptr_t)-5));
	ASSERT_ERR(pool_group_wait(g), -5);
	ASSERT_ERR(pool_ctx_err(pool_group_ctx(g)), -5);
	ASSERT_OK(pool_group_destroy(g));
	for (int i = 0; i < 8; i++) {
		ASSERT_OK(pool_group_new(&g, p, NULL));
		ASSERT_OK(pool_ctx_err(pool_group_ctx(g)));
		ASSERT_EQ(pool_group_skipped(g), 0);
		ASSERT_OK(pool_group_go(g, gtask_count, &n));
		ASSERT_OK(pool_group_wait(g));
		ASSERT_OK(pool_group_destroy(g));
	}
	ASSERT_EQ(counter_get(&n), 8);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&n);
}

static void note_cancel(void *arg, int cause)
{
	*(int *)arg = cause;
}

/* A group whose context is still held (a child context) or carries a
 * callback is not kept: the next group's context is another one, so
 * cancelling it reaches neither the old child nor the old callback. */
TEST(group_reuse_skips_held_contexts)
{
	pool_t *p = new_pool(2);
	pool_group_t *g = NULL;
	pool_ctx_t *child = NULL;
	int seen = 0;

	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_OK(pool_ctx_new(&child, pool_group_ctx(g), POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_EQ(pool_ctx_cancel(pool_group_ctx(g), -7), 1);
	ASSERT_OK(pool_ctx_err(child));
	ASSERT_OK(pool_group_destroy(g));
	pool_ctx_destroy(child);

	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_OK(pool_ctx_on_cancel(pool_group_ctx(g), note_cancel, &seen));
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_group_new(&g, p, NULL));
	ASSERT_EQ(pool_ctx_cancel(pool_group_ctx(g), -9), 1);
	ASSERT_EQ(seen, 0);
	ASSERT_OK(pool_group_destroy(g));
	ASSERT_OK(pool_destroy(p));
}

/* A depth-first fork-join holds a group per level of its recursion at once
 * (here 16): all of them are kept when they are destroyed and reused by the
 * next descent (lib/group.c, GROUP_CACHE; with 4 kept, 12 of each descent's
 * groups were allocated again). Under AddressSanitizer nothing is kept. */
TEST(group_reuse_keeps_a_recursion_deep)
{
	enum { DEPTH = 16 };
	pool_t *p = new_pool(1);
	pool_group_t *g[DEPTH], *old[DEPTH];
	int reused = 0;

	pool__group_cache_drain();
	for (int i = 0; i < DEPTH; i++)
		ASSERT_OK(pool_group_new(&old[i], p, NULL));
	for (int i = DEPTH - 1; i >= 0; i--)
		ASSERT_OK(pool_group_destroy(old[i]));
	for (int i = 0; i < DEPTH; i++) {
		ASSERT_OK(pool_group_new(&g[i], p, NULL));
		ASSERT_OK(pool_ctx_err(pool_group_ctx(g[i])));
		for (int j = 0; j < DEPTH; j++)
			reused += g[i] == old[j];
	}
#ifdef UNDER_ASAN
	ASSERT_EQ(reused, reused);
#else
	ASSERT_EQ(reused, DEPTH);
#endif
	for (int i = 0; i < DEPTH; i++)
		ASSERT_OK(pool_group_destroy(g[i]));
	ASSERT_OK(pool_destroy(p));
}

/* The group's context polls its cause with one load while it has no
 * deadline; a parent's deadline is the group's, and must still be seen
 * when it passes with nobody having looked at the parent: the go returns
 * POOL_ETIMEDOUT (nothing was accepted, so the wait has no error). */
TEST(group_parent_deadline_seen_without_a_poll)
{
	pool_t *p = new_pool(1);
	pool_ctx_t *parent = NULL;
	pool_group_t *g;
	struct counter n;
	int64_t t0 = test_now_ns();

	counter_init(&n);
	ASSERT_OK(pool_ctx_new(&parent, NULL, MS(20)));
	g = new_group(p, 0, parent, NULL, NULL);
	/* Past the deadline, nobody having polled either context. */
	while (test_now_ns() - t0 < MS(25))
		;
	ASSERT_ERR(pool_group_go(g, gtask_count, &n), POOL_ETIMEDOUT);
	ASSERT_OK(pool_group_wait(g));
	ASSERT_ERR(pool_ctx_err(pool_group_ctx(g)), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_ctx_err(parent), POOL_ETIMEDOUT);
	ASSERT_EQ(counter_get(&n), 0);
	ASSERT_OK(pool_group_destroy(g));
	pool_ctx_destroy(parent);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&n);
}

/* A task of an inner group that waits for an outer group it runs under
 * (its caller's task, lower on the same worker's stack) would wait for
 * itself: POOL_EDEADLK, found under the inner group's frame. */
struct outer_wait {
	pool_t *p;
	pool_group_t *outer;
	int inner_rc;
	int wait_rc;
};

static int gtask_wait_outer(void *arg)
{
	struct outer_wait *s = arg;

	s->wait_rc = pool_group_wait(s->outer);
	return 0;
}

static int gtask_nest_inner(void *arg)
{
	struct outer_wait *s = arg;
	pool_group_t *inner = new_group(s->p, 0, NULL, NULL, NULL);

	ASSERT_OK(pool_group_go(inner, gtask_wait_outer, s));
	s->inner_rc = pool_group_wait(inner);
	ASSERT_OK(pool_group_destroy(inner));
	return 0;
}

TEST(group_wait_on_outer_group_from_nested_task_is_edeadlk)
{
	struct outer_wait s = {0};

	s.p = new_pool(1);
	s.outer = new_group(s.p, 0, NULL, NULL, NULL);
	s.wait_rc = 1;
	ASSERT_OK(pool_group_go(s.outer, gtask_nest_inner, &s));
	ASSERT_OK(pool_group_wait(s.outer));
	ASSERT_OK(s.inner_rc);
	ASSERT_ERR(s.wait_rc, POOL_EDEADLK);
	ASSERT_OK(pool_group_destroy(s.outer));
	ASSERT_OK(pool_destroy(s.p));
}

/* A go from inside a task puts the record in the group's slot before it
 * submits it: a refused go (the pool's only ring is full, try_go) takes it
 * back and it never runs; the wait drops it from the slot, runs the task
 * queued before it and returns 0. */
struct refused_go {
	pool_t *p;
	struct counter first, second;
	int go1_rc, go2_rc, wait_rc;
};

static void task_refused_go(void *arg)
{
	struct refused_go *s = arg;
	pool_group_t *g = new_group(s->p, 0, NULL, NULL, NULL);

	/* The ring is empty (this task was popped from it): one entry
	 * fills it. */
	s->go1_rc = pool_group_try_go(g, gtask_count, &s->first);
	s->go2_rc = pool_group_try_go(g, gtask_count, &s->second);
	s->wait_rc = pool_group_wait(g);
	ASSERT_OK(pool_group_destroy(g));
}

TEST(group_refused_go_inside_task_never_runs)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct refused_go s;

	memset(&s, 0, sizeof(s));
	counter_init(&s.first);
	counter_init(&s.second);
	ASSERT_OK(pool_new(&s.p, &o));
	ASSERT_OK(pool_submit_wait(s.p, task_refused_go, &s));
	ASSERT_OK(s.go1_rc);
	ASSERT_ERR(s.go2_rc, POOL_EOVERLOAD);
	ASSERT_OK(s.wait_rc);
	ASSERT_EQ(counter_get(&s.first), 1);
	ASSERT_EQ(counter_get(&s.second), 0);
	ASSERT_OK(pool_destroy(s.p));
	counter_destroy(&s.first);
	counter_destroy(&s.second);
}
