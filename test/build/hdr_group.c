/* SPDX-License-Identifier: MIT */
/* Compiles <pool/group.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/group.h>

static int hdr_task(void *arg)
{
	return arg ? -5 : 0;
}

int main(void)
{
	static pool_group_options_t go;
	pool_group_t *g = 0;
	pool_t *p = 0;
	int x = 0;
#ifndef __cplusplus
	pool_group_options_t init = POOL_GROUP_OPTIONS_INIT;

	if (init.size != sizeof(go))
		return 1;
#endif

	go.size = sizeof(go);
	go.limit = 2;
	if (pool_new(&p, 0) != 0 || pool_group_new(&g, p, &go) != 0)
		return 1;
	if (pool_group_go(g, hdr_task, 0) != 0 || pool_group_wait(g) != 0)
		return 2;
	if (pool_group_go(g, hdr_task, &x) != 0)
		return 3;
	if (pool_group_wait(g) != -5 || pool_ctx_err(pool_group_ctx(g)) != -5)
		return 4;
	if (pool_group_try_go(g, hdr_task, 0) != -5 ||
	    pool_group_wait_ctx(g, pool_group_ctx(g)) != -5 ||
	    pool_group_go_ctx(g, pool_group_ctx(g), hdr_task, 0) != -5)
		return 5;
	if (pool_group_skipped(g) != 0 || pool_group_destroy(g) != 0 ||
	    pool_wait_idle(p, -1) != 0)
		return 6;
	return pool_destroy(p) != 0;
}
