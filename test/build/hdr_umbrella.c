/* SPDX-License-Identifier: MIT */
/* Compiles <pool.h> alone (as C and, copied to .cc, as C++) and links. */
#include <pool.h>

int main(void)
{
	pool_stats_t s;

	s.size = sizeof(s);
	/* Every concept header came in through the umbrella. */
	return POOL_VERSION_MAJOR < 0 || s.size == 0 ||
	       pool_strerror(POOL_EINVAL) == 0 || pool_worker_id() != -1 ||
	       pool_multi_size(0) != POOL_EINVAL ||
	       pool_executor(0, 0) != POOL_EINVAL || pool_version() == 0;
}
