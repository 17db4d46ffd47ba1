/* SPDX-License-Identifier: MIT */
/*
 * lib/park.c - the LIFO idle-worker stack, park and wake (layer: park/wake,
 * above the rings; the futex and clock wrappers are lib/base.c's).
 *
 * Lock order: idle_lock is a leaf lock: nothing else is taken while it is
 * held, and no futex call or user code runs under it.
 *
 * The no-lost-wake-up argument for park/wake is in docs/design.md ("Park and
 * wake"); the comments below name its steps P1..P4 (parking worker) and
 * S1..S3 (submitter).
 */
#include <limits.h>

#include "arch.h"
#include "internal.h"

/* The stall watch (P4, docs/design.md "A claim is not a task"): re-looks
 * (32 pauses apart) before claims only count as a stall, the first nap,
 * and how many times the nap doubles (50 us .. 1.6 ms). */
#define POOL_STALL_LOOKS     4
#define POOL_STALL_NAP_NS    50000
#define POOL_STALL_DOUBLINGS 5

/* idle_lock held. */
static void idle_push(struct pool *p, struct pool_shard *s)
{
	s->idle_prev = NULL;
	s->idle_next = p->idle_top;
	if (p->idle_top)
		p->idle_top->idle_prev = s;
	p->idle_top = s;
	s->on_stack = true;
	atomic_fetch_add_explicit(&p->nidle, 1, memory_order_relaxed);
}

/* idle_lock held; s->on_stack. */
static void idle_remove(struct pool *p, struct pool_shard *s)
{
	if (s->idle_prev)
		s->idle_prev->idle_next = s->idle_next;
	else
		p->idle_top = s->idle_next;
	if (s->idle_next)
		s->idle_next->idle_prev = s->idle_prev;
	s->idle_prev = s->idle_next = NULL;
	s->on_stack = false;
	/* Release: pairs with the acquire load of nidle in pool__wake_one;
	 * a worker leaving in P4 counted itself in nspinning before. */
	atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_release);
}

/*
 * Pop the most recently parked worker (LIFO: its stack and caches are the
 * warmest), count it as spinning and hand it a token. Returns false when no
 * worker is parked.
 */
bool pool__wake_one(struct pool *p)
{
	struct pool_shard *s;

	/* Lock-free early out, so a saturated pool (everyone running) takes
	 * no lock per submit. Sound because a parking worker increments nidle
	 * in P1, before its fence P3, and every caller issued a seq_cst fence
	 * or, a submitter's kick, its S2 load before this seq_cst load: if P3
	 * precedes that point in S, this load sees the increment (C11
	 * 7.17.3p6); if it follows, the worker's rescan (P4) sees the caller's
	 * push. seq_cst is also an acquire (idle_remove's release decrement).
	 */
	if (atomic_load_explicit(&p->nidle, memory_order_seq_cst) == 0)
		return false;
	pthread_mutex_lock(&p->idle_lock);
	s = p->idle_top;
	if (s) {
		idle_remove(p, s);
		/* Counted for the woken worker before it runs, so submits
		 * that follow do not wake a second one (it decrements when it
		 * finds work or parks again). Relaxed would do for the count
		 * itself; seq_cst keeps it in the single order the park/wake
		 * argument reasons about. */
		atomic_fetch_add_explicit(&p->nspinning, 1,
					  memory_order_seq_cst);
		/* Release: pairs with the acquire load of token in
		 * pool__park; the worker then sees everything before the
		 * wake (the task push, the closed state). */
		atomic_store_explicit(&s->token, 1, memory_order_release);
	}
	pthread_mutex_unlock(&p->idle_lock);
	if (!s)
		return false;
	/* Outside the lock. The shard outlives the pool's workers, so the
	 * address stays valid even if the worker already ran off. */
	pool__futex_wake(&s->token, 1);
	return true;
}

void pool__wake_all(struct pool *p)
{
	while (pool__wake_one(p))
		;
}

/*
 * A slot was freed, capacity grew or the pool closed: wake blocked
 * submitters. Callers made the change visible first (after_pop: the fence
 * and the space_want exchange, the Dekker pair with submit_slow).
 */
void pool__space_signal(struct pool *p)
{
	/* Release: pairs with the submitter's acquire load of space_seq, so a
	 * submitter that sees the new value also sees the freed slot. */
	atomic_fetch_add_explicit(&p->space_seq, 1, memory_order_release);
	pool__futex_wake(&p->space_seq, INT_MAX);
}

/*
 * Take ourselves off the idle stack. Returns true if a waker popped us first:
 * then it counted us as spinning and set our token (under the same lock).
 */
static bool idle_leave(struct pool *p, struct pool_shard *self)
{
	bool popped;

	pthread_mutex_lock(&p->idle_lock);
	popped = !self->on_stack;
	if (!popped)
		idle_remove(p, self);
	pthread_mutex_unlock(&p->idle_lock);
	return popped;
}

/*
 * P4's look: POOL_WORK_READY when the worker must go back to work (a
 * published task, a close, a shrink), POOL_WORK_CLAIMED when the rings hold
 * claims only, POOL_WORK_NONE when nothing is there. Claims only are usually
 * a push whose publish is a few stores away (or, on x86, still in its
 * store buffer): re-look for a moment before calling it a stall.
 */
static int p4_look(struct pool *p)
{
	int st;

	if (atomic_load_explicit(&p->state, memory_order_relaxed) ==
		    POOL_ST_CLOSED ||
	    atomic_load_explicit(&p->nworkers, memory_order_relaxed) >
		    atomic_load_explicit(&p->cap, memory_order_relaxed))
		return POOL_WORK_READY;
	st = pool__work_state(p);
	for (unsigned i = 0; st == POOL_WORK_CLAIMED && i < POOL_STALL_LOOKS;
	     i++) {
		for (unsigned k = 0; k < 32; k++)
			cpu_relax();
		st = pool__work_state(p);
	}
	return st;
}

/*
 * Become the pool's stall watcher (at most one parked worker naps with a
 * timeout for claims; the others sleep as usual). The fence orders our
 * look before the CAS: if the CAS fails, the watcher's release (exchange,
 * fence) comes after it in S, so the watcher's next look sees every claim
 * ours saw (docs/design.md, "A claim is not a task").
 */
static bool stall_watch_take(struct pool *p)
{
	int32_t zero = 0;

	atomic_thread_fence(memory_order_seq_cst);
	return atomic_compare_exchange_strong_explicit(&p->stall_watch, &zero,
						       1, memory_order_seq_cst,
						       memory_order_seq_cst);
}

/*
 * The watcher's timed nap number `naps` of this park (0 first): sleep on
 * our token for the stall backoff (50 us, doubling per nap up to 1.6 ms),
 * then give the watch back and fence, so the look that follows is a P4 of
 * its own. Returns true if a waker popped us meanwhile (token set, counted
 * as spinning).
 */
static bool stall_nap(struct pool *p, struct pool_shard *self, unsigned naps)
{
	int64_t nap =
		(int64_t)POOL_STALL_NAP_NS
		<< (naps < POOL_STALL_DOUBLINGS ? naps : POOL_STALL_DOUBLINGS);

	pool__probe(POOL_TP_PARK_STALL, p);
	/* Acquire: pairs with the release store in pool__wake_one. */
	if (!atomic_load_explicit(&self->token, memory_order_acquire))
		pool__futex_wait(&self->token, 0, nap);
	/* seq_cst RMW, then the fence before the next look: pairs with a
	 * loser's fence and CAS (stall_watch_take). */
	atomic_exchange_explicit(&p->stall_watch, 0, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&self->token, memory_order_acquire) != 0;
}

/*
 * Park the calling worker. Returns POOL_PARK_RESCAN when work (or a close or
 * a shrink) appeared during the hand-over (the worker is awake, *spinning
 * tells whether it is counted), POOL_PARK_WOKEN after a wake (counted as
 * spinning by the waker), POOL_PARK_EXPIRED when it idled for expiry_ns and
 * is off the stack (it must exit).
 */
int pool__park(struct pool *p, struct pool_shard *self, bool *spinning)
{
	bool purge = !(p->flags & POOL_DISABLE_PURGE);
	int64_t deadline = pool__deadline(pool__now_ns(), p->expiry_ns);
	unsigned naps = 0;
	int look;

	/* P1: publish ourselves as parked. The token is reset under the
	 * lock, so a waker's store (also under it) cannot be lost. */
	pthread_mutex_lock(&p->idle_lock);
	atomic_store_explicit(&self->token, 0, memory_order_relaxed);
	idle_push(p, self);
	pthread_mutex_unlock(&p->idle_lock);

	/* P2: stop being a searcher. */
	if (*spinning) {
		atomic_fetch_sub_explicit(&p->nspinning, 1,
					  memory_order_seq_cst);
		*spinning = false;
	}
	/* P3: pairs with S2 in the submit path (kick): either the
	 * submitter sees our P1/P2, or our rescan (P4) sees its push. Also
	 * pairs with the seq_cst state store in close (release) and the cap
	 * store in pool_tune. */
	atomic_thread_fence(memory_order_seq_cst);

	/* P4: rescan. Claims only (a pusher between its head CAS and its
	 * publish) are not a task: going back to work for them spins every
	 * parking worker on a slot that only the preempted pusher can fill
	 * (docs/design.md, "A claim is not a task"). One worker watches
	 * them with a timed nap instead; each nap ends in a look of its own. */
	while ((look = p4_look(p)) == POOL_WORK_CLAIMED &&
	       stall_watch_take(p)) {
		if (stall_nap(p, self, naps++)) {
			*spinning = true;
			return POOL_PARK_WOKEN;
		}
	}
	if (look == POOL_WORK_READY) {
		bool popped;

		/* Come back as a searcher: a submitter may have skipped its
		 * wake-up because it saw us searching before P2; as a
		 * searcher, our move to running does the hand-off check, so a
		 * second queued task does not wait behind the one we take.
		 * Count first, leave the stack second (the release decrement
		 * of nidle in idle_remove orders them), so a submitter that
		 * sees us gone from the stack also sees us counted and starts
		 * no extra worker (pool__ensure_worker). A waker that popped
		 * us first already counted us: drop our own count then. */
		atomic_fetch_add_explicit(&p->nspinning, 1,
					  memory_order_seq_cst);
		popped = idle_leave(p, self);
		if (popped)
			atomic_fetch_sub_explicit(&p->nspinning, 1,
						  memory_order_seq_cst);
		*spinning = true;
		return POOL_PARK_RESCAN;
	}

	for (;;) {
		int64_t rel = -1;

		/* Acquire: pairs with the release store in pool__wake_one. */
		if (atomic_load_explicit(&self->token, memory_order_acquire)) {
			*spinning = true;
			return POOL_PARK_WOKEN;
		}
		if (purge) {
			rel = deadline - pool__now_ns();
			if (rel <= 0) {
				if (!idle_leave(p, self))
					return POOL_PARK_EXPIRED;
				/* A waker got us first: its token is set
				 * (under the lock we just took). */
				continue;
			}
		}
		pool__futex_wait(&self->token, 0, rel);
	}
}
