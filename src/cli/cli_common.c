/* Helpers every command uses: errors, usage, reports, JSON, options. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli.h"
#include "subca/ossl.h"
#include "subca/alloc.h"
#include "subca/limits.h"

const struct cli_command *cli_current;

int cli_fail(subca_result rv)
{
	const char *hint = subca_error_hint_text();

	if (rv == SUBCA_OK)
		rv = SUBCA_E_INTERNAL;
	fprintf(stderr, "subca: error [%s]: %s\n", subca_error_name(rv),
		subca_error_reason()[0] ? subca_error_reason()
					: subca_error_title(rv));
	if (hint[0] != '\0')
		fprintf(stderr, "subca: hint: %s\n", hint);
	return subca_error_exit_code(rv);
}

void cli_print_usage(const struct cli_command *cmd, FILE *out)
{
	fprintf(out, "usage: subca %s%s%s %s\n\n%s\n", cmd->group,
		cmd->name ? " " : "", cmd->name ? cmd->name : "", cmd->usage,
		cmd->summary);
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "subca: error [USAGE]: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_print_usage(cmd, stderr);
	return subca_error_exit_code(SUBCA_E_USAGE);
}

int cli_fail_report(subca_result rv, const struct subca_report *r)
{
	if (r->refusals == 0)
		return cli_fail(rv);
	for (size_t i = 0; i < r->n; i++) {
		const struct subca_report_item *it = &r->items[i];

		if (it->warning)
			continue;
		fprintf(stderr, "subca: error [%s]: %s\n",
			subca_error_name(it->code), it->message);
		if (it->hint[0] != '\0')
			fprintf(stderr, "subca: hint: %s\n", it->hint);
	}
	return subca_error_exit_code(rv);
}

void cli_print_warnings(const struct subca_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct subca_report_item *it = &r->items[i];

		if (!it->warning)
			continue;
		fprintf(stderr, "subca: warning [%s]: %s\n",
			subca_error_name(it->code), it->message);
		if (it->hint[0] != '\0')
			fprintf(stderr, "subca: hint: %s\n", it->hint);
	}
}

static void cli_print_items(const json_t *items, const char *what)
{
	size_t i;
	const json_t *it;

	json_array_foreach(items, i, it) {
		const char *hint = cli_json_str(it, "hint", "");

		fprintf(stderr, "subca: %s [%s]: %s\n", what,
			cli_json_str(it, "code", "INTERNAL"),
			cli_json_str(it, "message", ""));
		if (hint[0] != '\0')
			fprintf(stderr, "subca: hint: %s\n", hint);
	}
}

void cli_print_warnings_json(const json_t *report)
{
	cli_print_items(json_object_get(report, "warnings"), "warning");
}

int cli_fail_report_json(subca_result rv, const json_t *report)
{
	const json_t *refusals = json_object_get(report, "refusals");

	if (json_array_size(refusals) == 0)
		return cli_fail(rv);
	cli_print_items(refusals, "error");
	return subca_error_exit_code(rv);
}

const char *cli_json_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

int cli_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(v);
	return 0;
}

subca_result cli_parse_int(const char *opt, const char *s, long min, long max,
			   int *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	SUBCA_ENSURE(errno == 0 && end != s && *end == '\0' && v >= min &&
			     v <= max,
		     SUBCA_E_USAGE, "%s must be a whole number from %ld to %ld, "
				    "not \"%.40s\"",
		     opt, min, max, s);
	*out = (int)v;
	return SUBCA_OK;
}

subca_result cli_passphrase(const struct cli *cli, struct subca_buf *out)
{
	const char *env = getenv("SUBCA_PASSPHRASE");

	subca_buf_init_secret(out, SUBCA_MAX_PASSPHRASE);
	if (cli->passphrase_file != NULL) {
		struct subca_buf file;

		SUBCA_TRY(subca_file_read(cli->passphrase_file,
					  SUBCA_MAX_PASSPHRASE, &file));
		file.secret = true;
		/* one trailing newline is not part of the passphrase */
		while (file.len > 0 && (file.p[file.len - 1] == '\n' ||
					file.p[file.len - 1] == '\r'))
			file.len--;
		subca_result rv = subca_buf_append(out, file.p, file.len);

		subca_buf_cleanup(&file);
		SUBCA_TRY(rv);
		SUBCA_ENSURE(out->len > 0, SUBCA_E_BAD_PASSPHRASE,
			     "passphrase file %s is empty",
			     cli->passphrase_file);
		return SUBCA_OK;
	}
	if (env != NULL && env[0] != '\0')
		return subca_buf_append_str(out, env);
	return SUBCA_OK;
}

subca_result cli_list_add(struct cli_list *l, const char *opt,
			  const char *value)
{
	SUBCA_ENSURE(l->n < sizeof(l->v) / sizeof(l->v[0]), SUBCA_E_TOO_LARGE,
		     "too many %s values (at most %zu)", opt,
		     sizeof(l->v) / sizeof(l->v[0]));
	l->v[l->n++] = value;
	return SUBCA_OK;
}

subca_result cli_load_private_key(const char *path, EVP_PKEY **out)
{
	SUBCA_BUF_AUTO struct subca_buf pem = {0};
	SUBCA_AUTO(BIO) BIO *bio = NULL;

	SUBCA_TRY(subca_file_read(path, SUBCA_MAX_KEY_INPUT, &pem));
	pem.secret = true;
	bio = BIO_new_mem_buf(pem.p, (int)pem.len);
	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	SUBCA_OSSL(*out != NULL, SUBCA_E_INVALID_ARGUMENT,
		   "%s is not a PEM private key (or its passphrase was wrong)",
		   path);
	return SUBCA_OK;
}
