/*
 * Fuzz target: untrusted JOSE text. Each input is read as a compact JWS
 * (parsed, then verified with two fixed keys), as a sign token (verified
 * with both keys at a fixed time and audience) and as a JWK (parsed,
 * exported, thumbprinted). The keys are the public keys of RFC 8037 A.1
 * (Ed25519) and RFC 7515 A.3 (P-256); make_corpus_jws.sh signs its token
 * seeds with the RFC 8037 private key, valid at FUZZ_NOW for FUZZ_AUD.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/jose.h"

#define FUZZ_NOW ((time_t)1767225610)
#define FUZZ_AUD "https://ca.example/a/demo/sign"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_jwks[] = {
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	"{\"kty\":\"EC\",\"crv\":\"P-256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
};

static EVP_PKEY *fuzz_keys[2];

static void fuzz_init(void)
{
	for (size_t i = 0; i < 2; i++) {
		if (fuzz_keys[i] != NULL)
			continue;
		if (subca_jwk_parse(subca_slice_of(fuzz_jwks[i],
						   strlen(fuzz_jwks[i])),
				    &fuzz_keys[i]) != SUBCA_OK)
			abort();
	}
}

static void fuzz_jws_one(struct subca_slice in)
{
	struct subca_jws jws;

	if (subca_jws_parse(in, &jws) == SUBCA_OK) {
		for (size_t i = 0; i < 2; i++) {
			subca_result rv = subca_jws_verify(&jws, fuzz_keys[i]);

			(void)rv;
		}
	}
	subca_jws_cleanup(&jws);
}

static void fuzz_token_one(struct subca_slice in)
{
	struct subca_token t;

	for (size_t i = 0; i < 2; i++) {
		subca_result rv = subca_token_verify(in, fuzz_keys[i], FUZZ_AUD,
						     FUZZ_NOW, &t);

		/* a verified token has every claim it promises */
		if (rv == SUBCA_OK &&
		    (t.iss == NULL || t.sub == NULL || t.jti == NULL ||
		     t.sans.n == 0 || t.exp <= t.nbf))
			abort();
		subca_token_cleanup(&t);
	}
}

static void fuzz_jwk_one(struct subca_slice in)
{
	char tp[SUBCA_JWK_THUMBPRINT_LEN + 1];
	struct subca_buf text = {0};
	EVP_PKEY *k = NULL;

	if (subca_jwk_parse(in, &k) != SUBCA_OK)
		return;
	/* what parses exports and thumbprints */
	if (subca_jwk_export(k, &text) != SUBCA_OK ||
	    subca_jwk_thumbprint(k, tp) != SUBCA_OK)
		abort();
	subca_buf_cleanup(&text);
	EVP_PKEY_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_slice in = subca_slice_of(data, size);

	fuzz_init();
	fuzz_jws_one(in);
	fuzz_token_one(in);
	fuzz_jwk_one(in);
	subca_error_clear();
	return 0;
}
