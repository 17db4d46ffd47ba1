/* SPDX-License-Identifier: MIT */
/*
 * lib/error.c - pool_strerror() and pool_err_name() from POOL_ERRNO_MAP.
 */
#include "pool/error.h"

const char *pool_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define POOL_STRERROR_CASE_(name, value, msg) \
	case POOL_##name:                     \
		return msg;
		POOL_ERRNO_MAP(POOL_STRERROR_CASE_)
#undef POOL_STRERROR_CASE_
	default:
		return "unknown error";
	}
}

const char *pool_err_name(int err)
{
	switch (err) {
	case 0:
		return "POOL_OK";
#define POOL_ERRNAME_CASE_(name, value, msg) \
	case POOL_##name:                    \
		return "POOL_" #name;
		POOL_ERRNO_MAP(POOL_ERRNAME_CASE_)
#undef POOL_ERRNAME_CASE_
	default:
		return "POOL_EUNKNOWN";
	}
}
