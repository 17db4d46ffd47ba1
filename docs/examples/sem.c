/* SPDX-License-Identifier: MIT */
/*
 * sem.c - a weighted semaphore as a memory budget: 40 jobs of different
 * sizes run on a pool of 4 workers, but together they may hold at most 100
 * "MB". A job acquires its size before it allocates and releases it after.
 */
#include <stdatomic.h>
#include <stdio.h>

#include <pool.h>

#define BUDGET 100

struct job {
	pool_sem_t *budget;
	int64_t mb;
	int rc;
};

static atomic_long in_use, peak;

static void run_job(void *arg)
{
	struct job *j = arg;
	long now, seen;

	/* Blocks this worker until the job fits (FIFO: a big job is not
	 * overtaken by small ones). */
	j->rc = pool_sem_acquire(j->budget, j->mb);
	if (j->rc != 0)
		return;
	now = atomic_fetch_add(&in_use, j->mb) + j->mb;
	seen = atomic_load(&peak);
	while (now > seen && !atomic_compare_exchange_weak(&peak, &seen, now))
		;
	/* ... the job's real work would allocate j->mb here ... */
	atomic_fetch_sub(&in_use, j->mb);
	j->rc = pool_sem_release(j->budget, j->mb);
}

int main(void)
{
	static struct job jobs[40];
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_sem_t *budget;
	pool_t *p;

	o.capacity = 4;
	if (pool_new(&p, &o) != 0 || pool_sem_new(&budget, BUDGET) != 0)
		return 1;
	/* A request larger than the budget could never be served. */
	if (pool_sem_acquire(budget, BUDGET + 1) != POOL_EINVAL)
		return 1;
	for (int i = 0; i < 40; i++) {
		jobs[i].budget = budget;
		jobs[i].mb = 10 + (i * 37) % 80; /* 10 .. 89 MB */
		if (pool_submit(p, run_job, &jobs[i]) != 0)
			return 1;
	}
	if (pool_wait_idle(p, -1) != 0)
		return 1;
	for (int i = 0; i < 40; i++)
		if (jobs[i].rc != 0)
			return 1;
	printf("peak %ld of %d MB, available again: %lld\n", atomic_load(&peak),
	       BUDGET, (long long)pool_sem_available(budget));
	if (pool_sem_available(budget) != BUDGET || atomic_load(&peak) > BUDGET)
		return 1;
	return pool_sem_destroy(budget) != 0 || pool_destroy(p) != 0;
}
