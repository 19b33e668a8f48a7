/*
 * Leaf issuance: the one leaf profile. Only the subject and the
 * subjectAltName of a CSR are taken; nothing else a CSR asks for (CA, key
 * usages, other extensions) is honoured, so CSR contents never override the
 * CA's policy.
 */
#include "subca/issue.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"
#include "subca/signer.h"

/* RFC 5280 Appendix A: ub-common-name */
#define SUBCA__MAX_CN 64
/* RFC 1035 2.3.4 */
#define SUBCA__MAX_DNS 253
#define SUBCA__MAX_LABEL 63
#define SUBCA__MAX_LOCAL_PART 64

/* ---- name text validation ---------------------------------------------- */


/* IA5 text without spaces or control characters (RFC 5280 4.2.1.6). */
static bool subca__ia5_clean(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static bool subca__label_valid(const char *p, size_t n)
{
	if (n == 0 || n > SUBCA__MAX_LABEL || p[0] == '-' || p[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!isalnum(c) && c != '-')
			return false;
	}
	return true;
}

/* A host name of letter-digit-hyphen labels; "*." first when allowed. */
static bool subca__dns_valid(const char *s, bool wildcard)
{
	if (strlen(s) > SUBCA__MAX_DNS)
		return false;
	if (wildcard && strncmp(s, "*.", 2) == 0)
		s += 2;
	if (*s == '\0')
		return false;
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		if (!subca__label_valid(s, n))
			return false;
		if (dot == NULL)
			return true;
		s = dot + 1;
	}
}

static bool subca__email_valid(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || at == s || (size_t)(at - s) > SUBCA__MAX_LOCAL_PART)
		return false;
	if (!subca__ia5_clean(s) || memchr(s, '@', (size_t)(at - s)) != NULL)
		return false;
	return subca__dns_valid(at + 1, false);
}

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static bool subca__uri_valid(const char *s)
{
	const char *p = s;

	if (strlen(s) > SUBCA_MAX_URL || !subca__ia5_clean(s) ||
	    !isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	       *p == '.')
		p++;
	return *p == ':' && p[1] != '\0';
}

static bool subca__has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static subca_result subca__ia5_name(int type, const char *v, GENERAL_NAME **out)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (gn == NULL || s == NULL || !ASN1_STRING_set(s, v, -1)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory building a name");
	}
	GENERAL_NAME_set0_value(gn, type, s);
	*out = gn;
	return SUBCA_OK;
}

static subca_result subca__ip_name(const char *v, GENERAL_NAME **out)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(v);
	GENERAL_NAME *gn;
	char shown[80];

	ERR_clear_error();
	SUBCA_ENSURE(ip != NULL, SUBCA_E_BAD_NAME,
		     "\"%s\" is not an IPv4 or IPv6 address",
		     SUBCA_SHOWN(v, shown));
	gn = GENERAL_NAME_new();
	if (gn == NULL) {
		ASN1_OCTET_STRING_free(ip);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory building a name");
	}
	GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	*out = gn;
	return SUBCA_OK;
}

static bool subca__is_ip(const char *s)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);

	ERR_clear_error();
	ASN1_OCTET_STRING_free(ip);
	return ip != NULL;
}

/* Decide the type of a SAN text and strip its prefix. */
static int subca__san_type(const char **v)
{
	static const struct {
		const char *prefix;
		int type;
	} prefixes[] = {
		{"DNS:", GEN_DNS},     {"IP:", GEN_IPADD},
		{"email:", GEN_EMAIL}, {"URI:", GEN_URI},
	};
	const char *s = *v;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (subca__has_prefix(s, prefixes[i].prefix)) {
			*v = s + strlen(prefixes[i].prefix);
			return prefixes[i].type;
		}
	}
	if (subca__is_ip(s))
		return GEN_IPADD;
	if (strstr(s, "://") != NULL)
		return GEN_URI;
	if (strchr(s, '@') != NULL)
		return GEN_EMAIL;
	return GEN_DNS;
}

/* Validate an IA5 name of `type` (DNS, email, URI) given as C text. */
static subca_result subca__ia5_check(int type, const char *v)
{
	char shown[80];

	SUBCA_SHOWN(v, shown);
	switch (type) {
	case GEN_DNS:
		SUBCA_ENSURE(subca__dns_valid(v, true), SUBCA_E_BAD_NAME,
			     "\"%s\" is not a valid DNS name (letters, digits "
			     "and hyphens in labels of 1-63 characters, one "
			     "leading \"*.\" allowed)", shown);
		return SUBCA_OK;
	case GEN_EMAIL:
		SUBCA_ENSURE(subca__email_valid(v), SUBCA_E_BAD_NAME,
			     "\"%s\" is not a valid email address", shown);
		return SUBCA_OK;
	case GEN_URI:
		SUBCA_ENSURE(subca__uri_valid(v), SUBCA_E_BAD_NAME,
			     "\"%s\" is not a valid URI (it needs a scheme such "
			     "as https: and no spaces)", shown);
		return SUBCA_OK;
	}
	SUBCA_BAIL(SUBCA_E_BAD_NAME, "unsupported name type");
}

subca_result subca_name_check(int type, const char *v)
{
	char shown[80];

	SUBCA_ENSURE(v != NULL && v[0] != '\0', SUBCA_E_BAD_NAME, "empty name");
	for (const char *p = v; *p != '\0'; p++)
		SUBCA_ENSURE((unsigned char)*p >= 0x20 && *p != 0x7f,
			     SUBCA_E_BAD_NAME,
			     "name \"%s\" contains a control character",
			     SUBCA_SHOWN(v, shown));
	return subca__ia5_check(type, v);
}

/* Parse one SAN text ("DNS:a.example", "10.0.0.1", ...). */
static subca_result subca__san_parse(const char *text, GENERAL_NAME **out)
{
	const char *v = text;
	int type = subca__san_type(&v);
	char shown[80];

	for (const char *p = text; *p != '\0'; p++)
		SUBCA_ENSURE((unsigned char)*p >= 0x20 && *p != 0x7f,
			     SUBCA_E_BAD_NAME,
			     "subject alternative name \"%s\" contains a "
			     "control character",
			     SUBCA_SHOWN(text, shown));
	SUBCA_ENSURE(*v != '\0', SUBCA_E_BAD_NAME,
		     "empty subject alternative name \"%s\"",
		     SUBCA_SHOWN(text, shown));
	if (type == GEN_IPADD)
		return subca__ip_name(v, out);
	SUBCA_TRY(subca__ia5_check(type, v));
	return subca__ia5_name(type, v, out);
}

/* A SAN from a CSR: the same rules as for text, and only these 4 types. */
static subca_result subca__csr_san_check(const GENERAL_NAME *gn)
{
	const ASN1_STRING *s;
	char text[SUBCA_MAX_URL + 1];
	int len;

	if (gn->type == GEN_IPADD) {
		len = ASN1_STRING_length(gn->d.iPAddress);
		SUBCA_ENSURE(len == 4 || len == 16, SUBCA_E_BAD_NAME,
			     "the CSR has an IP address of %d bytes", len);
		return SUBCA_OK;
	}
	SUBCA_ENSURE(gn->type == GEN_DNS || gn->type == GEN_EMAIL ||
			     gn->type == GEN_URI,
		     SUBCA_E_BAD_NAME,
		     "the CSR has a subject alternative name of a type subca "
		     "does not issue (only DNS, IP, email and URI)");
	s = gn->d.ia5;
	len = ASN1_STRING_length(s);
	SUBCA_ENSURE(len > 0 && (size_t)len < sizeof(text), SUBCA_E_BAD_NAME,
		     "the CSR has an empty or overlong subject alternative "
		     "name (%d bytes)", len);
	memcpy(text, ASN1_STRING_get0_data(s), (size_t)len);
	text[len] = '\0';
	SUBCA_ENSURE(strlen(text) == (size_t)len, SUBCA_E_BAD_NAME,
		     "the CSR has a subject alternative name with a NUL byte");
	return subca__ia5_check(gn->type, text);
}

/* Append gn unless an equal name is there already; takes gn over. */
static subca_result subca__sans_add(GENERAL_NAMES *sans, GENERAL_NAME *gn)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(sans, i), gn) == 0) {
			GENERAL_NAME_free(gn);
			return SUBCA_OK;
		}
	}
	if (sk_GENERAL_NAME_num(sans) >= SUBCA_MAX_NAMES) {
		GENERAL_NAME_free(gn);
		SUBCA_BAIL(SUBCA_E_TOO_LARGE,
			   "more than %d subject alternative names",
			   SUBCA_MAX_NAMES);
	}
	if (!sk_GENERAL_NAME_push(sans, gn)) {
		GENERAL_NAME_free(gn);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory adding a name");
	}
	return SUBCA_OK;
}

/* ---- the subject: CSR or public key + CN ------------------------------- */

struct subca__leaf {
	EVP_PKEY *pub;	     /* borrowed */
	X509_PUBKEY *spki;   /* borrowed: the CSR's, copied as bytes, or NULL */
	X509_NAME *subject;  /* owned */
	GENERAL_NAMES *sans; /* owned */
};

static void subca__leaf_cleanup(struct subca__leaf *l)
{
	X509_NAME_free(l->subject);
	GENERAL_NAMES_free(l->sans);
	memset(l, 0, sizeof(*l));
}

static subca_result subca__csr_sans(X509_REQ *csr, GENERAL_NAMES *sans)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *gns = NULL;
	int crit = -1;

	ERR_clear_error();
	if (exts == NULL)
		return SUBCA_OK;
	gns = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	SUBCA_ENSURE(gns != NULL || crit == -1, SUBCA_E_BAD_CSR,
		     "the CSR's subjectAltName extension cannot be decoded or "
		     "appears twice");
	for (int i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
		GENERAL_NAME *copy;

		SUBCA_TRY(subca__csr_san_check(gn));
		copy = GENERAL_NAME_dup(gn);
		SUBCA_ENSURE(copy != NULL, SUBCA_E_NOMEM, "out of memory");
		SUBCA_TRY(subca__sans_add(sans, copy));
	}
	return SUBCA_OK;
}

static subca_result subca__from_csr(X509_REQ *csr, EVP_PKEY *key,
				    bool verified, struct subca__leaf *l)
{
	EVP_PKEY *pub = key != NULL ? key : X509_REQ_get0_pubkey(csr);

	ERR_clear_error();
	SUBCA_ENSURE(pub != NULL, SUBCA_E_BAD_CSR,
		     "the CSR's public key cannot be decoded");
	SUBCA_OSSL(verified || X509_REQ_verify_ex(csr, pub, NULL, NULL) == 1,
		   SUBCA_E_CSR_SIGNATURE,
		   "the CSR's self-signature does not verify");
	l->pub = pub;
	l->subject = X509_NAME_dup(X509_REQ_get_subject_name(csr));
	SUBCA_ENSURE(l->subject != NULL, SUBCA_E_NOMEM, "out of memory");
	return subca__csr_sans(csr, l->sans);
}

static subca_result subca__cn_subject(const char *cn, X509_NAME **out)
{
	SUBCA_AUTO(X509_NAME) X509_NAME *n = X509_NAME_new();
	size_t len = strlen(cn);
	char shown[80];

	for (const char *p = cn; *p != '\0'; p++)
		SUBCA_ENSURE((unsigned char)*p >= 0x20 && *p != 0x7f,
			     SUBCA_E_BAD_NAME,
			     "common name \"%s\" contains a control character",
			     SUBCA_SHOWN(cn, shown));
	/* RFC 5280 Appendix A: ub-common-name INTEGER ::= 64 */
	SUBCA_ENSURE(len > 0 && len <= SUBCA__MAX_CN, SUBCA_E_BAD_NAME,
		     "common name must be 1 to %d characters, got %zu",
		     SUBCA__MAX_CN, len);
	SUBCA_ENSURE(n != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					      (const unsigned char *)cn, -1,
					      -1, 0),
		   SUBCA_E_BAD_NAME, "common name \"%s\" is not valid UTF-8",
		   SUBCA_SHOWN(cn, shown));
	*out = subca_steal(&n);
	return SUBCA_OK;
}

static subca_result subca__from_key(const struct subca_leaf_request *r,
				    struct subca__leaf *l)
{
	SUBCA_ENSURE(r->pubkey != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "a leaf needs a CSR or a public key");
	l->pub = r->pubkey;
	if (r->cn != NULL && r->cn[0] != '\0')
		return subca__cn_subject(r->cn, &l->subject);
	l->subject = X509_NAME_new();
	SUBCA_ENSURE(l->subject != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

/* The last CN of the subject as text, or NULL. */
static const char *subca__last_cn(X509_NAME *n, char *buf, size_t len)
{
	int i = -1, last = -1;
	const ASN1_STRING *s;
	int slen;

	while ((i = X509_NAME_get_index_by_NID(n, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, last));
	slen = ASN1_STRING_length(s);
	if (slen <= 0 || (size_t)slen >= len)
		return NULL;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)slen);
	buf[slen] = '\0';
	return strlen(buf) == (size_t)slen ? buf : NULL;
}

static subca_result subca__sans(const struct subca_leaf_request *r,
				struct subca__leaf *l)
{
	char cnbuf[SUBCA__MAX_CN * 4 + 1];
	const char *cn;
	GENERAL_NAME *gn = NULL;

	SUBCA_ENSURE(r->sans.n <= SUBCA_MAX_NAMES, SUBCA_E_TOO_LARGE,
		     "%zu subject alternative names given, at most %d",
		     r->sans.n, SUBCA_MAX_NAMES);
	for (size_t i = 0; i < r->sans.n; i++) {
		SUBCA_ENSURE(r->sans.v[i] != NULL, SUBCA_E_INVALID_ARGUMENT,
			     "subject alternative name %zu is missing", i);
		SUBCA_TRY(subca__san_parse(r->sans.v[i], &gn));
		SUBCA_TRY(subca__sans_add(l->sans, gn));
	}
	if (sk_GENERAL_NAME_num(l->sans) > 0)
		return SUBCA_OK;
	/* The only name is the CN: a host name there becomes a DNS SAN too,
	 * since clients match host names against SANs only (RFC 6125 6.4.4). */
	cn = subca__last_cn(l->subject, cnbuf, sizeof(cnbuf));
	SUBCA_ENSURE(cn != NULL || X509_NAME_entry_count(l->subject) > 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the leaf has no name: give a common name or subject "
		     "alternative names");
	if (cn != NULL && subca__is_ip(cn)) {
		/* an address is never a dNSName (RFC 5280 4.2.1.6) */
		SUBCA_TRY(subca__ip_name(cn, &gn));
		return subca__sans_add(l->sans, gn);
	}
	if (cn == NULL || strchr(cn, '.') == NULL || !subca__dns_valid(cn, true))
		return SUBCA_OK;
	SUBCA_TRY(subca__ia5_name(GEN_DNS, cn, &gn));
	return subca__sans_add(l->sans, gn);
}

/*
 * A common name that is an IP address goes once the address is an
 * iPAddress SAN: the SAN carries it (RFC 5280 4.2.1.6; a CN may only copy
 * a SAN), and verifiers that apply name constraints to the CN (OpenSSL,
 * when there is no dNSName SAN) read it as a host name and refuse the leaf
 * under an intermediate that permits DNS subtrees only.
 */
static bool subca__has_ip_san(const GENERAL_NAMES *sans,
			      const ASN1_OCTET_STRING *ip)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);

		if (gn->type == GEN_IPADD &&
		    ASN1_OCTET_STRING_cmp(gn->d.iPAddress, ip) == 0)
			return true;
	}
	return false;
}

static void subca__drop_ip_cns(struct subca__leaf *l)
{
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(l->subject, NID_commonName,
					       i)) >= 0) {
		const ASN1_STRING *s =
			X509_NAME_ENTRY_get_data(X509_NAME_get_entry(l->subject, i));
		char text[64];
		ASN1_OCTET_STRING *ip = NULL;
		int n = ASN1_STRING_length(s);

		if (n > 0 && (size_t)n < sizeof(text)) {
			memcpy(text, ASN1_STRING_get0_data(s), (size_t)n);
			text[n] = '\0';
			if (strlen(text) == (size_t)n)
				ip = a2i_IPADDRESS(text);
		}
		ERR_clear_error();
		if (ip != NULL && subca__has_ip_san(l->sans, ip)) {
			X509_NAME_ENTRY_free(X509_NAME_delete_entry(l->subject, i));
			i--;
		}
		ASN1_OCTET_STRING_free(ip);
	}
}

static subca_result subca__names(const struct subca_leaf_request *r,
				 struct subca__leaf *l)
{
	SUBCA_TRY(subca__sans(r, l));
	subca__drop_ip_cns(l);
	return SUBCA_OK;
}

/* ---- name constraints -------------------------------------------------- */

/* Subject key identifiers and SANs are cached by OpenSSL on first use:
 * make the cache now, after the certificate is complete. */
static int subca__nc_check(X509 *x, NAME_CONSTRAINTS *nc, bool leaf)
{
	int rv;

	X509_get_extension_flags(x);
	rv = NAME_CONSTRAINTS_check(x, nc);
	if (rv == X509_V_OK && leaf)
		rv = NAME_CONSTRAINTS_check_CN(x, nc);
	ERR_clear_error();
	return rv;
}

static void subca__gn_text(const GENERAL_NAME *gn, char *buf, size_t len)
{
	const ASN1_STRING *s;
	char raw[SUBCA_MAX_URL + 1];
	const char *kind;
	int n;

	switch (gn->type) {
	case GEN_IPADD:
		s = gn->d.iPAddress;
		if (ASN1_STRING_length(s) == 4) {
			const unsigned char *p = ASN1_STRING_get0_data(s);

			snprintf(buf, len, "IP:%u.%u.%u.%u", p[0], p[1], p[2],
				 p[3]);
			return;
		}
		{
			char *t = s ? OPENSSL_buf2hexstr(
					      ASN1_STRING_get0_data(s),
					      ASN1_STRING_length(s))
				    : NULL;

			snprintf(buf, len, "IP:%s", t ? t : "?");
			OPENSSL_free(t);
		}
		return;
	case GEN_DNS: kind = "DNS"; break;
	case GEN_EMAIL: kind = "email"; break;
	case GEN_URI: kind = "URI"; break;
	default: snprintf(buf, len, "a name of type %d", gn->type); return;
	}
	s = gn->d.ia5;
	n = ASN1_STRING_length(s);
	if (n < 0 || (size_t)n >= sizeof(raw))
		n = 0;
	memcpy(raw, ASN1_STRING_get0_data(s), (size_t)n);
	raw[n] = '\0';
	{
		char shown[128];

		snprintf(buf, len, "%s:%s", kind,
			 SUBCA_SHOWN(raw, shown));
	}
}

static void subca__name_text(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int got;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		got = BIO_read(b, buf, (int)len - 1);
		buf[got > 0 ? got : 0] = '\0';
	}
	BIO_free(b);
}

/* A certificate holding only `subject` and `san` (either may be NULL),
 * to find which name breaks the constraints. */
static X509 *subca__probe(const X509_NAME *subject, const GENERAL_NAME *san)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gns = NULL;

	if (x == NULL)
		return NULL;
	if (subject != NULL && !X509_set_subject_name(x, subject))
		goto fail;
	if (san != NULL) {
		gns = sk_GENERAL_NAME_new_null();
		if (gns == NULL ||
		    !sk_GENERAL_NAME_push(gns, GENERAL_NAME_dup(san)) ||
		    !X509_add1_ext_i2d(x, NID_subject_alt_name, gns, 0,
				       X509V3_ADD_DEFAULT))
			goto fail;
		GENERAL_NAMES_free(gns);
	}
	return x;
fail:
	GENERAL_NAMES_free(gns);
	X509_free(x);
	return NULL;
}

/* Name the first name of `x` that breaks `nc`. */
static void subca__culprit(X509 *x, NAME_CONSTRAINTS *nc, bool leaf,
			   char *buf, size_t len)
{
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *gns =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	SUBCA_AUTO(X509) X509 *probe =
		subca__probe(X509_get_subject_name(x), NULL);
	char name[SUBCA_ERROR_REASON_MAX / 2];

	ERR_clear_error();
	for (int i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
		SUBCA_AUTO(X509) X509 *p = subca__probe(NULL, gn);

		if (p != NULL && subca__nc_check(p, nc, leaf) != X509_V_OK) {
			subca__gn_text(gn, buf, len);
			return;
		}
	}
	if (probe != NULL && subca__nc_check(probe, nc, leaf) != X509_V_OK) {
		subca__name_text(X509_get_subject_name(x), name, sizeof(name));
		snprintf(buf, len, "subject \"%s\"", name);
		return;
	}
	snprintf(buf, len, "the certificate's names");
}

subca_result subca_cert_check_names(X509 *x, STACK_OF(X509) *cas, bool leaf)
{
	for (int i = 0; i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);
		int crit = -1;
		SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc =
			X509_get_ext_d2i(ca, NID_name_constraints, &crit, NULL);
		char who[SUBCA_ERROR_REASON_MAX / 2], what[200];
		int rv;

		ERR_clear_error();
		if (nc == NULL && crit == -1)
			continue; /* no name constraints */
		rv = nc != NULL ? subca__nc_check(x, nc, leaf) : X509_V_OK;
		if (nc != NULL && rv == X509_V_OK)
			continue;
		subca__name_text(X509_get_subject_name(ca), who, sizeof(who));
		SUBCA_ENSURE(nc != NULL, SUBCA_E_NAME_CONSTRAINTS,
			     "the name constraints of \"%s\" cannot be decoded",
			     who);
		subca__culprit(x, nc, leaf, what, sizeof(what));
		SUBCA_BAIL(SUBCA_E_NAME_CONSTRAINTS,
			   "%s is outside the name constraints of \"%s\" (%s)",
			   what, who, X509_verify_cert_error_string(rv));
	}
	return SUBCA_OK;
}

subca_result subca_leaf_check_names(X509 *leaf, STACK_OF(X509) *cas)
{
	return subca_cert_check_names(leaf, cas, true);
}

/* Whether any of `cas` carries a name constraints extension. */
static bool subca__any_constraints(STACK_OF(X509) *cas)
{
	for (int i = 0; i < sk_X509_num(cas); i++)
		if (X509_get_ext_by_NID(sk_X509_value(cas, i),
					NID_name_constraints, -1) >= 0)
			return true;
	return false;
}

subca_result subca_names_check_constraints(const X509_NAME *subject,
					   const GENERAL_NAMES *sans,
					   STACK_OF(X509) *cas)
{
	SUBCA_AUTO(X509) X509 *probe = NULL;

	if (!subca__any_constraints(cas))
		return SUBCA_OK; /* nothing to check: no probe to build */
	probe = subca__probe(subject, NULL);
	SUBCA_ENSURE(probe != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_ENSURE(sk_GENERAL_NAME_num(sans) <= 0 ||
			     X509_add1_ext_i2d(probe, NID_subject_alt_name,
					       (GENERAL_NAMES *)sans, 0,
					       X509V3_ADD_DEFAULT) == 1,
		     SUBCA_E_NOMEM, "out of memory");
	return subca_leaf_check_names(probe, cas);
}

/* ---- the certificate ---------------------------------------------------- */

static subca_result subca__add_ext(X509 *x, int nid, void *value, int crit)
{
	SUBCA_OSSL(X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) ==
			   1,
		   SUBCA_E_CRYPTO, "cannot add the %s extension",
		   OBJ_nid2sn(nid));
	return SUBCA_OK;
}

/* RFC 5280 4.2.1.9: CA:FALSE; 4.2.1.3 key usage; 4.2.1.12 EKU. */
static subca_result subca__add_profile(X509 *x, EVP_PKEY *pub, unsigned eku_bits)
{
	SUBCA_AUTO(BASIC_CONSTRAINTS) BASIC_CONSTRAINTS *bc =
		BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	subca_result rv = SUBCA_E_NOMEM;

	if (eku_bits == 0)
		eku_bits = SUBCA_EKU_ALL;
	if (bc == NULL || ku == NULL || eku == NULL ||
	    !ASN1_BIT_STRING_set_bit(ku, 0, 1) || /* digitalSignature */
	    (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA &&
	     !ASN1_BIT_STRING_set_bit(ku, 2, 1)) || /* keyEncipherment */
	    ((eku_bits & SUBCA_EKU_SERVER) &&
	     !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth))) ||
	    ((eku_bits & SUBCA_EKU_CLIENT) &&
	     !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))) {
		subca_error_set(rv, __FILE__, __LINE__,
				"out of memory building the leaf profile");
		goto out;
	}
	bc->ca = 0;
	rv = subca__add_ext(x, NID_basic_constraints, bc, 1);
	if (rv == SUBCA_OK)
		rv = subca__add_ext(x, NID_key_usage, ku, 1);
	if (rv == SUBCA_OK)
		rv = subca__add_ext(x, NID_ext_key_usage, eku, 0);
out:
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rv;
}

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
static subca_result subca__add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	SUBCA_AUTO(ASN1_OCTET_STRING) ASN1_OCTET_STRING *ski =
		ASN1_OCTET_STRING_new();

	SUBCA_ENSURE(ski != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_pubkey_digest(x, EVP_sha1(), md, &len) &&
			   ASN1_OCTET_STRING_set(ski, md, (int)len),
		   SUBCA_E_CRYPTO, "cannot compute the subject key identifier");
	return subca__add_ext(x, NID_subject_key_identifier, ski, 0);
}

/*
 * RFC 5280 4.2.1.1: the keyIdentifier is the issuer's subject key
 * identifier, copied byte for byte: tools compute it differently (GnuTLS
 * certtool hashes the whole SubjectPublicKeyInfo), so never recompute it.
 * Without an issuer SKI, identify the issuer by its issuer name + serial.
 */
static subca_result subca__add_aki(X509 *x, X509 *issuer)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
	SUBCA_AUTO(AUTHORITY_KEYID) AUTHORITY_KEYID *akid =
		AUTHORITY_KEYID_new();
	GENERAL_NAME *gn;

	SUBCA_ENSURE(akid != NULL, SUBCA_E_NOMEM, "out of memory");
	if (ski != NULL) {
		akid->keyid = ASN1_OCTET_STRING_dup(ski);
		SUBCA_ENSURE(akid->keyid != NULL, SUBCA_E_NOMEM,
			     "out of memory");
		return subca__add_ext(x, NID_authority_key_identifier, akid, 0);
	}
	akid->issuer = sk_GENERAL_NAME_new_null();
	gn = GENERAL_NAME_new();
	akid->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(issuer));
	SUBCA_ENSURE(akid->issuer != NULL && gn != NULL && akid->serial != NULL,
		     SUBCA_E_NOMEM, "out of memory");
	gn->type = GEN_DIRNAME;
	gn->d.directoryName = X509_NAME_dup(X509_get_issuer_name(issuer));
	if (gn->d.directoryName == NULL ||
	    !sk_GENERAL_NAME_push(akid->issuer, gn)) {
		GENERAL_NAME_free(gn);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	return subca__add_ext(x, NID_authority_key_identifier, akid, 0);
}

static subca_result subca__url_name(const char *url, const char *what,
				    GENERAL_NAME **out)
{
	char shown[80];

	SUBCA_ENSURE(subca__uri_valid(url), SUBCA_E_INVALID_ARGUMENT,
		     "%s \"%s\" is not a valid URL", what,
		     SUBCA_SHOWN(url, shown));
	return subca__ia5_name(GEN_URI, url, out);
}

/* RFC 5280 4.2.1.13: one distribution point with a full name URI. */
static subca_result subca__add_crldp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = NULL;
	subca_result rv;

	rv = subca__url_name(url, "CRL URL", &gn);
	if (rv != SUBCA_OK)
		goto out;
	rv = SUBCA_E_NOMEM;
	if (dps == NULL || dp == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) ==
		    NULL ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
		GENERAL_NAME_free(gn);
		subca_error_set(rv, __FILE__, __LINE__, "out of memory");
		goto out;
	}
	dp->distpoint->type = 0;
	if (!sk_DIST_POINT_push(dps, dp)) {
		subca_error_set(rv, __FILE__, __LINE__, "out of memory");
		goto out;
	}
	dp = NULL;
	rv = subca__add_ext(x, NID_crl_distribution_points, dps, 0);
out:
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return rv;
}

/* RFC 5280 4.2.2.1: authorityInfoAccess with the OCSP responder. */
static subca_result subca__add_ocsp(X509 *x, const char *url)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAME *gn = NULL;
	subca_result rv;

	rv = subca__url_name(url, "OCSP URL", &gn);
	if (rv != SUBCA_OK)
		goto out;
	if (aia == NULL || ad == NULL) {
		GENERAL_NAME_free(gn);
		rv = subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
				     "out of memory");
		goto out;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	GENERAL_NAME_free(ad->location);
	ad->location = gn;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
		rv = subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
				     "out of memory");
		goto out;
	}
	ad = NULL;
	rv = subca__add_ext(x, NID_info_access, aia, 0);
out:
	ACCESS_DESCRIPTION_free(ad);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return rv;
}

static subca_result subca__add_exts(X509 *x, const struct subca_issuer *iss,
				    const struct subca_leaf_request *r,
				    const struct subca__leaf *l)
{
	/* RFC 5280 4.2.1.6: with an empty subject, the SAN MUST be critical */
	int san_crit = X509_NAME_entry_count(l->subject) == 0;

	SUBCA_TRY(subca__add_profile(x, l->pub, r->eku));
	if (sk_GENERAL_NAME_num(l->sans) > 0)
		SUBCA_TRY(subca__add_ext(x, NID_subject_alt_name, l->sans,
					 san_crit));
	SUBCA_TRY(subca__add_ski(x));
	SUBCA_TRY(subca__add_aki(x, iss->cert));
	if (iss->crl_url != NULL && iss->crl_url[0] != '\0')
		SUBCA_TRY(subca__add_crldp(x, iss->crl_url));
	if (iss->ocsp_url != NULL && iss->ocsp_url[0] != '\0')
		SUBCA_TRY(subca__add_ocsp(x, iss->ocsp_url));
	return SUBCA_OK;
}

static subca_result subca__set_validity(X509 *x, X509 *issuer,
					const struct subca_leaf_request *r)
{
	SUBCA_TRY(subca_validity_set(x, r->now, r->days,
				     X509_get0_notAfter(issuer), NULL));
	SUBCA_ENSURE(ASN1_TIME_compare(X509_get0_notBefore(x),
				       X509_get0_notAfter(x)) < 0,
		     SUBCA_E_EXPIRED,
		     "the issuing CA expires before the leaf would start");
	return SUBCA_OK;
}

/*
 * The CSR's SubjectPublicKeyInfo goes into the leaf byte for byte: its
 * algorithm and key bits are copied, the key itself is not touched.
 * X509_set_pubkey() would encode the key through the provider encoders and
 * decode the result again (about 190 us for P-256 on OpenSSL 3.0, close to
 * the ECDSA signature itself). The key was decoded once already, when the
 * CSR was parsed and its signature checked. OpenSSL 3.0 does not decode a
 * key set this way later, hence r->csr_key_as_bytes is the caller's call.
 */
static subca_result subca__copy_spki(X509 *x, const X509_PUBKEY *from)
{
	X509_PUBKEY *to = X509_get_X509_PUBKEY(x);
	const unsigned char *bits;
	unsigned char *copy;
	ASN1_OBJECT *alg;
	X509_ALGOR *from_alg, *to_alg;
	int len;

	SUBCA_OSSL(to != NULL &&
			   X509_PUBKEY_get0_param(&alg, &bits, &len, &from_alg,
						  from) == 1 &&
			   bits != NULL && len > 0,
		   SUBCA_E_BAD_CSR, "the CSR's public key cannot be read");
	copy = OPENSSL_memdup(bits, (size_t)len);
	SUBCA_ENSURE(copy != NULL, SUBCA_E_NOMEM, "out of memory");
	/* V_ASN1_EOC: the parameters are copied with the algorithm below */
	if (X509_PUBKEY_set0_param(to, OBJ_dup(alg), V_ASN1_EOC, NULL, copy,
				   len) != 1) {
		OPENSSL_free(copy);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory copying the key");
	}
	SUBCA_OSSL(X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to) == 1 &&
			   X509_ALGOR_copy(to_alg, from_alg) == 1,
		   SUBCA_E_NOMEM, "out of memory copying the key algorithm");
	return SUBCA_OK;
}

static subca_result subca__set_key(X509 *x, const struct subca__leaf *l)
{
	if (l->spki != NULL)
		return subca__copy_spki(x, l->spki);
	SUBCA_OSSL(X509_set_pubkey(x, l->pub), SUBCA_E_CRYPTO,
		   "cannot put the public key into the leaf certificate");
	return SUBCA_OK;
}

static subca_result subca__build(const struct subca_issuer *iss,
				 const struct subca_leaf_request *r,
				 const struct subca__leaf *l, X509 **out)
{
	SUBCA_AUTO(X509) X509 *x = X509_new();
	SUBCA_AUTO(ASN1_INTEGER) ASN1_INTEGER *serial = NULL;

	SUBCA_ENSURE(x != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca_serial_new(&serial));
	SUBCA_OSSL(X509_set_version(x, X509_VERSION_3) &&
			   X509_set_serialNumber(x, serial) &&
			   X509_set_issuer_name(
				   x, X509_get_subject_name(iss->cert)) &&
			   X509_set_subject_name(x, l->subject),
		   SUBCA_E_CRYPTO, "cannot fill in the leaf certificate");
	SUBCA_TRY(subca__set_key(x, l));
	SUBCA_TRY(subca__set_validity(x, iss->cert, r));
	SUBCA_TRY(subca__add_exts(x, iss, r, l));
	*out = subca_steal(&x);
	return SUBCA_OK;
}

static subca_result subca__sign(X509 *x, const struct subca_issuer *iss)
{
	EVP_PKEY *issuer_pub = X509_get0_pubkey(iss->cert);

	SUBCA_OSSL(X509_sign(x, iss->key, subca_key_sign_md(iss->key)) > 0,
		   SUBCA_E_CRYPTO, "cannot sign the leaf certificate");
	/* A key-store handle that is not the certificate's key would produce
	 * certificates nobody can verify: catch it here. */
	if (iss->key_checked)
		return SUBCA_OK;
	SUBCA_OSSL(issuer_pub != NULL && X509_verify(x, issuer_pub) == 1,
		   SUBCA_E_CRYPTO,
		   "the issuing key does not match the issuing certificate");
	return SUBCA_OK;
}

static subca_result subca__check_request(const struct subca_issuer *iss,
					 const struct subca_leaf_request *r)
{
	SUBCA_ENSURE(iss != NULL && iss->cert != NULL && iss->key != NULL &&
			     r != NULL,
		     SUBCA_E_INVALID_ARGUMENT, "missing issuer or request");
	SUBCA_ENSURE(r->days > 0 && r->days <= SUBCA_MAX_LEAF_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "leaf lifetime must be 1 to %d days, got %ld",
		     SUBCA_MAX_LEAF_DAYS, r->days);
	/* X509_check_ca() == 1: CA:TRUE, and keyCertSign if keyUsage is set */
	SUBCA_ENSURE(X509_check_ca(iss->cert) == 1, SUBCA_E_NOT_CA,
		     "the issuing certificate is not a CA with keyCertSign");
	SUBCA_ENSURE((r->eku & ~SUBCA_EKU_ALL) == 0, SUBCA_E_INVALID_ARGUMENT,
		     "unknown extended key usage bits 0x%x", r->eku);
	return SUBCA_OK;
}

/* The leaf's key, subject and SANs, from the CSR or the request. */
static subca_result subca__collect(const struct subca_leaf_request *r,
				   struct subca__leaf *l)
{
	l->sans = sk_GENERAL_NAME_new_null();
	SUBCA_ENSURE(l->sans != NULL, SUBCA_E_NOMEM, "out of memory");
	if (r->csr != NULL)
		SUBCA_TRY(subca__from_csr(r->csr, r->csr_key, r->csr_verified,
					  l));
	else
		SUBCA_TRY(subca__from_key(r, l));
	if (r->csr != NULL && r->csr_key_as_bytes)
		l->spki = X509_REQ_get_X509_PUBKEY(r->csr);
	return subca__names(r, l);
}

subca_result subca_leaf_names(const struct subca_leaf_request *r,
			      GENERAL_NAMES **sans, X509_NAME **subject)
{
	struct subca__leaf l = {0};
	subca_result rv;

	*sans = NULL;
	*subject = NULL;
	SUBCA_ENSURE(r != NULL, SUBCA_E_INVALID_ARGUMENT, "missing request");
	rv = subca__collect(r, &l);
	if (rv == SUBCA_OK) {
		*sans = subca_steal(&l.sans);
		*subject = subca_steal(&l.subject);
	}
	subca__leaf_cleanup(&l);
	return rv;
}

static subca_result subca__issue(const struct subca_issuer *iss,
				 const struct subca_leaf_request *r,
				 struct subca__leaf *l, X509 **out)
{
	SUBCA_AUTO(X509) X509 *x = NULL;
	STACK_OF(X509) *cas = NULL;
	subca_result rv;

	SUBCA_TRY(subca__collect(r, l));
	SUBCA_TRY(subca_key_check_strength(l->pub, "leaf key"));
	SUBCA_TRY(subca__build(iss, r, l, &x));

	/* RFC 5280 4.2.1.10: refuse before signing anything */
	cas = sk_X509_new_null();
	SUBCA_ENSURE(cas != NULL && sk_X509_push(cas, iss->cert),
		     SUBCA_E_NOMEM, "out of memory");
	rv = subca_names_check_constraints(l->subject, l->sans, cas);
	sk_X509_free(cas);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca__sign(x, iss));
	*out = subca_steal(&x);
	return SUBCA_OK;
}

subca_result subca_leaf_issue(const struct subca_issuer *iss,
			      const struct subca_leaf_request *r, X509 **out)
{
	struct subca__leaf l = {0};
	subca_result rv;

	*out = NULL;
	SUBCA_TRY(subca__check_request(iss, r));
	rv = subca__issue(iss, r, &l, out);
	subca__leaf_cleanup(&l);
	return rv;
}
