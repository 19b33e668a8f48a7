#include "subca/ossl.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "subca/limits.h"

/* A library context without any provider: a key decoded in it fails at
 * once, leaving the structure around it decoded. */
static OSSL_LIB_CTX *subca__keyless_ctx;
static pthread_once_t subca__keyless_once = PTHREAD_ONCE_INIT;

static void subca__keyless_init(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

	/* the null provider stops the default one from loading itself */
	if (ctx != NULL && OSSL_PROVIDER_load(ctx, "null") == NULL) {
		OSSL_LIB_CTX_free(ctx);
		ctx = NULL;
	}
	subca__keyless_ctx = ctx;
}

static X509_REQ *subca__d2i_req_keyless(const unsigned char **p, long len)
{
	pthread_once(&subca__keyless_once, subca__keyless_init);
	/* without that context: the usual decode, the key decoded in it
	 * (slower, the same result) */
	if (subca__keyless_ctx == NULL)
		return d2i_X509_REQ(NULL, p, len);
	return (X509_REQ *)ASN1_item_d2i_ex(NULL, p, len,
					    ASN1_ITEM_rptr(X509_REQ),
					    subca__keyless_ctx, NULL);
}

subca_result subca_der_decode(enum subca_der_kind kind, struct subca_slice der,
			      void **out)
{
	const unsigned char *p = der.p;
	const char *what = "object";
	void *obj = NULL;
	subca_result rv;

	*out = NULL;
	SUBCA_ENSURE(der.len > 0, SUBCA_E_EMPTY, "empty input");
	SUBCA_ENSURE(der.len <= (size_t)LONG_MAX, SUBCA_E_TOO_LARGE,
		     "input too large");
	switch (kind) {
	case SUBCA_DER_X509:
		what = "certificate";
		obj = d2i_X509(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_X509_REQ:
		what = "certificate request";
		obj = d2i_X509_REQ(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_X509_REQ_KEYLESS:
		what = "certificate request";
		obj = subca__d2i_req_keyless(&p, (long)der.len);
		break;
	case SUBCA_DER_X509_CRL:
		what = "CRL";
		obj = d2i_X509_CRL(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_PKCS7:
		what = "PKCS#7 structure";
		obj = d2i_PKCS7(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_PRIVKEY:
		what = "private key";
		obj = d2i_AutoPrivateKey(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_PKCS8_ENCRYPTED:
		what = "encrypted private key";
		obj = d2i_X509_SIG(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_ECDSA_SIG:
		what = "ECDSA signature";
		obj = d2i_ECDSA_SIG(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_OCSP_REQUEST:
		what = "OCSP request";
		obj = d2i_OCSP_REQUEST(NULL, &p, (long)der.len);
		break;
	case SUBCA_DER_OCTET_STRING:
		what = "OCTET STRING";
		obj = d2i_ASN1_OCTET_STRING(NULL, &p, (long)der.len);
		break;
	}
	if (obj == NULL) {
		ERR_clear_error();
		SUBCA_BAIL(SUBCA_E_GARBAGE, "not a DER-encoded %s", what);
	}
	/* p advanced past the object; the whole slice must be consumed */
	rv = (p == der.p + der.len) ? SUBCA_OK
				    : subca_error_set(SUBCA_E_TRAILING_DATA,
						      __FILE__, __LINE__,
						      "%zu bytes of trailing data after the %s",
						      (size_t)(der.p + der.len - p),
						      what);
	if (rv != SUBCA_OK) {
		switch (kind) {
		case SUBCA_DER_X509: X509_free(obj); break;
		case SUBCA_DER_X509_REQ:
		case SUBCA_DER_X509_REQ_KEYLESS: X509_REQ_free(obj); break;
		case SUBCA_DER_X509_CRL: X509_CRL_free(obj); break;
		case SUBCA_DER_PKCS7: PKCS7_free(obj); break;
		case SUBCA_DER_PRIVKEY: EVP_PKEY_free(obj); break;
		case SUBCA_DER_PKCS8_ENCRYPTED: X509_SIG_free(obj); break;
		case SUBCA_DER_ECDSA_SIG: ECDSA_SIG_free(obj); break;
		case SUBCA_DER_OCSP_REQUEST: OCSP_REQUEST_free(obj); break;
		case SUBCA_DER_OCTET_STRING: ASN1_OCTET_STRING_free(obj); break;
		}
		return rv;
	}
	*out = obj;
	return SUBCA_OK;
}

subca_result subca_der_x509(const X509 *x, struct subca_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	subca_result rv;

	subca_buf_init(out, SUBCA_MAX_CERT_INPUT);
	SUBCA_OSSL(n > 0, SUBCA_E_CRYPTO, "cannot encode certificate");
	rv = subca_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return rv;
}

/*
 * RFC 7468 2: the BEGIN line, the DER in base64 lines of 64 characters,
 * the END line; byte for byte what PEM_write_bio_* writes, without a BIO
 * and its encoder context (this is on every issuance).
 */
static subca_result subca__pem(const char *label, const unsigned char *der,
			       int n, struct subca_buf *out)
{
	unsigned char line[66];

	subca_buf_init(out, SUBCA_MAX_CERT_INPUT);
	SUBCA_ENSURE(n > 0, SUBCA_E_CRYPTO, "cannot encode the %s", label);
	SUBCA_TRY(subca_buf_printf(out, "-----BEGIN %s-----\n", label));
	for (int off = 0; off < n; off += 48) {
		int w = EVP_EncodeBlock(line, der + off,
					n - off < 48 ? n - off : 48);

		line[w] = '\n';
		SUBCA_TRY(subca_buf_append(out, line, (size_t)w + 1));
	}
	return subca_buf_printf(out, "-----END %s-----\n", label);
}

subca_result subca_pem_x509(const X509 *x, struct subca_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	subca_result rv = subca__pem("CERTIFICATE", der, n, out);

	OPENSSL_free(der);
	return rv;
}

subca_result subca_pem_x509_req(const X509_REQ *x, struct subca_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(x, &der);
	subca_result rv = subca__pem("CERTIFICATE REQUEST", der, n, out);

	OPENSSL_free(der);
	return rv;
}

subca_result subca_x509_fingerprint(const X509 *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";

	SUBCA_OSSL(X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32,
		   SUBCA_E_CRYPTO, "cannot hash certificate");
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return SUBCA_OK;
}

void subca_name_oneline(const X509_NAME *n, char *buf, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long got;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, n, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		got = BIO_get_mem_data(bio, &data);
		if (got > 0) {
			size_t k = (size_t)got < len - 1 ? (size_t)got : len - 1;

			memcpy(buf, data, k);
			buf[k] = '\0';
		}
	}
	BIO_free(bio);
	ERR_clear_error();
}

subca_result subca_asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	SUBCA_ENSURE(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1,
		     SUBCA_E_INVALID_ARGUMENT, "invalid time value");
	*out = (int64_t)timegm(&tm);
	return SUBCA_OK;
}

subca_result subca_serial_hex(const ASN1_INTEGER *serial, char *buf,
			      size_t len)
{
	SUBCA_AUTO(BIGNUM) BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex;
	size_t i = 0, n;

	SUBCA_OSSL(bn != NULL, SUBCA_E_CRYPTO, "cannot read serial number");
	hex = BN_bn2hex(bn);
	SUBCA_OSSL(hex != NULL, SUBCA_E_NOMEM, "out of memory");
	while (hex[i] == '0' && hex[i + 1] != '\0')
		i++;
	n = strlen(hex + i);
	if (n + 1 > len) {
		OPENSSL_free(hex);
		SUBCA_BAIL(SUBCA_E_INTERNAL, "serial number too long");
	}
	for (size_t k = 0; k <= n; k++)
		buf[k] = (char)tolower((unsigned char)hex[i + k]);
	OPENSSL_free(hex);
	return SUBCA_OK;
}

subca_result subca_pem_load_x509(const char *pem, X509 **out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new_mem_buf(pem, -1);

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	SUBCA_OSSL(*out != NULL, SUBCA_E_STORE,
		   "stored certificate does not parse");
	return SUBCA_OK;
}

subca_result subca_pem_load_x509_req(const char *pem, X509_REQ **out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new_mem_buf(pem, -1);

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	SUBCA_OSSL(*out != NULL, SUBCA_E_STORE,
		   "stored certificate request does not parse");
	return SUBCA_OK;
}
