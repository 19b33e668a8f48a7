/*
 * Fuzz target: the request framing watched on the wire
 * (src/server/framing.c). The input is fed whole, then again split at a
 * point taken from its first byte; both runs must agree (the framing is a
 * stream parser: how the bytes arrive must not matter), and any refusal
 * must be one of the framing's codes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fz_cap(void *arg, const char *method, const char *path,
		     const char *host)
{
	return strcmp(path, "/small") == 0 ? 16 : 4096;
}

static void fz_check(subca_result rv)
{
	if (rv != SUBCA_OK && rv != SUBCA_E_BAD_HTTP &&
	    rv != SUBCA_E_NOT_IMPLEMENTED && rv != SUBCA_E_TOO_LARGE &&
	    rv != SUBCA_E_HEADERS_TOO_LARGE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_framing a, b;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	subca_result ra, rb;

	subca_framing_init(&a, fz_cap, NULL, 1024);
	subca_framing_init(&b, fz_cap, NULL, 1024);
	ra = subca_framing_feed(&a, data, size);
	rb = subca_framing_feed(&b, data, cut);
	if (rb == SUBCA_OK)
		rb = subca_framing_feed(&b, data + cut, size - cut);
	fz_check(ra);
	fz_check(rb);
	if (ra != rb || a.complete != b.complete || a.state != b.state)
		abort();
	subca_framing_cleanup(&a);
	subca_framing_cleanup(&b);
	subca_error_clear();
	return 0;
}
