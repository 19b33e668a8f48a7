/*
 * The external signer hook of unattended rotation: a command the operator
 * configured, run through /bin/sh -c, that reads the intermediate's CSR
 * (PEM) on stdin and writes the signed certificate on stdout.
 */
#ifndef SUBCA_SERVER_HOOK_H
#define SUBCA_SERVER_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "subca/buf.h"
#include "subca/error.h"
#include "subca/limits.h"

struct subca_hook_result {
	int exit_status;   /* exit status, -1 when killed by a signal */
	int signal;	   /* the signal that ended it, else 0 */
	long duration_ms;  /* from start to reaped */
	size_t out_len;	   /* bytes read from stdout (at most the cap + 1) */
	/* the start of its stderr, non-printable bytes as '?' */
	char err[SUBCA_MAX_HOOK_STDERR + 1];
};

/*
 * Run `command` with `input` on its stdin and exactly the environment `env`
 * (NULL-terminated "NAME=value" strings; nothing of subca's own environment
 * is passed on), in a process group of its own, with every other file
 * descriptor closed and the default signal dispositions. Its stdout goes to
 * `out` (initialised here, at most SUBCA_MAX_HOOK_OUTPUT bytes), the first
 * SUBCA_MAX_HOOK_STDERR bytes of its stderr to res->err. The whole process
 * group is killed (SIGKILL) after `timeout_ms` or as soon as stdout passes
 * the cap. Errors: SUBCA_E_HOOK_TIMEOUT, SUBCA_E_TOO_LARGE,
 * SUBCA_E_HOOK_FAILED (non-zero exit or killed by a signal; the reason
 * quotes the start of its stderr), SUBCA_E_INVALID_ARGUMENT (empty or
 * over-long command), SUBCA_E_IO (pipes, fork). `res` is filled in every
 * case once the command ran.
 */
SUBCA_MUST_CHECK subca_result subca_hook_run(const char *command,
					     char *const env[],
					     struct subca_slice input,
					     long timeout_ms,
					     struct subca_buf *out,
					     struct subca_hook_result *res);

#endif
