/* SPDX-License-Identifier: MIT */
/*
 * errors.c - the error model: every code with its name and message, and a
 * call that returns each one (except POOL_ENOMEM, which needs an allocation
 * to fail).
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <pool.h>

static const int codes[] = {
	0,
	POOL_EINVAL,
	POOL_ENOMEM,
	POOL_EOVERLOAD,
	POOL_ECLOSED,
	POOL_ETIMEDOUT,
	POOL_EDEADLK,
	POOL_EBUSY,
	POOL_ECANCELED,
	POOL_EPANIC,
	-12345, /* not a pool code */
};

static atomic_int started, gate_open, deadlk_rc;

static void nop(void *arg)
{
	(void)arg;
}

/* Runs first and holds the pool's only worker until the gate opens. */
static void blocker(void *arg)
{
	(void)arg;
	/* Waiting for its own pool from inside a task would deadlock. */
	atomic_store(&deadlk_rc, pool_release_timeout(pool_self(), 0));
	atomic_store(&started, 1);
	while (!atomic_load(&gate_open))
		sched_yield();
}

static void panics(void *arg)
{
	(void)arg;
	pool_panic(1, "example");
}

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static void show(const char *call, int r)
{
	printf("%-36s -> %s\n", call, pool_err_name(r));
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_options_t bad = POOL_OPTIONS_INIT;
	pool_t *p, *q = NULL;
	int r;

	printf("%-14s %6s  %s\n", "name", "value", "pool_strerror");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		printf("%-14s %6d  %s\n", pool_err_name(codes[i]), codes[i],
		       pool_strerror(codes[i]));
	/* Codes are -errno, so strerror() understands them too. */
	printf("strerror(-POOL_ECLOSED): %s\n\n", strerror(-POOL_ECLOSED));

	bad.capacity = -1;
	show("pool_new(capacity -1)", pool_new(&q, &bad));

	/* One worker, one slot: easy to fill. */
	o.capacity = 1;
	o.ring_capacity = 1;
	if ((r = pool_new(&p, &o)) < 0) {
		fprintf(stderr, "pool_new: %s\n", pool_strerror(r));
		return 1;
	}
	if ((r = pool_submit(p, blocker, NULL)) < 0)
		return 1;
	while (!atomic_load(&started))
		sched_yield();
	show("pool_release_timeout (inside task)", atomic_load(&deadlk_rc));
	show("pool_submit (fills the one slot)", pool_submit(p, nop, NULL));
	show("pool_try_submit (full)", pool_try_submit(p, nop, NULL));
	show("pool_submit_timeout (full, 1 ms)",
	     pool_submit_timeout(p, nop, NULL, 1000000));
	show("pool_tune(p, 0)", pool_tune(p, 0));
	show("pool_release", pool_release(p));
	show("pool_submit (closed)", pool_submit(p, nop, NULL));
	show("pool_reboot (task still running)", pool_reboot(p));

	atomic_store(&gate_open, 1);
	show("pool_release_timeout (5 s)", pool_release_timeout(p, 5000000000));
	show("pool_reboot (drained)", pool_reboot(p));
	show("pool_submit_wait (open again)", pool_submit_wait(p, nop, NULL));
	show("pool_destroy", pool_destroy(p));

	/* A task that panics, and a cancelled context. */
	o.logger = quiet;
	if (pool_new(&p, &o) < 0)
		return 1;
	r = pool_submit_wait(p, panics, NULL);
	show("pool_submit_wait (task panicked)", r);
	{
		pool_ctx_t *c;

		if (pool_ctx_new(&c, NULL, POOL_CTX_NO_TIMEOUT) < 0)
			return 1;
		pool_ctx_cancel(c, POOL_ECANCELED);
		show("pool_submit_ctx (cancelled)",
		     pool_submit_ctx(p, c, nop, NULL));
		pool_ctx_destroy(c);
	}
	show("pool_destroy", pool_destroy(p));
	return q == NULL && r == POOL_EPANIC ? 0 : 1;
}
