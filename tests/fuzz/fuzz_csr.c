/*
 * Fuzz target: subca_certin_parse_csr and subca_certin_parse_csr_key over
 * an untrusted CSR; both must give the same answer (the second decodes the
 * key apart, the way /sign parses).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "subca/certin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *req = NULL, *req2 = NULL;
	EVP_PKEY *key = NULL;
	subca_result a, b;

	a = subca_certin_parse_csr(subca_slice_of(data, size), &req);
	subca_error_clear();
	b = subca_certin_parse_csr_key(subca_slice_of(data, size), &req2, &key);
	subca_error_clear();
	if (a != b)
		abort();
	X509_REQ_free(req);
	X509_REQ_free(req2);
	EVP_PKEY_free(key);
	return 0;
}
