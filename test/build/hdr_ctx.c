/* SPDX-License-Identifier: MIT */
/* Compiles <pool/ctx.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/ctx.h>

static int hdr_calls;

static void hdr_on_cancel(void *arg, int cause)
{
	(void)arg;
	hdr_calls += cause == POOL_ECANCELED;
}

static void hdr_task(void *arg)
{
	(void)arg;
}

int main(void)
{
	static pool_options_t o;
	pool_ctx_t *c = 0, *k = 0;
	pool_t *p = 0;

	if (pool_ctx_new(&c, 0, POOL_CTX_NO_TIMEOUT) != 0 ||
	    pool_ctx_new(&k, c, 1000000000) != 0)
		return 1;
	if (pool_ctx_on_cancel(k, hdr_on_cancel, 0) != 0 ||
	    pool_ctx_set_on_skip(k, 0, 0) != 0)
		return 1;
	/* One worker, FIFO: the first task has run when the waited one
	 * returns, so none is skipped by the cancel below. */
	o.size = sizeof(o);
	o.capacity = 1;
	if (pool_new(&p, &o) != 0 || pool_submit_ctx(p, k, hdr_task, 0) != 0 ||
	    pool_submit_wait_ctx(p, k, hdr_task, 0) != 0)
		return 1;
	if (pool_ctx_cancel(c, 0) != 1 || pool_ctx_err(k) != POOL_ECANCELED ||
	    pool_ctx_wait(k, 0) != POOL_ECANCELED || hdr_calls != 1 ||
	    pool_ctx_deadline(c) != POOL_CTX_NO_DEADLINE)
		return 1;
	if (pool_destroy(p) != 0)
		return 1;
	if (pool_ctx_skipped(k) != 0)
		return 1;
	pool_ctx_destroy(k);
	pool_ctx_destroy(c);
	return 0;
}
