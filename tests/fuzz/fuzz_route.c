/*
 * Fuzz target: the server's router and central pipeline on arbitrary
 * request bytes. Input: METHOD \n HOST \n PATH [\n BODY]; a missing part is
 * absent (HOST) or empty. Authority lookups are stubbed ("demo" by name,
 * "dm" by subdomain), so no store is needed; problems are rendered as the
 * server would and must be valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/server_int.h"
#include "subca/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static subca_result fz_handler(struct subca_request *req)
{
	char p[SUBCA_MAX_LABEL + 1];

	if (req->match.nparams > 0 &&
	    subca_request_param(req, 0, p, sizeof(p)) != SUBCA_OK)
		return subca_error_code();
	return subca_response_bytes(req, 200, "text/plain", "ok", 2);
}

static const struct subca_route fz_routes[] = {
	{"GET", "/healthz", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0, fz_handler},
	{"GET", "/things/{id}", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0,
	 fz_handler},
	{"DELETE", "/things/{id}/{sub}", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 fz_handler},
	{"GET", "/chain", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE, 0, fz_handler},
	{"POST", "/sign", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PROVISIONER, 16,
	 fz_handler},
};

static subca_result fz_resolve(struct subca_request *req)
{
	const char *want = req->match.via == SUBCA_VIA_HOST ? "dm" : "demo";

	SUBCA_ENSURE(strcmp(req->match.authority, want) == 0,
		     SUBCA_E_NOT_FOUND, "no authority named \"%s\"",
		     req->match.authority);
	req->authority_rec.name = subca_strdup("demo");
	SUBCA_ENSURE(req->authority_rec.name != NULL, SUBCA_E_NOMEM,
		     "out of memory");
	return SUBCA_OK;
}

/* The next part up to '\n' as a C string (malloc'd), or NULL at the end. */
static char *fz_part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl;
	size_t n;
	char *s;

	if (*p > end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	s = malloc(n + 1);
	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *method = fz_part(&p, end);
	char *host = fz_part(&p, end);
	char *path = fz_part(&p, end);
	struct subca_server_env env = {0};
	struct subca_request r;
	json_t *j;

	env.router.routes = fz_routes;
	env.router.n = sizeof(fz_routes) / sizeof(fz_routes[0]);
	env.router.base_domain = "example.test";
	env.resolve = fz_resolve;
	env.tls_authority = "tls";
	subca_request_init(&r, &env, NULL, NULL, 0);
	r.method = method ? method : "";
	r.host_header = host;
	r.path = path;
	if (p < end)
		r.body = subca_slice_of(p, (size_t)(end - p));
	subca__pipeline_run(&r);
	if (r.status != 200) {
		j = json_loadb((const char *)r.out.p, r.out.len, 0, NULL);
		if (j == NULL || r.status < 400)
			abort(); /* every refusal is a JSON problem */
		json_decref(j);
	}
	subca_request_cleanup(&r);
	free(method);
	free(host);
	free(path);
	return 0;
}
