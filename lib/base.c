/* SPDX-License-Identifier: MIT */
/*
 * lib/base.c - the base layer (docs/design.md, "Layers"): logging, the
 * monotonic clock and deadlines, futex waits, and the calling thread's
 * worker context. Every other file may call these; they call nothing of
 * the library (alloc.c and the failpoint files sit beside or below).
 *
 * Locks: none.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <linux/futex.h>
#include <urcu/futex.h>

#include "internal.h"

#ifdef POOL_TSAN
char pool__rcu_tsan_token;
#endif

_Thread_local struct pool_tls pool__tls
	__attribute__((tls_model("initial-exec")));

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

/* ---- thread names ---- */

/*
 * snprintf would do it, but glibc's vfprintf takes about 1.4 KB of stack
 * below its caller: at a worker's start that was the deepest write its
 * stack ever saw, a page of its own in a small-TLS program (measured in
 * docs/design.md). This needs 12 bytes.
 */
void pool__thread_name(char out[POOL_THREAD_NAME_MAX], const char *name,
		       unsigned index)
{
	char digits[10]; /* UINT_MAX has 10 */
	size_t n = 0;
	int k = 0;

	while (n < 10 && name[n] != '\0') {
		out[n] = name[n];
		n++;
	}
	out[n++] = '/';
	out[n++] = 'w';
	do {
		digits[k++] = (char)('0' + index % 10);
		index /= 10;
	} while (index != 0);
	while (k > 0 && n < POOL_THREAD_NAME_MAX - 1)
		out[n++] = digits[--k];
	out[n] = '\0';
}

/* ---- clock ---- */

int64_t pool__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * now + rel_ns, saturating at INT64_MAX: every deadline in the library is
 * computed here, so the largest timeout or expiry the API accepts
 * (INT64_MAX) cannot overflow. rel_ns < 0 is treated as 0.
 */
int64_t pool__deadline(int64_t now, int64_t rel_ns)
{
	if (rel_ns < 0)
		rel_ns = 0;
	if (now > 0 && rel_ns > INT64_MAX - now)
		return INT64_MAX;
	return now + rel_ns;
}

/* ---- futex ---- */

/*
 * Sleep while *addr == val, at most rel_ns (< 0: no limit). Returns 0 when
 * woken or the value differed, POOL_ETIMEDOUT on timeout. Spurious returns
 * are possible: callers re-check their condition.
 */
int pool__futex_wait(_Atomic int32_t *addr, int32_t val, int64_t rel_ns)
{
	struct timespec ts, *tsp = NULL;

	if (rel_ns >= 0) {
		ts.tv_sec = rel_ns / 1000000000;
		ts.tv_nsec = rel_ns % 1000000000;
		tsp = &ts;
	}
	/* The kernel reads the word itself; the cast only hands it the
	 * address (no plain C access to the _Atomic object happens). */
	if (futex_async((int32_t *)addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL,
			0) < 0 &&
	    errno == ETIMEDOUT)
		return POOL_ETIMEDOUT;
	return 0;
}

void pool__futex_wake(_Atomic int32_t *addr, int n)
{
	futex_async((int32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
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
