/*
 * Re-certified intermediates (altchain.h) against the real SQLite store and
 * software key store: the same intermediate key signed again by the root is
 * verified like an upload, recorded, chained to by new leaves, and offered
 * as an alternate chain to the leaves of that key.
 */
#include "helpers.h"
#include "helpers/authority_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subca/altchain.h"
#include "subca/authority.h"
#include "subca/keystore_soft.h"
#include "subca/ossl.h"
#include "subca/signer.h"
#include "subca/store_sqlite.h"

static int fx_setup(void **state)
{
	*state = th_afx_new(-100 * TH_DAY);
	return 0;
}

static int fx_teardown(void **state)
{
	th_afx_free(*state);
	return 0;
}

/* The intermediates of "corp" (list cleanup by the caller). */
static void fx_ints(struct th_afx *f, struct subca_intermediate_list *l)
{
	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, l), SUBCA_OK);
}

/* Sign the CSR of intermediate #idx again with `root`, as of now+offset. */
static char *fx_sign(struct th_afx *f, size_t idx, X509 *root,
		     EVP_PKEY *root_key, int days, long offset)
{
	struct subca_intermediate_list l = {0};
	struct subca_sign_intermediate_opts so = {.days = days, .path_len = -2,
						  .now = TH_NOW + offset};
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	char *pem;

	fx_ints(f, &l);
	assert_true(idx < l.n);
	assert_int_equal(subca_pem_load_x509_req(l.v[idx].csr_pem, &csr), SUBCA_OK);
	assert_int_equal(subca_signer_sign_intermediate(root, root_key, csr, &so, &cert),
			 SUBCA_OK);
	pem = th_pem(cert);
	X509_free(cert);
	X509_REQ_free(csr);
	subca_intermediate_list_cleanup(&l);
	return pem;
}

static subca_result fx_import_at(struct th_afx *f, const char *pem, int64_t at)
{
	struct subca_report rep;

	subca_report_init(&rep);
	return subca_authority_import_intermediate_at(
		&f->c, "corp", subca_slice_of(pem, strlen(pem)), false, at, &rep);
}

static subca_result fx_import(struct th_afx *f, const char *pem)
{
	return fx_import_at(f, pem, 0);
}

static void fx_request(struct th_afx *f)
{
	struct subca_intermediate_request r = {0};
	struct subca_buf csr_pem;

	r.params.cn = "Example Issuing CA";
	r.params.path_len = 0;
	r.key = SUBCA_KEY_EC_P256;
	assert_int_equal(subca_authority_request_intermediate(&f->c, "corp", &r,
							      &csr_pem, NULL),
			 SUBCA_OK);
	subca_buf_cleanup(&csr_pem);
}

/* An active authority "corp" whose intermediate is valid for 365 days; its
 * certificate PEM (caller frees). */
static char *fx_activate(struct th_afx *f)
{
	char *pem;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(
				 &f->c, "corp",
				 subca_slice_of(f->root_pem, strlen(f->root_pem)), NULL),
			 SUBCA_OK);
	fx_request(f);
	pem = fx_sign(f, 0, f->root, f->root_key, 365, 0);
	assert_int_equal(fx_import(f, pem), SUBCA_OK);
	return pem;
}

/* Issue a leaf; its serial into `serial`, the chain PEM returned. */
static char *fx_issue(struct th_afx *f, char serial[128])
{
	const char *sans[] = {"DNS:www.example.com"};
	struct subca_leaf_request lr = {0};
	EVP_PKEY *key = th_key("ec-p256");
	struct subca_buf chain;
	X509 *leaf = NULL;
	char *out;

	lr.pubkey = key;
	lr.cn = "www.example.com";
	lr.sans = (struct subca_names){sans, 1};
	lr.days = 30;
	lr.now = f->c.now;
	assert_int_equal(subca_authority_issue(&f->c, "corp", &lr, &chain, &leaf),
			 SUBCA_OK);
	assert_int_equal(subca_serial_hex(X509_get0_serialNumber(leaf), serial, 128),
			 SUBCA_OK);
	out = strdup((char *)chain.p);
	subca_buf_cleanup(&chain);
	X509_free(leaf);
	EVP_PKEY_free(key);
	return out;
}

static size_t fx_recorded(struct th_afx *f)
{
	struct subca_intermediate_cert_list l = {0};
	size_t n;

	assert_int_equal(f->store->ops->intermediate_cert_list(f->store, 1, &l),
			 SUBCA_OK);
	n = l.n;
	subca_intermediate_cert_list_cleanup(&l);
	return n;
}

static char *fx_leaf_chain(struct th_afx *f, const char *serial, int64_t alt,
			   struct subca_chain_alts *alts)
{
	struct subca_buf chain;
	char *out;

	assert_int_equal(subca_leaf_chain(&f->c, "corp", serial, alt, &chain, alts),
			 SUBCA_OK);
	out = strdup((char *)chain.p);
	subca_buf_cleanup(&chain);
	return out;
}

static void test_recertified_key_becomes_the_chain_and_the_old_one_an_alternate(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *second = fx_sign(f, 0, f->root, f->root_key, 730, 0);
	struct subca_intermediate_list l = {0};
	struct subca_audit_list audit = {0};
	struct subca_chain_alts alts;
	char s1[128], s2[128];
	char *c1 = fx_issue(f, s1), *c2, *def, *alt;

	assert_non_null(strstr(c1, first));
	assert_int_equal(fx_import(f, second), SUBCA_OK);
	/* one intermediate still, active, now with the later certificate */
	fx_ints(f, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, SUBCA_INT_ACTIVE);
	assert_string_equal(l.v[0].cert_pem, second);
	assert_true(l.v[0].not_after > TH_NOW + 700 * TH_DAY);
	subca_intermediate_list_cleanup(&l);
	assert_int_equal(fx_recorded(f), 2);
	assert_int_equal(f->store->ops->audit_list(f->store, "corp", 1, &audit), SUBCA_OK);
	assert_string_equal(audit.v[0].action, "intermediate.recertify");
	assert_non_null(strstr(audit.v[0].detail, "re-certified"));
	subca_audit_list_cleanup(&audit);
	/* leaves issued from now on chain to it */
	c2 = fx_issue(f, s2);
	assert_non_null(strstr(c2, second));
	assert_null(strstr(c2, first));
	/* the older leaf: the newest certificate by default, the first one as
	 * its alternate */
	def = fx_leaf_chain(f, s1, 0, &alts);
	assert_non_null(strstr(def, second));
	assert_int_equal(alts.n, 1);
	alt = fx_leaf_chain(f, s1, alts.id[0], NULL);
	assert_non_null(strstr(alt, first));
	assert_null(strstr(alt, second));
	free(def);
	free(alt);
	th_assert_error(subca_leaf_chain(&f->c, "corp", s1, alts.id[0] + 100,
					 &(struct subca_buf){0}, NULL),
			SUBCA_E_NOT_FOUND, "has no alternate chain");
	th_assert_error(subca_leaf_chain(&f->c, "corp", "abcdef", 0,
					 &(struct subca_buf){0}, NULL),
			SUBCA_E_NOT_FOUND, "issued no certificate with serial abcdef");
	free(first);
	free(second);
	free(c1);
	free(c2);
}

static void test_alternate_expired_is_no_longer_offered(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *second = fx_sign(f, 0, f->root, f->root_key, 730, 0);
	struct subca_chain_alts alts;
	char s1[128];
	char *c1 = fx_issue(f, s1), *def;

	assert_int_equal(fx_import(f, second), SUBCA_OK);
	f->c.now = TH_NOW + 400 * TH_DAY; /* the first one has expired */
	def = fx_leaf_chain(f, s1, 0, &alts);
	assert_non_null(strstr(def, second));
	assert_int_equal(alts.n, 0);
	free(def);
	free(first);
	free(second);
	free(c1);
}

static void test_recertify_refuses_a_certificate_already_recorded(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *second = fx_sign(f, 0, f->root, f->root_key, 730, 0);

	/* the intermediate's own certificate once more */
	th_assert_error(fx_import(f, first), SUBCA_E_EXISTS,
			"is already recorded for intermediate #1");
	assert_int_equal(fx_recorded(f), 0);
	assert_int_equal(fx_import(f, second), SUBCA_OK);
	th_assert_error(fx_import(f, second), SUBCA_E_EXISTS,
			"is already recorded for intermediate #1");
	/* and the one it replaced, kept as an alternate */
	th_assert_error(fx_import(f, first), SUBCA_E_EXISTS,
			"is already recorded for intermediate #1");
	assert_int_equal(fx_recorded(f), 2);
	free(first);
	free(second);
}

static void test_recertify_refuses_a_look_alike_root(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	EVP_PKEY *other_key = th_key("ec-p384");
	X509 *other = th_cert(&(struct th_cert_opts){.subject = "/O=Example/CN=Example Root",
						     .not_before = -100 * TH_DAY},
			      other_key, NULL, NULL);
	char *pem = fx_sign(f, 0, other, other_key, 730, 0);
	struct subca_intermediate_list l = {0};

	th_assert_error(fx_import(f, pem), SUBCA_E_WRONG_ISSUER,
			"signature does not verify with the imported root's key");
	/* nothing changed */
	assert_int_equal(fx_recorded(f), 0);
	fx_ints(f, &l);
	assert_string_equal(l.v[0].cert_pem, first);
	subca_intermediate_list_cleanup(&l);
	free(pem);
	free(first);
	X509_free(other);
	EVP_PKEY_free(other_key);
}

static void test_recertify_refuses_an_expired_certificate(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *pem = fx_sign(f, 0, f->root, f->root_key, 5, -10 * TH_DAY);

	th_assert_error(fx_import(f, pem), SUBCA_E_EXPIRED, "has expired");
	assert_int_equal(fx_recorded(f), 0);
	free(pem);
	free(first);
}

static void test_recertify_refuses_another_subject_for_the_same_key(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	struct subca_intermediate_list l = {0};
	struct subca_report rep;
	EVP_PKEY *key = NULL;
	X509 *cert;
	char *pem;

	fx_ints(f, &l);
	assert_int_equal(f->keys->ops->load(f->keys, l.v[0].key_id, &key), SUBCA_OK);
	subca_intermediate_list_cleanup(&l);
	cert = th_cert(&(struct th_cert_opts){.subject = "/CN=Another Issuing CA"}, key,
		       f->root, f->root_key);
	pem = th_pem(cert);
	subca_report_init(&rep);
	/* accept_weaker: th_cert asks for no path length */
	th_assert_error(subca_authority_import_intermediate(
				&f->c, "corp", subca_slice_of(pem, strlen(pem)), true, &rep),
			SUBCA_E_SUBJECT_MISMATCH, "has subject \"CN=Another Issuing CA\"");
	assert_int_equal(fx_recorded(f), 0);
	free(pem);
	free(first);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void test_certificate_of_an_unknown_key_without_pending_is_no_pending(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	EVP_PKEY *key = th_key("ec-p256");
	X509 *cert = th_cert(&(struct th_cert_opts){.subject = "/CN=Example Issuing CA"},
			     key, f->root, f->root_key);
	char *pem = th_pem(cert);

	th_assert_error(fx_import(f, pem), SUBCA_E_NO_PENDING,
			"no certificate in the upload has the key of one of its "
			"intermediates");
	free(pem);
	free(first);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void test_bundle_with_a_pending_certificate_is_the_pending_ones_import(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	struct subca_intermediate_list l = {0};
	char *next, *bundle;

	fx_request(f);
	next = fx_sign(f, 1, f->root, f->root_key, 365, 0);
	bundle = malloc(strlen(first) + strlen(next) + 1);
	strcpy(bundle, first);
	strcat(bundle, next);
	/* the pending request's certificate is meant: its import refuses the
	 * intermediate in use riding along, not a re-certification */
	th_assert_error(fx_import(f, bundle), SUBCA_E_UNRELATED_CERTS,
			"is neither the intermediate");
	assert_int_equal(fx_recorded(f), 0);
	assert_int_equal(fx_import(f, next), SUBCA_OK);
	fx_ints(f, &l);
	assert_int_equal(l.v[0].state, SUBCA_INT_RETIRED);
	assert_int_equal(l.v[1].state, SUBCA_INT_ACTIVE);
	assert_string_equal(l.v[1].cert_pem, next);
	subca_intermediate_list_cleanup(&l);
	assert_int_equal(fx_recorded(f), 0);
	free(bundle);
	free(next);
	free(first);
}

/* A certificate whose subject key identifier is not the one the first
 * certificate had (as GnuTLS certtool computes it): leaves name the
 * identifier of the certificate they were issued under, so each leaf's
 * chains are only through certificates that carry its identifier. */
static void test_chains_follow_the_leafs_authority_key_identifier(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign,digitalSignature"},
		{"subjectKeyIdentifier", "0102030405060708090a0b0c0d0e0f1011121314"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	struct subca_intermediate_list l = {0};
	struct subca_chain_alts alts;
	EVP_PKEY *key = NULL;
	X509 *cert;
	char s1[128], s2[128];
	char *pem, *c1, *c2, *def;

	c1 = fx_issue(f, s1);
	fx_ints(f, &l);
	assert_int_equal(f->keys->ops->load(f->keys, l.v[0].key_id, &key), SUBCA_OK);
	subca_intermediate_list_cleanup(&l);
	cert = th_cert(&(struct th_cert_opts){.subject = "/CN=Example Issuing CA",
					      .not_after = 700 * TH_DAY, .serial = 77,
					      .exts = exts},
		       key, f->root, f->root_key);
	pem = th_pem(cert);
	assert_int_equal(fx_import(f, pem), SUBCA_OK);
	c2 = fx_issue(f, s2);
	assert_non_null(strstr(c2, pem));
	/* the older leaf: still through the first certificate, no alternate */
	def = fx_leaf_chain(f, s1, 0, &alts);
	assert_non_null(strstr(def, first));
	assert_int_equal(alts.n, 0);
	free(def);
	/* the newer leaf: through the new one only */
	def = fx_leaf_chain(f, s2, 0, &alts);
	assert_non_null(strstr(def, pem));
	assert_int_equal(alts.n, 0);
	free(def);
	free(c1);
	free(c2);
	free(pem);
	free(first);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void test_ready_intermediate_is_recertified_and_keeps_its_activation_time(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	struct subca_intermediate_list l = {0};
	char *next, *again;

	fx_request(f);
	next = fx_sign(f, 1, f->root, f->root_key, 365, 0);
	assert_int_equal(fx_import_at(f, next, TH_NOW + TH_DAY), SUBCA_OK);
	again = fx_sign(f, 1, f->root, f->root_key, 730, 0);
	assert_int_equal(fx_import(f, again), SUBCA_OK);
	fx_ints(f, &l);
	assert_int_equal(l.v[0].state, SUBCA_INT_ACTIVE);
	assert_string_equal(l.v[0].cert_pem, first);
	assert_int_equal(l.v[1].state, SUBCA_INT_READY);
	assert_int_equal(l.v[1].activate_at, TH_NOW + TH_DAY);
	assert_string_equal(l.v[1].cert_pem, again);
	subca_intermediate_list_cleanup(&l);
	assert_int_equal(fx_recorded(f), 2);
	free(first);
	free(next);
	free(again);
}

static void test_recertify_takes_effect_at_once(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *second = fx_sign(f, 0, f->root, f->root_key, 730, 0);

	th_assert_error(fx_import_at(f, second, TH_NOW + TH_DAY),
			SUBCA_E_INVALID_ARGUMENT, "leave out the activation time");
	assert_int_equal(fx_recorded(f), 0);
	free(first);
	free(second);
}

static void test_retired_intermediate_is_recertified_and_its_leaves_get_the_alternate(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *next, *again, *c1, *def, *alt;
	struct subca_intermediate_list l = {0};
	struct subca_chain_alts alts;
	char s1[128];

	c1 = fx_issue(f, s1);
	/* rotation: a new key takes over, the first one retires */
	fx_request(f);
	next = fx_sign(f, 1, f->root, f->root_key, 365, 0);
	assert_int_equal(fx_import(f, next), SUBCA_OK);
	again = fx_sign(f, 0, f->root, f->root_key, 730, 0);
	assert_int_equal(fx_import(f, again), SUBCA_OK);
	fx_ints(f, &l);
	assert_int_equal(l.v[0].state, SUBCA_INT_RETIRED);
	assert_string_equal(l.v[0].cert_pem, again);
	assert_int_equal(l.v[1].state, SUBCA_INT_ACTIVE);
	assert_string_equal(l.v[1].cert_pem, next);
	subca_intermediate_list_cleanup(&l);
	def = fx_leaf_chain(f, s1, 0, &alts);
	assert_non_null(strstr(def, again));
	assert_int_equal(alts.n, 1);
	alt = fx_leaf_chain(f, s1, alts.id[0], NULL);
	assert_non_null(strstr(alt, first));
	free(def);
	free(alt);
	free(c1);
	free(first);
	free(next);
	free(again);
}

static void test_recertify_drops_the_cached_issuer(void **state)
{
	struct th_afx *f = *state;
	char *first = fx_activate(f);
	char *second = fx_sign(f, 0, f->root, f->root_key, 730, 0);
	struct subca_issuer_cache *cache = NULL;
	struct subca_issuer_cache_stats st;
	char s[128];
	char *c1, *c2;

	assert_int_equal(subca_issuer_cache_new(4, &cache), SUBCA_OK);
	f->c.issuers = cache;
	c1 = fx_issue(f, s);
	subca_issuer_cache_stats(cache, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(fx_import(f, second), SUBCA_OK);
	subca_issuer_cache_stats(cache, &st);
	assert_int_equal(st.entries, 0);
	c2 = fx_issue(f, s);
	assert_non_null(strstr(c2, second));
	subca_issuer_cache_free(cache);
	free(c1);
	free(c2);
	free(first);
	free(second);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_recertified_key_becomes_the_chain_and_the_old_one_an_alternate),
		T(test_alternate_expired_is_no_longer_offered),
		T(test_recertify_refuses_a_certificate_already_recorded),
		T(test_recertify_refuses_a_look_alike_root),
		T(test_recertify_refuses_an_expired_certificate),
		T(test_recertify_refuses_another_subject_for_the_same_key),
		T(test_certificate_of_an_unknown_key_without_pending_is_no_pending),
		T(test_bundle_with_a_pending_certificate_is_the_pending_ones_import),
		T(test_chains_follow_the_leafs_authority_key_identifier),
		T(test_ready_intermediate_is_recertified_and_keeps_its_activation_time),
		T(test_recertify_takes_effect_at_once),
		T(test_retired_intermediate_is_recertified_and_its_leaves_get_the_alternate),
		T(test_recertify_drops_the_cached_issuer),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
