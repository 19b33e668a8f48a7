/*
 * Fuzz target: the JSON request bodies of the sign API. Each input is read
 * as a /sign, a /renew and a /revoke body; a CSR a body parser accepts is
 * then parsed (and its self-signature checked) as the handlers do. Every
 * refusal must leave a reason, and every accepted value must be within its
 * documented bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../../src/server/sign_int.h"
#include "subca/certin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_csr(const struct subca__sign_body *b)
{
	X509_REQ *csr = NULL;

	if (b->csr == NULL)
		return;
	if (strlen(b->csr) != b->csr_len)
		abort(); /* NUL inside a string must have been refused */
	if (subca_certin_parse_csr(subca_slice_of(b->csr, b->csr_len), &csr) ==
	    SUBCA_OK) {
		if (csr == NULL)
			abort();
		X509_REQ_free(csr);
	}
}

static void fuzz_checked(subca_result rv)
{
	if (rv != SUBCA_OK && subca_error_reason()[0] == '\0')
		abort(); /* every refusal says why */
	subca_error_clear();
}

static void fuzz_sign(struct subca_slice in, bool renew)
{
	struct subca__sign_body b;
	subca_result rv = renew ? subca__renew_body_parse(in, &b)
				: subca__sign_body_parse(in, &b);

	fuzz_checked(rv);
	if (rv == SUBCA_OK) {
		if ((!renew && b.csr == NULL) || (renew && b.token != NULL) ||
		    b.days < 0 || b.days > SUBCA_SIGN_DAYS_MAX ||
		    (b.token != NULL && strlen(b.token) > SUBCA_MAX_JWS))
			abort();
		fuzz_csr(&b);
	} else if (b.csr != NULL || b.token != NULL || b.days != 0) {
		abort(); /* a failed parse leaves nothing behind */
	}
	subca__sign_body_cleanup(&b);
}

static void fuzz_revoke(struct subca_slice in)
{
	struct subca__revoke_body b;
	subca_result rv = subca__revoke_body_parse(in, &b);
	size_t n;

	fuzz_checked(rv);
	if (rv == SUBCA_OK) {
		n = strlen(b.serial);
		if (n == 0 || n > SUBCA_SIGN_SERIAL_MAX ||
		    strspn(b.serial, "0123456789abcdef") != n ||
		    (n > 1 && b.serial[0] == '0') || b.reason < 0 ||
		    b.reason > 10 || b.reason == 7 || b.reason == 8)
			abort();
	}
	subca__revoke_body_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_slice in = subca_slice_of(data, size);

	fuzz_sign(in, false);
	fuzz_sign(in, true);
	fuzz_revoke(in);
	return 0;
}
