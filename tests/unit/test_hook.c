/*
 * The signer hook runner (src/server/hook.c) with real /bin/sh commands:
 * output, exit status, the timeout kill, the output cap, a clean
 * environment. No wall-clock timing is asserted.
 */
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/server/hook.h"

static char *env_min[] = {"PATH=/usr/bin:/bin", "SUBCA_AUTHORITY=corp", NULL};

static subca_result run(const char *cmd, const char *in, long timeout_ms,
			struct subca_buf *out, struct subca_hook_result *res)
{
	return subca_hook_run(cmd, env_min, subca_slice_of(in, strlen(in)),
			      timeout_ms, out, res);
}

static void test_hook_passes_stdin_to_stdout_and_keeps_stderr(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;

	(void)state;
	assert_int_equal(run("cat; echo 'signed it' >&2", "-----BEGIN CERTIFICATE REQUEST-----\n",
			     10000, &out, &res),
			 SUBCA_OK);
	assert_int_equal(out.len, 36);
	assert_memory_equal(out.p, "-----BEGIN CERTIFICATE REQUEST-----\n", 36);
	assert_int_equal(res.exit_status, 0);
	assert_string_equal(res.err, "signed it ");
	subca_buf_cleanup(&out);
}

static void test_hook_sees_only_the_environment_it_is_given(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;

	(void)state;
	setenv("SUBCA_PASSPHRASE", "must-not-leak", 1);
	assert_int_equal(run("env", "", 10000, &out, &res), SUBCA_OK);
	assert_int_equal(subca_buf_terminate(&out), SUBCA_OK);
	assert_non_null(strstr((char *)out.p, "SUBCA_AUTHORITY=corp"));
	assert_null(strstr((char *)out.p, "must-not-leak"));
	assert_null(strstr((char *)out.p, "SUBCA_PASSPHRASE"));
	unsetenv("SUBCA_PASSPHRASE");
	subca_buf_cleanup(&out);
}

static void test_hook_nonzero_exit_fails_with_status_and_stderr(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;

	(void)state;
	th_assert_error(run("echo 'vault: permission denied' >&2; exit 3", "csr", 10000,
			    &out, &res),
			SUBCA_E_HOOK_FAILED,
			"exited with status 3; stderr: vault: permission denied");
	assert_int_equal(res.exit_status, 3);
	th_assert_error(run("exit 1", "csr", 10000, &out, &res), SUBCA_E_HOOK_FAILED,
			"exited with status 1; stderr: (empty)");
	th_assert_error(run("kill -9 $$", "csr", 10000, &out, &res), SUBCA_E_HOOK_FAILED,
			"killed by signal 9");
	subca_buf_cleanup(&out);
}

/* Whether process `pid` is gone (or a zombie waiting for init). */
static int gone(pid_t pid)
{
	char path[64], st[256];
	FILE *f;
	int z = 0;

	if (kill(pid, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 1;
	if (fgets(st, sizeof(st), f) != NULL && strstr(st, ") Z") != NULL)
		z = 1;
	fclose(f);
	return z;
}

static void test_hook_that_hangs_is_killed_with_its_children(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;
	char *dir = th_tmpdir(), cmd[512], pidfile[300], buf[32] = "";
	FILE *f;
	pid_t child;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(cmd, sizeof(cmd), "sleep 300 & echo $! > %s; wait", pidfile);
	th_assert_error(run(cmd, "csr", 1000, &out, &res), SUBCA_E_HOOK_TIMEOUT,
			"did not finish within 1000 ms and was killed");
	assert_int_equal(res.signal, SIGKILL);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	child = (pid_t)atoi(buf);
	assert_true(child > 0);
	/* the background sleep was in its process group: killed too */
	for (int i = 0; i < 200 && !gone(child); i++)
		usleep(10000);
	assert_true(gone(child));
	th_rmrf(dir);
	free(dir);
}

static void test_hook_output_is_capped_at_one_mebibyte(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;

	(void)state;
	assert_int_equal(run("head -c 1048576 /dev/zero", "", 10000, &out, &res), SUBCA_OK);
	assert_int_equal(out.len, SUBCA_MAX_HOOK_OUTPUT);
	subca_buf_cleanup(&out);
	th_assert_error(run("head -c 1048577 /dev/zero", "", 10000, &out, &res),
			SUBCA_E_TOO_LARGE, "wrote more than 1048576 bytes on stdout");
	assert_int_equal(out.len, 0);
	th_assert_error(run("cat /dev/zero", "", 10000, &out, &res), SUBCA_E_TOO_LARGE,
			"and was killed");
}

static void test_hook_that_ignores_its_input_does_not_kill_the_caller(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;
	char *big = malloc(600000);

	(void)state;
	memset(big, 'A', 599999);
	big[599999] = '\0';
	assert_int_equal(run("echo done", big, 10000, &out, &res), SUBCA_OK);
	assert_int_equal(out.len, 5);
	subca_buf_cleanup(&out);
	free(big);
}

static void test_hook_refuses_an_empty_command(void **state)
{
	struct subca_buf out;
	struct subca_hook_result res;

	(void)state;
	th_assert_error(run("", "", 1000, &out, &res), SUBCA_E_INVALID_ARGUMENT,
			"must have 1 to 4096 characters");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_passes_stdin_to_stdout_and_keeps_stderr),
		cmocka_unit_test(test_hook_sees_only_the_environment_it_is_given),
		cmocka_unit_test(test_hook_nonzero_exit_fails_with_status_and_stderr),
		cmocka_unit_test(test_hook_that_hangs_is_killed_with_its_children),
		cmocka_unit_test(test_hook_output_is_capped_at_one_mebibyte),
		cmocka_unit_test(test_hook_that_ignores_its_input_does_not_kill_the_caller),
		cmocka_unit_test(test_hook_refuses_an_empty_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
