/* SPDX-License-Identifier: MIT */
/*
 * perf/noise.c - pool-noise: the second process of the wake_latency_noisy
 * workload. It keeps every CPU busy with the kind of scheduler traffic a
 * shared server sees: per CPU, one pair of threads playing futex ping-pong
 * (each wake makes the other runnable, as a request hand-off does) and one
 * thread that creates and joins short-lived threads in a loop. It does no
 * I/O and allocates nothing per round.
 *
 *   pool-noise [SECONDS]   run for SECONDS (default 60, at most 600), or
 *                          until SIGTERM/SIGINT; exits 0
 *
 * The benchmark starts it, waits for the line "ready" on stdout, measures,
 * and stops it with SIGTERM; the time bound is only a safety net for a
 * benchmark that dies first.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

struct pair {
	_Atomic uint32_t turn; /* futex word: whose turn (0 or 1) */
};

struct side {
	struct pair *p;
	uint32_t me;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t v)
{
	struct timespec ts = {0, 10 * 1000 * 1000}; /* re-check stop */

	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *ping(void *arg)
{
	struct side *s = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint32_t t;

		/* Acquire/release: the turn word is the only data. */
		while ((t = atomic_load_explicit(
				&s->p->turn, memory_order_acquire)) != s->me &&
		       !atomic_load_explicit(&stop, memory_order_relaxed))
			futex_wait(&s->p->turn, t);
		/* A few µs of work, then hand the turn over. */
		for (volatile int i = 0; i < 2000; i++)
			;
		atomic_store_explicit(&s->p->turn, 1 - s->me,
				      memory_order_release);
		futex_wake(&s->p->turn);
	}
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
}

int main(int argc, char **argv)
{
	long secs = argc > 1 ? strtol(argv[1], NULL, 10) : 60;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sigaction sa = {.sa_handler = on_signal};
	pthread_t th[3 * 64];
	struct pair pairs[64];
	struct side sides[128];
	int n = 0;

	if (secs <= 0 || secs > 600)
		secs = 60;
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 64)
		ncpu = 64;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (long c = 0; c < ncpu; c++) {
		atomic_init(&pairs[c].turn, 0);
		for (uint32_t k = 0; k < 2; k++) {
			sides[2 * c + k] = (struct side){&pairs[c], k};
			if (pthread_create(&th[n], NULL, ping,
					   &sides[2 * c + k]) == 0)
				n++;
		}
		if (pthread_create(&th[n], NULL, churn, NULL) == 0)
			n++;
	}
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < secs * 10 &&
			 !atomic_load_explicit(&stop, memory_order_relaxed);
	     i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}
