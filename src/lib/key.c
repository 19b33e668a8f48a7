/*
 * Key types: generation, names, strength and the digest each key signs with.
 */
#include "subca/key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>

#include "subca/ossl.h"

/* RSA moduli past this make verification a denial of service. */
#define SUBCA__RSA_MAX_BITS 16384

static const char *const subca__key_names[SUBCA_KEY__COUNT] = {
	[SUBCA_KEY_EC_P256] = "ec-p256",   [SUBCA_KEY_EC_P384] = "ec-p384",
	[SUBCA_KEY_RSA_2048] = "rsa-2048", [SUBCA_KEY_RSA_3072] = "rsa-3072",
	[SUBCA_KEY_RSA_4096] = "rsa-4096", [SUBCA_KEY_ED25519] = "ed25519",
};

#define SUBCA__KEY_NAME_LIST \
	"ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519"

subca_result subca_key_type_parse(const char *s, enum subca_key_type *out)
{
	SUBCA_ENSURE(s != NULL && s[0] != '\0', SUBCA_E_UNSUPPORTED_KEY,
		     "no key type given; valid types: " SUBCA__KEY_NAME_LIST);
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		if (strcmp(s, subca__key_names[t]) == 0) {
			*out = (enum subca_key_type)t;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_UNSUPPORTED_KEY,
		   "unknown key type \"%.64s\"; valid types: " SUBCA__KEY_NAME_LIST,
		   s);
}

const char *subca_key_type_name(enum subca_key_type t)
{
	if ((int)t < 0 || t >= SUBCA_KEY__COUNT)
		return "unknown";
	return subca__key_names[t];
}

static subca_result subca__keygen_ec(const char *curve, EVP_PKEY **out)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	SUBCA_OSSL(ctx != NULL, SUBCA_E_CRYPTO, "cannot create EC key context");
	SUBCA_OSSL(EVP_PKEY_keygen_init(ctx) == 1, SUBCA_E_CRYPTO,
		   "cannot initialise EC key generation");
	SUBCA_OSSL(EVP_PKEY_CTX_set_group_name(ctx, curve) == 1, SUBCA_E_CRYPTO,
		   "cannot select curve %s", curve);
	/* RFC 5480 2.1.1: the curve MUST be identified by its named OID. */
	SUBCA_OSSL(EVP_PKEY_CTX_set_ec_param_enc(ctx, OPENSSL_EC_NAMED_CURVE) == 1,
		   SUBCA_E_CRYPTO, "cannot select named-curve encoding");
	SUBCA_OSSL(EVP_PKEY_keygen(ctx, out) == 1, SUBCA_E_CRYPTO,
		   "EC key generation failed");
	return SUBCA_OK;
}

static subca_result subca__keygen_rsa(unsigned bits, EVP_PKEY **out)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	SUBCA_AUTO(BIGNUM) BIGNUM *e = BN_new();

	SUBCA_OSSL(ctx != NULL && e != NULL, SUBCA_E_NOMEM,
		   "cannot create RSA key context");
	SUBCA_OSSL(BN_set_word(e, RSA_F4) == 1, SUBCA_E_NOMEM,
		   "cannot set RSA exponent");
	SUBCA_OSSL(EVP_PKEY_keygen_init(ctx) == 1, SUBCA_E_CRYPTO,
		   "cannot initialise RSA key generation");
	SUBCA_OSSL(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1,
		   SUBCA_E_CRYPTO, "cannot set RSA size %u", bits);
	SUBCA_OSSL(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1,
		   SUBCA_E_CRYPTO, "cannot set RSA exponent");
	SUBCA_OSSL(EVP_PKEY_keygen(ctx, out) == 1, SUBCA_E_CRYPTO,
		   "RSA key generation failed");
	return SUBCA_OK;
}

subca_result subca_key_generate(enum subca_key_type t, EVP_PKEY **out)
{
	*out = NULL;
	switch (t) {
	case SUBCA_KEY_EC_P256:
		return subca__keygen_ec(SN_X9_62_prime256v1, out);
	case SUBCA_KEY_EC_P384:
		return subca__keygen_ec(SN_secp384r1, out);
	case SUBCA_KEY_RSA_2048:
		return subca__keygen_rsa(2048, out);
	case SUBCA_KEY_RSA_3072:
		return subca__keygen_rsa(3072, out);
	case SUBCA_KEY_RSA_4096:
		return subca__keygen_rsa(4096, out);
	case SUBCA_KEY_ED25519:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		SUBCA_OSSL(*out != NULL, SUBCA_E_CRYPTO,
			   "Ed25519 key generation failed");
		return SUBCA_OK;
	case SUBCA_KEY__COUNT:
		break;
	}
	SUBCA_BAIL(SUBCA_E_UNSUPPORTED_KEY, "unknown key type %d", (int)t);
}

/* NID of an EC key's named curve, NID_undef for explicit parameters. */
static int subca__ec_curve_nid(const EVP_PKEY *k)
{
	char name[80];
	size_t len = 0;

	if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name,
					   sizeof(name), &len) != 1)
		return NID_undef;
	return OBJ_sn2nid(name);
}

static const char *subca__ec_curve_short(int nid)
{
	switch (nid) {
	case NID_X9_62_prime256v1: return "p256";
	case NID_secp384r1: return "p384";
	case NID_secp521r1: return "p521";
	default: return NULL;
	}
}

void subca_key_describe(const EVP_PKEY *k, char *buf, size_t len)
{
	int nid;
	const char *s;

	if (len == 0)
		return;
	if (k == NULL) {
		snprintf(buf, len, "none");
		return;
	}
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_EC:
		nid = subca__ec_curve_nid(k);
		s = subca__ec_curve_short(nid);
		if (s != NULL)
			snprintf(buf, len, "ec-%s", s);
		else if (nid != NID_undef)
			snprintf(buf, len, "ec-%s", OBJ_nid2sn(nid));
		else
			snprintf(buf, len, "ec-explicit-parameters");
		return;
	case EVP_PKEY_RSA:
		snprintf(buf, len, "rsa-%d", EVP_PKEY_get_bits(k));
		return;
	case EVP_PKEY_RSA_PSS:
		snprintf(buf, len, "rsa-pss-%d", EVP_PKEY_get_bits(k));
		return;
	case EVP_PKEY_DSA:
		snprintf(buf, len, "dsa-%d", EVP_PKEY_get_bits(k));
		return;
	case EVP_PKEY_ED25519:
		snprintf(buf, len, "ed25519");
		return;
	case EVP_PKEY_ED448:
		snprintf(buf, len, "ed448");
		return;
	default:
		s = EVP_PKEY_get0_type_name(k);
		snprintf(buf, len, "%s", s != NULL ? s : "unknown");
		return;
	}
}

subca_result subca_key_type_of(const EVP_PKEY *k, enum subca_key_type *out)
{
	char desc[64];

	subca_key_describe(k, desc, sizeof(desc));
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		if (strcmp(desc, subca__key_names[t]) == 0) {
			*out = (enum subca_key_type)t;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_UNSUPPORTED_KEY,
		   "key type %s is not one subca generates (" SUBCA__KEY_NAME_LIST
		   ")",
		   desc);
}

static subca_result subca__rsa_strength(const EVP_PKEY *k, const char *what)
{
	int bits = EVP_PKEY_get_bits(k);

	/* NIST SP 800-131A: RSA below 2048 bits is disallowed for signing. */
	SUBCA_ENSURE(bits >= 2048, SUBCA_E_WEAK_KEY,
		     "%s is RSA-%d; at least 2048 bits required", what, bits);
	SUBCA_ENSURE(bits <= SUBCA__RSA_MAX_BITS, SUBCA_E_UNSUPPORTED_KEY,
		     "%s is RSA-%d; at most %d bits accepted", what, bits,
		     SUBCA__RSA_MAX_BITS);
	return SUBCA_OK;
}

static subca_result subca__ec_strength(const EVP_PKEY *k, const char *what)
{
	int nid = subca__ec_curve_nid(k);

	SUBCA_ENSURE(nid != NID_undef, SUBCA_E_UNSUPPORTED_KEY,
		     "%s uses explicit EC parameters; only the named curves "
		     "P-256, P-384 and P-521 are accepted (RFC 5480 2.1.1)",
		     what);
	SUBCA_ENSURE(subca__ec_curve_short(nid) != NULL, SUBCA_E_UNSUPPORTED_KEY,
		     "%s uses curve %s; only P-256, P-384 and P-521 are accepted",
		     what, OBJ_nid2sn(nid));
	return SUBCA_OK;
}

subca_result subca_key_check_strength(const EVP_PKEY *k, const char *what)
{
	char desc[64];

	if (what == NULL)
		what = "key";
	SUBCA_ENSURE(k != NULL, SUBCA_E_INVALID_ARGUMENT, "%s is missing", what);
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return subca__rsa_strength(k, what);
	case EVP_PKEY_EC:
		return subca__ec_strength(k, what);
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return SUBCA_OK;
	case EVP_PKEY_DSA:
		subca_key_describe(k, desc, sizeof(desc));
		/* FIPS 186-5 no longer approves DSA for signing. */
		SUBCA_BAIL(SUBCA_E_WEAK_KEY,
			   "%s is %s; DSA is no longer approved for signatures "
			   "(FIPS 186-5), use ECDSA, RSA or Ed25519",
			   what, desc);
	default:
		subca_key_describe(k, desc, sizeof(desc));
		SUBCA_BAIL(SUBCA_E_UNSUPPORTED_KEY,
			   "%s is of type %s; accepted: RSA (2048 bits or more), "
			   "ECDSA P-256/P-384/P-521, Ed25519, Ed448",
			   what, desc);
	}
}

const EVP_MD *subca_key_sign_md(const EVP_PKEY *k)
{
	if (k == NULL)
		return EVP_sha256();
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return NULL;
	case EVP_PKEY_EC:
		switch (subca__ec_curve_nid(k)) {
		case NID_secp384r1: return EVP_sha384();
		case NID_secp521r1: return EVP_sha512();
		default: return EVP_sha256();
		}
	default:
		return EVP_sha256();
	}
}

int subca_key_public_equal(const EVP_PKEY *a, const EVP_PKEY *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return EVP_PKEY_eq(a, b) == 1;
}
