/* SPDX-License-Identifier: MIT */
/*
 * perf/mutex_cv.c - the mutex+condvar baseline pool (see mutex_cv.h).
 */
#include "mutex_cv.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mcv_task {
	mcv_fn fn;
	void *arg;
};

struct mcv_worker {
	struct mcv_pool *pool;
	pthread_t thread;
	int id;
};

struct mcv_pool {
	pthread_mutex_t lock;
	pthread_cond_t nonempty; /* eligible workers wait here for tasks */
	pthread_cond_t parked;	 /* workers above the tuned limit */
	struct mcv_task *ring;
	size_t mask; /* ring size - 1 (a power of two) */
	size_t head; /* next slot to pop */
	size_t count;
	int limit;
	int stop;
	int nthreads;
	struct mcv_worker *workers;
};

static int mcv_pop(struct mcv_pool *p, struct mcv_task *t)
{
	if (!p->count)
		return 0;
	*t = p->ring[p->head];
	p->head = (p->head + 1) & p->mask;
	p->count--;
	return 1;
}

static void *mcv_worker_main(void *arg)
{
	struct mcv_worker *w = arg;
	struct mcv_pool *p = w->pool;
	struct mcv_task t;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (w->id >= p->limit && !p->stop) {
			pthread_cond_wait(&p->parked, &p->lock);
			continue;
		}
		if (!mcv_pop(p, &t)) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->nonempty, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		t.fn(t.arg);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int mcv_grow(struct mcv_pool *p)
{
	size_t size = (p->mask + 1) * 2;
	struct mcv_task *ring = malloc(size * sizeof(*ring));
	size_t i;

	if (!ring)
		return -ENOMEM;
	for (i = 0; i < p->count; i++)
		ring[i] = p->ring[(p->head + i) & p->mask];
	free(p->ring);
	p->ring = ring;
	p->mask = size - 1;
	p->head = 0;
	return 0;
}

static void mcv_stop_workers(struct mcv_pool *p, int n)
{
	int i;

	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->nonempty);
	pthread_cond_broadcast(&p->parked);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		pthread_join(p->workers[i].thread, NULL);
}

static void mcv_free(struct mcv_pool *p)
{
	pthread_cond_destroy(&p->parked);
	pthread_cond_destroy(&p->nonempty);
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p->ring);
	free(p);
}

int mcv_new(struct mcv_pool **out, int nthreads, size_t stack_size)
{
	struct mcv_pool *p;
	pthread_attr_t attr;
	int i, rc;

	if (!out || nthreads <= 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->mask = 255;
	p->ring = malloc((p->mask + 1) * sizeof(*p->ring));
	p->workers = calloc((size_t)nthreads, sizeof(*p->workers));
	if (!p->ring || !p->workers) {
		free(p->ring);
		free(p->workers);
		free(p);
		return -ENOMEM;
	}
	p->limit = nthreads;
	p->nthreads = nthreads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->nonempty, NULL);
	pthread_cond_init(&p->parked, NULL);

	rc = pthread_attr_init(&attr);
	if (rc) {
		mcv_free(p);
		return -rc;
	}
	if (stack_size)
		rc = pthread_attr_setstacksize(&attr, stack_size);
	for (i = 0; !rc && i < nthreads; i++) {
		p->workers[i].pool = p;
		p->workers[i].id = i;
		rc = pthread_create(&p->workers[i].thread, &attr,
				    mcv_worker_main, &p->workers[i]);
		if (rc)
			break;
	}
	pthread_attr_destroy(&attr);
	if (rc) {
		mcv_stop_workers(p, i);
		mcv_free(p);
		return -rc;
	}
	*out = p;
	return 0;
}

int mcv_submit(struct mcv_pool *p, mcv_fn fn, void *arg)
{
	int rc = 0;

	if (!p || !fn)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->stop) {
		rc = -ESHUTDOWN;
	} else if (p->count == p->mask + 1) {
		rc = mcv_grow(p);
	}
	if (!rc) {
		p->ring[(p->head + p->count) & p->mask] =
			(struct mcv_task){fn, arg};
		p->count++;
		pthread_cond_signal(&p->nonempty);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int mcv_tune(struct mcv_pool *p, int limit)
{
	if (!p || limit <= 0 || limit > p->nthreads)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->limit = limit;
	pthread_cond_broadcast(&p->nonempty);
	pthread_cond_broadcast(&p->parked);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void mcv_destroy(struct mcv_pool *p)
{
	if (!p)
		return;
	mcv_stop_workers(p, p->nthreads);
	mcv_free(p);
}
