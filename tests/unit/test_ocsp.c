/*
 * OCSP: request parsing (and its refusals), issuer matching by SHA-1 and
 * SHA-256 CertIDs, and signed good / revoked / unknown answers.
 */
#include "helpers.h"

#include <string.h>

#include <openssl/ocsp.h>

#include "subca/limits.h"
#include "subca/ocsp.h"

struct fx {
	EVP_PKEY *ca_key, *other_key, *leaf_key;
	X509 *ca, *other, *leaf;
};

static struct fx *fx_new(const char *ca_type)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct th_cert_opts ca = {.subject = "/CN=Issuing CA/O=Example",
				  .md = strcmp(ca_type, "ed25519") ? "SHA256"
								   : NULL};
	struct th_cert_opts other = {.subject = "/CN=Other CA"};
	static const struct th_ext leaf_exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{NULL, NULL},
	};
	struct th_cert_opts leaf = {.subject = "/CN=leaf.example",
				    .exts = leaf_exts,
				    .serial = 0x1234,
				    .md = ca.md};

	f->ca_key = th_key(ca_type);
	f->ca = th_cert(&ca, f->ca_key, NULL, NULL);
	f->other_key = th_key("ec-p256");
	f->other = th_cert(&other, f->other_key, NULL, NULL);
	f->leaf_key = th_key("ec-p256");
	f->leaf = th_cert(&leaf, f->leaf_key, f->ca, f->ca_key);
	return f;
}

static void fx_free(struct fx *f)
{
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->other_key);
	EVP_PKEY_free(f->leaf_key);
	X509_free(f->ca);
	X509_free(f->other);
	X509_free(f->leaf);
	free(f);
}

/* A DER request for `n` copies of the leaf's CertID with `md`. */
static unsigned char *request_der(struct fx *f, const EVP_MD *md, int n,
				  int nonce_len, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int l;

	for (int i = 0; i < n; i++)
		assert_non_null(OCSP_request_add0_id(
			req, OCSP_cert_to_id(md, f->leaf, f->ca)));
	if (nonce_len > 0)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, nonce_len), 1);
	l = i2d_OCSP_REQUEST(req, &der);
	assert_true(l > 0);
	*len = (size_t)l;
	OCSP_REQUEST_free(req);
	return der;
}

static void parse_ok(struct fx *f, const EVP_MD *md, int nonce,
		     struct subca_ocsp_request *r)
{
	size_t len;
	unsigned char *der = request_der(f, md, 1, nonce, &len);

	assert_int_equal(subca_ocsp_request_parse(subca_slice_of(der, len), r),
			 SUBCA_OK);
	OPENSSL_free(der);
}

/* Decode and verify a response signed by the CA; its single status. */
static OCSP_BASICRESP *decode_basic(struct fx *f, struct subca_buf *der)
{
	const unsigned char *p = der->p;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der->len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	OCSP_BASICRESP *bs;

	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp),
			 OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	sk_X509_push(certs, f->ca);
	assert_int_equal(OCSP_basic_verify(bs, certs, NULL,
					   OCSP_NOVERIFY | OCSP_TRUSTOTHER),
			 1);
	sk_X509_free(certs);
	OCSP_RESPONSE_free(resp);
	return bs;
}

static void respond(struct fx *f, struct subca_ocsp_request *r,
		    const struct subca_ocsp_answer *a, struct subca_buf *der)
{
	assert_int_equal(subca_ocsp_respond(r, f->ca, f->ca_key, a, der),
			 SUBCA_OK);
}

static void test_ocsp_request_parse_reads_serial_hash_and_nonce(void **s)
{
	struct fx *f = fx_new("ec-p256");
	struct subca_ocsp_request r;

	parse_ok(f, EVP_sha1(), 16, &r);
	assert_string_equal(r.serial, "1234");
	assert_ptr_equal(r.md, EVP_sha1());
	assert_true(r.nonce);
	subca_ocsp_request_cleanup(&r);
	parse_ok(f, EVP_sha256(), 0, &r);
	assert_ptr_equal(r.md, EVP_sha256());
	assert_false(r.nonce);
	subca_ocsp_request_cleanup(&r);
	fx_free(f);
}

static void test_ocsp_request_match_finds_the_issuer_by_sha1_and_sha256(void **s)
{
	struct fx *f = fx_new("ec-p256");
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256(), EVP_sha384(),
			       EVP_sha512()};
	struct subca_ocsp_request r;

	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		X509 *issuers[] = {NULL, f->other, f->ca};
		size_t idx = 99;

		parse_ok(f, mds[i], 0, &r);
		assert_int_equal(subca_ocsp_request_match(&r, issuers, 3, &idx),
				 SUBCA_OK);
		assert_int_equal(idx, 2);
		subca_ocsp_request_cleanup(&r);
	}
	fx_free(f);
}

static void test_ocsp_request_match_refuses_another_issuer(void **s)
{
	struct fx *f = fx_new("ec-p256");
	struct subca_ocsp_request r;
	X509 *issuers[] = {f->other};
	size_t idx;

	parse_ok(f, EVP_sha1(), 0, &r);
	th_assert_error(subca_ocsp_request_match(&r, issuers, 1, &idx),
			SUBCA_E_OCSP_UNKNOWN_ISSUER,
			"not an intermediate of this authority");
	assert_int_equal(subca_ocsp_error_status(SUBCA_E_OCSP_UNKNOWN_ISSUER),
			 OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	subca_ocsp_request_cleanup(&r);
	fx_free(f);
}

static void test_ocsp_respond_signs_good_with_times_and_nonce(void **s)
{
	struct fx *f = fx_new("ec-p256");
	struct subca_ocsp_request r;
	struct subca_ocsp_answer a = {.status = SUBCA_OCSP_GOOD,
				      .this_update = TH_NOW,
				      .next_update = TH_NOW + 3600};
	struct subca_buf der;
	OCSP_BASICRESP *bs;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL, *rev = NULL;
	int status = -1, reason = -1;
	int64_t t;
	OCSP_REQUEST *req;

	parse_ok(f, EVP_sha1(), 16, &r);
	respond(f, &r, &a, &der);
	bs = decode_basic(f, &der);
	assert_int_equal(OCSP_resp_find_status(bs, r.id, &status, &reason,
					       &rev, &tu, &nu),
			 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(subca_asn1_time_unix(tu, &t), SUBCA_OK);
	assert_int_equal(t, TH_NOW);
	assert_int_equal(subca_asn1_time_unix(nu, &t), SUBCA_OK);
	assert_int_equal(t, TH_NOW + 3600);
	assert_int_equal(subca_asn1_time_unix(OCSP_resp_get0_produced_at(bs),
					      &t),
			 SUBCA_OK);
	assert_int_equal(t, TH_NOW);
	/* the nonce comes back (RFC 6960 4.4.1) */
	/* no certificates attached: the issuer signs (RFC 5019 2.2.2) */
	assert_true(sk_X509_num(OCSP_resp_get0_certs(bs)) <= 0);
	req = r.req;
	assert_int_equal(OCSP_check_nonce(req, bs), 1);
	OCSP_BASICRESP_free(bs);
	subca_buf_cleanup(&der);
	subca_ocsp_request_cleanup(&r);
	fx_free(f);
}

static void test_ocsp_respond_signs_revoked_with_time_and_reason(void **s)
{
	struct fx *f = fx_new("ed25519");
	struct subca_ocsp_request r;
	struct subca_ocsp_answer a = {.status = SUBCA_OCSP_REVOKED,
				      .revoked_at = TH_NOW - 100,
				      .reason = 1,
				      .this_update = TH_NOW,
				      .next_update = TH_NOW + 3600};
	struct subca_buf der;
	OCSP_BASICRESP *bs;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL, *rev = NULL;
	int status = -1, reason = -1;
	int64_t t;

	parse_ok(f, EVP_sha256(), 0, &r);
	respond(f, &r, &a, &der);
	bs = decode_basic(f, &der);
	assert_int_equal(OCSP_resp_find_status(bs, r.id, &status, &reason,
					       &rev, &tu, &nu),
			 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, 1);
	assert_int_equal(subca_asn1_time_unix(rev, &t), SUBCA_OK);
	assert_int_equal(t, TH_NOW - 100);
	/* no nonce asked, none sent */
	assert_int_equal(OCSP_BASICRESP_get_ext_by_NID(bs,
						       NID_id_pkix_OCSP_Nonce,
						       -1),
			 -1);
	OCSP_BASICRESP_free(bs);
	subca_buf_cleanup(&der);
	subca_ocsp_request_cleanup(&r);
	fx_free(f);
}

static void test_ocsp_respond_signs_unknown_and_unspecified_revoked(void **s)
{
	struct fx *f = fx_new("rsa-2048");
	struct subca_ocsp_request r;
	struct subca_ocsp_answer a = {.status = SUBCA_OCSP_UNKNOWN,
				      .this_update = TH_NOW,
				      .next_update = TH_NOW + 60};
	struct subca_buf der;
	OCSP_BASICRESP *bs;
	int status = -1, reason = -2;

	parse_ok(f, EVP_sha1(), 0, &r);
	respond(f, &r, &a, &der);
	bs = decode_basic(f, &der);
	assert_int_equal(OCSP_resp_find_status(bs, r.id, &status, &reason,
					       NULL, NULL, NULL),
			 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
	OCSP_BASICRESP_free(bs);
	subca_buf_cleanup(&der);
	a.status = SUBCA_OCSP_REVOKED;
	a.reason = 0;
	respond(f, &r, &a, &der);
	bs = decode_basic(f, &der);
	assert_int_equal(OCSP_resp_find_status(bs, r.id, &status, &reason,
					       NULL, NULL, NULL),
			 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_NOSTATUS);
	OCSP_BASICRESP_free(bs);
	subca_buf_cleanup(&der);
	subca_ocsp_request_cleanup(&r);
	fx_free(f);
}

static void test_ocsp_respond_refuses_bad_answers(void **s)
{
	struct fx *f = fx_new("ec-p256");
	struct subca_ocsp_request r;
	struct subca_ocsp_answer a = {.status = SUBCA_OCSP_GOOD,
				      .this_update = TH_NOW,
				      .next_update = TH_NOW};
	struct subca_buf der;

	parse_ok(f, EVP_sha1(), 0, &r);
	th_assert_error(subca_ocsp_respond(&r, f->ca, f->ca_key, &a, &der),
			SUBCA_E_INVALID_ARGUMENT, "nextUpdate must be after");
	subca_buf_cleanup(&der);
	a.next_update = TH_NOW + 1;
	a.status = SUBCA_OCSP_REVOKED;
	a.reason = 7;
	th_assert_error(subca_ocsp_respond(&r, f->ca, f->ca_key, &a, &der),
			SUBCA_E_INVALID_ARGUMENT, "not an RFC 5280 CRLReason");
	subca_buf_cleanup(&der);
	subca_ocsp_request_cleanup(&r);
	fx_free(f);
}

static void parse_fails(const void *p, size_t n, subca_result code,
			const char *needle)
{
	struct subca_ocsp_request r;

	th_assert_error(subca_ocsp_request_parse(subca_slice_of(p, n), &r),
			code, needle);
	assert_null(r.req);
}

static void test_ocsp_request_parse_refuses_garbage_truncation_and_size(void **s)
{
	struct fx *f = fx_new("ec-p256");
	size_t len;
	unsigned char *der = request_der(f, EVP_sha1(), 1, 0, &len);
	unsigned char *big = calloc(1, SUBCA_MAX_OCSP_REQUEST + 2);

	parse_fails("hello", 5, SUBCA_E_GARBAGE, "not a DER-encoded OCSP request");
	parse_fails(der, len - 1, SUBCA_E_GARBAGE, "OCSP request");
	parse_fails("", 0, SUBCA_E_EMPTY, "empty");
	memcpy(big, der, len);
	parse_fails(big, len + 1, SUBCA_E_TRAILING_DATA, "1 bytes of trailing");
	/* at the cap: decoded (and refused for what it is); past it: size */
	parse_fails(big, SUBCA_MAX_OCSP_REQUEST, SUBCA_E_TRAILING_DATA,
		    "trailing data");
	parse_fails(big, SUBCA_MAX_OCSP_REQUEST + 1, SUBCA_E_TOO_LARGE,
		    "over the limit of 4096");
	assert_int_equal(subca_ocsp_error_status(SUBCA_E_GARBAGE),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	assert_int_equal(subca_ocsp_error_status(SUBCA_E_TOO_LARGE),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	assert_int_equal(subca_ocsp_error_status(SUBCA_E_STORE),
			 OCSP_RESPONSE_STATUS_INTERNALERROR);
	free(big);
	OPENSSL_free(der);
	fx_free(f);
}

static void test_ocsp_request_parse_caps_the_certificates_asked(void **s)
{
	struct fx *f = fx_new("ec-p256");
	struct subca_ocsp_request r;
	size_t len;
	unsigned char *der;

	der = request_der(f, EVP_sha1(), SUBCA_MAX_OCSP_CERTS, 0, &len);
	assert_int_equal(subca_ocsp_request_parse(subca_slice_of(der, len), &r),
			 SUBCA_OK);
	subca_ocsp_request_cleanup(&r);
	OPENSSL_free(der);
	der = request_der(f, EVP_sha1(), SUBCA_MAX_OCSP_CERTS + 1, 0, &len);
	parse_fails(der, len, SUBCA_E_OCSP_MALFORMED,
		    "asks about 5 certificates; at most 4");
	OPENSSL_free(der);
	der = request_der(f, EVP_sha1(), 0, 0, &len);
	parse_fails(der, len, SUBCA_E_OCSP_MALFORMED, "asks about no certificate");
	OPENSSL_free(der);
	fx_free(f);
}

static void test_ocsp_request_parse_refuses_md5_and_long_nonces(void **s)
{
	struct fx *f = fx_new("ec-p256");
	size_t len;
	unsigned char *der = request_der(f, EVP_md5(), 1, 0, &len);

	parse_fails(der, len, SUBCA_E_OCSP_MALFORMED, "not SHA-1 or SHA-2");
	OPENSSL_free(der);
	der = request_der(f, EVP_sha1(), 1, SUBCA_MAX_OCSP_NONCE, &len);
	{
		struct subca_ocsp_request r;

		assert_int_equal(subca_ocsp_request_parse(
					 subca_slice_of(der, len), &r),
				 SUBCA_OK);
		subca_ocsp_request_cleanup(&r);
	}
	OPENSSL_free(der);
	der = request_der(f, EVP_sha1(), 1, SUBCA_MAX_OCSP_NONCE + 1, &len);
	parse_fails(der, len, SUBCA_E_OCSP_MALFORMED, "longer than 32 bytes");
	OPENSSL_free(der);
	fx_free(f);
}

/* Every truncation and every single-bit flip either parses or is refused
 * with an input error; none crashes or leaks (ASan). */
static void test_ocsp_request_parse_survives_truncations_and_bit_flips(void **s)
{
	struct fx *f = fx_new("ec-p256");
	size_t len;
	unsigned char *der = request_der(f, EVP_sha256(), 1, 8, &len);
	unsigned char *buf = malloc(len);

	for (size_t n = 0; n < len; n++) {
		struct subca_ocsp_request r;
		subca_result rv = subca_ocsp_request_parse(subca_slice_of(der, n),
							   &r);

		assert_int_not_equal(rv, SUBCA_OK);
		assert_int_equal(subca_error_category(rv), SUBCA_CAT_INPUT);
	}
	for (size_t i = 0; i < len * 8; i++) {
		struct subca_ocsp_request r;
		subca_result rv;

		memcpy(buf, der, len);
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
		rv = subca_ocsp_request_parse(subca_slice_of(buf, len), &r);
		if (rv == SUBCA_OK)
			subca_ocsp_request_cleanup(&r);
		else
			assert_int_equal(subca_error_category(rv),
					 SUBCA_CAT_INPUT);
	}
	free(buf);
	OPENSSL_free(der);
	fx_free(f);
}

static void test_ocsp_error_response_carries_the_status(void **s)
{
	struct subca_buf der;
	const unsigned char *p;
	OCSP_RESPONSE *resp;

	assert_int_equal(subca_ocsp_error_response(SUBCA_E_OCSP_MALFORMED, &der),
			 SUBCA_OK);
	p = der.p;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der.len);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp),
			 OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	assert_null(OCSP_response_get1_basic(resp));
	OCSP_RESPONSE_free(resp);
	subca_buf_cleanup(&der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ocsp_request_parse_reads_serial_hash_and_nonce),
		cmocka_unit_test(test_ocsp_request_match_finds_the_issuer_by_sha1_and_sha256),
		cmocka_unit_test(test_ocsp_request_match_refuses_another_issuer),
		cmocka_unit_test(test_ocsp_respond_signs_good_with_times_and_nonce),
		cmocka_unit_test(test_ocsp_respond_signs_revoked_with_time_and_reason),
		cmocka_unit_test(test_ocsp_respond_signs_unknown_and_unspecified_revoked),
		cmocka_unit_test(test_ocsp_respond_refuses_bad_answers),
		cmocka_unit_test(test_ocsp_request_parse_refuses_garbage_truncation_and_size),
		cmocka_unit_test(test_ocsp_request_parse_caps_the_certificates_asked),
		cmocka_unit_test(test_ocsp_request_parse_refuses_md5_and_long_nonces),
		cmocka_unit_test(test_ocsp_request_parse_survives_truncations_and_bit_flips),
		cmocka_unit_test(test_ocsp_error_response_carries_the_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
