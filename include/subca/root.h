/*
 * Root import: the customer's trust anchor, optionally with their own
 * signing CA(s) below it, checked before subca will use it.
 */
#ifndef SUBCA_ROOT_H
#define SUBCA_ROOT_H

#include <time.h>

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"
#include "subca/report.h"

struct subca_root {
	/*
	 * The imported chain ordered from the trust anchor (index 0) down to
	 * the issuing CA (last), each certificate signed by the one before it.
	 * The issuing CA signs subca's intermediates. Owned.
	 */
	STACK_OF(X509) *chain;
};

/*
 * Parse and check an imported root or bundle (see subca_certin_parse for
 * the accepted encodings). Bundles may be in any order; they are sorted
 * into one chain (identical duplicates are dropped; among several
 * candidate anchors the one heading the longest chain wins). Every
 * certificate must be: a CA (SUBCA_E_NOT_CA; X.509 v1 is never one), with
 * keyCertSign when keyUsage is present (SUBCA_E_NO_KEYCERTSIGN; a CA without
 * keyUsage is a warning), within validity at `now` (SUBCA_E_EXPIRED /
 * SUBCA_E_NOT_YET_VALID), signed with neither MD5 nor SHA-1
 * (SUBCA_E_WEAK_SIGNATURE), RSA keys at least 2048 bits (SUBCA_E_WEAK_KEY);
 * a self-signed certificate's signature must verify
 * (SUBCA_E_BAD_SELF_SIGNATURE); every certificate must chain to the one
 * above it (SUBCA_E_UNRELATED_CERTS, naming the stray and its SHA-256
 * prefix); no anchor at all is SUBCA_E_NO_ANCHOR. Every pathLenConstraint
 * in the chain must leave room for the CAs below it plus the intermediate
 * subca will have signed by the issuing CA (SUBCA_E_PATHLEN_FORBIDDEN: a
 * lone root with pathlen:0 is refused). Malformed or duplicate extensions
 * are SUBCA_E_GARBAGE. A top certificate that is not self-signed is
 * accepted as a trust anchor with a warning.
 * Parsing errors are those of subca_certin_parse.
 *
 * Warnings go to `report` (may be NULL): no keyUsage (code
 * NO_KEYCERTSIGN), anchor without subjectKeyIdentifier (CHAIN_VERIFY), top
 * not self-signed (NO_ANCHOR). Refusals are all added to `report`, each
 * with a hint where one helps, and the first one is returned as the error
 * (reason and hint set). On success *out is owned by the caller.
 */
SUBCA_MUST_CHECK subca_result subca_root_parse(struct subca_slice in,
					       time_t now,
					       struct subca_report *report,
					       struct subca_root **out);

/*
 * Load a root chain subca stored itself after subca_root_parse accepted it
 * (subca_root_to_pem: anchor first). Nothing is checked again, validity
 * least of all: an authority whose root has expired must still load to
 * answer for what it issued (CRL, OCSP, chains). Never for input from
 * outside. Errors of subca_certin_parse, SUBCA_E_EMPTY.
 */
SUBCA_MUST_CHECK subca_result subca_root_load(struct subca_slice in,
					      struct subca_root **out);

/* The trust anchor and the issuing CA (borrowed). */
X509 *subca_root_anchor(const struct subca_root *r);
X509 *subca_root_issuer(const struct subca_root *r);

/* PEM of the whole chain, anchor first (into `out`, initialised here). */
SUBCA_MUST_CHECK subca_result subca_root_to_pem(const struct subca_root *r,
						struct subca_buf *out);

void subca_root_free(struct subca_root *r);

/* Free at the end of the scope: SUBCA_AUTO_ROOT struct subca_root *r = NULL; */
static inline void subca__root_freep(struct subca_root **r)
{
	subca_root_free(*r);
	*r = NULL;
}
#define SUBCA_AUTO_ROOT __attribute__((cleanup(subca__root_freep)))

#endif
