/* SPDX-License-Identifier: MIT */
/*
 * test/cxx/exception_escapes.cc - what docs/cxx.md says about a C++
 * exception that leaves a task: the process ends in std::terminate (SIGABRT)
 * at the throw, before anything else runs. Checked in a child process; the
 * parent expects SIGABRT and the terminate handler's mark, nothing else.
 */
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <pool.h>

static int mark_fd = -1;

static void on_terminate()
{
	// Async-signal-safe enough: a write, then the default action.
	if (write(mark_fd, "T", 1) != 1)
		_exit(3);
	std::abort();
}

static void throwing_task(void *)
{
	throw std::runtime_error("escapes the task");
}

int main()
{
	int fds[2];
	char mark = 0;
	int status = 0;

	if (pipe(fds) != 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		pool_options_t o = POOL_OPTIONS_INIT;
		pool_t *p = nullptr;

		close(fds[0]);
		mark_fd = fds[1];
		std::set_terminate(on_terminate);
		o.capacity = 1;
		if (pool_new(&p, &o) != 0)
			_exit(4);
		if (pool_submit(p, throwing_task, nullptr) != 0)
			_exit(5);
		(void)pool_release_timeout(p, 30000000000);
		_exit(0); // not reached: the task terminates the process
	}
	close(fds[1]);
	if (read(fds[0], &mark, 1) != 1)
		mark = 0;
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT ||
	    mark != 'T') {
		std::fprintf(stderr,
			     "child: signaled %d sig %d exit %d mark %c\n",
			     WIFSIGNALED(status),
			     WIFSIGNALED(status) ? WTERMSIG(status) : 0,
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			     mark ? mark : '-');
		return 1;
	}
	std::puts("an exception leaving a task: std::terminate, SIGABRT");
	return 0;
}
