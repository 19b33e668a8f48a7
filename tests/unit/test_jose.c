/*
 * JOSE: base64url, JWK parse/export/thumbprint, compact JWS parse, verify
 * and sign, one-time sign tokens. Known-answer vectors from RFC 7515
 * appendix A.3, RFC 8037 appendix A and RFC 7638 section 3.1.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/jose.h"

static EVP_PKEY *k_p256, *k_p384, *k_ed, *k_rsa, *k_p256b, *k_p521;

static int keys_setup(void **state)
{
	k_p256 = th_key("ec-p256");
	k_p256b = th_key("ec-p256");
	k_p384 = th_key("ec-p384");
	k_ed = th_key("ed25519");
	k_rsa = th_key("rsa-2048");
	k_p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	return k_p256 && k_p256b && k_p384 && k_ed && k_rsa && k_p521 ? 0 : -1;
}

static int keys_teardown(void **state)
{
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p256b);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_p521);
	return 0;
}

static struct subca_slice S(const char *s)
{
	return subca_slice_of(s, strlen(s));
}

/* ---- known-answer vectors ------------------------------------------------ */

/* RFC 7515 A.3.1 */
static const char rfc7515_a3_jwk[] =
	"{\"kty\":\"EC\",\"crv\":\"P-256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char rfc7515_a3_jws[] =
	"eyJhbGciOiJFUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
	"pmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 8037 A.2, A.3, A.4 */
static const char rfc8037_jwk[] =
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char rfc8037_thumbprint[] =
	"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
static const char rfc8037_a4_jws[] =
	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
	".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5Bh"
	"VsPt9g7sVvpAr_MuM0KAg";

/* RFC 7638 3.1 */
static const char rfc7638_jwk[] =
	"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAF"
	"bWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
	"oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
	"FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI"
	"SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls"
	"1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\","
	"\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumbprint[] =
	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static EVP_PKEY *jwk(const char *text)
{
	EVP_PKEY *k = NULL;

	if (subca_jwk_parse(S(text), &k) != SUBCA_OK)
		fail_msg("%s", subca_error_reason());
	return k;
}

static void test_jws_verifies_the_rfc7515_a3_es256_example(void **state)
{
	EVP_PKEY *k = jwk(rfc7515_a3_jwk);
	struct subca_jws jws;

	assert_int_equal(subca_jws_parse(S(rfc7515_a3_jws), &jws), SUBCA_OK);
	assert_int_equal(jws.alg, SUBCA_JWS_ES256);
	assert_null(jws.kid);
	assert_int_equal(subca_jws_verify(&jws, k), SUBCA_OK);
	assert_memory_equal(jws.payload.p, "{\"iss\":\"joe\",\r\n", 15);
	subca_jws_cleanup(&jws);
	EVP_PKEY_free(k);
}

static void test_jws_verifies_the_rfc8037_a4_ed25519_example(void **state)
{
	EVP_PKEY *k = jwk(rfc8037_jwk);
	char tp[SUBCA_JWK_THUMBPRINT_LEN + 1];
	struct subca_jws jws;

	assert_int_equal(subca_jwk_thumbprint(k, tp), SUBCA_OK);
	assert_string_equal(tp, rfc8037_thumbprint);
	assert_int_equal(subca_jws_parse(S(rfc8037_a4_jws), &jws), SUBCA_OK);
	assert_int_equal(jws.alg, SUBCA_JWS_EDDSA);
	assert_int_equal(subca_jws_verify(&jws, k), SUBCA_OK);
	assert_string_equal((char *)jws.payload.p, "Example of Ed25519 signing");
	subca_jws_cleanup(&jws);
	EVP_PKEY_free(k);
}

static void test_jwk_thumbprint_matches_the_rfc7638_example(void **state)
{
	EVP_PKEY *k = jwk(rfc7638_jwk);
	char tp[SUBCA_JWK_THUMBPRINT_LEN + 1];

	assert_int_equal(subca_jwk_thumbprint(k, tp), SUBCA_OK);
	assert_string_equal(tp, rfc7638_thumbprint);
	EVP_PKEY_free(k);
}

/* ---- base64url ------------------------------------------------------------- */

static void test_b64url_encodes_without_padding(void **state)
{
	static const char *const want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg"};
	struct subca_buf b;

	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(subca_b64url_encode(subca_slice_of("foob", i),
						     64, &b),
				 SUBCA_OK);
		assert_string_equal((char *)b.p, want[i]);
		subca_buf_cleanup(&b);
	}
	assert_int_equal(subca_b64url_encode(subca_slice_of("\xfb\xff", 2), 64,
					     &b),
			 SUBCA_OK);
	assert_string_equal((char *)b.p, "-_8");
	subca_buf_cleanup(&b);
}

static void test_b64url_decode_is_strict(void **state)
{
	static const struct {
		const char *in;
		const char *reason;
	} bad[] = {
		{"A", "1 characters is not a possible length"},
		{"Zg==", "'=' padding at offset 2"},
		{"Zm+v", "not base64url at offset 2"},
		{"Zm/v", "not base64url at offset 2"},
		{"Zm 9", "not base64url at offset 2"},
		{"Zh", "not canonical base64url"},
		{"Zm9", "not canonical base64url"},
	};
	struct subca_buf b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		th_assert_error(subca_b64url_decode(S(bad[i].in), 64, "input",
						    &b),
				SUBCA_E_BAD_JWS, bad[i].reason);
		subca_buf_cleanup(&b);
	}
	assert_int_equal(subca_b64url_decode(S("-_8"), 2, "input", &b),
			 SUBCA_OK);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.p, "\xfb\xff", 2);
	subca_buf_cleanup(&b);
	th_assert_error(subca_b64url_decode(S("-_8"), 1, "input", &b),
			SUBCA_E_TOO_LARGE, "input decodes to 2 bytes, at most 1");
	subca_buf_cleanup(&b);
	assert_int_equal(subca_b64url_decode(S(""), 0, "input", &b), SUBCA_OK);
	assert_int_equal(b.len, 0);
	subca_buf_cleanup(&b);
}

/* ---- JWK ---------------------------------------------------------------------- */

static void test_jwk_export_round_trips_for_every_key_type(void **state)
{
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed, k_rsa};
	static const char *const start[] = {
		"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"",
		"{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"",
		"{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"",
		"{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"",
	};

	for (size_t i = 0; i < 4; i++) {
		struct subca_buf text;
		char tp1[SUBCA_JWK_THUMBPRINT_LEN + 1],
			tp2[SUBCA_JWK_THUMBPRINT_LEN + 1];
		EVP_PKEY *back;
		json_t *j = NULL;

		assert_int_equal(subca_jwk_export(keys[i], &text), SUBCA_OK);
		assert_int_equal(strncmp((char *)text.p, start[i],
					 strlen(start[i])),
				 0);
		assert_null(strstr((char *)text.p, "\"d\""));
		back = jwk((char *)text.p);
		assert_int_equal(EVP_PKEY_eq(back, keys[i]), 1);
		assert_int_equal(subca_jwk_thumbprint(keys[i], tp1), SUBCA_OK);
		assert_int_equal(subca_jwk_thumbprint(back, tp2), SUBCA_OK);
		assert_string_equal(tp1, tp2);
		assert_int_equal(subca_jwk_to_json(keys[i], &j), SUBCA_OK);
		assert_string_equal(json_string_value(json_object_get(j, "kty")),
				    i < 2 ? "EC" : i == 2 ? "OKP" : "RSA");
		json_decref(j);
		EVP_PKEY_free(back);
		subca_buf_cleanup(&text);
	}
}

static void test_jwk_export_refuses_keys_jws_cannot_use(void **state)
{
	EVP_PKEY *small = th_key("rsa-1024");
	struct subca_buf text;

	th_assert_error(subca_jwk_export(k_p521, &text), SUBCA_E_UNSUPPORTED_KEY,
			"a secp521r1 key cannot sign a JWS here");
	subca_buf_cleanup(&text);
	th_assert_error(subca_jwk_export(small, &text), SUBCA_E_WEAK_KEY,
			"RSA-1024 key: JWS keys need at least 2048 bits");
	subca_buf_cleanup(&text);
	EVP_PKEY_free(small);
}

static void test_jwk_parse_refuses_private_members(void **state)
{
	static const char *const members[] = {"d", "p", "q", "dp", "dq",
					      "qi", "oth", "k"};

	for (size_t i = 0; i < 8; i++) {
		char text[256], want[64];
		EVP_PKEY *k = NULL;

		snprintf(text, sizeof(text),
			 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYA"
			 "YKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"%s\":"
			 "\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}",
			 members[i]);
		snprintf(want, sizeof(want), "the JWK holds the private member "
			 "\"%s\"", members[i]);
		th_assert_error(subca_jwk_parse(S(text), &k),
				SUBCA_E_PRIVATE_KEY, want);
		assert_null(k);
		/* the secret value never reaches the reason */
		assert_null(strstr(subca_error_reason(), "nWGxne"));
	}
}

#define P256_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define P256_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

static void test_jwk_parse_refuses_bad_keys_naming_the_problem(void **state)
{
	static const struct {
		const char *text;
		enum subca_code code;
		const char *reason;
	} cases[] = {
		{"not json", SUBCA_E_BAD_JWK, "the JWK is not valid JSON"},
		{"[1]", SUBCA_E_BAD_JWK, "the JWK is not a JSON object"},
		{"{\"kty\":\"EC\",\"kty\":\"EC\"}", SUBCA_E_BAD_JWK,
		 "not valid JSON: duplicate object key"},
		{"{\"crv\":\"P-256\"}", SUBCA_E_BAD_JWK,
		 "the JWK has no \"kty\" string member"},
		{"{\"kty\":7}", SUBCA_E_BAD_JWK, "no \"kty\" string member"},
		{"{\"kty\":\"oct\"}", SUBCA_E_UNSUPPORTED_KEY,
		 "the JWK key type \"oct\" is not supported (EC, OKP, RSA)"},
		{"{\"kty\":\"EC\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y "\"}",
		 SUBCA_E_BAD_JWK, "the EC JWK has no \"crv\" string member"},
		{"{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}",
		 SUBCA_E_UNSUPPORTED_KEY,
		 "the JWK's curve \"P-521\" is not supported (P-256, P-384)"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"y\":\"" P256_Y "\"}",
		 SUBCA_E_BAD_JWK, "the JWK has no \"x\" string member"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X
		 "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a\"}",
		 SUBCA_E_BAD_JWK, "not canonical base64url"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X
		 "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5Q\"}",
		 SUBCA_E_BAD_JWK,
		 "the JWK's P-256 coordinates are 32 and 31 bytes; each must "
		 "be exactly 32 (RFC 7518 6.2.1.2)"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X
		 "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"}",
		 SUBCA_E_BAD_JWK, "the JWK's point is not on the P-256 curve"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X
		 "=\",\"y\":\"" P256_Y "\"}",
		 SUBCA_E_BAD_JWK, "the JWK member \"x\" has '=' padding"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X
		 "\",\"y\":\"" P256_Y "\",\"use\":\"enc\"}",
		 SUBCA_E_BAD_JWK, "the JWK's \"use\" must be \"sig\""},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X
		 "\",\"y\":\"" P256_Y "\",\"alg\":\"ES384\"}",
		 SUBCA_E_BAD_JWK,
		 "the JWK's \"alg\" ES384 is not the algorithm of its key "
		 "(ES256)"},
		{"{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" ED_X "\"}",
		 SUBCA_E_UNSUPPORTED_KEY,
		 "the JWK's curve \"Ed448\" is not supported (Ed25519)"},
		{"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKx\"}",
		 SUBCA_E_BAD_JWK,
		 "the JWK's Ed25519 key is 6 bytes; it must be 32"},
		{"{\"kty\":\"RSA\",\"n\":\"AAEB\",\"e\":\"AQAB\"}",
		 SUBCA_E_BAD_JWK,
		 "the JWK member \"n\" has a leading zero byte"},
		{"{\"kty\":\"RSA\",\"n\":\"AQEB\",\"e\":\"AQAB\"}",
		 SUBCA_E_WEAK_KEY,
		 "the JWK's RSA modulus is 17 bits; at least 2048 are required"},
		{"{\"kty\":\"RSA\",\"e\":\"AQAB\"}", SUBCA_E_BAD_JWK,
		 "the JWK has no \"n\" string member"},
		{"{\"kty\":\"RSA\",\"n\":\"AQEB\",\"e\":\"AQABAQABAQAB\"}",
		 SUBCA_E_TOO_LARGE, "the JWK member \"e\" decodes to 9 bytes"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = NULL;

		th_assert_error(subca_jwk_parse(S(cases[i].text), &k),
				cases[i].code, cases[i].reason);
		assert_null(k);
	}
}

/* An RSA JWK with the RFC 7638 modulus and another exponent. */
static void test_jwk_parse_runs_the_rsa_public_key_check(void **state)
{
	char text[1024];
	const char *n = strstr(rfc7638_jwk, "\"n\":\"") + 5;
	int nlen = (int)(strchr(n, '"') - n);
	EVP_PKEY *k = NULL;

	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"n\":\"%.*s\","
		 "\"e\":\"Ag\"}", nlen, n);
	th_assert_error(subca_jwk_parse(S(text), &k), SUBCA_E_BAD_JWK,
			"the JWK's RSA key fails the public key check");
	assert_null(k);
}

static void test_jwk_parse_caps_the_rsa_modulus(void **state)
{
	/* 8193 bits: top byte 0x01 then 1024 bytes */
	uint8_t n[1025];
	struct subca_buf b64;
	char *text;
	EVP_PKEY *k = NULL;

	memset(n, 0xff, sizeof(n));
	n[0] = 0x01;
	assert_int_equal(subca_b64url_encode(subca_slice_of(n, sizeof(n)),
					     4096, &b64),
			 SUBCA_OK);
	assert_true(asprintf(&text, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
			     "\"AQAB\"}", (char *)b64.p) > 0);
	th_assert_error(subca_jwk_parse(S(text), &k), SUBCA_E_UNSUPPORTED_KEY,
			"the JWK's RSA modulus is 8193 bits; at most 8192");
	free(text);
	subca_buf_cleanup(&b64);
}

static void test_jwk_parse_caps_the_input_at_the_limit(void **state)
{
	size_t base = strlen(rfc8037_jwk);
	char *text = malloc(SUBCA_MAX_JWK_INPUT + 1);
	EVP_PKEY *k = NULL;

	memcpy(text, rfc8037_jwk, base);
	memset(text + base, ' ', SUBCA_MAX_JWK_INPUT + 1 - base);
	assert_int_equal(subca_jwk_parse(subca_slice_of(text,
							 SUBCA_MAX_JWK_INPUT),
					 &k),
			 SUBCA_OK);
	EVP_PKEY_free(k);
	k = NULL;
	th_assert_error(subca_jwk_parse(subca_slice_of(text,
						       SUBCA_MAX_JWK_INPUT + 1),
					&k),
			SUBCA_E_TOO_LARGE, "the JWK is 16385 bytes, at most 16384");
	free(text);
}

/* ---- JWS ---------------------------------------------------------------------- */

/* b64url of text, as a new C string. */
static char *b64(const char *text)
{
	struct subca_buf b;
	char *s;

	assert_int_equal(subca_b64url_encode(S(text), 1 << 16, &b), SUBCA_OK);
	s = strdup((char *)b.p);
	subca_buf_cleanup(&b);
	return s;
}

/* "b64(header).b64(payload).sig" as a new C string. */
static char *compact(const char *header, const char *payload, const char *sig)
{
	char *h = b64(header), *p = b64(payload), *out;

	assert_true(asprintf(&out, "%s.%s.%s", h, p, sig) > 0);
	free(h);
	free(p);
	return out;
}

static void test_jws_sign_and_verify_round_trip_for_every_alg(void **state)
{
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed, k_rsa};
	static const enum subca_jws_alg algs[] = {
		SUBCA_JWS_ES256, SUBCA_JWS_ES384, SUBCA_JWS_EDDSA,
		SUBCA_JWS_RS256};
	json_t *h = json_pack("{s:s}", "kid", "k1");

	for (size_t i = 0; i < 4; i++) {
		struct subca_buf out;
		struct subca_jws jws;

		assert_int_equal(subca_jws_sign(keys[i], h, S("hello"), &out),
				 SUBCA_OK);
		assert_int_equal(subca_jws_parse(subca_buf_slice(&out), &jws),
				 SUBCA_OK);
		assert_int_equal(jws.alg, algs[i]);
		assert_string_equal(jws.kid, "k1");
		assert_string_equal((char *)jws.payload.p, "hello");
		assert_int_equal(subca_jws_verify(&jws, keys[i]), SUBCA_OK);
		/* another key of the same type */
		if (i == 0)
			th_assert_error(subca_jws_verify(&jws, k_p256b),
					SUBCA_E_JWS_SIGNATURE,
					"the JWS signature does not verify "
					"with the key");
		/* a key of another type */
		th_assert_error(subca_jws_verify(&jws, keys[(i + 1) % 4]),
				SUBCA_E_JWS_SIGNATURE,
				"is not the algorithm of the key");
		subca_jws_cleanup(&jws);
		subca_buf_cleanup(&out);
	}
	assert_null(json_object_get(h, "alg")); /* header not modified */
	json_decref(h);
}

static void test_jws_parse_refuses_malformed_input_naming_the_part(void **state)
{
	static const char sig[] = "AAAA";
	static const struct {
		const char *header; /* NULL: use raw */
		const char *raw;
		enum subca_code code;
		const char *reason;
	} cases[] = {
		{NULL, "", SUBCA_E_BAD_JWS, "the JWS is empty"},
		{NULL, "abc", SUBCA_E_BAD_JWS, "no '.' between its parts"},
		{NULL, "a.b", SUBCA_E_BAD_JWS, "2 parts, 3 are needed"},
		{NULL, "a.b.c.d", SUBCA_E_BAD_JWS, "more than 3 parts"},
		{NULL, "a.b.c.d.e", SUBCA_E_BAD_JWS, "JWE has 5"},
		{NULL, ".e30.AAAA", SUBCA_E_BAD_JWS,
		 "the JWS protected header is empty"},
		{NULL, "e30=.e30.AAAA", SUBCA_E_BAD_JWS,
		 "the JWS protected header has '=' padding"},
		{NULL, "eyJhbGciOiJFUzI1NiJ9.e30.", SUBCA_E_BAD_JWS,
		 "the JWS signature is empty"},
		{NULL, "eyJhbGciOiJFUzI1NiJ9.e30.AA+A", SUBCA_E_BAD_JWS,
		 "the JWS signature has a character that is not base64url"},
		{NULL, "eyJhbGciOiJFUzI1NiJ9.e3+.AAAA", SUBCA_E_BAD_JWS,
		 "the JWS payload has a character that is not base64url"},
		{"not json", NULL, SUBCA_E_BAD_JWS,
		 "the JWS protected header is not valid JSON"},
		{"[\"alg\"]", NULL, SUBCA_E_BAD_JWS,
		 "the JWS protected header is not a JSON object"},
		{"{\"alg\":\"ES256\",\"alg\":\"none\"}", NULL, SUBCA_E_BAD_JWS,
		 "duplicate object key"},
		{"{\"kid\":\"x\"}", NULL, SUBCA_E_BAD_JWS,
		 "the JWS header has no \"alg\" string"},
		{"{\"alg\":1}", NULL, SUBCA_E_BAD_JWS, "no \"alg\" string"},
		{"{\"alg\":\"none\"}", NULL, SUBCA_E_UNSUPPORTED_ALG,
		 "the JWS alg \"none\" (an unsigned JWS) is refused"},
		{"{\"alg\":\"NONE\"}", NULL, SUBCA_E_UNSUPPORTED_ALG,
		 "\"none\" (an unsigned JWS)"},
		{"{\"alg\":\"HS256\"}", NULL, SUBCA_E_UNSUPPORTED_ALG,
		 "the JWS alg \"HS256\" (a shared-secret MAC) is refused"},
		{"{\"alg\":\"RS512\"}", NULL, SUBCA_E_UNSUPPORTED_ALG,
		 "the JWS alg \"RS512\" is not supported (ES256, ES384, "
		 "EdDSA, RS256)"},
		{"{\"alg\":\"es256\"}", NULL, SUBCA_E_UNSUPPORTED_ALG,
		 "\"es256\" is not supported"},
		{"{\"alg\":\"ES256\",\"kid\":5}", NULL, SUBCA_E_BAD_JWS,
		 "the JWS header's \"kid\" must be a string"},
		{"{\"alg\":\"ES256\",\"kid\":\"\"}", NULL, SUBCA_E_BAD_JWS,
		 "the JWS header's \"kid\" must be 1 to 256 bytes"},
		{"{\"alg\":\"ES256\",\"typ\":[]}", NULL, SUBCA_E_BAD_JWS,
		 "the JWS header's \"typ\" must be a string"},
		{"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", NULL,
		 SUBCA_E_BAD_JWS,
		 "the JWS header marks \"exp\" critical; subca understands no "
		 "JWS extension (RFC 7515 4.1.11)"},
		{"{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", NULL,
		 SUBCA_E_BAD_JWS, "marks \"b64\" critical"},
		{"{\"alg\":\"ES256\",\"crit\":[]}", NULL, SUBCA_E_BAD_JWS,
		 "\"crit\" must be a non-empty array of names"},
		{"{\"alg\":\"ES256\",\"crit\":\"x\"}", NULL, SUBCA_E_BAD_JWS,
		 "\"crit\" must be a non-empty array"},
		{"{\"alg\":\"ES256\",\"crit\":[7]}", NULL, SUBCA_E_BAD_JWS,
		 "marks a non-string critical"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = cases[i].header
				     ? compact(cases[i].header, "{}", sig)
				     : strdup(cases[i].raw);
		struct subca_jws jws;

		th_assert_error(subca_jws_parse(S(text), &jws), cases[i].code,
				cases[i].reason);
		subca_jws_cleanup(&jws);
		free(text);
	}
}

static void test_jws_parse_caps_the_token_at_the_limit(void **state)
{
	char *text = malloc(SUBCA_MAX_JWS + 2);
	const char *h = "eyJhbGciOiJFUzI1NiJ9";
	size_t hl = strlen(h), sl = 86;
	struct subca_jws jws;

	memset(text, 'A', SUBCA_MAX_JWS + 1);
	memcpy(text, h, hl);
	text[hl] = '.';
	text[SUBCA_MAX_JWS - sl - 1] = '.';
	assert_int_equal(subca_jws_parse(subca_slice_of(text, SUBCA_MAX_JWS),
					 &jws),
			 SUBCA_OK);
	assert_int_equal(jws.signature.len, 64);
	subca_jws_cleanup(&jws);
	th_assert_error(subca_jws_parse(subca_slice_of(text, SUBCA_MAX_JWS + 1),
					&jws),
			SUBCA_E_TOO_LARGE, "the JWS is 8193 bytes, at most 8192");
	subca_jws_cleanup(&jws);
	free(text);
}

static void test_jws_parse_caps_the_header_at_the_limit(void **state)
{
	char header[SUBCA_MAX_JWS_HEADER + 2];
	const char *start = "{\"alg\":\"ES256\",\"x\":\"";
	size_t sl = strlen(start);
	struct subca_jws jws;
	char *text;

	memset(header, 'a', sizeof(header));
	memcpy(header, start, sl);
	/* exactly SUBCA_MAX_JWS_HEADER bytes */
	memcpy(header + SUBCA_MAX_JWS_HEADER - 2, "\"}", 3);
	text = compact(header, "{}", "AAAA");
	assert_int_equal(subca_jws_parse(S(text), &jws), SUBCA_OK);
	subca_jws_cleanup(&jws);
	free(text);
	memcpy(header + SUBCA_MAX_JWS_HEADER - 1, "\"}", 3);
	text = compact(header, "{}", "AAAA");
	th_assert_error(subca_jws_parse(S(text), &jws), SUBCA_E_TOO_LARGE,
			"the JWS protected header decodes to 1025 bytes, at "
			"most 1024");
	subca_jws_cleanup(&jws);
	free(text);
}

static void test_jws_verify_wants_raw_signatures_of_the_exact_size(void **state)
{
	struct subca_buf out;
	struct subca_jws jws;
	char *text, *dot;
	static const struct {
		EVP_PKEY **key;
		const char *sig; /* b64url of the wrong-size signature */
		const char *reason;
	} cases[] = {
		/* 63 bytes */
		{&k_p256, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		 "an ES256 signature with this key is 64 bytes; this one is 63"},
		/* a DER SEQUENCE (72 bytes), as OpenSSL would give it */
		{&k_p256, "MEYCIQDx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8QIhAPHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx8fHx",
		 "this one is 72"},
		{&k_ed, "AAAA", "an EdDSA signature with this key is 64 bytes; "
				"this one is 3"},
		{&k_rsa, "AAAA", "an RS256 signature with this key is 256 "
				 "bytes; this one is 3"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(subca_jws_sign(*cases[i].key, NULL, S("x"),
						&out),
				 SUBCA_OK);
		dot = strrchr((char *)out.p, '.');
		*dot = '\0';
		assert_true(asprintf(&text, "%s.%s", (char *)out.p,
				     cases[i].sig) > 0);
		assert_int_equal(subca_jws_parse(S(text), &jws), SUBCA_OK);
		th_assert_error(subca_jws_verify(&jws, *cases[i].key),
				SUBCA_E_JWS_SIGNATURE, cases[i].reason);
		subca_jws_cleanup(&jws);
		subca_buf_cleanup(&out);
		free(text);
	}
}

/* Every truncation and every single-bit flip of a signed JWS fails. */
static void test_jws_truncations_and_bit_flips_never_verify(void **state)
{
	EVP_PKEY *keys[] = {k_p256, k_ed};

	for (size_t k = 0; k < 2; k++) {
		struct subca_buf out;
		struct subca_jws jws;
		uint8_t *copy;

		assert_int_equal(subca_jws_sign(keys[k], NULL,
						S("{\"sub\":\"x\"}"), &out),
				 SUBCA_OK);
		copy = malloc(out.len);
		for (size_t len = 0; len < out.len; len++) {
			subca_result rv = subca_jws_parse(
				subca_slice_of(out.p, len), &jws);

			if (rv == SUBCA_OK)
				rv = subca_jws_verify(&jws, keys[k]);
			assert_int_not_equal(rv, SUBCA_OK);
			assert_true(subca_error_reason()[0] != '\0');
			subca_jws_cleanup(&jws);
		}
		for (size_t i = 0; i < out.len * 8; i++) {
			subca_result rv;

			memcpy(copy, out.p, out.len);
			copy[i / 8] ^= (uint8_t)(1u << (i % 8));
			rv = subca_jws_parse(subca_slice_of(copy, out.len),
					     &jws);
			if (rv == SUBCA_OK)
				rv = subca_jws_verify(&jws, keys[k]);
			if (rv == SUBCA_OK)
				fail_msg("bit %zu flipped still verifies", i);
			subca_jws_cleanup(&jws);
		}
		free(copy);
		subca_buf_cleanup(&out);
	}
}

/* JWK text: truncations and flips never crash; each gives OK or an error. */
static void test_jwk_parse_survives_truncations_and_bit_flips(void **state)
{
	const char *texts[] = {rfc7515_a3_jwk, rfc8037_jwk, rfc7638_jwk};

	for (size_t t = 0; t < 3; t++) {
		size_t n = strlen(texts[t]);
		char *copy = malloc(n);

		for (size_t len = 0; len < n; len++) {
			EVP_PKEY *k = NULL;

			assert_int_not_equal(subca_jwk_parse(subca_slice_of(
								     texts[t], len),
							     &k),
					     SUBCA_OK);
			assert_null(k);
		}
		for (size_t i = 0; i < n * 8; i++) {
			EVP_PKEY *k = NULL;
			subca_result rv;

			memcpy(copy, texts[t], n);
			copy[i / 8] ^= (char)(1u << (i % 8));
			rv = subca_jwk_parse(subca_slice_of(copy, n), &k);
			assert_true(rv == SUBCA_OK ? k != NULL : k == NULL);
			EVP_PKEY_free(k);
		}
		free(copy);
	}
}

/* ---- sign tokens ------------------------------------------------------------- */

#define AUD "https://ca.example:8443/a/demo/sign"

static const char *const two_sans[] = {"www.example.com", "10.0.0.1"};

static struct subca_token_params params(void)
{
	struct subca_token_params p = {
		.iss = "deploy-bot",
		.aud = AUD,
		.sub = "www.example.com",
		.sans = {two_sans, 2},
		.now = TH_NOW,
	};
	return p;
}

static char *mint(EVP_PKEY *key, const struct subca_token_params *p)
{
	struct subca_buf out;
	char *s;

	if (subca_token_mint(key, p, &out) != SUBCA_OK)
		fail_msg("%s", subca_error_reason());
	s = strdup((char *)out.p);
	subca_buf_cleanup(&out);
	return s;
}

static void test_token_mint_and_verify_round_trip_for_every_alg(void **state)
{
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed, k_rsa};
	struct subca_token_params p = params();

	for (size_t i = 0; i < 4; i++) {
		char *tok = mint(keys[i], &p);
		char tp[SUBCA_JWK_THUMBPRINT_LEN + 1];
		struct subca_token t;

		assert_int_equal(subca_token_verify(S(tok), keys[i], AUD,
						    TH_NOW, &t),
				 SUBCA_OK);
		assert_int_equal(subca_jwk_thumbprint(keys[i], tp), SUBCA_OK);
		assert_string_equal(t.kid, tp);
		assert_string_equal(t.jws.typ, "JWT");
		assert_string_equal(t.iss, "deploy-bot");
		assert_string_equal(t.sub, "www.example.com");
		assert_int_equal(t.sans.n, 2);
		assert_string_equal(t.sans.v[1], "10.0.0.1");
		assert_int_equal(t.nbf, TH_NOW);
		assert_int_equal(t.iat, TH_NOW);
		assert_int_equal(t.exp, TH_NOW + SUBCA_TOKEN_MAX_LIFETIME);
		assert_int_equal(strlen(t.jti), 22); /* 128 bits */
		subca_token_cleanup(&t);
		free(tok);
	}
}

static void test_token_mint_gives_each_token_its_own_jti(void **state)
{
	struct subca_token_params p = params();
	char *a = mint(k_ed, &p), *b = mint(k_ed, &p);
	struct subca_token ta, tb;

	assert_int_equal(subca_token_peek(S(a), &ta), SUBCA_OK);
	assert_int_equal(subca_token_peek(S(b), &tb), SUBCA_OK);
	assert_string_not_equal(ta.jti, tb.jti);
	subca_token_cleanup(&ta);
	subca_token_cleanup(&tb);
	free(a);
	free(b);
}

static void test_token_verify_refuses_another_key(void **state)
{
	struct subca_token_params p = params();
	char *tok = mint(k_p256, &p);
	struct subca_token t;

	th_assert_error(subca_token_verify(S(tok), k_p256b, AUD, TH_NOW, &t),
			SUBCA_E_JWS_SIGNATURE,
			"is not the provisioner key");
	subca_token_cleanup(&t);
	th_assert_error(subca_token_verify(S(tok), k_ed, AUD, TH_NOW, &t),
			SUBCA_E_JWS_SIGNATURE, "is not the provisioner key");
	subca_token_cleanup(&t);
	free(tok);
}

static void test_token_verify_refuses_another_audience(void **state)
{
	struct subca_token_params p = params();
	char *tok = mint(k_p256, &p);
	struct subca_token t;

	th_assert_error(subca_token_verify(S(tok), k_p256,
					   "https://ca.example:8443/a/other/sign",
					   TH_NOW, &t),
			SUBCA_E_TOKEN_AUDIENCE,
			"the token is for \"" AUD "\", not for "
			"\"https://ca.example:8443/a/other/sign\"");
	subca_token_cleanup(&t);
	free(tok);
}

static void test_token_verify_checks_exp_and_nbf_at_the_edges(void **state)
{
	struct subca_token_params p = params();
	char *tok;
	struct subca_token t;

	p.ttl = 120;
	tok = mint(k_p256, &p);
	assert_int_equal(subca_token_verify(S(tok), k_p256, AUD,
					    TH_NOW + 119, &t),
			 SUBCA_OK);
	subca_token_cleanup(&t);
	th_assert_error(subca_token_verify(S(tok), k_p256, AUD, TH_NOW + 120,
					   &t),
			SUBCA_E_TOKEN_EXPIRED,
			"the token expired 0 s ago (exp 1767225720)");
	subca_token_cleanup(&t);
	assert_int_equal(subca_token_verify(S(tok), k_p256, AUD,
					    TH_NOW - SUBCA_TOKEN_LEEWAY, &t),
			 SUBCA_OK);
	subca_token_cleanup(&t);
	th_assert_error(subca_token_verify(S(tok), k_p256, AUD,
					   TH_NOW - SUBCA_TOKEN_LEEWAY - 1, &t),
			SUBCA_E_TOKEN_NOT_YET_VALID,
			"the token is not valid for another 61 s (nbf "
			"1767225600, 60 s leeway)");
	subca_token_cleanup(&t);
	free(tok);
}

/* Sign claims text as a token with k_p256 (header: kid, typ JWT). */
static char *forge(const char *claims, const char *header_json)
{
	char tp[SUBCA_JWK_THUMBPRINT_LEN + 1];
	json_t *h = header_json ? json_loads(header_json, 0, NULL)
				: json_object();
	struct subca_buf out;
	char *s;

	assert_int_equal(subca_jwk_thumbprint(k_p256, tp), SUBCA_OK);
	if (json_object_get(h, "kid") == NULL)
		json_object_set_new(h, "kid", json_string(tp));
	if (header_json == NULL)
		json_object_set_new(h, "typ", json_string("JWT"));
	assert_int_equal(subca_jws_sign(k_p256, h, S(claims), &out), SUBCA_OK);
	s = strdup((char *)out.p);
	subca_buf_cleanup(&out);
	json_decref(h);
	return s;
}

#define CLAIMS_TAIL "\"iss\":\"p\",\"sub\":\"s\",\"sans\":[\"a.example\"],\"jti\":\"j\""

static void test_token_verify_refuses_bad_claims_naming_them(void **state)
{
	static const struct {
		const char *claims;
		enum subca_code code;
		const char *reason;
	} cases[] = {
		{"[]", SUBCA_E_BAD_TOKEN, "the token's claim set is not a JSON object"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"iss\":\"q\",\"sub\":\"s\",\"sans\":[\"a\"],"
		 "\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "duplicate object key"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"sub\":\"s\",\"sans\":[\"a\"],\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"iss\" claim"},
		{"{\"nbf\":1767225600,\"exp\":1767225900," CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"aud\" claim"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"sans\":[\"a\"],\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"sub\" claim"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"sub\":\"s\",\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"sans\" claim"},
		{"{\"aud\":\"" AUD "\",\"exp\":1767225900," CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"nbf\" claim"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600," CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"exp\" claim"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"sub\":\"s\",\"sans\":[\"a\"]}",
		 SUBCA_E_BAD_TOKEN, "the token has no \"jti\" claim"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":\"1767225900\","
		 CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN,
		 "the token's \"exp\" claim must be an integer NumericDate"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600.5,\"exp\":1767225900,"
		 CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "\"nbf\" claim must be an integer"},
		{"{\"aud\":\"" AUD "\",\"nbf\":-5,\"exp\":1767225900,"
		 CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "the token's \"nbf\" claim is out of range"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iat\":true," CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "\"iat\" claim must be an integer"},
		{"{\"aud\":7,\"nbf\":1767225600,\"exp\":1767225900,"
		 CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN,
		 "the token's \"aud\" claim must be a string or an array"},
		{"{\"aud\":[\"" AUD "\",3],\"nbf\":1767225600,"
		 "\"exp\":1767225900," CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN, "the token's \"aud\" claim holds a non-string"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"sub\":\"s\",\"sans\":\"a.example\","
		 "\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN,
		 "the token's \"sans\" claim must be an array of 1 to 64 names"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"sub\":\"s\",\"sans\":[],\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "\"sans\" claim must be an array of 1 to 64"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"p\",\"sub\":\"s\",\"sans\":[\"a\",null],"
		 "\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "the token's \"sans\" entry 1 must be a string"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":\"\",\"sub\":\"s\",\"sans\":[\"a\"],\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN,
		 "the token's \"iss\" claim must be 1 to 128 bytes"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iss\":[\"p\"],\"sub\":\"s\",\"sans\":[\"a\"],\"jti\":\"j\"}",
		 SUBCA_E_BAD_TOKEN, "the token's \"iss\" claim must be a string"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225901,"
		 CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN,
		 "the token's lifetime is 301 s; at most 300 s (5 minutes) is "
		 "accepted"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225600,"
		 CLAIMS_TAIL "}",
		 SUBCA_E_BAD_TOKEN,
		 "the token expires (exp 1767225600) before it is valid"},
		{"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		 "\"iat\":1767225661," CLAIMS_TAIL "}",
		 SUBCA_E_TOKEN_NOT_YET_VALID,
		 "the token was issued 61 s in the future"},
	};
	struct subca_token t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = forge(cases[i].claims, NULL);

		th_assert_error(subca_token_verify(S(tok), k_p256, AUD, TH_NOW,
						   &t),
				cases[i].code, cases[i].reason);
		subca_token_cleanup(&t);
		free(tok);
	}
}

static void test_token_verify_accepts_hand_made_tokens_in_every_allowed_form(void **state)
{
	static const char *const ok[] = {
		/* aud as an array, iat absent, exactly 300 s, no kid */
		"{\"aud\":[\"x\",\"" AUD "\"],\"nbf\":1767225600,"
		"\"exp\":1767225900," CLAIMS_TAIL "}",
		"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		"\"iat\":1767225660,\"extra\":{\"a\":1}," CLAIMS_TAIL "}",
	};
	static const char *const headers[] = {
		"{\"typ\":\"application/JWT\",\"kid\":\"x\"}"};
	struct subca_token t;

	for (size_t i = 0; i < 2; i++) {
		char *tok = forge(ok[i], NULL);

		assert_int_equal(subca_token_verify(S(tok), k_p256, AUD, TH_NOW,
						    &t),
				 SUBCA_OK);
		subca_token_cleanup(&t);
		free(tok);
	}
	/* a kid that is not the key's thumbprint */
	{
		char *tok = forge(ok[0], headers[0]);

		th_assert_error(subca_token_verify(S(tok), k_p256, AUD, TH_NOW,
						   &t),
				SUBCA_E_JWS_SIGNATURE,
				"the token's kid \"x\" is not the provisioner "
				"key");
		subca_token_cleanup(&t);
		free(tok);
	}
	/* without a kid the signature decides */
	{
		struct subca_buf out;
		json_t *hdr = json_pack("{s:s}", "typ", "JWT");

		assert_int_equal(subca_jws_sign(k_p256, hdr, S(ok[0]), &out),
				 SUBCA_OK);
		assert_int_equal(subca_token_verify(subca_buf_slice(&out),
						    k_p256, AUD, TH_NOW, &t),
				 SUBCA_OK);
		assert_null(t.kid);
		subca_token_cleanup(&t);
		th_assert_error(subca_token_verify(subca_buf_slice(&out),
						   k_p256b, AUD, TH_NOW, &t),
				SUBCA_E_JWS_SIGNATURE,
				"the JWS signature does not verify");
		subca_token_cleanup(&t);
		subca_buf_cleanup(&out);
		json_decref(hdr);
	}
}

static void test_token_verify_refuses_other_typs_and_critical_headers(void **state)
{
	static const char claims[] =
		"{\"aud\":\"" AUD "\",\"nbf\":1767225600,\"exp\":1767225900,"
		CLAIMS_TAIL "}";
	struct subca_token t;
	char *tok = forge(claims, "{\"typ\":\"dpop+jwt\"}");

	th_assert_error(subca_token_verify(S(tok), k_p256, AUD, TH_NOW, &t),
			SUBCA_E_BAD_TOKEN, "the token's typ \"dpop+jwt\" is not JWT");
	subca_token_cleanup(&t);
	free(tok);
	tok = forge(claims, "{\"typ\":\"JWT\",\"crit\":[\"x-subca\"],"
			    "\"x-subca\":1}");
	th_assert_error(subca_token_verify(S(tok), k_p256, AUD, TH_NOW, &t),
			SUBCA_E_BAD_JWS, "marks \"x-subca\" critical");
	subca_token_cleanup(&t);
	free(tok);
}

static void test_token_mint_refuses_bad_parameters(void **state)
{
	struct subca_token_params p;
	struct subca_buf out;
	const char *many[SUBCA_MAX_NAMES + 1];
	char big[SUBCA_TOKEN_MAX_ISS + 2];

	p = params();
	p.ttl = SUBCA_TOKEN_MAX_LIFETIME + 1;
	th_assert_error(subca_token_mint(k_p256, &p, &out),
			SUBCA_E_INVALID_ARGUMENT,
			"a token lives 1 to 300 seconds, not 301");
	subca_buf_cleanup(&out);
	p = params();
	p.iss = NULL;
	th_assert_error(subca_token_mint(k_p256, &p, &out),
			SUBCA_E_INVALID_ARGUMENT,
			"the token's issuer (provisioner name) is missing");
	subca_buf_cleanup(&out);
	p = params();
	p.sans.n = 0;
	th_assert_error(subca_token_mint(k_p256, &p, &out),
			SUBCA_E_INVALID_ARGUMENT,
			"a token carries 1 to 64 names, not 0");
	subca_buf_cleanup(&out);
	for (size_t i = 0; i <= SUBCA_MAX_NAMES; i++)
		many[i] = "a.example";
	p.sans = (struct subca_names){many, SUBCA_MAX_NAMES + 1};
	th_assert_error(subca_token_mint(k_p256, &p, &out),
			SUBCA_E_INVALID_ARGUMENT, "not 65");
	subca_buf_cleanup(&out);
	p.sans.n = SUBCA_MAX_NAMES;
	assert_int_equal(subca_token_mint(k_p256, &p, &out), SUBCA_OK);
	subca_buf_cleanup(&out);
	p = params();
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p.iss = big;
	th_assert_error(subca_token_mint(k_p256, &p, &out),
			SUBCA_E_INVALID_ARGUMENT,
			"is 129 bytes, at most 128");
	subca_buf_cleanup(&out);
	big[SUBCA_TOKEN_MAX_ISS] = '\0';
	assert_int_equal(subca_token_mint(k_p256, &p, &out), SUBCA_OK);
	subca_buf_cleanup(&out);
	p = params();
	p.sub = "\xff\xfe";
	th_assert_error(subca_token_mint(k_p256, &p, &out),
			SUBCA_E_INVALID_ARGUMENT, "not UTF-8 text");
	subca_buf_cleanup(&out);
	p = params();
	th_assert_error(subca_token_mint(k_p521, &p, &out),
			SUBCA_E_UNSUPPORTED_KEY, "cannot sign a JWS here");
	subca_buf_cleanup(&out);
}

/* A public key cannot mint. */
static void test_token_mint_needs_a_private_key(void **state)
{
	struct subca_token_params p = params();
	EVP_PKEY *pub = jwk(rfc8037_jwk);
	struct subca_buf out;

	th_assert_error(subca_token_mint(pub, &p, &out), SUBCA_E_CRYPTO,
			"cannot sign the JWS (is the key a private key?)");
	subca_buf_cleanup(&out);
	EVP_PKEY_free(pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jws_verifies_the_rfc7515_a3_es256_example),
		cmocka_unit_test(test_jws_verifies_the_rfc8037_a4_ed25519_example),
		cmocka_unit_test(test_jwk_thumbprint_matches_the_rfc7638_example),
		cmocka_unit_test(test_b64url_encodes_without_padding),
		cmocka_unit_test(test_b64url_decode_is_strict),
		cmocka_unit_test(test_jwk_export_round_trips_for_every_key_type),
		cmocka_unit_test(test_jwk_export_refuses_keys_jws_cannot_use),
		cmocka_unit_test(test_jwk_parse_refuses_private_members),
		cmocka_unit_test(test_jwk_parse_refuses_bad_keys_naming_the_problem),
		cmocka_unit_test(test_jwk_parse_runs_the_rsa_public_key_check),
		cmocka_unit_test(test_jwk_parse_caps_the_rsa_modulus),
		cmocka_unit_test(test_jwk_parse_caps_the_input_at_the_limit),
		cmocka_unit_test(test_jws_sign_and_verify_round_trip_for_every_alg),
		cmocka_unit_test(test_jws_parse_refuses_malformed_input_naming_the_part),
		cmocka_unit_test(test_jws_parse_caps_the_token_at_the_limit),
		cmocka_unit_test(test_jws_parse_caps_the_header_at_the_limit),
		cmocka_unit_test(test_jws_verify_wants_raw_signatures_of_the_exact_size),
		cmocka_unit_test(test_jws_truncations_and_bit_flips_never_verify),
		cmocka_unit_test(test_jwk_parse_survives_truncations_and_bit_flips),
		cmocka_unit_test(test_token_mint_and_verify_round_trip_for_every_alg),
		cmocka_unit_test(test_token_mint_gives_each_token_its_own_jti),
		cmocka_unit_test(test_token_verify_refuses_another_key),
		cmocka_unit_test(test_token_verify_refuses_another_audience),
		cmocka_unit_test(test_token_verify_checks_exp_and_nbf_at_the_edges),
		cmocka_unit_test(test_token_verify_refuses_bad_claims_naming_them),
		cmocka_unit_test(test_token_verify_accepts_hand_made_tokens_in_every_allowed_form),
		cmocka_unit_test(test_token_verify_refuses_other_typs_and_critical_headers),
		cmocka_unit_test(test_token_mint_refuses_bad_parameters),
		cmocka_unit_test(test_token_mint_needs_a_private_key),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
