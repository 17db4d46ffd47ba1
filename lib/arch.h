/* SPDX-License-Identifier: MIT */
/*
 * lib/arch.h - the only architecture-specific bits: cpu_relax() and the
 * cache-line size. Never installed.
 */
#ifndef POOL_ARCH_H
#define POOL_ARCH_H

#define POOL_CACHELINE 64

#define POOL_CACHE_ALIGNED __attribute__((aligned(POOL_CACHELINE)))

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* POOL_ARCH_H */
