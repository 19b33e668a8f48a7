/*
 * CRL building (RFC 5280 section 5). OpenSSL's generic ASN.1 encoder
 * costs several microseconds per entry and runs twice (to sign, then to
 * output), too slow for a million entries; so entries are kept as compact
 * records, sorted once with qsort, and the revokedCertificates list is
 * written as DER here. Everything else in the CRL (issuer name, times,
 * extensions, the signature algorithm) is encoded by OpenSSL's i2d
 * functions; only the SEQUENCE framing is ours. Nothing is parsed here.
 */
#include "subca/crl.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "subca/alloc.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

/* Serials subca writes have at most 160 bits (RFC 5280 4.1.2.2: 20
 * octets); 40 hex digits. */
#define SUBCA__SERIAL_HEX_MAX 40
#define SUBCA__SERIAL_MAX 20
#define SUBCA__ENTRIES_MAX (SUBCA_MAX_CRL / 32)

struct subca__entry {
	uint8_t serial[SUBCA__SERIAL_MAX]; /* magnitude, big-endian, no
					    * leading zero bytes */
	uint8_t len;			   /* 0 for the serial 0 */
	uint8_t reason;
	int64_t when;
};

struct subca_crl_builder {
	struct subca__entry *v;
	size_t n, cap;
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
	subca_free(b->v);
	subca_free(b);
}

subca_result subca_crl_builder_new(struct subca_crl_builder **out)
{
	*out = subca_calloc(1, sizeof(**out));
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

size_t subca_crl_builder_count(const struct subca_crl_builder *b)
{
	return b->n;
}

static int subca__hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Hex digits to the magnitude bytes of e->serial (leading zeros dropped). */
static subca_result subca__serial_parse(const char *hex,
					struct subca__entry *e)
{
	size_t n = hex ? strnlen(hex, SUBCA__SERIAL_HEX_MAX + 1) : 0;
	uint8_t raw[SUBCA__SERIAL_MAX] = {0};
	size_t nraw = (n + 1) / 2, skip = 0;
	char shown[48];

	SUBCA_ENSURE(n > 0 && n <= SUBCA__SERIAL_HEX_MAX &&
			     strspn(hex, "0123456789abcdefABCDEF") == n,
		     SUBCA_E_INVALID_ARGUMENT,
		     "serial \"%s\" is not 1 to %d hex digits",
		     hex ? SUBCA_SHOWN(hex, shown) : "", SUBCA__SERIAL_HEX_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t d = n - 1 - i; /* digit position from the right */

		raw[nraw - 1 - d / 2] |= (uint8_t)(subca__hexval(hex[i])
						   << (d % 2 ? 4 : 0));
	}
	while (skip < nraw && raw[skip] == 0)
		skip++;
	e->len = (uint8_t)(nraw - skip);
	memcpy(e->serial, raw + skip, e->len);
	return SUBCA_OK;
}

static subca_result subca__grow(struct subca_crl_builder *b)
{
	size_t cap = b->cap ? b->cap * 2 : 1024;
	struct subca__entry *v;

	if (b->n < b->cap)
		return SUBCA_OK;
	SUBCA_ENSURE(b->n < SUBCA__ENTRIES_MAX, SUBCA_E_TOO_LARGE,
		     "a CRL holds at most %u entries", SUBCA__ENTRIES_MAX);
	v = subca_realloc(b->v, cap * sizeof(*v));
	SUBCA_ENSURE(v != NULL, SUBCA_E_NOMEM, "out of memory");
	b->v = v;
	b->cap = cap;
	return SUBCA_OK;
}

subca_result subca_crl_builder_add(struct subca_crl_builder *b,
				   const char *serial_hex, int64_t revoked_at,
				   int reason)
{
	struct subca__entry e = {.when = revoked_at};

	SUBCA_ENSURE(subca_crl_reason_name(reason) != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "revocation reason %d is not an RFC 5280 CRLReason "
		     "(0..10, not 7)",
		     reason);
	/* RFC 5280 4.1.2.5: years 0001..9999 only */
	SUBCA_ENSURE(revoked_at >= -62135596800LL && revoked_at < 253402300800LL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "revocation time %lld cannot be encoded",
		     (long long)revoked_at);
	SUBCA_TRY(subca__serial_parse(serial_hex, &e));
	e.reason = (uint8_t)reason;
	SUBCA_TRY(subca__grow(b));
	b->v[b->n++] = e;
	return SUBCA_OK;
}

/* ---- DER writing -------------------------------------------------------- */

/* Bytes of a DER length (X.690 8.1.3), written to p when p is not NULL. */
static size_t subca__der_len(size_t len, uint8_t *p)
{
	size_t n = 0;

	if (len < 128) {
		if (p)
			p[0] = (uint8_t)len;
		return 1;
	}
	for (size_t v = len; v > 0; v >>= 8)
		n++;
	if (p) {
		p[0] = (uint8_t)(0x80 | n);
		for (size_t i = 0; i < n; i++)
			p[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	}
	return 1 + n;
}

static subca_result subca__put_header(struct subca_buf *out, uint8_t tag,
				      size_t len)
{
	uint8_t h[1 + 1 + sizeof(size_t)];

	h[0] = tag;
	return subca_buf_append(out, h, 1 + subca__der_len(len, h + 1));
}

/* RFC 5280 4.1.2.5 / 5.1.2.6: UTCTime through 2049, then GeneralizedTime;
 * seconds, Zulu. Returns the TLV length; writes it when p is not NULL. */
static size_t subca__time(int64_t t, uint8_t *p)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[20];
	int y, n;

	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	y = tm.tm_year + 1900;
	if (y >= 1950 && y < 2050)
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", y % 100,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
	else
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", y,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
	if (p) {
		p[0] = y >= 1950 && y < 2050 ? V_ASN1_UTCTIME
					     : V_ASN1_GENERALIZEDTIME;
		p[1] = (uint8_t)n;
		memcpy(p + 2, s, (size_t)n);
	}
	return 2 + (size_t)n;
}

/* crlEntryExtensions with reasonCode (RFC 5280 5.3.1): SEQUENCE {
 * SEQUENCE { OID 2.5.29.21, OCTET STRING { ENUMERATED reason } } }. */
static const uint8_t subca__reason_ext[] = {
	0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
	0x04, 0x03, 0x0a, 0x01, 0x00 /* the reason */
};

/* The content length of one revokedCertificates entry. */
static size_t subca__entry_len(const struct subca__entry *e)
{
	size_t serial = e->len == 0 ? 1 : e->len + ((e->serial[0] & 0x80) != 0);

	return 2 + serial + subca__time(e->when, NULL) +
	       (e->reason == SUBCA_CRL_REASON_UNSPECIFIED
			? 0
			: sizeof(subca__reason_ext));
}

/* One entry: SEQUENCE { INTEGER serial, Time, [extensions] }. */
static size_t subca__entry_write(const struct subca__entry *e, uint8_t *p)
{
	size_t len = subca__entry_len(e), o = 0;
	size_t pad = e->len > 0 && (e->serial[0] & 0x80) != 0;

	p[o++] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
	p[o++] = (uint8_t)len; /* always under 128 */
	p[o++] = V_ASN1_INTEGER;
	p[o++] = (uint8_t)(e->len == 0 ? 1 : e->len + pad);
	if (e->len == 0 || pad)
		p[o++] = 0;
	memcpy(p + o, e->serial, e->len);
	o += e->len;
	o += subca__time(e->when, p + o);
	if (e->reason != SUBCA_CRL_REASON_UNSPECIFIED) {
		memcpy(p + o, subca__reason_ext, sizeof(subca__reason_ext));
		o += sizeof(subca__reason_ext);
		p[o - 1] = e->reason;
	}
	return o;
}

static int subca__entry_cmp(const void *a, const void *b)
{
	const struct subca__entry *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->serial, y->serial, x->len);
}

/* revokedCertificates, absent when empty (RFC 5280 5.1.2.6). */
static subca_result subca__revoked_write(const struct subca_crl_builder *b,
					 struct subca_buf *out)
{
	size_t total = 0, at;

	if (b->n == 0)
		return SUBCA_OK;
	for (size_t i = 0; i < b->n; i++)
		total += 2 + subca__entry_len(&b->v[i]);
	SUBCA_TRY(subca__put_header(out, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
				    total));
	at = out->len;
	SUBCA_ENSURE(total <= out->max - out->len, SUBCA_E_TOO_LARGE,
		     "the CRL would be over %zu bytes", out->max);
	for (size_t i = 0; i < b->n; i++) {
		uint8_t e[128];
		size_t n = subca__entry_write(&b->v[i], e);

		SUBCA_TRY(subca_buf_append(out, e, n));
	}
	SUBCA_ENSURE(out->len - at == total, SUBCA_E_INTERNAL,
		     "CRL entry lengths disagree");
	return SUBCA_OK;
}

/* ---- the rest of the CRL, through OpenSSL --------------------------------- */

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

/*
 * An entry-less CRL with every other field, signed by OpenSSL: the source
 * of the encoded issuer, times, extensions and signature algorithm.
 */
static subca_result subca__skeleton(const struct subca_crl_params *p,
				    X509_CRL **out)
{
	SUBCA_AUTO(X509_CRL) X509_CRL *crl = X509_CRL_new();

	SUBCA_OSSL(crl != NULL, SUBCA_E_NOMEM, "out of memory");
	/* RFC 5280 5.1.2.1: v2, since the CRL carries extensions */
	SUBCA_OSSL(X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
			   X509_CRL_set_issuer_name(
				   crl, X509_get_subject_name(p->issuer)) == 1,
		   SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca__set_times(crl, p));
	SUBCA_TRY(subca__add_aki(crl, p->issuer));
	SUBCA_TRY(subca__add_number(crl, p->number));
	SUBCA_OSSL(X509_CRL_sign(crl, p->key, subca_key_sign_md(p->key)) > 0,
		   SUBCA_E_CRYPTO, "signing the CRL failed");
	*out = subca_steal(&crl);
	return SUBCA_OK;
}

/* Append i2d output of one OpenSSL object. */
#define SUBCA__I2D(out, fn, obj)                                            \
	({                                                                  \
		unsigned char *subca__p = NULL;                             \
		int subca__n = fn((obj), &subca__p);                        \
		subca_result subca__rv =                                    \
			subca__n > 0 ? subca_buf_append((out), subca__p,    \
							(size_t)subca__n)   \
				     : subca_error_set_ossl(                \
					       SUBCA_E_CRYPTO, __FILE__,    \
					       __LINE__,                    \
					       "cannot encode the CRL");    \
		OPENSSL_free(subca__p);                                     \
		subca__rv;                                                  \
	})

static int subca__i2d_exts(const X509_CRL *crl, unsigned char **p)
{
	return i2d_X509_EXTENSIONS(
		(X509_EXTENSIONS *)X509_CRL_get0_extensions(crl), p);
}

/* The fields before revokedCertificates: version, signature, issuer,
 * thisUpdate, nextUpdate. */
static subca_result subca__tbs_head(const X509_CRL *sk, struct subca_buf *out)
{
	static const uint8_t v2[] = {V_ASN1_INTEGER, 1, 1};
	const X509_ALGOR *alg = NULL;

	X509_CRL_get0_signature(sk, NULL, &alg);
	SUBCA_TRY(subca_buf_append(out, v2, sizeof(v2)));
	SUBCA_TRY(SUBCA__I2D(out, i2d_X509_ALGOR, (X509_ALGOR *)alg));
	SUBCA_TRY(SUBCA__I2D(out, i2d_X509_NAME,
			     (X509_NAME *)X509_CRL_get_issuer(sk)));
	SUBCA_TRY(SUBCA__I2D(out, i2d_ASN1_TIME,
			     (ASN1_TIME *)X509_CRL_get0_lastUpdate(sk)));
	return SUBCA__I2D(out, i2d_ASN1_TIME,
			  (ASN1_TIME *)X509_CRL_get0_nextUpdate(sk));
}

/* crlExtensions [0] EXPLICIT Extensions. */
static subca_result subca__tbs_exts(const X509_CRL *sk, struct subca_buf *out)
{
	SUBCA_BUF_AUTO struct subca_buf exts = {0};

	subca_buf_init(&exts, 64 * 1024);
	SUBCA_TRY(SUBCA__I2D(&exts, subca__i2d_exts, sk));
	SUBCA_TRY(subca__put_header(out, 0xa0, exts.len));
	return subca_buf_append(out, exts.p, exts.len);
}

/* tbsCertList: SEQUENCE { head, revokedCertificates, [0] extensions }. */
static subca_result subca__tbs(const struct subca_crl_builder *b,
			       const X509_CRL *sk, struct subca_buf *tbs)
{
	SUBCA_BUF_AUTO struct subca_buf head = {0}, tail = {0};
	size_t len;

	subca_buf_init(&head, 64 * 1024);
	subca_buf_init(&tail, 64 * 1024);
	SUBCA_TRY(subca__tbs_head(sk, &head));
	SUBCA_TRY(subca__tbs_exts(sk, &tail));
	subca_buf_init(tbs, SUBCA_MAX_CRL);
	len = head.len + tail.len;
	for (size_t i = 0; i < b->n; i++)
		len += 2 + subca__entry_len(&b->v[i]);
	if (b->n > 0)
		len += 1 + subca__der_len(len - head.len - tail.len, NULL);
	SUBCA_TRY(subca__put_header(tbs, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
				    len));
	SUBCA_TRY(subca_buf_append(tbs, head.p, head.len));
	SUBCA_TRY(subca__revoked_write(b, tbs));
	return subca_buf_append(tbs, tail.p, tail.len);
}

static subca_result subca__signature(const struct subca_crl_params *p,
				     struct subca_slice tbs,
				     struct subca_buf *sig)
{
	SUBCA_AUTO(EVP_MD_CTX) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t raw[2048]; /* RSA 16384 bits at most */
	size_t n = 0;

	subca_buf_init(sig, sizeof(raw));
	/* one-shot: Ed25519 cannot sign in parts */
	SUBCA_OSSL(ctx != NULL &&
			   EVP_DigestSignInit(ctx, NULL,
					      subca_key_sign_md(p->key), NULL,
					      p->key) == 1 &&
			   EVP_DigestSign(ctx, NULL, &n, tbs.p, tbs.len) == 1,
		   SUBCA_E_CRYPTO, "signing the CRL failed");
	SUBCA_ENSURE(n <= sizeof(raw), SUBCA_E_CRYPTO,
		     "the CRL signature is over %zu bytes", sizeof(raw));
	SUBCA_OSSL(EVP_DigestSign(ctx, raw, &n, tbs.p, tbs.len) == 1,
		   SUBCA_E_CRYPTO, "signing the CRL failed");
	return subca_buf_append(sig, raw, n);
}

/* CertificateList: SEQUENCE { tbs, signatureAlgorithm, BIT STRING }. */
static subca_result subca__assemble(const X509_CRL *sk, struct subca_slice tbs,
				    struct subca_slice sig,
				    struct subca_buf *der)
{
	SUBCA_BUF_AUTO struct subca_buf alg = {0};
	const X509_ALGOR *a = NULL;
	uint8_t unused = 0;

	subca_buf_init(&alg, 1024);
	X509_CRL_get0_signature(sk, NULL, &a);
	SUBCA_TRY(SUBCA__I2D(&alg, i2d_X509_ALGOR, (X509_ALGOR *)a));
	SUBCA_TRY(subca__put_header(
		der, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
		tbs.len + alg.len + 1 + subca__der_len(sig.len + 1, NULL) + 1 +
			sig.len));
	SUBCA_TRY(subca_buf_append(der, tbs.p, tbs.len));
	SUBCA_TRY(subca_buf_append(der, alg.p, alg.len));
	SUBCA_TRY(subca__put_header(der, V_ASN1_BIT_STRING, sig.len + 1));
	SUBCA_TRY(subca_buf_append(der, &unused, 1));
	return subca_buf_append(der, sig.p, sig.len);
}

subca_result subca_crl_builder_sign(struct subca_crl_builder *b,
				    const struct subca_crl_params *p,
				    struct subca_buf *der)
{
	SUBCA_AUTO(X509_CRL) X509_CRL *sk = NULL;
	SUBCA_BUF_AUTO struct subca_buf tbs = {0}, sig = {0};

	subca_buf_init(der, SUBCA_MAX_CRL);
	SUBCA_TRY(subca__check_params(p));
	SUBCA_TRY(subca__skeleton(p, &sk));
	/* RFC 5280 5.1.2.6: entries in serial order (any order is allowed;
	 * sorted lets clients search) */
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(b->v[0]), subca__entry_cmp);
	SUBCA_TRY(subca__tbs(b, sk, &tbs));
	SUBCA_TRY(subca__signature(p, subca_buf_slice(&tbs), &sig));
	return subca__assemble(sk, subca_buf_slice(&tbs),
			       subca_buf_slice(&sig), der);
}
