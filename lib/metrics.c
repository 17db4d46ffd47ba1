/* SPDX-License-Identifier: MIT */
/*
 * lib/metrics.c - pool/metrics.h: histogram readings and quantiles, the
 * saturation reading, sampling control and the Prometheus text exposition
 * (format 0.0.4) of a pool or a multi-pool.
 *
 * Layer: on top of the pool and the multi-pool. Reads what lib/obs.c and the
 * workers record (per-shard histograms, busy stamps) and the public reads
 * (pool_stats); writes only the sampling mask.
 *
 * Locks: none. No user code runs here. Every shard walk is one RCU
 * read-side section (the table may be replaced by pool_tune; shards live
 * until pool_destroy).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "obs-inl.h"

/* ---- buckets ---- */

uint64_t pool_hist_bucket_lower_ns(int i)
{
	const int sb = POOL_HIST_SUB_BITS;
	int e;

	if (i < 0 || i >= POOL_HIST_BUCKETS)
		return 0;
	if (i < (1 << sb))
		return (uint64_t)i;
	if (i == POOL_HIST_BUCKETS - 1)
		return 1ull << 40;
	e = (i >> sb) + sb - 1;
	return (1ull << e) +
	       (uint64_t)(i & ((1 << sb) - 1)) * (1ull << (e - sb));
}

uint64_t pool_hist_bucket_upper_ns(int i)
{
	const int sb = POOL_HIST_SUB_BITS;

	if (i < 0 || i >= POOL_HIST_BUCKETS)
		return 0;
	if (i == POOL_HIST_BUCKETS - 1)
		return UINT64_MAX;
	if (i < (1 << sb))
		return (uint64_t)i + 1;
	return pool_hist_bucket_lower_ns(i) +
	       (1ull << ((i >> sb) + sb - 1 - sb));
}

int pool_hist_bucket_index(uint64_t ns)
{
	return pool__hist_index(ns);
}

double pool_hist_quantile(const pool_hist_t *h, double q)
{
	uint64_t n = 0, cum = 0;
	double rank;

	if (!h || !(q >= 0 && q <= 1))
		return -1;
	for (int i = 0; i < POOL_HIST_BUCKETS; i++)
		n += h->buckets[i];
	if (n == 0)
		return -1;
	rank = q * (double)n;
	if (rank < 1)
		rank = 1; /* q = 0: the smallest sample's bucket */
	for (int i = 0; i < POOL_HIST_BUCKETS; i++) {
		uint64_t c = h->buckets[i];
		double lo, hi;

		if (c == 0 || (double)(cum + c) < rank) {
			cum += c;
			continue;
		}
		lo = (double)pool_hist_bucket_lower_ns(i);
		if (i == POOL_HIST_BUCKETS - 1)
			return lo;
		hi = (double)pool_hist_bucket_upper_ns(i);
		return lo + (hi - lo) * ((rank - (double)cum) / (double)c);
	}
	return (double)pool_hist_bucket_lower_ns(POOL_HIST_BUCKETS - 1);
}

int pool_hist_sub(pool_hist_t *later, const pool_hist_t *earlier)
{
	if (!later || !earlier)
		return POOL_EINVAL;
	if (later->count < earlier->count || later->sum_ns < earlier->sum_ns ||
	    later->panicked < earlier->panicked)
		return POOL_EINVAL;
	for (int i = 0; i < POOL_HIST_BUCKETS; i++)
		if (later->buckets[i] < earlier->buckets[i])
			return POOL_EINVAL;
	later->count -= earlier->count;
	later->sum_ns -= earlier->sum_ns;
	later->panicked -= earlier->panicked;
	for (int i = 0; i < POOL_HIST_BUCKETS; i++)
		later->buckets[i] -= earlier->buckets[i];
	return 0;
}

/* ---- readings ---- */

/* The stored kinds (lib/obs-inl.h) a public kind adds up; -1: none. */
static const int hist_parts[POOL_HIST_KINDS][2] = {
	[POOL_HIST_QUEUE_WAIT] = {POOL_OBS_QW, POOL_OBS_QW_BLOCKED},
	[POOL_HIST_RUN] = {POOL_OBS_RUN, -1},
	[POOL_HIST_SUBMIT] = {POOL_OBS_QW, POOL_OBS_SUBMIT_BLOCKED},
	[POOL_HIST_BLOCK] = {POOL_OBS_BLOCK, -1},
};

static void hist_sum(const struct pool *p, int kind, pool_hist_t *out)
{
	struct pool_vec *tv;
	uint32_t n;

	pool__rcu_read_lock();
	tv = pool__vec_load(&((struct pool *)p)->table, &n);
	for (uint32_t i = 0; i < n; i++) {
		/* Acquire: pairs with the release store in obs_get (obs.c):
		 * the buckets were zeroed before the pointer was published. */
		struct pool_obs *o = atomic_load_explicit(
			&pool__shard_at(tv, i)->obs, memory_order_acquire);

		if (!o)
			continue;
		for (int j = 0; j < 2; j++) {
			int k = hist_parts[kind][j];

			if (k < 0)
				continue;
			for (int b = 0; b < POOL_HIST_BUCKETS; b++)
				out->buckets[b] += atomic_load_explicit(
					&o->b[k][b], memory_order_relaxed);
			out->sum_ns += atomic_load_explicit(
				&o->sum_ns[k], memory_order_relaxed);
		}
		if (kind == POOL_HIST_RUN)
			out->panicked += atomic_load_explicit(
				&o->panicked, memory_order_relaxed);
	}
	pool__rcu_read_unlock();
}

static void hist_count(pool_hist_t *h)
{
	h->count = 0;
	for (int b = 0; b < POOL_HIST_BUCKETS; b++)
		h->count += h->buckets[b];
}

int pool_metrics_read(const pool_t *p, int kind, pool_hist_t *out)
{
	if (!p || !out || kind < 0 || kind >= POOL_HIST_KINDS)
		return POOL_EINVAL;
	memset(out, 0, sizeof(*out));
	hist_sum(p, kind, out);
	hist_count(out);
	return 0;
}

int pool_multi_metrics_read(const pool_multi_t *m, int kind, pool_hist_t *out)
{
	pool_t *p;

	if (!m || !out || kind < 0 || kind >= POOL_HIST_KINDS)
		return POOL_EINVAL;
	memset(out, 0, sizeof(*out));
	for (int i = 0; (p = pool__multi_member(m, i)) != NULL; i++)
		hist_sum(p, kind, out);
	hist_count(out);
	return 0;
}

int pool_metrics_quantile(const pool_t *p, int kind, double q, double *seconds)
{
	pool_hist_t h;
	double ns;
	int r;

	if (!seconds || !(q >= 0 && q <= 1))
		return POOL_EINVAL;
	r = pool_metrics_read(p, kind, &h);
	if (r < 0)
		return r;
	ns = pool_hist_quantile(&h, q);
	*seconds = ns < 0 ? -1 : ns * 1e-9;
	return 0;
}

int pool_metrics_set_sampling(pool_t *p, unsigned every)
{
	if (!p || every > (1u << 20) || (every & (every - 1)))
		return POOL_EINVAL;
	/* Relaxed: submits read it relaxed; a stamp is self-contained, so a
	 * change needs no ordering with anything else. */
	atomic_store_explicit(&p->obs_mask, pool__obs_mask(every),
			      memory_order_relaxed);
	return 0;
}

int pool_metrics_sampling(const pool_t *p)
{
	uint64_t m;

	if (!p)
		return POOL_EINVAL;
	m = atomic_load_explicit(&p->obs_mask, memory_order_relaxed);
	return m == POOL_OBS_OFF ? 0 : (int)(m + 1);
}

int64_t pool_metrics_saturation_ns(const pool_t *cp)
{
	struct pool *p = (struct pool *)cp;
	struct pool_vec *tv;
	uint32_t n;
	uint64_t last = 0, now;

	if (!p)
		return POOL_EINVAL;
	/* A free worker now: one parked, one searching (or woken and about
	 * to search), or room to start one. */
	if (atomic_load_explicit(&p->nidle, memory_order_relaxed) > 0 ||
	    atomic_load_explicit(&p->nspinning, memory_order_relaxed) > 0 ||
	    atomic_load_explicit(&p->nworkers, memory_order_relaxed) <
		    atomic_load_explicit(&p->cap, memory_order_relaxed))
		return 0;
	pool__rcu_read_lock();
	tv = pool__vec_load(&p->table, &n);
	for (uint32_t i = 0; i < n; i++) {
		struct pool_shard *s = pool__shard_at(tv, i);
		uint64_t b;

		if (!atomic_load_explicit(&s->owner, memory_order_relaxed))
			continue;
		b = atomic_load_explicit(&s->busy_since, memory_order_relaxed);
		if (b > last)
			last = b;
	}
	pool__rcu_read_unlock();
	if (last == 0)
		last = p->born_tick;
	now = pool__ticks();
	return now > last ? (int64_t)pool__ticks_to_ns(now - last) : 0;
}

/* ---- exposition ---- */

/* Where the text goes: a caller's buffer (snprintf rules) or a FILE. */
struct out {
	char *buf;
	size_t len;
	size_t n; /* bytes the text needs so far */
	FILE *f;
	int err; /* errno of the first failed write to f */
};

static void put(struct out *o, const char *s, size_t k)
{
	if (o->f) {
		if (!o->err && k && fwrite(s, 1, k, o->f) != k)
			o->err = errno ? errno : EIO;
	} else if (o->len && o->n < o->len - 1) {
		size_t room = o->len - 1 - o->n;

		memcpy(o->buf + o->n, s, k < room ? k : room);
	}
	o->n += k;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct out *o,
						       const char *fmt, ...)
{
	char tmp[96];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (k > 0)
		put(o, tmp,
		    (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

/* A label value, escaped as format 0.0.4 says: \\, \", \n. */
static void put_escaped(struct out *o, const char *v)
{
	const char *run = v;

	for (; *v; v++) {
		const char *esc = *v == '\\'   ? "\\\\"
				  : *v == '"'  ? "\\\""
				  : *v == '\n' ? "\\n"
					       : NULL;

		if (!esc)
			continue;
		put(o, run, (size_t)(v - run));
		puts_(o, esc);
		run = v + 1;
	}
	put(o, run, (size_t)(v - run));
}

/* What is written: one pool, or the members of a multi-pool. */
struct src {
	const pool_t *single;
	const pool_multi_t *multi;
	const pool_label_t *labels;
	size_t nlabels;
};

static const pool_t *src_pool(const struct src *s, int i)
{
	if (s->single)
		return i == 0 ? s->single : NULL;
	return pool__multi_member(s->multi, i);
}

/* {pool="..",member="..",extra..,k="v"} */
static void put_labels(struct out *o, const struct src *s, const pool_t *p,
		       int member, const char *k, const char *v)
{
	puts_(o, "{pool=\"");
	put_escaped(o, p->name);
	puts_(o, "\"");
	if (s->multi)
		putf(o, ",member=\"%d\"", member);
	for (size_t i = 0; i < s->nlabels; i++) {
		puts_(o, ",");
		puts_(o, s->labels[i].name);
		puts_(o, "=\"");
		put_escaped(o, s->labels[i].value);
		puts_(o, "\"");
	}
	if (k) {
		putf(o, ",%s=\"", k);
		puts_(o, v);
		puts_(o, "\"");
	}
	puts_(o, "}");
}

static void put_head(struct out *o, const char *name, const char *type,
		     const char *help)
{
	putf(o, "# HELP %s ", name);
	puts_(o, help);
	putf(o, "\n# TYPE %s %s\n", name, type);
}

enum val {
	V_CAP,
	V_RUNNING,
	V_WORKERS,
	V_IDLE,
	V_QUEUED,
	V_WAITING,
	V_CLOSED,
	V_SAMPLING,
	V_SATURATED,
	V_SUBMITTED,
	V_COMPLETED,
	V_DROPPED,
	V_PANICKED,
	V_DISCARDED,
	V_STOLEN,
	V_INLINE,
	V_SPAWNED,
	V_SPAWN_FAILED,
	V_EXPIRED,
	V_RETIRED,
	V_TUNES,
};

struct family {
	const char *name;
	const char *type;
	enum val v;
	const char *help;
};

/* Every gauge and counter, in output order (docs/metrics.md lists them). */
static const struct family families[] = {
	{"pool_capacity", "gauge", V_CAP, "Maximum number of workers."},
	{"pool_running", "gauge", V_RUNNING, "Tasks executing now."},
	{"pool_workers", "gauge", V_WORKERS, "Live worker threads."},
	{"pool_workers_idle", "gauge", V_IDLE,
	 "Workers parked on the idle stack."},
	{"pool_queue_depth", "gauge", V_QUEUED,
	 "Accepted tasks not yet started."},
	{"pool_waiting", "gauge", V_WAITING,
	 "Submitters blocked on a full pool."},
	{"pool_closed", "gauge", V_CLOSED,
	 "1 once the pool was released, stopped or is being destroyed."},
	{"pool_metrics_sample_interval", "gauge", V_SAMPLING,
	 "One submit in this many per producing thread is timed (0: off)."},
	{"pool_saturated_seconds", "gauge", V_SATURATED,
	 "Time since the pool last had a free worker (0: one is free)."},
	{"pool_tasks_submitted_total", "counter", V_SUBMITTED,
	 "Tasks accepted."},
	{"pool_tasks_completed_total", "counter", V_COMPLETED,
	 "Tasks that ended (returned or panicked)."},
	{"pool_tasks_dropped_total", "counter", V_DROPPED,
	 "Submits refused, every reason (pool_tasks_rejected_total)."},
	{"pool_tasks_panicked_total", "counter", V_PANICKED,
	 "Tasks that panicked."},
	{"pool_tasks_discarded_total", "counter", V_DISCARDED,
	 "Accepted tasks discarded by pool_stop before they ran."},
	{"pool_tasks_stolen_total", "counter", V_STOLEN,
	 "Tasks run by a worker that does not own their ring."},
	{"pool_tasks_inline_total", "counter", V_INLINE,
	 "Tasks run inline by a task submitting to its own full pool."},
	{"pool_workers_spawned_total", "counter", V_SPAWNED,
	 "Worker threads started."},
	{"pool_workers_spawn_failed_total", "counter", V_SPAWN_FAILED,
	 "Worker starts that failed (thread creation or worker_init)."},
	{"pool_workers_expired_total", "counter", V_EXPIRED,
	 "Workers that exited after idling for expiry_ns."},
	{"pool_workers_retired_total", "counter", V_RETIRED,
	 "Workers that exited after a shrink."},
	{"pool_tunes_total", "counter", V_TUNES,
	 "Successful capacity changes (pool_tune)."},
};

static void put_value(struct out *o, const pool_t *p, const pool_stats_t *st,
		      enum val v)
{
	uint64_t x = 0;

	switch (v) {
	case V_CAP:
		x = st->capacity;
		break;
	case V_RUNNING:
		x = st->running;
		break;
	case V_WORKERS:
		x = st->workers;
		break;
	case V_IDLE:
		x = st->idle;
		break;
	case V_QUEUED:
		x = st->queued;
		break;
	case V_WAITING:
		x = st->waiting;
		break;
	case V_CLOSED:
		x = (uint64_t)pool_is_closed(p);
		break;
	case V_SAMPLING:
		x = (uint64_t)pool_metrics_sampling(p);
		break;
	case V_SATURATED:
		putf(o, " %.9f\n",
		     (double)pool_metrics_saturation_ns(p) * 1e-9);
		return;
	case V_SUBMITTED:
		x = st->submitted;
		break;
	case V_COMPLETED:
		x = st->completed;
		break;
	case V_DROPPED:
		x = st->rejected_overload + st->rejected_closed +
		    st->rejected_timeout;
		break;
	case V_PANICKED:
		x = st->panicked;
		break;
	case V_DISCARDED:
		x = st->discarded;
		break;
	case V_STOLEN:
		x = st->stolen;
		break;
	case V_INLINE:
		x = st->inline_runs;
		break;
	case V_SPAWNED:
		x = st->spawned;
		break;
	case V_SPAWN_FAILED:
		x = st->spawn_failed;
		break;
	case V_EXPIRED:
		x = st->expired;
		break;
	case V_RETIRED:
		x = st->retired;
		break;
	case V_TUNES:
		x = st->tunes;
		break;
	}
	putf(o, " %llu\n", (unsigned long long)x);
}

static const struct {
	const char *name;
	int kind;
	const char *help;
} hist_families[] = {
	{"pool_queue_wait_seconds", POOL_HIST_QUEUE_WAIT,
	 "Time from acceptance to start of sampled tasks."},
	{"pool_task_duration_seconds", POOL_HIST_RUN,
	 "Run time of sampled tasks (panics included)."},
	{"pool_submit_duration_seconds", POOL_HIST_SUBMIT,
	 "Time from the submit call to start of sampled tasks "
	 "(blocking plus queueing)."},
	{"pool_submit_block_seconds", POOL_HIST_BLOCK,
	 "Time accepted submits waited for space in a full pool."},
};

/* Exposed bucket bounds: 2^8 ns (256 ns) .. 2^36 ns (68.7 s), each the
 * upper bound of a histogram bucket, so the cumulative counts are exact. */
#define EXPO_FIRST 8
#define EXPO_LAST  36

static void put_hist(struct out *o, const struct src *s, const pool_t *p,
		     int member, const char *name, const pool_hist_t *h)
{
	uint64_t cum = 0;
	int b = 0;
	char le[32];

	for (int k = EXPO_FIRST; k <= EXPO_LAST; k++) {
		uint64_t bound = 1ull << k;

		while (b < POOL_HIST_BUCKETS &&
		       pool_hist_bucket_upper_ns(b) <= bound)
			cum += h->buckets[b++];
		snprintf(le, sizeof(le), "%.9g", (double)bound * 1e-9);
		putf(o, "%s_bucket", name);
		put_labels(o, s, p, member, "le", le);
		putf(o, " %llu\n", (unsigned long long)cum);
	}
	putf(o, "%s_bucket", name);
	put_labels(o, s, p, member, "le", "+Inf");
	putf(o, " %llu\n", (unsigned long long)h->count);
	putf(o, "%s_sum", name);
	put_labels(o, s, p, member, NULL, NULL);
	putf(o, " %.9f\n", (double)h->sum_ns * 1e-9);
	putf(o, "%s_count", name);
	put_labels(o, s, p, member, NULL, NULL);
	putf(o, " %llu\n", (unsigned long long)h->count);
}

static bool label_name_ok(const char *n)
{
	static const char *const reserved[] = {"pool", "member", "le",
					       "reason"};

	if (!n || !*n || (n[0] == '_' && n[1] == '_'))
		return false;
	for (const char *c = n; *c; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') ||
			     (*c >= 'A' && *c <= 'Z') || *c == '_';

		if (!alpha && !(c != n && *c >= '0' && *c <= '9'))
			return false;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(n, reserved[i]) == 0)
			return false;
	return true;
}

static int check_labels(const pool_label_t *l, size_t n)
{
	if (!l && n)
		return POOL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!label_name_ok(l[i].name) || !l[i].value)
			return POOL_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(l[i].name, l[j].name) == 0)
				return POOL_EINVAL;
	}
	return 0;
}

static void expose(struct out *o, const struct src *s)
{
	static const char *const reasons[] = {"overload", "closed", "timeout"};
	const pool_t *p;
	pool_stats_t st;

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		put_head(o, families[f].name, families[f].type,
			 families[f].help);
		for (int i = 0; (p = src_pool(s, i)) != NULL; i++) {
			st.size = sizeof(st);
			pool_stats(p, &st);
			puts_(o, families[f].name);
			put_labels(o, s, p, i, NULL, NULL);
			put_value(o, p, &st, families[f].v);
		}
	}
	put_head(o, "pool_tasks_rejected_total", "counter",
		 "Submits refused, by reason.");
	for (int i = 0; (p = src_pool(s, i)) != NULL; i++) {
		uint64_t v[3];

		st.size = sizeof(st);
		pool_stats(p, &st);
		v[0] = st.rejected_overload;
		v[1] = st.rejected_closed;
		v[2] = st.rejected_timeout;
		for (int r = 0; r < 3; r++) {
			puts_(o, "pool_tasks_rejected_total");
			put_labels(o, s, p, i, "reason", reasons[r]);
			putf(o, " %llu\n", (unsigned long long)v[r]);
		}
	}
	for (size_t f = 0; f < sizeof(hist_families) / sizeof(hist_families[0]);
	     f++) {
		put_head(o, hist_families[f].name, "histogram",
			 hist_families[f].help);
		for (int i = 0; (p = src_pool(s, i)) != NULL; i++) {
			pool_hist_t h;

			pool_metrics_read(p, hist_families[f].kind, &h);
			put_hist(o, s, p, i, hist_families[f].name, &h);
		}
	}
}

static long format_src(const struct src *s, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	int r;

	if (!buf && len)
		return POOL_EINVAL;
	r = check_labels(s->labels, s->nlabels);
	if (r < 0)
		return r;
	expose(&o, s);
	if (len)
		buf[o.n < len - 1 ? o.n : len - 1] = '\0';
	return (long)o.n;
}

static int write_src(const struct src *s, FILE *f)
{
	struct out o = {.f = f};
	int r;

	if (!f)
		return POOL_EINVAL;
	r = check_labels(s->labels, s->nlabels);
	if (r < 0)
		return r;
	errno = 0;
	expose(&o, s);
	if (!o.err && fflush(f) != 0)
		o.err = errno ? errno : EIO;
	if (o.err) {
		errno = o.err;
		return -o.err;
	}
	return 0;
}

long pool_metrics_format(const pool_t *p, char *buf, size_t len,
			 const pool_label_t *labels, size_t nlabels)
{
	struct src s = {.single = p, .labels = labels, .nlabels = nlabels};

	if (!p)
		return POOL_EINVAL;
	return format_src(&s, buf, len);
}

int pool_metrics_write(const pool_t *p, FILE *f, const pool_label_t *labels,
		       size_t nlabels)
{
	struct src s = {.single = p, .labels = labels, .nlabels = nlabels};

	if (!p)
		return POOL_EINVAL;
	return write_src(&s, f);
}

long pool_multi_metrics_format(const pool_multi_t *m, char *buf, size_t len,
			       const pool_label_t *labels, size_t nlabels)
{
	struct src s = {.multi = m, .labels = labels, .nlabels = nlabels};

	if (!m)
		return POOL_EINVAL;
	return format_src(&s, buf, len);
}

int pool_multi_metrics_write(const pool_multi_t *m, FILE *f,
			     const pool_label_t *labels, size_t nlabels)
{
	struct src s = {.multi = m, .labels = labels, .nlabels = nlabels};

	if (!m)
		return POOL_EINVAL;
	return write_src(&s, f);
}
