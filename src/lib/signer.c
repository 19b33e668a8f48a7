/*
 * Signing CA certificates: the offline signer for a root held as PEM files,
 * self-signed roots, serials and validity periods.
 */
#include "subca/signer.h"

#include <openssl/rand.h>
#include <stdio.h>

#include "subca/csr.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define SUBCA__SERIAL_LEN 20
#define SUBCA__SERIAL_TIME_LEN 6 /* the two top bits, then 46 of time */

subca_result subca_serial_at(uint64_t ms, ASN1_INTEGER **out)
{
	unsigned char b[SUBCA__SERIAL_LEN];
	SUBCA_AUTO(BIGNUM) BIGNUM *bn = NULL;

	*out = NULL;
	SUBCA_OSSL(RAND_bytes(b + SUBCA__SERIAL_TIME_LEN,
			      sizeof(b) - SUBCA__SERIAL_TIME_LEN) == 1,
		   SUBCA_E_CRYPTO, "the random generator failed");
	for (int i = SUBCA__SERIAL_TIME_LEN - 1; i >= 0; i--) {
		b[i] = (unsigned char)(ms & 0xff);
		ms >>= 8;
	}
	/* top bit clear: positive without a leading zero octet; next bit
	 * set: exactly 20 octets (46 bits of milliseconds last until 4199) */
	b[0] = (unsigned char)((b[0] & 0x3f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	OPENSSL_cleanse(b, sizeof(b));
	SUBCA_OSSL(bn != NULL, SUBCA_E_NOMEM, "cannot allocate the serial");
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	SUBCA_OSSL(*out != NULL, SUBCA_E_NOMEM, "cannot allocate the serial");
	return SUBCA_OK;
}

subca_result subca_serial_new(ASN1_INTEGER **out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return subca_serial_at((uint64_t)ts.tv_sec * 1000u +
				       (uint64_t)ts.tv_nsec / 1000000u,
			       out);
}

static subca_result subca__cap_not_after(X509 *x, const ASN1_TIME *cap,
					 int *capped)
{
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *copy = NULL;
	int cmp = ASN1_TIME_compare(X509_get0_notAfter(x), cap);

	SUBCA_OSSL(cmp != -2, SUBCA_E_INVALID_ARGUMENT,
		   "the issuer's notAfter cannot be read");
	if (cmp <= 0)
		return SUBCA_OK;
	SUBCA_ENSURE(ASN1_TIME_compare(cap, X509_get0_notBefore(x)) > 0,
		     SUBCA_E_EXPIRED,
		     "the issuing certificate expires before the new "
		     "certificate's notBefore");
	copy = ASN1_STRING_dup(cap);
	/* RFC 5280 4.1.2.5: re-encode as UTCTime or GeneralizedTime by year,
	 * whatever encoding the issuer used. */
	SUBCA_OSSL(copy != NULL && ASN1_TIME_normalize(copy) == 1 &&
			   X509_set1_notAfter(x, copy) == 1,
		   SUBCA_E_CRYPTO, "cannot cap notAfter");
	if (capped != NULL)
		*capped = 1;
	return SUBCA_OK;
}

subca_result subca_validity_set(X509 *x, time_t now, long days,
				const ASN1_TIME *cap_not_after, int *capped)
{
	if (capped != NULL)
		*capped = 0;
	SUBCA_ENSURE(days >= 1 && days <= SUBCA_MAX_VALIDITY_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a lifetime of %ld days is out of range (1 to %d)", days,
		     SUBCA_MAX_VALIDITY_DAYS);
	/* One minute of backdating absorbs small clock skew of relying
	 * parties. X509_time_adj_ex picks UTCTime before 2050 and
	 * GeneralizedTime after, as RFC 5280 4.1.2.5 requires. */
	SUBCA_OSSL(X509_time_adj_ex(X509_getm_notBefore(x), 0, -60, &now) != NULL,
		   SUBCA_E_CRYPTO, "cannot set notBefore");
	SUBCA_OSSL(X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) !=
			   NULL,
		   SUBCA_E_CRYPTO, "cannot set notAfter");
	if (cap_not_after == NULL)
		return SUBCA_OK;
	return subca__cap_not_after(x, cap_not_after, capped);
}

/* ---- extensions -------------------------------------------------------- */

static subca_result subca__ext_conf(X509 *x, X509V3_CTX *ctx, int nid,
				    const char *value)
{
	SUBCA_AUTO(X509_EXTENSION) X509_EXTENSION *ext =
		X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	SUBCA_OSSL(ext != NULL, SUBCA_E_CRYPTO, "cannot build %s",
		   OBJ_nid2sn(nid));
	SUBCA_OSSL(X509_add_ext(x, ext, -1) == 1, SUBCA_E_CRYPTO,
		   "cannot add %s", OBJ_nid2sn(nid));
	return SUBCA_OK;
}

/* basicConstraints (RFC 5280 4.2.1.9, critical), keyUsage (4.2.1.3,
 * critical) and the subject key identifier (4.2.1.2 method 1). */
static subca_result subca__ca_extensions(X509 *x, X509 *issuer, int path_len)
{
	X509V3_CTX ctx;
	char bc[64];

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (path_len >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d",
			 path_len);
	else
		snprintf(bc, sizeof(bc), "critical,CA:TRUE");
	SUBCA_TRY(subca__ext_conf(x, &ctx, NID_basic_constraints, bc));
	SUBCA_TRY(subca__ext_conf(x, &ctx, NID_key_usage,
				  "critical,digitalSignature,keyCertSign,"
				  "cRLSign"));
	return subca__ext_conf(x, &ctx, NID_subject_key_identifier, "hash");
}

static subca_result subca__akid_issuer_serial(AUTHORITY_KEYID *akid, X509 *root)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *name = X509_NAME_dup(X509_get_issuer_name(root));

	akid->issuer = GENERAL_NAMES_new();
	akid->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(root));
	if (gn == NULL || name == NULL || akid->issuer == NULL ||
	    akid->serial == NULL) {
		GENERAL_NAME_free(gn);
		X509_NAME_free(name);
		SUBCA_BAIL(SUBCA_E_NOMEM, "cannot build the authority key id");
	}
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, name);
	if (sk_GENERAL_NAME_push(akid->issuer, gn) <= 0) {
		GENERAL_NAME_free(gn);
		SUBCA_BAIL(SUBCA_E_NOMEM, "cannot build the authority key id");
	}
	return SUBCA_OK;
}

/*
 * RFC 5280 4.2.1.1: the authority key identifier copies the issuer's own
 * subject key identifier (never recomputed: tools such as certtool do not
 * use method 1); without one, the issuer's issuer name and serial.
 */
static subca_result subca__akid(X509 *x, X509 *root)
{
	SUBCA_AUTO(AUTHORITY_KEYID) AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int crit = -1;

	SUBCA_ENSURE(akid != NULL, SUBCA_E_NOMEM, "out of memory");
	akid->keyid = X509_get_ext_d2i(root, NID_subject_key_identifier, &crit,
				       NULL);
	if (akid->keyid == NULL) {
		SUBCA_OSSL(crit == -1, SUBCA_E_INVALID_ARGUMENT,
			   "the root's subjectKeyIdentifier is %s",
			   crit == -2 ? "present more than once" : "malformed");
		SUBCA_TRY(subca__akid_issuer_serial(akid, root));
	}
	/* RFC 5280 4.2.1.1: MUST be non-critical. */
	SUBCA_OSSL(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
				     X509V3_ADD_DEFAULT) == 1,
		   SUBCA_E_CRYPTO, "cannot add the authority key identifier");
	return SUBCA_OK;
}

/* ---- checks ------------------------------------------------------------ */

static subca_result subca__root_check(X509 *root, EVP_PKEY *root_key)
{
	uint32_t ku;

	SUBCA_TRY(subca_key_check_strength(root_key, "root key"));
	SUBCA_OSSL(X509_check_private_key(root, root_key) == 1,
		   SUBCA_E_ROOT_KEY_MISMATCH,
		   "the root key does not match the root certificate's public "
		   "key");
	ku = X509_get_key_usage(root);
	SUBCA_ENSURE(ku == UINT32_MAX || (ku & KU_KEY_CERT_SIGN) != 0,
		     SUBCA_E_NO_KEYCERTSIGN,
		     "the root certificate's keyUsage lacks keyCertSign");
	SUBCA_ENSURE(X509_check_ca(root) != 0, SUBCA_E_NOT_CA,
		     "the root certificate is not a CA certificate");
	/* RFC 5280 6.1.4 (m): pathLenConstraint 0 allows no CA below it. */
	SUBCA_ENSURE(X509_get_pathlen(root) != 0, SUBCA_E_PATHLEN_FORBIDDEN,
		     "the root certificate has path length 0: no intermediate "
		     "CA below it would validate");
	return SUBCA_OK;
}

static subca_result subca__csr_check(X509_REQ *csr)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);

	SUBCA_OSSL(pub != NULL, SUBCA_E_BAD_CSR,
		   "the CSR's public key cannot be decoded");
	SUBCA_OSSL(X509_REQ_verify(csr, pub) == 1, SUBCA_E_CSR_SIGNATURE,
		   "the CSR's self-signature does not verify: it was altered "
		   "or not signed by its key");
	return subca_key_check_strength(pub, "the CSR's key");
}

static int subca__path_len(const struct subca_csr_request *req, int opt)
{
	if (opt != -2)
		return opt;
	if (!req->has_basic_constraints)
		return 0;
	return (int)req->path_len;
}

/* ---- certificates ------------------------------------------------------ */

static subca_result subca__cert_new(X509_NAME *issuer, X509_NAME *subject,
				    EVP_PKEY *pub, X509 **out)
{
	SUBCA_AUTO(X509) X509 *x = X509_new();
	SUBCA_AUTO(ASN1_INTEGER) ASN1_INTEGER *serial = NULL;

	SUBCA_OSSL(x != NULL, SUBCA_E_NOMEM, "cannot allocate a certificate");
	SUBCA_TRY(subca_serial_new(&serial));
	/* RFC 5280 4.1.2.1: extensions require version 3. */
	SUBCA_OSSL(X509_set_version(x, X509_VERSION_3) == 1 &&
			   X509_set_serialNumber(x, serial) == 1 &&
			   X509_set_issuer_name(x, issuer) == 1 &&
			   X509_set_subject_name(x, subject) == 1 &&
			   X509_set_pubkey(x, pub) == 1,
		   SUBCA_E_CRYPTO, "cannot fill in the certificate");
	*out = subca_steal(&x);
	return SUBCA_OK;
}

static subca_result subca__sign(X509 *x, EVP_PKEY *key)
{
	SUBCA_OSSL(X509_sign(x, key, subca_key_sign_md(key)) > 0,
		   SUBCA_E_CRYPTO, "cannot sign the certificate");
	return SUBCA_OK;
}

static subca_result subca__opts_check(const struct subca_sign_intermediate_opts *o)
{
	SUBCA_ENSURE(o->days >= 1 && o->days <= SUBCA_MAX_INTERMEDIATE_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a lifetime of %d days is out of range (1 to %d)", o->days,
		     SUBCA_MAX_INTERMEDIATE_DAYS);
	SUBCA_ENSURE(o->path_len >= -2 && o->path_len <= SUBCA_MAX_PATHLEN,
		     SUBCA_E_INVALID_ARGUMENT,
		     "path length %d is out of range (0 to %d, or none)",
		     o->path_len, SUBCA_MAX_PATHLEN);
	return SUBCA_OK;
}

static subca_result subca__intermediate_exts(X509 *x, X509 *root,
					     const struct subca_csr_request *req,
					     int path_len)
{
	SUBCA_TRY(subca__ca_extensions(x, root, path_len));
	SUBCA_TRY(subca__akid(x, root));
	/* RFC 5280 4.2.1.10: name constraints MUST be critical. */
	if (req->nc != NULL)
		SUBCA_OSSL(X509_add1_ext_i2d(x, NID_name_constraints, req->nc, 1,
					     X509V3_ADD_DEFAULT) == 1,
			   SUBCA_E_CRYPTO, "cannot add the name constraints");
	return SUBCA_OK;
}

subca_result subca_signer_sign_intermediate(X509 *root, EVP_PKEY *root_key,
					    X509_REQ *csr,
					    const struct subca_sign_intermediate_opts *o,
					    X509 **out)
{
	SUBCA_AUTO(X509) X509 *x = NULL;
	struct subca_csr_request req;
	int path_len;
	subca_result rv;

	*out = NULL;
	SUBCA_ENSURE(root != NULL && root_key != NULL && csr != NULL && o != NULL,
		     SUBCA_E_INVALID_ARGUMENT, "missing root, key, CSR or options");
	SUBCA_TRY(subca__opts_check(o));
	SUBCA_TRY(subca__csr_check(csr));
	SUBCA_TRY(subca__root_check(root, root_key));
	SUBCA_TRY(subca_csr_requested(csr, &req));
	path_len = subca__path_len(&req, o->path_len);
	rv = subca__cert_new(X509_get_subject_name(root),
			     X509_REQ_get_subject_name(csr),
			     X509_REQ_get0_pubkey(csr), &x);
	if (rv == SUBCA_OK)
		rv = subca_validity_set(x, o->now, o->days,
					X509_get0_notAfter(root), NULL);
	if (rv == SUBCA_OK)
		rv = subca__intermediate_exts(x, root, &req, path_len);
	subca_csr_request_cleanup(&req);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca__sign(x, root_key));
	*out = subca_steal(&x);
	return SUBCA_OK;
}

subca_result subca_signer_self_signed_root(EVP_PKEY *key, const char *cn,
					   const char *org, int days, time_t now,
					   X509 **out)
{
	struct subca_intermediate_params p = {.cn = cn, .org = org};
	SUBCA_AUTO(X509_NAME) X509_NAME *name = NULL;
	SUBCA_AUTO(X509) X509 *x = NULL;

	*out = NULL;
	SUBCA_ENSURE(key != NULL, SUBCA_E_INVALID_ARGUMENT, "no root key given");
	SUBCA_TRY(subca_key_check_strength(key, "root key"));
	SUBCA_TRY(subca_csr_subject_build(&p, &name));
	SUBCA_TRY(subca__cert_new(name, name, key, &x));
	SUBCA_TRY(subca_validity_set(x, now, days, NULL, NULL));
	/* A root's path length stays open; RFC 5280 4.2.1.1 lets a
	 * self-signed certificate omit the authority key identifier. */
	SUBCA_TRY(subca__ca_extensions(x, x, -1));
	SUBCA_TRY(subca__sign(x, key));
	*out = subca_steal(&x);
	return SUBCA_OK;
}
