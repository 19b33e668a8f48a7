/*
 * Provisioner policy: which leaves one provisioner (a token issuer or an API
 * key) may ask an authority for. The policy is given as C structs; front
 * ends parse it from their own text (JSON, flags). The issuing
 * intermediate's name constraints always apply on top, at issuance.
 *
 * Names. A leaf's names are its SANs (the CSR's and the request's, as
 * subca_leaf_names computes them), every commonName of its subject and every
 * emailAddress of its subject. Each must be allowed by the list of its type:
 *
 *   dns     "host.example.com"  that name exactly (case-insensitive);
 *           "*.example.com"     any name one label below example.com
 *                               ("a.example.com", and the wildcard
 *                               "*.example.com" itself), not deeper and not
 *                               example.com;
 *           ".example.com"      any name below example.com at any depth
 *                               (wildcards included), not example.com.
 *   ips     "10.0.0.0/8", "2001:db8::/32" (host bits zero) or a single
 *           address "192.0.2.1"; IPv4 and IPv6 never match each other.
 *   emails  "user@example.com"  that mailbox (domain case-insensitive);
 *           "@example.com"      any mailbox at exactly example.com.
 *   uris    "spiffe://example.org/ns/" ending in "/": a prefix (byte for
 *           byte); otherwise that URI exactly.
 *
 * A commonName is read as an IP address when it parses as one, an email
 * when it holds '@', else a DNS name. An empty list refuses every name of
 * its type, unless allow_all_names is set: then every name is allowed (the
 * name constraints still apply). Subject attributes other than commonName
 * and emailAddress (O, OU, C, ...) are refused unless
 * allow_subject_attributes is set, since relying parties (Kubernetes'
 * O=system:masters) give them meaning.
 */
#ifndef SUBCA_POLICY_H
#define SUBCA_POLICY_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "subca/csr.h"
#include "subca/error.h"
#include "subca/issue.h"
#include "subca/key.h"

/* Leaf lifetime when neither the request nor the policy names one. */
#define SUBCA_POLICY_DEFAULT_DAYS 90

/* A bit of subca_policy.key_types. */
#define SUBCA_POLICY_KEY(t) (1u << (t))

struct subca_policy {
	bool allow_all_names;
	struct subca_names dns, ips, emails, uris;
	bool allow_subject_attributes;

	/* Days: 0 = unset. default_days applies when a request names no
	 * lifetime (unset: SUBCA_POLICY_DEFAULT_DAYS, capped by max_days);
	 * max_days caps every request (unset: SUBCA_MAX_LEAF_DAYS). */
	long default_days, max_days;

	/* SUBCA_POLICY_KEY(SUBCA_KEY_*) bits; 0 = every key
	 * subca_key_check_strength accepts. The RSA entries mean "RSA of at
	 * least that size": the smallest one listed is a floor. */
	unsigned key_types;
	/* A further floor for RSA keys in bits; 0 = none (2048 always). */
	int min_rsa_bits;

	/* SUBCA_EKU_* bits a leaf may carry; 0 = both. */
	unsigned ekus;
};

/*
 * Check the policy itself: every pattern well formed (DNS labels as
 * subca_name_check, CIDRs with host bits zero, emails, URIs with a scheme),
 * at most SUBCA_MAX_NAMES per list, days within 1..SUBCA_MAX_LEAF_DAYS and
 * default <= max, known key-type and EKU bits, min_rsa_bits 0 or
 * 2048..16384. SUBCA_E_INVALID_ARGUMENT (or TOO_LARGE) naming the rule
 * and the value. Front ends call it when a policy is written.
 */
SUBCA_MUST_CHECK subca_result subca_policy_validate(const struct subca_policy *p);

/*
 * Check a leaf request against the policy before issuing: names (see
 * above), key type and size, lifetime (req->days, which must be set: see
 * subca_policy_lifetime) and EKUs (req->eku, 0 = both). `csr` is the
 * request's CSR when not already in req->csr (NULL: use req->csr); its
 * self-signature is verified. The policy is validated first.
 *
 * Refusals: SUBCA_E_POLICY with a reason naming the rule and the offending
 * value ("DNS:evil.example is not allowed by the policy (rule: dns ...)").
 * A malformed request fails as subca_leaf_names does (BAD_CSR,
 * CSR_SIGNATURE, BAD_NAME, ...); a malformed policy with
 * SUBCA_E_INVALID_ARGUMENT.
 */
SUBCA_MUST_CHECK subca_result
subca_policy_check(const struct subca_policy *p,
		   const struct subca_leaf_request *req, X509_REQ *csr);

/*
 * The lifetime to issue for a request asking `requested_days` (0 = none
 * asked): the policy default when 0, else the request if it is within the
 * maximum. SUBCA_E_POLICY when it is over max_days (naming both),
 * SUBCA_E_INVALID_ARGUMENT when negative.
 */
SUBCA_MUST_CHECK subca_result subca_policy_lifetime(const struct subca_policy *p,
						    long requested_days,
						    long *out);

#endif
