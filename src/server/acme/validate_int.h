/*
 * Internals of ACME challenge validation shared by validate*.c and the
 * tls-alpn-01 fuzz target. Not for other modules: they call
 * subca_acme_validate() (validate.h).
 */
#ifndef SUBCA_ACME_VALIDATE_INT_H
#define SUBCA_ACME_VALIDATE_INT_H

#include <stdint.h>
#include <time.h>

#include "subca/buf.h"
#include "validate.h"

/* ACME error types (RFC 8555 6.7) without "urn:ietf:params:acme:error:". */
#define SUBCA_ACMEV_CONNECTION "connection"
#define SUBCA_ACMEV_DNS "dns"
#define SUBCA_ACMEV_TLS "tls"
#define SUBCA_ACMEV_INCORRECT "incorrectResponse"
#define SUBCA_ACMEV_UNAUTHORIZED "unauthorized"
#define SUBCA_ACMEV_MALFORMED "malformed"
#define SUBCA_ACMEV_INTERNAL "serverInternal"

#define SUBCA_ACMEV_SHA256_LEN 32

/*
 * Fill `err` (type and formatted detail) and set this thread's error to
 * SUBCA_E_ACME_VALIDATION with the detail as its reason; returns that code.
 * The detail must show untrusted bytes only through subca_shown().
 */
subca_result subca__acmev_fail(struct subca_acme_validation_error *err,
			       const char *type, const char *file, int line,
			       const char *fmt, ...) SUBCA_PRINTF(5, 6);
#define SUBCA_ACMEV_FAIL(err, type, ...) \
	return subca__acmev_fail((err), (type), __FILE__, __LINE__, __VA_ARGS__)

/* Defaults of struct subca_acme_validation_cfg. */
#define SUBCA_ACMEV_TIMEOUT_MS 10000
static inline int subca__acmev_timeout(const struct subca_acme_validation_cfg *c)
{
	return c->timeout_ms > 0 ? c->timeout_ms : SUBCA_ACMEV_TIMEOUT_MS;
}

static inline int subca__acmev_http_port(const struct subca_acme_validation_cfg *c)
{
	return c->http_port > 0 ? c->http_port : 80;
}

static inline int subca__acmev_tls_port(const struct subca_acme_validation_cfg *c)
{
	return c->tls_alpn_port > 0 ? c->tls_alpn_port : 443;
}

/* A monotonic deadline `timeout_ms` from now, and what is left of it (0
 * once passed). */
void subca__acmev_deadline(int timeout_ms, struct timespec *end);
long subca__acmev_ms_left(const struct timespec *end);

/* SHA-256 of the key authorization (RFC 8555 8.4, RFC 8737 3). */
SUBCA_MUST_CHECK subca_result
subca__acmev_digest(const char *key_authz,
		    uint8_t out[SUBCA_ACMEV_SHA256_LEN],
		    struct subca_acme_validation_error *err);

/* One check each. The arguments were checked by subca_acme_validate(). */
SUBCA_MUST_CHECK subca_result subca__acme_http01(
	const struct subca_acme_validation_cfg *cfg,
	const struct subca_acme_ident *id, const char *token,
	const char *key_authz, struct subca_acme_validation_error *err);
SUBCA_MUST_CHECK subca_result subca__acme_dns01(
	const struct subca_acme_validation_cfg *cfg,
	const struct subca_acme_ident *id, const char *token,
	const char *key_authz, struct subca_acme_validation_error *err);
SUBCA_MUST_CHECK subca_result subca__acme_tlsalpn01(
	const struct subca_acme_validation_cfg *cfg,
	const struct subca_acme_ident *id, const char *token,
	const char *key_authz, struct subca_acme_validation_error *err);

/*
 * The certificate half of tls-alpn-01 (RFC 8737 3) on the DER certificate a
 * server presented: exactly one subjectAltName entry, equal to `id` (a
 * dNSName, or an iPAddress for an IP, RFC 8738 6), and exactly one
 * id-pe-acmeIdentifier extension, critical, whose value is an OCTET STRING
 * of SHA-256(key_authz). `id` must be well formed (an IP must parse).
 * SUBCA_OK or SUBCA_E_ACME_VALIDATION with `err` filled ("tls" for bytes
 * that are not a certificate, "incorrectResponse" otherwise).
 */
SUBCA_MUST_CHECK subca_result subca__acme_tlsalpn_check_der(
	struct subca_slice der, const struct subca_acme_ident *id,
	const char *key_authz, struct subca_acme_validation_error *err);

#endif
