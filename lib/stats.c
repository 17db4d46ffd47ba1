/* SPDX-License-Identifier: MIT */
/*
 * lib/stats.c - lock-free reads and pool_stats: per-shard counters summed on
 * read (no shared counter is written per task).
 */
#include <string.h>

#include "internal.h"
#include "ring-inl.h"

struct sums {
	uint64_t running, queued, submitted, completed, stolen;
};

static void sum_shards(struct pool *p, struct sums *s)
{
	struct pool_vec *v;
	uint32_t n;

	memset(s, 0, sizeof(*s));
	pool__rcu_read_lock();
	v = pool__vec_load(&p->table, &n);
	for (uint32_t i = 0; i < n; i++) {
		struct pool_shard *sh = pool__shard_at(v, i);

		/* completed before head: a task counted complete was pushed
		 * earlier, so the sum never shows completed > submitted. */
		s->completed += atomic_load_explicit(&sh->completed,
						     memory_order_relaxed);
		s->running += atomic_load_explicit(&sh->running,
						   memory_order_relaxed);
		s->stolen +=
			atomic_load_explicit(&sh->stolen, memory_order_relaxed);
	}
	/* The rings after the shards' completed counts: a task counted
	 * complete was pushed earlier, so the sum never shows completed >
	 * submitted. */
	v = pool__vec_load(&p->rings, &n);
	for (uint32_t i = 0; i < n; i++) {
		struct pool_ring *r = pool__ring_at(v, i);

		s->queued += ring_count(r);
		s->submitted +=
			atomic_load_explicit(&r->head, memory_order_relaxed);
	}
	pool__rcu_read_unlock();
}

/*
 * The multi-pool's O(1) reading of a member (internal.h, struct
 * pool_reading). load: workers not parked (running a task or searching;
 * slow-path counters, written on park and wake only) plus `queued`.
 * queued: the depth of the one ring at `hint` scaled by the rings in use:
 * they are filled round-robin (a ring is added only when every ring is
 * full), so one ring stands for all. wake: pool__wake_needed.
 * Reads the nspinning line, the slow-path line (nidle, nworkers), the
 * read-mostly line (cap, rings) and one ring's head and tail, whatever the
 * capacity; no write. Relaxed: an estimate, as every reading here. Needs
 * no read-side section: the ring set and its arrays stay valid until
 * pool_destroy (struct pool_vec).
 */
void pool__member_reading(struct pool *p, uint32_t hint,
			  struct pool_reading *out)
{
	int32_t cap = atomic_load_explicit(&p->cap, memory_order_relaxed);
	int32_t nworkers =
		atomic_load_explicit(&p->nworkers, memory_order_relaxed);
	int32_t nidle = atomic_load_explicit(&p->nidle, memory_order_relaxed);
	int32_t busy = nworkers - nidle;
	uint32_t nr;
	struct pool_vec *rv = pool__vec_load(&p->rings, &nr);
	uint32_t n = (uint32_t)cap < nr ? (uint32_t)cap : nr;

	if (busy < 0)
		busy = 0;
	out->queued = 0;
	if (n != 0)
		out->queued =
			(int64_t)ring_count(pool__ring_at(rv, hint % n)) * n;
	out->load = (int64_t)busy + out->queued;
	/* pool__wake_needed, on the values read above. */
	out->wake = atomic_load_explicit(&p->nspinning, memory_order_relaxed) <=
			    0 &&
		    pool__wake_room(nidle, nworkers, cap);
}

int pool_cap(const pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	return atomic_load_explicit(&p->cap, memory_order_relaxed);
}

int pool_running(const pool_t *p)
{
	struct sums s;

	if (!p)
		return POOL_EINVAL;
	sum_shards((struct pool *)p, &s);
	return (int)s.running;
}

int pool_available(const pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	return pool_cap(p) - pool_running(p);
}

int pool_waiting(const pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	return atomic_load_explicit(&p->waiting, memory_order_relaxed);
}

int64_t pool_queued(const pool_t *p)
{
	struct sums s;

	if (!p)
		return POOL_EINVAL;
	sum_shards((struct pool *)p, &s);
	return (int64_t)s.queued;
}

int pool_is_closed(const pool_t *p)
{
	if (!p)
		return POOL_EINVAL;
	return atomic_load_explicit(&p->state, memory_order_relaxed) !=
	       POOL_ST_OPEN;
}

#define LOAD(f) atomic_load_explicit(&p->f, memory_order_relaxed)

int pool_stats(const pool_t *cp, pool_stats_t *out)
{
	struct pool *p = (struct pool *)cp;
	pool_stats_t s;
	struct sums sh;

	/* Only the sizes this version knows (its own so far). */
	if (!p || !out || out->size != sizeof(s))
		return POOL_EINVAL;
	memset(&s, 0, sizeof(s));
	s.size = out->size;
	sum_shards(p, &sh);
	s.capacity = (uint64_t)LOAD(cap);
	s.running = sh.running;
	s.workers = (uint64_t)LOAD(nworkers);
	s.idle = (uint64_t)LOAD(nidle);
	s.queued = sh.queued;
	s.waiting = (uint64_t)LOAD(waiting);
	s.submitted = sh.submitted;
	s.completed = sh.completed;
	s.discarded = LOAD(discarded);
	s.rejected_overload = LOAD(rej_overload);
	s.rejected_closed = LOAD(rej_closed);
	s.rejected_timeout = LOAD(rej_timeout);
	s.stolen = sh.stolen;
	s.inline_runs = LOAD(inline_runs);
	s.spawned = LOAD(spawned);
	s.spawn_failed = LOAD(spawn_failed);
	s.expired = LOAD(expired);
	s.retired = LOAD(retired);
	s.tunes = LOAD(tunes);
	s.panicked = LOAD(panicked);
	s.copies_live = pool__arena_live(p);
	s.copy_arena = p->arena;
	s.rejected_queue_limit = LOAD(rej_bound);
	s.rejected_max_blocking = LOAD(rej_max_blocking);
	s.queue_limit = pool_queue_limit(p);
	s.paused = (uint64_t)LOAD(paused);
	s.paused_workers = (uint64_t)LOAD(npaused);
	{
		int64_t f = LOAD(inflight);

		s.bounded_inflight = f > 0 ? (uint64_t)f : 0;
	}
	memcpy(out, &s, out->size);
	return 0;
}

bool pool__idle_now(struct pool *p)
{
	struct pool_vec *v;
	uint64_t done, pushed = 0;
	uint32_t n;

	/* Two passes, completed counts first: completed and head only grow,
	 * so equal sums mean that, at the moment between the passes, every
	 * task pushed so far had completed or been discarded (docs/group.md,
	 * "pool_wait_idle"). Acquire: pairs with the release store of
	 * completed in task_done (worker.c), so the tasks' effects are
	 * visible to the caller. The shard and ring sets are append-only:
	 * a ring appended after our load held no task pushed before it. */
	pool__rcu_read_lock();
	done = atomic_load_explicit(&p->discarded, memory_order_acquire);
	v = pool__vec_load(&p->table, &n);
	for (uint32_t i = 0; i < n; i++)
		done += atomic_load_explicit(&pool__shard_at(v, i)->completed,
					     memory_order_acquire);
	v = pool__vec_load(&p->rings, &n);
	for (uint32_t i = 0; i < n; i++)
		pushed += atomic_load_explicit(&pool__ring_at(v, i)->head,
					       memory_order_acquire);
	pool__rcu_read_unlock();
	return done >= pushed;
}
