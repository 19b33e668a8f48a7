/*
 * The admin API (src/server/api_admin.c) and admin authentication
 * (src/server/auth.c), driven through the real route table and pipeline
 * with requests built directly (no sockets) on a temporary data directory:
 * bearer tokens (missing, malformed, unknown, revoked, expired, scoped),
 * the bring-your-own-root flow, certificate listing and paging, revocation,
 * the audit log, and strict request JSON.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "helpers.h"
#include "helpers/authority_fx.h"
#include "subca/alloc.h"
#include "subca/authority.h"
#include "subca/keystore_soft.h"
#include "subca/ossl.h"
#include "subca/signer.h"
#include "subca/store_sqlite.h"
#include "../../src/server/admin_int.h"
#include "../../src/server/jose.h"
#include "subca/credential.h"

struct fx {
	char *dir;
	struct subca_store *store;
	struct subca_keystore *keys;
	struct subca_server_env env;
	struct subca_ctx c;
	char global[SUBCA_CREDENTIAL_SIZE]; /* a global token */
	char scoped[SUBCA_CREDENTIAL_SIZE]; /* scoped to "demo" */
	char authz[128];		    /* the request's Authorization */
	EVP_PKEY *root_key;
	X509 *root;
};

static struct fx *fx_current;

static const char *fx_header(const struct subca_request *r, const char *name)
{
	(void)r;
	if (strcasecmp(name, "Authorization") == 0 && fx_current->authz[0])
		return fx_current->authz;
	return NULL;
}

/* Store a token with `scope`, `expires` and `revoked`; its secret in out. */
static int64_t fx_token(struct fx *f, const char *scope, int64_t expires,
			int64_t revoked, char out[SUBCA_CREDENTIAL_SIZE])
{
	struct subca_admin_token_rec r = {0};
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, out), SUBCA_OK);
	assert_int_equal(subca_credential_hash(out, strlen(out), hash), SUBCA_OK);
	r.hash = hash;
	r.scope = (char *)scope;
	r.description = (char *)"test";
	r.created = TH_NOW - 10;
	r.expires = expires;
	assert_int_equal(f->store->ops->admin_token_add(f->store, &r), SUBCA_OK);
	if (revoked)
		assert_int_equal(f->store->ops->admin_token_revoke(f->store, r.id, revoked),
				 SUBCA_OK);
	return r.id;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	th_data_open(&f->dir, &f->keys, &f->store);
	f->c.store = f->store;
	f->c.keys = f->keys;
	f->c.actor = "test";
	f->c.now = TH_NOW;
	assert_int_equal(subca_authority_create(&f->c, "demo", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_create(&f->c, "other", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_create(&f->c, "tls", NULL), SUBCA_OK);
	f->env.router.routes = subca__routes;
	f->env.router.n = subca__nroutes;
	f->env.auth = subca__auth_ops;
	f->env.tls_authority = "tls";
	fx_token(f, NULL, 0, 0, f->global);
	fx_token(f, "demo", TH_NOW + 3600, 0, f->scoped);
	f->root_key = th_key("ec-p384");
	f->root = th_cert(&(struct th_cert_opts){.subject = "/O=Example/CN=Example Root"},
			  f->root_key, NULL, NULL);
	fx_current = f;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	th_data_close(f->dir, f->keys, f->store);
	X509_free(f->root);
	EVP_PKEY_free(f->root_key);
	free(f);
	return 0;
}

/* Run `method path?query` with `token` (NULL: none) and body. */
static void run(struct fx *f, struct subca_request *r, const char *token,
		const char *method, const char *path, const char *query,
		const void *body, size_t len)
{
	subca_request_init(r, &f->env, f->store, f->keys, TH_NOW);
	f->authz[0] = '\0';
	if (token != NULL)
		snprintf(f->authz, sizeof(f->authz), "Bearer %s", token);
	r->method = method;
	r->path = path;
	r->query = query;
	r->host_header = "127.0.0.1";
	r->header_fn = fx_header;
	r->body = subca_slice_of(body, len);
	subca__pipeline_run(r);
}

static json_t *body_json(const struct subca_request *r)
{
	json_t *j = json_loadb((const char *)r->out.p, r->out.len, 0, NULL);

	assert_non_null(j);
	return j;
}

/* The response is a problem with `status`, `code` and `needle` in detail. */
static void assert_problem(const struct subca_request *r, int status,
			   const char *type, const char *needle)
{
	json_t *j = body_json(r);
	const char *detail = json_string_value(json_object_get(j, "detail"));

	if (r->status != status || strcmp(json_string_value(json_object_get(j, "type")), type) != 0 ||
	    detail == NULL || strstr(detail, needle) == NULL)
		fail_msg("got %d %.*s; want %d %s \"%s\"", r->status, (int)r->out.len,
			 (const char *)r->out.p, status, type, needle);
	json_decref(j);
}

/* GET with the global token, expecting 200 and returning the JSON. */
static json_t *get_json(struct fx *f, const char *path, const char *query)
{
	struct subca_request r;
	json_t *j;

	run(f, &r, f->global, "GET", path, query, NULL, 0);
	if (r.status != 200)
		fail_msg("GET %s: %d %.*s", path, r.status, (int)r.out.len,
			 (const char *)r.out.p);
	j = body_json(&r);
	subca_request_cleanup(&r);
	return j;
}

/* ---- authentication --------------------------------------------------- */

static void test_admin_api_refuses_requests_without_a_token(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, NULL, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "no admin credential");
	assert_int_equal(r.nheaders, 1);
	assert_string_equal(r.headers[0].name, "WWW-Authenticate");
	subca_request_cleanup(&r);
}

static void test_admin_api_refuses_a_malformed_authorization(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	subca_request_init(&r, &f->env, f->store, f->keys, TH_NOW);
	snprintf(f->authz, sizeof(f->authz), "Basic dXNlcjpwYXNz");
	r.method = "GET";
	r.path = "/admin/v1/authorities";
	r.header_fn = fx_header;
	subca__pipeline_run(&r);
	assert_problem(&r, 401, "urn:subca:error:auth", "not \"Bearer TOKEN\"");
	subca_request_cleanup(&r);

	run(f, &r, "subca_adm_short", "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "admin token");
	subca_request_cleanup(&r);
}

static void test_admin_api_refuses_an_unknown_token(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char other[SUBCA_CREDENTIAL_SIZE];

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, other), SUBCA_OK);
	run(f, &r, other, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "unknown admin token");
	subca_request_cleanup(&r);
}

static void test_admin_api_refuses_an_api_key_as_admin_token(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char key[SUBCA_CREDENTIAL_SIZE];

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_APIKEY, key), SUBCA_OK);
	run(f, &r, key, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_int_equal(r.status, 401);
	subca_request_cleanup(&r);
}

static void test_admin_api_refuses_revoked_and_expired_tokens(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char revoked[SUBCA_CREDENTIAL_SIZE], expired[SUBCA_CREDENTIAL_SIZE];
	char edge[SUBCA_CREDENTIAL_SIZE], live[SUBCA_CREDENTIAL_SIZE];

	fx_token(f, NULL, 0, TH_NOW - 5, revoked);
	fx_token(f, NULL, TH_NOW - 1, 0, expired);
	fx_token(f, NULL, TH_NOW, 0, edge);	/* expires at this very second */
	fx_token(f, NULL, TH_NOW + 1, 0, live); /* one second left */
	run(f, &r, revoked, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "has been revoked");
	subca_request_cleanup(&r);
	run(f, &r, expired, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "expired at 2025-12-31T23:59:59Z");
	subca_request_cleanup(&r);
	run(f, &r, edge, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "expired");
	subca_request_cleanup(&r);
	run(f, &r, live, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
}

static void test_scoped_token_sees_only_its_authorities(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	json_t *j, *a;

	run(f, &r, f->scoped, "GET", "/admin/v1/authorities", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	a = json_object_get(j, "authorities");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "name")),
			    "demo");
	assert_string_equal(r.ctx.actor, "token:2");
	json_decref(j);
	subca_request_cleanup(&r);

	/* the global token sees every tenant, but not the TLS authority */
	j = get_json(f, "/admin/v1/authorities", NULL);
	assert_int_equal(json_array_size(json_object_get(j, "authorities")), 2);
	json_decref(j);
}

static void test_scoped_token_gets_404_for_another_authority(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	struct subca_request r2;

	run(f, &r, f->scoped, "GET", "/admin/v1/authorities/other", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"other\"");
	/* ... exactly as for an authority that does not exist */
	run(f, &r2, f->global, "GET", "/admin/v1/authorities/nosuch", NULL, NULL, 0);
	assert_problem(&r2, 404, "urn:subca:error:not_found", "no authority named \"nosuch\"");
	subca_request_cleanup(&r);
	subca_request_cleanup(&r2);
	run(f, &r, f->scoped, "PUT", "/admin/v1/authorities/other/root", NULL, "x", 1);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"other\"");
	subca_request_cleanup(&r);
	run(f, &r, f->scoped, "GET", "/admin/v1/audit", "authority=other", NULL, 0);
	assert_int_equal(r.status, 404);
	subca_request_cleanup(&r);
	run(f, &r, f->scoped, "GET", "/admin/v1/authorities/demo", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
	/* the server's TLS authority is not a tenant, even for a global token */
	run(f, &r, f->global, "GET", "/admin/v1/authorities/tls", NULL, NULL, 0);
	assert_int_equal(r.status, 404);
	subca_request_cleanup(&r);
}

static void test_scoped_token_gets_403_on_global_routes(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	static const char create[] = "{\"name\":\"x1\"}";

	run(f, &r, f->scoped, "POST", "/admin/v1/authorities", NULL, create,
	    strlen(create));
	assert_problem(&r, 403, "urn:subca:error:policy", "only a global admin credential");
	subca_request_cleanup(&r);
	run(f, &r, f->scoped, "POST", "/admin/v1/tokens", NULL, "{}", 2);
	assert_problem(&r, 403, "urn:subca:error:policy", "only a global admin credential");
	subca_request_cleanup(&r);
}

/* ---- the BYOR flow -------------------------------------------------- */

static void put_expect(struct fx *f, const char *path, const char *query,
		       const char *body, int status, const char *result)
{
	struct subca_request r;
	json_t *j;

	run(f, &r, f->global, "PUT", path, query, body, strlen(body));
	if (r.status != status)
		fail_msg("PUT %s: %d %.*s", path, r.status, (int)r.out.len,
			 (const char *)r.out.p);
	j = body_json(&r);
	if (result)
		assert_string_equal(json_string_value(json_object_get(j, "result")), result);
	assert_true(json_is_array(json_object_get(j, "refusals")));
	assert_true(json_is_array(json_object_get(j, "warnings")));
	json_decref(j);
	subca_request_cleanup(&r);
}

/* Sign the CSR PEM with the fixture root; the certificate's PEM. */
static char *sign_csr(struct fx *f, const char *csr_pem, long days)
{
	struct subca_sign_intermediate_opts so = {.days = (int)days, .path_len = -2,
						  .now = TH_NOW};
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	char *pem;

	assert_int_equal(subca_pem_load_x509_req(csr_pem, &csr), SUBCA_OK);
	assert_int_equal(subca_signer_sign_intermediate(f->root, f->root_key, csr, &so, &cert),
			 SUBCA_OK);
	pem = th_pem(cert);
	X509_free(cert);
	X509_REQ_free(csr);
	return pem;
}

static char *byor(struct fx *f)
{
	static const char req_json[] =
		"{\"cn\":\"Demo Issuing CA\",\"org\":\"Example\",\"days\":365,"
		"\"permit_dns\":[\"example.com\"]}";
	struct subca_request r;
	char *root_pem = th_pem(f->root), *cert;
	json_t *j;

	put_expect(f, "/admin/v1/authorities/demo/root", NULL, root_pem, 200, "accepted");
	/* a second root is refused with the report as a problem */
	put_expect(f, "/admin/v1/authorities/demo/root", NULL, root_pem, 409, "refused");
	free(root_pem);
	run(f, &r, f->scoped, "POST", "/admin/v1/authorities/demo/intermediates", NULL,
	    req_json, strlen(req_json));
	if (r.status != 201)
		fail_msg("%d %.*s", r.status, (int)r.out.len, (const char *)r.out.p);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "days")), 365);
	assert_non_null(strstr(json_string_value(json_object_get(
					   json_object_get(j, "instructions"), "openssl")),
			       "openssl"));
	assert_int_equal(json_object_size(json_object_get(j, "instructions")), 9);
	cert = sign_csr(f, json_string_value(json_object_get(j, "csr")), 365);
	json_decref(j);
	subca_request_cleanup(&r);
	return cert;
}

static void test_byor_flow_through_the_admin_api(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char *cert = byor(f);
	json_t *j;

	run(f, &r, f->global, "GET", "/admin/v1/authorities/demo/intermediates/pending/csr",
	    NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/pkcs10");
	assert_non_null(memmem(r.out.p, r.out.len, "CERTIFICATE REQUEST", 19));
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET",
	    "/admin/v1/authorities/demo/intermediates/pending/instructions", "tool=cfssl",
	    NULL, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/x-shellscript");
	assert_non_null(memmem(r.out.p, r.out.len, "cfssl", 5));
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET",
	    "/admin/v1/authorities/demo/intermediates/pending/instructions", "tool=nope",
	    NULL, 0);
	assert_int_equal(r.status, 400);
	subca_request_cleanup(&r);

	/* garbage upload: the problem carries the refusals */
	run(f, &r, f->global, "PUT",
	    "/admin/v1/authorities/demo/intermediates/pending/certificate", NULL, "junk", 4);
	assert_true(r.status >= 400);
	assert_string_equal(r.content_type, "application/problem+json");
	j = body_json(&r);
	assert_true(json_array_size(json_object_get(j, "refusals")) >= 1);
	assert_non_null(json_object_get(j, "type"));
	json_decref(j);
	subca_request_cleanup(&r);

	put_expect(f, "/admin/v1/authorities/demo/intermediates/pending/certificate",
		   "accept_weaker=false", cert, 200, "accepted");
	free(cert);

	j = get_json(f, "/admin/v1/authorities/demo", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
	assert_non_null(json_object_get(json_object_get(j, "root"), "sha256"));
	json_decref(j);
	j = get_json(f, "/admin/v1/authorities/demo/intermediates", NULL);
	assert_int_equal(json_array_size(json_object_get(j, "intermediates")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "intermediates"), 0),
				    "state")),
			    "active");
	json_decref(j);

	/* the audit log names who did it */
	j = get_json(f, "/admin/v1/audit", "authority=demo&limit=50");
	assert_true(json_array_size(json_object_get(j, "entries")) >= 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "entries"), 0), "actor")),
			    "token:1");
	json_decref(j);
}

static void issue(struct fx *f, const char *cn, long days)
{
	struct subca_leaf_request lr = {0};
	struct subca_buf chain;
	EVP_PKEY *k = th_key("ec-p256");
	X509 *leaf = NULL;

	lr.pubkey = k;
	lr.cn = cn;
	lr.days = days;
	lr.now = TH_NOW;
	assert_int_equal(subca_authority_issue(&f->c, "demo", &lr, &chain, &leaf), SUBCA_OK);
	subca_buf_cleanup(&chain);
	X509_free(leaf);
	EVP_PKEY_free(k);
}

static void test_certificates_list_filters_pages_and_revokes(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char *cert = byor(f), path[256];
	const char *serial;
	json_t *j, *c;
	json_int_t next;

	put_expect(f, "/admin/v1/authorities/demo/intermediates/pending/certificate", NULL,
		   cert, 200, "accepted");
	free(cert);
	issue(f, "a.example.com", 10);
	issue(f, "b.example.com", 30);
	issue(f, "c.example.com", 30);

	j = get_json(f, "/admin/v1/authorities/demo/certificates", "limit=2");
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	next = json_integer_value(json_object_get(j, "next"));
	assert_true(next > 0);
	json_decref(j);
	snprintf(path, sizeof(path), "limit=2&after=%lld", (long long)next);
	j = get_json(f, "/admin/v1/authorities/demo/certificates", path);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	assert_true(json_is_null(json_object_get(j, "next")));
	json_decref(j);

	j = get_json(f, "/admin/v1/authorities/demo/certificates", "name=B.EXAMPLE");
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	c = json_array_get(json_object_get(j, "certificates"), 0);
	serial = json_string_value(json_object_get(c, "serial"));
	snprintf(path, sizeof(path), "/admin/v1/authorities/demo/certificates/%s/revoke",
		 serial);
	json_decref(j);
	/* expires_before: only the 10-day one */
	j = get_json(f, "/admin/v1/authorities/demo/certificates",
		     "expires_before=2026-01-20T00:00:00Z");
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	json_decref(j);

	run(f, &r, f->global, "POST", path, NULL, "{\"reason\":\"keyCompromise\"}", 26);
	if (r.status != 200)
		fail_msg("%d %.*s", r.status, (int)r.out.len, (const char *)r.out.p);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "keyCompromise");
	assert_string_equal(json_string_value(json_object_get(j, "revoked_at")),
			    "2026-01-01T00:00:00Z");
	json_decref(j);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", path, NULL, "{\"reason\":\"bogus\"}", 18);
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "revocation reason");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", "/admin/v1/authorities/demo/certificates/abcdef/revoke",
	    NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no certificate with serial abcdef");
	subca_request_cleanup(&r);

	j = get_json(f, "/admin/v1/authorities/demo/certificates", "status=revoked");
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	c = json_array_get(json_object_get(j, "certificates"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "status")), "revoked");
	json_decref(j);
	j = get_json(f, "/admin/v1/authorities/demo/certificates", "status=valid");
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	json_decref(j);

	/* bad queries */
	run(f, &r, f->global, "GET", "/admin/v1/authorities/demo/certificates", "limit=1001",
	    NULL, 0);
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "limit");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET", "/admin/v1/authorities/demo/certificates", "limit=1000",
	    NULL, 0);
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET", "/admin/v1/authorities/demo/certificates", "sort=x",
	    NULL, 0);
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "unknown query parameter \"sort\"");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET", "/admin/v1/authorities/demo/certificates", "name=%zz",
	    NULL, 0);
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "percent-encoding");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET", "/admin/v1/authorities/demo/certificates",
	    "limit=1&limit=2", NULL, 0);
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "twice");
	subca_request_cleanup(&r);
}

/* ---- authorities and tokens ------------------------------------------- */

static void test_create_authority_and_token(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	static const char gen[] =
		"{\"name\":\"gen\",\"generate_root\":{\"key\":\"ec-p256\",\"days\":100}}";
	static const char tok[] =
		"{\"authorities\":[\"gen\"],\"expires\":\"1h\",\"description\":\"ci\"}";
	char secret[SUBCA_CREDENTIAL_SIZE];
	json_t *j;

	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, "{\"name\":\"new1\"}", 15);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "needs-root");
	json_decref(j);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, "{\"name\":\"new1\"}", 15);
	assert_int_equal(r.status, 409);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, "{\"name\":\"TLS\"}", 14);
	assert_int_equal(r.status, 409);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, gen, strlen(gen));
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
	assert_true(json_is_true(json_object_get(j, "generated_root")));
	json_decref(j);
	subca_request_cleanup(&r);

	run(f, &r, f->global, "POST", "/admin/v1/tokens", NULL, tok, strlen(tok));
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(j, "token")));
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 3);
	json_decref(j);
	subca_request_cleanup(&r);
	/* the new token works for its authority only, and expires in an hour */
	run(f, &r, secret, "GET", "/admin/v1/authorities/gen", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
	run(f, &r, secret, "GET", "/admin/v1/authorities/demo", NULL, NULL, 0);
	assert_int_equal(r.status, 404);
	subca_request_cleanup(&r);
	/* scoped audit: only its authority's entries, none server-wide */
	run(f, &r, secret, "GET", "/admin/v1/audit", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	for (size_t i = 0; i < json_array_size(json_object_get(j, "entries")); i++)
		assert_string_equal(json_string_value(json_object_get(
					    json_array_get(json_object_get(j, "entries"), i),
					    "authority")),
				    "gen");
	assert_true(json_array_size(json_object_get(j, "entries")) >= 1);
	json_decref(j);
	subca_request_cleanup(&r);
}

/* ---- strict JSON ------------------------------------------------------ */

static void test_admin_api_refuses_bad_json(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *body, *needle;
	} cases[] = {
		{"garbage", "not valid JSON"},
		{"", "not valid JSON"},
		{"[1]", "must be a JSON object"},
		{"{\"name\":1}", "member \"name\" must be a string"},
		{"{\"name\":\"a\",\"name\":\"b\"}", "not valid JSON"},
		{"{\"name\":\"ok\",\"colour\":\"red\"}", "unknown member \"colour\""},
		{"{}", "member \"name\" is required"},
		{"{\"name\":\"ok\",\"generate_root\":[]}", "must be an object"},
		{"{\"name\":\"ok\",\"generate_root\":{\"days\":\"5\"}}",
		 "member \"days\" must be an integer"},
		{"{\"name\":\"ok\",\"generate_root\":{\"days\":36601}}", "36600"},
		{"{\"name\":\"ok\",\"generate_root\":{\"x\":1}}", "unknown member \"x\""},
		{"{\"name\":\"a\\u0000b\"}", "NUL"},
	};
	struct subca_request r;
	char big[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, cases[i].body,
		    strlen(cases[i].body));
		assert_problem(&r, 400, "urn:subca:error:invalid_argument", cases[i].needle);
		subca_request_cleanup(&r);
	}
	/* a name of 63 bytes is a label; 64 is over the bound */
	snprintf(big, sizeof(big), "{\"name\":\"%.64s\"}",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, big, strlen(big));
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "longer than 63 bytes");
	subca_request_cleanup(&r);
	snprintf(big, sizeof(big), "{\"name\":\"%.63s\"}",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, big, strlen(big));
	assert_int_equal(r.status, 201);
	subca_request_cleanup(&r);
}

static void test_pending_request_discarded_through_the_admin_api(void **state)
{
	struct fx *f = *state;
	static const char *bad_ids[] = {"0", "-1", "abc", "1x", "99999999999999999999"};
	struct subca_request r;
	char *cert = byor(f); /* intermediate 1 pending for demo */
	json_t *j;

	free(cert);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		char path[128];

		snprintf(path, sizeof(path), "/admin/v1/authorities/demo/intermediates/%s",
			 bad_ids[i]);
		run(f, &r, f->global, "DELETE", path, NULL, NULL, 0);
		assert_problem(&r, 404, "urn:subca:error:not_found", "no intermediate");
		subca_request_cleanup(&r);
	}
	run(f, &r, f->global, "DELETE", "/admin/v1/authorities/demo/intermediates/7", NULL,
	    NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "has no intermediate 7");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "DELETE", "/admin/v1/authorities/demo/intermediates/pending",
	    NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "discarded"),
							    "id")),
			 1);
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_object_get(j, "discarded"), "subject")),
			       "Demo Issuing CA"));
	json_decref(j);
	subca_request_cleanup(&r);
	j = get_json(f, "/admin/v1/authorities/demo", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
			    "needs-intermediate");
	json_decref(j);
	run(f, &r, f->global, "DELETE", "/admin/v1/authorities/demo/intermediates/pending",
	    NULL, NULL, 0);
	assert_problem(&r, 409, "urn:subca:error:no_pending", "no pending intermediate");
	subca_request_cleanup(&r);
	/* a scoped credential of another authority does not see it */
	run(f, &r, f->scoped, "DELETE", "/admin/v1/authorities/other/intermediates/pending",
	    NULL, NULL, 0);
	assert_int_equal(r.status, 404);
	subca_request_cleanup(&r);
}

static int64_t fx_rotated; /* the authority id fx_rotate_now was given */

static subca_result fx_rotate_now(const struct subca_server_env *env, int64_t id)
{
	fx_rotated = id;
	return SUBCA_OK;
}

static void test_rotation_run_is_queued_with_the_audit_id_to_watch_after(void **state)
{
	struct fx *f = *state;
	static const char set[] = "{\"rotate_before\":\"30d\",\"signer_command\":\"/bin/true\"}";
	struct subca_request r;
	struct subca_audit_list l = {0};
	json_t *j;

	/* no settings yet */
	f->env.rotate_now = fx_rotate_now;
	run(f, &r, f->global, "POST", "/admin/v1/authorities/demo/rotation/run", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no unattended rotation");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "PUT", "/admin/v1/authorities/demo/rotation", NULL, set,
	    strlen(set));
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
	/* a scoped token may not run a command on the server's host */
	run(f, &r, f->scoped, "POST", "/admin/v1/authorities/demo/rotation/run", NULL, NULL, 0);
	assert_problem(&r, 403, "urn:subca:error:policy", "only a global admin credential");
	subca_request_cleanup(&r);
	assert_int_equal(f->store->ops->audit_list(f->store, "demo", 1, &l), SUBCA_OK);
	run(f, &r, f->global, "POST", "/admin/v1/authorities/demo/rotation/run", NULL, NULL, 0);
	assert_int_equal(r.status, 202);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "rotation")), "started");
	/* rotation.done or .fail come after the newest entry before the ask */
	assert_int_equal(json_integer_value(json_object_get(j, "audit_after")), l.v[0].id);
	json_decref(j);
	subca_audit_list_cleanup(&l);
	subca_request_cleanup(&r);
	assert_int_equal(fx_rotated, 1);
	assert_int_equal(f->store->ops->audit_list(f->store, "demo", 1, &l), SUBCA_OK);
	assert_string_equal(l.v[0].action, "rotation.run");
	/* what a client watches: rotation entries after the ask */
	{
		char q[96];

		snprintf(q, sizeof(q), "authority=demo&after=%lld&action=rotation.",
			 (long long)(l.v[0].id - 1));
		j = get_json(f, "/admin/v1/audit", q);
		assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
		json_decref(j);
		snprintf(q, sizeof(q), "authority=demo&after=%lld&action=rotation.",
			 (long long)l.v[0].id);
		j = get_json(f, "/admin/v1/audit", q);
		assert_int_equal(json_array_size(json_object_get(j, "entries")), 0);
		json_decref(j);
	}
	subca_audit_list_cleanup(&l);
	run(f, &r, f->global, "GET", "/admin/v1/audit", "action=Rotation", NULL, 0);
	assert_problem(&r, 400, "urn:subca:error:invalid_argument", "lower-case letters");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "GET", "/admin/v1/audit", "after=-1", NULL, 0);
	assert_int_equal(r.status, 400);
	subca_request_cleanup(&r);
	/* no rotation thread: 503 */
	f->env.rotate_now = NULL;
	run(f, &r, f->global, "POST", "/admin/v1/authorities/demo/rotation/run", NULL, NULL, 0);
	assert_problem(&r, 503, "urn:subca:error:overloaded", "no rotation thread");
	subca_request_cleanup(&r);
}

static void test_intermediate_request_json_is_strict(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *body, *needle;
	} cases[] = {
		{"{\"org\":\"x\"}", "member \"cn\" is required"},
		{"{\"cn\":\"x\",\"permit_dns\":\"a.com\"}", "array of strings"},
		{"{\"cn\":\"x\",\"permit_dns\":[1]}", "array of strings"},
		{"{\"cn\":\"x\",\"path_len\":17}", "-1..16"},
		{"{\"cn\":\"x\",\"country\":\"USA\"}", "longer than 2 bytes"},
		{"{\"cn\":\"x\",\"csr\":\"x\"}", "unknown member \"csr\""},
	};
	struct subca_request r;
	char *root_pem = th_pem(f->root);

	put_expect(f, "/admin/v1/authorities/demo/root", NULL, root_pem, 200, "accepted");
	free(root_pem);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(f, &r, f->global, "POST", "/admin/v1/authorities/demo/intermediates", NULL,
		    cases[i].body, strlen(cases[i].body));
		assert_problem(&r, 400, "urn:subca:error:invalid_argument", cases[i].needle);
		subca_request_cleanup(&r);
	}
}

static void test_admin_api_body_caps(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	char *body = calloc(1, SUBCA_MAX_CERT_INPUT + 1);

	memset(body, ' ', SUBCA_MAX_CERT_INPUT + 1);
	/* JSON bodies: 64 KiB */
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, body,
	    SUBCA_MAX_REQUEST_BODY + 1);
	assert_int_equal(r.status, 413);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", "/admin/v1/authorities", NULL, body,
	    SUBCA_MAX_REQUEST_BODY);
	assert_int_equal(r.status, 400);
	subca_request_cleanup(&r);
	/* uploads: 1 MiB */
	run(f, &r, f->global, "PUT", "/admin/v1/authorities/demo/root", NULL, body,
	    SUBCA_MAX_CERT_INPUT + 1);
	assert_int_equal(r.status, 413);
	subca_request_cleanup(&r);
	run(f, &r, f->global, "PUT", "/admin/v1/authorities/demo/root", NULL, body,
	    SUBCA_MAX_CERT_INPUT);
	assert_true(r.status == 400 || r.status == 422);
	subca_request_cleanup(&r);
	free(body);
}

/* ---- provisioners ----------------------------------------------------- */

#define PROV_PATH "/admin/v1/authorities/demo/provisioners"

/* POST `body` to `path` with `token`, expecting `status`; the JSON. */
static json_t *post_json(struct fx *f, const char *token, const char *path,
			 const char *body, int status)
{
	struct subca_request r;
	json_t *j;

	run(f, &r, token, "POST", path, NULL, body, strlen(body));
	if (r.status != status)
		fail_msg("POST %s: %d %.*s", path, r.status, (int)r.out.len,
			 (const char *)r.out.p);
	j = body_json(&r);
	subca_request_cleanup(&r);
	return j;
}

/* A jwk provisioner's request with a fresh EC P-256 public key, plus
 * `extra` members inside the JWK (e.g. a private "d"). */
static char *jwk_body(const char *name, const char *extra)
{
	EVP_PKEY *k = th_key("ec-p256");
	json_t *jwk = NULL;
	char *text, *body;
	size_t n;

	assert_int_equal(subca_jwk_to_json(k, &jwk), SUBCA_OK);
	EVP_PKEY_free(k);
	text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(jwk);
	assert_non_null(text);
	text[strlen(text) - 1] = '\0'; /* drop the closing brace */
	n = strlen(text) + strlen(extra) + 256;
	body = malloc(n);
	snprintf(body, n,
		 "{\"name\":\"%s\",\"type\":\"jwk\",\"jwk\":%s%s},"
		 "\"policy\":{\"version\":1,\"allow_all_names\":true}}",
		 name, text, extra);
	free(text);
	return body;
}

static size_t prov_count(struct fx *f)
{
	json_t *j = get_json(f, PROV_PATH, NULL);
	size_t n = json_array_size(json_object_get(j, "provisioners"));

	json_decref(j);
	return n;
}

static void test_provisioners_add_list_and_remove_through_the_admin_api(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	struct subca_provisioner_rec rec = {0};
	static const char add[] =
		"{\"type\":\"apikey\",\"name\":\"ci\",\"policy\":{\"max_days\":30,"
		"\"dns\":[\"*.example.com\"],\"version\":1}}";
	char key[SUBCA_CREDENTIAL_SIZE], hash[SUBCA_CREDENTIAL_HASH_SIZE];
	char *jwk = jwk_body("deploy", "");
	json_t *j, *item;

	j = post_json(f, f->global, PROV_PATH, add, 201);
	item = json_object_get(j, "provisioner");
	assert_string_equal(json_string_value(json_object_get(item, "name")), "ci");
	assert_string_equal(json_string_value(json_object_get(item, "type")), "apikey");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(item, "policy"),
							    "max_days")),
			 30);
	assert_null(json_object_get(item, "jwk"));
	assert_int_equal(subca_credential_validate(SUBCA_SECRET_APIKEY,
						   json_string_value(json_object_get(j, "api_key"))),
			 SUBCA_OK);
	snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(j, "api_key")));
	json_decref(j);
	/* the store holds the key's hash (what /sign looks up) and the
	 * policy in canonical form, not as sent */
	assert_int_equal(subca_credential_hash(key, strlen(key), hash), SUBCA_OK);
	assert_int_equal(f->store->ops->provisioner_get_by_key_hash(f->store, 1, hash, &rec),
			 SUBCA_OK);
	assert_string_equal(rec.name, "ci");
	assert_string_equal(rec.policy,
			    "{\"version\":1,\"dns\":[\"*.example.com\"],\"max_days\":30}");
	subca_provisioner_rec_cleanup(&rec);

	j = post_json(f, f->global, PROV_PATH, jwk, 201);
	item = json_object_get(j, "provisioner");
	assert_string_equal(json_string_value(json_object_get(item, "type")), "jwk");
	assert_string_equal(json_string_value(json_object_get(json_object_get(item, "jwk"),
							      "kty")),
			    "EC");
	assert_null(json_object_get(j, "api_key"));
	json_decref(j);

	/* the key is shown once: never in the list */
	run(f, &r, f->global, "GET", PROV_PATH, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_null(memmem(r.out.p, r.out.len, key, strlen(key)));
	assert_null(memmem(r.out.p, r.out.len, hash, strlen(hash)));
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "provisioners")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "provisioners"), 0), "name")),
			    "ci");
	json_decref(j);
	subca_request_cleanup(&r);

	/* a name taken in the authority */
	run(f, &r, f->global, "POST", PROV_PATH, NULL, add, strlen(add));
	assert_problem(&r, 409, "urn:subca:error:exists",
		       "provisioner \"ci\" already exists");
	subca_request_cleanup(&r);

	run(f, &r, f->global, "DELETE", PROV_PATH "/ci", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
	assert_int_equal(prov_count(f), 1);
	assert_int_equal(f->store->ops->provisioner_get_by_key_hash(f->store, 1, hash, &rec),
			 SUBCA_E_NOT_FOUND);
	run(f, &r, f->global, "DELETE", PROV_PATH "/ci", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no provisioner \"ci\"");
	subca_request_cleanup(&r);

	/* audited with the request's actor */
	j = get_json(f, "/admin/v1/audit", "authority=demo&limit=3");
	item = json_array_get(json_object_get(j, "entries"), 0);
	assert_string_equal(json_string_value(json_object_get(item, "action")),
			    "provisioner.remove");
	assert_string_equal(json_string_value(json_object_get(item, "actor")), "token:1");
	item = json_array_get(json_object_get(j, "entries"), 2);
	assert_string_equal(json_string_value(json_object_get(item, "action")),
			    "provisioner.add");
	json_decref(j);
	subca_wipe(key, sizeof(key));
	free(jwk);
}

static void test_provisioner_routes_keep_to_the_token_scope(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	static const char add[] =
		"{\"name\":\"ci\",\"type\":\"apikey\",\"policy\":{\"version\":1,"
		"\"allow_all_names\":true}}";
	json_t *j;

	run(f, &r, f->scoped, "GET", "/admin/v1/authorities/other/provisioners", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"other\"");
	subca_request_cleanup(&r);
	run(f, &r, f->scoped, "POST", "/admin/v1/authorities/other/provisioners", NULL, add,
	    strlen(add));
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"other\"");
	subca_request_cleanup(&r);
	j = post_json(f, f->global, "/admin/v1/authorities/other/provisioners", add, 201);
	json_decref(j);
	run(f, &r, f->scoped, "DELETE", "/admin/v1/authorities/other/provisioners/ci", NULL, NULL,
	    0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"other\"");
	subca_request_cleanup(&r);
	/* the TLS authority is no tenant */
	run(f, &r, f->global, "GET", "/admin/v1/authorities/tls/provisioners", NULL, NULL, 0);
	assert_int_equal(r.status, 404);
	subca_request_cleanup(&r);
	/* its own authority: allowed */
	j = post_json(f, f->scoped, PROV_PATH, add, 201);
	json_decref(j);
	run(f, &r, f->scoped, "DELETE", PROV_PATH "/ci", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	subca_request_cleanup(&r);
	assert_int_equal(prov_count(f), 0);
}

static void test_provisioner_add_refuses_bad_json(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *body, *type, *needle;
	} cases[] = {
		{"[]", "invalid_argument", "must be a JSON object"},
		{"{\"type\":\"apikey\",\"policy\":{\"version\":1}}", "invalid_argument",
		 "member \"name\" is required"},
		{"{\"name\":\"Bad_Name\",\"type\":\"apikey\",\"policy\":{\"version\":1}}",
		 "bad_name", "provisioner name"},
		{"{\"name\":\"p\",\"type\":\"est\",\"policy\":{\"version\":1}}",
		 "invalid_argument", "member \"type\" must be"},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"acme\":{},"
		 "\"policy\":{\"version\":1}}",
		 "invalid_argument", "for type \"acme\" only"},
		{"{\"name\":\"p\",\"type\":\"acme\",\"acme\":{\"challenges\":"
		 "[\"smtp-01\"]},\"policy\":{\"version\":1}}",
		 "invalid_argument", "smtp-01"},
		{"{\"name\":\"p\",\"policy\":{\"version\":1}}", "invalid_argument",
		 "member \"type\" must be"},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"colour\":1,\"policy\":{}}",
		 "invalid_argument", "unknown member \"colour\""},
		{"{\"name\":\"p\",\"type\":\"apikey\"}", "invalid_argument",
		 "member \"policy\" is required"},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"policy\":[1]}", "invalid_argument",
		 "member \"policy\" must be an object"},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"policy\":{\"dns\":[\"a.example\"]}}",
		 "invalid_argument", "lacks \"version\""},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"policy\":{\"version\":1,\"colour\":1}}",
		 "invalid_argument", "unknown policy member \"colour\""},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"policy\":{\"version\":1,\"max_days\":\"9\"}}",
		 "invalid_argument", "policy member \"max_days\" must be an integer"},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"policy\":{\"version\":1,"
		 "\"dns\":[\"a..example\"]}}",
		 "invalid_argument", "a..example"},
		{"{\"name\":\"p\",\"type\":\"apikey\",\"jwk\":{},\"policy\":{\"version\":1}}",
		 "invalid_argument", "member \"jwk\" is only for type \"jwk\""},
		{"{\"name\":\"p\",\"type\":\"jwk\",\"policy\":{\"version\":1}}",
		 "invalid_argument", "member \"jwk\" (the public JWK) is required"},
		{"{\"name\":\"p\",\"type\":\"jwk\",\"jwk\":\"x\",\"policy\":{\"version\":1}}",
		 "invalid_argument", "member \"jwk\" must be a JWK object"},
		{"{\"name\":\"p\",\"type\":\"jwk\",\"jwk\":{\"kty\":\"EC\"},"
		 "\"policy\":{\"version\":1}}",
		 "bad_jwk", "crv"},
	};
	struct subca_request r;
	char *priv = jwk_body("p", ",\"d\":\"AAAA\"");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char type[64];

		snprintf(type, sizeof(type), "urn:subca:error:%s", cases[i].type);
		run(f, &r, f->global, "POST", PROV_PATH, NULL, cases[i].body,
		    strlen(cases[i].body));
		assert_problem(&r, 400, type, cases[i].needle);
		subca_request_cleanup(&r);
	}
	/* a JWK with a private member: refused, its value never echoed */
	run(f, &r, f->global, "POST", PROV_PATH, NULL, priv, strlen(priv));
	assert_problem(&r, 400, "urn:subca:error:private_key", "\"d\"");
	assert_null(memmem(r.out.p, r.out.len, "AAAA", 4));
	subca_request_cleanup(&r);
	free(priv);
	/* nothing was stored or audited */
	assert_int_equal(prov_count(f), 0);
	/* and an unknown authority or provisioner is a 404 */
	run(f, &r, f->global, "POST", "/admin/v1/authorities/nosuch/provisioners", NULL, "{}", 2);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"nosuch\"");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "DELETE", PROV_PATH "/No_Such", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no provisioner");
	subca_request_cleanup(&r);
}

/* ---- operator issuance, tokens, repeated revocation --------------------- */

#define ISSUE_PATH "/admin/v1/authorities/demo/certificates"

/* PEM text of a CSR for CN=cn (or of the public key, when csr is false),
 * as a JSON string literal's content (newlines escaped). */
static char *pem_member(const char *cn, bool csr, EVP_PKEY **key_out)
{
	EVP_PKEY *k = th_key("ec-p256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;
	json_t *s;

	if (csr) {
		X509_REQ *req = X509_REQ_new();
		X509_NAME *name = X509_REQ_get_subject_name(req);

		assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
							   (const unsigned char *)cn,
							   -1, -1, 0), 1);
		assert_int_equal(X509_REQ_set_pubkey(req, k), 1);
		assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
		assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
		X509_REQ_free(req);
	} else {
		assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
	}
	n = BIO_get_mem_data(bio, &data);
	s = json_stringn(data, (size_t)n);
	out = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	BIO_free(bio);
	if (key_out != NULL)
		*key_out = k;
	else
		EVP_PKEY_free(k);
	return out;
}

static void activate(struct fx *f)
{
	char *cert = byor(f);

	put_expect(f, "/admin/v1/authorities/demo/intermediates/pending/certificate", NULL,
		   cert, 200, "accepted");
	free(cert);
}

static void test_operator_issue_through_the_admin_api(void **state)
{
	struct fx *f = *state;
	char *csr = pem_member("www.example.com", true, NULL), body[4096];
	EVP_PKEY *key = NULL;
	char *pub = pem_member(NULL, false, &key);
	struct subca_request r;
	json_t *j;
	BIO *bio;
	X509 *leaf;

	/* not active yet: 409 */
	snprintf(body, sizeof(body), "{\"csr\":%s}", csr);
	run(f, &r, f->global, "POST", ISSUE_PATH, NULL, body, strlen(body));
	assert_problem(&r, 409, "urn:subca:error:not_active", "");
	subca_request_cleanup(&r);
	activate(f);

	j = post_json(f, f->scoped, ISSUE_PATH, body, 201);
	assert_non_null(strstr(json_string_value(json_object_get(j, "chain")),
			       "-----BEGIN CERTIFICATE-----"));
	assert_true(strlen(json_string_value(json_object_get(j, "serial"))) >= 16);
	assert_true(json_is_string(json_object_get(j, "not_after")));
	json_decref(j);

	/* a public key, cn, sans, days and eku: the leaf carries that key */
	snprintf(body, sizeof(body),
		 "{\"public_key\":%s,\"cn\":\"svc.example.com\","
		 "\"sans\":[\"DNS:svc.example.com\"],\"days\":7,\"eku\":[\"client\"]}",
		 pub);
	j = post_json(f, f->global, ISSUE_PATH, body, 201);
	bio = BIO_new_mem_buf(json_string_value(json_object_get(j, "chain")), -1);
	leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(leaf);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), key), 1);
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_CLIENT);
	X509_free(leaf);
	BIO_free(bio);
	json_decref(j);

	/* the scope holds: "other" does not exist for the demo token */
	snprintf(body, sizeof(body), "{\"csr\":%s}", csr);
	run(f, &r, f->scoped, "POST", "/admin/v1/authorities/other/certificates", NULL,
	    body, strlen(body));
	assert_problem(&r, 404, "urn:subca:error:not_found", "no authority named \"other\"");
	subca_request_cleanup(&r);
	free(csr);
	free(pub);
	EVP_PKEY_free(key);
}

static void test_operator_issue_refuses_bad_requests(void **state)
{
	struct fx *f = *state;
	char *csr = pem_member("www.example.com", true, NULL);
	char *pub = pem_member(NULL, false, NULL), body[4096];
	static const char priv[] = "-----BEGIN PRIVATE KEY-----\\nMC4=\\n-----END PRIVATE KEY-----\\n";
	const struct {
		const char *pre, *arg, *post, *type, *needle;
	} cases[] = {
		{"{\"csr\":", csr, ",\"public_key\":\"x\"}", "invalid_argument", "give either"},
		{"{\"cn\":\"", "a", "\"}", "invalid_argument", "give either"},
		{"{\"csr\":", csr, ",\"cn\":\"a\"}", "invalid_argument", "a CSR carries"},
		{"{\"csr\":", csr, ",\"color\":1}", "invalid_argument", "color"},
		{"{\"csr\":", csr, ",\"days\":0}", "invalid_argument", "days"},
		{"{\"csr\":", csr, ",\"eku\":[\"code\"]}", "invalid_argument", "\"eku\""},
		{"{\"public_key\":\"", priv, "\",\"cn\":\"a.example.com\"}", "private_key",
		 "send the public key only"},
		{"{\"public_key\":\"", "junk", "\",\"cn\":\"a.example.com\"}",
		 "invalid_argument", "not a PEM public key"},
		{"{\"csr\":\"", "junk", "\"}", "", ""},
		{"{\"public_key\":", pub, ",\"cn\":\"evil.test\"}", "name_constraints", ""},
	};
	struct subca_request r;

	activate(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "%s%s%s", cases[i].pre, cases[i].arg,
			 cases[i].post);
		run(f, &r, f->global, "POST", ISSUE_PATH, NULL, body, strlen(body));
		if (cases[i].type[0] != '\0') {
			char type[64];

			snprintf(type, sizeof(type), "urn:subca:error:%s", cases[i].type);
			assert_problem(&r, subca_error_http_status(
						   subca_error_from_name(cases[i].type)),
				       type, cases[i].needle);
		} else {
			assert_int_equal(r.status, 400);
		}
		subca_request_cleanup(&r);
	}
	free(csr);
	free(pub);
}

static void test_tokens_list_and_revoke_through_the_admin_api(void **state)
{
	struct fx *f = *state;
	struct subca_request r;
	json_t *j, *t;
	char *text, revoked[32];

	j = get_json(f, "/admin/v1/tokens", NULL);
	assert_int_equal(json_array_size(json_object_get(j, "tokens")), 2);
	t = json_array_get(json_object_get(j, "tokens"), 1);
	assert_string_equal(json_string_value(json_object_get(t, "status")), "active");
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "authorities"), 0)),
			    "demo");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "tokens"), 0),
						 "authorities")));
	/* neither the secrets nor their hashes */
	text = json_dumps(j, 0);
	assert_null(strstr(text, f->global + 10));
	assert_null(strstr(text, f->scoped + 10));
	assert_null(strstr(text, "hash"));
	free(text);
	json_decref(j);

	run(f, &r, f->scoped, "GET", "/admin/v1/tokens", NULL, NULL, 0);
	assert_problem(&r, 403, "urn:subca:error:policy", "only a global admin credential");
	subca_request_cleanup(&r);
	run(f, &r, f->scoped, "POST", "/admin/v1/tokens/1/revoke", NULL, NULL, 0);
	assert_problem(&r, 403, "urn:subca:error:policy", "only a global admin credential");
	subca_request_cleanup(&r);

	j = post_json(f, f->global, "/admin/v1/tokens/2/revoke", "", 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "revoked");
	snprintf(revoked, sizeof(revoked), "%s",
		 json_string_value(json_object_get(j, "revoked")));
	json_decref(j);
	run(f, &r, f->scoped, "GET", "/admin/v1/authorities/demo", NULL, NULL, 0);
	assert_problem(&r, 401, "urn:subca:error:auth", "revoked");
	subca_request_cleanup(&r);
	/* again: OK, the first time stays */
	j = post_json(f, f->global, "/admin/v1/tokens/2/revoke", "", 200);
	assert_string_equal(json_string_value(json_object_get(j, "revoked")), revoked);
	json_decref(j);
	run(f, &r, f->global, "POST", "/admin/v1/tokens/99/revoke", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no admin token with id 99");
	subca_request_cleanup(&r);
	run(f, &r, f->global, "POST", "/admin/v1/tokens/x1/revoke", NULL, NULL, 0);
	assert_problem(&r, 404, "urn:subca:error:not_found", "no admin token with such an id");
	subca_request_cleanup(&r);
}

static void test_revoking_twice_keeps_the_first_reason_and_says_so(void **state)
{
	struct fx *f = *state;
	char path[256], serial[80];
	json_t *j;

	activate(f);
	issue(f, "a.example.com", 10);
	j = get_json(f, "/admin/v1/authorities/demo/certificates", NULL);
	snprintf(serial, sizeof(serial), "%s",
		 json_string_value(json_object_get(
			 json_array_get(json_object_get(j, "certificates"), 0), "serial")));
	json_decref(j);
	/* with colons and upper case, as openssl prints serials */
	snprintf(path, sizeof(path), "/admin/v1/authorities/demo/certificates/%c%c:%s/revoke",
		 toupper((unsigned char)serial[0]), toupper((unsigned char)serial[1]), serial + 2);
	j = post_json(f, f->global, path, "{\"reason\":\"superseded\"}", 200);
	assert_false(json_is_true(json_object_get(j, "already_revoked")));
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "superseded");
	json_decref(j);
	j = post_json(f, f->global, path, "{\"reason\":\"keyCompromise\"}", 200);
	assert_true(json_is_true(json_object_get(j, "already_revoked")));
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "superseded");
	assert_string_equal(json_string_value(json_object_get(j, "serial")), serial);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_admin_api_refuses_requests_without_a_token),
		T(test_admin_api_refuses_a_malformed_authorization),
		T(test_admin_api_refuses_an_unknown_token),
		T(test_admin_api_refuses_an_api_key_as_admin_token),
		T(test_admin_api_refuses_revoked_and_expired_tokens),
		T(test_scoped_token_sees_only_its_authorities),
		T(test_scoped_token_gets_404_for_another_authority),
		T(test_scoped_token_gets_403_on_global_routes),
		T(test_byor_flow_through_the_admin_api),
		T(test_certificates_list_filters_pages_and_revokes),
		T(test_create_authority_and_token),
		T(test_admin_api_refuses_bad_json),
		T(test_intermediate_request_json_is_strict),
		T(test_pending_request_discarded_through_the_admin_api),
		T(test_rotation_run_is_queued_with_the_audit_id_to_watch_after),
		T(test_admin_api_body_caps),
		T(test_provisioners_add_list_and_remove_through_the_admin_api),
		T(test_provisioner_routes_keep_to_the_token_scope),
		T(test_provisioner_add_refuses_bad_json),
		T(test_operator_issue_through_the_admin_api),
		T(test_operator_issue_refuses_bad_requests),
		T(test_tokens_list_and_revoke_through_the_admin_api),
		T(test_revoking_twice_keeps_the_first_reason_and_says_so),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
