/* SPDX-License-Identifier: MIT */
/*
 * test_submit.c - pool_submit and its variants: the concurrency bound, the
 * full-pool policies (block, non-blocking, max_blocking, timeout), batches,
 * invoke, submit_wait and submits from inside a task.
 */
#define _GNU_SOURCE
#include "test.h"

TEST(submit_runs_every_task)
{
	enum { N = 2000 };
	pool_options_t o = test_opts(3, 0, 0);
	struct counter c;
	pool_t *p;
	int i;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_count, &c));
	counter_wait(&c, N);
	ASSERT_OK(pool_destroy(p));
	ASSERT_EQ(counter_get(&c), N);
	counter_destroy(&c);
}

/* Plain (non-atomic) data: submit happens-before the task, the task's return
 * happens-before pool_submit_wait returns (TSan checks the edges). */
struct hb {
	int in;
	int out;
};

static void task_hb(void *arg)
{
	struct hb *h = arg;

	h->out = h->in + 1;
}

TEST(submit_happens_before)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct hb h[64];
	pool_t *p;
	int i;

	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < 64; i++) {
		h[i].in = i;
		h[i].out = -1;
		ASSERT_OK(pool_submit_wait(p, task_hb, &h[i]));
		ASSERT_EQ(h[i].out, i + 1);
	}
	for (i = 0; i < 64; i++) {
		h[i].in = 2 * i;
		ASSERT_OK(pool_submit(p, task_hb, &h[i]));
	}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (i = 0; i < 64; i++)
		ASSERT_EQ(h[i].out, 2 * i + 1);
	ASSERT_OK(pool_destroy(p));
}

/* Concurrency sampling: every task records how many run at once. */
static atomic_int conc_now;
static atomic_int conc_max;

static void conc_enter(void)
{
	int now = atomic_fetch_add(&conc_now, 1) + 1;
	int max = atomic_load(&conc_max);

	while (now > max && !atomic_compare_exchange_weak(&conc_max, &max, now))
		;
}

static void conc_leave(void)
{
	atomic_fetch_sub(&conc_now, 1);
}

static void task_conc(void *arg)
{
	int i;

	conc_enter();
	for (i = 0; i < 50; i++)
		sched_yield();
	conc_leave();
	counter_add(arg, 1);
}

static void task_conc_gate(void *arg)
{
	conc_enter();
	gate_pass(arg);
	conc_leave();
}

TEST(concurrency_bound_never_exceeded)
{
	enum { K = 3, N = 600 };
	pool_options_t o = test_opts(K, 0, 0);
	struct counter c;
	pool_t *p;
	int i;

	counter_init(&c);
	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_conc, &c));
	counter_wait(&c, N);
	ASSERT_LE(atomic_load(&conc_max), K);
	ASSERT_GE(atomic_load(&conc_max), 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

TEST(concurrency_bound_reached_exactly)
{
	enum { K = 4, N = 12 };
	pool_options_t o = test_opts(K, 0, 0);
	struct gate g;
	pool_stats_t s;
	pool_t *p;
	int i;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	for (i = 0; i < N; i++)
		ASSERT_OK(pool_submit(p, task_conc_gate, &g));
	/* K tasks run at once and block; the rest must stay queued. */
	gate_wait_entered(&g, K);
	ASSERT_EQ(atomic_load(&conc_max), K);
	ASSERT_EQ(pool_running(p), K);
	ASSERT_EQ(pool_available(p), 0);
	ASSERT_EQ(pool_queued(p), N - K);
	s = test_stats(p);
	ASSERT_UEQ(s.running, K);
	ASSERT_UEQ(s.queued, N - K);
	ASSERT_ULE(s.workers, K);
	ASSERT_UEQ(s.submitted, N);
	ASSERT_STATS_BALANCED(s);
	ASSERT_EQ(counter_get(&g.entered), K);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(counter_get(&g.passed), N);
	ASSERT_EQ(atomic_load(&conc_max), K);
	s = test_stats(p);
	ASSERT_UEQ(s.completed, N);
	ASSERT_UEQ(s.running, 0);
	ASSERT_UEQ(s.queued, 0);
	ASSERT_UEQ(s.workers, 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* A flag task: records that it ran. */
static void task_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(blocking_submit_waits_for_slot)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct bg_call b;
	atomic_int queued_ran = 0, blocked_ran = 0;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	/* Full: a try confirms it. */
	ASSERT_ERR(pool_try_submit(p, task_flag, &blocked_ran), POOL_EOVERLOAD);
	bg_start(&b, BG_SUBMIT, p, task_flag, &blocked_ran);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_UEQ(test_stats(p).waiting, 1);
	ASSERT_EQ(atomic_load(&b.done), 0);
	ASSERT_EQ(atomic_load(&blocked_ran), 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&b));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_EQ(atomic_load(&blocked_ran), 1);
	ASSERT_EQ(pool_waiting(p), 0);
	ASSERT_UEQ(test_stats(p).submitted, 3);
	ASSERT_UEQ(test_stats(p).rejected_overload, 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(nonblocking_overload)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	struct gate g;
	atomic_int queued_ran = 0, rejected_ran = 0;
	pool_stats_t s;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	ASSERT_ERR(pool_submit(p, task_flag, &rejected_ran), POOL_EOVERLOAD);
	ASSERT_ERR(pool_try_submit(p, task_flag, &rejected_ran),
		   POOL_EOVERLOAD);
	ASSERT_EQ(pool_waiting(p), 0);
	s = test_stats(p);
	ASSERT_UEQ(s.rejected_overload, 2);
	ASSERT_UEQ(s.submitted, 2);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_EQ(atomic_load(&rejected_ran), 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(try_submit_overload)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	atomic_int queued_ran = 0, rejected_ran = 0;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_try_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_try_submit(p, task_flag, &queued_ran));
	ASSERT_ERR(pool_try_submit(p, task_flag, &rejected_ran),
		   POOL_EOVERLOAD);
	ASSERT_ERR(pool_submit_timeout(p, task_flag, &rejected_ran, 0),
		   POOL_EOVERLOAD);
	ASSERT_EQ(pool_waiting(p), 0);
	ASSERT_UEQ(test_stats(p).rejected_overload, 2);
	ASSERT_UEQ(test_stats(p).rejected_timeout, 0);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_EQ(atomic_load(&rejected_ran), 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(max_blocking_limits_waiters)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct bg_call b;
	atomic_int queued_ran = 0, blocked_ran = 0, rejected_ran = 0;
	pool_t *p;

	o.max_blocking = 1;
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	bg_start(&b, BG_SUBMIT, p, task_flag, &blocked_ran);
	WAIT_UNTIL(pool_waiting(p) == 1);
	/* A second blocking submitter is refused at once. */
	ASSERT_ERR(pool_submit(p, task_flag, &rejected_ran), POOL_EOVERLOAD);
	ASSERT_ERR(pool_submit_timeout(p, task_flag, &rejected_ran, SEC(60)),
		   POOL_EOVERLOAD);
	ASSERT_EQ(pool_waiting(p), 1);
	ASSERT_UEQ(test_stats(p).rejected_overload, 2);
	gate_open(&g);
	ASSERT_OK(bg_join(&b));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&blocked_ran), 1);
	ASSERT_EQ(atomic_load(&rejected_ran), 0);
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(submit_timeout_expires)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	atomic_int queued_ran = 0, rejected_ran = 0;
	pool_stats_t s;
	pool_t *p;
	int64_t t0, elapsed;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	t0 = test_now_ns();
	ASSERT_ERR(pool_submit_timeout(p, task_flag, &rejected_ran, MS(50)),
		   POOL_ETIMEDOUT);
	elapsed = test_now_ns() - t0;
	ASSERT_GE(elapsed, MS(50));
	ASSERT_EQ(pool_waiting(p), 0);
	s = test_stats(p);
	ASSERT_UEQ(s.rejected_timeout, 1);
	ASSERT_UEQ(s.rejected_overload, 0);
	ASSERT_UEQ(s.submitted, 2);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&rejected_ran), 0);
	ASSERT_EQ(atomic_load(&queued_ran), 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* An explicit timeout waits even on a POOL_NONBLOCKING pool. */
TEST(submit_timeout_ignores_nonblocking)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	struct gate g;
	atomic_int queued_ran = 0, rejected_ran = 0;
	pool_t *p;
	int64_t t0;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	t0 = test_now_ns();
	ASSERT_ERR(pool_submit_timeout(p, task_flag, &rejected_ran, MS(30)),
		   POOL_ETIMEDOUT);
	ASSERT_GE(test_now_ns() - t0, MS(30));
	ASSERT_ERR(pool_submit_timeout(p, task_flag, &rejected_ran, 0),
		   POOL_EOVERLOAD);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&rejected_ran), 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(submit_timeout_succeeds_when_slot_frees)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	struct bg_call b;
	atomic_int queued_ran = 0, late_ran = 0;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	test_fill_1x1(p, &g, task_flag, &queued_ran);
	b.timeout_ns = SEC(60);
	bg_start(&b, BG_SUBMIT_TIMEOUT, p, task_flag, &late_ran);
	WAIT_UNTIL(pool_waiting(p) == 1);
	ASSERT_EQ(atomic_load(&b.done), 0);
	gate_open(&g);
	ASSERT_OK(bg_join(&b));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&late_ran), 1);
	ASSERT_UEQ(test_stats(p).rejected_timeout, 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

TEST(submit_timeout_open_pool)
{
	pool_options_t o = test_opts(2, 0, 0);
	atomic_int r = 0;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_timeout(p, task_flag, &r, 0));
	ASSERT_OK(pool_submit_timeout(p, task_flag, &r, SEC(1)));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&r), 2);
	ASSERT_OK(pool_destroy(p));
}

/* Batches. */
TEST(batch_all_accepted)
{
	enum { N = 300 };
	pool_options_t o = test_opts(2, 0, 0);
	static pool_task_t tasks[N];
	static atomic_int runs[N];
	size_t accepted = 0;
	pool_t *p;
	int i;

	for (i = 0; i < N; i++) {
		tasks[i].fn = task_flag;
		tasks[i].arg = &runs[i];
	}
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_batch(p, tasks, N, &accepted));
	ASSERT_EQ(accepted, N);
	ASSERT_OK(pool_submit_batch(p, tasks, N, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (i = 0; i < N; i++)
		ASSERT_EQ(atomic_load(&runs[i]), 2);
	ASSERT_UEQ(test_stats(p).submitted, 2 * N);
	ASSERT_UEQ(test_stats(p).completed, 2 * N);
	ASSERT_OK(pool_destroy(p));
}

TEST(batch_empty)
{
	pool_options_t o = test_opts(1, 0, 0);
	pool_task_t t = {task_nop, NULL};
	size_t accepted = 99;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_batch(p, NULL, 0, &accepted));
	ASSERT_EQ(accepted, 0);
	accepted = 99;
	ASSERT_OK(pool_submit_batch(p, &t, 0, &accepted));
	ASSERT_EQ(accepted, 0);
	ASSERT_UEQ(test_stats(p).submitted, 0);
	ASSERT_OK(pool_destroy(p));
}

/* n tasks, each setting its own flag runs[i] (cleared here) when it runs. */
static void flag_tasks(pool_task_t *tasks, atomic_int *runs, int n)
{
	for (int i = 0; i < n; i++) {
		atomic_init(&runs[i], 0);
		tasks[i].fn = task_flag;
		tasks[i].arg = &runs[i];
	}
}

TEST(batch_null_fn_accepts_nothing)
{
	enum { N = 8 };
	pool_options_t o = test_opts(2, 0, 0);
	pool_task_t tasks[N];
	atomic_int runs[N];
	size_t accepted = 99;
	pool_t *p;
	int i;

	flag_tasks(tasks, runs, N);
	tasks[N - 1].fn = NULL;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_ERR(pool_submit_batch(p, tasks, N, &accepted), POOL_EINVAL);
	ASSERT_EQ(accepted, 0);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (i = 0; i < N; i++)
		ASSERT_EQ(atomic_load(&runs[i]), 0);
	ASSERT_UEQ(test_stats(p).submitted, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(batch_overload_prefix)
{
	enum { N = 10, RING = 4 };
	pool_options_t o = test_opts(1, RING, POOL_NONBLOCKING);
	pool_task_t tasks[N];
	atomic_int runs[N];
	struct gate g;
	size_t accepted = 99;
	pool_t *p;
	int i;

	flag_tasks(tasks, runs, N);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	ASSERT_ERR(pool_submit_batch(p, tasks, N, &accepted), POOL_EOVERLOAD);
	ASSERT_EQ(accepted, RING);
	ASSERT_EQ(pool_queued(p), RING);
	ASSERT_UEQ(test_stats(p).submitted, 1 + RING);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (i = 0; i < N; i++)
		ASSERT_EQ(atomic_load(&runs[i]), i < RING ? 1 : 0);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* A blocking batch on a full pool waits for slots and accepts everything. */
TEST(batch_blocks_when_full)
{
	enum { N = 6 };
	pool_options_t o = test_opts(1, 1, 0);
	pool_task_t tasks[N];
	atomic_int runs[N];
	struct gate g;
	size_t accepted = 99;
	pool_t *p;
	int i;

	flag_tasks(tasks, runs, N);
	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	gate_open(&g);
	ASSERT_OK(pool_submit_batch(p, tasks, N, &accepted));
	ASSERT_EQ(accepted, N);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (i = 0; i < N; i++)
		ASSERT_EQ(atomic_load(&runs[i]), 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* pool_new_func + pool_invoke. */
static atomic_long invoke_sum;

static void invoke_fn(void *arg)
{
	atomic_fetch_add(&invoke_sum, (long)(intptr_t)arg);
}

TEST(invoke_runs_bound_function)
{
	pool_options_t o = test_opts(2, 0, 0);
	atomic_int r = 0;
	pool_t *p;
	long i, want = 0;

	ASSERT_OK(pool_new_func(&p, invoke_fn, &o));
	for (i = 1; i <= 500; i++) {
		ASSERT_OK(pool_invoke(p, (void *)(intptr_t)i));
		want += i;
	}
	/* pool_submit* also work on such a pool. */
	ASSERT_OK(pool_submit(p, task_flag, &r));
	ASSERT_OK(pool_submit_wait(p, task_flag, &r));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&invoke_sum), want);
	ASSERT_EQ(atomic_load(&r), 2);
	ASSERT_UEQ(test_stats(p).submitted, 502);
	ASSERT_ERR(pool_invoke(p, NULL), POOL_ECLOSED);
	ASSERT_OK(pool_destroy(p));
}

TEST(invoke_nonblocking_overload)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	pool_t *p;
	struct gate g;

	gate_init(&g);
	ASSERT_OK(pool_new_func(&p, task_gate, &o));
	ASSERT_OK(pool_invoke(p, &g));
	gate_wait_entered(&g, 1);
	ASSERT_OK(pool_invoke(p, &g));
	ASSERT_ERR(pool_invoke(p, &g), POOL_EOVERLOAD);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(counter_get(&g.passed), 2);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* pool_submit_wait. */
struct waited {
	int value;
	pthread_t thread;
};

static void task_set_value(void *arg)
{
	struct waited *w = arg;

	w->value = 42;
	w->thread = pthread_self();
}

TEST(submit_wait_returns_after_run)
{
	pool_options_t o = test_opts(2, 0, 0);
	struct waited w = {0};
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_set_value, &w));
	ASSERT_EQ(w.value, 42);
	ASSERT(!pthread_equal(w.thread, pthread_self()));
	ASSERT_UEQ(test_stats(p).completed, 1);
	ASSERT_OK(pool_destroy(p));
}

/* Inside a task of the same pool: inline, on the calling worker. */
struct inner {
	pool_t *p;
	int rc_wait;
	int id_outer;
	pthread_t outer;
	struct waited w;
	int rc_submit[3];
	atomic_int runs[3];
	int ran_before_return;
	int id_inline;
};

static void task_submit_wait_inside(void *arg)
{
	struct inner *in = arg;

	in->outer = pthread_self();
	in->id_outer = pool_worker_id();
	in->rc_wait = pool_submit_wait(in->p, task_set_value, &in->w);
}

TEST(submit_wait_inside_task_runs_inline)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct inner in;
	pool_t *p;

	memset(&in, 0, sizeof(in));
	ASSERT_OK(pool_new(&p, &o));
	in.p = p;
	ASSERT_OK(pool_submit_wait(p, task_submit_wait_inside, &in));
	ASSERT_OK(in.rc_wait);
	ASSERT_EQ(in.w.value, 42);
	ASSERT(pthread_equal(in.w.thread, in.outer));
	ASSERT_OK(pool_destroy(p));
}

static void task_flag_with_id(void *arg)
{
	struct inner *in = arg;

	atomic_fetch_add(&in->runs[2], 1);
	in->id_inline = pool_worker_id();
}

static void task_submit_inside_full(void *arg)
{
	struct inner *in = arg;

	in->id_outer = pool_worker_id();
	/* The only worker runs this task: one slot in the ring. */
	in->rc_submit[0] = pool_submit(in->p, task_flag, &in->runs[0]);
	in->rc_submit[1] = pool_try_submit(in->p, task_flag, &in->runs[1]);
	/* Full now: a blocking submit runs the task inline. */
	in->rc_submit[2] = pool_submit(in->p, task_flag_with_id, in);
	in->ran_before_return = atomic_load(&in->runs[2]);
	/* The queued task cannot have run: this worker is busy. */
	if (atomic_load(&in->runs[0]) != 0)
		in->ran_before_return = -1;
}

TEST(submit_inside_full_pool_runs_inline)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct inner in;
	pool_stats_t s;
	pool_t *p;

	memset(&in, 0, sizeof(in));
	ASSERT_OK(pool_new(&p, &o));
	in.p = p;
	/* Wait for the outer task: a release now would close the pool
	 * under its inner submits. */
	ASSERT_OK(pool_submit_wait(p, task_submit_inside_full, &in));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(in.rc_submit[0]);
	ASSERT_ERR(in.rc_submit[1], POOL_EOVERLOAD);
	ASSERT_OK(in.rc_submit[2]);
	ASSERT_EQ(in.ran_before_return, 1);
	ASSERT_EQ(in.id_inline, in.id_outer);
	ASSERT_EQ(atomic_load(&in.runs[0]), 1);
	ASSERT_EQ(atomic_load(&in.runs[1]), 0);
	ASSERT_EQ(atomic_load(&in.runs[2]), 1);
	s = test_stats(p);
	ASSERT_UGE(s.inline_runs, 1);
	ASSERT_UEQ(s.rejected_overload, 1);
	ASSERT_STATS_BALANCED(s);
	ASSERT_OK(pool_destroy(p));
}

/* A full pool with POOL_NONBLOCKING: submits from inside a task still get
 * POOL_EOVERLOAD (never block, never hang). */
static void task_submit_inside_nonblocking(void *arg)
{
	struct inner *in = arg;

	in->rc_submit[0] = pool_submit(in->p, task_flag, &in->runs[0]);
	in->rc_submit[1] = pool_submit(in->p, task_flag, &in->runs[1]);
}

TEST(submit_inside_full_nonblocking_pool)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	struct inner in;
	pool_t *p;

	memset(&in, 0, sizeof(in));
	ASSERT_OK(pool_new(&p, &o));
	in.p = p;
	/* Wait for the outer task: a release now would close the pool
	 * under its inner submits. */
	ASSERT_OK(pool_submit_wait(p, task_submit_inside_nonblocking, &in));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(in.rc_submit[0]);
	ASSERT_ERR(in.rc_submit[1], POOL_EOVERLOAD);
	ASSERT_EQ(atomic_load(&in.runs[0]), 1);
	ASSERT_EQ(atomic_load(&in.runs[1]), 0);
	ASSERT_OK(pool_destroy(p));
}

/* From inside a task, pool_submit_timeout waits like any caller: bounded. */
static void task_submit_timeout_inside(void *arg)
{
	struct inner *in = arg;

	in->rc_submit[0] = pool_submit(in->p, task_flag, &in->runs[0]);
	in->rc_submit[1] =
		pool_submit_timeout(in->p, task_flag, &in->runs[1], MS(20));
}

TEST(submit_timeout_inside_full_pool)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct inner in;
	pool_t *p;

	memset(&in, 0, sizeof(in));
	ASSERT_OK(pool_new(&p, &o));
	in.p = p;
	/* Wait for the outer task: a release now would close the pool
	 * under its inner submits. */
	ASSERT_OK(pool_submit_wait(p, task_submit_timeout_inside, &in));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_OK(in.rc_submit[0]);
	ASSERT_ERR(in.rc_submit[1], POOL_ETIMEDOUT);
	ASSERT_EQ(atomic_load(&in.runs[1]), 0);
	ASSERT_OK(pool_destroy(p));
}

/* Recursive fan-out from inside tasks on a tiny pool must not hang. */
static struct {
	pool_t *p;
	atomic_int depth_runs;
	atomic_int failures;
} fan;

static void task_fan(void *arg)
{
	intptr_t depth = (intptr_t)arg;

	atomic_fetch_add(&fan.depth_runs, 1);
	if (depth == 0)
		return;
	if (pool_submit(fan.p, task_fan, (void *)(depth - 1)) != 0)
		atomic_fetch_add(&fan.failures, 1);
	if (pool_submit(fan.p, task_fan, (void *)(depth - 1)) != 0)
		atomic_fetch_add(&fan.failures, 1);
}

TEST(recursive_submit_inside_tasks)
{
	pool_options_t o = test_opts(2, 1, 0);

	ASSERT_OK(pool_new(&fan.p, &o));
	ASSERT_OK(pool_submit(fan.p, task_fan, (void *)(intptr_t)9));
	WAIT_UNTIL(atomic_load(&fan.depth_runs) == (1 << 10) - 1 ||
		   atomic_load(&fan.failures) != 0);
	ASSERT_OK(pool_release_timeout(fan.p, SEC(30)));
	ASSERT_EQ(atomic_load(&fan.failures), 0);
	ASSERT_EQ(atomic_load(&fan.depth_runs), (1 << 10) - 1);
	ASSERT_OK(pool_destroy(fan.p));
}

/* A task of a *different* pool submitting into a full pool blocks like any
 * caller: only the pool's own tasks run inline. */
struct cross {
	pool_t *target;
	atomic_int *flag;
	int rc;
	pool_t *ran_on;
};

static void task_record_self(void *arg)
{
	struct cross *c = arg;

	c->ran_on = pool_self();
	atomic_fetch_add(c->flag, 1);
}

static void task_submit_other_pool(void *arg)
{
	struct cross *c = arg;

	c->rc = pool_submit(c->target, task_record_self, c);
}

TEST(submit_from_other_pool_blocks)
{
	pool_options_t o = test_opts(1, 1, 0);
	struct gate g;
	atomic_int queued_ran = 0, flag = 0;
	struct cross c = {0};
	pool_t *full, *other;

	gate_init(&g);
	ASSERT_OK(pool_new(&full, &o));
	ASSERT_OK(pool_new(&other, &o));
	test_fill_1x1(full, &g, task_flag, &queued_ran);
	c.target = full;
	c.flag = &flag;
	c.rc = 1;
	ASSERT_OK(pool_submit(other, task_submit_other_pool, &c));
	WAIT_UNTIL(pool_waiting(full) == 1);
	ASSERT_EQ(atomic_load(&flag), 0);
	ASSERT_UEQ(test_stats(full).inline_runs, 0);
	ASSERT_UEQ(test_stats(other).inline_runs, 0);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(other, SEC(30)));
	ASSERT_OK(c.rc);
	ASSERT_OK(pool_release_timeout(full, SEC(30)));
	ASSERT_EQ(atomic_load(&flag), 1);
	ASSERT_PTR_EQ(c.ran_on, full);
	ASSERT_UEQ(test_stats(full).inline_runs, 0);
	ASSERT_OK(pool_destroy(full));
	ASSERT_OK(pool_destroy(other));
	gate_destroy(&g);
}
