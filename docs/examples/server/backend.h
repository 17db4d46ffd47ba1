/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the worker pools the example server can run its handlers on:
 * this library's pool, GLib's GThreadPool and the mutex+condvar baseline of
 * perf/ (perf/mutex_cv.c). The server calls only these functions, so the
 * three differ in nothing but the pool.
 *
 * Thread safety: submit, cap, queued and tune may be called from any thread
 * (the server calls submit from its event loop, tune from its admin thread);
 * new and drain from the main thread only.
 */
#ifndef SERVER_BACKEND_H
#define SERVER_BACKEND_H

#include <stdint.h>

struct backend;
struct backend_task;

/* A handler: runs on a worker with the task it was submitted with. */
typedef void (*backend_fn)(struct backend_task *t);

/*
 * What the server submits: embedded in its request, so a submit allocates
 * nothing on any backend. Set fn before backend_submit; the rest is the
 * backend's.
 */
struct backend_task {
	backend_fn fn;
	struct backend *b;
};

enum backend_kind {
	BACKEND_POOL,
	BACKEND_GLIB,
	BACKEND_MUTEX_CV,
};

#define BACKEND_QUEUE_NONE ((int64_t)-1)

struct backend_config {
	enum backend_kind kind;
	int capacity;	  /* workers to start with */
	int max_capacity; /* the most tune may ask for (mutex_cv starts them) */
	/* Queue bound Q: a task is accepted only while fewer than capacity
	 * + Q are running or queued (the pool's own rule); beyond, submit is
	 * -EAGAIN. 0: unbounded (the pool: its rings, capacity x ring
	 * slots). BACKEND_QUEUE_NONE: no queue (accepted only when a worker
	 * takes it at once). */
	int64_t queue_bound;
};

/* Counters of one backend, read at one moment each. */
struct backend_counts {
	uint64_t submitted; /* accepted tasks */
	uint64_t completed; /* tasks that returned */
	uint64_t rejected;  /* -EAGAIN returned by submit */
	int64_t queued;	    /* accepted, not started */
	int64_t running;    /* started, not returned */
};

/* Parse "pool", "glib" or "mutex_cv". 0 or -EINVAL. */
int backend_parse(const char *name, enum backend_kind *out);
const char *backend_name(const struct backend *b);

/* Start a backend. 0 or a negative errno. */
int backend_new(struct backend **out, const struct backend_config *cfg);

/*
 * Run t->fn(t) on a worker. Never blocks. 0: accepted, fn will run exactly
 * once. -EAGAIN: over the queue bound (shed; fn never runs). -ESHUTDOWN:
 * draining. Other negative errno: failed, fn never runs.
 */
int backend_submit(struct backend *b, struct backend_task *t);

/* Current capacity, and set it (1 .. max_capacity): 0 or negative errno. */
int backend_cap(struct backend *b);
int backend_tune(struct backend *b, int capacity);

/* Accepted-not-started tasks, and the queue bound Q (0: none or no queue). */
int64_t backend_queued(struct backend *b);
int64_t backend_bound(struct backend *b);

void backend_counts(struct backend *b, struct backend_counts *c);

/*
 * The pool behind the pool backend (for its own metrics), else NULL. The
 * server includes <pool.h> only where it needs it.
 */
struct pool *backend_pool(struct backend *b);

/*
 * Close, run every accepted task and stop the workers, for at most
 * timeout_ns. 0, or -ETIMEDOUT (tasks still run; nothing is freed). On 0 the
 * backend is freed.
 */
int backend_drain(struct backend *b, int64_t timeout_ns);

#endif /* SERVER_BACKEND_H */
