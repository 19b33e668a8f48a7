/* Unit tests of credentials: secrets, hashes, checks, lifetimes, scopes. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

#include "subca/credential.h"

static void test_credential_generate_has_prefix_and_43_base64url_chars(void **state)
{
	char adm[SUBCA_CREDENTIAL_SIZE], key[SUBCA_CREDENTIAL_SIZE];

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, adm),
			 SUBCA_OK);
	assert_int_equal(subca_credential_generate(SUBCA_SECRET_APIKEY, key),
			 SUBCA_OK);
	assert_int_equal(strlen(adm), 53);
	assert_int_equal(strncmp(adm, "subca_adm_", 10), 0);
	assert_int_equal(strncmp(key, "subca_key_", 10), 0);
	assert_int_equal(strspn(adm + 10, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
					  "klmnopqrstuvwxyz0123456789-_"),
			 43);
	assert_int_equal(subca_credential_validate(SUBCA_SECRET_ADMIN, adm),
			 SUBCA_OK);
	assert_int_equal(subca_credential_validate(SUBCA_SECRET_APIKEY, key),
			 SUBCA_OK);
}

static void test_credential_generate_gives_a_different_secret_each_time(void **state)
{
	char a[SUBCA_CREDENTIAL_SIZE], b[SUBCA_CREDENTIAL_SIZE];

	for (int i = 0; i < 64; i++) {
		assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, a),
				 SUBCA_OK);
		assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, b),
				 SUBCA_OK);
		assert_string_not_equal(a, b);
	}
}

static void test_credential_hash_is_lower_case_hex_sha256(void **state)
{
	char h[SUBCA_CREDENTIAL_HASH_SIZE];

	/* FIPS 180-2 test vector "abc" */
	assert_int_equal(subca_credential_hash("abc", 3, h), SUBCA_OK);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
			       "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(subca_credential_hash("", 0, h), SUBCA_OK);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb924"
			       "27ae41e4649b934ca495991b7852b855");
}

static void test_credential_check_accepts_the_secret_of_its_hash_only(void **state)
{
	char s[SUBCA_CREDENTIAL_SIZE], other[SUBCA_CREDENTIAL_SIZE];
	char h[SUBCA_CREDENTIAL_HASH_SIZE];

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_APIKEY, s),
			 SUBCA_OK);
	assert_int_equal(subca_credential_generate(SUBCA_SECRET_APIKEY, other),
			 SUBCA_OK);
	assert_int_equal(subca_credential_hash(s, strlen(s), h), SUBCA_OK);
	assert_int_equal(subca_credential_check(SUBCA_SECRET_APIKEY, s, h),
			 SUBCA_OK);
	th_assert_error(subca_credential_check(SUBCA_SECRET_APIKEY, other, h),
			SUBCA_E_AUTH, "an API key is not valid");
	/* the reason never carries the secret */
	assert_null(strstr(subca_error_reason(), other + 10));
	th_assert_error(subca_credential_check(SUBCA_SECRET_APIKEY, s, NULL),
			SUBCA_E_AUTH, "is not valid");
}

static void test_credential_validate_refuses_the_other_kind_naming_it(void **state)
{
	char s[SUBCA_CREDENTIAL_SIZE];

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_APIKEY, s),
			 SUBCA_OK);
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			SUBCA_E_AUTH,
			"an API key was given where an admin token was expected");
	assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, s),
			 SUBCA_OK);
	th_assert_error(subca_credential_validate(SUBCA_SECRET_APIKEY, s),
			SUBCA_E_AUTH,
			"an admin token was given where an API key was expected");
}

static void test_credential_validate_refuses_malformed_secrets(void **state)
{
	char s[SUBCA_CREDENTIAL_SIZE + 1];
	char good[SUBCA_CREDENTIAL_SIZE];

	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, NULL),
			SUBCA_E_AUTH, "no credential given");
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, ""),
			SUBCA_E_AUTH, "no credential given");
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, "Bearer x"),
			SUBCA_E_AUTH, "must start with \"subca_adm_\"");
	assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, good),
			 SUBCA_OK);
	/* one character short, one too many */
	snprintf(s, sizeof(s), "%.52s", good);
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			SUBCA_E_AUTH, "wrong length");
	snprintf(s, sizeof(s), "%sA", good);
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			SUBCA_E_AUTH, "wrong length");
	/* standard base64 characters are not base64url */
	snprintf(s, sizeof(s), "%s", good);
	s[20] = '+';
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			SUBCA_E_AUTH, "character outside base64url");
	s[20] = '=';
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			SUBCA_E_AUTH, "character outside base64url");
	/* the last character's two spare bits must be zero */
	snprintf(s, sizeof(s), "%s", good);
	s[52] = 'B';
	th_assert_error(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			SUBCA_E_AUTH, "non-canonical encoding");
	s[52] = 'E';
	assert_int_equal(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
			 SUBCA_OK);
}

static void test_credential_validate_sweep_of_truncations_and_flips(void **state)
{
	char good[SUBCA_CREDENTIAL_SIZE], s[SUBCA_CREDENTIAL_SIZE];
	int accepted = 0;

	assert_int_equal(subca_credential_generate(SUBCA_SECRET_ADMIN, good),
			 SUBCA_OK);
	for (size_t n = 0; n < SUBCA_CREDENTIAL_LEN; n++) {
		snprintf(s, sizeof(s), "%.*s", (int)n, good);
		assert_int_equal(subca_credential_validate(SUBCA_SECRET_ADMIN, s),
				 SUBCA_E_AUTH);
	}
	for (size_t i = 0; i < SUBCA_CREDENTIAL_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			subca_result rv;

			memcpy(s, good, sizeof(s));
			s[i] ^= (char)(1 << bit);
			rv = subca_credential_validate(SUBCA_SECRET_ADMIN, s);
			assert_true(rv == SUBCA_OK || rv == SUBCA_E_AUTH);
			/* only flips inside the body that land on another
			 * base64url character can pass */
			if (rv == SUBCA_OK) {
				assert_true(i >= SUBCA_CREDENTIAL_PREFIX_LEN);
				accepted++;
			}
		}
	}
	assert_true(accepted > 0);
}

static void test_credential_hash_equal_is_exact(void **state)
{
	assert_true(subca_credential_hash_equal("abcd", "abcd"));
	assert_false(subca_credential_hash_equal("abcd", "abce"));
	assert_false(subca_credential_hash_equal("abcd", "abc"));
	assert_false(subca_credential_hash_equal(NULL, "abc"));
	assert_false(subca_credential_hash_equal("abc", NULL));
}

static void test_duration_parse_accepts_each_unit(void **state)
{
	int64_t v;

	assert_int_equal(subca_duration_parse("90d", SUBCA_MAX_CREDENTIAL_LIFETIME, &v),
			 SUBCA_OK);
	assert_int_equal(v, 90 * 86400);
	assert_int_equal(subca_duration_parse("12h", SUBCA_MAX_CREDENTIAL_LIFETIME, &v),
			 SUBCA_OK);
	assert_int_equal(v, 12 * 3600);
	assert_int_equal(subca_duration_parse("30m", SUBCA_MAX_CREDENTIAL_LIFETIME, &v),
			 SUBCA_OK);
	assert_int_equal(v, 1800);
	assert_int_equal(subca_duration_parse("45s", SUBCA_MAX_CREDENTIAL_LIFETIME, &v),
			 SUBCA_OK);
	assert_int_equal(v, 45);
	assert_int_equal(subca_duration_parse("2w", SUBCA_MAX_CREDENTIAL_LIFETIME, &v),
			 SUBCA_OK);
	assert_int_equal(v, 14 * 86400);
}

static void test_duration_parse_cap_at_the_limit_and_one_past(void **state)
{
	int64_t v = -1;

	assert_int_equal(subca_duration_parse("3660d", SUBCA_MAX_CREDENTIAL_LIFETIME,
					      &v),
			 SUBCA_OK);
	assert_int_equal(v, SUBCA_MAX_CREDENTIAL_LIFETIME);
	th_assert_error(subca_duration_parse("3661d", SUBCA_MAX_CREDENTIAL_LIFETIME,
					     &v),
			SUBCA_E_INVALID_ARGUMENT,
			"is longer than the maximum of 3660 days");
	assert_int_equal(v, 0);
	assert_int_equal(subca_duration_parse("300s", 300, &v), SUBCA_OK);
	th_assert_error(subca_duration_parse("301s", 300, &v),
			SUBCA_E_INVALID_ARGUMENT, "longer than the maximum");
	/* 6 digits at most, 7 refused before any overflow */
	assert_int_equal(subca_duration_parse("999999s", INT64_MAX, &v),
			 SUBCA_OK);
	th_assert_error(subca_duration_parse("9999999s", INT64_MAX, &v),
			SUBCA_E_INVALID_ARGUMENT, "at most 6 digits");
}

static void test_duration_parse_refuses_malformed_values(void **state)
{
	static const char *const bad[] = {"", "d", "90", "90x", "90dd", "-5d",
					  " 5d", "5 d", "1.5d", "90D", "5d "};
	int64_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		th_assert_error(subca_duration_parse(bad[i], INT64_MAX, &v),
				SUBCA_E_INVALID_ARGUMENT, "duration");
	th_assert_error(subca_duration_parse("0d", INT64_MAX, &v),
			SUBCA_E_INVALID_ARGUMENT, "must be longer than zero");
	th_assert_error(subca_duration_parse(NULL, INT64_MAX, &v),
			SUBCA_E_INVALID_ARGUMENT, "no duration given");
}

static void test_scope_allows_listed_authorities_only(void **state)
{
	assert_true(subca_scope_allows(NULL, "any"));
	assert_true(subca_scope_allows("acme,beta", "acme"));
	assert_true(subca_scope_allows("acme,beta", "beta"));
	assert_true(subca_scope_allows("acme,beta", "BETA"));
	assert_false(subca_scope_allows("acme,beta", "acm"));
	assert_false(subca_scope_allows("acme,beta", "acme,beta"));
	assert_false(subca_scope_allows("acme,beta", "cme"));
	assert_false(subca_scope_allows("acme,beta", ""));
	assert_false(subca_scope_allows("acme,beta", NULL));
	assert_false(subca_scope_allows("", "acme"));
	assert_false(subca_scope_allows("acme,", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credential_generate_has_prefix_and_43_base64url_chars),
		cmocka_unit_test(test_credential_generate_gives_a_different_secret_each_time),
		cmocka_unit_test(test_credential_hash_is_lower_case_hex_sha256),
		cmocka_unit_test(test_credential_check_accepts_the_secret_of_its_hash_only),
		cmocka_unit_test(test_credential_validate_refuses_the_other_kind_naming_it),
		cmocka_unit_test(test_credential_validate_refuses_malformed_secrets),
		cmocka_unit_test(test_credential_validate_sweep_of_truncations_and_flips),
		cmocka_unit_test(test_credential_hash_equal_is_exact),
		cmocka_unit_test(test_duration_parse_accepts_each_unit),
		cmocka_unit_test(test_duration_parse_cap_at_the_limit_and_one_past),
		cmocka_unit_test(test_duration_parse_refuses_malformed_values),
		cmocka_unit_test(test_scope_allows_listed_authorities_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
