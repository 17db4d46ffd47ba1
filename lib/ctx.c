/* SPDX-License-Identifier: MIT */
/*
 * lib/ctx.c - cancellation contexts, context-aware submits, and the sleep
 * helpers the concepts above (group.c, sem.c) share.
 *
 * Layer: above the pool (pool.c, worker.c); below group.c and sem.c.
 *
 * Lock order: a context's lock is taken alone, or parent -> child never:
 * cancel collects the children under the parent's lock (with a reference
 * each) and cancels them after unlocking; a child being freed takes its
 * parent's lock alone. No user callback runs with a lock held: on-cancel and
 * skip callbacks are detached (or copied) under the lock and called after.
 * Watchers' futex words are bumped and woken under the lock: that is not
 * user code, and their owners unlink them under the same lock, so the
 * words are alive while bumped.
 *
 * Who writes what: err is set once, under lock, by the winning cancel
 * (release; pairs with the acquire loads in pool_ctx_err and the waits).
 * cseq is bumped after err (release) for pool_ctx_wait's futex. refs are
 * RMW'd by every holder (acq_rel on the decrement that may free).
 */
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "pool/ctx.h"

struct ctx_cb {
	pool_ctx_cancel_fn fn;
	void *arg;
	struct ctx_cb *next;
};

struct pool_ctx {
	_Atomic int32_t err;
	_Atomic int32_t cseq;
	_Atomic int32_t refs;
	int64_t deadline; /* immutable */
	_Atomic uint64_t skipped;

	/* Everything below: under lock. */
	pthread_mutex_t lock;
	pool_ctx_skip_fn on_skip;
	void *skip_arg;
	struct pool_ctx *parent; /* immutable; holds a reference */
	struct pool_ctx *children, *sib_prev, *sib_next;
	struct pool_ctx *cancel_next; /* the parent's cancel pass only */
	struct ctx_cb *cbs, **cbs_tail;
	struct pool_ctx_watch *watchers;
};

/* ---- shared helpers ---- */

int64_t pool__deadline_after(int64_t rel_ns)
{
	int64_t now;

	if (rel_ns < 0)
		return INT64_MAX;
	now = pool__now_ns();
	return rel_ns > INT64_MAX - now ? INT64_MAX : now + rel_ns;
}

void pool__sleep_until(_Atomic int32_t *word, int32_t seq, int64_t deadline)
{
	int64_t rel = -1;

	if (deadline != INT64_MAX) {
		rel = deadline - pool__now_ns();
		if (rel <= 0)
			return;
	}
	pool__futex_wait(word, seq, rel);
}

int64_t pool__ctx_deadline_min(const struct pool_ctx *c, int64_t deadline)
{
	if (c && c->deadline < deadline)
		return c->deadline;
	return deadline;
}

/* ---- references ---- */

void pool__ctx_ref(struct pool_ctx *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/* A reference unless the context is already being freed (refs == 0). */
static bool ref_if_live(struct pool_ctx *c)
{
	int32_t r = atomic_load_explicit(&c->refs, memory_order_relaxed);

	while (r > 0) {
		if (atomic_compare_exchange_weak_explicit(&c->refs, &r, r + 1,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

void pool__ctx_unref(struct pool_ctx *c)
{
	struct pool_ctx *parent;
	struct ctx_cb *cb;

	/* acq_rel: the freeing thread sees every holder's last writes. */
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	parent = c->parent;
	if (parent) {
		pthread_mutex_lock(&parent->lock);
		if (c->sib_prev)
			c->sib_prev->sib_next = c->sib_next;
		else
			parent->children = c->sib_next;
		if (c->sib_next)
			c->sib_next->sib_prev = c->sib_prev;
		pthread_mutex_unlock(&parent->lock);
	}
	/* Never cancelled: its callbacks never run (their args stay the
	 * registrants'). */
	while ((cb = c->cbs) != NULL) {
		c->cbs = cb->next;
		pool__free(cb);
	}
	pthread_mutex_destroy(&c->lock);
	pool__free(c);
	if (parent)
		pool__ctx_unref(parent);
}

bool pool__ctx_recycle(struct pool_ctx *c)
{
	/* Acquire: pairs with the acq_rel decrement of the last other
	 * holder (a child, a task submitted with c): its writes to c,
	 * a child's unlink from our list among them, happen-before our
	 * reuse. refs == 1 is ours alone: a new reference needs one
	 * already. No lock: the callbacks and watchers were registered
	 * and unlinked by calls that happen-before the group's destroy (a
	 * call on the group or its context concurrent with the destroy
	 * breaks pool_group_destroy's contract). */
	if (c->parent ||
	    atomic_load_explicit(&c->refs, memory_order_acquire) != 1 ||
	    c->cbs || c->children || c->watchers)
		return false;
	atomic_store_explicit(&c->err, 0, memory_order_relaxed);
	atomic_store_explicit(&c->skipped, 0, memory_order_relaxed);
	c->on_skip = NULL;
	c->skip_arg = NULL;
	c->cbs_tail = &c->cbs;
	c->deadline = INT64_MAX;
	return true;
}

/* ---- life ---- */

int pool_ctx_new(pool_ctx_t **out, pool_ctx_t *parent, int64_t timeout_ns)
{
	struct pool_ctx *c;

	if (!out)
		return POOL_EINVAL;
	c = pool__alloc(sizeof(*c));
	if (!c)
		return POOL_ENOMEM;
	memset(c, 0, sizeof(*c));
	atomic_init(&c->err, 0);
	atomic_init(&c->cseq, 0);
	atomic_init(&c->refs, 1);
	atomic_init(&c->skipped, 0);
	pthread_mutex_init(&c->lock, NULL);
	c->cbs_tail = &c->cbs;
	c->deadline = pool__deadline_after(timeout_ns);
	if (parent) {
		pool__ctx_ref(parent);
		c->parent = parent;
		if (parent->deadline < c->deadline)
			c->deadline = parent->deadline;
		pthread_mutex_lock(&parent->lock);
		/* Born cancelled if the parent is: nothing is registered on
		 * c yet, so there is nothing to run. */
		atomic_store_explicit(
			&c->err,
			atomic_load_explicit(&parent->err,
					     memory_order_relaxed),
			memory_order_relaxed);
		c->sib_next = parent->children;
		if (parent->children)
			parent->children->sib_prev = c;
		parent->children = c;
		pthread_mutex_unlock(&parent->lock);
	}
	*out = c;
	return 0;
}

void pool_ctx_destroy(pool_ctx_t *c)
{
	if (c)
		pool__ctx_unref(c);
}

int64_t pool_ctx_deadline(const pool_ctx_t *c)
{
	return c ? c->deadline : POOL_CTX_NO_DEADLINE;
}

/* ---- cancel ---- */

static int ctx_cancel(struct pool_ctx *c, int err)
{
	struct pool_ctx *kids = NULL, *k;
	struct pool_ctx_watch *w;
	struct ctx_cb *cbs;

	pthread_mutex_lock(&c->lock);
	if (atomic_load_explicit(&c->err, memory_order_relaxed) != 0) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	/* Release: pairs with the acquire loads of err (pool_ctx_err and
	 * every wait): what the canceller did is visible to observers. */
	atomic_store_explicit(&c->err, err, memory_order_release);
	atomic_fetch_add_explicit(&c->cseq, 1, memory_order_release);
	cbs = c->cbs;
	c->cbs = NULL;
	c->cbs_tail = &c->cbs;
	while ((w = c->watchers) != NULL) {
		c->watchers = w->next;
		w->linked = false;
		/* Release: pairs with the sleeper's acquire load of its word
		 * (it then sees err). */
		atomic_fetch_add_explicit(w->word, 1, memory_order_release);
		pool__futex_wake(w->word, INT_MAX);
	}
	for (k = c->children; k; k = k->sib_next) {
		if (ref_if_live(k)) {
			k->cancel_next = kids;
			kids = k;
		}
	}
	pthread_mutex_unlock(&c->lock);
	pool__futex_wake(&c->cseq, INT_MAX);
	while (cbs) {
		struct ctx_cb *next = cbs->next;

		cbs->fn(cbs->arg, err);
		pool__free(cbs);
		cbs = next;
	}
	while ((k = kids) != NULL) {
		kids = k->cancel_next;
		ctx_cancel(k, err);
		pool__ctx_unref(k);
	}
	return 1;
}

int pool_ctx_cancel(pool_ctx_t *c, int err)
{
	if (!c || err > 0)
		return POOL_EINVAL;
	return ctx_cancel(c, err ? err : POOL_ECANCELED);
}

_Atomic int32_t *pool__ctx_err_word(struct pool_ctx *c)
{
	return &c->err;
}

int pool_ctx_err(pool_ctx_t *c)
{
	int e;

	if (!c)
		return POOL_EINVAL;
	/* Acquire: pairs with the release store in ctx_cancel. */
	e = atomic_load_explicit(&c->err, memory_order_acquire);
	if (e || c->deadline == INT64_MAX)
		return e;
	if (pool__now_ns() < c->deadline)
		return 0;
	ctx_cancel(c, POOL_ETIMEDOUT);
	return atomic_load_explicit(&c->err, memory_order_acquire);
}

int pool_ctx_wait(pool_ctx_t *c, int64_t timeout_ns)
{
	int64_t deadline = pool__deadline_after(timeout_ns);

	if (!c)
		return POOL_EINVAL;
	for (;;) {
		/* Acquire: pairs with the release increment in ctx_cancel;
		 * loaded before err, so a cancel after this load changes the
		 * word our futex wait compares. */
		int32_t seq =
			atomic_load_explicit(&c->cseq, memory_order_acquire);
		int e = pool_ctx_err(c);

		if (e)
			return e;
		if (pool__now_ns() >= deadline)
			return POOL_ETIMEDOUT;
		pool__sleep_until(&c->cseq, seq,
				  pool__ctx_deadline_min(c, deadline));
	}
}

int pool_ctx_on_cancel(pool_ctx_t *c, pool_ctx_cancel_fn fn, void *arg)
{
	struct ctx_cb *cb;
	int e;

	if (!c || !fn)
		return POOL_EINVAL;
	cb = pool__alloc(sizeof(*cb));
	if (!cb)
		return POOL_ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	cb->next = NULL;
	(void)pool_ctx_err(c); /* a passed deadline cancels first */
	pthread_mutex_lock(&c->lock);
	e = atomic_load_explicit(&c->err, memory_order_acquire);
	if (!e) {
		*c->cbs_tail = cb;
		c->cbs_tail = &cb->next;
	}
	pthread_mutex_unlock(&c->lock);
	if (e) {
		pool__free(cb);
		fn(arg, e);
	}
	return 0;
}

int pool_ctx_set_on_skip(pool_ctx_t *c, pool_ctx_skip_fn fn, void *arg)
{
	if (!c)
		return POOL_EINVAL;
	pthread_mutex_lock(&c->lock);
	c->on_skip = fn;
	c->skip_arg = arg;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

uint64_t pool_ctx_skipped(const pool_ctx_t *c)
{
	return c ? atomic_load_explicit(&c->skipped, memory_order_relaxed) : 0;
}

/* Count a skipped task of c and hand it to c's skip callback. */
static void ctx_report_skip(struct pool_ctx *c, pool_task_fn fn, void *arg,
			    int cause)
{
	pool_ctx_skip_fn cb;
	void *cb_arg;

	atomic_fetch_add_explicit(&c->skipped, 1, memory_order_relaxed);
	pthread_mutex_lock(&c->lock);
	cb = c->on_skip;
	cb_arg = c->skip_arg;
	pthread_mutex_unlock(&c->lock);
	if (cb)
		cb(cb_arg, fn, arg, cause);
}

/* ---- watchers ---- */

int pool__ctx_watch(struct pool_ctx *c, struct pool_ctx_watch *w,
		    _Atomic int32_t *word)
{
	int e = pool_ctx_err(c);

	w->word = word;
	w->linked = false;
	if (e)
		return e;
	pthread_mutex_lock(&c->lock);
	e = atomic_load_explicit(&c->err, memory_order_acquire);
	if (!e) {
		w->prev = NULL;
		w->next = c->watchers;
		if (c->watchers)
			c->watchers->prev = w;
		c->watchers = w;
		w->linked = true;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

void pool__ctx_unwatch(struct pool_ctx *c, struct pool_ctx_watch *w)
{
	pthread_mutex_lock(&c->lock);
	if (w->linked) {
		if (w->prev)
			w->prev->next = w->next;
		else
			c->watchers = w->next;
		if (w->next)
			w->next->prev = w->prev;
		w->linked = false;
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- context-aware submits ---- */

enum {
	CT_QUEUED = 0,
	CT_STARTED,
	CT_ABANDONED, /* the waiter gave up before the start */
	CT_SKIPPED,   /* done before the start: cause set */
	CT_DONE,      /* ran: panicked set */
	CT_DISCARDED, /* pool_stop */
};

/* A task submitted with a context (an itask, see internal.h). */
struct ctx_task {
	struct pool_itask it;
	struct pool *pool;
	struct pool_ctx *ctx; /* one reference */
	pool_task_fn fn;
	void *arg;
	/* pool_submit_wait_ctx only (waited): */
	bool waited;
	bool panicked;	       /* written before the release store of state */
	int cause;	       /* idem */
	_Atomic int32_t state; /* CT_*: CAS/stores by worker and waiter */
	_Atomic int32_t wake;  /* futex: bumped on every state change */
	_Atomic int32_t refs;  /* worker side + waiter side */
};

static void ct_unref(struct ctx_task *t)
{
	if (t->waited &&
	    atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	pool__ctx_unref(t->ctx);
	pool__free(t);
}

/* Set a final state for the waiter and wake it. */
static void ct_finish(struct ctx_task *t, int32_t st)
{
	/* Release: pairs with the waiter's acquire load of state (panicked,
	 * cause and fn's effects are visible). */
	atomic_store_explicit(&t->state, st, memory_order_release);
	atomic_fetch_add_explicit(&t->wake, 1, memory_order_release);
	pool__futex_wake(&t->wake, 1);
}

static bool ct_run(struct pool_itask *it)
{
	struct ctx_task *t = (struct ctx_task *)it;
	bool pan = false;
	int e;

	if (t->waited) {
		int32_t q = CT_QUEUED;

		/* Acquire on failure: the waiter's abandon is its last
		 * write. */
		if (!atomic_compare_exchange_strong_explicit(
			    &t->state, &q, CT_STARTED, memory_order_acq_rel,
			    memory_order_acquire)) {
			ct_unref(t);
			return false;
		}
	}
	e = pool_ctx_err(t->ctx);
	if (e) {
		if (t->waited) {
			t->cause = e;
			ct_finish(t, CT_SKIPPED);
		} else {
			ctx_report_skip(t->ctx, t->fn, t->arg, e);
		}
	} else {
		pan = pool__run_guarded(t->pool, t->fn, t->arg);
		if (t->waited) {
			t->panicked = pan;
			ct_finish(t, CT_DONE);
		}
	}
	ct_unref(t);
	return pan;
}

static void ct_discard(struct pool_itask *it, pool_discard_fn fn, void *dctx)
{
	struct ctx_task *t = (struct ctx_task *)it;

	if (t->waited) {
		int32_t q = CT_QUEUED;

		if (atomic_compare_exchange_strong_explicit(
			    &t->state, &q, CT_DISCARDED, memory_order_acq_rel,
			    memory_order_acquire))
			ct_finish(t, CT_DISCARDED);
	} else if (fn) {
		fn(t->fn, t->arg, dctx);
	}
	ct_unref(t);
}

static int ctx_stop(void *arg)
{
	return pool_ctx_err(arg);
}

int pool__submit_obeying(struct pool *p, struct pool_ctx *c,
			 struct pool_itask *it)
{
	struct pool_ctx_watch w;
	int r;

	if (!c)
		return pool__submit_itask(p, it, false);
	/* A cancel wakes sleepers on space_seq (they re-check c). */
	r = pool__ctx_watch(c, &w, &p->space_seq);
	if (r)
		return r;
	r = pool__submit_until(p, it, c->deadline, ctx_stop, c);
	pool__ctx_unwatch(c, &w);
	if (r == POOL_ETIMEDOUT && pool_ctx_err(c))
		r = pool_ctx_err(c);
	return r;
}

/* Submit t obeying c; 0 or a code (t is then the caller's to free). */
static int ct_submit(struct pool *p, struct pool_ctx *c, struct ctx_task *t)
{
	return pool__submit_obeying(p, c, &t->it);
}

static struct ctx_task *ct_new(struct pool *p, struct pool_ctx *c,
			       pool_task_fn fn, void *arg, bool waited)
{
	struct ctx_task *t = pool__alloc(sizeof(*t));

	if (!t)
		return NULL;
	t->it.run = ct_run;
	t->it.gone = NULL;
	t->it.discard = ct_discard;
	t->it.user_fn = fn;
	t->it.user_arg = arg;
	t->pool = p;
	t->ctx = c;
	t->fn = fn;
	t->arg = arg;
	t->waited = waited;
	t->panicked = false;
	t->cause = 0;
	atomic_init(&t->state, CT_QUEUED);
	atomic_init(&t->wake, 0);
	atomic_init(&t->refs, 2);
	pool__ctx_ref(c);
	return t;
}

static void ct_free_unsubmitted(struct ctx_task *t)
{
	pool__ctx_unref(t->ctx);
	pool__free(t);
}

int pool_submit_ctx(pool_t *p, pool_ctx_t *c, pool_task_fn fn, void *arg)
{
	struct ctx_task *t;
	int r;

	if (!p || !c || !fn)
		return POOL_EINVAL;
	r = pool_ctx_err(c);
	if (r)
		return r;
	t = ct_new(p, c, fn, arg, false);
	if (!t)
		return POOL_ENOMEM;
	r = ct_submit(p, c, t);
	if (r < 0)
		ct_free_unsubmitted(t);
	return r;
}

int pool_submit_wait_ctx(pool_t *p, pool_ctx_t *c, pool_task_fn fn, void *arg)
{
	struct pool_ctx_watch w;
	struct ctx_task *t;
	int32_t st;
	int r;

	if (!p || !c || !fn)
		return POOL_EINVAL;
	r = pool_ctx_err(c);
	if (r)
		return r;
	if (pool__tls.pool == p) {
		/* Inside a task of p: inline, as pool_submit_wait. */
		if (atomic_load_explicit(&p->state, memory_order_relaxed) !=
		    POOL_ST_OPEN)
			return POOL_ECLOSED;
		atomic_fetch_add_explicit(&p->inline_runs, 1,
					  memory_order_relaxed);
		return pool__run_guarded(p, fn, arg) ? POOL_EPANIC : 0;
	}
	t = ct_new(p, c, fn, arg, true);
	if (!t)
		return POOL_ENOMEM;
	r = ct_submit(p, c, t);
	if (r < 0) {
		ct_free_unsubmitted(t);
		return r;
	}
	/* From here the task is queued: wait for its outcome, or abandon it
	 * (CAS QUEUED -> ABANDONED) once c is done before it started. */
	(void)pool__ctx_watch(c, &w, &t->wake);
	for (;;) {
		/* Acquire: pairs with the release increments of wake (in
		 * ct_finish and the cancel's watcher bump). */
		int32_t seq =
			atomic_load_explicit(&t->wake, memory_order_acquire);

		st = atomic_load_explicit(&t->state, memory_order_acquire);
		if (st >= CT_SKIPPED)
			break;
		if (st == CT_QUEUED && (r = pool_ctx_err(c)) != 0) {
			int32_t q = CT_QUEUED;

			if (atomic_compare_exchange_strong_explicit(
				    &t->state, &q, CT_ABANDONED,
				    memory_order_acq_rel,
				    memory_order_acquire)) {
				st = CT_ABANDONED;
				break;
			}
			continue;
		}
		/* Started: wait for the end (no deadline: the caller owns
		 * arg). Queued: wake at c's deadline at the latest. */
		pool__sleep_until(&t->wake, seq,
				  st == CT_QUEUED ? c->deadline : INT64_MAX);
	}
	pool__ctx_unwatch(c, &w);
	switch (st) {
	case CT_ABANDONED:
		break; /* r: c's cause */
	case CT_SKIPPED:
		r = t->cause;
		break;
	case CT_DISCARDED:
		r = POOL_ECLOSED;
		break;
	default:
		r = t->panicked ? POOL_EPANIC : 0;
		break;
	}
	ct_unref(t);
	return r;
}
