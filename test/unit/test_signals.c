/* SPDX-License-Identifier: MIT */
/*
 * test_signals.c - POOL_CATCH_SIGNALS: SIGSEGV, SIGBUS, SIGFPE and SIGILL
 * raised synchronously inside a task become a panic of that task; anywhere
 * else the previous disposition applies; the handlers are reference-counted
 * across pools and what the application had is restored (docs/panic.md).
 *
 * Death tests fork at the start of the case, while the test process has no
 * other thread. "As before" is checked against a control child that does
 * the same thing without any pool: under a sanitizer the process may end
 * through the sanitizer's report (an exit status) rather than the signal,
 * and the pool must not change that either way. In the plain build the
 * control itself must die by the signal.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#if defined(UNDER_ASAN) || defined(UNDER_TSAN)
#define UNDER_SANITIZER 1
#endif

/* ---- helpers ---- */

/* The faulting store is the point: keep UBSan's null check out of it. */
static int *volatile null_ptr;

__attribute__((noinline, no_sanitize("undefined"))) static void write_null(void)
{
	*null_ptr = 1;
}

struct sig_seen {
	pthread_mutex_t mu;
	long calls;
	int code, signo;
	char msg[POOL_PANIC_MSG_MAX];
	pool_task_fn fn;
	void *arg;
};

static void sig_handler(void *ctx, const pool_panic_info_t *in)
{
	struct sig_seen *s = ctx;

	pthread_mutex_lock(&s->mu);
	s->calls++;
	s->code = in->code;
	s->signo = in->signo;
	s->fn = in->fn;
	s->arg = in->arg;
	snprintf(s->msg, sizeof(s->msg), "%s", in->msg);
	pthread_mutex_unlock(&s->mu);
}

static pool_t *catching_pool(struct sig_seen *s, size_t stack)
{
	pool_options_t o =
		test_opts(1, 0, POOL_CATCH_SIGNALS | POOL_DISABLE_PURGE);
	pool_t *p;

	if (s) {
		memset(s, 0, sizeof(*s));
		pthread_mutex_init(&s->mu, NULL);
		o.panic_handler = sig_handler;
		o.panic_ctx = s;
	}
	o.stack_size = stack;
	ASSERT_OK(pool_new(&p, &o));
	return p;
}

static void defer_flag(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

struct sig_task {
	int sig; /* 0: a real null write */
	atomic_int deferred;
	atomic_int after; /* reached past the fault: must stay 0 */
};

static void task_fault(void *arg)
{
	struct sig_task *t = arg;

	ASSERT_OK(pool_defer(defer_flag, &t->deferred));
	if (t->sig == 0)
		write_null();
	else
		raise(t->sig);
	atomic_store(&t->after, 1);
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	}
	return "?";
}

/* One fault inside a task of a catching pool: the task ends as a panic
 * (code == signo), its deferred call runs, the worker survives. */
static void check_caught(int how)
{
	int sig = how ? how : SIGSEGV;
	struct sig_task t;
	struct sig_seen s;
	struct counter c;
	pool_stats_t st;
	pool_t *p;

	memset(&t, 0, sizeof(t));
	t.sig = how;
	counter_init(&c);
	p = catching_pool(&s, 0);
	ASSERT_OK(pool_submit(p, task_fault, &t));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.signo, sig);
	ASSERT_EQ(s.code, sig);
	ASSERT_STR_EQ(s.msg, sig_name(sig));
	ASSERT_PTR_EQ(s.fn, task_fault);
	ASSERT_PTR_EQ(s.arg, &t);
	ASSERT_EQ(atomic_load(&t.deferred), 1);
	ASSERT_EQ(atomic_load(&t.after), 0);
	ASSERT_EQ(counter_get(&c), 1);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_UEQ(st.completed, 2);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

TEST(signal_segv_null_write)
{
	check_caught(0);
}

TEST(signal_segv_raise)
{
	check_caught(SIGSEGV);
}

TEST(signal_bus_raise)
{
	check_caught(SIGBUS);
}

TEST(signal_fpe_raise)
{
	check_caught(SIGFPE);
}

TEST(signal_ill_raise)
{
	check_caught(SIGILL);
}

/* The same worker takes fault after fault: jumping out of the handler
 * leaves no signal blocked (a blocked SIGSEGV on a real fault would kill the
 * process; a blocked raised one would let the task run on). */
TEST(signal_repeated_on_one_worker)
{
	static const int sigs[] = {0, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	enum { ROUNDS = 200 };
	struct sig_task t[ROUNDS];
	struct sig_seen s;
	pool_stats_t st;
	pool_t *p;

	p = catching_pool(&s, 0);
	for (int i = 0; i < ROUNDS; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].sig = sigs[i % 5];
		ASSERT_OK(pool_submit(p, task_fault, &t[i]));
	}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	for (int i = 0; i < ROUNDS; i++) {
		ASSERT_EQ(atomic_load(&t[i].deferred), 1);
		ASSERT_EQ(atomic_load(&t[i].after), 0);
	}
	ASSERT_EQ(s.calls, ROUNDS);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, ROUNDS);
	ASSERT_UEQ(st.spawned, 1);
	ASSERT_OK(pool_destroy(p));
}

/*
 * The signal mask after a caught fault is what the worker had before it.
 * Here the handler the kernel calls is the application's, installed after
 * the pool and forwarding to it (a crash reporter that chains): without
 * SA_NODEFER the kernel blocks SIGSEGV while it runs, so a jump out of the
 * pool's handler that does not restore the mask leaves SIGSEGV blocked on
 * that worker, and its next fault kills the process. (TSan's own signal
 * wrapper, which blocks every signal around a handler, makes
 * signal_repeated_on_one_worker hit the same.)
 */
static struct sigaction chained_prev;

static void chaining_handler(int sig, siginfo_t *si, void *uc)
{
	if (chained_prev.sa_flags & SA_SIGINFO)
		chained_prev.sa_sigaction(sig, si, uc);
}

static void task_segv_blocked(void *arg)
{
	sigset_t m;

	ASSERT_EQ(pthread_sigmask(SIG_BLOCK, NULL, &m), 0);
	*(int *)arg = sigismember(&m, SIGSEGV);
}

TEST(signal_mask_restored_behind_chaining_handler)
{
	struct sigaction sa;
	struct sig_task t;
	struct sig_seen s;
	int blocked = -1;
	pool_t *p;

	p = catching_pool(&s, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = chaining_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(sigaction(SIGSEGV, &sa, &chained_prev), 0);

	ASSERT_OK(pool_submit_wait(p, task_segv_blocked, &blocked));
	ASSERT_EQ(blocked, 0);
	memset(&t, 0, sizeof(t));
	ASSERT_ERR(pool_submit_wait(p, task_fault, &t), POOL_EPANIC);
	ASSERT_EQ(s.calls, 1);
	ASSERT_OK(pool_submit_wait(p, task_segv_blocked, &blocked));
	if (blocked != 0)
		FAIL("SIGSEGV is left blocked on the worker after a caught "
		     "fault (the jump out of the handler did not restore the "
		     "signal mask); its next fault would kill the process");
	memset(&t, 0, sizeof(t));
	ASSERT_ERR(pool_submit_wait(p, task_fault, &t), POOL_EPANIC);
	ASSERT_EQ(s.calls, 2);
	ASSERT_UEQ(test_stats(p).spawned, 1);
	ASSERT_EQ(sigaction(SIGSEGV, &chained_prev, NULL), 0);
	ASSERT_OK(pool_destroy(p));
}

/* A fault inside a deferred call (after a normal return) is the task's
 * panic too. */
static void defer_fault(void *arg)
{
	(void)arg;
	write_null();
}

static void task_defer_fault(void *arg)
{
	ASSERT_OK(pool_defer(defer_flag, arg));
	ASSERT_OK(pool_defer(defer_fault, NULL));
}

TEST(signal_in_deferred_call)
{
	atomic_int deferred = 0;
	struct sig_seen s;
	pool_t *p;

	p = catching_pool(&s, 0);
	ASSERT_OK(pool_submit(p, task_defer_fault, &deferred));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.signo, SIGSEGV);
	ASSERT_EQ(atomic_load(&deferred), 1);
	ASSERT_UEQ(test_stats(p).panicked, 1);
	ASSERT_OK(pool_destroy(p));
}

/* A stack overflow is reported through the worker's alternate stack. */
static atomic_long depth_sink;
static volatile long depth_limit = 1L << 40; /* never reached */

__attribute__((noinline)) static long recurse(long n)
{
	volatile char frame[512];

	frame[0] = (char)n;
	frame[511] = (char)n;
	if (n > depth_limit)
		return 0;
	return recurse(n + 1) + frame[0] + frame[511];
}

static void task_overflow(void *arg)
{
	(void)arg;
	atomic_store(&depth_sink, recurse(0));
}

TEST(signal_stack_overflow)
{
	struct counter c;
	struct sig_seen s;
	pool_t *p;

	counter_init(&c);
	p = catching_pool(&s, 256 * 1024);
	ASSERT_OK(pool_submit(p, task_overflow, NULL));
	ASSERT_OK(pool_submit(p, task_count, &c));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(s.calls, 1);
	ASSERT_EQ(s.signo, SIGSEGV);
	ASSERT_EQ(counter_get(&c), 1);
	ASSERT_UEQ(test_stats(p).spawned, 1);
	ASSERT_OK(pool_destroy(p));
	counter_destroy(&c);
}

/* ---- reference counting and restoration ---- */

static const int caught_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};

static void marker_action(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	_exit(40 + sig % 20);
}

static void marker_handler(int sig)
{
	_exit(60 + sig % 20);
}

/* SIGSEGV and SIGFPE get an SA_SIGINFO marker, SIGBUS a plain one, SIGILL
 * keeps what it had. */
static void install_markers(struct sigaction before[4])
{
	struct sigaction sa;

	for (int i = 0; i < 4; i++) {
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		if (caught_sigs[i] == SIGBUS) {
			sa.sa_handler = marker_handler;
		} else if (caught_sigs[i] != SIGILL) {
			sa.sa_sigaction = marker_action;
			sa.sa_flags = SA_SIGINFO;
		}
		if (caught_sigs[i] == SIGILL)
			ASSERT_EQ(sigaction(SIGILL, NULL, &sa), 0);
		else
			ASSERT_EQ(sigaction(caught_sigs[i], &sa, NULL), 0);
		before[i] = sa;
	}
}

static int same_disposition(const struct sigaction *a,
			    const struct sigaction *b)
{
	if ((a->sa_flags & SA_SIGINFO) != (b->sa_flags & SA_SIGINFO))
		return 0;
	if (a->sa_flags & SA_SIGINFO)
		return a->sa_sigaction == b->sa_sigaction;
	return a->sa_handler == b->sa_handler;
}

/* all == 1: every signal has the application's disposition; 0: none. */
static void check_markers(const struct sigaction before[4], int all,
			  const char *when)
{
	struct sigaction now;

	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(sigaction(caught_sigs[i], NULL, &now), 0);
		if (same_disposition(&now, &before[i]) != all)
			FAIL("%s: %s %s the application's disposition", when,
			     sig_name(caught_sigs[i]),
			     all ? "does not have" : "still has");
	}
}

TEST(signal_handlers_refcounted_and_restored)
{
	struct sigaction before[4];
	struct sig_task t;
	struct sig_seen s1;
	pool_t *p1, *p2, *p3, *plain;

	install_markers(before);
	ASSERT_OK(pool_new(&plain, NULL)); /* no flag: installs nothing */
	check_markers(before, 1, "pool without the flag");
	p1 = catching_pool(&s1, 0);
	check_markers(before, 0, "one catching pool");
	p2 = catching_pool(NULL, 0);
	p3 = catching_pool(NULL, 0);
	ASSERT_OK(pool_destroy(p2));
	check_markers(before, 0, "two catching pools left");
	/* p1 still catches. */
	memset(&t, 0, sizeof(t));
	ASSERT_ERR(pool_submit_wait(p1, task_fault, &t), POOL_EPANIC);
	ASSERT_EQ(s1.calls, 1);
	ASSERT_OK(pool_destroy(p1));
	check_markers(before, 0, "one catching pool left");
	ASSERT_OK(pool_destroy(p3));
	check_markers(before, 1, "all catching pools destroyed");
	/* Again from scratch: installed and restored a second time. */
	p1 = catching_pool(&s1, 0);
	check_markers(before, 0, "a new catching pool");
	memset(&t, 0, sizeof(t));
	ASSERT_ERR(pool_submit_wait(p1, task_fault, &t), POOL_EPANIC);
	ASSERT_EQ(s1.calls, 1);
	ASSERT_OK(pool_destroy(p1));
	check_markers(before, 1, "the new pool destroyed");
	ASSERT_OK(pool_destroy(plain));
	check_markers(before, 1, "end");
}

static void *churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		pool_t *p = catching_pool(NULL, 0);

		ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
		ASSERT_OK(pool_destroy(p));
	}
	return NULL;
}

TEST(signal_handlers_refcount_concurrent)
{
	struct sigaction before[4];
	pthread_t th[4];

	install_markers(before);
	for (int i = 0; i < 4; i++)
		thread_start(&th[i], churn, NULL);
	for (int i = 0; i < 4; i++)
		thread_join(th[i]);
	check_markers(before, 1, "after concurrent create/destroy");
}

/* ---- death tests: outside a task, the process dies as before ---- */

static int run_child(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		alarm(20); /* a hung child ends (SIGALRM handler: exit 1) */
		fn();
		_exit(0); /* survived: wrong */
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

static void describe(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
	else if (WIFEXITED(st))
		snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
	else
		snprintf(buf, n, "status %#x", st);
}

/* `got` ended like `control`, which ended as a crash (in the plain build:
 * death by SIGSEGV). */
static void assert_same_crash(int control, int got, const char *what)
{
	char a[64], b[64];

	describe(control, a, sizeof(a));
	describe(got, b, sizeof(b));
	printf("%s: control %s, with the pool %s\n", what, a, b);
	if (WIFEXITED(control) && WEXITSTATUS(control) == 0)
		FAIL("%s: the control child survived its fault", what);
#ifndef UNDER_SANITIZER
	if (!WIFSIGNALED(control) || WTERMSIG(control) != SIGSEGV)
		FAIL("%s: control child: %s, expected SIGSEGV", what, a);
#endif
	if (WIFSIGNALED(control) != WIFSIGNALED(got) ||
	    (WIFSIGNALED(got) && WTERMSIG(got) != WTERMSIG(control)) ||
	    (WIFEXITED(got) && WEXITSTATUS(got) != WEXITSTATUS(control)))
		FAIL("%s: %s with the pool, %s without", what, b, a);
}

static pool_t *live_catching_pool(void)
{
	pool_t *p = catching_pool(NULL, 0);

	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	return p;
}

static void child_main_fault(void)
{
	write_null();
}

static void child_main_fault_with_pool(void)
{
	live_catching_pool();
	write_null();
}

static void *thread_fault(void *arg)
{
	(void)arg;
	write_null();
	return NULL;
}

static void child_thread_fault(void)
{
	pthread_t t;

	thread_start(&t, thread_fault, NULL);
	thread_join(t);
}

static void child_thread_fault_with_pool(void)
{
	live_catching_pool();
	child_thread_fault();
}

TEST(signal_outside_task_kills_main_thread)
{
	int control = run_child(child_main_fault);
	int got = run_child(child_main_fault_with_pool);

	assert_same_crash(control, got, "main thread");
}

TEST(signal_outside_task_kills_other_thread)
{
	int control = run_child(child_thread_fault);
	int got = run_child(child_thread_fault_with_pool);

	assert_same_crash(control, got, "non-worker thread");
}

/* The application's own handler still gets a fault outside a task. */
static void child_app_handler_with_pool(void)
{
	struct sigaction before[4];

	install_markers(before);
	live_catching_pool();
	write_null();
}

TEST(signal_outside_task_reaches_app_handler)
{
	int st = run_child(child_app_handler_with_pool);
	char d[64];

	describe(st, d, sizeof(d));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 40 + SIGSEGV % 20)
		FAIL("expected the application's SIGSEGV handler (exit %d), "
		     "got %s",
		     40 + SIGSEGV % 20, d);
}

/* A pool without the flag does not catch, alone or next to one that
 * does. */
static void task_raise_segv(void *arg)
{
	(void)arg;
	raise(SIGSEGV);
}

static void *thread_raise_segv(void *arg)
{
	task_raise_segv(arg);
	return NULL;
}

static void child_raise_in_thread(void)
{
	pthread_t t;

	thread_start(&t, thread_raise_segv, NULL);
	thread_join(t);
}

static void child_raise_in_plain_pool(void)
{
	pool_t *p;
	int rc;

	ASSERT_OK(pool_new(&p, NULL));
	rc = pool_submit_wait(p, task_raise_segv, NULL);
	(void)rc; /* never returns: the task kills the process */
}

static void child_raise_in_plain_pool_next_to_catching(void)
{
	live_catching_pool();
	child_raise_in_plain_pool();
}

static void task_write_null(void *arg)
{
	(void)arg;
	write_null();
}

static void child_fault_in_plain_pool_next_to_catching(void)
{
	pool_t *p;
	int rc;

	live_catching_pool();
	ASSERT_OK(pool_new(&p, NULL));
	rc = pool_submit_wait(p, task_write_null, NULL);
	(void)rc; /* never returns: the task kills the process */
}

TEST(signal_pool_without_flag_does_not_catch)
{
	int control = run_child(child_raise_in_thread);

	assert_same_crash(control, run_child(child_raise_in_plain_pool),
			  "pool without the flag");
	assert_same_crash(control,
			  run_child(child_raise_in_plain_pool_next_to_catching),
			  "pool without the flag next to a catching pool");
	control = run_child(child_thread_fault);
	assert_same_crash(control,
			  run_child(child_fault_in_plain_pool_next_to_catching),
			  "null write, pool without the flag next to a "
			  "catching pool");
}
