/*
 * Provisioner credentials for the sign API: an API key (apikey
 * provisioners) or a one-time token (jwk provisioners). A token is found by
 * its "iss" (the provisioner's name in this authority), verified with that
 * provisioner's key only, must name this authority's sign URL as its
 * audience, and is spent by recording its jti in the store, so that a
 * replay is refused also after a restart. Errors are 401 without echoing
 * secrets.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "subca/credential.h"
#include "sign_int.h"
#include "subca/alloc.h"
#include "subca/ossl.h"

#define SUBCA__BEARER "Bearer "
#define SUBCA__APIKEY_PREFIX "subca_key_"

void subca__prov_principal_free(struct subca_prov_principal *p)
{
	if (p == NULL)
		return;
	subca_provisioner_rec_cleanup(&p->prov);
	subca_policy_json_cleanup(&p->policy);
	if (p->have_token)
		subca_token_cleanup(&p->token);
	json_decref(p->body);
	p->magic = 0;
	subca_free(p);
}

struct subca_prov_principal *subca__prov_principal(struct subca_request *req)
{
	struct subca_prov_principal *p = req->principal;

	if (p == NULL || req->route == NULL ||
	    req->route->auth != SUBCA_CRED_PROVISIONER ||
	    p->magic != SUBCA_PROV_PRINCIPAL_MAGIC)
		return NULL;
	return p;
}

void subca__auth_provisioner_release(struct subca_request *req)
{
	struct subca_prov_principal *p = req->principal;

	if (p != NULL && p->magic == SUBCA_PROV_PRINCIPAL_MAGIC) {
		subca__prov_principal_free(p);
		req->principal = NULL;
	}
}

/* ---- audiences ----------------------------------------------------------- */

/* ":8443" from the Host header, or "". */
static const char *subca__host_port(const char *host_header)
{
	const char *p;

	if (host_header == NULL)
		return "";
	if (host_header[0] == '[') {
		p = strchr(host_header, ']');
		return p != NULL && p[1] == ':' ? p + 1 : "";
	}
	p = strrchr(host_header, ':');
	return p != NULL ? p : "";
}

void subca__sign_audiences(const struct subca_request *req,
			   char aud[2][SUBCA_SIGN_AUD_MAX], size_t *n)
{
	const char *port = subca__host_port(req->host_header);
	const char *base = req->env ? req->env->router.base_domain : NULL;
	const char *sub = req->authority_rec.subdomain
				  ? req->authority_rec.subdomain
				  : req->authority;
	bool v6 = strchr(req->match.host, ':') != NULL;

	*n = 0;
	if (strlen(port) > 6)
		port = "";
	if (req->match.via == SUBCA_VIA_HOST) {
		snprintf(aud[(*n)++], SUBCA_SIGN_AUD_MAX, "https://%s%s/sign",
			 req->match.host, port);
		return;
	}
	snprintf(aud[(*n)++], SUBCA_SIGN_AUD_MAX, "https://%s%s%s%s/a/%s/sign",
		 v6 ? "[" : "", req->match.host, v6 ? "]" : "", port,
		 req->authority ? req->authority : "");
	if (base != NULL && sub != NULL)
		snprintf(aud[(*n)++], SUBCA_SIGN_AUD_MAX, "https://%s.%s%s/sign",
			 sub, base, port);
}

/* ---- credentials -------------------------------------------------------- */

static subca_result subca__prov_load(struct subca_request *req,
				     const char *name,
				     struct subca_prov_principal *p)
{
	struct subca_store *st = req->ctx.store;
	subca_result rv;

	rv = st->ops->provisioner_get(st, req->authority_rec.id, name,
				      &p->prov);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_AUTH,
			   "the token's issuer is not a provisioner of "
			   "authority \"%s\"",
			   req->authority);
	return rv;
}

static subca_result subca__prov_policy(struct subca_prov_principal *p)
{
	const char *text = p->prov.policy ? p->prov.policy : "{}";
	subca_result rv;

	rv = subca_policy_json_parse(subca_slice_of(text, strlen(text)),
				     &p->policy);
	if (rv != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_STORE,
			   "the stored policy of provisioner \"%s\" is "
			   "unusable: %s",
			   p->prov.name, subca_error_reason());
	return SUBCA_OK;
}

static subca_result subca__apikey(struct subca_request *req, const char *key,
				  struct subca_prov_principal *p)
{
	struct subca_store *st = req->ctx.store;
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];
	subca_result rv;

	SUBCA_TRY(subca_credential_validate(SUBCA_SECRET_APIKEY, key));
	SUBCA_TRY(subca_credential_hash(key, strlen(key), hash));
	rv = st->ops->provisioner_get_by_key_hash(st, req->authority_rec.id,
						  hash, &p->prov);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_AUTH,
			   "the API key is not one of authority \"%s\"",
			   req->authority);
	SUBCA_TRY(rv);
	SUBCA_ENSURE(p->prov.type == SUBCA_PROV_APIKEY &&
			     subca_credential_hash_equal(p->prov.key_hash, hash),
		     SUBCA_E_AUTH, "the API key is not one of authority \"%s\"",
		     req->authority);
	return SUBCA_OK;
}

/* Verify for the first audience; on an audience mismatch try the other. */
static subca_result subca__token_verify(struct subca_request *req,
					struct subca_slice tok, EVP_PKEY *pub,
					struct subca_token *out)
{
	char aud[2][SUBCA_SIGN_AUD_MAX];
	size_t n = 0;
	subca_result rv = SUBCA_E_INTERNAL;

	subca__sign_audiences(req, aud, &n);
	for (size_t i = 0; i < n; i++) {
		subca_token_cleanup(out);
		rv = subca_token_verify(tok, pub, aud[i], req->ctx.now, out);
		if (rv != SUBCA_E_TOKEN_AUDIENCE)
			return rv;
	}
	SUBCA_BAIL(SUBCA_E_TOKEN_AUDIENCE,
		   "the token's audience is not this authority's sign URL "
		   "(%s%s%s)",
		   aud[0], n > 1 ? " or " : "", n > 1 ? aud[1] : "");
}

static subca_result subca__jwt(struct subca_request *req, const char *token,
			       struct subca_prov_principal *p)
{
	struct subca_store *st = req->ctx.store;
	struct subca_slice tok = subca_slice_of(token, strlen(token));
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pub = NULL;
	struct subca_token peek = {0};
	subca_result rv;

	rv = subca_token_peek(tok, &peek);
	if (rv == SUBCA_OK)
		rv = subca_label_validate("token issuer", peek.iss) == SUBCA_OK
			     ? subca__prov_load(req, peek.iss, p)
			     : subca_error_set(SUBCA_E_AUTH, __FILE__, __LINE__,
					       "the token's issuer is not a "
					       "provisioner name");
	subca_token_cleanup(&peek);
	SUBCA_TRY(rv);
	SUBCA_ENSURE(p->prov.type == SUBCA_PROV_JWK && p->prov.jwk_json,
		     SUBCA_E_AUTH,
		     "provisioner \"%s\" is of type %s and takes no tokens",
		     p->prov.name, subca_provisioner_type_name(p->prov.type));
	SUBCA_TRY(subca_jwk_parse(subca_slice_of(p->prov.jwk_json,
						 strlen(p->prov.jwk_json)),
				  &pub));
	p->have_token = true;
	SUBCA_TRY(subca__token_verify(req, tok, pub, &p->token));
	rv = st->ops->jti_use(st, p->prov.id, p->token.jti, p->token.exp);
	if (rv == SUBCA_E_EXISTS)
		SUBCA_BAIL(SUBCA_E_AUTH,
			   "the token was already used (one-time token ids "
			   "are accepted once)");
	return rv;
}

/* The body as a JSON object (NULL when empty). */
static subca_result subca__body_json(struct subca_request *req, json_t **out)
{
	json_error_t jerr;

	*out = NULL;
	if (req->body.len == 0)
		return SUBCA_OK;
	*out = json_loadb((const char *)req->body.p, req->body.len,
			  JSON_REJECT_DUPLICATES, &jerr);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the request body is not JSON: %.80s (line %d, column %d)",
		     jerr.text, jerr.line, jerr.column);
	SUBCA_ENSURE(json_is_object(*out), SUBCA_E_INVALID_ARGUMENT,
		     "the request body must be a JSON object");
	return SUBCA_OK;
}

/* Which credential was presented: *bearer from the header, *token from
 * the body; both borrowed. */
static subca_result subca__presented(struct subca_request *req, json_t *body,
				     const char **bearer, const char **token)
{
	const char *h = subca_request_header(req, "Authorization");
	json_t *t = body ? json_object_get(body, "token") : NULL;

	*bearer = NULL;
	*token = NULL;
	if (h != NULL) {
		SUBCA_ENSURE(strncasecmp(h, SUBCA__BEARER,
					 strlen(SUBCA__BEARER)) == 0,
			     SUBCA_E_AUTH,
			     "the Authorization header must be \"Bearer "
			     "<API key or sign token>\"");
		*bearer = h + strlen(SUBCA__BEARER);
	}
	if (t != NULL) {
		SUBCA_ENSURE(json_is_string(t), SUBCA_E_INVALID_ARGUMENT,
			     "\"token\" must be a string");
		*token = json_string_value(t);
	}
	SUBCA_ENSURE(*bearer != NULL || *token != NULL, SUBCA_E_AUTH,
		     "no credential: send an API key or a sign token "
		     "(Authorization: Bearer, or \"token\" in the body)");
	SUBCA_ENSURE(*bearer == NULL || *token == NULL ||
			     strcmp(*bearer, *token) == 0,
		     SUBCA_E_AUTH,
		     "two different credentials (the Authorization header and "
		     "the body's \"token\"): send one");
	return SUBCA_OK;
}

static subca_result subca__authenticate(struct subca_request *req,
					struct subca_prov_principal *p)
{
	const char *bearer = NULL, *token = NULL;

	SUBCA_ENSURE(req->authority != NULL && req->authority_rec.id > 0,
		     SUBCA_E_INTERNAL, "provisioner check outside an authority");
	SUBCA_TRY(subca__body_json(req, &p->body));
	SUBCA_TRY(subca__presented(req, p->body, &bearer, &token));
	if (token == NULL &&
	    strncmp(bearer, SUBCA__APIKEY_PREFIX, strlen(SUBCA__APIKEY_PREFIX)) == 0)
		SUBCA_TRY(subca__apikey(req, bearer, p));
	else
		SUBCA_TRY(subca__jwt(req, token ? token : bearer, p));
	return subca__prov_policy(p);
}

subca_result subca__prov_authenticate(struct subca_request *req,
				      struct subca_prov_principal **out)
{
	struct subca_prov_principal *p = subca_calloc(1, sizeof(*p));
	subca_result rv;

	*out = NULL;
	SUBCA_ENSURE(p != NULL, SUBCA_E_NOMEM, "out of memory");
	p->magic = SUBCA_PROV_PRINCIPAL_MAGIC;
	rv = subca__authenticate(req, p);
	if (rv != SUBCA_OK) {
		subca__prov_principal_free(p);
		return rv;
	}
	*out = p;
	return SUBCA_OK;
}

subca_result subca__auth_provisioner(struct subca_request *req)
{
	struct subca_prov_principal *p = NULL;

	SUBCA_TRY(subca__prov_authenticate(req, &p));
	subca__auth_provisioner_release(req);
	req->principal = p;
	snprintf(req->actor_buf, sizeof(req->actor_buf), "provisioner:%s",
		 p->prov.name);
	req->ctx.actor = req->actor_buf;
	return SUBCA_OK;
}
