/* SPDX-License-Identifier: MIT */
/*
 * fork_join.c - nested groups and the helping wait: a parallel sum over an
 * array, split in halves down to a cutoff, each split a group of its own
 * waited for inside the task. On a pool of capacity 1 it cannot deadlock:
 * the waiting worker runs the queued halves itself.
 */
#include <stdio.h>

#include <pool.h>

#define N      (1 << 16)
#define CUTOFF 1024

static long data[N];

struct range {
	pool_t *p;
	long lo, hi;
	long sum; /* written by the task; read after the wait */
};

static int sum_range(void *arg)
{
	struct range *r = arg;
	struct range left, right;
	pool_group_t *g;
	int rc;

	if (r->hi - r->lo <= CUTOFF) {
		r->sum = 0;
		for (long i = r->lo; i < r->hi; i++)
			r->sum += data[i];
		return 0;
	}
	left = (struct range){r->p, r->lo, (r->lo + r->hi) / 2, 0};
	right = (struct range){r->p, left.hi, r->hi, 0};
	rc = pool_group_new(&g, r->p, NULL);
	if (rc != 0)
		return rc;
	rc = pool_group_go(g, sum_range, &left); /* fork */
	if (rc == 0)
		rc = sum_range(&right); /* the other half here */
	/* Join: from inside a task, this runs queued tasks while waiting. */
	if (pool_group_wait(g) != 0 && rc == 0)
		rc = -1;
	if (pool_group_destroy(g) != 0)
		return -1;
	r->sum = left.sum + right.sum;
	return rc;
}

static int run(int capacity)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	struct range all;
	pool_group_t *g;
	pool_t *p;
	int rc;

	o.capacity = capacity;
	if (pool_new(&p, &o) != 0 || pool_group_new(&g, p, NULL) != 0)
		return 1;
	all = (struct range){p, 0, N, 0};
	rc = pool_group_go(g, sum_range, &all);
	if (rc == 0)
		rc = pool_group_wait(g); /* from outside: a plain sleep */
	printf("capacity %d: sum %ld (%s)\n", capacity, all.sum,
	       pool_err_name(rc));
	if (pool_group_destroy(g) != 0 || pool_destroy(p) != 0)
		return 1;
	return rc != 0 || all.sum != (long)N * (N - 1) / 2;
}

int main(void)
{
	for (long i = 0; i < N; i++)
		data[i] = i;
	return run(1) || run(4);
}
