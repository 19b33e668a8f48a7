/*
 * What every ACME request goes through: the provisioner named in the path,
 * the URLs this request is reached by, the JWS envelope of a POST (RFC 8555
 * 6.2-6.5), and the answer (Replay-Nonce, Link to the directory, problem
 * documents of RFC 8555 6.7).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "acme_int.h"
#include "subca/alloc.h"


/* ---- small helpers ------------------------------------------------------- */

void subca__acme_header(struct subca_request *req, const char *name,
			const char *value)
{
	if (subca_response_header(req, name, value) != SUBCA_OK) {
		req->close = true;
		subca_error_clear();
	}
}

void subca__acme_url(const struct subca_acme *a, const char *kind,
		     const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s", a->base, kind, id);
}

subca_result subca__acme_new_id(char out[SUBCA_ACME_ID_MAX])
{
	uint8_t raw[SUBCA_ACME_ID_BYTES];
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	SUBCA_OSSL(RAND_bytes(raw, sizeof(raw)) == 1, SUBCA_E_CRYPTO,
		   "no random bytes for an ACME id");
	SUBCA_TRY(subca_b64url_encode(subca_slice_of(raw, sizeof(raw)),
				      SUBCA_ACME_ID_MAX - 1, &b));
	memcpy(out, b.p, b.len);
	out[b.len] = '\0';
	return SUBCA_OK;
}

void subca__acme_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

subca_result subca__acme_time_parse(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	long off = 0;
	char shown[40];

	SUBCA_ENSURE(p != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "\"%s\" is not an RFC 3339 time", SUBCA_SHOWN(s, shown));
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0');
		int m = (p[4] - '0') * 10 + (p[5] - '0');

		off = (h * 60 + m) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	SUBCA_ENSURE(*p == '\0', SUBCA_E_INVALID_ARGUMENT,
		     "\"%s\" is not an RFC 3339 time (with Z or an offset)",
		     SUBCA_SHOWN(s, shown));
	*out = (int64_t)timegm(&tm) - off;
	return SUBCA_OK;
}

subca_result subca__acme_doc(const struct subca_acme_rec *r, json_t **out)
{
	json_error_t e;

	*out = r->doc ? json_loads(r->doc, 0, &e) : NULL;
	if (*out != NULL && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
	}
	SUBCA_ENSURE(*out != NULL, SUBCA_E_STORE,
		     "the stored ACME object %s is not a JSON object",
		     r->id ? r->id : "?");
	return SUBCA_OK;
}

subca_result subca__acme_doc_set(struct subca_acme_rec *r, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *copy = text ? subca_strdup(text) : NULL;

	free(text);
	SUBCA_ENSURE(copy != NULL, SUBCA_E_NOMEM, "out of memory");
	subca_free(r->doc);
	r->doc = copy;
	return SUBCA_OK;
}

/* ---- the provisioner and the URLs --------------------------------------- */

static subca_result subca__acme_urls(struct subca_request *req,
				     struct subca_acme *a)
{
	size_t plen = strlen(req->path), rlen = strlen(req->match.rel);
	const char *host = req->host_header;

	SUBCA_ENSURE(host != NULL && host[0] != '\0', SUBCA_E_INVALID_ARGUMENT,
		     "an ACME request needs a Host header");
	SUBCA_ENSURE(rlen <= plen, SUBCA_E_INTERNAL, "route below its path");
	snprintf(a->base, sizeof(a->base), "https://%s%.*s/acme/%s", host,
		 (int)(plen - rlen), req->path, a->prov.name);
	/* RFC 8555 6.4: "url" is the whole request URL, query included
	 * (the orders list's next pages have one) */
	SUBCA_ENSURE((size_t)snprintf(a->url, sizeof(a->url), "https://%s%s%s%s",
				      host, req->path, req->query ? "?" : "",
				      req->query ? req->query : "") <
			     sizeof(a->url),
		     SUBCA_E_TOO_LARGE, "the request URL is too long");
	return SUBCA_OK;
}

static subca_result subca__acme_prov(struct subca_request *req,
				     struct subca_acme *a)
{
	struct subca_store *st = req->ctx.store;
	char name[SUBCA_MAX_LABEL + 1];
	const char *pol;
	subca_result rv;

	SUBCA_TRY(subca_request_param(req, 0, name, sizeof(name)));
	rv = st->ops->provisioner_get(st, req->authority_rec.id, name,
				      &a->prov);
	if (rv == SUBCA_E_NOT_FOUND || (rv == SUBCA_OK &&
					a->prov.type != SUBCA_PROV_ACME))
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "authority \"%s\" has no ACME provisioner \"%s\"",
			   req->authority, name);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca_acme_options_parse(a->prov.options, &a->opts));
	pol = a->prov.policy ? a->prov.policy : "{}";
	rv = subca_policy_json_parse(subca_slice_of(pol, strlen(pol)),
				     &a->policy);
	if (rv != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_STORE,
			   "the stored policy of provisioner \"%s\" is "
			   "unusable: %s",
			   a->prov.name, subca_error_reason());
	return SUBCA_OK;
}

subca_result subca__acme_begin(struct subca_request *req, struct subca_acme *a)
{
	memset(a, 0, sizeof(*a));
	a->req = req;
	SUBCA_TRY(subca__acme_prov(req, a));
	return subca__acme_urls(req, a);
}

void subca__acme_end(struct subca_acme *a)
{
	subca_provisioner_rec_cleanup(&a->prov);
	subca_policy_json_cleanup(&a->policy);
	subca_jws_cleanup(&a->jws);
	json_decref(a->payload);
	EVP_PKEY_free(a->key);
	subca_acme_rec_cleanup(&a->account);
	json_decref(a->account_doc);
	json_decref(a->subproblems);
	memset(a, 0, sizeof(*a));
}

subca_result subca__acme_run(struct subca_request *req,
			     enum subca_acme_keyed keyed,
			     enum subca_acme_payload get, subca_acme_step step)
{
	struct subca_acme a;
	subca_result rv = subca__acme_begin(req, &a);

	if (rv == SUBCA_OK)
		rv = subca__acme_verify(&a, keyed, get);
	if (rv == SUBCA_OK)
		rv = step(&a);
	if (rv != SUBCA_OK) {
		json_t *sub = a.subproblems;

		a.subproblems = NULL;
		rv = subca__acme_problem(&a, rv, sub);
	}
	subca__acme_end(&a);
	return rv;
}

/* ---- answers -------------------------------------------------------------- */

void subca__acme_headers(struct subca_acme *a)
{
	char nonce[SUBCA_ACME_NONCE_LEN + 1];
	char link[SUBCA_ACME_URL_MAX + 32];

	if (subca__acme_nonce_new(a->req->ctx.now, nonce) == SUBCA_OK)
		subca__acme_header(a->req, "Replay-Nonce", nonce);
	else
		subca_error_clear();
	if (a->base[0] != '\0') {
		snprintf(link, sizeof(link), "<%s/directory>;rel=\"index\"",
			 a->base);
		subca__acme_header(a->req, "Link", link);
	}
}

subca_result subca__acme_reply(struct subca_acme *a, int status, json_t *doc,
			       const char *location)
{
	SUBCA_TRY(subca_response_json(a->req, status, doc));
	subca__acme_headers(a);
	if (location != NULL)
		subca__acme_header(a->req, "Location", location);
	return SUBCA_OK;
}

json_t *subca__acme_error_doc(subca_result code, const char *detail)
{
	char type[96], safe[SUBCA_ERROR_REASON_MAX];

	snprintf(type, sizeof(type), SUBCA_ACME_ERR_NS "%s",
		 subca_error_acme_type(code));
	subca__printable(detail, strlen(detail), safe, sizeof(safe));
	return json_pack("{s:s, s:s, s:i}", "type", type, "detail",
			 safe[0] ? safe : subca_error_title(code), "status",
			 subca_error_acme_status(code));
}

subca_result subca__acme_problem(struct subca_acme *a, subca_result code,
				 json_t *subproblems)
{
	struct subca_request *req = a->req;
	json_t *doc = subca__acme_error_doc(code, subca_error_reason());
	char *text;

	if (doc != NULL && subproblems != NULL)
		json_object_set(doc, "subproblems", subproblems);
	json_decref(subproblems);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	/* handlers answer their own errors, so the pipeline records none:
	 * keep the code for the request log */
	req->error = code;
	if (text == NULL ||
	    subca_response_bytes(req, subca_error_acme_status(code),
				 "application/problem+json", text,
				 strlen(text)) != SUBCA_OK) {
		free(text);
		subca_response_problem(req, SUBCA_E_NOMEM);
		return SUBCA_OK;
	}
	free(text);
	subca__acme_headers(a);
	/* RFC 8555 6.6: a rate limit says when to come back */
	if (code == SUBCA_E_OVERLOADED)
		subca__acme_header(req, "Retry-After", "1");
	return SUBCA_OK;
}

/* ---- the JWS envelope ------------------------------------------------------ */

/* The flattened JSON serialization of the body (RFC 8555 6.2). */
static subca_result subca__acme_body(struct subca_slice b, json_t **out)
{
	json_error_t e;
	json_t *body;
	const char *k;
	json_t *v;

	SUBCA_ENSURE(b.len <= SUBCA_ACME_MAX_BODY, SUBCA_E_TOO_LARGE,
		     "the request body of %zu bytes is over %u", b.len,
		     SUBCA_ACME_MAX_BODY);
	body = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, &e);
	if (body != NULL && !json_is_object(body)) {
		json_decref(body);
		body = NULL;
	}
	SUBCA_ENSURE(body != NULL, SUBCA_E_BAD_JWS,
		     "the request body is not a JSON object (a flattened "
		     "JWS, RFC 7515 7.2.2)");
	*out = body;
	json_object_foreach(body, k, v) {
		/* RFC 8555 6.2: no unprotected header */
		SUBCA_ENSURE(strcmp(k, "protected") == 0 ||
				     strcmp(k, "payload") == 0 ||
				     strcmp(k, "signature") == 0,
			     SUBCA_E_BAD_JWS,
			     "the JWS has a member other than protected, "
			     "payload and signature (RFC 8555 6.2)");
		SUBCA_ENSURE(json_is_string(v), SUBCA_E_BAD_JWS,
			     "a JWS member must be a string");
	}
	SUBCA_ENSURE(json_object_size(body) == 3, SUBCA_E_BAD_JWS,
		     "the JWS needs protected, payload and signature");
	return SUBCA_OK;
}

static struct subca_slice subca__str_slice(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return subca_slice_of(json_string_value(v), json_string_length(v));
}

subca_result subca__acme_envelope(struct subca_slice body,
				  struct subca_jws *jws)
{
	SUBCA_AUTO(json_t) json_t *o = NULL;

	memset(jws, 0, sizeof(*jws));
	SUBCA_TRY(subca__acme_body(body, &o));
	return subca_jws_parse_parts(subca__str_slice(o, "protected"),
				     subca__str_slice(o, "payload"),
				     subca__str_slice(o, "signature"), jws);
}

static subca_result subca__acme_parse(struct subca_acme *a)
{
	const char *ct = subca_request_header(a->req, "Content-Type");

	SUBCA_ENSURE(ct != NULL &&
			     strncasecmp(ct, "application/jose+json", 21) == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "an ACME request is application/jose+json (RFC 8555 6.2)");
	return subca__acme_envelope(a->req->body, &a->jws);
}

/* RFC 8555 6.4: the "url" header is exactly the request URL. */
static subca_result subca__acme_url_check(struct subca_acme *a)
{
	const json_t *u = json_object_get(a->jws.header, "url");
	char shown[120];

	SUBCA_ENSURE(json_is_string(u), SUBCA_E_BAD_JWS,
		     "the JWS protected header has no \"url\" string "
		     "(RFC 8555 6.4)");
	SUBCA_ENSURE(strcmp(json_string_value(u), a->url) == 0, SUBCA_E_AUTH,
		     "the JWS header's url \"%s\" is not the request URL "
		     "(RFC 8555 6.4)",
		     SUBCA_SHOWN(json_string_value(u), shown));
	return SUBCA_OK;
}

/* RFC 8555 6.5: a nonce this process issued, spent once. */
static subca_result subca__acme_nonce_check(struct subca_acme *a)
{
	const json_t *n = json_object_get(a->jws.header, "nonce");

	SUBCA_ENSURE(json_is_string(n), SUBCA_E_ACME_BAD_NONCE,
		     "the JWS protected header has no \"nonce\" string "
		     "(RFC 8555 6.5)");
	return subca__acme_nonce_use(json_string_value(n), a->req->ctx.now);
}

/* The account a "kid" names: BASE/account/ID of this provisioner. */
static subca_result subca__acme_kid(struct subca_acme *a)
{
	struct subca_store *st = a->req->ctx.store;
	const char *kid = a->jws.kid;
	size_t bl = strlen(a->base);
	const json_t *jwk;
	subca_result rv;

	SUBCA_ENSURE(kid != NULL, SUBCA_E_BAD_JWS,
		     "this request is signed by an account: the JWS header "
		     "needs \"kid\" (RFC 8555 6.2)");
	SUBCA_ENSURE(json_object_get(a->jws.header, "jwk") == NULL,
		     SUBCA_E_BAD_JWS,
		     "the JWS header has both \"jwk\" and \"kid\" "
		     "(RFC 8555 6.2)");
	SUBCA_ENSURE(strncmp(kid, a->base, bl) == 0 &&
			     strncmp(kid + bl, "/account/", 9) == 0,
		     SUBCA_E_ACME_NO_ACCOUNT,
		     "the kid is not an account URL of this directory");
	rv = st->ops->acme_get(st, SUBCA_ACME_ACCOUNT, a->prov.id,
			       kid + bl + 9, &a->account);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_ACME_NO_ACCOUNT,
			   "the kid names no account of this directory");
	SUBCA_TRY(rv);
	a->have_account = true;
	SUBCA_TRY(subca__acme_doc(&a->account, &a->account_doc));
	SUBCA_ENSURE(strcmp(a->account.status, "valid") == 0, SUBCA_E_AUTH,
		     "the account is %s (RFC 8555 7.3.6)", a->account.status);
	jwk = json_object_get(a->account_doc, "jwk");
	if (subca__acme_account_key(jwk, &a->key) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_STORE, "the stored account key is unusable");
	return SUBCA_OK;
}

static subca_result subca__acme_jwk(struct subca_acme *a)
{
	const json_t *jwk = json_object_get(a->jws.header, "jwk");

	SUBCA_ENSURE(json_is_object(jwk), SUBCA_E_BAD_JWS,
		     "this request is signed by a key: the JWS header needs "
		     "\"jwk\" (RFC 8555 6.2)");
	SUBCA_ENSURE(a->jws.kid == NULL, SUBCA_E_BAD_JWS,
		     "the JWS header has both \"jwk\" and \"kid\" "
		     "(RFC 8555 6.2)");
	return subca_jwk_from_json(jwk, &a->key);
}

static subca_result subca__acme_payload(struct subca_acme *a,
					enum subca_acme_payload get)
{
	json_error_t e;

	if (a->jws.payload.len == 0) {
		SUBCA_ENSURE(get != SUBCA_ACME_OBJECT, SUBCA_E_INVALID_ARGUMENT,
			     "this request needs a JSON object as payload, "
			     "not an empty one (POST-as-GET)");
		return SUBCA_OK;
	}
	SUBCA_ENSURE(get != SUBCA_ACME_EMPTY, SUBCA_E_INVALID_ARGUMENT,
		     "this resource is read with POST-as-GET: the payload "
		     "must be empty (RFC 8555 6.3)");
	a->payload = json_loadb((const char *)a->jws.payload.p,
				a->jws.payload.len, JSON_REJECT_DUPLICATES, &e);
	SUBCA_ENSURE(json_is_object(a->payload), SUBCA_E_INVALID_ARGUMENT,
		     "the JWS payload is not a JSON object");
	return SUBCA_OK;
}

subca_result subca__acme_verify(struct subca_acme *a,
				enum subca_acme_keyed keyed,
				enum subca_acme_payload get)
{
	bool by_jwk;

	SUBCA_TRY(subca__acme_parse(a));
	SUBCA_TRY(subca__acme_url_check(a));
	by_jwk = keyed == SUBCA_ACME_BY_JWK ||
		 (keyed == SUBCA_ACME_BY_EITHER && a->jws.kid == NULL);
	SUBCA_TRY(by_jwk ? subca__acme_jwk(a) : subca__acme_kid(a));
	SUBCA_TRY(subca_jws_verify(&a->jws, a->key));
	/* after the signature: nobody spends another's nonces */
	SUBCA_TRY(subca__acme_nonce_check(a));
	return subca__acme_payload(a, get);
}

/* ---- options of an acme provisioner --------------------------------------- */

subca_result subca_acme_challenges_parse(const char *list, unsigned *out)
{
	char buf[128], *save = NULL, shown[40];
	enum subca_acme_chall t;
	size_t n = strlen(list);

	*out = 0;
	SUBCA_ENSURE(n > 0 && n < sizeof(buf), SUBCA_E_INVALID_ARGUMENT,
		     "list the challenge types separated by commas "
		     "(http-01,dns-01,tls-alpn-01)");
	memcpy(buf, list, n + 1);
	for (char *it = strtok_r(buf, ",", &save); it != NULL;
	     it = strtok_r(NULL, ",", &save)) {
		if (subca_acme_chall_parse(it, &t) != SUBCA_OK)
			SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
				   "unknown challenge type \"%s\" (http-01, "
				   "dns-01, tls-alpn-01)",
				   SUBCA_SHOWN(it, shown));
		*out |= SUBCA_ACME_CHALL_BIT(t);
	}
	SUBCA_ENSURE(*out != 0, SUBCA_E_INVALID_ARGUMENT,
		     "list at least one challenge type");
	return SUBCA_OK;
}

subca_result subca_acme_options_text(const struct subca_acme_options *o,
				     char **out)
{
	SUBCA_AUTO(json_t) json_t *doc = json_object();
	json_t *ch = json_array();
	unsigned bits = o->challenges ? o->challenges : SUBCA_ACME_CHALL_ALL;
	char *text;

	*out = NULL;
	SUBCA_ENSURE(doc != NULL && ch != NULL &&
			     json_object_set_new(doc, "challenges", ch) == 0,
		     SUBCA_E_NOMEM, "out of memory");
	json_object_set_new(doc, "require_eab", json_boolean(o->require_eab));
	for (int t = SUBCA_ACME_HTTP01; t <= SUBCA_ACME_TLSALPN01; t++)
		if (bits & SUBCA_ACME_CHALL_BIT(t))
			json_array_append_new(ch, json_string(subca_acme_chall_name(
							  (enum subca_acme_chall)t)));
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	*out = text ? subca_strdup(text) : NULL;
	free(text);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

subca_result subca_acme_options_parse(const char *text,
				      struct subca_acme_options *o)
{
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	json_error_t e;
	const json_t *ch, *v;
	enum subca_acme_chall t;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->challenges = SUBCA_ACME_CHALL_ALL;
	if (text == NULL || text[0] == '\0')
		return SUBCA_OK;
	doc = json_loads(text, 0, &e);
	SUBCA_ENSURE(json_is_object(doc), SUBCA_E_STORE,
		     "the stored ACME options are not a JSON object");
	o->require_eab = json_is_true(json_object_get(doc, "require_eab"));
	ch = json_object_get(doc, "challenges");
	if (!json_is_array(ch))
		return SUBCA_OK;
	o->challenges = 0;
	json_array_foreach(ch, i, v) {
		if (json_is_string(v) &&
		    subca_acme_chall_parse(json_string_value(v), &t) == SUBCA_OK)
			o->challenges |= SUBCA_ACME_CHALL_BIT(t);
	}
	subca_error_clear();
	SUBCA_ENSURE(o->challenges != 0, SUBCA_E_STORE,
		     "the stored ACME options allow no challenge type");
	return SUBCA_OK;
}
