/*
 * Credentials: random secrets with a type prefix, their SHA-256 hashes and
 * constant-time checks, lifetimes and scope lists. See credential.h.
 */
#include "subca/credential.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "subca/alloc.h"

static const char subca__b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *subca_credential_prefix(enum subca_credential_kind kind)
{
	return kind == SUBCA_SECRET_ADMIN ? "subca_adm_" : "subca_key_";
}

static const char *subca__kind_name(enum subca_credential_kind kind)
{
	return kind == SUBCA_SECRET_ADMIN ? "an admin token" : "an API key";
}

/* RFC 4648 5, without padding; `out` holds ceil(n * 4 / 3) characters. */
static void subca__b64url_encode(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = subca__b64url[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		*out++ = subca__b64url[(acc << (6 - bits)) & 63];
	*out = '\0';
}

static int subca__b64url_value(char c)
{
	const char *p = c != '\0' ? strchr(subca__b64url, c) : NULL;

	return p != NULL ? (int)(p - subca__b64url) : -1;
}

subca_result subca_credential_generate(enum subca_credential_kind kind,
				       char out[SUBCA_CREDENTIAL_SIZE])
{
	unsigned char rnd[SUBCA_CREDENTIAL_RANDOM_BYTES];
	int ok;

	out[0] = '\0';
	ok = RAND_priv_bytes(rnd, sizeof(rnd));
	if (ok == 1) {
		memcpy(out, subca_credential_prefix(kind),
		       SUBCA_CREDENTIAL_PREFIX_LEN);
		subca__b64url_encode(rnd, sizeof(rnd),
				     out + SUBCA_CREDENTIAL_PREFIX_LEN);
	}
	subca_wipe(rnd, sizeof(rnd));
	SUBCA_OSSL(ok == 1, SUBCA_E_CRYPTO, "cannot generate a random secret");
	return SUBCA_OK;
}

subca_result subca_credential_validate(enum subca_credential_kind kind,
				       const char *s)
{
	enum subca_credential_kind other =
		kind == SUBCA_SECRET_ADMIN ? SUBCA_SECRET_APIKEY : SUBCA_SECRET_ADMIN;
	const char *body;
	size_t n;
	int last;

	SUBCA_ENSURE(s != NULL && s[0] != '\0', SUBCA_E_AUTH,
		     "no credential given: expected %s", subca__kind_name(kind));
	SUBCA_ENSURE(strncmp(s, subca_credential_prefix(other),
			     SUBCA_CREDENTIAL_PREFIX_LEN) != 0,
		     SUBCA_E_AUTH, "%s was given where %s was expected",
		     subca__kind_name(other), subca__kind_name(kind));
	SUBCA_ENSURE(strncmp(s, subca_credential_prefix(kind),
			     SUBCA_CREDENTIAL_PREFIX_LEN) == 0,
		     SUBCA_E_AUTH, "not %s (it must start with \"%s\")",
		     subca__kind_name(kind), subca_credential_prefix(kind));
	body = s + SUBCA_CREDENTIAL_PREFIX_LEN;
	n = strnlen(body, SUBCA_CREDENTIAL_B64_LEN + 1);
	SUBCA_ENSURE(n == SUBCA_CREDENTIAL_B64_LEN, SUBCA_E_AUTH,
		     "not %s: wrong length", subca__kind_name(kind));
	for (size_t i = 0; i < n; i++)
		SUBCA_ENSURE(subca__b64url_value(body[i]) >= 0, SUBCA_E_AUTH,
			     "not %s: character outside base64url",
			     subca__kind_name(kind));
	/* 43 characters carry 258 bits for 256: the last 2 must be zero
	 * (RFC 4648 3.5), so that each secret has exactly one spelling */
	last = subca__b64url_value(body[n - 1]);
	SUBCA_ENSURE((last & 3) == 0, SUBCA_E_AUTH,
		     "not %s: non-canonical encoding", subca__kind_name(kind));
	return SUBCA_OK;
}

subca_result subca_credential_hash(const char *secret, size_t len,
				   char out[SUBCA_CREDENTIAL_HASH_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	out[0] = '\0';
	SUBCA_OSSL(EVP_Digest(secret, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
			   mdlen == sizeof(md),
		   SUBCA_E_CRYPTO, "cannot hash a credential");
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return SUBCA_OK;
}

bool subca_credential_hash_equal(const char *a, const char *b)
{
	size_t n;

	if (a == NULL || b == NULL)
		return false;
	n = strlen(a);
	if (n != strlen(b))
		return false;
	return CRYPTO_memcmp(a, b, n) == 0;
}

subca_result subca_credential_check(enum subca_credential_kind kind,
				    const char *presented,
				    const char *stored_hash)
{
	char h[SUBCA_CREDENTIAL_HASH_SIZE];

	SUBCA_TRY(subca_credential_validate(kind, presented));
	SUBCA_TRY(subca_credential_hash(presented, strlen(presented), h));
	SUBCA_ENSURE(subca_credential_hash_equal(h, stored_hash), SUBCA_E_AUTH,
		     "%s is not valid", subca__kind_name(kind));
	return SUBCA_OK;
}

/* ---- lifetimes --------------------------------------------------------- */

static int64_t subca__unit_seconds(char u)
{
	switch (u) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	default: return 0;
	}
}

subca_result subca_duration_parse(const char *s, int64_t max_seconds,
				  int64_t *out)
{
	int64_t v = 0, unit;
	size_t i = 0;

	*out = 0;
	SUBCA_ENSURE(s != NULL, SUBCA_E_INVALID_ARGUMENT, "no duration given");
	/* 6 digits bound the value before any multiplication can overflow */
	for (; s[i] >= '0' && s[i] <= '9' && i < 7; i++)
		v = v * 10 + (s[i] - '0');
	SUBCA_ENSURE(i >= 1 && i <= 6, SUBCA_E_INVALID_ARGUMENT,
		     "duration \"%.32s\" must be a number of at most 6 digits "
		     "followed by a unit (s, m, h, d or w), like 90d",
		     s);
	unit = subca__unit_seconds(s[i]);
	SUBCA_ENSURE(unit > 0 && s[i + 1] == '\0', SUBCA_E_INVALID_ARGUMENT,
		     "duration \"%.32s\" must end with one unit: s, m, h, d or w "
		     "(like 90d)",
		     s);
	SUBCA_ENSURE(v > 0, SUBCA_E_INVALID_ARGUMENT,
		     "duration \"%.32s\" must be longer than zero", s);
	SUBCA_ENSURE(v * unit <= max_seconds, SUBCA_E_INVALID_ARGUMENT,
		     "duration \"%.32s\" is longer than the maximum of %lld "
		     "days",
		     s, (long long)(max_seconds / 86400));
	*out = v * unit;
	return SUBCA_OK;
}

/* ---- scopes ------------------------------------------------------------ */

bool subca_scope_allows(const char *scope, const char *authority)
{
	size_t n;

	if (scope == NULL)
		return true;
	if (authority == NULL)
		return false;
	n = strlen(authority);
	while (*scope != '\0') {
		const char *end = strchr(scope, ',');
		size_t len = end != NULL ? (size_t)(end - scope) : strlen(scope);

		if (len == n && n > 0 && strncasecmp(scope, authority, n) == 0)
			return true;
		if (end == NULL)
			break;
		scope = end + 1;
	}
	return false;
}
