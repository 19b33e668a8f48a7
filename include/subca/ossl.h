/*
 * Cleanup bound to the declaration for OpenSSL objects, and the one DER
 * decoding wrapper (every d2i_* in subca goes through subca_der_decode, which
 * checks the length consumed and rejects trailing bytes).
 *
 *   SUBCA_AUTO(X509) X509 *cert = NULL;   // X509_free at end of scope
 *   ... ownership handed away: cert = NULL (or use subca_steal) ...
 */
#ifndef SUBCA_OSSL_H
#define SUBCA_OSSL_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>

#include "subca/buf.h"
#include "subca/error.h"

#define SUBCA__DEFINE_AUTO(T, fn)                    \
	static inline void subca__auto_##T(T **p)    \
	{                                            \
		if (*p != NULL)                      \
			fn(*p);                      \
		*p = NULL;                           \
	}

SUBCA__DEFINE_AUTO(X509, X509_free)
SUBCA__DEFINE_AUTO(X509_REQ, X509_REQ_free)
SUBCA__DEFINE_AUTO(X509_CRL, X509_CRL_free)
SUBCA__DEFINE_AUTO(X509_NAME, X509_NAME_free)
SUBCA__DEFINE_AUTO(X509_EXTENSION, X509_EXTENSION_free)
SUBCA__DEFINE_AUTO(X509_STORE, X509_STORE_free)
SUBCA__DEFINE_AUTO(X509_STORE_CTX, X509_STORE_CTX_free)
SUBCA__DEFINE_AUTO(EVP_PKEY, EVP_PKEY_free)
SUBCA__DEFINE_AUTO(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
SUBCA__DEFINE_AUTO(EVP_MD_CTX, EVP_MD_CTX_free)
SUBCA__DEFINE_AUTO(BIO, BIO_free_all)
SUBCA__DEFINE_AUTO(BIGNUM, BN_free)
SUBCA__DEFINE_AUTO(ASN1_INTEGER, ASN1_INTEGER_free)
SUBCA__DEFINE_AUTO(ASN1_TIME, ASN1_TIME_free)
SUBCA__DEFINE_AUTO(PKCS7, PKCS7_free)
SUBCA__DEFINE_AUTO(BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free)
SUBCA__DEFINE_AUTO(NAME_CONSTRAINTS, NAME_CONSTRAINTS_free)
SUBCA__DEFINE_AUTO(GENERAL_NAMES, GENERAL_NAMES_free)
SUBCA__DEFINE_AUTO(ASN1_OCTET_STRING, ASN1_OCTET_STRING_free)
SUBCA__DEFINE_AUTO(AUTHORITY_KEYID, AUTHORITY_KEYID_free)
SUBCA__DEFINE_AUTO(ECDSA_SIG, ECDSA_SIG_free)

static inline void subca__auto_x509_stack(STACK_OF(X509) **p)
{
	if (*p != NULL)
		sk_X509_pop_free(*p, X509_free);
	*p = NULL;
}

#define SUBCA_AUTO(T) __attribute__((cleanup(subca__auto_##T)))
#define SUBCA_AUTO_X509_STACK __attribute__((cleanup(subca__auto_x509_stack)))

/* Take a pointer out of an auto variable: ownership moves to the caller. */
#define subca_steal(pp)                               \
	({                                            \
		__typeof__(*(pp)) subca__tmp = *(pp); \
		*(pp) = NULL;                         \
		subca__tmp;                           \
	})

enum subca_der_kind {
	SUBCA_DER_X509,
	SUBCA_DER_X509_REQ,
	SUBCA_DER_X509_CRL,
	SUBCA_DER_PKCS7,
	SUBCA_DER_PRIVKEY, /* any PKCS#8 / traditional private key */
	SUBCA_DER_PKCS8_ENCRYPTED, /* EncryptedPrivateKeyInfo (X509_SIG) */
	SUBCA_DER_ECDSA_SIG,	   /* Ecdsa-Sig-Value (RFC 3279 2.2.3) */
	SUBCA_DER_OCSP_REQUEST,	   /* OCSPRequest (RFC 6960 4.1.1) */
	SUBCA_DER_OCTET_STRING,	   /* a bare OCTET STRING (an extension value,
				    * e.g. RFC 8737 3 acmeIdentifier) */
	/* An X509_REQ whose public key is left undecoded (OpenSSL 3.0
	 * builds a decoder for the key inside d2i_X509_REQ, which costs more
	 * than verifying the CSR): X509_REQ_get0_pubkey() returns NULL for
	 * it (or, where that cannot be arranged, the key as usual); the
	 * caller decodes the key itself (subca_certin_parse_csr_key). */
	SUBCA_DER_X509_REQ_KEYLESS,
};

/*
 * Decode exactly one DER object of `kind` from `der`. The whole slice must
 * be consumed: trailing bytes fail with SUBCA_E_TRAILING_DATA; undecodable
 * bytes with SUBCA_E_GARBAGE. On success *out owns a new object of the OpenSSL
 * type matching `kind` (X509, X509_REQ, X509_CRL, PKCS7, EVP_PKEY, X509_SIG,
 * ECDSA_SIG, OCSP_REQUEST, ASN1_OCTET_STRING).
 */
SUBCA_MUST_CHECK subca_result subca_der_decode(enum subca_der_kind kind,
					       struct subca_slice der,
					       void **out);

/* DER-encode a certificate / request into `out` (initialised here). */
SUBCA_MUST_CHECK subca_result subca_der_x509(const X509 *x,
					     struct subca_buf *out);
/* PEM-encode into `out` (initialised here, NUL-terminated). */
SUBCA_MUST_CHECK subca_result subca_pem_x509(const X509 *x,
					     struct subca_buf *out);
SUBCA_MUST_CHECK subca_result subca_pem_x509_req(const X509_REQ *x,
						 struct subca_buf *out);

/* Lower-case hex SHA-256 fingerprint of the DER certificate (64 chars+NUL). */
SUBCA_MUST_CHECK subca_result subca_x509_fingerprint(const X509 *x,
						     char out[65]);

/* One-line RFC 2253 form of a name into buf (truncated to len-1). */
void subca_name_oneline(const X509_NAME *n, char *buf, size_t len);

/* ASN1_TIME to seconds since the epoch (UTC). SUBCA_E_INVALID_ARGUMENT. */
SUBCA_MUST_CHECK subca_result subca_asn1_time_unix(const ASN1_TIME *t,
						   int64_t *out);

/* Lower-case hex of a certificate serial, no leading zeros ("0" for 0). */
SUBCA_MUST_CHECK subca_result subca_serial_hex(const ASN1_INTEGER *serial,
					       char *buf, size_t len);

/*
 * Parse PEM that subca itself wrote and stored (trusted bytes, e.g. from the
 * database). Exactly the first object is returned; SUBCA_E_STORE when the
 * stored text does not parse.
 */
SUBCA_MUST_CHECK subca_result subca_pem_load_x509(const char *pem, X509 **out);
SUBCA_MUST_CHECK subca_result subca_pem_load_x509_req(const char *pem,
						      X509_REQ **out);

#endif
