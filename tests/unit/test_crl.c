/*
 * CRL building: the RFC 5280 section 5 profile, entry order, reason codes,
 * and refusals of bad entries and parameters.
 */
#include "helpers.h"

#include <string.h>

#include <openssl/x509v3.h>

#include "subca/crl.h"
#include "subca/limits.h"

struct fx {
	EVP_PKEY *key;
	X509 *ca;
	struct subca_crl_builder *b;
};

static struct fx *fx_new(const char *type, const struct th_ext *exts)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct th_cert_opts o = {.subject = "/CN=Issuing CA/O=Example",
				 .exts = exts,
				 .md = strcmp(type, "ed25519") ? "SHA256" : NULL};

	f->key = th_key(type);
	f->ca = th_cert(&o, f->key, NULL, NULL);
	assert_int_equal(subca_crl_builder_new(&f->b), SUBCA_OK);
	return f;
}

static void fx_free(struct fx *f)
{
	subca_crl_builder_free(f->b);
	EVP_PKEY_free(f->key);
	X509_free(f->ca);
	free(f);
}

static struct subca_crl_params params(struct fx *f, int64_t number)
{
	struct subca_crl_params p = {.issuer = f->ca,
				     .key = f->key,
				     .number = number,
				     .this_update = TH_NOW,
				     .next_update = TH_NOW + TH_DAY};
	return p;
}

static X509_CRL *sign(struct fx *f, int64_t number)
{
	struct subca_crl_params p = params(f, number);
	struct subca_buf der;
	void *crl = NULL;

	assert_int_equal(subca_crl_builder_sign(f->b, &p, &der), SUBCA_OK);
	assert_int_equal(subca_der_decode(SUBCA_DER_X509_CRL,
					  subca_buf_slice(&der), &crl),
			 SUBCA_OK);
	subca_buf_cleanup(&der);
	return crl;
}

static long entry_reason(X509_REVOKED *r)
{
	int crit = 0;
	ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit,
						      NULL);
	long v = e ? ASN1_ENUMERATED_get(e) : -1;

	ASN1_ENUMERATED_free(e);
	return v;
}

static void test_crl_builder_signs_a_v2_crl_with_number_aki_and_times(void **s)
{
	struct fx *f = fx_new("ec-p256", NULL);
	X509_CRL *crl;
	AUTHORITY_KEYID *akid;
	ASN1_INTEGER *num;
	int64_t t;

	assert_int_equal(subca_crl_builder_add(f->b, "1f", TH_NOW - 60, 1),
			 SUBCA_OK);
	crl = sign(f, 42);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(crl, f->key), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
				       X509_get_subject_name(f->ca)),
			 0);
	assert_int_equal(subca_asn1_time_unix(X509_CRL_get0_lastUpdate(crl),
					      &t),
			 SUBCA_OK);
	assert_int_equal(t, TH_NOW);
	assert_int_equal(subca_asn1_time_unix(X509_CRL_get0_nextUpdate(crl),
					      &t),
			 SUBCA_OK);
	assert_int_equal(t, TH_NOW + TH_DAY);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	/* RFC 5280 5.2.1: the issuer's own SKI bytes */
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
				    NULL);
	assert_non_null(akid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid,
					       X509_get0_subject_key_id(f->ca)),
			 0);
	AUTHORITY_KEYID_free(akid);
	X509_CRL_free(crl);
	fx_free(f);
}

static void test_crl_builder_sorts_entries_and_writes_reasons(void **s)
{
	struct fx *f = fx_new("ec-p256", NULL);
	STACK_OF(X509_REVOKED) *revs;
	X509_CRL *crl;
	char hex[48];

	assert_int_equal(subca_crl_builder_add(f->b, "ff00", TH_NOW - 10, 1),
			 SUBCA_OK);
	assert_int_equal(subca_crl_builder_add(f->b, "0A", TH_NOW - 20, 0),
			 SUBCA_OK);
	assert_int_equal(subca_crl_builder_add(f->b, "1234", TH_NOW - 30, 4),
			 SUBCA_OK);
	assert_int_equal(subca_crl_builder_count(f->b), 3);
	crl = sign(f, 1);
	revs = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(revs), 3);
	assert_int_equal(subca_serial_hex(X509_REVOKED_get0_serialNumber(
						  sk_X509_REVOKED_value(revs, 0)),
					  hex, sizeof(hex)),
			 SUBCA_OK);
	assert_string_equal(hex, "a");
	/* RFC 5280 5.3.1: unspecified is left out */
	assert_int_equal(entry_reason(sk_X509_REVOKED_value(revs, 0)), -1);
	assert_int_equal(entry_reason(sk_X509_REVOKED_value(revs, 1)), 4);
	assert_int_equal(entry_reason(sk_X509_REVOKED_value(revs, 2)), 1);
	X509_CRL_free(crl);
	fx_free(f);
}

static void test_crl_builder_encodes_zero_serials_and_times_after_2049(void **s)
{
	struct fx *f = fx_new("rsa-2048", NULL);
	STACK_OF(X509_REVOKED) *revs;
	X509_CRL *crl;
	int64_t t;
	char hex[48];
	const int64_t y2051 = 2556144000; /* 2051-01-01: GeneralizedTime */

	assert_int_equal(subca_crl_builder_add(f->b, "00", y2051, 2), SUBCA_OK);
	assert_int_equal(subca_crl_builder_add(f->b, "80", TH_NOW, 0), SUBCA_OK);
	crl = sign(f, 3);
	assert_int_equal(X509_CRL_verify(crl, f->key), 1);
	revs = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(revs), 2);
	assert_int_equal(subca_serial_hex(X509_REVOKED_get0_serialNumber(
						  sk_X509_REVOKED_value(revs, 0)),
					  hex, sizeof(hex)),
			 SUBCA_OK);
	assert_string_equal(hex, "0");
	assert_int_equal(ASN1_STRING_type(X509_REVOKED_get0_revocationDate(
				 sk_X509_REVOKED_value(revs, 0))),
			 V_ASN1_GENERALIZEDTIME);
	assert_int_equal(subca_asn1_time_unix(X509_REVOKED_get0_revocationDate(
						      sk_X509_REVOKED_value(revs, 0)),
					      &t),
			 SUBCA_OK);
	assert_int_equal(t, y2051);
	/* 0x80 needs a leading zero byte to stay positive */
	assert_int_equal(subca_serial_hex(X509_REVOKED_get0_serialNumber(
						  sk_X509_REVOKED_value(revs, 1)),
					  hex, sizeof(hex)),
			 SUBCA_OK);
	assert_string_equal(hex, "80");
	X509_CRL_free(crl);
	fx_free(f);
}

static void test_crl_builder_signs_an_empty_crl_with_ed25519(void **s)
{
	struct fx *f = fx_new("ed25519", NULL);
	X509_CRL *crl = sign(f, 1);

	assert_null(X509_CRL_get_REVOKED(crl));
	assert_int_equal(X509_CRL_verify(crl, f->key), 1);
	X509_CRL_free(crl);
	fx_free(f);
}

static void test_crl_builder_keeps_many_entries_in_serial_order(void **s)
{
	struct fx *f = fx_new("ec-p256", NULL);
	STACK_OF(X509_REVOKED) *revs;
	X509_CRL *crl;
	char hex[16];

	for (int i = 5000; i > 0; i--) {
		snprintf(hex, sizeof(hex), "%x", i * 7919 % 100003);
		assert_int_equal(subca_crl_builder_add(f->b, hex, TH_NOW, 1),
				 SUBCA_OK);
	}
	crl = sign(f, 7);
	revs = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(revs), 5000);
	for (int i = 1; i < 5000; i++)
		assert_true(ASN1_INTEGER_cmp(
				    X509_REVOKED_get0_serialNumber(
					    sk_X509_REVOKED_value(revs, i - 1)),
				    X509_REVOKED_get0_serialNumber(
					    sk_X509_REVOKED_value(revs, i))) < 0);
	X509_CRL_free(crl);
	fx_free(f);
}

static void test_crl_builder_refuses_bad_serials_and_reasons(void **s)
{
	struct fx *f = fx_new("ec-p256", NULL);
	char long_hex[42];

	memset(long_hex, 'a', 41);
	long_hex[41] = '\0';
	th_assert_error(subca_crl_builder_add(f->b, "xyz", TH_NOW, 1),
			SUBCA_E_INVALID_ARGUMENT, "is not 1 to 40 hex digits");
	th_assert_error(subca_crl_builder_add(f->b, "-1f", TH_NOW, 1),
			SUBCA_E_INVALID_ARGUMENT, "is not 1 to 40 hex digits");
	th_assert_error(subca_crl_builder_add(f->b, "", TH_NOW, 1),
			SUBCA_E_INVALID_ARGUMENT, "is not 1 to 40 hex digits");
	th_assert_error(subca_crl_builder_add(f->b, long_hex, TH_NOW, 1),
			SUBCA_E_INVALID_ARGUMENT, "is not 1 to 40 hex digits");
	long_hex[40] = '\0'; /* at the limit */
	assert_int_equal(subca_crl_builder_add(f->b, long_hex, TH_NOW, 1),
			 SUBCA_OK);
	th_assert_error(subca_crl_builder_add(f->b, "1f", TH_NOW, 7),
			SUBCA_E_INVALID_ARGUMENT, "not an RFC 5280 CRLReason");
	th_assert_error(subca_crl_builder_add(f->b, "1f", TH_NOW, 11),
			SUBCA_E_INVALID_ARGUMENT, "not an RFC 5280 CRLReason");
	th_assert_error(subca_crl_builder_add(f->b, "1f", TH_NOW, -1),
			SUBCA_E_INVALID_ARGUMENT, "not an RFC 5280 CRLReason");
	assert_int_equal(subca_crl_builder_count(f->b), 1);
	fx_free(f);
}

static void test_crl_builder_refuses_bad_parameters(void **s)
{
	struct fx *f = fx_new("ec-p256", NULL);
	struct subca_crl_params p = params(f, 0);
	struct subca_buf der;

	th_assert_error(subca_crl_builder_sign(f->b, &p, &der),
			SUBCA_E_INVALID_ARGUMENT, "CRL number 0 is not positive");
	subca_buf_cleanup(&der);
	p = params(f, 1);
	p.next_update = p.this_update;
	th_assert_error(subca_crl_builder_sign(f->b, &p, &der),
			SUBCA_E_INVALID_ARGUMENT, "nextUpdate must be after");
	subca_buf_cleanup(&der);
	fx_free(f);
}

static void test_crl_builder_refuses_an_issuer_without_ski_or_crlsign(void **s)
{
	static const struct th_ext no_ski[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL},
	};
	static const struct th_ext no_crlsign[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct fx *f = fx_new("ec-p256", no_ski);
	struct fx *g = fx_new("ec-p256", no_crlsign);
	struct subca_crl_params p = params(f, 1);
	struct subca_buf der;

	th_assert_error(subca_crl_builder_sign(f->b, &p, &der),
			SUBCA_E_INVALID_ARGUMENT, "no subject key identifier");
	subca_buf_cleanup(&der);
	p = params(g, 1);
	th_assert_error(subca_crl_builder_sign(g->b, &p, &der), SUBCA_E_NOT_CA,
			"lacks cRLSign");
	subca_buf_cleanup(&der);
	fx_free(f);
	fx_free(g);
}

static void test_crl_reason_names_follow_rfc5280(void **s)
{
	assert_string_equal(subca_crl_reason_name(0), "unspecified");
	assert_string_equal(subca_crl_reason_name(1), "keyCompromise");
	assert_string_equal(subca_crl_reason_name(10), "aACompromise");
	assert_null(subca_crl_reason_name(7));
	assert_null(subca_crl_reason_name(11));
	assert_null(subca_crl_reason_name(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crl_builder_signs_a_v2_crl_with_number_aki_and_times),
		cmocka_unit_test(test_crl_builder_sorts_entries_and_writes_reasons),
		cmocka_unit_test(test_crl_builder_encodes_zero_serials_and_times_after_2049),
		cmocka_unit_test(test_crl_builder_signs_an_empty_crl_with_ed25519),
		cmocka_unit_test(test_crl_builder_keeps_many_entries_in_serial_order),
		cmocka_unit_test(test_crl_builder_refuses_bad_serials_and_reasons),
		cmocka_unit_test(test_crl_builder_refuses_bad_parameters),
		cmocka_unit_test(test_crl_builder_refuses_an_issuer_without_ski_or_crlsign),
		cmocka_unit_test(test_crl_reason_names_follow_rfc5280),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
