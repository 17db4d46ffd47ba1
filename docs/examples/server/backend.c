/* SPDX-License-Identifier: MIT */
/*
 * backend.c - the three worker pools behind the example server (backend.h).
 *
 * pool: this library, pool_try_submit (never blocks the event loop); its
 * queue bound is the library's own (see pool_backend_new). glib: an
 * exclusive GThreadPool, the bound checked here. mutex_cv: perf/mutex_cv.c, the
 * bound checked here, max_capacity threads started up front and `capacity` of
 * them allowed to take tasks (mcv_tune).
 */
#include "backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <pool.h>

#include "mutex_cv.h"

struct backend {
	enum backend_kind kind;
	int max_capacity;
	int64_t bound;
	pool_t *pool;
	GThreadPool *glib;
	struct mcv_pool *mcv;
	/* glib and mutex_cv only. submitted and rejected: written by the
	 * submitting thread (the event loop); started and completed: by
	 * workers. All relaxed: they are counts read for reports and for the
	 * bound, which is a limit on a moving figure, not a synchronisation. */
	atomic_uint_fast64_t submitted, rejected, started, completed;
	atomic_int cap; /* mutex_cv: the tuned limit */
};

int backend_parse(const char *name, enum backend_kind *out)
{
	if (!strcmp(name, "pool"))
		*out = BACKEND_POOL;
	else if (!strcmp(name, "glib"))
		*out = BACKEND_GLIB;
	else if (!strcmp(name, "mutex_cv"))
		*out = BACKEND_MUTEX_CV;
	else
		return -EINVAL;
	return 0;
}

const char *backend_name(const struct backend *b)
{
	static const char *const names[] = {"pool", "glib", "mutex_cv"};

	return names[b->kind];
}

static void pool_run(void *arg)
{
	struct backend_task *t = arg;

	t->fn(t);
}

/* glib and mutex_cv: count around the handler. */
static void counted_run(struct backend_task *t)
{
	struct backend *b = t->b;

	atomic_fetch_add_explicit(&b->started, 1, memory_order_relaxed);
	t->fn(t);
	atomic_fetch_add_explicit(&b->completed, 1, memory_order_relaxed);
}

static void glib_run(gpointer data, gpointer user)
{
	(void)user;
	counted_run(data);
}

static void mcv_run(void *arg)
{
	counted_run(arg);
}

static int pool_backend_new(struct backend *b, const struct backend_config *c)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	int r;

	o.capacity = c->capacity;
	o.name = "server";
	/* Never block the event loop: a full pool answers POOL_EOVERLOAD. */
	o.flags = POOL_NONBLOCKING | POOL_PREALLOC;
	/* The pool's own bound: at most Q tasks wait while every worker
	 * runs one (pool_set_queue_limit), or none at all. */
	if (c->queue_bound > 0)
		o.queue_limit = c->queue_bound;
	else if (c->queue_bound == BACKEND_QUEUE_NONE)
		o.queue_limit = POOL_QUEUE_NONE;
	r = pool_new(&b->pool, &o);
	if (r < 0)
		return r == POOL_ENOMEM ? -ENOMEM : -EINVAL;
	return 0;
}

int backend_new(struct backend **out, const struct backend_config *c)
{
	struct backend *b;
	GError *err = NULL;
	int r = 0;

	if (c->capacity < 1 || c->max_capacity < c->capacity)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->kind = c->kind;
	b->max_capacity = c->max_capacity;
	b->bound = c->queue_bound;
	atomic_init(&b->cap, c->capacity);
	switch (c->kind) {
	case BACKEND_POOL:
		r = pool_backend_new(b, c);
		break;
	case BACKEND_GLIB:
		/* Exclusive: its threads start now, as the pool's
		 * (POOL_PREALLOC) and mutex_cv's do. */
		b->glib =
			g_thread_pool_new(glib_run, b, c->capacity, TRUE, &err);
		if (!b->glib) {
			g_clear_error(&err);
			r = -ENOMEM;
		}
		break;
	case BACKEND_MUTEX_CV:
		r = mcv_new(&b->mcv, c->max_capacity, 0);
		if (!r && c->capacity < c->max_capacity)
			r = mcv_tune(b->mcv, c->capacity);
		break;
	}
	if (r < 0) {
		free(b);
		return r;
	}
	*out = b;
	return 0;
}

/*
 * glib and mutex_cv: the pool's rule (pool_set_queue_limit): a task is
 * accepted only while the tasks not yet ended (running or queued) are fewer
 * than capacity + Q, Q = 0 for no queue. Only the loop submits, so the
 * figure can only be lower than read by the time the task is queued.
 */
static bool over_bound(struct backend *b)
{
	uint64_t q, cap, inflight;

	if (!b->bound)
		return false;
	q = b->bound > 0 ? (uint64_t)b->bound : 0;
	cap = (uint64_t)atomic_load_explicit(&b->cap, memory_order_relaxed);
	inflight = atomic_load_explicit(&b->submitted, memory_order_relaxed) -
		   atomic_load_explicit(&b->completed, memory_order_relaxed);
	return inflight >= cap + q;
}

int backend_submit(struct backend *b, struct backend_task *t)
{
	int r;

	t->b = b;
	if (b->kind == BACKEND_POOL) {
		r = pool_try_submit(b->pool, pool_run, t);
		if (r == POOL_EOVERLOAD)
			return -EAGAIN;
		if (r == POOL_ECLOSED)
			return -ESHUTDOWN;
		return r < 0 ? -ENOMEM : 0;
	}
	if (over_bound(b)) {
		atomic_fetch_add_explicit(&b->rejected, 1,
					  memory_order_relaxed);
		return -EAGAIN;
	}
	atomic_fetch_add_explicit(&b->submitted, 1, memory_order_relaxed);
	if (b->kind == BACKEND_GLIB) {
		GError *err = NULL;

		if (!g_thread_pool_push(b->glib, t, &err)) {
			g_clear_error(&err);
			r = -ENOMEM;
		} else {
			r = 0;
		}
	} else {
		r = mcv_submit(b->mcv, mcv_run, t);
	}
	if (r < 0)
		atomic_fetch_sub_explicit(&b->submitted, 1,
					  memory_order_relaxed);
	return r;
}

int backend_cap(struct backend *b)
{
	switch (b->kind) {
	case BACKEND_POOL:
		return pool_cap(b->pool);
	case BACKEND_GLIB:
		return g_thread_pool_get_max_threads(b->glib);
	default:
		return atomic_load_explicit(&b->cap, memory_order_relaxed);
	}
}

int backend_tune(struct backend *b, int capacity)
{
	GError *err = NULL;
	int r = 0;

	if (capacity < 1 || capacity > b->max_capacity)
		return -EINVAL;
	switch (b->kind) {
	case BACKEND_POOL:
		r = pool_tune(b->pool, capacity);
		if (r < 0)
			r = r == POOL_ENOMEM ? -ENOMEM : -EINVAL;
		break;
	case BACKEND_GLIB:
		if (!g_thread_pool_set_max_threads(b->glib, capacity, &err)) {
			g_clear_error(&err);
			r = -ENOMEM;
		} else {
			atomic_store_explicit(&b->cap, capacity,
					      memory_order_relaxed);
		}
		break;
	case BACKEND_MUTEX_CV:
		r = mcv_tune(b->mcv, capacity);
		if (!r)
			atomic_store_explicit(&b->cap, capacity,
					      memory_order_relaxed);
		break;
	}
	return r;
}

int64_t backend_queued(struct backend *b)
{
	if (b->kind == BACKEND_POOL)
		return pool_queued(b->pool);
	return (int64_t)(atomic_load_explicit(&b->submitted,
					      memory_order_relaxed) -
			 atomic_load_explicit(&b->started,
					      memory_order_relaxed));
}

int64_t backend_bound(struct backend *b)
{
	return b->bound > 0 ? b->bound : 0;
}

void backend_counts(struct backend *b, struct backend_counts *c)
{
	if (b->kind == BACKEND_POOL) {
		pool_stats_t s = POOL_STATS_INIT;

		memset(c, 0, sizeof(*c));
		if (pool_stats(b->pool, &s) < 0)
			return;
		c->submitted = s.submitted;
		c->completed = s.completed;
		c->rejected = s.rejected_overload;
		c->queued = (int64_t)s.queued;
		c->running = (int64_t)s.running;
		return;
	}
	/* completed before started before submitted: each later read sees
	 * at least as much, so running and queued are never negative. */
	c->completed =
		atomic_load_explicit(&b->completed, memory_order_relaxed);
	uint64_t started =
		atomic_load_explicit(&b->started, memory_order_relaxed);
	c->submitted =
		atomic_load_explicit(&b->submitted, memory_order_relaxed);
	c->rejected = atomic_load_explicit(&b->rejected, memory_order_relaxed);
	c->running =
		started >= c->completed ? (int64_t)(started - c->completed) : 0;
	c->queued =
		c->submitted >= started ? (int64_t)(c->submitted - started) : 0;
}

struct pool *backend_pool(struct backend *b)
{
	return b->pool;
}

/* glib and mutex_cv close without a timeout: close on a helper thread and
 * wait for it with one. */
struct closer {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int done;
	struct backend *b;
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;

	if (c->b->kind == BACKEND_GLIB)
		g_thread_pool_free(c->b->glib, FALSE, TRUE);
	else
		mcv_destroy(c->b->mcv);
	pthread_mutex_lock(&c->lock);
	c->done = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int backend_drain(struct backend *b, int64_t timeout_ns)
{
	static struct closer c = {PTHREAD_MUTEX_INITIALIZER,
				  PTHREAD_COND_INITIALIZER, 0, NULL};
	pthread_condattr_t ca;
	struct timespec ts;
	pthread_t th;
	int r = 0;

	if (timeout_ns < 0)
		timeout_ns = 0;
	if (b->kind == BACKEND_POOL) {
		r = pool_release_timeout(b->pool, timeout_ns);
		if (r == POOL_ETIMEDOUT)
			return -ETIMEDOUT;
		if (r < 0)
			return -EINVAL;
		(void)pool_destroy(b->pool);
		free(b);
		return 0;
	}
	/* One drain per process: the closer is static so a timed-out drain
	 * leaves nothing freed under the helper thread. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&c.cv);
	pthread_cond_init(&c.cv, &ca);
	pthread_condattr_destroy(&ca);
	c.b = b;
	if (pthread_create(&th, NULL, closer_main, &c))
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ns / 1000000000;
	ts.tv_nsec += timeout_ns % 1000000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c.lock);
	while (!c.done && r == 0)
		r = pthread_cond_timedwait(&c.cv, &c.lock, &ts);
	r = c.done ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&c.lock);
	if (r < 0) {
		pthread_detach(th);
		return r;
	}
	pthread_join(th, NULL);
	free(b);
	return 0;
}
