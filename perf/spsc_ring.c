/* SPDX-License-Identifier: MIT */
/*
 * perf/spsc_ring.c - the raw SPSC ring hand-off (see spsc_ring.h).
 */
#include "spsc_ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPSC_SPINS 2000

struct spsc_ring {
	/* Producer side. */
	_Alignas(64) _Atomic size_t tail;
	size_t head_cache;
	/* Consumer side. */
	_Alignas(64) _Atomic size_t head;
	size_t tail_cache;
	/* Shared, rarely written. */
	_Alignas(64) _Atomic uint32_t sleeping;
	_Atomic int stop;
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

static int spsc_run_some(struct spsc_ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t n = 0;

	if (head == r->tail_cache) {
		r->tail_cache =
			atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head == r->tail_cache)
			return 0;
	}
	while (head != r->tail_cache) {
		struct spsc_task t = r->slots[head & r->mask];

		head++;
		/* Free the slot before running, as a pool would. */
		atomic_store_explicit(&r->head, head, memory_order_release);
		t.fn(t.arg);
		n++;
	}
	return (int)n;
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
			if (atomic_load_explicit(&r->tail,
						 memory_order_relaxed) !=
			    atomic_load_explicit(&r->head,
						 memory_order_relaxed))
				break;
		}
		if (spins < SPSC_SPINS)
			continue;
		/* Dekker with spsc_publish: sleeping=1, then re-check tail. */
		atomic_store(&r->sleeping, 1);
		if (atomic_load(&r->tail) !=
		    atomic_load_explicit(&r->head, memory_order_relaxed)) {
			atomic_store(&r->sleeping, 0);
			continue;
		}
		if (atomic_load(&r->stop))
			break;
		futex_wait(&r->sleeping, 1);
		atomic_store(&r->sleeping, 0);
	}
	return NULL;
}

static void spsc_publish(struct spsc_ring *r, size_t tail)
{
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sleeping, memory_order_relaxed) &&
	    atomic_exchange(&r->sleeping, 0))
		futex_wake(&r->sleeping);
}

/* Free slots for the producer, waiting until there is at least one. */
static size_t spsc_space(struct spsc_ring *r, size_t tail)
{
	size_t cap = r->mask + 1;
	unsigned spins = 0;

	while (tail - r->head_cache == cap) {
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
	atomic_store(&r->stop, 1);
	atomic_store(&r->sleeping, 0);
	futex_wake(&r->sleeping);
	pthread_join(r->consumer, NULL);
	free(r->slots);
	free(r);
}
