/* SPDX-License-Identifier: MIT */
/*
 * docs/examples/executor_lib.h - a "library" that takes an executor. It
 * includes <pool/executor.h> and nothing else of pool: it runs on a pool, a
 * multi-pool, or any executor its caller hands it.
 *
 * sum_squares(ex, n): computes 1^2 + ... + n^2 in chunks, each chunk a task
 * on the executor, and waits for them with its own mutex and condvar (the
 * executor interface has no "wait": waiting is the library's business).
 */
#ifndef EXECUTOR_LIB_H
#define EXECUTOR_LIB_H

#include <pthread.h>
#include <stdint.h>

#include <pool/executor.h>

#define SUM_CHUNKS 8

struct sum_job {
	uint64_t from, to, result;
	struct sum_state *st;
};

struct sum_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int left;
	struct sum_job jobs[SUM_CHUNKS];
};

static inline void sum_chunk(void *arg)
{
	struct sum_job *j = (struct sum_job *)arg;
	uint64_t s = 0;

	for (uint64_t i = j->from; i < j->to; i++)
		s += i * i;
	j->result = s;
	pthread_mutex_lock(&j->st->mu);
	if (--j->st->left == 0)
		pthread_cond_signal(&j->st->cv);
	pthread_mutex_unlock(&j->st->mu);
}

/* 0 and *out set, or the executor's negative code (then nothing runs
 * later: the chunks accepted before the failure are waited for). */
static inline int sum_squares(const pool_executor_t *ex, uint64_t n,
			      uint64_t *out)
{
	struct sum_state st;
	int rc = 0, submitted = 0;
	uint64_t total = 0;

	pthread_mutex_init(&st.mu, NULL);
	pthread_cond_init(&st.cv, NULL);
	st.left = SUM_CHUNKS;
	for (int i = 0; i < SUM_CHUNKS; i++) {
		struct sum_job *j = &st.jobs[i];

		j->from = 1 + n * (uint64_t)i / SUM_CHUNKS;
		j->to = 1 + n * (uint64_t)(i + 1) / SUM_CHUNKS;
		j->st = &st;
		rc = pool_executor_submit(ex, sum_chunk, j);
		if (rc < 0)
			break;
		submitted++;
	}
	pthread_mutex_lock(&st.mu);
	/* Chunks never submitted will not arrive: stop counting them. */
	st.left -= SUM_CHUNKS - submitted;
	while (st.left > 0)
		pthread_cond_wait(&st.cv, &st.mu);
	pthread_mutex_unlock(&st.mu);
	for (int i = 0; i < submitted; i++)
		total += st.jobs[i].result;
	pthread_mutex_destroy(&st.mu);
	pthread_cond_destroy(&st.cv);
	if (rc == 0)
		*out = total;
	return rc;
}

#endif /* EXECUTOR_LIB_H */
