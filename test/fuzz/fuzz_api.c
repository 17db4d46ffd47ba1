/* SPDX-License-Identifier: MIT */
/*
 * test/fuzz/fuzz_api.c - libFuzzer target: the input is a sequence of API
 * calls with arguments on one or two pools, including invalid ones (NULL,
 * zero, huge, wrong order, after release; never after destroy). Every return
 * value must be one of the codes include/pool/pool.h documents for that call;
 * at the end each pool is destroyed and every accepted task must have run
 * exactly once or been discarded by pool_stop. ASan+UBSan catch the rest;
 * libFuzzer's leak check catches leaks.
 *
 * Tasks are bounded: most increment a counter; "gate" tasks (only submitted
 * with pool_try_submit) wait until the gate is open, and the gate is opened
 * before any call that could wait for a task.
 *
 * Build: meson setup build/fuzz -Dfuzz=true (clang), or test/fuzz/run-fuzz.sh.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pool.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_api: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* rc is one of the listed codes (0 and POOL_E* values). */
static int rc_in(int rc, const int *ok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rc == ok[i])
			return 1;
	fprintf(stderr, "fuzz_api: undocumented return %d (%s)\n", rc,
		pool_err_name(rc));
	return 0;
}

#define RC_IN(rc, ...)                                                 \
	do {                                                           \
		static const int ok_[] = {__VA_ARGS__};                \
		CHECK(rc_in((rc), ok_, sizeof(ok_) / sizeof(ok_[0]))); \
	} while (0)

struct fpool {
	pool_t *p;
	atomic_long ran;       /* tasks that ran */
	long accepted;	       /* tasks accepted (submit returned 0) */
	atomic_long discarded; /* handed to the discard callback */
	int func;	       /* made by pool_new_func */
};

static atomic_int gate;

static void inc_task(void *arg)
{
	struct fpool *f = arg;

	atomic_fetch_add(&f->ran, 1);
}

static void gate_task(void *arg)
{
	struct fpool *f = arg;

	while (!atomic_load(&gate))
		sched_yield();
	atomic_fetch_add(&f->ran, 1);
}

static void on_discard(pool_task_fn fn, void *arg, void *ctx)
{
	struct fpool *f = arg;

	CHECK(fn == inc_task || fn == gate_task);
	CHECK(f == ctx);
	atomic_fetch_add(&f->discarded, 1);
}

struct input {
	const uint8_t *d;
	size_t n;
};

static unsigned byte(struct input *in)
{
	unsigned b;

	if (in->n == 0)
		return 0;
	b = *in->d;
	in->d++;
	in->n--;
	return b;
}

/* A timeout in ns: invalid, zero, short, or (gate open) long. */
static int64_t timeout_arg(unsigned b)
{
	switch (b % 5) {
	case 0:
		return -1;
	case 1:
		return 0;
	case 2:
		return 1000;
	case 3:
		return 200000;
	default:
		return INT64_MAX;
	}
}

/* A capacity: invalid, small, or huge. */
static int cap_arg(unsigned b)
{
	switch (b % 8) {
	case 0:
		return 0;
	case 1:
		return -1;
	case 2:
		return (1 << 20) + 1;
	default:
		return 1 + (int)(b % 4);
	}
}

static void open_gate(void)
{
	atomic_store(&gate, 1);
}

/* worker_init: refuses never, every other call, or always (by ctx). */
static atomic_uint init_calls;

static int fz_init(void *ctx, unsigned id, void **state)
{
	unsigned mode = (unsigned)(uintptr_t)ctx;
	unsigned n = atomic_fetch_add(&init_calls, 1);

	(void)id;
	(void)state;
	if (mode == 2 || (mode == 1 && n % 2))
		return POOL_EBUSY;
	return 0;
}

static void fz_fini(void *ctx, unsigned id, void *state)
{
	(void)ctx;
	(void)id;
	(void)state;
	sched_yield();
}

static void make_pool(struct fpool *f, struct input *in)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	unsigned b = byte(in), w = byte(in);
	int rc;

	memset(f, 0, sizeof(*f));
	/* Stranded tasks the pool drops on its own are reported here, like
	 * pool_stop's. */
	o.on_discard = on_discard;
	o.discard_ctx = f;
	if (w % 4) {
		o.worker_init = fz_init;
		o.worker_fini = fz_fini;
		o.worker_ctx = (void *)(uintptr_t)(w % 4 - 1);
	}
	o.capacity = 1 + (int)(b % 3);
	o.ring_capacity = 1u << (byte(in) % 4);
	o.flags = byte(in) & POOL_FLAGS_ALL;
	o.expiry_ns = 1000000 * (1 + byte(in) % 4);
	f->func = (b & 0x80) != 0;
	if (f->func)
		rc = pool_new_func(&f->p, inc_task, &o);
	else
		rc = pool_new(&f->p, &o);
	RC_IN(rc, 0, POOL_ENOMEM,
	      POOL_EBUSY); /* EBUSY: refused under PREALLOC */
	if (rc != 0)
		f->p = NULL;
}

/* Invalid constructor arguments: every one is POOL_EINVAL. */
static void bad_new(unsigned b)
{
	pool_options_t o = POOL_OPTIONS_INIT;
	pool_t *p = NULL;

	switch (b % 7) {
	case 0:
		CHECK(pool_new(NULL, NULL) == POOL_EINVAL);
		return;
	case 1:
		o.size = 1;
		break;
	case 2:
		o.capacity = -1;
		break;
	case 3:
		o.flags = 1u << 30;
		break;
	case 4:
		o.ring_capacity = (1u << 20) + 1;
		break;
	case 5:
		o.expiry_ns = -5;
		break;
	default:
		CHECK(pool_new_func(&p, NULL, NULL) == POOL_EINVAL);
		return;
	}
	CHECK(pool_new(&p, &o) == POOL_EINVAL);
	CHECK(p == NULL);
}

static void step(struct fpool *fp, struct input *in)
{
	unsigned op = byte(in), a = byte(in);
	struct fpool *f = &fp[(op >> 7) & 1];
	pool_t *p = f->p;
	pool_stats_t s = POOL_STATS_INIT;
	pool_task_t tasks[8];
	size_t n, acc;
	int rc;

	/* One call in 16 goes to a NULL pool. */
	if ((a & 0xf0) == 0xf0)
		p = NULL;
	switch (op % 18) {
	case 0: /* pool_submit */
		open_gate();
		rc = pool_submit(p, (a & 1) ? NULL : inc_task, f);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_EOVERLOAD,
		      POOL_EBUSY, POOL_ENOMEM);
		if (!p || (a & 1))
			CHECK(rc == POOL_EINVAL);
		if (rc == 0)
			f->accepted++;
		break;
	case 1: /* pool_try_submit, maybe a gate task */
		rc = pool_try_submit(p, (a & 2) ? gate_task : inc_task, f);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_EOVERLOAD,
		      POOL_EBUSY, POOL_ENOMEM);
		if (rc == 0)
			f->accepted++;
		break;
	case 2: { /* pool_submit_timeout */
		int64_t t = timeout_arg(a);

		if (t > 200000)
			open_gate();
		rc = pool_submit_timeout(p, inc_task, f, t);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_EOVERLOAD,
		      POOL_EBUSY, POOL_ENOMEM, POOL_ETIMEDOUT);
		if (t < 0 || !p)
			CHECK(rc == POOL_EINVAL);
		if (rc == 0)
			f->accepted++;
		break;
	}
	case 3: /* pool_submit_batch */
		open_gate();
		n = a % 9;
		for (size_t i = 0; i < n; i++) {
			tasks[i].fn = inc_task;
			tasks[i].arg = f;
		}
		if (n && (a & 0x40))
			tasks[n - 1].fn = NULL;
		acc = 999;
		rc = pool_submit_batch(p, (a & 0x20) ? NULL : tasks, n,
				       (a & 0x10) ? NULL : &acc);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_EOVERLOAD,
		      POOL_EBUSY, POOL_ENOMEM);
		if (!(a & 0x10)) {
			CHECK(acc <= n);
			if (rc == 0)
				CHECK(acc == n);
			if (rc == POOL_EINVAL)
				CHECK(acc == 0);
			f->accepted += (long)acc;
		} else if (rc == 0) {
			f->accepted += (long)n;
		} else {
			/* Unknown prefix without `accepted`: only use
			 * calls that cannot partially succeed. */
			CHECK(rc == POOL_EINVAL || rc == POOL_ECLOSED ||
			      rc == POOL_EOVERLOAD || rc == POOL_ENOMEM ||
			      rc == POOL_EBUSY);
			if (rc != POOL_EINVAL && rc != POOL_ECLOSED)
				f->accepted = -1000000; /* unknown now */
		}
		break;
	case 4: { /* pool_submit_wait */
		long before = atomic_load(&f->ran);

		open_gate();
		rc = pool_submit_wait(p, inc_task, f);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_EOVERLOAD,
		      POOL_EBUSY, POOL_ENOMEM);
		if (rc == 0) {
			CHECK(atomic_load(&f->ran) > before);
			f->accepted++;
		}
		break;
	}
	case 5: /* pool_invoke */
		open_gate();
		rc = pool_invoke(p, f);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_EOVERLOAD,
		      POOL_EBUSY, POOL_ENOMEM);
		if (p && !f->func)
			CHECK(rc == POOL_EINVAL);
		if (rc == 0)
			f->accepted++;
		break;
	case 6: /* pool_tune */
		rc = pool_tune(p, cap_arg(a));
		RC_IN(rc, 0, POOL_EINVAL, POOL_ECLOSED, POOL_ENOMEM);
		if (cap_arg(a) <= 0 || cap_arg(a) > (1 << 20) || !p)
			CHECK(rc == POOL_EINVAL);
		if (rc == 0)
			CHECK(pool_cap(p) == cap_arg(a) || 1);
		break;
	case 7: /* lock-free reads */
		if (!p) {
			CHECK(pool_cap(p) == POOL_EINVAL);
			CHECK(pool_running(p) == POOL_EINVAL);
			CHECK(pool_available(p) == POOL_EINVAL);
			CHECK(pool_waiting(p) == POOL_EINVAL);
			CHECK(pool_queued(p) == POOL_EINVAL);
			CHECK(pool_is_closed(p) == POOL_EINVAL);
			break;
		}
		CHECK(pool_cap(p) >= 1);
		CHECK(pool_running(p) >= 0);
		CHECK(pool_waiting(p) >= 0);
		CHECK(pool_queued(p) >= 0);
		rc = pool_is_closed(p);
		CHECK(rc == 0 || rc == 1);
		(void)pool_available(p);
		break;
	case 8: /* pool_stats, maybe with a bad size */
		if (a & 1)
			s.size = a;
		rc = pool_stats(p, (a & 2) ? NULL : &s);
		RC_IN(rc, 0, POOL_EINVAL);
		if (!p || (a & 2) || ((a & 1) && a != sizeof(s)))
			CHECK(rc == POOL_EINVAL);
		if (rc == 0)
			CHECK(s.completed <= s.submitted);
		break;
	case 9: /* pool_release */
		rc = pool_release(p);
		RC_IN(rc, 0, POOL_EINVAL);
		if (p)
			CHECK(pool_is_closed(p) == 1);
		break;
	case 10: { /* pool_release_timeout */
		int64_t t = timeout_arg(a);

		open_gate();
		rc = pool_release_timeout(p, t);
		RC_IN(rc, 0, POOL_EINVAL, POOL_ETIMEDOUT);
		if (t < 0 || !p)
			CHECK(rc == POOL_EINVAL);
		if (t == INT64_MAX && p)
			CHECK(rc == 0);
		break;
	}
	case 11: /* pool_stop */
		open_gate();
		rc = pool_stop(p, (a & 1) ? NULL : on_discard, f);
		RC_IN(rc, 0, POOL_EINVAL);
		if (rc == 0 && (a & 1))
			f->accepted = -1000000; /* dropped uncounted */
		break;
	case 12: /* pool_reboot */
		rc = pool_reboot(p);
		RC_IN(rc, 0, POOL_EINVAL, POOL_EBUSY);
		if (rc == 0 && p)
			CHECK(pool_is_closed(p) == 0);
		break;
	case 13: /* close the gate: later gate tasks wait again */
		if (a & 1)
			atomic_store(&gate, 0);
		else
			open_gate();
		break;
	case 14:
		bad_new(a);
		break;
	case 15: /* context reads outside a task */
		CHECK(pool_self() == NULL);
		CHECK(pool_worker_id() == -1);
		CHECK(pool_worker_state() == NULL);
		CHECK(pool_strerror(-(int)a) != NULL);
		CHECK(pool_err_name((int)a - 128) != NULL);
		break;
	case 16: /* destroy on NULL */
		CHECK(pool_destroy(NULL) == POOL_EINVAL);
		CHECK(pool_stop(NULL, NULL, NULL) == POOL_EINVAL);
		break;
	default: /* wait briefly for the pool to run what it has */
		if (p)
			(void)pool_queued(p);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct fpool fp[2];
	unsigned steps = 0;

	atomic_store(&gate, 0);
	make_pool(&fp[0], &in);
	make_pool(&fp[1], &in);
	while (in.n > 0 && steps++ < 256)
		step(fp, &in);
	open_gate();
	for (int i = 0; i < 2; i++) {
		long ran, disc;

		if (!fp[i].p)
			continue;
		CHECK(pool_destroy(fp[i].p) == 0);
		ran = atomic_load(&fp[i].ran);
		disc = atomic_load(&fp[i].discarded);
		if (fp[i].accepted >= 0)
			CHECK(ran + disc == fp[i].accepted);
	}
	return 0;
}
