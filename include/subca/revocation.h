/*
 * Publishing revocation: the lifecycle steps that join the store, the key
 * store and the CRL / OCSP builders. Always per intermediate: an
 * authority's retired intermediates keep their CRL and OCSP answers until
 * their last certificate expires. Used by the server (endpoints and the
 * background rebuild), the CLI (`subca crl`) and the benchmark.
 */
#ifndef SUBCA_REVOCATION_H
#define SUBCA_REVOCATION_H

#include <stdint.h>

#include "subca/authority.h"
#include "subca/ocsp.h"
#include "subca/store.h"

/* Defaults: a CRL is valid 24 hours, an OCSP answer 1 hour. */
#define SUBCA_CRL_DEFAULT_VALIDITY (24 * 3600)
#define SUBCA_OCSP_DEFAULT_VALIDITY 3600

/*
 * The intermediate `id` of authority `authority_id`, which must have a
 * certificate (not pending). SUBCA_E_NOT_FOUND otherwise.
 */
SUBCA_MUST_CHECK subca_result subca_revocation_intermediate(
	const struct subca_ctx *c, int64_t authority_id, int64_t id,
	struct subca_intermediate_rec *out);

/*
 * Build a new CRL for intermediate `im` at c->now: every revoked
 * certificate it issued that has not expired before c->now, the next CRL
 * number (allocated in the store), nextUpdate = now + validity seconds;
 * signed with the intermediate's key, stored as its latest, and handed
 * out in `out` (free with subca_crl_rec_cleanup). Store, key-store and
 * crypto errors; SUBCA_E_NOT_CA for an intermediate without cRLSign.
 */
SUBCA_MUST_CHECK subca_result subca_crl_publish(
	const struct subca_ctx *c, const struct subca_intermediate_rec *im,
	int64_t validity, struct subca_crl_rec *out);

/*
 * The latest stored CRL of `im` when it is still current (c->now before
 * its nextUpdate), else a new one (subca_crl_publish).
 */
SUBCA_MUST_CHECK subca_result subca_crl_current(
	const struct subca_ctx *c, const struct subca_intermediate_rec *im,
	int64_t validity, struct subca_crl_rec *out);

struct subca_ocsp_result {
	int64_t intermediate_id; /* who answered */
	enum subca_ocsp_cert_status status;
	int64_t next_update;
};

/*
 * Answer a parsed OCSP request for authority `authority_id` at c->now:
 * find the intermediate it names (pending ones have no certificate and
 * never match), look the serial up (a certificate of another intermediate
 * is "unknown"), sign the answer with that intermediate's key, valid
 * `validity` seconds. DER response into `der` (initialised here).
 * SUBCA_E_OCSP_UNKNOWN_ISSUER; store, key-store and crypto errors.
 */
SUBCA_MUST_CHECK subca_result subca_ocsp_answer_request(
	const struct subca_ctx *c, int64_t authority_id,
	const struct subca_ocsp_request *req, int64_t validity,
	struct subca_buf *der, struct subca_ocsp_result *res);

/*
 * The CRL and OCSP URLs a server reached at `base` ("http://ca.example",
 * no trailing slash needed) publishes for intermediate `id` of authority
 * `name`: BASE/a/NAME/crl/ID.crl and BASE/a/NAME/ocsp. Into the two
 * buffers of SUBCA_MAX_URL + 1 bytes. SUBCA_E_TOO_LARGE.
 */
SUBCA_MUST_CHECK subca_result subca_revocation_urls(const char *base,
						    const char *name,
						    int64_t id, char *crl,
						    char *ocsp);

#endif
