/*
 * The server's revocation publishing state (revocation.c): a maintenance
 * thread that rebuilds CRLs shortly after revocations (debounced: a burst
 * costs one build) and before their nextUpdate, and a bounded in-memory
 * cache of OCSP answers that a revocation in this process invalidates at
 * once. Other processes sharing the database revoke without telling this
 * one: cached answers therefore live at most SUBCA__OCSP_CACHE_SECONDS.
 * The handlers are in api_revocation.c.
 */
#ifndef SUBCA_SERVER_REVOCATION_INT_H
#define SUBCA_SERVER_REVOCATION_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "subca/buf.h"
#include "subca/error.h"
#include "subca/keystore.h"

/* Cached OCSP answers: slots, the largest CertID kept as a key, and how
 * long an answer is reused (revocations elsewhere show within this). */
#define SUBCA__OCSP_CACHE_SLOTS 4096
#define SUBCA__OCSP_CACHE_KEY_MAX 256
#define SUBCA__OCSP_CACHE_SECONDS 60
/* How often the maintenance thread looks for CRLs that are due. */
#define SUBCA__CRL_CHECK_SECONDS 60

struct subca__revocation_config {
	const char *db;		     /* the database file */
	struct subca_keystore *keys; /* shared, borrowed */
	int64_t crl_validity;	     /* seconds a CRL is valid */
	int64_t rebuild_delay;	     /* seconds after a revocation */
	int64_t ocsp_validity;	     /* seconds an OCSP answer is valid */
	bool maintenance;	     /* run the rebuild thread */
};

struct subca__revocation;

/* Set up (and with cfg->maintenance, start the thread). */
SUBCA_MUST_CHECK subca_result subca__revocation_start(
	const struct subca__revocation_config *cfg,
	struct subca__revocation **out);
/* Stop the thread (finishing a build in progress) and free; NULL ok. */
void subca__revocation_stop(struct subca__revocation *r);

/* The validities configured (defaults when r is NULL). */
int64_t subca__revocation_crl_validity(const struct subca__revocation *r);
int64_t subca__revocation_ocsp_validity(const struct subca__revocation *r);

/*
 * A certificate of `authority_id` was revoked in this process: drop every
 * cached OCSP answer and rebuild the authority's CRLs after the delay.
 * NULL-safe (no revocation state: nothing to do).
 */
void subca__revocation_changed(struct subca__revocation *r,
			       int64_t authority_id);

/*
 * The cache: a copy of the answer for (authority, CertID DER) into `out`
 * (initialised here) when one is fresh at `now`. The generation read
 * before computing an answer goes with it into put, so that an answer
 * computed across a revocation is never served.
 */
bool subca__ocsp_cache_get(struct subca__revocation *r, int64_t authority_id,
			   struct subca_slice key, int64_t now,
			   struct subca_buf *out);
uint64_t subca__ocsp_cache_generation(struct subca__revocation *r);
void subca__ocsp_cache_put(struct subca__revocation *r, int64_t authority_id,
			   struct subca_slice key, struct subca_slice der,
			   int64_t expires, uint64_t generation);

struct subca_request;

/* Handlers (api_revocation.c): GET /crl/{id}.crl, GET /ocsp/{req...},
 * POST /ocsp. */
SUBCA_MUST_CHECK subca_result subca__api_revocation_crl(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__api_revocation_ocsp_get(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__api_revocation_ocsp_post(struct subca_request *req);

#endif
