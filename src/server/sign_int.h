/*
 * Between the provisioner authentication (auth_prov.c) and the sign API
 * handlers (api_sign.c): who asks, under which policy, with which verified
 * token claims.
 */
#ifndef SUBCA_SIGN_INT_H
#define SUBCA_SIGN_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "jose.h"
#include "policy_json.h"
#include "server_int.h"

#define SUBCA_PROV_PRINCIPAL_MAGIC 0x70726f76u /* "prov" */

/* req->principal of a request the provisioner check let through. */
struct subca_prov_principal {
	unsigned magic;
	struct subca_provisioner_rec prov;
	struct subca_policy_json policy; /* the provisioner's parsed policy */
	bool have_token;		 /* jwk: a verified one-time token */
	struct subca_token token;	 /* its claims (when have_token) */
	json_t *body; /* the request body as a JSON object, or NULL */
};

/*
 * Authenticate a provisioner of req->authority into *out (owned by the
 * caller: subca__prov_principal_free): an API key in "Authorization:
 * Bearer subca_key_...", or a one-time token (JWT) in the Bearer header or
 * the body's "token" member, verified with the provisioner's key for this
 * authority's sign URL and spent (its jti is recorded; a replay is
 * refused). SUBCA_E_AUTH and the token errors (401); SUBCA_E_INVALID_ARGUMENT
 * for a body that is not a JSON object.
 */
SUBCA_MUST_CHECK subca_result
subca__prov_authenticate(struct subca_request *req,
			 struct subca_prov_principal **out);
void subca__prov_principal_free(struct subca_prov_principal *p);

/* The request's provisioner principal, or NULL. */
struct subca_prov_principal *subca__prov_principal(struct subca_request *req);

/*
 * The sign URLs a token for this request may name as "aud": the path form
 * https://HOST/a/NAME/sign and, with a base domain, the host form
 * https://SUB.BASE/sign (HOST and the port from the Host header).
 * *n set to 1 or 2.
 */
#define SUBCA_SIGN_AUD_MAX (SUBCA_HOST_MAX + SUBCA_MAX_LABEL + 32)
void subca__sign_audiences(const struct subca_request *req,
			   char aud[2][SUBCA_SIGN_AUD_MAX], size_t *n);

/*
 * The request bodies of the sign API (sign_body.c), read strictly before
 * anything else looks at them: a JSON object (an empty body is {}) of at
 * most SUBCA_MAX_REQUEST_BODY bytes, no duplicate or unknown member, each
 * member of its one type, strings (never holding NUL) within their cap.
 * SUBCA_E_INVALID_ARGUMENT (400) naming the member, SUBCA_E_TOO_LARGE past
 * a cap. The out structure is always initialised, so its cleanup is safe
 * after a failure too.
 */
#define SUBCA_SIGN_SERIAL_MAX 64 /* hex digits of a serial */
#define SUBCA_SIGN_DAYS_MAX 100000 /* past any policy; policy caps further */

struct subca__sign_body {
	char *csr;	/* "csr": PEM text (NUL-terminated), or NULL */
	size_t csr_len;
	char *token;	/* "token": a sign token, or NULL */
	long days;	/* "days": 1..SUBCA_SIGN_DAYS_MAX, 0 when absent */
};

struct subca__revoke_body {
	/* "serial": lower-case hex, no leading zeros (as the store keys it) */
	char serial[SUBCA_SIGN_SERIAL_MAX + 1];
	int reason;	/* "reason": RFC 5280 5.3.1 CRLReason, 0 when absent */
	char *token;	/* "token", or NULL */
};

/* POST /sign: {"csr": PEM, "token"?: JWT, "days"?: N}; csr required. */
SUBCA_MUST_CHECK subca_result
subca__sign_body_parse(struct subca_slice body, struct subca__sign_body *out);
/* The same from a body already parsed (by the provisioner check). */
SUBCA_MUST_CHECK subca_result
subca__sign_body_json(json_t *body, struct subca__sign_body *out);
/* POST /renew: {"csr"?: PEM, "days"?: N}. */
SUBCA_MUST_CHECK subca_result
subca__renew_body_parse(struct subca_slice body, struct subca__sign_body *out);
void subca__sign_body_cleanup(struct subca__sign_body *b);

/* POST /revoke: {"serial": hex, "reason"?: name, "token"?: JWT}. */
SUBCA_MUST_CHECK subca_result
subca__revoke_body_parse(struct subca_slice body, struct subca__revoke_body *out);
void subca__revoke_body_cleanup(struct subca__revoke_body *b);

/* The RFC 5280 5.3.1 name of a CRLReason ("unspecified" if unknown). */
const char *subca__revoke_reason_name(int reason);

/* Handlers (api_sign.c). */
SUBCA_MUST_CHECK subca_result subca__api_sign(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__api_renew(struct subca_request *req);
SUBCA_MUST_CHECK subca_result subca__api_revoke(struct subca_request *req);

#endif
