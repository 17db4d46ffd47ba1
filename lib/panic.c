/* SPDX-License-Identifier: MIT */
/*
 * lib/panic.c - per-task guards, pool_panic / pool_defer, the panic handler
 * and opt-in signal recovery (POOL_CATCH_SIGNALS).
 *
 * Lock order: sig_lock (this file) is a leaf lock taken only by pool_new and
 * the pool's final free, never by a worker or inside a signal handler.
 *
 * A guard is a struct pool_frame on the worker's C stack, linked from the
 * thread-local `tls_frame` (pool__frame_cur). A worker runs its plain tasks
 * in one long-lived frame of its own, armed once and again after each
 * panic it catches (worker.c, worker_guarded); every other guarded call
 * (inline runs, hooked tasks, trampolines, deferred calls, the
 * panic handler) gets a frame of its own from pool__run_guarded. pool_panic and
 * the signal handler record the panic in the innermost frame and siglongjmp to
 * it; the frame then runs its deferred calls (each in a frame of its own, so a
 * panic there is caught too), and pool__run_guarded reports the panic.
 * sigsetjmp(env, 0) does not save the signal mask (no syscall per task); the
 * signal handler is installed with SA_NODEFER, so jumping out of it leaves the
 * mask as it was.
 *
 * A frame's deferred calls and copied message live in a struct
 * pool_frame_ext: beside a short-lived frame on the stack, but allocated at
 * first need for the worker's long-lived frame (an idle worker's stack then
 * holds 512 bytes less: docs/design.md, "Where an idle worker's bytes go").
 * The first need is a pool_defer (POOL_ENOMEM if it cannot be had) or a
 * pool_panic, which runs in the task, not in a signal handler; a caught
 * signal's message is its name, a static string, so the handler allocates
 * nothing.
 */
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "pool/panic.h"

/* Initial-exec: read by the signal handler, which must not allocate. */
_Thread_local struct pool_frame *pool__frame_cur
	__attribute__((tls_model("initial-exec")));
#define tls_frame pool__frame_cur

/* Shown when a panic's message could not be copied (no memory for the
 * worker's storage, on its first panic). */
static const char msg_lost[] = "(panic message not kept: out of memory)";

/* Leaves f->x alone: it is the frame's storage, not its state. */
static void frame_reset(struct pool_frame *f, struct pool *p)
{
	f->prev = NULL;
	f->pool = p;
	f->panicked = 0;
	f->code = 0;
	f->signo = 0;
	f->ndefer = 0;
	f->msg = "";
}

/* f's storage, allocated now if it has none (only the worker's long-lived
 * frame can have none); NULL when out of memory. Never in a signal
 * handler. */
static struct pool_frame_ext *frame_ext(struct pool_frame *f)
{
	struct pool_frame_ext *x = f->x;

	if (!x) {
		x = pool__alloc(sizeof(*x));
		f->x = x;
	}
	return x;
}

/* f's message becomes a copy of msg[0 .. len) cut to
 * POOL_PANIC_MSG_MAX - 1 bytes ("" itself when empty: no storage needed),
 * or msg_lost. */
static void frame_keep_msg(struct pool_frame *f, const char *msg, size_t len)
{
	struct pool_frame_ext *x;

	if (len == 0) {
		f->msg = "";
		return;
	}
	x = frame_ext(f);
	if (!x) {
		f->msg = msg_lost;
		return;
	}
	if (len >= sizeof(x->msg))
		len = sizeof(x->msg) - 1;
	memmove(x->msg, msg, len);
	x->msg[len] = '\0';
	f->msg = x->msg;
}

static void frame_run(struct pool_frame *f, struct pool_frame_ext *x,
		      struct pool *p, void (*fn)(void *), void *arg);

/* After fn returned or jumped to f: run f's deferred calls (each in a frame
 * of its own; a panic in one replaces f's, as in Go), then leave f. */
static void frame_leave(struct pool_frame *f, struct pool *p)
{
	/* Normal return or a jump to us: tls_frame is f again either way
	 * (a jump only ever targets the innermost frame). */
	tls_frame = f;
	while (f->ndefer > 0) {
		struct pool_defer d = f->x->defers[--f->ndefer];
		struct pool_frame df;
		struct pool_frame_ext dx;

		frame_run(&df, &dx, p, d.fn, d.arg);
		if (df.panicked) {
			/* A panic in a deferred call replaces ours (Go). Its
			 * message: a copy if it is in dx (gone after this
			 * iteration), else the static string itself. */
			f->panicked = 1;
			f->code = df.code;
			f->signo = df.signo;
			if (df.msg == dx.msg)
				frame_keep_msg(f, dx.msg, strlen(dx.msg));
			else
				f->msg = df.msg;
		}
	}
	tls_frame = f->prev;
}

/* Run fn(arg) in frame f (storage x), then f's deferred calls; f says if it
 * panicked. */
static void frame_run(struct pool_frame *f, struct pool_frame_ext *x,
		      struct pool *p, void (*fn)(void *), void *arg)
{
	frame_reset(f, p);
	f->x = x;
	f->prev = tls_frame;
	tls_frame = f;
	if (sigsetjmp(f->env, 0) == 0)
		fn(arg);
	frame_leave(f, p);
}

struct handler_call {
	struct pool *pool;
	pool_panic_info_t info;
};

static void call_handler(void *arg)
{
	struct handler_call *hc = arg;

	hc->pool->panic_handler(hc->pool->panic_ctx, &hc->info);
}

/* At most 10 panic log lines a second per pool; then count the rest. */
static void log_panic(struct pool *p, const char *what,
		      const pool_panic_info_t *in)
{
	int64_t now = pool__now_ns();
	int64_t w = atomic_load_explicit(&p->plog_window, memory_order_relaxed);
	uint64_t dropped;

	if (now - w >= 1000000000 &&
	    atomic_compare_exchange_strong_explicit(&p->plog_window, &w, now,
						    memory_order_relaxed,
						    memory_order_relaxed))
		atomic_store_explicit(&p->plog_count, 0, memory_order_relaxed);
	if (atomic_fetch_add_explicit(&p->plog_count, 1,
				      memory_order_relaxed) >= 10) {
		atomic_fetch_add_explicit(&p->plog_dropped, 1,
					  memory_order_relaxed);
		return;
	}
	dropped = atomic_exchange_explicit(&p->plog_dropped, 0,
					   memory_order_relaxed);
	pool__log(p, POOL_LOG_ERROR,
		  "%s: worker %d: code %d: %s (%llu panic lines dropped "
		  "before this one)",
		  what, in->worker_id, in->code, in->msg,
		  (unsigned long long)dropped);
}

/* f panicked: count it and call the handler (shown fn, arg) or log. */
static void report_panic(struct pool *p, struct pool_frame *f, pool_task_fn fn,
			 void *arg)
{
	struct handler_call hc;

	atomic_fetch_add_explicit(&p->panicked, 1, memory_order_relaxed);
	hc.pool = p;
	hc.info.pool_name = p->name;
	hc.info.fn = fn;
	hc.info.arg = arg;
	hc.info.code = f->code;
	hc.info.msg = f->msg;
	hc.info.worker_id = pool_worker_id();
	hc.info.signo = f->signo;
	if (p->panic_handler) {
		struct pool_frame hf;
		struct pool_frame_ext hx;

		frame_run(&hf, &hx, p, call_handler, &hc);
		if (hf.panicked) {
			pool_panic_info_t hi = hc.info;

			hi.code = hf.code;
			hi.msg = hf.msg;
			hi.signo = hf.signo;
			log_panic(p, "panic inside the panic handler", &hi);
		}
	} else {
		log_panic(p, "task panicked", &hc.info);
	}
}

bool pool__run_guarded(struct pool *p, pool_task_fn fn, void *arg)
{
	return pool__run_guarded_as(p, fn, arg, fn, arg);
}

bool pool__run_guarded_as(struct pool *p, pool_task_fn fn, void *arg,
			  pool_task_fn shown_fn, void *shown_arg)
{
	struct pool_frame f;
	struct pool_frame_ext x;

	frame_run(&f, &x, p, fn, arg);
	if (!f.panicked)
		return false;
	report_panic(p, &f, shown_fn, shown_arg);
	return true;
}

void pool__frame_init(struct pool_frame *f, struct pool *p)
{
	frame_reset(f, p);
	f->x = NULL;
}

void pool__frame_fini(struct pool_frame *f)
{
	pool__free(f->x);
	f->x = NULL;
}

bool pool__frame_end(struct pool_frame *f, struct pool *p, pool_task_fn fn,
		     void *arg)
{
	bool panicked;

	frame_leave(f, p);
	panicked = f->panicked;
	if (panicked)
		report_panic(p, f, fn, arg);
	frame_reset(f, p);
	return panicked;
}

/* Jump to the innermost frame with a panic of code and message msg: copied
 * (len bytes) when copy, else msg itself (a static string: the signal
 * handler's path, which must not allocate). */
static __attribute__((noreturn)) void panic_jump(int code, const char *msg,
						 size_t len, bool copy)
{
	struct pool_frame *f = tls_frame;

	if (copy)
		frame_keep_msg(f, msg, len);
	else
		f->msg = msg;
	f->code = code;
	f->panicked = 1;
	siglongjmp(f->env, 1);
}

static __attribute__((noreturn)) void panic_outside(int code, const char *msg)
{
	fprintf(stderr,
		"pool_panic(%d, \"%s\") called outside a pool task: "
		"nothing can recover it; aborting\n",
		code, msg ? msg : "");
	abort();
}

void pool_panic(int code, const char *msg)
{
	if (!tls_frame)
		panic_outside(code, msg);
	if (!msg)
		msg = "";
	panic_jump(code, msg, strlen(msg), true);
}

void pool_panicf(int code, const char *fmt, ...)
{
	char buf[POOL_PANIC_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (!tls_frame)
		panic_outside(code, buf);
	panic_jump(code, buf, (size_t)n, true);
}

int pool_defer(void (*fn)(void *), void *arg)
{
	struct pool_frame *f = tls_frame;

	if (!fn || !f)
		return POOL_EINVAL;
	if (f->ndefer >= POOL_MAX_DEFERS)
		return POOL_EOVERLOAD;
	if (!frame_ext(f))
		return POOL_ENOMEM;
	f->x->defers[f->ndefer].fn = fn;
	f->x->defers[f->ndefer].arg = arg;
	f->ndefer = f->ndefer + 1;
	return 0;
}

/* ---- signals ---- */

static const int caught[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define NCAUGHT (sizeof(caught) / sizeof(caught[0]))

/* Process-global by nature (signal dispositions are): the handlers the
 * application had, restored when the last POOL_CATCH_SIGNALS pool goes. */
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned sig_users;
static struct sigaction sig_old[NCAUGHT];

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	default:
		return "SIGILL";
	}
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	struct pool_frame *f = tls_frame;
	struct sigaction *old = NULL;
	const char *name;

	if (f && (f->pool->flags & POOL_CATCH_SIGNALS)) {
		/* Async-signal-safe: no allocation, no locks. The jump does
		 * not restore the signal mask (sigsetjmp(env, 0)); with
		 * SA_NODEFER we block nothing, but a handler the application
		 * installed later may chain to us with the signal blocked.
		 * uc_sigmask is the mask when the signal arrived: restore
		 * it, or the next fault on this worker would kill the
		 * process. */
		if (uc)
			pthread_sigmask(SIG_SETMASK,
					&((ucontext_t *)uc)->uc_sigmask, NULL);
		name = sig_name(sig);
		f->signo = sig;
		panic_jump(sig, name, strlen(name), false);
	}
	for (unsigned i = 0; i < NCAUGHT; i++)
		if (caught[i] == sig)
			old = &sig_old[i];
	/* Not ours: behave as the application's disposition would. */
	if (old && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old && old->sa_handler == SIG_IGN)
		return;
	if (old && old->sa_handler != SIG_DFL) {
		old->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int pool__signals_acquire(void)
{
	int r = 0;

	pthread_mutex_lock(&sig_lock);
	if (sig_users == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		for (unsigned i = 0; i < NCAUGHT; i++) {
			if (sigaction(caught[i], &sa, &sig_old[i]) != 0) {
				while (i-- > 0)
					sigaction(caught[i], &sig_old[i], NULL);
				r = POOL_EINVAL;
				break;
			}
		}
	}
	if (r == 0)
		sig_users++;
	pthread_mutex_unlock(&sig_lock);
	return r;
}

void pool__signals_release(void)
{
	pthread_mutex_lock(&sig_lock);
	if (sig_users > 0 && --sig_users == 0)
		for (unsigned i = 0; i < NCAUGHT; i++)
			sigaction(caught[i], &sig_old[i], NULL);
	pthread_mutex_unlock(&sig_lock);
}

/* Per-worker alternate signal stack (a stack overflow can still be
 * reported). Returns the stack to free at exit, or NULL. */
void *pool__altstack_on(void)
{
	size_t size = 64 * 1024;
	void *mem = pool__alloc(size);
	stack_t ss;

	if (!mem)
		return NULL;
	ss.ss_sp = mem;
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		pool__free(mem);
		return NULL;
	}
	return mem;
}

void pool__altstack_off(void *mem)
{
	stack_t ss;

	if (!mem)
		return;
	memset(&ss, 0, sizeof(ss));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	pool__free(mem);
}
