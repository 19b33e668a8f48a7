/*
 * subca admin token create | list | revoke: credentials of the admin API.
 * A token is shown once, on stdout, when it is created; subca keeps only
 * its SHA-256 hash, so no later command can show it again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_remote.h"
#include "../server/views.h"
#include "subca/alloc.h"
#include "subca/credential.h"
#include "subca/limits.h"

static void cli_admin_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- create ------------------------------------------------------------ */

/* "a,b" as ["a", "b"]. */
static json_t *cli_scope_json(const char *scope)
{
	json_t *a = json_array();

	while (a != NULL && *scope != '\0') {
		size_t n = strcspn(scope, ",");

		json_array_append_new(a, json_stringn(scope, n));
		scope += n + (scope[n] == ',');
	}
	return a;
}

struct cli_token_opts {
	const char *authorities; /* "a,b" or NULL for a global token */
	const char *expires;	 /* "90d" or NULL for never */
	const char *description;
};

/* Remotely: GET the authority (NOT_FOUND as the local store says it). */
static subca_result cli_remote_authority_exists(struct cli *cli,
						const char *name)
{
	char esc[3 * SUBCA_MAX_LABEL + 1], path[sizeof(esc) + 32];
	json_t *res = NULL;

	SUBCA_TRY(cli_remote_escape(name, esc, sizeof(esc)));
	snprintf(path, sizeof(path), "/authorities/%s", esc);
	SUBCA_TRY(cli_remote_json(cli, "GET", path, NULL, &res, NULL));
	json_decref(res);
	return SUBCA_OK;
}

/* Every name of the scope is an existing authority; no name twice. */
static subca_result cli_scope_check(struct cli *cli, const char *scope)
{
	char buf[4096], *save = NULL;
	size_t n = strlen(scope);

	SUBCA_ENSURE(n > 0 && n < sizeof(buf), SUBCA_E_USAGE,
		     "--authorities must list 1 or more authority names "
		     "separated by commas");
	memcpy(buf, scope, n + 1);
	SUBCA_ENSURE(buf[0] != ',' && buf[n - 1] != ',' &&
			     strstr(buf, ",,") == NULL,
		     SUBCA_E_USAGE,
		     "--authorities has an empty name: \"%.64s\"", scope);
	for (char *name = strtok_r(buf, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		struct subca_authority_rec a;
		subca_result rv;
		char *rest = save;

		SUBCA_TRY(subca_label_validate("authority name", name));
		if (cli->server != NULL)
			rv = cli_remote_authority_exists(cli, name);
		else
			rv = cli->store->ops->authority_get(cli->store, name,
							    &a);
		if (rv == SUBCA_E_NOT_FOUND)
			SUBCA_BAIL(SUBCA_E_NOT_FOUND,
				   "no authority named \"%s\"", name);
		SUBCA_TRY(rv);
		if (cli->server == NULL)
			subca_authority_rec_cleanup(&a);
		SUBCA_ENSURE(rest == NULL || !subca_scope_allows(rest, name),
			     SUBCA_E_USAGE,
			     "--authorities names \"%s\" twice", name);
	}
	return SUBCA_OK;
}

static subca_result cli_token_rec(struct cli *cli,
				  const struct cli_token_opts *o,
				  struct subca_admin_token_rec *r)
{
	int64_t lifetime = 0;

	if (o->authorities != NULL)
		SUBCA_TRY(cli_scope_check(cli, o->authorities));
	if (o->expires != NULL) {
		if (subca_duration_parse(o->expires,
					 SUBCA_MAX_CREDENTIAL_LIFETIME,
					 &lifetime) != SUBCA_OK)
			SUBCA_BAIL(SUBCA_E_USAGE, "--expires: %s",
				   subca_error_reason());
	}
	SUBCA_ENSURE(o->description == NULL ||
			     strlen(o->description) <= SUBCA_MAX_DESCRIPTION,
		     SUBCA_E_USAGE, "--description is longer than %d characters",
		     SUBCA_MAX_DESCRIPTION);
	r->scope = (char *)o->authorities;
	r->description = (char *)(o->description ? o->description : "");
	r->created = (int64_t)cli->ctx.now;
	r->expires = lifetime ? (int64_t)cli->ctx.now + lifetime : 0;
	return SUBCA_OK;
}

/* Record the token's hash and an audit entry in one transaction. */
static subca_result cli_token_store(struct cli *cli,
				    struct subca_admin_token_rec *r)
{
	struct subca_store *st = cli->store;
	char exp[32];
	subca_result rv;

	cli_admin_time(r->expires, exp, sizeof(exp));
	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->admin_token_add(st, r);
	if (rv == SUBCA_OK)
		rv = subca_audit(&cli->ctx, NULL, "admin_token.create",
				 "admin token #%lld created (scope %s, "
				 "expires %s) \"%.64s\"",
				 (long long)r->id,
				 r->scope ? r->scope : "global",
				 r->expires ? exp : "never", r->description);
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}

/* POST /admin/v1/tokens with the options checked as locally; the secret
 * comes back once in the answer. */
static subca_result cli_token_create_remote(struct cli *cli,
					    const struct cli_token_opts *o,
					    char secret[SUBCA_CREDENTIAL_SIZE],
					    int64_t *id)
{
	json_t *body = json_object(), *res = NULL, *v;
	const char *tok;
	subca_result rv = SUBCA_OK;

	SUBCA_ENSURE(body != NULL, SUBCA_E_NOMEM, "out of memory");
	if (o->authorities != NULL)
		json_object_set_new(body, "authorities",
				    cli_scope_json(o->authorities));
	if (o->expires != NULL)
		json_object_set_new(body, "expires", json_string(o->expires));
	if (o->description != NULL)
		json_object_set_new(body, "description",
				    json_string(o->description));
	SUBCA_TRY(cli_remote_json(cli, "POST", "/tokens", body, &res, NULL));
	tok = cli_json_str(res, "token", NULL);
	v = json_object_get(res, "id");
	if (tok == NULL || strlen(tok) >= SUBCA_CREDENTIAL_SIZE ||
	    !json_is_integer(v))
		rv = subca_error_set(SUBCA_E_INTERNAL, __FILE__, __LINE__,
				     "the server's answer has no token");
	else {
		memcpy(secret, tok, strlen(tok) + 1);
		*id = (int64_t)json_integer_value(v);
	}
	if (tok != NULL)
		subca_wipe((void *)tok, strlen(tok));
	json_decref(res);
	return rv;
}

static subca_result cli_token_create(struct cli *cli,
				     const struct cli_token_opts *o,
				     char secret[SUBCA_CREDENTIAL_SIZE],
				     int64_t *id)
{
	struct subca_admin_token_rec r = {0};
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];

	SUBCA_TRY(cli_token_rec(cli, o, &r));
	if (cli->server != NULL)
		return cli_token_create_remote(cli, o, secret, id);
	SUBCA_TRY(subca_credential_generate(SUBCA_SECRET_ADMIN, secret));
	SUBCA_TRY(subca_credential_hash(secret, strlen(secret), hash));
	r.hash = hash;
	SUBCA_TRY(cli_token_store(cli, &r));
	*id = r.id;
	return SUBCA_OK;
}

static int cli_admin_token_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"authorities", required_argument, NULL, 'a'},
		{"expires", required_argument, NULL, 'e'},
		{"description", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct cli_token_opts o = {0};
	char secret[SUBCA_CREDENTIAL_SIZE] = "";
	int64_t id = 0;
	subca_result rv;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.authorities = optarg; break;
		case 'e': o.expires = optarg; break;
		case 'd': o.description = optarg; break;
		default: return cli_usage(cli_current, "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage(cli_current, "unexpected argument %s",
				 argv[optind]);
	rv = cli_token_create(cli, &o, secret, &id);
	if (rv != SUBCA_OK) {
		subca_wipe(secret, sizeof(secret));
		return rv == SUBCA_E_USAGE
			       ? cli_usage(cli_current, "%s", subca_error_reason())
			       : cli_fail(rv);
	}
	printf("%s\n", secret);
	fflush(stdout);
	subca_wipe(secret, sizeof(secret));
	fprintf(stderr,
		"subca: admin token #%lld created (%s%s). It is shown only "
		"this once: subca keeps its hash, not the token. Store it now.\n",
		(long long)id, o.authorities ? "authorities " : "global",
		o.authorities ? o.authorities : "");
	return 0;
}

/* ---- list -------------------------------------------------------------- */

/* One token (the view of views.h) as a text line. */
static void cli_token_text(const json_t *t)
{
	const json_t *auth = json_object_get(t, "authorities");
	char scope[(SUBCA_MAX_LABEL + 1) * SUBCA_MAX_NAMES + 1] = "(global)";
	size_t i, used = 0;
	json_t *it;

	if (json_is_array(auth)) {
		json_array_foreach(auth, i, it)
			used += (size_t)snprintf(scope + used, sizeof(scope) - used,
						 "%s%s", i ? "," : "",
						 json_string_value(it));
	}
	printf("%-5lld %-8s %-20s %-20s %-20s %s\n",
	       (long long)json_integer_value(json_object_get(t, "id")),
	       cli_json_str(t, "status", "-"), cli_json_str(t, "created", "-"),
	       cli_json_str(t, "expires", "never"), scope,
	       cli_json_str(t, "description", ""));
}

/* Every token as views.h shows it, from the store or GET /tokens. */
static subca_result cli_tokens(struct cli *cli, json_t **out)
{
	struct subca_admin_token_list l = {0};
	json_t *res = NULL, *arr;

	if (cli->server != NULL) {
		SUBCA_TRY(cli_remote_json(cli, "GET", "/tokens", NULL, &res,
					  NULL));
		arr = json_incref(json_object_get(res, "tokens"));
		json_decref(res);
		SUBCA_ENSURE(json_is_array(arr), SUBCA_E_INTERNAL,
			     "the server's token list has no \"tokens\"");
		*out = arr;
		return SUBCA_OK;
	}
	SUBCA_TRY(cli->store->ops->admin_token_list(cli->store, &l));
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < l.n; i++)
		json_array_append_new(arr, subca_view_admin_token(
						   &l.v[i], (int64_t)cli->ctx.now));
	subca_admin_token_list_cleanup(&l);
	SUBCA_ENSURE(arr != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = arr;
	return SUBCA_OK;
}

static int cli_admin_token_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	json_t *arr = NULL, *it;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage(cli_current, "unknown option");
		json = true;
	}
	if (optind != argc)
		return cli_usage(cli_current, "unexpected argument %s",
				 argv[optind]);
	if (cli_tokens(cli, &arr) != SUBCA_OK)
		return cli_fail(subca_error_code());
	if (json)
		return cli_print_json(arr);
	printf("%-5s %-8s %-20s %-20s %-20s %s\n", "ID", "STATUS", "CREATED",
	       "EXPIRES", "AUTHORITIES", "DESCRIPTION");
	json_array_foreach(arr, i, it)
		cli_token_text(it);
	json_decref(arr);
	return 0;
}

/* ---- revoke ------------------------------------------------------------ */

static subca_result cli_token_revoke(struct cli *cli, int64_t id)
{
	char path[64];
	json_t *res = NULL;

	if (cli->server != NULL) {
		snprintf(path, sizeof(path), "/tokens/%lld/revoke",
			 (long long)id);
		SUBCA_TRY(cli_remote_json(cli, "POST", path, NULL, &res, NULL));
		json_decref(res);
		return SUBCA_OK;
	}
	return subca_admin_token_revoke(&cli->ctx, id);
}

static int cli_admin_token_revoke(struct cli *cli, int argc, char **argv)
{
	char *end = NULL;
	long long id;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(cli_current, "expected one token ID");
	errno = 0;
	id = strtoll(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || id <= 0)
		return cli_usage(cli_current,
				 "token ID must be a positive number, not "
				 "\"%.32s\" (see `subca admin token list`)",
				 argv[1]);
	if (cli_token_revoke(cli, (int64_t)id) != SUBCA_OK)
		return cli_fail(subca_error_code());
	fprintf(stderr, "subca: admin token #%lld revoked\n", id);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

int cmd_admin_token(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli *cli, int argc, char **argv);
	} subs[] = {
		{"create", cli_admin_token_create},
		{"list", cli_admin_token_list},
		{"revoke", cli_admin_token_revoke},
	};

	for (size_t i = 0; argc > 1 && i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		return subs[i].run(cli, argc - 1, argv + 1);
	}
	return cli_usage(cli_current, "expected create, list or revoke");
}
