/* SPDX-License-Identifier: MIT */
/*
 * perf/spsc_ring.c - the raw SPSC ring hand-off (see spsc_ring.h).
 *
 * Wake-up argument. Producer P: store tail (release); barrier B_P; load
 * sleeping. Consumer C before it sleeps: store sleeping = 1; barrier B_C;
 * load tail; futex_wait(sleeping, 1). With B_P and B_C both full fences, P
 * sees sleeping == 1 or C sees the new tail (store-buffer litmus). With
 * membarrier, B_C is the membarrier call and B_P a compiler barrier:
 * membarrier guarantees a full fence on every CPU running a thread of this
 * process between the points where C calls it and where it returns, which
 * orders P's tail store before its later load of sleeping as seen by C.
 */
#include "spsc_ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPSC_SPINS 2000

struct spsc_ring {
	/* Producer line: tail written by the producer, read by the consumer
	 * when its cache runs out; head_cache private to the producer. */
	_Alignas(64) _Atomic size_t tail;
	size_t head_cache;
	/* Consumer line: head written by the consumer, read by the producer
	 * only when its cache says full; tail_cache private to the
	 * consumer. */
	_Alignas(64) _Atomic size_t head;
	size_t tail_cache;
	/* Sleep line: sleeping written by the consumer (and exchanged by the
	 * producer that wakes it), read by the producer on every publish;
	 * written rarely, so the line stays shared in both caches. */
	_Alignas(64) _Atomic uint32_t sleeping;
	_Atomic int stop;
	int asym;
	size_t mask;
	struct spsc_task *slots;
	pthread_t consumer;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

/* Run the published run of tasks; 0 when the ring was empty. */
static size_t spsc_run_some(struct spsc_ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t n = 0;

	if (head == r->tail_cache) {
		/* Acquire: pairs with the release store of tail in
		 * spsc_publish: the slots up to tail are written. */
		r->tail_cache =
			atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head == r->tail_cache)
			return 0;
	}
	while (head != r->tail_cache) {
		struct spsc_task t = r->slots[head & r->mask];

		head++;
		/* Release: our read of the slot happens before the producer
		 * reuses it (its acquire load of head). Free the slot before
		 * running, as a pool would. A plain store on x86. */
		atomic_store_explicit(&r->head, head, memory_order_release);
		t.fn(t.arg);
		n++;
	}
	return n;
}

static int spsc_pending(struct spsc_ring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_relaxed) !=
	       atomic_load_explicit(&r->head, memory_order_relaxed);
}

static void *spsc_consumer_main(void *arg)
{
	struct spsc_ring *r = arg;
	int spins;

	for (;;) {
		if (spsc_run_some(r))
			continue;
		for (spins = 0; spins < SPSC_SPINS; spins++) {
			cpu_relax();
			if (spsc_pending(r))
				break;
		}
		if (spins < SPSC_SPINS)
			continue;
		/* B_C (see the top of the file): sleeping = 1, full barrier
		 * on every CPU of the process, then re-check the tail. */
		atomic_store_explicit(&r->sleeping, 1, memory_order_seq_cst);
		if (r->asym)
			membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
		else
			atomic_thread_fence(memory_order_seq_cst);
		if (spsc_pending(r)) {
			atomic_store_explicit(&r->sleeping, 0,
					      memory_order_relaxed);
			continue;
		}
		if (atomic_load_explicit(&r->stop, memory_order_acquire))
			break;
		futex_wait(&r->sleeping, 1);
		atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
	}
	return NULL;
}

static void spsc_publish(struct spsc_ring *r, size_t tail)
{
	/* Release: pairs with the consumer's acquire load of tail; the slots
	 * before tail are written. */
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	/* B_P: a compiler barrier when the consumer's membarrier supplies
	 * the fence, else a full fence (pairs with B_C). */
	if (r->asym)
		atomic_signal_fence(memory_order_seq_cst);
	else
		atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sleeping, memory_order_relaxed) &&
	    atomic_exchange_explicit(&r->sleeping, 0, memory_order_relaxed))
		futex_wake(&r->sleeping);
}

/* Free slots for the producer, waiting until there is at least one. */
static size_t spsc_space(struct spsc_ring *r, size_t tail)
{
	size_t cap = r->mask + 1;
	unsigned spins = 0;

	while (tail - r->head_cache == cap) {
		/* Acquire: pairs with the consumer's release store of head:
		 * its read of the slot is done before we overwrite it. */
		r->head_cache =
			atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail - r->head_cache < cap)
			break;
		if (++spins < 1000)
			cpu_relax();
		else
			sched_yield();
	}
	return cap - (tail - r->head_cache);
}

int spsc_push(struct spsc_ring *r, spsc_fn fn, void *arg)
{
	size_t tail;

	if (!r || !fn)
		return -EINVAL;
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (tail - r->head_cache == r->mask + 1)
		spsc_space(r, tail);
	r->slots[tail & r->mask] = (struct spsc_task){fn, arg};
	spsc_publish(r, tail + 1);
	return 0;
}

int spsc_push_batch(struct spsc_ring *r, const struct spsc_task *t, size_t n)
{
	size_t tail, room, i;

	if (!r || (!t && n))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!t[i].fn)
			return -EINVAL;
	}
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	while (n) {
		room = spsc_space(r, tail);
		if (room > n)
			room = n;
		for (i = 0; i < room; i++)
			r->slots[(tail + i) & r->mask] = t[i];
		tail += room;
		t += room;
		n -= room;
		spsc_publish(r, tail);
	}
	return 0;
}

int spsc_asymmetric(const struct spsc_ring *r)
{
	return r ? r->asym : 0;
}

int spsc_new(struct spsc_ring **out, unsigned log2_size)
{
	struct spsc_ring *r;
	int rc;

	if (!out || log2_size < 1 || log2_size > 24)
		return -EINVAL;
	r = aligned_alloc(64, sizeof(*r));
	if (!r)
		return -ENOMEM;
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
	atomic_init(&r->sleeping, 0);
	atomic_init(&r->stop, 0);
	r->head_cache = 0;
	r->tail_cache = 0;
	/* Registration is per process and idempotent. */
	r->asym = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
	r->mask = ((size_t)1 << log2_size) - 1;
	r->slots = calloc(r->mask + 1, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return -ENOMEM;
	}
	rc = pthread_create(&r->consumer, NULL, spsc_consumer_main, r);
	if (rc) {
		free(r->slots);
		free(r);
		return -rc;
	}
	*out = r;
	return 0;
}

void spsc_destroy(struct spsc_ring *r)
{
	if (!r)
		return;
	/* seq_cst: before the sleeping store below in the single order; pairs
	 * with the consumer's acquire load of stop, after it
	 * found the ring empty with sleeping set. */
	atomic_store_explicit(&r->stop, 1, memory_order_seq_cst);
	atomic_store_explicit(&r->sleeping, 0, memory_order_seq_cst);
	futex_wake(&r->sleeping);
	pthread_join(r->consumer, NULL);
	free(r->slots);
	free(r);
}
