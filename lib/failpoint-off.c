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

/* Probe points (test points of lib/internal.h) do nothing in the released
 * libraries. */
void pool__probe(int point, struct pool *p)
{
	(void)point;
	(void)p;
}
