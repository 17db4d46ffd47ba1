/* SPDX-License-Identifier: MIT */
/*
 * lib/executor.c - pool_executor(), pool_multi_executor(): the executor
 * vtable (pool/executor.h) filled in by a pool and by a multi-pool. Top
 * layer: calls only the public submit functions of pool.c and multi.c.
 */
#include "pool/executor.h"

#include "internal.h"
#include "pool/multi.h"

static int pool_exec_submit(void *ctx, void (*fn)(void *arg), void *arg)
{
	return pool_submit(ctx, fn, arg);
}

static int pool_exec_try_submit(void *ctx, void (*fn)(void *arg), void *arg)
{
	return pool_try_submit(ctx, fn, arg);
}

static int multi_exec_submit(void *ctx, void (*fn)(void *arg), void *arg)
{
	return pool_multi_submit(ctx, fn, arg);
}

static int multi_exec_try_submit(void *ctx, void (*fn)(void *arg), void *arg)
{
	return pool_multi_try_submit(ctx, fn, arg);
}

/* Writes exactly the 0.1 members: a later version that appends members
 * gets a new symbol version (docs/abi.md), so an old binary's smaller
 * struct is never written past its end. */
static void fill(pool_executor_t *e, pool_executor_submit_fn submit,
		 pool_executor_submit_fn try_submit, void *ctx,
		 const char *name)
{
	e->size = sizeof(*e);
	e->submit = submit;
	e->try_submit = try_submit;
	e->ctx = ctx;
	e->name = name;
}

int pool_executor(struct pool *p, pool_executor_t *e)
{
	if (!p || !e)
		return POOL_EINVAL;
	fill(e, pool_exec_submit, pool_exec_try_submit, p, p->name);
	return 0;
}

int pool_multi_executor(struct pool_multi *m, pool_executor_t *e)
{
	if (!m || !e)
		return POOL_EINVAL;
	fill(e, multi_exec_submit, multi_exec_try_submit, m, "pool_multi");
	return 0;
}
