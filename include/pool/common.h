/* SPDX-License-Identifier: MIT */
/*
 * pool/common.h - export macros and C++ guards shared by every public header.
 *
 * Nothing here allocates or has state; it is safe to include alone.
 * pool/executor.h repeats POOL_EXTERN and POOL_BEGIN_DECLS under the same
 * guards so that it can stand alone; keep the two in step.
 */
#ifndef POOL_COMMON_H
#define POOL_COMMON_H

#ifndef POOL_EXTERN
#if defined(__GNUC__) || defined(__clang__)
#define POOL_EXTERN __attribute__((visibility("default")))
#else
#define POOL_EXTERN
#endif
#endif

/*
 * POOL_NODISCARD: ignoring the result is a warning, and a (void) cast says
 * "on purpose" and silences it. gcc's warn_unused_result cannot be silenced
 * by a cast (in C or C++), so gcc gets C++17's [[nodiscard]] where it has it
 * and nothing in C; clang honours the cast with warn_unused_result in both
 * languages (and rejects [[nodiscard]] after a GNU attribute).
 */
#if defined(__clang__)
#define POOL_NODISCARD __attribute__((warn_unused_result))
#elif defined(__GNUC__) && defined(__cplusplus) && __cplusplus >= 201703L
#define POOL_NODISCARD [[nodiscard]]
#else
#define POOL_NODISCARD
#endif

#ifndef POOL_BEGIN_DECLS
#ifdef __cplusplus
#define POOL_BEGIN_DECLS extern "C" {
#define POOL_END_DECLS	 }
#else
#define POOL_BEGIN_DECLS
#define POOL_END_DECLS
#endif
#endif

#endif /* POOL_COMMON_H */
