/*
 * The request pipeline every request goes through, whatever carried it:
 * route, resolve the authority, check method, body size and credentials
 * from the route table, then run the handler; failures become RFC 7807
 * problems. Also the helpers handlers use to read requests and write
 * responses. No libevent here (server.c is the transport).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json_text.h"
#include "server_int.h"
#include "subca/alloc.h"

#define SUBCA__PROBLEM_TYPE "urn:subca:error:"
#define SUBCA__PROBLEM_CT "application/problem+json"

void subca__printable(const char *in, size_t n, char *out, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (size_t i = 0; i < n && in[i] != '\0' && o + 1 < len; i++) {
		unsigned char c = (unsigned char)in[i];

		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

/* ---- request and response helpers ------------------------------------- */

void subca_request_init(struct subca_request *r,
			const struct subca_server_env *env,
			struct subca_store *store,
			struct subca_keystore *keys, time_t now)
{
	memset(r, 0, sizeof(*r));
	r->env = env;
	r->ctx.store = store;
	r->ctx.keys = keys;
	r->ctx.now = now;
	r->ctx.actor = "anonymous";
	r->ctx.public_url = env != NULL ? env->public_url : NULL;
	r->status = 200;
	r->peer = "";
	subca_buf_init(&r->out, SUBCA_MAX_RESPONSE_BODY);
}

void subca_request_cleanup(struct subca_request *r)
{
	if (r->principal != NULL && r->env != NULL && r->env->auth != NULL &&
	    r->env->auth->release != NULL)
		r->env->auth->release(r);
	r->principal = NULL;
	subca_authority_rec_cleanup(&r->authority_rec);
	r->authority = NULL;
	for (size_t i = 0; i < r->nheaders; i++) {
		subca_free(r->headers[i].name);
		subca_free(r->headers[i].value);
	}
	r->nheaders = 0;
	subca_buf_cleanup(&r->out);
}

subca_result subca_request_record(struct subca_request *req,
				  struct subca_cert_rec *rec,
				  const struct subca_audit_rec *audit,
				  subca_resume_fn resume, void *arg)
{
	struct subca_store *st = req->ctx.store;
	subca_result rv;

	if (req->env == NULL || req->env->defer == NULL || req->owner == NULL)
		return resume(req, st->ops->cert_record(st, rec, audit), arg);
	req->resume = resume;
	req->resume_arg = arg;
	req->deferred = true;
	rv = req->env->defer(req, rec, audit);
	if (rv == SUBCA_OK)
		return SUBCA_OK;
	/* not queued: nothing was written, answer now */
	req->deferred = false;
	req->resume = NULL;
	return resume(req, rv, arg);
}

const char *subca_request_header(const struct subca_request *r,
				 const char *name)
{
	return r->header_fn != NULL ? r->header_fn(r, name) : NULL;
}

subca_result subca_request_param(const struct subca_request *r, size_t i,
				 char *buf, size_t len)
{
	SUBCA_ENSURE(i < r->match.nparams, SUBCA_E_NOT_FOUND,
		     "no path parameter %zu", i);
	SUBCA_ENSURE(r->match.params[i].len < len, SUBCA_E_TOO_LARGE,
		     "path parameter longer than %zu bytes", len - 1);
	memcpy(buf, r->match.params[i].p, r->match.params[i].len);
	buf[r->match.params[i].len] = '\0';
	return SUBCA_OK;
}

subca_result subca_response_bytes(struct subca_request *r, int status,
				  const char *content_type, const void *p,
				  size_t n)
{
	subca_buf_cleanup(&r->out);
	subca_buf_init(&r->out, SUBCA_MAX_RESPONSE_BODY);
	SUBCA_TRY(subca_buf_append(&r->out, p, n));
	r->status = status;
	r->content_type = content_type;
	return SUBCA_OK;
}

subca_result subca_response_json(struct subca_request *r, int status,
				 json_t *v)
{
	subca_result rv;

	SUBCA_ENSURE(v != NULL, SUBCA_E_NOMEM, "out of memory");
	subca_buf_cleanup(&r->out);
	subca_buf_init(&r->out, SUBCA_MAX_RESPONSE_BODY);
	rv = subca_json_text(v, &r->out);
	json_decref(v);
	if (rv != SUBCA_OK) {
		subca_buf_cleanup(&r->out);
		return rv;
	}
	r->status = status;
	r->content_type = "application/json";
	return SUBCA_OK;
}

subca_result subca_response_header(struct subca_request *r, const char *name,
				   const char *value)
{
	struct subca_header *h;

	SUBCA_ENSURE(r->nheaders < SUBCA_MAX_RESPONSE_HEADERS,
		     SUBCA_E_TOO_LARGE, "more than %d response headers",
		     SUBCA_MAX_RESPONSE_HEADERS);
	h = &r->headers[r->nheaders];
	h->name = subca_strdup(name);
	h->value = subca_strdup(value);
	if (h->name == NULL || h->value == NULL) {
		subca_free(h->name);
		subca_free(h->value);
		h->name = h->value = NULL;
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	r->nheaders++;
	return SUBCA_OK;
}

/* ---- problems (RFC 7807) ------------------------------------------------ */

int subca__problem_status(subca_result code)
{
	switch (code) {
	case SUBCA_E_METHOD_NOT_ALLOWED: return 405;
	case SUBCA_E_OVERLOADED: return 503;
	case SUBCA_E_REQUEST_TIMEOUT: return 408;
	case SUBCA_E_HEADERS_TOO_LARGE: return 431; /* RFC 6585 5 */
	case SUBCA_E_URI_TOO_LONG: return 414; /* RFC 9110 15.5.15 */
	case SUBCA_E_NOT_IMPLEMENTED: return 501;
	default: return subca_error_http_status(code);
	}
}

static json_t *subca__problem_json(subca_result code, const char *detail,
				   const char *hint)
{
	char type[96], safe_detail[SUBCA_ERROR_REASON_MAX];
	char safe_hint[SUBCA_ERROR_HINT_MAX];
	size_t n;
	json_t *o;

	n = (size_t)snprintf(type, sizeof(type), SUBCA__PROBLEM_TYPE "%s",
			     subca_error_name(code));
	for (size_t i = strlen(SUBCA__PROBLEM_TYPE); i < n && i < sizeof(type);
	     i++)
		if (type[i] >= 'A' && type[i] <= 'Z')
			type[i] = (char)(type[i] + 32);
	subca__printable(detail, strlen(detail), safe_detail,
			 sizeof(safe_detail));
	o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title",
		      subca_error_title(code), "status",
		      subca__problem_status(code), "detail",
		      safe_detail[0] ? safe_detail : subca_error_title(code));
	if (o != NULL && hint != NULL && hint[0] != '\0') {
		subca__printable(hint, strlen(hint), safe_hint,
				 sizeof(safe_hint));
		if (json_object_set_new(o, "hint", json_string(safe_hint)) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

subca_result subca__problem_render(subca_result code, const char *detail,
				   const char *hint, struct subca_buf *out)
{
	json_t *o = subca__problem_json(code, detail ? detail : "", hint);
	subca_result rv;

	subca_buf_init(out, SUBCA_MAX_RESPONSE_BODY);
	SUBCA_ENSURE(o != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = subca_json_text(o, out);
	json_decref(o);
	if (rv != SUBCA_OK)
		subca_buf_cleanup(out);
	return rv;
}

void subca_response_problem(struct subca_request *r, subca_result code)
{
	static const char fallback[] =
		"{\"type\":\"urn:subca:error:nomem\",\"title\":\"out of memory\","
		"\"status\":500}";
	struct subca_buf body;

	if (code == SUBCA_OK)
		code = SUBCA_E_INTERNAL;
	r->error = code;
	r->content_type = SUBCA__PROBLEM_CT;
	subca_buf_cleanup(&r->out);
	if (subca__problem_render(code, subca_error_reason(),
				  subca_error_hint_text(), &body) == SUBCA_OK) {
		r->out = body;
		r->status = subca__problem_status(code);
		return;
	}
	subca_buf_cleanup(&body);
	subca_buf_init(&r->out, SUBCA_MAX_RESPONSE_BODY);
	r->status = 500;
	r->error = SUBCA_E_NOMEM;
	if (subca_buf_append(&r->out, fallback, sizeof(fallback) - 1) !=
	    SUBCA_OK)
		r->out.len = 0;
}

/* ---- authority resolution ---------------------------------------------- */

static subca_result subca__by_subdomain(struct subca_request *req,
					const char *sub)
{
	struct subca_store *st = req->ctx.store;
	subca_result rv;

	rv = st->ops->authority_get_by_subdomain(st, sub, &req->authority_rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority at %s",
			   req->match.host);
	return rv;
}

subca_result subca__authority_resolve(struct subca_request *req)
{
	const char *label = req->match.authority;
	subca_result rv;

	if (req->match.via == SUBCA_VIA_HOST)
		return subca__by_subdomain(req, label);
	rv = req->ctx.store->ops->authority_get(req->ctx.store, label,
						&req->authority_rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"",
			   label);
	return rv;
}

/* The named authority, which must exist and not be the server's own TLS
 * authority (kept apart from tenants). */
static subca_result subca__pipeline_authority(struct subca_request *req)
{
	const struct subca_server_env *env = req->env;

	SUBCA_TRY(env->resolve ? env->resolve(req)
			       : subca__authority_resolve(req));
	if (env->tls_authority != NULL && req->authority_rec.name != NULL &&
	    strcmp(req->authority_rec.name, env->tls_authority) == 0) {
		subca_authority_rec_cleanup(&req->authority_rec);
		if (req->match.via == SUBCA_VIA_HOST)
			SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority at %s",
				   req->match.host);
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"",
			   req->match.authority);
	}
	req->authority = req->authority_rec.name;
	return SUBCA_OK;
}

static subca_result subca__pipeline_checks(struct subca_request *req)
{
	const struct subca_route *rt = req->route;
	size_t max = rt->max_body ? rt->max_body : SUBCA_MAX_REQUEST_BODY;
	const struct subca_auth_ops *auth = req->env->auth;

	SUBCA_ENSURE(req->body.len <= max, SUBCA_E_TOO_LARGE,
		     "the request body of %zu bytes is over the limit of %zu "
		     "bytes for this endpoint",
		     req->body.len, max);
	if (rt->auth == SUBCA_CRED_NONE || rt->auth == SUBCA_CRED_PUBLIC_HTTP)
		return SUBCA_OK;
	SUBCA_ENSURE(auth != NULL && auth->check != NULL, SUBCA_E_AUTH,
		     "authentication is not configured on this server");
	return auth->check(req, rt->auth);
}

static subca_result subca__pipeline(struct subca_request *req)
{
	const struct subca_server_env *env = req->env;
	subca_result routed;

	routed = subca__router_match(&env->router, req->method,
				     req->host_header, req->path, &req->match);
	/* An unknown authority answers 404 whatever the rest of the path. */
	if (req->match.via != SUBCA_VIA_NONE && req->match.authority[0])
		SUBCA_TRY(subca__pipeline_authority(req));
	SUBCA_TRY(routed);
	req->route = req->match.route;
	/* the plain-HTTP listener serves only what is public by nature */
	SUBCA_ENSURE(!req->plain || req->route->auth == SUBCA_CRED_PUBLIC_HTTP,
		     SUBCA_E_NOT_FOUND,
		     "this endpoint is served over https only");
	SUBCA_TRY(subca__pipeline_checks(req));
	return req->route->handler(req);
}

void subca__pipeline_run(struct subca_request *req)
{
	subca_result rv;

	subca_error_clear();
	rv = subca__pipeline(req);
	if (rv != SUBCA_OK)
		subca_response_problem(req, rv);
	/* RFC 9110 15.5.6: a 405 lists the methods the resource has */
	if (rv == SUBCA_E_METHOD_NOT_ALLOWED &&
	    subca_response_header(req, "Allow", req->match.allow) != SUBCA_OK)
		req->close = true; /* no room for it: at least do not linger */
	subca_error_clear();
}

void subca__pipeline_resume(struct subca_request *req, subca_result rv,
			    const char *reason)
{
	subca_resume_fn resume = req->resume;

	req->resume = NULL;
	req->deferred = false;
	subca_error_clear();
	if (rv != SUBCA_OK)
		(void)subca_error_set(rv, __FILE__, __LINE__, "%s", reason);
	rv = resume(req, rv, req->resume_arg);
	if (rv != SUBCA_OK)
		subca_response_problem(req, rv);
	subca_error_clear();
}
