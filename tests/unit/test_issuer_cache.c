/* Unit tests of the issuer cache: hits, misses on a changed certificate,
 * the bound, the chain PEM it prepares, and use from several threads. */
#include "helpers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/issuer_cache.h"
#include "subca/limits.h"

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A root, the customer's issuing CA below it, and subca's intermediate:
 * made once, shared (up-referenced) by every entry the tests build. */
static EVP_PKEY *th_root_key, *th_sub_key, *th_int_key;
static X509 *th_root_cert, *th_sub_cert, *th_int_cert;

static int th_setup(void **state)
{
	struct th_cert_opts root = {.subject = "/CN=Cache Root"};
	struct th_cert_opts sub = {.subject = "/CN=Cache Issuing CA"};
	struct th_cert_opts im = {.subject = "/CN=Cache Intermediate"};

	th_root_key = th_key("ec-p256");
	th_sub_key = th_key("ec-p256");
	th_int_key = th_key("ec-p256");
	th_root_cert = th_cert(&root, th_root_key, NULL, NULL);
	th_sub_cert = th_cert(&sub, th_sub_key, th_root_cert, th_root_key);
	th_int_cert = th_cert(&im, th_int_key, th_sub_cert, th_sub_key);
	return 0;
}

static int th_teardown(void **state)
{
	X509_free(th_root_cert);
	X509_free(th_sub_cert);
	X509_free(th_int_cert);
	EVP_PKEY_free(th_root_key);
	EVP_PKEY_free(th_sub_key);
	EVP_PKEY_free(th_int_key);
	return 0;
}

static struct subca_root *th_chain(void)
{
	struct subca_root *r = subca_calloc(1, sizeof(*r));

	assert_non_null(r);
	r->chain = sk_X509_new_null();
	assert_non_null(r->chain);
	X509_up_ref(th_root_cert);
	X509_up_ref(th_sub_cert);
	sk_X509_push(r->chain, th_root_cert);
	sk_X509_push(r->chain, th_sub_cert);
	return r;
}

static const struct subca_issuer_entry *th_entry(int64_t id, const char *fp)
{
	const struct subca_issuer_entry *e = NULL;

	X509_up_ref(th_int_cert);
	EVP_PKEY_up_ref(th_int_key);
	if (subca_issuer_entry_new(id, fp, th_int_cert, th_int_key, th_chain(),
				   &e) != SUBCA_OK)
		fail_msg("entry_new: %s", subca_error_reason());
	return e;
}

static struct subca_issuer_cache *th_cache(size_t max)
{
	struct subca_issuer_cache *c = NULL;

	if (subca_issuer_cache_new(max, &c) != SUBCA_OK)
		fail_msg("cache_new: %s", subca_error_reason());
	return c;
}

static void test_issuer_cache_returns_the_entry_put_for_the_same_id_and_fingerprint(
	void **state)
{
	struct subca_issuer_cache *c = th_cache(4);
	const struct subca_issuer_entry *e = th_entry(7, FP_A), *got;
	struct subca_issuer_cache_stats st;

	assert_null(subca_issuer_cache_get(c, 7, FP_A));
	subca_issuer_cache_put(c, e);
	got = subca_issuer_cache_get(c, 7, FP_A);
	assert_ptr_equal(got, e);
	assert_ptr_equal(got->key, th_int_key);
	subca_issuer_entry_release(got);
	subca_issuer_cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.entries, 1);
	subca_issuer_entry_release(e);
	/* the cache's own reference keeps it alive */
	got = subca_issuer_cache_get(c, 7, FP_A);
	assert_ptr_equal(got, e);
	subca_issuer_entry_release(got);
	subca_issuer_cache_free(c);
}

static void test_issuer_cache_misses_when_the_certificate_fingerprint_changed(
	void **state)
{
	struct subca_issuer_cache *c = th_cache(4);
	const struct subca_issuer_entry *a = th_entry(7, FP_A);
	const struct subca_issuer_entry *b = th_entry(7, FP_B), *got;
	struct subca_issuer_cache_stats st;

	subca_issuer_cache_put(c, a);
	assert_null(subca_issuer_cache_get(c, 7, FP_B));
	assert_null(subca_issuer_cache_get(c, 8, FP_A));
	assert_null(subca_issuer_cache_get(c, 7, NULL));
	/* the new certificate replaces the old one for that id */
	subca_issuer_cache_put(c, b);
	assert_null(subca_issuer_cache_get(c, 7, FP_A));
	got = subca_issuer_cache_get(c, 7, FP_B);
	assert_ptr_equal(got, b);
	subca_issuer_entry_release(got);
	subca_issuer_cache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	/* `a` is still usable by whoever holds it */
	assert_string_equal(a->fingerprint, FP_A);
	subca_issuer_entry_release(a);
	subca_issuer_entry_release(b);
	subca_issuer_cache_free(c);
}

static void test_issuer_cache_drop_forgets_one_id_and_holders_keep_theirs(
	void **state)
{
	struct subca_issuer_cache *c = th_cache(4);
	const struct subca_issuer_entry *a = th_entry(7, FP_A);
	const struct subca_issuer_entry *b = th_entry(8, FP_B), *got;
	struct subca_issuer_cache_stats st;

	subca_issuer_cache_put(c, a);
	subca_issuer_cache_put(c, b);
	subca_issuer_cache_drop(c, 7);
	subca_issuer_cache_drop(c, 99); /* not cached: nothing */
	subca_issuer_cache_drop(NULL, 7);
	assert_null(subca_issuer_cache_get(c, 7, FP_A));
	got = subca_issuer_cache_get(c, 8, FP_B);
	assert_ptr_equal(got, b);
	subca_issuer_entry_release(got);
	subca_issuer_cache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_string_equal(a->fingerprint, FP_A);
	subca_issuer_entry_release(a);
	subca_issuer_entry_release(b);
	subca_issuer_cache_free(c);
}

static void test_issuer_cache_evicts_the_least_recently_used_when_full(
	void **state)
{
	struct subca_issuer_cache *c = th_cache(2);
	const struct subca_issuer_entry *e;
	struct subca_issuer_cache_stats st;

	for (int64_t id = 1; id <= 2; id++) {
		e = th_entry(id, FP_A);
		subca_issuer_cache_put(c, e);
		subca_issuer_entry_release(e);
	}
	/* use 1, so that 2 is the least recently used */
	subca_issuer_entry_release(subca_issuer_cache_get(c, 1, FP_A));
	e = th_entry(3, FP_A);
	subca_issuer_cache_put(c, e);
	subca_issuer_entry_release(e);
	subca_issuer_cache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evictions, 1);
	assert_null(subca_issuer_cache_get(c, 2, FP_A));
	for (int64_t id = 1; id <= 3; id += 2) {
		e = subca_issuer_cache_get(c, id, FP_A);
		assert_non_null(e);
		subca_issuer_entry_release(e);
	}
	subca_issuer_cache_free(c);
}

static void test_issuer_cache_size_is_bounded(void **state)
{
	struct subca_issuer_cache *c = NULL;

	th_assert_error(subca_issuer_cache_new(0, &c), SUBCA_E_INVALID_ARGUMENT,
			"1 to 64 entries, not 0");
	assert_null(c);
	th_assert_error(subca_issuer_cache_new(SUBCA_MAX_CACHED_ISSUERS + 1, &c),
			SUBCA_E_INVALID_ARGUMENT, "not 65");
	c = th_cache(SUBCA_MAX_CACHED_ISSUERS);
	subca_issuer_cache_free(c);
	subca_issuer_cache_free(NULL);
}

static void test_issuer_entry_refuses_a_malformed_fingerprint(void **state)
{
	const struct subca_issuer_entry *e = NULL;

	X509_up_ref(th_int_cert);
	EVP_PKEY_up_ref(th_int_key);
	th_assert_error(subca_issuer_entry_new(1, "ABCD", th_int_cert,
					       th_int_key, th_chain(), &e),
			SUBCA_E_INVALID_ARGUMENT, "SHA-256 fingerprint in hex");
	assert_null(e);
	th_assert_error(subca_issuer_entry_new(1, FP_A, NULL, NULL, NULL, &e),
			SUBCA_E_INVALID_ARGUMENT, "needs a certificate");
}

static void test_issuer_entry_refuses_a_key_that_is_not_the_certificates(
	void **state)
{
	const struct subca_issuer_entry *e = NULL;

	X509_up_ref(th_int_cert);
	EVP_PKEY_up_ref(th_sub_key);
	th_assert_error(subca_issuer_entry_new(1, FP_A, th_int_cert, th_sub_key,
					       th_chain(), &e),
			SUBCA_E_CRYPTO,
			"the issuing key does not match the issuing certificate");
	assert_null(e);
	e = th_entry(1, FP_A);
	assert_true(e->key_checked);
	subca_issuer_entry_release(e);
}

static void test_issuer_entry_chain_pem_is_the_intermediate_then_cas_below_the_anchor(
	void **state)
{
	const struct subca_issuer_entry *e = th_entry(1, FP_A);
	char *im = th_pem(th_int_cert), *sub = th_pem(th_sub_cert);
	char *root = th_pem(th_root_cert);

	assert_int_equal(e->ca_pem_len, strlen(im) + strlen(sub));
	assert_int_equal(strlen(e->ca_pem), e->ca_pem_len);
	assert_memory_equal(e->ca_pem, im, strlen(im));
	assert_string_equal(e->ca_pem + strlen(im), sub);
	assert_null(strstr(e->ca_pem, root));
	free(im);
	free(sub);
	free(root);
	subca_issuer_entry_release(e);
}

/* ---- threads ---------------------------------------------------------- */

#define TH_THREADS 8
#define TH_ROUNDS 2000

struct th_worker {
	struct subca_issuer_cache *c;
	int seed;
	int seen; /* entries found whose fields were consistent */
};

static void *th_worker_main(void *arg)
{
	struct th_worker *w = arg;
	unsigned r = (unsigned)w->seed;

	for (int i = 0; i < TH_ROUNDS; i++) {
		int64_t id = (int64_t)(rand_r(&r) % 6) + 1;
		const char *fp = rand_r(&r) % 4 ? FP_A : FP_B;
		const struct subca_issuer_entry *e =
			subca_issuer_cache_get(w->c, id, fp);

		if (e == NULL) {
			e = th_entry(id, fp);
			subca_issuer_cache_put(w->c, e);
		}
		/* whatever another thread evicts meanwhile stays valid here */
		if (e->id == id && strcmp(e->fingerprint, fp) == 0 &&
		    X509_get0_pubkey(e->cert) != NULL && e->key != NULL &&
		    sk_X509_num(e->root->chain) == 2)
			w->seen++;
		subca_issuer_entry_release(e);
	}
	return NULL;
}

static void test_issuer_cache_is_safe_to_share_between_threads(void **state)
{
	struct subca_issuer_cache *c = th_cache(4); /* < 12 keys: evictions */
	pthread_t t[TH_THREADS];
	struct th_worker w[TH_THREADS];
	struct subca_issuer_cache_stats st;

	for (int i = 0; i < TH_THREADS; i++) {
		w[i] = (struct th_worker){.c = c, .seed = i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, th_worker_main,
						&w[i]),
				 0);
	}
	for (int i = 0; i < TH_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].seen, TH_ROUNDS);
	}
	subca_issuer_cache_stats(c, &st);
	assert_int_equal(st.hits + st.misses, TH_THREADS * TH_ROUNDS);
	assert_true(st.entries <= 4);
	assert_true(st.evictions > 0);
	subca_issuer_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issuer_cache_returns_the_entry_put_for_the_same_id_and_fingerprint),
		cmocka_unit_test(test_issuer_cache_misses_when_the_certificate_fingerprint_changed),
		cmocka_unit_test(test_issuer_cache_drop_forgets_one_id_and_holders_keep_theirs),
		cmocka_unit_test(test_issuer_cache_evicts_the_least_recently_used_when_full),
		cmocka_unit_test(test_issuer_cache_size_is_bounded),
		cmocka_unit_test(test_issuer_entry_refuses_a_malformed_fingerprint),
		cmocka_unit_test(test_issuer_entry_refuses_a_key_that_is_not_the_certificates),
		cmocka_unit_test(test_issuer_entry_chain_pem_is_the_intermediate_then_cas_below_the_anchor),
		cmocka_unit_test(test_issuer_cache_is_safe_to_share_between_threads),
	};

	return cmocka_run_group_tests(tests, th_setup, th_teardown);
}
