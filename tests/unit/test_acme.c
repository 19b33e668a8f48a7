/*
 * Unit tests of the ACME front end's pieces that stand alone: nonces
 * (single use, expiry, forgery), the ACME error types, provisioner
 * options, the store's ACME rows (compare-and-set updates, one account per
 * key, listing, EAB keys bound once) and the POST envelope.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "../../src/server/acme/acme_int.h"
#include "subca/alloc.h"
#include "subca/store_sqlite.h"

/* ---- nonces --------------------------------------------------------------- */

static void test_nonce_is_accepted_once(void **state)
{
	char n[SUBCA_ACME_NONCE_LEN + 1];

	(void)state;
	assert_int_equal(subca__acme_nonce_new(TH_NOW, n), SUBCA_OK);
	assert_int_equal(strlen(n), SUBCA_ACME_NONCE_LEN);
	assert_int_equal(subca__acme_nonce_use(n, TH_NOW + 5), SUBCA_OK);
	th_assert_error(subca__acme_nonce_use(n, TH_NOW + 6),
			SUBCA_E_ACME_BAD_NONCE, "already used");
}

static void test_nonce_expires_after_its_ttl(void **state)
{
	char n[SUBCA_ACME_NONCE_LEN + 1], m[SUBCA_ACME_NONCE_LEN + 1];

	(void)state;
	assert_int_equal(subca__acme_nonce_new(TH_NOW, n), SUBCA_OK);
	assert_int_equal(subca__acme_nonce_new(TH_NOW, m), SUBCA_OK);
	assert_int_equal(subca__acme_nonce_use(m, TH_NOW + SUBCA_ACME_NONCE_TTL),
			 SUBCA_OK);
	th_assert_error(subca__acme_nonce_use(n, TH_NOW + SUBCA_ACME_NONCE_TTL + 1),
			SUBCA_E_ACME_BAD_NONCE, "expired");
}

static void test_nonce_refuses_forgeries(void **state)
{
	char n[SUBCA_ACME_NONCE_LEN + 1];

	(void)state;
	assert_int_equal(subca__acme_nonce_new(TH_NOW, n), SUBCA_OK);
	n[20] = n[20] == 'A' ? 'B' : 'A';
	th_assert_error(subca__acme_nonce_use(n, TH_NOW), SUBCA_E_ACME_BAD_NONCE,
			"not issued by this server");
	th_assert_error(subca__acme_nonce_use("", TH_NOW),
			SUBCA_E_ACME_BAD_NONCE, "not issued");
	th_assert_error(subca__acme_nonce_use("!!!!", TH_NOW),
			SUBCA_E_ACME_BAD_NONCE, "not issued");
}

/* ---- error types ----------------------------------------------------------- */

static void test_errors_map_to_acme_types(void **state)
{
	(void)state;
	assert_string_equal(subca_error_acme_type(SUBCA_E_ACME_BAD_NONCE),
			    "badNonce");
	assert_string_equal(subca_error_acme_type(SUBCA_E_UNSUPPORTED_ALG),
			    "badSignatureAlgorithm");
	assert_string_equal(subca_error_acme_type(SUBCA_E_BAD_CSR), "badCSR");
	assert_string_equal(subca_error_acme_type(SUBCA_E_NAME_CONSTRAINTS),
			    "rejectedIdentifier");
	assert_string_equal(subca_error_acme_type(SUBCA_E_BAD_JWS), "malformed");
	assert_string_equal(subca_error_acme_type(SUBCA_E_STORE),
			    "serverInternal");
	assert_int_equal(subca_error_acme_status(SUBCA_E_ACME_ORDER_NOT_READY),
			 403);
	assert_int_equal(subca_error_acme_status(SUBCA_E_NOT_FOUND), 404);
}

/* ---- options --------------------------------------------------------------- */

static void test_options_round_trip(void **state)
{
	struct subca_acme_options o = {.require_eab = true}, back;
	char *text = NULL;

	(void)state;
	assert_int_equal(subca_acme_challenges_parse("dns-01,http-01",
						     &o.challenges), SUBCA_OK);
	assert_int_equal(subca_acme_options_text(&o, &text), SUBCA_OK);
	assert_string_equal(text, "{\"challenges\":[\"http-01\",\"dns-01\"],"
				  "\"require_eab\":true}");
	assert_int_equal(subca_acme_options_parse(text, &back), SUBCA_OK);
	assert_true(back.require_eab);
	assert_int_equal(back.challenges, o.challenges);
	subca_free(text);
	assert_int_equal(subca_acme_options_parse(NULL, &back), SUBCA_OK);
	assert_int_equal(back.challenges, SUBCA_ACME_CHALL_ALL);
}

static void test_options_refuse_unknown_challenges(void **state)
{
	unsigned bits;

	(void)state;
	th_assert_error(subca_acme_challenges_parse("http-01,smtp-01", &bits),
			SUBCA_E_INVALID_ARGUMENT, "smtp-01");
	th_assert_error(subca_acme_challenges_parse("", &bits),
			SUBCA_E_INVALID_ARGUMENT, "separated by commas");
}

/* ---- account keys ------------------------------------------------------------ */

static json_t *jwk_of_new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	json_t *jwk = NULL;

	assert_non_null(k);
	assert_int_equal(subca_jwk_to_json(k, &jwk), SUBCA_OK);
	EVP_PKEY_free(k);
	return jwk;
}

static void test_account_keys_are_shared_per_jwk_text(void **state)
{
	json_t *a = jwk_of_new_key(), *b = jwk_of_new_key();
	json_t *a2 = json_deep_copy(a);
	EVP_PKEY *ka = NULL, *ka2 = NULL, *kb = NULL;

	(void)state;
	assert_int_equal(subca__acme_account_key(a, &ka), SUBCA_OK);
	/* the same text (a copy): the same key object, a new reference */
	assert_int_equal(subca__acme_account_key(a2, &ka2), SUBCA_OK);
	assert_ptr_equal(ka, ka2);
	/* another key (a keyChange writes another JWK): another object */
	assert_int_equal(subca__acme_account_key(b, &kb), SUBCA_OK);
	assert_ptr_not_equal(ka, kb);
	assert_int_equal(EVP_PKEY_eq(ka, kb), 0);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(ka2);
	EVP_PKEY_free(kb);
	subca__acme_account_keys_flush();
	/* after a flush the key is built again, equal but new */
	assert_int_equal(subca__acme_account_key(a, &ka2), SUBCA_OK);
	assert_non_null(ka2);
	EVP_PKEY_free(ka2);
	subca__acme_account_keys_flush();
	json_decref(a);
	json_decref(a2);
	json_decref(b);
}

static void test_account_keys_refuse_bad_jwks_uncached(void **state)
{
	json_t *bad = json_pack("{s:s, s:s}", "kty", "EC", "crv", "P-256");
	json_t *priv = jwk_of_new_key();
	EVP_PKEY *k = (EVP_PKEY *)1;

	(void)state;
	th_assert_error(subca__acme_account_key(bad, &k), SUBCA_E_BAD_JWK,
			"no \"x\" string member");
	assert_null(k);
	/* still refused the second time: nothing was cached */
	th_assert_error(subca__acme_account_key(bad, &k), SUBCA_E_BAD_JWK,
			"no \"x\" string member");
	json_object_set_new(priv, "d", json_string("AAAA"));
	th_assert_error(subca__acme_account_key(priv, &k), SUBCA_E_PRIVATE_KEY,
			"private member \"d\"");
	json_decref(bad);
	json_decref(priv);
}

/* ---- the envelope ------------------------------------------------------------- */

static void test_envelope_refuses_unprotected_headers(void **state)
{
	static const char body[] = "{\"protected\":\"e30\",\"payload\":\"\","
				   "\"signature\":\"AA\",\"header\":{}}";
	struct subca_jws j;

	(void)state;
	th_assert_error(subca__acme_envelope(subca_slice_of(body, strlen(body)),
					     &j),
			SUBCA_E_BAD_JWS, "other than protected");
	subca_jws_cleanup(&j);
}

static void test_envelope_caps_the_body(void **state)
{
	size_t n = SUBCA_ACME_MAX_BODY + 1;
	char *body = calloc(1, n);
	struct subca_jws j;

	(void)state;
	assert_non_null(body);
	memset(body, ' ', n);
	th_assert_error(subca__acme_envelope(subca_slice_of(body, n), &j),
			SUBCA_E_TOO_LARGE, "over");
	subca_jws_cleanup(&j);
	free(body);
}

/* ---- store rows ---------------------------------------------------------------- */

struct fx {
	char *dir;
	char path[512];
	struct subca_store *st;
	int64_t prov;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct subca_authority_rec a = {.name = "demo", .subdomain = "demo"};
	struct subca_provisioner_rec p = {.name = "acme",
					  .type = SUBCA_PROV_ACME};

	assert_non_null(f);
	f->dir = th_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/subca.db", f->dir);
	assert_int_equal(subca_store_sqlite_open(f->path, true, &f->st),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->authority_create(f->st, &a), SUBCA_OK);
	p.authority_id = a.id;
	p.created = TH_NOW;
	assert_int_equal(f->st->ops->provisioner_add(f->st, &p), SUBCA_OK);
	f->prov = p.id;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	f->st->ops->close(f->st);
	th_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void rec_init(struct subca_acme_rec *r, int64_t prov, const char *id,
		     const char *parent, const char *lookup)
{
	memset(r, 0, sizeof(*r));
	r->id = (char *)id;
	r->provisioner_id = prov;
	r->parent = (char *)parent;
	r->status = "pending";
	r->lookup = (char *)lookup;
	r->doc = "{}";
	r->created = r->updated = TH_NOW;
}

static void test_store_update_is_compare_and_set(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = f->st;
	struct subca_acme_rec r, a = {0}, b = {0};

	rec_init(&r, f->prov, "o1", "acct", NULL);
	assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_ORDER, &r), SUBCA_OK);
	assert_int_equal(st->ops->acme_get(st, SUBCA_ACME_ORDER, f->prov, "o1",
					   &a), SUBCA_OK);
	assert_int_equal(st->ops->acme_get(st, SUBCA_ACME_ORDER, f->prov, "o1",
					   &b), SUBCA_OK);
	subca_free(a.status);
	a.status = subca_strdup("ready");
	assert_int_equal(st->ops->acme_update(st, SUBCA_ACME_ORDER, &a),
			 SUBCA_OK);
	assert_int_equal(a.version, 2);
	/* the second writer read version 1: it loses */
	subca_free(b.status);
	b.status = subca_strdup("invalid");
	th_assert_error(st->ops->acme_update(st, SUBCA_ACME_ORDER, &b),
			SUBCA_E_STATE, "changed concurrently");
	subca_acme_rec_cleanup(&a);
	assert_int_equal(st->ops->acme_get(st, SUBCA_ACME_ORDER, f->prov, "o1",
					   &a), SUBCA_OK);
	assert_string_equal(a.status, "ready");
	subca_acme_rec_cleanup(&a);
	subca_acme_rec_cleanup(&b);
}

static void test_store_keeps_one_account_per_key(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = f->st;
	struct subca_acme_rec r, out = {0};

	rec_init(&r, f->prov, "a1", NULL, "thumb");
	assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_ACCOUNT, &r), SUBCA_OK);
	rec_init(&r, f->prov, "a2", NULL, "thumb");
	th_assert_error(st->ops->acme_add(st, SUBCA_ACME_ACCOUNT, &r),
			SUBCA_E_EXISTS, "key already exists");
	assert_int_equal(st->ops->acme_find(st, SUBCA_ACME_ACCOUNT, f->prov,
					    "thumb", &out), SUBCA_OK);
	assert_string_equal(out.id, "a1");
	subca_acme_rec_cleanup(&out);
	th_assert_error(st->ops->acme_get(st, SUBCA_ACME_ACCOUNT, f->prov + 1,
					  "a1", &out),
			SUBCA_E_NOT_FOUND, "no such ACME account");
}

static void test_store_lists_by_parent_and_status(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = f->st;
	struct subca_acme_rec r;
	struct subca_acme_list l = {0};
	struct subca_acme_filter by_parent = {.provisioner_id = f->prov,
					      .parent = "z1"};
	struct subca_acme_filter by_status = {.status = "processing"};

	rec_init(&r, f->prov, "c1", "z1", NULL);
	assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_CHALLENGE, &r),
			 SUBCA_OK);
	rec_init(&r, f->prov, "c2", "z1", NULL);
	r.status = "processing";
	assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_CHALLENGE, &r),
			 SUBCA_OK);
	rec_init(&r, f->prov, "c3", "z2", NULL);
	assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_CHALLENGE, &r),
			 SUBCA_OK);
	assert_int_equal(st->ops->acme_list(st, SUBCA_ACME_CHALLENGE, &by_parent,
					    &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "c1");
	subca_acme_list_cleanup(&l);
	assert_int_equal(st->ops->acme_list(st, SUBCA_ACME_CHALLENGE, &by_status,
					    &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].id, "c2");
	subca_acme_list_cleanup(&l);
}

static void test_store_lists_a_page_after_a_row(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = f->st;
	struct subca_acme_rec r;
	struct subca_acme_list l = {0};
	struct subca_acme_filter page = {.provisioner_id = f->prov,
					 .parent = "acct", .limit = 2};
	/* same creation second: the insertion order decides */
	const char *ids[] = {"o5", "o1", "o4", "o2", "o3"};

	for (size_t i = 0; i < 5; i++) {
		rec_init(&r, f->prov, ids[i], "acct", NULL);
		assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_ORDER, &r),
				 SUBCA_OK);
	}
	assert_int_equal(st->ops->acme_list(st, SUBCA_ACME_ORDER, &page, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].id, "o1");
	subca_acme_list_cleanup(&l);
	page.after = "o1";
	assert_int_equal(st->ops->acme_list(st, SUBCA_ACME_ORDER, &page, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "o4");
	assert_string_equal(l.v[1].id, "o2");
	subca_acme_list_cleanup(&l);
	page.after = "o3";
	assert_int_equal(st->ops->acme_list(st, SUBCA_ACME_ORDER, &page, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_acme_list_cleanup(&l);
	page.after = "unknown";
	assert_int_equal(st->ops->acme_list(st, SUBCA_ACME_ORDER, &page, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_acme_list_cleanup(&l);
}

static void test_store_binds_an_eab_key_once(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = f->st;
	struct subca_acme_eab_rec r = {.kid = "k1", .provisioner_id = f->prov,
				       .sealed = "v1.x", .created = TH_NOW};
	struct subca_acme_eab_rec out = {0};

	assert_int_equal(st->ops->acme_eab_add(st, &r), SUBCA_OK);
	th_assert_error(st->ops->acme_eab_add(st, &r), SUBCA_E_EXISTS, "kid");
	assert_int_equal(st->ops->acme_eab_bind(st, f->prov, "k1", "acct1"),
			 SUBCA_OK);
	th_assert_error(st->ops->acme_eab_bind(st, f->prov, "k1", "acct2"),
			SUBCA_E_STATE, "already bound");
	assert_int_equal(st->ops->acme_eab_get(st, f->prov, "k1", &out),
			 SUBCA_OK);
	assert_string_equal(out.account_id, "acct1");
	subca_acme_eab_rec_cleanup(&out);
	th_assert_error(st->ops->acme_eab_get(st, f->prov, "k2", &out),
			SUBCA_E_NOT_FOUND, "no EAB key");
}

static void test_store_rows_go_with_their_provisioner(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = f->st;
	struct subca_acme_rec r, out = {0};

	rec_init(&r, f->prov, "o9", "acct", NULL);
	assert_int_equal(st->ops->acme_add(st, SUBCA_ACME_ORDER, &r), SUBCA_OK);
	assert_int_equal(st->ops->provisioner_remove(st, 1, "acme"), SUBCA_OK);
	th_assert_error(st->ops->acme_get(st, SUBCA_ACME_ORDER, f->prov, "o9",
					  &out),
			SUBCA_E_NOT_FOUND, "no such ACME order");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_is_accepted_once),
		cmocka_unit_test(test_nonce_expires_after_its_ttl),
		cmocka_unit_test(test_nonce_refuses_forgeries),
		cmocka_unit_test(test_errors_map_to_acme_types),
		cmocka_unit_test(test_account_keys_are_shared_per_jwk_text),
		cmocka_unit_test(test_account_keys_refuse_bad_jwks_uncached),
		cmocka_unit_test(test_options_round_trip),
		cmocka_unit_test(test_options_refuse_unknown_challenges),
		cmocka_unit_test(test_envelope_refuses_unprotected_headers),
		cmocka_unit_test(test_envelope_caps_the_body),
		cmocka_unit_test_setup_teardown(test_store_update_is_compare_and_set,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_store_keeps_one_account_per_key,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_store_lists_by_parent_and_status,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_store_lists_a_page_after_a_row,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_store_binds_an_eab_key_once,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_store_rows_go_with_their_provisioner,
						fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
