/*
 * The sign API through struct subca_request and the central pipeline: the
 * stored policy JSON, provisioner authentication (API keys and one-time
 * tokens), POST /sign refusals, and POST /revoke.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "helpers.h"
#include "helpers/authority_fx.h"
#include "subca/alloc.h"
#include "subca/authority.h"
#include "subca/keystore_soft.h"
#include "subca/ossl.h"
#include "subca/store_sqlite.h"
#include "subca/credential.h"
#include "../../src/server/sign_int.h"

/* ---- policy JSON ---------------------------------------------------------- */

static subca_result pj(const char *text, struct subca_policy_json *out)
{
	return subca_policy_json_parse(subca_slice_of(text, strlen(text)), out);
}

static void test_policy_json_reads_the_readme_schema(void **state)
{
	struct subca_policy_json p;

	(void)state;
	assert_int_equal(pj("{\"version\":1,\"allow_all_names\":false,"
			    "\"dns\":[\"*.example.com\"],\"ips\":[\"10.0.0.0/8\"],"
			    "\"emails\":[\"@example.com\"],"
			    "\"uris\":[\"spiffe://example.org/\"],"
			    "\"allow_subject_attributes\":false,"
			    "\"default_days\":7,\"max_days\":30,"
			    "\"key_types\":[\"ec-p256\",\"rsa-2048\"],"
			    "\"min_rsa_bits\":0,\"ekus\":[\"server\",\"client\"]}",
			    &p),
			 SUBCA_OK);
	assert_int_equal(p.policy.dns.n, 1);
	assert_string_equal(p.policy.dns.v[0], "*.example.com");
	assert_string_equal(p.policy.uris.v[0], "spiffe://example.org/");
	assert_int_equal(p.policy.default_days, 7);
	assert_int_equal(p.policy.max_days, 30);
	assert_int_equal(p.policy.key_types,
			 SUBCA_POLICY_KEY(SUBCA_KEY_EC_P256) |
				 SUBCA_POLICY_KEY(SUBCA_KEY_RSA_2048));
	assert_int_equal(p.policy.ekus, SUBCA_EKU_ALL);
	subca_policy_json_cleanup(&p);
	assert_int_equal(pj("{\"version\":1,\"allow_all_names\":true}", &p),
			 SUBCA_OK);
	assert_true(p.policy.allow_all_names);
	subca_policy_json_cleanup(&p);
}

static void test_policy_json_refuses_what_it_does_not_know(void **state)
{
	static const struct {
		const char *text;
		subca_result code;
		const char *why;
	} bad[] = {
		{"{\"dns\":[\"a.example\"]}", SUBCA_E_INVALID_ARGUMENT, "version"},
		{"{\"version\":2}", SUBCA_E_INVALID_ARGUMENT, "outside 1..1"},
		{"{\"version\":1,\"colour\":1}", SUBCA_E_INVALID_ARGUMENT, "unknown policy member \"colour\""},
		{"{\"version\":1,\"dns\":\"a.example\"}", SUBCA_E_INVALID_ARGUMENT, "list of strings"},
		{"{\"version\":1,\"dns\":[1]}", SUBCA_E_INVALID_ARGUMENT, "entry 0"},
		{"{\"version\":1,\"dns\":[\"a.example\",\"a.example\"]}", SUBCA_E_INVALID_ARGUMENT, "twice"},
		{"{\"version\":1,\"allow_all_names\":1}", SUBCA_E_INVALID_ARGUMENT, "true or false"},
		{"{\"version\":1,\"max_days\":3661}", SUBCA_E_INVALID_ARGUMENT, "max_days"},
		{"{\"version\":1,\"max_days\":\"30\"}", SUBCA_E_INVALID_ARGUMENT, "integer"},
		{"{\"version\":1,\"key_types\":[\"dsa\"]}", SUBCA_E_INVALID_ARGUMENT, "unknown key type"},
		{"{\"version\":1,\"ekus\":[\"codesign\"]}", SUBCA_E_INVALID_ARGUMENT, "server or client"},
		{"{\"version\":1,\"version\":1}", SUBCA_E_INVALID_ARGUMENT, "not JSON"},
		{"[1]", SUBCA_E_INVALID_ARGUMENT, "object"},
		{"{\"version\":1,\"dns\":[\"bad..name\"]}", SUBCA_E_INVALID_ARGUMENT, ""},
		{"{\"version\":1,\"default_days\":40,\"max_days\":30}", SUBCA_E_INVALID_ARGUMENT, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct subca_policy_json p;

		th_assert_error(pj(bad[i].text, &p), bad[i].code, bad[i].why);
		subca_policy_json_cleanup(&p);
	}
}

static char *names_policy(size_t n)
{
	char *s = malloc(64 + n * 32);
	size_t len = (size_t)sprintf(s, "{\"version\":1,\"dns\":[");

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%s\"h%zu.example\"",
				       i ? "," : "", i);
	strcpy(s + len, "]}");
	return s;
}

static void test_policy_json_caps_names_and_size_at_the_limit(void **state)
{
	struct subca_policy_json p;
	char *s = names_policy(SUBCA_MAX_NAMES);
	char *big;

	(void)state;
	assert_int_equal(pj(s, &p), SUBCA_OK);
	assert_int_equal(p.policy.dns.n, SUBCA_MAX_NAMES);
	subca_policy_json_cleanup(&p);
	free(s);
	s = names_policy(SUBCA_MAX_NAMES + 1);
	th_assert_error(pj(s, &p), SUBCA_E_TOO_LARGE, "over the limit of 64");
	subca_policy_json_cleanup(&p);
	free(s);
	/* exactly SUBCA_MAX_POLICY bytes (padded with spaces) parses */
	big = malloc(SUBCA_MAX_POLICY + 2);
	memset(big, ' ', SUBCA_MAX_POLICY + 1);
	memcpy(big, "{\"version\":1}", 13);
	assert_int_equal(subca_policy_json_parse(subca_slice_of(big, SUBCA_MAX_POLICY), &p),
			 SUBCA_OK);
	subca_policy_json_cleanup(&p);
	th_assert_error(subca_policy_json_parse(
				subca_slice_of(big, SUBCA_MAX_POLICY + 1), &p),
			SUBCA_E_TOO_LARGE, "over the limit");
	subca_policy_json_cleanup(&p);
	free(big);
}

static void test_policy_json_survives_truncations_and_bit_flips(void **state)
{
	const char *text = "{\"version\":1,\"dns\":[\".example.com\"],"
			   "\"ips\":[\"10.0.0.0/8\"],\"max_days\":30,"
			   "\"key_types\":[\"ec-p256\"],\"ekus\":[\"server\"]}";
	size_t n = strlen(text);
	char buf[256];

	(void)state;
	for (size_t cut = 0; cut < n; cut++) {
		struct subca_policy_json p;
		subca_result rv = subca_policy_json_parse(subca_slice_of(text, cut), &p);

		assert_int_not_equal(rv, SUBCA_OK);
		subca_policy_json_cleanup(&p);
	}
	for (size_t i = 0; i < n * 8; i++) {
		struct subca_policy_json p;
		subca_result rv;

		memcpy(buf, text, n);
		buf[i / 8] ^= (char)(1u << (i % 8));
		rv = subca_policy_json_parse(subca_slice_of(buf, n), &p);
		assert_true(rv == SUBCA_OK || rv == SUBCA_E_INVALID_ARGUMENT ||
			    rv == SUBCA_E_TOO_LARGE);
		subca_policy_json_cleanup(&p);
	}
}

/* ---- request bodies ------------------------------------------------------- */

enum bp_kind { BP_SIGN, BP_RENEW, BP_REVOKE };

/*
 * A /sign body the provisioner check has parsed already (the parse /sign
 * then skips) gives the same answer, with the same reason, as parsing it
 * from the bytes; `rv` is that answer.
 */
static void bp_same_from_json(const char *text, size_t len, subca_result rv)
{
	json_t *j;
	struct subca__sign_body b;
	char why[SUBCA_ERROR_REASON_MAX];

	if (len > SUBCA_MAX_REQUEST_BODY)
		return; /* the pipeline refuses it before any check */
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return; /* the provisioner check refuses it first */
	snprintf(why, sizeof(why), "%s", subca_error_reason());
	assert_int_equal(subca__sign_body_json(j, &b), rv);
	if (rv != SUBCA_OK)
		assert_string_equal(subca_error_reason(), why);
	subca__sign_body_cleanup(&b);
	json_decref(j);
}

static subca_result bp(enum bp_kind k, const char *text, size_t len)
{
	struct subca_slice in = subca_slice_of(text, len);
	subca_result rv;

	if (k == BP_REVOKE) {
		struct subca__revoke_body b;

		rv = subca__revoke_body_parse(in, &b);
		subca__revoke_body_cleanup(&b);
	} else {
		struct subca__sign_body b;

		rv = k == BP_SIGN ? subca__sign_body_parse(in, &b)
				  : subca__renew_body_parse(in, &b);
		subca__sign_body_cleanup(&b);
		if (k == BP_SIGN)
			bp_same_from_json(text, len, rv);
	}
	return rv;
}

static void test_sign_body_parse_reads_typed_members(void **state)
{
	struct subca__sign_body b;
	struct subca__revoke_body r;
	const char *s = "{\"csr\":\"PEM\",\"token\":\"a.b.c\",\"days\":30}";

	(void)state;
	assert_int_equal(subca__sign_body_parse(subca_slice_of(s, strlen(s)), &b),
			 SUBCA_OK);
	assert_string_equal(b.csr, "PEM");
	assert_int_equal(b.csr_len, 3);
	assert_string_equal(b.token, "a.b.c");
	assert_int_equal(b.days, 30);
	subca__sign_body_cleanup(&b);
	assert_null(b.csr);
	/* /renew: an empty body is {} and every member is optional */
	assert_int_equal(subca__renew_body_parse(subca_slice_of("", 0), &b),
			 SUBCA_OK);
	assert_null(b.csr);
	assert_int_equal(b.days, 0);
	subca__sign_body_cleanup(&b);
	/* /revoke: the serial as the store keys it, the reason's number */
	s = "{\"serial\":\"000A0b\",\"reason\":\"superseded\",\"token\":\"t\"}";
	assert_int_equal(subca__revoke_body_parse(subca_slice_of(s, strlen(s)), &r),
			 SUBCA_OK);
	assert_string_equal(r.serial, "a0b");
	assert_int_equal(r.reason, 4);
	assert_string_equal(r.token, "t");
	subca__revoke_body_cleanup(&r);
	s = "{\"serial\":\"0\"}";
	assert_int_equal(subca__revoke_body_parse(subca_slice_of(s, strlen(s)), &r),
			 SUBCA_OK);
	assert_string_equal(r.serial, "0");
	assert_int_equal(r.reason, 0);
	assert_null(r.token);
	subca__revoke_body_cleanup(&r);
	assert_string_equal(subca__revoke_reason_name(1), "keyCompromise");
	assert_string_equal(subca__revoke_reason_name(7), "unspecified");
	assert_string_equal(subca__revoke_reason_name(99), "unspecified");
}

static void test_sign_body_parse_refusals_name_the_member(void **state)
{
	static const struct {
		enum bp_kind k;
		const char *text;
		subca_result code;
		const char *why;
	} bad[] = {
		{BP_SIGN, "{\"csr\":", SUBCA_E_INVALID_ARGUMENT, "is not JSON"},
		{BP_SIGN, "{\"csr\":\"\xc3\x28\"}", SUBCA_E_INVALID_ARGUMENT, "is not JSON"},
		{BP_SIGN, "{\"csr\":\"a\",\"csr\":\"b\"}", SUBCA_E_INVALID_ARGUMENT, "duplicate"},
		{BP_SIGN, "{\"serial\":\"ab\"} {}", SUBCA_E_INVALID_ARGUMENT, "is not JSON"},
		{BP_SIGN, "[{\"csr\":\"x\"}]", SUBCA_E_INVALID_ARGUMENT, "must be a JSON object"},
		{BP_SIGN, "\"x\"", SUBCA_E_INVALID_ARGUMENT, "is not JSON"},
		{BP_SIGN, "{}", SUBCA_E_INVALID_ARGUMENT, "needs \"csr\""},
		{BP_SIGN, "", SUBCA_E_INVALID_ARGUMENT, "needs \"csr\""},
		{BP_SIGN, "{\"csr\":\"x\",\"colour\":1}", SUBCA_E_INVALID_ARGUMENT, "unknown member \"colour\""},
		{BP_SIGN, "{\"csr\":\"x\",\"serial\":\"1\"}", SUBCA_E_INVALID_ARGUMENT, "unknown member \"serial\""},
		{BP_SIGN, "{\"csr\":1}", SUBCA_E_INVALID_ARGUMENT, "\"csr\" must be a string holding a PEM CSR"},
		{BP_SIGN, "{\"csr\":{\"csr\":\"x\"}}", SUBCA_E_INVALID_ARGUMENT, "\"csr\" must be a string"},
		{BP_SIGN, "{\"csr\":null}", SUBCA_E_INVALID_ARGUMENT, "\"csr\" must be a string"},
		{BP_SIGN, "{\"csr\":\"a\\u0000b\"}", SUBCA_E_INVALID_ARGUMENT, "\\u0000 is not allowed"},
		{BP_SIGN, "{\"csr\":\"x\",\"token\":[\"t\"]}", SUBCA_E_INVALID_ARGUMENT, "\"token\" must be a string holding a sign token"},
		{BP_SIGN, "{\"csr\":\"x\",\"token\":\"a\\u0000\"}", SUBCA_E_INVALID_ARGUMENT, "\\u0000 is not allowed"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":\"30\"}", SUBCA_E_INVALID_ARGUMENT, "\"days\" must be a positive integer"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":30.0}", SUBCA_E_INVALID_ARGUMENT, "\"days\" must be a positive integer"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":true}", SUBCA_E_INVALID_ARGUMENT, "\"days\" must be a positive integer"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":0}", SUBCA_E_INVALID_ARGUMENT, "\"days\" must be a positive integer"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":-1}", SUBCA_E_INVALID_ARGUMENT, "\"days\" must be a positive integer"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":123456789012345678901234567890}", SUBCA_E_INVALID_ARGUMENT, "is not JSON"},
		{BP_SIGN, "{\"csr\":\"x\",\"days\":1e999}", SUBCA_E_INVALID_ARGUMENT, "is not JSON"},
		{BP_RENEW, "{\"token\":\"t\"}", SUBCA_E_INVALID_ARGUMENT, "unknown member \"token\""},
		{BP_RENEW, "{\"csr\":[]}", SUBCA_E_INVALID_ARGUMENT, "\"csr\" must be a string"},
		{BP_RENEW, "{\"days\":{}}", SUBCA_E_INVALID_ARGUMENT, "\"days\" must be a positive integer"},
		{BP_RENEW, "[null]", SUBCA_E_INVALID_ARGUMENT, "must be a JSON object"},
		{BP_REVOKE, "{}", SUBCA_E_INVALID_ARGUMENT, "needs \"serial\""},
		{BP_REVOKE, "", SUBCA_E_INVALID_ARGUMENT, "needs \"serial\""},
		{BP_REVOKE, "{\"serial\":12}", SUBCA_E_INVALID_ARGUMENT, "needs \"serial\""},
		{BP_REVOKE, "{\"serial\":\"\"}", SUBCA_E_INVALID_ARGUMENT, "\"serial\" is empty"},
		{BP_REVOKE, "{\"serial\":\"12g\"}", SUBCA_E_INVALID_ARGUMENT, "at most 64 hex digits"},
		{BP_REVOKE, "{\"serial\":\"1\\u0000\"}", SUBCA_E_INVALID_ARGUMENT, "\\u0000 is not allowed"},
		{BP_REVOKE, "{\"serial\":\"1\",\"csr\":\"x\"}", SUBCA_E_INVALID_ARGUMENT, "unknown member \"csr\""},
		{BP_REVOKE, "{\"serial\":\"1\",\"reason\":\"removeFromCRL\"}", SUBCA_E_INVALID_ARGUMENT, "RFC 5280 5.3.1"},
		{BP_REVOKE, "{\"serial\":\"1\",\"reason\":\"KeyCompromise\"}", SUBCA_E_INVALID_ARGUMENT, "RFC 5280 5.3.1"},
		{BP_REVOKE, "{\"serial\":\"1\",\"reason\":1}", SUBCA_E_INVALID_ARGUMENT, "RFC 5280 5.3.1"},
		{BP_REVOKE, "{\"serial\":\"1\",\"token\":7}", SUBCA_E_INVALID_ARGUMENT, "\"token\" must be a string"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		subca_result rv = bp(bad[i].k, bad[i].text, strlen(bad[i].text));

		if (rv != bad[i].code)
			print_error("case %zu: %s\n", i, subca_error_reason());
		th_assert_error(rv, bad[i].code, bad[i].why);
	}
}

/* {"csr":"x","token":"aaa...",<pad>} of exactly `total` bytes */
static char *padded_body(size_t token_len, size_t total)
{
	char *s = malloc(total + 1);
	size_t n = (size_t)sprintf(s, "{\"csr\":\"x\",\"token\":\"");

	memset(s + n, 'a', token_len);
	n += token_len;
	s[n++] = '"';
	assert_true(n + 1 <= total);
	memset(s + n, ' ', total - n - 1);
	s[total - 1] = '}';
	s[total] = '\0';
	return s;
}

static void test_sign_body_caps_hold_at_the_limit_and_refuse_one_past(void **state)
{
	char serial[128], b[256];
	char *s;

	(void)state;
	/* the body: SUBCA_MAX_REQUEST_BODY bytes */
	s = padded_body(1, SUBCA_MAX_REQUEST_BODY);
	assert_int_equal(bp(BP_SIGN, s, strlen(s)), SUBCA_OK);
	free(s);
	s = padded_body(1, SUBCA_MAX_REQUEST_BODY + 1);
	th_assert_error(bp(BP_SIGN, s, strlen(s)), SUBCA_E_TOO_LARGE,
			"over the limit of 65536");
	free(s);
	/* the token: SUBCA_MAX_JWS bytes */
	s = padded_body(SUBCA_MAX_JWS, SUBCA_MAX_JWS + 64);
	assert_int_equal(bp(BP_SIGN, s, strlen(s)), SUBCA_OK);
	free(s);
	s = padded_body(SUBCA_MAX_JWS + 1, SUBCA_MAX_JWS + 64);
	th_assert_error(bp(BP_SIGN, s, strlen(s)), SUBCA_E_TOO_LARGE,
			"\"token\" is 8193 bytes, over the limit of 8192");
	free(s);
	/* days */
	snprintf(b, sizeof(b), "{\"csr\":\"x\",\"days\":%d}", SUBCA_SIGN_DAYS_MAX);
	assert_int_equal(bp(BP_RENEW, b, strlen(b)), SUBCA_OK);
	snprintf(b, sizeof(b), "{\"csr\":\"x\",\"days\":%d}", SUBCA_SIGN_DAYS_MAX + 1);
	th_assert_error(bp(BP_SIGN, b, strlen(b)), SUBCA_E_INVALID_ARGUMENT,
			"at most 100000");
	/* the serial: 64 hex digits (leading zeros do not count) */
	memset(serial, 'f', SUBCA_SIGN_SERIAL_MAX);
	serial[SUBCA_SIGN_SERIAL_MAX] = '\0';
	snprintf(b, sizeof(b), "{\"serial\":\"000%s\"}", serial);
	assert_int_equal(bp(BP_REVOKE, b, strlen(b)), SUBCA_OK);
	snprintf(b, sizeof(b), "{\"serial\":\"%sf\"}", serial);
	th_assert_error(bp(BP_REVOKE, b, strlen(b)), SUBCA_E_INVALID_ARGUMENT,
			"at most 64 hex digits");
}

static void test_sign_body_parse_survives_truncations_and_bit_flips(void **state)
{
	const char *texts[] = {
		"{\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\",\"token\":"
		"\"a.b.c\",\"days\":30}",
		"{\"serial\":\"0a1B\",\"reason\":\"keyCompromise\",\"token\":\"t\"}",
	};
	char buf[256];

	(void)state;
	for (size_t t = 0; t < 2; t++) {
		size_t n = strlen(texts[t]);

		for (size_t cut = 0; cut < n; cut++)
			for (int k = BP_SIGN; k <= BP_REVOKE; k++) {
				subca_result rv = bp((enum bp_kind)k, texts[t], cut);

				assert_true(rv == SUBCA_OK ||
					    rv == SUBCA_E_INVALID_ARGUMENT);
				/* only the empty body parses, as /renew's {} */
				assert_true(rv != SUBCA_OK ||
					    (cut == 0 && k == BP_RENEW));
			}
		for (size_t i = 0; i < n * 8; i++) {
			memcpy(buf, texts[t], n);
			buf[i / 8] ^= (char)(1u << (i % 8));
			for (int k = BP_SIGN; k <= BP_REVOKE; k++) {
				subca_result rv = bp((enum bp_kind)k, buf, n);

				assert_true(rv == SUBCA_OK ||
					    rv == SUBCA_E_INVALID_ARGUMENT);
			}
		}
	}
}

/* ---- fixture: authority demo (subdomain dm) and other, provisioners ------ */

#define HOST "ca.test:8443"
#define AUD "https://ca.test:8443/a/demo/sign"

struct fx {
	char *dir;
	struct subca_store *store;
	struct subca_keystore *keys;
	struct subca_server_env env;
	EVP_PKEY *prov_key, *evil_key;
	char apikey[SUBCA_CREDENTIAL_SIZE];
	const char *hdr_auth, *hdr_accept;
};

static struct fx *cur;

static const char *fx_header(const struct subca_request *r, const char *name)
{
	(void)r;
	if (strcasecmp(name, "Authorization") == 0)
		return cur->hdr_auth;
	if (strcasecmp(name, "Accept") == 0)
		return cur->hdr_accept;
	return NULL;
}

static subca_result fx_check(struct subca_request *req,
			     enum subca_auth_kind kind)
{
	assert_int_equal(kind, SUBCA_CRED_PROVISIONER);
	return subca__auth_provisioner(req);
}

static const struct subca_auth_ops fx_auth = {fx_check,
					      subca__auth_provisioner_release};

static void fx_prov(struct fx *f, const char *authority, const char *name,
		    enum subca_provisioner_type type, EVP_PKEY *key,
		    const char *hash, const char *policy)
{
	struct subca_authority_rec a;
	struct subca_provisioner_rec r = {0};
	struct subca_buf jwk = {0};

	assert_int_equal(f->store->ops->authority_get(f->store, authority, &a),
			 SUBCA_OK);
	if (key != NULL)
		assert_int_equal(subca_jwk_export(key, &jwk), SUBCA_OK);
	r.authority_id = a.id;
	r.name = (char *)name;
	r.type = type;
	r.jwk_json = key ? (char *)jwk.p : NULL;
	r.key_hash = (char *)hash;
	r.policy = (char *)policy;
	r.created = TH_NOW;
	assert_int_equal(f->store->ops->provisioner_add(f->store, &r), SUBCA_OK);
	subca_buf_cleanup(&jwk);
	subca_authority_rec_cleanup(&a);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct subca_ctx c = {0};
	struct subca_generated_root_opts o = {0};
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];
	const char *pol = "{\"version\":1,\"dns\":[\".example.test\"],"
			  "\"max_days\":30}";

	th_data_open(&f->dir, &f->keys, &f->store);
	c.store = f->store;
	c.keys = f->keys;
	c.actor = "test";
	c.now = TH_NOW;
	o.root_key = SUBCA_KEY_EC_P256;
	o.intermediate_key = SUBCA_KEY_EC_P256;
	assert_int_equal(subca_authority_create_generated(&c, "demo", "dm", &o),
			 SUBCA_OK);
	assert_int_equal(subca_authority_create_generated(&c, "other", NULL, &o),
			 SUBCA_OK);
	f->prov_key = th_key("ec-p256");
	f->evil_key = th_key("ec-p256");
	assert_int_equal(subca_credential_generate(SUBCA_SECRET_APIKEY, f->apikey),
			 SUBCA_OK);
	assert_int_equal(subca_credential_hash(f->apikey, strlen(f->apikey), hash),
			 SUBCA_OK);
	fx_prov(f, "demo", "svc", SUBCA_PROV_APIKEY, NULL, hash, pol);
	fx_prov(f, "demo", "ops", SUBCA_PROV_JWK, f->prov_key, NULL, pol);
	fx_prov(f, "other", "ops", SUBCA_PROV_JWK, f->prov_key, NULL,
		"{\"version\":1,\"allow_all_names\":true}");
	f->env.router.routes = subca__routes;
	f->env.router.n = subca__nroutes;
	f->env.router.base_domain = "example.test";
	f->env.auth = &fx_auth;
	cur = f;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	EVP_PKEY_free(f->prov_key);
	EVP_PKEY_free(f->evil_key);
	th_data_close(f->dir, f->keys, f->store);
	free(f);
	return 0;
}

/* A PEM CSR for CN=cn with DNS SAN cn (and CA:TRUE when ca). */
static char *csr_pem(EVP_PKEY *key, const char *cn, bool ca)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	char san[300];
	struct subca_buf pem = {0};
	char *out;

	snprintf(san, sizeof(san), "DNS:%s", cn);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_REQ_set_pubkey(req, key);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
							 NID_subject_alt_name, san));
	if (ca)
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(
						     NULL, NULL, NID_basic_constraints,
						     "critical,CA:TRUE"));
	X509_REQ_add_extensions(req, exts);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_int_equal(subca_pem_x509_req(req, &pem), SUBCA_OK);
	out = strndup((const char *)pem.p, pem.len);
	subca_buf_cleanup(&pem);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return out;
}

static char *token(EVP_PKEY *key, const char *iss, const char *aud,
		   const char *san, time_t now)
{
	const char *sans[1] = {san};
	struct subca_token_params p = {iss, aud, san, {sans, 1}, now, 0};
	struct subca_buf out = {0};
	char *s;

	assert_int_equal(subca_token_mint(key, &p, &out), SUBCA_OK);
	s = strndup((const char *)out.p, out.len);
	subca_buf_cleanup(&out);
	return s;
}

/* Body {"csr", "token"?, "days"?} as text (free()). */
static char *body(const char *csr, const char *tok, long days)
{
	json_t *b = json_pack("{s:s}", "csr", csr);
	char *s;

	if (tok)
		json_object_set_new(b, "token", json_string(tok));
	if (days)
		json_object_set_new(b, "days", json_integer(days));
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static void run(struct subca_request *r, const char *path, const char *b)
{
	subca_request_init(r, &cur->env, cur->store, cur->keys, TH_NOW);
	r->method = "POST";
	r->host_header = HOST;
	r->path = path;
	r->header_fn = fx_header;
	r->body = subca_slice_of(b, b ? strlen(b) : 0);
	subca__pipeline_run(r);
}

/* The response was a problem of `code` whose detail holds `why`. */
static void is_problem(struct subca_request *r, int status, subca_result code,
		       const char *why)
{
	json_t *j = json_loadb((const char *)r->out.p, r->out.len, 0, NULL);
	const char *detail;

	assert_non_null(j);
	detail = json_string_value(json_object_get(j, "detail"));
	if (r->status != status || r->error != code ||
	    strstr(detail ? detail : "", why) == NULL)
		print_error("got %d %s: %s\n", r->status,
			    subca_error_name((enum subca_code)r->error), detail);
	assert_int_equal(r->status, status);
	assert_int_equal(r->error, code);
	assert_non_null(strstr(detail, why));
	json_decref(j);
}

/* POST path with body b; the caller frees nothing. */
static void post(struct subca_request *r, const char *path, char *b)
{
	run(r, path, b);
	free(b);
}

static json_t *issued(struct subca_request *r)
{
	json_t *j;

	if (r->status != 201)
		print_error("%.*s\n", (int)r->out.len, (const char *)r->out.p);
	assert_int_equal(r->status, 201);
	assert_string_equal(r->content_type, "application/json");
	j = json_loadb((const char *)r->out.p, r->out.len, 0, NULL);
	assert_non_null(j);
	assert_non_null(strstr(json_string_value(json_object_get(j, "certificate")),
			       "BEGIN CERTIFICATE"));
	assert_int_equal(json_array_size(json_object_get(j, "chain")), 1);
	assert_non_null(json_string_value(json_object_get(j, "serial")));
	return j;
}

/* ---- /sign --------------------------------------------------------------- */

static void test_sign_with_an_api_key_issues_and_records_the_provisioner(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char bearer[128], *csr;
	struct subca_cert_rec rec;
	json_t *j;

	snprintf(bearer, sizeof(bearer), "Bearer %s", f->apikey);
	f->hdr_auth = bearer;
	csr = csr_pem(f->prov_key, "www.example.test", false);
	post(&r, "/a/demo/sign", body(csr, NULL, 0));
	j = issued(&r);
	assert_string_equal(r.ctx.actor, "provisioner:svc");
	assert_int_equal(f->store->ops->cert_get(
				 f->store, r.authority_rec.id,
				 json_string_value(json_object_get(j, "serial")),
				 &rec),
			 SUBCA_OK);
	assert_string_equal(rec.provisioner, "svc");
	assert_string_equal(rec.issued_by, "provisioner:svc");
	subca_cert_rec_cleanup(&rec);
	json_decref(j);
	subca_request_cleanup(&r);
	/* a key of the right shape that is not stored */
	f->hdr_auth = "Bearer subca_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	post(&r, "/a/demo/sign", body(csr, NULL, 0));
	is_problem(&r, 401, SUBCA_E_AUTH, "not one of authority \"demo\"");
	subca_request_cleanup(&r);
	free(csr);
}

/* A transport that answers later: keeps what it was asked to record. */
static struct {
	int calls;
	struct subca_cert_rec *rec;
	const struct subca_audit_rec *audit;
} deferred;

static subca_result fx_defer(struct subca_request *req,
			     struct subca_cert_rec *rec,
			     const struct subca_audit_rec *audit)
{
	(void)req;
	deferred.calls++;
	deferred.rec = rec;
	deferred.audit = audit;
	return SUBCA_OK;
}

/* POST like run(), on a transport that can answer later. */
static void run_deferrable(struct subca_request *r, const char *path, char *b)
{
	subca_request_init(r, &cur->env, cur->store, cur->keys, TH_NOW);
	r->method = "POST";
	r->host_header = HOST;
	r->path = path;
	r->header_fn = fx_header;
	r->body = subca_slice_of(b, strlen(b));
	r->owner = r;
	subca__pipeline_run(r);
	free(b);
}

static void test_sign_deferred_answers_only_once_the_record_is_committed(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	struct subca_cert_rec rec;
	char bearer[128], serial[128], *csr;
	json_t *j;

	snprintf(bearer, sizeof(bearer), "Bearer %s", f->apikey);
	f->hdr_auth = bearer;
	f->env.defer = fx_defer;
	memset(&deferred, 0, sizeof(deferred));
	csr = csr_pem(f->prov_key, "www.example.test", false);
	run_deferrable(&r, "/a/demo/sign", body(csr, NULL, 0));
	/* signed and handed over: no answer yet, nothing recorded yet */
	assert_true(r.deferred);
	assert_int_equal(deferred.calls, 1);
	assert_int_equal(r.out.len, 0);
	snprintf(serial, sizeof(serial), "%s", deferred.rec->serial);
	assert_string_equal(deferred.rec->provisioner, "svc");
	assert_string_equal(deferred.audit->action, "certificate.issue");
	assert_int_equal(f->store->ops->cert_get(f->store, r.authority_rec.id,
						 serial, &rec),
			 SUBCA_E_NOT_FOUND);
	/* the commit returns: now the answer, with that certificate */
	assert_int_equal(f->store->ops->cert_record(f->store, deferred.rec,
						    deferred.audit),
			 SUBCA_OK);
	subca__pipeline_resume(&r, SUBCA_OK, "");
	assert_false(r.deferred);
	j = issued(&r);
	assert_string_equal(json_string_value(json_object_get(j, "serial")),
			    serial);
	json_decref(j);
	subca_request_cleanup(&r);

	/* a failed commit is answered with its problem, never 201 */
	run_deferrable(&r, "/a/demo/sign", body(csr, NULL, 0));
	assert_true(r.deferred);
	assert_int_equal(deferred.calls, 2);
	subca__pipeline_resume(&r, SUBCA_E_STORE, "disk I/O error while committing");
	is_problem(&r, 503, SUBCA_E_STORE, "disk I/O error");
	subca_request_cleanup(&r);
	f->env.defer = NULL;
	free(csr);
}

static void test_sign_with_a_token_spends_it_and_refuses_its_replay(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char *csr = csr_pem(f->prov_key, "a.example.test", false);
	char *tok = token(f->prov_key, "ops", AUD, "a.example.test", TH_NOW);
	json_t *j;

	post(&r, "/a/demo/sign", body(csr, tok, 0));
	j = issued(&r);
	json_decref(j);
	subca_request_cleanup(&r);
	post(&r, "/a/demo/sign", body(csr, tok, 0));
	is_problem(&r, 401, SUBCA_E_AUTH, "already used");
	subca_request_cleanup(&r);
	free(tok);
	/* the same, in the Authorization header, with Accept: PEM chain */
	tok = token(f->prov_key, "ops", AUD, "a.example.test", TH_NOW);
	{
		char bearer[2048];

		snprintf(bearer, sizeof(bearer), "Bearer %s", tok);
		f->hdr_auth = bearer;
		f->hdr_accept = "application/pem-certificate-chain";
		post(&r, "/a/demo/sign", body(csr, NULL, 0));
		f->hdr_auth = NULL;
		f->hdr_accept = NULL;
	}
	assert_int_equal(r.status, 201);
	assert_string_equal(r.content_type, "application/pem-certificate-chain");
	assert_int_equal(r.out.len > 0, 1);
	subca_request_cleanup(&r);
	free(tok);
	free(csr);
}

static void test_sign_accepts_the_host_form_audience(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char *csr = csr_pem(f->prov_key, "h.example.test", false);
	char *tok = token(f->prov_key, "ops", "https://dm.example.test:8443/sign",
			  "h.example.test", TH_NOW);
	json_t *j;

	post(&r, "/a/demo/sign", body(csr, tok, 0));
	j = issued(&r);
	json_decref(j);
	subca_request_cleanup(&r);
	free(tok);
	free(csr);
}

static void token_refused(struct fx *f, EVP_PKEY *key, const char *iss,
			  const char *aud, time_t now, subca_result code,
			  const char *why)
{
	struct subca_request r;
	char *csr = csr_pem(f->prov_key, "t.example.test", false);
	char *tok = token(key, iss, aud, "t.example.test", now);

	post(&r, "/a/demo/sign", body(csr, tok, 0));
	is_problem(&r, 401, code, why);
	subca_request_cleanup(&r);
	free(tok);
	free(csr);
}

static void test_sign_refuses_expired_foreign_and_misaddressed_tokens(void **state)
{
	struct fx *f = *state;

	token_refused(f, f->prov_key, "ops", AUD, TH_NOW - 600,
		      SUBCA_E_TOKEN_EXPIRED, "");
	token_refused(f, f->prov_key, "ops", "https://ca.test:8443/a/other/sign",
		      TH_NOW, SUBCA_E_TOKEN_AUDIENCE, AUD);
	token_refused(f, f->evil_key, "ops", AUD, TH_NOW,
		      SUBCA_E_JWS_SIGNATURE, "");
	token_refused(f, f->prov_key, "nobody", AUD, TH_NOW, SUBCA_E_AUTH,
		      "not a provisioner of authority \"demo\"");
	token_refused(f, f->prov_key, "svc", AUD, TH_NOW, SUBCA_E_AUTH,
		      "takes no tokens");
}

/* A token living longer than 5 minutes, signed correctly. */
static void test_sign_refuses_a_token_living_over_five_minutes(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char kid[SUBCA_JWK_THUMBPRINT_LEN + 1];
	json_t *h, *claims;
	char *payload, *csr = csr_pem(f->prov_key, "l.example.test", false);
	struct subca_buf jws = {0};

	assert_int_equal(subca_jwk_thumbprint(f->prov_key, kid), SUBCA_OK);
	h = json_pack("{s:s, s:s}", "kid", kid, "typ", "JWT");
	claims = json_pack("{s:s, s:s, s:s, s:[s], s:I, s:I, s:s}", "iss", "ops",
			   "aud", AUD, "sub", "l.example.test", "sans",
			   "l.example.test", "nbf", (json_int_t)TH_NOW, "exp",
			   (json_int_t)TH_NOW + 301, "jti", "long-lived-1");
	payload = json_dumps(claims, JSON_COMPACT);
	assert_int_equal(subca_jws_sign(f->prov_key, h,
					subca_slice_of(payload, strlen(payload)),
					&jws),
			 SUBCA_OK);
	post(&r, "/a/demo/sign", body(csr, (const char *)jws.p, 0));
	is_problem(&r, 401, SUBCA_E_BAD_TOKEN, "");
	subca_request_cleanup(&r);
	subca_buf_cleanup(&jws);
	free(payload);
	json_decref(h);
	json_decref(claims);
	free(csr);
}

static void sign_refused(struct fx *f, const char *csr, const char *tok_san,
			 long days, int status, subca_result code,
			 const char *why)
{
	struct subca_request r;
	char *tok = token(f->prov_key, "ops", AUD, tok_san, TH_NOW);

	post(&r, "/a/demo/sign", body(csr, tok, days));
	is_problem(&r, status, code, why);
	subca_request_cleanup(&r);
	free(tok);
}

static void test_sign_refusals_name_the_rule(void **state)
{
	struct fx *f = *state;
	char *ok = csr_pem(f->prov_key, "x.example.test", false);
	char *outside = csr_pem(f->prov_key, "x.evil.test", false);
	char *ca = csr_pem(f->prov_key, "ca.example.test", true);
	char *bad = strdup(ok);
	char *p;

	/* policy (.example.test), token sans, CA request */
	sign_refused(f, outside, "x.evil.test", 0, 403, SUBCA_E_POLICY,
		     "x.evil.test");
	sign_refused(f, ok, "y.example.test", 0, 403, SUBCA_E_POLICY,
		     "DNS:x.example.test is not among the names the token allows");
	sign_refused(f, ca, "ca.example.test", 0, 403, SUBCA_E_POLICY,
		     "rule: no CA request");
	/* garbage and a broken signature (a flipped base64 character near
	 * the end of the PEM body falls in the signature) */
	sign_refused(f, "hello", "x.example.test", 0, 400, SUBCA_E_GARBAGE, "");
	p = strstr(bad, "-----END") - 6;
	*p = *p == 'A' ? 'B' : 'A';
	sign_refused(f, bad, "x.example.test", 0, 400, SUBCA_E_CSR_SIGNATURE, "");
	/* lifetime: the cap of 30 days at the limit and one past it */
	sign_refused(f, ok, "x.example.test", 31, 403, SUBCA_E_POLICY, "30");
	{
		struct subca_request r;
		char *tok = token(f->prov_key, "ops", AUD, "x.example.test", TH_NOW);
		json_t *j;

		post(&r, "/a/demo/sign", body(ok, tok, 30));
		j = issued(&r);
		json_decref(j);
		subca_request_cleanup(&r);
		free(tok);
	}
	free(ok);
	free(outside);
	free(ca);
	free(bad);
}

static void test_sign_refuses_a_body_without_credential_or_csr(void **state)
{
	struct subca_request r;

	(void)state;
	run(&r, "/a/demo/sign", "{\"csr\":\"x\"}");
	is_problem(&r, 401, SUBCA_E_AUTH, "no credential");
	subca_request_cleanup(&r);
	run(&r, "/a/demo/sign", "not json");
	is_problem(&r, 400, SUBCA_E_INVALID_ARGUMENT, "not JSON");
	subca_request_cleanup(&r);
}

/* ---- /revoke -------------------------------------------------------------- */

static void test_revoke_by_token_is_idempotent_and_keeps_the_first_reason(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char *csr = csr_pem(f->prov_key, "r.example.test", false);
	char *tok = token(f->prov_key, "ops", AUD, "r.example.test", TH_NOW);
	char serial[128], b[4096];
	json_t *j;

	post(&r, "/a/demo/sign", body(csr, tok, 0));
	j = issued(&r);
	snprintf(serial, sizeof(serial), "%s",
		 json_string_value(json_object_get(j, "serial")));
	json_decref(j);
	subca_request_cleanup(&r);
	free(tok);
	/* a token for other names does not cover it */
	tok = token(f->prov_key, "ops", AUD, "z.example.test", TH_NOW);
	snprintf(b, sizeof(b), "{\"serial\":\"%s\",\"token\":\"%s\"}", serial, tok);
	run(&r, "/a/demo/revoke", b);
	is_problem(&r, 403, SUBCA_E_POLICY, "does not cover");
	subca_request_cleanup(&r);
	free(tok);
	for (int i = 0; i < 2; i++) {
		tok = token(f->prov_key, "ops", AUD, "r.example.test", TH_NOW);
		snprintf(b, sizeof(b),
			 "{\"serial\":\"%s\",\"reason\":\"%s\",\"token\":\"%s\"}",
			 serial, i ? "superseded" : "keyCompromise", tok);
		run(&r, "/a/demo/revoke", b);
		assert_int_equal(r.status, 200);
		j = json_loadb((const char *)r.out.p, r.out.len, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(j, "reason")),
				    "keyCompromise");
		assert_string_equal(json_string_value(json_object_get(j, "serial")),
				    serial);
		json_decref(j);
		subca_request_cleanup(&r);
		free(tok);
	}
	tok = token(f->prov_key, "ops", AUD, "r.example.test", TH_NOW);
	snprintf(b, sizeof(b), "{\"serial\":\"%s\",\"reason\":\"removeFromCRL\",\"token\":\"%s\"}",
		 serial, tok);
	run(&r, "/a/demo/revoke", b);
	is_problem(&r, 400, SUBCA_E_INVALID_ARGUMENT, "RFC 5280 5.3.1");
	subca_request_cleanup(&r);
	free(tok);
	free(csr);
}

static void test_renew_needs_a_client_certificate(void **state)
{
	struct subca_request r;

	(void)state;
	run(&r, "/a/demo/renew", "{}");
	is_problem(&r, 401, SUBCA_E_AUTH, "TLS client certificate");
	subca_request_cleanup(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_json_reads_the_readme_schema),
		cmocka_unit_test(test_policy_json_refuses_what_it_does_not_know),
		cmocka_unit_test(test_policy_json_caps_names_and_size_at_the_limit),
		cmocka_unit_test(test_policy_json_survives_truncations_and_bit_flips),
		cmocka_unit_test(test_sign_body_parse_reads_typed_members),
		cmocka_unit_test(test_sign_body_parse_refusals_name_the_member),
		cmocka_unit_test(test_sign_body_caps_hold_at_the_limit_and_refuse_one_past),
		cmocka_unit_test(test_sign_body_parse_survives_truncations_and_bit_flips),
		cmocka_unit_test_setup_teardown(test_sign_with_an_api_key_issues_and_records_the_provisioner, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_with_a_token_spends_it_and_refuses_its_replay, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_accepts_the_host_form_audience, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_refuses_expired_foreign_and_misaddressed_tokens, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_refuses_a_token_living_over_five_minutes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_refusals_name_the_rule, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_refuses_a_body_without_credential_or_csr, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sign_deferred_answers_only_once_the_record_is_committed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_revoke_by_token_is_idempotent_and_keeps_the_first_reason, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_renew_needs_a_client_certificate, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
