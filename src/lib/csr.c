/*
 * The intermediate's CSR: parameters validated, subject and requested CA
 * extensions built with OpenSSL's structures (never from config strings),
 * and read back from a CSR's extensionRequest.
 */
#include "subca/csr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

/* RFC 1035 2.3.4: 253 characters of name (255 octets on the wire). */
#define SUBCA__DNS_MAX 253
/* RFC 5321 4.5.3.1.1: a local part is at most 64 octets. */
#define SUBCA__LOCAL_MAX 64

static inline void subca__auto_exts(STACK_OF(X509_EXTENSION) **p)
{
	if (*p != NULL)
		sk_X509_EXTENSION_pop_free(*p, X509_EXTENSION_free);
	*p = NULL;
}
#define SUBCA__AUTO_EXTS __attribute__((cleanup(subca__auto_exts)))

SUBCA__DEFINE_AUTO(GENERAL_NAME, GENERAL_NAME_free)
SUBCA__DEFINE_AUTO(GENERAL_SUBTREE, GENERAL_SUBTREE_free)
SUBCA__DEFINE_AUTO(ASN1_BIT_STRING, ASN1_BIT_STRING_free)


/* ---- subject ----------------------------------------------------------- */

/*
 * A subject value: valid UTF-8, no C0/C1 control characters, at most
 * SUBCA_MAX_DN_VALUE bytes and `ub` characters (RFC 5280 appendix A).
 */
static subca_result subca__dn_value_check(const char *what, const char *v,
					  int ub)
{
	size_t n = strnlen(v, SUBCA_MAX_DN_VALUE + 1);
	int chars = 0;

	SUBCA_ENSURE(n > 0, SUBCA_E_INVALID_ARGUMENT, "%s is empty", what);
	SUBCA_ENSURE(n <= SUBCA_MAX_DN_VALUE, SUBCA_E_INVALID_ARGUMENT,
		     "%s is longer than %d bytes", what, SUBCA_MAX_DN_VALUE);
	for (size_t i = 0; i < n; chars++) {
		unsigned long cp = 0;
		int used = UTF8_getc((const unsigned char *)v + i, (int)(n - i),
				     &cp);

		SUBCA_ENSURE(used > 0, SUBCA_E_INVALID_ARGUMENT,
			     "%s is not valid UTF-8 (at byte %zu)", what, i);
		SUBCA_ENSURE(cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f),
			     SUBCA_E_INVALID_ARGUMENT,
			     "%s contains the control character U+%04lX", what,
			     cp);
		i += (size_t)used;
	}
	SUBCA_ENSURE(chars <= ub, SUBCA_E_INVALID_ARGUMENT,
		     "%s has %d characters; at most %d allowed (RFC 5280 "
		     "appendix A)",
		     what, chars, ub);
	return SUBCA_OK;
}

static subca_result subca__country_check(const char *c)
{
	char shown[16];
	bool ok = strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' &&
		  c[1] <= 'Z';

	SUBCA_ENSURE(ok, SUBCA_E_INVALID_ARGUMENT,
		     "country \"%s\" must be two upper-case letters A-Z "
		     "(ISO 3166-1 alpha-2, e.g. US)",
		     SUBCA_SHOWN(c, shown));
	return SUBCA_OK;
}

struct subca__rdn {
	int nid;
	const char *what;
	int ub; /* RFC 5280 appendix A upper bound, in characters */
};

static subca_result subca__name_add(X509_NAME *name, const struct subca__rdn *r,
				    const char *v)
{
	int type = V_ASN1_UTF8STRING;

	if (v == NULL)
		return SUBCA_OK;
	if (r->nid == NID_countryName) {
		SUBCA_TRY(subca__country_check(v));
		/* RFC 5280 appendix A: countryName is a PrintableString. */
		type = V_ASN1_PRINTABLESTRING;
	} else {
		SUBCA_TRY(subca__dn_value_check(r->what, v, r->ub));
	}
	/* A plain type (not MBSTRING_*) stores the bytes under that exact
	 * string type, so every value is a UTF8String (RFC 5280 4.1.2.6). */
	SUBCA_OSSL(X509_NAME_add_entry_by_NID(name, r->nid, type,
					      (const unsigned char *)v, -1, -1,
					      0) == 1,
		   SUBCA_E_CRYPTO, "cannot add %s to the subject", r->what);
	return SUBCA_OK;
}

subca_result subca_csr_subject_build(const struct subca_intermediate_params *p,
				     X509_NAME **out)
{
	const struct subca__rdn rdns[] = {
		{NID_countryName, "country", 2},
		{NID_stateOrProvinceName, "state", 128},
		{NID_localityName, "locality", 128},
		{NID_organizationName, "organization", 64},
		{NID_organizationalUnitName, "organizational unit", 64},
		{NID_commonName, "common name", 64},
	};
	const char *values[] = {p->country, p->state, p->locality,
				p->org,	    p->ou,    p->cn};
	SUBCA_AUTO(X509_NAME) X509_NAME *name = NULL;

	*out = NULL;
	SUBCA_ENSURE(p->cn != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "common name is required");
	name = X509_NAME_new();
	SUBCA_OSSL(name != NULL, SUBCA_E_NOMEM, "cannot allocate a name");
	for (size_t i = 0; i < sizeof(rdns) / sizeof(rdns[0]); i++)
		SUBCA_TRY(subca__name_add(name, &rdns[i], values[i]));
	*out = subca_steal(&name);
	return SUBCA_OK;
}

/* ---- name constraints -------------------------------------------------- */

enum subca__nc_kind { SUBCA__NC_DNS, SUBCA__NC_IP, SUBCA__NC_EMAIL };

struct subca__nc_list {
	const struct subca_names *names;
	enum subca__nc_kind kind;
	bool permit;
	const char *label;
};

static bool subca__label_ok(const char *l, size_t n)
{
	if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = l[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* A DNS name ("example.com"), with a leading dot when `dot_ok`. */
static subca_result subca__dns_check(const char *label, const char *v,
				     bool dot_ok)
{
	char shown[80];
	const char *s = (dot_ok && v[0] == '.') ? v + 1 : v;
	size_t n = strnlen(s, SUBCA__DNS_MAX + 1);

	SUBCA_SHOWN(v, shown);
	SUBCA_ENSURE(strchr(v, '*') == NULL, SUBCA_E_BAD_NAME,
		     "%s \"%s\": wildcards are not allowed in name constraints; "
		     "use \".example.com\" for subdomains only, \"example.com\" "
		     "for the domain and its subdomains",
		     label, shown);
	SUBCA_ENSURE(n > 0 && n <= SUBCA__DNS_MAX, SUBCA_E_BAD_NAME,
		     "%s \"%s\" must be a domain name of 1 to %d characters",
		     label, shown, SUBCA__DNS_MAX);
	for (const char *l = s;;) {
		const char *dot = strchr(l, '.');
		size_t ln = dot ? (size_t)(dot - l) : strlen(l);

		SUBCA_ENSURE(subca__label_ok(l, ln), SUBCA_E_BAD_NAME,
			     "%s \"%s\" is not a valid domain name (labels of 1 "
			     "to 63 letters, digits or inner hyphens, separated "
			     "by single dots)",
			     label, shown);
		if (dot == NULL)
			return SUBCA_OK;
		l = dot + 1;
	}
}

static bool subca__local_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	       c == '-';
}

/* "example.com", ".example.com" or "user@example.com" (RFC 5280 4.2.1.10). */
static subca_result subca__email_check(const char *label, const char *v)
{
	char shown[80];
	const char *at = strchr(v, '@');
	size_t ln;

	if (at == NULL)
		return subca__dns_check(label, v, true);
	ln = (size_t)(at - v);
	SUBCA_SHOWN(v, shown);
	SUBCA_ENSURE(ln > 0 && ln <= SUBCA__LOCAL_MAX, SUBCA_E_BAD_NAME,
		     "%s \"%s\": the part before @ must be 1 to %d characters",
		     label, shown, SUBCA__LOCAL_MAX);
	for (size_t i = 0; i < ln; i++)
		SUBCA_ENSURE(subca__local_char_ok(v[i]), SUBCA_E_BAD_NAME,
			     "%s \"%s\": the part before @ may hold only "
			     "letters, digits and . _ + -",
			     label, shown);
	return subca__dns_check(label, at + 1, false);
}

static subca_result subca__prefix_parse(const char *label, const char *shown,
					const char *s, int max, int *out)
{
	int v = 0;
	size_t n = strlen(s);

	SUBCA_ENSURE(n >= 1 && n <= 3, SUBCA_E_BAD_NAME,
		     "%s \"%s\": the prefix length must be 0 to %d", label,
		     shown, max);
	for (size_t i = 0; i < n; i++) {
		SUBCA_ENSURE(s[i] >= '0' && s[i] <= '9', SUBCA_E_BAD_NAME,
			     "%s \"%s\": the prefix length must be 0 to %d",
			     label, shown, max);
		v = v * 10 + (s[i] - '0');
	}
	SUBCA_ENSURE(v <= max, SUBCA_E_BAD_NAME,
		     "%s \"%s\": the prefix length must be 0 to %d", label,
		     shown, max);
	*out = v;
	return SUBCA_OK;
}

/*
 * "10.0.0.0/8" -> address then mask (8 octets for IPv4, 32 for IPv6), as
 * RFC 5280 4.2.1.10 encodes an iPAddress constraint.
 */
static subca_result subca__cidr_parse(const char *label, const char *v,
				      unsigned char out[32], int *out_len)
{
	char shown[80], addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(v, '/');
	bool v6 = strchr(v, ':') != NULL;
	int alen = v6 ? 16 : 4, prefix = 0;
	size_t an;

	SUBCA_SHOWN(v, shown);
	SUBCA_ENSURE(slash != NULL, SUBCA_E_BAD_NAME,
		     "%s \"%s\" needs a prefix length, e.g. %s", label, shown,
		     v6 ? "2001:db8::/32" : "10.0.0.0/8");
	an = (size_t)(slash - v);
	SUBCA_ENSURE(an > 0 && an < sizeof(addr), SUBCA_E_BAD_NAME,
		     "%s \"%s\" is not an IP address range", label, shown);
	memcpy(addr, v, an);
	addr[an] = '\0';
	SUBCA_ENSURE(inet_pton(v6 ? AF_INET6 : AF_INET, addr, out) == 1,
		     SUBCA_E_BAD_NAME, "%s \"%s\" is not an IP%s address range",
		     label, shown, v6 ? "v6" : "v4");
	SUBCA_TRY(subca__prefix_parse(label, shown, slash + 1, alen * 8,
				      &prefix));
	for (int i = 0; i < alen; i++) {
		int bits = prefix - i * 8;
		unsigned char m = bits >= 8	 ? 0xff
				  : bits <= 0 ? 0
					      : (unsigned char)(0xff << (8 - bits));

		out[alen + i] = m;
		SUBCA_ENSURE((out[i] & (unsigned char)~m) == 0, SUBCA_E_BAD_NAME,
			     "%s \"%s\" has host bits set after the /%d prefix; "
			     "the range must start at its network address",
			     label, shown, prefix);
	}
	*out_len = 2 * alen;
	return SUBCA_OK;
}

static subca_result subca__gn_string(int type, const char *v, GENERAL_NAME **out)
{
	SUBCA_AUTO(GENERAL_NAME) GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (gn == NULL || ia5 == NULL ||
	    ASN1_STRING_set(ia5, v, (int)strlen(v)) != 1) {
		ASN1_IA5STRING_free(ia5);
		SUBCA_BAIL(SUBCA_E_NOMEM, "cannot allocate a general name");
	}
	GENERAL_NAME_set0_value(gn, type, ia5);
	*out = subca_steal(&gn);
	return SUBCA_OK;
}

static subca_result subca__gn_ip(const unsigned char *b, int len,
				 GENERAL_NAME **out)
{
	SUBCA_AUTO(GENERAL_NAME) GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

	if (gn == NULL || os == NULL || ASN1_OCTET_STRING_set(os, b, len) != 1) {
		ASN1_OCTET_STRING_free(os);
		SUBCA_BAIL(SUBCA_E_NOMEM, "cannot allocate a general name");
	}
	GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	*out = subca_steal(&gn);
	return SUBCA_OK;
}

static subca_result subca__nc_name(const struct subca__nc_list *l, const char *v,
				   GENERAL_NAME **out)
{
	unsigned char ip[32];
	int iplen = 0;

	SUBCA_ENSURE(v != NULL, SUBCA_E_INVALID_ARGUMENT, "%s: missing value",
		     l->label);
	switch (l->kind) {
	case SUBCA__NC_DNS:
		SUBCA_TRY(subca__dns_check(l->label, v, true));
		return subca__gn_string(GEN_DNS, v, out);
	case SUBCA__NC_EMAIL:
		SUBCA_TRY(subca__email_check(l->label, v));
		return subca__gn_string(GEN_EMAIL, v, out);
	case SUBCA__NC_IP:
		SUBCA_TRY(subca__cidr_parse(l->label, v, ip, &iplen));
		return subca__gn_ip(ip, iplen, out);
	}
	SUBCA_BAIL(SUBCA_E_INTERNAL, "unknown name constraint kind");
}

static subca_result subca__nc_push(STACK_OF(GENERAL_SUBTREE) **sk,
				   GENERAL_NAME *gn)
{
	SUBCA_AUTO(GENERAL_SUBTREE) GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();

	if (st == NULL) {
		GENERAL_NAME_free(gn);
		SUBCA_BAIL(SUBCA_E_NOMEM, "cannot allocate a subtree");
	}
	/* minimum stays absent (DEFAULT 0) and maximum absent: RFC 5280
	 * 4.2.1.10 requires exactly that. */
	GENERAL_NAME_free(st->base);
	st->base = gn;
	if (*sk == NULL)
		*sk = sk_GENERAL_SUBTREE_new_null();
	SUBCA_ENSURE(*sk != NULL && sk_GENERAL_SUBTREE_push(*sk, st) > 0,
		     SUBCA_E_NOMEM, "cannot grow the subtree list");
	st = NULL;
	return SUBCA_OK;
}

static subca_result subca__nc_add_list(NAME_CONSTRAINTS *nc,
				       const struct subca__nc_list *l)
{
	const struct subca_names *n = l->names;

	if (n->n == 0)
		return SUBCA_OK;
	SUBCA_ENSURE(n->v != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "%s: list missing", l->label);
	SUBCA_ENSURE(n->n <= SUBCA_MAX_NAMES, SUBCA_E_TOO_LARGE,
		     "%zu %s entries; at most %d allowed", n->n, l->label,
		     SUBCA_MAX_NAMES);
	for (size_t i = 0; i < n->n; i++) {
		GENERAL_NAME *gn = NULL;

		SUBCA_TRY(subca__nc_name(l, n->v[i], &gn));
		SUBCA_TRY(subca__nc_push(l->permit ? &nc->permittedSubtrees
						   : &nc->excludedSubtrees,
					 gn));
	}
	return SUBCA_OK;
}

subca_result subca_name_constraints_build(const struct subca_name_constraints *nc,
					  NAME_CONSTRAINTS **out)
{
	const struct subca__nc_list lists[] = {
		{&nc->permit_dns, SUBCA__NC_DNS, true, "permitted DNS constraint"},
		{&nc->exclude_dns, SUBCA__NC_DNS, false, "excluded DNS constraint"},
		{&nc->permit_ip, SUBCA__NC_IP, true, "permitted IP constraint"},
		{&nc->exclude_ip, SUBCA__NC_IP, false, "excluded IP constraint"},
		{&nc->permit_email, SUBCA__NC_EMAIL, true,
		 "permitted email constraint"},
		{&nc->exclude_email, SUBCA__NC_EMAIL, false,
		 "excluded email constraint"},
	};
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *ncs = NAME_CONSTRAINTS_new();

	*out = NULL;
	SUBCA_ENSURE(ncs != NULL, SUBCA_E_NOMEM, "cannot allocate constraints");
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		SUBCA_TRY(subca__nc_add_list(ncs, &lists[i]));
	/* RFC 5280 4.2.1.10: an empty nameConstraints MUST NOT be issued. */
	if (ncs->permittedSubtrees == NULL && ncs->excludedSubtrees == NULL)
		return SUBCA_OK;
	*out = subca_steal(&ncs);
	return SUBCA_OK;
}

/* ---- the request ------------------------------------------------------- */

static subca_result subca__params_check(const struct subca_intermediate_params *p)
{
	SUBCA_ENSURE(p->path_len >= -1 && p->path_len <= SUBCA_MAX_PATHLEN,
		     SUBCA_E_INVALID_ARGUMENT,
		     "path length %d is out of range; use 0 to %d, or -1 for "
		     "no path length constraint",
		     p->path_len, SUBCA_MAX_PATHLEN);
	SUBCA_ENSURE(p->days >= 0 && p->days <= SUBCA_MAX_INTERMEDIATE_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "lifetime of %d days is out of range; use 1 to %d",
		     p->days, SUBCA_MAX_INTERMEDIATE_DAYS);
	return SUBCA_OK;
}

static subca_result subca__ext_basic_constraints(STACK_OF(X509_EXTENSION) **exts,
						 int path_len)
{
	SUBCA_AUTO(BASIC_CONSTRAINTS) BASIC_CONSTRAINTS *bc =
		BASIC_CONSTRAINTS_new();

	SUBCA_ENSURE(bc != NULL, SUBCA_E_NOMEM, "cannot allocate extension");
	/* DER encodes TRUE as 0xFF (X.690 11.1); OpenSSL writes the byte. */
	bc->ca = 0xFF;
	if (path_len >= 0) {
		bc->pathlen = ASN1_INTEGER_new();
		SUBCA_OSSL(bc->pathlen != NULL &&
				   ASN1_INTEGER_set(bc->pathlen, path_len) == 1,
			   SUBCA_E_NOMEM, "cannot set the path length");
	}
	/* RFC 5280 4.2.1.9: critical in CA certificates. */
	SUBCA_OSSL(X509V3_add1_i2d(exts, NID_basic_constraints, bc, 1,
				   X509V3_ADD_DEFAULT) == 1,
		   SUBCA_E_CRYPTO, "cannot encode basicConstraints");
	return SUBCA_OK;
}

static subca_result subca__ext_key_usage(STACK_OF(X509_EXTENSION) **exts)
{
	SUBCA_AUTO(ASN1_BIT_STRING) ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();

	/* bits 0 digitalSignature, 5 keyCertSign, 6 cRLSign (RFC 5280 4.2.1.3) */
	SUBCA_OSSL(ku != NULL && ASN1_BIT_STRING_set_bit(ku, 0, 1) == 1 &&
			   ASN1_BIT_STRING_set_bit(ku, 5, 1) == 1 &&
			   ASN1_BIT_STRING_set_bit(ku, 6, 1) == 1,
		   SUBCA_E_NOMEM, "cannot build keyUsage");
	SUBCA_OSSL(X509V3_add1_i2d(exts, NID_key_usage, ku, 1,
				   X509V3_ADD_DEFAULT) == 1,
		   SUBCA_E_CRYPTO, "cannot encode keyUsage");
	return SUBCA_OK;
}

static subca_result subca__csr_extensions(X509_REQ *req, int path_len,
					  NAME_CONSTRAINTS *nc)
{
	SUBCA__AUTO_EXTS STACK_OF(X509_EXTENSION) *exts = NULL;

	SUBCA_TRY(subca__ext_basic_constraints(&exts, path_len));
	SUBCA_TRY(subca__ext_key_usage(&exts));
	/* RFC 5280 4.2.1.10: name constraints MUST be critical. */
	if (nc != NULL)
		SUBCA_OSSL(X509V3_add1_i2d(&exts, NID_name_constraints, nc, 1,
					   X509V3_ADD_DEFAULT) == 1,
			   SUBCA_E_CRYPTO, "cannot encode nameConstraints");
	/* The subject key identifier is the signer's to compute: it is not
	 * requested here, so no tool copies a stale one. */
	SUBCA_OSSL(X509_REQ_add_extensions(req, exts) == 1, SUBCA_E_CRYPTO,
		   "cannot add the extensionRequest");
	return SUBCA_OK;
}

subca_result subca_csr_build(const struct subca_intermediate_params *p,
			     EVP_PKEY *key, X509_REQ **out)
{
	SUBCA_AUTO(X509_NAME) X509_NAME *name = NULL;
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc = NULL;
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;

	*out = NULL;
	SUBCA_ENSURE(p != NULL && key != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "missing parameters or key");
	SUBCA_TRY(subca__params_check(p));
	SUBCA_TRY(subca_csr_subject_build(p, &name));
	SUBCA_TRY(subca_name_constraints_build(&p->nc, &nc));
	SUBCA_TRY(subca_key_check_strength(key, "intermediate key"));
	req = X509_REQ_new();
	SUBCA_OSSL(req != NULL, SUBCA_E_NOMEM, "cannot allocate a request");
	/* RFC 2986 4.1: version 0 is the only one defined. */
	SUBCA_OSSL(X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1 &&
			   X509_REQ_set_subject_name(req, name) == 1 &&
			   X509_REQ_set_pubkey(req, key) == 1,
		   SUBCA_E_CRYPTO, "cannot fill in the request");
	SUBCA_TRY(subca__csr_extensions(req, p->path_len, nc));
	SUBCA_OSSL(X509_REQ_sign(req, key, subca_key_sign_md(key)) > 0,
		   SUBCA_E_CRYPTO, "cannot sign the request");
	*out = subca_steal(&req);
	return SUBCA_OK;
}

/* ---- reading a request back ------------------------------------------- */

static subca_result subca__requested_bc(const STACK_OF(X509_EXTENSION) *exts,
					struct subca_csr_request *out)
{
	int crit = -1;
	SUBCA_AUTO(BASIC_CONSTRAINTS) BASIC_CONSTRAINTS *bc =
		X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);

	if (bc == NULL) {
		SUBCA_ENSURE(crit != -2, SUBCA_E_BAD_CSR,
			     "the CSR requests basicConstraints more than once");
		SUBCA_OSSL(crit == -1, SUBCA_E_BAD_CSR,
			   "the CSR's requested basicConstraints is malformed");
		return SUBCA_OK;
	}
	out->has_basic_constraints = true;
	out->ca = bc->ca != 0;
	if (bc->pathlen != NULL) {
		long v = ASN1_INTEGER_get(bc->pathlen);

		/* -1 is also OpenSSL's "does not fit in a long" */
		SUBCA_ENSURE(v >= 0, SUBCA_E_BAD_CSR,
			     "the CSR requests an invalid path length");
		out->path_len = v;
	}
	return SUBCA_OK;
}

static subca_result subca__requested_nc(const STACK_OF(X509_EXTENSION) *exts,
					struct subca_csr_request *out)
{
	int crit = -1;

	out->nc = X509V3_get_d2i(exts, NID_name_constraints, &crit, NULL);
	if (out->nc != NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(crit != -2, SUBCA_E_BAD_CSR,
		     "the CSR requests nameConstraints more than once");
	SUBCA_OSSL(crit == -1, SUBCA_E_BAD_CSR,
		   "the CSR's requested nameConstraints is malformed");
	return SUBCA_OK;
}

subca_result subca_csr_requested(const X509_REQ *csr,
				 struct subca_csr_request *out)
{
	SUBCA__AUTO_EXTS STACK_OF(X509_EXTENSION) *exts = NULL;
	subca_result rv;

	memset(out, 0, sizeof(*out));
	out->path_len = -1;
	SUBCA_ENSURE(csr != NULL, SUBCA_E_INVALID_ARGUMENT, "no CSR given");
	/* OpenSSL 3.0 takes a non-const pointer but only reads; it returns
	 * an empty stack when there is no extensionRequest, NULL on error. */
	exts = X509_REQ_get_extensions((X509_REQ *)csr);
	SUBCA_OSSL(exts != NULL, SUBCA_E_BAD_CSR,
		   "the CSR's extensionRequest cannot be decoded");
	rv = subca__requested_bc(exts, out);
	if (rv == SUBCA_OK)
		rv = subca__requested_nc(exts, out);
	if (rv != SUBCA_OK)
		subca_csr_request_cleanup(out);
	return rv;
}

void subca_csr_request_cleanup(struct subca_csr_request *r)
{
	if (r == NULL)
		return;
	NAME_CONSTRAINTS_free(r->nc);
	r->nc = NULL;
}
