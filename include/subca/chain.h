/*
 * Verification of a signed intermediate uploaded by the customer, against
 * the imported root and the CSR subca generated, before subca uses it.
 */
#ifndef SUBCA_CHAIN_H
#define SUBCA_CHAIN_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"
#include "subca/report.h"
#include "subca/root.h"

struct subca_intermediate_check {
	const struct subca_root *root; /* imported root chain */
	X509_REQ *csr;		       /* the pending CSR subca generated */
	EVP_PKEY *key;		       /* the pending private key (signs the
					* throw-away leaf) */
	time_t now;
	bool accept_weaker; /* accept a certificate lacking requested
			     * name constraints / path length (warning) */
};

/*
 * Parse `upload` (subca_certin_parse: the certificate alone or with the root
 * and/or chain in any order) and find the intermediate: the certificate
 * whose public key is the pending key. Then check it and record every
 * refusal and warning in `report`:
 *
 * Refusals: PRIVATE_KEY / GARBAGE / EMPTY / TOO_LARGE / TRUNCATED (parse);
 * CSR_NOT_CERT (the CSR uploaded back); KEY_MISMATCH (no certificate with
 * the generated key: "you signed a different CSR"); UNRELATED_CERTS (extra
 * certificates that are neither the root chain nor the intermediate);
 * WRONG_ISSUER (issuer name differs, or the signature does not verify with
 * the root's key, e.g. a look-alike root); V1_CERT; NOT_CA (CA:FALSE or no
 * basicConstraints; hint for CFSSL's ca_constraint / openssl -extfile);
 * NO_KEYCERTSIGN; LEAF_CERT; EXPIRED / NOT_YET_VALID; PATHLEN_FORBIDDEN
 * (the issuing CA's pathlen does not leave room); NAME_CONSTRAINTS (names
 * in the intermediate's subject or constraints outside the root's
 * constraints); WEAK_SIGNATURE (MD5/SHA-1); WEAK_KEY; UNKNOWN_CRITICAL;
 * WEAKER_THAN_REQUESTED (requested name constraints or path length missing
 * or wider, unless accept_weaker); CHAIN_VERIFY (OpenSSL's verifier refuses
 * the chain root -> intermediate -> throw-away leaf).
 *
 * Warnings: notAfter past the issuing CA's notAfter; subject re-encoded or
 * reordered compared with the CSR; a path length larger than requested;
 * accepted RFC 5280 deviations (root without subject key identifier,
 * intermediate without authority/subject key identifier, non-critical
 * basicConstraints); weaker-than-requested when accept_weaker.
 *
 * Returns SUBCA_OK and *cert_out (owned) when there is no refusal; else the
 * first refusal's code with its message and hint as the thread error.
 */
SUBCA_MUST_CHECK subca_result
subca_intermediate_verify(const struct subca_intermediate_check *c,
			  struct subca_slice upload,
			  struct subca_report *report, X509 **cert_out);

/* Whether two names have the same DER encoding, byte for byte; false when
 * either cannot be encoded. */
bool subca_name_der_equal(const X509_NAME *a, const X509_NAME *b);

#endif
