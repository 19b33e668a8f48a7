/* Fuzz target: subca_ocsp_request_parse over an untrusted OCSP request,
 * then issuer matching against a fixed issuer (the hashes it computes). */
#include <stdint.h>
#include <stddef.h>

#include "subca/ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_ocsp_request r;
	X509 *none[] = {NULL};
	size_t idx;

	if (subca_ocsp_request_parse(subca_slice_of(data, size), &r) ==
	    SUBCA_OK) {
		if (subca_ocsp_request_match(&r, none, 1, &idx) == SUBCA_OK)
			__builtin_trap(); /* no issuer can match NULL */
		subca_ocsp_request_cleanup(&r);
	}
	subca_error_clear();
	return 0;
}
