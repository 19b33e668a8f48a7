/*
 * Certificate revocation lists (RFC 5280 section 5): one v2 CRL per
 * intermediate, signed by that intermediate. A builder collects the
 * entries (one call each, in any order: the caller streams them from the
 * store), then sorts them once and signs.
 *
 *   struct subca_crl_builder *b = NULL;
 *   subca_crl_builder_new(&b);
 *   subca_crl_builder_add(b, "5f3a...", revoked_at, reason);   // n times
 *   subca_crl_builder_sign(b, &params, &der);
 *   subca_crl_builder_free(b);
 *
 * Pruning (RFC 5280 5.1.2.6: an entry may go once the certificate has
 * expired) is the caller's choice of entries.
 */
#ifndef SUBCA_CRL_H
#define SUBCA_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"

/* RFC 5280 5.3.1 CRLReason values. */
#define SUBCA_CRL_REASON_UNSPECIFIED 0
#define SUBCA_CRL_REASON_MAX 10

struct subca_crl_builder;

/* A builder with no entries. SUBCA_E_NOMEM. */
SUBCA_MUST_CHECK subca_result
subca_crl_builder_new(struct subca_crl_builder **out);
void subca_crl_builder_free(struct subca_crl_builder *b);

/*
 * Add the certificate with serial `serial_hex` (hex digits, any case, no
 * sign; at most 40 digits), revoked at `revoked_at` (unix seconds) for
 * `reason` (RFC 5280 5.3.1: 0..10, not 7). The reasonCode entry extension
 * is written unless the reason is unspecified (RFC 5280 5.3.1: SHOULD be
 * absent then). SUBCA_E_INVALID_ARGUMENT naming a bad serial or reason,
 * SUBCA_E_NOMEM. Entries already added stay on failure.
 */
SUBCA_MUST_CHECK subca_result subca_crl_builder_add(struct subca_crl_builder *b,
						    const char *serial_hex,
						    int64_t revoked_at,
						    int reason);

/* Entries added so far. */
size_t subca_crl_builder_count(const struct subca_crl_builder *b);

struct subca_crl_params {
	X509 *issuer;	  /* the intermediate (borrowed) */
	EVP_PKEY *key;	  /* its private key (borrowed) */
	int64_t number;	  /* cRLNumber, >= 1 (RFC 5280 5.2.3) */
	int64_t this_update;
	int64_t next_update; /* > this_update (RFC 5280 5.1.2.5) */
};

/*
 * Sort the entries by serial and sign the CRL: v2, issuer = the
 * intermediate's subject, thisUpdate/nextUpdate, extensions
 * authorityKeyIdentifier (the intermediate's own subject key identifier,
 * copied, RFC 5280 5.2.1) and cRLNumber (5.2.3). The DER goes to `der`
 * (initialised here, at most SUBCA_MAX_CRL bytes). The builder may be
 * signed again (with another number). SUBCA_E_INVALID_ARGUMENT for bad
 * parameters or an issuer without a subject key identifier,
 * SUBCA_E_NOT_CA for an issuer without cRLSign (RFC 5280 4.2.1.3),
 * SUBCA_E_TOO_LARGE, SUBCA_E_CRYPTO.
 */
SUBCA_MUST_CHECK subca_result
subca_crl_builder_sign(struct subca_crl_builder *b,
		       const struct subca_crl_params *p, struct subca_buf *der);

/* RFC 5280 5.3.1 name of a reason ("keyCompromise"), NULL when unknown. */
const char *subca_crl_reason_name(int reason);

#endif
