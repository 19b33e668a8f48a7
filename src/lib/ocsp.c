/*
 * OCSP requests and responses (RFC 6960, RFC 5019 profile). Requests are
 * untrusted: decoded only through subca_der_decode, size-capped, and every
 * field the answer depends on is checked before use (fuzz_ocsp).
 */
#include "subca/ocsp.h"

#include <openssl/err.h>
#include <string.h>

#include "subca/crl.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

void subca_ocsp_request_cleanup(struct subca_ocsp_request *r)
{
	OCSP_REQUEST_free(r->req);
	memset(r, 0, sizeof(*r));
}

/* RFC 5019 2.1.1 names SHA-1; RFC 6960 allows others: take the SHA-2s. */
static const EVP_MD *subca__certid_md(const ASN1_OBJECT *oid)
{
	switch (OBJ_obj2nid(oid)) {
	case NID_sha1: return EVP_sha1();
	case NID_sha256: return EVP_sha256();
	case NID_sha384: return EVP_sha384();
	case NID_sha512: return EVP_sha512();
	default: return NULL;
	}
}

static subca_result subca__certid(struct subca_ocsp_request *out)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *oid = NULL;
	ASN1_INTEGER *serial = NULL;
	size_t hlen;

	SUBCA_ENSURE(OCSP_id_get0_info(&name_hash, &oid, &key_hash, &serial,
				       out->id) == 1 &&
			     name_hash && oid && key_hash && serial,
		     SUBCA_E_OCSP_MALFORMED, "the request's CertID is incomplete");
	out->md = subca__certid_md(oid);
	SUBCA_ENSURE(out->md != NULL, SUBCA_E_OCSP_MALFORMED,
		     "the CertID's hash algorithm is not SHA-1 or SHA-2");
	hlen = (size_t)EVP_MD_get_size(out->md);
	SUBCA_ENSURE((size_t)ASN1_STRING_length(name_hash) == hlen &&
			     (size_t)ASN1_STRING_length(key_hash) == hlen,
		     SUBCA_E_OCSP_MALFORMED,
		     "the CertID's hashes are not %zu bytes long", hlen);
	/* RFC 5280 4.1.2.2: positive, at most 20 octets */
	SUBCA_ENSURE(ASN1_STRING_type(serial) == V_ASN1_INTEGER &&
			     ASN1_STRING_length(serial) <= 20,
		     SUBCA_E_OCSP_MALFORMED,
		     "the requested serial number is negative or longer than "
		     "20 octets");
	if (subca_serial_hex(serial, out->serial, sizeof(out->serial)) !=
	    SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_OCSP_MALFORMED,
			   "the requested serial number is malformed");
	return SUBCA_OK;
}

/* RFC 8954 2.1: a nonce of 1 to 32 octets (in an OCTET STRING). */
static subca_result subca__nonce(struct subca_ocsp_request *out)
{
	int i = OCSP_REQUEST_get_ext_by_NID(out->req, NID_id_pkix_OCSP_Nonce,
					    -1);
	const ASN1_OCTET_STRING *v;

	if (i < 0)
		return SUBCA_OK;
	v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(out->req, i));
	SUBCA_ENSURE(v != NULL && ASN1_STRING_length(v) > 0 &&
			     ASN1_STRING_length(v) <= SUBCA_MAX_OCSP_NONCE + 2,
		     SUBCA_E_OCSP_MALFORMED,
		     "the request's nonce is empty or longer than %d bytes",
		     SUBCA_MAX_OCSP_NONCE);
	SUBCA_ENSURE(OCSP_REQUEST_get_ext_by_NID(out->req,
						 NID_id_pkix_OCSP_Nonce, i) < 0,
		     SUBCA_E_OCSP_MALFORMED, "the request has two nonces");
	out->nonce = true;
	return SUBCA_OK;
}

static subca_result subca__request_check(struct subca_ocsp_request *out)
{
	int n = OCSP_request_onereq_count(out->req);

	SUBCA_ENSURE(n >= 1, SUBCA_E_OCSP_MALFORMED,
		     "the request asks about no certificate");
	SUBCA_ENSURE(n <= SUBCA_MAX_OCSP_CERTS, SUBCA_E_OCSP_MALFORMED,
		     "the request asks about %d certificates; at most %d are "
		     "accepted (RFC 5019: one)",
		     n, SUBCA_MAX_OCSP_CERTS);
	out->id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(out->req, 0));
	SUBCA_ENSURE(out->id != NULL, SUBCA_E_OCSP_MALFORMED,
		     "the request has no CertID");
	SUBCA_TRY(subca__certid(out));
	return subca__nonce(out);
}

subca_result subca_ocsp_request_parse(struct subca_slice der,
				      struct subca_ocsp_request *out)
{
	subca_result rv;
	void *obj = NULL;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(der.len <= SUBCA_MAX_OCSP_REQUEST, SUBCA_E_TOO_LARGE,
		     "the OCSP request of %zu bytes is over the limit of %u",
		     der.len, SUBCA_MAX_OCSP_REQUEST);
	SUBCA_TRY(subca_der_decode(SUBCA_DER_OCSP_REQUEST, der, &obj));
	out->req = obj;
	rv = subca__request_check(out);
	if (rv != SUBCA_OK)
		subca_ocsp_request_cleanup(out);
	return rv;
}

bool subca_ocsp_request_names(const struct subca_ocsp_request *r,
			      X509 *issuer)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (issuer == NULL ||
	    OCSP_id_get0_info(&name_hash, NULL, &key_hash, NULL, r->id) != 1)
		return false;
	/* RFC 6960 4.1.1: the hash of the issuer's DN ... */
	if (X509_NAME_digest(X509_get_subject_name(issuer), r->md, md, &len) != 1 ||
	    (int)len != ASN1_STRING_length(name_hash) ||
	    memcmp(md, ASN1_STRING_get0_data(name_hash), len) != 0) {
		ERR_clear_error();
		return false;
	}
	/* ... and of its public key BIT STRING's value */
	if (X509_pubkey_digest(issuer, r->md, md, &len) != 1 ||
	    (int)len != ASN1_STRING_length(key_hash) ||
	    memcmp(md, ASN1_STRING_get0_data(key_hash), len) != 0) {
		ERR_clear_error();
		return false;
	}
	return true;
}

subca_result subca_ocsp_request_match(const struct subca_ocsp_request *r,
				      X509 *const *issuers, size_t n,
				      size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		if (issuers[i] != NULL &&
		    subca_ocsp_request_names(r, issuers[i])) {
			*idx = i;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_OCSP_UNKNOWN_ISSUER,
		   "the request names an issuer that is not an intermediate "
		   "of this authority");
}

/* ---- responses ------------------------------------------------------------ */

static void subca__gt_free(ASN1_GENERALIZEDTIME **p)
{
	ASN1_GENERALIZEDTIME_free(*p);
}
#define SUBCA__GT_AUTO __attribute__((cleanup(subca__gt_free)))

static void subca__bs_free(OCSP_BASICRESP **p)
{
	OCSP_BASICRESP_free(*p);
}

static void subca__resp_free(OCSP_RESPONSE **p)
{
	OCSP_RESPONSE_free(*p);
}

static subca_result subca__answer_check(const struct subca_ocsp_answer *a)
{
	SUBCA_ENSURE(a->next_update > a->this_update, SUBCA_E_INVALID_ARGUMENT,
		     "the OCSP response's nextUpdate must be after thisUpdate");
	SUBCA_ENSURE(a->status != SUBCA_OCSP_REVOKED ||
			     subca_crl_reason_name(a->reason) != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "revocation reason %d is not an RFC 5280 CRLReason",
		     a->reason);
	SUBCA_ENSURE(a->status <= SUBCA_OCSP_UNKNOWN, SUBCA_E_INVALID_ARGUMENT,
		     "unknown certificate status %d", (int)a->status);
	return SUBCA_OK;
}

static subca_result subca__add_status(OCSP_BASICRESP *bs,
				      const struct subca_ocsp_request *r,
				      const struct subca_ocsp_answer *a)
{
	static const int status[] = {
		[SUBCA_OCSP_GOOD] = V_OCSP_CERTSTATUS_GOOD,
		[SUBCA_OCSP_REVOKED] = V_OCSP_CERTSTATUS_REVOKED,
		[SUBCA_OCSP_UNKNOWN] = V_OCSP_CERTSTATUS_UNKNOWN,
	};
	SUBCA__GT_AUTO ASN1_GENERALIZEDTIME *tu =
		ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->this_update);
	SUBCA__GT_AUTO ASN1_GENERALIZEDTIME *nu =
		ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->next_update);
	SUBCA__GT_AUTO ASN1_GENERALIZEDTIME *rt =
		ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->revoked_at);
	bool revoked = a->status == SUBCA_OCSP_REVOKED;
	int reason = revoked && a->reason != SUBCA_CRL_REASON_UNSPECIFIED
			     ? a->reason
			     : OCSP_REVOKED_STATUS_NOSTATUS;

	SUBCA_OSSL(tu && nu && rt, SUBCA_E_INVALID_ARGUMENT,
		   "cannot encode the OCSP response's times");
	SUBCA_OSSL(OCSP_basic_add1_status(bs, r->id, status[a->status], reason,
					  revoked ? rt : NULL, tu, nu) != NULL,
		   SUBCA_E_NOMEM, "cannot add the certificate status");
	return SUBCA_OK;
}

/*
 * producedAt is the caller's time, not the wall clock (OCSP_NOTIME keeps
 * OpenSSL from overwriting it), so that answers are reproducible.
 */
static subca_result subca__sign(OCSP_BASICRESP *bs, X509 *issuer,
				EVP_PKEY *key, int64_t produced)
{
	ASN1_GENERALIZEDTIME *p =
		(ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs);

	SUBCA_OSSL(p != NULL && ASN1_GENERALIZEDTIME_set(p, (time_t)produced),
		   SUBCA_E_INVALID_ARGUMENT, "cannot encode producedAt");
	SUBCA_OSSL(OCSP_basic_sign(bs, issuer, key, subca_key_sign_md(key),
				   NULL,
				   OCSP_NOCERTS | OCSP_RESPID_KEY |
					   OCSP_NOTIME) == 1,
		   SUBCA_E_CRYPTO, "signing the OCSP response failed");
	return SUBCA_OK;
}

static subca_result subca__response_der(OCSP_RESPONSE *resp,
					struct subca_buf *der)
{
	unsigned char *p = NULL;
	int n = i2d_OCSP_RESPONSE(resp, &p);
	subca_result rv;

	SUBCA_OSSL(n > 0, SUBCA_E_CRYPTO, "cannot encode the OCSP response");
	rv = subca_buf_append(der, p, (size_t)n);
	OPENSSL_free(p);
	return rv;
}

subca_result subca_ocsp_respond(const struct subca_ocsp_request *r,
				X509 *issuer, EVP_PKEY *key,
				const struct subca_ocsp_answer *a,
				struct subca_buf *der)
{
	__attribute__((cleanup(subca__bs_free))) OCSP_BASICRESP *bs =
		OCSP_BASICRESP_new();
	__attribute__((cleanup(subca__resp_free))) OCSP_RESPONSE *resp = NULL;

	subca_buf_init(der, SUBCA_MAX_RESPONSE_BODY);
	SUBCA_OSSL(bs != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca__answer_check(a));
	SUBCA_TRY(subca__add_status(bs, r, a));
	/* RFC 6960 4.4.1: echo the nonce (returns 2 when there is none) */
	SUBCA_OSSL(OCSP_copy_nonce(bs, r->req) > 0, SUBCA_E_NOMEM,
		   "cannot copy the nonce");
	SUBCA_TRY(subca__sign(bs, issuer, key, a->this_update));
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	SUBCA_OSSL(resp != NULL, SUBCA_E_NOMEM, "out of memory");
	return subca__response_der(resp, der);
}

int subca_ocsp_error_status(subca_result code)
{
	if (code == SUBCA_E_OCSP_UNKNOWN_ISSUER)
		return OCSP_RESPONSE_STATUS_UNAUTHORIZED;
	switch (subca_error_category(code)) {
	case SUBCA_CAT_INPUT:
	case SUBCA_CAT_LIMIT:
		return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
	default:
		return OCSP_RESPONSE_STATUS_INTERNALERROR;
	}
}

subca_result subca_ocsp_error_response(subca_result code,
				       struct subca_buf *der)
{
	__attribute__((cleanup(subca__resp_free))) OCSP_RESPONSE *resp =
		OCSP_response_create(subca_ocsp_error_status(code), NULL);

	subca_buf_init(der, 64);
	SUBCA_OSSL(resp != NULL, SUBCA_E_NOMEM, "out of memory");
	return subca__response_der(resp, der);
}
