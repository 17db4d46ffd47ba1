/* SPDX-License-Identifier: MIT */
/*
 * fetch_urls.c - the classic errgroup program in C: fetch 50 URLs, at most
 * 5 at a time, stop at the first error. The fetch is simulated (a short
 * sleep, and URL 17 answers 404), so the program needs no network.
 *
 * What it shows: pool_group_new with a limit, pool_group_go blocking at the
 * limit, a task polling the group's context to stop early, the first error
 * kept and returned by pool_group_wait, tasks skipped after it reported to
 * on_skip, and that every URL is accounted for.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <pool.h>

#define NURLS	   50
#define LIMIT	   5
#define FAILING	   17
#define E_NOTFOUND (-404) /* a code of the application's own */

struct fetch {
	pool_group_t *g;
	int id;
	char url[64];
	int status; /* written by the task; read after pool_group_wait */
};

static atomic_int in_flight, max_in_flight, fetched, stopped_early;
static atomic_int skipped;

/* A pretend HTTP GET: 1 ms of "network", then a status. */
static int simulated_get(const char *url, int id)
{
	struct timespec ts = {0, 1000000};

	(void)url;
	nanosleep(&ts, NULL);
	return id == FAILING ? 404 : 200;
}

static int fetch_one(void *arg)
{
	struct fetch *f = arg;
	int now = atomic_fetch_add(&in_flight, 1) + 1;
	int seen = atomic_load(&max_in_flight);
	int rc = 0;

	while (now > seen &&
	       !atomic_compare_exchange_weak(&max_in_flight, &seen, now))
		;
	/* Cheap poll: another fetch already failed, do not start. */
	if (pool_ctx_err(pool_group_ctx(f->g)) != 0) {
		atomic_fetch_add(&stopped_early, 1);
	} else {
		f->status = simulated_get(f->url, f->id);
		atomic_fetch_add(&fetched, 1);
		if (f->status != 200)
			rc = E_NOTFOUND; /* the group keeps the first one */
	}
	atomic_fetch_sub(&in_flight, 1);
	return rc;
}

/* Queued fetches the group skipped once it was cancelled: never lost. */
static void on_skip(void *ctx, pool_group_fn fn, void *arg, int cause)
{
	(void)ctx;
	(void)fn;
	(void)arg;
	(void)cause;
	atomic_fetch_add(&skipped, 1);
}

int main(void)
{
	static struct fetch f[NURLS];
	pool_group_options_t go = POOL_GROUP_OPTIONS_INIT;
	pool_options_t o = POOL_OPTIONS_INIT;
	int refused = 0, accepted = 0, rc;
	pool_group_t *g;
	pool_t *p;

	o.capacity = 8; /* the pool is shared; the group's limit is 5 */
	if (pool_new(&p, &o) != 0)
		return 1;
	go.limit = LIMIT;
	go.on_skip = on_skip;
	if (pool_group_new(&g, p, &go) != 0)
		return 1;
	for (int i = 0; i < NURLS; i++) {
		f[i].g = g;
		f[i].id = i;
		snprintf(f[i].url, sizeof(f[i].url), "http://example.test/%d",
			 i);
		/* Blocks while 5 are in flight; refuses once cancelled. */
		rc = pool_group_go(g, fetch_one, &f[i]);
		if (rc == 0)
			accepted++;
		else
			refused++; /* f[i] is still ours: never ran */
	}
	rc = pool_group_wait(g);
	printf("first error: %d (%s), fetched %d, stopped early %d, "
	       "skipped %d, refused %d, max in flight %d\n",
	       rc, rc == E_NOTFOUND ? "404" : pool_err_name(rc),
	       atomic_load(&fetched), atomic_load(&stopped_early),
	       atomic_load(&skipped), refused, atomic_load(&max_in_flight));
	if (pool_group_destroy(g) != 0 || pool_destroy(p) != 0)
		return 1;
	/* The rules the program relies on. */
	if (rc != E_NOTFOUND || atomic_load(&max_in_flight) > LIMIT)
		return 1;
	if (f[FAILING].status != 404 && atomic_load(&fetched) <= FAILING)
		return 1;
	if (atomic_load(&fetched) + atomic_load(&stopped_early) +
		    atomic_load(&skipped) !=
	    accepted)
		return 1;
	return accepted + refused == NURLS ? 0 : 1;
}
