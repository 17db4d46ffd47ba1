/* SPDX-License-Identifier: MIT */
/*
 * server.c - a latency-sensitive HTTP/1.1 server whose handlers run on a
 * worker pool (docs/examples/server/README.md).
 *
 * One event-loop thread (main) does only I/O: accept, read, parse, write,
 * timeouts and signals, over epoll (edge-triggered, non-blocking sockets,
 * keep-alive, pipelining). /work and /io run on the backend's workers; a
 * worker builds the response in the connection's request slot, optionally
 * writes it to the socket itself (--reply direct), and hands the request back
 * to the loop on a lock-free completion stack, ringing an eventfd only when
 * the stack was empty. /healthz, /metrics and bad requests are answered on
 * the loop; /admin/capacity calls the backend's tune on a short-lived thread
 * of its own (pool_tune may wait for an RCU grace period: not on the loop,
 * not on a worker that might be the one being retired).
 *
 * A connection has at most one request on a worker at a time; while it has
 * one, the loop reads ahead into its buffer but neither parses, writes nor
 * closes it, so the worker may use the fd and the request slot without a
 * lock. Everything else in a connection is the loop's.
 *
 *   server [--backend pool|glib|mutex_cv] [--port N] [--threads N]
 *          [--max-threads N] [--queue N] [--reply loop|direct]
 *          [--read-timeout-ms N] [--idle-timeout-ms N] [--drain-timeout-ms N]
 *          [--worker-nice N] [--saturated-ms N]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <pool.h>

#include "backend.h"
#include "metrics-glue.h"

#define IN_MAX	    8192  /* request head limit: larger is 431 */
#define MAX_HEADERS 64	  /* more header lines: 431 */
#define OUT_LIMIT   65536 /* stop parsing while this much waits to go */
#define MAX_FDS	    65536
#define RESP_MAX    512

enum req_kind {
	REQ_WORK,
	REQ_IO,
	REQ_ADMIN,
};

/* The one request of a connection that is on a worker. */
struct req {
	struct backend_task task; /* first: the handler gets &task */
	struct req *next;	  /* completion stack link */
	struct conn *c;
	enum req_kind kind;
	long arg;
	int keep_alive;
	int direct; /* the worker may write the response itself */
	int status;
	size_t resp_len;
	size_t sent; /* bytes the worker wrote (direct) */
	/* CLOCK_MONOTONIC ns: submitted (loop), started and ended (worker). */
	int64_t t_submit, t_start, t_end;
	char resp[RESP_MAX];
};

struct conn {
	int fd;
	int busy;	 /* req is on a worker */
	int eof;	 /* peer closed or the socket failed */
	int close_after; /* close once out is flushed */
	int need_read;	 /* stopped reading with the buffer full */
	int64_t deadline_ns;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	struct req req;
	char in[IN_MAX];
};

/*
 * Where a request's time goes inside the server, per phase, in log-linear
 * histograms (8 sub-buckets per power of two: a quantile read from them is
 * within 12.5 %). Only the loop writes or reads them.
 */
enum phase {
	PH_QUEUE, /* submitted on the loop -> started on a worker */
	PH_RUN,	  /* the handler */
	PH_BACK,  /* handler done -> the loop took the completion */
	PH_TOTAL, /* submitted -> the loop has the response */
	NPHASES,
};
static const char *const phase_names[NPHASES] = {"queue", "run", "back",
						 "total"};
#define HIST_BUCKETS (8 + 61 * 8)

struct hist {
	uint64_t n;
	uint64_t b[HIST_BUCKETS];
};

static int hist_index(int64_t v)
{
	int e;

	if (v < 8)
		return v < 0 ? 0 : (int)v;
	e = 63 - __builtin_clzll((uint64_t)v); /* >= 3 */
	return 8 + (e - 3) * 8 + (int)(((uint64_t)v >> (e - 3)) & 7);
}

static int64_t hist_upper(int i)
{
	int e;

	if (i < 8)
		return i;
	e = (i - 8) / 8 + 3;
	return (int64_t)(((uint64_t)8 + (uint64_t)((i - 8) % 8) + 1)
			 << (e - 3)) -
	       1;
}

static void hist_add(struct hist *h, int64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
}

/* The q-quantile (upper bound of its bucket), ns; 0 when empty. */
static int64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;

	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return hist_upper(i);
	}
	return 0;
}

/* Status codes counted (the loop is the only writer). */
static const int codes[] = {200, 400, 404, 405, 408, 431, 500, 503};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

static struct {
	/* Options. */
	enum backend_kind kind;
	int port, threads, max_threads, direct, worker_nice;
	int64_t queue, read_timeout_ns, idle_timeout_ns, drain_timeout_ns;
	int64_t saturated_ns;
	/* The loop's. */
	int epfd, lfd, efd, sfd;
	struct backend *b;
	struct conn *conns[MAX_FDS];
	int max_fd;
	int draining;
	int64_t drain_deadline_ns;
	uint64_t by_code[NCODES];
	uint64_t served, shed, timeouts, aborted, accepted, refused;
	uint64_t inflight; /* requests on workers or admin threads */
	uint64_t conns_open;
	struct hist phases[NPHASES];
	double iters_per_us;
	/* Completion stack: workers push (release), the loop takes all
	 * (acquire). Written by every worker: its own cache line. */
	_Alignas(64) _Atomic(struct req *) done;
	char pad[64 - sizeof(void *)];
} S;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- handlers (workers) ---------------------------------------------- */

/* CPU-bound work: a 64-bit mixing hash, iters rounds. */
static uint64_t burn(uint64_t iters, uint64_t h)
{
	for (uint64_t i = 0; i < iters; i++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= i;
	}
	return h;
}

static void calibrate(void)
{
	const uint64_t n = 1u << 20;
	int64_t best = INT64_MAX;

	for (int i = 0; i < 5; i++) {
		int64_t t = now_ns();
		volatile uint64_t sink = burn(n, (uint64_t)t);

		(void)sink;
		t = now_ns() - t;
		if (t < best)
			best = t;
	}
	S.iters_per_us = (double)n * 1000.0 / (double)(best > 0 ? best : 1);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* The status line and headers; the length or 0 when cap is too small. */
static size_t format_head(char *buf, size_t cap, int status, int keep_alive,
			  const char *type, size_t body_len)
{
	int n = snprintf(buf, cap,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n%s\r\n",
			 status, reason(status), type, body_len,
			 keep_alive ? "" : "Connection: close\r\n");

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void complete(struct req *r)
{
	struct req *old = atomic_load_explicit(&S.done, memory_order_relaxed);

	/* Release: the response bytes and r->sent written above are visible
	 * to the loop's acquire exchange in take_completions. */
	do {
		r->next = old;
	} while (!atomic_compare_exchange_weak_explicit(
		&S.done, &old, r, memory_order_release, memory_order_relaxed));
	if (!old) {
		uint64_t one = 1;

		/* The stack was empty: the loop may be asleep. */
		while (write(S.efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

static void finish(struct req *r, int status, const char *body, size_t len)
{
	r->t_end = now_ns();
	size_t h = format_head(r->resp, sizeof(r->resp) - len, status,
			       r->keep_alive, "text/plain", len);

	/* Bodies here are short (< 128 bytes): they always fit. */
	memcpy(r->resp + h, body, len);
	r->status = status;
	r->resp_len = h + len;
	r->sent = 0;
	if (r->direct) {
		ssize_t n = send(r->c->fd, r->resp, r->resp_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0)
			r->sent = (size_t)n;
	}
	complete(r);
}

/*
 * The loop must never wait behind handlers for a CPU: each worker thread, on
 * its first task, lowers its own priority by --worker-nice (the same for
 * every backend, whatever threads it makes).
 */
static void lower_priority_once(void)
{
	static _Thread_local int done;

	if (done || !S.worker_nice)
		return;
	done = 1;
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), S.worker_nice);
}

static void handle(struct backend_task *t)
{
	struct req *r = (struct req *)t;
	char body[64];
	int n;

	r->t_start = now_ns();
	lower_priority_once();
	if (r->kind == REQ_WORK) {
		uint64_t iters = (uint64_t)((double)r->arg * S.iters_per_us);

		n = snprintf(body, sizeof(body), "%016" PRIx64 "\n",
			     burn(iters, (uint64_t)(uintptr_t)r));
	} else {
		struct timespec ts = {r->arg / 1000, (r->arg % 1000) * 1000000};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		n = snprintf(body, sizeof(body), "slept %ld ms\n", r->arg);
	}
	finish(r, 200, body, (size_t)n);
}

static void *admin_main(void *arg)
{
	struct req *r = arg;
	int old = backend_cap(S.b);
	int rc = backend_tune(S.b, (int)r->arg);
	char body[128];
	int n;

	if (rc < 0) {
		n = snprintf(body, sizeof(body), "tune %ld: %s\n", r->arg,
			     strerror(-rc));
		finish(r, rc == -EINVAL ? 400 : 500, body, (size_t)n);
	} else {
		n = snprintf(body, sizeof(body), "old %d new %d\n", old,
			     backend_cap(S.b));
		finish(r, 200, body, (size_t)n);
	}
	return NULL;
}

/* ---- connections (loop) ---------------------------------------------- */

static int count_code(int status)
{
	for (size_t i = 0; i < NCODES; i++) {
		if (codes[i] == status) {
			S.by_code[i]++;
			return 0;
		}
	}
	return -1;
}

static void close_conn(struct conn *c)
{
	/* Never with a request on a worker: it may use the fd. */
	if (c->busy)
		return;
	close(c->fd); /* also leaves the epoll set */
	S.conns[c->fd] = NULL;
	S.conns_open--;
	free(c->out);
	free(c);
}

static int out_append(struct conn *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *o;

		while (cap < c->out_len + n)
			cap *= 2;
		o = realloc(c->out, cap);
		if (!o)
			return -1;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* 1: all written; 0: the rest waits for EPOLLOUT; -1: the socket failed. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
		c->deadline_ns = now_ns() + S.read_timeout_ns;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/* Queue a response made on the loop. */
static void reply(struct conn *c, int status, int keep_alive, const char *type,
		  const char *body, size_t len)
{
	char head[256];
	size_t n =
		format_head(head, sizeof(head), status, keep_alive, type, len);

	count_code(status);
	if (out_append(c, head, n) < 0 || out_append(c, body, len) < 0)
		c->eof = 1;
	if (!keep_alive)
		c->close_after = 1;
}

static void reply_text(struct conn *c, int status, int keep_alive,
		       const char *msg)
{
	reply(c, status, keep_alive, "text/plain", msg, strlen(msg));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static int saturated(void)
{
	int64_t bound = backend_bound(S.b);

	return metrics_glue_saturated(S.b) ||
	       (bound > 0 && backend_queued(S.b) >= bound);
}

/* Answer with what fill() writes into a memory stream. */
static void reply_stream(struct conn *c, int keep_alive, const char *type,
			 void (*fill)(FILE *f))
{
	char *p = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&p, &len);

	if (!f) {
		reply_text(c, 500, keep_alive, "out of memory\n");
		return;
	}
	fill(f);
	if (ferror(f) | fclose(f))
		reply_text(c, 500, keep_alive, "out of memory\n");
	else
		reply(c, 200, keep_alive, type, p, len);
	free(p);
}

static void fill_metrics(FILE *f)
{
	struct backend_counts bc;

	backend_counts(S.b, &bc);
	fprintf(f, "# HELP server_responses_total Responses sent by status "
		   "code.\n"
		   "# TYPE server_responses_total counter\n");
	for (size_t i = 0; i < NCODES; i++)
		fprintf(f, "server_responses_total{code=\"%d\"} %" PRIu64 "\n",
			codes[i], S.by_code[i]);
	fprintf(f,
		"# HELP server_shed_total Requests answered 503 because the "
		"pool's queue was full.\n"
		"# TYPE server_shed_total counter\n"
		"server_shed_total %" PRIu64 "\n"
		"# HELP server_timeouts_total Connections closed for a read, "
		"write or idle timeout.\n"
		"# TYPE server_timeouts_total counter\n"
		"server_timeouts_total %" PRIu64 "\n"
		"# HELP server_aborted_total Responses whose client had gone.\n"
		"# TYPE server_aborted_total counter\n"
		"server_aborted_total %" PRIu64 "\n"
		"# HELP server_connections_open Open client connections.\n"
		"# TYPE server_connections_open gauge\n"
		"server_connections_open %" PRIu64 "\n"
		"# HELP server_inflight Requests on workers now.\n"
		"# TYPE server_inflight gauge\n"
		"server_inflight %" PRIu64 "\n"
		"# HELP server_backend_capacity Worker capacity of the "
		"backend.\n"
		"# TYPE server_backend_capacity gauge\n"
		"server_backend_capacity %d\n"
		"# HELP server_backend_queued Accepted tasks not started.\n"
		"# TYPE server_backend_queued gauge\n"
		"server_backend_queued %" PRId64 "\n",
		S.shed, S.timeouts, S.aborted, S.conns_open, S.inflight,
		backend_cap(S.b), bc.queued);
	/* The pool's own exposition (pool/metrics.h), when it has one. */
	metrics_glue_write(S.b, f);
}

static void fill_debug(FILE *f)
{
	struct backend_counts bc;

	backend_counts(S.b, &bc);
	fprintf(f,
		"backend %s\nsubmitted %" PRIu64 "\ncompleted %" PRIu64
		"\nrejected %" PRIu64 "\nqueued %" PRId64 "\nrunning %" PRId64
		"\ninflight %" PRIu64 "\nconns %" PRIu64
		"\nfds %d\nserved %" PRIu64 "\nshed %" PRIu64
		"\ntimeouts %" PRIu64 "\naborted %" PRIu64
		"\ncapacity %d\npool_metrics %d\n",
		backend_name(S.b), bc.submitted, bc.completed, bc.rejected,
		bc.queued, bc.running, S.inflight, S.conns_open, count_fds(),
		S.served, S.shed, S.timeouts, S.aborted, backend_cap(S.b),
		S.kind == BACKEND_POOL && metrics_glue_available());
	for (int i = 0; i < NPHASES; i++) {
		const struct hist *h = &S.phases[i];

		fprintf(f,
			"%s_n %" PRIu64 "\n%s_p50_us %" PRId64
			"\n%s_p99_us %" PRId64 "\n%s_p999_us %" PRId64 "\n",
			phase_names[i], h->n, phase_names[i],
			hist_quantile(h, 0.5) / 1000, phase_names[i],
			hist_quantile(h, 0.99) / 1000, phase_names[i],
			hist_quantile(h, 0.999) / 1000);
	}
}

/* "name=N" in a query string: 0 and *out, or -1 (absent, not a number,
 * out of 0 .. max). */
static int query_long(const char *q, size_t qlen, const char *name, long max,
		      long *out)
{
	size_t nl = strlen(name);
	const char *p = q, *end = q + qlen;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > nl && !memcmp(p, name, nl) &&
		    p[nl] == '=') {
			long v = 0;
			const char *d = p + nl + 1;

			if (d == stop)
				return -1;
			for (; d < stop; d++) {
				if (*d < '0' || *d > '9')
					return -1;
				v = v * 10 + (*d - '0');
				if (v > max)
					return -1;
			}
			*out = v;
			return 0;
		}
		p = stop + 1;
	}
	return -1;
}

static void dispatch(struct conn *c, enum req_kind kind, long arg,
		     int keep_alive)
{
	struct req *r = &c->req;
	int rc;

	r->c = c;
	r->kind = kind;
	r->arg = arg;
	r->keep_alive = keep_alive;
	/* Direct writes only when nothing of ours waits to go before it. */
	r->direct = S.direct && c->out_len == c->out_off;
	r->task.fn = handle;
	r->t_submit = now_ns();
	c->busy = 1;
	S.inflight++;
	if (kind == REQ_ADMIN) {
		pthread_attr_t a;
		pthread_t th;

		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&th, &a, admin_main, r) ? -EAGAIN : 0;
		pthread_attr_destroy(&a);
	} else {
		rc = backend_submit(S.b, &r->task);
	}
	if (rc == 0)
		return;
	c->busy = 0;
	S.inflight--;
	if (rc == -EAGAIN) {
		S.shed++;
		reply_text(c, 503, keep_alive, "overloaded\n");
	} else if (rc == -ESHUTDOWN) {
		reply_text(c, 503, 0, "draining\n");
	} else {
		reply_text(c, 500, 0, "submit failed\n");
	}
}

static int is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch);
}

/*
 * Parse and answer requests in c->in until one goes to a worker, the input
 * runs out, or the connection is to close.
 */
static void process(struct conn *c)
{
	while (!c->busy && !c->close_after && !c->eof && c->in_len &&
	       c->out_len - c->out_off < OUT_LIMIT) {
		char *in = c->in, *eol, *end, *sp1, *sp2, *q;
		size_t head_len, plen, qlen = 0;
		int keep_alive, nhdr = 0;
		long arg;

		/* The request line, checked as soon as it is complete. */
		eol = memchr(in, '\n', c->in_len);
		if (!eol) {
			if (c->in_len >= IN_MAX)
				reply_text(c, 431, 0, "header too large\n");
			return;
		}
		if (eol == in || eol[-1] != '\r') {
			reply_text(c, 400, 0, "bad request line\n");
			return;
		}
		sp1 = memchr(in, ' ', (size_t)(eol - in));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))
			  : NULL;
		if (!sp1 || sp1 == in || !sp2 || sp1[1] != '/' ||
		    eol - 1 - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
		    (sp2[8] != '0' && sp2[8] != '1')) {
			reply_text(c, 400, 0, "bad request line\n");
			return;
		}
		for (char *p = in; p < sp1; p++) {
			if (!is_tchar(*p)) {
				reply_text(c, 400, 0, "bad method\n");
				return;
			}
		}
		for (char *p = sp1 + 1; p < sp2; p++) {
			if ((unsigned char)*p <= ' ' ||
			    (unsigned char)*p >= 0x7f) {
				reply_text(c, 400, 0, "bad target\n");
				return;
			}
		}
		end = memmem(in, c->in_len, "\r\n\r\n", 4);
		if (!end) {
			if (c->in_len >= IN_MAX)
				reply_text(c, 431, 0, "header too large\n");
			return;
		}
		head_len = (size_t)(end - in) + 4;
		keep_alive = sp2[8] == '1';
		/* Header lines: "name: value", no body accepted. */
		for (char *l = eol + 1; l < end + 2;) {
			char *le = memchr(l, '\n', (size_t)(end + 2 - l));
			char *colon = memchr(l, ':', (size_t)(le - l));

			if (!colon || colon == l || le[-1] != '\r' ||
			    ++nhdr > MAX_HEADERS) {
				if (nhdr > MAX_HEADERS)
					reply_text(c, 431, 0,
						   "too many headers\n");
				else
					reply_text(c, 400, 0, "bad header\n");
				return;
			}
			for (char *p = l; p < colon; p++) {
				if (!is_tchar(*p)) {
					reply_text(c, 400, 0, "bad header\n");
					return;
				}
			}
			size_t nl = (size_t)(colon - l);
			char *v = colon + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			size_t vl = (size_t)(le - 1 - v);
			if (nl == 10 && !strncasecmp(l, "connection", 10)) {
				if (vl >= 5 && !strncasecmp(v, "close", 5))
					keep_alive = 0;
				else if (vl >= 10 &&
					 !strncasecmp(v, "keep-alive", 10))
					keep_alive = 1;
			} else if ((nl == 14 &&
				    !strncasecmp(l, "content-length", 14) &&
				    !(vl == 1 && *v == '0')) ||
				   (nl == 17 &&
				    !strncasecmp(l, "transfer-encoding", 17))) {
				reply_text(c, 400, 0, "no bodies here\n");
				return;
			}
			l = le + 1;
		}
		if (S.draining)
			keep_alive = 0;
		/* Path and query; the request leaves the buffer now (the
		 * values are copied out before the memmove). */
		q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
		plen = (size_t)((q ? q : sp2) - (sp1 + 1));
		char path[32] = "", query[128] = "";
		int method_ok = sp1 - in == 3 && !memcmp(in, "GET", 3);

		if (plen < sizeof(path))
			memcpy(path, sp1 + 1, plen);
		if (q) {
			qlen = (size_t)(sp2 - q - 1);
			if (qlen >= sizeof(query))
				qlen = sizeof(query) - 1;
			memcpy(query, q + 1, qlen);
		}
		memmove(in, in + head_len, c->in_len - head_len);
		c->in_len -= head_len;
		c->deadline_ns = now_ns() + S.read_timeout_ns;

		if (!method_ok) {
			reply_text(c, 405, keep_alive, "GET only\n");
		} else if (!strcmp(path, "/work")) {
			if (query_long(query, qlen, "us", 1000000, &arg) < 0)
				reply_text(c, 400, keep_alive,
					   "need us=0..1000000\n");
			else if (S.draining)
				reply_text(c, 503, 0, "draining\n");
			else
				dispatch(c, REQ_WORK, arg, keep_alive);
		} else if (!strcmp(path, "/io")) {
			if (query_long(query, qlen, "ms", 10000, &arg) < 0)
				reply_text(c, 400, keep_alive,
					   "need ms=0..10000\n");
			else if (S.draining)
				reply_text(c, 503, 0, "draining\n");
			else
				dispatch(c, REQ_IO, arg, keep_alive);
		} else if (!strcmp(path, "/admin/capacity")) {
			if (query_long(query, qlen, "n", 1 << 20, &arg) < 0 ||
			    arg < 1)
				reply_text(c, 400, keep_alive,
					   "need n=1..max\n");
			else
				dispatch(c, REQ_ADMIN, arg, keep_alive);
		} else if (!strcmp(path, "/healthz")) {
			if (S.draining)
				reply_text(c, 503, keep_alive, "draining\n");
			else if (saturated())
				reply_text(c, 503, keep_alive, "saturated\n");
			else
				reply_text(c, 200, keep_alive, "ok\n");
		} else if (!strcmp(path, "/metrics")) {
			reply_stream(c, keep_alive, "text/plain; version=0.0.4",
				     fill_metrics);
		} else if (!strcmp(path, "/debug/stats")) {
			reply_stream(c, keep_alive, "text/plain", fill_debug);
			/* ?reset=1: start the phase histograms afresh. */
			if (query_long(query, qlen, "reset", 1, &arg) == 0 &&
			    arg == 1)
				memset(S.phases, 0, sizeof(S.phases));
		} else {
			reply_text(c, 404, keep_alive, "not found\n");
		}
	}
}

/* Read until EAGAIN, EOF or a full buffer. */
static void read_conn(struct conn *c)
{
	c->need_read = 0;
	while (!c->eof) {
		if (c->in_len == IN_MAX) {
			c->need_read = 1;
			return;
		}
		ssize_t n =
			recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
		if (n > 0) {
			/* A new request: its head must arrive in time,
			 * however slowly the bytes trickle (slowloris). */
			if (c->in_len == 0)
				c->deadline_ns = now_ns() + S.read_timeout_ns;
			c->in_len += (size_t)n;
		} else if (n == 0) {
			c->eof = 1;
		} else if (errno == EAGAIN) {
			return;
		} else if (errno != EINTR) {
			c->eof = 1;
		}
	}
}

/* After any event: answer what can be, write, close what is done. */
static void progress(struct conn *c)
{
	int w;

	for (;;) {
		size_t before = c->in_len;

		process(c);
		if (c->busy)
			return; /* the worker's; nothing else until it is back
				 */
		w = flush_out(c);
		if (w < 0) {
			close_conn(c);
			return;
		}
		if (w == 1 && (c->close_after || c->eof)) {
			close_conn(c);
			return;
		}
		if (w == 0)
			return; /* EPOLLOUT continues */
		if (c->need_read && !c->eof) {
			read_conn(c);
			continue;
		}
		/* Parsing may have stopped at OUT_LIMIT with whole requests
		 * left: now that the output is gone, go on (edge-triggered:
		 * no new event comes for bytes already read). */
		if (c->in_len && c->in_len != before)
			continue;
		if (!c->in_len)
			c->deadline_ns = now_ns() + S.idle_timeout_ns;
		return;
	}
}

static void take_completions(void)
{
	uint64_t v;
	struct req *r;

	/* Read the eventfd before taking the stack: a push after the take
	 * rings it again (complete() rings on empty -> non-empty). */
	while (read(S.efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	/* Acquire: pairs with the release CAS in complete(); the worker's
	 * writes to the request are visible below. */
	r = atomic_exchange_explicit(&S.done, NULL, memory_order_acquire);
	int64_t now = r ? now_ns() : 0;

	while (r) {
		struct req *next = r->next;
		struct conn *c = r->c;

		if (r->kind != REQ_ADMIN) {
			hist_add(&S.phases[PH_QUEUE], r->t_start - r->t_submit);
			hist_add(&S.phases[PH_RUN], r->t_end - r->t_start);
			hist_add(&S.phases[PH_BACK], now - r->t_end);
			hist_add(&S.phases[PH_TOTAL], now - r->t_submit);
		}

		c->busy = 0;
		S.inflight--;
		count_code(r->status);
		if (r->status == 200)
			S.served++;
		/* Draining: close once this answer is out (between two
		 * requests a server may close a keep-alive connection). */
		if (!r->keep_alive || S.draining)
			c->close_after = 1;
		if (r->sent < r->resp_len &&
		    out_append(c, r->resp + r->sent, r->resp_len - r->sent) < 0)
			c->eof = 1;
		if (c->eof) {
			/* The peer may have only half-closed: try, then
			 * close either way. */
			if (flush_out(c) != 1)
				S.aborted++;
			close_conn(c);
		} else {
			progress(c);
		}
		r = next;
	}
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(S.lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {0};
		struct conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: retried later */
		}
		if (fd >= MAX_FDS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			S.refused++;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->deadline_ns = now_ns() + S.idle_timeout_ns;
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.fd = fd;
		if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			S.refused++;
			continue;
		}
		S.conns[fd] = c;
		if (fd > S.max_fd)
			S.max_fd = fd;
		S.conns_open++;
		S.accepted++;
	}
}

static void sweep_timeouts(int64_t now)
{
	for (int fd = 0; fd <= S.max_fd; fd++) {
		struct conn *c = S.conns[fd];

		if (!c || c->busy || now < c->deadline_ns)
			continue;
		S.timeouts++;
		if (c->in_len && c->out_len == c->out_off) {
			/* A request head that never completed: say so, best
			 * effort, and close. */
			reply_text(c, 408, 0, "request timeout\n");
			(void)flush_out(c);
		}
		close_conn(c);
	}
}

static void start_drain(void)
{
	S.draining = 1;
	S.drain_deadline_ns = now_ns() + S.drain_timeout_ns;
	if (S.lfd >= 0) {
		close(S.lfd);
		S.lfd = -1;
	}
	/* Idle connections go now; busy ones after their response. */
	for (int fd = 0; fd <= S.max_fd; fd++) {
		struct conn *c = S.conns[fd];

		if (c && !c->busy && c->out_len == c->out_off && !c->in_len)
			close_conn(c);
		else if (c)
			c->close_after = 1;
	}
}

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof(a);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		close(fd);
		return -1;
	}
	S.port = ntohs(a.sin_port);
	return fd;
}

static int64_t opt_int(const char *flag, const char *v, int64_t lo, int64_t hi)
{
	char *e;
	long long x;

	errno = 0;
	x = v ? strtoll(v, &e, 10) : 0;
	if (!v || errno || *e || x < lo || x > hi) {
		fprintf(stderr, "server: %s needs an integer in %lld .. %lld\n",
			flag, (long long)lo, (long long)hi);
		exit(2);
	}
	return x;
}

static void parse_args(int argc, char **argv)
{
	S.kind = BACKEND_POOL;
	S.threads = 4;
	S.worker_nice = 0;
	S.max_threads = 0;
	S.read_timeout_ns = 5000000000LL;
	S.idle_timeout_ns = 30000000000LL;
	S.drain_timeout_ns = 5000000000LL;
	for (int i = 1; i < argc; i += 2) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(f, "--backend")) {
			if (!v || backend_parse(v, &S.kind) < 0) {
				fprintf(stderr, "server: --backend "
						"pool|glib|mutex_cv\n");
				exit(2);
			}
		} else if (!strcmp(f, "--reply")) {
			if (!v || (strcmp(v, "loop") && strcmp(v, "direct"))) {
				fprintf(stderr,
					"server: --reply loop|direct\n");
				exit(2);
			}
			S.direct = !strcmp(v, "direct");
		} else if (!strcmp(f, "--port")) {
			S.port = (int)opt_int(f, v, 0, 65535);
		} else if (!strcmp(f, "--threads")) {
			S.threads = (int)opt_int(f, v, 1, 1024);
		} else if (!strcmp(f, "--max-threads")) {
			S.max_threads = (int)opt_int(f, v, 1, 1024);
		} else if (!strcmp(f, "--saturated-ms")) {
			S.saturated_ns = opt_int(f, v, 1, 3600000) * 1000000;
		} else if (!strcmp(f, "--worker-nice")) {
			S.worker_nice = (int)opt_int(f, v, 0, 19);
		} else if (!strcmp(f, "--queue")) {
			S.queue = v && !strcmp(v, "none")
					  ? BACKEND_QUEUE_NONE
					  : opt_int(f, v, 0, 1 << 24);
		} else if (!strcmp(f, "--read-timeout-ms")) {
			S.read_timeout_ns = opt_int(f, v, 1, 3600000) * 1000000;
		} else if (!strcmp(f, "--idle-timeout-ms")) {
			S.idle_timeout_ns = opt_int(f, v, 1, 3600000) * 1000000;
		} else if (!strcmp(f, "--drain-timeout-ms")) {
			S.drain_timeout_ns =
				opt_int(f, v, 0, 3600000) * 1000000;
		} else {
			fprintf(stderr, "server: unknown argument %s\n", f);
			exit(2);
		}
	}
	if (!S.max_threads)
		S.max_threads = S.threads > 16 ? S.threads : 16;
	if (S.max_threads < S.threads)
		S.max_threads = S.threads;
}

int main(int argc, char **argv)
{
	struct backend_config cfg = {0};
	struct epoll_event evs[256], ev = {0};
	int64_t last_sweep = 0, left;
	sigset_t sigs;
	int rc, code;

	parse_args(argc, argv);
	calibrate();

	/* Signals: SIGTERM/SIGINT through a signalfd, blocked in every
	 * thread (the workers inherit the mask). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	cfg.kind = S.kind;
	cfg.capacity = S.threads;
	cfg.max_capacity = S.max_threads;
	cfg.queue_bound = S.queue;
	rc = backend_new(&S.b, &cfg);
	if (rc < 0) {
		fprintf(stderr, "server: backend: %s\n", strerror(-rc));
		return 1;
	}
	metrics_glue_init(S.b, S.saturated_ns);
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	S.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	S.sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	S.lfd = listen_on(S.port);
	if (S.epfd < 0 || S.efd < 0 || S.sfd < 0 || S.lfd < 0) {
		perror("server: setup");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = S.lfd;
	epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.lfd, &ev);
	ev.data.fd = S.efd;
	epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.efd, &ev);
	ev.data.fd = S.sfd;
	epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.sfd, &ev);
	printf("listening on 127.0.0.1:%d backend %s threads %d queue %" PRId64
	       " reply %s\n",
	       S.port, backend_name(S.b), S.threads, S.queue,
	       S.direct ? "direct" : "loop");
	fflush(stdout);

	for (;;) {
		int n = epoll_wait(S.epfd, evs, 256, 100);
		int64_t now;

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct conn *c;

			if (fd == S.lfd && !S.draining) {
				accept_all();
			} else if (fd == S.efd) {
				take_completions();
			} else if (fd == S.sfd) {
				struct signalfd_siginfo si;

				while (read(S.sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (S.draining) {
						fprintf(stderr,
							"server: second signal,"
							" exiting now\n");
						_exit(2);
					}
					start_drain();
				}
			} else if ((c = S.conns[fd])) {
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP |
						     EPOLLHUP | EPOLLERR))
					read_conn(c);
				if (!c->busy)
					progress(c);
			}
		}
		now = now_ns();
		if (now - last_sweep >= 100000000) {
			sweep_timeouts(now);
			last_sweep = now;
		}
		if (S.draining && ((S.inflight == 0 && S.conns_open == 0) ||
				   now >= S.drain_deadline_ns))
			break;
	}

	/* Drained, or out of time: close the pool with what is left. */
	left = S.drain_deadline_ns - now_ns();
	rc = backend_drain(S.b, left > 0 ? left : 0);
	if (rc == 0)
		take_completions(); /* ran after the deadline: answer, best
				       effort (the sockets are non-blocking) */
	uint64_t dropped = S.inflight;
	printf("served %" PRIu64 " shed %" PRIu64 " dropped %" PRIu64
	       " timeouts %" PRIu64 " aborted %" PRIu64 " accepted %" PRIu64
	       "\n",
	       S.served, S.shed, dropped, S.timeouts, S.aborted, S.accepted);
	fflush(stdout);
	code = dropped ? 1 : 0;
	if (rc < 0)
		_exit(code); /* tasks still run: free nothing under them */
	for (int fd = 0; fd <= S.max_fd; fd++) {
		if (S.conns[fd]) {
			S.conns[fd]->busy = 0;
			close_conn(S.conns[fd]);
		}
	}
	close(S.epfd);
	close(S.efd);
	close(S.sfd);
	return code;
}
