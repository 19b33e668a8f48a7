/*
 * The server's router and central pipeline (src/server/router.c, http.c):
 * routing by host and by path, unknown authorities, 405 with Allow, body
 * caps at the limit and one past, authentication not configured, problem
 * rendering, and a sweep of mutated hosts and paths. No sockets: requests
 * are built directly, against a real SQLite store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "subca/alloc.h"
#include "subca/authority.h"
#include "subca/store_sqlite.h"
#include "../../src/server/server_int.h"

/* ---- a test route table ------------------------------------------------- */

static int th_calls;

static subca_result th_ok(struct subca_request *req)
{
	char p[64] = "";

	th_calls++;
	if (req->match.nparams > 0)
		assert_int_equal(subca_request_param(req, 0, p, sizeof(p)),
				 SUBCA_OK);
	return subca_response_json(req, 200,
				   json_pack("{s:s?, s:s}", "authority",
					     req->authority, "param", p));
}

static subca_result th_fail(struct subca_request *req)
{
	th_calls++;
	SUBCA_BAIL(SUBCA_E_NOT_CA, "the certificate is not a CA");
}

static const struct subca_route th_routes[] = {
	{"GET", "/healthz", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0, th_ok},
	{"GET", "/things/{id}", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0, th_ok},
	{"DELETE", "/things/{id}", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 th_ok},
	{"GET", "/chain", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE, 0, th_ok},
	{"POST", "/upload", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE,
	 SUBCA_MAX_CERT_INPUT, th_ok},
	{"POST", "/small", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE, 0, th_ok},
	{"POST", "/sign", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PROVISIONER, 0,
	 th_ok},
	{"GET", "/fail", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0, th_fail},
	{"GET", "/ocsp/{req...}", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PUBLIC_HTTP,
	 0, th_ok},
};

static const struct subca_router th_router = {
	th_routes, sizeof(th_routes) / sizeof(th_routes[0]), "example.test"};

/* ---- fixture: a store with authorities "demo" (subdomain dm) and "tls" - */

struct fx {
	char *dir;
	struct subca_store *store;
	struct subca_server_env env;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct subca_ctx c = {0};
	char db[512];

	f->dir = th_tmpdir();
	snprintf(db, sizeof(db), "%s/subca.db", f->dir);
	assert_int_equal(subca_store_sqlite_open(db, true, &f->store), SUBCA_OK);
	c.store = f->store;
	c.actor = "test";
	c.now = TH_NOW;
	assert_int_equal(subca_authority_create(&c, "demo", "dm"), SUBCA_OK);
	assert_int_equal(subca_authority_create(&c, "tls", NULL), SUBCA_OK);
	f->env.router = th_router;
	f->env.tls_authority = "tls";
	*state = f;
	th_calls = 0;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	f->store->ops->close(f->store);
	th_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Run a request through the pipeline; the caller cleans it up. */
static void run(struct fx *f, struct subca_request *r, const char *method,
		const char *host, const char *path, size_t body_len)
{
	static uint8_t body[SUBCA_MAX_CERT_INPUT + 2];

	subca_request_init(r, &f->env, f->store, NULL, TH_NOW);
	r->method = method;
	r->host_header = host;
	r->path = path;
	r->body = subca_slice_of(body, body_len);
	subca__pipeline_run(r);
}

static json_t *body_json(const struct subca_request *r)
{
	json_t *j = json_loadb((const char *)r->out.p, r->out.len, 0, NULL);

	assert_non_null(j);
	return j;
}

static const char *header(const struct subca_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Assert a problem response: status, type suffix, detail substring. */
static void assert_problem(const struct subca_request *r, int status,
			   const char *type, const char *detail)
{
	json_t *j = body_json(r);
	char want[96];

	snprintf(want, sizeof(want), "urn:subca:error:%s", type);
	assert_int_equal(r->status, status);
	assert_string_equal(r->content_type, "application/problem+json");
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    want);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	assert_non_null(json_string_value(json_object_get(j, "title")));
	if (strstr(json_string_value(json_object_get(j, "detail")), detail) ==
	    NULL)
		fail_msg("detail \"%s\" lacks \"%s\"",
			 json_string_value(json_object_get(j, "detail")),
			 detail);
	json_decref(j);
}

static void assert_authority(const struct subca_request *r, const char *name)
{
	json_t *j = body_json(r);

	assert_int_equal(r->status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "authority")),
			    name);
	json_decref(j);
}

/* ---- router alone ---------------------------------------------------------- */

static void test_router_matches_server_route_on_any_host(void **state)
{
	struct subca_route_match m;

	assert_int_equal(subca__router_match(&th_router, "GET", "localhost:8443",
					     "/healthz", &m),
			 SUBCA_OK);
	assert_ptr_equal(m.route, &th_routes[0]);
	assert_int_equal(m.via, SUBCA_VIA_NONE);
	assert_int_equal(subca__router_match(&th_router, "GET", NULL,
					     "/healthz", &m),
			 SUBCA_OK);
	assert_int_equal(subca__router_match(&th_router, "GET", "example.test",
					     "/healthz", &m),
			 SUBCA_OK);
	assert_int_equal(m.via, SUBCA_VIA_NONE);
}

static void test_router_names_authority_by_path(void **state)
{
	struct subca_route_match m;

	assert_int_equal(subca__router_match(&th_router, "GET", "127.0.0.1",
					     "/a/demo/chain", &m),
			 SUBCA_OK);
	assert_int_equal(m.via, SUBCA_VIA_PATH);
	assert_string_equal(m.authority, "demo");
	assert_ptr_equal(m.route, &th_routes[3]);
	assert_string_equal(m.rel, "/chain");
}

static void test_router_names_authority_by_host_ignoring_case_port_and_dot(
	void **state)
{
	struct subca_route_match m;

	assert_int_equal(subca__router_match(&th_router, "GET",
					     "DM.Example.TEST.:8443", "/chain",
					     &m),
			 SUBCA_OK);
	assert_int_equal(m.via, SUBCA_VIA_HOST);
	assert_string_equal(m.authority, "dm");
	assert_string_equal(m.host, "dm.example.test");
	/* on an authority host, /a/... is just another authority path */
	th_assert_error(subca__router_match(&th_router, "GET",
					    "dm.example.test", "/a/demo/chain",
					    &m),
			SUBCA_E_NOT_FOUND,
			"authority \"dm\" has no endpoint /a/demo/chain");
}

static void test_router_refuses_host_more_than_one_label_below_base(
	void **state)
{
	struct subca_route_match m;

	th_assert_error(subca__router_match(&th_router, "GET",
					    "a.dm.example.test", "/chain", &m),
			SUBCA_E_NOT_FOUND, "no authority at a.dm.example.test");
	th_assert_error(subca__router_match(&th_router, "GET",
					    "dm_x.example.test", "/chain", &m),
			SUBCA_E_NOT_FOUND, "no authority at");
	/* a host that merely ends like the base is not below it */
	assert_int_equal(subca__router_match(&th_router, "GET",
					     "notexample.test", "/healthz", &m),
			 SUBCA_OK);
	assert_int_equal(m.via, SUBCA_VIA_NONE);
}

static void test_router_captures_the_rest_of_the_path_in_a_tail_parameter(void **state)
{
	struct subca_route_match m;

	assert_int_equal(subca__router_match(&th_router, "GET", NULL,
					     "/a/demo/ocsp/MEow/SDBG+A==", &m),
			 SUBCA_OK);
	assert_int_equal(m.nparams, 1);
	assert_int_equal(m.params[0].len, 13);
	assert_memory_equal(m.params[0].p, "MEow/SDBG+A==", 13);
	th_assert_error(subca__router_match(&th_router, "GET", NULL,
					    "/a/demo/ocsp/", &m),
			SUBCA_E_NOT_FOUND, "has no endpoint /ocsp/");
	th_assert_error(subca__router_match(&th_router, "GET", NULL,
					    "/a/demo/ocsp", &m),
			SUBCA_E_NOT_FOUND, "has no endpoint /ocsp");
}

static void test_router_captures_path_parameters(void **state)
{
	struct subca_route_match m;

	assert_int_equal(subca__router_match(&th_router, "GET", NULL,
					     "/things/42", &m),
			 SUBCA_OK);
	assert_int_equal(m.nparams, 1);
	assert_int_equal(m.params[0].len, 2);
	assert_memory_equal(m.params[0].p, "42", 2);
	th_assert_error(subca__router_match(&th_router, "GET", NULL,
					    "/things/", &m),
			SUBCA_E_NOT_FOUND, "no endpoint /things/");
	th_assert_error(subca__router_match(&th_router, "GET", NULL,
					    "/things/42/x", &m),
			SUBCA_E_NOT_FOUND, "no endpoint");
	th_assert_error(subca__router_match(&th_router, "GET", NULL,
					    "/healthz/", &m),
			SUBCA_E_NOT_FOUND, "no endpoint /healthz/");
}

static void test_router_lists_allowed_methods_for_405(void **state)
{
	struct subca_route_match m;

	th_assert_error(subca__router_match(&th_router, "PUT", NULL,
					    "/things/7", &m),
			SUBCA_E_METHOD_NOT_ALLOWED,
			"PUT is not allowed on /things/7 (allowed: GET, DELETE)");
	assert_string_equal(m.allow, "GET, DELETE");
	assert_null(m.route);
}

static void test_router_rejects_malformed_paths_and_hosts(void **state)
{
	struct subca_route_match m;

	th_assert_error(subca__router_match(&th_router, "GET", NULL, "healthz",
					    &m),
			SUBCA_E_INVALID_ARGUMENT, "must start with /");
	th_assert_error(subca__router_match(&th_router, "GET", NULL, NULL, &m),
			SUBCA_E_INVALID_ARGUMENT, "must start with /");
	th_assert_error(subca__router_match(&th_router, "GET", NULL,
					    "/heal\x01thz", &m),
			SUBCA_E_INVALID_ARGUMENT, "control or non-ASCII");
	th_assert_error(subca__router_match(&th_router, "GET", "a b", "/", &m),
			SUBCA_E_INVALID_ARGUMENT, "malformed Host header");
	th_assert_error(subca__router_match(&th_router, "GET", "[::1", "/", &m),
			SUBCA_E_INVALID_ARGUMENT, "unclosed IPv6 literal");
	assert_int_equal(subca__router_match(&th_router, "GET", "[::1]:8443",
					     "/healthz", &m),
			 SUBCA_OK);
	assert_string_equal(m.host, "[::1]");
	th_assert_error(subca__router_match(&th_router, "", NULL, "/healthz",
					    &m),
			SUBCA_E_INVALID_ARGUMENT, "missing request method");
}

static void test_router_path_cap_at_limit_and_one_past(void **state)
{
	char *path = malloc(SUBCA_MAX_REQUEST_PATH + 2);
	struct subca_route_match m;

	memset(path, 'x', SUBCA_MAX_REQUEST_PATH + 1);
	path[0] = '/';
	path[SUBCA_MAX_REQUEST_PATH] = '\0';
	th_assert_error(subca__router_match(&th_router, "GET", NULL, path, &m),
			SUBCA_E_NOT_FOUND, "no endpoint");
	path[SUBCA_MAX_REQUEST_PATH] = 'x';
	path[SUBCA_MAX_REQUEST_PATH + 1] = '\0';
	th_assert_error(subca__router_match(&th_router, "GET", NULL, path, &m),
			SUBCA_E_URI_TOO_LONG, "longer than 2048 bytes");
	free(path);
}

static void test_router_host_cap_at_limit_and_one_past(void **state)
{
	char host[SUBCA_HOST_MAX + 2];
	struct subca_route_match m;

	memset(host, 'h', sizeof(host));
	host[SUBCA_HOST_MAX] = '\0';
	assert_int_equal(subca__router_match(&th_router, "GET", host,
					     "/healthz", &m),
			 SUBCA_OK);
	host[SUBCA_HOST_MAX] = 'h';
	host[SUBCA_HOST_MAX + 1] = '\0';
	th_assert_error(subca__router_match(&th_router, "GET", host,
					    "/healthz", &m),
			SUBCA_E_INVALID_ARGUMENT, "longer than 255 bytes");
}

/* Truncations and bit flips of hosts and paths never crash and always
 * give one of the router's documented answers. */
static void test_router_survives_truncations_and_bit_flips(void **state)
{
	static const char *const inputs[][2] = {
		{"dm.example.test:8443", "/a/demo/chain"},
		{"[::1]:8443", "/things/abc"},
		{"example.test", "/a/"},
	};
	struct subca_route_match m;

	for (size_t k = 0; k < 3; k++) {
		char host[64], path[64];
		size_t hl = strlen(inputs[k][0]), pl = strlen(inputs[k][1]);

		for (size_t i = 0; i < hl * 8 + pl * 8; i++) {
			subca_result rv;

			snprintf(host, sizeof(host), "%s", inputs[k][0]);
			snprintf(path, sizeof(path), "%s", inputs[k][1]);
			if (i < hl * 8)
				host[i / 8] ^= (char)(1 << (i % 8));
			else
				path[(i - hl * 8) / 8] ^=
					(char)(1 << ((i - hl * 8) % 8));
			rv = subca__router_match(&th_router, "GET", host, path,
						 &m);
			assert_true(rv == SUBCA_OK || rv == SUBCA_E_NOT_FOUND ||
				    rv == SUBCA_E_INVALID_ARGUMENT ||
				    rv == SUBCA_E_METHOD_NOT_ALLOWED);
			assert_true(rv != SUBCA_OK || m.route != NULL);
		}
		for (size_t n = 0; n <= pl; n++) {
			snprintf(path, sizeof(path), "%.*s", (int)n,
				 inputs[k][1]);
			subca_result rv = subca__router_match(
				&th_router, "GET", inputs[k][0], path, &m);

			assert_true(rv == SUBCA_OK || rv == SUBCA_E_NOT_FOUND ||
				    rv == SUBCA_E_INVALID_ARGUMENT);
		}
	}
	subca_error_clear();
}

/* ---- the pipeline -------------------------------------------------------------- */

static void test_pipeline_resolves_authority_by_path_and_by_host(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "GET", "localhost", "/a/demo/chain", 0);
	assert_authority(&r, "demo");
	subca_request_cleanup(&r);
	run(f, &r, "GET", "dm.example.test", "/chain", 0);
	assert_authority(&r, "demo");
	assert_int_equal(r.authority_rec.state, SUBCA_AUTH_NEEDS_ROOT);
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 2);
}

static void test_pipeline_unknown_authority_is_404_problem(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "GET", "localhost", "/a/nope/chain", 0);
	assert_problem(&r, 404, "not_found", "no authority named \"nope\"");
	subca_request_cleanup(&r);
	/* whatever the rest of the path or the method */
	run(f, &r, "PUT", "localhost", "/a/nope/whatever", 0);
	assert_problem(&r, 404, "not_found", "no authority named \"nope\"");
	subca_request_cleanup(&r);
	run(f, &r, "GET", "xx.example.test", "/chain", 0);
	assert_problem(&r, 404, "not_found", "no authority at xx.example.test");
	subca_request_cleanup(&r);
	run(f, &r, "GET", "localhost", "/a/Bad_Name/chain", 0);
	assert_problem(&r, 404, "not_found", "no authority named \"Bad_Name\"");
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 0);
}

static void test_pipeline_hides_the_tls_authority(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "GET", "localhost", "/a/tls/chain", 0);
	assert_problem(&r, 404, "not_found", "no authority named \"tls\"");
	subca_request_cleanup(&r);
	run(f, &r, "GET", "tls.example.test", "/chain", 0);
	assert_problem(&r, 404, "not_found", "no authority at tls.example.test");
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 0);
}

static void test_pipeline_method_not_allowed_is_405_with_allow(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "POST", "localhost", "/a/demo/chain", 0);
	assert_problem(&r, 405, "method_not_allowed",
		       "POST is not allowed on /chain (allowed: GET)");
	assert_string_equal(header(&r, "Allow"), "GET");
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 0);
}

static void test_pipeline_unknown_endpoint_is_404(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "GET", "localhost", "/nothing", 0);
	assert_problem(&r, 404, "not_found", "no endpoint /nothing");
	subca_request_cleanup(&r);
	run(f, &r, "GET", "localhost", "/a/demo", 0);
	assert_problem(&r, 404, "not_found",
		       "authority \"demo\" has no endpoint /");
	subca_request_cleanup(&r);
}

static void test_pipeline_default_body_cap_at_limit_and_one_past(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "POST", "localhost", "/a/demo/small", SUBCA_MAX_REQUEST_BODY);
	assert_authority(&r, "demo");
	subca_request_cleanup(&r);
	run(f, &r, "POST", "localhost", "/a/demo/small",
	    SUBCA_MAX_REQUEST_BODY + 1);
	assert_problem(&r, 413, "too_large",
		       "the request body of 65537 bytes is over the limit of "
		       "65536 bytes");
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 1);
}

static void test_pipeline_upload_body_cap_at_limit_and_one_past(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "POST", "dm.example.test", "/upload", SUBCA_MAX_CERT_INPUT);
	assert_authority(&r, "demo");
	subca_request_cleanup(&r);
	run(f, &r, "POST", "dm.example.test", "/upload",
	    SUBCA_MAX_CERT_INPUT + 1);
	assert_problem(&r, 413, "too_large",
		       "1048577 bytes is over the limit of 1048576 bytes");
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 1);
}

static void test_pipeline_authenticated_route_without_auth_is_401(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "POST", "localhost", "/a/demo/sign", 10);
	assert_problem(&r, 401, "auth", "authentication is not configured");
	subca_request_cleanup(&r);
	run(f, &r, "DELETE", "localhost", "/things/1", 0);
	assert_problem(&r, 401, "auth", "authentication is not configured");
	subca_request_cleanup(&r);
	/* the body cap comes first */
	run(f, &r, "POST", "localhost", "/a/demo/sign",
	    SUBCA_MAX_REQUEST_BODY + 1);
	assert_problem(&r, 413, "too_large", "over the limit");
	subca_request_cleanup(&r);
	assert_int_equal(th_calls, 0);
}

static int th_auth_seen;

static subca_result th_auth_check(struct subca_request *req,
				  enum subca_auth_kind kind)
{
	th_auth_seen = (int)kind;
	SUBCA_ENSURE(subca_request_header(req, "Authorization") != NULL,
		     SUBCA_E_AUTH, "no credential");
	req->ctx.actor = "token:test";
	return SUBCA_OK;
}

static const char *th_headers(const struct subca_request *r, const char *n)
{
	return strcmp(n, "Authorization") == 0 ? r->transport : NULL;
}

static void test_pipeline_calls_the_auth_hook_with_the_route_kind(void **state)
{
	static const struct subca_auth_ops ops = {th_auth_check, NULL};
	struct fx *f = *state;
	struct subca_request r;

	f->env.auth = &ops;
	run(f, &r, "POST", "localhost", "/a/demo/sign", 10);
	assert_problem(&r, 401, "auth", "no credential");
	assert_int_equal(th_auth_seen, SUBCA_CRED_PROVISIONER);
	subca_request_cleanup(&r);

	subca_request_init(&r, &f->env, f->store, NULL, TH_NOW);
	r.method = "POST";
	r.path = "/a/demo/sign";
	r.header_fn = th_headers;
	r.transport = "Bearer x";
	subca__pipeline_run(&r);
	assert_authority(&r, "demo");
	assert_string_equal(r.ctx.actor, "token:test");
	subca_request_cleanup(&r);
}

static void test_pipeline_handler_error_becomes_problem(void **state)
{
	struct fx *f = *state;
	struct subca_request r;

	run(f, &r, "GET", "localhost", "/fail", 0);
	assert_problem(&r, 403, "not_ca", "the certificate is not a CA");
	assert_int_equal(r.error, SUBCA_E_NOT_CA);
	subca_request_cleanup(&r);
}

static void test_problem_renders_rfc7807_members_and_hint(void **state)
{
	struct subca_buf b;
	json_t *j;

	assert_int_equal(subca__problem_render(SUBCA_E_WEAK_KEY,
					       "RSA key of 1024 bits",
					       "use 2048 bits", &b),
			 SUBCA_OK);
	j = json_loadb((const char *)b.p, b.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "urn:subca:error:weak_key");
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "key too weak");
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 403);
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "RSA key of 1024 bits");
	assert_string_equal(json_string_value(json_object_get(j, "hint")),
			    "use 2048 bits");
	json_decref(j);
	subca_buf_cleanup(&b);
}

static void test_problem_cuts_untrusted_bytes_to_printable(void **state)
{
	struct subca_buf b;
	json_t *j;

	/* invalid UTF-8 and control bytes would make jansson refuse */
	assert_int_equal(subca__problem_render(SUBCA_E_NOT_FOUND,
					       "no \xff\xfe\n\"x\"", NULL, &b),
			 SUBCA_OK);
	j = json_loadb((const char *)b.p, b.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "no ???\"x\"");
	assert_null(json_object_get(j, "hint"));
	json_decref(j);
	subca_buf_cleanup(&b);
	assert_int_equal(subca__problem_status(SUBCA_E_OVERLOADED), 503);
	assert_int_equal(subca__problem_status(SUBCA_E_METHOD_NOT_ALLOWED), 405);
	assert_int_equal(subca__problem_status(SUBCA_E_TOO_LARGE), 413);
	assert_int_equal(subca__problem_status(SUBCA_E_REQUEST_TIMEOUT), 408);
	assert_int_equal(subca__problem_status(SUBCA_E_HEADERS_TOO_LARGE), 431);
	assert_int_equal(subca__problem_status(SUBCA_E_URI_TOO_LONG), 414);
	assert_int_equal(subca__problem_status(SUBCA_E_NOT_IMPLEMENTED), 501);
	assert_int_equal(subca__problem_status(SUBCA_E_BAD_HTTP), 400);
}

static void test_metrics_render_counts_and_escapes_labels(void **state)
{
	struct subca_buf b;

	assert_int_equal(subca_metrics_init(th_routes, 8), SUBCA_OK);
	subca_metrics_request(&th_routes[3], "GET", 200, 0.002);
	subca_metrics_request(&th_routes[3], "GET", 200, 0.2);
	subca_metrics_request(NULL, "BREW", 404, 0.001);
	subca_metrics_issuance("demo", "ci \"bot\"\n", "issued");
	subca_metrics_commit_batch(3);
	assert_int_equal(subca_metrics_render(5, &b), SUBCA_OK);
	assert_int_equal(subca_buf_terminate(&b), SUBCA_OK);
	assert_non_null(strstr((char *)b.p,
			       "subca_requests_total{route=\"/a/{authority}/"
			       "chain\",method=\"GET\",status=\"200\"} 2\n"));
	assert_non_null(strstr((char *)b.p,
			       "subca_requests_total{route=\"none\",method="
			       "\"other\",status=\"404\"} 1\n"));
	assert_non_null(strstr((char *)b.p,
			       "subca_request_duration_seconds_bucket{route="
			       "\"/a/{authority}/chain\",le=\"0.0025\"} 1\n"));
	assert_non_null(strstr((char *)b.p, "subca_connections_active 5\n"));
	assert_non_null(strstr((char *)b.p,
			       "subca_issuances_total{authority=\"demo\","
			       "provisioner=\"ci \\\"bot\\\"\\n\",result="
			       "\"issued\"} 1\n"));
	assert_non_null(strstr((char *)b.p,
			       "subca_store_commit_batch_size_bucket{le=\"2\"} 0\n"
			       "subca_store_commit_batch_size_bucket{le=\"4\"} 1\n"));
	subca_buf_cleanup(&b);
	subca_metrics_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_matches_server_route_on_any_host),
		cmocka_unit_test(test_router_names_authority_by_path),
		cmocka_unit_test(
			test_router_names_authority_by_host_ignoring_case_port_and_dot),
		cmocka_unit_test(
			test_router_refuses_host_more_than_one_label_below_base),
		cmocka_unit_test(test_router_captures_path_parameters),
		cmocka_unit_test(test_router_captures_the_rest_of_the_path_in_a_tail_parameter),
		cmocka_unit_test(test_router_lists_allowed_methods_for_405),
		cmocka_unit_test(test_router_rejects_malformed_paths_and_hosts),
		cmocka_unit_test(test_router_path_cap_at_limit_and_one_past),
		cmocka_unit_test(test_router_host_cap_at_limit_and_one_past),
		cmocka_unit_test(test_router_survives_truncations_and_bit_flips),
		cmocka_unit_test_setup_teardown(
			test_pipeline_resolves_authority_by_path_and_by_host,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_unknown_authority_is_404_problem, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_hides_the_tls_authority, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_method_not_allowed_is_405_with_allow,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_unknown_endpoint_is_404, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_default_body_cap_at_limit_and_one_past,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_upload_body_cap_at_limit_and_one_past,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_authenticated_route_without_auth_is_401,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_calls_the_auth_hook_with_the_route_kind,
			fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_pipeline_handler_error_becomes_problem, fx_setup,
			fx_teardown),
		cmocka_unit_test(test_problem_renders_rfc7807_members_and_hint),
		cmocka_unit_test(test_problem_cuts_untrusted_bytes_to_printable),
		cmocka_unit_test(test_metrics_render_counts_and_escapes_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
