/* SPDX-License-Identifier: MIT */
/*
 * perf/cg_sem.c - the uncontended acquire/release pair of the `sem`
 * workload (weight 1 on a semaphore of size 2, one thread) for callgrind
 * (docs/design.md, "Contended, weight 1"):
 *
 *   valgrind --tool=callgrind cg-sem N pool|mutex_cv
 *
 * Instructions per pair: (Ir(N2) - Ir(N1)) / (N2 - N1), which cancels the
 * start-up. Checks every return value and the units at the end.
 */
#include <pool/sem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutex_cv_sem.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int mcv = argc > 2 && strcmp(argv[2], "mutex_cv") == 0;
	pool_sem_t *ps = NULL;
	struct mcv_sem *ms = NULL;

	if (n < 0 || (mcv ? mcv_sem_new(&ms, 2) : pool_sem_new(&ps, 2)) != 0) {
		fprintf(stderr, "cg-sem: bad N or semaphore creation failed\n");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		if (mcv) {
			mcv_sem_acquire(ms, 1);
			mcv_sem_release(ms, 1);
		} else if (pool_sem_acquire(ps, 1) != 0 ||
			   pool_sem_release(ps, 1) != 0) {
			fprintf(stderr, "cg-sem: a call failed at pair %ld\n",
				i);
			return 1;
		}
	}
	if (mcv) {
		mcv_sem_destroy(ms);
	} else if (pool_sem_available(ps) != 2 || pool_sem_destroy(ps) != 0) {
		fprintf(stderr, "cg-sem: units lost or destroy failed\n");
		return 1;
	}
	printf("%ld pairs\n", n);
	return 0;
}
