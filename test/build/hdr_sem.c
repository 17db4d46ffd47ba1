/* SPDX-License-Identifier: MIT */
/* Compiles <pool/sem.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/sem.h>

int main(void)
{
	pool_sem_t *s = 0;
	pool_ctx_t *c = 0;

	if (pool_sem_new(&s, 4) != 0 ||
	    pool_ctx_new(&c, 0, POOL_CTX_NO_TIMEOUT) != 0)
		return 1;
	if (pool_sem_acquire(s, 2) != 0 || pool_sem_try_acquire(s, 1) != 0 ||
	    pool_sem_acquire_timeout(s, 1, 0) != 0 ||
	    pool_sem_try_acquire(s, 1) != POOL_EOVERLOAD)
		return 1;
	if (pool_sem_available(s) != 0 || pool_sem_release(s, 4) != 0 ||
	    pool_sem_acquire_ctx(s, c, 4) != 0 || pool_sem_release(s, 4) != 0)
		return 1;
	pool_ctx_destroy(c);
	return pool_sem_destroy(s) != 0 || POOL_SEM_MAX <= 0;
}
