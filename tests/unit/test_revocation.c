/*
 * Revocation publishing against the real SQLite store and software key
 * store: CRLs built from the store (numbers, pruning, freshness), the
 * store's CRL operations, OCSP answers per intermediate, and the
 * server-derived URLs in issued leaves.
 */
#include "helpers.h"
#include "helpers/authority_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "subca/authority.h"
#include "subca/keystore_soft.h"
#include "subca/limits.h"
#include "subca/revocation.h"
#include "subca/store_sqlite.h"

struct fx {
	char *dir;
	struct subca_store *store;
	struct subca_keystore *keys;
	struct subca_ctx c;
	int64_t aid;
	struct subca_intermediate_rec im;
	X509 *im_cert;
	X509 *leaf[3];
	char serial[3][48];
};

static X509 *issue(struct fx *f, long days, char *serial)
{
	struct subca_leaf_request lr = {.cn = "a.example", .days = days,
					.now = f->c.now};
	EVP_PKEY *k = th_key("ec-p256");
	struct subca_buf chain;
	X509 *leaf = NULL;

	lr.pubkey = k;
	assert_int_equal(subca_authority_issue(&f->c, "demo", &lr, &chain,
					       &leaf),
			 SUBCA_OK);
	assert_int_equal(subca_serial_hex(X509_get0_serialNumber(leaf), serial,
					  48),
			 SUBCA_OK);
	subca_buf_cleanup(&chain);
	EVP_PKEY_free(k);
	return leaf;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct subca_generated_root_opts o = {.root_key = SUBCA_KEY_EC_P256,
					      .intermediate_key =
						      SUBCA_KEY_EC_P256};
	struct subca_authority_rec a = {0};
	struct subca_intermediate_list l = {0};

	th_data_open(&f->dir, &f->keys, &f->store);
	f->c = (struct subca_ctx){.store = f->store, .keys = f->keys,
				  .actor = "test", .now = TH_NOW,
				  .public_url = "http://ca.test/"};
	assert_int_equal(subca_authority_create_generated(&f->c, "demo", NULL,
							  &o),
			 SUBCA_OK);
	assert_int_equal(f->store->ops->authority_get(f->store, "demo", &a),
			 SUBCA_OK);
	f->aid = a.id;
	subca_authority_rec_cleanup(&a);
	assert_int_equal(f->store->ops->intermediate_list(f->store, f->aid, &l),
			 SUBCA_OK);
	assert_int_equal(subca_revocation_intermediate(&f->c, f->aid,
						       l.v[0].id, &f->im),
			 SUBCA_OK);
	subca_intermediate_list_cleanup(&l);
	assert_int_equal(subca_pem_load_x509(f->im.cert_pem, &f->im_cert),
			 SUBCA_OK);
	for (int i = 0; i < 3; i++)
		f->leaf[i] = issue(f, i == 2 ? 1 : 30, f->serial[i]);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 3; i++)
		X509_free(f->leaf[i]);
	X509_free(f->im_cert);
	subca_intermediate_rec_cleanup(&f->im);
	th_data_close(f->dir, f->keys, f->store);
	free(f);
	return 0;
}

static void revoke(struct fx *f, int i, int reason)
{
	assert_int_equal(f->store->ops->cert_revoke(f->store, f->aid,
						    f->serial[i], reason,
						    f->c.now),
			 SUBCA_OK);
}

static X509_CRL *crl_of(struct fx *f, const struct subca_crl_rec *r)
{
	void *crl = NULL;

	assert_int_equal(subca_der_decode(SUBCA_DER_X509_CRL,
					  subca_slice_of(r->der, r->der_len),
					  &crl),
			 SUBCA_OK);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->im_cert)),
			 1);
	return crl;
}

static void test_crl_publish_lists_revoked_certificates_with_numbers(void **s)
{
	struct fx *f = *s;
	struct subca_crl_rec r;
	X509_CRL *crl;
	X509_REVOKED *rev = NULL;

	revoke(f, 0, 1);
	assert_int_equal(subca_crl_publish(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.number, 1);
	assert_int_equal(r.entries, 1);
	assert_int_equal(r.next_update, TH_NOW + 3600);
	crl = crl_of(f, &r);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev,
						 X509_get0_serialNumber(
							 f->leaf[0])),
			 1);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev,
						 X509_get0_serialNumber(
							 f->leaf[1])),
			 0);
	X509_CRL_free(crl);
	subca_crl_rec_cleanup(&r);
	revoke(f, 1, 0);
	assert_int_equal(subca_crl_publish(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.number, 2);
	assert_int_equal(r.entries, 2);
	subca_crl_rec_cleanup(&r);
}

static void test_crl_current_serves_the_stored_crl_until_next_update(void **s)
{
	struct fx *f = *s;
	struct subca_crl_rec r;

	/* none stored yet: built on the first request */
	assert_int_equal(subca_crl_current(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.number, 1);
	subca_crl_rec_cleanup(&r);
	f->c.now += 3599;
	assert_int_equal(subca_crl_current(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.number, 1);
	subca_crl_rec_cleanup(&r);
	f->c.now += 1;
	assert_int_equal(subca_crl_current(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.number, 2);
	assert_int_equal(r.this_update, TH_NOW + 3600);
	subca_crl_rec_cleanup(&r);
}

static void test_crl_publish_prunes_expired_certificates(void **s)
{
	struct fx *f = *s;
	struct subca_crl_rec r;

	revoke(f, 0, 1);
	revoke(f, 2, 4); /* lives one day */
	assert_int_equal(subca_crl_publish(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.entries, 2);
	subca_crl_rec_cleanup(&r);
	f->c.now += 2 * TH_DAY;
	assert_int_equal(subca_crl_publish(&f->c, &f->im, 3600, &r), SUBCA_OK);
	assert_int_equal(r.entries, 1);
	subca_crl_rec_cleanup(&r);
}

static void test_store_crl_put_keeps_the_highest_number(void **s)
{
	struct fx *f = *s;
	uint8_t a[] = {1, 2, 3}, b[] = {4, 5};
	struct subca_crl_rec r = {.intermediate_id = f->im.id,
				  .number = 5,
				  .this_update = 1,
				  .next_update = 2,
				  .der = a,
				  .der_len = sizeof(a)};
	struct subca_crl_rec got;
	int64_t n;

	int64_t next = -1;

	th_assert_error(f->store->ops->crl_get(f->store, f->im.id, &got),
			SUBCA_E_NOT_FOUND, "no CRL has been published");
	th_assert_error(f->store->ops->crl_next_update(f->store, f->im.id,
						       &next),
			SUBCA_E_NOT_FOUND, "no CRL has been published");
	assert_int_equal(next, 0);
	assert_int_equal(f->store->ops->crl_put(f->store, &r), SUBCA_OK);
	r.number = 4;
	r.next_update = 3;
	r.der = b;
	r.der_len = sizeof(b);
	assert_int_equal(f->store->ops->crl_put(f->store, &r), SUBCA_OK);
	assert_int_equal(f->store->ops->crl_get(f->store, f->im.id, &got),
			 SUBCA_OK);
	assert_int_equal(got.number, 5);
	assert_int_equal(got.der_len, 3);
	subca_crl_rec_cleanup(&got);
	/* the kept CRL's, not the refused one's */
	assert_int_equal(f->store->ops->crl_next_update(f->store, f->im.id,
							&next),
			 SUBCA_OK);
	assert_int_equal(next, 2);
	assert_int_equal(f->store->ops->crl_number_next(f->store, f->im.id, &n),
			 SUBCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(f->store->ops->crl_number_next(f->store, f->im.id, &n),
			 SUBCA_OK);
	assert_int_equal(n, 2);
	th_assert_error(f->store->ops->crl_number_next(f->store, 999, &n),
			SUBCA_E_NOT_FOUND, "no intermediate with id 999");
}

static subca_result count_and_stop(void *arg, const char *serial,
				   int64_t revoked_at, int reason)
{
	int *n = arg;

	if (++*n == 2)
		SUBCA_BAIL(SUBCA_E_INTERNAL, "stop at %s", serial);
	return SUBCA_OK;
}

static void test_store_cert_revoked_each_streams_and_stops(void **s)
{
	struct fx *f = *s;
	int n = 0;

	revoke(f, 0, 1);
	revoke(f, 1, 1);
	revoke(f, 2, 1);
	th_assert_error(f->store->ops->cert_revoked_each(f->store, f->im.id, 0,
							 count_and_stop, &n),
			SUBCA_E_INTERNAL, "stop at");
	assert_int_equal(n, 2);
}

/* Ask about `leaf` (issued by `issuer`) and return the single status. */
static int ocsp_status(struct fx *f, X509 *leaf, X509 *issuer,
		       subca_result expect, int *reason)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int len, status = -1;
	struct subca_ocsp_request r;
	struct subca_ocsp_result res;
	struct subca_buf out;

	OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, leaf, issuer));
	len = i2d_OCSP_REQUEST(req, &der);
	assert_int_equal(subca_ocsp_request_parse(subca_slice_of(der, len), &r),
			 SUBCA_OK);
	assert_int_equal(subca_ocsp_answer_request(&f->c, f->aid, &r, 600, &out,
						   &res),
			 expect);
	if (expect == SUBCA_OK) {
		const unsigned char *p = out.p;
		OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p,
							(long)out.len);
		OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);

		STACK_OF(X509) *signer = sk_X509_new_null();

		/* signed by the intermediate that issued the leaf */
		sk_X509_push(signer, f->im_cert);
		assert_int_equal(OCSP_basic_verify(bs, signer, NULL,
						   OCSP_NOVERIFY |
							   OCSP_TRUSTOTHER),
				 1);
		sk_X509_free(signer);
		assert_int_equal(OCSP_resp_find_status(bs, r.id, &status,
						       reason, NULL, NULL, NULL),
				 1);
		assert_int_equal(res.intermediate_id, f->im.id);
		assert_int_equal(res.next_update, f->c.now + 600);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
	}
	subca_buf_cleanup(&out);
	subca_ocsp_request_cleanup(&r);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	return status;
}

static void test_ocsp_answer_says_good_revoked_and_unknown(void **s)
{
	struct fx *f = *s;
	int reason = -5;
	X509 *stranger;
	EVP_PKEY *k = th_key("ec-p256");
	static const struct th_ext leaf_exts[] = {
		{"basicConstraints", "critical,CA:FALSE"}, {NULL, NULL}};

	revoke(f, 0, 1);
	assert_int_equal(ocsp_status(f, f->leaf[0], f->im_cert, SUBCA_OK,
				     &reason),
			 V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, 1);
	assert_int_equal(ocsp_status(f, f->leaf[1], f->im_cert, SUBCA_OK,
				     &reason),
			 V_OCSP_CERTSTATUS_GOOD);
	/* a serial the store does not know, under the right issuer */
	stranger = th_cert(&(struct th_cert_opts){.subject = "/CN=x",
						  .exts = leaf_exts,
						  .serial = 77},
			   k, f->im_cert, k);
	assert_int_equal(ocsp_status(f, stranger, f->im_cert, SUBCA_OK, &reason),
			 V_OCSP_CERTSTATUS_UNKNOWN);
	/* an issuer that is not one of the authority's */
	assert_int_equal(ocsp_status(f, f->leaf[1], f->leaf[2],
				     SUBCA_E_OCSP_UNKNOWN_ISSUER, &reason),
			 -1);
	X509_free(stranger);
	EVP_PKEY_free(k);
}

static void test_issued_leaves_carry_the_server_derived_urls(void **s)
{
	struct fx *f = *s;
	char want_crl[128], want_ocsp[128];
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(f->leaf[0],
						NID_crl_distribution_points,
						NULL, NULL);
	STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(f->leaf[0]);
	GENERAL_NAME *gn;

	snprintf(want_crl, sizeof(want_crl), "http://ca.test/a/demo/crl/%lld.crl",
		 (long long)f->im.id);
	snprintf(want_ocsp, sizeof(want_ocsp), "http://ca.test/a/demo/ocsp");
	assert_non_null(dps);
	gn = sk_GENERAL_NAME_value(
		sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
	assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.ia5),
			    want_crl);
	assert_int_equal(sk_OPENSSL_STRING_num(ocsp), 1);
	assert_string_equal(sk_OPENSSL_STRING_value(ocsp, 0), want_ocsp);
	X509_email_free(ocsp);
	CRL_DIST_POINTS_free(dps);
}

static void test_revocation_urls_refuse_overlong_bases(void **s)
{
	char crl[SUBCA_MAX_URL + 1], ocsp[SUBCA_MAX_URL + 1];
	char base[SUBCA_MAX_URL + 2];

	memset(base, 'a', SUBCA_MAX_URL);
	base[SUBCA_MAX_URL] = '\0';
	th_assert_error(subca_revocation_urls(base, "demo", 1, crl, ocsp),
			SUBCA_E_TOO_LARGE, "public URL is too long");
	assert_int_equal(subca_revocation_urls("http://x//", "d", 12, crl, ocsp),
			 SUBCA_OK);
	assert_string_equal(crl, "http://x/a/d/crl/12.crl");
	assert_string_equal(ocsp, "http://x/a/d/ocsp");
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_crl_publish_lists_revoked_certificates_with_numbers),
		T(test_crl_current_serves_the_stored_crl_until_next_update),
		T(test_crl_publish_prunes_expired_certificates),
		T(test_store_crl_put_keeps_the_highest_number),
		T(test_store_cert_revoked_each_streams_and_stops),
		T(test_ocsp_answer_says_good_revoked_and_unknown),
		T(test_issued_leaves_carry_the_server_derived_urls),
		cmocka_unit_test(test_revocation_urls_refuse_overlong_bases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
