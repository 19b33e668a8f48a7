/* Unit tests of the util layer: errors, bounded buffers, reader, files, PEM. */
#include "helpers.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "subca/alloc.h"
#include "subca/limits.h"

static void test_error_set_keeps_code_reason_and_hint(void **state)
{
	subca_result rv = subca_error_set(SUBCA_E_NOT_CA, "f.c", 7,
					  "certificate %d is not a CA", 2);

	subca_error_hint("add CA:TRUE");
	assert_int_equal(rv, SUBCA_E_NOT_CA);
	assert_int_equal(subca_error_code(), SUBCA_E_NOT_CA);
	assert_string_equal(subca_error_reason(), "certificate 2 is not a CA");
	assert_string_equal(subca_error_hint_text(), "add CA:TRUE");
	assert_string_equal(subca_error_name(SUBCA_E_NOT_CA), "NOT_CA");
	assert_int_equal(subca_error_line(), 7);
	subca_error_clear();
	assert_int_equal(subca_error_code(), SUBCA_OK);
}

static void test_error_categories_map_to_status_and_exit_code(void **state)
{
	assert_int_equal(subca_error_http_status(SUBCA_E_NOT_FOUND), 404);
	assert_int_equal(subca_error_http_status(SUBCA_E_TOO_LARGE), 413);
	assert_int_equal(subca_error_http_status(SUBCA_E_PRIVATE_KEY), 400);
	assert_int_equal(subca_error_http_status(SUBCA_E_AUTH), 401);
	assert_int_equal(subca_error_exit_code(SUBCA_E_USAGE), 64);
	assert_int_equal(subca_error_exit_code(SUBCA_E_NOT_CA), 4);
	assert_true(subca_error_exit_code(SUBCA_E_INTERNAL) != 0);
	/* out-of-range codes are treated as internal, never read past the table */
	assert_string_equal(subca_error_name((enum subca_code)9999), "INTERNAL");
}

static void test_error_reason_is_truncated_not_overflowed(void **state)
{
	char big[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	(void)subca_error_set(SUBCA_E_GARBAGE, "f.c", 1, "%s", big);
	assert_int_equal(strlen(subca_error_reason()), SUBCA_ERROR_REASON_MAX - 1);
}

static void test_shown_makes_untrusted_text_printable_and_caps_it(void **state)
{
	char buf[8];

	assert_string_equal(SUBCA_SHOWN("abc", buf), "abc");
	assert_string_equal(subca_shown("a\nb\x01\xff", 5, buf, sizeof(buf)), "a?b??");
	/* 7 characters fit; more end in "..." */
	assert_string_equal(SUBCA_SHOWN("1234567", buf), "1234567");
	assert_string_equal(SUBCA_SHOWN("12345678", buf), "1234...");
	/* a length stops at embedded bytes, not at a NUL */
	assert_string_equal(subca_shown("xy", 1, buf, sizeof(buf)), "x");
}

static void test_buf_append_stops_at_max_and_leaves_buffer_unchanged(void **state)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	subca_buf_init(&b, 8);
	assert_int_equal(subca_buf_append(&b, "12345678", 8), SUBCA_OK);
	assert_int_equal(b.len, 8);
	th_assert_error(subca_buf_append(&b, "9", 1), SUBCA_E_TOO_LARGE,
			"limit of 8 bytes");
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.p, "12345678", 8);
	assert_int_equal(b.p[8], '\0');
}

static void test_buf_printf_formats_within_limit(void **state)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	subca_buf_init(&b, 16);
	assert_int_equal(subca_buf_printf(&b, "%s=%d", "n", 42), SUBCA_OK);
	assert_string_equal((char *)b.p, "n=42");
	th_assert_error(subca_buf_printf(&b, "%020d", 1), SUBCA_E_TOO_LARGE,
			"limit");
	assert_string_equal((char *)b.p, "n=42");
}

static void test_buf_secret_is_wiped_and_reusable(void **state)
{
	struct subca_buf b;

	subca_buf_init_secret(&b, 1024);
	for (int i = 0; i < 100; i++)
		assert_int_equal(subca_buf_append_str(&b, "secret"), SUBCA_OK);
	assert_int_equal(b.len, 600);
	subca_buf_cleanup(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void test_buf_append_reports_allocation_failure(void **state)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	subca_buf_init(&b, 64);
	subca_alloc_fail_after(0);
	th_assert_error(subca_buf_append(&b, "abc", 3), SUBCA_E_NOMEM,
			"out of memory");
	subca_alloc_fail_after(-1);
	assert_int_equal(b.len, 0);
	assert_int_equal(subca_buf_append(&b, "abc", 3), SUBCA_OK);
}

static void test_reader_refuses_to_read_past_end_and_keeps_cursor(void **state)
{
	struct subca_reader r;
	struct subca_slice s;

	subca_reader_init(&r, subca_slice_of("abcdef", 6));
	assert_int_equal(subca_reader_bytes(&r, 4, &s), SUBCA_OK);
	assert_memory_equal(s.p, "abcd", 4);
	th_assert_error(subca_reader_bytes(&r, 3, &s), SUBCA_E_TRUNCATED,
			"wanted 3 bytes, 2 left");
	assert_int_equal(subca_reader_left(&r), 2);
}

static void test_file_read_enforces_limit_and_names_path(void **state)
{
	char *dir = th_tmpdir();
	char path[512];
	struct subca_buf b;
	struct stat st;

	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(subca_file_write(path, "0123456789", 10, 0600), SUBCA_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(subca_file_read(path, 10, &b), SUBCA_OK);
	assert_int_equal(b.len, 10);
	subca_buf_cleanup(&b);
	th_assert_error(subca_file_read(path, 9, &b), SUBCA_E_TOO_LARGE,
			"larger than the limit of 9 bytes");
	assert_null(b.p);
	snprintf(path, sizeof(path), "%s/missing", dir);
	th_assert_error(subca_file_read(path, 9, &b), SUBCA_E_IO, "missing");
	th_rmrf(dir);
	free(dir);
}

static void test_der_decode_rejects_trailing_bytes_and_garbage(void **state)
{
	EVP_PKEY *k = th_key("ec-p256");
	X509 *x = th_cert(&(struct th_cert_opts){.subject = "/CN=t"}, k, NULL, NULL);
	size_t len;
	unsigned char *der = th_der(x, &len);
	unsigned char *more = malloc(len + 1);
	void *out = NULL;

	memcpy(more, der, len);
	more[len] = 0;
	assert_int_equal(subca_der_decode(SUBCA_DER_X509, subca_slice_of(der, len), &out), SUBCA_OK);
	X509_free(out);
	th_assert_error(subca_der_decode(SUBCA_DER_X509, subca_slice_of(more, len + 1), &out),
			SUBCA_E_TRAILING_DATA, "1 bytes of trailing data after the certificate");
	assert_null(out);
	th_assert_error(subca_der_decode(SUBCA_DER_X509, subca_slice_of(der, len - 1), &out),
			SUBCA_E_GARBAGE, "not a DER-encoded certificate");
	th_assert_error(subca_der_decode(SUBCA_DER_X509_REQ, subca_slice_of(der, len), &out),
			SUBCA_E_GARBAGE, "certificate request");
	th_assert_error(subca_der_decode(SUBCA_DER_X509, subca_slice_of(der, 0), &out),
			SUBCA_E_EMPTY, "empty");
	free(more);
	free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_der_decode_reads_a_bare_octet_string_and_nothing_more(void **state)
{
	static const unsigned char os[] = {0x04, 0x02, 0xab, 0xcd, 0x00};
	void *out = NULL;

	assert_int_equal(subca_der_decode(SUBCA_DER_OCTET_STRING,
					  subca_slice_of(os, 4), &out), SUBCA_OK);
	assert_int_equal(ASN1_STRING_length(out), 2);
	ASN1_OCTET_STRING_free(out);
	th_assert_error(subca_der_decode(SUBCA_DER_OCTET_STRING,
					 subca_slice_of(os, 5), &out),
			SUBCA_E_TRAILING_DATA, "after the OCTET STRING");
	th_assert_error(subca_der_decode(SUBCA_DER_OCTET_STRING,
					 subca_slice_of(os, 3), &out),
			SUBCA_E_GARBAGE, "not a DER-encoded OCTET STRING");
}

/* The PEM written without a BIO is PEM_write_bio_X509's, byte for byte,
 * including DER a whole number of 48-byte lines long (no empty line). */
static void test_pem_x509_matches_openssl_for_every_line_length(void **state)
{
	EVP_PKEY *k = th_key("ed25519");
	char subject[128] = "/CN=";
	bool whole = false;

	for (int i = 0; i < 60; i++) {
		SUBCA_BUF_AUTO struct subca_buf pem = {0};
		X509 *x;
		char *want;
		size_t len;
		unsigned char *der;

		strcat(subject, "a");
		x = th_cert(&(struct th_cert_opts){.subject = subject, .md = NULL},
			    k, NULL, NULL);
		want = th_pem(x);
		der = th_der(x, &len);
		whole = whole || len % 48 == 0;
		assert_int_equal(subca_pem_x509(x, &pem), SUBCA_OK);
		assert_int_equal(pem.len, strlen(want));
		assert_memory_equal(pem.p, want, pem.len);
		free(der);
		free(want);
		X509_free(x);
	}
	assert_true(whole);
	EVP_PKEY_free(k);
}

static void test_pem_x509_req_matches_openssl(void **state)
{
	EVP_PKEY *k = th_key("ec-p256");
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	SUBCA_BUF_AUTO struct subca_buf pem = {0};
	char *want = NULL;
	long n;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_pubkey(req, k), 1);
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
	n = BIO_get_mem_data(bio, &want);
	assert_int_equal(subca_pem_x509_req(req, &pem), SUBCA_OK);
	assert_int_equal(pem.len, (size_t)n);
	assert_memory_equal(pem.p, want, pem.len);
	assert_int_equal(memcmp(pem.p, "-----BEGIN CERTIFICATE REQUEST-----\n", 36), 0);
	BIO_free(bio);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_set_keeps_code_reason_and_hint),
		cmocka_unit_test(test_error_categories_map_to_status_and_exit_code),
		cmocka_unit_test(test_error_reason_is_truncated_not_overflowed),
		cmocka_unit_test(test_shown_makes_untrusted_text_printable_and_caps_it),
		cmocka_unit_test(test_buf_append_stops_at_max_and_leaves_buffer_unchanged),
		cmocka_unit_test(test_buf_printf_formats_within_limit),
		cmocka_unit_test(test_buf_secret_is_wiped_and_reusable),
		cmocka_unit_test(test_buf_append_reports_allocation_failure),
		cmocka_unit_test(test_reader_refuses_to_read_past_end_and_keeps_cursor),
		cmocka_unit_test(test_file_read_enforces_limit_and_names_path),
		cmocka_unit_test(test_der_decode_rejects_trailing_bytes_and_garbage),
		cmocka_unit_test(test_der_decode_reads_a_bare_octet_string_and_nothing_more),
		cmocka_unit_test(test_pem_x509_matches_openssl_for_every_line_length),
		cmocka_unit_test(test_pem_x509_req_matches_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
