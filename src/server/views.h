/*
 * The JSON shapes of subca's records, one definition shared by the admin
 * API and the CLI's --json output (and the CLI's remote mode), so that both
 * front ends always say the same thing in the same form.
 */
#ifndef SUBCA_VIEWS_H
#define SUBCA_VIEWS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "subca/report.h"
#include "subca/store.h"

/* "2026-11-23T07:00:00Z", or null for 0. */
json_t *subca_view_time(int64_t t);
/* A string, or null for NULL. */
json_t *subca_view_str(const char *s);

/* {name, subdomain, state, generated_root} */
json_t *subca_view_authority_item(const struct subca_authority_rec *a);
/* {id, state, key_type, subject, not_before, not_after, sha256, crl_url,
 *  ocsp_url, requested_days, activate_at, retired_at} (state: pending,
 *  ready, active, retired; the two times null when unset) */
json_t *subca_view_intermediate(const struct subca_intermediate_rec *r);
struct subca_authority_view;
/* Intermediate i of a filled view: subca_view_intermediate plus
 * "additional_certificates": [{id, sha256, not_before, not_after,
 * recorded}], the other certificates recorded for its key (re-certified),
 * oldest first. */
json_t *subca_view_intermediate_of(const struct subca_authority_view *v,
				   size_t i);
/* {result: accepted|refused, refusals: [{code, message, hint?}], warnings} */
json_t *subca_view_report(const struct subca_report *r);
/* Unattended rotation settings, as GET .../rotation answers them. */
struct subca_rotation_rec;
json_t *subca_view_rotation(const struct subca_rotation_rec *r);
/* {id, time, authority, action, actor, detail} */
json_t *subca_view_audit(const struct subca_audit_rec *r);
/* {serial, subject, sans[], status, not_before, not_after, issued_by,
 *  provisioner, created, revoked_at, reason} */
json_t *subca_view_cert(const struct subca_cert_rec *r);
/* {name, type, policy (object), created, jwk? (the public JWK, jwk only)};
 * an API key's hash is never shown. */
json_t *subca_view_provisioner(const struct subca_provisioner_rec *r);

/* {id, status: active|expired|revoked (at `now`), authorities: [..] or
 *  null (global), description, created, expires, revoked}; never the
 *  token or its hash. */
json_t *subca_view_admin_token(const struct subca_admin_token_rec *t,
			       int64_t now);

/* A serial as the store keeps it, from what a user types: lower-case hex
 * without leading zeros; colons (as openssl prints serials) and a 0x
 * prefix are skipped. False when it is not hex, zero or longer than
 * len - 1. */
bool subca_view_serial_norm(const char *in, char *out, size_t len);

/* RFC 5280 5.3.1 CRLReason names ("keyCompromise"); NULL for 7 and
 * out-of-range values. */
const char *subca_view_reason_name(int reason);
/* The reason code of a name, or -1. */
int subca_view_reason_code(const char *name);

/* Everything `authority show` says about one authority. */
struct subca_authority_view {
	struct subca_authority_rec a; /* loaded by the caller */
	struct subca_root_rec root;
	bool has_root;
	struct subca_intermediate_list ints;
	/* what re-certifications recorded for the intermediates' keys */
	struct subca_intermediate_cert_list certs;
	int64_t issued;
	time_t now; /* for the warnings; 0: the clock */
	char warning[256]; /* the intermediate-lifetime warning, or "" */
};

/* Load root, intermediates and the issued count for v->a (set by the
 * caller). Store errors pass through. */
SUBCA_MUST_CHECK subca_result
subca_authority_view_fill(struct subca_store *st,
			  struct subca_authority_view *v);
void subca_authority_view_cleanup(struct subca_authority_view *v);
/* {name, subdomain, state, generated_root, root, intermediates,
 *  issued_certificates, warnings: [{code, message}]} */
json_t *subca_authority_view_json(const struct subca_authority_view *v);

#endif
