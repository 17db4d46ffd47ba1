/* SPDX-License-Identifier: MIT */
/*
 * test_ctx.c - cancellation contexts: first cause, propagation, deadlines,
 * callbacks, and the context-taking submits (skip before start, proper
 * wake-up of a blocked submit).
 */
#include <stdbool.h>

#include "test.h"

/* ---- the context itself ---- */

TEST(ctx_cancel_keeps_first_cause)
{
	pool_ctx_t *c;

	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_EQ(pool_ctx_err(c), 0);
	ASSERT_EQ(pool_ctx_cancel(c, -42), 1);
	ASSERT_EQ(pool_ctx_cancel(c, POOL_ETIMEDOUT), 0);
	ASSERT_EQ(pool_ctx_cancel(c, 0), 0);
	ASSERT_EQ(pool_ctx_err(c), -42);
	ASSERT_EQ(pool_ctx_wait(c, 0), -42);
	pool_ctx_destroy(c);
}

TEST(ctx_cancel_args)
{
	pool_ctx_t *c;

	ASSERT_ERR(pool_ctx_new(NULL, NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_ctx_cancel(NULL, POOL_ECANCELED), POOL_EINVAL);
	ASSERT_ERR(pool_ctx_err(NULL), POOL_EINVAL);
	ASSERT_ERR(pool_ctx_wait(NULL, 0), POOL_EINVAL);
	ASSERT_ERR(pool_ctx_on_cancel(NULL, NULL, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_ctx_set_on_skip(NULL, NULL, NULL), POOL_EINVAL);
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_ERR(pool_ctx_cancel(c, 5), POOL_EINVAL);
	ASSERT_EQ(pool_ctx_err(c), 0);
	ASSERT_ERR(pool_ctx_on_cancel(c, NULL, NULL), POOL_EINVAL);
	/* 0 means POOL_ECANCELED. */
	ASSERT_EQ(pool_ctx_cancel(c, 0), 1);
	ASSERT_ERR(pool_ctx_err(c), POOL_ECANCELED);
	pool_ctx_destroy(c);
	pool_ctx_destroy(NULL);
}

TEST(ctx_parent_cancels_children)
{
	pool_ctx_t *root, *a, *b, *aa;

	ASSERT_OK(pool_ctx_new(&root, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&a, root, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&b, root, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&aa, a, POOL_CTX_NO_TIMEOUT));
	/* A child's cancel stays below it. */
	ASSERT_EQ(pool_ctx_cancel(b, -7), 1);
	ASSERT_EQ(pool_ctx_err(root), 0);
	ASSERT_EQ(pool_ctx_err(a), 0);
	ASSERT_EQ(pool_ctx_cancel(root, -9), 1);
	ASSERT_EQ(pool_ctx_err(root), -9);
	ASSERT_EQ(pool_ctx_err(a), -9);
	ASSERT_EQ(pool_ctx_err(aa), -9);
	ASSERT_EQ(pool_ctx_err(b), -7); /* already cancelled: kept */
	/* The parent may go first: children hold it. */
	pool_ctx_destroy(root);
	pool_ctx_destroy(a);
	ASSERT_EQ(pool_ctx_err(aa), -9);
	pool_ctx_destroy(aa);
	pool_ctx_destroy(b);
}

TEST(ctx_child_of_cancelled_parent_is_born_cancelled)
{
	pool_ctx_t *p, *c;

	ASSERT_OK(pool_ctx_new(&p, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_EQ(pool_ctx_cancel(p, -3), 1);
	ASSERT_OK(pool_ctx_new(&c, p, POOL_CTX_NO_TIMEOUT));
	ASSERT_EQ(pool_ctx_err(c), -3);
	pool_ctx_destroy(c);
	pool_ctx_destroy(p);
}

TEST(ctx_deadline_math)
{
	pool_ctx_t *a, *b, *c, *d;
	int64_t before = test_now_ns();

	/* No deadline, and the saturated largest timeout. */
	ASSERT_OK(pool_ctx_new(&a, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_EQ(pool_ctx_deadline(a), POOL_CTX_NO_DEADLINE);
	ASSERT_OK(pool_ctx_new(&b, a, INT64_MAX));
	ASSERT_EQ(pool_ctx_deadline(b), POOL_CTX_NO_DEADLINE);
	ASSERT_OK(pool_ctx_new(&c, NULL, INT64_MAX - 1));
	ASSERT_GE(pool_ctx_deadline(c), before);
	ASSERT_EQ(pool_ctx_err(c), 0);
	/* A child gets the earlier deadline: its parent's. */
	pool_ctx_destroy(b);
	ASSERT_OK(pool_ctx_new(&b, NULL, SEC(3600)));
	ASSERT_OK(pool_ctx_new(&d, b, INT64_MAX - 5));
	ASSERT_EQ(pool_ctx_deadline(d), pool_ctx_deadline(b));
	ASSERT_LE(pool_ctx_deadline(b), test_now_ns() + SEC(3600));
	ASSERT_GE(pool_ctx_deadline(b), before + SEC(3600));
	pool_ctx_destroy(d);
	pool_ctx_destroy(c);
	pool_ctx_destroy(b);
	pool_ctx_destroy(a);
}

TEST(ctx_deadline_zero_is_expired)
{
	pool_ctx_t *c;

	ASSERT_OK(pool_ctx_new(&c, NULL, 0));
	ASSERT_ERR(pool_ctx_err(c), POOL_ETIMEDOUT);
	ASSERT_EQ(pool_ctx_cancel(c, -1), 0);
	ASSERT_ERR(pool_ctx_err(c), POOL_ETIMEDOUT);
	pool_ctx_destroy(c);
}

TEST(ctx_wait_times_out_live)
{
	pool_ctx_t *c;

	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_ERR(pool_ctx_wait(c, MS(2)), POOL_ETIMEDOUT);
	ASSERT_EQ(pool_ctx_err(c), 0);
	ASSERT_ERR(pool_ctx_wait(c, 0), POOL_ETIMEDOUT);
	pool_ctx_destroy(c);
}

TEST(ctx_wait_ends_at_deadline)
{
	pool_ctx_t *c;

	ASSERT_OK(pool_ctx_new(&c, NULL, MS(5)));
	/* No timeout of its own: the deadline ends it, as a cancel. */
	ASSERT_ERR(pool_ctx_wait(c, -1), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_ctx_err(c), POOL_ETIMEDOUT);
	ASSERT_GE(test_now_ns(), pool_ctx_deadline(c));
	pool_ctx_destroy(c);
}

struct waiter_arg {
	pool_ctx_t *c;
	atomic_int rc;
	atomic_int done;
};

static void *wait_main(void *arg)
{
	struct waiter_arg *w = arg;

	atomic_store(&w->rc, pool_ctx_wait(w->c, -1));
	atomic_store(&w->done, 1);
	return NULL;
}

TEST(ctx_wait_woken_by_cancel_of_parent)
{
	struct waiter_arg w = {0};
	pool_ctx_t *p;
	pthread_t t;

	ASSERT_OK(pool_ctx_new(&p, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&w.c, p, POOL_CTX_NO_TIMEOUT));
	thread_start(&t, wait_main, &w);
	ASSERT_EQ(pool_ctx_cancel(p, -77), 1);
	thread_join(t);
	ASSERT_EQ(atomic_load(&w.rc), -77);
	pool_ctx_destroy(w.c);
	pool_ctx_destroy(p);
}

/* ---- on-cancel callbacks ---- */

struct cb_log {
	int calls[4];
	int cause[4];
	int order[4];
	int n;
	pool_ctx_t *self;
	pool_ctx_t *other;
	pool_t *pool;
	struct counter ran;
	int inner_rc, submit_rc;
};

static void cb_record(struct cb_log *l, int id, int cause)
{
	l->calls[id]++;
	l->cause[id] = cause;
	l->order[l->n++] = id;
}

static void cb0(void *arg, int cause)
{
	cb_record(arg, 0, cause);
}

static void cb1(void *arg, int cause)
{
	cb_record(arg, 1, cause);
}

static void cb2(void *arg, int cause)
{
	cb_record(arg, 2, cause);
}

TEST(ctx_on_cancel_runs_once_in_order)
{
	struct cb_log l;
	pool_ctx_t *c;

	memset(&l, 0, sizeof(l));
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_on_cancel(c, cb0, &l));
	ASSERT_OK(pool_ctx_on_cancel(c, cb1, &l));
	ASSERT_EQ(l.n, 0);
	ASSERT_EQ(pool_ctx_cancel(c, -5), 1);
	ASSERT_EQ(pool_ctx_cancel(c, -6), 0);
	ASSERT_EQ(l.n, 2);
	ASSERT_EQ(l.order[0], 0);
	ASSERT_EQ(l.order[1], 1);
	ASSERT_EQ(l.cause[0], -5);
	ASSERT_EQ(l.calls[0], 1);
	ASSERT_EQ(l.calls[1], 1);
	/* Registered after the cancel: runs now, once. */
	ASSERT_OK(pool_ctx_on_cancel(c, cb2, &l));
	ASSERT_EQ(l.calls[2], 1);
	ASSERT_EQ(l.cause[2], -5);
	pool_ctx_destroy(c);
}

TEST(ctx_on_cancel_runs_for_children_and_deadline)
{
	struct cb_log l;
	pool_ctx_t *p, *c, *d;

	memset(&l, 0, sizeof(l));
	ASSERT_OK(pool_ctx_new(&p, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&c, p, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_on_cancel(c, cb0, &l));
	ASSERT_EQ(pool_ctx_cancel(p, -11), 1);
	ASSERT_EQ(l.calls[0], 1);
	ASSERT_EQ(l.cause[0], -11);
	/* A deadline is observed by the poll, which runs the callback. */
	ASSERT_OK(pool_ctx_new(&d, NULL, MS(1)));
	ASSERT_OK(pool_ctx_on_cancel(d, cb1, &l));
	while (test_now_ns() < pool_ctx_deadline(d))
		sched_yield();
	ASSERT_EQ(l.calls[1], 0);
	ASSERT_ERR(pool_ctx_err(d), POOL_ETIMEDOUT);
	ASSERT_EQ(l.calls[1], 1);
	ASSERT_EQ(l.cause[1], POOL_ETIMEDOUT);
	pool_ctx_destroy(d);
	pool_ctx_destroy(c);
	pool_ctx_destroy(p);
}

/* A callback that calls back into the library: the context's own
 * registration (its lock is not held), another cancel, a submit. */
static void cb_reenter(void *arg, int cause)
{
	struct cb_log *l = arg;

	(void)cause;
	l->inner_rc = pool_ctx_on_cancel(l->self, cb1, l);
	(void)pool_ctx_cancel(l->other, -8);
	ASSERT_EQ(pool_ctx_err(l->self), cause);
	l->submit_rc = pool_submit(l->pool, task_count, &l->ran);
}

TEST(ctx_on_cancel_calls_into_library)
{
	struct cb_log l;

	memset(&l, 0, sizeof(l));
	counter_init(&l.ran);
	ASSERT_OK(pool_new(&l.pool, NULL));
	ASSERT_OK(pool_ctx_new(&l.self, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&l.other, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_on_cancel(l.self, cb_reenter, &l));
	ASSERT_OK(pool_ctx_on_cancel(l.other, cb0, &l));
	ASSERT_EQ(pool_ctx_cancel(l.self, -4), 1);
	ASSERT_OK(l.inner_rc);
	ASSERT_EQ(l.calls[1], 1); /* ran at once, inside the callback */
	ASSERT_EQ(l.calls[0], 1);
	ASSERT_EQ(l.cause[0], -8);
	ASSERT_OK(l.submit_rc);
	counter_wait(&l.ran, 1);
	ASSERT_OK(pool_destroy(l.pool));
	pool_ctx_destroy(l.self);
	pool_ctx_destroy(l.other);
	counter_destroy(&l.ran);
}

/* ---- context-taking submits ---- */

struct skips {
	struct counter n;
	pool_task_fn fn;
	void *arg;
	int cause;
	pool_t *resubmit; /* the callback submits the task here */
	int resubmit_rc;
};

static void on_skip(void *arg, pool_task_fn fn, void *task_arg, int cause)
{
	struct skips *s = arg;

	s->fn = fn;
	s->arg = task_arg;
	s->cause = cause;
	if (s->resubmit)
		s->resubmit_rc = pool_submit(s->resubmit, fn, task_arg);
	counter_add(&s->n, 1);
}

static pool_t *one_worker(unsigned ring)
{
	pool_options_t o = test_opts(1, ring, 0);
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	return p;
}

TEST(ctx_submit_runs_live)
{
	struct counter ran;
	pool_ctx_t *c;
	pool_t *p = one_worker(0);

	counter_init(&ran);
	ASSERT_OK(pool_ctx_new(&c, NULL, SEC(3600)));
	for (int i = 0; i < 10; i++)
		ASSERT_OK(pool_submit_ctx(p, c, task_count, &ran));
	counter_wait(&ran, 10);
	ASSERT_UEQ(pool_ctx_skipped(c), 0);
	ASSERT_ERR(pool_submit_ctx(NULL, c, task_nop, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_submit_ctx(p, NULL, task_nop, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_submit_ctx(p, c, NULL, NULL), POOL_EINVAL);
	pool_ctx_destroy(c); /* queued tasks would hold it: none left */
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&ran);
}

TEST(ctx_submit_cancelled_at_call_is_refused)
{
	struct counter ran;
	pool_ctx_t *c;
	pool_t *p = one_worker(0);

	counter_init(&ran);
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_EQ(pool_ctx_cancel(c, -21), 1);
	ASSERT_EQ(pool_submit_ctx(p, c, task_count, &ran), -21);
	ASSERT_EQ(pool_submit_wait_ctx(p, c, task_count, &ran), -21);
	ASSERT_OK(pool_wait_idle(p, -1));
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_UEQ(pool_ctx_skipped(c), 0); /* refused, not accepted */
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&ran);
}

TEST(ctx_cancel_skips_queued_tasks_and_reports)
{
	struct counter ran;
	struct skips sk;
	struct gate g;
	pool_ctx_t *parent, *c;
	pool_t *p = one_worker(0);

	counter_init(&ran);
	counter_init(&sk.n);
	sk.resubmit = NULL;
	gate_init(&g);
	ASSERT_OK(pool_ctx_new(&parent, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_new(&c, parent, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_set_on_skip(c, on_skip, &sk));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	for (int i = 0; i < 5; i++)
		ASSERT_OK(pool_submit_ctx(p, c, task_count, &ran));
	/* The caller may drop its handle: the queued tasks hold c. */
	pool_ctx_destroy(c);
	ASSERT_EQ(pool_ctx_cancel(parent, -33), 1);
	gate_open(&g);
	counter_wait(&sk.n, 5);
	ASSERT_OK(pool_wait_idle(p, -1));
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_PTR_EQ(sk.fn, task_count);
	ASSERT_PTR_EQ(sk.arg, &ran);
	ASSERT_EQ(sk.cause, -33);
	ASSERT_OK(pool_destroy(p));
	pool_ctx_destroy(parent);
	gate_destroy(&g);
	counter_destroy(&ran);
	counter_destroy(&sk.n);
}

TEST(ctx_deadline_skips_task_before_start)
{
	struct counter ran;
	struct skips sk;
	struct gate g;
	pool_ctx_t *c;
	pool_t *p = one_worker(0);

	counter_init(&ran);
	counter_init(&sk.n);
	sk.resubmit = NULL;
	gate_init(&g);
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_ctx_new(&c, NULL, MS(2)));
	ASSERT_OK(pool_ctx_set_on_skip(c, on_skip, &sk));
	ASSERT_OK(pool_submit_ctx(p, c, task_count, &ran));
	ASSERT_OK(pool_submit_ctx(p, c, task_count, &ran));
	/* Nobody polls c: the task start observes the passed deadline. */
	while (test_now_ns() < pool_ctx_deadline(c))
		sched_yield();
	gate_open(&g);
	counter_wait(&sk.n, 2);
	ASSERT_OK(pool_wait_idle(p, -1));
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_ERR(sk.cause, POOL_ETIMEDOUT);
	ASSERT_UEQ(pool_ctx_skipped(c), 2);
	ASSERT_ERR(pool_ctx_err(c), POOL_ETIMEDOUT);
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&ran);
	counter_destroy(&sk.n);
}

/* The skip callback may call back into the library: it resubmits. */
TEST(ctx_skip_callback_calls_into_library)
{
	struct counter ran;
	struct skips sk;
	struct gate g;
	pool_ctx_t *c;
	pool_t *p = one_worker(0);

	counter_init(&ran);
	counter_init(&sk.n);
	sk.resubmit = p;
	sk.resubmit_rc = 1;
	gate_init(&g);
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_ctx_set_on_skip(c, on_skip, &sk));
	ASSERT_OK(pool_submit_ctx(p, c, task_count, &ran));
	ASSERT_EQ(pool_ctx_cancel(c, 0), 1);
	gate_open(&g);
	counter_wait(&ran, 1); /* the resubmitted task ran */
	ASSERT_OK(sk.resubmit_rc);
	ASSERT_EQ(counter_get(&sk.n), 1);
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&ran);
	counter_destroy(&sk.n);
}

struct bg_ctx {
	pthread_t t;
	pool_t *p;
	pool_ctx_t *c;
	pool_task_fn fn;
	void *arg;
	bool wait;
	atomic_int done;
	int rc;
};

static void *bg_ctx_main(void *arg)
{
	struct bg_ctx *b = arg;

	b->rc = b->wait ? pool_submit_wait_ctx(b->p, b->c, b->fn, b->arg)
			: pool_submit_ctx(b->p, b->c, b->fn, b->arg);
	atomic_store(&b->done, 1);
	return NULL;
}

/* A full pool: one worker held at a gate, its one-slot ring taken. */
static pool_t *full_pool(struct gate *g, struct counter *ran)
{
	pool_t *p = one_worker(1);

	ASSERT_OK(pool_submit(p, task_gate, g));
	gate_wait_entered(g, 1);
	ASSERT_OK(pool_submit(p, task_count, ran));
	ASSERT_ERR(pool_try_submit(p, task_nop, NULL), POOL_EOVERLOAD);
	return p;
}

TEST(ctx_blocked_submit_woken_by_cancel)
{
	struct counter ran;
	struct bg_ctx b;
	struct gate g;

	counter_init(&ran);
	gate_init(&g);
	memset(&b, 0, sizeof(b));
	b.p = full_pool(&g, &ran);
	ASSERT_OK(pool_ctx_new(&b.c, NULL, POOL_CTX_NO_TIMEOUT));
	b.fn = task_count;
	b.arg = &ran;
	thread_start(&b.t, bg_ctx_main, &b);
	WAIT_UNTIL(pool_waiting(b.p) == 1);
	ASSERT_EQ(pool_ctx_cancel(b.c, -55), 1);
	thread_join(b.t); /* woken by the cancel: the pool is still full */
	ASSERT_EQ(b.rc, -55);
	ASSERT_EQ(pool_waiting(b.p), 0);
	gate_open(&g);
	ASSERT_OK(pool_wait_idle(b.p, -1));
	ASSERT_EQ(counter_get(&ran), 1); /* the filler only */
	pool_ctx_destroy(b.c);
	ASSERT_OK(pool_destroy(b.p));
	gate_destroy(&g);
	counter_destroy(&ran);
}

TEST(ctx_blocked_submit_ends_at_deadline)
{
	struct counter ran;
	struct gate g;
	pool_ctx_t *c;
	pool_t *p;

	counter_init(&ran);
	gate_init(&g);
	p = full_pool(&g, &ran);
	ASSERT_OK(pool_ctx_new(&c, NULL, MS(5)));
	ASSERT_ERR(pool_submit_ctx(p, c, task_count, &ran), POOL_ETIMEDOUT);
	ASSERT_ERR(pool_ctx_err(c), POOL_ETIMEDOUT);
	gate_open(&g);
	ASSERT_OK(pool_wait_idle(p, -1));
	ASSERT_EQ(counter_get(&ran), 1);
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&ran);
}

static void task_panic_ctx(void *arg)
{
	(void)arg;
	pool_panic(3, "ctx task");
}

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

TEST(ctx_submit_wait_results)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct counter ran;
	pool_ctx_t *c;
	pool_t *p;

	o.logger = quiet;
	counter_init(&ran);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_submit_wait_ctx(p, c, task_count, &ran));
	ASSERT_EQ(counter_get(&ran), 1);
	ASSERT_ERR(pool_submit_wait_ctx(p, c, task_panic_ctx, NULL),
		   POOL_EPANIC);
	ASSERT_ERR(pool_submit_wait(p, task_panic_ctx, NULL), POOL_EPANIC);
	pool_ctx_destroy(c);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&ran);
}

TEST(ctx_submit_wait_abandons_queued_task)
{
	struct counter ran;
	struct bg_ctx b;
	struct gate g;
	pool_t *p = one_worker(0);

	counter_init(&ran);
	gate_init(&g);
	memset(&b, 0, sizeof(b));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	b.p = p;
	b.wait = true;
	b.fn = task_count;
	b.arg = &ran;
	ASSERT_OK(pool_ctx_new(&b.c, NULL, POOL_CTX_NO_TIMEOUT));
	thread_start(&b.t, bg_ctx_main, &b);
	WAIT_UNTIL(pool_queued(p) == 1);
	ASSERT_EQ(pool_ctx_cancel(b.c, -66), 1);
	thread_join(b.t); /* returns while the task is still queued */
	ASSERT_EQ(b.rc, -66);
	ASSERT_EQ(pool_queued(p), 1);
	gate_open(&g);
	ASSERT_OK(pool_wait_idle(p, -1));
	ASSERT_EQ(counter_get(&ran), 0);
	/* Reported to the caller, so not counted as a silent skip. */
	ASSERT_UEQ(pool_ctx_skipped(b.c), 0);
	pool_ctx_destroy(b.c);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&ran);
}

struct started {
	struct gate g;
	struct counter ran;
};

static void task_gate_count(void *arg)
{
	struct started *s = arg;

	gate_pass(&s->g);
	counter_add(&s->ran, 1);
}

TEST(ctx_submit_wait_waits_for_started_task)
{
	struct started s;
	struct bg_ctx b;
	pool_t *p = one_worker(0);

	gate_init(&s.g);
	counter_init(&s.ran);
	memset(&b, 0, sizeof(b));
	b.p = p;
	b.wait = true;
	b.fn = task_gate_count;
	b.arg = &s;
	ASSERT_OK(pool_ctx_new(&b.c, NULL, POOL_CTX_NO_TIMEOUT));
	thread_start(&b.t, bg_ctx_main, &b);
	gate_wait_entered(&s.g, 1);
	ASSERT_EQ(pool_ctx_cancel(b.c, -1), 1);
	/* It started: the call waits for its end (the caller owns arg). */
	ASSERT_EQ(atomic_load(&b.done), 0);
	gate_open(&s.g);
	thread_join(b.t);
	ASSERT_OK(b.rc);
	ASSERT_EQ(counter_get(&s.ran), 1);
	pool_ctx_destroy(b.c);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&s.g);
	counter_destroy(&s.ran);
}

struct discards {
	int n;
	pool_task_fn fn;
	void *arg;
};

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	struct discards *d = ctx;

	d->n++;
	d->fn = fn;
	d->arg = arg;
}

TEST(ctx_stop_hands_user_task_to_discard)
{
	struct discards d = {0};
	struct counter ran;
	struct gate g;
	pool_ctx_t *c;
	pool_t *p = one_worker(0);
	pthread_t t;
	struct bg_call stop;

	counter_init(&ran);
	gate_init(&g);
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT));
	ASSERT_OK(pool_submit_ctx(p, c, task_count, &ran));
	pool_ctx_destroy(c);
	memset(&stop, 0, sizeof(stop));
	stop.kind = BG_STOP;
	stop.pool = p;
	stop.on_discard = on_discard;
	stop.ctx = &d;
	thread_start(&t, bg_call_main, &stop);
	WAIT_UNTIL(pool_is_closed(p) == 1 && pool_queued(p) == 0);
	gate_open(&g);
	thread_join(t);
	ASSERT_OK(stop.rc);
	ASSERT_EQ(d.n, 1);
	ASSERT_PTR_EQ(d.fn, task_count);
	ASSERT_PTR_EQ(d.arg, &ran);
	ASSERT_EQ(counter_get(&ran), 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
	counter_destroy(&ran);
}
