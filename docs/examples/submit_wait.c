/* SPDX-License-Identifier: MIT */
/*
 * submit_wait.c - pool_submit_wait: submit and return after the task ran
 * (workerpool SubmitWait), from outside the pool and from inside a task.
 */
#include <stdio.h>

#include <pool.h>

struct square {
	long in, out; /* plain fields: the wait orders them */
};

static void square(void *arg)
{
	struct square *sq = arg;

	sq->out = sq->in * sq->in;
}

struct sum {
	long n, total;
	int nested_rc;
};

/*
 * Sums the squares of 1..n. From inside a task of the same pool,
 * pool_submit_wait runs the function inline on this worker: it cannot
 * deadlock even when every other worker is busy.
 */
static void sum_squares(void *arg)
{
	struct sum *s = arg;

	for (long i = 1; i <= s->n; i++) {
		struct square sq = {.in = i};
		int r = pool_submit_wait(pool_self(), square, &sq);

		if (r < 0) {
			s->nested_rc = r;
			return;
		}
		s->total += sq.out;
	}
}

int main(void)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t st = POOL_STATS_INIT;
	struct square sq = {.in = 12};
	struct sum s = {.n = 10};
	pool_t *p;
	int r;

	o.capacity = 1; /* one worker: a nested wait could only run inline */
	if ((r = pool_new(&p, &o)) < 0)
		goto fail;

	/* square(&sq) returned before this returns 0: sq.out is visible. */
	if ((r = pool_submit_wait(p, square, &sq)) < 0)
		goto fail;
	printf("12 * 12 = %ld\n", sq.out);

	if ((r = pool_submit_wait(p, sum_squares, &s)) < 0)
		goto fail;
	printf("sum of squares 1..10 = %ld (nested waits: %s)\n", s.total,
	       pool_err_name(s.nested_rc));
	if ((r = pool_stats(p, &st)) < 0)
		goto fail;
	printf("inline runs: %llu\n", (unsigned long long)st.inline_runs);

	if ((r = pool_destroy(p)) < 0)
		goto fail;
	if (sq.out != 144 || s.total != 385 || st.inline_runs != 10)
		return 1;
	return 0;
fail:
	fprintf(stderr, "error: %s\n", pool_strerror(r));
	return 1;
}
