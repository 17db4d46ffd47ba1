/* SPDX-License-Identifier: MIT */
/*
 * lib/version.c - pool_version(), pool_version_string(): the version the
 * library was built as (pool/version.h, generated from meson.build).
 */
#include "pool/version.h"

unsigned pool_version(void)
{
	return POOL_VERSION_HEX;
}

const char *pool_version_string(void)
{
	return POOL_VERSION_STRING;
}
