/*
 * JOSE: strict base64url, public JWKs to and from EVP_PKEY, RFC 7638
 * thumbprints, compact JWS parse / verify / sign for four algorithms, and
 * the one-time sign tokens of jwk provisioners. OpenSSL does the crypto,
 * jansson the JSON; nothing here trusts its input.
 */
#include "jose.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "subca/alloc.h"
#include "subca/ossl.h"

SUBCA__DEFINE_AUTO(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
SUBCA__DEFINE_AUTO(OSSL_PARAM, OSSL_PARAM_free)
SUBCA__DEFINE_AUTO(json_t, json_decref)

/* json_dumps text comes from jansson's allocator (malloc), not subca's. */
static void subca__json_text_free(char **p)
{
	free(*p);
	*p = NULL;
}

#define SUBCA__JSON_TEXT __attribute__((cleanup(subca__json_text_free)))

/* Largest signature: RSA at the modulus cap. */
#define SUBCA__MAX_SIG (SUBCA_MAX_JWK_RSA_BITS / 8)
/* Largest RSA public exponent accepted, in bytes. */
#define SUBCA__MAX_RSA_E 8
/* Caps on header strings. */
#define SUBCA__MAX_KID 256
#define SUBCA__MAX_TYP 64
/* NumericDates beyond this (year 36812) are refused, so sums cannot overflow. */
#define SUBCA__MAX_DATE ((int64_t)1 << 40)

static const struct subca__alg {
	const char *name;
	int type;	  /* EVP_PKEY_EC, EVP_PKEY_ED25519, EVP_PKEY_RSA */
	int nid;	  /* EC curve */
	const char *crv;  /* JWK "crv" */
	size_t coord;	  /* EC coordinate / Ed25519 key bytes */
	const char *md;	  /* digest, NULL for EdDSA */
} subca__algs[] = {
	[SUBCA_JWS_ES256] = {"ES256", EVP_PKEY_EC, NID_X9_62_prime256v1,
			     "P-256", 32, "SHA256"},
	[SUBCA_JWS_ES384] = {"ES384", EVP_PKEY_EC, NID_secp384r1, "P-384",
			     48, "SHA384"},
	[SUBCA_JWS_EDDSA] = {"EdDSA", EVP_PKEY_ED25519, NID_undef, "Ed25519",
			     32, NULL},
	[SUBCA_JWS_RS256] = {"RS256", EVP_PKEY_RSA, NID_undef, NULL, 0,
			     "SHA256"},
};

#define SUBCA__NALGS (sizeof(subca__algs) / sizeof(subca__algs[0]))

const char *subca_jws_alg_name(enum subca_jws_alg alg)
{
	return (size_t)alg < SUBCA__NALGS ? subca__algs[alg].name : "unknown";
}



/* ---- base64url ---------------------------------------------------------- */

static const char subca__b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int subca__b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

subca_result subca_b64url_encode(struct subca_slice in, size_t max,
				 struct subca_buf *out)
{
	char quad[4];
	size_t i = 0;

	subca_buf_init(out, max);
	SUBCA_TRY(subca_buf_terminate(out));
	for (; i + 3 <= in.len; i += 3) {
		uint32_t v = (uint32_t)in.p[i] << 16 |
			     (uint32_t)in.p[i + 1] << 8 | in.p[i + 2];

		for (int j = 0; j < 4; j++)
			quad[j] = subca__b64_chars[(v >> (18 - 6 * j)) & 63];
		SUBCA_TRY(subca_buf_append(out, quad, 4));
	}
	if (i < in.len) {
		size_t rest = in.len - i;
		uint32_t v = (uint32_t)in.p[i] << 16 |
			     (rest > 1 ? (uint32_t)in.p[i + 1] << 8 : 0);

		for (size_t j = 0; j < rest + 1; j++)
			quad[j] = subca__b64_chars[(v >> (18 - 6 * j)) & 63];
		SUBCA_TRY(subca_buf_append(out, quad, rest + 1));
	}
	return SUBCA_OK;
}

static subca_result subca__b64_decode(struct subca_slice in, size_t max,
				      enum subca_code code, const char *what,
				      struct subca_buf *out)
{
	size_t outlen = in.len / 4 * 3 + (in.len % 4 ? in.len % 4 - 1 : 0);
	uint8_t chunk[3];
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	subca_buf_init(out, max);
	SUBCA_ENSURE(in.len % 4 != 1, code,
		     "%s is not base64url: %zu characters is not a possible "
		     "length", what, in.len);
	for (size_t i = 0; i < in.len; i++) {
		SUBCA_ENSURE(in.p[i] != '=', code,
			     "%s has '=' padding at offset %zu; base64url "
			     "in JOSE has none (RFC 7515 2)", what, i);
		SUBCA_ENSURE(subca__b64_value(in.p[i]) >= 0, code,
			     "%s has a character that is not base64url at "
			     "offset %zu", what, i);
	}
	SUBCA_ENSURE(outlen <= max, SUBCA_E_TOO_LARGE,
		     "%s decodes to %zu bytes, at most %zu", what, outlen, max);
	SUBCA_TRY(subca_buf_terminate(out));
	for (size_t i = 0; i < in.len; i++) {
		acc = acc << 6 | (uint32_t)subca__b64_value(in.p[i]);
		bits += 6;
		if (bits < 8)
			continue;
		bits -= 8;
		chunk[n++] = (uint8_t)(acc >> bits);
		acc &= (1u << bits) - 1;
		if (n == sizeof(chunk)) {
			SUBCA_TRY(subca_buf_append(out, chunk, n));
			n = 0;
		}
	}
	/* RFC 4648 3.5: the pad bits of the last character must be zero */
	SUBCA_ENSURE(acc == 0, code,
		     "%s is not canonical base64url: the last character has "
		     "bits set beyond the data", what);
	return subca_buf_append(out, chunk, n);
}

subca_result subca_b64url_decode(struct subca_slice in, size_t max,
				 const char *what, struct subca_buf *out)
{
	return subca__b64_decode(in, max, SUBCA_E_BAD_JWS, what, out);
}

/* ---- key <-> algorithm -------------------------------------------------- */

static int subca__ec_nid(const EVP_PKEY *key)
{
	char name[64];
	size_t len = 0;
	int nid;

	if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) {
		ERR_clear_error();
		return NID_undef;
	}
	nid = OBJ_sn2nid(name);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	return nid;
}

subca_result subca_jwk_alg(const EVP_PKEY *key, enum subca_jws_alg *out)
{
	int type, bits, nid;

	SUBCA_ENSURE(key != NULL, SUBCA_E_INVALID_ARGUMENT, "missing key");
	type = EVP_PKEY_get_base_id(key);
	bits = EVP_PKEY_get_bits(key);
	if (type == EVP_PKEY_ED25519) {
		*out = SUBCA_JWS_EDDSA;
		return SUBCA_OK;
	}
	if (type == EVP_PKEY_RSA) {
		SUBCA_ENSURE(bits >= 2048, SUBCA_E_WEAK_KEY,
			     "RSA-%d key: JWS keys need at least 2048 bits",
			     bits);
		SUBCA_ENSURE(bits <= SUBCA_MAX_JWK_RSA_BITS,
			     SUBCA_E_UNSUPPORTED_KEY,
			     "RSA-%d key: at most %d bits are accepted", bits,
			     SUBCA_MAX_JWK_RSA_BITS);
		*out = SUBCA_JWS_RS256;
		return SUBCA_OK;
	}
	nid = type == EVP_PKEY_EC ? subca__ec_nid(key) : NID_undef;
	for (size_t i = 0; nid != NID_undef && i < SUBCA__NALGS; i++) {
		if (subca__algs[i].type == EVP_PKEY_EC &&
		    subca__algs[i].nid == nid) {
			*out = (enum subca_jws_alg)i;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_UNSUPPORTED_KEY,
		   "a %s key cannot sign a JWS here (P-256, P-384, Ed25519 "
		   "and RSA keys only: ES256, ES384, EdDSA, RS256)",
		   nid != NID_undef ? OBJ_nid2sn(nid) : OBJ_nid2sn(type));
}

/* ---- JWK parse ----------------------------------------------------------- */

/* A base64url member of a JWK, decoded into `out`. */
static subca_result subca__jwk_bytes(const json_t *jwk, const char *name,
				     size_t max, struct subca_buf *out)
{
	const json_t *v = json_object_get(jwk, name);
	char what[48];

	subca_buf_init(out, max);
	SUBCA_ENSURE(json_is_string(v), SUBCA_E_BAD_JWK,
		     "the JWK has no \"%s\" string member", name);
	snprintf(what, sizeof(what), "the JWK member \"%s\"", name);
	return subca__b64_decode(subca_slice_of(json_string_value(v),
						json_string_length(v)),
				 max, SUBCA_E_BAD_JWK, what, out);
}

static subca_result subca__pkey_check(EVP_PKEY *pkey, const char *what)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	SUBCA_OSSL(ctx != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(EVP_PKEY_public_check(ctx) == 1, SUBCA_E_BAD_JWK,
		   "the JWK's %s fails the public key check", what);
	return SUBCA_OK;
}

static subca_result subca__fromdata(const char *type, OSSL_PARAM *params,
				    const char *what, EVP_PKEY **out)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

	SUBCA_OSSL(ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1,
		   SUBCA_E_CRYPTO, "cannot build a %s key", type);
	SUBCA_OSSL(EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) ==
			   1,
		   SUBCA_E_BAD_JWK, "the JWK's %s is not a valid public key",
		   what);
	return SUBCA_OK;
}

static subca_result subca__jwk_ec(const json_t *jwk, EVP_PKEY **out)
{
	const json_t *crv = json_object_get(jwk, "crv");
	SUBCA_BUF_AUTO struct subca_buf x = {0}, y = {0};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pkey = NULL;
	const struct subca__alg *a = NULL;
	uint8_t point[1 + 2 * 48];
	OSSL_PARAM params[3];
	char shown[40];

	SUBCA_ENSURE(json_is_string(crv), SUBCA_E_BAD_JWK,
		     "the EC JWK has no \"crv\" string member");
	for (size_t i = 0; i < SUBCA__NALGS; i++)
		if (subca__algs[i].type == EVP_PKEY_EC &&
		    strcmp(json_string_value(crv), subca__algs[i].crv) == 0)
			a = &subca__algs[i];
	SUBCA_ENSURE(a != NULL, SUBCA_E_UNSUPPORTED_KEY,
		     "the JWK's curve \"%s\" is not supported (P-256, P-384)",
		     SUBCA_SHOWN(json_string_value(crv), shown));
	SUBCA_TRY(subca__jwk_bytes(jwk, "x", a->coord, &x));
	SUBCA_TRY(subca__jwk_bytes(jwk, "y", a->coord, &y));
	/* RFC 7518 6.2.1.2: full-length coordinates, leading zeros kept */
	SUBCA_ENSURE(x.len == a->coord && y.len == a->coord, SUBCA_E_BAD_JWK,
		     "the JWK's %s coordinates are %zu and %zu bytes; each "
		     "must be exactly %zu (RFC 7518 6.2.1.2)",
		     a->crv, x.len, y.len, a->coord);
	point[0] = 0x04; /* SEC 1 2.3.3 uncompressed */
	memcpy(point + 1, x.p, a->coord);
	memcpy(point + 1 + a->coord, y.p, a->coord);
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(a->nid), 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * a->coord);
	params[2] = OSSL_PARAM_construct_end();
	if (subca__fromdata("EC", params, "point", &pkey) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_BAD_JWK,
			   "the JWK's point is not on the %s curve", a->crv);
	SUBCA_TRY(subca__pkey_check(pkey, "EC point"));
	*out = subca_steal(&pkey);
	return SUBCA_OK;
}

static subca_result subca__jwk_okp(const json_t *jwk, EVP_PKEY **out)
{
	const json_t *crv = json_object_get(jwk, "crv");
	SUBCA_BUF_AUTO struct subca_buf x = {0};
	char shown[40];

	SUBCA_ENSURE(json_is_string(crv), SUBCA_E_BAD_JWK,
		     "the OKP JWK has no \"crv\" string member");
	/* RFC 8037 2: Ed448, X25519, X448 exist; only Ed25519 signs here */
	SUBCA_ENSURE(strcmp(json_string_value(crv), "Ed25519") == 0,
		     SUBCA_E_UNSUPPORTED_KEY,
		     "the JWK's curve \"%s\" is not supported (Ed25519)",
		     SUBCA_SHOWN(json_string_value(crv), shown));
	SUBCA_TRY(subca__jwk_bytes(jwk, "x", 32, &x));
	SUBCA_ENSURE(x.len == 32, SUBCA_E_BAD_JWK,
		     "the JWK's Ed25519 key is %zu bytes; it must be 32 "
		     "(RFC 8037 2)", x.len);
	*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x.p, x.len);
	SUBCA_OSSL(*out != NULL, SUBCA_E_BAD_JWK,
		   "the JWK's Ed25519 key is not valid");
	return SUBCA_OK;
}

/* RFC 7518 2 Base64urlUInt: big-endian, no leading zero byte. */
static subca_result subca__jwk_uint(const json_t *jwk, const char *name,
				    size_t max, BIGNUM **out)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	SUBCA_TRY(subca__jwk_bytes(jwk, name, max, &b));
	SUBCA_ENSURE(b.len > 0, SUBCA_E_BAD_JWK, "the JWK member \"%s\" is "
		     "empty", name);
	SUBCA_ENSURE(b.len == 1 || b.p[0] != 0, SUBCA_E_BAD_JWK,
		     "the JWK member \"%s\" has a leading zero byte; a "
		     "Base64urlUInt uses the fewest bytes (RFC 7518 2)",
		     name);
	*out = BN_bin2bn(b.p, (int)b.len, NULL);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static subca_result subca__jwk_rsa(const json_t *jwk, EVP_PKEY **out)
{
	SUBCA_AUTO(BIGNUM) BIGNUM *n = NULL;
	SUBCA_AUTO(BIGNUM) BIGNUM *e = NULL;
	SUBCA_AUTO(OSSL_PARAM_BLD) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	SUBCA_AUTO(OSSL_PARAM) OSSL_PARAM *params = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pkey = NULL;
	int bits;

	/* one byte over the cap, to name the size instead of "too large" */
	SUBCA_TRY(subca__jwk_uint(jwk, "n", SUBCA_MAX_JWK_RSA_BITS / 8 + 1,
				  &n));
	SUBCA_TRY(subca__jwk_uint(jwk, "e", SUBCA__MAX_RSA_E, &e));
	bits = BN_num_bits(n);
	SUBCA_ENSURE(bits >= 2048, SUBCA_E_WEAK_KEY,
		     "the JWK's RSA modulus is %d bits; at least 2048 are "
		     "required", bits);
	SUBCA_ENSURE(bits <= SUBCA_MAX_JWK_RSA_BITS, SUBCA_E_UNSUPPORTED_KEY,
		     "the JWK's RSA modulus is %d bits; at most %d are "
		     "accepted", bits, SUBCA_MAX_JWK_RSA_BITS);
	SUBCA_ENSURE(bld != NULL &&
			     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N,
						    n) &&
			     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E,
						    e) &&
			     (params = OSSL_PARAM_BLD_to_param(bld)) != NULL,
		     SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca__fromdata("RSA", params, "RSA key", &pkey));
	SUBCA_TRY(subca__pkey_check(pkey, "RSA key"));
	*out = subca_steal(&pkey);
	return SUBCA_OK;
}

/* RFC 7517 4.2 "use" and 4.4 "alg", when present, must fit a signing key. */
static subca_result subca__jwk_optional(const json_t *jwk, EVP_PKEY *key)
{
	const json_t *use = json_object_get(jwk, "use");
	const json_t *alg = json_object_get(jwk, "alg");
	enum subca_jws_alg a;
	char shown[40];

	SUBCA_ENSURE(use == NULL || (json_is_string(use) &&
				     strcmp(json_string_value(use), "sig") == 0),
		     SUBCA_E_BAD_JWK,
		     "the JWK's \"use\" must be \"sig\" for a signing key");
	if (alg == NULL)
		return SUBCA_OK;
	SUBCA_TRY(subca_jwk_alg(key, &a));
	SUBCA_ENSURE(json_is_string(alg) &&
			     strcmp(json_string_value(alg),
				    subca_jws_alg_name(a)) == 0,
		     SUBCA_E_BAD_JWK,
		     "the JWK's \"alg\" %s is not the algorithm of its key (%s)",
		     json_is_string(alg)
			     ? SUBCA_SHOWN(json_string_value(alg), shown)
			     : "(not a string)",
		     subca_jws_alg_name(a));
	return SUBCA_OK;
}

subca_result subca_jwk_from_json(const json_t *jwk, EVP_PKEY **out)
{
	/* RFC 7518 6.2.2, 6.3.2, RFC 8037 2: private members; "k" is the
	 * secret of an "oct" key */
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k",
	};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	const json_t *kty = json_object_get(jwk, "kty");
	const char *t;
	char shown[40];

	*out = NULL;
	SUBCA_ENSURE(json_is_object(jwk), SUBCA_E_BAD_JWK,
		     "a JWK must be a JSON object");
	for (size_t i = 0; i < sizeof(private_members) / sizeof(char *); i++)
		SUBCA_ENSURE(json_object_get(jwk, private_members[i]) == NULL,
			     SUBCA_E_PRIVATE_KEY,
			     "the JWK holds the private member \"%s\": give "
			     "the public key only",
			     private_members[i]);
	SUBCA_ENSURE(json_is_string(kty), SUBCA_E_BAD_JWK,
		     "the JWK has no \"kty\" string member");
	t = json_string_value(kty);
	if (strcmp(t, "EC") == 0)
		SUBCA_TRY(subca__jwk_ec(jwk, &key));
	else if (strcmp(t, "OKP") == 0)
		SUBCA_TRY(subca__jwk_okp(jwk, &key));
	else if (strcmp(t, "RSA") == 0)
		SUBCA_TRY(subca__jwk_rsa(jwk, &key));
	else
		SUBCA_BAIL(SUBCA_E_UNSUPPORTED_KEY,
			   "the JWK key type \"%s\" is not supported (EC, "
			   "OKP, RSA)", SUBCA_SHOWN(t, shown));
	SUBCA_TRY(subca__jwk_optional(jwk, key));
	*out = subca_steal(&key);
	return SUBCA_OK;
}

/* Load untrusted JSON text: an object, no duplicate member names. */
static subca_result subca__json_object(struct subca_slice text,
				       enum subca_code code, const char *what,
				       json_t **out)
{
	json_error_t err;

	*out = json_loadb((const char *)text.p, text.len,
			  JSON_REJECT_DUPLICATES, &err);
	SUBCA_ENSURE(*out != NULL, code, "%s is not valid JSON: %s", what,
		     err.text);
	if (json_is_object(*out))
		return SUBCA_OK;
	json_decref(*out);
	*out = NULL;
	SUBCA_BAIL(code, "%s is not a JSON object", what);
}

subca_result subca_jwk_parse(struct subca_slice json, EVP_PKEY **out)
{
	SUBCA_AUTO(json_t) json_t *jwk = NULL;

	*out = NULL;
	SUBCA_ENSURE(json.len <= SUBCA_MAX_JWK_INPUT, SUBCA_E_TOO_LARGE,
		     "the JWK is %zu bytes, at most %u", json.len,
		     SUBCA_MAX_JWK_INPUT);
	SUBCA_TRY(subca__json_object(json, SUBCA_E_BAD_JWK, "the JWK", &jwk));
	return subca_jwk_from_json(jwk, out);
}

/* ---- JWK export and thumbprint ------------------------------------------- */

static subca_result subca__b64_append(struct subca_buf *out, const void *p,
				      size_t n)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	SUBCA_TRY(subca_b64url_encode(subca_slice_of(p, n), SUBCA_MAX_JWS, &b));
	return subca_buf_append(out, b.p, b.len);
}

static subca_result subca__bn_bytes(const EVP_PKEY *key, const char *param,
				    size_t pad, uint8_t *buf, size_t cap,
				    size_t *len)
{
	SUBCA_AUTO(BIGNUM) BIGNUM *bn = NULL;
	int n;

	SUBCA_OSSL(EVP_PKEY_get_bn_param(key, param, &bn) == 1,
		   SUBCA_E_CRYPTO, "cannot read the key's %s", param);
	n = pad ? BN_bn2binpad(bn, buf, (int)pad)
		: (BN_num_bytes(bn) <= (int)cap ? BN_bn2bin(bn, buf) : -1);
	SUBCA_ENSURE(n > 0 && (size_t)n <= cap, SUBCA_E_CRYPTO,
		     "the key's %s does not fit", param);
	*len = (size_t)n;
	return SUBCA_OK;
}

static subca_result subca__export_ec(const EVP_PKEY *key,
				     const struct subca__alg *a,
				     struct subca_buf *out)
{
	uint8_t x[48], y[48];
	size_t xl, yl;

	SUBCA_TRY(subca__bn_bytes(key, OSSL_PKEY_PARAM_EC_PUB_X, a->coord, x,
				  sizeof(x), &xl));
	SUBCA_TRY(subca__bn_bytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, a->coord, y,
				  sizeof(y), &yl));
	SUBCA_TRY(subca_buf_printf(out, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"",
				   a->crv));
	SUBCA_TRY(subca__b64_append(out, x, xl));
	SUBCA_TRY(subca_buf_append_str(out, "\",\"y\":\""));
	SUBCA_TRY(subca__b64_append(out, y, yl));
	return subca_buf_append_str(out, "\"}");
}

static subca_result subca__export_okp(const EVP_PKEY *key,
				      struct subca_buf *out)
{
	uint8_t x[32];
	size_t len = sizeof(x);

	SUBCA_OSSL(EVP_PKEY_get_raw_public_key(key, x, &len) == 1 &&
			   len == sizeof(x),
		   SUBCA_E_CRYPTO, "cannot read the Ed25519 public key");
	SUBCA_TRY(subca_buf_append_str(out,
				       "{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
				       "\"x\":\""));
	SUBCA_TRY(subca__b64_append(out, x, len));
	return subca_buf_append_str(out, "\"}");
}

static subca_result subca__export_rsa(const EVP_PKEY *key,
				      struct subca_buf *out)
{
	uint8_t n[SUBCA_MAX_JWK_RSA_BITS / 8], e[SUBCA__MAX_RSA_E];
	size_t nl = 0, el = 0;

	SUBCA_TRY(subca__bn_bytes(key, OSSL_PKEY_PARAM_RSA_N, 0, n, sizeof(n),
				  &nl));
	SUBCA_TRY(subca__bn_bytes(key, OSSL_PKEY_PARAM_RSA_E, 0, e, sizeof(e),
				  &el));
	SUBCA_TRY(subca_buf_append_str(out, "{\"e\":\""));
	SUBCA_TRY(subca__b64_append(out, e, el));
	SUBCA_TRY(subca_buf_append_str(out, "\",\"kty\":\"RSA\",\"n\":\""));
	SUBCA_TRY(subca__b64_append(out, n, nl));
	return subca_buf_append_str(out, "\"}");
}

/* RFC 7638 3.2: required members only, sorted, no whitespace. */
subca_result subca_jwk_export(const EVP_PKEY *key, struct subca_buf *out)
{
	enum subca_jws_alg alg;

	subca_buf_init(out, SUBCA_MAX_JWK_INPUT);
	SUBCA_TRY(subca_jwk_alg(key, &alg));
	switch (alg) {
	case SUBCA_JWS_ES256:
	case SUBCA_JWS_ES384:
		return subca__export_ec(key, &subca__algs[alg], out);
	case SUBCA_JWS_EDDSA: return subca__export_okp(key, out);
	case SUBCA_JWS_RS256: return subca__export_rsa(key, out);
	}
	SUBCA_BAIL(SUBCA_E_INTERNAL, "unknown algorithm");
}

subca_result subca_jwk_to_json(const EVP_PKEY *key, json_t **out)
{
	SUBCA_BUF_AUTO struct subca_buf text = {0};

	*out = NULL;
	SUBCA_TRY(subca_jwk_export(key, &text));
	*out = json_loadb((const char *)text.p, text.len, 0, NULL);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

subca_result subca_jwk_thumbprint(const EVP_PKEY *key,
				  char out[SUBCA_JWK_THUMBPRINT_LEN + 1])
{
	SUBCA_BUF_AUTO struct subca_buf text = {0};
	SUBCA_BUF_AUTO struct subca_buf b64 = {0};
	unsigned char md[32];
	unsigned int len = 0;

	out[0] = '\0';
	SUBCA_TRY(subca_jwk_export(key, &text));
	SUBCA_OSSL(EVP_Digest(text.p, text.len, md, &len, EVP_sha256(), NULL) ==
			   1,
		   SUBCA_E_CRYPTO, "cannot hash the JWK");
	SUBCA_TRY(subca_b64url_encode(subca_slice_of(md, len), 64, &b64));
	SUBCA_ENSURE(b64.len == SUBCA_JWK_THUMBPRINT_LEN, SUBCA_E_INTERNAL,
		     "thumbprint of unexpected length");
	memcpy(out, b64.p, b64.len + 1);
	return SUBCA_OK;
}

/* ---- JWS parse ------------------------------------------------------------ */

void subca_jws_cleanup(struct subca_jws *jws)
{
	json_decref(jws->header);
	subca_buf_cleanup(&jws->payload);
	subca_buf_cleanup(&jws->signature);
	subca_buf_cleanup(&jws->signing_input);
	memset(jws, 0, sizeof(*jws));
}

/* An optional string member of the header, at most `max` bytes. */
static subca_result subca__header_str(const json_t *h, const char *name,
				      size_t max, const char **out)
{
	const json_t *v = json_object_get(h, name);

	*out = NULL;
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_string(v), SUBCA_E_BAD_JWS,
		     "the JWS header's \"%s\" must be a string", name);
	SUBCA_ENSURE(json_string_length(v) > 0 &&
			     json_string_length(v) <= max,
		     SUBCA_E_BAD_JWS,
		     "the JWS header's \"%s\" must be 1 to %zu bytes", name,
		     max);
	*out = json_string_value(v);
	return SUBCA_OK;
}

static subca_result subca__header_alg(const json_t *h, enum subca_jws_alg *out)
{
	const json_t *v = json_object_get(h, "alg");
	const char *alg;
	char shown[40];

	SUBCA_ENSURE(json_is_string(v), SUBCA_E_BAD_JWS,
		     "the JWS header has no \"alg\" string");
	alg = json_string_value(v);
	for (size_t i = 0; i < SUBCA__NALGS; i++) {
		if (strcmp(alg, subca__algs[i].name) == 0) {
			*out = (enum subca_jws_alg)i;
			return SUBCA_OK;
		}
	}
	/* RFC 8725 3.1, 3.2: never accept an unsigned JWS, and never let a
	 * public key be used as an HMAC secret */
	SUBCA_ENSURE(strcasecmp(alg, "none") != 0, SUBCA_E_UNSUPPORTED_ALG,
		     "the JWS alg \"none\" (an unsigned JWS) is refused");
	SUBCA_ENSURE(strncmp(alg, "HS", 2) != 0, SUBCA_E_UNSUPPORTED_ALG,
		     "the JWS alg \"%s\" (a shared-secret MAC) is refused; "
		     "use ES256, ES384, EdDSA or RS256",
		     SUBCA_SHOWN(alg, shown));
	SUBCA_BAIL(SUBCA_E_UNSUPPORTED_ALG,
		   "the JWS alg \"%s\" is not supported (ES256, ES384, EdDSA, "
		   "RS256)", SUBCA_SHOWN(alg, shown));
}

/* RFC 7515 4.1.11: a recipient MUST reject a JWS whose "crit" lists an
 * extension it does not understand; subca understands none. */
static subca_result subca__header_crit(const json_t *h)
{
	const json_t *crit = json_object_get(h, "crit");
	const json_t *first;
	char shown[40];

	if (crit == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_array(crit) && json_array_size(crit) > 0,
		     SUBCA_E_BAD_JWS,
		     "the JWS header's \"crit\" must be a non-empty array of "
		     "names (RFC 7515 4.1.11)");
	first = json_array_get(crit, 0);
	SUBCA_BAIL(SUBCA_E_BAD_JWS,
		   "the JWS header marks %s%s%s critical; subca understands no "
		   "JWS extension (RFC 7515 4.1.11)",
		   json_is_string(first) ? "\"" : "",
		   json_is_string(first)
			   ? SUBCA_SHOWN(json_string_value(first), shown)
			   : "a non-string",
		   json_is_string(first) ? "\"" : "");
}

static subca_result subca__header_parse(struct subca_slice b64,
					struct subca_jws *out)
{
	SUBCA_BUF_AUTO struct subca_buf text = {0};

	SUBCA_ENSURE(b64.len > 0, SUBCA_E_BAD_JWS,
		     "the JWS protected header is empty");
	SUBCA_TRY(subca_b64url_decode(b64, SUBCA_MAX_JWS_HEADER,
				      "the JWS protected header", &text));
	SUBCA_TRY(subca__json_object(subca_buf_slice(&text), SUBCA_E_BAD_JWS,
				     "the JWS protected header", &out->header));
	SUBCA_TRY(subca__header_alg(out->header, &out->alg));
	SUBCA_TRY(subca__header_str(out->header, "kid", SUBCA__MAX_KID,
				    &out->kid));
	SUBCA_TRY(subca__header_str(out->header, "typ", SUBCA__MAX_TYP,
				    &out->typ));
	return subca__header_crit(out->header);
}

subca_result subca_jws_parse_parts(struct subca_slice hdr,
				   struct subca_slice payload,
				   struct subca_slice sig,
				   struct subca_jws *out)
{
	size_t total = hdr.len + payload.len + sig.len;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(hdr.len <= SUBCA_MAX_JWS && payload.len <= SUBCA_MAX_JWS &&
			     sig.len <= SUBCA_MAX_JWS &&
			     total + 2 <= SUBCA_MAX_JWS,
		     SUBCA_E_TOO_LARGE, "the JWS is over %u bytes",
		     SUBCA_MAX_JWS);
	SUBCA_TRY(subca__header_parse(hdr, out));
	SUBCA_TRY(subca_b64url_decode(payload, SUBCA_MAX_JWS,
				      "the JWS payload", &out->payload));
	SUBCA_ENSURE(sig.len > 0, SUBCA_E_BAD_JWS, "the JWS signature is "
		     "empty");
	SUBCA_TRY(subca_b64url_decode(sig, SUBCA__MAX_SIG, "the JWS signature",
				      &out->signature));
	/* RFC 7515 5.2 step 8: ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) */
	subca_buf_init(&out->signing_input, hdr.len + 1 + payload.len);
	SUBCA_TRY(subca_buf_append(&out->signing_input, hdr.p, hdr.len));
	SUBCA_TRY(subca_buf_append(&out->signing_input, ".", 1));
	return subca_buf_append(&out->signing_input, payload.p, payload.len);
}

subca_result subca_jws_parse(struct subca_slice c, struct subca_jws *out)
{
	const uint8_t *d1, *d2;
	struct subca_slice h, p, s;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(c.len <= SUBCA_MAX_JWS, SUBCA_E_TOO_LARGE,
		     "the JWS is %zu bytes, at most %u", c.len, SUBCA_MAX_JWS);
	SUBCA_ENSURE(c.len > 0, SUBCA_E_BAD_JWS, "the JWS is empty");
	d1 = memchr(c.p, '.', c.len);
	SUBCA_ENSURE(d1 != NULL, SUBCA_E_BAD_JWS,
		     "not a compact JWS: no '.' between its parts");
	d2 = memchr(d1 + 1, '.', c.len - (size_t)(d1 + 1 - c.p));
	SUBCA_ENSURE(d2 != NULL, SUBCA_E_BAD_JWS,
		     "not a compact JWS: 2 parts, 3 are needed (header."
		     "payload.signature)");
	SUBCA_ENSURE(memchr(d2 + 1, '.', c.len - (size_t)(d2 + 1 - c.p)) ==
			     NULL,
		     SUBCA_E_BAD_JWS,
		     "not a compact JWS: more than 3 parts (an encrypted JWE "
		     "has 5)");
	h = subca_slice_of(c.p, (size_t)(d1 - c.p));
	p = subca_slice_of(d1 + 1, (size_t)(d2 - d1 - 1));
	s = subca_slice_of(d2 + 1, c.len - (size_t)(d2 + 1 - c.p));
	return subca_jws_parse_parts(h, p, s, out);
}

/* ---- JWS verify and sign ---------------------------------------------------- */

/* RFC 7518 3.4: R || S, each exactly `coord` bytes, to DER for OpenSSL. */
static subca_result subca__ecdsa_to_der(const struct subca_slice rs,
					size_t coord, struct subca_buf *der)
{
	SUBCA_AUTO(ECDSA_SIG) ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs.p, (int)coord, NULL);
	BIGNUM *s = BN_bin2bn(rs.p + coord, (int)coord, NULL);
	unsigned char *p = NULL;
	subca_result rv;
	int n;

	if (sig == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	n = i2d_ECDSA_SIG(sig, &p);
	SUBCA_ENSURE(n > 0, SUBCA_E_NOMEM, "out of memory");
	subca_buf_init(der, (size_t)n);
	rv = subca_buf_append(der, p, (size_t)n);
	OPENSSL_free(p);
	return rv;
}

/*
 * OpenSSL's own DER ECDSA signature to R || S. The one d2i outside
 * subca_der_decode: the bytes come from OpenSSL's signer, not from outside,
 * and the whole input must be consumed just the same.
 */
static subca_result subca__ecdsa_from_der(const uint8_t *der, size_t len,
					  size_t coord, uint8_t *rs)
{
	SUBCA_AUTO(ECDSA_SIG) ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;

	if (subca_der_decode(SUBCA_DER_ECDSA_SIG, subca_slice_of(der, len),
			     (void **)&sig) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_CRYPTO, "cannot read the ECDSA signature");
	ECDSA_SIG_get0(sig, &r, &s);
	SUBCA_ENSURE(BN_bn2binpad(r, rs, (int)coord) == (int)coord &&
			     BN_bn2binpad(s, rs + coord, (int)coord) ==
				     (int)coord,
		     SUBCA_E_CRYPTO, "the ECDSA signature does not fit");
	return SUBCA_OK;
}

static const EVP_MD *subca__md(const struct subca__alg *a)
{
	return a->md ? EVP_get_digestbyname(a->md) : NULL;
}

subca_result subca_jws_verify(const struct subca_jws *jws, EVP_PKEY *pub)
{
	SUBCA_BUF_AUTO struct subca_buf der = {0};
	SUBCA_AUTO(EVP_MD_CTX) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const struct subca__alg *a = &subca__algs[jws->alg];
	struct subca_slice sig = subca_buf_slice(&jws->signature);
	enum subca_jws_alg key_alg;
	size_t want;

	SUBCA_TRY(subca_jwk_alg(pub, &key_alg));
	/* RFC 8725 3.1: the key decides the algorithm, never the header */
	SUBCA_ENSURE(jws->alg == key_alg, SUBCA_E_JWS_SIGNATURE,
		     "the JWS alg %s is not the algorithm of the key (%s)",
		     a->name, subca_jws_alg_name(key_alg));
	want = a->type == EVP_PKEY_RSA ? (size_t)EVP_PKEY_get_size(pub)
				       : 2 * a->coord;
	SUBCA_ENSURE(sig.len == want, SUBCA_E_JWS_SIGNATURE,
		     "an %s signature with this key is %zu bytes; this one is "
		     "%zu (RFC 7518 3)", a->name, want, sig.len);
	if (a->type == EVP_PKEY_EC) {
		SUBCA_TRY(subca__ecdsa_to_der(sig, a->coord, &der));
		sig = subca_buf_slice(&der);
	}
	SUBCA_ENSURE(ctx != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(EVP_DigestVerifyInit(ctx, NULL, subca__md(a), NULL, pub) ==
			   1,
		   SUBCA_E_CRYPTO, "cannot start verifying the JWS");
	SUBCA_OSSL(EVP_DigestVerify(ctx, sig.p, sig.len, jws->signing_input.p,
				    jws->signing_input.len) == 1,
		   SUBCA_E_JWS_SIGNATURE,
		   "the JWS signature does not verify with the key");
	return SUBCA_OK;
}

static subca_result subca__sign_raw(EVP_PKEY *key, const struct subca__alg *a,
				    struct subca_slice tbs, uint8_t *sig,
				    size_t *siglen)
{
	SUBCA_AUTO(EVP_MD_CTX) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[SUBCA__MAX_SIG + 16];
	size_t len = sizeof(der);

	SUBCA_ENSURE(ctx != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(EVP_DigestSignInit(ctx, NULL, subca__md(a), NULL, key) == 1 &&
			   EVP_DigestSign(ctx, der, &len, tbs.p, tbs.len) == 1,
		   SUBCA_E_CRYPTO,
		   "cannot sign the JWS (is the key a private key?)");
	if (a->type != EVP_PKEY_EC) {
		memcpy(sig, der, len);
		*siglen = len;
		return SUBCA_OK;
	}
	SUBCA_TRY(subca__ecdsa_from_der(der, len, a->coord, sig));
	*siglen = 2 * a->coord;
	return SUBCA_OK;
}

subca_result subca_jws_sign(EVP_PKEY *key, const json_t *header,
			    struct subca_slice payload, struct subca_buf *out)
{
	SUBCA_AUTO(json_t) json_t *h = header ? json_deep_copy(header)
					      : json_object();
	SUBCA__JSON_TEXT char *text = NULL;
	uint8_t sig[SUBCA__MAX_SIG + 16];
	size_t siglen = 0;
	enum subca_jws_alg alg;

	subca_buf_init(out, SUBCA_MAX_JWS);
	SUBCA_TRY(subca_jwk_alg(key, &alg));
	SUBCA_ENSURE(json_is_object(h), SUBCA_E_INVALID_ARGUMENT,
		     "the JWS header must be a JSON object");
	SUBCA_ENSURE(json_object_set_new(h, "alg",
					 json_string(subca_jws_alg_name(alg))) ==
			     0,
		     SUBCA_E_NOMEM, "out of memory");
	text = json_dumps(h, JSON_COMPACT);
	SUBCA_ENSURE(text != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_ENSURE(strlen(text) <= SUBCA_MAX_JWS_HEADER, SUBCA_E_TOO_LARGE,
		     "the JWS header is %zu bytes, at most %u", strlen(text),
		     SUBCA_MAX_JWS_HEADER);
	SUBCA_TRY(subca__b64_append(out, text, strlen(text)));
	SUBCA_TRY(subca_buf_append(out, ".", 1));
	SUBCA_TRY(subca__b64_append(out, payload.p, payload.len));
	SUBCA_TRY(subca__sign_raw(key, &subca__algs[alg], subca_buf_slice(out),
				  sig, &siglen));
	SUBCA_TRY(subca_buf_append(out, ".", 1));
	return subca__b64_append(out, sig, siglen);
}

/* ---- one-time sign tokens ---------------------------------------------------- */

void subca_token_cleanup(struct subca_token *t)
{
	subca_jws_cleanup(&t->jws);
	json_decref(t->claims);
	memset(t, 0, sizeof(*t));
}

static subca_result subca__param_str(const char *v, const char *name,
				     size_t max)
{
	SUBCA_ENSURE(v != NULL && v[0] != '\0', SUBCA_E_INVALID_ARGUMENT,
		     "the token's %s is missing", name);
	SUBCA_ENSURE(strlen(v) <= max, SUBCA_E_INVALID_ARGUMENT,
		     "the token's %s is %zu bytes, at most %zu", name,
		     strlen(v), max);
	return SUBCA_OK;
}

static subca_result subca__mint_check(const struct subca_token_params *p)
{
	SUBCA_TRY(subca__param_str(p->iss, "issuer (provisioner name)",
				   SUBCA_TOKEN_MAX_ISS));
	SUBCA_TRY(subca__param_str(p->aud, "audience", SUBCA_MAX_URL));
	SUBCA_TRY(subca__param_str(p->sub, "subject", SUBCA_TOKEN_MAX_SUB));
	SUBCA_ENSURE(p->sans.n > 0 && p->sans.n <= SUBCA_MAX_NAMES,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a token carries 1 to %d names, not %zu", SUBCA_MAX_NAMES,
		     p->sans.n);
	for (size_t i = 0; i < p->sans.n; i++)
		SUBCA_TRY(subca__param_str(p->sans.v[i], "name", SUBCA_MAX_URL));
	SUBCA_ENSURE(p->ttl >= 0 && p->ttl <= SUBCA_TOKEN_MAX_LIFETIME,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a token lives 1 to %d seconds, not %ld",
		     SUBCA_TOKEN_MAX_LIFETIME, p->ttl);
	SUBCA_ENSURE(p->now > 0 && (int64_t)p->now < SUBCA__MAX_DATE,
		     SUBCA_E_INVALID_ARGUMENT, "the time is out of range");
	return SUBCA_OK;
}

/* 128 random bits, base64url: the token's one-time id. */
static subca_result subca__jti(struct subca_buf *out)
{
	uint8_t r[16];

	SUBCA_OSSL(RAND_bytes(r, sizeof(r)) == 1, SUBCA_E_CRYPTO,
		   "no random bytes for the token id");
	return subca_b64url_encode(subca_slice_of(r, sizeof(r)),
				   SUBCA_TOKEN_MAX_JTI, out);
}

static subca_result subca__claims_build(const struct subca_token_params *p,
					json_t **out)
{
	SUBCA_AUTO(json_t) json_t *c = json_object();
	SUBCA_AUTO(json_t) json_t *sans = json_array();
	SUBCA_BUF_AUTO struct subca_buf jti = {0};
	long ttl = p->ttl ? p->ttl : SUBCA_TOKEN_MAX_LIFETIME;
	int bad = c == NULL || sans == NULL;

	SUBCA_TRY(subca__jti(&jti));
	for (size_t i = 0; !bad && i < p->sans.n; i++)
		bad |= json_array_append_new(sans, json_string(p->sans.v[i]));
	bad = bad || json_object_set_new(c, "iss", json_string(p->iss)) ||
	      json_object_set_new(c, "aud", json_string(p->aud)) ||
	      json_object_set_new(c, "sub", json_string(p->sub)) ||
	      json_object_set(c, "sans", sans) ||
	      json_object_set_new(c, "iat", json_integer(p->now)) ||
	      json_object_set_new(c, "nbf", json_integer(p->now)) ||
	      json_object_set_new(c, "exp", json_integer(p->now + ttl)) ||
	      json_object_set_new(c, "jti", json_string((char *)jti.p));
	/* json_string refuses text that is not UTF-8 */
	SUBCA_ENSURE(!bad, SUBCA_E_INVALID_ARGUMENT,
		     "the token's claims cannot be built (a value is not "
		     "UTF-8 text)");
	*out = subca_steal(&c);
	return SUBCA_OK;
}

subca_result subca_token_mint(EVP_PKEY *key, const struct subca_token_params *p,
			      struct subca_buf *out)
{
	SUBCA_AUTO(json_t) json_t *claims = NULL;
	SUBCA_AUTO(json_t) json_t *header = NULL;
	SUBCA__JSON_TEXT char *payload = NULL;
	char kid[SUBCA_JWK_THUMBPRINT_LEN + 1];

	subca_buf_init(out, SUBCA_MAX_JWS);
	SUBCA_ENSURE(p != NULL, SUBCA_E_INVALID_ARGUMENT, "missing parameters");
	SUBCA_TRY(subca__mint_check(p));
	SUBCA_TRY(subca_jwk_thumbprint(key, kid));
	SUBCA_TRY(subca__claims_build(p, &claims));
	payload = json_dumps(claims, JSON_COMPACT);
	header = json_pack("{s:s, s:s}", "kid", kid, "typ", "JWT");
	SUBCA_ENSURE(payload != NULL && header != NULL, SUBCA_E_NOMEM,
		     "out of memory");
	return subca_jws_sign(key, header,
			      subca_slice_of(payload, strlen(payload)), out);
}

/* A required string claim of 1..max bytes. */
static subca_result subca__claim_str(const json_t *c, const char *name,
				     size_t max, const char **out)
{
	const json_t *v = json_object_get(c, name);

	SUBCA_ENSURE(v != NULL, SUBCA_E_BAD_TOKEN,
		     "the token has no \"%s\" claim", name);
	SUBCA_ENSURE(json_is_string(v), SUBCA_E_BAD_TOKEN,
		     "the token's \"%s\" claim must be a string", name);
	SUBCA_ENSURE(json_string_length(v) > 0 &&
			     json_string_length(v) <= max,
		     SUBCA_E_BAD_TOKEN,
		     "the token's \"%s\" claim must be 1 to %zu bytes", name,
		     max);
	*out = json_string_value(v);
	return SUBCA_OK;
}

/* RFC 7519 2 NumericDate, as an integer here. */
static subca_result subca__claim_date(const json_t *c, const char *name,
				      bool required, int64_t *out)
{
	const json_t *v = json_object_get(c, name);

	*out = 0;
	SUBCA_ENSURE(v != NULL || !required, SUBCA_E_BAD_TOKEN,
		     "the token has no \"%s\" claim", name);
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_integer(v), SUBCA_E_BAD_TOKEN,
		     "the token's \"%s\" claim must be an integer NumericDate "
		     "(seconds since 1970)", name);
	SUBCA_ENSURE(json_integer_value(v) > 0 &&
			     json_integer_value(v) < SUBCA__MAX_DATE,
		     SUBCA_E_BAD_TOKEN,
		     "the token's \"%s\" claim is out of range", name);
	*out = json_integer_value(v);
	return SUBCA_OK;
}

/* RFC 7519 4.1.3: "aud" is a string or an array of strings. */
static subca_result subca__claim_aud(const json_t *c)
{
	const json_t *aud = json_object_get(c, "aud");
	size_t i;
	const json_t *v;

	SUBCA_ENSURE(aud != NULL, SUBCA_E_BAD_TOKEN,
		     "the token has no \"aud\" claim");
	if (json_is_string(aud))
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_array(aud) && json_array_size(aud) > 0 &&
			     json_array_size(aud) <= SUBCA_MAX_NAMES,
		     SUBCA_E_BAD_TOKEN,
		     "the token's \"aud\" claim must be a string or an array "
		     "of 1 to %d strings", SUBCA_MAX_NAMES);
	json_array_foreach(aud, i, v)
		SUBCA_ENSURE(json_is_string(v), SUBCA_E_BAD_TOKEN,
			     "the token's \"aud\" claim holds a non-string");
	return SUBCA_OK;
}

static subca_result subca__claim_sans(const json_t *c, struct subca_token *t)
{
	const json_t *sans = json_object_get(c, "sans");
	size_t i;
	const json_t *v;

	SUBCA_ENSURE(sans != NULL, SUBCA_E_BAD_TOKEN,
		     "the token has no \"sans\" claim");
	SUBCA_ENSURE(json_is_array(sans) && json_array_size(sans) > 0 &&
			     json_array_size(sans) <= SUBCA_MAX_NAMES,
		     SUBCA_E_BAD_TOKEN,
		     "the token's \"sans\" claim must be an array of 1 to %d "
		     "names", SUBCA_MAX_NAMES);
	json_array_foreach(sans, i, v) {
		SUBCA_ENSURE(json_is_string(v) && json_string_length(v) > 0 &&
				     json_string_length(v) <= SUBCA_MAX_URL,
			     SUBCA_E_BAD_TOKEN,
			     "the token's \"sans\" entry %zu must be a string "
			     "of 1 to %d bytes", i, SUBCA_MAX_URL);
		t->sans_v[i] = json_string_value(v);
	}
	t->sans.v = t->sans_v;
	t->sans.n = json_array_size(sans);
	return SUBCA_OK;
}

static subca_result subca__claims_parse(struct subca_token *t)
{
	const json_t *c;

	SUBCA_TRY(subca__json_object(subca_buf_slice(&t->jws.payload),
				     SUBCA_E_BAD_TOKEN, "the token's claim set",
				     &t->claims));
	c = t->claims;
	SUBCA_TRY(subca__claim_str(c, "iss", SUBCA_TOKEN_MAX_ISS, &t->iss));
	SUBCA_TRY(subca__claim_aud(c));
	SUBCA_TRY(subca__claim_str(c, "sub", SUBCA_TOKEN_MAX_SUB, &t->sub));
	SUBCA_TRY(subca__claim_sans(c, t));
	SUBCA_TRY(subca__claim_date(c, "nbf", true, &t->nbf));
	SUBCA_TRY(subca__claim_date(c, "exp", true, &t->exp));
	SUBCA_TRY(subca__claim_date(c, "iat", false, &t->iat));
	return subca__claim_str(c, "jti", SUBCA_TOKEN_MAX_JTI, &t->jti);
}

subca_result subca_token_peek(struct subca_slice token, struct subca_token *out)
{
	char shown[40];

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca_jws_parse(token, &out->jws));
	out->kid = out->jws.kid;
	/* RFC 7519 5.1, RFC 8725 3.11: explicit typing keeps other JWTs
	 * (and ACME's JWS) from being taken for a sign token */
	SUBCA_ENSURE(out->jws.typ == NULL ||
			     strcasecmp(out->jws.typ, "JWT") == 0 ||
			     strcasecmp(out->jws.typ, "application/jwt") == 0,
		     SUBCA_E_BAD_TOKEN,
		     "the token's typ \"%s\" is not JWT",
		     SUBCA_SHOWN(out->jws.typ ? out->jws.typ : "", shown));
	return subca__claims_parse(out);
}

static subca_result subca__token_key(const struct subca_token *t,
				     EVP_PKEY *pub)
{
	char tp[SUBCA_JWK_THUMBPRINT_LEN + 1], shown[48];

	if (t->kid == NULL)
		return SUBCA_OK;
	SUBCA_TRY(subca_jwk_thumbprint(pub, tp));
	SUBCA_ENSURE(strcmp(t->kid, tp) == 0, SUBCA_E_JWS_SIGNATURE,
		     "the token's kid \"%s\" is not the provisioner key (%s): "
		     "it was signed with another key",
		     SUBCA_SHOWN(t->kid, shown), tp);
	return SUBCA_OK;
}

static subca_result subca__token_aud(const struct subca_token *t,
				     const char *audience)
{
	const json_t *aud = json_object_get(t->claims, "aud");
	char shown[128];
	size_t i;
	const json_t *v;

	SUBCA_ENSURE(audience != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "no expected audience");
	if (json_is_string(aud)) {
		SUBCA_ENSURE(strcmp(json_string_value(aud), audience) == 0,
			     SUBCA_E_TOKEN_AUDIENCE,
			     "the token is for \"%s\", not for \"%s\"",
			     SUBCA_SHOWN(json_string_value(aud), shown),
			     audience);
		return SUBCA_OK;
	}
	json_array_foreach(aud, i, v)
		if (strcmp(json_string_value(v), audience) == 0)
			return SUBCA_OK;
	SUBCA_BAIL(SUBCA_E_TOKEN_AUDIENCE,
		   "none of the token's %zu audiences is \"%s\"",
		   json_array_size(aud), audience);
}

static subca_result subca__token_times(const struct subca_token *t,
				       int64_t now)
{
	SUBCA_ENSURE(t->exp > t->nbf, SUBCA_E_BAD_TOKEN,
		     "the token expires (exp %" PRId64 ") before it is valid "
		     "(nbf %" PRId64 ")", t->exp, t->nbf);
	SUBCA_ENSURE(t->exp - t->nbf <= SUBCA_TOKEN_MAX_LIFETIME,
		     SUBCA_E_BAD_TOKEN,
		     "the token's lifetime is %" PRId64 " s; at most %d s (5 "
		     "minutes) is accepted", t->exp - t->nbf,
		     SUBCA_TOKEN_MAX_LIFETIME);
	/* RFC 7519 4.1.4: the current time MUST be before exp */
	SUBCA_ENSURE(now < t->exp, SUBCA_E_TOKEN_EXPIRED,
		     "the token expired %" PRId64 " s ago (exp %" PRId64 ")",
		     now - t->exp, t->exp);
	/* RFC 7519 4.1.5, with a small leeway for clock skew */
	SUBCA_ENSURE(t->nbf <= now + SUBCA_TOKEN_LEEWAY,
		     SUBCA_E_TOKEN_NOT_YET_VALID,
		     "the token is not valid for another %" PRId64 " s (nbf %"
		     PRId64 ", %d s leeway)", t->nbf - now, t->nbf,
		     SUBCA_TOKEN_LEEWAY);
	SUBCA_ENSURE(t->iat <= now + SUBCA_TOKEN_LEEWAY,
		     SUBCA_E_TOKEN_NOT_YET_VALID,
		     "the token was issued %" PRId64 " s in the future (iat %"
		     PRId64 ")", t->iat - now, t->iat);
	return SUBCA_OK;
}

subca_result subca_token_verify(struct subca_slice token, EVP_PKEY *pub,
				const char *audience, time_t now,
				struct subca_token *out)
{
	SUBCA_TRY(subca_token_peek(token, out));
	SUBCA_TRY(subca__token_key(out, pub));
	SUBCA_TRY(subca_jws_verify(&out->jws, pub));
	SUBCA_TRY(subca__token_aud(out, audience));
	return subca__token_times(out, (int64_t)now);
}
