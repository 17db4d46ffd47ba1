/* SPDX-License-Identifier: MIT */
/*
 * multi.c - a multi-pool: round-robin over 4 members for anonymous work, and
 * tenant sharding with a pick function so each tenant's tasks stay on one
 * member.
 *
 * Checks what it shows: round-robin runs all 400 tasks over the members
 * (how many each takes depends on which workers are awake: a member that
 * would need a wake passes its turn to one that would not, multi.h), every
 * task of a tenant ran on one member (the one its pick chose), and the
 * shared-deadline release drains everything.
 */
#include <stdatomic.h>
#include <stdio.h>

#include <pool.h>

#define MEMBERS 4
#define TENANTS 8

static atomic_int done, moved;
/* The member pool each tenant's first task ran on. */
static _Atomic(pool_t *) home[TENANTS];

struct job {
	int tenant;
};

static void count(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
}

/* The member a tenant lives on. */
static int tenant_member(void *ctx, uint64_t tenant, int n)
{
	(void)ctx;
	return (int)(tenant % (uint64_t)n);
}

static void tenant_task(void *arg)
{
	struct job *j = arg;
	pool_t *expected = NULL;

	/* pool_self() is the member running us: the same for every task of
	 * a tenant. */
	if (!atomic_compare_exchange_strong(&home[j->tenant], &expected,
					    pool_self()) &&
	    expected != pool_self())
		atomic_fetch_add(&moved, 1);
	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
}

int main(void)
{
	pool_multi_options_t mo = POOL_MULTI_OPTIONS_INIT;
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_stats_t s = POOL_STATS_INIT;
	struct job jobs[TENANTS * 10];
	pool_multi_t *rr, *sharded;
	int r, ok = 1;

	o.capacity = 2; /* per member: 8 workers in all */

	/* Round-robin: anonymous work, spread over the awake members. */
	if ((r = pool_multi_new(&rr, MEMBERS, &o, POOL_LB_ROUND_ROBIN)) < 0)
		goto fail;
	for (int i = 0; i < 400; i++)
		if ((r = pool_multi_submit(rr, count, NULL)) < 0)
			goto fail;
	/* One deadline for all members: 0 once every member drained. */
	if ((r = pool_multi_release_timeout(rr, 5000000000)) < 0)
		goto fail;
	for (int i = 0; i < MEMBERS; i++) {
		if ((r = pool_multi_stats_by_index(rr, i, &s)) < 0)
			goto fail;
		printf("round-robin member %d: %llu tasks\n", i,
		       (unsigned long long)s.submitted);
	}
	if ((r = pool_multi_stats(rr, &s)) < 0)
		goto fail;
	ok &= s.submitted == 400 && s.completed == 400;
	if ((r = pool_multi_destroy(rr)) < 0)
		goto fail;

	/* Tenant sharding: the pick maps a tenant id to its member. */
	mo.strategy = POOL_LB_CUSTOM;
	mo.pick = tenant_member;
	if ((r = pool_multi_new_opts(&sharded, MEMBERS, &o, &mo)) < 0)
		goto fail;
	for (int i = 0; i < TENANTS * 10; i++) {
		jobs[i].tenant = i % TENANTS;
		/* < 0: the task never runs and jobs[i] is still ours. */
		r = pool_multi_submit_key(sharded, (uint64_t)jobs[i].tenant,
					  tenant_task, &jobs[i]);
		if (r < 0)
			goto fail;
	}
	if ((r = pool_multi_release_timeout(sharded, 5000000000)) < 0)
		goto fail;
	if ((r = pool_multi_stats(sharded, &s)) < 0)
		goto fail;
	printf("sharded: %llu tasks on %d members, capacity %llu\n",
	       (unsigned long long)s.completed, pool_multi_size(sharded),
	       (unsigned long long)s.capacity);
	for (int i = 0; i < MEMBERS; i++) {
		pool_stats_t one = POOL_STATS_INIT;

		if ((r = pool_multi_stats_by_index(sharded, i, &one)) < 0)
			goto fail;
		/* Tenants i and i + 4 live on member i: 20 tasks. */
		ok &= one.submitted == 20;
	}
	ok &= s.completed == TENANTS * 10 && atomic_load(&moved) == 0;
	if ((r = pool_multi_destroy(sharded)) < 0)
		goto fail;
	ok &= atomic_load(&done) == 400 + TENANTS * 10;
	printf("%s\n", ok ? "ok" : "MISMATCH");
	return ok ? 0 : 1;
fail:
	fprintf(stderr, "error: %s\n", pool_strerror(r));
	return 1;
}
