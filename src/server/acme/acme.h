/*
 * The ACME front end (RFC 8555) as the rest of subca sees it: an acme
 * provisioner's settings (written by `subca provisioner add --type acme`
 * and the admin API, read by the protocol), the route handlers (routes.c)
 * and the challenge-validation pool the server runs (server.c).
 * The protocol itself is in this folder, one file per resource group; its
 * internals are in acme_int.h.
 */
#ifndef SUBCA_SERVER_ACME_H
#define SUBCA_SERVER_ACME_H

#include <stdbool.h>

#include "subca/error.h"
#include "validate.h"

struct subca_request;

/* An acme provisioner's settings (stored as the provisioner's options). */
struct subca_acme_options {
	bool require_eab; /* newAccount needs externalAccountBinding */
	unsigned challenges; /* bits 1 << enum subca_acme_chall; 0 = all */
};

#define SUBCA_ACME_CHALL_BIT(t) (1u << (t))
#define SUBCA_ACME_CHALL_ALL                                    \
	(SUBCA_ACME_CHALL_BIT(SUBCA_ACME_HTTP01) |              \
	 SUBCA_ACME_CHALL_BIT(SUBCA_ACME_DNS01) |               \
	 SUBCA_ACME_CHALL_BIT(SUBCA_ACME_TLSALPN01))

/* "http-01,dns-01" into bits; SUBCA_E_INVALID_ARGUMENT naming the bad one. */
SUBCA_MUST_CHECK subca_result subca_acme_challenges_parse(const char *list,
							  unsigned *out);
/* The stored text: {"require_eab":bool,"challenges":["http-01",..]}
 * (a new string for subca_free); SUBCA_E_NOMEM. */
SUBCA_MUST_CHECK subca_result
subca_acme_options_text(const struct subca_acme_options *o, char **out);
/* Read it back (NULL or "" = the defaults); SUBCA_E_STORE when corrupt. */
SUBCA_MUST_CHECK subca_result subca_acme_options_parse(const char *text,
						       struct subca_acme_options *o);

/*
 * A new External Account Binding key for acme provisioner `prov_name` of
 * authority `a` (RFC 8555 7.3.4): kid (24 characters) and the HMAC key
 * (base64url, 43 characters) written to the buffers: the only time the
 * key exists outside the key store, so the caller shows it once and wipes
 * it. The key is sealed through c->keys (eab.c), recorded and audited in
 * one transaction. SUBCA_E_NOT_FOUND, SUBCA_E_INVALID_ARGUMENT (not acme),
 * key-store and store errors.
 */
#define SUBCA_ACME_EAB_KID_SIZE 64
#define SUBCA_ACME_EAB_HMAC_SIZE 64
struct subca_ctx;
struct subca_authority_rec;
SUBCA_MUST_CHECK subca_result subca_acme_eab_create(
	const struct subca_ctx *c, const struct subca_authority_rec *a,
	const char *prov_name, char kid[SUBCA_ACME_EAB_KID_SIZE],
	char hmac[SUBCA_ACME_EAB_HMAC_SIZE]);

/* Route handlers (routes.c): everything below /acme/{provisioner}/. */
SUBCA_MUST_CHECK subca_result subca__acme_directory(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_new_nonce(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_new_account(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_account(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_account_orders(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_new_order(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_order(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_finalize(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_authz(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_challenge(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_cert(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_cert_alt(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_revoke(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_key_change(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__acme_renewal_info(struct subca_request *req);

/* The validation pool (pool.c). */
struct subca_acme_pool_cfg {
	const char *db;	     /* the database file: each thread opens it */
	int threads;	     /* 0 = SUBCA_ACME_POOL_THREADS */
	struct subca_acme_validation_cfg validation;
};

/*
 * Start the validation threads (once per process). They take challenges
 * the handlers submit, and at start any challenge left "processing" in
 * the store (by a process that stopped). SUBCA_E_STATE when running.
 */
SUBCA_MUST_CHECK subca_result
subca_acme_pool_start(const struct subca_acme_pool_cfg *cfg);
/* Stop them: queued work is dropped (it stays "processing" in the store
 * and is picked up at the next start). */
void subca_acme_pool_stop(void);

#endif
