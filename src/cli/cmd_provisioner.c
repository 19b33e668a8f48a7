/*
 * subca provisioner add | list | remove: who may ask an authority for leaf
 * certificates, and under which policy.
 *
 * The policy is built here from flags as a struct subca_policy; storing
 * it (canonical JSON, schema in the README, "Provisioners and
 * credentials"), the JWK or the hash of a new API key, and the audit entry
 * are subca_provisioner_create's job, shared with the admin API. A jwk
 * provisioner's key may be given as a JWK (RFC 7517) or a PEM public key;
 * an apikey provisioner's key is printed once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli.h"
#include "cli_remote.h"
#include "../server/acme/acme.h"
#include "../server/jose.h"
#include "../server/provisioner.h"
#include "../server/views.h"
#include "subca/alloc.h"
#include "subca/credential.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"
#include "subca/policy.h"

/* ---- options ----------------------------------------------------------- */

struct cli_prov_opts {
	enum subca_provisioner_type type;
	bool have_type;
	const char *jwk_file;
	struct cli_list dns, ips, emails, uris;
	bool allow_any_name, allow_subject_attributes;
	int default_days, max_days;
	const char *key_types, *ekus;
	struct subca_acme_options acme; /* --type acme */
	bool acme_flags;
};

static subca_result cli_prov_type(const char *s, struct cli_prov_opts *o)
{
	SUBCA_ENSURE(strcmp(s, "jwk") == 0 || strcmp(s, "apikey") == 0 ||
			     strcmp(s, "acme") == 0,
		     SUBCA_E_USAGE,
		     "--type must be jwk, apikey or acme, not \"%.32s\"", s);
	o->have_type = true;
	return subca_provisioner_type_parse(s, &o->type);
}

static subca_result cli_prov_opt(int ch, const char *arg,
				 struct cli_prov_opts *o)
{
	switch (ch) {
	case 't': return cli_prov_type(arg, o);
	case 'j': o->jwk_file = arg; return SUBCA_OK;
	case 'd': return cli_list_add(&o->dns, "--allow-dns", arg);
	case 'i': return cli_list_add(&o->ips, "--allow-ip", arg);
	case 'e': return cli_list_add(&o->emails, "--allow-email", arg);
	case 'u': return cli_list_add(&o->uris, "--allow-uri", arg);
	case 'A': o->allow_any_name = true; return SUBCA_OK;
	case 'S': o->allow_subject_attributes = true; return SUBCA_OK;
	case 'D':
		return cli_parse_int("--default-days", arg, 1,
				     SUBCA_MAX_LEAF_DAYS, &o->default_days);
	case 'M':
		return cli_parse_int("--max-days", arg, 1, SUBCA_MAX_LEAF_DAYS,
				     &o->max_days);
	case 'k': o->key_types = arg; return SUBCA_OK;
	case 'x': o->ekus = arg; return SUBCA_OK;
	case 'E':
		o->acme.require_eab = true;
		o->acme_flags = true;
		return SUBCA_OK;
	case 'C':
		o->acme_flags = true;
		return subca_acme_challenges_parse(arg, &o->acme.challenges);
	default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
	}
}

/* Options in argv; positional arguments are left from optind on. */
static subca_result cli_prov_parse(int argc, char **argv,
				   struct cli_prov_opts *o)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, 't'},
		{"jwk", required_argument, NULL, 'j'},
		{"allow-dns", required_argument, NULL, 'd'},
		{"allow-ip", required_argument, NULL, 'i'},
		{"allow-email", required_argument, NULL, 'e'},
		{"allow-uri", required_argument, NULL, 'u'},
		{"allow-any-name", no_argument, NULL, 'A'},
		{"allow-subject-attributes", no_argument, NULL, 'S'},
		{"default-days", required_argument, NULL, 'D'},
		{"max-days", required_argument, NULL, 'M'},
		{"key-types", required_argument, NULL, 'k'},
		{"eku", required_argument, NULL, 'x'},
		{"require-eab", no_argument, NULL, 'E'},
		{"challenges", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		SUBCA_TRY(cli_prov_opt(ch, optarg, o));
	SUBCA_ENSURE(o->have_type, SUBCA_E_USAGE,
		     "--type jwk, --type apikey or --type acme is required");
	SUBCA_ENSURE(!o->acme_flags || o->type == SUBCA_PROV_ACME,
		     SUBCA_E_USAGE,
		     "--require-eab and --challenges are for --type acme");
	SUBCA_ENSURE((o->type == SUBCA_PROV_JWK) == (o->jwk_file != NULL),
		     SUBCA_E_USAGE,
		     o->jwk_file ? "--jwk is only for --type jwk"
				 : "--type jwk needs --jwk FILE (a public JWK "
				   "or a PEM public key)");
	return SUBCA_OK;
}

/* ---- policy ------------------------------------------------------------ */

/* Apply `fn` to each item of the comma-separated `list` of option `opt`. */
static subca_result cli_each(const char *opt, const char *list,
			     subca_result (*fn)(const char *item, unsigned *bits),
			     unsigned *bits)
{
	char buf[512], *save = NULL;
	size_t n = strlen(list);

	SUBCA_ENSURE(n > 0 && n < sizeof(buf), SUBCA_E_USAGE,
		     "%s must list 1 or more values separated by commas", opt);
	memcpy(buf, list, n + 1);
	SUBCA_ENSURE(buf[0] != ',' && buf[n - 1] != ',' &&
			     strstr(buf, ",,") == NULL,
		     SUBCA_E_USAGE, "%s has an empty value: \"%.64s\"", opt,
		     list);
	for (char *it = strtok_r(buf, ",", &save); it != NULL;
	     it = strtok_r(NULL, ",", &save))
		SUBCA_TRY(fn(it, bits));
	return SUBCA_OK;
}

static subca_result cli_key_type_bit(const char *item, unsigned *bits)
{
	enum subca_key_type t;

	SUBCA_TRY(subca_key_type_parse(item, &t));
	*bits |= SUBCA_POLICY_KEY(t);
	return SUBCA_OK;
}

static const struct {
	const char *name;
	unsigned bit;
} cli_ekus[] = {
	{"server", SUBCA_EKU_SERVER},
	{"client", SUBCA_EKU_CLIENT},
};

static subca_result cli_eku_bit(const char *item, unsigned *bits)
{
	for (size_t i = 0; i < sizeof(cli_ekus) / sizeof(cli_ekus[0]); i++) {
		if (strcmp(item, cli_ekus[i].name) == 0) {
			*bits |= cli_ekus[i].bit;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "unknown extended key usage \"%.32s\" (server or client)",
		   item);
}

static subca_result cli_policy_from(const struct cli_prov_opts *o,
				    struct subca_policy *p)
{
	bool any_list = o->dns.n || o->ips.n || o->emails.n || o->uris.n;

	memset(p, 0, sizeof(*p));
	SUBCA_ENSURE(any_list || o->allow_any_name, SUBCA_E_USAGE,
		     "say which names the provisioner may ask for: "
		     "--allow-dns, --allow-ip, --allow-email, --allow-uri, or "
		     "--allow-any-name (the intermediate's name constraints "
		     "still apply)");
	SUBCA_ENSURE(!(any_list && o->allow_any_name), SUBCA_E_USAGE,
		     "--allow-any-name cannot be combined with --allow-* lists");
	p->allow_all_names = o->allow_any_name;
	p->dns = cli_names(&o->dns);
	p->ips = cli_names(&o->ips);
	p->emails = cli_names(&o->emails);
	p->uris = cli_names(&o->uris);
	p->allow_subject_attributes = o->allow_subject_attributes;
	p->default_days = o->default_days;
	p->max_days = o->max_days;
	if (o->key_types != NULL)
		SUBCA_TRY(cli_each("--key-types", o->key_types,
				   cli_key_type_bit, &p->key_types));
	if (o->ekus != NULL)
		SUBCA_TRY(cli_each("--eku", o->ekus, cli_eku_bit, &p->ekus));
	return subca_policy_validate(p);
}

/* ---- JWK ---------------------------------------------------------------- */

/* The public key in a PEM file (SubjectPublicKeyInfo). */
static subca_result cli_pem_pubkey(const struct subca_buf *in, EVP_PKEY **out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new_mem_buf(in->p, (int)in->len);

	SUBCA_ENSURE(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	SUBCA_OSSL(*out != NULL, SUBCA_E_GARBAGE,
		   "--jwk file is neither a JWK (JSON) nor a PEM public key");
	return SUBCA_OK;
}

/*
 * Read --jwk FILE (a public JWK or a PEM public key) and check the key
 * fully (the JWK parser validates points, sizes and refuses private
 * members); subca_provisioner_create stores it in the canonical RFC 7638
 * form.
 */
static subca_result cli_jwk_load(const char *path, EVP_PKEY **out)
{
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	size_t skip = 0;

	*out = NULL;
	SUBCA_TRY(subca_file_read(path, SUBCA_MAX_JWK_INPUT, &in));
	SUBCA_ENSURE(memmem(in.p, in.len, "PRIVATE KEY", 11) == NULL,
		     SUBCA_E_PRIVATE_KEY,
		     "--jwk file %s holds a private key; give the public key "
		     "(openssl pkey -in KEY -pubout)",
		     path);
	while (skip < in.len && strchr(" \t\r\n", in.p[skip]) != NULL &&
	       in.p[skip] != '\0')
		skip++;
	if (skip < in.len && in.p[skip] == '{')
		return subca_jwk_parse(subca_buf_slice(&in), out);
	return cli_pem_pubkey(&in, out);
}

/* ---- add ---------------------------------------------------------------- */

static subca_result cli_prov_add_to(struct cli *cli,
				    const struct subca_authority_rec *a,
				    const char *name,
				    const struct cli_prov_opts *o,
				    char key[SUBCA_CREDENTIAL_SIZE])
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *jwk = NULL;
	struct subca_policy p;
	struct subca_provisioner_spec spec = {
		.name = name, .type = o->type, .policy = &p, .acme = &o->acme};

	SUBCA_TRY(subca_label_validate("provisioner name", name));
	SUBCA_TRY(cli_policy_from(o, &p));
	if (o->type == SUBCA_PROV_JWK)
		SUBCA_TRY(cli_jwk_load(o->jwk_file, &jwk));
	spec.jwk = jwk;
	return subca_provisioner_create(&cli->ctx, a, &spec, key);
}

/* The request of POST .../provisioners from the same options: the policy
 * as the README's JSON, a --jwk file as its public JWK object. */
static subca_result cli_prov_body(const char *name,
				  const struct cli_prov_opts *o, json_t **out)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *jwk = NULL;
	struct subca_policy p;
	json_t *body, *pj, *j = NULL;

	*out = NULL;
	SUBCA_TRY(subca_label_validate("provisioner name", name));
	SUBCA_TRY(cli_policy_from(o, &p));
	if (o->type == SUBCA_PROV_JWK) {
		SUBCA_TRY(cli_jwk_load(o->jwk_file, &jwk));
		SUBCA_TRY(subca_jwk_to_json(jwk, &j));
	}
	pj = subca_policy_to_json(&p);
	body = json_pack("{s:s, s:s, s:o}", "name", name, "type",
			 subca_provisioner_type_name(o->type), "policy", pj);
	if (body == NULL) {
		json_decref(j);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	if (j != NULL && json_object_set_new(body, "jwk", j) != 0) {
		json_decref(body);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	if (o->type == SUBCA_PROV_ACME) {
		char *text = NULL;
		json_t *acme;

		if (subca_acme_options_text(&o->acme, &text) != SUBCA_OK) {
			json_decref(body);
			return subca_error_code();
		}
		acme = json_loads(text, 0, NULL);
		subca_free(text);
		if (acme == NULL ||
		    json_object_set_new(body, "acme", acme) != 0) {
			json_decref(body);
			SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
		}
	}
	*out = body;
	return SUBCA_OK;
}

static subca_result cli_prov_add_remote(struct cli *cli,
					const char *authority,
					const char *name,
					const struct cli_prov_opts *o,
					char key[SUBCA_CREDENTIAL_SIZE])
{
	char esc[3 * SUBCA_MAX_LABEL + 1], path[sizeof(esc) + 64];
	json_t *body = NULL, *res = NULL;
	const char *k;
	subca_result rv;

	SUBCA_TRY(subca_label_validate("authority name", authority));
	SUBCA_TRY(cli_prov_body(name, o, &body));
	SUBCA_TRY(cli_remote_escape(authority, esc, sizeof(esc)));
	snprintf(path, sizeof(path), "/authorities/%s/provisioners", esc);
	SUBCA_TRY(cli_remote_json(cli, "POST", path, body, &res, NULL));
	k = cli_json_str(res, "api_key", NULL);
	rv = SUBCA_OK;
	if (o->type == SUBCA_PROV_APIKEY) {
		if (k == NULL || strlen(k) >= SUBCA_CREDENTIAL_SIZE)
			rv = subca_error_set(SUBCA_E_INTERNAL, __FILE__,
					     __LINE__,
					     "the server's answer has no API "
					     "key");
		else
			memcpy(key, k, strlen(k) + 1);
	}
	if (k != NULL)
		subca_wipe((void *)k, strlen(k));
	json_decref(res);
	return rv;
}

static subca_result cli_prov_add(struct cli *cli, const char *authority,
				 const char *name,
				 const struct cli_prov_opts *o,
				 char key[SUBCA_CREDENTIAL_SIZE])
{
	struct subca_authority_rec a = {0};
	subca_result rv;

	if (cli->server != NULL)
		return cli_prov_add_remote(cli, authority, name, o, key);
	SUBCA_TRY(subca_authority_get(&cli->ctx, authority, &a));
	rv = cli_prov_add_to(cli, &a, name, o, key);
	subca_authority_rec_cleanup(&a);
	return rv;
}

int cmd_provisioner_add(struct cli *cli, int argc, char **argv)
{
	struct cli_prov_opts o = {0};
	char key[SUBCA_CREDENTIAL_SIZE] = "";
	subca_result rv = cli_prov_parse(argc, argv, &o);

	if (rv == SUBCA_OK && optind + 2 != argc)
		return cli_usage(cli_current, "expected AUTHORITY and NAME");
	if (rv == SUBCA_OK)
		rv = cli_prov_add(cli, argv[optind], argv[optind + 1], &o, key);
	if (rv != SUBCA_OK)
		return rv == SUBCA_E_USAGE
			       ? cli_usage(cli_current, "%s", subca_error_reason())
			       : cli_fail(rv);
	if (o.type == SUBCA_PROV_APIKEY) {
		printf("%s\n", key);
		fflush(stdout);
		fprintf(stderr,
			"subca: provisioner \"%s\" added to \"%s\". Its API key "
			"is shown only this once: subca keeps its hash, not "
			"the key. Store it now.\n",
			argv[optind + 1], argv[optind]);
	} else {
		fprintf(stderr, "subca: provisioner \"%s\" (%s) added to \"%s\"\n",
			argv[optind + 1], subca_provisioner_type_name(o.type),
			argv[optind]);
	}
	subca_wipe(key, sizeof(key));
	return 0;
}

/* ---- list --------------------------------------------------------------- */

/* The same view (subca_view_provisioner) from the API; the text form shows
 * the policy compact, as the store keeps it. */
static int cli_prov_list_remote(struct cli *cli, const char *authority,
				bool json)
{
	char esc[3 * SUBCA_MAX_LABEL + 1], path[sizeof(esc) + 64];
	json_t *res = NULL, *arr, *it;
	size_t i;

	if (subca_label_validate("authority name", authority) != SUBCA_OK ||
	    cli_remote_escape(authority, esc, sizeof(esc)) != SUBCA_OK)
		return cli_fail(subca_error_code());
	snprintf(path, sizeof(path), "/authorities/%s/provisioners", esc);
	if (cli_remote_json(cli, "GET", path, NULL, &res, NULL) != SUBCA_OK)
		return cli_fail(subca_error_code());
	arr = json_object_get(res, "provisioners");
	if (!json_is_array(arr)) {
		json_decref(res);
		return cli_fail(subca_error_set(SUBCA_E_INTERNAL, __FILE__,
						__LINE__,
						"the server's answer has no "
						"provisioners"));
	}
	if (json) {
		json_incref(arr);
		json_decref(res);
		return cli_print_json(arr);
	}
	printf("%-24s %-7s %s\n", "NAME", "TYPE", "POLICY");
	json_array_foreach(arr, i, it) {
		json_t *pol = json_object_get(it, "policy");
		char *text = json_is_string(pol)
				     ? strdup(json_string_value(pol))
				     : json_dumps(pol, JSON_COMPACT |
							       JSON_PRESERVE_ORDER);

		printf("%-24s %-7s %s\n", cli_json_str(it, "name", ""),
		       cli_json_str(it, "type", ""), text ? text : "");
		free(text);
	}
	json_decref(res);
	return 0;
}

int cmd_provisioner_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct subca_provisioner_list l = {0};
	struct subca_authority_rec a = {0};
	bool json = false;
	int64_t aid;
	json_t *arr;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage(cli_current, "unknown option");
		json = true;
	}
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one AUTHORITY");
	if (cli->server != NULL)
		return cli_prov_list_remote(cli, argv[optind], json);
	if (subca_authority_get(&cli->ctx, argv[optind], &a) != SUBCA_OK)
		return cli_fail(subca_error_code());
	aid = a.id;
	subca_authority_rec_cleanup(&a);
	if (cli->store->ops->provisioner_list(cli->store, aid, &l) != SUBCA_OK)
		return cli_fail(subca_error_code());
	arr = json_array();
	if (!json)
		printf("%-24s %-7s %s\n", "NAME", "TYPE", "POLICY");
	for (size_t i = 0; i < l.n; i++) {
		if (json)
			json_array_append_new(arr, subca_view_provisioner(&l.v[i]));
		else
			printf("%-24s %-7s %s\n", l.v[i].name,
			       subca_provisioner_type_name(l.v[i].type),
			       l.v[i].policy);
	}
	subca_provisioner_list_cleanup(&l);
	if (json)
		return cli_print_json(arr);
	json_decref(arr);
	return 0;
}

/* ---- remove ------------------------------------------------------------- */

static subca_result cli_prov_remove(struct cli *cli, const char *authority,
				    const char *name)
{
	char esc[3 * SUBCA_MAX_LABEL + 1], pesc[sizeof(esc)];
	char path[2 * sizeof(esc) + 64];
	struct subca_authority_rec a = {0};
	json_t *res = NULL;
	subca_result rv;

	if (cli->server != NULL) {
		SUBCA_TRY(subca_label_validate("authority name", authority));
		SUBCA_TRY(cli_remote_escape(authority, esc, sizeof(esc)));
		SUBCA_TRY(cli_remote_escape(name, pesc, sizeof(pesc)));
		snprintf(path, sizeof(path),
			 "/authorities/%s/provisioners/%s", esc, pesc);
		SUBCA_TRY(cli_remote_json(cli, "DELETE", path, NULL, &res,
					  NULL));
		json_decref(res);
		return SUBCA_OK;
	}
	SUBCA_TRY(subca_authority_get(&cli->ctx, authority, &a));
	rv = subca_provisioner_delete(&cli->ctx, &a, name);
	subca_authority_rec_cleanup(&a);
	return rv;
}

int cmd_provisioner_remove(struct cli *cli, int argc, char **argv)
{
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return cli_usage(cli_current, "expected AUTHORITY and NAME");
	if (cli_prov_remove(cli, argv[1], argv[2]) != SUBCA_OK)
		return cli_fail(subca_error_code());
	fprintf(stderr, "subca: provisioner \"%s\" removed from \"%s\"\n",
		argv[2], argv[1]);
	return 0;
}
