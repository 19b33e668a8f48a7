/*
 * Re-certified intermediates and alternate chains. The customer's root may
 * sign the key of an intermediate subca already uses once more (a renewed
 * certificate with a later notAfter, other extensions): subca records it
 * as another certificate of the same intermediate. Leaves issued from then
 * on chain to it; every leaf of that key can still be served with each
 * certificate of the key that is valid and issues it (RFC 8555 7.4.2,
 * Link rel="alternate").
 */
#ifndef SUBCA_ALTCHAIN_H
#define SUBCA_ALTCHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "subca/authority.h"
#include "subca/limits.h"

/*
 * The import path's re-certification step (subca_authority_import_
 * intermediate_at calls it first). When a certificate in `upload` carries
 * the key of an intermediate of `a` in `l` that has its certificate
 * (active, ready or retired; not pending), and none carries the key of a
 * pending request (that one is imported as usual), *handled is set and the
 * upload
 * is checked as a signed intermediate against `root` and the
 * intermediate's own request (subca_intermediate_verify: issuer, CA
 * extensions, name constraints not wider than requested, validity), its
 * subject must be byte for byte the intermediate's (SUBCA_E_SUBJECT_
 * MISMATCH), it must not be recorded already (SUBCA_E_EXISTS), and it
 * takes effect at once (an `activate_at` after c->now is SUBCA_E_INVALID_
 * ARGUMENT). Then, in one transaction, it becomes the intermediate's
 * certificate (what leaves chain to from now on), the one it replaces is
 * kept as an alternate, and "intermediate.recertify" is audited; the
 * intermediate's entry in c->issuers is dropped. Otherwise *handled is
 * false and nothing happened.
 */
SUBCA_MUST_CHECK subca_result subca__authority_recertify(
	const struct subca_ctx *c, const struct subca_authority_rec *a,
	const struct subca_intermediate_list *l, const struct subca_root *root,
	struct subca_slice upload, bool accept_weaker, int64_t activate_at,
	struct subca_report *report, bool *handled);

/* The alternates of one leaf: ids of intermediate_certs rows. */
struct subca_chain_alts {
	int64_t id[SUBCA_MAX_ALT_CHAINS];
	size_t n;
};

/*
 * The chain PEM of leaf `serial` of authority `name` (leaf, its
 * intermediate's certificate, then the customer's CAs below the anchor)
 * into `chain_pem` (initialised here). alt == 0 asks for the default
 * chain: through the intermediate's newest certificate that is valid at
 * c->now and issued the leaf (its current one when none is); else for the
 * alternate with that id. *alts (may be NULL) gets every alternate: the
 * other certificates of the key, newest first, valid at c->now and
 * issuing the leaf (matching name and key identifier), at most
 * SUBCA_MAX_ALT_CHAINS. SUBCA_E_NOT_FOUND for an unknown serial or an
 * alt that is not one of them.
 */
SUBCA_MUST_CHECK subca_result subca_leaf_chain(const struct subca_ctx *c,
					       const char *name,
					       const char *serial, int64_t alt,
					       struct subca_buf *chain_pem,
					       struct subca_chain_alts *alts);

#endif
