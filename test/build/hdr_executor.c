/* SPDX-License-Identifier: MIT */
/*
 * Compiles <pool/executor.h> alone, as C and as C++, and links (extern
 * "C"). test/build/matrix.sh also checks that it pulls in no other pool
 * header.
 */
#include <pool/executor.h>

static int ran;

static void hdr_task(void *arg)
{
	(void)arg;
	ran++;
}

/* An executor that is not a pool: runs the task inline. */
static int hdr_inline(void *ctx, void (*fn)(void *arg), void *arg)
{
	(void)ctx;
	fn(arg);
	return 0;
}

int main(void)
{
	pool_executor_t e;

	e.size = sizeof(e);
	e.submit = hdr_inline;
	e.try_submit = hdr_inline;
	e.ctx = 0;
	e.name = "inline";
	if (pool_executor_submit(&e, hdr_task, 0) != 0 ||
	    pool_executor_try_submit(&e, hdr_task, 0) != 0 ||
	    !POOL_EXECUTOR_HAS(&e, name))
		return 1;
	/* The library's fillers are there (and reject NULL). */
	return ran != 2 || pool_executor(0, &e) != -22 ||
	       pool_multi_executor(0, 0) != -22;
}
