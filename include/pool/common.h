/*
 * pool/common.h - export macros and C++ guards shared by every public header.
 *
 * Nothing here allocates or has state; it is safe to include alone.
 */
#ifndef POOL_COMMON_H
#define POOL_COMMON_H

#if defined(__GNUC__) || defined(__clang__)
#define POOL_EXTERN    __attribute__((visibility("default")))
#define POOL_NODISCARD __attribute__((warn_unused_result))
#else
#define POOL_EXTERN
#define POOL_NODISCARD
#endif

#ifdef __cplusplus
#define POOL_BEGIN_DECLS extern "C" {
#define POOL_END_DECLS	 }
#else
#define POOL_BEGIN_DECLS
#define POOL_END_DECLS
#endif

#endif /* POOL_COMMON_H */
