/* SPDX-License-Identifier: MIT */
/* Compiles <pool/panic.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/panic.h>

static int hdr_deferred;

static void hdr_defer(void *arg)
{
	(void)arg;
	hdr_deferred++;
}

static void hdr_task(void *arg)
{
	(void)arg;
	if (pool_defer(hdr_defer, 0) != 0)
		return;
	pool_panicf(POOL_MAX_DEFERS, "%d", POOL_PANIC_MSG_MAX);
}

static void hdr_handler(void *ctx, const pool_panic_info_t *info)
{
	*(int *)ctx = info->code;
}

int main(void)
{
	static pool_options_t o;
	pool_t *p = 0;
	int code = 0;

	o.size = sizeof(o);
	o.capacity = 1;
	o.flags = POOL_CATCH_SIGNALS;
	o.panic_handler = hdr_handler;
	o.panic_ctx = &code;
	if (pool_new(&p, &o) != 0)
		return 1;
	if (pool_submit_wait(p, hdr_task, 0) != POOL_EPANIC)
		return 1;
	if (pool_destroy(p) != 0)
		return 1;
	return code != POOL_MAX_DEFERS || hdr_deferred != 1;
}
