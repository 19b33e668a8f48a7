/*
 * The external signer hook: fork, exec /bin/sh -c COMMAND with a clean
 * environment, feed the CSR on stdin, collect stdout (bounded) and the
 * start of stderr, and kill the whole process group when it overruns its
 * time or its output. The command is the operator's (set by a global
 * admin); its input and output are treated as untrusted all the same.
 */
#include "hook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct subca__hook {
	pid_t pid;
	int in, out, err; /* our ends; -1 once closed */
	struct subca_slice input;
	size_t written;
	struct subca_buf *stdout_buf;
	struct subca_hook_result *res;
	size_t err_len;
	bool too_large;
};

static long subca__ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void subca__close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In the child: wire the pipes to 0, 1, 2, drop everything else subca
 * holds (files, sockets, the signal mask and dispositions), then exec. */
static void subca__child(const char *command, char *const env[], int in,
			 int out, int err)
{
	char *argv[] = {"sh", "-c", (char *)command, NULL};
	sigset_t none;

	setsid(); /* its own process group: a timeout kills the whole tree */
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	closefrom(3);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execve("/bin/sh", argv, env);
	_exit(127);
}

static subca_result subca__spawn(struct subca__hook *h, const char *command,
				 char *const env[])
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};

	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
	    pipe2(perr, O_CLOEXEC) != 0) {
		int e = errno;

		for (int i = 0; i < 2; i++)
			subca__close(&pin[i]), subca__close(&pout[i]),
				subca__close(&perr[i]);
		SUBCA_BAIL(SUBCA_E_IO, "cannot make pipes for the signer "
				       "command: %s", strerror(e));
	}
	h->pid = fork();
	if (h->pid == 0)
		subca__child(command, env, pin[0], pout[1], perr[1]);
	subca__close(&pin[0]);
	subca__close(&pout[1]);
	subca__close(&perr[1]);
	h->in = pin[1];
	h->out = pout[0];
	h->err = perr[0];
	if (h->pid < 0) {
		int e = errno;

		subca__close(&h->in), subca__close(&h->out),
			subca__close(&h->err);
		SUBCA_BAIL(SUBCA_E_IO, "cannot start the signer command: %s",
			   strerror(e));
	}
	fcntl(h->in, F_SETFL, O_NONBLOCK);
	return SUBCA_OK;
}

static void subca__write_input(struct subca__hook *h)
{
	ssize_t n = write(h->in, h->input.p + h->written,
			  h->input.len - h->written);

	if (n > 0)
		h->written += (size_t)n;
	/* EPIPE: it does not want (the rest of) the CSR; its exit says why */
	if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
	    h->written == h->input.len)
		subca__close(&h->in);
}

static void subca__read_stdout(struct subca__hook *h)
{
	uint8_t chunk[16384];
	ssize_t n = read(h->out, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		subca__close(&h->out);
		return;
	}
	h->res->out_len += (size_t)n;
	if (h->too_large ||
	    subca_buf_append(h->stdout_buf, chunk, (size_t)n) != SUBCA_OK) {
		subca_error_clear();
		h->too_large = true;
		subca__close(&h->out);
	}
}

static void subca__read_stderr(struct subca__hook *h)
{
	char chunk[4096];
	ssize_t n = read(h->err, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		subca__close(&h->err);
		return;
	}
	/* keep the start, drain the rest so that the command never blocks */
	for (ssize_t i = 0; i < n && h->err_len < SUBCA_MAX_HOOK_STDERR; i++) {
		unsigned char ch = (unsigned char)chunk[i];

		h->res->err[h->err_len++] =
			(ch >= 0x20 && ch < 0x7f) ? (char)ch
			: ch == '\n'		  ? ' '
						  : '?';
	}
	h->res->err[h->err_len] = '\0';
}

/* Feed and drain until stdout and stderr close, the cap is passed or the
 * deadline comes; false on a timeout. */
static bool subca__pump(struct subca__hook *h, long deadline)
{
	while ((h->out >= 0 || h->err >= 0) && !h->too_large) {
		struct pollfd p[3];
		int n = 0, rc;
		long left = deadline - subca__ms_now();

		if (left <= 0)
			return false;
		if (h->in >= 0)
			p[n++] = (struct pollfd){.fd = h->in, .events = POLLOUT};
		if (h->out >= 0)
			p[n++] = (struct pollfd){.fd = h->out, .events = POLLIN};
		if (h->err >= 0)
			p[n++] = (struct pollfd){.fd = h->err, .events = POLLIN};
		rc = poll(p, (nfds_t)n, (int)(left > 1000 ? 1000 : left));
		if (rc < 0 && errno != EINTR)
			return false;
		for (int i = 0; rc > 0 && i < n; i++) {
			if (p[i].revents == 0)
				continue;
			if (p[i].fd == h->in)
				subca__write_input(h);
			else if (p[i].fd == h->out)
				subca__read_stdout(h);
			else
				subca__read_stderr(h);
		}
	}
	return !h->too_large;
}

/* Reap the child, waiting at most until `deadline`; false on a timeout. */
static bool subca__reap(struct subca__hook *h, long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(h->pid, status, WNOHANG);

		if (r == h->pid)
			return true;
		if (r < 0 && errno != EINTR)
			return true; /* already reaped: nothing to wait for */
		if (subca__ms_now() >= deadline)
			return false;
		poll(NULL, 0, 10);
	}
}

static void subca__kill(struct subca__hook *h, int *status)
{
	kill(-h->pid, SIGKILL);
	kill(h->pid, SIGKILL);
	while (waitpid(h->pid, status, 0) < 0 && errno == EINTR)
		;
}

static subca_result subca__verdict(const struct subca__hook *h,
				   bool timed_out, long timeout_ms, int status)
{
	struct subca_hook_result *res = h->res;

	res->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	SUBCA_ENSURE(!timed_out, SUBCA_E_HOOK_TIMEOUT,
		     "the signer command did not finish within %ld ms and was "
		     "killed",
		     timeout_ms);
	SUBCA_ENSURE(!h->too_large, SUBCA_E_TOO_LARGE,
		     "the signer command wrote more than %u bytes on stdout "
		     "and was killed",
		     SUBCA_MAX_HOOK_OUTPUT);
	SUBCA_ENSURE(res->signal == 0, SUBCA_E_HOOK_FAILED,
		     "the signer command was killed by signal %d; stderr: %s",
		     res->signal, res->err[0] ? res->err : "(empty)");
	SUBCA_ENSURE(res->exit_status == 0, SUBCA_E_HOOK_FAILED,
		     "the signer command exited with status %d; stderr: %s",
		     res->exit_status, res->err[0] ? res->err : "(empty)");
	return SUBCA_OK;
}

subca_result subca_hook_run(const char *command, char *const env[],
			    struct subca_slice input, long timeout_ms,
			    struct subca_buf *out, struct subca_hook_result *res)
{
	struct subca__hook h = {.in = -1, .out = -1, .err = -1};
	size_t len = command ? strlen(command) : 0;
	long start = subca__ms_now(), deadline = start + timeout_ms;
	bool done;
	int status = 0;
	sigset_t pipe_set, old;
	struct timespec zero = {0, 0};

	memset(res, 0, sizeof(*res));
	subca_buf_init(out, SUBCA_MAX_HOOK_OUTPUT);
	SUBCA_ENSURE(len > 0 && len <= SUBCA_MAX_HOOK_COMMAND,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the signer command must have 1 to %u characters",
		     SUBCA_MAX_HOOK_COMMAND);
	SUBCA_ENSURE(timeout_ms > 0, SUBCA_E_INVALID_ARGUMENT,
		     "the signer command needs a timeout");
	h.input = input;
	h.stdout_buf = out;
	h.res = res;
	/* a command that closes stdin early must not kill this process */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (subca__spawn(&h, command, env) != SUBCA_OK) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return subca_error_code();
	}
	done = subca__pump(&h, deadline) && subca__reap(&h, deadline, &status);
	subca__close(&h.in);
	subca__close(&h.out);
	subca__close(&h.err);
	if (!done)
		subca__kill(&h, &status);
	while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
		; /* consume a SIGPIPE raised by writing to it */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	res->duration_ms = subca__ms_now() - start;
	if (!done)
		subca_buf_cleanup(out);
	return subca__verdict(&h, !done && !h.too_large, timeout_ms, status);
}
