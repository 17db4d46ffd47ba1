/* SPDX-License-Identifier: MIT */
/*
 * perf/mutex_cv_sem.c - a mutex+condvar weighted semaphore (see the
 * header): the textbook peer of pool_sem_t.
 */
#include "mutex_cv_sem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct mcv_sem {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t avail;
	int waiters;
};

int mcv_sem_new(struct mcv_sem **out, int64_t size)
{
	struct mcv_sem *s = malloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->avail = size;
	s->waiters = 0;
	*out = s;
	return 0;
}

void mcv_sem_acquire(struct mcv_sem *s, int64_t weight)
{
	pthread_mutex_lock(&s->mu);
	while (s->avail < weight) {
		s->waiters++;
		pthread_cond_wait(&s->cv, &s->mu);
		s->waiters--;
	}
	s->avail -= weight;
	pthread_mutex_unlock(&s->mu);
}

void mcv_sem_release(struct mcv_sem *s, int64_t weight)
{
	pthread_mutex_lock(&s->mu);
	s->avail += weight;
	/* Weighted: any waiter may fit now, so wake them all. */
	if (s->waiters)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void mcv_sem_destroy(struct mcv_sem *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
