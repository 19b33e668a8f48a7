/*
 * Leaf certificate issuance: the one leaf profile every front end uses.
 */
#ifndef SUBCA_ISSUE_H
#define SUBCA_ISSUE_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "subca/csr.h"
#include "subca/error.h"

struct subca_issuer {
	X509 *cert;    /* the active intermediate */
	EVP_PKEY *key; /* its private key (a key-store handle) */
	const char *crl_url;  /* optional CRL distribution point */
	const char *ocsp_url; /* optional OCSP responder (AIA) */
	/* The key was checked once to be the certificate's (the issuer
	 * cache does it when it loads them): each leaf's signature is then
	 * not verified again after signing. */
	bool key_checked;
};

struct subca_leaf_request {
	/* Either a CSR (subject and SANs come from it; its self-signature
	 * must verify) ... */
	X509_REQ *csr;
	/* The caller already verified the CSR's self-signature
	 * (subca_certin_parse_csr does): it is not verified again. */
	bool csr_verified;
	/* Put the CSR's SubjectPublicKeyInfo into the leaf as it is, bytes
	 * only: no encode/decode round trip through the key providers, which
	 * costs about as much as signing the leaf. The returned leaf then has
	 * no decoded key (OpenSSL 3.0's X509_get0_pubkey() returns NULL for
	 * it): only for callers that just encode the leaf and read its names,
	 * serial and dates. */
	bool csr_key_as_bytes;
	/* The CSR's key when the caller decoded it apart (a CSR from
	 * subca_certin_parse_csr_key holds none); NULL: the CSR's own. */
	EVP_PKEY *csr_key;
	/* ... or a public key with a CN and SANs. */
	EVP_PKEY *pubkey;
	const char *cn;
	/* SANs as text: "DNS:a.example", "IP:10.0.0.1", "email:x@y",
	 * "URI:https://x"; a bare value is guessed (IP if it parses as one,
	 * email if it has '@', URI if it has "://", else DNS). Added to the
	 * CSR's SANs when a CSR is given. */
	struct subca_names sans;
	long days; /* > 0, at most SUBCA_MAX_LEAF_DAYS */
	time_t now;
	/* Extended key usages: SUBCA_EKU_* bits; 0 means both (the default
	 * profile). */
	unsigned eku;
};

#define SUBCA_EKU_SERVER 1u /* id-kp-serverAuth */
#define SUBCA_EKU_CLIENT 2u /* id-kp-clientAuth */
#define SUBCA_EKU_ALL (SUBCA_EKU_SERVER | SUBCA_EKU_CLIENT)

/*
 * Issue a leaf: v3, random positive serial (>= 64 random bits), subject
 * (CSR subject, or CN=cn), notBefore = now - 1 minute, notAfter capped by
 * the issuer's notAfter, critical basicConstraints CA:FALSE, critical
 * keyUsage digitalSignature (+keyEncipherment for RSA), EKU serverAuth +
 * clientAuth (or only those in r->eku), SANs (when the only name is a DNS-looking CN, it becomes a
 * DNS SAN too), subject key identifier, authority key identifier copied
 * from the issuer's subject key identifier extension (never recomputed),
 * CRL distribution point and AIA OCSP when set.
 *
 * Refuses: BAD_CSR / CSR_SIGNATURE; BAD_NAME for an invalid SAN;
 * NAME_CONSTRAINTS when a name is outside the issuer's name constraints;
 * WEAK_KEY; INVALID_ARGUMENT for a missing name or bad lifetime; NOT_CA
 * when the issuer is not a CA. *out owned by the caller.
 */
SUBCA_MUST_CHECK subca_result subca_leaf_issue(const struct subca_issuer *iss,
					       const struct subca_leaf_request *r,
					       X509 **out);

/*
 * The names a leaf for `r` would carry, computed exactly as
 * subca_leaf_issue does (so that a policy can be checked against them
 * before issuing): *subject (the CSR's subject, or CN=r->cn) and *sans (the
 * CSR's SANs and r->sans, validated and de-duplicated, plus a DNS-looking
 * sole CN). A CSR's self-signature is verified. Errors as subca_leaf_issue
 * for the CSR and the names (BAD_CSR, CSR_SIGNATURE, BAD_NAME, TOO_LARGE,
 * INVALID_ARGUMENT). Both owned by the caller; NULL after a failure.
 */
SUBCA_MUST_CHECK subca_result subca_leaf_names(const struct subca_leaf_request *r,
					       GENERAL_NAMES **sans,
					       X509_NAME **subject);

/*
 * Check the text of one name of `type` (GEN_DNS: letter-digit-hyphen labels,
 * one leading "*." allowed; GEN_EMAIL; GEN_URI: with a scheme) by the rules
 * subca_leaf_issue applies to SANs. SUBCA_E_BAD_NAME naming it.
 */
SUBCA_MUST_CHECK subca_result subca_name_check(int type, const char *v);

/*
 * Check every name of `leaf` (subject CN/emailAddress and SANs) against the
 * name constraints of every CA in `cas` (RFC 5280 4.2.1.10).
 * SUBCA_E_NAME_CONSTRAINTS names the first violating name.
 */
SUBCA_MUST_CHECK subca_result subca_leaf_check_names(X509 *leaf,
						     STACK_OF(X509) *cas);

/*
 * The same check for names not yet in a certificate: would a leaf with
 * `subject` (may be NULL) and `sans` (may be NULL) pass the name
 * constraints of every CA in `cas` (RFC 5280 4.2.1.10)? What
 * subca_leaf_issue checks before it signs, for front ends that refuse a
 * name before asking for a certificate (ACME newOrder).
 * SUBCA_E_NAME_CONSTRAINTS names the first violating name; SUBCA_E_NOMEM.
 */
SUBCA_MUST_CHECK subca_result
subca_names_check_constraints(const X509_NAME *subject,
			      const GENERAL_NAMES *sans, STACK_OF(X509) *cas);

/*
 * The same check for any certificate: with leaf == false (a CA certificate)
 * the subject CN is not read as a host name, as in RFC 5280 path
 * validation; with leaf == true it is (NAME_CONSTRAINTS_check_CN), as
 * OpenSSL does for end-entity certificates.
 */
SUBCA_MUST_CHECK subca_result subca_cert_check_names(X509 *x,
						     STACK_OF(X509) *cas,
						     bool leaf);

#endif
