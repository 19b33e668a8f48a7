/*
 * Credentials: admin tokens and provisioner API keys. A credential is a
 * random secret shown once to whoever creates it; subca stores only its
 * SHA-256 hash and compares hashes in constant time. Also the small parsers
 * the front ends need around them (lifetimes like "90d", scope lists).
 *
 * Secrets look like "subca_adm_<43 base64url characters>": a type prefix so
 * that a leaked secret is recognisable by secret scanners and cannot be
 * used as the other kind, then 32 random bytes (256 bits) in base64url
 * without padding (RFC 4648 5).
 */
#ifndef SUBCA_CREDENTIAL_H
#define SUBCA_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "subca/error.h"

enum subca_credential_kind {
	SUBCA_SECRET_ADMIN = 0, /* "subca_adm_": admin API token */
	SUBCA_SECRET_APIKEY,    /* "subca_key_": provisioner API key */
};

#define SUBCA_CREDENTIAL_PREFIX_LEN 10
#define SUBCA_CREDENTIAL_RANDOM_BYTES 32
/* base64url of 32 bytes without padding: ceil(32 * 4 / 3) = 43 */
#define SUBCA_CREDENTIAL_B64_LEN 43
#define SUBCA_CREDENTIAL_LEN \
	(SUBCA_CREDENTIAL_PREFIX_LEN + SUBCA_CREDENTIAL_B64_LEN)
/* Buffer sizes, with the terminating NUL. */
#define SUBCA_CREDENTIAL_SIZE (SUBCA_CREDENTIAL_LEN + 1)
#define SUBCA_CREDENTIAL_HASH_SIZE 65 /* 64 lower-case hex digits */

/* The prefix of `kind` ("subca_adm_"). */
const char *subca_credential_prefix(enum subca_credential_kind kind);

/*
 * Generate a new secret of `kind` into `out` from OpenSSL's private DRBG
 * (RAND_priv_bytes). The caller shows it once and wipes it (subca_wipe).
 * SUBCA_E_CRYPTO when the DRBG fails.
 */
SUBCA_MUST_CHECK subca_result subca_credential_generate(
	enum subca_credential_kind kind, char out[SUBCA_CREDENTIAL_SIZE]);

/*
 * Check that `s` has the shape of a secret of `kind`: the prefix, then
 * exactly 43 base64url characters whose unused last bits are zero.
 * SUBCA_E_AUTH ("not an admin token" / "not an API key", or the other
 * kind's prefix named) without echoing the value. Runs before hashing, so
 * that garbage is refused early; the shape is not secret.
 */
SUBCA_MUST_CHECK subca_result subca_credential_validate(
	enum subca_credential_kind kind, const char *s);

/*
 * SHA-256 of the `len` bytes of `secret` as 64 lower-case hex digits: what
 * the store keeps. SUBCA_E_CRYPTO.
 */
SUBCA_MUST_CHECK subca_result subca_credential_hash(
	const char *secret, size_t len, char out[SUBCA_CREDENTIAL_HASH_SIZE]);

/*
 * Constant-time equality of two hashes (CRYPTO_memcmp): false when either
 * is NULL or their lengths differ (lengths are not secret).
 */
bool subca_credential_hash_equal(const char *a, const char *b);

/*
 * Validate `presented` as a secret of `kind`, hash it and compare with
 * `stored_hash` in constant time. SUBCA_E_AUTH for a malformed secret or a
 * mismatch (the reason never contains the secret).
 */
SUBCA_MUST_CHECK subca_result subca_credential_check(
	enum subca_credential_kind kind, const char *presented,
	const char *stored_hash);

/*
 * Parse a lifetime: a decimal number of 1..6 digits followed by one unit,
 * "s" (seconds), "m" (minutes), "h" (hours), "d" (days) or "w" (weeks):
 * "90d", "12h", "30m". The result in seconds must be in 1..max_seconds.
 * SUBCA_E_INVALID_ARGUMENT naming the problem.
 */
SUBCA_MUST_CHECK subca_result subca_duration_parse(const char *s,
						   int64_t max_seconds,
						   int64_t *out);

/* The longest lifetime of an admin token or API key (10 years). */
#define SUBCA_MAX_CREDENTIAL_LIFETIME ((int64_t)3660 * 86400)

/*
 * Does the comma-separated authority list `scope` name `authority`?
 * A NULL scope is global and allows every authority. Names compare without
 * regard to ASCII case, as authority names do in the store.
 */
bool subca_scope_allows(const char *scope, const char *authority);

#endif
