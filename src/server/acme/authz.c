/*
 * Authorizations and challenges (RFC 8555 7.5, 8): created with their
 * order, read with POST-as-GET, an authorization deactivated by its
 * account (7.5.2), a challenge answered with {} (7.5.1), which hands it to
 * the validation pool and answers at once with status "processing".
 *
 * Which challenges an identifier gets: those the provisioner offers, minus
 * http-01 and tls-alpn-01 for wildcards (RFC 8555 7.1.3) and dns-01 for IP
 * addresses (RFC 8738 7).
 */
#include <string.h>

#include <openssl/rand.h>

#include "acme_int.h"
#include "subca/alloc.h"

subca_result subca__acme_key_authz(const char *token, const char *jwk_json,
				   struct subca_buf *out)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	char thumb[SUBCA_JWK_THUMBPRINT_LEN + 1];

	SUBCA_TRY(subca_jwk_parse(subca_slice_of(jwk_json, strlen(jwk_json)),
				  &key));
	SUBCA_TRY(subca_jwk_thumbprint(key, thumb));
	subca_buf_init(out, strlen(token) + sizeof(thumb) + 2);
	SUBCA_TRY(subca_buf_append_str(out, token));
	SUBCA_TRY(subca_buf_append(out, ".", 1));
	return subca_buf_append(out, thumb, strlen(thumb) + 1);
}

/* ---- creating ---------------------------------------------------------------- */

static unsigned subca__chall_types(const struct subca_acme *a,
				   const json_t *ident, bool wildcard)
{
	unsigned bits = a->opts.challenges;

	if (wildcard)
		bits &= SUBCA_ACME_CHALL_BIT(SUBCA_ACME_DNS01);
	if (strcmp(json_string_value(json_object_get(ident, "type")), "ip") == 0)
		bits &= ~SUBCA_ACME_CHALL_BIT(SUBCA_ACME_DNS01);
	return bits;
}

/* Record a new pending authorization or challenge `id` under `parent`. */
static subca_result subca__pending_add(struct subca_acme *a,
				       enum subca_acme_kind kind,
				       const char *id, const char *parent,
				       int64_t expires, const json_t *doc)
{
	struct subca_acme_rec r = {0};
	subca_result rv;

	SUBCA_ENSURE(doc != NULL, SUBCA_E_NOMEM, "out of memory");
	r.id = (char *)id;
	r.provisioner_id = a->prov.id;
	r.parent = (char *)parent;
	r.status = "pending";
	r.expires = expires;
	r.created = r.updated = (int64_t)a->req->ctx.now;
	SUBCA_TRY(subca__acme_doc_set(&r, doc));
	rv = a->req->ctx.store->ops->acme_add(a->req->ctx.store, kind, &r);
	subca_free(r.doc);
	return rv;
}

static subca_result subca__chall_create(struct subca_acme *a,
					const char *authz_id,
					enum subca_acme_chall t,
					int64_t expires, json_t *ids)
{
	char id[SUBCA_ACME_ID_MAX], token[SUBCA_ACME_ID_MAX];
	uint8_t raw[32];
	SUBCA_BUF_AUTO struct subca_buf tok = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;

	/* RFC 8555 8.1: at least 128 bits of entropy */
	SUBCA_OSSL(RAND_bytes(raw, sizeof(raw)) == 1, SUBCA_E_CRYPTO,
		   "no random bytes for a token");
	SUBCA_TRY(subca_b64url_encode(subca_slice_of(raw, sizeof(raw)),
				      sizeof(token) - 1, &tok));
	memcpy(token, tok.p, tok.len + 1);
	SUBCA_TRY(subca__acme_new_id(id));
	doc = json_pack("{s:s, s:s}", "type", subca_acme_chall_name(t),
			"token", token);
	SUBCA_TRY(subca__pending_add(a, SUBCA_ACME_CHALLENGE, id, authz_id,
				     expires, doc));
	SUBCA_ENSURE(json_array_append_new(ids, json_string(id)) == 0,
		     SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

subca_result subca__acme_authz_create(struct subca_acme *a,
				      const char *order_id,
				      const json_t *ident, int64_t expires,
				      char id[SUBCA_ACME_ID_MAX])
{
	const char *v = json_string_value(json_object_get(ident, "value"));
	bool wildcard = strncmp(v, "*.", 2) == 0;
	unsigned bits = subca__chall_types(a, ident, wildcard);
	SUBCA_AUTO(json_t) json_t *ids = json_array();
	SUBCA_AUTO(json_t) json_t *doc = NULL;

	SUBCA_ENSURE(ids != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_ENSURE(bits != 0, SUBCA_E_BAD_NAME,
		     "no challenge this directory offers can validate %s", v);
	SUBCA_TRY(subca__acme_new_id(id));
	for (int t = SUBCA_ACME_HTTP01; t <= SUBCA_ACME_TLSALPN01; t++)
		if (bits & SUBCA_ACME_CHALL_BIT(t))
			SUBCA_TRY(subca__chall_create(a, id,
						      (enum subca_acme_chall)t,
						      expires, ids));
	/* RFC 8555 7.1.4: a wildcard's authorization names the base domain */
	doc = json_pack("{s:{s:O, s:s}, s:b, s:O}", "identifier", "type",
			json_object_get(ident, "type"), "value",
			wildcard ? v + 2 : v, "wildcard", wildcard,
			"challenges", ids);
	return subca__pending_add(a, SUBCA_ACME_AUTHZ, id, order_id, expires,
				  doc);
}

/* ---- showing ------------------------------------------------------------------- */

static json_t *subca__chall_view(const struct subca_acme *a,
				 const struct subca_acme_rec *c,
				 const json_t *doc)
{
	char url[SUBCA_ACME_URL_MAX + 80];
	json_t *v;

	subca__acme_url(a, "chall", c->id, url, sizeof(url));
	v = json_pack("{s:O, s:s, s:s, s:O}", "type",
		      json_object_get(doc, "type"), "url", url, "status",
		      c->status, "token", json_object_get(doc, "token"));
	if (v != NULL && json_object_get(doc, "validated") != NULL)
		json_object_set(v, "validated", json_object_get(doc, "validated"));
	if (v != NULL && json_object_get(doc, "error") != NULL)
		json_object_set(v, "error", json_object_get(doc, "error"));
	return v;
}

static subca_result subca__authz_view(const struct subca_acme *a,
				      const struct subca_acme_rec *r,
				      const json_t *doc, json_t **out)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_filter f = {.provisioner_id = a->prov.id,
				      .parent = r->id};
	struct subca_acme_list l = {0};
	json_t *ch = json_array();
	const char *status = r->status;
	char t[32];
	subca_result rv;

	SUBCA_ENSURE(ch != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = st->ops->acme_list(st, SUBCA_ACME_CHALLENGE, &f, &l);
	for (size_t i = 0; rv == SUBCA_OK && i < l.n; i++) {
		json_t *cd = NULL;

		rv = subca__acme_doc(&l.v[i], &cd);
		if (rv == SUBCA_OK)
			json_array_append_new(ch, subca__chall_view(a, &l.v[i], cd));
		json_decref(cd);
	}
	subca_acme_list_cleanup(&l);
	if (rv != SUBCA_OK) {
		json_decref(ch);
		return rv;
	}
	/* RFC 8555 7.1.6: a pending authorization past its time expired */
	if (strcmp(status, "pending") == 0 && r->expires <= (int64_t)a->req->ctx.now)
		status = "expired";
	subca__acme_time(r->expires, t);
	*out = json_pack("{s:O, s:s, s:s, s:o}", "identifier",
			 json_object_get(doc, "identifier"), "status", status,
			 "expires", t, "challenges", ch);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	if (json_is_true(json_object_get(doc, "wildcard")))
		json_object_set_new(*out, "wildcard", json_true());
	return SUBCA_OK;
}

/* The authorization `id`, which must belong to an order of the account. */
static subca_result subca__authz_load(struct subca_acme *a, const char *id,
				      struct subca_acme_rec *r, json_t **doc)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_rec o = {0};
	json_t *od = NULL;
	subca_result rv;

	rv = st->ops->acme_get(st, SUBCA_ACME_AUTHZ, a->prov.id, id, r);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no such authorization");
	SUBCA_TRY(rv);
	rv = subca__acme_order_load(a, r->parent, &o, &od);
	json_decref(od);
	subca_acme_rec_cleanup(&o);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no such authorization");
	SUBCA_TRY(rv);
	return subca__acme_doc(r, doc);
}

/* RFC 8555 7.5.2: {"status": "deactivated"} */
static subca_result subca__authz_deactivate(struct subca_acme *a,
					    struct subca_acme_rec *r)
{
	struct subca_store *st = a->req->ctx.store;
	const json_t *s = json_object_get(a->payload, "status");
	subca_result rv;

	/* other members are ignored: some clients send the whole object */
	SUBCA_ENSURE(json_is_string(s) &&
			     strcmp(json_string_value(s), "deactivated") == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "an authorization can only be updated with {\"status\": "
		     "\"deactivated\"} (RFC 8555 7.5.2)");
	SUBCA_ENSURE(strcmp(r->status, "pending") == 0 ||
			     strcmp(r->status, "valid") == 0,
		     SUBCA_E_STATE,
		     "only a pending or valid authorization can be "
		     "deactivated; this one is %s", r->status);
	subca_free(r->status);
	r->status = subca_strdup("deactivated");
	SUBCA_ENSURE(r->status != NULL, SUBCA_E_NOMEM, "out of memory");
	r->updated = (int64_t)a->req->ctx.now;
	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->acme_update(st, SUBCA_ACME_AUTHZ, r);
	if (rv == SUBCA_OK)
		rv = subca__acme_order_refresh(st, a->prov.id, r->parent,
					       r->updated);
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}

static subca_result subca__authz(struct subca_acme *a)
{
	struct subca_acme_rec r = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	json_t *view = NULL;
	char id[SUBCA_ACME_ID_MAX];
	subca_result rv;

	SUBCA_TRY(subca_request_param(a->req, 1, id, sizeof(id)));
	rv = subca__authz_load(a, id, &r, &doc);
	if (rv == SUBCA_OK && a->payload != NULL)
		rv = subca__authz_deactivate(a, &r);
	if (rv == SUBCA_OK)
		rv = subca__authz_view(a, &r, doc, &view);
	subca_acme_rec_cleanup(&r);
	SUBCA_TRY(rv);
	return subca__acme_reply(a, 200, view, NULL);
}

/* POST /acme/{p}/authz/{id}: read, or deactivate. */
subca_result subca__acme_authz(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EITHER,
			       subca__authz);
}

/* ---- answering a challenge ------------------------------------------------- */

/* Pending -> processing, then to the pool (RFC 8555 7.5.1). */
static subca_result subca__chall_start(struct subca_acme *a,
				       struct subca_acme_rec *c,
				       const struct subca_acme_rec *z)
{
	struct subca_store *st = a->req->ctx.store;

	SUBCA_ENSURE(json_object_size(a->payload) == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a challenge is answered with an empty object {} "
		     "(RFC 8555 7.5.1)");
	if (strcmp(c->status, "pending") != 0)
		return SUBCA_OK; /* answered before: nothing more to do */
	SUBCA_ENSURE(strcmp(z->status, "pending") == 0 &&
			     z->expires > (int64_t)a->req->ctx.now,
		     SUBCA_E_STATE, "the authorization is %s",
		     z->expires > (int64_t)a->req->ctx.now ? z->status
							  : "expired");
	subca_free(c->status);
	c->status = subca_strdup("processing");
	SUBCA_ENSURE(c->status != NULL, SUBCA_E_NOMEM, "out of memory");
	c->updated = (int64_t)a->req->ctx.now;
	SUBCA_TRY(st->ops->acme_update(st, SUBCA_ACME_CHALLENGE, c));
	if (!subca__acme_pool_submit(a->prov.id, c->id))
		subca_log_event("acme", "challenge %s queued in the store "
				"only: no validation pool runs", c->id);
	return SUBCA_OK;
}

static subca_result subca__chall(struct subca_acme *a)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_rec c = {0}, z = {0};
	SUBCA_AUTO(json_t) json_t *cd = NULL;
	SUBCA_AUTO(json_t) json_t *zd = NULL;
	char id[SUBCA_ACME_ID_MAX], up[SUBCA_ACME_URL_MAX + 100];
	subca_result rv;

	SUBCA_TRY(subca_request_param(a->req, 1, id, sizeof(id)));
	rv = st->ops->acme_get(st, SUBCA_ACME_CHALLENGE, a->prov.id, id, &c);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(SUBCA_E_NOT_FOUND, __FILE__, __LINE__,
				     "no such challenge");
	if (rv == SUBCA_OK)
		rv = subca__authz_load(a, c.parent, &z, &zd);
	if (rv == SUBCA_OK && a->payload != NULL)
		rv = subca__chall_start(a, &c, &z);
	if (rv == SUBCA_OK)
		rv = subca__acme_doc(&c, &cd);
	if (rv == SUBCA_OK) {
		subca__acme_url(a, "authz", z.id, up + 1, sizeof(up) - 32);
		up[0] = '<';
		strncat(up, ">;rel=\"up\"", sizeof(up) - strlen(up) - 1);
		if (strcmp(c.status, "processing") == 0)
			subca__acme_header(a->req, "Retry-After",
					   SUBCA_ACME_RETRY_AFTER);
		subca__acme_header(a->req, "Link", up);
		rv = subca__acme_reply(a, 200, subca__chall_view(a, &c, cd),
				       NULL);
	}
	subca_acme_rec_cleanup(&c);
	subca_acme_rec_cleanup(&z);
	return rv;
}

/* POST /acme/{p}/chall/{id}: {} answers, "" reads. */
subca_result subca__acme_challenge(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EITHER,
			       subca__chall);
}
