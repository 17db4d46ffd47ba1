/* SPDX-License-Identifier: MIT */
/*
 * test/build/hdr_init.c - every initializer macro and init function of the
 * public headers, static and automatic, plus (void)-discarded results of
 * POOL_NODISCARD calls. Built by test/build/matrix.sh with gcc and clang
 * (C99, C11) and g++ and clang++ (C++11, 14, 17, 20), each with -Wall
 * -Wextra -Wpedantic -Werror, then linked against libpool.a and run.
 */
#include <pool.h>

static pool_options_t static_opts = POOL_OPTIONS_INIT;
static pool_stats_t static_stats = POOL_STATS_INIT;
static pool_multi_options_t static_mopts = POOL_MULTI_OPTIONS_INIT;
static pool_metrics_options_t static_meto = POOL_METRICS_OPTIONS_INIT;

static void hdr_task(void *arg)
{
	(void)arg;
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	pool_multi_options_t mo = POOL_MULTI_OPTIONS_INIT;
	pool_options_t o2 = pool_options_init();
	pool_stats_t s2 = pool_stats_init();
	pool_multi_options_t mo2 = pool_multi_options_init();
	pool_metrics_options_t me = POOL_METRICS_OPTIONS_INIT;
	pool_metrics_options_t me2 = pool_metrics_options_init();
	pool_executor_t e;
	pool_t *p = 0;

	if (o.size != sizeof(o) || s.size != sizeof(s) ||
	    mo.size != sizeof(mo) || o2.size != sizeof(o) ||
	    s2.size != sizeof(s) || mo2.size != sizeof(mo) ||
	    static_opts.size != sizeof(o) || static_stats.size != sizeof(s) ||
	    static_mopts.size != sizeof(mo) || me.size != sizeof(me) ||
	    me2.size != sizeof(me) || static_meto.size != sizeof(me))
		return 1;
	/* Every other field is zero (default). */
	if (o.capacity != 0 || o.flags != 0 || o.name != 0 ||
	    s.submitted != 0 || mo.strategy != 0 || mo.pick != 0 ||
	    me.flags != 0 || me.sample_every != 0 || me.before != 0)
		return 1;
	o.capacity = 1;
	o.metrics = &me;
	if (pool_new(&p, &o) != 0)
		return 1;
	/* Discarding on purpose compiles without a warning everywhere. */
	(void)pool_submit(p, hdr_task, 0);
	(void)pool_try_submit(p, hdr_task, 0);
	if (pool_executor(p, &e) != 0)
		return 1;
	(void)pool_release_timeout(p, 1000000000);
	if (pool_stats(p, &s) != 0 || s.submitted < 1)
		return 1;
	return pool_destroy(p) != 0 || pool_version() != POOL_VERSION_HEX;
}
