/* SPDX-License-Identifier: MIT */
/*
 * ctx.c - cancellation contexts: a request context with a deadline, a
 * child cancelled with its parent, an on-cancel callback, and tasks
 * submitted with a context that are skipped (and reported) once it is
 * done before they start.
 */
#include <stdatomic.h>
#include <stdio.h>

#include <pool.h>

static atomic_int ran, skipped, cleanups;

static void work(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
}

/* Runs once, on the cancelling thread, with no library lock held. */
static void cleanup(void *arg, int cause)
{
	printf("request %s cancelled: %s\n", (const char *)arg,
	       pool_err_name(cause));
	atomic_fetch_add(&cleanups, 1);
}

static void on_skip(void *arg, pool_task_fn fn, void *task_arg, int cause)
{
	(void)arg;
	(void)fn;
	(void)task_arg;
	(void)cause;
	atomic_fetch_add(&skipped, 1);
}

/* Holds the only worker until the main thread lets it go. */
static atomic_int hold = 1;
static void blocker(void *arg)
{
	(void)arg;
	while (atomic_load(&hold))
		;
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_ctx_t *server, *req;
	pool_t *p;
	int rc;

	o.capacity = 1;
	if (pool_new(&p, &o) != 0)
		return 1;
	/* The server's context, and a request under it with 5 s to run. */
	if (pool_ctx_new(&server, NULL, POOL_CTX_NO_TIMEOUT) != 0 ||
	    pool_ctx_new(&req, server, 5000000000) != 0)
		return 1;
	if (pool_ctx_on_cancel(req, cleanup, "42") != 0 ||
	    pool_ctx_set_on_skip(req, on_skip, NULL) != 0)
		return 1;

	/* While live, tasks run. */
	if (pool_submit_wait_ctx(p, req, work, NULL) != 0)
		return 1;

	/* Queue three behind a busy worker, then shut the server down:
	 * the request is cancelled with it and the three are skipped. */
	if (pool_submit(p, blocker, NULL) != 0)
		return 1;
	for (int i = 0; i < 3; i++)
		if (pool_submit_ctx(p, req, work, NULL) != 0)
			return 1;
	pool_ctx_cancel(server, POOL_ECANCELED);
	atomic_store(&hold, 0);
	if (pool_wait_idle(p, -1) != 0)
		return 1;

	/* A cancelled context refuses new work at once. */
	rc = pool_submit_ctx(p, req, work, NULL);
	printf("ran %d, skipped %d (counted %llu), new submit: %s\n",
	       atomic_load(&ran), atomic_load(&skipped),
	       (unsigned long long)pool_ctx_skipped(req), pool_err_name(rc));
	pool_ctx_destroy(req);
	pool_ctx_destroy(server);
	if (pool_destroy(p) != 0)
		return 1;
	return atomic_load(&ran) == 1 && atomic_load(&skipped) == 3 &&
			       atomic_load(&cleanups) == 1 &&
			       rc == POOL_ECANCELED
		       ? 0
		       : 1;
}
