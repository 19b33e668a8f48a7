/* Unit tests of untrusted certificate and CSR input parsing (certin). */
#include "helpers.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "subca/certin.h"
#include "subca/limits.h"

/* ---- fixtures --------------------------------------------------------- */

/* A growable byte string (malloc'd, NUL-terminated). */
struct tb {
	char *p;
	size_t len;
	size_t cap;
};

static void tb_add(struct tb *b, const void *p, size_t n)
{
	if (n > SIZE_MAX / 4)
		fail_msg("tb_add: %zu bytes", n);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_str(struct tb *b, const char *s) { tb_add(b, s, strlen(s)); }

static struct subca_slice tb_slice(const struct tb *b)
{
	return subca_slice_of(b->p, b->len);
}

static char *bio_text(BIO *bio, size_t *len)
{
	char *data = NULL, *out;
	long n = BIO_get_mem_data(bio, &data);

	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static X509 *root_of(EVP_PKEY *k, const char *subject)
{
	struct th_cert_opts o = {.subject = subject};

	return th_cert(&o, k, NULL, NULL);
}

static void add_cert_pem(struct tb *b, X509 *x)
{
	char *pem = th_pem(x);

	tb_str(b, pem);
	free(pem);
}

static X509_REQ *make_csr(EVP_PKEY *k)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_REQ_get_subject_name(r);

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)"Intermediate", -1,
				   -1, 0);
	X509_REQ_set_pubkey(r, k);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	return r;
}

static char *csr_pem(X509_REQ *r)
{
	BIO *b = BIO_new(BIO_s_mem());

	PEM_write_bio_X509_REQ(b, r);
	return bio_text(b, NULL);
}

static char *csr_der(X509_REQ *r, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	i2d_X509_REQ_bio(b, r);
	return bio_text(b, len);
}

static char *key_pem_pkcs8(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	return bio_text(b, NULL);
}

static char *key_pem_traditional(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
	return bio_text(b, NULL);
}

static char *key_pem_encrypted(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), "secret", 6,
				      NULL, NULL);
	return bio_text(b, NULL);
}

static char *key_der_pkcs8(EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	i2d_PKCS8PrivateKey_bio(b, k, NULL, NULL, 0, NULL, NULL);
	return bio_text(b, len);
}

static char *key_der_traditional(EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	i2d_PrivateKey_bio(b, k);
	return bio_text(b, len);
}

/* A certs-only (degenerate) SignedData, as `openssl crl2pkcs7 -nocrl`. */
static PKCS7 *p7_of(X509 **certs, size_t n)
{
	PKCS7 *p7 = PKCS7_new();

	assert_true(PKCS7_set_type(p7, NID_pkcs7_signed));
	assert_true(PKCS7_content_new(p7, NID_pkcs7_data));
	for (size_t i = 0; i < n; i++)
		assert_true(PKCS7_add_certificate(p7, certs[i]));
	return p7;
}

static char *p7_pem(PKCS7 *p7)
{
	BIO *b = BIO_new(BIO_s_mem());

	PEM_write_bio_PKCS7(b, p7);
	return bio_text(b, NULL);
}

static char *p7_der(PKCS7 *p7, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	i2d_PKCS7_bio(b, p7);
	return bio_text(b, len);
}

static char *to_crlf(const char *s)
{
	struct tb b = {0};

	for (; *s; s++) {
		if (*s == '\n')
			tb_str(&b, "\r");
		tb_add(&b, s, 1);
	}
	return b.p;
}

/* A PEM block with `label` around the base64 of `der`. */
static char *pem_block(const char *label, const void *der, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());

	PEM_write_bio(b, label, "", der, (long)len);
	return bio_text(b, NULL);
}

static STACK_OF(X509) *parse_ok(struct subca_slice in, int expect)
{
	STACK_OF(X509) *out = NULL;
	subca_result rv = subca_certin_parse(in, &out);

	if (rv != SUBCA_OK)
		fail_msg("parse failed: %s: %s", subca_error_name(rv),
			 subca_error_reason());
	assert_int_equal(sk_X509_num(out), expect);
	return out;
}

static void free_certs(STACK_OF(X509) *s) { sk_X509_pop_free(s, X509_free); }

static subca_result parse_str(const char *s)
{
	STACK_OF(X509) *out = NULL;
	subca_result rv = subca_certin_parse(subca_slice_of(s, strlen(s)),
					     &out);

	if (rv == SUBCA_OK)
		free_certs(out);
	else
		assert_null(out);
	return rv;
}

static subca_result parse_bytes(const void *p, size_t n)
{
	STACK_OF(X509) *out = NULL;
	subca_result rv = subca_certin_parse(subca_slice_of(p, n), &out);

	if (rv == SUBCA_OK)
		free_certs(out);
	else
		assert_null(out);
	return rv;
}

/* Shared fixtures, made once (key generation is slow). */
static EVP_PKEY *g_key;	 /* ec-p256 */
static EVP_PKEY *g_key2; /* ec-p256 */
static X509 *g_root;
static X509 *g_ca; /* signed by g_root */
static char *g_root_pem;
static char *g_ca_pem;

static int setup(void **state)
{
	struct th_cert_opts o = {.subject = "/CN=Signing CA/O=Example"};

	g_key = th_key("ec-p256");
	g_key2 = th_key("ec-p256");
	g_root = root_of(g_key, "/CN=Test Root/O=Example");
	g_ca = th_cert(&o, g_key2, g_root, g_key);
	g_root_pem = th_pem(g_root);
	g_ca_pem = th_pem(g_ca);
	return 0;
}

static int teardown(void **state)
{
	EVP_PKEY_free(g_key);
	EVP_PKEY_free(g_key2);
	X509_free(g_root);
	X509_free(g_ca);
	free(g_root_pem);
	free(g_ca_pem);
	return 0;
}

/* ---- accepted encodings ------------------------------------------------ */

static void test_certin_parses_pem_roots_of_every_key_type(void **state)
{
	static const char *const types[] = {"rsa-2048", "ec-p256", "ec-p384",
					    "ed25519"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *k = th_key(types[i]);
		X509 *x = root_of(k, "/CN=Typed Root");
		char *pem = th_pem(x);
		STACK_OF(X509) *s = parse_ok(subca_slice_of(pem, strlen(pem)), 1);

		assert_int_equal(X509_cmp(sk_X509_value(s, 0), x), 0);
		free_certs(s);
		free(pem);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

static void test_certin_parses_der_certificate(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	STACK_OF(X509) *s = parse_ok(subca_slice_of(der, len), 1);

	assert_int_equal(X509_cmp(sk_X509_value(s, 0), g_root), 0);
	free_certs(s);
	free(der);
}

static void test_certin_accepts_crlf_pem_with_bom(void **state)
{
	struct tb b = {0};
	char *crlf;
	STACK_OF(X509) *s;

	tb_str(&b, "\xef\xbb\xbf");
	tb_str(&b, g_root_pem);
	tb_str(&b, g_ca_pem);
	crlf = to_crlf(b.p);
	s = parse_ok(subca_slice_of(crlf, strlen(crlf)), 2);
	assert_int_equal(X509_cmp(sk_X509_value(s, 1), g_ca), 0);
	free_certs(s);
	free(crlf);
	free(b.p);
}

static void test_certin_ignores_text_around_and_between_blocks(void **state)
{
	struct tb b = {0};
	STACK_OF(X509) *s;

	tb_str(&b, "Certificate:\n    Data:\n        Version: 3 (0x2)\n"
		   "        Signature Algorithm: ecdsa-with-SHA256\n");
	tb_str(&b, g_root_pem);
	tb_str(&b, "\nsubject=CN = Signing CA\nissuer=CN = Test Root\n\n");
	tb_str(&b, g_ca_pem);
	tb_str(&b, "trailing words -- not base64!\n");
	s = parse_ok(tb_slice(&b), 2);
	assert_int_equal(X509_cmp(sk_X509_value(s, 0), g_root), 0);
	assert_int_equal(X509_cmp(sk_X509_value(s, 1), g_ca), 0);
	free_certs(s);
	free(b.p);
}

static void test_certin_keeps_bundle_input_order(void **state)
{
	struct tb b = {0};
	STACK_OF(X509) *s;

	tb_str(&b, g_ca_pem);
	tb_str(&b, g_root_pem);
	s = parse_ok(tb_slice(&b), 2);
	assert_int_equal(X509_cmp(sk_X509_value(s, 0), g_ca), 0);
	assert_int_equal(X509_cmp(sk_X509_value(s, 1), g_root), 0);
	free_certs(s);
	free(b.p);
}

static void test_certin_accepts_x509_and_trusted_certificate_labels(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	char *pem = pem_block("X509 CERTIFICATE", der, len);
	BIO *bio = BIO_new(BIO_s_mem());
	char *trusted;
	STACK_OF(X509) *s;

	s = parse_ok(subca_slice_of(pem, strlen(pem)), 1);
	free_certs(s);
	X509_add1_trust_object(g_root, OBJ_nid2obj(NID_server_auth));
	PEM_write_bio_X509_AUX(bio, g_root);
	X509_trust_clear(g_root);
	trusted = bio_text(bio, NULL);
	assert_non_null(strstr(trusted, "BEGIN TRUSTED CERTIFICATE"));
	s = parse_ok(subca_slice_of(trusted, strlen(trusted)), 1);
	assert_int_equal(X509_cmp(sk_X509_value(s, 0), g_root), 0);
	free_certs(s);
	free(trusted);
	free(pem);
	free(der);
}

static void test_certin_takes_certificates_of_pkcs7_pem_and_der(void **state)
{
	X509 *certs[] = {g_root, g_ca};
	PKCS7 *p7 = p7_of(certs, 2);
	char *pem = p7_pem(p7), *crlf = to_crlf(pem), *der;
	size_t len;
	STACK_OF(X509) *s;

	s = parse_ok(subca_slice_of(crlf, strlen(crlf)), 2);
	assert_int_equal(X509_cmp(sk_X509_value(s, 0), g_root), 0);
	assert_int_equal(X509_cmp(sk_X509_value(s, 1), g_ca), 0);
	free_certs(s);
	der = p7_der(p7, &len);
	s = parse_ok(subca_slice_of(der, len), 2);
	free_certs(s);
	free(der);
	free(crlf);
	free(pem);
	PKCS7_free(p7);
}

static void test_certin_parses_a_pem_of_exactly_the_size_limit(void **state)
{
	struct tb b = {0};
	STACK_OF(X509) *s;

	tb_str(&b, g_root_pem);
	while (b.len + 40 < SUBCA_MAX_CERT_INPUT)
		tb_str(&b, "a comment line that is padding here...\n");
	while (b.len < SUBCA_MAX_CERT_INPUT)
		tb_str(&b, ".");
	assert_int_equal(b.len, SUBCA_MAX_CERT_INPUT);
	s = parse_ok(tb_slice(&b), 1);
	free_certs(s);
	tb_str(&b, ".");
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_TOO_LARGE,
			"limit of 1048576 bytes");
	free(b.p);
}

static void test_certin_takes_16_certificates_and_refuses_17(void **state)
{
	X509 *certs[SUBCA_MAX_BUNDLE_CERTS + 1];
	struct tb b = {0};
	PKCS7 *p7;
	char *der;
	size_t len;
	STACK_OF(X509) *s;

	for (long i = 0; i <= SUBCA_MAX_BUNDLE_CERTS; i++) {
		struct th_cert_opts o = {.subject = "/CN=Root", .serial = i + 1};

		certs[i] = th_cert(&o, g_key, NULL, NULL);
		if (i < SUBCA_MAX_BUNDLE_CERTS)
			add_cert_pem(&b, certs[i]);
	}
	s = parse_ok(tb_slice(&b), SUBCA_MAX_BUNDLE_CERTS);
	free_certs(s);
	add_cert_pem(&b, certs[SUBCA_MAX_BUNDLE_CERTS]);
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_TOO_MANY_CERTS,
			"more than 16 certificates");
	p7 = p7_of(certs, SUBCA_MAX_BUNDLE_CERTS + 1);
	der = p7_der(p7, &len);
	th_assert_error(parse_bytes(der, len), SUBCA_E_TOO_MANY_CERTS,
			"more than 16 certificates");
	free(der);
	PKCS7_free(p7);
	for (int i = 0; i <= SUBCA_MAX_BUNDLE_CERTS; i++)
		X509_free(certs[i]);
	free(b.p);
}

static void test_certin_takes_64_pem_blocks_and_refuses_65(void **state)
{
	char *crl = pem_block("X509 CRL", "\x30\x00", 2);
	struct tb b = {0};

	for (int i = 0; i < SUBCA_MAX_PEM_BLOCKS; i++)
		tb_str(&b, crl);
	/* at the limit the content decides: a CRL is not a certificate */
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_NOT_CERTIFICATE,
			"1st PEM block (X509 CRL)");
	tb_str(&b, crl);
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_TOO_MANY_CERTS,
			"more than 64 PEM blocks");
	free(b.p);
	free(crl);
}

/* ---- private keys ---------------------------------------------------- */

/* The reason must name the problem and never echo key material. */
static void assert_key_refused(subca_result rv, const char *key_text)
{
	th_assert_error(rv, SUBCA_E_PRIVATE_KEY, "never takes private keys");
	assert_non_null(strstr(subca_error_reason(), "private key"));
	if (key_text != NULL) {
		const char *body = strchr(key_text, '\n');
		char chunk[17];

		assert_non_null(body);
		memcpy(chunk, body + 1, 16);
		chunk[16] = '\0';
		assert_null(strstr(subca_error_reason(), chunk));
		assert_null(strstr(subca_error_hint_text(), chunk));
	}
}

static void test_certin_refuses_a_private_key_alone(void **state)
{
	char *pkcs8 = key_pem_pkcs8(g_key);
	char *trad = key_pem_traditional(g_key);
	EVP_PKEY *rsa = th_key("rsa-2048");
	char *rsa_trad = key_pem_traditional(rsa);

	assert_non_null(strstr(trad, "BEGIN EC PRIVATE KEY"));
	assert_non_null(strstr(rsa_trad, "BEGIN RSA PRIVATE KEY"));
	assert_key_refused(parse_str(pkcs8), pkcs8);
	assert_key_refused(parse_str(trad), trad);
	assert_key_refused(parse_str(rsa_trad), rsa_trad);
	free(rsa_trad);
	EVP_PKEY_free(rsa);
	free(trad);
	free(pkcs8);
}

static void test_certin_refuses_a_private_key_appended_to_a_cert(void **state)
{
	char *key = key_pem_pkcs8(g_key);
	struct tb b = {0};

	tb_str(&b, g_root_pem);
	tb_str(&b, key);
	assert_key_refused(parse_bytes(b.p, b.len), key);
	free(b.p);
	/* before anything else: even after a CSR or a truncated block */
	b = (struct tb){0};
	tb_str(&b, "-----BEGIN CERTIFICATE-----\nMIIB\n");
	tb_str(&b, key);
	assert_key_refused(parse_bytes(b.p, b.len), key);
	free(b.p);
	free(key);
}

static void test_certin_refuses_an_encrypted_pkcs8_key(void **state)
{
	char *key = key_pem_encrypted(g_key);

	assert_non_null(strstr(key, "BEGIN ENCRYPTED PRIVATE KEY"));
	assert_key_refused(parse_str(key), key);
	free(key);
}

/* g_key as DER EncryptedPrivateKeyInfo (caller frees). */
static char *key_der_encrypted(size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	assert_int_equal(i2d_PKCS8PrivateKey_bio(b, g_key, EVP_aes_256_cbc(),
						 "secret", 6, NULL, NULL),
			 1);
	return bio_text(b, len);
}

static void test_certin_refuses_an_encrypted_der_pkcs8_key(void **state)
{
	size_t len;
	char *der = key_der_encrypted(&len);

	assert_key_refused(parse_bytes(der, len), NULL);
	free(der);
}

/* An encrypted PKCS#8 key under a certificate's or a CSR's PEM label. */
static void test_certin_refuses_an_encrypted_key_under_another_label(void **state)
{
	static const char *labels[] = {"CERTIFICATE", "CERTIFICATE REQUEST"};
	size_t len;
	char *der = key_der_encrypted(&len);

	for (size_t i = 0; i < 2; i++) {
		BIO *pem = BIO_new(BIO_s_mem());
		size_t n;
		char *text;

		assert_true(PEM_write_bio(pem, labels[i], "",
					  (unsigned char *)der, (long)len) > 0);
		text = bio_text(pem, &n);
		assert_key_refused(parse_bytes(text, n), text);
		assert_key_refused(subca_certin_parse_csr(subca_slice_of(text, n),
							  &(X509_REQ *){NULL}),
				   text);
		free(text);
	}
	free(der);
}

static void test_certin_refuses_der_private_keys(void **state)
{
	size_t len;
	char *der = key_der_pkcs8(g_key, &len);
	char *trad;
	struct tb b = {0};
	size_t clen;
	unsigned char *cert = th_der(g_root, &clen);

	assert_key_refused(parse_bytes(der, len), NULL);
	trad = key_der_traditional(g_key, &len);
	assert_key_refused(parse_bytes(trad, len), NULL);
	/* a DER key concatenated after a DER certificate */
	tb_add(&b, cert, clen);
	tb_add(&b, trad, len);
	assert_key_refused(parse_bytes(b.p, b.len), NULL);
	free(b.p);
	free(cert);
	free(trad);
	free(der);
}

static void test_certin_refuses_other_private_key_formats(void **state)
{
	static const char openssh[] =
		"-----BEGIN OPENSSH PRIVATE KEY-----\n"
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n"
		"-----END OPENSSH PRIVATE KEY-----\n";
	static const char dsa[] = "-----BEGIN DSA PRIVATE KEY-----\nMIIB\n";
	size_t len;
	char *der = key_der_pkcs8(g_key, &len);
	char *hidden = pem_block("CERTIFICATE", der, len);

	assert_key_refused(parse_str(openssh), openssh);
	assert_key_refused(parse_str(dsa), NULL);
	/* a key pasted under a CERTIFICATE label is still a key */
	assert_key_refused(parse_str(hidden), hidden);
	free(hidden);
	free(der);
}

/* ---- refusals of other objects --------------------------------------- */

static void test_certin_refuses_a_csr_as_not_yet_signed(void **state)
{
	X509_REQ *r = make_csr(g_key);
	char *pem = csr_pem(r), *der;
	size_t len;
	size_t n;
	unsigned char *d = NULL;
	char *newreq;

	th_assert_error(parse_str(pem), SUBCA_E_CSR_NOT_CERT,
			"must be signed first");
	der = csr_der(r, &len);
	th_assert_error(parse_bytes(der, len), SUBCA_E_CSR_NOT_CERT,
			"must be signed first");
	n = (size_t)i2d_X509_REQ(r, &d);
	newreq = pem_block("NEW CERTIFICATE REQUEST", d, n);
	th_assert_error(parse_str(newreq), SUBCA_E_CSR_NOT_CERT,
			"certificate signing request");
	free(newreq);
	OPENSSL_free(d);
	free(der);
	free(pem);
	X509_REQ_free(r);
}

static void test_certin_refuses_crl_and_public_key_blocks(void **state)
{
	X509_CRL *crl = X509_CRL_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *text, *pub;

	X509_CRL_set_issuer_name(crl, X509_get_subject_name(g_root));
	X509_CRL_set1_lastUpdate(crl, X509_get0_notBefore(g_root));
	assert_true(X509_CRL_sign(crl, g_key, EVP_sha256()) > 0);
	PEM_write_bio_X509_CRL(b, crl);
	text = bio_text(b, NULL);
	th_assert_error(parse_str(text), SUBCA_E_NOT_CERTIFICATE, "X509 CRL");
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, g_key);
	pub = bio_text(b, NULL);
	th_assert_error(parse_str(pub), SUBCA_E_NOT_CERTIFICATE,
			"(PUBLIC KEY) is not a certificate");
	free(pub);
	free(text);
	X509_CRL_free(crl);
}

static void test_certin_refuses_pkcs7_without_certificates(void **state)
{
	PKCS7 *p7 = p7_of(NULL, 0);
	char *pem = p7_pem(p7);

	th_assert_error(parse_str(pem), SUBCA_E_NOT_CERTIFICATE,
			"carries no certificates");
	free(pem);
	PKCS7_free(p7);
}

static void test_certin_refuses_bad_base64_naming_the_block(void **state)
{
	struct tb b = {0};
	char *bad = strdup(g_ca_pem);

	bad[40] = '*';
	tb_str(&b, g_root_pem);
	tb_str(&b, bad);
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_GARBAGE,
			"the 2nd PEM block (CERTIFICATE) is not valid base64");
	free(b.p);
	free(bad);
}

static void test_certin_refuses_undecodable_der_in_a_certificate_block(void **state)
{
	char *pem = pem_block("CERTIFICATE", "\x30\x03\x02\x01\x01", 5);

	th_assert_error(parse_str(pem), SUBCA_E_GARBAGE,
			"the 1st PEM block (CERTIFICATE) does not hold a valid "
			"DER certificate");
	free(pem);
}

static void test_certin_refuses_pem_without_end_line(void **state)
{
	char *cut = strdup(g_root_pem);
	struct tb b = {0};

	*strstr(cut, "-----END") = '\0';
	th_assert_error(parse_str(cut), SUBCA_E_TRUNCATED, "has no END line");
	/* a cut block followed by a complete one is still truncated */
	tb_str(&b, cut);
	tb_str(&b, g_ca_pem);
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_TRUNCATED,
			"1st PEM block (CERTIFICATE) has no END line");
	free(b.p);
	free(cut);
}

static void test_certin_refuses_mismatched_end_line(void **state)
{
	char *bad = strdup(g_root_pem);
	char *end = strstr(bad, "-----END CERTIFICATE");

	memcpy(end, "-----END PKCS7-----\n", 20);
	end[20] = '\0';
	th_assert_error(parse_str(bad), SUBCA_E_TRUNCATED,
			"begins as CERTIFICATE but ends as PKCS7");
	free(bad);
}

static void test_certin_refuses_truncated_der(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);

	th_assert_error(parse_bytes(der, len - 1), SUBCA_E_TRUNCATED,
			"only");
	th_assert_error(parse_bytes(der, 10), SUBCA_E_TRUNCATED,
			"truncated");
	th_assert_error(parse_bytes(der, 2), SUBCA_E_TRUNCATED,
			"inside its header");
	free(der);
}

static void test_certin_refuses_der_with_trailing_bytes(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	struct tb b = {0};

	tb_add(&b, der, len);
	tb_add(&b, "\0\0\0", 3);
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_TRAILING_DATA,
			"3 bytes of trailing data after the DER certificate");
	free(b.p);
	free(der);
}

static void test_certin_refuses_empty_and_whitespace_input(void **state)
{
	th_assert_error(parse_bytes("", 0), SUBCA_E_EMPTY, "is empty");
	th_assert_error(parse_str(" \r\n\t\n"), SUBCA_E_EMPTY,
			"only whitespace");
	th_assert_error(parse_str("\xef\xbb\xbf\n"), SUBCA_E_EMPTY,
			"is empty");
}

static void test_certin_refuses_text_that_is_neither_pem_nor_der(void **state)
{
	th_assert_error(parse_str("hello, this is my root certificate\n"),
			SUBCA_E_GARBAGE, "neither PEM nor DER");
	th_assert_error(parse_bytes("\x30\x03\x02\x01\x01", 5),
			SUBCA_E_GARBAGE, "DER input is not a certificate");
}

/* One line of BEGIN markers filling the cap: refused, and in linear time. */
static void test_certin_refuses_a_line_of_repeated_begin_markers(void **state)
{
	static const char mark[] = "-----BEGIN ";
	struct tb b = {0};

	while (b.len + sizeof(mark) - 1 <= SUBCA_MAX_CERT_INPUT)
		tb_str(&b, mark);
	th_assert_error(parse_bytes(b.p, b.len), SUBCA_E_GARBAGE,
			"1st PEM block has a malformed label");
	free(b.p);
}

/* ---- CSRs --------------------------------------------------------------- */

static subca_result csr_parse(const void *p, size_t n)
{
	X509_REQ *r = NULL;
	subca_result rv = subca_certin_parse_csr(subca_slice_of(p, n), &r);

	if (rv == SUBCA_OK)
		X509_REQ_free(r);
	else
		assert_null(r);
	return rv;
}

static void test_certin_parse_csr_accepts_pem_crlf_and_der(void **state)
{
	X509_REQ *r = make_csr(g_key), *got = NULL;
	char *pem = csr_pem(r), *crlf = to_crlf(pem), *der;
	size_t len;
	unsigned char *d = NULL;
	size_t n = (size_t)i2d_X509_REQ(r, &d);
	char *newreq = pem_block("NEW CERTIFICATE REQUEST", d, n);

	assert_int_equal(subca_certin_parse_csr(subca_slice_of(pem, strlen(pem)),
						&got),
			 SUBCA_OK);
	assert_int_equal(X509_REQ_verify(got, g_key), 1);
	X509_REQ_free(got);
	assert_int_equal(csr_parse(crlf, strlen(crlf)), SUBCA_OK);
	assert_int_equal(csr_parse(newreq, strlen(newreq)), SUBCA_OK);
	der = csr_der(r, &len);
	assert_int_equal(csr_parse(der, len), SUBCA_OK);
	free(der);
	free(newreq);
	OPENSSL_free(d);
	free(crlf);
	free(pem);
	X509_REQ_free(r);
}

static void test_certin_parse_csr_refuses_certificates_and_keys(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_root, &len);
	char *key = key_pem_pkcs8(g_key);
	X509_REQ *r = make_csr(g_key);
	char *pem = csr_pem(r);
	struct tb b = {0};

	th_assert_error(csr_parse(g_root_pem, strlen(g_root_pem)),
			SUBCA_E_BAD_CSR, "is a certificate, not a certificate "
					 "signing request");
	th_assert_error(csr_parse(der, len), SUBCA_E_BAD_CSR,
			"a certificate, not");
	tb_str(&b, pem);
	tb_str(&b, key);
	assert_key_refused(csr_parse(b.p, b.len), key);
	free(b.p);
	b = (struct tb){0};
	tb_str(&b, pem);
	tb_str(&b, pem);
	th_assert_error(csr_parse(b.p, b.len), SUBCA_E_BAD_CSR,
			"2nd PEM block (CERTIFICATE REQUEST) is a second");
	free(b.p);
	free(pem);
	X509_REQ_free(r);
	free(key);
	free(der);
}

static void test_certin_parse_csr_refuses_a_broken_signature(void **state)
{
	X509_REQ *r = make_csr(g_key);
	unsigned char *d = NULL;
	int n = i2d_X509_REQ(r, &d);
	char *pem;

	d[n - 5] ^= 0x01; /* inside the signature BIT STRING */
	pem = pem_block("CERTIFICATE REQUEST", d, (size_t)n);
	th_assert_error(csr_parse(pem, strlen(pem)), SUBCA_E_CSR_SIGNATURE,
			"self-signature does not verify");
	free(pem);
	OPENSSL_free(d);
	X509_REQ_free(r);
}

static void test_certin_parse_csr_size_limit(void **state)
{
	X509_REQ *r = make_csr(g_key);
	char *pem = csr_pem(r);
	struct tb b = {0};

	tb_str(&b, pem);
	while (b.len < SUBCA_MAX_CSR_INPUT)
		tb_str(&b, "\n");
	assert_int_equal(b.len, SUBCA_MAX_CSR_INPUT);
	assert_int_equal(csr_parse(b.p, b.len), SUBCA_OK);
	tb_str(&b, "\n");
	th_assert_error(csr_parse(b.p, b.len), SUBCA_E_TOO_LARGE,
			"limit of 65536 bytes");
	th_assert_error(csr_parse("", 0), SUBCA_E_EMPTY, "is empty");
	th_assert_error(csr_parse("junk", 4), SUBCA_E_GARBAGE,
			"neither PEM nor DER");
	free(b.p);
	free(pem);
	X509_REQ_free(r);
}

/* Every truncation and bit flip of a CSR returns cleanly. */
static void test_certin_parse_csr_survives_truncations_and_bit_flips(void **state)
{
	X509_REQ *r = make_csr(g_key);
	size_t len;
	char *der = csr_der(r, &len);
	char *pem = csr_pem(r);
	size_t plen = strlen(pem);

	for (size_t i = 0; i <= len; i++) {
		(void)csr_parse(der, i);
		for (int bit = 0; i < len && bit < 8; bit += 3) {
			der[i] ^= (char)(1 << bit);
			(void)csr_parse(der, len);
			der[i] ^= (char)(1 << bit);
		}
	}
	for (size_t i = 0; i <= plen; i++) {
		(void)csr_parse(pem, i);
		if (i % 7 == 0 && i < plen) {
			pem[i] ^= 0x04;
			(void)csr_parse(pem, plen);
			pem[i] ^= 0x04;
		}
	}
	assert_int_equal(csr_parse(der, len), SUBCA_OK);
	free(pem);
	free(der);
	X509_REQ_free(r);
}

/* ---- subca_certin_parse_csr_key: the key decoded apart ------------------- */

static subca_result csr_key_parse(const void *p, size_t n)
{
	X509_REQ *r = NULL;
	EVP_PKEY *k = NULL;
	subca_result rv = subca_certin_parse_csr_key(subca_slice_of(p, n), &r,
						     &k);

	if (rv == SUBCA_OK) {
		assert_non_null(k);
		X509_REQ_free(r);
		EVP_PKEY_free(k);
	} else {
		assert_null(r);
		assert_null(k);
	}
	return rv;
}

static void test_certin_parse_csr_key_decodes_each_key_type_apart(void **state)
{
	static const char *const types[] = {"ec-p256", "ec-p384", "rsa-2048",
					    "ed25519"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *k = th_key(types[i]), *got_key = NULL;
		bool eddsa = strcmp(types[i], "ed25519") == 0;
		X509_REQ *r = X509_REQ_new(), *got = NULL;
		char *pem;

		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
					   MBSTRING_UTF8,
					   (const unsigned char *)"leaf", -1,
					   -1, 0);
		assert_int_equal(X509_REQ_set_pubkey(r, k), 1);
		assert_true(X509_REQ_sign(r, k, eddsa ? NULL : EVP_sha256()) > 0);
		pem = csr_pem(r);
		assert_int_equal(subca_certin_parse_csr_key(
					 subca_slice_of(pem, strlen(pem)), &got,
					 &got_key),
				 SUBCA_OK);
		/* the key came apart: the request holds none, the one
		 * handed out is the signer's */
		assert_null(X509_REQ_get0_pubkey(got));
		ERR_clear_error();
		assert_int_equal(EVP_PKEY_eq(got_key, k), 1);
		assert_int_equal(X509_REQ_verify(r, got_key), 1);
		EVP_PKEY_free(got_key);
		X509_REQ_free(got);
		free(pem);
		X509_REQ_free(r);
		EVP_PKEY_free(k);
	}
}

/* A signed request for `k`, as PEM (the caller frees). */
static char *csr_pem_for(EVP_PKEY *k)
{
	X509_REQ *r = X509_REQ_new();
	char *pem;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
				   MBSTRING_UTF8, (const unsigned char *)"leaf",
				   -1, -1, 0);
	assert_int_equal(X509_REQ_set_pubkey(r, k), 1);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	pem = csr_pem(r);
	X509_REQ_free(r);
	return pem;
}

/*
 * EC keys after the first of a curve on a thread come from a kept key of
 * that curve given the request's point: each request still gets its own
 * key, compressed points included, and nothing of an earlier one.
 */
static void test_certin_parse_csr_key_gives_each_ec_request_its_own_key(void **state)
{
	static const char *const curves[] = {"P-256", "P-384", "P-521"};
	EVP_PKEY *prev = NULL;

	for (size_t c = 0; c < 3; c++) {
		for (int i = 0; i < 4; i++) {
			EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
							curves[c]);
			EVP_PKEY *got_key = NULL;
			X509_REQ *got = NULL;
			BIGNUM *priv = NULL;
			char *pem;

			if (i == 3)
				assert_int_equal(
					EVP_PKEY_set_utf8_string_param(
						k,
						OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
						"compressed"),
					1);
			pem = csr_pem_for(k);
			assert_int_equal(subca_certin_parse_csr_key(
						 subca_slice_of(pem, strlen(pem)),
						 &got, &got_key),
					 SUBCA_OK);
			assert_int_equal(EVP_PKEY_eq(got_key, k), 1);
			assert_string_equal(EVP_PKEY_get0_type_name(got_key),
					    "EC");
			assert_int_equal(EVP_PKEY_get_bits(got_key),
					 EVP_PKEY_get_bits(k));
			assert_int_equal(EVP_PKEY_get_bn_param(
						 got_key, OSSL_PKEY_PARAM_PRIV_KEY,
						 &priv),
					 0);
			if (prev != NULL)
				assert_int_not_equal(EVP_PKEY_eq(got_key, prev),
						     1);
			ERR_clear_error();
			EVP_PKEY_free(prev);
			prev = got_key;
			X509_REQ_free(got);
			free(pem);
			EVP_PKEY_free(k);
		}
	}
	EVP_PKEY_free(prev);
}

/* A point off the curve, once the curve's kept key exists: refused the way
 * the usual parser refuses it. */
static void test_certin_parse_csr_key_refuses_a_point_off_the_curve(void **state)
{
	EVP_PKEY *k = th_key("ec-p256");
	char *good = csr_pem_for(k), *pem;
	X509_REQ *r = make_csr(k);
	unsigned char *d = NULL, *pt;
	int n;

	assert_int_equal(csr_key_parse(good, strlen(good)), SUBCA_OK);
	n = i2d_X509_REQ(r, &d);
	/* the last byte of y in the SubjectPublicKeyInfo's uncompressed point */
	pt = memchr(d + 3, 0x04, (size_t)n - 3);
	while (pt != NULL && !(pt[-1] == 0x00 && pt[-2] == 0x42 &&
			       pt[-3] == 0x03))
		pt = memchr(pt + 1, 0x04, (size_t)(d + n - pt - 1));
	assert_non_null(pt);
	pt[64] ^= 0x01;
	pem = pem_block("CERTIFICATE REQUEST", d, (size_t)n);
	assert_int_equal(csr_key_parse(pem, strlen(pem)),
			 csr_parse(pem, strlen(pem)));
	assert_int_not_equal(csr_key_parse(pem, strlen(pem)), SUBCA_OK);
	free(pem);
	free(good);
	OPENSSL_free(d);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
}

static void test_certin_parse_csr_key_refuses_a_broken_signature(void **state)
{
	X509_REQ *r = make_csr(g_key);
	unsigned char *d = NULL;
	int n = i2d_X509_REQ(r, &d);
	char *pem;

	d[n - 5] ^= 0x01; /* inside the signature BIT STRING */
	pem = pem_block("CERTIFICATE REQUEST", d, (size_t)n);
	th_assert_error(csr_key_parse(pem, strlen(pem)), SUBCA_E_CSR_SIGNATURE,
			"self-signature does not verify");
	th_assert_error(csr_key_parse("junk", 4), SUBCA_E_GARBAGE,
			"neither PEM nor DER");
	free(pem);
	OPENSSL_free(d);
	X509_REQ_free(r);
}

/* Both parsers give the same answer for every truncation and bit flip. */
static void test_certin_parse_csr_key_agrees_with_parse_csr_on_every_mutation(void **state)
{
	X509_REQ *r = make_csr(g_key);
	size_t len;
	char *der = csr_der(r, &len);

	for (size_t i = 0; i <= len; i++) {
		assert_int_equal(csr_key_parse(der, i), csr_parse(der, i));
		for (int bit = 0; i < len && bit < 8; bit += 3) {
			der[i] ^= (char)(1 << bit);
			assert_int_equal(csr_key_parse(der, len),
					 csr_parse(der, len));
			der[i] ^= (char)(1 << bit);
		}
	}
	assert_int_equal(csr_key_parse(der, len), SUBCA_OK);
	free(der);
	X509_REQ_free(r);
}

/* Same for certificate input: DER every byte, PEM every 7th. */
static void test_certin_parse_survives_truncations_and_bit_flips(void **state)
{
	size_t len;
	unsigned char *der = th_der(g_ca, &len);
	char *pem = strdup(g_root_pem);
	size_t plen = strlen(pem);

	for (size_t i = 0; i <= len; i++) {
		(void)parse_bytes(der, i);
		if (i < len) {
			der[i] ^= 0x80;
			(void)parse_bytes(der, len);
			der[i] ^= 0x80;
		}
	}
	for (size_t i = 0; i <= plen; i++) {
		(void)parse_bytes(pem, i);
		if (i % 7 == 0 && i < plen) {
			pem[i] ^= 0x01;
			(void)parse_bytes(pem, plen);
			pem[i] ^= 0x01;
		}
	}
	assert_int_equal(parse_bytes(der, len), SUBCA_OK);
	free(pem);
	free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certin_parses_pem_roots_of_every_key_type),
		cmocka_unit_test(test_certin_parses_der_certificate),
		cmocka_unit_test(test_certin_accepts_crlf_pem_with_bom),
		cmocka_unit_test(test_certin_ignores_text_around_and_between_blocks),
		cmocka_unit_test(test_certin_keeps_bundle_input_order),
		cmocka_unit_test(test_certin_accepts_x509_and_trusted_certificate_labels),
		cmocka_unit_test(test_certin_takes_certificates_of_pkcs7_pem_and_der),
		cmocka_unit_test(test_certin_parses_a_pem_of_exactly_the_size_limit),
		cmocka_unit_test(test_certin_takes_16_certificates_and_refuses_17),
		cmocka_unit_test(test_certin_takes_64_pem_blocks_and_refuses_65),
		cmocka_unit_test(test_certin_refuses_a_private_key_alone),
		cmocka_unit_test(test_certin_refuses_a_private_key_appended_to_a_cert),
		cmocka_unit_test(test_certin_refuses_an_encrypted_pkcs8_key),
		cmocka_unit_test(test_certin_refuses_an_encrypted_der_pkcs8_key),
		cmocka_unit_test(test_certin_refuses_an_encrypted_key_under_another_label),
		cmocka_unit_test(test_certin_refuses_der_private_keys),
		cmocka_unit_test(test_certin_refuses_other_private_key_formats),
		cmocka_unit_test(test_certin_refuses_a_csr_as_not_yet_signed),
		cmocka_unit_test(test_certin_refuses_crl_and_public_key_blocks),
		cmocka_unit_test(test_certin_refuses_pkcs7_without_certificates),
		cmocka_unit_test(test_certin_refuses_bad_base64_naming_the_block),
		cmocka_unit_test(test_certin_refuses_undecodable_der_in_a_certificate_block),
		cmocka_unit_test(test_certin_refuses_pem_without_end_line),
		cmocka_unit_test(test_certin_refuses_mismatched_end_line),
		cmocka_unit_test(test_certin_refuses_truncated_der),
		cmocka_unit_test(test_certin_refuses_der_with_trailing_bytes),
		cmocka_unit_test(test_certin_refuses_empty_and_whitespace_input),
		cmocka_unit_test(test_certin_refuses_text_that_is_neither_pem_nor_der),
		cmocka_unit_test(test_certin_refuses_a_line_of_repeated_begin_markers),
		cmocka_unit_test(test_certin_parse_csr_accepts_pem_crlf_and_der),
		cmocka_unit_test(test_certin_parse_csr_refuses_certificates_and_keys),
		cmocka_unit_test(test_certin_parse_csr_refuses_a_broken_signature),
		cmocka_unit_test(test_certin_parse_csr_size_limit),
		cmocka_unit_test(test_certin_parse_csr_survives_truncations_and_bit_flips),
		cmocka_unit_test(test_certin_parse_csr_key_decodes_each_key_type_apart),
		cmocka_unit_test(test_certin_parse_csr_key_gives_each_ec_request_its_own_key),
		cmocka_unit_test(test_certin_parse_csr_key_refuses_a_point_off_the_curve),
		cmocka_unit_test(test_certin_parse_csr_key_refuses_a_broken_signature),
		cmocka_unit_test(test_certin_parse_csr_key_agrees_with_parse_csr_on_every_mutation),
		cmocka_unit_test(test_certin_parse_survives_truncations_and_bit_flips),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
