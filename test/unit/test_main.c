/* SPDX-License-Identifier: MIT */
/*
 * test/unit/test_main.c - runs the single case named by argv[1] under a
 * watchdog. "--list" prints every registered case.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 256

/* Seconds before the watchdog fails a case; POOL_TEST_TIMEOUT overrides. */
#define WATCHDOG_SECONDS 45

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static const char *current = "(none)";

void test__register(const char *name, test_fn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests (raise MAX_TESTS)\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void test__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: %s: ", file, line, current);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	fflush(stdout);
	/* Threads may be blocked on pool state: do not run exit handlers. */
	_exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "watchdog: test timed out\n";
	ssize_t rc;

	(void)sig;
	rc = write(2, msg, sizeof(msg) - 1);
	(void)rc;
	_exit(1);
}

static void start_watchdog(void)
{
	struct sigaction sa;
	const char *env = getenv("POOL_TEST_TIMEOUT");
	unsigned seconds = WATCHDOG_SECONDS;

	if (env != NULL && atoi(env) > 0)
		seconds = (unsigned)atoi(env);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

int main(int argc, char **argv)
{
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <test name> | --list\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < ntests; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	for (i = 0; i < ntests; i++) {
		if (strcmp(argv[1], tests[i].name) != 0)
			continue;
		current = tests[i].name;
		start_watchdog();
		tests[i].fn();
		alarm(0);
		printf("ok %s\n", current);
		return 0;
	}
	fprintf(stderr, "no test named %s\n", argv[1]);
	return 2;
}
