/*
 * Fuzz target: the upload of a signed intermediate, verified against a fixed
 * root and pending key (the same as tests/fuzz/make_corpus_intermediate.sh,
 * which made the seeds), at a fixed "now". Everything per input is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "subca/chain.h"
#include "subca/csr.h"
#include "subca/root.h"

/* 2026-01-01T00:00:00Z, inside the seeds' validity */
#define FUZZ_NOW ((time_t)1767225600)

static const char root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBdzCCAR2gAwIBAgIBATAKBggqhkjOPQQDAjAjMQ0wCwYDVQQKDARGdXp6MRIw\n"
	"EAYDVQQDDAlGdXp6IFJvb3QwHhcNMjUwMTAxMDAwMDAwWhcNMzUwMTAxMDAwMDAw\n"
	"WjAjMQ0wCwYDVQQKDARGdXp6MRIwEAYDVQQDDAlGdXp6IFJvb3QwWTATBgcqhkjO\n"
	"PQIBBggqhkjOPQMBBwNCAAScjIYdSheIX4/lwzBs7KhNpxC6e49meW9ApBbL/CnT\n"
	"2eHqyKNsGW9KeTE7VjR2D+WjJ1mvoj+haOMYctPjID+Qo0IwQDAPBgNVHRMBAf8E\n"
	"BTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUrEkqlrqe6xVJ1tqnj1FQ\n"
	"1GDvoQMwCgYIKoZIzj0EAwIDSAAwRQIgQ0h2T0WuHJvEOEtJ0dsnJHxEoUwVpjDD\n"
	"nUiujWA8GoQCIQDrBnL+XuDhOqaLfk7lrk1vh8ED+4hSAML1P09i/BMicg==\n"
	"-----END CERTIFICATE-----\n";

/* A test key made for this corpus only. */
static const char pending_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0kbWhaDGwmAD1Wia\n"
	"VE4nV7wpVKD5W36RccaaNmvE0XWhRANCAARg/DbC8WisrmLqlXI81FgeIeBOiPwU\n"
	"GyN6z5jMqF//+ToMYRjDhjsbk9pekMnxYMVjobFChMJ1+goWgdNkPatD\n"
	"-----END PRIVATE KEY-----\n";

static struct subca_root *root;
static EVP_PKEY *key;
static X509_REQ *csr;

static void fuzz_init(void)
{
	struct subca_intermediate_params p = {
		.cn = "Fuzz Issuing CA", .org = "Example", .path_len = 0,
		.days = 365};
	BIO *b = BIO_new_mem_buf(pending_key_pem, -1);

	key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (key == NULL ||
	    subca_root_parse(subca_slice_of(root_pem, strlen(root_pem)),
			     FUZZ_NOW, NULL, &root) != SUBCA_OK ||
	    subca_csr_build(&p, key, &csr) != SUBCA_OK)
		abort();
	subca_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_intermediate_check c;
	struct subca_report rep;
	X509 *out = NULL;

	if (root == NULL)
		fuzz_init();
	c = (struct subca_intermediate_check){
		.root = root, .csr = csr, .key = key, .now = FUZZ_NOW};
	subca_report_init(&rep);
	if (subca_intermediate_verify(&c, subca_slice_of(data, size), &rep,
				      &out) == SUBCA_OK) {
		if (out == NULL || rep.refusals != 0)
			abort();
	} else if (out != NULL || rep.refusals == 0) {
		abort();
	}
	X509_free(out);
	subca_error_clear();
	return 0;
}
