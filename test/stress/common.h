/* SPDX-License-Identifier: MIT */
/*
 * test/stress/common.h - helpers shared by the stress programs (stress.c,
 * edges.c): the error count and report(), a xorshift generator and a
 * monotonic clock. Each program includes it once, after defining
 * STRESS_PROG (the prefix of its messages, e.g. "stress").
 *
 * errors: the number of discrepancies found; the program's exit status is
 * 0 only when it stays 0. report() prints the first 20 and counts all.
 */
#ifndef POOL_TEST_STRESS_COMMON_H
#define POOL_TEST_STRESS_COMMON_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifndef STRESS_PROG
#error "define STRESS_PROG (the program's name) before including common.h"
#endif

static atomic_long errors;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	va_list ap;

	/* Print the first few only; the count decides the exit status. */
	if (atomic_fetch_add(&errors, 1) >= 20)
		return;
	va_start(ap, fmt);
	fputs(STRESS_PROG ": error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* One step of a xorshift64 generator (*s must not be 0). */
static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* POOL_TEST_STRESS_COMMON_H */
