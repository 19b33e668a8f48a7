/*
 * Parsing of untrusted certificate input (root bundles, signed intermediates,
 * uploads): PEM with LF or CRLF line endings and an optional UTF-8 BOM (any
 * number of CERTIFICATE, X509 CERTIFICATE, TRUSTED CERTIFICATE and PKCS7
 * blocks; text around blocks, e.g. `openssl x509 -text` output, is ignored),
 * a DER certificate, or a DER PKCS#7 (.p7b) SignedData carrying
 * certificates (signed or certs-only, as AD CS and `openssl crl2pkcs7`
 * write). TRUSTED CERTIFICATE trust settings are dropped, never honoured.
 */
#ifndef SUBCA_CERTIN_H
#define SUBCA_CERTIN_H

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"

/*
 * Parse `in` into the certificates it holds, in input order (PKCS#7 contents
 * in their stored order). On success *out is a new stack owned by the caller
 * (free with sk_X509_pop_free(s, X509_free)) holding at least one certificate.
 *
 * Refusals, each with a reason that names the problem:
 *  SUBCA_E_EMPTY           no bytes, or only whitespace
 *  SUBCA_E_TOO_LARGE       more than SUBCA_MAX_CERT_INPUT bytes
 *  SUBCA_E_PRIVATE_KEY     any private key, PEM (any "PRIVATE KEY" block,
 *                          encrypted or not) or DER; the key is never echoed
 *  SUBCA_E_CSR_NOT_CERT    a certificate request (PEM or DER)
 *  SUBCA_E_NOT_CERTIFICATE a PEM block of another type (CRL, public key, ...)
 *                          or a PKCS#7 without certificates
 *  SUBCA_E_TRUNCATED       a PEM block without its END line, or DER shorter
 *                          than its outer length says
 *  SUBCA_E_GARBAGE         bytes that are none of the above (bad base64,
 *                          bad DER inside a CERTIFICATE block, ...)
 *  SUBCA_E_TRAILING_DATA   DER with bytes after the object
 *  SUBCA_E_TOO_MANY_CERTS  more than SUBCA_MAX_BUNDLE_CERTS certificates, or
 *                          more than SUBCA_MAX_PEM_BLOCKS PEM blocks
 * Checked in this order: size, emptiness, private keys anywhere in the
 * input, then the blocks in input order (the first problem is returned).
 * Reasons name the PEM block ("the 2nd PEM block (CERTIFICATE) ...").
 */
SUBCA_MUST_CHECK subca_result subca_certin_parse(struct subca_slice in,
						 STACK_OF(X509) **out);

/*
 * Parse an untrusted certificate signing request, PEM (LF/CRLF) or DER, at
 * most SUBCA_MAX_CSR_INPUT bytes, and verify its self-signature.
 * PEM labels: CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST; exactly one.
 * Errors: EMPTY, TOO_LARGE, PRIVATE_KEY, GARBAGE, TRUNCATED, TRAILING_DATA,
 * TOO_MANY_CERTS (PEM block cap), BAD_CSR (a certificate or other object,
 * or more than one request), CSR_SIGNATURE. On success *out is owned by the
 * caller (X509_REQ_free).
 */
SUBCA_MUST_CHECK subca_result subca_certin_parse_csr(struct subca_slice in,
						     X509_REQ **out);

/*
 * The same, faster, for a hot path: the request's key is decoded apart
 * (a decoder kept per thread) into *key, owned by the caller, and the
 * request in *out usually holds no decoded key (X509_REQ_get0_pubkey()
 * returns NULL for it): hand *key along with it
 * (subca_leaf_request.csr_key).
 * The self-signature is verified with *key. Errors as
 * subca_certin_parse_csr.
 */
SUBCA_MUST_CHECK subca_result subca_certin_parse_csr_key(
	struct subca_slice in, X509_REQ **out, EVP_PKEY **key);

#endif
