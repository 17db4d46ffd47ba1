/* SPDX-License-Identifier: MIT */
/*
 * perf/loadgen.c - a fixed-rate (open-loop) HTTP/1.1 load generator for
 * loopback, measuring without coordinated omission.
 *
 * Request i is due at t0 + i / rate whatever happened to earlier requests;
 * its latency runs from that due time to the last byte of its response. A
 * request that finds every connection busy waits in the generator and that
 * wait counts, as it would for a real client population (a closed-loop
 * tool, or one that paces each connection after its last response, such as
 * `hey -q`, sends less when the server slows down and so hides the stall).
 * One thread, epoll, keep-alive connections, one request in flight per
 * connection; a timerfd wakes it at the next due time.
 *
 *   pool-loadgen --port P [--rate R] [--duration-ms D] [--requests N]
 *                [--conns C] [--mix W:PATH[,W:PATH...]] [--seed S]
 *                [--drain-ms T] [--admin N1,N2,... --admin-every-ms M]
 *
 * --rate 0 is closed loop (each connection sends its next request when the
 * last is answered; latency from the send). Stops sending at D ms or N
 * requests, whichever first, then waits at most T ms (default 5000) for the
 * answers; unanswered ones are errors. --admin sends GET
 * /admin/capacity?n=N1, N2, ... cyclically on a connection of its own every
 * M ms (default 1000), not counted in the latencies. Prints one JSON object.
 * Exit 0 when it ran (errors are reported, not an exit status), 2 on bad
 * arguments or when no connection could be made.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 16
#define BUF	  16384

struct path {
	unsigned weight;
	char req[256];
	size_t len;
};

struct conn {
	int fd;
	int connecting;
	int busy;
	int admin;
	int64_t due_ns; /* the request's due time (open loop) or send time */
	size_t in_len;
	char in[BUF];
};

static struct {
	int port, nconns, npaths, nadmin, admin_next;
	int64_t rate; /* requests per second; 0: closed loop */
	int64_t duration_ns, drain_ns, admin_every_ns;
	uint64_t max_requests, seed;
	unsigned total_weight;
	struct path paths[MAX_PATHS];
	int admin_n[16];
	struct conn *conns;
	struct conn admin;
	int epfd, tfd;
	int64_t t0, interval_ns, next_admin_ns;
	uint64_t issued; /* requests whose due time came (or sent, closed) */
	uint64_t sent, answered;
	/* Latencies of 2xx answers (ns), and counts by outcome. */
	int64_t *lat;
	uint64_t nlat, lat_cap;
	uint64_t shed, err_status, conn_errors, admin_ok, admin_err;
	int64_t last_answer_ns;
	/* Requests due but not yet on a connection: issued - sent. */
} G;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a --seed. */
	G.seed ^= G.seed >> 12;
	G.seed ^= G.seed << 25;
	G.seed ^= G.seed >> 27;
	return G.seed * 2685821657736338717ULL;
}

static const struct path *pick_path(void)
{
	unsigned x = (unsigned)(rnd() >> 33) % G.total_weight;

	for (int i = 0; i < G.npaths; i++) {
		if (x < G.paths[i].weight)
			return &G.paths[i];
		x -= G.paths[i].weight;
	}
	return &G.paths[G.npaths - 1];
}

static int set_path(struct path *p, unsigned weight, const char *target)
{
	int n = snprintf(p->req, sizeof(p->req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);

	if (n < 0 || (size_t)n >= sizeof(p->req) || target[0] != '/')
		return -1;
	p->weight = weight;
	p->len = (size_t)n;
	return 0;
}

static int conn_open(struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)G.port)};
	struct epoll_event ev = {0};
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->connecting = 1;
	c->busy = 0;
	c->in_len = 0;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(G.epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* The connection failed or the server closed it: a request on it is lost. */
static void conn_fail(struct conn *c, int counted_error)
{
	if (c->busy && counted_error) {
		if (c->admin)
			G.admin_err++;
		else
			G.conn_errors++;
		if (!c->admin)
			G.answered++; /* accounted for, as an error */
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->busy = 0;
	(void)conn_open(c);
}

static int send_all(struct conn *c, const char *p, size_t len)
{
	/* Requests are small: the socket buffer of an idle connection
	 * always takes one whole. */
	ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

	return n == (ssize_t)len ? 0 : -1;
}

static int stop_sending(int64_t now)
{
	return now - G.t0 >= G.duration_ns ||
	       (G.max_requests && G.issued >= G.max_requests);
}

/* Put due requests on idle connections. */
static void dispatch(int64_t now)
{
	if (G.rate) {
		/* Every request whose due time has come is issued. */
		while (!(G.max_requests && G.issued >= G.max_requests)) {
			int64_t due = G.t0 + (int64_t)G.issued * G.interval_ns;

			if (due > now || due - G.t0 >= G.duration_ns)
				break;
			G.issued++;
		}
	}
	for (int i = 0; i < G.nconns; i++) {
		struct conn *c = &G.conns[i];
		const struct path *p;

		if (c->fd < 0 || c->connecting || c->busy)
			continue;
		if (G.rate) {
			if (G.sent >= G.issued)
				break;
			c->due_ns = G.t0 + (int64_t)G.sent * G.interval_ns;
		} else {
			if (stop_sending(now))
				break;
			G.issued++;
			c->due_ns = now;
		}
		p = pick_path();
		c->busy = 1;
		G.sent++;
		if (send_all(c, p->req, p->len) < 0)
			conn_fail(c, 1);
	}
	if (G.nadmin && !G.admin.connecting && !G.admin.busy &&
	    G.admin.fd >= 0 && now >= G.next_admin_ns && !stop_sending(now)) {
		char req[128];
		int n = snprintf(req, sizeof(req),
				 "GET /admin/capacity?n=%d HTTP/1.1\r\n"
				 "Host: 127.0.0.1\r\n\r\n",
				 G.admin_n[G.admin_next++ % G.nadmin]);

		G.admin.busy = 1;
		G.next_admin_ns = now + G.admin_every_ns;
		if (send_all(&G.admin, req, (size_t)n) < 0)
			conn_fail(&G.admin, 1);
	}
}

static void record(struct conn *c, int status, int64_t now)
{
	if (c->admin) {
		if (status == 200)
			G.admin_ok++;
		else
			G.admin_err++;
		return;
	}
	G.answered++;
	G.last_answer_ns = now;
	if (status >= 200 && status < 300) {
		if (G.nlat == G.lat_cap) {
			uint64_t cap = G.lat_cap ? G.lat_cap * 2 : 65536;
			int64_t *l = realloc(G.lat, cap * sizeof(*l));

			if (!l) {
				G.err_status++; /* cannot record: say so */
				return;
			}
			G.lat = l;
			G.lat_cap = cap;
		}
		G.lat[G.nlat++] = now - c->due_ns;
	} else if (status == 503) {
		G.shed++;
	} else {
		G.err_status++;
	}
}

/* Parse complete responses in c->in. -1: malformed or closing. */
static int parse(struct conn *c, int64_t now)
{
	while (c->in_len) {
		char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		size_t head, clen = 0, total;
		int status, close_after = 0;

		if (!end)
			return c->in_len == BUF ? -1 : 0;
		head = (size_t)(end - c->in) + 4;
		if (c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7))
			return -1;
		status = atoi(c->in + 9);
		for (char *l = memchr(c->in, '\n', head); l && l < end;
		     l = memchr(l + 1, '\n', (size_t)(end - l))) {
			if (!strncasecmp(l + 1, "content-length:", 15))
				clen = strtoul(l + 16, NULL, 10);
			else if (!strncasecmp(l + 1, "connection: close", 17))
				close_after = 1;
		}
		total = head + clen;
		if (total > BUF)
			return -1;
		if (c->in_len < total)
			return 0;
		if (!c->busy)
			return -1; /* an answer nobody asked for */
		c->busy = 0;
		record(c, status, now);
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
		if (close_after)
			return -1;
	}
	return 0;
}

static void on_event(struct conn *c, uint32_t events, int64_t now)
{
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err) {
			if (!c->admin)
				G.conn_errors++;
			close(c->fd);
			c->fd = -1;
			return; /* not retried: the server is gone or full */
		}
		if (!(events & EPOLLOUT))
			return;
		c->connecting = 0;
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, BUF - c->in_len, 0);

		if (n > 0) {
			c->in_len += (size_t)n;
			if (parse(c, now) < 0) {
				conn_fail(c, 1);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		conn_fail(c, 1); /* closed by the server, or failed */
		return;
	}
}

static void arm_timer(int64_t at)
{
	struct itimerspec it = {0};

	if (at <= 0)
		at = 1;
	it.it_value.tv_sec = at / 1000000000;
	it.it_value.tv_nsec = at % 1000000000;
	timerfd_settime(G.tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double pct(double q)
{
	uint64_t i;

	if (!G.nlat)
		return 0;
	i = (uint64_t)(q * (double)(G.nlat - 1) + 0.5);
	return (double)G.lat[i] / 1000.0;
}

static int64_t arg_int(const char *flag, const char *v, int64_t lo, int64_t hi)
{
	char *e;
	long long x;

	errno = 0;
	x = v ? strtoll(v, &e, 10) : 0;
	if (!v || errno || *e || x < lo || x > hi) {
		fprintf(stderr,
			"loadgen: %s needs an integer in %lld .. %lld\n", flag,
			(long long)lo, (long long)hi);
		exit(2);
	}
	return x;
}

static void parse_mix(char *spec)
{
	for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
		char *colon = strchr(tok, ':');
		long w;

		if (!colon || G.npaths == MAX_PATHS) {
			fprintf(stderr, "loadgen: --mix W:PATH[,W:PATH...]\n");
			exit(2);
		}
		*colon = 0;
		w = strtol(tok, NULL, 10);
		if (w <= 0 ||
		    set_path(&G.paths[G.npaths], (unsigned)w, colon + 1) < 0) {
			fprintf(stderr, "loadgen: bad --mix entry %s\n", tok);
			exit(2);
		}
		G.total_weight += (unsigned)w;
		G.npaths++;
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256], ev = {0};
	int64_t end_ns, now, stop_at;
	uint64_t pending;
	int live = 0;

	G.nconns = 64;
	G.duration_ns = 5000000000LL;
	G.drain_ns = 5000000000LL;
	G.admin_every_ns = 1000000000LL;
	G.seed = 88172645463325252ULL;
	for (int i = 1; i < argc; i += 2) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(f, "--port"))
			G.port = (int)arg_int(f, v, 1, 65535);
		else if (!strcmp(f, "--rate"))
			G.rate = arg_int(f, v, 0, 10000000);
		else if (!strcmp(f, "--duration-ms"))
			G.duration_ns = arg_int(f, v, 1, 600000) * 1000000;
		else if (!strcmp(f, "--requests"))
			G.max_requests = (uint64_t)arg_int(f, v, 0, 1LL << 40);
		else if (!strcmp(f, "--conns"))
			G.nconns = (int)arg_int(f, v, 1, 4096);
		else if (!strcmp(f, "--drain-ms"))
			G.drain_ns = arg_int(f, v, 0, 600000) * 1000000;
		else if (!strcmp(f, "--seed"))
			G.seed = (uint64_t)arg_int(f, v, 1, INT64_MAX);
		else if (!strcmp(f, "--admin-every-ms"))
			G.admin_every_ns = arg_int(f, v, 1, 600000) * 1000000;
		else if (!strcmp(f, "--mix") && v)
			parse_mix(argv[i + 1]);
		else if (!strcmp(f, "--admin") && v) {
			char *s = argv[i + 1];

			for (char *t = strtok(s, ","); t && G.nadmin < 16;
			     t = strtok(NULL, ","))
				G.admin_n[G.nadmin++] =
					(int)arg_int(f, t, 1, 1 << 20);
		} else {
			fprintf(stderr, "loadgen: unknown argument %s\n", f);
			return 2;
		}
	}
	if (!G.port) {
		fprintf(stderr, "loadgen: --port is required\n");
		return 2;
	}
	if (!G.npaths) {
		set_path(&G.paths[0], 1, "/work?us=50");
		G.total_weight = 1;
		G.npaths = 1;
	}
	G.interval_ns = G.rate ? 1000000000 / G.rate : 0;
	G.epfd = epoll_create1(EPOLL_CLOEXEC);
	G.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	G.conns = calloc((size_t)G.nconns, sizeof(*G.conns));
	if (G.epfd < 0 || G.tfd < 0 || !G.conns) {
		perror("loadgen: setup");
		return 2;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(G.epfd, EPOLL_CTL_ADD, G.tfd, &ev);
	for (int i = 0; i < G.nconns; i++)
		if (conn_open(&G.conns[i]) < 0)
			G.conns[i].fd = -1;
	G.admin.admin = 1;
	if (G.nadmin && conn_open(&G.admin) < 0)
		G.admin.fd = -1;
	if (!G.nadmin)
		G.admin.fd = -1;

	/* Connect everything first (at most 2 s), then start the clock. */
	end_ns = now_ns() + 2000000000LL;
	for (;;) {
		int n, waiting = 0;

		for (int i = 0; i < G.nconns; i++)
			waiting += G.conns[i].fd >= 0 && G.conns[i].connecting;
		if (!waiting || now_ns() > end_ns)
			break;
		n = epoll_wait(G.epfd, evs, 256, 100);
		for (int i = 0; i < n; i++)
			if (evs[i].data.ptr)
				on_event(evs[i].data.ptr, evs[i].events,
					 now_ns());
	}
	for (int i = 0; i < G.nconns; i++)
		live += G.conns[i].fd >= 0 && !G.conns[i].connecting;
	if (!live) {
		fprintf(stderr, "loadgen: no connection to 127.0.0.1:%d\n",
			G.port);
		return 2;
	}

	G.t0 = now_ns();
	G.next_admin_ns = G.t0;
	stop_at = 0;
	for (;;) {
		int n;

		now = now_ns();
		dispatch(now);
		pending = G.issued - G.answered;
		if (stop_sending(now)) {
			if (!stop_at)
				stop_at = now;
			if (!pending && (!G.admin.busy || G.admin.fd < 0))
				break;
			if (now - stop_at > G.drain_ns)
				break;
		}
		if (G.rate && !stop_sending(now))
			arm_timer(G.t0 + (int64_t)G.issued * G.interval_ns);
		else
			arm_timer(now + 10000000); /* re-check every 10 ms */
		n = epoll_wait(G.epfd, evs, 256, 100);
		now = now_ns();
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				uint64_t x;

				while (read(G.tfd, &x, sizeof(x)) < 0 &&
				       errno == EINTR)
					;
				continue;
			}
			on_event(evs[i].data.ptr, evs[i].events, now);
		}
	}
	/* Due but never answered (in flight or never sent): errors. */
	uint64_t unanswered = G.issued - G.answered;
	double window =
		(double)((G.last_answer_ns ? G.last_answer_ns : now) - G.t0) /
		1e9;

	qsort(G.lat, G.nlat, sizeof(*G.lat), cmp64);
	printf("{\"offered_rps\": %" PRId64 ", \"issued\": %" PRIu64
	       ", \"sent\": %" PRIu64 ", \"answered\": %" PRIu64
	       ", \"ok\": %" PRIu64 ", \"achieved_rps\": %.1f"
	       ", \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f"
	       ", \"p999_us\": %.1f, \"max_us\": %.1f"
	       ", \"errors\": %" PRIu64 ", \"shed\": %" PRIu64
	       ", \"status_errors\": %" PRIu64 ", \"conn_errors\": %" PRIu64
	       ", \"unanswered\": %" PRIu64 ", \"admin_ok\": %" PRIu64
	       ", \"admin_errors\": %" PRIu64 ", \"seconds\": %.3f}\n",
	       G.rate, G.issued, G.sent, G.answered, G.nlat,
	       window > 0 ? (double)(G.answered - G.conn_errors) / window : 0,
	       pct(0.50), pct(0.90), pct(0.99), pct(0.999),
	       G.nlat ? (double)G.lat[G.nlat - 1] / 1000.0 : 0.0,
	       unanswered + G.err_status + G.conn_errors, G.shed, G.err_status,
	       G.conn_errors, unanswered, G.admin_ok, G.admin_err, window);
	return 0;
}
