/* SPDX-License-Identifier: MIT */
/*
 * test_panic.c - pool_panic, pool_panicf, pool_defer and the panic handler
 * (include/pool/panic.h, docs/panic.md).
 *
 * Every task runs inside a guard: a panic ends the task, its deferred calls
 * run newest first, then the handler (or a rate-limited log line), all on the
 * same worker, and the worker goes on. The death tests fork at the start of
 * the case, while the test process has no other thread.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* ---- helpers ---- */

/* A logger that keeps every line it is given. */
struct logcap {
	pthread_mutex_t mu;
	long lines;
	long errors;		    /* lines at POOL_LOG_ERROR */
	unsigned long long dropped; /* sum of "(N panic lines dropped" */
	char last[512];
};

static void logcap_init(struct logcap *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
}

static void logcap_fn(void *ctx, int level, const char *msg)
{
	struct logcap *l = ctx;
	const char *d = strstr(msg, "(");
	unsigned long long n;

	pthread_mutex_lock(&l->mu);
	l->lines++;
	if (level == POOL_LOG_ERROR)
		l->errors++;
	if (d && sscanf(d, "(%llu panic lines dropped", &n) == 1)
		l->dropped += n;
	snprintf(l->last, sizeof(l->last), "%s", msg);
	pthread_mutex_unlock(&l->mu);
}

/* What the panic handler saw (the last call) and how often it was called. */
struct seen {
	pthread_mutex_t mu;
	long calls;
	char pool_name[64];
	pool_task_fn fn;
	void *arg;
	int code;
	char msg[POOL_PANIC_MSG_MAX + 16];
	int worker_id;
	int signo;
	pthread_t thread;
	/* Order log shared with the tasks of the case (same worker). */
	int order[64];
	int norder;
};

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
}

static void seen_record(struct seen *s, int what)
{
	pthread_mutex_lock(&s->mu);
	if (s->norder < 64)
		s->order[s->norder++] = what;
	pthread_mutex_unlock(&s->mu);
}

#define ORDER_HANDLER 1000

static void seen_handler(void *ctx, const pool_panic_info_t *in)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->mu);
	s->calls++;
	snprintf(s->pool_name, sizeof(s->pool_name), "%s",
		 in->pool_name ? in->pool_name : "(null)");
	s->fn = in->fn;
	s->arg = in->arg;
	s->code = in->code;
	snprintf(s->msg, sizeof(s->msg), "%s", in->msg ? in->msg : "(null)");
	s->worker_id = in->worker_id;
	s->signo = in->signo;
	s->thread = pthread_self();
	if (s->norder < 64)
		s->order[s->norder++] = ORDER_HANDLER;
	pthread_mutex_unlock(&s->mu);
}

static long seen_calls(struct seen *s)
{
	long n;

	pthread_mutex_lock(&s->mu);
	n = s->calls;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static pool_t *new_pool(int cap, unsigned ring, unsigned flags,
			struct seen *handler_ctx, struct logcap *log)
{
	pool_options_t o = test_opts(cap, ring, flags | POOL_DISABLE_PURGE);
	pool_t *p;

	o.name = "panicky";
	if (handler_ctx) {
		o.panic_handler = seen_handler;
		o.panic_ctx = handler_ctx;
	}
	if (log) {
		o.logger = logcap_fn;
		o.logger_ctx = log;
	}
	ASSERT_OK(pool_new(&p, &o));
	return p;
}

/* Run a child process: fn() in the child, which must not return; the
 * child's stderr is kept in err (NUL-terminated). Returns the wait status. */
static int run_child(void (*fn)(void), char *err, size_t errsz)
{
	int fds[2], status;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(pipe(fds), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		alarm(20); /* a hung child ends (SIGALRM handler: exit 1) */
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (have + 1 < errsz &&
	       (n = read(fds[0], err + have, errsz - 1 - have)) > 0)
		have += (size_t)n;
	err[have] = '\0';
	close(fds[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_died_by(int status, int sig, const char *err)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
		FAIL("child: expected death by signal %d, got %s %d; "
		     "stderr: %s",
		     sig, WIFSIGNALED(status) ? "signal" : "exit status",
		     WIFSIGNALED(status) ? WTERMSIG(status)
					 : WEXITSTATUS(status),
		     err);
}

/* ---- tasks ---- */

static void task_panic(void *arg)
{
	pool_panic((int)(intptr_t)arg, "boom");
}

struct rec {
	struct seen *s;
	int id;
};

static void defer_record(void *arg)
{
	struct rec *r = arg;

	seen_record(r->s, r->id);
}

/* ---- panic and the handler ---- */

TEST(panic_handler_info)
{
	struct seen s;
	pool_stats_t st;
	pool_t *p;

	seen_init(&s);
	p = new_pool(2, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_panic, (void *)(intptr_t)42));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_STR_EQ(s.pool_name, "panicky");
	ASSERT_PTR_EQ(s.fn, task_panic);
	ASSERT_PTR_EQ(s.arg, (void *)(intptr_t)42);
	ASSERT_EQ(s.code, 42);
	ASSERT_STR_EQ(s.msg, "boom");
	ASSERT_GE(s.worker_id, 0);
	ASSERT_LT(s.worker_id, 2);
	ASSERT_EQ(s.signo, 0);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_UEQ(st.completed, 1);
	ASSERT_STATS_BALANCED(st);
	ASSERT_OK(pool_destroy(p));
}

/* The worker survives: the next task runs on the same thread. */
TEST(panic_worker_survives)
{
	struct seen s;
	struct counter c;
	pool_stats_t st;
	pool_t *p;

	seen_init(&s);
	counter_init(&c);
	p = new_pool(1, 0, 0, &s, NULL);
	for (int i = 0; i < 100; i++) {
		ASSERT_OK(pool_submit(p, task_panic, (void *)(intptr_t)i));
		ASSERT_OK(pool_submit(p, task_count, &c));
	}
	counter_wait(&c, 100);
	WAIT_UNTIL(seen_calls(&s) == 100);
	WAIT_UNTIL(test_stats(p).completed == 200);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 100);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_UEQ(st.workers, 1);
	ASSERT_EQ(pool_cap(p), 1);
	ASSERT_EQ(pool_running(p), 0);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* No handler: one log line at POOL_LOG_ERROR through options.logger. */
TEST(panic_default_log)
{
	struct logcap l;
	pool_stats_t st;
	pool_t *p;

	logcap_init(&l);
	p = new_pool(1, 0, 0, NULL, &l);
	ASSERT_OK(pool_submit(p, task_panic, (void *)(intptr_t)7));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(l.lines, 1);
	ASSERT_EQ(l.errors, 1);
	if (!strstr(l.last, "boom") || !strstr(l.last, "7"))
		FAIL("log line lacks the message or code: %s", l.last);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_OK(pool_destroy(p));
}

static void task_panic_null(void *arg)
{
	(void)arg;
	pool_panic(-3, NULL);
}

TEST(panic_null_message)
{
	struct seen s;
	pool_t *p;

	seen_init(&s);
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_panic_null, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, -3);
	ASSERT_STR_EQ(s.msg, "");
	ASSERT_OK(pool_destroy(p));
}

static void task_panicf(void *arg)
{
	pool_panicf(5, "x=%d s=%s %%", (int)(intptr_t)arg, "abc");
}

TEST(panicf_format)
{
	struct seen s;
	pool_t *p;

	seen_init(&s);
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_panicf, (void *)(intptr_t)-17));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, 5);
	ASSERT_STR_EQ(s.msg, "x=-17 s=abc %");
	ASSERT_OK(pool_destroy(p));
}

static char long_msg[4 * POOL_PANIC_MSG_MAX];

static void task_panicf_long(void *arg)
{
	(void)arg;
	pool_panicf(1, "%s%s", long_msg, long_msg);
}

static void task_panic_long(void *arg)
{
	(void)arg;
	pool_panic(2, long_msg);
}

/* Messages are cut to POOL_PANIC_MSG_MAX - 1 bytes, both variants. */
TEST(panic_message_truncated)
{
	struct seen s;
	pool_t *p;

	for (size_t i = 0; i < sizeof(long_msg) - 1; i++)
		long_msg[i] = (char)('a' + i % 26);
	seen_init(&s);
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_ERR(pool_submit_wait(p, task_panicf_long, NULL), POOL_EPANIC);
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, 1);
	ASSERT_EQ(strlen(s.msg), POOL_PANIC_MSG_MAX - 1);
	ASSERT_EQ(memcmp(s.msg, long_msg, POOL_PANIC_MSG_MAX - 1), 0);
	ASSERT_ERR(pool_submit_wait(p, task_panic_long, NULL), POOL_EPANIC);
	ASSERT_EQ(s.calls, 2);
	ASSERT_EQ(s.code, 2);
	ASSERT_EQ(strlen(s.msg), POOL_PANIC_MSG_MAX - 1);
	ASSERT_EQ(memcmp(s.msg, long_msg, POOL_PANIC_MSG_MAX - 1), 0);
	ASSERT_OK(pool_destroy(p));
}

/* ---- defers ---- */

struct defer_case {
	struct seen *s;
	struct rec r[POOL_MAX_DEFERS + 1];
	int panic;
	int overflow_rc;
	pthread_t thread;
};

/* Registers 3 deferred calls (ids 1, 2, 3), records 0, then returns or
 * panics. */
static void task_three_defers(void *arg)
{
	struct defer_case *d = arg;

	d->thread = pthread_self();
	for (int i = 1; i <= 3; i++) {
		d->r[i].s = d->s;
		d->r[i].id = i;
		ASSERT_OK(pool_defer(defer_record, &d->r[i]));
	}
	seen_record(d->s, 0);
	if (d->panic)
		pool_panic(9, "after defers");
}

TEST(defer_on_return_newest_first)
{
	struct defer_case d;
	struct seen s;
	pool_t *p;

	seen_init(&s);
	memset(&d, 0, sizeof(d));
	d.s = &s;
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_three_defers, &d));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 0);
	ASSERT_EQ(s.norder, 4);
	ASSERT_EQ(s.order[0], 0);
	ASSERT_EQ(s.order[1], 3);
	ASSERT_EQ(s.order[2], 2);
	ASSERT_EQ(s.order[3], 1);
	ASSERT_UEQ(test_stats(p).panicked, 0);
	ASSERT_OK(pool_destroy(p));
}

TEST(defer_on_panic_then_handler_same_worker)
{
	struct defer_case d;
	struct seen s;
	pool_t *p;

	seen_init(&s);
	memset(&d, 0, sizeof(d));
	d.s = &s;
	d.panic = 1;
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_three_defers, &d));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.norder, 5);
	ASSERT_EQ(s.order[0], 0);
	ASSERT_EQ(s.order[1], 3);
	ASSERT_EQ(s.order[2], 2);
	ASSERT_EQ(s.order[3], 1);
	ASSERT_EQ(s.order[4], ORDER_HANDLER);
	ASSERT_EQ(s.code, 9);
	ASSERT_STR_EQ(s.msg, "after defers");
	ASSERT(pthread_equal(s.thread, d.thread));
	ASSERT_OK(pool_destroy(p));
}

/* POOL_MAX_DEFERS + 1: the extra one is POOL_EOVERLOAD and is not
 * registered; the earlier ones still run, newest first. */
static void task_defer_overflow(void *arg)
{
	struct defer_case *d = arg;

	for (int i = 0; i <= POOL_MAX_DEFERS; i++) {
		d->r[i].s = d->s;
		d->r[i].id = i;
	}
	for (int i = 0; i < POOL_MAX_DEFERS; i++)
		ASSERT_OK(pool_defer(defer_record, &d->r[i]));
	d->overflow_rc = pool_defer(defer_record, &d->r[POOL_MAX_DEFERS]);
	if (d->panic)
		pool_panic(1, "overflowed");
}

static void check_overflow(int panic)
{
	struct defer_case d;
	struct seen s;
	pool_t *p;

	seen_init(&s);
	memset(&d, 0, sizeof(d));
	d.s = &s;
	d.panic = panic;
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_defer_overflow, &d));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_ERR(d.overflow_rc, POOL_EOVERLOAD);
	ASSERT_EQ(s.calls, panic);
	ASSERT_EQ(s.norder, POOL_MAX_DEFERS + panic);
	for (int i = 0; i < POOL_MAX_DEFERS; i++)
		ASSERT_EQ(s.order[i], POOL_MAX_DEFERS - 1 - i);
	ASSERT_OK(pool_destroy(p));
}

TEST(defer_overflow_eoverload)
{
	check_overflow(0);
}

TEST(defer_overflow_eoverload_panic)
{
	check_overflow(1);
}

static void task_defer_null(void *arg)
{
	*(int *)arg = pool_defer(NULL, arg);
}

static void defer_must_not_run(void *arg)
{
	(void)arg;
	FAIL("a deferred call registered outside a task ran");
}

TEST(defer_einval)
{
	int rc = 1;
	pool_t *p;

	/* Outside a task: refused, never runs. */
	ASSERT_ERR(pool_defer(defer_must_not_run, NULL), POOL_EINVAL);
	ASSERT_ERR(pool_defer(NULL, NULL), POOL_EINVAL);
	p = new_pool(1, 0, 0, NULL, NULL);
	ASSERT_OK(pool_submit_wait(p, task_defer_null, &rc));
	ASSERT_ERR(rc, POOL_EINVAL);
	ASSERT_OK(pool_destroy(p));
}

/* A deferred call registered inside a deferred call runs when that one
 * ends, before the older deferred calls of the task. */
struct nested {
	struct seen *s;
	struct rec r[4];
};

static void defer_nesting(void *arg)
{
	struct nested *n = arg;

	seen_record(n->s, 2);
	ASSERT_OK(pool_defer(defer_record, &n->r[3]));
}

static void task_nested_defers(void *arg)
{
	struct nested *n = arg;

	for (int i = 0; i < 4; i++) {
		n->r[i].s = n->s;
		n->r[i].id = i;
	}
	ASSERT_OK(pool_defer(defer_record, &n->r[1]));
	ASSERT_OK(pool_defer(defer_nesting, n));
	seen_record(n->s, 0);
}

TEST(defer_inside_defer)
{
	struct nested n;
	struct seen s;
	pool_t *p;

	seen_init(&s);
	n.s = &s;
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit_wait(p, task_nested_defers, &n));
	ASSERT_EQ(s.norder, 4);
	ASSERT_EQ(s.order[0], 0);
	ASSERT_EQ(s.order[1], 2);
	ASSERT_EQ(s.order[2], 3);
	ASSERT_EQ(s.order[3], 1);
	ASSERT_EQ(s.calls, 0);
	ASSERT_OK(pool_destroy(p));
}

/* ---- panics inside deferred calls and inside the handler ---- */

struct defer_panic {
	struct seen *s;
	struct rec a, c;
	int task_panics;
};

static void defer_panics(void *arg)
{
	struct defer_panic *d = arg;

	seen_record(d->s, 2);
	pool_panic(22, "from a deferred call");
}

static void task_defer_panics(void *arg)
{
	struct defer_panic *d = arg;

	d->a.s = d->c.s = d->s;
	d->a.id = 1;
	d->c.id = 3;
	ASSERT_OK(pool_defer(defer_record, &d->a));
	ASSERT_OK(pool_defer(defer_panics, d));
	ASSERT_OK(pool_defer(defer_record, &d->c));
	if (d->task_panics)
		pool_panic(11, "from the task");
}

static void check_defer_panic(int task_panics)
{
	struct defer_panic d;
	struct seen s;
	pool_stats_t st;
	struct counter c;
	pool_t *p;

	seen_init(&s);
	counter_init(&c);
	memset(&d, 0, sizeof(d));
	d.s = &s;
	d.task_panics = task_panics;
	p = new_pool(1, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit(p, task_defer_panics, &d));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	/* Newest first: 3, then the panicking one (2), then 1 still runs;
	 * the handler is told once, with the deferred call's panic. */
	ASSERT_EQ(s.norder, 4);
	ASSERT_EQ(s.order[0], 3);
	ASSERT_EQ(s.order[1], 2);
	ASSERT_EQ(s.order[2], 1);
	ASSERT_EQ(s.order[3], ORDER_HANDLER);
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, 22);
	ASSERT_STR_EQ(s.msg, "from a deferred call");
	ASSERT_PTR_EQ(s.fn, task_defer_panics);
	ASSERT_EQ(counter_get(&c), 1);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_UEQ(st.completed, 2);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

TEST(panic_in_defer_replaces_task_panic)
{
	check_defer_panic(1);
}

TEST(panic_in_defer_after_normal_return)
{
	check_defer_panic(0);
}

static void handler_panics(void *ctx, const pool_panic_info_t *in)
{
	seen_handler(ctx, in);
	pool_panicf(77, "handler %s", "gave up");
}

TEST(panic_in_handler_logged_worker_survives)
{
	pool_options_t o = test_opts(1, 0, POOL_DISABLE_PURGE);
	struct logcap l;
	struct seen s;
	struct counter c;
	pool_stats_t st;
	pool_t *p;

	seen_init(&s);
	logcap_init(&l);
	counter_init(&c);
	o.panic_handler = handler_panics;
	o.panic_ctx = &s;
	o.logger = logcap_fn;
	o.logger_ctx = &l;
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_panic, (void *)(intptr_t)1));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_submit(p, task_panic, (void *)(intptr_t)2));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 2);
	ASSERT_EQ(counter_get(&c), 2);
	ASSERT_EQ(l.lines, 2);
	ASSERT_EQ(l.errors, 2);
	if (!strstr(l.last, "handler gave up") || !strstr(l.last, "77"))
		FAIL("log line lacks the handler's panic: %s", l.last);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 2);
	ASSERT_UEQ(st.completed, 4);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* ---- a flood: nothing lost, workers intact, log rate-limited ---- */

#define FLOOD_N 100000

struct flood {
	atomic_uchar *ran;     /* normal tasks: runs per index */
	atomic_uchar *handled; /* panicking tasks: handler calls per index */
	atomic_long handler_calls;
	pool_t *pool;
};

/* A flood task's argument is its index + 1. */
#define FLOOD_ARG(i)   ((void *)(uintptr_t)((i) + 1))
#define FLOOD_INDEX(a) ((long)((uintptr_t)(a)-1))

static struct flood flood;

static int flood_panics(long i)
{
	return i % 3 == 1;
}

static void flood_task(void *arg)
{
	long i = FLOOD_INDEX(arg);

	if (flood_panics(i))
		pool_panicf((int)(i & 0x7fff), "flood %ld", i);
	atomic_fetch_add_explicit(&flood.ran[i], 1, memory_order_relaxed);
}

static void flood_handler(void *ctx, const pool_panic_info_t *in)
{
	long i = FLOOD_INDEX(in->arg);

	(void)ctx;
	if (in->fn != flood_task || i < 0 || i >= FLOOD_N ||
	    in->code != (int)(i & 0x7fff))
		FAIL("handler: bad info (index %ld, code %d)", i, in->code);
	atomic_fetch_add_explicit(&flood.handled[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&flood.handler_calls, 1,
				  memory_order_relaxed);
}

static void run_flood(int with_handler, struct logcap *l, int64_t *elapsed)
{
	pool_options_t o = test_opts(2, 64, POOL_DISABLE_PURGE);
	long npanic = 0;
	pool_stats_t st;
	int64_t t0;

	memset(&flood, 0, sizeof(flood));
	flood.ran = calloc(FLOOD_N, sizeof(*flood.ran));
	flood.handled = calloc(FLOOD_N, sizeof(*flood.handled));
	ASSERT_NOT_NULL(flood.ran);
	ASSERT_NOT_NULL(flood.handled);
	o.name = "flood";
	o.logger = logcap_fn;
	o.logger_ctx = l;
	if (with_handler)
		o.panic_handler = flood_handler;
	ASSERT_OK(pool_new(&flood.pool, &o));
	t0 = test_now_ns();
	for (long i = 0; i < FLOOD_N; i++) {
		ASSERT_OK(pool_submit(flood.pool, flood_task, FLOOD_ARG(i)));
		npanic += flood_panics(i);
		if (i % 1024 == 0) {
			st = test_stats(flood.pool);
			ASSERT_ULE(st.workers, 2);
			ASSERT_ULE(st.running, 2);
		}
	}
	/* Every task ran and no panic cost a worker: still the two threads
	 * the pool started. Read before the close, where a hand-off may race
	 * with an exiting worker and start a third thread to drain (a last
	 * searcher saw a task that the other worker then took before it
	 * left; harmless, and 3 runs in 50 under TSan). */
	ASSERT_OK(pool_wait_idle(flood.pool, SEC(40)));
	st = test_stats(flood.pool);
	ASSERT_ULE(st.spawned, 2);
	ASSERT_UEQ(st.completed, FLOOD_N);
	ASSERT_OK(pool_release_timeout(flood.pool, SEC(40)));
	*elapsed = test_now_ns() - t0;
	for (long i = 0; i < FLOOD_N; i++) {
		if (flood_panics(i)) {
			if (atomic_load(&flood.ran[i]) != 0)
				FAIL("task %ld ran past its panic", i);
			if (atomic_load(&flood.handled[i]) != with_handler)
				FAIL("task %ld: handler called %d times", i,
				     (int)atomic_load(&flood.handled[i]));
		} else if (atomic_load(&flood.ran[i]) != 1) {
			FAIL("task %ld ran %d times", i,
			     (int)atomic_load(&flood.ran[i]));
		}
	}
	if (with_handler)
		ASSERT_EQ(atomic_load(&flood.handler_calls), npanic);
	st = test_stats(flood.pool);
	ASSERT_UEQ(st.panicked, npanic);
	ASSERT_UEQ(st.completed, FLOOD_N);
	ASSERT_UEQ(st.submitted, FLOOD_N);
	ASSERT_UEQ(st.capacity, 2);
	ASSERT_EQ(pool_cap(flood.pool), 2);
	ASSERT_OK(pool_destroy(flood.pool));
	free(flood.ran);
	free(flood.handled);
}

TEST(panic_flood_with_handler)
{
	struct logcap l;
	int64_t elapsed;

	logcap_init(&l);
	run_flood(1, &l, &elapsed);
	ASSERT_EQ(l.lines, 0);
}

TEST(panic_flood_log_rate_limited)
{
	struct logcap l;
	int64_t elapsed, bound;

	logcap_init(&l);
	run_flood(0, &l, &elapsed);
	/* At most 10 lines per started second per pool, plus slack for the
	 * window reset racing between the two workers. */
	bound = 10 * (elapsed / SEC(1) + 2) + 10;
	printf("%ld log lines in %.3f s (bound %" PRId64 "), %llu reported "
	       "dropped\n",
	       l.lines, (double)elapsed / 1e9, bound, l.dropped);
	ASSERT_GE(l.lines, 1);
	ASSERT_LE(l.lines, bound);
	ASSERT_EQ(l.lines, l.errors);
	/* Lines plus the drops they report never exceed the panics. */
	ASSERT_ULE((unsigned long long)l.lines + l.dropped, (FLOOD_N + 1) / 3);
}

/* A line after the first window reports how many were dropped before it:
 * every panic is either a line or counted in a later line. */
TEST(panic_log_reports_dropped)
{
	int64_t t0 = test_now_ns(), deadline = t0 + TEST_WAIT_NS, burst;
	struct logcap l;
	long panics = 0;
	pool_t *p;

	logcap_init(&l);
	p = new_pool(1, 0, 0, NULL, &l);
	for (int i = 0; i < 100; i++, panics++)
		ASSERT_ERR(pool_submit_wait(p, task_panic, (void *)(intptr_t)1),
			   POOL_EPANIC);
	burst = test_now_ns() - t0;
	pthread_mutex_lock(&l.mu);
	/* All in the first window: 10 lines, 90 dropped. */
	if (burst < SEC(1))
		ASSERT_EQ(l.lines, 10);
	pthread_mutex_unlock(&l.mu);
	/* Poll (one panic per round) until a panic after the first window
	 * writes a line. */
	for (;;) {
		long before, lines;

		pthread_mutex_lock(&l.mu);
		before = l.lines;
		pthread_mutex_unlock(&l.mu);
		ASSERT_ERR(pool_submit_wait(p, task_panic, (void *)(intptr_t)1),
			   POOL_EPANIC);
		panics++;
		pthread_mutex_lock(&l.mu);
		lines = l.lines;
		pthread_mutex_unlock(&l.mu);
		if (lines > 10 && lines > before)
			break;
		if (test_now_ns() > deadline)
			FAIL("no panic log line after the first window");
	}
	printf("%ld panics: %ld lines, %llu reported dropped: %s\n", panics,
	       l.lines, l.dropped, l.last);
	if (burst < SEC(1)) {
		ASSERT_EQ(l.lines, 11);
		ASSERT_UGE(l.dropped, 90);
	}
	ASSERT_UEQ((unsigned long long)l.lines + l.dropped, panics);
	ASSERT_OK(pool_destroy(p));
}

/* ---- inline runs and pool_submit_wait ---- */

struct inline_case {
	struct seen *s;
	pool_t *p;
	struct rec defer;
	int sub1, sub2;
};

/* On a 1 x 1 pool: the first submit fills our ring, the second overflows
 * and runs inline here; its panic must end only that inline task. */
static void task_outer(void *arg)
{
	struct inline_case *c = arg;

	c->defer.s = c->s;
	c->defer.id = 3;
	ASSERT_OK(pool_defer(defer_record, &c->defer));
	c->sub1 = pool_submit(c->p, task_nop, NULL);
	c->sub2 = pool_submit(c->p, task_panic, (void *)(intptr_t)13);
	seen_record(c->s, 2); /* the outer task goes on */
}

TEST(panic_inline_run_spares_outer_task)
{
	struct inline_case c;
	struct seen s;
	pool_stats_t st;

	seen_init(&s);
	memset(&c, 0, sizeof(c));
	c.s = &s;
	c.p = new_pool(1, 1, 0, &s, NULL);
	ASSERT_OK(pool_submit_wait(c.p, task_outer, &c));
	ASSERT_OK(pool_release_timeout(c.p, SEC(30)));
	ASSERT_OK(c.sub1);
	ASSERT_OK(c.sub2);
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, 13);
	ASSERT_PTR_EQ(s.fn, task_panic);
	ASSERT_EQ(s.norder, 3);
	ASSERT_EQ(s.order[0], ORDER_HANDLER);
	ASSERT_EQ(s.order[1], 2);
	ASSERT_EQ(s.order[2], 3);
	st = test_stats(c.p);
	ASSERT_UEQ(st.inline_runs, 1);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_OK(pool_destroy(c.p));
}

TEST(panic_in_submit_wait)
{
	struct seen s;
	pool_stats_t st;
	pool_t *p;

	seen_init(&s);
	p = new_pool(2, 0, 0, &s, NULL);
	/* The handler ran before the call returns, which reports the panic
	 * with its own code. */
	ASSERT_ERR(pool_submit_wait(p, task_panic, (void *)(intptr_t)31),
		   POOL_EPANIC);
	ASSERT_EQ(seen_calls(&s), 1);
	ASSERT_EQ(s.code, 31);
	ASSERT_PTR_EQ(s.fn, task_panic);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_UEQ(st.completed, 1);
	ASSERT_OK(pool_destroy(p));
}

static void task_wait_inline(void *arg)
{
	struct inline_case *c = arg;

	c->sub1 = pool_submit_wait(c->p, task_panic, (void *)(intptr_t)17);
	seen_record(c->s, 2);
}

TEST(panic_in_submit_wait_inline)
{
	struct inline_case c;
	struct seen s;
	pool_stats_t st;

	seen_init(&s);
	memset(&c, 0, sizeof(c));
	c.s = &s;
	c.sub1 = 1;
	c.p = new_pool(2, 0, 0, &s, NULL);
	ASSERT_OK(pool_submit_wait(c.p, task_wait_inline, &c));
	ASSERT_OK(pool_release_timeout(c.p, SEC(30)));
	/* Inline too, the panic is reported to the caller. */
	ASSERT_ERR(c.sub1, POOL_EPANIC);
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, 17);
	ASSERT_EQ(s.norder, 2);
	ASSERT_EQ(s.order[0], ORDER_HANDLER);
	ASSERT_EQ(s.order[1], 2);
	st = test_stats(c.p);
	ASSERT_UEQ(st.inline_runs, 1);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_OK(pool_destroy(c.p));
}

/* ---- outside a task: abort (death tests) ---- */

static void child_panic(void)
{
	pool_panic(3, "no task here");
}

static void child_panicf(void)
{
	pool_panicf(4, "no task %s", "either");
}

static void *thread_panic(void *arg)
{
	(void)arg;
	pool_panic(5, "plain thread");
}

/* A thread that is not a worker, while a pool is alive. */
static void child_panic_thread(void)
{
	pool_t *p;
	pthread_t t;

	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	thread_start(&t, thread_panic, NULL);
	thread_join(t);
}

TEST(panic_outside_task_aborts)
{
	char err[4096];
	int st;

	st = run_child(child_panic, err, sizeof(err));
	assert_died_by(st, SIGABRT, err);
	if (!strstr(err, "no task here") || !strstr(err, "outside"))
		FAIL("child stderr does not report the misuse: %s", err);
	st = run_child(child_panicf, err, sizeof(err));
	assert_died_by(st, SIGABRT, err);
	if (!strstr(err, "no task either"))
		FAIL("child stderr does not report the misuse: %s", err);
	st = run_child(child_panic_thread, err, sizeof(err));
	assert_died_by(st, SIGABRT, err);
	if (!strstr(err, "plain thread"))
		FAIL("child stderr does not report the misuse: %s", err);
}

/* ---- the worker's long-lived frame ---- */

/* One worker alternates: a task that defers then panics, a task that
 * defers and returns, a task that panics without deferring. The worker's
 * frame (re-armed after each panic) must start every task clean: each
 * deferred call runs once, after its own task, each panic reports its own
 * code and message, and the queue-bound places of the panicked tasks come
 * back (tasks are tagged: the pool has a bound). */
struct frame_case {
	struct seen *s;
	struct rec r[3];
	int kind;
};

static void task_frame_case(void *arg)
{
	struct frame_case *c = arg;

	switch (c->kind) {
	case 0:
		ASSERT_OK(pool_defer(defer_record, &c->r[0]));
		pool_panic(7, "deferred then panicked");
		break;
	case 1:
		ASSERT_OK(pool_defer(defer_record, &c->r[1]));
		break;
	default:
		pool_panicf(8, "plain %d", c->kind);
	}
}

TEST(worker_frame_reused_across_panics)
{
	enum { ROUNDS = 50 };
	static struct frame_case cs[ROUNDS * 3];
	pool_options_t o = test_opts(1, 0, POOL_DISABLE_PURGE);
	pool_stats_t st = POOL_STATS_INIT;
	struct seen s;
	pool_t *p;
	int defers = 0, handler = 0;

	seen_init(&s);
	o.panic_handler = seen_handler;
	o.panic_ctx = &s;
	o.queue_limit = ROUNDS * 3;
	ASSERT_OK(pool_new(&p, &o));
	for (int i = 0; i < ROUNDS * 3; i++) {
		cs[i].s = &s;
		cs[i].kind = i % 3;
		for (int k = 0; k < 3; k++) {
			cs[i].r[k].s = &s;
			cs[i].r[k].id = i;
		}
		ASSERT_OK(pool_submit(p, task_frame_case, &cs[i]));
	}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 2 * ROUNDS);
	/* Order: each deferred call with its task's id, each handler call
	 * right after task 3k's deferred call or alone for task 3k + 2. */
	for (int i = 0; i < s.norder; i++) {
		if (s.order[i] == ORDER_HANDLER)
			handler++;
		else
			defers++;
	}
	ASSERT_EQ(s.norder, 64); /* the log keeps the first 64 entries */
	ASSERT_EQ(s.order[0], 0);
	ASSERT_EQ(s.order[1], ORDER_HANDLER);
	ASSERT_EQ(s.order[2], 1);
	ASSERT_EQ(s.order[3], ORDER_HANDLER);
	ASSERT_EQ(s.order[4], 3);
	ASSERT_EQ(s.order[5], ORDER_HANDLER);
	ASSERT_EQ(s.order[6], 4);
	ASSERT_EQ(s.order[7], ORDER_HANDLER);
	ASSERT_EQ(s.code, 8);
	ASSERT_STR_EQ(s.msg, "plain 2");
	ASSERT_OK(pool_stats(p, &st));
	ASSERT_UEQ(st.completed, ROUNDS * 3);
	ASSERT_UEQ(st.panicked, 2 * ROUNDS);
	ASSERT_UEQ(st.bounded_inflight, 0);
	ASSERT(defers > 0 && handler > 0);
	ASSERT_OK(pool_destroy(p));
}

/* ---- the worker frame's storage: made at the first need, kept ---- */

/* failpoint.c (test library). */
void pool__test_fail_after(long k);
long pool__test_alloc_calls(void);

enum storage_step {
	ST_NOTHING,	/* a plain task: allocates nothing */
	ST_DEFER,	/* the worker's first pool_defer: one allocation */
	ST_DEFER_AGAIN, /* a later task's pool_defer: none (kept) */
	ST_PANIC_LONG,	/* a panic with a long message: none, message cut */
	ST_DEFER_NOMEM, /* first need on a fresh worker, allocation fails */
	ST_PANIC_NOMEM, /* first need is a panic, allocation fails */
	ST_PANIC_AFTER, /* the same worker's next panic: message kept */
	ST_PANIC_EMPTY, /* a panic without a message: needs no storage */
};

struct storage_case {
	struct counter *done;
	struct seen *s;
	enum storage_step step;
	long allocs; /* pool__test_alloc_calls() across the step */
	int rc, rc2;
	struct rec r;
};

static void task_storage_step(void *arg)
{
	struct storage_case *c = arg;
	long before = pool__test_alloc_calls();
	char big[POOL_PANIC_MSG_MAX + 40];

	c->r.s = c->s;
	c->r.id = (int)c->step;
	switch (c->step) {
	case ST_NOTHING:
		break;
	case ST_DEFER:
	case ST_DEFER_AGAIN:
		c->rc = pool_defer(defer_record, &c->r);
		break;
	case ST_PANIC_LONG:
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		/* Counted before the panic, which never returns here; the
		 * copy of the message is checked by the handler's view. */
		c->allocs = pool__test_alloc_calls() - before;
		counter_add(c->done, 1);
		pool_panic(41, big);
	case ST_DEFER_NOMEM:
		pool__test_fail_after(0);
		c->rc = pool_defer(defer_record, &c->r);
		pool__test_fail_after(-1);
		/* With memory again: registered, and it runs. */
		c->rc2 = pool_defer(defer_record, &c->r);
		break;
	case ST_PANIC_NOMEM:
		counter_add(c->done, 1);
		pool__test_fail_after(0);
		pool_panic(42, "not kept");
	case ST_PANIC_AFTER:
		counter_add(c->done, 1);
		pool_panic(43, "kept again");
	case ST_PANIC_EMPTY:
		counter_add(c->done, 1);
		pool_panic(44, NULL);
	}
	c->allocs = pool__test_alloc_calls() - before;
	counter_add(c->done, 1);
}

/* Run one step on p's worker and wait for it to be counted (the main
 * thread allocates nothing while the step runs). */
static void storage_step(pool_t *p, struct storage_case *c,
			 enum storage_step step, struct counter *done,
			 struct seen *s)
{
	long target = counter_get(done) + 1;

	memset(c, 0, sizeof(*c));
	c->done = done;
	c->s = s;
	c->step = step;
	ASSERT_OK(pool_submit(p, task_storage_step, c));
	counter_wait(done, target);
}

TEST(worker_frame_storage_made_at_first_need_and_kept)
{
	struct storage_case c[4];
	struct counter done;
	struct seen s;
	pool_t *p;

	seen_init(&s);
	counter_init(&done);
	p = new_pool(1, 0, 0, &s, NULL);
	storage_step(p, &c[0], ST_NOTHING, &done, &s);
	storage_step(p, &c[1], ST_DEFER, &done, &s);
	storage_step(p, &c[2], ST_DEFER_AGAIN, &done, &s);
	storage_step(p, &c[3], ST_PANIC_LONG, &done, &s);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(c[0].allocs, 0);
	ASSERT_EQ(c[1].rc, 0);
	ASSERT_EQ(c[1].allocs, 1);
	ASSERT_EQ(c[2].rc, 0);
	ASSERT_EQ(c[2].allocs, 0);
	ASSERT_EQ(c[3].allocs, 0);
	/* Both deferred calls ran, then the panic was reported once, with
	 * its message cut to POOL_PANIC_MSG_MAX - 1 bytes. */
	ASSERT_EQ(s.norder, 3);
	ASSERT_EQ(s.order[0], ST_DEFER);
	ASSERT_EQ(s.order[1], ST_DEFER_AGAIN);
	ASSERT_EQ(s.order[2], ORDER_HANDLER);
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.code, 41);
	ASSERT_EQ((long)strlen(s.msg), POOL_PANIC_MSG_MAX - 1);
	ASSERT_EQ(s.msg[0], 'x');
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&done);
}

/* Every panic's code and message, in order (one worker; read after
 * pool_release_timeout). */
struct msgs {
	int n;
	int code[4];
	char msg[4][POOL_PANIC_MSG_MAX];
};

static void msgs_handler(void *ctx, const pool_panic_info_t *in)
{
	struct msgs *m = ctx;

	/* Disarm the failure ST_PANIC_NOMEM armed (it fails every call
	 * until disarmed; the panic never returned to do it). */
	pool__test_fail_after(-1);
	if (m->n < 4) {
		m->code[m->n] = in->code;
		snprintf(m->msg[m->n], sizeof(m->msg[0]), "%s", in->msg);
	}
	m->n++;
}

TEST(worker_frame_storage_out_of_memory)
{
	static struct msgs msgs;
	struct storage_case c[3];
	struct counter done;
	struct seen s;
	pool_stats_t st;
	pool_options_t o = test_opts(1, 0, POOL_DISABLE_PURGE);
	pool_t *p;

	/* A fresh worker whose first need is a pool_defer that cannot get
	 * the storage: POOL_ENOMEM, nothing registered; the next call
	 * (memory again) works and its call runs. */
	seen_init(&s);
	counter_init(&done);
	p = new_pool(1, 0, 0, &s, NULL);
	storage_step(p, &c[0], ST_DEFER_NOMEM, &done, &s);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(c[0].rc, POOL_ENOMEM);
	ASSERT_EQ(c[0].rc2, 0);
	ASSERT_EQ(s.norder, 1);
	ASSERT_EQ(s.order[0], ST_DEFER_NOMEM);
	ASSERT_EQ(s.calls, 0);
	ASSERT_OK(pool_destroy(p));

	/* A fresh worker whose first need is a panic that cannot get the
	 * storage: reported with the out-of-memory notice instead of its
	 * message; the worker goes on, and its next panic keeps its own. */
	memset(&msgs, 0, sizeof(msgs));
	o.panic_handler = msgs_handler;
	o.panic_ctx = &msgs;
	ASSERT_OK(pool_new(&p, &o));
	storage_step(p, &c[1], ST_PANIC_NOMEM, &done, &s);
	storage_step(p, &c[2], ST_PANIC_AFTER, &done, &s);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(msgs.n, 2);
	ASSERT_EQ(msgs.code[0], 42);
	ASSERT_STR_EQ(msgs.msg[0], "(panic message not kept: out of memory)");
	ASSERT_EQ(msgs.code[1], 43);
	ASSERT_STR_EQ(msgs.msg[1], "kept again");
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 2);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&done);
}

TEST(worker_frame_storage_not_made_for_an_empty_message)
{
	static struct msgs msgs;
	struct storage_case c[2];
	struct counter done;
	struct seen s;
	pool_options_t o = test_opts(1, 0, POOL_DISABLE_PURGE);
	pool_t *p;

	/* A fresh worker's first panic has no message: it is reported with
	 * "" and allocates nothing, so the worker's first pool_defer after
	 * it is the one that makes the storage. */
	seen_init(&s);
	counter_init(&done);
	memset(&msgs, 0, sizeof(msgs));
	o.panic_handler = msgs_handler;
	o.panic_ctx = &msgs;
	ASSERT_OK(pool_new(&p, &o));
	storage_step(p, &c[0], ST_PANIC_EMPTY, &done, &s);
	storage_step(p, &c[1], ST_DEFER, &done, &s);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(msgs.n, 1);
	ASSERT_EQ(msgs.code[0], 44);
	ASSERT_STR_EQ(msgs.msg[0], "");
	ASSERT_EQ(c[1].rc, 0);
	ASSERT_EQ(c[1].allocs, 1);
	ASSERT_EQ(s.norder, 1);
	ASSERT_EQ(s.order[0], ST_DEFER);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&done);
}
