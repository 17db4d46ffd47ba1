/* SPDX-License-Identifier: MIT */
/*
 * pool/error.h - error codes of the pool library (libuv model).
 *
 * Every fallible call returns int: 0 on success or one of the negative codes
 * below. Where POSIX has an errno with the same meaning the code is -errno,
 * so a code can be printed with strerror(-code) as well.
 *
 * If a call that takes a task (pool_submit*, pool_invoke) returns < 0, the
 * task never runs and the caller keeps ownership of its argument.
 */
#ifndef POOL_ERROR_H
#define POOL_ERROR_H

#include <errno.h>

#include "common.h"

POOL_BEGIN_DECLS

/* X(name, value, message): the one table the enum and strings come from. */
#define POOL_ERRNO_MAP(X)                                                    \
	X(EINVAL, -EINVAL, "invalid argument")                               \
	X(ENOMEM, -ENOMEM, "out of memory or threads")                       \
	X(EOVERLOAD, -EAGAIN, "pool is full or too many blocked submitters") \
	X(ECLOSED, -ESHUTDOWN, "pool is closed")                             \
	X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                \
	X(EDEADLK, -EDEADLK, "call would wait on itself from inside a task") \
	X(EBUSY, -EBUSY, "pool is busy (not drained)")                       \
	X(ECANCELED, -ECANCELED, "operation canceled (context cancelled)")   \
	X(EPANIC, -EOWNERDEAD, "task panicked")

typedef enum pool_errno {
#define POOL_ERRNO_ENUM_(name, value, msg) POOL_##name = (value),
	POOL_ERRNO_MAP(POOL_ERRNO_ENUM_)
#undef POOL_ERRNO_ENUM_
} pool_errno_t;

/*
 * pool_strerror - a human-readable message for an error code.
 *
 * Thread safety: any thread, any time. Ownership: the returned string is
 * static; never free it. Never allocates. Returns "unknown error" for a code
 * not in POOL_ERRNO_MAP (including 0, for which it returns "success").
 */
POOL_EXTERN const char *pool_strerror(int err);

/*
 * pool_err_name - the symbolic name of an error code ("POOL_EINVAL", ...).
 *
 * Thread safety: any thread, any time. Ownership: static string. Returns
 * "POOL_OK" for 0 and "POOL_EUNKNOWN" for a code not in POOL_ERRNO_MAP.
 */
POOL_EXTERN const char *pool_err_name(int err);

POOL_END_DECLS

#endif /* POOL_ERROR_H */
