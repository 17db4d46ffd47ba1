/* SPDX-License-Identifier: MIT */
/*
 * test/stress/stress_group.c - groups, contexts and a semaphore under load,
 * with counted invariants.
 *
 *   stress_group [seconds [producers [capacity]]]
 *
 * seconds absent or 0: $POOL_STRESS_SECONDS, else 5. Each producer thread
 * loops: a group (random limit 0..4, sometimes a parent context with a short
 * deadline), a burst of go / try_go / go_ctx (the go_ctx context sometimes
 * with a short deadline), a wait, destroy; and a burst of pool_submit_ctx
 * with a context it cancels halfway. Tasks return 0, fail (1 in 50), panic
 * (1 in 200), hold a semaphore of 3 units for a moment (weight 1..3, with a
 * timeout), or fork a nested group of 3 children and wait for it inside the
 * task (1 in 20). Meanwhile one thread pauses the pool for 50 to 250 us every
 * 0.5 to 2.5 ms, so tasks handed to running task ends meet a paused pool.
 *
 * Invariants, checked for every group and at the end:
 *   - every go either returned an error to its caller, or its task ran
 *     exactly once, or it was skipped and reported to on_skip exactly once:
 *     accepted == ran + skipped, per group, after its wait;
 *   - a group that failed or skipped returns an error from wait; one whose
 *     every task ran and returned 0 returns 0;
 *   - every accepted pool_submit_ctx task ran or was skipped and reported:
 *     accepted == ran + skipped (after pool_wait_idle);
 *   - the semaphore never had more than its 3 units held, and has 3 free at
 *     the end.
 * Exits 1 with a message on any discrepancy, 0 after a summary line.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pool.h>

#define SEM_UNITS 3

static pool_t *pool;
static pool_sem_t *sem;
static atomic_long sem_held, sem_peak;
static atomic_int failed;
static atomic_long total_go, total_go_err, total_ran, total_skipped;
static atomic_long total_ctx_ok, total_ctx_ran, total_ctx_skipped;
static atomic_long total_nested, total_panics, total_fail_rets;
static int64_t end_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "stress_group: FAILED: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	atomic_store(&failed, 1);
}

static uint64_t xs(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Per-group accounting. */
struct gstat {
	atomic_long ran, skipped, bad; /* bad: returned < 0 or panicked */
};

struct gtask {
	struct gstat *st;
	pool_group_t *g;
	uint64_t seed;
	int depth; /* 1 inside a nested group: no further nesting */
};

static void on_skip(void *arg, pool_group_fn fn, void *targ, int cause)
{
	struct gstat *st = arg;

	(void)fn;
	if (cause >= 0)
		fail("skip with cause %d", cause);
	atomic_fetch_add(&st->skipped, 1);
	free(targ);
}

static int leaf(void *arg);

static void sem_work(uint64_t r)
{
	int64_t w = 1 + (int64_t)(r % SEM_UNITS);
	long now, seen;
	int rc = pool_sem_acquire_timeout(sem, w, 200000);

	if (rc == POOL_ETIMEDOUT)
		return;
	if (rc != 0) {
		fail("sem acquire: %s", pool_err_name(rc));
		return;
	}
	now = atomic_fetch_add(&sem_held, w) + w;
	seen = atomic_load(&sem_peak);
	while (now > seen &&
	       !atomic_compare_exchange_weak(&sem_peak, &seen, now))
		;
	if (now > SEM_UNITS)
		fail("semaphore over-committed: %ld held", now);
	atomic_fetch_sub(&sem_held, w);
	if ((rc = pool_sem_release(sem, w)) != 0)
		fail("sem release: %s", pool_err_name(rc));
}

/* A nested fork-join: 3 children through a group of our own. */
static int nested(uint64_t seed)
{
	struct gstat st = {0};
	pool_group_options_t o = POOL_GROUP_OPTIONS_INIT;
	pool_group_t *g;
	long ok = 0;
	int rc;

	o.on_skip = on_skip;
	o.skip_arg = &st;
	o.limit = (int)(seed % 3);
	if ((rc = pool_group_new(&g, pool, &o)) != 0) {
		fail("nested group_new: %s", pool_err_name(rc));
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		struct gtask *t = malloc(sizeof(*t));

		t->st = &st;
		t->g = g;
		t->seed = seed * 31 + (uint64_t)i + 1;
		t->depth = 1; /* children never fork again */
		rc = pool_group_go(g, leaf, t);
		if (rc == 0)
			ok++;
		else
			free(t);
	}
	rc = pool_group_wait(g);
	if (rc == POOL_EDEADLK)
		fail("nested wait: EDEADLK");
	if (atomic_load(&st.ran) + atomic_load(&st.skipped) != ok)
		fail("nested group: %ld accepted, %ld ran, %ld skipped", ok,
		     atomic_load(&st.ran), atomic_load(&st.skipped));
	if (pool_group_destroy(g) != 0)
		fail("nested destroy busy");
	atomic_fetch_add(&total_nested, 1);
	return rc < 0 ? rc : 0;
}

static int leaf(void *arg)
{
	struct gtask *t = arg;
	struct gstat *st = t->st;
	uint64_t r = t->seed * 0x9E3779B97F4A7C15ull + 1;
	int depth = t->depth;
	int ret = 0;

	free(t);
	atomic_fetch_add(&st->ran, 1);
	xs(&r);
	switch (r % 200) {
	case 0:
		atomic_fetch_add(&st->bad, 1);
		atomic_fetch_add(&total_panics, 1);
		pool_panic(5, "stress");
	case 1:
	case 2:
	case 3:
	case 4:
		atomic_fetch_add(&st->bad, 1);
		atomic_fetch_add(&total_fail_rets, 1);
		return -1000;
	default:
		break;
	}
	if (r % 20 == 7 && depth == 0)
		ret = nested(r);
	else if (r % 4 == 1)
		sem_work(r >> 8);
	if (ret < 0)
		atomic_fetch_add(&st->bad, 1);
	return ret;
}

static void ctx_task(void *arg)
{
	(void)arg;
	atomic_fetch_add(&total_ctx_ran, 1);
}

static void ctx_skip(void *arg, pool_task_fn fn, void *targ, int cause)
{
	(void)arg;
	(void)targ;
	if (fn != ctx_task || cause >= 0)
		fail("ctx skip: wrong task or cause %d", cause);
	atomic_fetch_add(&total_ctx_skipped, 1);
}

static void one_group(uint64_t *rng)
{
	pool_group_options_t o = POOL_GROUP_OPTIONS_INIT;
	struct gstat st = {0};
	pool_ctx_t *parent = NULL, *callc = NULL;
	pool_group_t *g;
	long ok = 0, n = 20 + (long)(xs(rng) % 200);
	int rc;

	o.limit = (int)(xs(rng) % 5);
	o.on_skip = on_skip;
	o.skip_arg = &st;
	if (xs(rng) % 4 == 0) {
		if (pool_ctx_new(&parent, NULL, (int64_t)(xs(rng) % 300000)))
			fail("ctx_new");
		o.parent = parent;
	}
	if (xs(rng) % 4 == 0 &&
	    pool_ctx_new(&callc, NULL, (int64_t)(xs(rng) % 300000)))
		fail("ctx_new");
	if ((rc = pool_group_new(&g, pool, &o)) != 0) {
		fail("group_new: %s", pool_err_name(rc));
		return;
	}
	for (long i = 0; i < n; i++) {
		struct gtask *t = malloc(sizeof(*t));
		uint64_t k = xs(rng);

		t->st = &st;
		t->g = g;
		t->seed = xs(rng);
		t->depth = 0;
		if (k % 3 == 0)
			rc = pool_group_try_go(g, leaf, t);
		else if (k % 3 == 1 && callc)
			rc = pool_group_go_ctx(g, callc, leaf, t);
		else
			rc = pool_group_go(g, leaf, t);
		atomic_fetch_add(&total_go, 1);
		if (rc == 0) {
			ok++;
		} else {
			atomic_fetch_add(&total_go_err, 1);
			free(t); /* refused: still ours, never ran */
		}
	}
	rc = pool_group_wait(g);
	{
		long ran = atomic_load(&st.ran), sk = atomic_load(&st.skipped);
		long bad = atomic_load(&st.bad);

		if (ran + sk != ok)
			fail("group: %ld accepted, %ld ran, %ld skipped", ok,
			     ran, sk);
		if ((bad || sk) && rc == 0)
			fail("group: %ld failed, %ld skipped, wait returned 0",
			     bad, sk);
		if (!bad && !sk && rc != 0)
			fail("group: all ran fine, wait returned %s",
			     pool_err_name(rc));
		atomic_fetch_add(&total_ran, ran);
		atomic_fetch_add(&total_skipped, sk);
	}
	if (pool_group_destroy(g) != 0)
		fail("group destroy busy after wait");
	pool_ctx_destroy(parent);
	pool_ctx_destroy(callc);
}

static void ctx_burst(uint64_t *rng)
{
	pool_ctx_t *c;
	int n = 10 + (int)(xs(rng) % 50);

	if (pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT) ||
	    pool_ctx_set_on_skip(c, ctx_skip, NULL))
		fail("ctx_new");
	for (int i = 0; i < n; i++) {
		int rc = pool_submit_ctx(pool, c, ctx_task, NULL);

		if (rc == 0)
			atomic_fetch_add(&total_ctx_ok, 1);
		else if (rc != POOL_ECANCELED)
			fail("submit_ctx: %s", pool_err_name(rc));
		if (i == n / 2)
			pool_ctx_cancel(c, POOL_ECANCELED);
	}
	pool_ctx_destroy(c); /* queued tasks hold it */
}

static void *producer(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x2545F4914F6CDD1Dull + 7;

	while (now_ns() < end_ns && !atomic_load(&failed)) {
		one_group(&rng);
		ctx_burst(&rng);
	}
	return NULL;
}

/* Pauses and resumes the pool now and then, so that tasks handed to a
 * running task end (lib/group.c, post) meet a paused pool: the end must
 * queue them, not start them, and they must still run once. */
static atomic_long total_pauses;

static void *pauser(void *arg)
{
	uint64_t rng = 0x9E3779B97F4A7C15ull;

	(void)arg;
	while (now_ns() < end_ns && !atomic_load(&failed)) {
		struct timespec ts = {0, (long)(500000 + xs(&rng) % 2000000)};

		nanosleep(&ts, NULL);
		if (pool_pause(pool) != 0) {
			fail("pool_pause");
			break;
		}
		ts.tv_nsec = (long)(50000 + xs(&rng) % 200000);
		nanosleep(&ts, NULL);
		if (pool_resume(pool) != 0) {
			fail("pool_resume");
			break;
		}
		atomic_fetch_add(&total_pauses, 1);
	}
	return NULL;
}

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

int main(int argc, char **argv)
{
	const char *env = getenv("POOL_STRESS_SECONDS");
	long seconds = env && atol(env) > 0 ? atol(env) : 5;
	long nprod = 4, cap = 2;
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t st = POOL_STATS_INIT;
	pthread_t t[64], pt;

	if (argc > 1 && atol(argv[1]) > 0)
		seconds = atol(argv[1]);
	if (argc > 2)
		nprod = atol(argv[2]);
	if (argc > 3)
		cap = atol(argv[3]);
	if (nprod < 1 || nprod > 64 || cap < 1) {
		fprintf(stderr, "usage: stress_group [seconds [producers "
				"[capacity]]]\n");
		return 2;
	}
	o.capacity = (int)cap;
	o.logger = quiet; /* the panics log */
	if (pool_new(&pool, &o) || pool_sem_new(&sem, SEM_UNITS)) {
		fprintf(stderr, "stress_group: setup failed\n");
		return 1;
	}
	end_ns = now_ns() + seconds * 1000000000;
	for (long i = 0; i < nprod; i++)
		pthread_create(&t[i], NULL, producer,
			       (void *)(uintptr_t)(i + 1));
	pthread_create(&pt, NULL, pauser, NULL);
	for (long i = 0; i < nprod; i++)
		pthread_join(t[i], NULL);
	pthread_join(pt, NULL);
	if (pool_wait_idle(pool, -1) != 0)
		fail("wait_idle");
	if (atomic_load(&total_ctx_ran) + atomic_load(&total_ctx_skipped) !=
	    atomic_load(&total_ctx_ok))
		fail("ctx tasks: %ld accepted, %ld ran, %ld skipped",
		     atomic_load(&total_ctx_ok), atomic_load(&total_ctx_ran),
		     atomic_load(&total_ctx_skipped));
	if (pool_sem_available(sem) != SEM_UNITS ||
	    atomic_load(&sem_peak) > SEM_UNITS)
		fail("semaphore: %lld free at the end, peak %ld",
		     (long long)pool_sem_available(sem),
		     atomic_load(&sem_peak));
	if (pool_stats(pool, &st) != 0)
		fail("pool_stats");
	if (pool_sem_destroy(sem) != 0 || pool_destroy(pool) != 0)
		fail("teardown");
	printf("stress_group: %lds, %ld producers, capacity %ld: %ld go "
	       "(%ld refused), %ld ran, %ld skipped, %ld nested groups, %ld "
	       "panics, %ld failures; ctx tasks %ld (%ld ran, %ld skipped); "
	       "sem peak %ld; %ld pauses, %llu tasks run handed-off or "
	       "posted (inline_runs): %s\n",
	       seconds, nprod, cap, atomic_load(&total_go),
	       atomic_load(&total_go_err), atomic_load(&total_ran),
	       atomic_load(&total_skipped), atomic_load(&total_nested),
	       atomic_load(&total_panics), atomic_load(&total_fail_rets),
	       atomic_load(&total_ctx_ok), atomic_load(&total_ctx_ran),
	       atomic_load(&total_ctx_skipped), atomic_load(&sem_peak),
	       atomic_load(&total_pauses), (unsigned long long)st.inline_runs,
	       atomic_load(&failed) ? "FAILED" : "ok");
	return atomic_load(&failed) ? 1 : 0;
}
