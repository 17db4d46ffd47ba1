/* SPDX-License-Identifier: MIT */
/*
 * perf/spsc_ring.h - a raw single-producer/single-consumer ring of {fn, arg}
 * pairs drained by one consumer thread: the physical limit of a task
 * hand-off from one producer to one consumer, written the way a tuned SPSC
 * queue is written:
 *
 * - each side caches the other side's index and reads the shared one only
 *   when its cache says full (producer) or empty (consumer);
 * - a push is a slot write and a release store of the tail (a plain store on
 *   x86): no read-modify-write and no fence per item;
 * - a batch is published with one tail store per free run of slots;
 * - the consumer spins briefly when the ring is empty, then parks on a
 *   futex. The Dekker handshake between "tail published" and "consumer
 *   asleep" is asymmetric: the consumer's rare sleep path issues
 *   membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which acts as a full fence
 *   on the producer's CPU, so the producer's per-push check of the sleeping
 *   flag needs only a compiler barrier (liburcu's urcu-memb scheme). Where
 *   membarrier is unavailable the producer falls back to a seq_cst fence per
 *   publish.
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
/* Push n tasks, publishing each free run of slots with one tail store. */
int spsc_push_batch(struct spsc_ring *r, const struct spsc_task *t, size_t n);
/* 1 when the asymmetric (membarrier) handshake is in use, 0 for fences. */
int spsc_asymmetric(const struct spsc_ring *r);
/* Run what is queued, stop the consumer and free the ring. */
void spsc_destroy(struct spsc_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* PERF_SPSC_RING_H */
