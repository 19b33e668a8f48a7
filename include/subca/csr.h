/*
 * The intermediate's certificate signing request: built by subca for the
 * key it generated, carrying the requested CA extensions as an
 * extensionRequest (RFC 2986, RFC 2985), and read back to learn what was
 * requested.
 */
#ifndef SUBCA_CSR_H
#define SUBCA_CSR_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"

/* A borrowed list of strings. */
struct subca_names {
	const char *const *v;
	size_t n;
};

/* Name constraints (RFC 5280 4.2.1.10) as text: DNS names ("example.com",
 * ".example.com"), IP ranges in CIDR ("10.0.0.0/8", "2001:db8::/32"),
 * email constraints ("example.com", "user@example.com"). */
struct subca_name_constraints {
	struct subca_names permit_dns, exclude_dns;
	struct subca_names permit_ip, exclude_ip;
	struct subca_names permit_email, exclude_email;
};

struct subca_intermediate_params {
	const char *cn; /* required */
	const char *org, *ou, *country, *state, *locality; /* optional */
	int path_len; /* >= 0; -1 = no path length constraint */
	int days;     /* 0 (unset) or 1..SUBCA_MAX_INTERMEDIATE_DAYS; not in
		       * the CSR, only validated here */
	struct subca_name_constraints nc;
};

/*
 * Validate params (CN present, country is 2 letters, attribute lengths,
 * path length 0..SUBCA_MAX_PATHLEN or -1, every DNS/IP/email constraint
 * syntactically valid) and build a CSR signed by `key` with subject from the
 * params and an extensionRequest holding: basicConstraints critical CA:TRUE
 * (with pathlen when >= 0), keyUsage critical keyCertSign+cRLSign+
 * digitalSignature, and nameConstraints critical when any is given.
 * Errors: SUBCA_E_INVALID_ARGUMENT / SUBCA_E_BAD_NAME naming the bad value,
 * SUBCA_E_TOO_LARGE (more than SUBCA_MAX_NAMES in one constraint list),
 * SUBCA_E_WEAK_KEY / SUBCA_E_UNSUPPORTED_KEY (subca_key_check_strength),
 * SUBCA_E_CRYPTO. No subjectKeyIdentifier is requested: the signer computes
 * it. *out owned by the caller.
 */
SUBCA_MUST_CHECK subca_result
subca_csr_build(const struct subca_intermediate_params *p, EVP_PKEY *key,
		X509_REQ **out);

/* What a CSR asked for (read from its extensionRequest). */
struct subca_csr_request {
	bool has_basic_constraints;
	bool ca;
	long path_len; /* -1: none requested */
	NAME_CONSTRAINTS *nc; /* NULL: none requested; owned */
};

/* Read the requested CA extensions from `csr` (any CSR, also foreign
 * ones). SUBCA_E_BAD_CSR for an undecodable extensionRequest, a duplicated
 * or malformed basicConstraints / nameConstraints, or a negative path
 * length. Free with subca_csr_request_cleanup (also after a failure). */
SUBCA_MUST_CHECK subca_result subca_csr_requested(const X509_REQ *csr,
						  struct subca_csr_request *out);
void subca_csr_request_cleanup(struct subca_csr_request *r);

/*
 * Build an OpenSSL NAME_CONSTRAINTS from text (NULL *out when empty).
 * Each list holds at most SUBCA_MAX_NAMES entries (SUBCA_E_TOO_LARGE past
 * it); a bad entry fails with SUBCA_E_BAD_NAME naming it. IP ranges need a
 * prefix length and zero host bits.
 */
SUBCA_MUST_CHECK subca_result
subca_name_constraints_build(const struct subca_name_constraints *nc,
			     NAME_CONSTRAINTS **out);

/*
 * Validate the subject fields of `p` (CN required, C two letters A-Z, each
 * value valid UTF-8 without control characters, at most SUBCA_MAX_DN_VALUE
 * bytes and within the RFC 5280 appendix A upper bound in characters) and
 * build the name in the order C, ST, L, O, OU, CN: UTF8String everywhere,
 * PrintableString for countryName. SUBCA_E_INVALID_ARGUMENT naming the
 * field. *out owned by the caller.
 */
SUBCA_MUST_CHECK subca_result
subca_csr_subject_build(const struct subca_intermediate_params *p,
			X509_NAME **out);

#endif
