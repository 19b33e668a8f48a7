/* Fuzz target: subca_certin_parse over untrusted certificate input. */
#include <stdint.h>
#include <stddef.h>

#include "subca/certin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *certs = NULL;

	if (subca_certin_parse(subca_slice_of(data, size), &certs) == SUBCA_OK)
		sk_X509_pop_free(certs, X509_free);
	subca_error_clear();
	return 0;
}
