/* SPDX-License-Identifier: MIT */
/*
 * metrics-glue.c - the pool's own metrics (pool/metrics.h) in the server:
 * its Prometheus exposition appended to /metrics, its saturation reading
 * behind /healthz. Built against a tree without pool/metrics.h it adds
 * nothing and reports "not saturated", so /healthz reads only the server's
 * queue figures; the other backends never have either.
 */
#include "metrics-glue.h"

#include <pool.h>

#if defined(__has_include)
#if __has_include(<pool/metrics.h>)
#include <pool/metrics.h>
#define HAVE_POOL_METRICS 1
#endif
#endif

/* /healthz says "saturated" once no worker has been free for this long. */
static int64_t saturated_after_ns = 1000000000;

void metrics_glue_init(struct backend *b, int64_t saturated_ns)
{
	(void)b;
	if (saturated_ns > 0)
		saturated_after_ns = saturated_ns;
}

void metrics_glue_write(struct backend *b, FILE *f)
{
#ifdef HAVE_POOL_METRICS
	pool_t *p = backend_pool(b);

	if (p)
		(void)pool_metrics_write(p, f, NULL, 0);
#else
	(void)b;
	(void)f;
#endif
}

int metrics_glue_saturated(struct backend *b)
{
#ifdef HAVE_POOL_METRICS
	pool_t *p = backend_pool(b);

	return p && pool_metrics_saturation_ns(p) > saturated_after_ns;
#else
	(void)b;
	return 0;
#endif
}

int metrics_glue_available(void)
{
#ifdef HAVE_POOL_METRICS
	return 1;
#else
	return 0;
#endif
}
