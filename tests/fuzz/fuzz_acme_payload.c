/*
 * Fuzz target: the JSON payloads of ACME requests, once the JWS is
 * verified: each input is read as a newAccount payload (contacts), a
 * newOrder payload (identifiers, notBefore/notAfter, the provisioner's
 * policy per identifier, subproblems) and a finalize payload (the CSR and
 * its names against the order's identifiers), at a fixed time with a
 * fixed account key and a policy that allows .example.test and
 * 10.0.0.0/8. Seeds: make_corpus_acme_payload.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/acme/acme_int.h"

#define FUZZ_NOW ((time_t)1767225610)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_jwk[] =
	"{\"kty\":\"EC\",\"crv\":\"P-256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char *const fuzz_dns[] = {".example.test"};
static const char *const fuzz_ips[] = {"10.0.0.0/8"};
static EVP_PKEY *fuzz_key;

static void fuzz_acme_init(struct subca_acme *a, struct subca_request *req)
{
	if (fuzz_key == NULL &&
	    subca_jwk_parse(subca_slice_of(fuzz_jwk, strlen(fuzz_jwk)),
			    &fuzz_key) != SUBCA_OK)
		abort();
	memset(req, 0, sizeof(*req));
	memset(a, 0, sizeof(*a));
	req->ctx.now = FUZZ_NOW;
	a->req = req;
	a->key = fuzz_key;
	a->opts.challenges = SUBCA_ACME_CHALL_ALL;
	a->policy.policy.dns.v = fuzz_dns;
	a->policy.policy.dns.n = 1;
	a->policy.policy.ips.v = fuzz_ips;
	a->policy.policy.ips.n = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_request req;
	struct subca_acme a;
	json_t *ids = NULL;
	json_error_t e;
	X509_REQ *csr = NULL;
	long days = 0;

	fuzz_acme_init(&a, &req);
	a.payload = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			       &e);
	if (json_is_object(a.payload)) {
		subca_result rv = subca__acme_contacts(
			json_object_get(a.payload, "contact"));

		(void)rv;
		if (subca__acme_order_check(&a, &ids, &days) == SUBCA_OK &&
		    subca__acme_csr_check(&a, ids, &csr) == SUBCA_OK)
			X509_REQ_free(csr);
	}
	json_decref(ids);
	json_decref(a.payload);
	json_decref(a.subproblems);
	subca_error_clear();
	return 0;
}
