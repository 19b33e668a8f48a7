/* Unit tests of key types: generation, names, strength, digests, equality. */
#include "helpers.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <stdlib.h>
#include <string.h>

#include "subca/key.h"

static void test_key_generate_makes_every_type_and_describes_it(void **state)
{
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;
		enum subca_key_type back;
		char desc[32];

		assert_int_equal(subca_key_generate((enum subca_key_type)t, &k),
				 SUBCA_OK);
		assert_non_null(k);
		subca_key_describe(k, desc, sizeof(desc));
		assert_string_equal(desc, subca_key_type_name((enum subca_key_type)t));
		assert_int_equal(subca_key_type_of(k, &back), SUBCA_OK);
		assert_int_equal(back, t);
		assert_int_equal(subca_key_check_strength(k, "key"), SUBCA_OK);
	}
}

static void test_key_generate_ec_uses_named_curve_encoding(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;
	char enc[32];
	size_t len = 0;

	assert_int_equal(subca_key_generate(SUBCA_KEY_EC_P384, &k), SUBCA_OK);
	assert_int_equal(EVP_PKEY_get_utf8_string_param(
				 k, OSSL_PKEY_PARAM_EC_ENCODING, enc,
				 sizeof(enc), &len),
			 1);
	assert_string_equal(enc, OSSL_PKEY_EC_ENCODING_GROUP);
}

static void test_key_generate_rsa_uses_exponent_65537(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;
	SUBCA_AUTO(BIGNUM) BIGNUM *e = NULL;

	assert_int_equal(subca_key_generate(SUBCA_KEY_RSA_2048, &k), SUBCA_OK);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	assert_true(BN_is_word(e, 65537));
}

static void test_key_generate_refuses_out_of_range_type(void **state)
{
	EVP_PKEY *k = (EVP_PKEY *)1;

	th_assert_error(subca_key_generate(SUBCA_KEY__COUNT, &k),
			SUBCA_E_UNSUPPORTED_KEY, "unknown key type");
	assert_null(k);
}

static void test_key_type_names_round_trip(void **state)
{
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		enum subca_key_type back = SUBCA_KEY__COUNT;

		assert_int_equal(subca_key_type_parse(
					 subca_key_type_name((enum subca_key_type)t),
					 &back),
				 SUBCA_OK);
		assert_int_equal(back, t);
	}
	assert_string_equal(subca_key_type_name(SUBCA_KEY__COUNT), "unknown");
	assert_string_equal(subca_key_type_name((enum subca_key_type)-1),
			    "unknown");
}

static void test_key_type_parse_refuses_unknown_name_listing_valid_ones(void **state)
{
	enum subca_key_type t;

	th_assert_error(subca_key_type_parse("rsa-1024", &t),
			SUBCA_E_UNSUPPORTED_KEY,
			"unknown key type \"rsa-1024\"; valid types: ec-p256, "
			"ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519");
	th_assert_error(subca_key_type_parse("EC-P256", &t),
			SUBCA_E_UNSUPPORTED_KEY, "valid types: ec-p256");
	th_assert_error(subca_key_type_parse("", &t), SUBCA_E_UNSUPPORTED_KEY,
			"no key type given");
	th_assert_error(subca_key_type_parse(NULL, &t), SUBCA_E_UNSUPPORTED_KEY,
			"no key type given");
}

static void test_key_describe_names_peer_key_types(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *rsa1024 = th_key("rsa-1024");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p521 =
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k256 =
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	char d[32];

	subca_key_describe(rsa1024, d, sizeof(d));
	assert_string_equal(d, "rsa-1024");
	subca_key_describe(p521, d, sizeof(d));
	assert_string_equal(d, "ec-p521");
	subca_key_describe(k256, d, sizeof(d));
	assert_string_equal(d, "ec-secp256k1");
	subca_key_describe(ed448, d, sizeof(d));
	assert_string_equal(d, "ed448");
	subca_key_describe(NULL, d, sizeof(d));
	assert_string_equal(d, "none");
	/* a short buffer truncates, never overflows */
	subca_key_describe(p521, d, 4);
	assert_string_equal(d, "ec-");
}

static void test_key_type_of_refuses_types_subca_does_not_generate(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *rsa1024 = th_key("rsa-1024");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p521 =
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	enum subca_key_type t;

	th_assert_error(subca_key_type_of(rsa1024, &t), SUBCA_E_UNSUPPORTED_KEY,
			"key type rsa-1024 is not one subca generates");
	th_assert_error(subca_key_type_of(p521, &t), SUBCA_E_UNSUPPORTED_KEY,
			"key type ec-p521");
}

static void test_key_check_strength_refuses_rsa_1024(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = th_key("rsa-1024");

	th_assert_error(subca_key_check_strength(k, "root key"),
			SUBCA_E_WEAK_KEY,
			"root key is RSA-1024; at least 2048 bits required");
}

static void test_key_check_strength_accepts_p521_and_ed448(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p521 =
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");

	assert_int_equal(subca_key_check_strength(p521, "root key"), SUBCA_OK);
	assert_int_equal(subca_key_check_strength(ed448, "root key"), SUBCA_OK);
}

static void test_key_check_strength_refuses_other_curves(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k =
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");

	th_assert_error(subca_key_check_strength(k, "root key"),
			SUBCA_E_UNSUPPORTED_KEY,
			"root key uses curve secp256k1; only P-256, P-384 and "
			"P-521 are accepted");
}

static void test_key_check_strength_refuses_dsa(void **state)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *pctx =
		EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *params = NULL;
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *kctx = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;

	assert_int_equal(EVP_PKEY_paramgen_init(pctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx, 2048), 1);
	assert_int_equal(EVP_PKEY_paramgen(pctx, &params), 1);
	kctx = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
	assert_int_equal(EVP_PKEY_keygen_init(kctx), 1);
	assert_int_equal(EVP_PKEY_keygen(kctx, &k), 1);
	th_assert_error(subca_key_check_strength(k, "root key"),
			SUBCA_E_WEAK_KEY, "root key is dsa-2048; DSA is no longer");
}

static void test_key_check_strength_refuses_missing_key(void **state)
{
	th_assert_error(subca_key_check_strength(NULL, "root key"),
			SUBCA_E_INVALID_ARGUMENT, "root key is missing");
}

static void test_key_sign_md_follows_key_size(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p256 = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p384 = th_key("ec-p384");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p521 =
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *rsa = th_key("rsa-2048");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ed = th_key("ed25519");

	assert_int_equal(EVP_MD_get_type(subca_key_sign_md(p256)), NID_sha256);
	assert_int_equal(EVP_MD_get_type(subca_key_sign_md(p384)), NID_sha384);
	assert_int_equal(EVP_MD_get_type(subca_key_sign_md(p521)), NID_sha512);
	assert_int_equal(EVP_MD_get_type(subca_key_sign_md(rsa)), NID_sha256);
	assert_null(subca_key_sign_md(ed));
}

static void test_key_public_equal_compares_public_halves(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *a = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *b = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *c = th_key("ed25519");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pub = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_PUBKEY(a, &der);

	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	assert_non_null(pub);
	assert_int_equal(subca_key_public_equal(a, pub), 1);
	assert_int_equal(subca_key_public_equal(pub, a), 1);
	assert_int_equal(subca_key_public_equal(a, b), 0);
	assert_int_equal(subca_key_public_equal(a, c), 0);
	assert_int_equal(subca_key_public_equal(a, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_generate_makes_every_type_and_describes_it),
		cmocka_unit_test(test_key_generate_ec_uses_named_curve_encoding),
		cmocka_unit_test(test_key_generate_rsa_uses_exponent_65537),
		cmocka_unit_test(test_key_generate_refuses_out_of_range_type),
		cmocka_unit_test(test_key_type_names_round_trip),
		cmocka_unit_test(test_key_type_parse_refuses_unknown_name_listing_valid_ones),
		cmocka_unit_test(test_key_describe_names_peer_key_types),
		cmocka_unit_test(test_key_type_of_refuses_types_subca_does_not_generate),
		cmocka_unit_test(test_key_check_strength_refuses_rsa_1024),
		cmocka_unit_test(test_key_check_strength_accepts_p521_and_ed448),
		cmocka_unit_test(test_key_check_strength_refuses_other_curves),
		cmocka_unit_test(test_key_check_strength_refuses_dsa),
		cmocka_unit_test(test_key_check_strength_refuses_missing_key),
		cmocka_unit_test(test_key_sign_md_follows_key_size),
		cmocka_unit_test(test_key_public_equal_compares_public_halves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
