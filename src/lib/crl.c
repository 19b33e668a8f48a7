/*
 * CRL building (RFC 5280 section 5). Entries are pushed unsorted (O(1)
 * each) and sorted once by X509_CRL_sort before signing, so a million
 * entries cost one O(n log n) sort; the reasonCode extensions are made
 * once per reason and copied into entries.
 */
#include "subca/crl.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

/* Serials subca writes have at most 160 bits (RFC 5280 4.1.2.2: 20
 * octets); 40 hex digits. */
#define SUBCA__SERIAL_HEX_MAX 40

struct subca_crl_builder {
	X509_CRL *crl;
	BIGNUM *bn;	     /* scratch: the serial being added */
	ASN1_INTEGER *serial; /* scratch */
	ASN1_TIME *when;      /* scratch */
	X509_EXTENSION *reason_ext[SUBCA_CRL_REASON_MAX + 1];
	size_t n;
};

static const char *const subca__reason_names[SUBCA_CRL_REASON_MAX + 1] = {
	"unspecified",		"keyCompromise",	"cACompromise",
	"affiliationChanged",	"superseded",		"cessationOfOperation",
	"certificateHold",	NULL, /* 7 is not assigned */
	"removeFromCRL",	"privilegeWithdrawn",	"aACompromise",
};

const char *subca_crl_reason_name(int reason)
{
	if (reason < 0 || reason > SUBCA_CRL_REASON_MAX)
		return NULL;
	return subca__reason_names[reason];
}

void subca_crl_builder_free(struct subca_crl_builder *b)
{
	if (b == NULL)
		return;
	X509_CRL_free(b->crl);
	BN_free(b->bn);
	ASN1_INTEGER_free(b->serial);
	ASN1_TIME_free(b->when);
	for (int i = 0; i <= SUBCA_CRL_REASON_MAX; i++)
		X509_EXTENSION_free(b->reason_ext[i]);
	subca_free(b);
}

/* RFC 5280 5.3.1: reasonCode, a non-critical CRL entry extension. */
static subca_result subca__reason_ext(int reason, X509_EXTENSION **out)
{
	SUBCA_AUTO(ASN1_INTEGER) ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

	SUBCA_OSSL(e != NULL && ASN1_ENUMERATED_set(e, reason) == 1,
		   SUBCA_E_NOMEM, "out of memory");
	*out = X509V3_EXT_i2d(NID_crl_reason, 0, e);
	SUBCA_OSSL(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static subca_result subca__builder_init(struct subca_crl_builder *b)
{
	b->crl = X509_CRL_new();
	b->bn = BN_new();
	b->serial = ASN1_INTEGER_new();
	b->when = ASN1_TIME_new();
	SUBCA_OSSL(b->crl && b->bn && b->serial && b->when, SUBCA_E_NOMEM,
		   "out of memory");
	for (int i = 1; i <= SUBCA_CRL_REASON_MAX; i++)
		if (subca__reason_names[i] != NULL)
			SUBCA_TRY(subca__reason_ext(i, &b->reason_ext[i]));
	return SUBCA_OK;
}

subca_result subca_crl_builder_new(struct subca_crl_builder **out)
{
	struct subca_crl_builder *b = subca_calloc(1, sizeof(*b));
	subca_result rv;

	*out = NULL;
	SUBCA_ENSURE(b != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = subca__builder_init(b);
	if (rv != SUBCA_OK) {
		subca_crl_builder_free(b);
		return rv;
	}
	*out = b;
	return SUBCA_OK;
}

size_t subca_crl_builder_count(const struct subca_crl_builder *b)
{
	return b->n;
}

static subca_result subca__serial_parse(struct subca_crl_builder *b,
					const char *hex)
{
	size_t n = hex ? strnlen(hex, SUBCA__SERIAL_HEX_MAX + 1) : 0;
	char shown[48];

	SUBCA_ENSURE(n > 0 && n <= SUBCA__SERIAL_HEX_MAX &&
			     strspn(hex, "0123456789abcdefABCDEF") == n,
		     SUBCA_E_INVALID_ARGUMENT,
		     "serial \"%s\" is not 1 to %d hex digits",
		     hex ? SUBCA_SHOWN(hex, shown) : "", SUBCA__SERIAL_HEX_MAX);
	SUBCA_OSSL(BN_hex2bn(&b->bn, hex) == (int)n &&
			   BN_to_ASN1_INTEGER(b->bn, b->serial) != NULL,
		   SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static subca_result subca__entry(struct subca_crl_builder *b,
				 int64_t revoked_at, int reason,
				 X509_REVOKED **out)
{
	SUBCA_OSSL(ASN1_TIME_set(b->when, (time_t)revoked_at) != NULL,
		   SUBCA_E_INVALID_ARGUMENT,
		   "revocation time %lld cannot be encoded",
		   (long long)revoked_at);
	*out = X509_REVOKED_new();
	SUBCA_OSSL(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_REVOKED_set_serialNumber(*out, b->serial) == 1 &&
			   X509_REVOKED_set_revocationDate(*out, b->when) == 1 &&
			   (reason == SUBCA_CRL_REASON_UNSPECIFIED ||
			    X509_REVOKED_add_ext(*out, b->reason_ext[reason],
						 -1) == 1),
		   SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

subca_result subca_crl_builder_add(struct subca_crl_builder *b,
				   const char *serial_hex, int64_t revoked_at,
				   int reason)
{
	X509_REVOKED *rev = NULL;
	subca_result rv;

	SUBCA_ENSURE(subca_crl_reason_name(reason) != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "revocation reason %d is not an RFC 5280 CRLReason "
		     "(0..10, not 7)",
		     reason);
	SUBCA_TRY(subca__serial_parse(b, serial_hex));
	rv = subca__entry(b, revoked_at, reason, &rev);
	/* X509_CRL_add0_revoked appends; X509_CRL_sort orders them once */
	if (rv == SUBCA_OK && X509_CRL_add0_revoked(b->crl, rev) != 1)
		rv = subca_error_set_ossl(SUBCA_E_NOMEM, __FILE__, __LINE__,
					  "out of memory");
	if (rv != SUBCA_OK) {
		X509_REVOKED_free(rev);
		return rv;
	}
	b->n++;
	return SUBCA_OK;
}

static subca_result subca__check_params(const struct subca_crl_params *p)
{
	SUBCA_ENSURE(p->issuer != NULL && p->key != NULL,
		     SUBCA_E_INVALID_ARGUMENT, "no issuer or key for the CRL");
	SUBCA_ENSURE(p->number >= 1, SUBCA_E_INVALID_ARGUMENT,
		     "CRL number %lld is not positive", (long long)p->number);
	SUBCA_ENSURE(p->next_update > p->this_update, SUBCA_E_INVALID_ARGUMENT,
		     "the CRL's nextUpdate must be after its thisUpdate");
	/* RFC 5280 4.2.1.3: the CRL issuer's key usage must allow cRLSign */
	SUBCA_ENSURE((X509_get_extension_flags(p->issuer) & EXFLAG_KUSAGE) == 0 ||
			     (X509_get_key_usage(p->issuer) & KU_CRL_SIGN) != 0,
		     SUBCA_E_NOT_CA,
		     "the intermediate's keyUsage lacks cRLSign: it cannot "
		     "sign CRLs");
	SUBCA_ENSURE(X509_get0_subject_key_id(p->issuer) != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the intermediate has no subject key identifier to name "
		     "in the CRL's authority key identifier");
	return SUBCA_OK;
}

/* RFC 5280 5.2.1: keyIdentifier = the issuer's own SKI, never recomputed. */
static subca_result subca__add_aki(X509_CRL *crl, X509 *issuer)
{
	SUBCA_AUTO(AUTHORITY_KEYID) AUTHORITY_KEYID *akid =
		AUTHORITY_KEYID_new();

	SUBCA_OSSL(akid != NULL, SUBCA_E_NOMEM, "out of memory");
	akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(issuer));
	SUBCA_OSSL(akid->keyid != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier,
					 akid, 0, X509V3_ADD_REPLACE) == 1,
		   SUBCA_E_CRYPTO, "cannot add the authority key identifier");
	return SUBCA_OK;
}

/* RFC 5280 5.2.3: cRLNumber, non-critical, monotonically increasing. */
static subca_result subca__add_number(X509_CRL *crl, int64_t number)
{
	SUBCA_AUTO(ASN1_INTEGER) ASN1_INTEGER *n = ASN1_INTEGER_new();

	SUBCA_OSSL(n != NULL && ASN1_INTEGER_set_int64(n, number) == 1,
		   SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0,
					 X509V3_ADD_REPLACE) == 1,
		   SUBCA_E_CRYPTO, "cannot add the CRL number");
	return SUBCA_OK;
}

static subca_result subca__set_times(X509_CRL *crl,
				     const struct subca_crl_params *p)
{
	SUBCA_AUTO(ASN1_TIME) ASN1_TIME *t = ASN1_TIME_new();

	/* ASN1_TIME_set picks UTCTime through 2049 (RFC 5280 5.1.2.4) */
	SUBCA_OSSL(t != NULL && ASN1_TIME_set(t, (time_t)p->this_update) &&
			   X509_CRL_set1_lastUpdate(crl, t) == 1,
		   SUBCA_E_INVALID_ARGUMENT, "cannot encode thisUpdate");
	SUBCA_OSSL(ASN1_TIME_set(t, (time_t)p->next_update) &&
			   X509_CRL_set1_nextUpdate(crl, t) == 1,
		   SUBCA_E_INVALID_ARGUMENT, "cannot encode nextUpdate");
	return SUBCA_OK;
}

static subca_result subca__to_der(X509_CRL *crl, struct subca_buf *der)
{
	unsigned char *p = NULL;
	int n = i2d_X509_CRL(crl, &p);
	subca_result rv;

	SUBCA_OSSL(n > 0, SUBCA_E_CRYPTO, "cannot encode the CRL");
	rv = subca_buf_append(der, p, (size_t)n);
	OPENSSL_free(p);
	return rv;
}

subca_result subca_crl_builder_sign(struct subca_crl_builder *b,
				    const struct subca_crl_params *p,
				    struct subca_buf *der)
{
	X509_CRL *crl = b->crl;

	subca_buf_init(der, SUBCA_MAX_CRL);
	SUBCA_TRY(subca__check_params(p));
	/* RFC 5280 5.1.2.1: v2, since the CRL carries extensions */
	SUBCA_OSSL(X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
			   X509_CRL_set_issuer_name(
				   crl, X509_get_subject_name(p->issuer)) == 1,
		   SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca__set_times(crl, p));
	SUBCA_TRY(subca__add_aki(crl, p->issuer));
	SUBCA_TRY(subca__add_number(crl, p->number));
	SUBCA_OSSL(X509_CRL_sort(crl) == 1, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_CRL_sign(crl, p->key, subca_key_sign_md(p->key)) > 0,
		   SUBCA_E_CRYPTO, "signing the CRL failed");
	return subca__to_der(crl, der);
}
