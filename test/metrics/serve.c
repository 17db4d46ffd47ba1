/* SPDX-License-Identifier: MIT */
/*
 * test/metrics/serve.c - a tiny HTTP endpoint serving the exposition of a
 * pool under load, for the Prometheus integration test (prometheus-it.py).
 *
 *   serve SECONDS   listen on 127.0.0.1, an ephemeral port, print it on
 *                   stdout, serve GET /metrics until GET /quit, SECONDS
 *                   passed, or 2000 requests were served.
 *
 * Load: one producer submits bursts of 64 short busy tasks to a pool of
 * capacity 2 (one submit in 8 timed), so the queue-wait histogram fills.
 * Loopback only; bounded in time and requests.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pool.h>

static atomic_int stop;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void task_busy(void *arg)
{
	int64_t end = now_ns() + 20000;

	(void)arg;
	while (now_ns() < end)
		;
}

static void *producer(void *arg)
{
	pool_t *p = arg;
	struct timespec pause = {0, 2000000};

	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++)
			if (pool_submit(p, task_busy, NULL) != 0) {
				fprintf(stderr, "serve: submit failed\n");
				exit(1);
			}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, s, n);

		if (k <= 0)
			return -1;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_str(int fd, const char *s)
{
	return write_all(fd, s, strlen(s));
}

/* One request: 0 served, 1 quit. */
static int serve_one(int fd, pool_t *p)
{
	static const pool_label_t labels[] = {{"instance_kind", "test"}};
	char req[1024], head[256], *body;
	ssize_t n = read(fd, req, sizeof(req) - 1);
	long len;

	if (n <= 0)
		return 0;
	req[n] = '\0';
	if (strncmp(req, "GET /quit", 9) == 0) {
		write_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
			      "Connection: close\r\n\r\n");
		return 1;
	}
	if (strncmp(req, "GET /metrics", 12) != 0) {
		write_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
			      "Connection: close\r\n\r\n");
		return 0;
	}
	len = pool_metrics_format(p, NULL, 0, labels, 1);
	if (len < 0 || !(body = malloc((size_t)len + 1))) {
		fprintf(stderr, "serve: format failed\n");
		exit(1);
	}
	pool_metrics_format(p, body, (size_t)len + 1, labels, 1);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
		 "version=0.0.4; charset=utf-8\r\nContent-Length: %ld\r\n"
		 "Connection: close\r\n\r\n",
		 len);
	if (write_all(fd, head, strlen(head)) == 0)
		write_all(fd, body, (size_t)len);
	free(body);
	return 0;
}

int main(int argc, char **argv)
{
	pool_metrics_options_t m = POOL_METRICS_OPTIONS_INIT;
	pool_options_t o = POOL_OPTIONS_INIT;
	int64_t deadline = now_ns() + (int64_t)(argc > 1 ? atoi(argv[1]) : 60) *
					      1000000000;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	pthread_t prod;
	int ls, one = 1;
	pool_t *p;

	m.sample_every = 8;
	o.capacity = 2;
	o.name = "it";
	o.metrics = &m;
	if (pool_new(&p, &o) != 0)
		return 1;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(ls, 16) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
		perror("serve: socket");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	if (pthread_create(&prod, NULL, producer, p) != 0)
		return 1;
	for (int served = 0; served < 2000 && now_ns() < deadline;) {
		struct pollfd pfd = {.fd = ls, .events = POLLIN};
		int fd;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		served++;
		if (serve_one(fd, p)) {
			close(fd);
			break;
		}
		close(fd);
	}
	close(ls);
	atomic_store(&stop, 1);
	pthread_join(prod, NULL);
	return pool_destroy(p) != 0;
}
