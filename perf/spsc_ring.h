/* SPDX-License-Identifier: MIT */
/*
 * perf/spsc_ring.h - a raw single-producer/single-consumer ring of {fn, arg}
 * pairs drained by one consumer thread: the physical limit of a task
 * hand-off from one producer to one consumer. The consumer spins briefly
 * when the ring is empty, then parks on a futex; the producer wakes it only
 * when it parked.
 */
#ifndef PERF_SPSC_RING_H
#define PERF_SPSC_RING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct spsc_ring;

typedef void (*spsc_fn)(void *arg);

struct spsc_task {
	spsc_fn fn;
	void *arg;
};

/* A ring of 1 << log2_size slots and its consumer thread. 0 or -errno. */
int spsc_new(struct spsc_ring **out, unsigned log2_size);
/* Producer only (one thread at a time): waits while the ring is full. */
int spsc_push(struct spsc_ring *r, spsc_fn fn, void *arg);
/* Push n tasks, publishing each free run of slots at once. */
int spsc_push_batch(struct spsc_ring *r, const struct spsc_task *t, size_t n);
/* Run what is queued, stop the consumer and free the ring. */
void spsc_destroy(struct spsc_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* PERF_SPSC_RING_H */
