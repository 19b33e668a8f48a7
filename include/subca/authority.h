/*
 * The authority lifecycle: create an authority, import its root, request an
 * intermediate, import the signed intermediate, issue leaves. Each step
 * decides with the core modules, then records the result and an audit entry
 * in one store transaction. Front ends (CLI, server) call only this.
 */
#ifndef SUBCA_AUTHORITY_H
#define SUBCA_AUTHORITY_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/csr.h"
#include "subca/error.h"
#include "subca/issue.h"
#include "subca/issuer_cache.h"
#include "subca/key.h"
#include "subca/keystore.h"
#include "subca/report.h"
#include "subca/root.h"
#include "subca/store.h"

/* What every lifecycle call needs: where to record, where keys live, who
 * asks (for the audit log) and the time of the decision. Borrowed. */
struct subca_ctx {
	struct subca_store *store;
	struct subca_keystore *keys;
	const char *actor; /* "cli:uid=1000", "token:<id>" */
	time_t now;
	const char *provisioner; /* recorded on issued leaves; NULL: none */
	/* Optional: where subca_authority_issue finds the loaded intermediate
	 * key and chain (the server shares one); NULL loads them each time. */
	struct subca_issuer_cache *issuers;
	/* The base URL clients reach the server at ("http://ca.example"):
	 * leaves of an intermediate without its own CRL / OCSP URL point at
	 * BASE/a/NAME/crl/ID.crl and BASE/a/NAME/ocsp. NULL: none. */
	const char *public_url;
};

/*
 * Check that `s` is one DNS label (RFC 1035 2.3.1, lower case): 1..63 of
 * a-z, 0-9, '-', not starting or ending with '-'. `what` names it in the
 * reason ("authority name"). SUBCA_E_BAD_NAME.
 */
SUBCA_MUST_CHECK subca_result subca_label_validate(const char *what,
						   const char *s);

/*
 * The record of the authority `name` (out zeroed first; release with
 * subca_authority_rec_cleanup). SUBCA_E_BAD_NAME, SUBCA_E_NOT_FOUND naming
 * it.
 */
SUBCA_MUST_CHECK subca_result subca_authority_get(const struct subca_ctx *c,
						  const char *name,
						  struct subca_authority_rec *out);

/*
 * Create an authority in state needs-root. `subdomain` defaults to `name`.
 * SUBCA_E_BAD_NAME, SUBCA_E_EXISTS (name or subdomain taken).
 */
SUBCA_MUST_CHECK subca_result subca_authority_create(const struct subca_ctx *c,
						     const char *name,
						     const char *subdomain);

struct subca_generated_root_opts {
	enum subca_key_type root_key;	     /* root key type */
	enum subca_key_type intermediate_key; /* intermediate key type */
	const char *root_cn;		     /* default "<name> Root CA" */
	int root_days;			     /* default 10 years */
	int intermediate_days;		     /* default 5 years */
};

/*
 * Create an authority whose root subca generates (key in the key store),
 * sign its intermediate at once, verify it like an imported one, and
 * activate it. Errors as subca_authority_create plus key-store/crypto.
 */
SUBCA_MUST_CHECK subca_result subca_authority_create_generated(
	const struct subca_ctx *c, const char *name, const char *subdomain,
	const struct subca_generated_root_opts *o);

/*
 * Import the root (subca_root_parse) of an authority that has none yet:
 * SUBCA_E_STATE when it already has one. Warnings go to `report`.
 */
SUBCA_MUST_CHECK subca_result subca_authority_import_root(
	const struct subca_ctx *c, const char *name, struct subca_slice in,
	struct subca_report *report);

struct subca_intermediate_request {
	struct subca_intermediate_params params; /* params.days: 0 = 5 years */
	enum subca_key_type key;
	const char *crl_url;  /* optional, http(s) URL */
	const char *ocsp_url; /* optional, http(s) URL */
};

/*
 * Generate the intermediate key in the key store and its CSR, record a
 * pending intermediate, and hand out the CSR PEM in `csr_pem` (initialised
 * here). The lifetime is capped by the root's notAfter (*capped_days set
 * when it was, may be NULL). SUBCA_E_STATE when the authority has no root.
 */
SUBCA_MUST_CHECK subca_result subca_authority_request_intermediate(
	const struct subca_ctx *c, const char *name,
	const struct subca_intermediate_request *r, struct subca_buf *csr_pem,
	int *days_out);

/*
 * Verify an uploaded signed intermediate (subca_intermediate_verify) against
 * the pending intermediate whose key it carries (the newest pending one when
 * none does), then activate it: the previously active one becomes retired.
 * Refusals and warnings go to `report`; the first refusal is the error.
 */
SUBCA_MUST_CHECK subca_result subca_authority_import_intermediate(
	const struct subca_ctx *c, const char *name, struct subca_slice upload,
	bool accept_weaker, struct subca_report *report);

/*
 * subca_authority_import_intermediate with an activation time: at or before
 * c->now it is activated at once; later (at most SUBCA_MAX_ACTIVATE_DELAY
 * ahead, else SUBCA_E_INVALID_ARGUMENT) it is verified as of that time and
 * recorded as ready (SUBCA_INT_READY): the current intermediate keeps
 * issuing until then, and the first issuance or subca_authority_activate_due
 * at or after that time makes the switch.
 */
SUBCA_MUST_CHECK subca_result subca_authority_import_intermediate_at(
	const struct subca_ctx *c, const char *name, struct subca_slice upload,
	bool accept_weaker, int64_t activate_at, struct subca_report *report);

/*
 * Index in `l` of the intermediate that issues at `now`: the ready one with
 * the latest activation time not after `now`, else the active one; -1 when
 * none. Read-only: the store may not have recorded the switch yet.
 */
long subca_intermediate_issuing(const struct subca_intermediate_list *l,
				time_t now);

/*
 * Record the switch to a ready intermediate whose activation time has come
 * (the active one and earlier ready ones become retired, each with an audit
 * entry), in one transaction; nothing when none is due. *switched (may be
 * NULL) says whether this call made it. Store errors, SUBCA_E_NOT_FOUND.
 */
SUBCA_MUST_CHECK subca_result subca_authority_activate_due(
	const struct subca_ctx *c, const char *name, bool *switched);

/*
 * Request the next intermediate of an active authority without a person:
 * a new key of the issuing intermediate's type and a CSR asking for exactly
 * what its CSR asked (subject, CA extensions, name constraints), with its
 * CRL/OCSP URLs; `days` 0 keeps its requested lifetime (capped by the
 * root). Recorded as pending; the current one keeps issuing.
 * SUBCA_E_NOT_ACTIVE when nothing issues, SUBCA_E_EXPIRED for a root with
 * less than a day left.
 */
SUBCA_MUST_CHECK subca_result subca_authority_request_next(
	const struct subca_ctx *c, const char *name, int days,
	struct subca_buf *csr_pem, int *days_out);

/*
 * Discard a pending intermediate request that was never certified (one
 * made by mistake, or superseded by a newer request): its record goes and
 * its key is destroyed, audited as intermediate.discard. `id` 0 names the
 * newest pending one. An authority left without any intermediate needs
 * one again. SUBCA_E_NO_PENDING when there is none, SUBCA_E_NOT_FOUND
 * for an unknown id, SUBCA_E_STATE for an intermediate that has a
 * certificate (ready, active, retired). The discarded record is returned
 * in `out` when not NULL (free with subca_intermediate_rec_cleanup).
 */
SUBCA_MUST_CHECK subca_result subca_authority_discard_pending(
	const struct subca_ctx *c, const char *name, int64_t id,
	struct subca_intermediate_rec *out);

/*
 * Issue a leaf from the intermediate that issues now (see
 * subca_intermediate_issuing; a due switch is recorded first; `r` without
 * issuer fields),
 * record it durably before returning, and hand out the chain PEM (leaf, the
 * intermediate, then the customer's CAs below the trust anchor when the root
 * was imported as a bundle) in `chain_pem` (initialised here). SUBCA_E_NOT_ACTIVE when
 * there is no active intermediate.
 */
SUBCA_MUST_CHECK subca_result subca_authority_issue(
	const struct subca_ctx *c, const char *name,
	const struct subca_leaf_request *r, struct subca_buf *chain_pem,
	X509 **leaf_out);

/*
 * Issuance in two parts, for callers that must not wait for the disk: the
 * first decides and signs, the second records. subca_authority_issue is
 * the two in a row.
 *
 * A leaf decided and signed but not recorded yet: the certificate, the
 * chain PEM to hand out (leaf, intermediate, the customer's CAs), and the
 * certificate and audit records to write, which point into this structure
 * only (so that it may outlive the request that asked). Nothing may be
 * handed out before the record is durable.
 */
struct subca_issuance {
	X509 *leaf;
	struct subca_buf leaf_pem;  /* NUL-terminated */
	struct subca_buf chain_pem; /* leaf first */
	struct subca_cert_rec rec;
	struct subca_audit_rec audit;
	char *authority, *actor, *provisioner;
	char serial[128], subject[512], sans[2048], detail[3072];
};

/*
 * Everything of subca_authority_issue but the record: pick the issuing
 * intermediate (recording a due switch), sign the leaf, check the names
 * against the root's constraints, fill `out` (initialised here; release
 * with subca_issuance_cleanup, also on failure). Errors as
 * subca_authority_issue.
 */
SUBCA_MUST_CHECK subca_result subca_authority_issue_prepare(
	const struct subca_ctx *c, const char *name,
	const struct subca_leaf_request *r, struct subca_issuance *out);
/*
 * Record `is` durably, waiting for the commit. To go on without waiting,
 * hand is->rec and is->audit to the store's cert_record_async instead
 * (and keep `is` until its callback ran). SUBCA_E_EXISTS for a serial
 * already used (issue again), store errors.
 */
SUBCA_MUST_CHECK subca_result subca_authority_issue_record(
	const struct subca_ctx *c, struct subca_issuance *is);
void subca_issuance_cleanup(struct subca_issuance *is);

/* Everything `intermediate instructions` needs about the newest pending
 * intermediate. Free with subca_pending_cleanup. */
struct subca_pending {
	struct subca_intermediate_rec rec;
	X509_REQ *csr;
	struct subca_root *root;
};
SUBCA_MUST_CHECK subca_result subca_authority_pending(const struct subca_ctx *c,
						      const char *name,
						      struct subca_pending *out);
void subca_pending_cleanup(struct subca_pending *p);

/* Revoke admin token `id` and audit it, in one transaction. NOT_FOUND;
 * revoking twice keeps the first time. */
SUBCA_MUST_CHECK subca_result subca_admin_token_revoke(const struct subca_ctx *c,
						       int64_t id);

/* An audit action or its beginning, as a filter ("rotation.",
 * "certificate.issue"): 1..SUBCA_AUDIT_ACTION_MAX of a-z 0-9 . _ -;
 * SUBCA_E_INVALID_ARGUMENT otherwise. */
#define SUBCA_AUDIT_ACTION_MAX 64
SUBCA_MUST_CHECK subca_result subca_audit_action_check(const char *action);

/* Record an audit entry outside the lifecycle calls (e.g. "init"). */
SUBCA_MUST_CHECK subca_result subca_audit(const struct subca_ctx *c,
					  const char *authority,
					  const char *action, const char *fmt,
					  ...) SUBCA_PRINTF(4, 5);

/*
 * The CAs whose name constraints a leaf of authority `name` issued at
 * c->now must satisfy: the intermediate that issues then (see
 * subca_intermediate_issuing) first, then the customer's chain, anchor
 * first. *out holds a reference to each (sk_X509_pop_free(*out,
 * X509_free)); NULL when no intermediate issues. Read-only: from the issuer
 * cache when it holds the intermediate, no key is loaded. Store errors,
 * SUBCA_E_NOT_FOUND, SUBCA_E_NOMEM.
 */
SUBCA_MUST_CHECK subca_result subca_authority_issuing_cas(
	const struct subca_ctx *c, const char *name, STACK_OF(X509) **out);

#endif
