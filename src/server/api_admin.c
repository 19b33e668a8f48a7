/*
 * The admin API (/admin/v1, docs/api.md): the authority lifecycle over HTTP,
 * through the same core calls the CLI makes (authority.h) and the store.
 * Every JSON answer has the shape of the matching `subca ... --json` output.
 * Request bodies are parsed strictly: an object, known members only, each
 * of its JSON type, every string bounded; anything else is a 400 problem
 * naming the member. Authentication and the authority scope of the
 * credential were checked by the hook (auth.c) before any handler runs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/pem.h>

#include "acme/acme.h"
#include "admin_int.h"
#include "jose.h"
#include "policy_json.h"
#include "provisioner.h"
#include "rotation.h"
#include "revocation_int.h"
#include "views.h"
#include "subca/credential.h"
#include "subca/alloc.h"
#include "subca/certin.h"
#include "subca/issue.h"
#include "subca/instructions.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define SUBCA__JSON_MAX_NAMES SUBCA_MAX_NAMES
#define SUBCA__QUERY_VALUE_MAX 256

/* ---- strict request JSON ------------------------------------------------- */

/* The body as a JSON object; an empty body is {} when `empty_ok`. */
static subca_result subca__body_object(const struct subca_request *req,
				       bool empty_ok, json_t **out)
{
	json_error_t e;
	json_t *v;

	if (req->body.len == 0 && empty_ok) {
		*out = json_object();
		SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
		return SUBCA_OK;
	}
	v = json_loadb((const char *)req->body.p, req->body.len,
		       JSON_REJECT_DUPLICATES, &e);
	SUBCA_ENSURE(v != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the request body is not valid JSON: %.80s (line %d, "
		     "column %d)",
		     e.text, e.line, e.column);
	if (!json_is_object(v)) {
		json_decref(v);
		SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
			   "the request body must be a JSON object");
	}
	*out = v;
	return SUBCA_OK;
}

/* Refuse members not in the NULL-terminated list `known`. */
static subca_result subca__known_members(json_t *o, const char *what,
					 const char *const *known)
{
	const char *key;
	json_t *v;
	char safe[64];

	json_object_foreach(o, key, v) {
		size_t i = 0;

		while (known[i] != NULL && strcmp(known[i], key) != 0)
			i++;
		if (known[i] != NULL)
			continue;
		subca__printable(key, strlen(key), safe, sizeof(safe));
		SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
			   "unknown member \"%s\" in %s", safe, what);
	}
	return SUBCA_OK;
}

/* Optional string member of at most `max` bytes (NULL when absent). */
static subca_result subca__member_str(json_t *o, const char *key, size_t max,
				      const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_string(v), SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" must be a string", key);
	SUBCA_ENSURE(json_string_length(v) <= max, SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" is longer than %zu bytes", key, max);
	SUBCA_ENSURE(strlen(json_string_value(v)) == json_string_length(v),
		     SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" contains a NUL character", key);
	*out = json_string_value(v);
	return SUBCA_OK;
}

/* Optional integer member in min..max (*out unchanged when absent). */
static subca_result subca__member_int(json_t *o, const char *key, long min,
				      long max, int *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t i;

	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_integer(v), SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" must be an integer", key);
	i = json_integer_value(v);
	SUBCA_ENSURE(i >= min && i <= max, SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" must be in %ld..%ld", key, min, max);
	*out = (int)i;
	return SUBCA_OK;
}

/* Optional array of strings; the pointers borrow from `o`. */
static subca_result subca__member_names(json_t *o, const char *key,
					const char **store,
					struct subca_names *out)
{
	json_t *v = json_object_get(o, key), *it;
	size_t i;

	out->v = store;
	out->n = 0;
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_array(v), SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" must be an array of strings", key);
	SUBCA_ENSURE(json_array_size(v) <= SUBCA__JSON_MAX_NAMES,
		     SUBCA_E_INVALID_ARGUMENT,
		     "member \"%s\" has more than %d entries", key,
		     SUBCA__JSON_MAX_NAMES);
	json_array_foreach(v, i, it) {
		SUBCA_ENSURE(json_is_string(it) &&
				     json_string_length(it) <= SUBCA_MAX_DN_VALUE &&
				     strlen(json_string_value(it)) ==
					     json_string_length(it),
			     SUBCA_E_INVALID_ARGUMENT,
			     "member \"%s\" must be an array of strings of at "
			     "most %d bytes",
			     key, SUBCA_MAX_DN_VALUE);
		store[i] = json_string_value(it);
	}
	out->n = json_array_size(v);
	return SUBCA_OK;
}

/* ---- query strings ------------------------------------------------------- */

static int subca__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode (RFC 3986 2.1, '+' as a space) n bytes into buf. */
static subca_result subca__pct_decode(const char *s, size_t n, char *buf,
				      size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? subca__hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? subca__hexval(s[i + 2]) : -1;

			/* no NUL: values are C strings from here on */
			SUBCA_ENSURE(hi >= 0 && lo >= 0 && (hi | lo) != 0,
				     SUBCA_E_INVALID_ARGUMENT,
				     "bad percent-encoding in the query");
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		SUBCA_ENSURE(o + 1 < len, SUBCA_E_INVALID_ARGUMENT,
			     "a query parameter is longer than %zu bytes",
			     len - 1);
		buf[o++] = c;
	}
	buf[o] = '\0';
	return SUBCA_OK;
}

/*
 * Check the query: only parameters in `known`, each at most once. Then
 * subca__query_get reads them.
 */
static subca_result subca__query_check(const struct subca_request *req,
				       const char *const *known)
{
	const char *q = req->query;
	unsigned seen = 0;

	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&"), k = strcspn(q, "=&");
		size_t i = 0;
		char safe[32];

		while (known[i] != NULL &&
		       (strlen(known[i]) != k || strncmp(known[i], q, k) != 0))
			i++;
		if (known[i] == NULL) {
			subca__printable(q, k < sizeof(safe) - 1 ? k : sizeof(safe) - 1,
					 safe, sizeof(safe));
			SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
				   "unknown query parameter \"%s\"", safe);
		}
		SUBCA_ENSURE(!(seen & (1u << i)), SUBCA_E_INVALID_ARGUMENT,
			     "query parameter \"%s\" given twice", known[i]);
		seen |= 1u << i;
		q += n + (q[n] == '&');
	}
	return SUBCA_OK;
}

/* Query parameter `name` decoded into buf; *found false when absent. */
static subca_result subca__query_get(const struct subca_request *req,
				     const char *name, char *buf, size_t len,
				     bool *found)
{
	const char *q = req->query;
	size_t nl = strlen(name);

	*found = false;
	buf[0] = '\0';
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&"), k = strcspn(q, "=&");

		if (k == nl && strncmp(q, name, nl) == 0) {
			*found = true;
			return k < n ? subca__pct_decode(q + k + 1, n - k - 1,
							 buf, len)
				     : SUBCA_OK;
		}
		q += n + (q[n] == '&');
	}
	return SUBCA_OK;
}

static subca_result subca__parse_i64(const char *what, const char *s,
				     int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	SUBCA_ENSURE(s[0] >= '0' && s[0] <= '9' && errno == 0 && *end == '\0' &&
			     v >= min && v <= max,
		     SUBCA_E_INVALID_ARGUMENT,
		     "%s must be a number in %lld..%lld", what, (long long)min,
		     (long long)max);
	*out = (int64_t)v;
	return SUBCA_OK;
}

/* Unix seconds, or "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC). */
static subca_result subca__parse_time(const char *what, const char *s,
				      int64_t *out)
{
	struct tm tm = {0};
	const char *end;

	if (strchr(s, '-') == NULL)
		return subca__parse_i64(what, s, 1, INT64_C(253402300799), out);
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	SUBCA_ENSURE(end != NULL && *end == '\0', SUBCA_E_INVALID_ARGUMENT,
		     "%s must be unix seconds or YYYY-MM-DDTHH:MM:SSZ", what);
	*out = (int64_t)timegm(&tm);
	return SUBCA_OK;
}

/* ---- common steps -------------------------------------------------------- */

/* The {name} path parameter: one DNS label (else 404 like an unknown one). */
static subca_result subca__name_param(const struct subca_request *req,
				      char name[SUBCA_MAX_LABEL + 1])
{
	subca_result rv = subca_request_param(req, 0, name, SUBCA_MAX_LABEL + 1);

	if (rv == SUBCA_OK && subca_label_validate("authority name", name) ==
				      SUBCA_OK)
		return SUBCA_OK;
	SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority with such a name");
}

static subca_result subca__authority_get(struct subca_request *req,
					 const char *name,
					 struct subca_authority_rec *out)
{
	SUBCA_TRY(subca_authority_get(&req->ctx, name, out));
	/* the server's own TLS authority is not a tenant */
	if (req->env != NULL && req->env->tls_authority != NULL &&
	    strcmp(out->name, req->env->tls_authority) == 0) {
		subca_authority_rec_cleanup(out);
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"", name);
	}
	return SUBCA_OK;
}

/* Answer a verification report: 200 when accepted, else the problem of
 * the first refusal with the report's refusals and warnings in it. */
static subca_result subca__report_answer(struct subca_request *req,
					 subca_result rv,
					 const struct subca_report *report,
					 int ok_status)
{
	struct subca_buf body;
	json_t *rep, *prob;

	rep = subca_view_report(report);
	SUBCA_ENSURE(rep != NULL, SUBCA_E_NOMEM, "out of memory");
	if (rv == SUBCA_OK)
		return subca_response_json(req, ok_status, rep);
	if (subca__problem_render(rv, subca_error_reason(),
				  subca_error_hint_text(), &body) != SUBCA_OK) {
		json_decref(rep);
		subca_buf_cleanup(&body);
		return rv;
	}
	prob = json_loadb((const char *)body.p, body.len, 0, NULL);
	subca_buf_cleanup(&body);
	if (prob == NULL) {
		json_decref(rep);
		return rv;
	}
	json_object_set(prob, "result", json_object_get(rep, "result"));
	json_object_set(prob, "refusals", json_object_get(rep, "refusals"));
	json_object_set(prob, "warnings", json_object_get(rep, "warnings"));
	json_decref(rep);
	SUBCA_TRY(subca_response_json(req, subca__problem_status(rv), prob));
	req->content_type = "application/problem+json";
	req->error = rv;
	return SUBCA_OK;
}

/* ---- authorities --------------------------------------------------------- */

static subca_result subca__view_load(struct subca_request *req,
				     const char *name,
				     struct subca_authority_view *v)
{
	SUBCA_TRY(subca__authority_get(req, name, &v->a));
	v->now = req->ctx.now;
	return subca_authority_view_fill(req->ctx.store, v);
}

static subca_result subca__view_answer(struct subca_request *req,
				       const char *name, int status)
{
	struct subca_authority_view v = {0};
	subca_result rv = subca__view_load(req, name, &v);

	if (rv == SUBCA_OK)
		rv = subca_response_json(req, status, subca_authority_view_json(&v));
	subca_authority_view_cleanup(&v);
	return rv;
}

/* GET /admin/v1/authorities: those the credential may see. */
subca_result subca__admin_authorities_list(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_authority_list l = {0};
	const char *tls = req->env ? req->env->tls_authority : NULL;
	json_t *arr = json_array();

	SUBCA_ENSURE(arr != NULL, SUBCA_E_NOMEM, "out of memory");
	if (st->ops->authority_list(st, &l) != SUBCA_OK) {
		json_decref(arr);
		return subca_error_code();
	}
	for (size_t i = 0; i < l.n; i++) {
		if (!subca__admin_allows(req, l.v[i].name) ||
		    (tls != NULL && strcmp(l.v[i].name, tls) == 0))
			continue;
		json_array_append_new(arr, subca_view_authority_item(&l.v[i]));
	}
	subca_authority_list_cleanup(&l);
	return subca_response_json(req, 200, json_pack("{s:o}", "authorities",
						       arr));
}

static subca_result subca__generated_opts(json_t *g,
					  struct subca_generated_root_opts *o)
{
	static const char *const known[] = {"key", "root_cn", "days", NULL};
	const char *key = NULL;

	SUBCA_ENSURE(json_is_object(g), SUBCA_E_INVALID_ARGUMENT,
		     "member \"generate_root\" must be an object");
	SUBCA_TRY(subca__known_members(g, "\"generate_root\"", known));
	SUBCA_TRY(subca__member_str(g, "key", 32, &key));
	if (key != NULL)
		SUBCA_TRY(subca_key_type_parse(key, &o->root_key));
	SUBCA_TRY(subca__member_str(g, "root_cn", SUBCA_MAX_DN_VALUE,
				    &o->root_cn));
	return subca__member_int(g, "days", 1, 36600, &o->root_days);
}

/* POST /admin/v1/authorities (global credential) */
subca_result subca__admin_authority_create(struct subca_request *req)
{
	static const char *const known[] = {"name", "subdomain",
					    "generate_root", NULL};
	struct subca_generated_root_opts g = {
		.root_key = SUBCA_KEY_EC_P384,
		.intermediate_key = SUBCA_KEY_EC_P256,
	};
	const char *name = NULL, *sub = NULL;
	json_t *o = NULL, *gen;
	char copy[SUBCA_MAX_LABEL + 1];
	subca_result rv;

	SUBCA_TRY(subca__body_object(req, false, &o));
	rv = subca__known_members(o, "the request", known);
	if (rv == SUBCA_OK)
		rv = subca__member_str(o, "name", SUBCA_MAX_LABEL, &name);
	if (rv == SUBCA_OK && name == NULL)
		rv = subca_error_set(SUBCA_E_INVALID_ARGUMENT, __FILE__,
				     __LINE__, "member \"name\" is required");
	if (rv == SUBCA_OK)
		rv = subca__member_str(o, "subdomain", SUBCA_MAX_LABEL, &sub);
	gen = json_object_get(o, "generate_root");
	if (rv == SUBCA_OK && gen != NULL)
		rv = subca__generated_opts(gen, &g);
	if (rv == SUBCA_OK && req->env != NULL &&
	    req->env->tls_authority != NULL &&
	    strcasecmp(name, req->env->tls_authority) == 0)
		rv = subca_error_set(SUBCA_E_EXISTS, __FILE__, __LINE__,
				     "authority name \"%s\" is taken", name);
	if (rv == SUBCA_OK)
		rv = gen ? subca_authority_create_generated(&req->ctx, name,
							     sub, &g)
			 : subca_authority_create(&req->ctx, name, sub);
	if (rv == SUBCA_OK)
		snprintf(copy, sizeof(copy), "%s", name);
	json_decref(o);
	SUBCA_TRY(rv);
	return subca__view_answer(req, copy, 201);
}

/* GET /admin/v1/authorities/{name} */
subca_result subca__admin_authority_show(struct subca_request *req)
{
	char name[SUBCA_MAX_LABEL + 1];

	SUBCA_TRY(subca__name_param(req, name));
	return subca__view_answer(req, name, 200);
}

/* PUT /admin/v1/authorities/{name}/root: the root file as the body. */
subca_result subca__admin_root_put(struct subca_request *req)
{
	struct subca_authority_rec a = {0};
	struct subca_report report;
	char name[SUBCA_MAX_LABEL + 1];
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	subca_report_init(&report);
	rv = subca_authority_import_root(&req->ctx, name, req->body, &report);
	if (rv != SUBCA_OK && report.refusals == 0)
		subca_report_refuse_current(&report);
	return subca__report_answer(req, rv, &report, 200);
}

/* ---- intermediates ------------------------------------------------------- */

static const char *const subca__request_members[] = {
	"cn", "org", "ou", "country", "state", "locality", "key", "days",
	"path_len", "permit_dns", "exclude_dns", "permit_ip", "exclude_ip",
	"permit_email", "exclude_email", "crl_url", "ocsp_url", NULL,
};

struct subca__names_store {
	const char *v[6][SUBCA__JSON_MAX_NAMES];
};

static subca_result subca__request_params(json_t *o,
					  struct subca_intermediate_request *r,
					  struct subca__names_store *ns)
{
	struct subca_intermediate_params *p = &r->params;
	struct subca_name_constraints *nc = &p->nc;
	const char *key = NULL;

	SUBCA_TRY(subca__known_members(o, "the request",
				       subca__request_members));
	SUBCA_TRY(subca__member_str(o, "cn", SUBCA_MAX_DN_VALUE, &p->cn));
	SUBCA_ENSURE(p->cn != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "member \"cn\" is required (the intermediate's common "
		     "name)");
	SUBCA_TRY(subca__member_str(o, "org", SUBCA_MAX_DN_VALUE, &p->org));
	SUBCA_TRY(subca__member_str(o, "ou", SUBCA_MAX_DN_VALUE, &p->ou));
	SUBCA_TRY(subca__member_str(o, "country", 2, &p->country));
	SUBCA_TRY(subca__member_str(o, "state", SUBCA_MAX_DN_VALUE, &p->state));
	SUBCA_TRY(subca__member_str(o, "locality", SUBCA_MAX_DN_VALUE,
				    &p->locality));
	SUBCA_TRY(subca__member_str(o, "key", 32, &key));
	if (key != NULL)
		SUBCA_TRY(subca_key_type_parse(key, &r->key));
	SUBCA_TRY(subca__member_int(o, "days", 1, SUBCA_MAX_INTERMEDIATE_DAYS,
				    &p->days));
	SUBCA_TRY(subca__member_int(o, "path_len", -1, SUBCA_MAX_PATHLEN,
				    &p->path_len));
	SUBCA_TRY(subca__member_names(o, "permit_dns", ns->v[0],
				      &nc->permit_dns));
	SUBCA_TRY(subca__member_names(o, "exclude_dns", ns->v[1],
				      &nc->exclude_dns));
	SUBCA_TRY(subca__member_names(o, "permit_ip", ns->v[2], &nc->permit_ip));
	SUBCA_TRY(subca__member_names(o, "exclude_ip", ns->v[3],
				      &nc->exclude_ip));
	SUBCA_TRY(subca__member_names(o, "permit_email", ns->v[4],
				      &nc->permit_email));
	SUBCA_TRY(subca__member_names(o, "exclude_email", ns->v[5],
				      &nc->exclude_email));
	SUBCA_TRY(subca__member_str(o, "crl_url", SUBCA_MAX_URL, &r->crl_url));
	return subca__member_str(o, "ocsp_url", SUBCA_MAX_URL, &r->ocsp_url);
}

/* The instructions for `tool` for the pending intermediate of `name`. */
static subca_result subca__instructions(struct subca_request *req,
					const char *name, enum subca_tool t,
					const struct subca_pending *p,
					struct subca_buf *out)
{
	struct subca_instructions_ctx ic = {0};
	char csr_file[SUBCA_MAX_LABEL + 8], cert_file[SUBCA_MAX_LABEL + 8];

	(void)req;
	snprintf(csr_file, sizeof(csr_file), "%s.csr", name);
	snprintf(cert_file, sizeof(cert_file), "%s.crt", name);
	ic.authority = name;
	ic.csr = p->csr;
	ic.issuer = subca_root_issuer(p->root);
	ic.csr_file = csr_file;
	ic.cert_file = cert_file;
	ic.root_cert_file = "root.crt";
	ic.root_key_file = "root.key";
	ic.days = p->rec.days;
	subca_buf_init(out, 256 * 1024);
	return subca_instructions_render(t, &ic, out);
}

static subca_result subca__all_instructions(struct subca_request *req,
					    const char *name, json_t *into)
{
	struct subca_pending p;
	subca_result rv = SUBCA_OK;

	SUBCA_TRY(subca_authority_pending(&req->ctx, name, &p));
	for (int t = SUBCA_TOOL_OPENSSL; t <= SUBCA_TOOL_SUBCA && rv == SUBCA_OK;
	     t++) {
		struct subca_buf text;

		rv = subca__instructions(req, name, (enum subca_tool)t, &p,
					 &text);
		if (rv == SUBCA_OK &&
		    json_object_set_new(into, subca_tool_name((enum subca_tool)t),
					json_stringn((const char *)text.p,
						     text.len)) != 0)
			rv = subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
					     "out of memory");
		subca_buf_cleanup(&text);
	}
	subca_pending_cleanup(&p);
	return rv;
}

static subca_result subca__request_run(struct subca_request *req,
				       const char *name, json_t *o)
{
	struct subca_intermediate_request r = {.key = SUBCA_KEY_EC_P256};
	struct subca__names_store ns;
	struct subca_buf csr = {0};
	json_t *instr, *res;
	int days = 0;
	subca_result rv;

	r.params.path_len = 0;
	SUBCA_TRY(subca__request_params(o, &r, &ns));
	SUBCA_TRY(subca_authority_request_intermediate(&req->ctx, name, &r,
							&csr, &days));
	instr = json_object();
	res = json_pack("{s:s%, s:i, s:o}", "csr", (const char *)csr.p,
			csr.len, "days", days, "instructions", instr);
	subca_buf_cleanup(&csr);
	SUBCA_ENSURE(res != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = subca__all_instructions(req, name, instr);
	if (rv != SUBCA_OK) {
		json_decref(res);
		return rv;
	}
	return subca_response_json(req, 201, res);
}

/* POST /admin/v1/authorities/{name}/intermediates */
subca_result subca__admin_intermediate_request(struct subca_request *req)
{
	struct subca_authority_rec a = {0};
	char name[SUBCA_MAX_LABEL + 1];
	json_t *o = NULL;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(subca__body_object(req, false, &o));
	rv = subca__request_run(req, name, o);
	json_decref(o);
	return rv;
}

/* GET /admin/v1/authorities/{name}/intermediates */
subca_result subca__admin_intermediate_list(struct subca_request *req)
{
	struct subca_authority_view v = {0};
	char name[SUBCA_MAX_LABEL + 1];
	json_t *arr, *view, *body;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	rv = subca__view_load(req, name, &v);
	if (rv != SUBCA_OK) {
		subca_authority_view_cleanup(&v);
		return rv;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < v.ints.n; i++)
		json_array_append_new(arr, subca_view_intermediate_of(&v, i));
	view = subca_authority_view_json(&v);
	subca_authority_view_cleanup(&v);
	body = json_pack("{s:o, s:O?}", "intermediates", arr, "warnings",
			 json_object_get(view, "warnings"));
	json_decref(view);
	return subca_response_json(req, 200, body);
}

/* {id} of .../intermediates/{id}: a number, or "pending" (0: the newest
 * pending request). */
static subca_result subca__int_id_param(const struct subca_request *req,
					int64_t *id)
{
	char text[24];

	*id = 0;
	if (subca_request_param(req, 1, text, sizeof(text)) == SUBCA_OK &&
	    (strcmp(text, "pending") == 0 ||
	     subca__parse_i64("id", text, 1, INT64_MAX, id) == SUBCA_OK))
		return SUBCA_OK;
	subca_error_clear();
	SUBCA_BAIL(SUBCA_E_NOT_FOUND,
		   "no intermediate with such an id (a number, or pending)");
}

/* DELETE .../intermediates/{id}: discard a pending request and its key */
subca_result subca__admin_intermediate_discard(struct subca_request *req)
{
	struct subca_authority_rec a = {0};
	struct subca_intermediate_rec d = {0};
	char name[SUBCA_MAX_LABEL + 1];
	int64_t id = 0;
	json_t *item;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__int_id_param(req, &id));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(subca_authority_discard_pending(&req->ctx, name, id, &d));
	item = subca_view_intermediate(&d);
	subca_intermediate_rec_cleanup(&d);
	return subca_response_json(req, 200,
				   json_pack("{s:o}", "discarded", item));
}

/* GET .../intermediates/pending/csr: RFC 5967 application/pkcs10 */
subca_result subca__admin_pending_csr(struct subca_request *req)
{
	struct subca_authority_rec a = {0};
	struct subca_pending p;
	char name[SUBCA_MAX_LABEL + 1];
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(subca_authority_pending(&req->ctx, name, &p));
	rv = subca_response_bytes(req, 200, "application/pkcs10",
				  p.rec.csr_pem, strlen(p.rec.csr_pem));
	subca_pending_cleanup(&p);
	return rv;
}

/* GET .../intermediates/pending/instructions?tool=T */
subca_result subca__admin_pending_instructions(struct subca_request *req)
{
	static const char *const known[] = {"tool", NULL};
	struct subca_authority_rec a = {0};
	struct subca_pending p;
	struct subca_buf text;
	char name[SUBCA_MAX_LABEL + 1], tool[32];
	enum subca_tool t = SUBCA_TOOL_OPENSSL;
	bool found;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__query_check(req, known));
	SUBCA_TRY(subca__query_get(req, "tool", tool, sizeof(tool), &found));
	if (found)
		SUBCA_TRY(subca_tool_parse(tool, &t));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(subca_authority_pending(&req->ctx, name, &p));
	rv = subca__instructions(req, name, t, &p, &text);
	if (rv == SUBCA_OK)
		rv = subca_response_bytes(req, 200, "text/x-shellscript",
					  text.p, text.len);
	subca_buf_cleanup(&text);
	subca_pending_cleanup(&p);
	return rv;
}

/* PUT .../intermediates/pending/certificate[?accept_weaker=true]
 * [&activate_at=TIME] */
subca_result subca__admin_pending_certificate(struct subca_request *req)
{
	static const char *const known[] = {"accept_weaker", "activate_at",
					    NULL};
	struct subca_authority_rec a = {0};
	struct subca_report report;
	char name[SUBCA_MAX_LABEL + 1], v[8], when[64];
	bool found, weaker = false;
	int64_t at = 0;
	subca_result rv;

	SUBCA_TRY(subca__query_get(req, "activate_at", when, sizeof(when),
				   &found));
	if (found)
		SUBCA_TRY(subca_when_parse("activate_at", when, req->ctx.now,
					   &at));

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__query_check(req, known));
	SUBCA_TRY(subca__query_get(req, "accept_weaker", v, sizeof(v), &found));
	if (found) {
		SUBCA_ENSURE(strcmp(v, "true") == 0 || strcmp(v, "false") == 0,
			     SUBCA_E_INVALID_ARGUMENT,
			     "accept_weaker must be true or false");
		weaker = strcmp(v, "true") == 0;
	}
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	subca_report_init(&report);
	rv = subca_authority_import_intermediate_at(&req->ctx, name, req->body,
						    weaker, at, &report);
	if (rv != SUBCA_OK && report.refusals == 0)
		subca_report_refuse_current(&report);
	return subca__report_answer(req, rv, &report, 200);
}

/* ---- issued certificates ------------------------------------------------- */

static subca_result subca__cert_filter(const struct subca_request *req,
				       struct subca_cert_filter *f,
				       char *name_buf, size_t name_len)
{
	static const char *const known[] = {"status", "expires_before",
					    "expires_after", "name", "limit",
					    "after", NULL};
	char v[SUBCA__QUERY_VALUE_MAX];
	int64_t n = 0;
	bool found;

	SUBCA_TRY(subca__query_check(req, known));
	SUBCA_TRY(subca__query_get(req, "status", v, sizeof(v), &found));
	if (found) {
		if (strcmp(v, "valid") == 0)
			f->status = SUBCA_CERTS_VALID;
		else if (strcmp(v, "revoked") == 0)
			f->status = SUBCA_CERTS_REVOKED;
		else
			SUBCA_ENSURE(strcmp(v, "any") == 0,
				     SUBCA_E_INVALID_ARGUMENT,
				     "status must be valid, revoked or any");
	}
	SUBCA_TRY(subca__query_get(req, "expires_before", v, sizeof(v), &found));
	if (found)
		SUBCA_TRY(subca__parse_time("expires_before", v,
					    &f->expires_before));
	SUBCA_TRY(subca__query_get(req, "expires_after", v, sizeof(v), &found));
	if (found)
		SUBCA_TRY(subca__parse_time("expires_after", v,
					    &f->expires_after));
	SUBCA_TRY(subca__query_get(req, "name", name_buf, name_len, &found));
	if (found && name_buf[0] != '\0')
		f->name = name_buf;
	SUBCA_TRY(subca__query_get(req, "limit", v, sizeof(v), &found));
	if (found) {
		SUBCA_TRY(subca__parse_i64("limit", v, 1, SUBCA_MAX_LIST_PAGE,
					   &n));
		f->limit = (size_t)n;
	}
	SUBCA_TRY(subca__query_get(req, "after", v, sizeof(v), &found));
	if (found)
		SUBCA_TRY(subca__parse_i64("after", v, 0, INT64_MAX,
					   &f->after_id));
	return SUBCA_OK;
}

/* GET /admin/v1/authorities/{name}/certificates?... */
subca_result subca__admin_certificates(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_authority_rec a = {0};
	struct subca_cert_filter f = {0};
	struct subca_cert_list l = {0};
	char name[SUBCA_MAX_LABEL + 1], filter_name[SUBCA__QUERY_VALUE_MAX];
	json_t *arr;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__cert_filter(req, &f, filter_name, sizeof(filter_name)));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	f.authority_id = a.id;
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(st->ops->cert_list(st, &f, &l));
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < l.n; i++)
		json_array_append_new(arr, subca_view_cert(&l.v[i]));
	rv = subca_response_json(
		req, 200,
		json_pack("{s:o, s:o}", "certificates", arr, "next",
			  l.next_after ? json_integer(l.next_after)
				       : json_null()));
	subca_cert_list_cleanup(&l);
	return rv;
}

/* A serial as the store keeps it (views.h); 404 for what cannot be one. */
static subca_result subca__serial_norm(const char *in, char *out, size_t len)
{
	SUBCA_ENSURE(subca_view_serial_norm(in, out, len), SUBCA_E_NOT_FOUND,
		     "no certificate with such a serial");
	return SUBCA_OK;
}

static subca_result subca__reason_parse(json_t *o, int *reason)
{
	static const char *const known[] = {"reason", NULL};
	const char *s = NULL;

	*reason = 0;
	SUBCA_TRY(subca__known_members(o, "the request", known));
	SUBCA_TRY(subca__member_str(o, "reason", 64, &s));
	if (s == NULL)
		return SUBCA_OK;
	*reason = subca_view_reason_code(s);
	if (*reason >= 0)
		return SUBCA_OK;
	subca_error_set(SUBCA_E_INVALID_ARGUMENT, __FILE__, __LINE__,
			"unknown revocation reason (RFC 5280 5.3.1)");
	subca_error_hint("one of unspecified, keyCompromise, cACompromise, "
			 "affiliationChanged, superseded, cessationOfOperation, "
			 "certificateHold, privilegeWithdrawn, aACompromise");
	return SUBCA_E_INVALID_ARGUMENT;
}

static subca_result subca__revoke_store(struct subca_request *req,
					const struct subca_authority_rec *a,
					const char *serial, int reason)
{
	struct subca_store *st = req->ctx.store;
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->cert_revoke(st, a->id, serial, reason,
				  (int64_t)req->ctx.now);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(SUBCA_E_NOT_FOUND, __FILE__, __LINE__,
				     "authority \"%s\" has no certificate with "
				     "serial %s",
				     a->name, serial);
	if (rv == SUBCA_OK)
		rv = subca_audit(&req->ctx, a->name, "certificate.revoke",
				 "certificate %s revoked (%s)", serial,
				 subca_view_reason_name(reason));
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	else /* OCSP caches drop their answers; the CRL is rebuilt soon */
		subca__revocation_changed(req->env->revocation, a->id);
	return rv;
}

/* POST /admin/v1/authorities/{name}/certificates/{serial}/revoke */
subca_result subca__admin_certificate_revoke(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_authority_rec a = {0};
	struct subca_cert_rec c = {0};
	char name[SUBCA_MAX_LABEL + 1], raw[128], serial[128];
	json_t *o = NULL;
	int reason = 0;
	bool already = false;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	if (subca_request_param(req, 1, raw, sizeof(raw)) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no certificate with such a serial");
	SUBCA_TRY(subca__serial_norm(raw, serial, sizeof(serial)));
	SUBCA_TRY(subca__body_object(req, true, &o));
	rv = subca__reason_parse(o, &reason);
	json_decref(o);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca__authority_get(req, name, &a));
	/* revoking again succeeds and keeps the first reason and time */
	if (st->ops->cert_get(st, a.id, serial, &c) == SUBCA_OK)
		already = c.revoked_at != 0;
	subca_cert_rec_cleanup(&c);
	subca_error_clear();
	rv = subca__revoke_store(req, &a, serial, reason);
	if (rv == SUBCA_OK)
		rv = st->ops->cert_get(st, a.id, serial, &c);
	if (rv == SUBCA_OK)
		rv = subca_response_json(
			req, 200,
			json_pack("{s:s, s:o, s:o, s:b}", "serial", c.serial,
				  "revoked_at", subca_view_time(c.revoked_at),
				  "reason",
				  subca_view_str(subca_view_reason_name(c.reason)),
				  "already_revoked", already));
	subca_cert_rec_cleanup(&c);
	subca_authority_rec_cleanup(&a);
	return rv;
}

/* ---- audit log ----------------------------------------------------------- */

/* GET /admin/v1/audit?authority=&limit= (newest first) */
subca_result subca__admin_audit(struct subca_request *req)
{
	static const char *const known[] = {"authority", "limit", "after",
					    "action", NULL};
	struct subca_store *st = req->ctx.store;
	const struct subca_admin_principal *p = subca__admin_principal(req);
	struct subca_audit_list l = {0};
	char authority[SUBCA_MAX_LABEL + 1], v[32];
	char action[SUBCA_AUDIT_ACTION_MAX + 1];
	int64_t limit = 100, after = 0;
	bool has_auth, found, has_action;
	json_t *arr;
	size_t kept = 0;

	SUBCA_TRY(subca__query_check(req, known));
	SUBCA_TRY(subca__query_get(req, "limit", v, sizeof(v), &found));
	if (found)
		SUBCA_TRY(subca__parse_i64("limit", v, 1, SUBCA_MAX_LIST_PAGE,
					   &limit));
	SUBCA_TRY(subca__query_get(req, "after", v, sizeof(v), &found));
	if (found)
		SUBCA_TRY(subca__parse_i64("after", v, 0, INT64_MAX, &after));
	SUBCA_TRY(subca__query_get(req, "action", action, sizeof(action),
				   &has_action));
	if (has_action)
		SUBCA_TRY(subca_audit_action_check(action));
	if (subca__query_get(req, "authority", authority, sizeof(authority),
			     &has_auth) != SUBCA_OK ||
	    (has_auth && (subca_label_validate("authority", authority) !=
				  SUBCA_OK ||
			  !subca__admin_allows(req, authority))))
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority with such a name");
	/* A scoped credential reads the whole log and keeps its own
	 * authorities' entries: read without a limit then. */
	SUBCA_TRY(st->ops->audit_query(st, has_auth ? authority : NULL, after,
				       has_action ? action : NULL,
				       has_auth || p->scope == NULL
					       ? (size_t)limit
					       : 0,
				       &l));
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < l.n && kept < (size_t)limit;
	     i++) {
		if (p->scope != NULL && !has_auth &&
		    (l.v[i].authority == NULL ||
		     !subca_scope_allows(p->scope, l.v[i].authority)))
			continue;
		json_array_append_new(arr, subca_view_audit(&l.v[i]));
		kept++;
	}
	subca_audit_list_cleanup(&l);
	return subca_response_json(req, 200, json_pack("{s:o}", "entries", arr));
}

/* ---- admin tokens -------------------------------------------------------- */

static subca_result subca__scope_from(json_t *o, char *buf, size_t len,
				      const char **scope)
{
	json_t *v = json_object_get(o, "authorities"), *it;
	size_t i, used = 0;

	*scope = NULL;
	if (v == NULL || json_is_null(v))
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_array(v) && json_array_size(v) > 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "member \"authorities\" must be a non-empty array of "
		     "authority names (or null for a global token)");
	SUBCA_ENSURE(json_array_size(v) <= SUBCA__JSON_MAX_NAMES,
		     SUBCA_E_INVALID_ARGUMENT,
		     "member \"authorities\" has more than %d entries",
		     SUBCA__JSON_MAX_NAMES);
	json_array_foreach(v, i, it) {
		const char *s = json_is_string(it) ? json_string_value(it) : NULL;

		SUBCA_ENSURE(s != NULL && json_string_length(it) <= SUBCA_MAX_LABEL,
			     SUBCA_E_INVALID_ARGUMENT,
			     "member \"authorities\" must hold authority names");
		SUBCA_TRY(subca_label_validate("authority name", s));
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? "," : "", s);
	}
	*scope = buf;
	return SUBCA_OK;
}

static subca_result subca__token_store(struct subca_request *req,
				       struct subca_admin_token_rec *r)
{
	struct subca_store *st = req->ctx.store;
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->admin_token_add(st, r);
	if (rv == SUBCA_OK)
		rv = subca_audit(&req->ctx, NULL, "admin_token.create",
				 "admin token #%lld created (scope %s, "
				 "expires %lld) \"%.64s\"",
				 (long long)r->id,
				 r->scope ? r->scope : "global",
				 (long long)r->expires, r->description);
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}

static subca_result subca__token_new(struct subca_request *req, json_t *o,
				     char secret[SUBCA_CREDENTIAL_SIZE],
				     int64_t *id)
{
	static const char *const known[] = {"authorities", "expires",
					    "description", NULL};
	struct subca_admin_token_rec r = {0};
	char scope[(SUBCA_MAX_LABEL + 1) * SUBCA__JSON_MAX_NAMES + 1];
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];
	const char *expires = NULL, *desc = NULL, *sc = NULL;
	int64_t life = 0;

	SUBCA_TRY(subca__known_members(o, "the request", known));
	SUBCA_TRY(subca__scope_from(o, scope, sizeof(scope), &sc));
	SUBCA_TRY(subca__member_str(o, "expires", 16, &expires));
	if (expires != NULL)
		SUBCA_TRY(subca_duration_parse(expires,
					       SUBCA_MAX_CREDENTIAL_LIFETIME,
					       &life));
	SUBCA_TRY(subca__member_str(o, "description", SUBCA_MAX_DESCRIPTION,
				    &desc));
	SUBCA_TRY(subca_credential_generate(SUBCA_SECRET_ADMIN, secret));
	SUBCA_TRY(subca_credential_hash(secret, strlen(secret), hash));
	r.hash = hash;
	r.scope = (char *)sc;
	r.description = (char *)(desc ? desc : "");
	r.created = (int64_t)req->ctx.now;
	r.expires = life ? (int64_t)req->ctx.now + life : 0;
	SUBCA_TRY(subca__token_store(req, &r));
	*id = r.id;
	return SUBCA_OK;
}

/* POST /admin/v1/tokens (global credential): the secret is shown once. */
subca_result subca__admin_token_create(struct subca_request *req)
{
	char secret[SUBCA_CREDENTIAL_SIZE] = "";
	json_t *o = NULL;
	int64_t id = 0;
	subca_result rv;

	SUBCA_TRY(subca__body_object(req, true, &o));
	rv = subca__token_new(req, o, secret, &id);
	json_decref(o);
	if (rv == SUBCA_OK)
		rv = subca_response_json(req, 201,
					 json_pack("{s:I, s:s}", "id",
						   (json_int_t)id, "token",
						   secret));
	subca_wipe(secret, sizeof(secret));
	return rv;
}

/* GET /admin/v1/tokens (global credential): never a token or its hash. */
subca_result subca__admin_tokens_list(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_admin_token_list l = {0};
	json_t *arr;

	SUBCA_TRY(st->ops->admin_token_list(st, &l));
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < l.n; i++)
		json_array_append_new(arr, subca_view_admin_token(
						   &l.v[i], (int64_t)req->ctx.now));
	subca_admin_token_list_cleanup(&l);
	return subca_response_json(req, 200, json_pack("{s:o}", "tokens", arr));
}

/* POST /admin/v1/tokens/{id}/revoke (global credential); again keeps the
 * first time. Answers the token as listed. */
subca_result subca__admin_token_revoke(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_admin_token_list l = {0};
	char raw[24];
	int64_t id = 0;
	subca_result rv = SUBCA_E_NOT_FOUND;

	if (subca_request_param(req, 0, raw, sizeof(raw)) != SUBCA_OK ||
	    subca__parse_i64("token id", raw, 1, INT64_MAX, &id) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no admin token with such an id");
	SUBCA_TRY(subca_admin_token_revoke(&req->ctx, id));
	SUBCA_TRY(st->ops->admin_token_list(st, &l));
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].id == id)
			rv = subca_response_json(
				req, 200,
				subca_view_admin_token(&l.v[i],
						       (int64_t)req->ctx.now));
	subca_admin_token_list_cleanup(&l);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no admin token #%lld",
			   (long long)id);
	return rv;
}

/* ---- operator issuance ----------------------------------------------------- */

static const char *const subca__issue_members[] = {
	"csr", "public_key", "cn", "sans", "days", "eku", NULL};

#define SUBCA__LEAF_DAYS 90

/* "public_key": one PEM public key; a private key is refused outright
 * (it must never travel). */
static subca_result subca__pubkey_parse(const char *pem, EVP_PKEY **out)
{
	SUBCA_AUTO(BIO) BIO *bio = NULL;

	SUBCA_ENSURE(strstr(pem, "PRIVATE KEY") == NULL, SUBCA_E_PRIVATE_KEY,
		     "member \"public_key\" holds a private key: send the "
		     "public key only");
	bio = BIO_new_mem_buf(pem, -1);
	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	SUBCA_OSSL(*out != NULL, SUBCA_E_INVALID_ARGUMENT,
		   "member \"public_key\" is not a PEM public key");
	return subca_key_check_strength(*out, "leaf key");
}

static subca_result subca__eku_parse(json_t *o, unsigned *eku)
{
	const char *store[SUBCA__JSON_MAX_NAMES];
	struct subca_names names;

	*eku = 0;
	SUBCA_TRY(subca__member_names(o, "eku", store, &names));
	for (size_t i = 0; i < names.n; i++) {
		if (strcmp(names.v[i], "server") == 0)
			*eku |= SUBCA_EKU_SERVER;
		else if (strcmp(names.v[i], "client") == 0)
			*eku |= SUBCA_EKU_CLIENT;
		else
			SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
				   "member \"eku\" holds \"server\" and/or "
				   "\"client\"");
	}
	return SUBCA_OK;
}

struct subca__issue_in {
	struct subca_leaf_request r;
	const char *sans[SUBCA__JSON_MAX_NAMES];
	X509_REQ *csr;
	EVP_PKEY *key;
};

static void subca__issue_in_cleanup(struct subca__issue_in *in)
{
	X509_REQ_free(in->csr);
	EVP_PKEY_free(in->key);
}

/* {"csr": PEM} or {"public_key": PEM, "cn"}, and "sans", "days", "eku". */
static subca_result subca__issue_parse(json_t *o, struct subca__issue_in *in)
{
	const char *csr = NULL, *pub = NULL;
	int days = SUBCA__LEAF_DAYS;

	SUBCA_TRY(subca__known_members(o, "the request", subca__issue_members));
	SUBCA_TRY(subca__member_str(o, "csr", SUBCA_MAX_CSR_INPUT, &csr));
	SUBCA_TRY(subca__member_str(o, "public_key", SUBCA_MAX_KEY_INPUT, &pub));
	SUBCA_TRY(subca__member_str(o, "cn", SUBCA_MAX_DN_VALUE, &in->r.cn));
	SUBCA_ENSURE((csr != NULL) != (pub != NULL), SUBCA_E_INVALID_ARGUMENT,
		     "give either \"csr\", or \"public_key\" with \"cn\"");
	SUBCA_ENSURE(csr == NULL || in->r.cn == NULL, SUBCA_E_INVALID_ARGUMENT,
		     "member \"cn\" goes with \"public_key\"; a CSR carries "
		     "its own subject");
	SUBCA_TRY(subca__member_names(o, "sans", in->sans, &in->r.sans));
	SUBCA_TRY(subca__member_int(o, "days", 1, SUBCA_MAX_LEAF_DAYS, &days));
	SUBCA_TRY(subca__eku_parse(o, &in->r.eku));
	if (csr != NULL) {
		SUBCA_TRY(subca_certin_parse_csr(
			subca_slice_of(csr, strlen(csr)), &in->csr));
		in->r.csr = in->csr;
	} else {
		SUBCA_TRY(subca__pubkey_parse(pub, &in->key));
		in->r.pubkey = in->key;
	}
	in->r.days = days;
	return SUBCA_OK;
}

static subca_result subca__issue_answer(struct subca_request *req, X509 *leaf,
					const struct subca_buf *chain)
{
	char serial[80];
	int64_t not_after = 0;

	SUBCA_TRY(subca_serial_hex(X509_get0_serialNumber(leaf), serial,
				   sizeof(serial)));
	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notAfter(leaf), &not_after));
	return subca_response_json(
		req, 201,
		json_pack("{s:s, s:o, s:s%}", "serial", serial, "not_after",
			  subca_view_time(not_after), "chain", chain->p,
			  chain->len));
}

/* POST /admin/v1/authorities/{name}/certificates: what `subca issue` does
 * locally; 201 with the chain (leaf, intermediate, CAs below the anchor). */
subca_result subca__admin_certificate_issue(struct subca_request *req)
{
	struct subca_authority_rec a = {0};
	struct subca__issue_in in = {0};
	SUBCA_BUF_AUTO struct subca_buf chain = {0};
	SUBCA_AUTO(X509) X509 *leaf = NULL;
	char name[SUBCA_MAX_LABEL + 1];
	json_t *o = NULL;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(subca__body_object(req, false, &o));
	rv = subca__issue_parse(o, &in);
	in.r.now = req->ctx.now;
	if (rv == SUBCA_OK)
		rv = subca_authority_issue(&req->ctx, name, &in.r, &chain,
					   &leaf);
	if (rv == SUBCA_OK)
		rv = subca__issue_answer(req, leaf, &chain);
	json_decref(o);
	subca__issue_in_cleanup(&in);
	return rv;
}

/* ---- provisioners -------------------------------------------------------- */

/* GET /admin/v1/authorities/{name}/provisioners */
subca_result subca__admin_provisioners_list(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_authority_rec a = {0};
	struct subca_provisioner_list l = {0};
	char name[SUBCA_MAX_LABEL + 1];
	json_t *arr;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	rv = st->ops->provisioner_list(st, a.id, &l);
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(rv);
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < l.n; i++)
		json_array_append_new(arr, subca_view_provisioner(&l.v[i]));
	subca_provisioner_list_cleanup(&l);
	return subca_response_json(req, 200,
				   json_pack("{s:o}", "provisioners", arr));
}

/* "policy": the README's schema, parsed strictly (written back
 * canonically by subca_provisioner_create). */
static subca_result subca__prov_policy(json_t *o, struct subca_policy_json *pj)
{
	json_t *v = json_object_get(o, "policy");
	char *text;
	subca_result rv;

	SUBCA_ENSURE(v != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "member \"policy\" is required (the README's policy "
		     "object, e.g. {\"version\": 1, \"dns\": [\"*.example.com\"]})");
	SUBCA_ENSURE(json_is_object(v), SUBCA_E_INVALID_ARGUMENT,
		     "member \"policy\" must be an object");
	text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	SUBCA_ENSURE(text != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = subca_policy_json_parse(subca_slice_of(text, strlen(text)), pj);
	free(text);
	return rv;
}

/* "type" and, for jwk, "jwk": a public JWK (RFC 7517) checked fully. */
static subca_result subca__prov_key(json_t *o, enum subca_provisioner_type *t,
				    EVP_PKEY **jwk)
{
	json_t *v = json_object_get(o, "jwk");
	const char *type = NULL;

	SUBCA_TRY(subca__member_str(o, "type", 16, &type));
	SUBCA_ENSURE(type != NULL && (strcmp(type, "jwk") == 0 ||
				      strcmp(type, "apikey") == 0 ||
				      strcmp(type, "acme") == 0),
		     SUBCA_E_INVALID_ARGUMENT,
		     "member \"type\" must be \"jwk\", \"apikey\" or \"acme\"");
	SUBCA_TRY(subca_provisioner_type_parse(type, t));
	SUBCA_ENSURE((*t == SUBCA_PROV_JWK) == (v != NULL),
		     SUBCA_E_INVALID_ARGUMENT,
		     v ? "member \"jwk\" is only for type \"jwk\""
		       : "member \"jwk\" (the public JWK) is required for type "
			 "\"jwk\"");
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_object(v), SUBCA_E_INVALID_ARGUMENT,
		     "member \"jwk\" must be a JWK object");
	return subca_jwk_from_json(v, jwk);
}

/* "acme" (type acme only): {"require_eab": bool, "challenges": [..]}. */
static subca_result subca__prov_acme(json_t *o, enum subca_provisioner_type t,
				     struct subca_acme_options *out)
{
	json_t *v = json_object_get(o, "acme");
	const json_t *ch, *it;
	const char *k;
	json_t *m;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(t == SUBCA_PROV_ACME && json_is_object(v),
		     SUBCA_E_INVALID_ARGUMENT,
		     "member \"acme\" is an object, for type \"acme\" only");
	json_object_foreach(v, k, m)
		SUBCA_ENSURE(strcmp(k, "require_eab") == 0 ||
				     strcmp(k, "challenges") == 0,
			     SUBCA_E_INVALID_ARGUMENT,
			     "member \"acme\" has require_eab and challenges "
			     "only");
	m = json_object_get(v, "require_eab");
	SUBCA_ENSURE(m == NULL || json_is_boolean(m), SUBCA_E_INVALID_ARGUMENT,
		     "\"require_eab\" must be true or false");
	out->require_eab = json_is_true(m);
	ch = json_object_get(v, "challenges");
	SUBCA_ENSURE(ch == NULL || (json_is_array(ch) && json_array_size(ch) > 0),
		     SUBCA_E_INVALID_ARGUMENT,
		     "\"challenges\" must be a non-empty array of types");
	json_array_foreach(ch, i, it) {
		enum subca_acme_chall c;

		SUBCA_ENSURE(json_is_string(it), SUBCA_E_INVALID_ARGUMENT,
			     "\"challenges\" holds type names");
		SUBCA_TRY(subca_acme_chall_parse(json_string_value(it), &c));
		out->challenges |= SUBCA_ACME_CHALL_BIT(c);
	}
	return SUBCA_OK;
}

static subca_result subca__prov_answer(struct subca_request *req,
				       const struct subca_authority_rec *a,
				       const char *name, const char *api_key)
{
	struct subca_store *st = req->ctx.store;
	struct subca_provisioner_rec r = {0};
	json_t *o;

	SUBCA_TRY(st->ops->provisioner_get(st, a->id, name, &r));
	o = json_pack("{s:o}", "provisioner", subca_view_provisioner(&r));
	subca_provisioner_rec_cleanup(&r);
	SUBCA_ENSURE(o != NULL, SUBCA_E_NOMEM, "out of memory");
	if (api_key[0] != '\0')
		json_object_set_new(o, "api_key", json_string(api_key));
	return subca_response_json(req, 201, o);
}

static subca_result subca__prov_add(struct subca_request *req,
				    const struct subca_authority_rec *a,
				    json_t *o, char api_key[SUBCA_CREDENTIAL_SIZE])
{
	static const char *const known[] = {"name", "type", "jwk", "policy",
					    "acme", NULL};
	struct subca_provisioner_spec s = {0};
	struct subca_acme_options acme = {0};
	struct subca_policy_json pj = {0};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *jwk = NULL;
	subca_result rv;

	SUBCA_TRY(subca__known_members(o, "the request", known));
	SUBCA_TRY(subca__member_str(o, "name", SUBCA_MAX_LABEL, &s.name));
	SUBCA_ENSURE(s.name != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "member \"name\" is required");
	SUBCA_TRY(subca_label_validate("provisioner name", s.name));
	SUBCA_TRY(subca__prov_key(o, &s.type, &jwk));
	s.jwk = jwk;
	SUBCA_TRY(subca__prov_acme(o, s.type, &acme));
	s.acme = &acme;
	rv = subca__prov_policy(o, &pj);
	s.policy = &pj.policy;
	if (rv == SUBCA_OK)
		rv = subca_provisioner_create(&req->ctx, a, &s, api_key);
	subca_policy_json_cleanup(&pj);
	return rv;
}

/* POST /admin/v1/authorities/{name}/provisioners: an apikey's key is in
 * this answer only. */
subca_result subca__admin_provisioner_add(struct subca_request *req)
{
	struct subca_authority_rec a = {0};
	char name[SUBCA_MAX_LABEL + 1], pname[SUBCA_MAX_LABEL + 1] = "";
	char api_key[SUBCA_CREDENTIAL_SIZE] = "";
	json_t *o = NULL;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__authority_get(req, name, &a));
	rv = subca__body_object(req, false, &o);
	if (rv == SUBCA_OK)
		rv = subca__prov_add(req, &a, o, api_key);
	if (rv == SUBCA_OK)
		snprintf(pname, sizeof(pname), "%s",
			 json_string_value(json_object_get(o, "name")));
	json_decref(o);
	if (rv == SUBCA_OK)
		rv = subca__prov_answer(req, &a, pname, api_key);
	subca_wipe(api_key, sizeof(api_key));
	subca_authority_rec_cleanup(&a);
	return rv;
}

/* DELETE /admin/v1/authorities/{name}/provisioners/{provisioner} */
subca_result subca__admin_provisioner_remove(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_authority_rec a = {0};
	struct subca_provisioner_rec r = {0};
	char name[SUBCA_MAX_LABEL + 1], pname[SUBCA_MAX_LABEL + 1];
	json_t *item = NULL;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	if (subca_request_param(req, 1, pname, sizeof(pname)) != SUBCA_OK ||
	    subca_label_validate("provisioner name", pname) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no provisioner with such a name");
	SUBCA_TRY(subca__authority_get(req, name, &a));
	rv = st->ops->provisioner_get(st, a.id, pname, &r);
	if (rv == SUBCA_OK) {
		item = subca_view_provisioner(&r);
		rv = subca_provisioner_delete(&req->ctx, &a, pname);
	}
	subca_provisioner_rec_cleanup(&r);
	subca_authority_rec_cleanup(&a);
	if (rv != SUBCA_OK) {
		json_decref(item);
		return rv;
	}
	return subca_response_json(req, 200,
				   json_pack("{s:o}", "provisioner", item));
}

/* ---- unattended rotation (global admin: the command runs on this host) -- */

/* GET /admin/v1/authorities/{name}/rotation */
subca_result subca__admin_rotation_get(struct subca_request *req)
{
	struct subca_rotation_rec r;
	char name[SUBCA_MAX_LABEL + 1];
	json_t *o;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca_rotation_get(&req->ctx, name, &r));
	o = subca_view_rotation(&r);
	subca_rotation_rec_cleanup(&r);
	return subca_response_json(req, 200, o);
}

static subca_result subca__rotation_body(json_t *o,
					 struct subca_rotation_rec *r)
{
	static const char *const known[] = {"rotate_before", "signer_command",
					    "hook_timeout", "days", NULL};
	const char *before = NULL, *timeout = NULL, *cmd = NULL;
	int64_t secs = 0;

	SUBCA_TRY(subca__known_members(o, "the rotation settings", known));
	SUBCA_TRY(subca__member_str(o, "rotate_before", 16, &before));
	SUBCA_TRY(subca__member_str(o, "hook_timeout", 16, &timeout));
	SUBCA_TRY(subca__member_str(o, "signer_command",
				    SUBCA_MAX_HOOK_COMMAND, &cmd));
	SUBCA_ENSURE(before != NULL && cmd != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "members \"rotate_before\" and \"signer_command\" are "
		     "required");
	SUBCA_TRY(subca_duration_parse(before,
				       (int64_t)SUBCA_MAX_LEAF_DAYS * 86400,
				       &r->rotate_before));
	r->hook_timeout = SUBCA_ROTATION_DEFAULT_TIMEOUT;
	if (timeout != NULL) {
		SUBCA_TRY(subca_duration_parse(timeout, SUBCA_MAX_HOOK_TIMEOUT,
					       &secs));
		r->hook_timeout = (int)secs;
	}
	r->signer_command = (char *)cmd;
	return subca__member_int(o, "days", 0, SUBCA_MAX_INTERMEDIATE_DAYS,
				 &r->days);
}

/* PUT /admin/v1/authorities/{name}/rotation */
subca_result subca__admin_rotation_put(struct subca_request *req)
{
	struct subca_rotation_rec r = {0};
	char name[SUBCA_MAX_LABEL + 1];
	json_t *o = NULL;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca__body_object(req, false, &o));
	rv = subca__rotation_body(o, &r);
	if (rv == SUBCA_OK)
		rv = subca_rotation_configure(&req->ctx, name, &r);
	if (rv == SUBCA_OK)
		rv = subca_response_json(req, 200, subca_view_rotation(&r));
	json_decref(o);
	return rv;
}

/*
 * POST /admin/v1/authorities/{name}/rotation/run: the server's rotation
 * thread runs the flow now, due or not; 202 with the newest audit id, after
 * which rotation.done or rotation.fail tells how it went.
 */
subca_result subca__admin_rotation_run(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_rotation_rec r = {0};
	struct subca_audit_list l = {0};
	char name[SUBCA_MAX_LABEL + 1];
	int64_t after = 0;
	subca_result rv;

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_ENSURE(req->env != NULL && req->env->rotate_now != NULL,
		     SUBCA_E_OVERLOADED, "no rotation thread runs here");
	SUBCA_TRY(subca_rotation_get(&req->ctx, name, &r));
	rv = st->ops->audit_list(st, name, 1, &l);
	if (rv == SUBCA_OK && l.n > 0)
		after = l.v[0].id;
	subca_audit_list_cleanup(&l);
	if (rv == SUBCA_OK)
		rv = subca_audit(&req->ctx, name, "rotation.run",
				 "unattended rotation asked to run now");
	if (rv == SUBCA_OK)
		rv = req->env->rotate_now(req->env, r.authority_id);
	subca_rotation_rec_cleanup(&r);
	SUBCA_TRY(rv);
	return subca_response_json(req, 202,
				   json_pack("{s:s, s:I}", "rotation", "started",
					     "audit_after", (json_int_t)after));
}

/* DELETE /admin/v1/authorities/{name}/rotation */
subca_result subca__admin_rotation_delete(struct subca_request *req)
{
	char name[SUBCA_MAX_LABEL + 1];

	SUBCA_TRY(subca__name_param(req, name));
	SUBCA_TRY(subca_rotation_disable(&req->ctx, name));
	return subca_response_json(req, 200, json_pack("{s:b}", "rotation",
						       false));
}
