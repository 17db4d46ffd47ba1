/* SPDX-License-Identifier: MIT */
/* Compiles <pool/metrics.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/metrics.h>

int main(void)
{
	static pool_metrics_options_t mo;
	static pool_options_t o;
	static pool_hist_t h;
	pool_label_t l = {"env", "a\"b"};
	pool_t *p = 0;
	char buf[64];

	mo.size = sizeof(mo);
	mo.sample_every = 1;
	o.size = sizeof(o);
	o.capacity = 1;
	o.metrics = &mo;
	if (pool_new(&p, &o) != 0)
		return 1;
	if (pool_metrics_read(p, POOL_HIST_RUN, &h) != 0 || h.count != 0)
		return 1;
	if (pool_metrics_format(p, buf, sizeof(buf), &l, 1) <= 0)
		return 1;
	if (pool_hist_bucket_upper_ns(POOL_HIST_BUCKETS - 1) != UINT64_MAX)
		return 1;
	return pool_destroy(p) != 0;
}
