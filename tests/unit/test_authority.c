/*
 * The authority lifecycle against the real SQLite store and software key
 * store in a temporary directory: every state change, every refusal, and
 * that a refused step leaves nothing behind.
 */
#include "helpers.h"
#include "helpers/authority_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subca/authority.h"
#include "subca/keystore_soft.h"
#include "subca/ossl.h"
#include "subca/signer.h"
#include "subca/store_sqlite.h"

static int fx_setup(void **state)
{
	*state = th_afx_new(0);
	return 0;
}

static int fx_teardown(void **state)
{
	th_afx_free(*state);
	return 0;
}

static struct subca_slice fx_root_slice(struct th_afx *f)
{
	return subca_slice_of(f->root_pem, strlen(f->root_pem));
}

static enum subca_authority_state fx_state(struct th_afx *f, const char *name)
{
	struct subca_authority_rec a = {0};
	enum subca_authority_state s;

	assert_int_equal(f->store->ops->authority_get(f->store, name, &a), SUBCA_OK);
	s = a.state;
	subca_authority_rec_cleanup(&a);
	return s;
}

/* Request an intermediate and sign its CSR with the fixture's root. */
static char *fx_request_and_sign(struct th_afx *f, const char *name,
				 int path_len)
{
	struct subca_intermediate_request r = {0};
	struct subca_sign_intermediate_opts so = {.days = 365, .path_len = -2, .now = TH_NOW};
	struct subca_buf csr_pem;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	char *pem;

	r.params.cn = "Example Issuing CA";
	r.params.path_len = path_len;
	r.key = SUBCA_KEY_EC_P256;
	assert_int_equal(subca_authority_request_intermediate(&f->c, name, &r, &csr_pem, NULL),
			 SUBCA_OK);
	assert_int_equal(subca_pem_load_x509_req((char *)csr_pem.p, &csr), SUBCA_OK);
	assert_int_equal(subca_signer_sign_intermediate(f->root, f->root_key, csr, &so, &cert),
			 SUBCA_OK);
	pem = th_pem(cert);
	X509_free(cert);
	X509_REQ_free(csr);
	subca_buf_cleanup(&csr_pem);
	return pem;
}

static void fx_activate(struct th_afx *f, const char *name)
{
	struct subca_report rep;
	char *pem;

	assert_int_equal(subca_authority_create(&f->c, name, NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, name, fx_root_slice(f), NULL),
			 SUBCA_OK);
	pem = fx_request_and_sign(f, name, 0);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate(
				 &f->c, name, subca_slice_of(pem, strlen(pem)), false, &rep),
			 SUBCA_OK);
	free(pem);
}

static void test_label_validate_accepts_dns_labels_only(void **state)
{
	char long_name[80];

	assert_int_equal(subca_label_validate("name", "corp-1"), SUBCA_OK);
	th_assert_error(subca_label_validate("authority name", ""), SUBCA_E_BAD_NAME,
			"authority name is empty");
	th_assert_error(subca_label_validate("name", "Corp"), SUBCA_E_BAD_NAME,
			"invalid character at position 1");
	th_assert_error(subca_label_validate("name", "a_b"), SUBCA_E_BAD_NAME,
			"position 2");
	th_assert_error(subca_label_validate("name", "-ab"), SUBCA_E_BAD_NAME,
			"must not start or end with '-'");
	th_assert_error(subca_label_validate("name", "ab-"), SUBCA_E_BAD_NAME,
			"must not start or end with '-'");
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	assert_int_equal(subca_label_validate("name", long_name), SUBCA_OK);
	long_name[63] = 'a';
	long_name[64] = '\0';
	th_assert_error(subca_label_validate("name", long_name), SUBCA_E_BAD_NAME,
			"64 characters long");
}

static void test_lifecycle_goes_from_needs_root_to_active_and_issues(void **state)
{
	struct th_afx *f = *state;
	struct subca_leaf_request lr = {0};
	const char *sans[] = {"DNS:www.example.com"};
	struct subca_buf chain;
	struct subca_audit_list audit = {0};
	EVP_PKEY *leaf_key = th_key("ec-p256");
	X509 *leaf = NULL;
	int64_t count = 0;
	struct subca_report rep;
	char *pem;

	assert_int_equal(subca_authority_create(&f->c, "corp", "pki"), SUBCA_OK);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_NEEDS_ROOT);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_NEEDS_INTERMEDIATE);
	pem = fx_request_and_sign(f, "corp", 0);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_PENDING);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate(
				 &f->c, "corp", subca_slice_of(pem, strlen(pem)), false, &rep),
			 SUBCA_OK);
	free(pem);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_ACTIVE);

	lr.pubkey = leaf_key;
	lr.cn = "www.example.com";
	lr.sans = (struct subca_names){sans, 1};
	lr.days = 30;
	lr.now = TH_NOW;
	assert_int_equal(subca_authority_issue(&f->c, "corp", &lr, &chain, &leaf), SUBCA_OK);
	/* leaf then intermediate */
	assert_non_null(strstr((char *)chain.p, "-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----"));
	assert_int_equal(f->store->ops->cert_count(f->store, 1, &count), SUBCA_OK);
	assert_int_equal(count, 1);
	assert_int_equal(f->store->ops->audit_list(f->store, "corp", 100, &audit), SUBCA_OK);
	/* create, root import, request, activate, issue */
	assert_int_equal(audit.n, 5);
	assert_string_equal(audit.v[0].action, "certificate.issue");
	assert_string_equal(audit.v[4].action, "authority.create");
	subca_audit_list_cleanup(&audit);
	subca_buf_cleanup(&chain);
	X509_free(leaf);
	EVP_PKEY_free(leaf_key);
}

static void test_create_refuses_duplicates_and_bad_names(void **state)
{
	struct th_afx *f = *state;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_create(&f->c, "corp", "other"), SUBCA_E_EXISTS);
	assert_int_equal(subca_authority_create(&f->c, "other", "corp"), SUBCA_E_EXISTS);
	th_assert_error(subca_authority_create(&f->c, "ok", "Bad.Sub"), SUBCA_E_BAD_NAME,
			"subdomain \"Bad.Sub\"");
}

static void test_steps_out_of_order_are_refused_with_the_next_step(void **state)
{
	struct th_afx *f = *state;
	struct subca_intermediate_request r = {.params = {.cn = "x", .path_len = 0}};
	struct subca_buf csr;
	struct subca_report rep;
	struct subca_leaf_request lr = {.cn = "a.example", .days = 1, .now = TH_NOW};

	subca_report_init(&rep);
	th_assert_error(subca_authority_import_root(&f->c, "nope", fx_root_slice(f), NULL),
			SUBCA_E_NOT_FOUND, "no authority named \"nope\"");
	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	th_assert_error(subca_authority_request_intermediate(&f->c, "corp", &r, &csr, NULL),
			SUBCA_E_STATE, "subca root import corp");
	th_assert_error(subca_authority_import_intermediate(&f->c, "corp",
							    fx_root_slice(f), false, &rep),
			SUBCA_E_STATE, "has no root yet");
	th_assert_error(subca_authority_issue(&f->c, "corp", &lr, &csr, NULL),
			SUBCA_E_NOT_ACTIVE, "no active intermediate (state needs-root)");
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	th_assert_error(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			SUBCA_E_STATE, "already has a root");
	th_assert_error(subca_authority_import_intermediate(&f->c, "corp",
							    fx_root_slice(f), false, &rep),
			SUBCA_E_NO_PENDING, "subca intermediate request corp");
}

static void test_refused_intermediate_leaves_the_authority_pending(void **state)
{
	struct th_afx *f = *state;
	struct subca_report rep;
	struct subca_intermediate_list l = {0};
	char *pem;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	pem = fx_request_and_sign(f, "corp", 0);
	free(pem);
	subca_report_init(&rep);
	/* the root itself is not the intermediate */
	assert_int_equal(subca_authority_import_intermediate(&f->c, "corp", fx_root_slice(f),
							     false, &rep),
			 SUBCA_E_KEY_MISMATCH);
	assert_true(rep.refusals >= 1);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_PENDING);
	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, SUBCA_INT_PENDING);
	assert_null(l.v[0].cert_pem);
	subca_intermediate_list_cleanup(&l);
}

static void test_second_intermediate_retires_the_first(void **state)
{
	struct th_afx *f = *state;
	struct subca_report rep;
	struct subca_intermediate_list l = {0};
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	/* still active while the next one is pending */
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_ACTIVE);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate(
				 &f->c, "corp", subca_slice_of(pem, strlen(pem)), false, &rep),
			 SUBCA_OK);
	free(pem);
	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].state, SUBCA_INT_RETIRED);
	assert_int_equal(l.v[1].state, SUBCA_INT_ACTIVE);
	subca_intermediate_list_cleanup(&l);
}

static void test_request_refuses_bad_urls_and_destroys_nothing_it_keeps(void **state)
{
	struct th_afx *f = *state;
	struct subca_intermediate_request r = {.params = {.cn = "x", .path_len = 0}};
	struct subca_buf csr;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	r.crl_url = "ftp://crl.example/x.crl";
	th_assert_error(subca_authority_request_intermediate(&f->c, "corp", &r, &csr, NULL),
			SUBCA_E_INVALID_ARGUMENT, "must be an http:// or https:// URL");
	r.crl_url = "http://crl.example/a b";
	th_assert_error(subca_authority_request_intermediate(&f->c, "corp", &r, &csr, NULL),
			SUBCA_E_INVALID_ARGUMENT, "contains a space");
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_NEEDS_INTERMEDIATE);
}

static void test_request_caps_lifetime_at_the_root_expiry(void **state)
{
	struct th_afx *f = *state;
	struct subca_intermediate_request r = {.params = {.cn = "x", .path_len = 0, .days = 20 * 365}};
	struct subca_buf csr;
	int days = 0;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	assert_int_equal(subca_authority_request_intermediate(&f->c, "corp", &r, &csr, &days),
			 SUBCA_OK);
	/* the fixture root lives 3650 days from TH_NOW */
	assert_int_equal(days, 3650);
	subca_buf_cleanup(&csr);
}

static void test_generated_root_authority_is_active_at_once(void **state)
{
	struct th_afx *f = *state;
	struct subca_generated_root_opts o = {.root_key = SUBCA_KEY_EC_P256,
					      .intermediate_key = SUBCA_KEY_ED25519};
	struct subca_leaf_request lr = {.cn = "a.example", .days = 1, .now = TH_NOW};
	EVP_PKEY *k = th_key("ec-p256");
	struct subca_buf chain;
	struct subca_authority_rec a = {0};

	assert_int_equal(subca_authority_create_generated(&f->c, "lab", NULL, &o), SUBCA_OK);
	assert_int_equal(f->store->ops->authority_get(f->store, "lab", &a), SUBCA_OK);
	assert_int_equal(a.state, SUBCA_AUTH_ACTIVE);
	assert_true(a.generated_root);
	assert_non_null(a.root_key_id);
	subca_authority_rec_cleanup(&a);
	lr.pubkey = k;
	assert_int_equal(subca_authority_issue(&f->c, "lab", &lr, &chain, NULL), SUBCA_OK);
	subca_buf_cleanup(&chain);
	EVP_PKEY_free(k);
}

static void test_pending_returns_csr_and_root_for_instructions(void **state)
{
	struct th_afx *f = *state;
	struct subca_pending p;
	char *pem;

	th_assert_error(subca_authority_pending(&f->c, "corp", &p), SUBCA_E_NOT_FOUND, "corp");
	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	th_assert_error(subca_authority_pending(&f->c, "corp", &p), SUBCA_E_NO_PENDING,
			"no pending intermediate");
	pem = fx_request_and_sign(f, "corp", 0);
	free(pem);
	assert_int_equal(subca_authority_pending(&f->c, "corp", &p), SUBCA_OK);
	assert_non_null(p.csr);
	assert_non_null(p.root);
	assert_int_equal(X509_cmp(subca_root_issuer(p.root), f->root), 0);
	subca_pending_cleanup(&p);
}


/* A key store that fails its Nth load, around the real one. */
struct failing_keys {
	struct subca_keystore ks;
	struct subca_keystore *real;
	int loads, fail_at;
};

static subca_result failing_load(struct subca_keystore *ks, const char *id,
				 EVP_PKEY **key)
{
	struct failing_keys *f = (struct failing_keys *)ks;

	if (++f->loads == f->fail_at)
		return subca_error_set(SUBCA_E_KEYSTORE, __FILE__, __LINE__,
				       "injected load failure");
	return f->real->ops->load(f->real, id, key);
}

static subca_result failing_generate(struct subca_keystore *ks,
				     enum subca_key_type t,
				     char id[SUBCA_KEY_ID_MAX], EVP_PKEY **pub)
{
	struct failing_keys *f = (struct failing_keys *)ks;

	return f->real->ops->generate(f->real, t, id, pub);
}

static subca_result failing_destroy(struct subca_keystore *ks, const char *id)
{
	struct failing_keys *f = (struct failing_keys *)ks;

	return f->real->ops->destroy(f->real, id);
}

static const struct subca_keystore_ops failing_ops = {
	.name = "failing",
	.generate = failing_generate,
	.load = failing_load,
	.destroy = failing_destroy,
};

static int count_key_files(const char *dir)
{
	char cmd[600];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls '%s/keys' | grep -c '\\.key$'", dir);
	p = popen(cmd, "r");
	if (p != NULL && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p != NULL)
		pclose(p);
	return n;
}

static void test_failed_generated_root_leaves_no_key_behind(void **state)
{
	struct th_afx *f = *state;
	struct subca_generated_root_opts o = {.root_key = SUBCA_KEY_EC_P256,
					      .intermediate_key = SUBCA_KEY_EC_P256};
	struct failing_keys fk = {.ks = {.ops = &failing_ops}, .real = f->keys,
				  .fail_at = 3}; /* the root key, to sign the intermediate */
	struct subca_ctx c = f->c;
	struct subca_authority_rec a = {0};

	c.keys = &fk.ks;
	assert_int_equal(count_key_files(f->dir), 0);
	th_assert_error(subca_authority_create_generated(&c, "lab", NULL, &o),
			SUBCA_E_KEYSTORE, "injected load failure");
	assert_int_equal(fk.loads, 3);
	/* nothing recorded, and neither the root nor the intermediate key kept */
	assert_int_equal(f->store->ops->authority_get(f->store, "lab", &a),
			 SUBCA_E_NOT_FOUND);
	assert_int_equal(count_key_files(f->dir), 0);
}

/* ---- rotation ------------------------------------------------------------ */

/* Issue one leaf at f->c.now and return the id of the intermediate whose
 * certificate follows the leaf in the chain and whose key signed it. */
static int64_t fx_issue_from(struct th_afx *f, const char *name)
{
	struct subca_leaf_request lr = {0};
	const char *sans[] = {"DNS:www.example.com"};
	struct subca_intermediate_list l = {0};
	struct subca_buf chain;
	EVP_PKEY *leaf_key = th_key("ec-p256");
	X509 *leaf = NULL;
	int64_t id = -1;

	lr.pubkey = leaf_key;
	lr.cn = "www.example.com";
	lr.sans = (struct subca_names){sans, 1};
	lr.days = 30;
	lr.now = f->c.now;
	assert_int_equal(subca_authority_issue(&f->c, name, &lr, &chain, &leaf), SUBCA_OK);
	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, &l), SUBCA_OK);
	for (size_t i = 0; i < l.n; i++) {
		X509 *im = NULL;
		char *after = strstr((char *)chain.p, "-----END CERTIFICATE-----\n");

		if (l.v[i].cert_pem == NULL ||
		    strncmp(after + 26, l.v[i].cert_pem, strlen(l.v[i].cert_pem)) != 0)
			continue;
		assert_int_equal(subca_pem_load_x509(l.v[i].cert_pem, &im), SUBCA_OK);
		assert_int_equal(X509_verify(leaf, X509_get0_pubkey(im)), 1);
		X509_free(im);
		id = l.v[i].id;
	}
	subca_intermediate_list_cleanup(&l);
	subca_buf_cleanup(&chain);
	X509_free(leaf);
	EVP_PKEY_free(leaf_key);
	return id;
}

static enum subca_intermediate_state fx_int_state(struct th_afx *f, size_t i,
						 int64_t *retired_at)
{
	struct subca_intermediate_list l = {0};
	enum subca_intermediate_state s;

	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, &l), SUBCA_OK);
	assert_true(i < l.n);
	s = l.v[i].state;
	if (retired_at != NULL)
		*retired_at = l.v[i].retired_at;
	subca_intermediate_list_cleanup(&l);
	return s;
}

/* The key of `key_id` is gone from the key store. */
static void fx_assert_key_gone(struct th_afx *f, const char *key_id)
{
	EVP_PKEY *key = NULL;

	assert_int_not_equal(f->c.keys->ops->load(f->c.keys, key_id, &key), SUBCA_OK);
	assert_null(key);
	subca_error_clear();
}

static void test_discard_pending_destroys_its_key_and_record(void **state)
{
	struct th_afx *f = *state;
	struct subca_intermediate_rec d = {0};
	struct subca_intermediate_list l = {0};
	struct subca_audit_list audit = {0};
	char *pem;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	free(fx_request_and_sign(f, "corp", 0));
	pem = fx_request_and_sign(f, "corp", 0); /* supersedes the first */
	free(pem);
	/* 0: the newest pending request */
	assert_int_equal(subca_authority_discard_pending(&f->c, "corp", 0, &d), SUBCA_OK);
	assert_int_equal(d.id, 2);
	fx_assert_key_gone(f, d.key_id);
	/* the older request still waits: the authority stays pending */
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_PENDING);
	assert_int_equal(f->store->ops->audit_list(f->store, "corp", 1, &audit), SUBCA_OK);
	assert_int_equal(audit.n, 1);
	assert_string_equal(audit.v[0].action, "intermediate.discard");
	assert_non_null(strstr(audit.v[0].detail, d.key_id));
	subca_audit_list_cleanup(&audit);
	subca_intermediate_rec_cleanup(&d);
	/* by id: the last one, and the authority needs an intermediate */
	th_assert_error(subca_authority_discard_pending(&f->c, "corp", 99, NULL),
			SUBCA_E_NOT_FOUND, "has no intermediate 99");
	assert_int_equal(subca_authority_discard_pending(&f->c, "corp", 1, &d), SUBCA_OK);
	fx_assert_key_gone(f, d.key_id);
	subca_intermediate_rec_cleanup(&d);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_NEEDS_INTERMEDIATE);
	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, &l), SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_intermediate_list_cleanup(&l);
	th_assert_error(subca_authority_discard_pending(&f->c, "corp", 0, NULL),
			SUBCA_E_NO_PENDING, "has no pending intermediate request");
	th_assert_error(subca_authority_discard_pending(&f->c, "nope", 0, NULL),
			SUBCA_E_NOT_FOUND, "no authority named");
	/* a new request works as before */
	pem = fx_request_and_sign(f, "corp", 0);
	free(pem);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_PENDING);
}

static void test_discard_refuses_certified_intermediates(void **state)
{
	struct th_afx *f = *state;
	struct subca_intermediate_rec d = {0};

	fx_activate(f, "corp");
	th_assert_error(subca_authority_discard_pending(&f->c, "corp", 1, NULL),
			SUBCA_E_STATE, "is active: only a pending request");
	th_assert_error(subca_authority_discard_pending(&f->c, "corp", 0, NULL),
			SUBCA_E_NO_PENDING, "no pending");
	/* the next request, discarded while the current one issues */
	free(fx_request_and_sign(f, "corp", 0));
	assert_int_equal(subca_authority_discard_pending(&f->c, "corp", 0, &d), SUBCA_OK);
	assert_int_equal(d.id, 2);
	subca_intermediate_rec_cleanup(&d);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_ACTIVE);
	assert_int_equal(fx_int_state(f, 0, NULL), SUBCA_INT_ACTIVE);
	assert_int_equal(fx_issue_from(f, "corp"), 1);
}

static void test_request_while_active_keeps_the_current_one_issuing(void **state)
{
	struct th_afx *f = *state;
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	assert_int_equal(fx_state(f, "corp"), SUBCA_AUTH_ACTIVE);
	assert_int_equal(fx_int_state(f, 0, NULL), SUBCA_INT_ACTIVE);
	assert_int_equal(fx_int_state(f, 1, NULL), SUBCA_INT_PENDING);
	assert_int_equal(fx_issue_from(f, "corp"), 1);
	free(pem);
}

static void test_import_with_future_activation_switches_exactly_at_that_time(void **state)
{
	struct th_afx *f = *state;
	struct subca_report rep;
	struct subca_audit_list audit = {0};
	int64_t retired_at = 0;
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate_at(
				 &f->c, "corp", subca_slice_of(pem, strlen(pem)), false,
				 TH_NOW + 3600, &rep),
			 SUBCA_OK);
	free(pem);
	assert_int_equal(fx_int_state(f, 1, NULL), SUBCA_INT_READY);
	/* one second before: the first one still issues, nothing switched */
	f->c.now = TH_NOW + 3599;
	assert_int_equal(fx_issue_from(f, "corp"), 1);
	assert_int_equal(fx_int_state(f, 0, NULL), SUBCA_INT_ACTIVE);
	/* at the time: the next issuance records the switch and uses #2 */
	f->c.now = TH_NOW + 3600;
	assert_int_equal(fx_issue_from(f, "corp"), 2);
	assert_int_equal(fx_int_state(f, 0, &retired_at), SUBCA_INT_RETIRED);
	assert_int_equal(retired_at, TH_NOW + 3600);
	assert_int_equal(fx_int_state(f, 1, NULL), SUBCA_INT_ACTIVE);
	assert_int_equal(f->store->ops->audit_list(f->store, "corp", 3, &audit), SUBCA_OK);
	assert_string_equal(audit.v[0].action, "certificate.issue");
	assert_string_equal(audit.v[1].action, "intermediate.activate");
	assert_non_null(strstr(audit.v[1].detail, "as scheduled for 2026-01-01T01:00:00Z"));
	assert_string_equal(audit.v[2].action, "intermediate.retire");
	subca_audit_list_cleanup(&audit);
}

static void test_activate_due_switches_once_and_reports_it(void **state)
{
	struct th_afx *f = *state;
	struct subca_report rep;
	bool switched = true;
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate_at(
				 &f->c, "corp", subca_slice_of(pem, strlen(pem)), false,
				 TH_NOW + 60, &rep),
			 SUBCA_OK);
	free(pem);
	assert_int_equal(subca_authority_activate_due(&f->c, "corp", &switched), SUBCA_OK);
	assert_false(switched);
	f->c.now = TH_NOW + 61;
	assert_int_equal(subca_authority_activate_due(&f->c, "corp", &switched), SUBCA_OK);
	assert_true(switched);
	assert_int_equal(subca_authority_activate_due(&f->c, "corp", &switched), SUBCA_OK);
	assert_false(switched);
	assert_int_equal(fx_int_state(f, 0, NULL), SUBCA_INT_RETIRED);
	assert_int_equal(fx_int_state(f, 1, NULL), SUBCA_INT_ACTIVE);
}

static void test_retired_intermediate_never_issues_again(void **state)
{
	struct th_afx *f = *state;
	struct subca_report rep;
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate(
				 &f->c, "corp", subca_slice_of(pem, strlen(pem)), false, &rep),
			 SUBCA_OK);
	free(pem);
	assert_int_equal(fx_int_state(f, 0, NULL), SUBCA_INT_RETIRED);
	/* even at a time before the switch, only the active one issues */
	f->c.now = TH_NOW - 3600;
	assert_int_equal(fx_issue_from(f, "corp"), 2);
	f->c.now = TH_NOW + 86400;
	assert_int_equal(fx_issue_from(f, "corp"), 2);
}

static void test_activation_too_far_ahead_or_expired_by_then_is_refused(void **state)
{
	struct th_afx *f = *state;
	struct subca_report rep;
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	subca_report_init(&rep);
	th_assert_error(subca_authority_import_intermediate_at(
				&f->c, "corp", subca_slice_of(pem, strlen(pem)), false,
				TH_NOW + 367 * TH_DAY, &rep),
			SUBCA_E_INVALID_ARGUMENT, "more than 366 days ahead");
	/* signed for 365 days: expired when it would take over */
	subca_report_init(&rep);
	th_assert_error(subca_authority_import_intermediate_at(
				&f->c, "corp", subca_slice_of(pem, strlen(pem)), false,
				TH_NOW + 366 * TH_DAY, &rep),
			SUBCA_E_EXPIRED, "");
	free(pem);
	assert_int_equal(fx_int_state(f, 1, NULL), SUBCA_INT_PENDING);
}

static void test_request_next_asks_for_what_the_current_one_asked(void **state)
{
	struct th_afx *f = *state;
	struct subca_buf csr_pem;
	struct subca_csr_request req = {0};
	struct subca_intermediate_list l = {0};
	X509_REQ *csr = NULL;
	char cn[128];
	int days = 0;

	th_assert_error(subca_authority_request_next(&f->c, "corp", 0, &csr_pem, &days),
			SUBCA_E_NOT_FOUND, "no authority named");
	fx_activate(f, "corp");
	assert_int_equal(subca_authority_request_next(&f->c, "corp", 0, &csr_pem, &days),
			 SUBCA_OK);
	assert_int_equal(days, 1826);
	assert_int_equal(subca_pem_load_x509_req((char *)csr_pem.p, &csr), SUBCA_OK);
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(csr), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "Example Issuing CA");
	assert_int_equal(subca_csr_requested(csr, &req), SUBCA_OK);
	assert_true(req.ca);
	assert_int_equal(req.path_len, 0);
	assert_int_equal(X509_REQ_verify(csr, X509_REQ_get0_pubkey(csr)), 1);
	assert_int_equal(f->store->ops->intermediate_list(f->store, 1, &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[1].state, SUBCA_INT_PENDING);
	assert_string_equal(l.v[1].key_type, "ec-p256");
	assert_string_not_equal(l.v[1].key_id, l.v[0].key_id);
	subca_intermediate_list_cleanup(&l);
	subca_csr_request_cleanup(&req);
	X509_REQ_free(csr);
	subca_buf_cleanup(&csr_pem);
}

static void test_request_next_needs_an_issuing_intermediate(void **state)
{
	struct th_afx *f = *state;
	struct subca_buf csr_pem;

	assert_int_equal(subca_authority_create(&f->c, "corp", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, "corp", fx_root_slice(f), NULL),
			 SUBCA_OK);
	th_assert_error(subca_authority_request_next(&f->c, "corp", 0, &csr_pem, NULL),
			SUBCA_E_NOT_ACTIVE, "has no active intermediate to rotate");
}

static void test_expired_root_still_loads_its_stored_chain(void **state)
{
	struct th_afx *f = *state;
	struct subca_pending p;
	struct subca_buf csr_pem;
	char *pem;

	fx_activate(f, "corp");
	pem = fx_request_and_sign(f, "corp", 0);
	free(pem);
	/* the fixture root expires at TH_NOW + 3650 days */
	f->c.now = TH_NOW + 3651 * TH_DAY;
	assert_int_equal(subca_authority_pending(&f->c, "corp", &p), SUBCA_OK);
	assert_int_equal(sk_X509_num(p.root->chain), 1);
	subca_pending_cleanup(&p);
	/* the root is loaded, then its remaining life is what refuses */
	th_assert_error(subca_authority_request_next(&f->c, "corp", 0, &csr_pem, NULL),
			SUBCA_E_EXPIRED, "the root expires in less than a day");
}

/* An active authority whose intermediate permits only example.com. */
static void fx_activate_constrained(struct th_afx *f, const char *name)
{
	static const char *permit[] = {"example.com"};
	struct subca_intermediate_request r = {0};
	struct subca_sign_intermediate_opts so = {.days = 365, .path_len = -2,
						  .now = TH_NOW};
	struct subca_buf csr_pem;
	struct subca_report rep;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	char *pem;

	assert_int_equal(subca_authority_create(&f->c, name, NULL), SUBCA_OK);
	assert_int_equal(subca_authority_import_root(&f->c, name,
						     fx_root_slice(f), NULL),
			 SUBCA_OK);
	r.params.cn = "Example Issuing CA";
	r.params.path_len = 0;
	r.params.nc.permit_dns = (struct subca_names){permit, 1};
	r.key = SUBCA_KEY_EC_P256;
	assert_int_equal(subca_authority_request_intermediate(&f->c, name, &r,
							      &csr_pem, NULL),
			 SUBCA_OK);
	assert_int_equal(subca_pem_load_x509_req((char *)csr_pem.p, &csr),
			 SUBCA_OK);
	assert_int_equal(subca_signer_sign_intermediate(f->root, f->root_key,
							csr, &so, &cert),
			 SUBCA_OK);
	pem = th_pem(cert);
	subca_report_init(&rep);
	assert_int_equal(subca_authority_import_intermediate(
				 &f->c, name, subca_slice_of(pem, strlen(pem)),
				 false, &rep),
			 SUBCA_OK);
	free(pem);
	X509_free(cert);
	X509_REQ_free(csr);
	subca_buf_cleanup(&csr_pem);
}

/* The CAs that subca_authority_issuing_cas hands out refuse a name as
 * issuing it would; `dns` names one DNS name. */
static subca_result fx_check_name(STACK_OF(X509) *cas, const char *dns)
{
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_DNS, dns, 0);
	subca_result rv;

	assert_non_null(gns);
	assert_non_null(gn);
	assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
	rv = subca_names_check_constraints(NULL, gns, cas);
	GENERAL_NAMES_free(gns);
	return rv;
}

static void test_issuing_cas_are_the_intermediate_then_the_chain(void **state)
{
	struct th_afx *f = *state;
	struct subca_issuer_cache *cache = NULL;
	struct subca_issuer_cache_stats before, after;
	const char *sans[] = {"DNS:www.example.com"};
	struct subca_leaf_request lr = {.sans = {sans, 1}, .days = 1,
					.now = TH_NOW};
	EVP_PKEY *leaf_key = th_key("ec-p256");
	struct subca_buf chain;
	STACK_OF(X509) *cas = (STACK_OF(X509) *)1;

	assert_int_equal(subca_authority_create(&f->c, "none", NULL), SUBCA_OK);
	assert_int_equal(subca_authority_issuing_cas(&f->c, "none", &cas),
			 SUBCA_OK);
	assert_null(cas);
	th_assert_error(subca_authority_issuing_cas(&f->c, "nobody", &cas),
			SUBCA_E_NOT_FOUND, "nobody");

	fx_activate_constrained(f, "corp");
	assert_int_equal(subca_authority_issuing_cas(&f->c, "corp", &cas),
			 SUBCA_OK);
	assert_int_equal(sk_X509_num(cas), 2);
	assert_int_equal(X509_cmp(sk_X509_value(cas, 1), f->root), 0);
	assert_int_equal(fx_check_name(cas, "www.example.com"), SUBCA_OK);
	th_assert_error(fx_check_name(cas, "www.other.org"),
			SUBCA_E_NAME_CONSTRAINTS, "DNS:www.other.org");
	sk_X509_pop_free(cas, X509_free);

	/* from the issuer cache once an issuance filled it: the same CAs */
	assert_int_equal(subca_issuer_cache_new(2, &cache), SUBCA_OK);
	f->c.issuers = cache;
	lr.pubkey = leaf_key;
	assert_int_equal(subca_authority_issue(&f->c, "corp", &lr, &chain, NULL),
			 SUBCA_OK);
	subca_buf_cleanup(&chain);
	subca_issuer_cache_stats(cache, &before);
	assert_int_equal(subca_authority_issuing_cas(&f->c, "corp", &cas),
			 SUBCA_OK);
	subca_issuer_cache_stats(cache, &after);
	assert_int_equal(after.hits, before.hits + 1);
	assert_int_equal(sk_X509_num(cas), 2);
	assert_int_equal(X509_cmp(sk_X509_value(cas, 1), f->root), 0);
	th_assert_error(fx_check_name(cas, "www.other.org"),
			SUBCA_E_NAME_CONSTRAINTS, "DNS:www.other.org");
	sk_X509_pop_free(cas, X509_free);
	f->c.issuers = NULL;
	subca_issuer_cache_free(cache);
	EVP_PKEY_free(leaf_key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_validate_accepts_dns_labels_only),
		cmocka_unit_test_setup_teardown(test_lifecycle_goes_from_needs_root_to_active_and_issues, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_duplicates_and_bad_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_steps_out_of_order_are_refused_with_the_next_step, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refused_intermediate_leaves_the_authority_pending, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_second_intermediate_retires_the_first, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_refuses_bad_urls_and_destroys_nothing_it_keeps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_caps_lifetime_at_the_root_expiry, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_generated_root_authority_is_active_at_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending_returns_csr_and_root_for_instructions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_failed_generated_root_leaves_no_key_behind, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_while_active_keeps_the_current_one_issuing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_import_with_future_activation_switches_exactly_at_that_time, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_activate_due_switches_once_and_reports_it, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_retired_intermediate_never_issues_again, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_activation_too_far_ahead_or_expired_by_then_is_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_next_asks_for_what_the_current_one_asked, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_next_needs_an_issuing_intermediate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_discard_pending_destroys_its_key_and_record, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_discard_refuses_certified_intermediates, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expired_root_still_loads_its_stored_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_issuing_cas_are_the_intermediate_then_the_chain, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
