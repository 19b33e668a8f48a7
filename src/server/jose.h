/*
 * JOSE for the sign API (and ACME later): JSON Web Keys (RFC 7517, 7518,
 * 8037) with RFC 7638 thumbprints, compact JSON Web Signatures (RFC 7515)
 * for ES256, ES384, EdDSA (Ed25519) and RS256 only, and the one-time sign
 * tokens a jwk provisioner's key holder mints (a JWT, RFC 7519).
 *
 * Everything here parses untrusted text: sizes are capped (limits.h), the
 * base64url is strict (no padding, no other alphabet, canonical trailing
 * bits), JSON objects with duplicate members are refused, and every refusal
 * has its own reason.
 */
#ifndef SUBCA_SERVER_JOSE_H
#define SUBCA_SERVER_JOSE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "subca/buf.h"
#include "subca/csr.h"
#include "subca/error.h"
#include "subca/limits.h"

/* ---- base64url (RFC 7515 2, RFC 4648 5, without padding) ---------------- */

/* Encode into `out` (initialised here, NUL-terminated, max bytes). */
SUBCA_MUST_CHECK subca_result subca_b64url_encode(struct subca_slice in,
						  size_t max,
						  struct subca_buf *out);
/*
 * Decode strictly: only A-Z a-z 0-9 - _, no '=' padding, no whitespace,
 * length mod 4 != 1, unused trailing bits zero (so each value has one
 * encoding). SUBCA_E_BAD_JWS naming `what` and the offending position;
 * SUBCA_E_TOO_LARGE past `max` decoded bytes. `out` initialised here.
 */
SUBCA_MUST_CHECK subca_result subca_b64url_decode(struct subca_slice in,
						  size_t max, const char *what,
						  struct subca_buf *out);

/* ---- algorithms ------------------------------------------------------------ */

enum subca_jws_alg {
	SUBCA_JWS_ES256 = 0, /* ECDSA P-256 SHA-256, RFC 7518 3.4 */
	SUBCA_JWS_ES384,     /* ECDSA P-384 SHA-384 */
	SUBCA_JWS_EDDSA,     /* Ed25519, RFC 8037 3.1 */
	SUBCA_JWS_RS256,     /* RSASSA-PKCS1-v1_5 SHA-256, RFC 7518 3.3 */
};

/* "ES256", "ES384", "EdDSA", "RS256". */
const char *subca_jws_alg_name(enum subca_jws_alg alg);

/*
 * The one algorithm `key` signs with: P-256 ES256, P-384 ES384, Ed25519
 * EdDSA, RSA of 2048..SUBCA_MAX_JWK_RSA_BITS bits RS256.
 * SUBCA_E_UNSUPPORTED_KEY naming the key otherwise (P-521, Ed448, DSA, RSA
 * over the cap...), SUBCA_E_WEAK_KEY for RSA under 2048 bits.
 */
SUBCA_MUST_CHECK subca_result subca_jwk_alg(const EVP_PKEY *key,
					    enum subca_jws_alg *out);

/* ---- JWK -------------------------------------------------------------------- */

/* RFC 7638 thumbprint: base64url of a SHA-256, 43 characters. */
#define SUBCA_JWK_THUMBPRINT_LEN 43

/*
 * Parse a public JWK given as JSON text (at most SUBCA_MAX_JWK_INPUT
 * bytes) or as a jansson object (e.g. the "jwk" of an ACME header):
 *   {"kty":"EC","crv":"P-256"|"P-384","x":..,"y":..}  full-length
 *       coordinates (RFC 7518 6.2.1.2), the point checked on the curve;
 *   {"kty":"OKP","crv":"Ed25519","x":..}               32 bytes (RFC 8037 2);
 *   {"kty":"RSA","n":..,"e":..}  minimal big-endian integers (RFC 7518 2
 *       Base64urlUInt), n of 2048..SUBCA_MAX_JWK_RSA_BITS bits.
 * Optional members (kid, use, key_ops, alg, x5*) are allowed; "use" must be
 * "sig" and "alg" must be the key's algorithm when present. A private member
 * ("d", "p", "q", "dp", "dq", "qi", "oth", "k") fails with
 * SUBCA_E_PRIVATE_KEY naming it (never its value). Anything else wrong:
 * SUBCA_E_BAD_JWK naming the member; SUBCA_E_UNSUPPORTED_KEY for another
 * kty or curve; SUBCA_E_WEAK_KEY for small RSA. *out (a public key) is
 * owned by the caller.
 */
SUBCA_MUST_CHECK subca_result subca_jwk_parse(struct subca_slice json,
					      EVP_PKEY **out);
SUBCA_MUST_CHECK subca_result subca_jwk_from_json(const json_t *jwk,
						  EVP_PKEY **out);

/*
 * The public JWK of `key` (public or private; only public members are ever
 * written) with exactly the RFC 7638 required members in lexicographic
 * order and no whitespace, e.g. {"crv":"P-256","kty":"EC","x":"..","y":".."}.
 * subca_jwk_export writes it as text into `out` (initialised here,
 * NUL-terminated); subca_jwk_to_json as a new jansson object.
 * SUBCA_E_UNSUPPORTED_KEY / WEAK_KEY as subca_jwk_alg.
 */
SUBCA_MUST_CHECK subca_result subca_jwk_export(const EVP_PKEY *key,
					       struct subca_buf *out);
SUBCA_MUST_CHECK subca_result subca_jwk_to_json(const EVP_PKEY *key,
						json_t **out);

/* RFC 7638: base64url(SHA-256(subca_jwk_export text)) into out. */
SUBCA_MUST_CHECK subca_result
subca_jwk_thumbprint(const EVP_PKEY *key,
		     char out[SUBCA_JWK_THUMBPRINT_LEN + 1]);

/* ---- JWS ------------------------------------------------------------------- */

struct subca_jws {
	enum subca_jws_alg alg;
	json_t *header;		/* the protected header; owned */
	const char *kid;	/* header "kid" or NULL; borrowed from header */
	const char *typ;	/* header "typ" or NULL; borrowed from header */
	struct subca_buf payload;	/* decoded payload */
	struct subca_buf signature;	/* decoded signature */
	struct subca_buf signing_input; /* ASCII(b64 header "." b64 payload) */
};

/*
 * Parse a compact JWS "header.payload.signature" (RFC 7515 7.1) of at most
 * SUBCA_MAX_JWS bytes; the decoded protected header is at most
 * SUBCA_MAX_JWS_HEADER bytes and must be a JSON object (duplicate members
 * refused, RFC 7515 5.2) with "alg" one of the four above ("none" and HS*
 * refused with SUBCA_E_UNSUPPORTED_ALG), optional string "kid" and "typ",
 * and no "crit" (RFC 7515 4.1.11: subca understands no extension, so any
 * critical one is refused). The signature is NOT verified here.
 * SUBCA_E_BAD_JWS naming the part and the problem; SUBCA_E_TOO_LARGE.
 * subca_jws_parse_parts does the same for the three base64url parts given
 * separately (flattened JSON serialization, RFC 7515 7.2.2).
 * Clean up with subca_jws_cleanup (also after a failure).
 */
SUBCA_MUST_CHECK subca_result subca_jws_parse(struct subca_slice compact,
					      struct subca_jws *out);
SUBCA_MUST_CHECK subca_result
subca_jws_parse_parts(struct subca_slice protected_b64,
		      struct subca_slice payload_b64,
		      struct subca_slice signature_b64, struct subca_jws *out);
void subca_jws_cleanup(struct subca_jws *jws);

/*
 * Verify the signature of a parsed JWS with the public key `pub`. The
 * header's alg must be the key's (subca_jwk_alg): otherwise
 * SUBCA_E_JWS_SIGNATURE naming both. ECDSA signatures are R || S of exactly
 * 2 * the curve size (RFC 7518 3.4), RSA ones exactly the modulus size.
 * SUBCA_E_JWS_SIGNATURE when it does not verify.
 */
SUBCA_MUST_CHECK subca_result subca_jws_verify(const struct subca_jws *jws,
					       EVP_PKEY *pub);

/*
 * Sign `payload` with the private key `key` into a compact JWS in `out`
 * (initialised here, NUL-terminated). The protected header is `header`'s
 * members (may be NULL; not modified) plus "alg" for the key.
 */
SUBCA_MUST_CHECK subca_result subca_jws_sign(EVP_PKEY *key,
					     const json_t *header,
					     struct subca_slice payload,
					     struct subca_buf *out);

/* ---- one-time sign tokens ---------------------------------------------------- */

/* Longest lifetime (exp - nbf) of a sign token, in seconds. */
#define SUBCA_TOKEN_MAX_LIFETIME 300
/* Clock skew tolerated for "nbf" and "iat", in seconds. */
#define SUBCA_TOKEN_LEEWAY 60
/* Caps on claim values. */
#define SUBCA_TOKEN_MAX_ISS 128
#define SUBCA_TOKEN_MAX_JTI 64
#define SUBCA_TOKEN_MAX_SUB SUBCA_MAX_DN_VALUE

struct subca_token_params {
	const char *iss; /* the provisioner's name */
	const char *aud; /* the authority's sign URL */
	const char *sub; /* the subject (usually the first SAN) */
	struct subca_names sans; /* at least 1, at most SUBCA_MAX_NAMES */
	time_t now;
	long ttl; /* seconds, 1..SUBCA_TOKEN_MAX_LIFETIME; 0 = the maximum */
};

/*
 * Mint a sign token: a compact JWS with protected header {"alg", "kid" =
 * the key's RFC 7638 thumbprint, "typ":"JWT"} and claims iss, aud, sub,
 * sans, iat = nbf = now, exp = now + ttl, jti = 128 random bits in
 * base64url. SUBCA_E_INVALID_ARGUMENT naming a missing or bad parameter;
 * key errors as subca_jwk_alg. `out` initialised here, NUL-terminated.
 */
SUBCA_MUST_CHECK subca_result
subca_token_mint(EVP_PKEY *key, const struct subca_token_params *p,
		 struct subca_buf *out);

/* A sign token's claims; strings borrowed from `claims`/`jws.header`. */
struct subca_token {
	struct subca_jws jws;
	json_t *claims; /* owned */
	const char *iss, *sub, *jti;
	const char *kid; /* header kid, or NULL */
	const char *sans_v[SUBCA_MAX_NAMES];
	struct subca_names sans;
	int64_t nbf, exp, iat; /* iat: 0 when absent */
};

/*
 * Parse a token and its claims WITHOUT verifying the signature or times, to
 * find the provisioner ("iss") whose key verifies it. Claims required:
 * iss, aud (string or array of strings), sub, sans (a non-empty array of
 * strings), nbf, exp (integers), jti; iat optional (integer). typ, when
 * present, must be "JWT". SUBCA_E_BAD_JWS / UNSUPPORTED_ALG for the JWS;
 * SUBCA_E_BAD_TOKEN naming the missing or mistyped claim. Clean up with
 * subca_token_cleanup (also after a failure).
 */
SUBCA_MUST_CHECK subca_result subca_token_peek(struct subca_slice token,
					       struct subca_token *out);

/*
 * Verify a token: subca_token_peek, then the "kid" (when present) must be
 * the RFC 7638 thumbprint of `pub` and the signature must verify with it
 * (SUBCA_E_JWS_SIGNATURE), "aud" must hold `audience` exactly
 * (SUBCA_E_TOKEN_AUDIENCE), now < exp (SUBCA_E_TOKEN_EXPIRED), nbf and iat
 * <= now + SUBCA_TOKEN_LEEWAY (SUBCA_E_TOKEN_NOT_YET_VALID), and
 * nbf < exp <= nbf + SUBCA_TOKEN_MAX_LIFETIME (SUBCA_E_BAD_TOKEN). The jti
 * is NOT checked for replay: the caller records it in the store.
 */
SUBCA_MUST_CHECK subca_result subca_token_verify(struct subca_slice token,
						 EVP_PKEY *pub,
						 const char *audience,
						 time_t now,
						 struct subca_token *out);
void subca_token_cleanup(struct subca_token *t);

#endif
