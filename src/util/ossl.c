#include "subca/ossl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <limits.h>
#include <string.h>

#include "subca/limits.h"

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
		case SUBCA_DER_X509_REQ: X509_REQ_free(obj); break;
		case SUBCA_DER_X509_CRL: X509_CRL_free(obj); break;
		case SUBCA_DER_PKCS7: PKCS7_free(obj); break;
		case SUBCA_DER_PRIVKEY: EVP_PKEY_free(obj); break;
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

static subca_result subca__bio_to_buf(BIO *bio, struct subca_buf *out)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	subca_buf_init(out, SUBCA_MAX_CERT_INPUT);
	SUBCA_ENSURE(n > 0, SUBCA_E_CRYPTO, "PEM encoding failed");
	return subca_buf_append(out, data, (size_t)n);
}

subca_result subca_pem_x509(const X509 *x, struct subca_buf *out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new(BIO_s_mem());

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(PEM_write_bio_X509(bio, x) == 1, SUBCA_E_CRYPTO,
		   "cannot PEM-encode certificate");
	return subca__bio_to_buf(bio, out);
}

subca_result subca_pem_x509_req(const X509_REQ *x, struct subca_buf *out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new(BIO_s_mem());

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(PEM_write_bio_X509_REQ(bio, x) == 1, SUBCA_E_CRYPTO,
		   "cannot PEM-encode certificate request");
	return subca__bio_to_buf(bio, out);
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
