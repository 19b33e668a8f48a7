/*
 * Fuzz target: the body of an ACME POST (RFC 8555 6.2). Each input is
 * parsed as the flattened JWS envelope; when that succeeds, the protected
 * header's members are read as the handlers read them (url, nonce spent
 * against the nonce store, the embedded jwk parsed and used to verify the
 * signature), and the payload is read as a keyChange inner JWS. Seeds:
 * make_corpus_acme_jws.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/server/acme/acme_int.h"

#define FUZZ_NOW ((time_t)1767225610)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_header(const struct subca_jws *jws)
{
	const json_t *n = json_object_get(jws->header, "nonce");
	const json_t *jwk = json_object_get(jws->header, "jwk");
	EVP_PKEY *key = NULL;
	subca_result rv = SUBCA_OK;

	if (json_is_string(n))
		rv = subca__acme_nonce_use(json_string_value(n), FUZZ_NOW);
	if (jwk != NULL && subca_jwk_from_json(jwk, &key) == SUBCA_OK)
		rv = subca_jws_verify(jws, key);
	EVP_PKEY_free(key);
	(void)rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_jws jws, inner;

	if (subca__acme_envelope(subca_slice_of(data, size), &jws) ==
	    SUBCA_OK) {
		fuzz_header(&jws);
		/* keyChange: the payload is itself a JWS */
		if (subca__acme_envelope(subca_buf_slice(&jws.payload),
					 &inner) == SUBCA_OK)
			fuzz_header(&inner);
		subca_jws_cleanup(&inner);
	}
	subca_jws_cleanup(&jws);
	subca_error_clear();
	return 0;
}
