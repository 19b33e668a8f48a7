/*
 * Fuzz target: the certificate a tls-alpn-01 responder presents (RFC 8737
 * 3), untrusted DER. Each input is checked for a DNS identifier, an IPv4
 * and an IPv6 identifier against one fixed key authorization; whatever the
 * bytes, a refusal has an ACME error type and a printable detail.
 * make_corpus_acme_tlsalpn.sh made the seeds with the same key authorization.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/acme/validate_int.h"

#define FUZZ_KEY_AUTHZ "tok.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct subca_acme_ident fuzz_ids[] = {
	{.value = "acme.test"},
	{.value = "192.0.2.1", .is_ip = true},
	{.value = "2001:db8::1", .is_ip = true},
};

static void fuzz_expect_printable(const struct subca_acme_validation_error *e)
{
	if (e->type[0] == '\0' || e->detail[0] == '\0')
		abort();
	for (const char *p = e->detail; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(fuzz_ids) / sizeof(fuzz_ids[0]); i++) {
		struct subca_acme_validation_error err;
		subca_result rv;

		memset(&err, 0, sizeof(err));
		rv = subca__acme_tlsalpn_check_der(subca_slice_of(data, size),
						   &fuzz_ids[i], FUZZ_KEY_AUTHZ,
						   &err);
		if (rv == SUBCA_OK)
			continue;
		if (rv != SUBCA_E_ACME_VALIDATION)
			abort();
		fuzz_expect_printable(&err);
	}
	subca_error_clear();
	return 0;
}
