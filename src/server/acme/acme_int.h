/*
 * Inside the ACME front end: the per-request context every handler
 * shares (provisioner, URLs, the verified JWS and account), nonces,
 * problems, the JSON documents kept in the store and how they are shown.
 *
 * Reading order: directory.c (directory, nonces), request.c (the JWS
 * envelope of every POST, problems), account.c, order.c, authz.c,
 * finalize.c, revoke.c (revokeCert, keyChange, renewalInfo), eab.c,
 * pool.c (validation threads).
 *
 * Objects are stored as JSON documents (struct subca_acme_rec.doc) that
 * hold ids, never URLs: the URLs depend on how a request reached the
 * authority (by host or by /a/NAME/) and are built when an object is shown.
 */
#ifndef SUBCA_SERVER_ACME_INT_H
#define SUBCA_SERVER_ACME_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../jose.h"
#include "../policy_json.h"
#include "../server_int.h"
#include "acme.h"
#include "subca/ossl.h"

SUBCA__DEFINE_AUTO(json_t, json_decref)

/* Lifetimes and pacing. */
#define SUBCA_ACME_NONCE_TTL 3600	   /* seconds a nonce stays usable */
#define SUBCA_ACME_NONCE_WINDOW (1u << 20) /* nonces remembered as used */
#define SUBCA_ACME_ORDER_TTL (7 * 86400)
#define SUBCA_ACME_AUTHZ_TTL (7 * 86400)
#define SUBCA_ACME_RETRY_AFTER "1"	    /* seconds, RFC 8555 7.5.1 */
#define SUBCA_ACME_POOL_THREADS 4
#define SUBCA_ACME_ATTEMPTS 3		    /* validation attempts */
#define SUBCA_ACME_ID_BYTES 16		    /* random bytes of an object id */
#define SUBCA_ACME_ID_MAX 64
#define SUBCA_ACME_URL_MAX (SUBCA_HOST_MAX + 2 * SUBCA_MAX_LABEL + 160)
#define SUBCA_ACME_MAX_IDENTIFIERS SUBCA_MAX_NAMES
#define SUBCA_ACME_ORDERS_PAGE 10 /* order URLs a page of the list */
#define SUBCA_ACME_MAX_CONTACTS 8
#define SUBCA_ACME_MAX_CONTACT 256
#define SUBCA_ACME_MAX_BODY (SUBCA_MAX_JWS + 256)
#define SUBCA_ACME_NONCE_LEN 38 /* base64url of 28 bytes */

#define SUBCA_ACME_ERR_NS "urn:ietf:params:acme:error:"

/* How a request names its key (RFC 8555 6.2). */
enum subca_acme_keyed {
	SUBCA_ACME_BY_KID = 0, /* "kid": an account URL */
	SUBCA_ACME_BY_JWK,     /* "jwk": newAccount, revokeCert */
	SUBCA_ACME_BY_EITHER,  /* revokeCert */
};

/* What a request's payload must be (RFC 8555 6.3). */
enum subca_acme_payload {
	SUBCA_ACME_OBJECT = 0, /* a JSON object */
	SUBCA_ACME_EMPTY,      /* POST-as-GET: "" */
	SUBCA_ACME_EITHER,     /* reads and updates share a URL */
};

/* Everything a handler works with; subca__acme_begin fills it. */
struct subca_acme {
	struct subca_request *req;
	struct subca_provisioner_rec prov;
	struct subca_acme_options opts;
	struct subca_policy_json policy;
	char base[SUBCA_ACME_URL_MAX]; /* https://HOST[/a/NAME]/acme/PROV */
	char url[SUBCA_ACME_URL_MAX];  /* this request's URL */

	/* After subca__acme_verify: */
	struct subca_jws jws;
	json_t *payload;  /* the payload object; NULL for POST-as-GET */
	EVP_PKEY *key;	  /* the key that signed it */
	bool have_account;
	struct subca_acme_rec account; /* with kid */
	json_t *account_doc;
	json_t *subproblems; /* for the problem, when a step fails */
};

/* A handler's work once the request is verified. */
typedef subca_result (*subca_acme_step)(struct subca_acme *a);

/*
 * The frame of every POST handler: begin, verify the JWS (`keyed`, `payload`
 * as subca__acme_verify), run `step`, answer any failure as an ACME
 * problem, end. Returns SUBCA_OK once a response is written.
 */
SUBCA_MUST_CHECK subca_result subca__acme_run(struct subca_request *req,
					      enum subca_acme_keyed keyed,
					      enum subca_acme_payload payload,
					      subca_acme_step step);

/* ---- request.c ------------------------------------------------------------ */

/* Load the provisioner named in the path (it must be acme) and the URLs. */
SUBCA_MUST_CHECK subca_result subca__acme_begin(struct subca_request *req,
						struct subca_acme *a);
void subca__acme_end(struct subca_acme *a);

/*
 * Read and check the JWS of a POST (RFC 8555 6.2-6.5): flattened JSON with
 * protected, payload and signature; alg ES256/ES384/RS256/EdDSA; "url"
 * equal to this request's URL; "nonce" one this process issued and not
 * used (spent here); "jwk" or "kid" as `keyed` allows; the kid an account
 * of this provisioner in status valid; the signature verifying; the
 * payload as `payload` says (a->payload NULL when empty).
 */
SUBCA_MUST_CHECK subca_result subca__acme_verify(struct subca_acme *a,
						 enum subca_acme_keyed keyed,
						 enum subca_acme_payload payload);

/* The body of a POST as a JWS: a JSON object (at most
 * SUBCA_ACME_MAX_BODY bytes, no duplicate members) with exactly the string
 * members protected, payload, signature, parsed by subca_jws_parse_parts
 * (not verified). SUBCA_E_BAD_JWS, SUBCA_E_TOO_LARGE, and its errors.
 * Clean up with subca_jws_cleanup, also after a failure. */
SUBCA_MUST_CHECK subca_result subca__acme_envelope(struct subca_slice body,
						   struct subca_jws *jws);

/* Answer with `doc` (taken over) and status, plus Replay-Nonce and the
 * directory Link (RFC 8555 7.1). Location when `location` is set. */
SUBCA_MUST_CHECK subca_result subca__acme_reply(struct subca_acme *a,
						int status, json_t *doc,
						const char *location);
/* Answer the current error as an ACME problem (RFC 8555 6.7) with a fresh
 * Replay-Nonce; `subproblems` (taken over, may be NULL) per identifier.
 * Returns SUBCA_OK: the response is written. */
subca_result subca__acme_problem(struct subca_acme *a, subca_result code,
				 json_t *subproblems);
/* A problem document for an error object inside a challenge or order. */
json_t *subca__acme_error_doc(subca_result code, const char *detail);

/* Replay-Nonce and the directory Link (RFC 8555 6.5, 7.1). */
void subca__acme_headers(struct subca_acme *a);
/* Add a response header, or close the connection when there is no room. */
void subca__acme_header(struct subca_request *req, const char *name,
			const char *value);

/* URL of an object: base/KIND/ID (kind "account", "order", ...). */
void subca__acme_url(const struct subca_acme *a, const char *kind,
		     const char *id, char *out, size_t len);

/* A new random object id (base64url of SUBCA_ACME_ID_BYTES). */
SUBCA_MUST_CHECK subca_result subca__acme_new_id(char out[SUBCA_ACME_ID_MAX]);

/* RFC 3339 time of unix seconds (UTC). */
void subca__acme_time(int64_t t, char out[32]);
/* Parse an RFC 3339 time ("2026-01-02T03:04:05Z", offsets and fractions
 * allowed). SUBCA_E_INVALID_ARGUMENT. */
SUBCA_MUST_CHECK subca_result subca__acme_time_parse(const char *s,
						     int64_t *out);

/* The stored document of a record (parsed JSON); SUBCA_E_STORE. */
SUBCA_MUST_CHECK subca_result subca__acme_doc(const struct subca_acme_rec *r,
					      json_t **out);
/* Serialise `doc` into r->doc (replacing it). */
SUBCA_MUST_CHECK subca_result subca__acme_doc_set(struct subca_acme_rec *r,
						  const json_t *doc);

/* ---- directory.c: nonces -------------------------------------------------- */

/* A fresh nonce (SUBCA_ACME_NONCE_LEN characters). */
SUBCA_MUST_CHECK subca_result subca__acme_nonce_new(
	time_t now, char out[SUBCA_ACME_NONCE_LEN + 1]);
/* Spend a nonce: SUBCA_E_ACME_BAD_NONCE unless this process issued it,
 * within SUBCA_ACME_NONCE_TTL of `now`, and it was never spent. */
SUBCA_MUST_CHECK subca_result subca__acme_nonce_use(const char *nonce,
						    time_t now);

/* ---- account.c ------------------------------------------------------------ */

/* The account object as shown (without the stored key). */
json_t *subca__acme_account_view(const struct subca_acme *a,
				 const struct subca_acme_rec *r,
				 const json_t *doc);

/* RFC 8555 7.3: "contact" absent, or at most SUBCA_ACME_MAX_CONTACTS
 * mailto: URLs of one address each. SUBCA_E_INVALID_ARGUMENT,
 * SUBCA_E_ACME_UNSUPPORTED_CONTACT, SUBCA_E_TOO_LARGE. */
SUBCA_MUST_CHECK subca_result subca__acme_contacts(const json_t *c);

/* ---- keycache.c ---------------------------------------------------------- */

/* The key of a stored account JWK, through a per-process cache keyed by
 * the JWK's text (*out: a reference of the caller's). SUBCA_E_BAD_JWK etc.
 * as subca_jwk_from_json. */
SUBCA_MUST_CHECK subca_result subca__acme_account_key(const json_t *jwk,
						      EVP_PKEY **out);
/* Drop every cached key (at shutdown; tests). */
void subca__acme_account_keys_flush(void);

/* ---- eab.c ---------------------------------------------------------------- */

/*
 * Check an externalAccountBinding (RFC 8555 7.3.4): a JWS with alg HS256,
 * kid an EAB key of this provisioner not bound to another account, url
 * this request's URL, payload the account's JWK; MAC verified with the
 * unsealed key. *kid_out (subca_free) is the kid to bind.
 */
SUBCA_MUST_CHECK subca_result subca__acme_eab_check(struct subca_acme *a,
						    const json_t *eab,
						    char **kid_out);

/* ---- order.c -------------------------------------------------------------- */

/* The order object as shown; the authorizations' ids come from `doc`. */
json_t *subca__acme_order_view(const struct subca_acme *a,
			       const struct subca_acme_rec *r,
			       const json_t *doc);
/*
 * A newOrder payload (RFC 8555 7.4) against a->opts, a->policy and
 * a->key: the identifiers in canonical form (*identifiers, a new
 * reference) and the lifetime in days from notBefore/notAfter. Each
 * refused identifier adds a subproblem to a->subproblems; the error is
 * the first refusal's (rejectedIdentifier, unsupportedIdentifier,
 * malformed).
 */
SUBCA_MUST_CHECK subca_result subca__acme_order_check(struct subca_acme *a,
						      json_t **identifiers,
						      long *days);

/* The finalize payload's CSR (base64url DER; BAD_CSR) whose names must be
 * exactly `identifiers` (RFC 8555 7.4). *out owned by the caller. */
SUBCA_MUST_CHECK subca_result subca__acme_csr_check(const struct subca_acme *a,
						    const json_t *identifiers,
						    X509_REQ **out);

/* Load order `id` of the request's account: NOT_FOUND when another
 * account's. */
SUBCA_MUST_CHECK subca_result subca__acme_order_load(struct subca_acme *a,
						     const char *id,
						     struct subca_acme_rec *r,
						     json_t **doc);
/* Move an order whose authorizations all became valid to "ready", or any
 * invalid one to "invalid"; store is in a transaction. */
SUBCA_MUST_CHECK subca_result subca__acme_order_refresh(struct subca_store *st,
							int64_t prov,
							const char *order_id,
							int64_t now);

/* ---- authz.c -------------------------------------------------------------- */

/* Create the authorization and challenges for one identifier of an order. */
SUBCA_MUST_CHECK subca_result subca__acme_authz_create(struct subca_acme *a,
						       const char *order_id,
						       const json_t *ident,
						       int64_t expires,
						       char id[SUBCA_ACME_ID_MAX]);

/* The key authorization of a challenge token (RFC 8555 8.1). */
SUBCA_MUST_CHECK subca_result subca__acme_key_authz(const char *token,
						    const char *jwk_json,
						    struct subca_buf *out);

/* ---- pool.c --------------------------------------------------------------- */

/* Queue challenge `id` of provisioner `prov` for validation; false when
 * no pool runs (the challenge stays "processing" for the next one). */
bool subca__acme_pool_submit(int64_t prov, const char *id);

/*
 * Validate one challenge now, on `st` (blocking): the attempt, then the
 * challenge, its authorization and its order are updated in one
 * transaction. `final` makes a failure final; otherwise a failure leaves
 * the challenge "processing" and *retry is set.
 */
SUBCA_MUST_CHECK subca_result
subca__acme_validate_one(struct subca_store *st,
			 const struct subca_acme_validation_cfg *cfg,
			 int64_t prov, const char *id, bool final,
			 bool *retry);

#endif
