/*
 * subca revoke AUTHORITY SERIAL [--reason R]: revoke an issued certificate,
 * locally or through POST /admin/v1/authorities/NAME/certificates/SERIAL/
 * revoke. Revoking again succeeds and keeps the first reason and time (the
 * store never rewrites a revocation); the output says so.
 */
#include <string.h>

#include "cli.h"
#include "cli_remote.h"
#include "../server/views.h"
#include "subca/limits.h"

struct cli_revoke_opts {
	const char *authority;
	char serial[128];
	const char *reason; /* NULL: unspecified */
	int code;
	bool json;
};

static subca_result cli_revoke_parse(struct cli_revoke_opts *o, int argc,
				     char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': o->reason = optarg; break;
		case 'j': o->json = true; break;
		default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
		}
	}
	SUBCA_ENSURE(optind + 2 == argc, SUBCA_E_USAGE,
		     "expected AUTHORITY SERIAL");
	o->authority = argv[optind];
	return SUBCA_OK;
}

/* The reason name (RFC 5280 5.3.1) and the serial, checked as the API
 * checks them, so that both ways fail alike and before any change. */
static subca_result cli_revoke_check(struct cli_revoke_opts *o,
				     const char *serial)
{
	o->code = o->reason ? subca_view_reason_code(o->reason) : 0;
	if (o->code < 0) {
		subca_error_set(SUBCA_E_INVALID_ARGUMENT, __FILE__, __LINE__,
				"unknown revocation reason (RFC 5280 5.3.1)");
		subca_error_hint("one of unspecified, keyCompromise, "
				 "cACompromise, affiliationChanged, superseded, "
				 "cessationOfOperation, certificateHold, "
				 "privilegeWithdrawn, aACompromise");
		return SUBCA_E_INVALID_ARGUMENT;
	}
	SUBCA_ENSURE(subca_view_serial_norm(serial, o->serial,
					    sizeof(o->serial)),
		     SUBCA_E_NOT_FOUND, "no certificate with such a serial");
	return SUBCA_OK;
}

static subca_result cli_revoke_remote(struct cli *cli,
				      const struct cli_revoke_opts *o,
				      json_t **out)
{
	char esc[3 * SUBCA_MAX_LABEL + 1], path[sizeof(esc) + 192];
	json_t *body = NULL;

	SUBCA_TRY(cli_remote_escape(o->authority, esc, sizeof(esc)));
	snprintf(path, sizeof(path), "/authorities/%s/certificates/%s/revoke",
		 esc, o->serial);
	if (o->reason != NULL)
		body = json_pack("{s:s}", "reason", o->reason);
	return cli_remote_json(cli, "POST", path, body, out, NULL);
}

static subca_result cli_revoke_store(struct cli *cli, int64_t authority_id,
				     const struct cli_revoke_opts *o)
{
	struct subca_store *st = cli->store;
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->cert_revoke(st, authority_id, o->serial, o->code,
				  (int64_t)cli->ctx.now);
	if (rv == SUBCA_OK)
		rv = subca_audit(&cli->ctx, o->authority, "certificate.revoke",
				 "certificate %s revoked (%s)", o->serial,
				 subca_view_reason_name(o->code));
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}

/* Locally, the answer the API gives: {serial, revoked_at, reason,
 * already_revoked}. */
static subca_result cli_revoke_local(struct cli *cli,
				     const struct cli_revoke_opts *o,
				     json_t **out)
{
	struct subca_store *st = cli->store;
	struct subca_authority_rec a = {0};
	struct subca_cert_rec c = {0};
	bool already;
	subca_result rv;

	rv = st->ops->authority_get(st, o->authority, &a);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(SUBCA_E_NOT_FOUND, __FILE__, __LINE__,
				     "no authority named \"%s\"", o->authority);
	if (rv == SUBCA_OK) {
		rv = st->ops->cert_get(st, a.id, o->serial, &c);
		if (rv == SUBCA_E_NOT_FOUND)
			rv = subca_error_set(SUBCA_E_NOT_FOUND, __FILE__,
					     __LINE__,
					     "authority \"%s\" has no "
					     "certificate with serial %s",
					     a.name, o->serial);
	}
	already = rv == SUBCA_OK && c.revoked_at != 0;
	subca_cert_rec_cleanup(&c);
	if (rv == SUBCA_OK)
		rv = cli_revoke_store(cli, a.id, o);
	if (rv == SUBCA_OK)
		rv = st->ops->cert_get(st, a.id, o->serial, &c);
	if (rv == SUBCA_OK)
		*out = json_pack("{s:s, s:o, s:o, s:b}", "serial", c.serial,
				 "revoked_at", subca_view_time(c.revoked_at),
				 "reason",
				 subca_view_str(subca_view_reason_name(c.reason)),
				 "already_revoked", already);
	subca_cert_rec_cleanup(&c);
	subca_authority_rec_cleanup(&a);
	return rv;
}

static void cli_revoke_text(const json_t *r)
{
	const char *serial = cli_json_str(r, "serial", "?");
	const char *at = cli_json_str(r, "revoked_at", "?");
	const char *reason = cli_json_str(r, "reason", "unspecified");

	if (json_is_true(json_object_get(r, "already_revoked")))
		printf("certificate %s was already revoked at %s (%s); the "
		       "first revocation stands\n",
		       serial, at, reason);
	else
		printf("certificate %s revoked at %s (%s)\n", serial, at,
		       reason);
}

int cmd_revoke(struct cli *cli, int argc, char **argv)
{
	struct cli_revoke_opts o = {0};
	json_t *res = NULL;
	subca_result rv;

	rv = cli_revoke_parse(&o, argc, argv);
	if (rv == SUBCA_E_USAGE)
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (rv == SUBCA_OK)
		rv = cli_revoke_check(&o, argv[optind + 1]);
	if (rv == SUBCA_OK)
		rv = cli->server ? cli_revoke_remote(cli, &o, &res)
				 : cli_revoke_local(cli, &o, &res);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	if (o.json)
		return cli_print_json(res);
	cli_revoke_text(res);
	json_decref(res);
	return 0;
}
