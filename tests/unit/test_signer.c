/* Unit tests of the offline signer, generated roots, serials and validity. */
#include "helpers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "subca/csr.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"
#include "subca/signer.h"

struct th_root {
	EVP_PKEY *key;
	X509 *cert;
};

static struct th_root th_root_make(const char *type, const struct th_ext *exts,
				   long not_after)
{
	struct th_root r;
	struct th_cert_opts o = {.subject = "/CN=Test Root/O=Example",
				 .exts = exts,
				 .not_after = not_after,
				 .md = strcmp(type, "ed25519") == 0 ? NULL
								   : "SHA256"};

	r.key = th_key(type);
	r.cert = th_cert(&o, r.key, NULL, NULL);
	return r;
}

static void th_root_free(struct th_root *r)
{
	X509_free(r->cert);
	EVP_PKEY_free(r->key);
}

static X509_REQ *th_csr(EVP_PKEY *key, int path_len, bool with_nc)
{
	const char *dns[] = {"example.com"};
	const char *ip[] = {"10.0.0.0/8"};
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA",
		.org = "Example",
		.country = "US",
		.path_len = path_len,
		.days = 365,
	};
	X509_REQ *req = NULL;

	if (with_nc) {
		p.nc.permit_dns = (struct subca_names){dns, 1};
		p.nc.exclude_ip = (struct subca_names){ip, 1};
	}
	if (subca_csr_build(&p, key, &req) != SUBCA_OK)
		fail_msg("csr_build: %s", subca_error_reason());
	return req;
}

static struct subca_sign_intermediate_opts th_opts(int days, int path_len)
{
	struct subca_sign_intermediate_opts o = {
		.days = days, .path_len = path_len, .now = TH_NOW};
	return o;
}

static X509 *th_sign_ok(struct th_root *r, X509_REQ *csr,
			const struct subca_sign_intermediate_opts *o)
{
	X509 *x = NULL;

	if (subca_signer_sign_intermediate(r->cert, r->key, csr, o, &x) !=
	    SUBCA_OK)
		fail_msg("sign: %s", subca_error_reason());
	assert_non_null(x);
	return x;
}

/* Strict RFC 5280 path validation of `x` under the trust anchor `root`. */
static int th_verify_chain(X509 *root, X509 *x, time_t at)
{
	SUBCA_AUTO(X509_STORE) X509_STORE *st = X509_STORE_new();
	SUBCA_AUTO(X509_STORE_CTX) X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	X509_STORE_add_cert(st, root);
	X509_STORE_CTX_init(ctx, st, x, NULL);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) == 1)
		return X509_V_OK;
	return X509_STORE_CTX_get_error(ctx);
}

static long th_pathlen(X509 *x, int *crit)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, crit,
						 NULL);
	long v;

	assert_non_null(bc);
	assert_true(bc->ca);
	v = bc->pathlen ? ASN1_INTEGER_get(bc->pathlen) : -1;
	BASIC_CONSTRAINTS_free(bc);
	return v;
}

static void th_assert_der_equal(const void *a, const void *b,
				int (*i2d)(const void *, unsigned char **))
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d(a, &da), lb = i2d(b, &db);

	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, (size_t)la);
	OPENSSL_free(da);
	OPENSSL_free(db);
}

static int th_i2d_name(const void *n, unsigned char **out)
{
	return i2d_X509_NAME((const X509_NAME *)n, out);
}

static int th_i2d_os(const void *s, unsigned char **out)
{
	return i2d_ASN1_OCTET_STRING((const ASN1_OCTET_STRING *)s, out);
}

static int th_i2d_nc(const void *nc, unsigned char **out)
{
	return ASN1_item_i2d((const ASN1_VALUE *)nc, out,
			     ASN1_ITEM_rptr(NAME_CONSTRAINTS));
}

/* ---- serials and validity ---------------------------------------------- */

static uint64_t serial_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The 46 bits of milliseconds after the top bits 01. */
static uint64_t serial_ms(const ASN1_INTEGER *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	uint64_t ms = p[0] & 0x3f;

	for (int i = 1; i < 6; i++)
		ms = ms << 8 | p[i];
	return ms;
}

static void test_serial_new_is_positive_20_octets_timed_and_distinct(void **state)
{
	unsigned char seen[8][14];

	for (int i = 0; i < 8; i++) {
		SUBCA_AUTO(ASN1_INTEGER) ASN1_INTEGER *s = NULL;
		SUBCA_AUTO(BIGNUM) BIGNUM *bn = NULL;
		uint64_t before = serial_now_ms(), after;

		assert_int_equal(subca_serial_new(&s), SUBCA_OK);
		after = serial_now_ms();
		bn = ASN1_INTEGER_to_BN(s, NULL);
		assert_false(BN_is_negative(bn));
		assert_int_equal(BN_num_bits(bn), 159);
		assert_int_equal(ASN1_STRING_length(s), 20);
		assert_int_equal(ASN1_STRING_get0_data(s)[0] & 0xc0, 0x40);
		assert_in_range(serial_ms(s), before, after);
		/* the 112 random bits differ even within one millisecond */
		memcpy(seen[i], ASN1_STRING_get0_data(s) + 6, 14);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], 14);
	}
}

/* Later serials sort after earlier ones, as numbers and as the hex text
 * the store indexes, whatever their random parts. */
static void test_serial_at_orders_by_time(void **state)
{
	uint64_t ms[] = {0, 1, 999, 1000, 1795459028249u, 1795459028250u,
			 (UINT64_C(1) << 46) - 1};
	char prev[64] = "", hex[64];

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		SUBCA_AUTO(ASN1_INTEGER) ASN1_INTEGER *s = NULL;

		assert_int_equal(subca_serial_at(ms[i], &s), SUBCA_OK);
		assert_int_equal(ASN1_STRING_length(s), 20);
		assert_int_equal(serial_ms(s), ms[i]);
		assert_int_equal(subca_serial_hex(s, hex, sizeof(hex)), SUBCA_OK);
		assert_int_equal(strlen(hex), 40);
		assert_true(strcmp(prev, hex) < 0);
		memcpy(prev, hex, sizeof(prev));
	}
}

/* Past 4199 the time wraps, and the serial stays positive and 20 octets. */
static void test_serial_at_keeps_its_form_past_46_bits(void **state)
{
	SUBCA_AUTO(ASN1_INTEGER) ASN1_INTEGER *s = NULL;
	SUBCA_AUTO(BIGNUM) BIGNUM *bn = NULL;

	assert_int_equal(subca_serial_at(UINT64_MAX, &s), SUBCA_OK);
	bn = ASN1_INTEGER_to_BN(s, NULL);
	assert_false(BN_is_negative(bn));
	assert_int_equal(BN_num_bits(bn), 159);
	assert_int_equal(ASN1_STRING_length(s), 20);
	assert_int_equal(serial_ms(s), (UINT64_C(1) << 46) - 1);
}

static void test_validity_set_backdates_one_minute_and_adds_days(void **state)
{
	SUBCA_AUTO(X509) X509 *x = X509_new();
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *nb = ASN1_TIME_set(NULL, TH_NOW - 60);
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *na =
		ASN1_TIME_set(NULL, TH_NOW + 30 * TH_DAY);
	int capped = -1;

	assert_int_equal(subca_validity_set(x, TH_NOW, 30, NULL, &capped),
			 SUBCA_OK);
	assert_int_equal(capped, 0);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notBefore(x), nb), 0);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), na), 0);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_UTCTIME);
}

static void test_validity_set_uses_generalized_time_from_2050(void **state)
{
	SUBCA_AUTO(X509) X509 *x = X509_new();

	/* 2026 + 9000 days is 2050 */
	assert_int_equal(subca_validity_set(x, TH_NOW, 9000, NULL, NULL),
			 SUBCA_OK);
	assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)),
			 V_ASN1_UTCTIME);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)),
			 V_ASN1_GENERALIZEDTIME);
}

static void test_validity_set_caps_at_issuer_not_after(void **state)
{
	SUBCA_AUTO(X509) X509 *x = X509_new();
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *cap = ASN1_TIME_set(NULL, TH_NOW + 10 * TH_DAY);
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *gcap = NULL;
	int capped = 0;

	assert_int_equal(subca_validity_set(x, TH_NOW, 30, cap, &capped),
			 SUBCA_OK);
	assert_int_equal(capped, 1);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), cap), 0);
	/* exactly at the cap is not capped */
	assert_int_equal(subca_validity_set(x, TH_NOW, 10, cap, &capped),
			 SUBCA_OK);
	assert_int_equal(capped, 0);
	/* a cap written as GeneralizedTime before 2050 comes out as UTCTime */
	gcap = ASN1_GENERALIZEDTIME_set(NULL, TH_NOW + 10 * TH_DAY);
	assert_int_equal(subca_validity_set(x, TH_NOW, 30, gcap, &capped),
			 SUBCA_OK);
	assert_int_equal(capped, 1);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_UTCTIME);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), cap), 0);
}

static void test_validity_set_refuses_expired_cap_and_bad_days(void **state)
{
	SUBCA_AUTO(X509) X509 *x = X509_new();
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *cap = ASN1_TIME_set(NULL, TH_NOW - 60);

	th_assert_error(subca_validity_set(x, TH_NOW, 30, cap, NULL),
			SUBCA_E_EXPIRED,
			"the issuing certificate expires before the new "
			"certificate's notBefore");
	th_assert_error(subca_validity_set(x, TH_NOW, 0, NULL, NULL),
			SUBCA_E_INVALID_ARGUMENT,
			"a lifetime of 0 days is out of range (1 to 36600)");
	assert_int_equal(subca_validity_set(x, TH_NOW, SUBCA_MAX_VALIDITY_DAYS,
					    NULL, NULL),
			 SUBCA_OK);
	th_assert_error(subca_validity_set(x, TH_NOW,
					   SUBCA_MAX_VALIDITY_DAYS + 1, NULL,
					   NULL),
			SUBCA_E_INVALID_ARGUMENT, "36601 days is out of range");
}

/* ---- sign_intermediate ------------------------------------------------- */

static void test_sign_intermediate_keeps_subject_key_and_builds_v3_ca(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 1, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *nb = ASN1_TIME_set(NULL, TH_NOW - 60);
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *na = ASN1_TIME_set(NULL, TH_NOW + 365 * TH_DAY);
	SUBCA_AUTO(BIGNUM) BIGNUM *serial = ASN1_INTEGER_to_BN(
		X509_get0_serialNumber(x), NULL);
	int crit = -1;
	uint32_t ku;

	th_assert_der_equal(X509_get_subject_name(x),
			    X509_REQ_get_subject_name(csr), th_i2d_name);
	th_assert_der_equal(X509_get_issuer_name(x),
			    X509_get_subject_name(r.cert), th_i2d_name);
	assert_int_equal(subca_key_public_equal(X509_get0_pubkey(x), ik), 1);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_false(BN_is_negative(serial));
	assert_true(BN_num_bits(serial) >= 64);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notBefore(x), nb), 0);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), na), 0);
	assert_int_equal(th_pathlen(x, &crit), 1);
	assert_int_equal(crit, 1);
	ku = X509_get_key_usage(x);
	assert_int_equal(ku, KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(X509_EXTENSION_get_critical(
		X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1))));
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(X509_get_ext_by_NID(x, NID_name_constraints, -1), -1);
	assert_int_equal(X509_verify(x, r.key), 1);
	assert_int_equal(th_verify_chain(r.cert, x, TH_NOW + 3600), X509_V_OK);
	/* an EC P-256 root signs with SHA-256 */
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	th_root_free(&r);
}

static void test_sign_intermediate_copies_root_ski_into_aki(void **state)
{
	struct th_root r = th_root_make("rsa-2048", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);
	SUBCA_AUTO(AUTHORITY_KEYID) AUTHORITY_KEYID *akid =
		X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);

	assert_non_null(akid);
	assert_non_null(akid->keyid);
	assert_null(akid->issuer);
	assert_null(akid->serial);
	th_assert_der_equal(akid->keyid, X509_get0_subject_key_id(r.cert),
			    th_i2d_os);
	th_root_free(&r);
}

static void test_sign_intermediate_never_recomputes_a_foreign_ski(void **state)
{
	/* certtool-style SKI: not RFC 5280 method 1 */
	const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "0102030405060708090A0B0C0D0E0F1011121314"},
		{NULL, NULL}};
	struct th_root r = th_root_make("ec-p384", exts, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(x);

	assert_non_null(akid);
	assert_int_equal(ASN1_STRING_length(akid), 20);
	assert_memory_equal(ASN1_STRING_get0_data(akid),
			    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
			    "\x0d\x0e\x0f\x10\x11\x12\x13\x14",
			    20);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	assert_int_equal(th_verify_chain(r.cert, x, TH_NOW + 3600), X509_V_OK);
	th_root_free(&r);
}

static void test_sign_intermediate_uses_issuer_and_serial_without_root_ski(void **state)
{
	const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL}};
	struct th_root r = th_root_make("ec-p256", exts, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);
	SUBCA_AUTO(AUTHORITY_KEYID) AUTHORITY_KEYID *akid =
		X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
	GENERAL_NAME *gn;

	assert_non_null(akid);
	assert_null(akid->keyid);
	assert_int_equal(sk_GENERAL_NAME_num(akid->issuer), 1);
	gn = sk_GENERAL_NAME_value(akid->issuer, 0);
	assert_int_equal(gn->type, GEN_DIRNAME);
	assert_int_equal(X509_NAME_cmp(gn->d.dirn, X509_get_issuer_name(r.cert)),
			 0);
	assert_int_equal(ASN1_INTEGER_cmp(akid->serial,
					  X509_get0_serialNumber(r.cert)),
			 0);
	assert_int_equal(X509_verify(x, r.key), 1);
	th_root_free(&r);
}

static void test_sign_intermediate_path_length_options(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr3 = th_csr(ik, 3, false);
	SUBCA_AUTO(X509_REQ) X509_REQ *csrnone = th_csr(ik, -1, false);
	SUBCA_AUTO(X509_REQ) X509_REQ *plain = X509_REQ_new();
	struct {
		X509_REQ *csr;
		int opt;
		long want;
	} cases[] = {
		{csr3, -2, 3}, {csr3, -1, -1}, {csr3, 0, 0},  {csr3, 2, 2},
		{csrnone, -2, -1}, {csrnone, 5, 5}, {plain, -2, 0},
	};

	/* a CSR without any extension request */
	X509_REQ_set_subject_name(plain, X509_REQ_get_subject_name(csr3));
	X509_REQ_set_pubkey(plain, ik);
	X509_REQ_sign(plain, ik, EVP_sha256());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct subca_sign_intermediate_opts o = th_opts(30, cases[i].opt);
		SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, cases[i].csr, &o);
		int crit = 0;

		assert_int_equal(th_pathlen(x, &crit), cases[i].want);
		assert_int_equal(crit, 1);
	}
	th_root_free(&r);
}

static void test_sign_intermediate_copies_name_constraints_critical(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, true);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);
	struct subca_csr_request req;
	int crit = -1;
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc =
		X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);

	assert_non_null(nc);
	assert_int_equal(crit, 1);
	assert_int_equal(subca_csr_requested(csr, &req), SUBCA_OK);
	th_assert_der_equal(nc, req.nc, th_i2d_nc);
	subca_csr_request_cleanup(&req);
	assert_int_equal(th_verify_chain(r.cert, x, TH_NOW + 3600), X509_V_OK);
	th_root_free(&r);
}

static void test_sign_intermediate_caps_days_at_root_not_after(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 100 * TH_DAY);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);

	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x),
					   X509_get0_notAfter(r.cert)),
			 0);
	th_root_free(&r);
}

static void test_sign_intermediate_refuses_bad_csr_signature(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *other = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	X509 *x = (X509 *)1;

	/* signed by a key other than the one it carries */
	assert_true(X509_REQ_sign(csr, other, EVP_sha256()) > 0);
	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, csr, &o,
						       &x),
			SUBCA_E_CSR_SIGNATURE,
			"the CSR's self-signature does not verify");
	assert_null(x);
	th_root_free(&r);
}

static void test_sign_intermediate_refuses_mismatched_root_key(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *wrong = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	X509 *x = NULL;

	th_assert_error(subca_signer_sign_intermediate(r.cert, wrong, csr, &o,
						       &x),
			SUBCA_E_ROOT_KEY_MISMATCH,
			"the root key does not match the root certificate");
	assert_null(x);
	th_root_free(&r);
}

static void test_sign_intermediate_refuses_weak_keys(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	struct th_root weak = th_root_make("rsa-1024", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *wk = th_key("rsa-1024");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	SUBCA_AUTO(X509_REQ) X509_REQ *wcsr = X509_REQ_new();
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	X509 *x = NULL;

	X509_REQ_set_subject_name(wcsr, X509_REQ_get_subject_name(csr));
	X509_REQ_set_pubkey(wcsr, wk);
	X509_REQ_sign(wcsr, wk, EVP_sha256());
	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, wcsr, &o,
						       &x),
			SUBCA_E_WEAK_KEY, "the CSR's key is RSA-1024");
	th_assert_error(subca_signer_sign_intermediate(weak.cert, weak.key, csr,
						       &o, &x),
			SUBCA_E_WEAK_KEY, "root key is RSA-1024");
	assert_null(x);
	th_root_free(&r);
	th_root_free(&weak);
}

static void test_sign_intermediate_refuses_roots_that_cannot_sign_cas(void **state)
{
	const struct th_ext leaf[] = {{"basicConstraints", "critical,CA:FALSE"},
				      {NULL, NULL}};
	const struct th_ext pl0[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL}};
	const struct th_ext noku[] = {{"basicConstraints", "critical,CA:TRUE"},
				      {"keyUsage", "critical,digitalSignature"},
				      {NULL, NULL}};
	struct th_root a = th_root_make("ec-p256", leaf, 0);
	struct th_root b = th_root_make("ec-p256", pl0, 0);
	struct th_root c = th_root_make("ec-p256", noku, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(365, -2);
	X509 *x = NULL;

	th_assert_error(subca_signer_sign_intermediate(a.cert, a.key, csr, &o,
						       &x),
			SUBCA_E_NOT_CA, "the root certificate is not a CA");
	th_assert_error(subca_signer_sign_intermediate(b.cert, b.key, csr, &o,
						       &x),
			SUBCA_E_PATHLEN_FORBIDDEN, "has path length 0");
	th_assert_error(subca_signer_sign_intermediate(c.cert, c.key, csr, &o,
						       &x),
			SUBCA_E_NO_KEYCERTSIGN, "keyUsage lacks keyCertSign");
	assert_null(x);
	th_root_free(&a);
	th_root_free(&b);
	th_root_free(&c);
}

static void test_sign_intermediate_validates_options(void **state)
{
	struct th_root r = th_root_make("ec-p256", NULL, 0);
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, false);
	struct subca_sign_intermediate_opts o = th_opts(0, -2);
	X509 *x = NULL;

	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, csr, &o,
						       &x),
			SUBCA_E_INVALID_ARGUMENT,
			"a lifetime of 0 days is out of range (1 to 7320)");
	o = th_opts(SUBCA_MAX_INTERMEDIATE_DAYS + 1, -2);
	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, csr, &o,
						       &x),
			SUBCA_E_INVALID_ARGUMENT, "7321 days is out of range");
	o = th_opts(30, SUBCA_MAX_PATHLEN + 1);
	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, csr, &o,
						       &x),
			SUBCA_E_INVALID_ARGUMENT, "path length 17 is out of range");
	o = th_opts(30, -3);
	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, csr, &o,
						       &x),
			SUBCA_E_INVALID_ARGUMENT, "path length -3 is out of range");
	th_assert_error(subca_signer_sign_intermediate(r.cert, r.key, NULL, &o,
						       &x),
			SUBCA_E_INVALID_ARGUMENT, "missing root, key, CSR");
	o = th_opts(SUBCA_MAX_INTERMEDIATE_DAYS, SUBCA_MAX_PATHLEN);
	assert_int_equal(subca_signer_sign_intermediate(r.cert, r.key, csr, &o,
							&x),
			 SUBCA_OK);
	X509_free(x);
	th_root_free(&r);
}

static void test_sign_intermediate_every_root_type_and_intermediate_type(void **state)
{
	const char *roots[] = {"ec-p256", "ec-p384", "rsa-2048", "ed25519"};
	const char *inters[] = {"ec-p256", "rsa-2048", "ed25519"};
	const int sig[] = {NID_ecdsa_with_SHA256, NID_ecdsa_with_SHA384,
			   NID_sha256WithRSAEncryption, NID_ED25519};

	for (size_t i = 0; i < 4; i++) {
		struct th_root r = th_root_make(roots[i], NULL, 0);

		for (size_t j = 0; j < 3; j++) {
			SUBCA_AUTO(EVP_PKEY) EVP_PKEY *ik = th_key(inters[j]);
			SUBCA_AUTO(X509_REQ) X509_REQ *csr = th_csr(ik, 0, true);
			struct subca_sign_intermediate_opts o = th_opts(90, -2);
			SUBCA_AUTO(X509) X509 *x = th_sign_ok(&r, csr, &o);

			assert_int_equal(X509_get_signature_nid(x), sig[i]);
			assert_int_equal(X509_verify(x, r.key), 1);
			assert_int_equal(subca_key_public_equal(
						 X509_get0_pubkey(x), ik),
					 1);
			assert_int_equal(th_verify_chain(r.cert, x, TH_NOW + 60),
					 X509_V_OK);
		}
		th_root_free(&r);
	}
}

/* ---- self-signed roots ------------------------------------------------- */

static void test_self_signed_root_is_a_valid_trust_anchor(void **state)
{
	const char *types[] = {"ec-p256", "ec-p384", "rsa-2048", "ed25519"};

	for (size_t i = 0; i < 4; i++) {
		SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = th_key(types[i]);
		SUBCA_AUTO(X509) X509 *root = NULL;
		SUBCA_AUTO(ASN1_TIME) ASN1_TIME *na =
			ASN1_TIME_set(NULL, TH_NOW + 3650 * TH_DAY);
		X509_NAME *n;
		int crit = 0;

		assert_int_equal(subca_signer_self_signed_root(
					 k, "Acme Root CA", "Acme", 3650, TH_NOW,
					 &root),
				 SUBCA_OK);
		n = X509_get_subject_name(root);
		assert_int_equal(X509_NAME_entry_count(n), 2);
		assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
					 X509_NAME_get_entry(n, 1))),
				 NID_commonName);
		assert_int_equal(X509_NAME_cmp(n, X509_get_issuer_name(root)), 0);
		assert_int_equal(th_pathlen(root, &crit), -1);
		assert_int_equal(crit, 1);
		assert_int_equal(X509_get_key_usage(root),
				 KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN |
					 KU_CRL_SIGN);
		assert_non_null(X509_get0_subject_key_id(root));
		assert_int_equal(X509_get_version(root), X509_VERSION_3);
		assert_int_equal(X509_verify(root, k), 1);
		assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(root), na),
				 0);
		assert_int_equal(th_verify_chain(root, root, TH_NOW), X509_V_OK);
	}
}

static void test_self_signed_root_validates_inputs(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = th_key("ec-p256");
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *weak = th_key("rsa-1024");
	X509 *root = NULL;

	th_assert_error(subca_signer_self_signed_root(k, NULL, NULL, 30, TH_NOW,
						      &root),
			SUBCA_E_INVALID_ARGUMENT, "common name is required");
	th_assert_error(subca_signer_self_signed_root(k, "R\n", NULL, 30,
						      TH_NOW, &root),
			SUBCA_E_INVALID_ARGUMENT, "control character");
	th_assert_error(subca_signer_self_signed_root(weak, "R", NULL, 30,
						      TH_NOW, &root),
			SUBCA_E_WEAK_KEY, "root key is RSA-1024");
	th_assert_error(subca_signer_self_signed_root(k, "R", NULL, 0, TH_NOW,
						      &root),
			SUBCA_E_INVALID_ARGUMENT, "0 days is out of range");
	th_assert_error(subca_signer_self_signed_root(NULL, "R", NULL, 30,
						      TH_NOW, &root),
			SUBCA_E_INVALID_ARGUMENT, "no root key given");
	assert_null(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_new_is_positive_20_octets_timed_and_distinct),
		cmocka_unit_test(test_serial_at_orders_by_time),
		cmocka_unit_test(test_serial_at_keeps_its_form_past_46_bits),
		cmocka_unit_test(test_validity_set_backdates_one_minute_and_adds_days),
		cmocka_unit_test(test_validity_set_uses_generalized_time_from_2050),
		cmocka_unit_test(test_validity_set_caps_at_issuer_not_after),
		cmocka_unit_test(test_validity_set_refuses_expired_cap_and_bad_days),
		cmocka_unit_test(test_sign_intermediate_keeps_subject_key_and_builds_v3_ca),
		cmocka_unit_test(test_sign_intermediate_copies_root_ski_into_aki),
		cmocka_unit_test(test_sign_intermediate_never_recomputes_a_foreign_ski),
		cmocka_unit_test(test_sign_intermediate_uses_issuer_and_serial_without_root_ski),
		cmocka_unit_test(test_sign_intermediate_path_length_options),
		cmocka_unit_test(test_sign_intermediate_copies_name_constraints_critical),
		cmocka_unit_test(test_sign_intermediate_caps_days_at_root_not_after),
		cmocka_unit_test(test_sign_intermediate_refuses_bad_csr_signature),
		cmocka_unit_test(test_sign_intermediate_refuses_mismatched_root_key),
		cmocka_unit_test(test_sign_intermediate_refuses_weak_keys),
		cmocka_unit_test(test_sign_intermediate_refuses_roots_that_cannot_sign_cas),
		cmocka_unit_test(test_sign_intermediate_validates_options),
		cmocka_unit_test(test_sign_intermediate_every_root_type_and_intermediate_type),
		cmocka_unit_test(test_self_signed_root_is_a_valid_trust_anchor),
		cmocka_unit_test(test_self_signed_root_validates_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
