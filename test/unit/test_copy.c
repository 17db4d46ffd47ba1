/* SPDX-License-Identifier: MIT */
/*
 * test_copy.c - pool_submit_copy: the bytes are copied at the call (the
 * caller's buffer is free again at once), the task gets an aligned pointer to
 * them, and the copy is freed after the run, after a panic, when pool_stop
 * discards the task and when the submit fails.
 *
 * These tests link the static library, which does not link jemalloc: copies
 * come from malloc, so leaks are LSan's to find (ASan flavour). The jemalloc
 * arena is tested through the shared library by test_jemalloc.c.
 */
#define _GNU_SOURCE
#include <stdalign.h>
#include <stddef.h>

#include "test.h"

void pool__test_fail_after(long k);
long pool__test_alloc_calls(void);

/* ---- payloads ---- */

#define MAGIC 0x9e3779b9u

struct hdr {
	uint32_t magic;
	uint32_t len; /* whole payload, header included */
	uint32_t producer;
	uint32_t idx;
};

static unsigned char pattern(uint32_t producer, uint32_t idx, size_t k)
{
	return (unsigned char)(producer * 131u + idx * 7u + (uint32_t)k * 13u +
			       (uint32_t)(k >> 8));
}

static void fill(unsigned char *buf, size_t len, uint32_t producer,
		 uint32_t idx)
{
	struct hdr h = {MAGIC, (uint32_t)len, producer, idx};

	memcpy(buf, &h, sizeof(h));
	for (size_t k = sizeof(h); k < len; k++)
		buf[k] = pattern(producer, idx, k);
}

static int aligned(const void *p)
{
	return p && (uintptr_t)p % alignof(max_align_t) == 0;
}

/* Checks alignment and every byte; returns the header. */
static struct hdr verify(const void *data)
{
	const unsigned char *b = data;
	struct hdr h;

	if (!aligned(data))
		FAIL("copy %p is not aligned to %zu", data,
		     alignof(max_align_t));
	memcpy(&h, b, sizeof(h));
	if (h.magic != MAGIC || h.len < sizeof(h))
		FAIL("copy %p: bad header (magic %#x, len %u)", data, h.magic,
		     h.len);
	for (size_t k = sizeof(h); k < h.len; k++)
		if (b[k] != pattern(h.producer, h.idx, k))
			FAIL("copy of producer %u #%u: byte %zu is %#x, "
			     "expected %#x",
			     h.producer, h.idx, k, b[k],
			     pattern(h.producer, h.idx, k));
	return h;
}

/* ---- concurrent producers ---- */

#define PRODUCERS 4
#define PER_PROD  3000
#define MAX_LEN	  (16 + 6000)

static atomic_uchar seen[PRODUCERS][PER_PROD];
static atomic_long zero_runs;

static void task_verify(void *arg)
{
	struct hdr h = verify(arg);

	if (h.producer >= PRODUCERS || h.idx >= PER_PROD)
		FAIL("bad payload id %u/%u", h.producer, h.idx);
	atomic_fetch_add_explicit(&seen[h.producer][h.idx], 1,
				  memory_order_relaxed);
}

static void task_zero(void *arg)
{
	if (!aligned(arg))
		FAIL("len 0 copy %p is NULL or not aligned", arg);
	atomic_fetch_add_explicit(&zero_runs, 1, memory_order_relaxed);
}

static size_t payload_len(uint32_t idx)
{
	if (idx % 7 == 0)
		return 0;
	if (idx % 11 == 0)
		return sizeof(struct hdr);
	return sizeof(struct hdr) + (idx * 131u) % (MAX_LEN - 16);
}

struct producer {
	pthread_t t;
	pool_t *p;
	uint32_t id;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	static _Thread_local unsigned char buf[MAX_LEN];

	for (uint32_t i = 0; i < PER_PROD; i++) {
		size_t len = payload_len(i);

		if (len == 0) {
			ASSERT_OK(pool_submit_copy(pr->p, task_zero, NULL, 0));
			continue;
		}
		fill(buf, len, pr->id, i);
		ASSERT_OK(pool_submit_copy(pr->p, task_verify, buf, len));
		/* Ours again at once. */
		memset(buf, 0xEE, len);
	}
	return NULL;
}

TEST(copy_payloads_concurrent)
{
	pool_options_t o = test_opts(3, 16, 0);
	struct producer pr[PRODUCERS];
	long zeros = 0;
	pool_stats_t st;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pr[i].p = p;
		pr[i].id = i;
		thread_start(&pr[i].t, produce, &pr[i]);
	}
	for (int i = 0; i < PRODUCERS; i++)
		thread_join(pr[i].t);
	ASSERT_OK(pool_release_timeout(p, SEC(40)));
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		for (uint32_t j = 0; j < PER_PROD; j++) {
			int want = payload_len(j) != 0;

			if (j % 7 == 0)
				zeros++;
			if (atomic_load(&seen[i][j]) != want)
				FAIL("payload %u/%u ran %d times", i, j,
				     (int)atomic_load(&seen[i][j]));
		}
	}
	ASSERT_EQ(atomic_load(&zero_runs), zeros);
	st = test_stats(p);
	ASSERT_UEQ(st.submitted, PRODUCERS * PER_PROD);
	ASSERT_UEQ(st.completed, PRODUCERS * PER_PROD);
	/* The static library has no jemalloc: malloc, no arena. */
	ASSERT_UEQ(st.copy_arena, 0);
	ASSERT_UEQ(st.copies_live, 0);
	ASSERT_OK(pool_destroy(p));
}

/* ---- arguments ---- */

TEST(copy_bad_args)
{
	unsigned char buf[32];
	pool_t *p;

	fill(buf, sizeof(buf), 0, 0);
	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_ERR(pool_submit_copy(NULL, task_verify, buf, sizeof(buf)),
		   POOL_EINVAL);
	ASSERT_ERR(pool_submit_copy(p, NULL, buf, sizeof(buf)), POOL_EINVAL);
	ASSERT_ERR(pool_submit_copy(p, task_verify, NULL, 1), POOL_EINVAL);
	ASSERT_ERR(pool_submit_copy(p, task_verify, buf, ((size_t)1 << 30) + 1),
		   POOL_EINVAL);
	ASSERT_ERR(pool_submit_copy(p, task_verify, buf, SIZE_MAX),
		   POOL_EINVAL);
	ASSERT_UEQ(test_stats(p).submitted, 0);
	/* len 0: data may be NULL (or not); fn still gets an aligned
	 * pointer. */
	ASSERT_OK(pool_submit_copy(p, task_zero, NULL, 0));
	ASSERT_OK(pool_submit_copy(p, task_zero, buf, 0));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&zero_runs), 2);
	/* Closed: refused, and the copy is freed (LSan). */
	ASSERT_ERR(pool_submit_copy(p, task_verify, buf, sizeof(buf)),
		   POOL_ECLOSED);
	ASSERT_OK(pool_destroy(p));
}

/* ---- freed on run, on panic, on discard, on refusal ---- */

static atomic_int ran;

static void task_verify_count(void *arg)
{
	verify(arg);
	atomic_fetch_add(&ran, 1);
}

static void task_verify_panic(void *arg)
{
	struct hdr h = verify(arg);

	pool_panicf((int)h.idx, "copy %u", h.idx);
}

struct copy_seen {
	atomic_int calls;
	atomic_int bad;
};

static void copy_handler(void *ctx, const pool_panic_info_t *in)
{
	struct copy_seen *s = ctx;
	struct hdr h;

	/* info.arg is the copy, still valid during the handler. */
	h = verify(in->arg);
	if (in->fn != task_verify_panic || in->code != (int)h.idx)
		atomic_fetch_add(&s->bad, 1);
	atomic_fetch_add(&s->calls, 1);
}

TEST(copy_freed_after_panic)
{
	pool_options_t o = test_opts(2, 0, 0);
	unsigned char buf[300];
	struct copy_seen s = {0, 0};
	pool_stats_t st;
	pool_t *p;

	o.panic_handler = copy_handler;
	o.panic_ctx = &s;
	ASSERT_OK(pool_new(&p, &o));
	for (uint32_t i = 0; i < 200; i++) {
		fill(buf, 16 + i, 1, i);
		ASSERT_OK(pool_submit_copy(
			p, i % 2 ? task_verify_panic : task_verify_count, buf,
			16 + i));
		memset(buf, 0, sizeof(buf));
	}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&s.calls), 100);
	ASSERT_EQ(atomic_load(&s.bad), 0);
	ASSERT_EQ(atomic_load(&ran), 100);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 100);
	ASSERT_UEQ(st.copies_live, 0);
	ASSERT_OK(pool_destroy(p));
}

/*
 * Copies run in the worker's long-lived guard frame (worker.c, run_plain),
 * as plain tasks do: metrics off, so no task is sampled and every copy
 * takes that path. A deferred call sees the copy's bytes (it runs before
 * the copy is freed), after a return and after a panic; the panic handler
 * is shown the copy's function and bytes; nothing is left allocated.
 */
static atomic_int deferred_ok, deferred_bad;

static void defer_verify(void *arg)
{
	struct hdr h = verify(arg); /* the copy is still allocated */

	if (h.idx < 200)
		atomic_fetch_add(&deferred_ok, 1);
	else
		atomic_fetch_add(&deferred_bad, 1);
}

static void task_defer_then(void *arg)
{
	struct hdr h = verify(arg);

	if (pool_defer(defer_verify, arg) != 0)
		atomic_fetch_add(&deferred_bad, 1);
	if (h.idx % 2)
		pool_panicf((int)h.idx, "copy %u", h.idx);
	atomic_fetch_add(&ran, 1);
}

static void copy_defer_handler(void *ctx, const pool_panic_info_t *in)
{
	struct copy_seen *s = ctx;
	struct hdr h = verify(in->arg);

	if (in->fn != task_defer_then || in->code != (int)h.idx ||
	    h.idx % 2 != 1)
		atomic_fetch_add(&s->bad, 1);
	atomic_fetch_add(&s->calls, 1);
}

TEST(copy_in_worker_frame_defer_and_panic)
{
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_options_t o = test_opts(2, 0, 0);
	unsigned char buf[200];
	struct copy_seen s = {0, 0};
	pool_stats_t st;
	pool_t *p;

	m.flags = POOL_METRICS_OFF;
	o.metrics = &m;
	o.panic_handler = copy_defer_handler;
	o.panic_ctx = &s;
	atomic_store(&ran, 0);
	ASSERT_OK(pool_new(&p, &o));
	for (uint32_t i = 0; i < 200; i++) {
		/* 16 to 165 bytes: small copies (header and payload in
		 * 128 bytes: recycled blocks) and larger ones. */
		fill(buf, 16 + i % 150, 1, i);
		ASSERT_OK(pool_submit_copy(p, task_defer_then, buf,
					   16 + i % 150));
		memset(buf, 0, sizeof(buf));
	}
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 100);
	ASSERT_EQ(atomic_load(&deferred_ok), 200);
	ASSERT_EQ(atomic_load(&deferred_bad), 0);
	ASSERT_EQ(atomic_load(&s.calls), 100);
	ASSERT_EQ(atomic_load(&s.bad), 0);
	st = test_stats(p);
	ASSERT_UEQ(st.panicked, 100);
	ASSERT_UEQ(st.completed, 200);
	ASSERT_UEQ(st.copies_live, 0);
	ASSERT_OK(pool_destroy(p));
}

/* Occupies the only worker until pool_stop took every queued task. */
static void blocker(void *arg)
{
	pool_t *self = pool_self();

	atomic_store((atomic_int *)arg, 1);
	while (!pool_is_closed(self) || pool_queued(self) != 0)
		sched_yield();
}

#define NDISCARD 40

struct discard_log {
	int calls;
	int bad;
	int per_idx[NDISCARD];
	const void *ptrs[NDISCARD];
};

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	struct discard_log *d = ctx;
	struct hdr h = verify(arg); /* valid during the callback */

	if (fn != task_verify_count || h.idx >= NDISCARD) {
		d->bad++;
		return;
	}
	for (int i = 0; i < d->calls; i++)
		if (d->ptrs[i] == arg)
			d->bad++; /* one copy handed over twice */
	d->ptrs[d->calls < NDISCARD ? d->calls : 0] = arg;
	d->per_idx[h.idx]++;
	d->calls++;
}

TEST(copy_freed_on_discard)
{
	pool_options_t o = test_opts(1, 64, 0);
	struct discard_log d;
	unsigned char buf[4096 + 16];
	atomic_int started = 0;
	pool_stats_t st;
	pool_t *p;

	memset(&d, 0, sizeof(d));
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, blocker, &started));
	WAIT_UNTIL(atomic_load(&started));
	for (uint32_t i = 0; i < NDISCARD; i++) {
		size_t len = i % 2 ? sizeof(buf) : 16 + i;

		fill(buf, len, 2, i);
		ASSERT_OK(pool_submit_copy(p, task_verify_count, buf, len));
		memset(buf, 0x5a, sizeof(buf));
	}
	ASSERT_OK(pool_stop(p, on_discard, &d));
	ASSERT_EQ(d.bad, 0);
	ASSERT_EQ(d.calls, NDISCARD);
	for (int i = 0; i < NDISCARD; i++)
		ASSERT_EQ(d.per_idx[i], 1);
	ASSERT_EQ(atomic_load(&ran), 0);
	st = test_stats(p);
	ASSERT_UEQ(st.discarded, NDISCARD);
	ASSERT_UEQ(st.copies_live, 0);
	ASSERT_OK(pool_destroy(p));
}

/* Without a discard callback the copies are freed all the same (LSan). */
TEST(copy_freed_on_discard_without_callback)
{
	pool_options_t o = test_opts(1, 64, 0);
	unsigned char buf[512];
	atomic_int started = 0;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, blocker, &started));
	WAIT_UNTIL(atomic_load(&started));
	for (uint32_t i = 0; i < 20; i++) {
		fill(buf, sizeof(buf), 3, i);
		ASSERT_OK(pool_submit_copy(p, task_verify_count, buf,
					   sizeof(buf)));
	}
	ASSERT_OK(pool_stop(p, NULL, NULL));
	ASSERT_UEQ(test_stats(p).discarded, 20);
	ASSERT_EQ(atomic_load(&ran), 0);
	ASSERT_OK(pool_destroy(p));
}

/* A refused submit frees the copy (LSan) and never runs it. */
TEST(copy_freed_on_overload)
{
	pool_options_t o = test_opts(1, 1, POOL_NONBLOCKING);
	unsigned char buf[64];
	struct gate g;
	pool_t *p;

	gate_init(&g);
	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit(p, task_gate, &g));
	gate_wait_entered(&g, 1);
	fill(buf, sizeof(buf), 4, 0);
	ASSERT_OK(pool_submit_copy(p, task_verify_count, buf, sizeof(buf)));
	fill(buf, sizeof(buf), 4, 1);
	ASSERT_ERR(pool_submit_copy(p, task_verify_count, buf, sizeof(buf)),
		   POOL_EOVERLOAD);
	gate_open(&g);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 1);
	ASSERT_UEQ(test_stats(p).rejected_overload, 1);
	ASSERT_OK(pool_destroy(p));
	gate_destroy(&g);
}

/* From inside a task to its own full pool: the copy runs inline and is
 * freed there. */
static void task_copy_inline(void *arg)
{
	unsigned char buf[200];

	(void)arg;
	fill(buf, sizeof(buf), 5, 0);
	ASSERT_OK(pool_submit_copy(pool_self(), task_verify_count, buf,
				   sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	fill(buf, 100, 5, 1);
	ASSERT_OK(pool_submit_copy(pool_self(), task_verify_count, buf, 100));
	ASSERT_EQ(atomic_load(&ran), 1); /* the second one ran inline */
	fill(buf, 100, 5, 2);
	ASSERT_OK(pool_submit_copy(pool_self(), task_verify_panic, buf, 100));
}

TEST(copy_inline_run)
{
	pool_options_t o = test_opts(1, 1, 0);
	pool_stats_t st;
	pool_t *p;

	ASSERT_OK(pool_new(&p, &o));
	ASSERT_OK(pool_submit_wait(p, task_copy_inline, NULL));
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 2);
	st = test_stats(p);
	ASSERT_UEQ(st.inline_runs, 2);
	ASSERT_UEQ(st.panicked, 1);
	ASSERT_OK(pool_destroy(p));
}

/* ---- allocation failure ---- */

/* A live worker: the only allocation left is the copy's. */
TEST(copy_enomem)
{
	unsigned char buf[128];
	uint64_t before;
	pool_t *p;

	ASSERT_OK(pool_new(&p, NULL));
	ASSERT_OK(pool_submit_wait(p, task_nop, NULL));
	before = test_stats(p).submitted;
	fill(buf, sizeof(buf), 6, 0);
	pool__test_fail_after(0);
	ASSERT_ERR(pool_submit_copy(p, task_verify_count, buf, sizeof(buf)),
		   POOL_ENOMEM);
	ASSERT_ERR(pool_submit_copy(p, task_zero, NULL, 0), POOL_ENOMEM);
	pool__test_fail_after(-1);
	ASSERT_UEQ(test_stats(p).submitted, before);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 0);
	ASSERT_EQ(atomic_load(&zero_runs), 0);
	ASSERT_OK(pool_destroy(p));
}

/* No worker yet: fail the k-th allocation for every k (the copy, then the
 * worker start): each failure is POOL_ENOMEM, runs nothing and leaks
 * nothing (LSan). */
TEST(copy_enomem_sweep)
{
	unsigned char buf[256];
	pool_t *p;
	long k;
	int rc;

	fill(buf, sizeof(buf), 7, 0);
	ASSERT_OK(pool_new(&p, NULL));
	for (k = 0; k < 1000; k++) {
		pool__test_fail_after(k);
		rc = pool_submit_copy(p, task_verify_count, buf, sizeof(buf));
		pool__test_fail_after(-1);
		if (rc == 0)
			break;
		if (rc != POOL_ENOMEM)
			FAIL("k=%ld: %s, expected POOL_ENOMEM", k,
			     pool_err_name(rc));
		ASSERT_UEQ(test_stats(p).submitted, 0);
	}
	ASSERT_GE(k, 1);
	ASSERT_LT(k, 1000);
	ASSERT_OK(pool_release_timeout(p, SEC(30)));
	ASSERT_EQ(atomic_load(&ran), 1);
	ASSERT_OK(pool_destroy(p));
}
