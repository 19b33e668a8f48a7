/* Unit tests of root import: sorting a bundle and checking every CA. */
#include "helpers.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "subca/limits.h"
#include "subca/root.h"

/* ---- fixtures --------------------------------------------------------- */

struct tb {
	char *p;
	size_t len;
};

static void tb_add(struct tb *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_cert(struct tb *b, X509 *x)
{
	char *pem = th_pem(x);

	tb_add(b, pem, strlen(pem));
	free(pem);
}

static EVP_PKEY *g_k1, *g_k2, *g_k3, *g_rsa;
static X509 *g_root; /* ec-p256, self-signed CA with defaults */
static X509 *g_ca;   /* signed by g_root */
static X509 *g_sub;  /* signed by g_ca */

static int setup(void **state)
{
	struct th_cert_opts ro = {.subject = "/O=Example/CN=Example Root"};
	struct th_cert_opts co = {.subject = "/O=Example/CN=Example Signing CA"};
	struct th_cert_opts so = {.subject = "/O=Example/CN=Example Sub CA"};

	g_k1 = th_key("ec-p256");
	g_k2 = th_key("ec-p256");
	g_k3 = th_key("ec-p384");
	g_rsa = th_key("rsa-2048");
	g_root = th_cert(&ro, g_k1, NULL, NULL);
	g_ca = th_cert(&co, g_k2, g_root, g_k1);
	g_sub = th_cert(&so, g_k3, g_ca, g_k2);
	return 0;
}

static int teardown(void **state)
{
	EVP_PKEY_free(g_k1);
	EVP_PKEY_free(g_k2);
	EVP_PKEY_free(g_k3);
	EVP_PKEY_free(g_rsa);
	X509_free(g_root);
	X509_free(g_ca);
	X509_free(g_sub);
	return 0;
}

/* Parse a PEM of `certs` (NULL-terminated) into a root; the report kept. */
static subca_result parse_certs(X509 *const *certs, struct subca_report *rep,
				struct subca_root **out)
{
	struct tb b = {0};
	subca_result rv;

	for (; *certs != NULL; certs++)
		tb_cert(&b, *certs);
	subca_report_init(rep);
	rv = subca_root_parse(subca_slice_of(b.p, b.len), TH_NOW, rep, out);
	free(b.p);
	if (rv != SUBCA_OK) {
		assert_null(*out);
		assert_true(rep->refusals > 0);
		/* the returned error is the report's first refusal */
		for (size_t i = 0; i < rep->n; i++) {
			if (rep->items[i].warning)
				continue;
			assert_int_equal(rep->items[i].code, rv);
			break;
		}
	}
	return rv;
}

/* Parse one certificate; return the result, root freed. */
static subca_result parse_one(X509 *x, struct subca_report *rep)
{
	X509 *certs[] = {x, NULL};
	struct subca_root *r = NULL;
	subca_result rv = parse_certs(certs, rep, &r);

	subca_root_free(r);
	return rv;
}

static X509 *self_signed(const struct th_cert_opts *o, EVP_PKEY *k)
{
	return th_cert(o, k, NULL, NULL);
}

static bool has_warning(const struct subca_report *r, const char *needle)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].warning && strstr(r->items[i].message, needle))
			return true;
	return false;
}

static bool has_refusal(const struct subca_report *r, enum subca_code code,
			const char *needle)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->items[i].warning && r->items[i].code == code &&
		    strstr(r->items[i].message, needle))
			return true;
	return false;
}

/* ---- accepted roots and bundles --------------------------------------- */

static void test_root_parse_accepts_roots_of_every_key_type(void **state)
{
	static const char *const types[] = {"rsa-2048", "rsa-4096", "ec-p256",
					    "ec-p384", "ed25519"};
	struct subca_report rep;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *k = th_key(types[i]);
		struct th_cert_opts o = {.subject = "/CN=Typed Root"};
		X509 *x = self_signed(&o, k);
		X509 *certs[] = {x, NULL};
		struct subca_root *r = NULL;

		if (parse_certs(certs, &rep, &r) != SUBCA_OK)
			fail_msg("%s: %s", types[i], subca_error_reason());
		assert_int_equal(sk_X509_num(r->chain), 1);
		assert_ptr_equal(subca_root_anchor(r), subca_root_issuer(r));
		assert_int_equal(X509_cmp(subca_root_anchor(r), x), 0);
		assert_int_equal(rep.refusals, 0);
		subca_root_free(r);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

static void test_root_parse_sorts_a_bundle_anchor_first_in_any_order(void **state)
{
	X509 *orders[][4] = {
		{g_root, g_ca, g_sub, NULL},
		{g_sub, g_ca, g_root, NULL},
		{g_ca, g_sub, g_root, NULL},
	};
	struct subca_report rep;

	for (size_t i = 0; i < 3; i++) {
		struct subca_root *r = NULL;

		assert_int_equal(parse_certs(orders[i], &rep, &r), SUBCA_OK);
		assert_int_equal(sk_X509_num(r->chain), 3);
		assert_int_equal(X509_cmp(subca_root_anchor(r), g_root), 0);
		assert_int_equal(X509_cmp(sk_X509_value(r->chain, 1), g_ca), 0);
		assert_int_equal(X509_cmp(subca_root_issuer(r), g_sub), 0);
		subca_root_free(r);
	}
}

static void test_root_parse_drops_duplicate_certificates(void **state)
{
	X509 *certs[] = {g_ca, g_root, g_ca, g_root, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	assert_int_equal(parse_certs(certs, &rep, &r), SUBCA_OK);
	assert_int_equal(sk_X509_num(r->chain), 2);
	subca_root_free(r);
}

static void test_root_to_pem_writes_the_chain_anchor_first(void **state)
{
	X509 *certs[] = {g_ca, g_root, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL, *again = NULL;
	SUBCA_BUF_AUTO struct subca_buf pem = {0};
	char *root_pem = th_pem(g_root);

	assert_int_equal(parse_certs(certs, &rep, &r), SUBCA_OK);
	assert_int_equal(subca_root_to_pem(r, &pem), SUBCA_OK);
	assert_int_equal(strncmp((char *)pem.p, root_pem, strlen(root_pem)), 0);
	assert_int_equal(subca_root_parse(subca_buf_slice(&pem), TH_NOW, NULL,
					  &again),
			 SUBCA_OK);
	assert_int_equal(X509_cmp(subca_root_issuer(again), g_ca), 0);
	subca_root_free(again);
	subca_root_free(r);
	free(root_pem);
}

static void test_root_parse_accepts_der_and_a_null_report(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	struct subca_root *r = NULL;

	assert_int_equal(subca_root_parse(subca_slice_of(der, len), TH_NOW,
					  NULL, &r),
			 SUBCA_OK);
	subca_root_free(r);
	th_assert_error(subca_root_parse(subca_slice_of(der, len - 1), TH_NOW,
					 NULL, &r),
			SUBCA_E_TRUNCATED, "truncated");
	assert_null(r);
	free(der);
}

/* ---- warnings ------------------------------------------------------------ */

static void test_root_parse_warns_about_a_root_without_key_usage(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=Debian v3_ca", .exts = exts};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	assert_int_equal(parse_one(x, &rep), SUBCA_OK);
	assert_int_equal(rep.warnings, 1);
	assert_true(has_warning(&rep, "has no keyUsage"));
	assert_true(has_warning(&rep, "openssl verify -x509_strict"));
	X509_free(x);
}

static void test_root_parse_warns_about_an_anchor_without_ski(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=No SKI", .exts = exts};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	assert_int_equal(parse_one(x, &rep), SUBCA_OK);
	assert_int_equal(rep.warnings, 1);
	assert_true(has_warning(&rep, "refuses a chain through a root without "
				      "subjectKeyIdentifier; most TLS clients "
				      "accept it"));
	X509_free(x);
}

static void test_root_parse_accepts_a_non_self_signed_top_with_a_warning(void **state)
{
	X509 *certs[] = {g_sub, g_ca, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	assert_int_equal(parse_certs(certs, &rep, &r), SUBCA_OK);
	assert_int_equal(X509_cmp(subca_root_anchor(r), g_ca), 0);
	assert_int_equal(X509_cmp(subca_root_issuer(r), g_sub), 0);
	assert_true(has_warning(&rep, "'CN=Example Signing CA,O=Example' is "
				      "not self-signed"));
	assert_true(has_warning(&rep, "must trust it as an anchor"));
	subca_root_free(r);
}

/* ---- refusals of single certificates ------------------------------------ */

static void test_root_parse_rejects_ca_false(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,digitalSignature"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=www.example.com", .exts = exts};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_NOT_CA,
			"'CN=www.example.com' has basicConstraints CA:FALSE: it "
			"is a self-signed end-entity certificate");
	assert_true(has_refusal(&rep, SUBCA_E_NO_KEYCERTSIGN, "lacks "
							      "keyCertSign"));
	X509_free(x);
}

static void test_root_parse_rejects_missing_basic_constraints(void **state)
{
	static const struct th_ext exts[] = {
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=No BC", .exts = exts};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_NOT_CA,
			"'CN=No BC' has no basicConstraints extension");
	X509_free(x);
}

static void test_root_parse_rejects_v1_certificate(void **state)
{
	struct th_cert_opts o = {.subject = "/CN=Old Root", .v1 = 1};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_NOT_CA,
			"v1 has no basicConstraints");
	assert_non_null(strstr(subca_error_hint_text(), "-extfile"));
	X509_free(x);
}

static void test_root_parse_rejects_key_usage_without_keycertsign(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,cRLSign,digitalSignature"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=No KCS", .exts = exts};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_NO_KEYCERTSIGN,
			"the keyUsage of 'CN=No KCS' lacks keyCertSign");
	X509_free(x);
}

static void test_root_parse_rejects_expired_and_not_yet_valid(void **state)
{
	struct th_cert_opts old = {.subject = "/CN=Old",
				   .not_before = -400 * TH_DAY,
				   .not_after = -TH_DAY};
	struct th_cert_opts young = {.subject = "/CN=Young",
				     .not_before = TH_DAY,
				     .not_after = 400 * TH_DAY};
	X509 *x = self_signed(&old, g_k1), *y = self_signed(&young, g_k1);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_EXPIRED,
			"'CN=Old' expired on 2025-12-31 00:00:00 UTC");
	th_assert_error(parse_one(y, &rep), SUBCA_E_NOT_YET_VALID,
			"'CN=Young' is not valid before 2026-01-02 00:00:00 UTC");
	X509_free(x);
	X509_free(y);
}

/* The same root at an injected time one second either side of notAfter. */
static void test_root_parse_checks_validity_at_the_injected_time(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	struct subca_root *r = NULL;
	time_t na = TH_NOW + 3650 * TH_DAY;

	assert_int_equal(subca_root_parse(subca_slice_of(der, len), na - 1,
					  NULL, &r),
			 SUBCA_OK);
	subca_root_free(r);
	th_assert_error(subca_root_parse(subca_slice_of(der, len), na + 1, NULL,
					 &r),
			SUBCA_E_EXPIRED, "expired on");
	free(der);
}

static void test_root_parse_rejects_sha1_signature(void **state)
{
	struct th_cert_opts o = {.subject = "/CN=SHA1 Root", .md = "SHA1"};
	X509 *x = self_signed(&o, g_rsa), *e;
	struct th_cert_opts eo = {.subject = "/CN=SHA1 EC Root", .md = "SHA1"};
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_WEAK_SIGNATURE,
			"'CN=SHA1 Root' is signed with sha1WithRSAEncryption");
	e = self_signed(&eo, g_k1);
	th_assert_error(parse_one(e, &rep), SUBCA_E_WEAK_SIGNATURE,
			"ecdsa-with-SHA1");
	X509_free(e);
	X509_free(x);
}

static void test_root_parse_rejects_md5_signature(void **state)
{
	struct th_cert_opts o = {.subject = "/CN=MD5 Root", .md = "MD5"};
	X509 *probe = X509_new();
	struct subca_report rep;
	X509 *x;

	/* th_cert aborts if signing fails: probe that MD5 signing works */
	X509_set_pubkey(probe, g_rsa);
	if (X509_sign(probe, g_rsa, EVP_md5()) <= 0) {
		X509_free(probe);
		skip(); /* this OpenSSL refuses to sign with MD5 */
	}
	X509_free(probe);
	x = self_signed(&o, g_rsa);
	th_assert_error(parse_one(x, &rep), SUBCA_E_WEAK_SIGNATURE,
			"md5WithRSAEncryption");
	X509_free(x);
}

static void test_root_parse_rejects_rsa_1024(void **state)
{
	EVP_PKEY *k = th_key("rsa-1024");
	struct th_cert_opts o = {.subject = "/CN=Small Root"};
	X509 *x = self_signed(&o, k);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_WEAK_KEY, "1024");
	assert_non_null(strstr(subca_error_reason(), "CN=Small Root"));
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_root_parse_rejects_corrupted_self_signature(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	struct subca_report rep;
	struct subca_root *r = NULL;

	der[len - 5] ^= 0x01; /* inside the signature BIT STRING */
	subca_report_init(&rep);
	th_assert_error(subca_root_parse(subca_slice_of(der, len), TH_NOW, &rep,
					 &r),
			SUBCA_E_BAD_SELF_SIGNATURE,
			"'CN=Example Root,O=Example' names itself as issuer but "
			"its signature does not verify");
	assert_null(r);
	assert_true(has_refusal(&rep, SUBCA_E_BAD_SELF_SIGNATURE, "corrupted"));
	free(der);
}

/* A report gathers every problem, not only the first. */
static void test_root_parse_reports_every_problem_of_a_bad_root(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,digitalSignature"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=All Wrong",
				 .exts = exts,
				 .md = "SHA1",
				 .not_before = -20 * TH_DAY,
				 .not_after = -10 * TH_DAY};
	X509 *x = self_signed(&o, g_k1);
	struct subca_report rep;

	th_assert_error(parse_one(x, &rep), SUBCA_E_NOT_CA, "CA:FALSE");
	assert_int_equal(rep.refusals, 4);
	assert_true(has_refusal(&rep, SUBCA_E_NO_KEYCERTSIGN, "All Wrong"));
	assert_true(has_refusal(&rep, SUBCA_E_EXPIRED, "All Wrong"));
	assert_true(has_refusal(&rep, SUBCA_E_WEAK_SIGNATURE, "All Wrong"));
	X509_free(x);
}

/* ---- refusals of bundles --------------------------------------------- */

static void test_root_parse_rejects_unrelated_certificates(void **state)
{
	struct th_cert_opts o = {.subject = "/CN=Other Root"};
	X509 *other = self_signed(&o, g_k3);
	X509 *certs[] = {g_root, other, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	th_assert_error(parse_certs(certs, &rep, &r), SUBCA_E_UNRELATED_CERTS,
			"'CN=Other Root' (SHA-256 ");
	assert_non_null(strstr(subca_error_reason(),
			       "is a second self-signed root, unrelated to the "
			       "chain below 'CN=Example Root,O=Example'"));
	X509_free(other);
}

static void test_root_parse_rejects_a_look_alike_anchor(void **state)
{
	struct th_cert_opts o = {.subject = "/O=Example/CN=Example Root"};
	X509 *fake = self_signed(&o, g_k3);
	X509 *certs[] = {fake, g_ca, g_root, NULL};
	char fp[65], needle[96];
	struct subca_report rep;
	struct subca_root *r = NULL;

	assert_int_equal(subca_x509_fingerprint(fake, fp), SUBCA_OK);
	snprintf(needle, sizeof(needle), "(SHA-256 %.16s...)", fp);
	th_assert_error(parse_certs(certs, &rep, &r), SUBCA_E_UNRELATED_CERTS,
			needle);
	assert_non_null(strstr(subca_error_reason(),
			       "same subject as the anchor but another key"));
	X509_free(fake);
}

static void test_root_parse_rejects_ca_signed_by_a_look_alike(void **state)
{
	struct th_cert_opts o = {.subject = "/O=Example/CN=Example Root"};
	X509 *fake = self_signed(&o, g_k3);
	X509 *certs[] = {g_ca, fake, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	/* g_ca names the look-alike as issuer but its key did not sign it */
	th_assert_error(parse_certs(certs, &rep, &r), SUBCA_E_UNRELATED_CERTS,
			"'CN=Example Signing CA,O=Example' (SHA-256 ");
	assert_non_null(strstr(subca_error_reason(),
			       "names 'CN=Example Root,O=Example' as its issuer, "
			       "but the key of that certificate in the input "
			       "did not sign it"));
	X509_free(fake);
}

static void test_root_parse_rejects_a_bundle_without_anchor(void **state)
{
	struct th_cert_opts ao = {.subject = "/CN=A"}, bo = {.subject = "/CN=B"};
	X509 *a0 = self_signed(&ao, g_k1);
	X509 *b = th_cert(&bo, g_k2, a0, g_k1);
	X509 *a = th_cert(&ao, g_k1, b, g_k2);
	X509 *certs[] = {a, b, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	th_assert_error(parse_certs(certs, &rep, &r), SUBCA_E_NO_ANCHOR,
			"no certificate is self-signed");
	X509_free(a);
	X509_free(b);
	X509_free(a0);
}

static void test_root_parse_rejects_pathlen_zero_anchor_above_a_ca(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct th_cert_opts ro = {.subject = "/CN=Tight Root", .exts = exts};
	struct th_cert_opts co = {.subject = "/CN=Tight CA"};
	X509 *root = self_signed(&ro, g_k1);
	X509 *ca = th_cert(&co, g_k2, root, g_k1);
	X509 *orders[][3] = {{root, ca, NULL}, {ca, root, NULL}};
	struct subca_report rep;
	struct subca_root *r = NULL;

	for (int i = 0; i < 2; i++)
		th_assert_error(parse_certs(orders[i], &rep, &r),
				SUBCA_E_PATHLEN_FORBIDDEN,
				"'CN=Tight Root' has pathLenConstraint 0, but "
				"2 CA certificate(s) would follow it");
	/* alone it still leaves no room for subca's intermediate */
	th_assert_error(parse_one(root, &rep), SUBCA_E_PATHLEN_FORBIDDEN,
			"pathLenConstraint 0, but 1 CA certificate(s)");
	X509_free(ca);
	X509_free(root);
}

static void test_root_parse_accepts_pathlen_that_leaves_room(void **state)
{
	static const struct th_ext exts1[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:1"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	static const struct th_ext exts2[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:2"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct th_cert_opts r1o = {.subject = "/CN=Root1", .exts = exts1};
	struct th_cert_opts r2o = {.subject = "/CN=Root2", .exts = exts2};
	struct th_cert_opts co = {.subject = "/CN=CA", .exts = exts1};
	X509 *r1 = self_signed(&r1o, g_k1), *r2 = self_signed(&r2o, g_k1);
	X509 *ca1 = th_cert(&co, g_k2, r1, g_k1);
	X509 *ca2 = th_cert(&co, g_k2, r2, g_k1);
	X509 *bad[] = {ca1, r1, NULL}, *good[] = {ca2, r2, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	assert_int_equal(parse_one(r1, &rep), SUBCA_OK);
	th_assert_error(parse_certs(bad, &rep, &r), SUBCA_E_PATHLEN_FORBIDDEN,
			"'CN=Root1' has pathLenConstraint 1");
	assert_int_equal(parse_certs(good, &rep, &r), SUBCA_OK);
	subca_root_free(r);
	X509_free(ca1);
	X509_free(ca2);
	X509_free(r1);
	X509_free(r2);
}

static void test_root_parse_rejects_a_non_ca_below_the_anchor(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{NULL, NULL},
	};
	struct th_cert_opts o = {.subject = "/CN=CFSSL default", .exts = exts};
	X509 *leafy = th_cert(&o, g_k2, g_root, g_k1);
	X509 *certs[] = {g_root, leafy, NULL};
	struct subca_report rep;
	struct subca_root *r = NULL;

	th_assert_error(parse_certs(certs, &rep, &r), SUBCA_E_NOT_CA,
			"'CN=CFSSL default' has basicConstraints CA:FALSE: it "
			"is an end-entity certificate");
	X509_free(leafy);
}

static void test_root_parse_refuses_parse_errors_into_the_report(void **state)
{
	static const char key[] = "-----BEGIN PRIVATE KEY-----\nMIIB\n"
				  "-----END PRIVATE KEY-----\n";
	struct subca_report rep;
	struct subca_root *r = NULL;

	subca_report_init(&rep);
	th_assert_error(subca_root_parse(subca_slice_of(key, strlen(key)),
					 TH_NOW, &rep, &r),
			SUBCA_E_PRIVATE_KEY, "never takes private keys");
	assert_int_equal(rep.refusals, 1);
	assert_int_equal(rep.items[0].code, SUBCA_E_PRIVATE_KEY);
	assert_null(r);
}

/* ---- sweep ------------------------------------------------------------- */

static void root_try(const void *p, size_t n)
{
	struct subca_report rep;
	struct subca_root *r = NULL;
	subca_result rv;

	subca_report_init(&rep);
	rv = subca_root_parse(subca_slice_of(p, n), TH_NOW, &rep, &r);
	if (rv == SUBCA_OK)
		assert_non_null(r);
	else
		assert_null(r);
	subca_root_free(r);
	subca_error_clear();
}

/* Every truncation and a bit flip at every byte (PEM: every 7th). */
static void test_root_parse_survives_truncations_and_bit_flips(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	char *pem = th_pem(g_root);
	size_t plen = strlen(pem);
	struct subca_root *r;

	for (size_t i = 0; i <= len; i++) {
		root_try(der, i);
		if (i < len) {
			der[i] ^= 0x10;
			root_try(der, len);
			der[i] ^= 0x10;
		}
	}
	for (size_t i = 0; i <= plen; i++) {
		root_try(pem, i);
		if (i % 7 == 0 && i < plen) {
			pem[i] ^= 0x02;
			root_try(pem, plen);
			pem[i] ^= 0x02;
		}
	}
	/* the flips were undone: the original still parses */
	r = NULL;
	assert_int_equal(subca_root_parse(subca_slice_of(der, len), TH_NOW,
					  NULL, &r),
			 SUBCA_OK);
	subca_root_free(r);
	free(pem);
	free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_parse_accepts_roots_of_every_key_type),
		cmocka_unit_test(test_root_parse_sorts_a_bundle_anchor_first_in_any_order),
		cmocka_unit_test(test_root_parse_drops_duplicate_certificates),
		cmocka_unit_test(test_root_to_pem_writes_the_chain_anchor_first),
		cmocka_unit_test(test_root_parse_accepts_der_and_a_null_report),
		cmocka_unit_test(test_root_parse_warns_about_a_root_without_key_usage),
		cmocka_unit_test(test_root_parse_warns_about_an_anchor_without_ski),
		cmocka_unit_test(test_root_parse_accepts_a_non_self_signed_top_with_a_warning),
		cmocka_unit_test(test_root_parse_rejects_ca_false),
		cmocka_unit_test(test_root_parse_rejects_missing_basic_constraints),
		cmocka_unit_test(test_root_parse_rejects_v1_certificate),
		cmocka_unit_test(test_root_parse_rejects_key_usage_without_keycertsign),
		cmocka_unit_test(test_root_parse_rejects_expired_and_not_yet_valid),
		cmocka_unit_test(test_root_parse_checks_validity_at_the_injected_time),
		cmocka_unit_test(test_root_parse_rejects_sha1_signature),
		cmocka_unit_test(test_root_parse_rejects_md5_signature),
		cmocka_unit_test(test_root_parse_rejects_rsa_1024),
		cmocka_unit_test(test_root_parse_rejects_corrupted_self_signature),
		cmocka_unit_test(test_root_parse_reports_every_problem_of_a_bad_root),
		cmocka_unit_test(test_root_parse_rejects_unrelated_certificates),
		cmocka_unit_test(test_root_parse_rejects_a_look_alike_anchor),
		cmocka_unit_test(test_root_parse_rejects_ca_signed_by_a_look_alike),
		cmocka_unit_test(test_root_parse_rejects_a_bundle_without_anchor),
		cmocka_unit_test(test_root_parse_rejects_pathlen_zero_anchor_above_a_ca),
		cmocka_unit_test(test_root_parse_accepts_pathlen_that_leaves_room),
		cmocka_unit_test(test_root_parse_rejects_a_non_ca_below_the_anchor),
		cmocka_unit_test(test_root_parse_refuses_parse_errors_into_the_report),
		cmocka_unit_test(test_root_parse_survives_truncations_and_bit_flips),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
