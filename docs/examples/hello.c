/* SPDX-License-Identifier: MIT */
#include <pool.h>
#include <stdio.h>

static void hello(void *arg)
{
	printf("hello from %s\n", (char *)arg);
}

int main(void)
{
	pool_t *p;

	if (pool_new(&p, NULL) < 0 || pool_submit(p, hello, "a worker") < 0)
		return 1;
	return pool_destroy(p) < 0; /* runs what was accepted, joins, frees */
}
