/*
 * Verification of the customer-signed intermediate: one test per refusal
 * and warning, each built with precisely the defect under test.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "subca/alloc.h"
#include "subca/chain.h"
#include "subca/csr.h"
#include "subca/root.h"

static const struct th_ext good_exts[] = {
	{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
	{"keyUsage", "critical,keyCertSign,cRLSign,digitalSignature"},
	{"subjectKeyIdentifier", "hash"},
	{"authorityKeyIdentifier", "keyid:always"},
	{NULL, NULL},
};

struct fx {
	EVP_PKEY *root_key;
	X509 *root;
	struct subca_root *sroot;
	EVP_PKEY *key; /* the pending key */
	X509_REQ *csr;
	struct subca_report rep;
	bool accept_weaker;
};

static struct subca_root *root_of(X509 *a, X509 *b)
{
	struct subca_root *r = subca_calloc(1, sizeof(*r));

	r->chain = sk_X509_new_null();
	X509_up_ref(a);
	sk_X509_push(r->chain, a);
	if (b != NULL) {
		X509_up_ref(b);
		sk_X509_push(r->chain, b);
	}
	return r;
}

static struct fx *fx_make(EVP_PKEY *root_key, EVP_PKEY *key,
			  const struct th_ext *root_exts,
			  const struct subca_intermediate_params *p)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct th_cert_opts o = {.subject = "/CN=Test Root/O=Example",
				 .exts = root_exts};
	struct subca_intermediate_params def = {
		.cn = "Example Issuing CA", .org = "Example", .path_len = 0,
		.days = 365};

	f->root_key = root_key;
	f->key = key;
	f->root = th_cert(&o, root_key, NULL, NULL);
	f->sroot = root_of(f->root, NULL);
	assert_int_equal(subca_csr_build(p ? p : &def, key, &f->csr), SUBCA_OK);
	subca_report_init(&f->rep);
	return f;
}

static struct fx *fx_new(void)
{
	return fx_make(th_key("ec-p256"), th_key("ec-p256"), NULL, NULL);
}

static void fx_free(struct fx *f)
{
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->key);
	X509_free(f->root);
	subca_root_free(f->sroot);
	X509_REQ_free(f->csr);
	free(f);
}

static void resign(X509 *x, EVP_PKEY *key, const char *md)
{
	const EVP_MD *m = NULL;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
		m = EVP_get_digestbyname(md ? md : "SHA256");
	assert_true(X509_sign(x, key, m) > 0);
}

/* A certificate for the CSR's key and subject, signed by issuer/ikey. */
static X509 *sign_by(struct fx *f, const struct th_cert_opts *opts,
		     X509 *issuer, EVP_PKEY *ikey)
{
	struct th_cert_opts o = *opts;
	X509 *x;

	o.subject = "/CN=placeholder";
	if (o.exts == NULL && !o.v1)
		o.exts = good_exts;
	if (o.serial == 0)
		o.serial = 2;
	x = th_cert(&o, X509_REQ_get0_pubkey(f->csr), issuer, ikey);
	assert_true(X509_set_subject_name(x, X509_REQ_get_subject_name(f->csr)));
	resign(x, ikey, o.md);
	return x;
}

static X509 *sign_exts(struct fx *f, const struct th_ext *exts)
{
	struct th_cert_opts o = {.exts = exts};

	return sign_by(f, &o, f->root, f->root_key);
}

static subca_result verify_text(struct fx *f, const char *text, X509 **out)
{
	struct subca_intermediate_check c = {.root = f->sroot,
					     .csr = f->csr,
					     .key = f->key,
					     .now = TH_NOW,
					     .accept_weaker = f->accept_weaker};

	subca_report_init(&f->rep);
	return subca_intermediate_verify(&c, subca_slice_of(text, strlen(text)),
					 &f->rep, out);
}

static subca_result verify(struct fx *f, X509 *x)
{
	char *pem = th_pem(x);
	X509 *out = NULL;
	subca_result rv = verify_text(f, pem, &out);

	if (rv == SUBCA_OK) {
		assert_non_null(out);
		assert_int_equal(X509_cmp(out, x), 0);
	} else {
		assert_null(out);
	}
	X509_free(out);
	free(pem);
	return rv;
}

static void dump(const struct subca_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(stderr, "  %s %s: %s [hint: %s]\n",
			r->items[i].warning ? "warning" : "refusal",
			subca_error_name(r->items[i].code), r->items[i].message,
			r->items[i].hint);
}

static void assert_item(const struct subca_report *r, bool warning,
			enum subca_code code, const char *msg, const char *hint)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct subca_report_item *it = &r->items[i];

		if (it->warning == warning && it->code == code &&
		    strstr(it->message, msg) != NULL &&
		    (hint == NULL || strstr(it->hint, hint) != NULL))
			return;
	}
	dump(r);
	fail_msg("no %s %s with \"%s\" (hint \"%s\")",
		 warning ? "warning" : "refusal", subca_error_name(code), msg,
		 hint ? hint : "");
}

/* Refused with `code` first, the reason and hint as the thread error. */
static void assert_refused(struct fx *f, X509 *x, enum subca_code code,
			   const char *msg, const char *hint)
{
	subca_result rv = verify(f, x);

	assert_item(&f->rep, false, code, msg, hint);
	if (rv == SUBCA_OK)
		fail_msg("accepted, expected %s", subca_error_name(code));
	assert_true(strstr(subca_error_reason(), "intermediate") != NULL ||
		    strstr(subca_error_reason(), "certificate") != NULL ||
		    strstr(subca_error_reason(), "file") != NULL);
}

static void assert_clean(struct fx *f, X509 *x)
{
	subca_result rv = verify(f, x);

	if (rv != SUBCA_OK || f->rep.n != 0) {
		dump(&f->rep);
		fail_msg("expected a clean report, got %s: %s",
			 subca_error_name(rv), subca_error_reason());
	}
}

/* ---- good intermediates -------------------------------------------------- */

static void test_intermediate_verify_accepts_every_key_type(void **state)
{
	static const char *types[] = {"rsa-2048", "ec-p256", "ec-p384",
				      "ed25519"};
	EVP_PKEY *keys[4][2];

	for (int i = 0; i < 4; i++) {
		keys[i][0] = th_key(types[i]);
		keys[i][1] = th_key(types[i]);
	}
	for (int r = 0; r < 4; r++) {
		for (int k = 0; k < 4; k++) {
			struct fx *f;
			X509 *x;

			EVP_PKEY_up_ref(keys[r][0]);
			EVP_PKEY_up_ref(keys[k][1]);
			f = fx_make(keys[r][0], keys[k][1], NULL, NULL);
			x = sign_exts(f, good_exts);
			if (verify(f, x) != SUBCA_OK || f->rep.n != 0) {
				dump(&f->rep);
				fail_msg("root %s, intermediate %s: %s",
					 types[r], types[k],
					 subca_error_reason());
			}
			X509_free(x);
			fx_free(f);
		}
	}
	for (int i = 0; i < 4; i++) {
		EVP_PKEY_free(keys[i][0]);
		EVP_PKEY_free(keys[i][1]);
	}
}

static void test_intermediate_verify_accepts_root_and_cert_in_any_order(void **state)
{
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, good_exts);
	char *a = th_pem(x), *b = th_pem(f->root);
	char both[8192];
	X509 *out = NULL;

	snprintf(both, sizeof(both), "%s%s", a, b);
	assert_int_equal(verify_text(f, both, &out), SUBCA_OK);
	assert_int_equal(X509_cmp(out, x), 0);
	X509_free(out);
	out = NULL;
	snprintf(both, sizeof(both), "%s%s", b, a);
	assert_int_equal(verify_text(f, both, &out), SUBCA_OK);
	assert_int_equal(f->rep.n, 0);
	assert_int_equal(X509_cmp(out, x), 0);
	X509_free(out);
	free(a);
	free(b);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_accepts_a_chain_below_a_signing_ca(void **state)
{
	struct fx *f = fx_new();
	EVP_PKEY *sk = th_key("ec-p256");
	static const struct th_ext sub_exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:1"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct th_cert_opts so = {.subject = "/CN=Signing CA/O=Example",
				  .exts = sub_exts, .serial = 7};
	X509 *sub = th_cert(&so, sk, f->root, f->root_key);
	struct th_cert_opts o = {0};
	X509 *x;

	subca_root_free(f->sroot);
	f->sroot = root_of(f->root, sub);
	x = sign_by(f, &o, sub, sk);
	assert_clean(f, x);
	X509_free(x);
	X509_free(sub);
	EVP_PKEY_free(sk);
	fx_free(f);
}

/* ---- parse and identity refusals ---------------------------------------- */

static void test_intermediate_verify_refuses_the_csr_uploaded_back(void **state)
{
	struct fx *f = fx_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, buf[8192];
	long n;
	X509 *out = NULL;

	PEM_write_bio_X509_REQ(b, f->csr);
	n = BIO_get_mem_data(b, &pem);
	snprintf(buf, sizeof(buf), "%.*s", (int)n, pem);
	th_assert_error(verify_text(f, buf, &out), SUBCA_E_CSR_NOT_CERT,
			"request");
	assert_item(&f->rep, false, SUBCA_E_CSR_NOT_CERT, "request", NULL);
	assert_null(out);
	BIO_free(b);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_private_key(void **state)
{
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, good_exts);
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = th_pem(x), *data = NULL, buf[16384];
	long n;
	X509 *out = NULL;

	PEM_write_bio_PrivateKey(b, f->key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	snprintf(buf, sizeof(buf), "%s%.*s", pem, (int)n, data);
	assert_int_equal(verify_text(f, buf, &out), SUBCA_E_PRIVATE_KEY);
	assert_item(&f->rep, false, SUBCA_E_PRIVATE_KEY, "", NULL);
	/* no piece of the key's base64 is echoed */
	snprintf(buf, 21, "%.20s", data + 40);
	assert_null(strstr(subca_error_reason(), buf));
	BIO_free(b);
	free(pem);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_garbage(void **state)
{
	struct fx *f = fx_new();
	X509 *out = NULL;

	assert_int_equal(verify_text(f, "hello, world", &out), SUBCA_E_GARBAGE);
	assert_int_equal(f->rep.refusals, 1);
	assert_int_equal(verify_text(f, "", &out), SUBCA_E_EMPTY);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_certificate_for_another_csr(void **state)
{
	struct fx *f = fx_new();
	EVP_PKEY *other = th_key("ec-p384");
	struct th_cert_opts o = {.subject = "/CN=x", .exts = good_exts};
	X509 *x = th_cert(&o, other, f->root, f->root_key);

	X509_set_subject_name(x, X509_REQ_get_subject_name(f->csr));
	resign(x, f->root_key, NULL);
	assert_refused(f, x, SUBCA_E_KEY_MISMATCH, "you signed a different CSR",
		       "subca intermediate csr");
	assert_item(&f->rep, false, SUBCA_E_KEY_MISMATCH, "ec-p384 sha256:",
		    NULL);
	assert_item(&f->rep, false, SUBCA_E_KEY_MISMATCH, "same subject", NULL);
	X509_free(x);
	EVP_PKEY_free(other);
	fx_free(f);
}

static void test_intermediate_verify_refuses_only_the_root(void **state)
{
	struct fx *f = fx_new();

	assert_refused(f, f->root, SUBCA_E_KEY_MISMATCH,
		       "the file holds only the root", NULL);
	fx_free(f);
}

static void test_intermediate_verify_refuses_unrelated_certificates(void **state)
{
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, good_exts);
	EVP_PKEY *ok = th_key("ec-p256");
	struct th_cert_opts o = {.subject = "/CN=Someone Else"};
	X509 *other = th_cert(&o, ok, NULL, NULL);
	char *a = th_pem(x), *b = th_pem(other), both[8192];
	X509 *out = NULL;

	snprintf(both, sizeof(both), "%s%s", a, b);
	assert_int_equal(verify_text(f, both, &out), SUBCA_E_UNRELATED_CERTS);
	assert_item(&f->rep, false, SUBCA_E_UNRELATED_CERTS,
		    "\"CN=Someone Else\" in the upload is neither", NULL);
	assert_null(out);
	free(a);
	free(b);
	X509_free(other);
	X509_free(x);
	EVP_PKEY_free(ok);
	fx_free(f);
}

/* ---- issuer ----------------------------------------------------------- */

static void test_intermediate_verify_refuses_a_look_alike_root(void **state)
{
	struct fx *f = fx_new();
	EVP_PKEY *fake_key = th_key("ec-p256");
	struct th_cert_opts ro = {.subject = "/CN=Test Root/O=Example"};
	X509 *fake = th_cert(&ro, fake_key, NULL, NULL);
	struct th_cert_opts o = {0};
	X509 *x = sign_by(f, &o, fake, fake_key);

	assert_refused(f, x, SUBCA_E_WRONG_ISSUER,
		       "does not verify with the imported root's key: a "
		       "look-alike root",
		       "two roots with the same name");
	X509_free(x);
	X509_free(fake);
	EVP_PKEY_free(fake_key);
	fx_free(f);
}

static void test_intermediate_verify_refuses_another_issuer(void **state)
{
	struct fx *f = fx_new();
	EVP_PKEY *k = th_key("ec-p256");
	struct th_cert_opts ro = {.subject = "/CN=Other Root"};
	X509 *other = th_cert(&ro, k, NULL, NULL);
	struct th_cert_opts o = {0};
	X509 *x = sign_by(f, &o, other, k);

	assert_refused(f, x, SUBCA_E_WRONG_ISSUER,
		       "was issued by \"CN=Other Root\", not by the imported "
		       "root \"O=Example,CN=Test Root\"",
		       "subca root import");
	X509_free(x);
	X509_free(other);
	EVP_PKEY_free(k);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_wrong_authority_key_id(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	unsigned char junk[20];

	memset(junk, 0x42, sizeof(junk));
	akid->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(akid->keyid, junk, sizeof(junk));
	X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
			  X509V3_ADD_DEFAULT);
	AUTHORITY_KEYID_free(akid);
	resign(x, f->root_key, NULL);
	assert_refused(f, x, SUBCA_E_WRONG_ISSUER,
		       "authority key identifier does not match",
		       "certtool");
	X509_free(x);
	fx_free(f);
}

/* ---- CA-ness ------------------------------------------------------------- */

static void test_intermediate_verify_refuses_a_v1_certificate(void **state)
{
	struct fx *f = fx_new();
	struct th_cert_opts o = {.v1 = 1};
	X509 *x = sign_by(f, &o, f->root, f->root_key);

	assert_refused(f, x, SUBCA_E_V1_CERT, "X.509 v1 certificate",
		       "-extfile <auth>-ext.cnf -extensions v3_intermediate");
	/* no noise about the extensions a v1 certificate cannot have */
	assert_int_equal(f->rep.refusals, 1);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_ca_false(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_NOT_CA, "CA:FALSE",
		       "\"ca_constraint\": {\"is_ca\": true}");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_no_basic_constraints(void **state)
{
	static const struct th_ext exts[] = {
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_NOT_CA, "no basicConstraints extension",
		       "-extfile");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_leaf_certificate(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,digitalSignature"},
		{"extendedKeyUsage", "serverAuth"},
		{"subjectAltName", "DNS:www.example.com"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_LEAF_CERT, "end-entity certificate",
		       "--profile intermediate-ca");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_no_keycertsign(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,digitalSignature,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_NO_KEYCERTSIGN, "lacks keyCertSign",
		       "\"cert sign\"");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_no_key_usage(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_NO_KEYCERTSIGN, "RFC 5280 4.2.1.3",
		       "keyUsage=critical,keyCertSign");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_warns_without_crl_sign(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_NO_KEYCERTSIGN, "lacks cRLSign",
		    NULL);
	X509_free(x);
	fx_free(f);
}

/* ---- validity, algorithms, extensions ------------------------------------- */

static void test_intermediate_verify_refuses_an_expired_certificate(void **state)
{
	struct fx *f = fx_new();
	struct th_cert_opts o = {.not_before = -400 * TH_DAY,
				 .not_after = -TH_DAY};
	X509 *x = sign_by(f, &o, f->root, f->root_key);

	assert_refused(f, x, SUBCA_E_EXPIRED, "has expired", "clock");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_future_certificate(void **state)
{
	struct fx *f = fx_new();
	struct th_cert_opts o = {.not_before = TH_DAY};
	X509 *x = sign_by(f, &o, f->root, f->root_key);

	assert_refused(f, x, SUBCA_E_NOT_YET_VALID, "not yet valid",
		       "future-dated");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_sha1(void **state)
{
	struct fx *f = fx_new();
	struct th_cert_opts o = {.md = "SHA1"};
	X509 *x = sign_by(f, &o, f->root, f->root_key);

	assert_refused(f, x, SUBCA_E_WEAK_SIGNATURE, "ecdsa-with-SHA1",
		       "-sha256");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_an_unknown_critical_extension(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{"1.3.6.1.4.1.99999.1", "critical,DER:05:00"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_UNKNOWN_CRITICAL, "1.3.6.1.4.1.99999.1",
		       "non-critical");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_collects_every_problem(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{"keyUsage", "critical,digitalSignature"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	struct th_cert_opts o = {.exts = exts,
				 .md = "SHA1",
				 .not_before = -400 * TH_DAY,
				 .not_after = -TH_DAY};
	X509 *x = sign_by(f, &o, f->root, f->root_key);

	th_assert_error(verify(f, x), SUBCA_E_NOT_CA, "CA:FALSE");
	assert_item(&f->rep, false, SUBCA_E_NO_KEYCERTSIGN, "keyCertSign", NULL);
	assert_item(&f->rep, false, SUBCA_E_EXPIRED, "expired", NULL);
	assert_item(&f->rep, false, SUBCA_E_WEAK_SIGNATURE, "SHA1", NULL);
	assert_true(f->rep.refusals >= 4);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_chain_openssl_refuses(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"extendedKeyUsage", "clientAuth"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_CHAIN_VERIFY,
		       "unsuitable certificate purpose", NULL);
	X509_free(x);
	fx_free(f);
}

/* ---- path length and name constraints of the root ------------------------ */

static void test_intermediate_verify_refuses_a_root_pathlen_that_leaves_no_room(void **state)
{
	static const struct th_ext root_exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{NULL, NULL},
	};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"), root_exts,
			       NULL);
	EVP_PKEY *sk = th_key("ec-p256");
	struct th_cert_opts so = {.subject = "/CN=Signing CA", .serial = 9};
	X509 *sub = th_cert(&so, sk, f->root, f->root_key);
	struct th_cert_opts o = {0};
	X509 *x;

	subca_root_free(f->sroot);
	f->sroot = root_of(f->root, sub);
	x = sign_by(f, &o, sub, sk);
	assert_refused(f, x, SUBCA_E_PATHLEN_FORBIDDEN,
		       "would be CA number 2 below \"O=Example,CN=Test Root\", "
		       "whose pathlen:0 allows 0",
		       "path length");
	X509_free(x);
	X509_free(sub);
	EVP_PKEY_free(sk);
	fx_free(f);
}

static const struct th_ext nc_root_exts[] = {
	{"basicConstraints", "critical,CA:TRUE"},
	{"keyUsage", "critical,keyCertSign,cRLSign"},
	{"subjectKeyIdentifier", "hash"},
	{"nameConstraints",
	 "critical,permitted;DNS:.example.com,permitted;email:example.com"},
	{NULL, NULL},
};

static void test_intermediate_verify_refuses_a_san_outside_root_constraints(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{"subjectAltName", "DNS:ca.other.org"},
		{NULL, NULL},
	};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"),
			       nc_root_exts, NULL);
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_NAME_CONSTRAINTS,
		       "DNS:ca.other.org is outside the name constraints of "
		       "\"O=Example,CN=Test Root\"",
		       "subca intermediate request");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_a_subject_outside_root_constraints(void **state)
{
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"),
			       nc_root_exts, NULL);
	struct th_cert_opts o = {.subject = "/CN=Example Issuing CA/"
					    "emailAddress=ca@other.org",
				 .exts = good_exts,
				 .serial = 3};
	X509 *x = th_cert(&o, X509_REQ_get0_pubkey(f->csr), f->root,
			  f->root_key);

	assert_refused(f, x, SUBCA_E_NAME_CONSTRAINTS,
		       "subject \"emailAddress=ca@other.org,CN=Example Issuing "
		       "CA\" is outside",
		       NULL);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_warns_about_wider_own_constraints(void **state)
{
	const char *permit[] = {".example.com", "example.org"};
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA", .path_len = 0, .days = 365,
		.nc = {.permit_dns = {permit, 2}}};
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{"nameConstraints",
		 "critical,permitted;DNS:.example.com,permitted;DNS:example.org"},
		{NULL, NULL},
	};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"),
			       nc_root_exts, &p);
	X509 *x = sign_exts(f, exts);

	if (verify(f, x) != SUBCA_OK) {
		dump(&f->rep);
		fail_msg("%s", subca_error_reason());
	}
	assert_item(&f->rep, true, SUBCA_E_NAME_CONSTRAINTS,
		    "permits DNS:example.org, wider than the name constraints",
		    NULL);
	if (f->rep.warnings != 1) {
		dump(&f->rep);
		fail_msg("expected one warning");
	}
	X509_free(x);
	fx_free(f);
}

/* ---- requested versus signed ------------------------------------------- */

static void test_intermediate_verify_refuses_a_missing_requested_pathlen(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_WEAKER_THAN_REQUESTED,
		       "path length 0 was requested",
		       "\"max_path_len_zero\": true");
	f->accept_weaker = true;
	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_WEAKER_THAN_REQUESTED,
		    "path length 0 was requested", "max_path_len");
	assert_int_equal(f->rep.refusals, 0);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_warns_about_a_larger_pathlen(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:2"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{NULL, NULL},
	};
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, exts);

	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_WEAKER_THAN_REQUESTED,
		    "a path length larger than requested (pathlen:2, "
		    "requested 0)",
		    NULL);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_missing_requested_name_constraints(void **state)
{
	const char *permit[] = {".example.com"};
	const char *ips[] = {"10.0.0.0/8"};
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA", .path_len = 0, .days = 365,
		.nc = {.permit_dns = {permit, 1}, .permit_ip = {ips, 1}}};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"), NULL, &p);
	X509 *x = sign_exts(f, good_exts);

	assert_refused(f, x, SUBCA_E_WEAKER_THAN_REQUESTED,
		       "requested name constraints are missing (permitted "
		       "DNS:.example.com, permitted IP:10.0.0.0/8)",
		       "CFSSL cannot set name constraints");
	f->accept_weaker = true;
	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_WEAKER_THAN_REQUESTED,
		    "name constraints are missing", "honor_crq_extensions");
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_refuses_different_name_constraints(void **state)
{
	const char *permit[] = {".example.com"};
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA", .path_len = 0, .days = 365,
		.nc = {.permit_dns = {permit, 1}}};
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{"nameConstraints", "critical,permitted;DNS:.com"},
		{NULL, NULL},
	};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"), NULL, &p);
	X509 *x = sign_exts(f, exts);

	assert_refused(f, x, SUBCA_E_WEAKER_THAN_REQUESTED,
		       "missing: permitted DNS:.example.com; not requested: "
		       "permitted DNS:.com",
		       NULL);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_accepts_requested_name_constraints(void **state)
{
	const char *permit[] = {".example.com"};
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA", .path_len = 0, .days = 365,
		.nc = {.permit_dns = {permit, 1}}};
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid:always"},
		{"nameConstraints", "critical,permitted;DNS:.example.com"},
		{NULL, NULL},
	};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"), NULL, &p);
	X509 *x = sign_exts(f, exts);

	/* the test leaf is named inside the constraints */
	assert_clean(f, x);
	X509_free(x);
	fx_free(f);
}

/* ---- warnings ---------------------------------------------------------- */

static void test_intermediate_verify_warns_about_not_after_past_the_root(void **state)
{
	struct fx *f = fx_new();
	struct th_cert_opts o = {.not_after = 4000 * TH_DAY};
	X509 *x = sign_by(f, &o, f->root, f->root_key);

	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_OUTLIVES_ISSUER,
		    "leaf lifetimes will be capped by it", NULL);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_warns_about_a_re_encoded_subject(void **state)
{
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, good_exts);
	X509_NAME *csr_name = X509_REQ_get_subject_name(f->csr);
	X509_NAME *n = X509_NAME_new();

	/* CFSSL style: every value as PrintableString */
	for (int i = 0; i < X509_NAME_entry_count(csr_name); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(csr_name, i);
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);

		X509_NAME_add_entry_by_OBJ(n, X509_NAME_ENTRY_get_object(e),
					   V_ASN1_PRINTABLESTRING,
					   ASN1_STRING_get0_data(s),
					   ASN1_STRING_length(s), -1, 0);
	}
	X509_set_subject_name(x, n);
	resign(x, f->root_key, NULL);
	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_SUBJECT_CHANGED, "subject is re-encoded",
		    "CFSSL re-encodes the subject");
	X509_NAME_free(n);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_warns_about_a_different_subject(void **state)
{
	struct fx *f = fx_new();
	struct th_cert_opts o = {.subject = "/CN=Something Else",
				 .exts = good_exts,
				 .serial = 5};
	X509 *x = th_cert(&o, X509_REQ_get0_pubkey(f->csr), f->root,
			  f->root_key);

	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_SUBJECT_CHANGED,
		    "subject is DIFFERENT from the requested subject", NULL);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_warns_about_rfc5280_deviations(void **state)
{
	static const struct th_ext root_exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL},
	};
	static const struct th_ext exts[] = {
		{"basicConstraints", "CA:TRUE,pathlen:0"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL},
	};
	struct fx *f = fx_make(th_key("ec-p256"), th_key("ec-p256"), root_exts,
			       NULL);
	X509 *x = sign_exts(f, exts);

	assert_int_equal(verify(f, x), SUBCA_OK);
	assert_item(&f->rep, true, SUBCA_E_NOT_STRICT_RFC5280,
		    "\"O=Example,CN=Test Root\" has no subject key identifier",
		    NULL);
	assert_item(&f->rep, true, SUBCA_E_NOT_STRICT_RFC5280,
		    "has no subject key identifier (RFC 5280 4.2.1.2)",
		    "subjectKeyIdentifier=hash");
	assert_item(&f->rep, true, SUBCA_E_NOT_STRICT_RFC5280,
		    "has no authority key identifier", NULL);
	assert_item(&f->rep, true, SUBCA_E_NOT_STRICT_RFC5280,
		    "basicConstraints is not marked critical", NULL);
	assert_int_equal(f->rep.refusals, 0);
	X509_free(x);
	fx_free(f);
}

/* ---- robustness --------------------------------------------------------- */

static void test_intermediate_verify_survives_truncations_and_bit_flips(void **state)
{
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, good_exts);
	size_t len;
	unsigned char *der = th_der(x, &len);
	unsigned char *copy = malloc(len);
	struct subca_intermediate_check c = {
		.root = f->sroot, .csr = f->csr, .key = f->key, .now = TH_NOW};
	size_t ok = 0;

	for (size_t i = 0; i <= len; i++) {
		X509 *out = NULL;

		subca_report_init(&f->rep);
		if (subca_intermediate_verify(&c, subca_slice_of(der, i),
					      &f->rep, &out) == SUBCA_OK)
			ok++;
		X509_free(out);
	}
	assert_int_equal(ok, 1); /* only the whole certificate */
	for (size_t i = 0; i < len; i++) {
		X509 *out = NULL;
		subca_result rv;

		memcpy(copy, der, len);
		copy[i] ^= (unsigned char)(1u << (i % 8));
		subca_report_init(&f->rep);
		rv = subca_intermediate_verify(&c, subca_slice_of(copy, len),
					       &f->rep, &out);
		assert_true(rv == SUBCA_OK ? out != NULL : out == NULL);
		assert_true(rv == SUBCA_OK || f->rep.refusals > 0);
		X509_free(out);
	}
	subca_error_clear();
	free(copy);
	free(der);
	X509_free(x);
	fx_free(f);
}

static void test_intermediate_verify_works_without_a_report(void **state)
{
	struct fx *f = fx_new();
	X509 *x = sign_exts(f, good_exts);
	char *pem = th_pem(x);
	struct subca_intermediate_check c = {
		.root = f->sroot, .csr = f->csr, .key = f->key, .now = TH_NOW};
	X509 *out = NULL;

	assert_int_equal(subca_intermediate_verify(
				 &c, subca_slice_of(pem, strlen(pem)), NULL,
				 &out),
			 SUBCA_OK);
	X509_free(out);
	c.key = NULL;
	th_assert_error(subca_intermediate_verify(
				&c, subca_slice_of(pem, strlen(pem)), NULL,
				&out),
			SUBCA_E_INVALID_ARGUMENT, "needs the root");
	free(pem);
	X509_free(x);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intermediate_verify_accepts_every_key_type),
		cmocka_unit_test(test_intermediate_verify_accepts_root_and_cert_in_any_order),
		cmocka_unit_test(test_intermediate_verify_accepts_a_chain_below_a_signing_ca),
		cmocka_unit_test(test_intermediate_verify_refuses_the_csr_uploaded_back),
		cmocka_unit_test(test_intermediate_verify_refuses_a_private_key),
		cmocka_unit_test(test_intermediate_verify_refuses_garbage),
		cmocka_unit_test(test_intermediate_verify_refuses_a_certificate_for_another_csr),
		cmocka_unit_test(test_intermediate_verify_refuses_only_the_root),
		cmocka_unit_test(test_intermediate_verify_refuses_unrelated_certificates),
		cmocka_unit_test(test_intermediate_verify_refuses_a_look_alike_root),
		cmocka_unit_test(test_intermediate_verify_refuses_another_issuer),
		cmocka_unit_test(test_intermediate_verify_refuses_a_wrong_authority_key_id),
		cmocka_unit_test(test_intermediate_verify_refuses_a_v1_certificate),
		cmocka_unit_test(test_intermediate_verify_refuses_ca_false),
		cmocka_unit_test(test_intermediate_verify_refuses_no_basic_constraints),
		cmocka_unit_test(test_intermediate_verify_refuses_a_leaf_certificate),
		cmocka_unit_test(test_intermediate_verify_refuses_no_keycertsign),
		cmocka_unit_test(test_intermediate_verify_refuses_no_key_usage),
		cmocka_unit_test(test_intermediate_verify_warns_without_crl_sign),
		cmocka_unit_test(test_intermediate_verify_refuses_an_expired_certificate),
		cmocka_unit_test(test_intermediate_verify_refuses_a_future_certificate),
		cmocka_unit_test(test_intermediate_verify_refuses_sha1),
		cmocka_unit_test(test_intermediate_verify_refuses_an_unknown_critical_extension),
		cmocka_unit_test(test_intermediate_verify_collects_every_problem),
		cmocka_unit_test(test_intermediate_verify_refuses_a_chain_openssl_refuses),
		cmocka_unit_test(test_intermediate_verify_refuses_a_root_pathlen_that_leaves_no_room),
		cmocka_unit_test(test_intermediate_verify_refuses_a_san_outside_root_constraints),
		cmocka_unit_test(test_intermediate_verify_refuses_a_subject_outside_root_constraints),
		cmocka_unit_test(test_intermediate_verify_warns_about_wider_own_constraints),
		cmocka_unit_test(test_intermediate_verify_refuses_a_missing_requested_pathlen),
		cmocka_unit_test(test_intermediate_verify_warns_about_a_larger_pathlen),
		cmocka_unit_test(test_intermediate_verify_refuses_missing_requested_name_constraints),
		cmocka_unit_test(test_intermediate_verify_refuses_different_name_constraints),
		cmocka_unit_test(test_intermediate_verify_accepts_requested_name_constraints),
		cmocka_unit_test(test_intermediate_verify_warns_about_not_after_past_the_root),
		cmocka_unit_test(test_intermediate_verify_warns_about_a_re_encoded_subject),
		cmocka_unit_test(test_intermediate_verify_warns_about_a_different_subject),
		cmocka_unit_test(test_intermediate_verify_warns_about_rfc5280_deviations),
		cmocka_unit_test(test_intermediate_verify_survives_truncations_and_bit_flips),
		cmocka_unit_test(test_intermediate_verify_works_without_a_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
