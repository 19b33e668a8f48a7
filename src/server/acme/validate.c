/*
 * ACME challenge validation: the entry point, argument checks shared by
 * every challenge type, and small helpers. Each challenge lives in its own
 * file (validate_http.c, validate_dns.c, validate_tlsalpn.c).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "subca/limits.h"
#include "validate_int.h"

typedef subca_result (*subca__acme_check_fn)(
	const struct subca_acme_validation_cfg *cfg,
	const struct subca_acme_ident *id, const char *token,
	const char *key_authz, struct subca_acme_validation_error *err);

static const struct {
	const char *name;
	subca__acme_check_fn check;
} subca__challs[] = {
	[SUBCA_ACME_HTTP01] = {"http-01", subca__acme_http01},
	[SUBCA_ACME_DNS01] = {"dns-01", subca__acme_dns01},
	[SUBCA_ACME_TLSALPN01] = {"tls-alpn-01", subca__acme_tlsalpn01},
};

#define SUBCA__NCHALLS (sizeof(subca__challs) / sizeof(subca__challs[0]))

const char *subca_acme_chall_name(enum subca_acme_chall t)
{
	if ((size_t)t >= SUBCA__NCHALLS)
		return "unknown";
	return subca__challs[t].name;
}

subca_result subca_acme_chall_parse(const char *s, enum subca_acme_chall *out)
{
	char shown[64];

	for (size_t i = 0; s != NULL && i < SUBCA__NCHALLS; i++) {
		if (strcmp(s, subca__challs[i].name) == 0) {
			*out = (enum subca_acme_chall)i;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "unknown challenge type \"%s\" (accepted: http-01, dns-01, "
		   "tls-alpn-01)",
		   s != NULL ? SUBCA_SHOWN(s, shown) : "(none)");
}

subca_result subca__acmev_fail(struct subca_acme_validation_error *err,
			       const char *type, const char *file, int line,
			       const char *fmt, ...)
{
	va_list ap;

	snprintf(err->type, sizeof(err->type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return subca_error_set(SUBCA_E_ACME_VALIDATION, file, line, "%s",
			       err->detail);
}

void subca__acmev_deadline(int timeout_ms, struct timespec *end)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += timeout_ms / 1000;
	end->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end->tv_nsec >= 1000000000L) {
		end->tv_sec++;
		end->tv_nsec -= 1000000000L;
	}
}

long subca__acmev_ms_left(const struct timespec *end)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(end->tv_sec - now.tv_sec) * 1000L +
	     (end->tv_nsec - now.tv_nsec) / 1000000L;
	return ms > 0 ? ms : 0;
}

subca_result subca__acmev_digest(const char *key_authz,
				 uint8_t out[SUBCA_ACMEV_SHA256_LEN],
				 struct subca_acme_validation_error *err)
{
	unsigned int n = 0;

	if (EVP_Digest(key_authz, strlen(key_authz), out, &n, EVP_sha256(),
		       NULL) != 1 ||
	    n != SUBCA_ACMEV_SHA256_LEN)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot compute SHA-256");
	return SUBCA_OK;
}

static bool subca__b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The token goes into a URL path: base64url only (RFC 8555 8.3), so no
 * "/", "..", "%" or query can ride along. */
static subca_result subca__check_token(const char *token,
				       struct subca_acme_validation_error *err)
{
	size_t n = token != NULL ? strnlen(token, SUBCA_MAX_ACME_TOKEN + 1) : 0;

	if (n == 0 || n > SUBCA_MAX_ACME_TOKEN)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "challenge token must be 1 to %u base64url "
				 "characters",
				 SUBCA_MAX_ACME_TOKEN);
	for (size_t i = 0; i < n; i++)
		if (!subca__b64url_char(token[i]))
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
					 "challenge token has a character "
					 "outside base64url at offset %zu",
					 i);
	return SUBCA_OK;
}

/* RFC 8555 8.1: keyAuthorization = token || '.' || base64url(Thumbprint) */
static subca_result subca__check_key_authz(
	const char *token, const char *ka,
	struct subca_acme_validation_error *err)
{
	size_t tn = strlen(token);
	size_t n = ka != NULL ? strnlen(ka, SUBCA_MAX_ACME_KEY_AUTHZ + 1) : 0;

	if (n == 0 || n > SUBCA_MAX_ACME_KEY_AUTHZ)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "key authorization must be 1 to %u characters",
				 SUBCA_MAX_ACME_KEY_AUTHZ);
	if (n < tn + 2 || memcmp(ka, token, tn) != 0 || ka[tn] != '.')
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "key authorization is not the token, \".\" "
				 "and a thumbprint (RFC 8555 8.1)");
	for (size_t i = tn + 1; i < n; i++)
		if (!subca__b64url_char(ka[i]))
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
					 "key authorization thumbprint has a "
					 "character outside base64url");
	return SUBCA_OK;
}

/* A DNS name as it goes into a URL, a TLS SNI and a DNS question: LDH
 * labels of 1..63 characters, 253 in all, no trailing dot. */
static bool subca__dns_name_ok(const char *s)
{
	size_t n = strnlen(s, 254), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(subca__b64url_char(c) && c != '_'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

static subca_result subca__check_ident(enum subca_acme_chall t,
				       const struct subca_acme_ident *id,
				       struct subca_acme_validation_error *err)
{
	unsigned char addr[16];
	char shown[80];

	if (id == NULL || id->value == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED, "no identifier");
	if (!id->is_ip) {
		if (!subca__dns_name_ok(id->value))
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
					 "identifier \"%s\" is not a DNS name",
					 SUBCA_SHOWN(id->value, shown));
		return SUBCA_OK;
	}
	if (inet_pton(AF_INET, id->value, addr) != 1 &&
	    inet_pton(AF_INET6, id->value, addr) != 1)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "identifier \"%s\" is not an IP address",
				 SUBCA_SHOWN(id->value, shown));
	/* RFC 8738 7: dns-01 MUST NOT be used for IP identifiers */
	if (t == SUBCA_ACME_DNS01)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "dns-01 cannot validate an IP address "
				 "(RFC 8738 7)");
	return SUBCA_OK;
}

subca_result subca_acme_validate(const struct subca_acme_validation_cfg *cfg,
				 enum subca_acme_chall t,
				 const struct subca_acme_ident *id,
				 const char *token, const char *key_authz,
				 struct subca_acme_validation_error *err)
{
	static const struct subca_acme_validation_cfg defaults;
	struct subca_acme_validation_error scratch;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	if (cfg == NULL)
		cfg = &defaults;
	if ((size_t)t >= SUBCA__NCHALLS)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "unknown challenge type %d", (int)t);
	SUBCA_TRY(subca__check_ident(t, id, err));
	SUBCA_TRY(subca__check_token(token, err));
	SUBCA_TRY(subca__check_key_authz(token, key_authz, err));
	return subca__challs[t].check(cfg, id, token, key_authz, err);
}
