/*
 * revokeCert (RFC 8555 7.6), keyChange (7.3.5) and renewalInfo (RFC 9773).
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "acme_int.h"
#include "subca/alloc.h"
#include "subca/ossl.h"

/* ---- revokeCert ---------------------------------------------------------------- */

static subca_result subca__revoke_cert(const struct subca_acme *a, X509 **out,
				       struct subca_cert_rec *rec)
{
	struct subca_store *st = a->req->ctx.store;
	const json_t *c = json_object_get(a->payload, "certificate");
	SUBCA_BUF_AUTO struct subca_buf der = {0};
	char serial[128];
	subca_result rv;

	SUBCA_ENSURE(json_is_string(c), SUBCA_E_INVALID_ARGUMENT,
		     "revokeCert needs \"certificate\": base64url DER");
	SUBCA_TRY(subca_b64url_decode(subca_slice_of(json_string_value(c),
						     json_string_length(c)),
				      SUBCA_MAX_CERT_INPUT, "the certificate",
				      &der));
	rv = subca_der_decode(SUBCA_DER_X509, subca_buf_slice(&der),
			      (void **)out);
	if (rv != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
			   "\"certificate\" is not a DER certificate");
	SUBCA_TRY(subca_serial_hex(X509_get0_serialNumber(*out), serial,
				   sizeof(serial)));
	rv = st->ops->cert_get(st, a->req->authority_rec.id, serial, rec);
	if (rv == SUBCA_OK) {
		SUBCA_AUTO(X509) X509 *stored = NULL;

		rv = subca_pem_load_x509(rec->pem, &stored);
		if (rv == SUBCA_OK && X509_cmp(stored, *out) != 0)
			rv = SUBCA_E_NOT_FOUND;
	}
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "this authority did not issue this certificate");
	return rv;
}

/*
 * RFC 8555 7.6: signed by the account that ordered it, or by the
 * certificate's own key (jwk).
 */
static subca_result subca__revoke_allowed(const struct subca_acme *a,
					  X509 *x, const char *serial)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_rec o = {0};
	subca_result rv;

	if (!a->have_account) {
		SUBCA_ENSURE(EVP_PKEY_eq(X509_get0_pubkey(x), a->key) == 1,
			     SUBCA_E_AUTH,
			     "the JWS key is not the certificate's key");
		return SUBCA_OK;
	}
	rv = st->ops->acme_find(st, SUBCA_ACME_ORDER, a->prov.id, serial, &o);
	if (rv == SUBCA_OK && strcmp(o.parent, a->account.id) != 0)
		rv = SUBCA_E_NOT_FOUND;
	subca_acme_rec_cleanup(&o);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_AUTH,
			   "this account did not order certificate %s", serial);
	return rv;
}

static subca_result subca__revoke(struct subca_acme *a)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_cert_rec rec = {0};
	SUBCA_AUTO(X509) X509 *x = NULL;
	const json_t *r = json_object_get(a->payload, "reason");
	int reason = 0;
	subca_result rv;

	if (r != NULL) {
		reason = json_is_integer(r) ? (int)json_integer_value(r) : -1;
		/* RFC 5280 5.3.1; 7 is unused, 8 (removeFromCRL) is not a
		 * reason to revoke */
		SUBCA_ENSURE(reason >= 0 && reason <= 10 && reason != 7 &&
				     reason != 8,
			     SUBCA_E_ACME_BAD_REVOCATION_REASON,
			     "reason must be an RFC 5280 CRLReason code");
	}
	rv = subca__revoke_cert(a, &x, &rec);
	if (rv == SUBCA_OK)
		rv = subca__revoke_allowed(a, x, rec.serial);
	if (rv == SUBCA_OK && rec.status == SUBCA_CERT_REVOKED)
		rv = subca_error_set(SUBCA_E_ACME_ALREADY_REVOKED, __FILE__,
				     __LINE__, "certificate %s is already "
				     "revoked", rec.serial);
	if (rv == SUBCA_OK)
		rv = st->ops->cert_revoke(st, a->req->authority_rec.id,
					  rec.serial, reason,
					  (int64_t)a->req->ctx.now);
	if (rv == SUBCA_OK)
		rv = subca_audit(&a->req->ctx, a->req->authority,
				 "certificate.revoke",
				 "certificate serial %s revoked through ACME "
				 "(reason %d, by %s)",
				 rec.serial, reason,
				 a->have_account ? "its account"
						 : "its own key");
	subca_cert_rec_cleanup(&rec);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca_response_bytes(a->req, 200, "text/plain", "", 0));
	subca__acme_headers(a);
	return SUBCA_OK;
}

subca_result subca__acme_revoke(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_EITHER, SUBCA_ACME_OBJECT,
			       subca__revoke);
}

/* ---- keyChange ------------------------------------------------------------------ */

/* The inner JWS (RFC 8555 7.3.5): jwk = the new key, same url, no nonce,
 * payload {"account": kid, "oldKey": the current JWK}. */
static subca_result subca__inner(struct subca_acme *a, struct subca_jws *in,
				 EVP_PKEY **newkey, json_t **payload)
{
	const json_t *p = a->payload;
	const json_t *u;
	json_error_t e;

	SUBCA_ENSURE(json_is_string(json_object_get(p, "protected")) &&
			     json_is_string(json_object_get(p, "payload")) &&
			     json_is_string(json_object_get(p, "signature")),
		     SUBCA_E_BAD_JWS,
		     "keyChange's payload is a JWS (protected, payload, "
		     "signature)");
#define SUBCA__PART(k)                                                     \
	subca_slice_of(json_string_value(json_object_get(p, k)),           \
		       json_string_length(json_object_get(p, k)))
	SUBCA_TRY(subca_jws_parse_parts(SUBCA__PART("protected"),
					SUBCA__PART("payload"),
					SUBCA__PART("signature"), in));
#undef SUBCA__PART
	u = json_object_get(in->header, "url");
	SUBCA_ENSURE(json_is_string(u) && strcmp(json_string_value(u), a->url) == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the inner JWS's url must be the outer one (RFC 8555 7.3.5)");
	SUBCA_ENSURE(json_object_get(in->header, "nonce") == NULL &&
			     in->kid == NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the inner JWS has a jwk and neither nonce nor kid "
		     "(RFC 8555 7.3.5)");
	SUBCA_TRY(subca_jwk_from_json(json_object_get(in->header, "jwk"), newkey));
	SUBCA_TRY(subca_jws_verify(in, *newkey));
	*payload = json_loadb((const char *)in->payload.p, in->payload.len,
			      JSON_REJECT_DUPLICATES, &e);
	SUBCA_ENSURE(json_is_object(*payload), SUBCA_E_INVALID_ARGUMENT,
		     "the inner JWS's payload is not a JSON object");
	return SUBCA_OK;
}

static subca_result subca__key_change_check(struct subca_acme *a,
					    const json_t *p)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *old = NULL;

	SUBCA_ENSURE(json_is_string(json_object_get(p, "account")) &&
			     strcmp(json_string_value(json_object_get(p, "account")),
				    a->jws.kid) == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the inner payload's account must be the signer's kid "
		     "(RFC 8555 7.3.5)");
	SUBCA_TRY(subca_jwk_from_json(json_object_get(p, "oldKey"), &old));
	SUBCA_ENSURE(EVP_PKEY_eq(old, a->key) == 1, SUBCA_E_INVALID_ARGUMENT,
		     "oldKey is not the account's current key (RFC 8555 7.3.5)");
	return SUBCA_OK;
}

static subca_result subca__key_change_store(struct subca_acme *a,
					    EVP_PKEY *newkey)
{
	struct subca_store *st = a->req->ctx.store;
	char thumb[SUBCA_JWK_THUMBPRINT_LEN + 1], loc[SUBCA_ACME_URL_MAX + 80];
	struct subca_acme_rec other = {0};
	json_t *jwk = NULL;
	subca_result rv;

	SUBCA_TRY(subca_jwk_thumbprint(newkey, thumb));
	rv = st->ops->acme_find(st, SUBCA_ACME_ACCOUNT, a->prov.id, thumb,
				&other);
	if (rv == SUBCA_OK) {
		/* RFC 8555 7.3.5: 409 with the other account's URL */
		subca__acme_url(a, "account", other.id, loc, sizeof(loc));
		subca__acme_header(a->req, "Location", loc);
		subca_acme_rec_cleanup(&other);
		SUBCA_BAIL(SUBCA_E_EXISTS,
			   "another account already uses the new key");
	}
	if (rv != SUBCA_E_NOT_FOUND)
		return rv;
	SUBCA_TRY(subca_jwk_to_json(newkey, &jwk));
	json_object_set_new(a->account_doc, "jwk", jwk);
	SUBCA_TRY(subca__acme_doc_set(&a->account, a->account_doc));
	subca_free(a->account.lookup);
	a->account.lookup = subca_strdup(thumb);
	SUBCA_ENSURE(a->account.lookup != NULL, SUBCA_E_NOMEM, "out of memory");
	a->account.updated = (int64_t)a->req->ctx.now;
	SUBCA_TRY(st->ops->acme_update(st, SUBCA_ACME_ACCOUNT, &a->account));
	return subca_audit(&a->req->ctx, a->req->authority,
			   "acme.account.key-change",
			   "ACME account %s changed its key", a->account.id);
}

static subca_result subca__key_change(struct subca_acme *a)
{
	struct subca_jws in = {0};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *newkey = NULL;
	SUBCA_AUTO(json_t) json_t *p = NULL;
	subca_result rv;

	rv = subca__inner(a, &in, &newkey, &p);
	subca_jws_cleanup(&in);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca__key_change_check(a, p));
	SUBCA_TRY(subca__key_change_store(a, newkey));
	return subca__acme_reply(a, 200,
				 subca__acme_account_view(a, &a->account,
							  a->account_doc),
				 NULL);
}

subca_result subca__acme_key_change(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_OBJECT,
			       subca__key_change);
}

/* ---- renewalInfo (RFC 9773) ------------------------------------------------------ */

/* certID = base64url(AKI keyIdentifier) "." base64url(serial DER value)
 * (RFC 9773 4.1); the serial as lower-case hex for the store. */
static subca_result subca__cert_id(const char *id, struct subca_buf *aki,
				   char *serial, size_t len)
{
	const char *dot = strchr(id, '.');
	SUBCA_BUF_AUTO struct subca_buf s = {0};
	size_t o = 0, i = 0;

	SUBCA_ENSURE(dot != NULL && dot != id && dot[1] != '\0',
		     SUBCA_E_INVALID_ARGUMENT,
		     "a renewalInfo id is AKI.SERIAL in base64url (RFC 9773 "
		     "4.1)");
	SUBCA_TRY(subca_b64url_decode(subca_slice_of(id, (size_t)(dot - id)),
				      64, "the certID's key identifier", aki));
	SUBCA_TRY(subca_b64url_decode(subca_slice_of(dot + 1, strlen(dot + 1)),
				      20, "the certID's serial", &s));
	while (i < s.len && s.p[i] == 0)
		i++;
	for (; i < s.len && o + 3 < len; i++)
		o += (size_t)snprintf(serial + o, len - o,
				      o == 0 ? "%x" : "%02x", s.p[i]);
	if (o == 0)
		snprintf(serial, len, "0");
	return SUBCA_OK;
}

static subca_result subca__renewal_window(struct subca_request *req,
					  const struct subca_cert_rec *rec,
					  json_t **out)
{
	int64_t life = rec->not_after - rec->not_before;
	int64_t start = rec->not_before + life * 2 / 3;
	int64_t end = rec->not_before + life * 5 / 6;
	char s[32], e[32];

	/* a revoked certificate is due now (RFC 9773 4.2) */
	if (rec->status == SUBCA_CERT_REVOKED) {
		start = (int64_t)req->ctx.now - 60;
		end = (int64_t)req->ctx.now;
	}
	subca__acme_time(start, s);
	subca__acme_time(end, e);
	*out = json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start", s,
			 "end", e);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static subca_result subca__renewal(struct subca_acme *a)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_cert_rec rec = {0};
	SUBCA_BUF_AUTO struct subca_buf aki = {0};
	SUBCA_AUTO(X509) X509 *x = NULL;
	char id[256], serial[64];
	json_t *doc = NULL;
	subca_result rv;

	SUBCA_TRY(subca_request_param(a->req, 1, id, sizeof(id)));
	SUBCA_TRY(subca__cert_id(id, &aki, serial, sizeof(serial)));
	rv = st->ops->cert_get(st, a->req->authority_rec.id, serial, &rec);
	if (rv == SUBCA_OK)
		rv = subca_pem_load_x509(rec.pem, &x);
	if (rv == SUBCA_OK) {
		const ASN1_OCTET_STRING *k = X509_get0_authority_key_id(x);

		if (k == NULL || (size_t)ASN1_STRING_length(k) != aki.len ||
		    memcmp(ASN1_STRING_get0_data(k), aki.p, aki.len) != 0)
			rv = SUBCA_E_NOT_FOUND;
	}
	if (rv == SUBCA_OK)
		rv = subca__renewal_window(a->req, &rec, &doc);
	subca_cert_rec_cleanup(&rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "this authority issued no certificate with this "
			   "certID");
	SUBCA_TRY(rv);
	/* RFC 9773 4.3: when to ask again */
	subca__acme_header(a->req, "Retry-After", "21600");
	return subca_response_json(a->req, 200, doc);
}

/* GET /acme/{p}/renewal-info/{certID}: public (RFC 9773 4.3). */
subca_result subca__acme_renewal_info(struct subca_request *req)
{
	struct subca_acme a;
	subca_result rv = subca__acme_begin(req, &a);

	if (rv == SUBCA_OK)
		rv = subca__renewal(&a);
	if (rv != SUBCA_OK)
		rv = subca__acme_problem(&a, rv, NULL);
	subca__acme_end(&a);
	return rv;
}
