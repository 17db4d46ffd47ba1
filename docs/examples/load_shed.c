/* SPDX-License-Identifier: MIT */
/*
 * load_shed.c - shed load early with a queue bound (docs/pool.md, "Load
 * shedding"): a server's request handler submits each request with
 * pool_try_submit to a pool of 2 workers with at most 4 requests waiting,
 * and answers "503" at once when the pool says POOL_EOVERLOAD, instead of
 * queueing seconds of work. Then ants' zero-queue mode: no request waits.
 *
 * The workers are held on a latch so the counts are exact: 2 running + 4
 * waiting = 6 accepted, every further request shed.
 */
#include <stdatomic.h>
#include <stdio.h>

#include <pool.h>

static atomic_int release_workers, handled;

static void handle_request(void *arg)
{
	(void)arg;
	while (!atomic_load(&release_workers))
		; /* a slow request */
	atomic_fetch_add(&handled, 1);
}

/* What the server's accept loop does per request. */
static int serve(pool_t *p, int *shed)
{
	int rc = pool_try_submit(p, handle_request, NULL);

	if (rc == POOL_EOVERLOAD) {
		(*shed)++; /* reply "503 Service Unavailable" now */
		return 0;
	}
	return rc;
}

static int run(int64_t queue_limit, int want_accepted)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	pool_t *p;
	int shed = 0, rc;

	o.capacity = 2;
	o.queue_limit = queue_limit;
	atomic_store(&release_workers, 0);
	atomic_store(&handled, 0);
	if ((rc = pool_new(&p, &o)) != 0)
		return rc;
	for (int i = 0; i < 20; i++)
		if ((rc = serve(p, &shed)) != 0)
			return rc;
	if ((rc = pool_stats(p, &s)) != 0)
		return rc;
	printf("queue_limit %lld: %d accepted, %d shed (rejected_queue_limit "
	       "%llu)\n",
	       (long long)queue_limit, 20 - shed, shed,
	       (unsigned long long)s.rejected_queue_limit);
	atomic_store(&release_workers, 1);
	if ((rc = pool_destroy(p)) != 0)
		return rc;
	if (20 - shed != want_accepted ||
	    atomic_load(&handled) != want_accepted ||
	    s.rejected_queue_limit != (uint64_t)shed)
		return 1;
	return 0;
}

int main(void)
{
	/* At most 4 waiting while both workers run: 6 accepted. */
	if (run(4, 6) != 0)
		return 1;
	/* No queue at all (ants): accepted only while a worker is free. */
	if (run(POOL_QUEUE_NONE, 2) != 0)
		return 1;
	return 0;
}
