/* SPDX-License-Identifier: MIT */
/*
 * lib/rcu-inl.h - the RCU read side, from liburcu's bulletproof flavor
 * (urcu-bp): application threads that call into the library need no
 * registration. The small read-side functions are inlined (_LGPL_SOURCE, as
 * liburcu permits for them).
 *
 * ThreadSanitizer does not see the ordering a grace period provides, so TSan
 * builds add an explicit release at every read-side unlock and an acquire
 * after every grace period: the same happens-before edge RCU guarantees.
 */
#ifndef POOL_RCU_INL_H
#define POOL_RCU_INL_H

#define _LGPL_SOURCE
#include <urcu/urcu-bp.h>

#if defined(__SANITIZE_THREAD__)
#define POOL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POOL_TSAN 1
#endif
#endif

#ifdef POOL_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char pool__rcu_tsan_token;
#endif

static inline void pool__rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

static inline void pool__rcu_read_unlock(void)
{
#ifdef POOL_TSAN
	__tsan_release(&pool__rcu_tsan_token);
#endif
	urcu_bp_read_unlock();
}

static inline void pool__rcu_synchronize(void)
{
	urcu_bp_synchronize_rcu();
#ifdef POOL_TSAN
	__tsan_acquire(&pool__rcu_tsan_token);
#endif
}

#endif /* POOL_RCU_INL_H */
