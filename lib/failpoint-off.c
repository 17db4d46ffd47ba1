/* SPDX-License-Identifier: MIT */
/*
 * lib/failpoint-off.c - the released libraries' pool__inject_failure(): no
 * allocation is ever failed on purpose, and no shared counter is touched.
 * Its test twin is lib/failpoint.c (linked only into the test library).
 */
#include "internal.h"

bool pool__inject_failure(void)
{
	return false;
}

/* Test points do nothing in the released libraries. */
void pool__test_point(int point, struct pool *p)
{
	(void)point;
	(void)p;
}
