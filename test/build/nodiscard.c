/* SPDX-License-Identifier: MIT */
/*
 * test/build/nodiscard.c - ignoring a POOL_NODISCARD result without a cast.
 * test/build/matrix.sh expects a warning from this where POOL_NODISCARD is
 * active (clang, and g++ from C++17), so the attribute is not lost while
 * (void) casts stay quiet (hdr_init.c).
 */
#include <pool.h>

int hdr_nodiscard(pool_t *p);

int hdr_nodiscard(pool_t *p)
{
	pool_submit(p, 0, 0);
	return 0;
}
