/* SPDX-License-Identifier: MIT */
/* Compiles <pool/multi.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/multi.h>

static void hdr_task(void *arg)
{
	(void)arg;
}

static int hdr_pick(void *ctx, uint64_t key, int n)
{
	(void)ctx;
	return (int)(key % (uint64_t)n);
}

int main(void)
{
	static pool_multi_options_t mo;
	static pool_options_t o;
	pool_stats_t s;
	pool_multi_t *m = 0;
	int rc;
	pool_multi_options_t init = POOL_MULTI_OPTIONS_INIT;

	if (init.size != sizeof(mo) ||
	    pool_multi_options_init().size != sizeof(mo))
		return 1;

	mo.size = sizeof(mo);
	mo.strategy = POOL_LB_CUSTOM;
	mo.pick = hdr_pick;
	o.size = sizeof(o);
	o.capacity = 1;
	rc = pool_multi_new_opts(&m, 2, &o, &mo);
	if (rc != 0)
		return 1;
	rc = pool_multi_submit_key(m, 3, hdr_task, 0);
	if (rc != 0 || pool_multi_size(m) != 2)
		return 1;
	rc = pool_multi_release_timeout(m, 1000000000);
	s.size = sizeof(s);
	if (rc != 0 || pool_multi_stats(m, &s) != 0 || s.submitted != 1 ||
	    pool_multi_stats_by_index(m, 1, &s) != 0 || s.submitted != 1)
		return 1;
	return pool_multi_destroy(m) != 0 ||
	       pool_multi_cap_by_index(0, 0) != POOL_EINVAL;
}
