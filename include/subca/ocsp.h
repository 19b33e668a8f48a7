/*
 * OCSP (RFC 6960) in the RFC 5019 lightweight profile: parse an untrusted
 * OCSPRequest, find which of an authority's intermediates it names, and
 * build the BasicOCSPResponse signed by that intermediate itself (no
 * delegated responder). No store here: the caller looks the status up.
 */
#ifndef SUBCA_OCSP_H
#define SUBCA_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"

/* A parsed request. Free with subca_ocsp_request_cleanup. */
struct subca_ocsp_request {
	OCSP_REQUEST *req;
	OCSP_CERTID *id;  /* the (one) certificate asked about; borrowed */
	const EVP_MD *md; /* the CertID's hash: SHA-1, SHA-256/384/512 */
	char serial[48];  /* its serial, lower-case hex, no leading zeros */
	bool nonce;	  /* carries a nonce extension (echoed) */
};
void subca_ocsp_request_cleanup(struct subca_ocsp_request *r);

/*
 * Parse a DER OCSPRequest (at most SUBCA_MAX_OCSP_REQUEST bytes; through
 * subca_der_decode). RFC 5019 2.1.1: one certificate per request; up to
 * SUBCA_MAX_OCSP_CERTS are accepted and only the first is answered.
 * Errors (each answered with malformedRequest): SUBCA_E_EMPTY,
 * SUBCA_E_TOO_LARGE, SUBCA_E_GARBAGE, SUBCA_E_TRAILING_DATA, and
 * SUBCA_E_OCSP_MALFORMED naming the problem (no certificate, too many, an
 * unsupported CertID hash, a negative or oversized serial, a nonce over
 * SUBCA_MAX_OCSP_NONCE bytes). A request signature is ignored (RFC 5019
 * 2.1.2 does not require one).
 */
SUBCA_MUST_CHECK subca_result subca_ocsp_request_parse(
	struct subca_slice der, struct subca_ocsp_request *out);

/*
 * Does the request's CertID name `issuer` (issuerNameHash and
 * issuerKeyHash computed with the request's own hash, RFC 6960 4.1.1)?
 */
bool subca_ocsp_request_names(const struct subca_ocsp_request *r,
			      X509 *issuer);

/*
 * The index in issuers[0..n-1] (NULL entries skipped) of the issuer the
 * request names; SUBCA_E_OCSP_UNKNOWN_ISSUER (answered "unauthorized",
 * RFC 5019 2.2.3) when none.
 */
SUBCA_MUST_CHECK subca_result subca_ocsp_request_match(
	const struct subca_ocsp_request *r, X509 *const *issuers, size_t n,
	size_t *idx);

enum subca_ocsp_cert_status {
	SUBCA_OCSP_GOOD = 0,
	SUBCA_OCSP_REVOKED,
	SUBCA_OCSP_UNKNOWN,
};

struct subca_ocsp_answer {
	enum subca_ocsp_cert_status status;
	int64_t revoked_at; /* SUBCA_OCSP_REVOKED */
	int reason;	    /* RFC 5280 CRLReason; 0 (unspecified) is not
			     * written (RFC 6960 4.2.1 makes it optional) */
	int64_t this_update; /* producedAt too */
	int64_t next_update; /* > this_update (RFC 5019 2.2.4) */
};

/*
 * Build the signed OCSPResponse (status successful) for the request's
 * certificate: responderID byKey (RFC 5019 2.2.2), producedAt =
 * thisUpdate, the CertID as asked, the status, nextUpdate, the nonce
 * echoed when the request has one (RFC 6960 4.4.1), signed by `key` (the
 * issuer's) with no certificates attached. DER into `der` (initialised
 * here). SUBCA_E_INVALID_ARGUMENT (bad times or reason), SUBCA_E_CRYPTO.
 */
SUBCA_MUST_CHECK subca_result subca_ocsp_respond(
	const struct subca_ocsp_request *r, X509 *issuer, EVP_PKEY *key,
	const struct subca_ocsp_answer *a, struct subca_buf *der);

/*
 * An unsigned error OCSPResponse (RFC 6960 4.2.1): the status for `code`
 * (SUBCA_E_OCSP_UNKNOWN_ISSUER: unauthorized; input and limit errors:
 * malformedRequest; anything else: internalError). Into `der`
 * (initialised here).
 */
SUBCA_MUST_CHECK subca_result subca_ocsp_error_response(subca_result code,
							struct subca_buf *der);

/* The OCSPResponseStatus subca_ocsp_error_response uses for `code`. */
int subca_ocsp_error_status(subca_result code);

#endif
