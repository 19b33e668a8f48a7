/*
 * Signing CA certificates: the offline signer for a root held as PEM files
 * (`subca sign-intermediate`), and self-signed roots for authorities whose
 * root subca generates.
 */
#ifndef SUBCA_SIGNER_H
#define SUBCA_SIGNER_H

#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "subca/error.h"

struct subca_sign_intermediate_opts {
	int days;     /* > 0; capped by the root's notAfter */
	int path_len; /* -2: take the CSR's requested path length (none when
		       * it requests CA:TRUE without one, 0 when it has no
		       * basicConstraints); -1: none; >= 0: this value */
	time_t now;
};

/*
 * Sign `csr` with `root_key` as `root`: refuses a CSR whose self-signature
 * fails (SUBCA_E_CSR_SIGNATURE) and a key that does not match the root
 * certificate (SUBCA_E_ROOT_KEY_MISMATCH). The certificate keeps the CSR's
 * subject (bytes unchanged) and public key, is X.509 v3 with a serial from
 * subca_serial_new (112 random bits), notBefore = now - 1 minute,
 * critical basicConstraints CA:TRUE with the path length, critical keyUsage
 * keyCertSign+cRLSign+digitalSignature, subject key identifier, authority
 * key identifier copied from the root's subject key identifier (issuer name
 * and serial when the root has none), and the CSR's requested name
 * constraints, copied critical. notAfter is capped at the root's notAfter.
 * Also refuses: a root or CSR key that subca_key_check_strength refuses
 * (SUBCA_E_WEAK_KEY / SUBCA_E_UNSUPPORTED_KEY), a root whose keyUsage lacks
 * keyCertSign (SUBCA_E_NO_KEYCERTSIGN), that is not a CA (SUBCA_E_NOT_CA) or
 * has pathLenConstraint 0 (SUBCA_E_PATHLEN_FORBIDDEN), days outside
 * 1..SUBCA_MAX_INTERMEDIATE_DAYS or path_len outside -2..SUBCA_MAX_PATHLEN
 * (SUBCA_E_INVALID_ARGUMENT), a malformed extension request
 * (SUBCA_E_BAD_CSR). *out owned by the caller.
 */
SUBCA_MUST_CHECK subca_result
subca_signer_sign_intermediate(X509 *root, EVP_PKEY *root_key, X509_REQ *csr,
			       const struct subca_sign_intermediate_opts *o,
			       X509 **out);

/*
 * A self-signed root CA certificate for `key`: subject CN=`cn` (plus O when
 * org != NULL), critical CA:TRUE without path length, critical keyUsage
 * keyCertSign+cRLSign+digitalSignature, subject key identifier (no
 * authority key identifier: RFC 5280 4.2.1.1 allows omitting it when
 * self-signed), `days` (1..SUBCA_MAX_VALIDITY_DAYS) of validity from
 * now - 1 minute. cn/org are validated as in subca_csr_subject_build.
 * *out owned by the caller.
 */
SUBCA_MUST_CHECK subca_result subca_signer_self_signed_root(
	EVP_PKEY *key, const char *cn, const char *org, int days, time_t now,
	X509 **out);

/*
 * A positive serial of exactly 20 octets (RFC 5280 4.1.2.2): the top bits
 * 01 (positive, and the encoding never shrinks), then the time of issue in
 * milliseconds since the Unix epoch (46 bits), then 112 bits from the
 * CSPRNG (CA/B BR 7.1 asks for at least 64). The time in front makes the
 * serials a store records increase, so its serial index grows at its end
 * rather than on a random page per certificate; the random part keeps them
 * unpredictable and unique.
 */
SUBCA_MUST_CHECK subca_result subca_serial_new(ASN1_INTEGER **out);

/* subca_serial_new with the time given: `ms` since the Unix epoch. */
SUBCA_MUST_CHECK subca_result subca_serial_at(uint64_t ms, ASN1_INTEGER **out);

/* The longest lifetime subca_validity_set accepts (100 years). */
#define SUBCA_MAX_VALIDITY_DAYS 36600

/*
 * Set notAfter = min(now + days, cap_not_after) and notBefore = now - 60s,
 * UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
 * Sets *capped when the cap shortened the lifetime (may be NULL).
 * Errors: SUBCA_E_INVALID_ARGUMENT for days outside 1..SUBCA_MAX_VALIDITY_DAYS
 * or an unreadable cap; SUBCA_E_EXPIRED when the cap is not after notBefore.
 */
SUBCA_MUST_CHECK subca_result subca_validity_set(X509 *x, time_t now, long days,
						 const ASN1_TIME *cap_not_after,
						 int *capped);

#endif
