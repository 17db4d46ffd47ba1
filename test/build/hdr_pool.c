/* SPDX-License-Identifier: MIT */
/* Compiles <pool/pool.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/pool.h>

static void hdr_task(void *arg)
{
	(void)arg;
}

int main(void)
{
	static pool_options_t o;
	pool_task_t t;
	pool_t *p = 0;
	int rc;
	pool_options_t init = POOL_OPTIONS_INIT;
	pool_stats_t stats = POOL_STATS_INIT;

	if (init.size != sizeof(o) || stats.size != sizeof(stats) ||
	    pool_options_init().size != sizeof(o) ||
	    pool_stats_init().size != sizeof(stats))
		return 1;

	o.size = sizeof(o);
	o.capacity = 1;
	o.flags = POOL_FLAGS_ALL & ~(unsigned)POOL_PREALLOC;
	t.fn = hdr_task;
	t.arg = 0;
	rc = pool_new(&p, &o);
	if (rc != 0)
		return 1;
	rc = pool_submit_batch(p, &t, 1, 0);
	if (rc != 0)
		return 1;
	return pool_destroy(p) != 0;
}
