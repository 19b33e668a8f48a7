/*
 * Adding and removing provisioners: the one place that writes them, shared
 * by `subca provisioner add|remove` and the admin API, so that both check,
 * store and audit exactly the same way.
 */
#ifndef SUBCA_SERVER_PROVISIONER_H
#define SUBCA_SERVER_PROVISIONER_H

#include <jansson.h>
#include <openssl/evp.h>

#include "subca/authority.h"
#include "subca/credential.h"
#include "subca/policy.h"
#include "subca/store.h"

struct subca_acme_options;

/*
 * The policy as the README's JSON object ("Provisioners and credentials"),
 * in its canonical form: "version": 1, then only the members that are set,
 * in schema order. The inverse of subca_policy_json_parse. New reference,
 * NULL when out of memory.
 */
json_t *subca_policy_to_json(const struct subca_policy *p);

/* What a new provisioner is; everything borrowed. */
struct subca_provisioner_spec {
	const char *name;
	enum subca_provisioner_type type; /* SUBCA_PROV_JWK, _APIKEY, _ACME */
	const EVP_PKEY *jwk;		  /* jwk: its public key; else NULL */
	const struct subca_policy *policy;
	/* acme: its settings (acme/acme.h), stored as the options; NULL =
	 * the defaults (every challenge type, no EAB) */
	const struct subca_acme_options *acme;
};

/*
 * Add provisioner `s` to authority `a`: check the name (one DNS label) and
 * the policy (subca_policy_validate), store the policy in canonical JSON,
 * a jwk's key as its RFC 7638 JWK, an apikey's new key as its SHA-256
 * hash, and audit "provisioner.add" as c->actor, in one transaction. For an
 * apikey the new key is written to `api_key` (else it is ""): the only
 * time it exists; the caller shows it once and wipes it. SUBCA_E_EXISTS
 * for a name the authority already has (the store's reason: provisioner
 * "NAME" already exists); SUBCA_E_BAD_NAME,
 * SUBCA_E_INVALID_ARGUMENT (policy, or a jwk without a key), TOO_LARGE;
 * store errors pass through (rolled back).
 */
SUBCA_MUST_CHECK subca_result subca_provisioner_create(
	const struct subca_ctx *c, const struct subca_authority_rec *a,
	const struct subca_provisioner_spec *s,
	char api_key[SUBCA_CREDENTIAL_SIZE]);

/*
 * Remove provisioner `name` of authority `a` (its used token ids go with
 * it) and audit "provisioner.remove", in one transaction.
 * SUBCA_E_NOT_FOUND (the store's reason: no provisioner "NAME"); store
 * errors pass through (rolled back).
 */
SUBCA_MUST_CHECK subca_result subca_provisioner_delete(
	const struct subca_ctx *c, const struct subca_authority_rec *a,
	const char *name);

#endif
