/*
 * ACME challenge validation (RFC 8555 8.3 http-01, 8.4 dns-01; RFC 8737
 * tls-alpn-01; RFC 8738 IP identifiers). Each check is a blocking call with
 * its own timeouts, meant for validation worker threads, never for a request
 * thread. It reaches out to the client's name: every response it reads is
 * untrusted and bounded.
 */
#ifndef SUBCA_ACME_VALIDATE_H
#define SUBCA_ACME_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "subca/error.h"

enum subca_acme_chall {
	SUBCA_ACME_HTTP01 = 0,
	SUBCA_ACME_DNS01,
	SUBCA_ACME_TLSALPN01,
};

/* "http-01" | "dns-01" | "tls-alpn-01" */
const char *subca_acme_chall_name(enum subca_acme_chall t);
/* SUBCA_E_INVALID_ARGUMENT naming the accepted types. */
SUBCA_MUST_CHECK subca_result subca_acme_chall_parse(const char *s,
						     enum subca_acme_chall *out);

/* Where checks connect. Zero values take the RFC defaults. */
struct subca_acme_validation_cfg {
	int http_port;	       /* http-01; 0 = 80 */
	int tls_alpn_port;     /* tls-alpn-01; 0 = 443 */
	const char *resolver;  /* dns-01: "IP" or "IP:PORT" of the DNS server
				* to ask; NULL = the system's resolver */
	const char *connect_host; /* tests: connect here instead of resolving
				   * the identifier (the identifier still goes
				   * in Host / SNI / the DNS question); NULL =
				   * resolve normally */
	int timeout_ms;	       /* per attempt; 0 = 10000 */
};

/* An identifier to validate. */
struct subca_acme_ident {
	const char *value; /* DNS name (no "*." : the caller strips it for
			    * dns-01 on a wildcard) or IP address text */
	bool is_ip;
};

/* What went wrong, for the challenge's error object (RFC 8555 6.7): the
 * ACME error type without its namespace ("connection", "dns", "tls",
 * "incorrectResponse", "unauthorized", "malformed") and a detail that
 * names the problem (no secrets; untrusted bytes made printable). */
struct subca_acme_validation_error {
	char type[32];
	char detail[256];
};

/*
 * Check that `id` answers challenge `t` with `key_authz` (RFC 8555 8.1:
 * token "." base64url(JWK thumbprint)):
 *  - http-01: GET http://ID[:port]/.well-known/acme-challenge/TOKEN (IPv6
 *    in brackets), at most 10 redirects only to http/https on ports 80/443
 *    (the configured port in tests), body at most 8 KiB, body equal to
 *    key_authz after trimming trailing whitespace (8.3);
 *  - dns-01: TXT records at _acme-challenge.ID; one equal to
 *    base64url(SHA-256(key_authz)) (8.4);
 *  - tls-alpn-01: TLS to ID:port with SNI ID (or the reverse-DNS name for
 *    an IP, RFC 8738 6), ALPN "acme-tls/1" negotiated, a self-signed
 *    certificate whose only SAN is ID and whose critical
 *    id-pe-acmeIdentifier extension holds SHA-256(key_authz) (RFC 8737 3).
 * SUBCA_OK when valid. Otherwise SUBCA_E_ACME_VALIDATION (reason = detail)
 * and *err filled. `token` is checked to be base64url (no path tricks).
 */
SUBCA_MUST_CHECK subca_result subca_acme_validate(
	const struct subca_acme_validation_cfg *cfg, enum subca_acme_chall t,
	const struct subca_acme_ident *id, const char *token,
	const char *key_authz, struct subca_acme_validation_error *err);

#endif
