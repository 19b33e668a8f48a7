/*
 * Key types subca generates and accepts, and the small facts about keys the
 * rest of the core needs (digest to sign with, strength, equality).
 */
#ifndef SUBCA_KEY_H
#define SUBCA_KEY_H

#include <openssl/evp.h>

#include "subca/error.h"

enum subca_key_type {
	SUBCA_KEY_EC_P256 = 0,
	SUBCA_KEY_EC_P384,
	SUBCA_KEY_RSA_2048,
	SUBCA_KEY_RSA_3072,
	SUBCA_KEY_RSA_4096,
	SUBCA_KEY_ED25519,
	SUBCA_KEY__COUNT
};

/* "ec-p256" -> SUBCA_KEY_EC_P256; SUBCA_E_UNSUPPORTED_KEY listing the valid names. */
SUBCA_MUST_CHECK subca_result subca_key_type_parse(const char *s,
						   enum subca_key_type *out);
/* Canonical name ("ec-p256"); "unknown" for an invalid value. */
const char *subca_key_type_name(enum subca_key_type t);

/* Generate a new private key of `t`; *out is owned by the caller. */
SUBCA_MUST_CHECK subca_result subca_key_generate(enum subca_key_type t,
						 EVP_PKEY **out);

/*
 * Describe any public or private key: "ec-p256", "ec-p384", "ec-p521",
 * "rsa-2048", "rsa-1024", "ed25519", "ed448", "dsa-2048"... into buf.
 */
void subca_key_describe(const EVP_PKEY *k, char *buf, size_t len);

/*
 * The subca key type of `k`, or SUBCA_E_UNSUPPORTED_KEY (e.g. RSA-1024,
 * P-521 is accepted as a peer key elsewhere but not generated).
 */
SUBCA_MUST_CHECK subca_result subca_key_type_of(const EVP_PKEY *k,
						enum subca_key_type *out);

/*
 * Refuse keys too weak to sign or be certified: RSA under 2048 bits
 * (SUBCA_E_WEAK_KEY, reason names the size), EC curves other than P-256,
 * P-384, P-521, DSA. `what` names the key in the reason ("root key").
 */
SUBCA_MUST_CHECK subca_result subca_key_check_strength(const EVP_PKEY *k,
						       const char *what);

/*
 * The digest to sign with when `k` is the signing key: SHA-256 for P-256 and
 * RSA, SHA-384 for P-384, SHA-512 for P-521, NULL for Ed25519/Ed448 (which
 * take no separate digest).
 */
const EVP_MD *subca_key_sign_md(const EVP_PKEY *k);

/* 1 when the public halves of a and b are the same key, else 0. */
int subca_key_public_equal(const EVP_PKEY *a, const EVP_PKEY *b);

#endif
