/* Fuzz target: subca_certin_parse_csr over an untrusted CSR. */
#include <stdint.h>
#include <stddef.h>

#include "subca/certin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *req = NULL;

	if (subca_certin_parse_csr(subca_slice_of(data, size), &req) ==
	    SUBCA_OK)
		X509_REQ_free(req);
	subca_error_clear();
	return 0;
}
